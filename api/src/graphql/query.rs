//! The portfolio's queries, merged into the root `Query`.
//!
//! Current state comes from the read model. `asOf: Int` is a size of the audit log: the entity as
//! the first `asOf` events of the log left it (folded from its own events by the command
//! service), `null` if it did not exist yet. Its references (organisations, projects) are read as
//! of the same size; lists below it (`projects`, `activities`, …) are always current, since the
//! read model keeps no history.
//!
//! Access: every field that reads domain data reads it through `ctx.portfolio()` (open to
//! anonymous callers unless `AMANAH_PUBLIC_READ=false`), first of all, so a refused caller learns
//! nothing from its arguments either; `codelist` is reference data and always open.

use amanah_domain::activity::Activity as ActivityState;
use amanah_domain::query::ReadModel as _;
use async_graphql::{Context, ID, Object};
use chrono::Utc;

use super::ContextExt as _;
use super::activity::{Activity, ActivityFilter, ActivityOrder, activity_query};
use super::connection::{
    ActivityConnection, OrganisationConnection, PageArgs, ProjectConnection, connection_cost,
    paginate_keyset, wants_total,
};
use super::enums::CodelistName;
use super::ids::parse_id;
use super::node::{self, Node};
use super::organisation::{
    Organisation, OrganisationFilter, OrganisationOrder, organisation_query,
};
use super::project::{Project, ProjectFilter, ProjectOrder, project_query};
use super::reference_data::{Code, MemberState, codelist};
use super::references;
use super::scalars::Date;
use crate::error::ApiError;

/// The portfolio's part of the root query.
#[derive(Debug, Default)]
pub struct PortfolioQuery;

/// `asOf`: a log size, never negative.
fn parse_as_of(value: Option<i64>) -> Result<Option<u64>, ApiError> {
    value
        .map(|size| {
            u64::try_from(size).map_err(|_| {
                ApiError::bad_user_input(
                    "asOf",
                    format!("asOf is a size of the audit log (0 or more), not {size}"),
                )
            })
        })
        .transpose()
}

