//! What every handler and resolver shares: built once in [`crate::startup::Application::build`].

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::config::Config;

/// The shared state, cheap to clone (handles and `Arc`s). Handlers get it as
/// `web::Data<ApiState>`, resolvers as `ctx.api_state()?` ([`crate::graphql::ContextExt`]).
#[derive(Debug, Clone)]
pub struct ApiState {
    /// The connection pool; hand it to `amanah_infra`, which owns every query.
    pub db: DatabaseConnection,
    /// The effective configuration (limits, access policy, audit settings).
    pub config: Arc<Config>,
}

impl ApiState {
    #[must_use]
    pub fn new(config: Config, db: DatabaseConnection) -> Self {
        Self {
            db,
            config: Arc::new(config),
        }
    }
}
