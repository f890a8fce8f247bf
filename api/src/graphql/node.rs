//! `Node`: every entity with a global id, and `node(id:)`, which finds it whatever its type.
//!
//! Ids are UUIDs, unique across aggregates, so the look-up asks the read model for an
//! organisation, a project and an activity with that id at once and, failing those, for the
//! project holding a transaction with it.

use amanah_domain::query::ReadModel as _;
use async_graphql::{Context, ID, Interface};
use uuid::Uuid;

use super::ContextExt as _;
use super::activity::Activity;
use super::organisation::Organisation;
use super::project::{Project, Transaction};
use crate::error::ApiError;

/// An object with a global id.
#[derive(Interface)]
#[graphql(field(
    name = "id",
    ty = "ID",
    desc = "The aggregate's UUID (a transaction's own UUID): the streamId of its events in the audit log."
))]
pub enum Node {
    Organisation(Organisation),
    Project(Project),
    Activity(Activity),
    Transaction(Transaction),
}

/// The entity with this id, if any.
///
/// # Errors
/// Store failures (internal).
pub async fn resolve(ctx: &Context<'_>, id: Uuid) -> Result<Option<Node>, ApiError> {
    let read_model = &ctx.portfolio()?.read_model;
    let (organisation, project, activity) = futures::try_join!(
        read_model.organisation(id),
        read_model.project(id),
        read_model.activity(id)
    )?;
    if let Some(organisation) = organisation {
        return Ok(Some(Node::Organisation(organisation.into())));
    }
    if let Some(project) = project {
        return Ok(Some(Node::Project(project.into())));
    }
    if let Some(activity) = activity {
        return Ok(Some(Node::Activity(activity.into())));
    }
    let Some(project_id) = read_model.project_of_transaction(id).await? else {
        return Ok(None);
    };
    let Some(project) = read_model.project(project_id).await?.map(Project::from) else {
        return Ok(None);
    };
    Ok(project.transaction(ctx, id).await?.map(Node::Transaction))
}
