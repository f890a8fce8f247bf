//! Decimal numbers that are not money: the values of results indicators.

use serde::{Deserialize, Serialize};

use super::ValueError;

/// The longest indicator value accepted, in characters.
const MAX_LENGTH: usize = 40;

/// An indicator's baseline, target or actual value (IATI `@value` of a non-qualitative
/// measure): a decimal number, kept as its canonical text (no float ever enters an event):
/// no `+`, no leading zeros, no trailing fractional zeros, `0` rather than `-0`. `"012.50"` is
/// `"12.5"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IndicatorValue(String);

impl IndicatorValue {
    /// Parses a decimal number: an optional sign, digits, and an optional fraction.
    ///
    /// # Errors
    /// [`ValueError::NotADecimal`], [`ValueError::TooLong`].
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        if raw.len() > MAX_LENGTH {
            return Err(ValueError::TooLong {
                max: MAX_LENGTH,
                actual: raw.chars().count(),
            });
        }
        let refuse = || ValueError::NotADecimal(raw.to_owned());
        let (negative, unsigned) = match raw.as_bytes().first() {
            Some(b'-') => (true, &raw[1..]),
            Some(b'+') => (false, &raw[1..]),
            _ => (false, raw),
        };
        let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
            return Err(refuse());
        }
        let whole = whole.trim_start_matches('0');
        let fraction = fraction.trim_end_matches('0');
        let magnitude = match (whole.is_empty(), fraction.is_empty()) {
            (true, true) => return Ok(Self("0".to_owned())),
            (_, true) => whole.to_owned(),
            (true, false) => format!("0.{fraction}"),
            (false, false) => format!("{whole}.{fraction}"),
        };
        Ok(Self(if negative {
            format!("-{magnitude}")
        } else {
            magnitude
        }))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for IndicatorValue {
    type Error = ValueError;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<IndicatorValue> for String {
    fn from(value: IndicatorValue) -> Self {
        value.0
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use super::*;

    #[test]
    fn values_are_kept_in_their_canonical_form() {
        let canonical = |raw: &str| IndicatorValue::parse(raw).unwrap().as_str().to_owned();
        assert_eq!(canonical("12"), "12");
        assert_eq!(canonical("012.50"), "12.5");
        assert_eq!(canonical("+3"), "3");
        assert_eq!(canonical("-0.0"), "0");
        assert_eq!(canonical(".5"), "0.5");
        assert_eq!(canonical("-7.25"), "-7.25");
        assert_eq!(canonical("100."), "100");
        for raw in ["", "-", ".", "1e3", "1,5", " 1", "1.2.3", "ten", "0x1"] {
            assert_eq!(
                IndicatorValue::parse(raw),
                Err(ValueError::NotADecimal(raw.to_owned())),
                "{raw:?}"
            );
        }
        assert!(matches!(
            IndicatorValue::parse(&"9".repeat(41)),
            Err(ValueError::TooLong { .. })
        ));
        let json = serde_json::to_string(&IndicatorValue::parse("1.50").unwrap()).unwrap();
        assert_eq!(json, "\"1.5\"", "a string, never a JSON number");
        assert!(serde_json::from_str::<IndicatorValue>("\"x\"").is_err());
    }
}
