//! Fields about the service itself, not the portfolio.

use async_graphql::Object;

/// The service's own fields, merged into `Query`.
#[derive(Debug, Default)]
pub struct ServiceQuery;

#[Object]
impl ServiceQuery {
    /// The version of the Amanah server answering, e.g. "0.1.0".
    async fn api_version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }
}
