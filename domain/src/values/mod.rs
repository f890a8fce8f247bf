//! Validated value types: parse, don't validate.
//!
//! Every type here has private fields and a fallible constructor (`parse`/`new`) returning a
//! [`ValueError`]; once a value exists it is valid, so commands, events and state hold only these.
//! Serde goes through the same constructors (`try_from`), so an event or a request body can never
//! smuggle in a value that `parse` would refuse.
//!
//! A [`ValueError`] says what is wrong with a value but not where it came from; the API attaches
//! the input field with the aggregates' `invalid` constructors, e.g.
//! `IatiIdentifier::parse(raw).map_err(ProjectError::invalid("iatiIdentifier"))`, and names fields
//! inside lists with a [`FieldPath`] (`FieldPath::list("recipientCountries", 1).field("percentage")`).

mod codes;
mod decimal;
mod field_path;
mod geo;
mod identifiers;
mod money;
mod percentage;
mod text;
mod web;

pub use codes::{
    AidType, CollaborationType, ContactType, CountryCode, CurrencyCode, DocumentCategory,
    FinanceType, FlowType, GeographicVocabulary, IndicatorMeasure, LanguageCode, PolicyMarkerCode,
    PolicySignificance, RegionCode, ResultType, SectorCode, TiedStatus,
};
pub use decimal::IndicatorValue;
pub use field_path::FieldPath;
pub use geo::{AreaCode, GeoPoint, MAX_ADMINISTRATIVE_LEVEL, parse_administrative_level};
pub use identifiers::{IatiIdentifier, OrgRef, OtherIdentifierRef, TransactionRef};
pub use money::{MAX_MINOR_UNITS, Money};
pub use percentage::{Percentage, format_hundredths};
pub use text::{Acronym, City, Description, Name, Title};
pub use web::{EmailAddress, MimeType, Telephone, WebUrl};

/// Why a raw value was refused. The message completes a sentence that starts with the field name:
/// "iatiIdentifier must not contain the character `/`".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} characters long (it has {actual})")]
    TooLong { max: usize, actual: usize },
    #[error("must not start or end with whitespace")]
    SurroundingWhitespace,
    #[error("must not contain whitespace")]
    ContainsWhitespace,
    #[error("must not contain control characters")]
    ControlCharacter,
    #[error("must not contain the character `{0}`")]
    ForbiddenCharacter(char),
    #[error(
        "must have the form {{RegistrationAgency}}-{{Number}} with no empty part, e.g. XM-DAC-5-7"
    )]
    OrgRefShape,
    #[error("`{0}` is not an ISO 3166-1 alpha-2 country code (two upper-case letters, e.g. ID)")]
    UnknownCountry(String),
    #[error(
        "`{0}` is not an active currency of the IATI Currency list with a known minor unit (e.g. EUR)"
    )]
    UnknownCurrency(String),
    #[error("`{0}` is not a code of the IATI Sector list (DAC 5-digit sectors, e.g. 15113)")]
    UnknownSector(String),
    #[error("`{0}` is not a code of the IATI Region list (DAC regions, e.g. 789)")]
    UnknownRegion(String),
    #[error("`{0}` is not a code of the IATI DocumentCategory list (e.g. A05)")]
    UnknownDocumentCategory(String),
    #[error(
        "`{code}` was withdrawn from the IATI {list} code list and may not be used for new data"
    )]
    WithdrawnCode { list: &'static str, code: String },
    #[error("`{code}` is not a code of the IATI {list} code list")]
    UnknownCode { list: &'static str, code: String },
    #[error("`{0}` is not a decimal number such as 33.33")]
    PercentageSyntax(String),
    #[error("`{0}` has more than two decimal places")]
    PercentageTooPrecise(String),
    #[error("`{0}` is not greater than 0 and at most 100")]
    PercentageOutOfRange(String),
    #[error("{0} minor units is beyond ±(2^53 - 1), the largest integer JSON carries exactly")]
    AmountOutOfRange(i128),
    #[error("must be at most {max}")]
    TooLarge { max: u64 },
    #[error("must not be negative (got {0})")]
    Negative(i64),
    #[error("`{0}` is not an integer")]
    NotAnInteger(String),
    #[error("`{0}` is not a decimal number such as 12 or -0.5")]
    NotADecimal(String),
    #[error(
        "`{amount}` is not a decimal amount in {currency} (digits, and at most {places} decimal places)"
    )]
    NotAnAmount {
        amount: String,
        currency: &'static str,
        places: u8,
    },
    #[error("must be an absolute http or https URL ({0})")]
    InvalidUrl(&'static str),
    #[error("must be a MIME type of the form type/subtype, e.g. application/pdf")]
    InvalidMimeType,
    #[error("must be an e-mail address such as name@example.org ({0})")]
    InvalidEmail(&'static str),
    #[error(
        "must be a telephone number: digits, spaces and + ( ) - . / only, with at least 5 digits"
    )]
    InvalidTelephone,
    #[error("`{0}` is not a coordinate in degrees with at most six decimal places, within range")]
    InvalidCoordinate(String),
}

