//! Anti-corruption activities: the `Activity` type, the `activities` filter, and the activity
//! mutations' inputs, parsed into the domain's commands at the edge.

use std::sync::Arc;

use amanah_domain::activity::{
    Activity as ActivityState, ActivityCommand, ActivityError, ActivityLocation as LocationValue,
    ActivityPartner as PartnerRow, CancelActivity, CompleteActivity,
    Participants as ParticipantsValue, Partnership, PlanActivity, RescheduleActivity,
    ReviseActivity,
};
use amanah_domain::ports::StreamRead;
use amanah_domain::query::ActivityQuery;
use amanah_domain::values::{City, CountryCode, Description, Title};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use uuid::Uuid;

use super::command::{self, Expected, NamedOrganisation, invalid, optional, rejected};
use super::enums::{
    ActivityKind, ActivityOrderField, ActivityPartnerRole, ActivityStatus, AuditType,
    OrderDirection, UncacChapter, all,
};
use super::ids::{parse_id, parse_optional_id, to_id};
use super::organisation::Organisation;
use super::project::Project;
use super::reference_data::{Country, parse_countries};
use super::references::{required_organisation, required_project};
use super::scalars::Date;
use crate::error::ApiError;

/// An activity, as of now or as of a log size.
#[derive(Debug, Clone)]
pub struct Activity {
    state: Arc<ActivityState>,
    /// The log size it was read at, when read "as of" one (its references follow it).
    as_of: Option<u64>,
}

impl Activity {
    #[must_use]
    pub fn new(state: ActivityState, as_of: Option<u64>) -> Self {
        Self {
            state: Arc::new(state),
            as_of,
        }
    }
}

impl From<ActivityState> for Activity {
    fn from(state: ActivityState) -> Self {
        Self::new(state, None)
    }
}

/// An anti-corruption activity done under a project: a training, a conference, a cooperative audit…
#[Object]
impl Activity {
    pub async fn id(&self) -> ID {
        to_id(self.state.id)
    }

    async fn project(&self, ctx: &Context<'_>) -> Result<Project, ApiError> {
        required_project(ctx, self.state.project_id, self.as_of, || {
            format!("activity {}", self.state.id)
        })
        .await
    }

    async fn title(&self) -> &str {
        self.state.title.as_str()
    }

    async fn description(&self) -> &str {
        self.state.description.as_str()
    }

    async fn kind(&self) -> ActivityKind {
        self.state.kind.into()
    }

    async fn uncac_chapters(&self) -> Vec<UncacChapter> {
        self.state
            .uncac_chapters
            .iter()
            .map(|chapter| (*chapter).into())
            .collect()
    }

    /// Present exactly when `kind` is AUDIT.
    async fn audit_type(&self) -> Option<AuditType> {
        self.state.audit_type.map(Into::into)
    }

    async fn partners(&self) -> Vec<ActivityPartner> {
        self.state
            .partners
            .iter()
            .map(|row| ActivityPartner {
                row: *row,
                activity_id: self.state.id,
                as_of: self.as_of,
            })
            .collect()
    }

    async fn location(&self) -> ActivityLocation {
        ActivityLocation::from(&self.state.location)
    }

    async fn status(&self) -> ActivityStatus {
        self.state.status.into()
    }

    async fn planned_start(&self) -> Date {
        self.state.planned_start.into()
    }

    async fn planned_end(&self) -> Date {
        self.state.planned_end.into()
    }

    async fn actual_start(&self) -> Option<Date> {
        self.state.actual_start.map(Date::from)
    }

    async fn actual_end(&self) -> Option<Date> {
        self.state.actual_end.map(Date::from)
    }

    /// Recorded at completion.
    async fn participants(&self) -> Option<Participants> {
        self.state.participants.as_ref().map(Participants::from)
    }

    /// Recorded at completion.
    async fn outcome(&self) -> Option<&str> {
        self.state.outcome.as_ref().map(Description::as_str)
    }

    /// Recorded at cancellation.
    async fn cancellation_reason(&self) -> Option<&str> {
        self.state
            .cancellation_reason
            .as_ref()
            .map(Description::as_str)
    }

    /// The number of events in the activity's stream: pass it as `expectedVersion`.
    async fn version(&self) -> u64 {
        self.state.version
    }
}

/// An organisation taking part in an activity in one role.
pub struct ActivityPartner {
    row: PartnerRow,
    activity_id: Uuid,
    as_of: Option<u64>,
}

