//! On PostgreSQL, the check that inserted events take the next indexes and the next versions of
//! their streams runs once a statement instead of once a row.
//!
//! m0001's row trigger ran two queries for every event, and PostgreSQL planned the per-stream one
//! again for every row: a fifth of the writer's time in a batch of appends (BENCHMARKS.md §5).
//! Its replacement, an `AFTER INSERT … FOR EACH STATEMENT` trigger, reads the statement's new
//! rows (its transition table) and refuses the statement unless, together,
//! * their indexes are contiguous, start right after the events before them, and no event is
//!   after them;
//! * in each stream, taken in index order, their versions continue the stream's versions before
//!   them one by one.
//!
//! That is what the row trigger enforced one row at a time (a row inserted in index order must
//! take the next index and its stream's next version), so the log stays gapless and its streams'
//! versions follow its order. SQLite, which has no statement triggers, keeps the row trigger.

use sea_orm_migration::prelude::*;

use super::execute_on_postgres;

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES: [&str; 4] = [
    "DROP TRIGGER events_check_position ON events",
    "DROP FUNCTION amanah_events_check_position()",
    "CREATE FUNCTION amanah_events_check_positions() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
         IF EXISTS (
             SELECT 1 FROM (
                 SELECT COUNT(*) AS n, MIN(idx) AS lo, MAX(idx) AS hi FROM new_events
             ) AS s
             WHERE s.hi - s.lo + 1 <> s.n
                OR s.lo <> (SELECT COALESCE(MAX(e.idx) + 1, 0) FROM events AS e
                            WHERE e.idx < s.lo)
                OR s.hi <> (SELECT MAX(e.idx) FROM events AS e)
         ) OR EXISTS (
             SELECT 1 FROM (
                 SELECT n.stream, n.stream_id, n.stream_version,
                        row_number() OVER (PARTITION BY n.stream, n.stream_id ORDER BY n.idx)
                            AS k,
                        MIN(n.idx) OVER (PARTITION BY n.stream, n.stream_id) AS first_idx
                 FROM new_events AS n
             ) AS r
             WHERE r.stream_version IS DISTINCT FROM (
                 SELECT COALESCE(MAX(e.stream_version), 0) FROM events AS e
                 WHERE e.stream = r.stream AND e.stream_id = r.stream_id
                   AND e.idx < r.first_idx
             ) + r.k
         ) THEN
             RAISE EXCEPTION 'an event must take the next index and the next stream version'
                 USING ERRCODE = 'restrict_violation';
         END IF;
         RETURN NULL;
     END
     $$",
    "CREATE TRIGGER events_check_positions AFTER INSERT ON events
     REFERENCING NEW TABLE AS new_events
     FOR EACH STATEMENT EXECUTE FUNCTION amanah_events_check_positions()",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute_on_postgres(manager, POSTGRES).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
