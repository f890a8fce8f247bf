//! The read side's port: what the API may ask of the read model.
//!
//! The read model is a disposable projection of the log (`amanah replay` rebuilds it), kept in the
//! same transaction as the events. Queries return domain state, which the API maps to its own
//! GraphQL types. Lists are windows (`offset`, `limit`) over a deterministic order plus the total
//! count, from which the API builds Relay connections.

use std::future::Future;

use chrono::NaiveDate;
use uuid::Uuid;

use crate::activity::Activity;
use crate::codelists::{
    ActivityKind, ActivityStatus, AuditType, OrganisationRole, OrganisationType, ProjectStatus,
    UncacChapter,
};
use crate::organisation::Organisation;
use crate::ports::StoreError;
use crate::project::Project;
use crate::values::{CountryCode, SectorCode};

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

/// The read model, as the API sees it.
pub trait ReadModel: Send + Sync {
    fn organisation(
        &self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<Organisation>, StoreError>> + Send;

    /// Several organisations at once (for resolving references without N+1 queries); missing ids
    /// are left out.
    fn organisations_by_id(
        &self,
        ids: &[Uuid],
    ) -> impl Future<Output = Result<Vec<Organisation>, StoreError>> + Send;

    fn organisations(
        &self,
        query: &OrganisationQuery,
        window: Window,
    ) -> impl Future<Output = Result<Page<Organisation>, StoreError>> + Send;

    fn project(&self, id: Uuid)
    -> impl Future<Output = Result<Option<Project>, StoreError>> + Send;

    fn project_by_iati_identifier(
        &self,
        iati_identifier: &str,
    ) -> impl Future<Output = Result<Option<Project>, StoreError>> + Send;

    fn projects(
        &self,
        query: &ProjectQuery,
        window: Window,
    ) -> impl Future<Output = Result<Page<Project>, StoreError>> + Send;

    fn activity(
        &self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<Activity>, StoreError>> + Send;

    fn activities(
        &self,
        query: &ActivityQuery,
        window: Window,
    ) -> impl Future<Output = Result<Page<Activity>, StoreError>> + Send;

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
}
