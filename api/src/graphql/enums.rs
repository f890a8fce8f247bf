//! The GraphQL enums. They belong to the API (renaming a domain variant must not silently change
//! the contract), mirror the domain's code lists one to one, and convert both ways. The IATI-coded
//! lists are codes in the domain (`"2"`), and their GraphQL names (`IMPLEMENTATION`) exist only
//! here; for Amanah's own enums, which events record by name, a test checks that every GraphQL
//! name equals the domain's (`as_str()`), so the contract and the log cannot drift apart.

use amanah_domain::{codelists, query};
use async_graphql::Enum;

/// Declares an API enum mirroring a domain enum of [`codelists`] with the same variant names, and
/// the conversions both ways.
macro_rules! mirror_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant),+
        }

        impl From<codelists::$name> for $name {
            fn from(value: codelists::$name) -> Self {
                match value {
                    $(codelists::$name::$variant => Self::$variant),+
                }
            }
        }

        impl From<$name> for codelists::$name {
            fn from(value: $name) -> Self {
                match value {
                    $($name::$variant => Self::$variant),+
                }
            }
        }
    };
}

mirror_enum! {
    /// The life cycle of a project (IATI ActivityStatus; its code is `statusCode`).
    ProjectStatus {
        Pipeline,
        Implementation,
        Finalisation,
        Closed,
        Cancelled,
        Suspended,
    }
}

mirror_enum! {
    /// What an organisation does in a project (IATI OrganisationRole; its code is `roleCode`).
    OrganisationRole {
        Funding,
        Accountable,
        Extending,
        Implementing,
    }
}

mirror_enum! {
    /// The kind of organisation (IATI OrganisationType; its code is `typeCode`).
    OrganisationType {
        Government,
        LocalGovernment,
        OtherPublicSector,
        InternationalNgo,
        NationalNgo,
        RegionalNgo,
        PartnerCountryNgo,
        PublicPrivatePartnership,
        Multilateral,
        Foundation,
        PrivateSector,
        PrivateSectorProviderCountry,
        PrivateSectorRecipientCountry,
        PrivateSectorThirdCountry,
        Academic,
        Other,
    }
}

mirror_enum! {
    /// IATI TransactionType (its code is `typeCode`).
    TransactionType {
        IncomingFunds,
        OutgoingCommitment,
        Disbursement,
        Expenditure,
        InterestPayment,
        LoanRepayment,
        Reimbursement,
        PurchaseOfEquity,
        SaleOfEquity,
        CreditGuarantee,
        IncomingCommitment,
        OutgoingPledge,
        IncomingPledge,
    }
}

mirror_enum! {
    /// How a project relates to another (IATI RelatedActivityType).
    RelatedActivityType {
        Parent,
        Child,
        Sibling,
        CoFunded,
        ThirdParty,
    }
}

mirror_enum! {
    /// IATI BudgetType.
    BudgetType {
        Original,
        Revised,
    }
}

mirror_enum! {
    /// IATI BudgetStatus.
    BudgetStatus {
        Indicative,
        Committed,
    }
}

mirror_enum! {
    /// What an anti-corruption activity is.
    ActivityKind {
        Training,
        Workshop,
        Conference,
        PolicyDialogue,
        Audit,
        Study,
        NetworkMeeting,
        TechnicalAssistance,
        AwarenessCampaign,
    }
}

mirror_enum! {
    /// The chapters of the UN Convention against Corruption (II to VI) an activity serves.
    UncacChapter {
        Prevention,
        CriminalisationAndLawEnforcement,
        InternationalCooperation,
        AssetRecovery,
        TechnicalAssistanceAndInformationExchange,
    }
}

mirror_enum! {
    /// The kind of a cooperative audit: FINANCIAL (ISSAI 200), PERFORMANCE (ISSAI 300),
    /// COMPLIANCE (ISSAI 400).
    AuditType {
        Financial,
        Performance,
        Compliance,
    }
}

mirror_enum! {
    /// The life cycle of an activity: PLANNED, then COMPLETED or CANCELLED.
    ActivityStatus {
        Planned,
        Completed,
        Cancelled,
    }
}

mirror_enum! {
    /// What a partner organisation does in an activity.
    ActivityPartnerRole {
        Organiser,
        CoOrganiser,
        Host,
        Funder,
        ResourcePerson,
        ParticipatingInstitution,
    }
}

