//! Why an activity command was refused. Each variant names the GraphQL input field at fault.

use chrono::NaiveDate;
use uuid::Uuid;

use crate::aggregate::FieldError;
use crate::codelists::{
    ActivityKind, ActivityPartnerRole, ActivityStatus, ProjectStatus, UncacChapter,
};
use crate::values::{CountryCode, FieldPath, ValueError};

/// Why an activity command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActivityError {
    #[error("activity {id} does not exist")]
    NotFound { id: Uuid },
    #[error("activity {id} already exists")]
    AlreadyExists { id: Uuid },
    /// A raw input value could not be parsed.
    #[error("{field} {error}")]
    Invalid { field: FieldPath, error: ValueError },
    /// The project named does not exist (raised by the API when its look-up finds nothing).
    #[error("projectId names project {id}, which does not exist")]
    UnknownProject { id: Uuid },
    /// A referenced organisation does not exist (raised by the API when its look-up finds nothing).
    #[error("{field} names organisation {id}, which does not exist")]
    UnknownOrganisation { field: FieldPath, id: Uuid },

    #[error("projectId names a project in status {}, under which no activity can be planned", status.name())]
    ProjectNotOpen {
        project_id: Uuid,
        status: ProjectStatus,
    },
    #[error("uncacChapters must name at least one UNCAC chapter")]
    NoUncacChapter,
    #[error("{} repeats the chapter {chapter}", FieldPath::list("uncacChapters", *index))]
    DuplicateUncacChapter { index: usize, chapter: UncacChapter },
    #[error("auditType is required when kind is AUDIT")]
    AuditTypeRequired,
    #[error("auditType is only allowed when kind is AUDIT, not {kind}")]
    AuditTypeNotAllowed { kind: ActivityKind },
    #[error("partners must include at least one ORGANISER")]
    NoOrganiser,
    #[error("{} repeats organisation {organisation_id} in the role {role}", FieldPath::list("partners", *index).field("role"))]
    DuplicatePartner {
        index: usize,
        organisation_id: Uuid,
        role: ActivityPartnerRole,
    },
    #[error("{} names organisation {organisation_id}, which is deactivated and takes no new roles", FieldPath::list("partners", *index).field("organisationId"))]
    PartnerDeactivated { index: usize, organisation_id: Uuid },
    #[error("{field} must not be given for an online activity")]
    OnlineWithPlace { field: FieldPath },
    #[error("location.country is required unless the activity is online")]
    LocationCountryRequired,
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
    #[error("nothing to revise: give at least one of title, description, partners, location")]
    NothingToRevise,
    #[error("the activity is {status}, and only a PLANNED activity can change")]
    NotPlanned { status: ActivityStatus },
    #[error("participants.total is {total} but female + male + undisclosed is {sum}")]
    ParticipantsDoNotAddUp { total: u32, sum: u64 },
    #[error("participants.byCountry counts add up to {sum}, not to participants.total {total}")]
    CountryCountsDoNotAddUp { total: u32, sum: u64 },
    #[error("{} repeats country {country}", FieldPath::list("participants.byCountry", *index).field("country"))]
    DuplicateCountryCount { index: usize, country: CountryCode },
}

impl ActivityError {
    /// Attaches an input field to a value error:
    /// `Title::parse(raw).map_err(ActivityError::invalid("title"))`.
    pub fn invalid(field: impl Into<FieldPath>) -> impl FnOnce(ValueError) -> Self {
        let field = field.into();
        move |error| Self::Invalid { field, error }
    }
}

impl FieldError for ActivityError {
    fn field(&self) -> Option<FieldPath> {
        let field = match self {
            Self::NotFound { .. }
            | Self::AlreadyExists { .. }
            | Self::NotPlanned { .. }
            | Self::NothingToRevise => {
                return None;
            }
            Self::Invalid { field, .. }
            | Self::UnknownOrganisation { field, .. }
            | Self::OnlineWithPlace { field }
            | Self::EndBeforeStart { field, .. }
            | Self::DateInFuture { field, .. } => field.clone(),
            Self::UnknownProject { .. } | Self::ProjectNotOpen { .. } => {
                FieldPath::new("projectId")
            }
            Self::NoUncacChapter => FieldPath::new("uncacChapters"),
            Self::DuplicateUncacChapter { index, .. } => FieldPath::list("uncacChapters", *index),
            Self::AuditTypeRequired | Self::AuditTypeNotAllowed { .. } => {
                FieldPath::new("auditType")
            }
            Self::NoOrganiser => FieldPath::new("partners"),
            Self::DuplicatePartner { index, .. } => {
                FieldPath::list("partners", *index).field("role")
            }
            Self::PartnerDeactivated { index, .. } => {
                FieldPath::list("partners", *index).field("organisationId")
            }
            Self::LocationCountryRequired => FieldPath::new("location.country"),
            Self::ParticipantsDoNotAddUp { .. } => FieldPath::new("participants.total"),
            Self::CountryCountsDoNotAddUp { .. } => FieldPath::new("participants.byCountry"),
            Self::DuplicateCountryCount { index, .. } => {
                FieldPath::list("participants.byCountry", *index).field("country")
            }
        };
        Some(field)
    }

    fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }
}
