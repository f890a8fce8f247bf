//! The GraphQL schema: transport-agnostic, built by one function.
//!
//! [`schema`] is what the server runs (`GET /schema.graphql` serves its SDL,
//! [`execution::Catalogued::sdl`]); [`build_schema_sdl`] is what the committed `schema.graphql`
//! must equal (a test below fails on drift and rewrites the file when `UPDATE_SCHEMA=1`). Both go
//! through the same builder, so limits and extensions never differ between them.
//!
//! Resolvers reach what they need through the context:
//! * `ctx.portfolio()?` ([`ContextExt`]): the shared [`ApiState`] for reading portfolio data
//!   (organisations, projects, activities, member states), after checking that the caller may
//!   read it ([`access::Action::ReadPortfolio`]). Every resolver that reads portfolio data gets
//!   the state this way, so the rule holds wherever an object is resolved — from a root field,
//!   `node`, `me`, a nested connection or a subscription — not only where the walk begins;
//! * `ctx.api_state()?`: the shared state for everything else (configuration, the audit log,
//!   whose own rule is a guard);
//! * `ctx.request_id()`: the [`RequestId`] of the HTTP request or WebSocket connection, which is
//!   the `requestId` of the events the request appends.
//! * `ctx.identity()`: the verified [`Identity`] of the caller, `None` when anonymous. The HTTP
//!   layer and the WebSocket `connection_init` put it into the request data only after the token
//!   verified; who may do what is decided in [`access`].
//!
//! Errors: return [`crate::error::ApiError`]; [`execution::Catalogued`] gives async-graphql's own
//! errors their codes and masks internal ones.

pub mod access;
#[cfg(test)]
mod access_tests;
pub mod activity;
pub mod audit;
#[cfg(test)]
mod audit_tests;
pub mod command;
pub mod connection;
pub mod document_bounds;
pub mod enums;
pub mod execution;
pub mod iati_import;
pub mod ids;
pub mod input_bounds;
pub mod mutation;
pub mod node;
pub mod organisation;
pub mod persisted;
#[cfg(test)]
mod portfolio_tests;
pub mod project;
pub mod project_commands;
pub mod query;
pub mod read_plan;
pub mod reference_data;
pub mod references;
pub mod response_order;
pub mod results;
pub mod scalars;
mod service;
pub mod subscription;
pub mod viewer;

use amanah_domain::ports::IdempotencyClaim;
use std::sync::Arc;

use amanah_infra::auth::Identity;
use async_graphql::{MergedObject, Schema, SchemaBuilder};
use persisted::PersistedDocuments;

use crate::{config::Limits, error::ApiError, request_id::RequestId, state::ApiState};

// One part per area, merged. The doc comment below is the public description in the SDL.
/// Everything that can be read: the portfolio, its reference data and the service itself.
#[derive(MergedObject, Default)]
pub struct Query(
    service::ServiceQuery,
    viewer::ViewerQuery,
    query::PortfolioQuery,
    audit::AuditQuery,
);

/// The schema the server runs: the roots with a span per field, with the checks and the error
/// catalogue of [`execution`] around it.
pub type AmanahSchema = execution::Catalogued<
    execution::Traced<Query>,
    execution::Traced<mutation::Mutation>,
    subscription::Subscription,
>;

/// Types and limits, without per-process data.
fn builder(
    limits: &Limits,
) -> SchemaBuilder<
    execution::Traced<Query>,
    execution::Traced<mutation::Mutation>,
    subscription::Subscription,
> {
    Schema::build(
        execution::Traced(Query::default()),
        execution::Traced(mutation::Mutation),
        subscription::Subscription,
    )
    .limit_depth(limits.depth)
    .limit_complexity(limits.complexity)
}

/// The checks of [`execution`] for `limits`.
fn checks(limits: &Limits, persisted: Arc<PersistedDocuments>) -> execution::Checks {
    execution::Checks {
        max_aliases: limits.aliases,
        document: limits.document(),
        persisted,
    }
}

/// The schema the server runs, with the limits of `state.config` and `state` as schema data.
#[must_use]
pub fn schema(state: ApiState) -> AmanahSchema {
    let limits = state.config.limits.clone();
    let (activities_of_projects, activity_counts_of_projects) =
        references::activity_loaders(&state);
    let checks = checks(&limits, Arc::clone(&state.persisted));
    let plans = Arc::new(read_plan::ReadPlans::new(state.clone()));
    let schema = builder(&limits)
        .data(references::loaders(&state))
        .data(activities_of_projects)
        .data(activity_counts_of_projects)
        .data(references::transaction_loader(&state))
        .data(state)
        .finish();
    execution::Catalogued::new(schema, checks).with_read_plans(plans)
}

