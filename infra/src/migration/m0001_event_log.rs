//! The audit log's tables: `events` (one row per leaf) and `log_head` (one row, the log size).
//!
//! `events.canonical` holds the exact leaf bytes; the other columns are copies of envelope members
//! kept for filtering and are never the source of what is served. `idx` is the global, gapless,
//! 0-based index.
//!
//! `log_head` has exactly one row. Every append transaction locks it first (PostgreSQL:
//! `SELECT … FOR UPDATE`; SQLite: `BEGIN IMMEDIATE` takes the database's single write lock), so
//! appenders in every process and replica are serialised and index order equals commit order.
//!
//! Triggers, on both engines, make the log append-only in the database itself:
//! * `events` rejects UPDATE and DELETE (and TRUNCATE on PostgreSQL);
//! * an inserted event must take the next index and the next version of its stream, so neither
//!   can have gaps or be overwritten (SQLite's `INSERT OR REPLACE` included); on PostgreSQL
//!   m0010 checks this once a statement instead of once a row;
//! * `log_head` rejects DELETE (and TRUNCATE), and an UPDATE must not shrink the log and must set
//!   `size` to the number of events.

use sea_orm_migration::prelude::*;

use super::{execute_all, is_postgres};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Tables and indexes; `{index}` and `{bytes}` are the engine's 64-bit integer key and byte types.
const TABLES: [&str; 6] = [
    "CREATE TABLE events (
        idx {index} PRIMARY KEY CHECK (idx >= 0),
        id TEXT NOT NULL,
        stream TEXT NOT NULL,
        stream_id TEXT NOT NULL,
        stream_version BIGINT NOT NULL CHECK (stream_version >= 1),
        event_type TEXT NOT NULL,
        occurred_at TEXT NOT NULL,
        actor_sub TEXT NOT NULL,
        request_id TEXT,
        canonical {bytes} NOT NULL,
        CONSTRAINT events_stream_version_key UNIQUE (stream, stream_id, stream_version)
    )",
    // (stream, stream_id) lookups use the unique index above: it leads with those two columns.
    "CREATE INDEX events_event_type_idx ON events (event_type)",
    "CREATE INDEX events_actor_sub_idx ON events (actor_sub)",
    "CREATE INDEX events_occurred_at_idx ON events (occurred_at)",
    "CREATE TABLE log_head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        size BIGINT NOT NULL CHECK (size >= 0)
    )",
    "INSERT INTO log_head (id, size) VALUES (1, 0)",
];

const SQLITE_TRIGGERS: [&str; 5] = [
    "CREATE TRIGGER events_reject_update BEFORE UPDATE ON events
     BEGIN SELECT RAISE(ABORT, 'events are append-only'); END",
    "CREATE TRIGGER events_reject_delete BEFORE DELETE ON events
     BEGIN SELECT RAISE(ABORT, 'events are append-only'); END",
    "CREATE TRIGGER events_check_position BEFORE INSERT ON events
     WHEN NEW.idx IS NOT (SELECT COALESCE(MAX(idx) + 1, 0) FROM events)
       OR NEW.stream_version IS NOT (
            SELECT COALESCE(MAX(stream_version) + 1, 1) FROM events
            WHERE stream = NEW.stream AND stream_id = NEW.stream_id)
     BEGIN SELECT RAISE(ABORT, 'an event must take the next index and the next stream version'); END",
    "CREATE TRIGGER log_head_reject_delete BEFORE DELETE ON log_head
     BEGIN SELECT RAISE(ABORT, 'the log head cannot be deleted'); END",
    "CREATE TRIGGER log_head_check_size BEFORE UPDATE ON log_head
     WHEN NEW.id IS NOT OLD.id
       OR NEW.size < OLD.size
       OR NEW.size IS NOT (SELECT COALESCE(MAX(idx) + 1, 0) FROM events)
     BEGIN SELECT RAISE(ABORT, 'the log head must equal the number of events and never decrease'); END",
];

const POSTGRES_TRIGGERS: [&str; 9] = [
    // Shared by every append-only table (the Merkle and checkpoint tables will use it too).
    "CREATE FUNCTION amanah_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
         RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'restrict_violation';
     END
     $$",
    "CREATE TRIGGER events_reject_update_delete BEFORE UPDATE OR DELETE ON events
     FOR EACH ROW EXECUTE FUNCTION amanah_reject_change('events are append-only')",
    "CREATE TRIGGER events_reject_truncate BEFORE TRUNCATE ON events
     FOR EACH STATEMENT EXECUTE FUNCTION amanah_reject_change('events are append-only')",
    "CREATE FUNCTION amanah_events_check_position() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
         IF NEW.idx IS DISTINCT FROM (SELECT COALESCE(MAX(idx) + 1, 0) FROM events)
            OR NEW.stream_version IS DISTINCT FROM (
                SELECT COALESCE(MAX(stream_version) + 1, 1) FROM events
                WHERE stream = NEW.stream AND stream_id = NEW.stream_id)
         THEN
             RAISE EXCEPTION 'an event must take the next index and the next stream version'
                 USING ERRCODE = 'restrict_violation';
         END IF;
         RETURN NEW;
     END
     $$",
    "CREATE TRIGGER events_check_position BEFORE INSERT ON events
     FOR EACH ROW EXECUTE FUNCTION amanah_events_check_position()",
    "CREATE TRIGGER log_head_reject_delete BEFORE DELETE ON log_head
     FOR EACH ROW EXECUTE FUNCTION amanah_reject_change('the log head cannot be deleted')",
    "CREATE TRIGGER log_head_reject_truncate BEFORE TRUNCATE ON log_head
     FOR EACH STATEMENT EXECUTE FUNCTION amanah_reject_change('the log head cannot be deleted')",
    "CREATE FUNCTION amanah_log_head_check_size() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
         IF NEW.id IS DISTINCT FROM OLD.id
            OR NEW.size < OLD.size
            OR NEW.size IS DISTINCT FROM (SELECT COALESCE(MAX(idx) + 1, 0) FROM events)
         THEN
             RAISE EXCEPTION 'the log head must equal the number of events and never decrease'
                 USING ERRCODE = 'restrict_violation';
         END IF;
         RETURN NEW;
     END
     $$",
    "CREATE TRIGGER log_head_check_size BEFORE UPDATE ON log_head
     FOR EACH ROW EXECUTE FUNCTION amanah_log_head_check_size()",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let postgres = is_postgres(manager);
        // SQLite's `INTEGER PRIMARY KEY` makes `idx` the rowid (64-bit); PostgreSQL needs BIGINT.
        let (index, bytes) = if postgres {
            ("BIGINT", "BYTEA")
        } else {
            ("INTEGER", "BLOB")
        };
        execute_all(
            manager,
            TABLES.map(|sql| sql.replace("{index}", index).replace("{bytes}", bytes)),
        )
        .await?;
        if postgres {
            execute_all(manager, POSTGRES_TRIGGERS).await
        } else {
            execute_all(manager, SQLITE_TRIGGERS).await
        }
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