#[Object]
impl PortfolioQuery {
    /// The organisation, project, activity or transaction with this id.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>, ApiError> {
        ctx.portfolio()?;
        node::resolve(ctx, parse_id(&id, "id")?).await
    }

    /// An organisation; with `asOf`, as the first `asOf` events of the audit log left it.
    async fn organisation(
        &self,
        ctx: &Context<'_>,
        id: ID,
        as_of: Option<i64>,
    ) -> Result<Option<Organisation>, ApiError> {
        ctx.portfolio()?;
        references::organisation(ctx, parse_id(&id, "id")?, parse_as_of(as_of)?).await
    }

    /// Organisations, by name unless ordered otherwise; deactivated ones only when asked for.
    #[expect(
        clippy::too_many_arguments,
        reason = "the Relay arguments, a filter and an order are the field's contract"
    )]
    #[graphql(complexity = "connection_cost(first, last, child_complexity)")]
    async fn organisations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<OrganisationFilter>,
        order_by: Option<OrganisationOrder>,
    ) -> Result<OrganisationConnection, ApiError> {
        let state = ctx.portfolio()?;
        let query = organisation_query(filter, order_by)?;
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let query = &query;
        let connection = paginate_keyset(
            &args,
            state.config.limits.page_size,
            &format!("organisations {:?}", query.order),
            |range| async move { Ok(state.read_model.organisations(query, &range).await?) },
            wants_total(ctx).then_some(|| async move {
                Ok(state.read_model.count_organisations(query).await?)
            }),
        )
        .await?;
        Ok(connection.map(Organisation::from).into())
    }

    /// A project; with `asOf`, as the first `asOf` events of the audit log left it.
    async fn project(
        &self,
        ctx: &Context<'_>,
        id: ID,
        as_of: Option<i64>,
    ) -> Result<Option<Project>, ApiError> {
        ctx.portfolio()?;
        references::project(ctx, parse_id(&id, "id")?, parse_as_of(as_of)?).await
    }

    /// The project with this IATI identifier (exactly as registered).
    async fn project_by_iati_identifier(
        &self,
        ctx: &Context<'_>,
        iati_identifier: String,
    ) -> Result<Option<Project>, ApiError> {
        let state = ctx.portfolio()?;
        Ok(state
            .read_model
            .project_by_iati_identifier(&iati_identifier)
            .await?
            .map(Project::from))
    }

    /// Projects, by IATI identifier unless ordered otherwise.
    #[expect(
        clippy::too_many_arguments,
        reason = "the Relay arguments, a filter and an order are the field's contract"
    )]
    #[graphql(complexity = "connection_cost(first, last, child_complexity)")]
    async fn projects(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<ProjectFilter>,
        order_by: Option<ProjectOrder>,
    ) -> Result<ProjectConnection, ApiError> {
        let state = ctx.portfolio()?;
        let query = project_query(filter, order_by)?;
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let query = &query;
        let connection = paginate_keyset(
            &args,
            state.config.limits.page_size,
            &format!("projects {:?}", query.order),
            |range| async move { Ok(state.read_model.projects(query, &range).await?) },
            wants_total(ctx)
                .then_some(|| async move { Ok(state.read_model.count_projects(query).await?) }),
        )
        .await?;
        Ok(connection.map(Project::from).into())
    }

    /// An activity; with `asOf`, as the first `asOf` events of the audit log left it.
    async fn activity(
        &self,
        ctx: &Context<'_>,
        id: ID,
        as_of: Option<i64>,
    ) -> Result<Option<Activity>, ApiError> {
        let state = ctx.portfolio()?;
        let id = parse_id(&id, "id")?;
        let as_of = parse_as_of(as_of)?;
        let found: Option<ActivityState> = match as_of {
            Some(_) => state.commands.load::<ActivityState>(id, as_of).await?,
            None => state.read_model.activity(id).await?,
        };
        Ok(found.map(|activity| Activity::new(activity, as_of)))
    }

    /// Activities, by planned start unless ordered otherwise.
    #[expect(
        clippy::too_many_arguments,
        reason = "the Relay arguments, a filter and an order are the field's contract"
    )]
    #[graphql(complexity = "connection_cost(first, last, child_complexity)")]
    async fn activities(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<ActivityFilter>,
        order_by: Option<ActivityOrder>,
    ) -> Result<ActivityConnection, ApiError> {
        let state = ctx.portfolio()?;
        let query = activity_query(filter, order_by)?;
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let query = &query;
        let connection = paginate_keyset(
            &args,
            state.config.limits.page_size,
            &format!("activities {:?}", query.order),
            |range| async move { Ok(state.read_model.activities(query, &range).await?) },
            wants_total(ctx)
                .then_some(|| async move { Ok(state.read_model.count_activities(query).await?) }),
        )
        .await?;
        Ok(connection.map(Activity::from).into())
    }

    /// ASEAN member states as of a date (today when omitted).
    async fn member_states(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
    ) -> Result<Vec<MemberState>, ApiError> {
        let state = ctx.portfolio()?;
        let date = Date::parse_optional(as_of.as_ref(), "asOf")?
            .unwrap_or_else(|| Utc::now().date_naive());
        Ok(state
            .read_model
            .member_states(date)
            .await?
            .into_iter()
            .map(MemberState::from)
            .collect())
    }

    /// Reference code lists (sectors, organisation types, countries, regions, document categories).
    async fn codelist(&self, name: CodelistName) -> Vec<Code> {
        codelist(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_as_of_is_bad_input() {
        assert_eq!(parse_as_of(Some(4)).ok(), Some(Some(4)));
        assert_eq!(parse_as_of(None).ok(), Some(None));
        assert!(matches!(
            parse_as_of(Some(-1)),
            Err(ApiError::BadUserInput { field, .. }) if field == "asOf"
        ));
    }
}