#[Object]
impl ActivityPartner {
    async fn organisation(&self, ctx: &Context<'_>) -> Result<Organisation, ApiError> {
        required_organisation(ctx, self.row.organisation_id, self.as_of, || {
            format!("a partner of activity {}", self.activity_id)
        })
        .await
    }

    async fn role(&self) -> ActivityPartnerRole {
        self.row.role.into()
    }
}

/// Where an activity takes place: a country (and perhaps a city), or online.
#[derive(SimpleObject, Debug, Clone)]
pub struct ActivityLocation {
    pub country: Option<Country>,
    pub city: Option<String>,
    pub online: bool,
}

impl From<&LocationValue> for ActivityLocation {
    fn from(location: &LocationValue) -> Self {
        Self {
            country: location.country().map(Country::from),
            city: location.city().map(|city| city.as_str().to_owned()),
            online: location.is_online(),
        }
    }
}

/// Who took part in a completed activity.
#[derive(SimpleObject, Debug, Clone)]
pub struct Participants {
    pub total: u32,
    pub female: u32,
    pub male: u32,
    pub undisclosed: u32,
    pub by_country: Vec<CountryCount>,
}

impl From<&ParticipantsValue> for Participants {
    fn from(participants: &ParticipantsValue) -> Self {
        Self {
            total: participants.total,
            female: participants.female,
            male: participants.male,
            undisclosed: participants.undisclosed,
            by_country: participants
                .by_country
                .iter()
                .map(|row| CountryCount {
                    country: row.country.into(),
                    count: row.count,
                })
                .collect(),
        }
    }
}

/// Participants from one country.
#[derive(SimpleObject, Debug, Clone)]
pub struct CountryCount {
    pub country: Country,
    pub count: u32,
}

/// Which activities to list. Lists mean "any of"; fields combine with "and".
#[derive(InputObject, Clone, Debug, Default)]
pub struct ActivityFilter {
    pub project_id: Option<ID>,
    pub kind: Option<Vec<ActivityKind>>,
    pub uncac_chapter: Option<Vec<UncacChapter>>,
    pub audit_type: Option<Vec<AuditType>>,
    /// ISO 3166-1 alpha-2 codes of the location.
    pub country: Option<Vec<String>>,
    pub status: Option<Vec<ActivityStatus>>,
    /// Activities planned to end on or after this date.
    pub from: Option<Date>,
    /// Activities planned to start on or before this date.
    pub to: Option<Date>,
}

/// How to order activities.
#[derive(InputObject, Debug, Clone, Copy)]
pub struct ActivityOrder {
    pub field: ActivityOrderField,
    pub direction: OrderDirection,
}

/// The read model's query for `activities(filter, orderBy)`.
///
/// # Errors
/// `BAD_USER_INPUT` naming the filter field that does not parse.
pub fn activity_query(
    filter: Option<ActivityFilter>,
    order: Option<ActivityOrder>,
) -> Result<ActivityQuery, ApiError> {
    let filter = filter.unwrap_or_default();
    let mut query = ActivityQuery {
        project: parse_optional_id(filter.project_id.as_ref(), "filter.projectId")?,
        kinds: all(filter.kind),
        uncac_chapters: all(filter.uncac_chapter),
        audit_types: all(filter.audit_type),
        countries: parse_countries(filter.country.as_deref(), "filter.country")?,
        statuses: all(filter.status),
        from: Date::parse_optional(filter.from.as_ref(), "filter.from")?,
        to: Date::parse_optional(filter.to.as_ref(), "filter.to")?,
        ..ActivityQuery::default()
    };
    if let Some(order) = order {
        query.order = (order.field.into(), order.direction.into());
    }
    Ok(query)
}

/// What an activity mutation returns.
#[derive(SimpleObject)]
pub struct ActivityPayload {
    pub activity: Activity,
    #[graphql(flatten)]
    pub appended: super::audit::Appended,
}

/// An organisation and its role in an activity.
#[derive(InputObject, Clone, Debug)]
pub struct ActivityPartnerInput {
    pub organisation_id: ID,
    pub role: ActivityPartnerRole,
}

/// A country (and perhaps a city), or `online: true` with neither.
#[derive(InputObject, Clone, Debug)]
pub struct ActivityLocationInput {
    pub country: Option<String>,
    pub city: Option<String>,
    pub online: Option<bool>,
}

