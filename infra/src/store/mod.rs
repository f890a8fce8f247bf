//! The database and the append-only log: the event store and its sequencer ([`event_store`]),
//! opening and migrating the database ([`database`]), statements for either engine ([`sql`]),
//! driver errors mapped to the port's ([`db_error`]), the statement counter ([`statements`]),
//! following the log ([`follow`]), the idempotency keys ([`idempotency`]), and writes gathered
//! into few statements ([`writes`]).

pub mod database;
pub mod db_error;
pub mod event_store;
pub mod follow;
pub mod idempotency;
pub mod sql;
pub mod statements;
pub mod writes;
