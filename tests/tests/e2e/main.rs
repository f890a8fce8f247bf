//! End-to-end tests: the real server, spawned on port 0, spoken to over HTTP and WebSocket.
//!
//! [`test_app::TestApp`] starts one server per test against a database of its own (SQLite in a
//! temporary directory, or a scratch PostgreSQL database). Logs are discarded unless `TEST_LOG` is
//! set.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on unexpected errors"
)]

mod auth;
mod clients;
mod graphql_http;
mod iati;
mod iati_import;
mod idempotency;
mod limits;
mod operations;
mod pagination;
mod persisted;
mod postgres;
mod schema;
mod subscriptions;
mod test_app;
mod websocket;