/// `planActivity`: under a project that is neither CANCELLED nor CLOSED.
#[derive(InputObject, Clone, Debug)]
pub struct PlanActivityInput {
    pub project_id: ID,
    pub title: String,
    pub description: String,
    pub kind: ActivityKind,
    pub uncac_chapters: Vec<UncacChapter>,
    /// Required when kind is AUDIT, forbidden otherwise.
    pub audit_type: Option<AuditType>,
    /// At least one ORGANISER.
    pub partners: Vec<ActivityPartnerInput>,
    pub location: ActivityLocationInput,
    pub planned_start: Date,
    pub planned_end: Date,
}

/// `rescheduleActivity`: new planned dates for a PLANNED activity.
#[derive(InputObject, Clone, Debug)]
pub struct RescheduleActivityInput {
    pub id: ID,
    pub expected_version: i64,
    pub planned_start: Date,
    pub planned_end: Date,
}

/// Participants from one country.
#[derive(InputObject, Clone, Debug)]
pub struct CountryCountInput {
    pub country: String,
    pub count: i64,
}

/// Who took part: female + male + undisclosed = total; per-country counts, when given, add up
/// to total.
#[derive(InputObject, Clone, Debug)]
pub struct ParticipantsInput {
    pub total: i64,
    pub female: i64,
    pub male: i64,
    pub undisclosed: i64,
    pub by_country: Option<Vec<CountryCountInput>>,
}

/// `completeActivity`.
#[derive(InputObject, Clone, Debug)]
pub struct CompleteActivityInput {
    pub id: ID,
    pub expected_version: i64,
    pub actual_start: Date,
    pub actual_end: Date,
    pub participants: ParticipantsInput,
    pub outcome: Option<String>,
}

/// `cancelActivity`.
#[derive(InputObject, Clone, Debug)]
pub struct CancelActivityInput {
    pub id: ID,
    pub expected_version: i64,
    pub reason: String,
}

/// `reviseActivity`: only the fields given change (a PLANNED activity only); `partners`, when
/// given, replace the current ones.
#[derive(InputObject, Clone, Debug)]
pub struct ReviseActivityInput {
    pub id: ID,
    pub expected_version: i64,
    pub title: Option<String>,
    pub description: Option<String>,
    pub partners: Option<Vec<ActivityPartnerInput>>,
    pub location: Option<ActivityLocationInput>,
}

/// Runs `command`, valid only while the streams of `given` (what the access decision was based
/// on) are unchanged.
async fn payload(
    ctx: &Context<'_>,
    id: Uuid,
    expected: Expected,
    command: ActivityCommand,
    given: Vec<StreamRead>,
) -> Result<ActivityPayload, ApiError> {
    let committed = command::execute::<ActivityState>(ctx, id, expected, command, given).await?;
    Ok(ActivityPayload {
        appended: (&committed).into(),
        activity: committed.state.into(),
    })
}

fn location(input: &ActivityLocationInput) -> Result<LocationValue, ApiError> {
    let country = optional(
        input.country.as_deref(),
        "location.country",
        CountryCode::parse,
    )?;
    let city = optional(input.city.as_deref(), "location.city", City::parse)?;
    LocationValue::from_input(country, city, input.online).map_err(rejected)
}

fn participants(input: &ParticipantsInput) -> Result<ParticipantsValue, ApiError> {
    let by_country: Vec<(&str, i64)> = input
        .by_country
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|row| (row.country.as_str(), row.count))
        .collect();
    ParticipantsValue::parse(
        input.total,
        input.female,
        input.male,
        input.undisclosed,
        &by_country,
    )
    .map_err(rejected)
}

/// Parses and runs `planActivity`; `given` is what the access decision was based on.
///
/// # Errors
/// `BAD_USER_INPUT` naming the field (an unknown project or partner included); store failures.
pub async fn plan(
    ctx: &Context<'_>,
    input: PlanActivityInput,
    given: Vec<StreamRead>,
) -> Result<ActivityPayload, ApiError> {
    let id = Uuid::now_v7();
    let project_id = parse_id(&input.project_id, "projectId")?;
    let title = Title::parse(&input.title).map_err(invalid("title"))?;
    let description = Description::parse(&input.description).map_err(invalid("description"))?;
    let location = location(&input.location)?;
    let planned_start = input.planned_start.parse("plannedStart")?;
    let planned_end = input.planned_end.parse("plannedEnd")?;
    let named = named_partners(&input.partners)?;
    let project = command::project_facts(ctx, project_id, || ActivityError::UnknownProject {
        id: project_id,
    })
    .await?;
    let partners = partnerships(ctx, named).await?;
    let command = ActivityCommand::Plan(PlanActivity {
        id,
        project,
        title,
        description,
        kind: input.kind.into(),
        uncac_chapters: input.uncac_chapters.iter().map(|c| (*c).into()).collect(),
        audit_type: input.audit_type.map(Into::into),
        partners,
        location,
        planned_start,
        planned_end,
    });
    payload(ctx, id, Expected::Minted, command, given).await
}

