//! Amanah's pure business rules.
//!
//! This crate knows the development-cooperation portfolio of the ASEAN Secretariat — organisations,
//! projects (IATI activities) and anti-corruption activities — and nothing about databases, HTTP or
//! GraphQL. Every rule of `docs/domain.md` lives here as a pure function:
//!
//! * [`aggregate::Aggregate::decide`] turns a command and the current state into events, or a typed
//!   rejection that names the offending input field;
//! * [`aggregate::Aggregate::evolve`] folds an event into the state. The same fold builds the read
//!   model, answers `asOf` queries and drives `amanah replay`.
//!
//! Modules: [`values`] (validated value types: parse, don't validate), [`codelists`] (IATI code
//! lists and reference tables), the aggregates [`organisation`], [`project`] and [`activity`], the
//! shared shape in [`aggregate`], and the [`ports`] the outside world implements.
//!
//! The outside world is reached only through the traits in [`ports`], which `amanah-infra`
//! implements. The purity is checked in CI: this crate must not depend on tokio, sea-orm,
//! actix-web or async-graphql.

pub mod activity;
pub mod aggregate;
pub mod codelists;
pub mod errors;
#[cfg(any(test, feature = "fakes"))]
pub mod fakes;
pub mod organisation;
pub mod ports;
pub mod project;
pub mod query;
pub mod recent;
pub mod service;
#[cfg(test)]
mod testing;
pub mod values;
