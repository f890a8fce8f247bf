//! Codes checked against reference tables: countries, currencies, sectors, regions, document
//! categories. Each is a `Copy` handle on its `'static` table row, so it knows its name.

use serde::{Deserialize, Serialize};

use super::ValueError;
use crate::codelists::{self, CodeEntry, CurrencyEntry};

macro_rules! table_code {
    ($ty:ident, $entry:ty) => {
        impl $ty {
            /// The code, e.g. as stored in events.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                self.0.code
            }

            /// The English name from the reference table.
            #[must_use]
            pub const fn name(self) -> &'static str {
                self.0.name
            }

            /// The reference table row.
            #[must_use]
            pub const fn entry(self) -> &'static $entry {
                self.0
            }
        }

        impl PartialEq for $ty {
            fn eq(&self, other: &Self) -> bool {
                self.0.code == other.0.code
            }
        }

        impl Eq for $ty {}

        impl std::hash::Hash for $ty {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                self.0.code.hash(state);
            }
        }

        impl PartialOrd for $ty {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl Ord for $ty {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                self.0.code.cmp(other.0.code)
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl From<$ty> for String {
            fn from(value: $ty) -> Self {
                value.as_str().to_owned()
            }
        }
    };
}

/// An ISO 3166-1 alpha-2 country code (any of the 249 assigned codes), e.g. `ID`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode(&'static CodeEntry);

impl CountryCode {
    /// Parses an alpha-2 code; it must be upper case, as ISO writes it (`id` is refused).
    ///
    /// # Errors
    /// [`ValueError::UnknownCountry`] when the code is not assigned.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        codelists::find_country(raw)
            .map(Self)
            .ok_or_else(|| ValueError::UnknownCountry(raw.to_owned()))
    }
}

table_code!(CountryCode, CodeEntry);

impl TryFrom<String> for CountryCode {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

/// An active ISO 4217 currency code with its minor-unit exponent, e.g. `EUR` (2), `JPY` (0).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CurrencyCode(&'static CurrencyEntry);

impl CurrencyCode {
    /// Parses an upper-case ISO 4217 code.
    ///
    /// # Errors
    /// [`ValueError::UnknownCurrency`] when the code is not an active code with a minor unit.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        codelists::find_currency(raw)
            .map(Self)
            .ok_or_else(|| ValueError::UnknownCurrency(raw.to_owned()))
    }

    /// Number of decimal places of the minor unit (EUR 2, JPY 0, KWD 3).
    #[must_use]
    pub const fn exponent(self) -> u8 {
        self.0.exponent
    }
}

table_code!(CurrencyCode, CurrencyEntry);

impl TryFrom<String> for CurrencyCode {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

/// A DAC 5-digit sector code of the governance group, e.g. `15113`.
///
/// [`SectorCode::parse`] (for new data) refuses withdrawn codes; deserialisation accepts them, so
/// that events recorded before a withdrawal still replay.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SectorCode(&'static CodeEntry);

impl SectorCode {
    /// Parses a sector code for new data.
    ///
    /// # Errors
    /// [`ValueError::UnknownSector`] or, for 15120 and any other withdrawn code,
    /// [`ValueError::WithdrawnSector`].
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let sector = Self::known(raw)?;
        if sector.is_withdrawn() {
            return Err(ValueError::WithdrawnSector(raw.to_owned()));
        }
        Ok(sector)
    }

    /// Looks up a known sector, withdrawn or not (for reading recorded data).
    ///
    /// # Errors
    /// [`ValueError::UnknownSector`].
    pub fn known(raw: &str) -> Result<Self, ValueError> {
        codelists::find(codelists::sectors(), raw)
            .map(Self)
            .ok_or_else(|| ValueError::UnknownSector(raw.to_owned()))
    }

    /// Whether the DAC withdrew this code.
    #[must_use]
    pub const fn is_withdrawn(self) -> bool {
        self.0.withdrawn
    }
}

table_code!(SectorCode, CodeEntry);

impl TryFrom<String> for SectorCode {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::known(&value)
    }
}

/// A DAC region code: 689, 789 or 798.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegionCode(&'static CodeEntry);

impl RegionCode {
    /// Parses a region code.
    ///
    /// # Errors
    /// [`ValueError::UnknownRegion`].
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        codelists::find(codelists::regions(), raw)
            .map(Self)
            .ok_or_else(|| ValueError::UnknownRegion(raw.to_owned()))
    }
}

table_code!(RegionCode, CodeEntry);

impl TryFrom<String> for RegionCode {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

/// An IATI DocumentCategory code of Amanah's selection, e.g. `A05` (Budget).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DocumentCategory(&'static CodeEntry);

impl DocumentCategory {
    /// Parses a document category code.
    ///
    /// # Errors
    /// [`ValueError::UnknownDocumentCategory`].
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        codelists::find(codelists::document_categories(), raw)
            .map(Self)
            .ok_or_else(|| ValueError::UnknownDocumentCategory(raw.to_owned()))
    }
}

table_code!(DocumentCategory, CodeEntry);

impl TryFrom<String> for DocumentCategory {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}
