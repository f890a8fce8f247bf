//! Places: a point on the WGS 84 ellipsoid (EPSG:4326), in exact decimal degrees, and the code
//! of an administrative area.

use serde::{Deserialize, Serialize};

use super::{ValueError, string_newtype, token};

/// Millionths of a degree in one degree: coordinates keep six decimal places (about 11 cm).
const MICRO: i64 = 1_000_000;

/// A latitude and a longitude in millionths of a degree, kept as integers so that no float ever
/// enters an event; written as decimals with six places, e.g. `-6.175392 106.827153`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GeoPoint {
    #[serde(with = "degrees")]
    latitude: i64,
    #[serde(with = "degrees")]
    longitude: i64,
}

impl GeoPoint {
    /// Parses a latitude (−90..=90) and a longitude (−180..=180) given as decimals with at most
    /// six places.
    ///
    /// # Errors
    /// The error of the part at fault: `("latitude", …)` or `("longitude", …)`.
    pub fn parse(latitude: &str, longitude: &str) -> Result<Self, (&'static str, ValueError)> {
        Ok(Self {
            latitude: micro_degrees(latitude, 90).map_err(|e| ("latitude", e))?,
            longitude: micro_degrees(longitude, 180).map_err(|e| ("longitude", e))?,
        })
    }

    /// The latitude as a decimal with six places, e.g. `-6.175392`.
    #[must_use]
    pub fn latitude(self) -> String {
        format_degrees(self.latitude)
    }

    /// The longitude as a decimal with six places, e.g. `106.827153`.
    #[must_use]
    pub fn longitude(self) -> String {
        format_degrees(self.longitude)
    }
}

/// Parses `-6.175392` into `-6_175_392`, refusing more than six decimal places and magnitudes
/// above `max` degrees.
fn micro_degrees(raw: &str, max: i64) -> Result<i64, ValueError> {
    let bad = || ValueError::InvalidCoordinate(raw.to_owned());
    let (negative, digits) = match raw.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 3 || fraction.len() > 6 {
        return Err(bad());
    }
    if !all_digits(whole) || !all_digits(fraction) || (digits.contains('.') && fraction.is_empty())
    {
        return Err(bad());
    }
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let fraction: i64 = format!("{fraction:0<6}").parse().map_err(|_| bad())?;
    let magnitude = whole * MICRO + fraction;
    if magnitude > max * MICRO {
        return Err(bad());
    }
    Ok(if negative { -magnitude } else { magnitude })
}

fn format_degrees(micro: i64) -> String {
    let sign = if micro < 0 { "-" } else { "" };
    let magnitude = micro.unsigned_abs();
    let unit = MICRO.unsigned_abs();
    format!("{sign}{}.{:06}", magnitude / unit, magnitude % unit)
}

/// Degrees in events and states: the decimal text, never a JSON number.
mod degrees {
    use serde::{Deserialize, Deserializer, Serializer};

    #[expect(
        clippy::trivially_copy_pass_by_ref,
        reason = "serde's `with` passes the field by reference"
    )]
    pub(super) fn serialize<S: Serializer>(micro: &i64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::format_degrees(*micro))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::micro_degrees(&text, 180).map_err(serde::de::Error::custom)
    }
}

/// The deepest administrative level accepted (0 is a country, 1 its first-level subdivisions, …).
pub const MAX_ADMINISTRATIVE_LEVEL: u8 = 10;

/// An administrative level given as a GraphQL `Int`: 0 to [`MAX_ADMINISTRATIVE_LEVEL`].
///
/// # Errors
/// [`ValueError::Negative`] below zero, [`ValueError::TooLarge`] above the deepest level.
pub fn parse_administrative_level(raw: i64) -> Result<u8, ValueError> {
    if raw < 0 {
        return Err(ValueError::Negative(raw));
    }
    u8::try_from(raw)
        .ok()
        .filter(|level| *level <= MAX_ADMINISTRATIVE_LEVEL)
        .ok_or(ValueError::TooLarge {
            max: u64::from(MAX_ADMINISTRATIVE_LEVEL),
        })
}

/// The code of an administrative area in its vocabulary, e.g. `ID-JK` (1..=100 characters, no
/// whitespace).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AreaCode(String);

impl AreaCode {
    /// The longest code accepted, in characters.
    pub const MAX_CHARS: usize = 100;

    /// Parses an area code; the raw value is not trimmed.
    ///
    /// # Errors
    /// [`ValueError::Empty`], [`ValueError::TooLong`], [`ValueError::ContainsWhitespace`] or
    /// [`ValueError::ControlCharacter`].
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        token(raw, Self::MAX_CHARS)?;
        Ok(Self(raw.to_owned()))
    }
}

string_newtype!(AreaCode);

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use super::*;

    #[test]
    fn coordinates_are_exact_decimals_within_their_range() {
        let jakarta = GeoPoint::parse("-6.175392", "106.827153").unwrap();
        assert_eq!(
            (jakarta.latitude(), jakarta.longitude()),
            ("-6.175392".to_owned(), "106.827153".to_owned())
        );
        let json = serde_json::to_string(&jakarta).unwrap();
        assert_eq!(json, r#"{"latitude":"-6.175392","longitude":"106.827153"}"#);
        assert_eq!(serde_json::from_str::<GeoPoint>(&json).unwrap(), jakarta);
        assert_eq!(
            GeoPoint::parse("90", "-180").unwrap().longitude(),
            "-180.000000"
        );
        for (latitude, longitude, part) in [
            ("90.000001", "0", "latitude"),
            ("0", "180.5", "longitude"),
            ("1.1234567", "0", "latitude"),
            ("1e3", "0", "latitude"),
            ("", "0", "latitude"),
            ("0", "12.", "longitude"),
            ("0", "+12", "longitude"),
        ] {
            assert_eq!(GeoPoint::parse(latitude, longitude).unwrap_err().0, part);
        }
    }

    #[test]
    fn administrative_levels_run_from_0_to_10() {
        assert_eq!(parse_administrative_level(0), Ok(0));
        assert_eq!(parse_administrative_level(10), Ok(10));
        assert_eq!(
            parse_administrative_level(-1),
            Err(ValueError::Negative(-1))
        );
        assert_eq!(
            parse_administrative_level(300),
            Err(ValueError::TooLarge { max: 10 })
        );
    }

    #[test]
    fn area_codes_have_no_whitespace() {
        assert_eq!(AreaCode::parse("ID-JK").unwrap().as_str(), "ID-JK");
        assert!(AreaCode::parse("ID JK").is_err());
        assert!(AreaCode::parse("").is_err());
    }
}
