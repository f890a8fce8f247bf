//! Amanah's API: the GraphQL schema, the actix-web server around it, configuration and the
//! `amanah` command line.
//!
//! * [`config`]: the typed, layered configuration.
//! * [`auth`]: bearer tokens into identities, and identities into the audit log's actors.
//! * [`cli`]: the `amanah` commands; `main.rs` only parses, loads and dispatches.
//! * [`telemetry`]: logs and OpenTelemetry traces.
//! * [`startup`]: [`startup::Application`], the composition root of the HTTP server.
//! * [`graphql`]: the schema ([`graphql::schema`]) and its error catalogue extension.
//! * [`graphql_http`]: GraphQL over HTTP, GraphiQL, the SDL; [`graphql_ws`]: GraphQL over
//!   WebSocket, with the token in `connection_init`.
//! * [`error`]: the one catalogue of error codes.
//! * [`iati`]: the portfolio as IATI 2.03 XML files.
//! * [`middleware`], [`request_id`], [`metrics`], [`health`]: what every request passes through
//!   and what operators probe.

pub mod auth;
pub mod cli;
pub mod config;
pub mod demo;
pub mod error;
pub mod graphiql;
pub mod graphql;
pub mod graphql_http;
pub mod graphql_ws;
pub mod health;
pub mod iati;
pub mod metrics;
pub mod middleware;
pub mod request_id;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod witness;
pub mod witnessing;
#[cfg(test)]
mod witnessing_tests;
