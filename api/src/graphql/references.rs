//! Resolving references between aggregates: a project's organisations, an activity's project, a
//! related project.
//!
//! Current state comes from the read model; organisations through a [`DataLoader`] that batches
//! the references of one response into one `organisations_by_id` query (a page of 100 projects
//! with their participants is one query, not hundreds). The loader caches nothing, so it is
//! shared by all requests and never serves stale state.
//!
//! An entity read "as of" a log size resolves its references as of the same size (through the
//! command service's fold), so a time-travelling view stays consistent.

use std::{collections::HashMap, sync::Arc};

use amanah_domain::activity::Activity as ActivityState;
use amanah_domain::organisation::Organisation as OrganisationState;
use amanah_domain::ports::StoreError;
use amanah_domain::project::{ParticipatingOrganisation, Project as ProjectState, Transactions};
use amanah_domain::query::{ActivityQuery, ActivitySummary, Positioned, Range, ReadModel as _};
use amanah_infra::store::statements::spawn_counted;
use async_graphql::{
    Context,
    dataloader::{DataLoader, Loader},
};
use uuid::Uuid;

use super::ContextExt as _;
use super::organisation::Organisation;
use super::project::Project;
use crate::error::ApiError;
use crate::state::{ApiState, PortfolioReadModel};

/// Loads organisations by id in batches.
pub struct OrganisationLoader {
    read_model: PortfolioReadModel,
}

impl Loader<Uuid> for OrganisationLoader {
    type Value = Arc<OrganisationState>;
    type Error = StoreError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let organisations = self.read_model.organisations_by_id(keys).await?;
        Ok(organisations
            .into_iter()
            .map(|organisation| (organisation.id, Arc::new(organisation)))
            .collect())
    }
}

/// The batch loaders the schema carries as data.
pub type OrganisationsById = DataLoader<OrganisationLoader>;

/// The loaders for a schema over `state`.
#[must_use]
pub fn loaders(state: &ApiState) -> OrganisationsById {
    DataLoader::new(
        OrganisationLoader {
            read_model: state.read_model.clone(),
        },
        spawn_counted,
    )
}

/// Loads projects' participations (for pages of project summaries) in batches.
pub struct ParticipationLoader {
    read_model: PortfolioReadModel,
}

impl Loader<Uuid> for ParticipationLoader {
    type Value = Vec<ParticipatingOrganisation>;
    type Error = StoreError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        self.read_model.participations_of_projects(keys).await
    }
}

/// Projects' participations, batched.
pub type ParticipationsOfProjects = DataLoader<ParticipationLoader>;

/// The participation loader over `state`.
#[must_use]
pub fn participation_loader(state: &ApiState) -> ParticipationsOfProjects {
    DataLoader::new(
        ParticipationLoader {
            read_model: state.read_model.clone(),
        },
        spawn_counted,
    )
}

/// Loads projects' transactions (the rows kept beside their states) in batches.
pub struct TransactionLoader {
    read_model: PortfolioReadModel,
}

impl Loader<Uuid> for TransactionLoader {
    type Value = Arc<Transactions>;
    type Error = StoreError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        Ok(self
            .read_model
            .transactions_of_projects(keys)
            .await?
            .into_iter()
            .map(|(project, transactions)| (project, Arc::new(transactions)))
            .collect())
    }
}

/// Projects' transactions, batched.
pub type TransactionsOfProjects = DataLoader<TransactionLoader>;

/// The transaction loader over `state`.
#[must_use]
pub fn transaction_loader(state: &ApiState) -> TransactionsOfProjects {
    DataLoader::new(
        TransactionLoader {
            read_model: state.read_model.clone(),
        },
        spawn_counted,
    )
}

/// The transactions of project `project_id`: its current ones (batched with the other
/// projects' of the response), or with `as_of` those among the log's first `as_of` events
/// (folded from its stream).
///
/// # Errors
/// Store failures (internal).
pub async fn transactions_of(
    ctx: &Context<'_>,
    project_id: Uuid,
    as_of: Option<u64>,
) -> Result<Arc<Transactions>, ApiError> {
    match as_of {
        None => Ok(loader::<TransactionsOfProjects>(ctx)?
            .load_one(project_id)
            .await?
            .unwrap_or_default()),
        Some(as_of) => Ok(Arc::new(
            ctx.api_state()?
                .commands
                .transactions_as_of(project_id, as_of)
                .await?,
        )),
    }
}

/// What a page of one project's activities reads: the filter and order, and the range.
#[derive(Debug)]
pub struct ActivityPageOf {
    query: ActivityQuery,
    range: Range,
    /// Identifies `query` and `range` together (keys with equal ones are read together).
    fingerprint: String,
}