/// The official IATI 2.03 code lists `codelist(name:)` returns, complete, each under its IATI
/// name (`SECTOR` is the list `Sector`).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodelistName {
    /// IATI ActivityDateType.
    ActivityDateType,
    /// IATI ActivityStatus.
    ActivityStatus,
    /// IATI AidType.
    AidType,
    /// IATI BudgetStatus.
    BudgetStatus,
    /// IATI BudgetType.
    BudgetType,
    /// IATI CollaborationType.
    CollaborationType,
    /// IATI ContactType.
    ContactType,
    /// IATI Country.
    Country,
    /// IATI Currency.
    Currency,
    /// IATI DescriptionType.
    DescriptionType,
    /// IATI DocumentCategory.
    DocumentCategory,
    /// IATI FileFormat.
    FileFormat,
    /// IATI FinanceType.
    FinanceType,
    /// IATI FlowType.
    FlowType,
    /// IATI GeographicVocabulary.
    GeographicVocabulary,
    /// IATI IndicatorMeasure.
    IndicatorMeasure,
    /// IATI Language.
    Language,
    /// IATI OrganisationRole.
    OrganisationRole,
    /// IATI OrganisationType.
    OrganisationType,
    /// IATI OtherIdentifierType.
    OtherIdentifierType,
    /// IATI PolicyMarker.
    PolicyMarker,
    /// IATI PolicyMarkerVocabulary.
    PolicyMarkerVocabulary,
    /// IATI PolicySignificance.
    PolicySignificance,
    /// IATI Region.
    Region,
    /// IATI RegionVocabulary.
    RegionVocabulary,
    /// IATI RelatedActivityType.
    RelatedActivityType,
    /// IATI ResultType.
    ResultType,
    /// IATI Sector.
    Sector,
    /// IATI SectorCategory.
    SectorCategory,
    /// IATI SectorVocabulary.
    SectorVocabulary,
    /// IATI TiedStatus.
    TiedStatus,
    /// IATI TransactionType.
    TransactionType,
}

impl CodelistName {
    /// The vendored list, e.g. `Sector` for `SECTOR`.
    #[must_use]
    pub fn list(self) -> &'static codelists::iati::CodeList {
        use codelists::iati::generated;
        match self {
            Self::ActivityDateType => &generated::ACTIVITY_DATE_TYPE,
            Self::ActivityStatus => &generated::ACTIVITY_STATUS,
            Self::AidType => &generated::AID_TYPE,
            Self::BudgetStatus => &generated::BUDGET_STATUS,
            Self::BudgetType => &generated::BUDGET_TYPE,
            Self::CollaborationType => &generated::COLLABORATION_TYPE,
            Self::ContactType => &generated::CONTACT_TYPE,
            Self::Country => &generated::COUNTRY,
            Self::Currency => &generated::CURRENCY,
            Self::GeographicVocabulary => &generated::GEOGRAPHIC_VOCABULARY,
            Self::DescriptionType => &generated::DESCRIPTION_TYPE,
            Self::DocumentCategory => &generated::DOCUMENT_CATEGORY,
            Self::FileFormat => &generated::FILE_FORMAT,
            Self::FinanceType => &generated::FINANCE_TYPE,
            Self::FlowType => &generated::FLOW_TYPE,
            Self::IndicatorMeasure => &generated::INDICATOR_MEASURE,
            Self::Language => &generated::LANGUAGE,
            Self::OrganisationRole => &generated::ORGANISATION_ROLE,
            Self::OrganisationType => &generated::ORGANISATION_TYPE,
            Self::OtherIdentifierType => &generated::OTHER_IDENTIFIER_TYPE,
            Self::PolicyMarker => &generated::POLICY_MARKER,
            Self::PolicyMarkerVocabulary => &generated::POLICY_MARKER_VOCABULARY,
            Self::PolicySignificance => &generated::POLICY_SIGNIFICANCE,
            Self::Region => &generated::REGION,
            Self::RegionVocabulary => &generated::REGION_VOCABULARY,
            Self::RelatedActivityType => &generated::RELATED_ACTIVITY_TYPE,
            Self::ResultType => &generated::RESULT_TYPE,
            Self::Sector => &generated::SECTOR,
            Self::SectorCategory => &generated::SECTOR_CATEGORY,
            Self::SectorVocabulary => &generated::SECTOR_VOCABULARY,
            Self::TiedStatus => &generated::TIED_STATUS,
            Self::TransactionType => &generated::TRANSACTION_TYPE,
        }
    }
}

