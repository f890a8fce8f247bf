//! The database schema, as sea-orm migrations that run on SQLite and PostgreSQL alike.
//!
//! * [`m0001_event_log`]: the append-only `events` table (the audit log's leaves) and the
//!   `log_head` row that serialises appenders, with the triggers that make both append-only.
//! * [`m0002_member_states`]: the ASEAN member states, reference data seeded here.
//! * [`m0003_read_model`]: the read-model tables the projection writes; disposable (rebuilt by
//!   `amanah replay`), so they carry no append-only triggers.
//!
//! * [`m0004_audit_tree`]: the Merkle tree's stored nodes and the signed checkpoints
//!   (`audit-log.md` §2–§3), append-only like the events (they reuse the PostgreSQL trigger
//!   function `amanah_reject_change(message)` defined in m0001).
//! * [`m0005_idempotency`]: the idempotency keys of mutations, with the first response to each, so
//!   that every replica answers a retry the same way.
//! * [`m0006_idempotency_recovery`]: who holds a pending key and its heartbeat, so that a key left
//!   pending by a process that died can be recovered; an index on `events.request_id`.
//! * [`m0007_idempotency_claims`]: the server-assigned claim token of a key and the indexes its
//!   appends recorded, which recovery reads instead of the log; drops m0006's index.
//! * [`m0008_keyset_indexes`]: (sort key, id) indexes for reading lists by keyset.
//! * [`m0009_witness_cosignatures`]: the witnesses' cosignatures of checkpoints (append-only) and
//!   the size each witness is known to hold.
//! * [`m0010_statement_position_check`]: on PostgreSQL, the events' position check once a
//!   statement (over its new rows) instead of once a row.
//! * [`m0011_redundant_indexes`]: drops the read-model indexes another index of their table
//!   begins with.
//! * [`m0012_position_check_by_key`]: on PostgreSQL, m0010's check finds each new event's
//!   predecessor in its stream by the unique key, with one plan whatever the log's size.
//! * [`m0013_head_check_after`]: on PostgreSQL, the log head's size check after the update, so
//!   that the head can move in the statement that inserts the events.
//! * [`m0014_transactions_out_of_project_state`]: projects' kept states count their transactions
//!   instead of holding them (the transaction rows hold them).
//! * [`m0015_room_for_updates_in_place`]: on PostgreSQL, the aggregates' own tables leave room
//!   on each page, so that updating a row writes no index entries.
//! * [`m0016_one_project_order_index`]: drops two of `activities`' three per-project order
//!   indexes (a project's few activities are sorted instead).
//!
//! DDL is written as SQL rather than with sea-query's builder: the triggers need per-engine SQL
//! anyway, and the few type differences (`BLOB`/`BYTEA`, SQLite's `INTEGER PRIMARY KEY` rowid
//! alias) read more plainly as SQL than as builder calls. Every migration runs in a transaction on
//! both engines. There are no `down` migrations: the audit log is never rolled back.

use sea_orm_migration::prelude::*;

pub mod m0001_event_log;
pub mod m0002_member_states;
pub mod m0003_read_model;
pub mod m0004_audit_tree;
pub mod m0005_idempotency;
pub mod m0006_idempotency_recovery;
pub mod m0007_idempotency_claims;
pub mod m0008_keyset_indexes;
pub mod m0009_witness_cosignatures;
pub mod m0010_statement_position_check;
pub mod m0011_redundant_indexes;
pub mod m0012_position_check_by_key;
pub mod m0013_head_check_after;
pub mod m0014_transactions_out_of_project_state;
pub mod m0015_room_for_updates_in_place;
pub mod m0016_one_project_order_index;

/// All migrations, in order. `amanah migrate` and `amanah serve` apply the pending ones through
/// [`crate::store::database::migrate`].
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_event_log::Migration),
            Box::new(m0002_member_states::Migration),
            Box::new(m0003_read_model::Migration),
            Box::new(m0004_audit_tree::Migration),
            Box::new(m0005_idempotency::Migration),
            Box::new(m0006_idempotency_recovery::Migration),
            Box::new(m0007_idempotency_claims::Migration),
            Box::new(m0008_keyset_indexes::Migration),
            Box::new(m0009_witness_cosignatures::Migration),
            Box::new(m0010_statement_position_check::Migration),
            Box::new(m0011_redundant_indexes::Migration),
            Box::new(m0012_position_check_by_key::Migration),
            Box::new(m0013_head_check_after::Migration),
            Box::new(m0014_transactions_out_of_project_state::Migration),
            Box::new(m0015_room_for_updates_in_place::Migration),
            Box::new(m0016_one_project_order_index::Migration),
        ]
    }
}

/// Runs each statement in turn on the migration's connection.
async fn execute_all<S: AsRef<str>>(
    manager: &SchemaManager<'_>,
    statements: impl IntoIterator<Item = S>,
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    for statement in statements {
        db.execute_unprepared(statement.as_ref()).await?;
    }
    Ok(())
}

/// [`execute_all`] when the migration runs against PostgreSQL; nothing on SQLite.
async fn execute_on_postgres<S: AsRef<str>>(
    manager: &SchemaManager<'_>,
    statements: impl IntoIterator<Item = S>,
) -> Result<(), DbErr> {
    if is_postgres(manager) {
        execute_all(manager, statements).await
    } else {
        Ok(())
    }
}

/// Whether the migration runs against PostgreSQL (otherwise SQLite).
fn is_postgres(manager: &SchemaManager<'_>) -> bool {
    manager.get_database_backend() == sea_orm::DbBackend::Postgres
}