/// One project's page of activities, as a [`DataLoader`] key: the pages of every project of a
/// response that read the same filter, order and range are read in one statement
/// ([`ReadModel::activities_of_projects`]), and their counts in one more when asked for.
#[derive(Debug, Clone)]
pub struct ProjectActivities {
    project: Uuid,
    page: Arc<ActivityPageOf>,
}

impl ProjectActivities {
    /// The page of `project`'s activities that `query` (its `project` ignored) and `range` say.
    #[must_use]
    pub fn new(project: Uuid, query: ActivityQuery, range: Range) -> Self {
        let fingerprint = format!("{query:?} {range:?}");
        Self {
            project,
            page: Arc::new(ActivityPageOf {
                query,
                range,
                fingerprint,
            }),
        }
    }

    /// The project whose page this is.
    #[must_use]
    pub fn project(&self) -> Uuid {
        self.project
    }

    fn group(&self) -> &str {
        &self.page.fingerprint
    }
}

impl PartialEq for ProjectActivities {
    fn eq(&self, other: &Self) -> bool {
        self.project == other.project && self.group() == other.group()
    }
}

impl Eq for ProjectActivities {}

impl std::hash::Hash for ProjectActivities {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.project.hash(state);
        self.group().hash(state);
    }
}

/// The keys of one batch, grouped by what they read: each group is one statement.
fn groups(keys: &[ProjectActivities]) -> HashMap<&str, (&ActivityPageOf, Vec<Uuid>)> {
    let mut groups: HashMap<&str, (&ActivityPageOf, Vec<Uuid>)> = HashMap::new();
    for key in keys {
        groups
            .entry(key.group())
            .or_insert_with(|| (&key.page, Vec::new()))
            .1
            .push(key.project);
    }
    groups
}

/// Each key's page, read one statement per group of keys with the same filter, order and range
/// (`read` reads a group's pages: its projects, filter and order, range); a project without items
/// gets an empty page.
async fn load_pages<T, F, Fut>(
    keys: &[ProjectActivities],
    read: F,
) -> Result<HashMap<ProjectActivities, Vec<Positioned<T>>>, StoreError>
where
    F: Fn(Vec<Uuid>, ActivityQuery, Range) -> Fut,
    Fut: std::future::Future<Output = Result<HashMap<Uuid, Vec<Positioned<T>>>, StoreError>>,
{
    let mut loaded = HashMap::with_capacity(keys.len());
    for (page, projects) in groups(keys).into_values() {
        let mut pages = read(projects, page.query.clone(), page.range.clone()).await?;
        for key in keys.iter().filter(|key| key.group() == page.fingerprint) {
            loaded.insert(key.clone(), pages.remove(&key.project).unwrap_or_default());
        }
    }
    Ok(loaded)
}

/// Loads pages of activities of many projects at once.
pub struct ActivityPageLoader {
    read_model: PortfolioReadModel,
}

impl Loader<ProjectActivities> for ActivityPageLoader {
    type Value = Vec<Positioned<ActivityState>>;
    type Error = StoreError;

    async fn load(
        &self,
        keys: &[ProjectActivities],
    ) -> Result<HashMap<ProjectActivities, Self::Value>, Self::Error> {
        load_pages(keys, |projects, query, range| {
            let read_model = self.read_model.clone();
            async move {
                read_model
                    .activities_of_projects(&projects, &query, &range)
                    .await
            }
        })
        .await
    }
}

/// Loads pages of activity summaries (columns, not kept state) of many projects at once.
pub struct ActivitySummaryPageLoader {
    read_model: PortfolioReadModel,
}

impl Loader<ProjectActivities> for ActivitySummaryPageLoader {
    type Value = Vec<Positioned<ActivitySummary>>;
    type Error = StoreError;

    async fn load(
        &self,
        keys: &[ProjectActivities],
    ) -> Result<HashMap<ProjectActivities, Self::Value>, Self::Error> {
        load_pages(keys, |projects, query, range| {
            let read_model = self.read_model.clone();
            async move {
                read_model
                    .activity_summaries_of_projects(&projects, &query, &range)
                    .await
            }
        })
        .await
    }
}

/// Pages of activity summaries of projects, batched.
pub type ActivitySummariesOfProjects = DataLoader<ActivitySummaryPageLoader>;

/// The activity summary loader over `state`.
#[must_use]
pub fn activity_summary_loader(state: &ApiState) -> ActivitySummariesOfProjects {
    DataLoader::new(
        ActivitySummaryPageLoader {
            read_model: state.read_model.clone(),
        },
        spawn_counted,
    )
}

/// Counts the activities of many projects at once (the range of a key plays no part).
pub struct ActivityCountLoader {
    read_model: PortfolioReadModel,
}

