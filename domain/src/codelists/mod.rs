//! Code lists: the official IATI 2.03 code lists, complete ([`iati`], generated from the vendored
//! XML), the enums of the lists Amanah decides on (checked against those lists), the activity enums
//! of its own, the currencies' minor units and the ASEAN member states.
//!
//! IATI coded enums serialise as their IATI code string (`"role": "1"`), so an IATI export is a
//! mapping, not a translation. Amanah's own activity enums serialise as `SCREAMING_SNAKE_CASE`
//! strings, the names GraphQL shows. Facts were read from the IATI code lists (`version-2.03`).

mod currencies;
pub mod iati;

use chrono::NaiveDate;

/// One active ISO 4217 currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CurrencyEntry {
    pub code: &'static str,
    /// Number of decimal places of the minor unit (EUR 2, JPY 0, KWD 3).
    pub exponent: u8,
    pub name: &'static str,
}

/// Declares an IATI coded enum: `code()`, `from_code()`, `name()`, `ALL`, and serde as the code string.
macro_rules! iati_codelist {
    (
        $(#[$meta:meta])*
        $vis:vis enum $ty:ident ($list:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal, $name:literal; )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $ty {
            $( $(#[$vmeta])* #[doc = concat!("IATI code `", $code, "`: ", $name, ".")] $variant, )+
        }

        impl $ty {
            /// Every value, in code-list order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];
            /// The IATI code list this enum mirrors.
            pub const CODELIST: &'static str = $list;

            /// The IATI code, e.g. `"1"`.
            #[must_use]
            pub const fn code(self) -> &'static str {
                match self { $(Self::$variant => $code,)+ }
            }

            /// The IATI English name.
            #[must_use]
            pub const fn name(self) -> &'static str {
                match self { $(Self::$variant => $name,)+ }
            }

            /// The value with this IATI code, if any.
            #[must_use]
            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some(Self::$variant),)+ _ => None }
            }

            /// Parses an IATI code.
            ///
            /// # Errors
            /// [`crate::values::ValueError::UnknownCode`] when the code is not in the list.
            pub fn parse(code: &str) -> Result<Self, crate::values::ValueError> {
                Self::from_code(code).ok_or_else(|| crate::values::ValueError::UnknownCode {
                    list: $list,
                    code: code.to_owned(),
                })
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.code())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let code = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Self::parse(&code).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// Declares one of Amanah's own enums: `as_str()` (the GraphQL name), `ALL`, serde as that name.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $ty:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $name:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        $vis enum $ty {
            $( $(#[$vmeta])* #[serde(rename = $name)] $variant, )+
        }

        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The `SCREAMING_SNAKE_CASE` name, as GraphQL and the events show it.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name,)+ }
            }

            /// The value with this name, if any.
            #[must_use]
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $($name => Some(Self::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

iati_codelist! {
    /// IATI ActivityStatus: the life cycle of a project (GraphQL `ProjectStatus`).
    pub enum ProjectStatus ("ActivityStatus") {
        Pipeline = "1", "Pipeline/identification";
        Implementation = "2", "Implementation";
        Finalisation = "3", "Finalisation";
        Closed = "4", "Closed";
        Cancelled = "5", "Cancelled";
        Suspended = "6", "Suspended";
    }
}

impl ProjectStatus {
    /// Whether the project may move from `self` to `to`: 1→2, 2→3, 3→4, 1/2/3→5, 2→6, 6→2.
    #[must_use]
    pub const fn can_move_to(self, to: Self) -> bool {
        use ProjectStatus::{Cancelled, Closed, Finalisation, Implementation, Pipeline, Suspended};
        matches!(
            (self, to),
            (Pipeline, Implementation)
                | (Implementation, Finalisation)
                | (Finalisation, Closed)
                | (Pipeline | Implementation | Finalisation, Cancelled)
                | (Implementation, Suspended)
                | (Suspended, Implementation)
        )
    }

    /// Closed and Cancelled are terminal: no transition leaves them.
    #[must_use]
    pub const fn is_terminal(self) -> bool {
        matches!(self, Self::Closed | Self::Cancelled)
    }
}

iati_codelist! {
    /// IATI ActivityDateType.
    pub enum ActivityDateType ("ActivityDateType") {
        PlannedStart = "1", "Planned start";
        ActualStart = "2", "Actual start";
        PlannedEnd = "3", "Planned End";
        ActualEnd = "4", "Actual end";
    }
}

iati_codelist! {
    /// IATI OrganisationRole: what a participating organisation does in a project.
    pub enum OrganisationRole ("OrganisationRole") {
        Funding = "1", "Funding";
        Accountable = "2", "Accountable";
        Extending = "3", "Extending";
        Implementing = "4", "Implementing";
    }
}

iati_codelist! {
    /// IATI OrganisationType (all 16 codes of 2.03).
    pub enum OrganisationType ("OrganisationType") {
        Government = "10", "Government";
        LocalGovernment = "11", "Local Government";
        OtherPublicSector = "15", "Other Public Sector";
        InternationalNgo = "21", "International NGO";
        NationalNgo = "22", "National NGO";
        RegionalNgo = "23", "Regional NGO";
        PartnerCountryNgo = "24", "Partner Country based NGO";
        PublicPrivatePartnership = "30", "Public Private Partnership";
        Multilateral = "40", "Multilateral";
        Foundation = "60", "Foundation";
        PrivateSector = "70", "Private Sector";
        PrivateSectorProviderCountry = "71", "Private Sector in Provider Country";
        PrivateSectorRecipientCountry = "72", "Private Sector in Aid Recipient Country";
        PrivateSectorThirdCountry = "73", "Private Sector in Third Country";
        Academic = "80", "Academic, Training and Research";
        Other = "90", "Other";
    }
}

iati_codelist! {
    /// IATI TransactionType (all 13 codes of 2.03).
    pub enum TransactionType ("TransactionType") {
        IncomingFunds = "1", "Incoming Funds";
        OutgoingCommitment = "2", "Outgoing Commitment";
        Disbursement = "3", "Disbursement";
        Expenditure = "4", "Expenditure";
        InterestPayment = "5", "Interest Payment";
        LoanRepayment = "6", "Loan Repayment";
        Reimbursement = "7", "Reimbursement";
        PurchaseOfEquity = "8", "Purchase of Equity";
        SaleOfEquity = "9", "Sale of Equity";
        CreditGuarantee = "10", "Credit Guarantee";
        IncomingCommitment = "11", "Incoming Commitment";
        OutgoingPledge = "12", "Outgoing Pledge";
        IncomingPledge = "13", "Incoming Pledge";
    }
}

iati_codelist! {
    /// IATI RelatedActivityType (2.03 has no predecessor/successor: see [`OtherIdentifierType::PreviousActivityIdentifier`]).
    pub enum RelatedActivityType ("RelatedActivityType") {
        Parent = "1", "Parent";
        Child = "2", "Child";
        Sibling = "3", "Sibling";
        CoFunded = "4", "Co-funded";
        ThirdParty = "5", "Third Party";
    }
}

iati_codelist! {
    /// IATI BudgetType.
    pub enum BudgetType ("BudgetType") {
        Original = "1", "Original";
        Revised = "2", "Revised";
    }
}

iati_codelist! {
    /// IATI BudgetStatus.
    pub enum BudgetStatus ("BudgetStatus") {
        Indicative = "1", "Indicative";
        Committed = "2", "Committed";
    }
}

iati_codelist! {
    /// IATI DescriptionType (for the IATI export: Amanah keeps General and Objectives).
    pub enum DescriptionType ("DescriptionType") {
        General = "1", "General";
        Objectives = "2", "Objectives";
        TargetGroups = "3", "Target Groups";
        Other = "4", "Other";
    }
}

iati_codelist! {
    /// IATI OtherIdentifierType: `A3` links a follow-on project to its predecessor.
    pub enum OtherIdentifierType ("OtherIdentifierType") {
        ReportingOrganisationInternal = "A1", "Reporting Organisation's internal activity identifier";
        CrsActivityIdentifier = "A2", "CRS Activity identifier";
        PreviousActivityIdentifier = "A3", "Previous Activity Identifier";
        FtsFlowId = "A4", "FTS Flow ID";
        OtherActivityIdentifier = "A9", "Other Activity Identifier";
        PreviousReportingOrganisationIdentifier = "B1", "Previous Reporting Organisation Identifier";
        OtherOrganisationIdentifier = "B9", "Other Organisation Identifier";
    }
}

named_enum! {
    /// What an anti-corruption activity is.
    pub enum ActivityKind {
        Training = "TRAINING",
        Workshop = "WORKSHOP",
        Conference = "CONFERENCE",
        PolicyDialogue = "POLICY_DIALOGUE",
        Audit = "AUDIT",
        Study = "STUDY",
        NetworkMeeting = "NETWORK_MEETING",
        TechnicalAssistance = "TECHNICAL_ASSISTANCE",
        AwarenessCampaign = "AWARENESS_CAMPAIGN",
    }
}

named_enum! {
    /// The chapters of the UN Convention against Corruption an activity serves.
    pub enum UncacChapter {
        /// Chapter II.
        Prevention = "PREVENTION",
        /// Chapter III.
        CriminalisationAndLawEnforcement = "CRIMINALISATION_AND_LAW_ENFORCEMENT",
        /// Chapter IV.
        InternationalCooperation = "INTERNATIONAL_COOPERATION",
        /// Chapter V.
        AssetRecovery = "ASSET_RECOVERY",
        /// Chapter VI.
        TechnicalAssistanceAndInformationExchange = "TECHNICAL_ASSISTANCE_AND_INFORMATION_EXCHANGE",
    }
}

impl UncacChapter {
    /// The chapter's Roman numeral in the Convention.
    #[must_use]
    pub const fn chapter(self) -> &'static str {
        match self {
            Self::Prevention => "II",
            Self::CriminalisationAndLawEnforcement => "III",
            Self::InternationalCooperation => "IV",
            Self::AssetRecovery => "V",
            Self::TechnicalAssistanceAndInformationExchange => "VI",
        }
    }
}

named_enum! {
    /// The kind of a cooperative audit (required for, and only for, [`ActivityKind::Audit`]).
    pub enum AuditType {
        /// ISSAI 200.
        Financial = "FINANCIAL",
        /// ISSAI 300.
        Performance = "PERFORMANCE",
        /// ISSAI 400.
        Compliance = "COMPLIANCE",
    }
}

impl AuditType {
    /// The INTOSAI standard that defines the audit type, e.g. `ISSAI 400`.
    #[must_use]
    pub const fn standard(self) -> &'static str {
        match self {
            Self::Financial => "ISSAI 200",
            Self::Performance => "ISSAI 300",
            Self::Compliance => "ISSAI 400",
        }
    }
}

