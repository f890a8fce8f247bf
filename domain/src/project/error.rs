//! Why a project command was refused. Each variant names the GraphQL input field at fault.

use chrono::NaiveDate;
use uuid::Uuid;

use crate::aggregate::FieldError;
use crate::codelists::{OrganisationRole, ProjectStatus};
use crate::values::{
    CountryCode, FieldPath, IatiIdentifier, OrgRef, OtherIdentifierRef, RegionCode, SectorCode,
    ValueError, WebUrl, format_hundredths,
};

/// The rules of results (IATI `result`, and rules 8.6.1 and 8.8–8.10 of the Standard's
/// ruleset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResultRule {
    #[error("a result needs at least one indicator")]
    NoIndicator,
    #[error("the period must not end before it starts (IATI rule 8.6.1)")]
    PeriodReversed,
    #[error("a value is needed: the measure is not qualitative (IATI rules 8.8.1, 8.9.1, 8.10.1)")]
    ValueMissing,
    #[error(
        "a qualitative indicator (measure 5) carries no value (IATI rules 8.8.3, 8.9.3, 8.10.3)"
    )]
    ValueForQualitative,
}

/// Renders a list of roles for a message: `Funding, Implementing`.
fn role_names(roles: &[OrganisationRole]) -> String {
    roles
        .iter()
        .map(|role| role.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a project command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProjectError {
    #[error("project {id} does not exist")]
    NotFound { id: Uuid },
    #[error("project {id} already exists")]
    AlreadyExists { id: Uuid },
    /// A raw input value could not be parsed.
    #[error("{field} {error}")]
    Invalid { field: FieldPath, error: ValueError },
    /// A result, indicator or period breaks a rule of results (`setResults`).
    #[error("{field}: {rule}")]
    ResultRule { field: FieldPath, rule: ResultRule },
    /// A referenced organisation does not exist (raised by the API when its look-up finds nothing).
    #[error("{field} names organisation {id}, which does not exist")]
    UnknownOrganisation { field: FieldPath, id: Uuid },
    /// A referenced project does not exist (raised by the API when its look-up finds nothing).
    #[error("{field} names project {id}, which does not exist")]
    UnknownProject { field: FieldPath, id: Uuid },

    #[error(
        "reportingOrganisationId names organisation {organisation_id}, which has no IATI ref; a reporting organisation needs one"
    )]
    ReportingOrganisationWithoutRef { organisation_id: Uuid },
    #[error(
        "reportingOrganisationId names organisation {organisation_id}, which is deactivated and cannot report new projects"
    )]
    ReportingOrganisationDeactivated { organisation_id: Uuid },
    #[error(
        "iatiIdentifier {iati_identifier} must start with the reporting organisation's ref followed by a dash ({org_ref}-) and continue after it"
    )]
    IdentifierNotUnderReportingOrganisation {
        iati_identifier: IatiIdentifier,
        org_ref: OrgRef,
    },
    #[error("participatingOrganisations must name at least one organisation")]
    NoParticipatingOrganisation,
    #[error("{field} repeats organisation {organisation_id} in the role {role}, which it already holds", role = role.name())]
    DuplicateParticipation {
        field: FieldPath,
        organisation_id: Uuid,
        role: OrganisationRole,
    },
    #[error(
        "{field} names organisation {organisation_id}, which is deactivated and takes no new roles"
    )]
    OrganisationDeactivated {
        field: FieldPath,
        organisation_id: Uuid,
    },
    #[error("{field} {end} is before the start date {start}")]
    EndBeforeStart {
        field: FieldPath,
        start: NaiveDate,
        end: NaiveDate,
    },
    #[error("{field} {date} is in the future (today is {today})")]
    DateInFuture {
        field: FieldPath,
        date: NaiveDate,
        today: NaiveDate,
    },
    #[error("{} repeats country {country}", FieldPath::list("recipientCountries", *index).field("country"))]
    DuplicateRecipientCountry { index: usize, country: CountryCode },
    #[error("{} repeats region {region}", FieldPath::list("recipientRegions", *index).field("code"))]
    DuplicateRecipientRegion { index: usize, region: RegionCode },
    #[error("{} repeats sector {sector}", FieldPath::list("sectors", *index).field("code"))]
    DuplicateSector { index: usize, sector: SectorCode },
    #[error("{} is sector {sector}, which the DAC withdrew and may not be used for new data", FieldPath::list("sectors", *index).field("code"))]
    WithdrawnSector { index: usize, sector: SectorCode },
    #[error(
        "{field}: recipient country and region percentages together must add up to exactly 100.00, not {}",
        format_hundredths(*total_hundredths)
    )]
    GeographyPercentagesSum {
        field: FieldPath,
        total_hundredths: u32,
    },
    #[error(
        "sectors percentages must add up to exactly 100.00, not {}",
        format_hundredths(*total_hundredths)
    )]
    SectorPercentagesSum { total_hundredths: u32 },
    #[error("{} repeats location {name:?}", FieldPath::list("locations", *index).field("name"))]
    DuplicateLocation { index: usize, name: String },
    #[error("{}: the period must not end before it starts", FieldPath::list("plannedDisbursements", *index).field("periodEnd"))]
    DisbursementPeriodReversed { index: usize },
    #[error("{}: a planned disbursement is never negative", FieldPath::list("plannedDisbursements", *index).field("value.minorUnits"))]
    NegativeDisbursement { index: usize },
    #[error("{}: a contact needs at least one of a name, title, telephone, e-mail, website or address", FieldPath::list("contacts", *index))]
    EmptyContact { index: usize },
    #[error("{} repeats policy marker {code}", FieldPath::list("policyMarkers", *index).field("code"))]
    DuplicatePolicyMarker {
        index: usize,
        code: crate::values::PolicyMarkerCode,
    },
    /// PolicySignificance 3 is for desertification-related aid only (marker 8), and 4 for the
    /// RMNCH marker (9), whose scale goes to 4.
    #[error(
        "{}: significance {significance} does not apply to policy marker {code}",
        FieldPath::list("policyMarkers", *index).field("significance")
    )]
    SignificanceNotForMarker {
        index: usize,
        code: crate::values::PolicyMarkerCode,
        significance: crate::values::PolicySignificance,
    },
    /// IATI ruleset 3.7.1: each activity has a recipient country or region (Amanah keeps them on
    /// the project, not on transactions).
    #[error(
        "recipientCountries: a project needs at least one recipient country or region (IATI rule 3.7.1)"
    )]
    NoRecipientCountryOrRegion,
    /// IATI ruleset 6.2.2: each activity has a sector (Amanah keeps sectors on the project, not
    /// on transactions).
    #[error("sectors: a project needs at least one DAC sector (IATI rule 6.2.2)")]
    NoSector,
    #[error("a revision must change at least one field")]
    NothingToRevise,

    #[error("a project cannot move from status {} to {}", from.name(), to.name())]
    StatusTransitionNotAllowed {
        from: ProjectStatus,
        to: ProjectStatus,
    },
    #[error("actualStart is required for status {}", status.name())]
    ActualStartRequired { status: ProjectStatus },
    #[error("actualEnd is required for status {}", status.name())]
    ActualEndRequired { status: ProjectStatus },
    #[error("actualEnd is not allowed for status {}: the project has not ended", status.name())]
    ActualEndNotAllowed { status: ProjectStatus },
    #[error(
        "status Implementation needs at least one Funding and one Implementing participating organisation; missing: {}",
        role_names(missing)
    )]
    MissingRolesForImplementation { missing: Vec<OrganisationRole> },

    #[error("organisationId {organisation_id} does not take part in the project in the role {}", role.name())]
    ParticipationNotFound {
        organisation_id: Uuid,
        role: OrganisationRole,
    },
    #[error(
        "organisationId {organisation_id} is the project's last participating organisation and cannot be removed"
    )]
    LastParticipatingOrganisation { organisation_id: Uuid },
    #[error(
        "role: the project in status {} must keep at least one {} organisation",
        status.name(),
        role.name()
    )]
    RoleStillNeeded {
        role: OrganisationRole,
        status: ProjectStatus,
    },

    #[error("{} must be after periodStart", FieldPath::list("budgets", *index).field("periodEnd"))]
    BudgetPeriodNotPositive { index: usize },
    #[error(
        "{} must be no later than one year after periodStart (IATI: a budget period is at most one year)",
        FieldPath::list("budgets", *index).field("periodEnd")
    )]
    BudgetPeriodTooLong { index: usize },
    #[error("{} must not be negative", FieldPath::list("budgets", *index).field("value.minorUnits"))]
    NegativeBudget { index: usize },

    #[error("value.minorUnits must not be zero: a transaction moves money")]
    ZeroTransaction,
    #[error("transactionId {id} is not a transaction of the project")]
    TransactionNotFound { id: Uuid },
    #[error("transactionId {id} was already reversed by transaction {reversed_by}")]
    TransactionAlreadyReversed { id: Uuid, reversed_by: Uuid },
    #[error(
        "transactionId {id} is itself a reversal and cannot be reversed; record a new transaction instead"
    )]
    ReversalCannotBeReversed { id: Uuid },

    #[error("url {url} is already a document of the project")]
    DocumentAlreadyAdded { url: WebUrl },
    #[error("relatedProjectId cannot name the project itself")]
    RelatedToItself,
    #[error("relatedProjectId {project_id} is already related to the project in that type")]
    RelatedProjectAlreadyAdded { project_id: Uuid },
    #[error("ref {reference} is the project's own IATI identifier")]
    OwnIdentifier { reference: OtherIdentifierRef },
    #[error("ref {reference} is already an other identifier of the project with that type")]
    OtherIdentifierAlreadyAdded { reference: OtherIdentifierRef },
    #[error("url {url} is not a document of the project")]
    DocumentNotFound { url: WebUrl },
    #[error("relatedProjectId {project_id} is not related to the project in that type")]
    RelatedProjectNotFound { project_id: Uuid },
    #[error("ref {reference} is not an other identifier of the project with that type")]
    OtherIdentifierNotFound { reference: OtherIdentifierRef },
}