impl Loader<ProjectActivities> for ActivityCountLoader {
    type Value = u64;
    type Error = StoreError;

    async fn load(
        &self,
        keys: &[ProjectActivities],
    ) -> Result<HashMap<ProjectActivities, Self::Value>, Self::Error> {
        let mut loaded = HashMap::with_capacity(keys.len());
        for (page, projects) in groups(keys).into_values() {
            let counts = self
                .read_model
                .count_activities_of_projects(&projects, &page.query)
                .await?;
            for key in keys.iter().filter(|key| key.group() == page.fingerprint) {
                loaded.insert(key.clone(), counts.get(&key.project).copied().unwrap_or(0));
            }
        }
        Ok(loaded)
    }
}

/// A loader the schema carries ([`super::schema`] builds every one).
#[derive(Debug, thiserror::Error)]
#[error("the GraphQL schema has no {0}; build it with graphql::schema")]
pub struct MissingLoader(&'static str);

/// The loader of type `L` from the schema's data.
///
/// # Errors
/// Internal when the schema was built without it (only possible in tests).
pub fn loader<'a, L: Send + Sync + 'static>(ctx: &'a Context<'_>) -> Result<&'a L, ApiError> {
    ctx.data_opt::<L>()
        .ok_or_else(|| ApiError::internal(MissingLoader(std::any::type_name::<L>())))
}

/// Pages of activities of projects, batched.
pub type ActivitiesOfProjects = DataLoader<ActivityPageLoader>;
/// Counts of activities of projects, batched.
pub type ActivityCountsOfProjects = DataLoader<ActivityCountLoader>;

/// The activity loaders for a schema over `state`.
#[must_use]
pub fn activity_loaders(state: &ApiState) -> (ActivitiesOfProjects, ActivityCountsOfProjects) {
    (
        DataLoader::new(
            ActivityPageLoader {
                read_model: state.read_model.clone(),
            },
            spawn_counted,
        ),
        DataLoader::new(
            ActivityCountLoader {
                read_model: state.read_model.clone(),
            },
            spawn_counted,
        ),
    )
}

/// An organisation: current from the read model, or as of a log size.
///
/// # Errors
/// Store failures (internal).
pub async fn organisation(
    ctx: &Context<'_>,
    id: Uuid,
    as_of: Option<u64>,
) -> Result<Option<Organisation>, ApiError> {
    let state = ctx.portfolio()?;
    let found = match as_of {
        Some(size) => state
            .commands
            .load::<OrganisationState>(id, Some(size))
            .await?
            .map(Arc::new),
        None => match ctx.data_opt::<OrganisationsById>() {
            Some(loader) => loader.load_one(id).await?,
            None => state.read_model.organisation(id).await?.map(Arc::new),
        },
    };
    Ok(found.map(Organisation::new))
}

/// A project: current from the read model, or as of a log size.
///
/// # Errors
/// Store failures (internal).
pub async fn project(
    ctx: &Context<'_>,
    id: Uuid,
    as_of: Option<u64>,
) -> Result<Option<Project>, ApiError> {
    let state = ctx.portfolio()?;
    let found: Option<ProjectState> = match as_of {
        Some(size) => state.commands.load::<ProjectState>(id, Some(size)).await?,
        None => state.read_model.project(id).await?,
    };
    Ok(found.map(|project| Project::new(project, as_of)))
}

/// A referenced aggregate that must exist (it was checked when the reference was recorded, and
/// nothing is ever deleted): its absence is a broken read model, an internal error.
#[derive(Debug, thiserror::Error)]
#[error("{kind} {id}, referenced by {referrer}, is missing from the read model")]
pub struct DanglingReference {
    pub kind: &'static str,
    pub id: Uuid,
    pub referrer: String,
}

/// An organisation that must exist.
///
/// # Errors
/// Internal when it is missing; store failures.
pub async fn required_organisation(
    ctx: &Context<'_>,
    id: Uuid,
    as_of: Option<u64>,
    referrer: impl FnOnce() -> String,
) -> Result<Organisation, ApiError> {
    organisation(ctx, id, as_of).await?.ok_or_else(|| {
        ApiError::internal(DanglingReference {
            kind: "organisation",
            id,
            referrer: referrer(),
        })
    })
}

/// A project that must exist.
///
/// # Errors
/// Internal when it is missing; store failures.
pub async fn required_project(
    ctx: &Context<'_>,
    id: Uuid,
    as_of: Option<u64>,
    referrer: impl FnOnce() -> String,
) -> Result<Project, ApiError> {
    project(ctx, id, as_of).await?.ok_or_else(|| {
        ApiError::internal(DanglingReference {
            kind: "project",
            id,
            referrer: referrer(),
        })
    })
}