named_enum! {
    /// The life cycle of an activity: PLANNED, then COMPLETED or CANCELLED.
    pub enum ActivityStatus {
        Planned = "PLANNED",
        Completed = "COMPLETED",
        Cancelled = "CANCELLED",
    }
}

named_enum! {
    /// What a partner organisation does in an activity.
    pub enum ActivityPartnerRole {
        Organiser = "ORGANISER",
        CoOrganiser = "CO_ORGANISER",
        Host = "HOST",
        Funder = "FUNDER",
        ResourcePerson = "RESOURCE_PERSON",
        ParticipatingInstitution = "PARTICIPATING_INSTITUTION",
    }
}

/// An ASEAN member state and the day it joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemberState {
    /// ISO 3166-1 alpha-2 code.
    pub country: &'static str,
    pub joined_on: NaiveDate,
}

const fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(date) => date,
        None => panic!("invalid date in a reference table"),
    }
}

const MEMBER_STATES: &[MemberState] = &[
    member("BN", date(1984, 1, 7)),
    member("KH", date(1999, 4, 30)),
    member("ID", date(1967, 8, 8)),
    member("LA", date(1997, 7, 23)),
    member("MY", date(1967, 8, 8)),
    member("MM", date(1997, 7, 23)),
    member("PH", date(1967, 8, 8)),
    member("SG", date(1967, 8, 8)),
    member("TH", date(1967, 8, 8)),
    member("VN", date(1995, 7, 28)),
    // The 11th member, admitted at the 47th ASEAN Summit.
    member("TL", date(2025, 10, 26)),
];