/// The SDL of the schema (limits and data do not change it).
#[must_use]
pub fn build_schema_sdl() -> String {
    builder(&Limits::default()).finish().sdl()
}

/// What resolvers read from their context.
pub trait ContextExt {
    /// The shared state.
    ///
    /// # Errors
    /// An internal error if the schema was built without state (only possible in tests).
    fn api_state(&self) -> Result<&ApiState, ApiError>;

    /// The shared state, for reading portfolio data: checks first that the caller may
    /// ([`access::Action::ReadPortfolio`]).
    ///
    /// # Errors
    /// `UNAUTHENTICATED` or `FORBIDDEN` when the caller may not read the portfolio.
    fn portfolio(&self) -> Result<&ApiState, ApiError>;

    /// The id of the request (HTTP) or connection (WebSocket) being served, when there is one.
    fn request_id(&self) -> Option<&RequestId>;

    /// The caller's verified identity; `None` when anonymous.
    fn identity(&self) -> Option<&Identity>;

    /// The idempotency key the request holds, when it was sent with one
    /// ([`crate::graphql_http`]): every append it makes runs under it.
    fn idempotency_claim(&self) -> Option<&IdempotencyClaim>;
}

#[derive(Debug, thiserror::Error)]
#[error("the GraphQL schema has no ApiState; build it with graphql::schema")]
struct MissingState;

impl ContextExt for async_graphql::Context<'_> {
    fn api_state(&self) -> Result<&ApiState, ApiError> {
        self.data_opt::<ApiState>()
            .ok_or_else(|| ApiError::internal(MissingState))
    }

    fn portfolio(&self) -> Result<&ApiState, ApiError> {
        access::check(self, access::Action::ReadPortfolio)?;
        self.api_state()
    }

    fn request_id(&self) -> Option<&RequestId> {
        self.data_opt::<RequestId>()
    }

    fn identity(&self) -> Option<&Identity> {
        self.data_opt::<Identity>()
    }

    fn idempotency_claim(&self) -> Option<&IdempotencyClaim> {
        self.data_opt::<IdempotencyClaim>()
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn committed_schema_path() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schema.graphql")
    }

    /// `schema.graphql` at the repository root is the contract frontends read; it must equal the
    /// live schema. Run `UPDATE_SCHEMA=1 cargo test -p amanah-api committed_schema` after changing
    /// the schema, and commit the file.
    #[test]
    fn committed_schema_matches_the_live_schema() {
        let live = build_schema_sdl();
        let path = committed_schema_path();
        if std::env::var_os("UPDATE_SCHEMA").is_some_and(|v| v == "1") {
            std::fs::write(&path, &live).unwrap();
            return;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != live {
            let first_difference = committed
                .lines()
                .zip(live.lines())
                .position(|(a, b)| a != b)
                .unwrap_or_else(|| committed.lines().count().min(live.lines().count()));
            panic!(
                "schema.graphql is out of date (first difference at line {}): \
                 run `UPDATE_SCHEMA=1 cargo test -p amanah-api committed_schema` and commit it",
                first_difference + 1
            );
        }
    }

    #[tokio::test]
    async fn the_schema_answers_api_version() {
        let schema = execution::Catalogued::new(
            builder(&Limits::default()).finish(),
            checks(&Limits::default(), Arc::default()),
        );
        let response = schema.execute("{ apiVersion }").await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        assert_eq!(
            response.data.into_json().unwrap(),
            serde_json::json!({ "apiVersion": env!("CARGO_PKG_VERSION") })
        );
    }

    #[tokio::test]
    async fn the_schema_enforces_the_configured_depth() {
        let limits = Limits {
            depth: 2,
            ..Limits::default()
        };
        let schema =
            execution::Catalogued::new(builder(&limits).finish(), checks(&limits, Arc::default()));
        let response = schema
            .execute("{ __schema { types { fields { name } } } }")
            .await;
        let codes: Vec<_> = response
            .errors
            .iter()
            .filter_map(crate::error::ErrorCode::of)
            .collect();
        assert_eq!(codes, [crate::error::ErrorCode::QueryTooDeep]);
    }
}
