//! Codes checked against reference tables: countries, currencies, sectors, regions, document
//! categories. Each is a `Copy` handle on its `'static` table row, so it knows its name.

use serde::{Deserialize, Serialize};

use super::ValueError;
use crate::codelists::iati::{self, Code, CodeStatus};
use crate::codelists::{self, CurrencyEntry};

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

/// A country code of the official IATI Country list (ISO 3166-1 alpha-2, and `XK`), e.g. `ID`.
/// [`CountryCode::parse`] (for new data) refuses withdrawn codes (`AN`); deserialisation accepts
/// them.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode(&'static Code);

impl CountryCode {
    /// Parses an alpha-2 code for new data; it must be upper case, as ISO writes it (`id` is
    /// refused).
    ///
    /// # Errors
    /// [`ValueError::UnknownCountry`], or [`ValueError::WithdrawnCode`] for a withdrawn code.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        for_new_data(Self::known(raw)?.0, "Country").map(Self)
    }

    /// Looks up a known country, withdrawn or not (for reading recorded data).
    ///
    /// # Errors
    /// [`ValueError::UnknownCountry`].
    pub fn known(raw: &str) -> Result<Self, ValueError> {
        iati::generated::COUNTRY
            .get(raw)
            .map(Self)
            .ok_or_else(|| ValueError::UnknownCountry(raw.to_owned()))
    }
}

table_code!(CountryCode, Code);

impl TryFrom<String> for CountryCode {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::known(&value)
    }
}

/// An active ISO 4217 currency code with its minor-unit exponent, e.g. `EUR` (2), `JPY` (0).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CurrencyCode(&'static CurrencyEntry);

impl CurrencyCode {
    /// Parses an upper-case currency code for new data: active in the IATI Currency list, with
    /// the minor unit known (ISO 4217).
    ///
    /// # Errors
    /// [`ValueError::UnknownCurrency`] otherwise.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        if !iati::generated::CURRENCY.allows(raw) {
            return Err(ValueError::UnknownCurrency(raw.to_owned()));
        }
        Self::known(raw)
    }

    /// A currency whose minor unit is known, on the IATI list or not (for reading recorded data).
    ///
    /// # Errors
    /// [`ValueError::UnknownCurrency`].
    pub fn known(raw: &str) -> Result<Self, ValueError> {
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
        Self::known(&value)
    }
}

/// A DAC 5-digit sector code of the official IATI Sector list, e.g. `15113`.
///
/// [`SectorCode::parse`] (for new data) refuses withdrawn codes; deserialisation accepts them, so
/// that events recorded before a withdrawal still replay.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SectorCode(&'static Code);

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
        iati::generated::SECTOR
            .get(raw)
            .map(Self)
            .ok_or_else(|| ValueError::UnknownSector(raw.to_owned()))
    }

    /// Whether the DAC withdrew this code.
    #[must_use]
    pub fn is_withdrawn(self) -> bool {
        self.0.status == CodeStatus::Withdrawn
    }
}

table_code!(SectorCode, Code);

impl TryFrom<String> for SectorCode {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::known(&value)
    }
}

/// A DAC region code of the official IATI Region list, e.g. `789`. [`RegionCode::parse`] (for new
/// data) refuses withdrawn codes; deserialisation accepts them.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegionCode(&'static Code);

impl RegionCode {
    /// Parses a region code for new data.
    ///
    /// # Errors
    /// [`ValueError::UnknownRegion`], or [`ValueError::WithdrawnCode`] for a withdrawn region.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        for_new_data(Self::known(raw)?.0, "Region").map(Self)
    }

    /// Looks up a known region, withdrawn or not (for reading recorded data).
    ///
    /// # Errors
    /// [`ValueError::UnknownRegion`].
    pub fn known(raw: &str) -> Result<Self, ValueError> {
        iati::generated::REGION
            .get(raw)
            .map(Self)
            .ok_or_else(|| ValueError::UnknownRegion(raw.to_owned()))
    }
}

table_code!(RegionCode, Code);

impl TryFrom<String> for RegionCode {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::known(&value)
    }
}

/// A code of the official IATI DocumentCategory list, e.g. `A05` (Budget).
/// [`DocumentCategory::parse`] (for new data) refuses withdrawn codes; deserialisation accepts
/// them.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DocumentCategory(&'static Code);

impl DocumentCategory {
    /// Parses a document category code for new data.
    ///
    /// # Errors
    /// [`ValueError::UnknownDocumentCategory`], or [`ValueError::WithdrawnCode`].
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        for_new_data(Self::known(raw)?.0, "DocumentCategory").map(Self)
    }

    /// Looks up a known category, withdrawn or not (for reading recorded data).
    ///
    /// # Errors
    /// [`ValueError::UnknownDocumentCategory`].
    pub fn known(raw: &str) -> Result<Self, ValueError> {
        iati::generated::DOCUMENT_CATEGORY
            .get(raw)
            .map(Self)
            .ok_or_else(|| ValueError::UnknownDocumentCategory(raw.to_owned()))
    }
}

table_code!(DocumentCategory, Code);

impl TryFrom<String> for DocumentCategory {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::known(&value)
    }
}

/// `code` if it may be used for new data; withdrawn codes of `list` are refused.
fn for_new_data(code: &'static Code, list: &'static str) -> Result<&'static Code, ValueError> {
    match code.status {
        CodeStatus::Active => Ok(code),
        CodeStatus::Withdrawn => Err(ValueError::WithdrawnCode {
            list,
            code: code.code.to_owned(),
        }),
    }
}
