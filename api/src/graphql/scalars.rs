//! The custom scalars of the schema (`docs/schema-sketch.graphql`): `Date`, `Percentage`,
//! `BigInt` and `DateTime`.
//!
//! Input scalars accept the raw text and nothing more: the domain's value types decide whether it
//! is valid, at the edge of each resolver ([`Date::parse`], the domain's `Percentage::parse`,
//! `Money::parse`), so that a malformed value is a `BAD_USER_INPUT` error whose `extensions.field`
//! names the input path (`recipientCountries[1].percentage`), like every other rule of the
//! domain. A scalar that refused the value itself could only say "failed to parse", without the
//! path inside the input object.

use amanah_domain::values::FieldPath;
use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{NaiveDate, SecondsFormat, Utc};

use crate::error::ApiError;

/// The text of a scalar given as a string or, for convenience, as an integer (`100` for a
/// percentage, `125000000` for minor units). Floating-point numbers are refused: they are the
/// reason these scalars are strings.
fn text_of(value: Value, what: &str) -> Result<String, String> {
    match value {
        Value::String(text) => Ok(text),
        Value::Number(number) if number.is_i64() || number.is_u64() => Ok(number.to_string()),
        _ => Err(format!("{what} must be given as a string")),
    }
}

/// A calendar date as the client wrote it; parsed by [`Date::parse`] in resolvers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Date(String);

/// A calendar date, ISO 8601 (YYYY-MM-DD).
#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::String(text) => Ok(Self(text)),
            _ => Err(InputValueError::custom(
                "a Date is a string of the form YYYY-MM-DD",
            )),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}

impl Date {
    /// The date, or `BAD_USER_INPUT` naming `field`.
    ///
    /// # Errors
    /// When the text is not a valid `YYYY-MM-DD` date.
    pub fn parse(&self, field: impl Into<FieldPath>) -> Result<NaiveDate, ApiError> {
        parse_date(&self.0).ok_or_else(|| {
            let field = field.into();
            ApiError::bad_user_input(
                field.to_string(),
                format!(
                    "{field} `{}` is not a calendar date of the form YYYY-MM-DD",
                    self.0
                ),
            )
        })
    }

    /// The date if present, or `BAD_USER_INPUT` naming `field`.
    ///
    /// # Errors
    /// As [`Date::parse`].
    pub fn parse_optional(
        date: Option<&Self>,
        field: impl Into<FieldPath>,
    ) -> Result<Option<NaiveDate>, ApiError> {
        date.map(|date| date.parse(field)).transpose()
    }
}

/// Exactly `YYYY-MM-DD` (four-digit year, two-digit month and day), nothing around it.
fn parse_date(text: &str) -> Option<NaiveDate> {
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shaped {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

impl From<NaiveDate> for Date {
    fn from(date: NaiveDate) -> Self {
        Self(date.format("%Y-%m-%d").to_string())
    }
}

/// A percentage as the client wrote it (input), or the canonical two-decimal form (output).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Percentage(String);

/// A decimal with at most two places, as a string, e.g. "33.33".
#[Scalar(name = "Percentage")]
impl ScalarType for Percentage {
    fn parse(value: Value) -> InputValueResult<Self> {
        text_of(value, "a Percentage")
            .map(Self)
            .map_err(InputValueError::custom)
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}

impl Percentage {
    /// The raw text, for the domain's `Percentage::parse`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<amanah_domain::values::Percentage> for Percentage {
    fn from(percentage: amanah_domain::values::Percentage) -> Self {
        Self(percentage.to_string())
    }
}

/// A signed 64-bit integer as text: minor units of money exceed GraphQL's 32-bit `Int`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BigInt(String);

/// A signed 64-bit integer, as a string (amounts in minor units exceed GraphQL's 32-bit Int).
#[Scalar(name = "BigInt")]
impl ScalarType for BigInt {
    fn parse(value: Value) -> InputValueResult<Self> {
        text_of(value, "a BigInt")
            .map(Self)
            .map_err(InputValueError::custom)
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}

impl BigInt {
    /// The raw text, for the domain's `Money::parse`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<i64> for BigInt {
    fn from(value: i64) -> Self {
        Self(value.to_string())
    }
}

/// An instant in UTC, always written with microseconds and `Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime(pub chrono::DateTime<Utc>);

/// An instant in UTC, RFC 3339 with microseconds, e.g. 2026-11-28T10:00:00.123456Z.
#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => chrono::DateTime::parse_from_rfc3339(text)
                .map(|instant| Self(instant.with_timezone(&Utc)))
                .map_err(|_| {
                    InputValueError::custom("a DateTime is RFC 3339, e.g. 2026-11-28T10:00:00Z")
                }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::Micros, true))
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use super::*;

    #[test]
    fn dates_are_strictly_yyyy_mm_dd() {
        let date = |text: &str| Date(text.to_owned()).parse("plannedStart");
        assert_eq!(
            date("2026-02-28").ok(),
            NaiveDate::from_ymd_opt(2026, 2, 28)
        );
        for bad in [
            "2026-2-28",
            "2026-02-30",
            "28/02/2026",
            " 2026-02-28",
            "2026-02-28T00:00",
        ] {
            let error = date(bad).err();
            assert!(
                matches!(&error, Some(ApiError::BadUserInput { field, .. }) if field == "plannedStart"),
                "{bad}: {error:?}"
            );
        }
    }

    #[test]
    fn a_bad_date_names_its_path() {
        let error = Date("2026-02-30".to_owned())
            .parse(FieldPath::list("budgets", 1).field("periodEnd"))
            .err();
        assert!(matches!(
            error,
            Some(ApiError::BadUserInput { field, message })
                if field == "budgets[1].periodEnd"
                    && message == "budgets[1].periodEnd `2026-02-30` is not a calendar date \
                                   of the form YYYY-MM-DD"
        ));
    }

    #[test]
    fn dates_render_as_iso_8601() {
        let date = Date::from(NaiveDate::from_ymd_opt(2016, 1, 7).unwrap());
        assert_eq!(date.to_value(), Value::from("2016-01-07"));
    }

    #[test]
    fn percentages_and_big_ints_take_strings_and_integers_never_floats() {
        assert_eq!(
            <Percentage as ScalarType>::parse(Value::from("33.33")).ok(),
            Some(Percentage("33.33".to_owned()))
        );
        assert_eq!(
            <Percentage as ScalarType>::parse(Value::from(100)).ok(),
            Some(Percentage("100".to_owned()))
        );
        assert!(<Percentage as ScalarType>::parse(Value::from(33.33)).is_err());
        assert_eq!(
            <BigInt as ScalarType>::parse(Value::from("-9007199254740991")).ok(),
            Some(BigInt("-9007199254740991".to_owned()))
        );
        assert!(<BigInt as ScalarType>::parse(Value::Boolean(true)).is_err());
    }

    #[test]
    fn date_times_have_microseconds_and_z() {
        let instant = chrono::DateTime::parse_from_rfc3339("2026-11-28T11:00:00.1234567+01:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            DateTime(instant).to_value(),
            Value::from("2026-11-28T10:00:00.123456Z")
        );
    }
}
