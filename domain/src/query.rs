//! The read side's port: what the API may ask of the read model.
//!
//! The read model is a disposable projection of the log (`amanah replay` rebuilds it), kept in the
//! same transaction as the events. Queries return domain state, which the API maps to its own
//! GraphQL types.
//!
//! Lists of organisations, projects and activities are read by **keyset**: each item comes with its
//! [`Position`] in the list's order (the sort key and the id that breaks ties), and a page is the
//! items after (or before) a position — a [`Range`]. A position stays put when items are added or
//! removed elsewhere, and the read costs the page, not the items before it. The size of a list is
//! a query of its own, asked only when wanted. Lists that only ever grow at their end (the audit
//! log, a project's transactions) keep plain windows (`offset`, `limit`).

use std::collections::HashMap;
use std::future::Future;

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::activity::Activity;
use crate::aggregate::StreamKind;
use crate::codelists::{
    ActivityKind, ActivityStatus, AuditType, OrganisationRole, OrganisationType, ProjectStatus,
    UncacChapter,
};
use crate::organisation::Organisation;
use crate::ports::StoreError;
use crate::project::{ParticipatingOrganisation, Project};
use crate::values::{CountryCode, OrgRef, SectorCode};

/// A slice of an ordered result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub offset: u64,
    pub limit: u64,
}

/// One window of results and the size of the whole result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
}

/// The value of a list's sort key at one item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SortKey {
    /// Text keys (names, identifiers, titles, codes); an absent value sorts as the empty text.
    Text(String),
    Date(NaiveDate),
}

/// Where an item stands in a list's order: its sort key, then its id (which breaks ties).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Position {
    pub key: SortKey,
    pub id: Uuid,
}

/// An item and its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Positioned<T> {
    pub position: Position,
    pub item: T,
}

/// The part of an ordered list a page is read from: strictly after `after` and strictly before
/// `before` (either end open when `None`), at most `limit` items, from the range's start — or,
/// with `from_end`, its last `limit` items (still returned in list order).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Range {
    pub after: Option<Position>,
    pub before: Option<Position>,
    pub limit: u64,
    pub from_end: bool,
}

impl Range {
    /// The first `limit` items of the whole list.
    #[must_use]
    pub const fn first(limit: u64) -> Self {
        Self {
            after: None,
            before: None,
            limit,
            from_end: false,
        }
    }
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    #[default]
    Ascending,
    Descending,
}

/// Fields organisations can be ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrganisationOrderField {
    #[default]
    Name,
    Ref,
}

/// Which organisations to list. Empty lists mean "any".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrganisationQuery {
    pub types: Vec<OrganisationType>,
    pub countries: Vec<CountryCode>,
    /// Case-insensitive substring of the name, acronym or ref.
    pub text: Option<String>,
    pub include_deactivated: bool,
    pub order: (OrganisationOrderField, Direction),
}

/// Fields projects can be ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProjectOrderField {
    #[default]
    IatiIdentifier,
    Title,
    PlannedStart,
    Status,
}

/// Which projects to list. Empty lists mean "any".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProjectQuery {
    pub statuses: Vec<ProjectStatus>,
    pub recipient_countries: Vec<CountryCode>,
    pub sectors: Vec<SectorCode>,
    pub participating_organisation: Option<Uuid>,
    /// With `participating_organisation`: only in this role; alone: any organisation in it.
    pub participating_role: Option<OrganisationRole>,
    pub reporting_organisation: Option<Uuid>,
    /// Projects whose planned period contains the date.
    pub active_on: Option<NaiveDate>,
    /// Case-insensitive substring of the title or IATI identifier.
    pub text: Option<String>,
    pub order: (ProjectOrderField, Direction),
}

/// Fields activities can be ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ActivityOrderField {
    #[default]
    PlannedStart,
    Title,
    Kind,
}

/// Which activities to list. Empty lists mean "any".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ActivityQuery {
    pub project: Option<Uuid>,
    pub kinds: Vec<ActivityKind>,
    pub uncac_chapters: Vec<UncacChapter>,
    pub audit_types: Vec<AuditType>,
    pub countries: Vec<CountryCode>,
    pub statuses: Vec<ActivityStatus>,
    /// Activities planned to end on or after this date.
    pub from: Option<NaiveDate>,
    /// Activities planned to start on or before this date.
    pub to: Option<NaiveDate>,
    pub order: (ActivityOrderField, Direction),
}

/// An ASEAN member state and the day it joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberState {
    pub country: CountryCode,
    pub joined_on: NaiveDate,
}

/// A project as a list shows it: the read model's columns, read without decoding the project's
/// kept state (which holds every country, sector, budget, transaction and document, so that its
/// size grows with the project). Equal to the same fields of the [`Project`] it summarises; its
/// participations are read by [`ReadModel::participations_of_projects`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectSummary {
    pub id: Uuid,
    pub iati_identifier: String,
    pub title: String,
    pub status: ProjectStatus,
    pub planned_start: NaiveDate,
    pub planned_end: NaiveDate,
    pub actual_start: Option<NaiveDate>,
    pub actual_end: Option<NaiveDate>,
    pub version: u64,
}

impl From<&Project> for ProjectSummary {
    fn from(project: &Project) -> Self {
        Self {
            id: project.id,
            iati_identifier: project.iati_identifier.as_str().to_owned(),
            title: project.title.as_str().to_owned(),
            status: project.status,
            planned_start: project.planned_start,
            planned_end: project.planned_end,
            actual_start: project.actual_start,
            actual_end: project.actual_end,
            version: project.version,
        }
    }
}