impl ProjectError {
    /// Attaches an input field to a value error:
    /// `Title::parse(raw).map_err(ProjectError::invalid("title"))`.
    pub fn invalid(field: impl Into<FieldPath>) -> impl FnOnce(ValueError) -> Self {
        let field = field.into();
        move |error| Self::Invalid { field, error }
    }
}

impl ProjectError {
    /// Attaches a money input's field to a value error from [`Money::parse`](crate::values::Money::parse)
    /// or [`CurrencyCode::parse`](crate::values::CurrencyCode::parse): `{prefix}.currency` for a
    /// currency error, `{prefix}.minorUnits` otherwise (`value.minorUnits`, `budgets[0].value.currency`).
    pub fn invalid_money(prefix: impl Into<FieldPath>) -> impl FnOnce(ValueError) -> Self {
        let prefix = prefix.into();
        move |error| {
            let leaf = match error {
                ValueError::UnknownCurrency(_) => "currency",
                _ => "minorUnits",
            };
            Self::Invalid {
                field: prefix.field(leaf),
                error,
            }
        }
    }
}

impl FieldError for ProjectError {
    fn field(&self) -> Option<FieldPath> {
        let field = match self {
            Self::NotFound { .. }
            | Self::AlreadyExists { .. }
            | Self::NothingToRevise
            | Self::StatusTransitionNotAllowed { .. }
            | Self::MissingRolesForImplementation { .. } => return None,
            Self::Invalid { field, .. }
            | Self::ResultRule { field, .. }
            | Self::UnknownOrganisation { field, .. }
            | Self::UnknownProject { field, .. }
            | Self::DuplicateParticipation { field, .. }
            | Self::OrganisationDeactivated { field, .. }
            | Self::EndBeforeStart { field, .. }
            | Self::DateInFuture { field, .. }
            | Self::GeographyPercentagesSum { field, .. } => field.clone(),
            Self::ReportingOrganisationWithoutRef { .. }
            | Self::ReportingOrganisationDeactivated { .. } => {
                FieldPath::new("reportingOrganisationId")
            }
            Self::IdentifierNotUnderReportingOrganisation { .. } => {
                FieldPath::new("iatiIdentifier")
            }
            Self::NoParticipatingOrganisation => FieldPath::new("participatingOrganisations"),
            Self::DuplicateRecipientCountry { index, .. } => {
                FieldPath::list("recipientCountries", *index).field("country")
            }
            Self::DuplicateRecipientRegion { index, .. } => {
                FieldPath::list("recipientRegions", *index).field("code")
            }
            Self::DuplicateSector { index, .. } | Self::WithdrawnSector { index, .. } => {
                FieldPath::list("sectors", *index).field("code")
            }
            Self::SectorPercentagesSum { .. } | Self::NoSector => FieldPath::new("sectors"),
            Self::NoRecipientCountryOrRegion => FieldPath::new("recipientCountries"),
            Self::EmptyContact { index } => FieldPath::list("contacts", *index),
            Self::DuplicateLocation { index, .. } => {
                FieldPath::list("locations", *index).field("name")
            }
            Self::DisbursementPeriodReversed { index } => {
                FieldPath::list("plannedDisbursements", *index).field("periodEnd")
            }
            Self::NegativeDisbursement { index } => {
                FieldPath::list("plannedDisbursements", *index).field("value.minorUnits")
            }
            Self::DuplicatePolicyMarker { index, .. } => {
                FieldPath::list("policyMarkers", *index).field("code")
            }
            Self::SignificanceNotForMarker { index, .. } => {
                FieldPath::list("policyMarkers", *index).field("significance")
            }
            Self::ActualStartRequired { .. } => FieldPath::new("actualStart"),
            Self::ActualEndRequired { .. } | Self::ActualEndNotAllowed { .. } => {
                FieldPath::new("actualEnd")
            }
            Self::ParticipationNotFound { .. } | Self::LastParticipatingOrganisation { .. } => {
                FieldPath::new("organisationId")
            }
            Self::RoleStillNeeded { .. } => FieldPath::new("role"),
            Self::BudgetPeriodNotPositive { index } | Self::BudgetPeriodTooLong { index } => {
                FieldPath::list("budgets", *index).field("periodEnd")
            }
            Self::NegativeBudget { index } => {
                FieldPath::list("budgets", *index).field("value.minorUnits")
            }
            Self::ZeroTransaction => FieldPath::new("value.minorUnits"),
            Self::TransactionNotFound { .. }
            | Self::TransactionAlreadyReversed { .. }
            | Self::ReversalCannotBeReversed { .. } => FieldPath::new("transactionId"),
            Self::DocumentAlreadyAdded { .. } | Self::DocumentNotFound { .. } => {
                FieldPath::new("url")
            }
            Self::RelatedToItself
            | Self::RelatedProjectAlreadyAdded { .. }
            | Self::RelatedProjectNotFound { .. } => FieldPath::new("relatedProjectId"),
            Self::OwnIdentifier { .. }
            | Self::OtherIdentifierAlreadyAdded { .. }
            | Self::OtherIdentifierNotFound { .. } => FieldPath::new("ref"),
        };
        Some(field)
    }

    fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }
}