/// The domain values of a list of enum values given to a filter (none when it is omitted).
pub fn all<A, D: From<A>>(values: Option<Vec<A>>) -> Vec<D> {
    values
        .unwrap_or_default()
        .into_iter()
        .map(D::from)
        .collect()
}

/// Sort direction.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderDirection {
    Asc,
    Desc,
}

impl From<OrderDirection> for query::Direction {
    fn from(direction: OrderDirection) -> Self {
        match direction {
            OrderDirection::Asc => Self::Ascending,
            OrderDirection::Desc => Self::Descending,
        }
    }
}

impl From<query::Direction> for OrderDirection {
    fn from(direction: query::Direction) -> Self {
        match direction {
            query::Direction::Ascending => Self::Asc,
            query::Direction::Descending => Self::Desc,
        }
    }
}

/// Declares an order-field enum mirroring one of [`query`]'s, with the conversions both ways.
macro_rules! order_field {
    ($(#[$meta:meta])* $name:ident { $($variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant),+
        }

        impl From<$name> for query::$name {
            fn from(value: $name) -> Self {
                match value {
                    $($name::$variant => Self::$variant),+
                }
            }
        }

        impl From<query::$name> for $name {
            fn from(value: query::$name) -> Self {
                match value {
                    $(query::$name::$variant => Self::$variant),+
                }
            }
        }
    };
}

order_field! {
    /// Fields projects can be ordered by (ties are broken by id, so pages are stable).
    ProjectOrderField {
        IatiIdentifier,
        Title,
        PlannedStart,
        Status,
    }
}

order_field! {
    /// Fields activities can be ordered by.
    ActivityOrderField {
        PlannedStart,
        Title,
        Kind,
    }
}

order_field! {
    /// Fields organisations can be ordered by.
    OrganisationOrderField {
        Name,
        Ref,
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{Value, resolver_utils::enum_value};

    use super::*;

    /// Each value converts to the domain's and back, and the API enum has as many values as the
    /// domain's, so that no domain value lacks a GraphQL name.
    macro_rules! assert_mirrors {
        ($($name:ident),+) => {
            $(
                for value in codelists::$name::ALL {
                    assert_eq!(codelists::$name::from($name::from(*value)), *value);
                }
                assert_eq!(
                    <$name as async_graphql::resolver_utils::EnumType>::items().len(),
                    codelists::$name::ALL.len(),
                    "{}",
                    stringify!($name)
                );
            )+
        };
    }

    /// The IATI-coded enums are events' codes in the domain (`"2"`); their GraphQL names
    /// (`IMPLEMENTATION`) are the API's alone.
    #[test]
    fn iati_coded_enums_mirror_the_domain() {
        assert_mirrors!(
            ProjectStatus,
            OrganisationRole,
            OrganisationType,
            TransactionType,
            RelatedActivityType,
            BudgetType,
            BudgetStatus
        );
    }

    /// Amanah's own enums are recorded in events by name (`as_str()`): the GraphQL name of each
    /// value is that name, so the contract and the log say the same.
    #[test]
    fn amanahs_own_enums_have_the_names_events_record() {
        macro_rules! assert_names_match {
            ($($name:ident),+) => {
                $(
                    for value in codelists::$name::ALL {
                        assert_eq!(
                            enum_value($name::from(*value)),
                            Value::Enum(async_graphql::Name::new(value.as_str())),
                            "{}",
                            stringify!($name)
                        );
                    }
                )+
            };
        }
        assert_mirrors!(
            ActivityKind,
            UncacChapter,
            AuditType,
            ActivityStatus,
            ActivityPartnerRole
        );
        assert_names_match!(
            ActivityKind,
            UncacChapter,
            AuditType,
            ActivityStatus,
            ActivityPartnerRole
        );
    }

    #[test]
    fn directions_convert_both_ways() {
        for direction in [OrderDirection::Asc, OrderDirection::Desc] {
            assert_eq!(
                OrderDirection::from(query::Direction::from(direction)),
                direction
            );
        }
    }
}