/// An activity as a list shows it: the read model's columns, read without decoding the
/// activity's kept state. Equal to the same fields of the [`Activity`] it summarises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivitySummary {
    pub id: Uuid,
    pub project_id: Uuid,
    pub title: String,
    pub kind: ActivityKind,
    pub status: ActivityStatus,
    pub planned_start: NaiveDate,
    pub planned_end: NaiveDate,
    pub version: u64,
}

impl From<&Activity> for ActivitySummary {
    fn from(activity: &Activity) -> Self {
        Self {
            id: activity.id,
            project_id: activity.project_id,
            title: activity.title.as_str().to_owned(),
            kind: activity.kind,
            status: activity.status,
            planned_start: activity.planned_start,
            planned_end: activity.planned_end,
            version: activity.version,
        }
    }
}

/// The read model, as the API sees it.
pub trait ReadModel: Send + Sync {
    fn organisation(
        &self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<Organisation>, StoreError>> + Send;

    /// The organisation with this IATI ref (deactivated or not), if any: refs are unique.
    fn organisation_by_ref(
        &self,
        org_ref: &OrgRef,
    ) -> impl Future<Output = Result<Option<Organisation>, StoreError>> + Send;

    /// Several organisations at once (for resolving references without N+1 queries); missing ids
    /// are left out.
    fn organisations_by_id(
        &self,
        ids: &[Uuid],
    ) -> impl Future<Output = Result<Vec<Organisation>, StoreError>> + Send;

    /// A page of the organisations `query` selects, in its order, with their positions.
    fn organisations(
        &self,
        query: &OrganisationQuery,
        range: &Range,
    ) -> impl Future<Output = Result<Vec<Positioned<Organisation>>, StoreError>> + Send;

    /// How many organisations `query` selects.
    fn count_organisations(
        &self,
        query: &OrganisationQuery,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    fn project(&self, id: Uuid)
    -> impl Future<Output = Result<Option<Project>, StoreError>> + Send;

    fn project_by_iati_identifier(
        &self,
        iati_identifier: &str,
    ) -> impl Future<Output = Result<Option<Project>, StoreError>> + Send;

    /// A page of the projects `query` selects, in its order, with their positions.
    fn projects(
        &self,
        query: &ProjectQuery,
        range: &Range,
    ) -> impl Future<Output = Result<Vec<Positioned<Project>>, StoreError>> + Send;

    /// The same page as [`Self::projects`], as summaries (columns, not the kept state).
    fn project_summaries(
        &self,
        query: &ProjectQuery,
        range: &Range,
    ) -> impl Future<Output = Result<Vec<Positioned<ProjectSummary>>, StoreError>> + Send;

    /// The participating organisations of each of `projects`, in their order, in one round
    /// trip; a project without any is absent.
    fn participations_of_projects(
        &self,
        projects: &[Uuid],
    ) -> impl Future<Output = Result<HashMap<Uuid, Vec<ParticipatingOrganisation>>, StoreError>> + Send;

    /// The transactions of each of `projects`, in recording order, in one round trip; a
    /// project without any is absent.
    fn transactions_of_projects(
        &self,
        projects: &[Uuid],
    ) -> impl Future<Output = Result<HashMap<Uuid, crate::project::Transactions>, StoreError>> + Send;

    /// How many projects `query` selects.
    fn count_projects(
        &self,
        query: &ProjectQuery,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    fn activity(
        &self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<Activity>, StoreError>> + Send;

    /// A page of the activities `query` selects, in its order, with their positions.
    fn activities(
        &self,
        query: &ActivityQuery,
        range: &Range,
    ) -> impl Future<Output = Result<Vec<Positioned<Activity>>, StoreError>> + Send;

    /// How many activities `query` selects.
    fn count_activities(
        &self,
        query: &ActivityQuery,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The activities of each of `projects` that `query` selects (its own `project` ignored),
    /// each project's page read from `range` — all in one round trip, however many projects.
    /// A project with no such activity is absent.
    fn activities_of_projects(
        &self,
        projects: &[Uuid],
        query: &ActivityQuery,
        range: &Range,
    ) -> impl Future<Output = Result<HashMap<Uuid, Vec<Positioned<Activity>>>, StoreError>> + Send;

    /// The same pages as [`Self::activities_of_projects`], as summaries (columns, not the kept
    /// state).
    fn activity_summaries_of_projects(
        &self,
        projects: &[Uuid],
        query: &ActivityQuery,
        range: &Range,
    ) -> impl Future<Output = Result<HashMap<Uuid, Vec<Positioned<ActivitySummary>>>, StoreError>> + Send;

    /// How many activities of each of `projects` `query` selects, in one round trip; a project
    /// with none is absent.
    fn count_activities_of_projects(
        &self,
        projects: &[Uuid],
        query: &ActivityQuery,
    ) -> impl Future<Output = Result<HashMap<Uuid, u64>, StoreError>> + Send;

    /// The project holding the transaction with this id (for `node(id:)`).
    fn project_of_transaction(
        &self,
        transaction_id: Uuid,
    ) -> impl Future<Output = Result<Option<Uuid>, StoreError>> + Send;

    /// Member states that had joined on `as_of`, by country code.
    fn member_states(
        &self,
        as_of: NaiveDate,
    ) -> impl Future<Output = Result<Vec<MemberState>, StoreError>> + Send;

    /// When each of the `stream` streams `ids` last changed: the `occurredAt` of its latest
    /// event in the audit log (among the log's first `up_to` events, when given), in one round
    /// trip. A stream without such an event is absent.
    fn last_changed(
        &self,
        stream: StreamKind,
        ids: &[Uuid],
        up_to: Option<u64>,
    ) -> impl Future<Output = Result<HashMap<Uuid, DateTime<Utc>>, StoreError>> + Send;
}