impl crate::aggregate::FieldError for ValueError {
    /// A bare value error does not know its field; aggregates' `Invalid` variants carry it.
    fn field(&self) -> Option<FieldPath> {
        None
    }
}

/// Common checks of a value that is one token (a URL, an e-mail address, a code): not empty, at
/// most `max` characters, no whitespace and no control characters anywhere.
///
/// # Errors
/// [`ValueError::Empty`], [`ValueError::TooLong`], [`ValueError::ContainsWhitespace`] or
/// [`ValueError::ControlCharacter`].
fn token(raw: &str, max: usize) -> Result<(), ValueError> {
    if raw.is_empty() {
        return Err(ValueError::Empty);
    }
    let actual = raw.chars().count();
    if actual > max {
        return Err(ValueError::TooLong { max, actual });
    }
    if raw.chars().any(char::is_whitespace) {
        return Err(ValueError::ContainsWhitespace);
    }
    if raw.chars().any(char::is_control) {
        return Err(ValueError::ControlCharacter);
    }
    Ok(())
}

/// A count of people (GraphQL `Int`): zero or more.
///
/// # Errors
/// [`ValueError::Negative`] below zero, [`ValueError::TooLarge`] beyond `u32::MAX`.
pub fn parse_count(raw: i64) -> Result<u32, ValueError> {
    if raw < 0 {
        return Err(ValueError::Negative(raw));
    }
    u32::try_from(raw).map_err(|_| ValueError::TooLarge {
        max: u64::from(u32::MAX),
    })
}

/// A change to an optional field in a revision: keep it, set it, or clear it.
///
/// GraphQL distinguishes an absent input field (keep) from an explicit `null` (clear).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Patch<T> {
    #[default]
    Keep,
    Set(T),
    Clear,
}

impl<T> Patch<T> {
    /// Applies the patch to the current value.
    #[must_use]
    pub fn apply(self, current: Option<T>) -> Option<T> {
        match self {
            Self::Keep => current,
            Self::Set(value) => Some(value),
            Self::Clear => None,
        }
    }

    /// Whether the patch keeps the current value.
    #[must_use]
    pub const fn is_keep(&self) -> bool {
        matches!(self, Self::Keep)
    }

    /// Maps the new value, if any.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Patch<U> {
        match self {
            Self::Keep => Patch::Keep,
            Self::Set(value) => Patch::Set(f(value)),
            Self::Clear => Patch::Clear,
        }
    }
}

/// Implements `Display`, `as_str`, `From<T> for String`, `FromStr` (through `parse`) and
/// `TryFrom<String>` for a string newtype whose `parse` takes `&str`. Deserialisation goes through
/// `TryFrom<String>`: `parse` by default; with `read = known`, through a `known` constructor that
/// accepts recorded values today's rules would refuse as new data.
macro_rules! string_newtype {
    ($ty:ident) => {
        string_newtype!($ty, read = parse);
    };
    ($ty:ident, read = $read:ident) => {
        impl $ty {
            /// The value as a string slice.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl From<$ty> for String {
            fn from(value: $ty) -> Self {
                value.as_str().to_owned()
            }
        }

        impl TryFrom<String> for $ty {
            type Error = ValueError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::$read(&value)
            }
        }

        impl std::str::FromStr for $ty {
            type Err = ValueError;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Self::parse(value)
            }
        }
    };
}
pub(crate) use string_newtype;

#[cfg(test)]
mod tests;
