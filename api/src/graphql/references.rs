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

use amanah_domain::organisation::Organisation as OrganisationState;
use amanah_domain::ports::StoreError;
use amanah_domain::project::Project as ProjectState;
use amanah_domain::query::ReadModel as _;
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
        tokio::spawn,
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
