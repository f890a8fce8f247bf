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

        /// Recorded codes are read through `known`: a code withdrawn since still replays.
        impl TryFrom<String> for $ty {
            type Error = ValueError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::known(&value)
            }
        }
    };
}

/// Declares a value type backed by an official IATI code list: `parse` for new data (withdrawn
/// codes refused, [`ValueError::WithdrawnCode`]), `known` for recorded data (withdrawn codes
/// read), and deserialisation through `known`, so that events recorded before a withdrawal
/// still replay.
macro_rules! iati_code {
    ($(#[$meta:meta])* $ty:ident, $list:ident, $unknown:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $ty(&'static Code);

        impl $ty {
            /// Parses a code of its IATI list for new data.
            ///
            /// # Errors
            #[doc = concat!("`", stringify!($unknown), "`, or [`ValueError::WithdrawnCode`] for a withdrawn code.")]
            pub fn parse(raw: &str) -> Result<Self, ValueError> {
                let code = Self::known(raw)?.0;
                match code.status {
                    CodeStatus::Active => Ok(Self(code)),
                    CodeStatus::Withdrawn => Err(ValueError::WithdrawnCode {
                        list: iati::generated::$list.name,
                        code: code.code.to_owned(),
                    }),
                }
            }

            /// Looks up a known code, withdrawn or not (for reading recorded data).
            ///
            /// # Errors
            #[doc = concat!("`", stringify!($unknown), "`.")]
            pub fn known(raw: &str) -> Result<Self, ValueError> {
                iati::generated::$list
                    .get(raw)
                    .map(Self)
                    .ok_or_else(|| ($unknown)(raw.to_owned()))
            }

            /// Whether the code was withdrawn from its list (it is then only read, never new).
            #[must_use]
            pub fn is_withdrawn(self) -> bool {
                self.0.status == CodeStatus::Withdrawn
            }
        }

        table_code!($ty, Code);
    };
}

iati_code!(
    /// A country code of the official IATI Country list (ISO 3166-1 alpha-2, and `XK`), e.g.
    /// `ID`; upper case, as ISO writes it (`id` is refused). `AN` is withdrawn.
    CountryCode,
    COUNTRY,
    ValueError::UnknownCountry
);

/// An active ISO 4217 currency code with its minor-unit exponent, e.g. `EUR` (2), `JPY` (0).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CurrencyCode(&'static CurrencyEntry);

impl CurrencyCode {
    /// Parses an upper-case currency code for new data: active in the IATI Currency list, with
    /// the minor unit known (ISO 4217).
    ///
    /// # Errors
    /// [`ValueError::WithdrawnCode`] for a currency the list has withdrawn,
    /// [`ValueError::UnknownCurrency`] otherwise.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let list = &iati::generated::CURRENCY;
        match list.get(raw).map(|code| code.status) {
            Some(CodeStatus::Active) => Self::known(raw),
            Some(CodeStatus::Withdrawn) => Err(ValueError::WithdrawnCode {
                list: list.name,
                code: raw.to_owned(),
            }),
            None => Err(ValueError::UnknownCurrency(raw.to_owned())),
        }
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

iati_code!(
    /// A DAC 5-digit sector code of the official IATI Sector list, e.g. `15113`; 15120 is
    /// withdrawn.
    SectorCode,
    SECTOR,
    ValueError::UnknownSector
);

iati_code!(
    /// A DAC region code of the official IATI Region list, e.g. `789`.
    RegionCode,
    REGION,
    ValueError::UnknownRegion
);

iati_code!(
    /// A code of the official IATI DocumentCategory list, e.g. `A05` (Budget).
    DocumentCategory,
    DOCUMENT_CATEGORY,
    ValueError::UnknownDocumentCategory
);

/// The error for a code that is not on the IATI list `list`.
fn unknown_code(list: &'static str) -> impl Fn(String) -> ValueError {
    move |code| ValueError::UnknownCode { list, code }
}

iati_code!(
    /// A code of the official IATI Language list (ISO 639-1), e.g. `en`.
    LanguageCode,
    LANGUAGE,
    unknown_code("Language")
);

iati_code!(
    /// A code of the official IATI CollaborationType list, e.g. `1` (Bilateral).
    CollaborationType,
    COLLABORATION_TYPE,
    unknown_code("CollaborationType")
);

iati_code!(
    /// A code of the official IATI FlowType list, e.g. `10` (ODA).
    FlowType,
    FLOW_TYPE,
    unknown_code("FlowType")
);

iati_code!(
    /// A code of the official IATI FinanceType list, e.g. `110` (Standard grant).
    FinanceType,
    FINANCE_TYPE,
    unknown_code("FinanceType")
);

iati_code!(
    /// A code of the official IATI AidType list (vocabulary 1, OECD DAC), e.g. `C01` (Project-type
    /// interventions).
    AidType,
    AID_TYPE,
    unknown_code("AidType")
);

iati_code!(
    /// A code of the official IATI TiedStatus list, e.g. `5` (Untied).
    TiedStatus,
    TIED_STATUS,
    unknown_code("TiedStatus")
);

iati_code!(
    /// A code of the official IATI PolicyMarker list (OECD DAC vocabulary), e.g. `3`
    /// (Participatory Development/Good Governance).
    PolicyMarkerCode,
    POLICY_MARKER,
    unknown_code("PolicyMarker")
);

iati_code!(
    /// A code of the official IATI PolicySignificance list, e.g. `2` (principal objective).
    PolicySignificance,
    POLICY_SIGNIFICANCE,
    unknown_code("PolicySignificance")
);

iati_code!(
    /// A code of the official IATI ContactType list, e.g. `1` (General Enquiries).
    ContactType,
    CONTACT_TYPE,
    unknown_code("ContactType")
);

iati_code!(
    /// A code of the official IATI GeographicVocabulary list, e.g. `A1` (GAUL) or `G1`
    /// (GeoNames).
    GeographicVocabulary,
    GEOGRAPHIC_VOCABULARY,
    unknown_code("GeographicVocabulary")
);

iati_code!(
    /// A code of the official IATI ResultType list, e.g. `1` (Output), `2` (Outcome).
    ResultType,
    RESULT_TYPE,
    unknown_code("ResultType")
);

iati_code!(
    /// A code of the official IATI IndicatorMeasure list: `1` unit, `2` percentage, `3`
    /// nominal, `4` ordinal, `5` qualitative.
    IndicatorMeasure,
    INDICATOR_MEASURE,
    unknown_code("IndicatorMeasure")
);

impl IndicatorMeasure {
    /// Whether the measure is qualitative (`5`): its baselines, targets and actuals carry no
    /// value.
    #[must_use]
    pub fn is_qualitative(self) -> bool {
        self.as_str() == "5"
    }
}