const fn member(country: &'static str, joined_on: NaiveDate) -> MemberState {
    MemberState { country, joined_on }
}

/// The 11 ASEAN member states with their join dates, in the order of `domain.md`.
#[must_use]
pub fn member_states() -> &'static [MemberState] {
    MEMBER_STATES
}

/// The member states that had joined on `date` (inclusive).
pub fn member_states_as_of(date: NaiveDate) -> impl Iterator<Item = &'static MemberState> {
    MEMBER_STATES.iter().filter(move |m| m.joined_on <= date)
}

const CURRENCY_ENTRIES: &[CurrencyEntry] = &{
    let all = currencies::CURRENCIES;
    let mut entries = [CurrencyEntry {
        code: "",
        exponent: 0,
        name: "",
    }; currencies::CURRENCIES.len()];
    let mut i = 0;
    while i < all.len() {
        entries[i] = CurrencyEntry {
            code: all[i].0,
            exponent: all[i].1,
            name: all[i].2,
        };
        i += 1;
    }
    entries
};

/// ISO 4217 active currencies with a minor unit, sorted by code.
#[cfg(test)]
pub(crate) fn currencies() -> &'static [CurrencyEntry] {
    CURRENCY_ENTRIES
}

/// The currency entry for an ISO 4217 code.
pub(crate) fn find_currency(code: &str) -> Option<&'static CurrencyEntry> {
    CURRENCY_ENTRIES
        .binary_search_by(|entry| entry.code.cmp(code))
        .ok()
        .and_then(|i| CURRENCY_ENTRIES.get(i))
}

#[cfg(test)]
mod tests;