/// The partners of an input, their ids parsed.
fn named_partners(
    rows: &[ActivityPartnerInput],
) -> Result<Vec<NamedOrganisation<ActivityPartnerRole>>, ApiError> {
    command::named_organisations("partners", rows, |row| (&row.organisation_id, row.role))
}

/// The partners looked up: an organisation that does not exist is refused naming its field.
async fn partnerships(
    ctx: &Context<'_>,
    named: Vec<NamedOrganisation<ActivityPartnerRole>>,
) -> Result<Vec<Partnership>, ApiError> {
    command::organisations(
        ctx,
        named,
        |field, id| ActivityError::UnknownOrganisation { field, id },
        |organisation, role| Partnership {
            organisation,
            role: role.into(),
        },
    )
    .await
}

/// Parses and runs `reviseActivity`; `given` is what the access decision was based on.
///
/// # Errors
/// `BAD_USER_INPUT` naming the field (an unknown partner included), `NOT_FOUND`, `CONFLICT`.
pub async fn revise(
    ctx: &Context<'_>,
    input: ReviseActivityInput,
    given: Vec<StreamRead>,
) -> Result<ActivityPayload, ApiError> {
    let (id, expected) = command::target(&input.id, "id", input.expected_version)?;
    let title = optional(input.title.as_deref(), "title", Title::parse)?;
    let description = optional(
        input.description.as_deref(),
        "description",
        Description::parse,
    )?;
    let location = input.location.as_ref().map(location).transpose()?;
    let partners = match input.partners.as_deref() {
        Some(rows) => Some(partnerships(ctx, named_partners(rows)?).await?),
        None => None,
    };
    let command = ActivityCommand::Revise(ReviseActivity {
        id,
        title,
        description,
        partners,
        location,
    });
    payload(ctx, id, expected, command, given).await
}

/// Parses and runs `rescheduleActivity`; `given` is what the access decision was based on.
///
/// # Errors
/// `BAD_USER_INPUT`, `NOT_FOUND`, `CONFLICT`.
pub async fn reschedule(
    ctx: &Context<'_>,
    input: RescheduleActivityInput,
    given: Vec<StreamRead>,
) -> Result<ActivityPayload, ApiError> {
    let (id, expected) = command::target(&input.id, "id", input.expected_version)?;
    let command = ActivityCommand::Reschedule(RescheduleActivity {
        id,
        planned_start: input.planned_start.parse("plannedStart")?,
        planned_end: input.planned_end.parse("plannedEnd")?,
    });
    payload(ctx, id, expected, command, given).await
}

/// Parses and runs `completeActivity`; `given` is what the access decision was based on.
///
/// # Errors
/// `BAD_USER_INPUT` (participants that do not add up, dates in the future), `NOT_FOUND`,
/// `CONFLICT`.
pub async fn complete(
    ctx: &Context<'_>,
    input: CompleteActivityInput,
    given: Vec<StreamRead>,
) -> Result<ActivityPayload, ApiError> {
    let (id, expected) = command::target(&input.id, "id", input.expected_version)?;
    let command = ActivityCommand::Complete(CompleteActivity {
        id,
        actual_start: input.actual_start.parse("actualStart")?,
        actual_end: input.actual_end.parse("actualEnd")?,
        participants: participants(&input.participants)?,
        outcome: optional(input.outcome.as_deref(), "outcome", Description::parse)?,
    });
    payload(ctx, id, expected, command, given).await
}

/// Parses and runs `cancelActivity`; `given` is what the access decision was based on.
///
/// # Errors
/// `BAD_USER_INPUT`, `NOT_FOUND`, `CONFLICT`.
pub async fn cancel(
    ctx: &Context<'_>,
    input: CancelActivityInput,
    given: Vec<StreamRead>,
) -> Result<ActivityPayload, ApiError> {
    let (id, expected) = command::target(&input.id, "id", input.expected_version)?;
    let command = ActivityCommand::Cancel(CancelActivity {
        id,
        reason: Description::parse(&input.reason).map_err(invalid("reason"))?,
    });
    payload(ctx, id, expected, command, given).await
}
