//! On PostgreSQL, m0010's check of the streams' versions looks each new event's predecessor up by
//! the unique key `(stream, stream_id, stream_version)`, instead of taking the greatest version
//! among the stream's events before the statement's first.
//!
//! m0010 asked for `MAX(stream_version)` of a stream's events with `idx` below a bound. PostgreSQL
//! plans a trigger's query once per session, and the writer's session planned it while the table
//! was small: a bitmap AND of the stream's key with the range `idx < bound`, which grows with the
//! log. That plan took a tenth of the writer's time in a batch of appends (BENCHMARKS.md §5). A
//! lookup of the whole unique key has one plan whatever the table holds.
//!
//! The rule is the same. Besides the indexes' check, which is unchanged, the statement is refused
//! unless every new event of version v > 1 has, in its stream, an event of version v − 1 at a
//! lower index. With the unique key (no version twice in a stream) and versions ≥ 1 (m0001's
//! checks), that holds exactly when, in each stream taken in index order, the versions are
//! 1, 2, 3, …: by induction on the index, each event's predecessor comes before it, so the new
//! events continue the stream's versions before them one by one, in index order.

use sea_orm_migration::prelude::*;

use super::execute_on_postgres;

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES: [&str; 1] = [
    "CREATE OR REPLACE FUNCTION amanah_events_check_positions() RETURNS trigger LANGUAGE plpgsql AS $$
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
             SELECT 1 FROM new_events AS n
             WHERE n.stream_version <> 1
               AND NOT EXISTS (
                   SELECT 1 FROM events AS e
                   WHERE e.stream = n.stream AND e.stream_id = n.stream_id
                     AND e.stream_version = n.stream_version - 1
                     AND e.idx < n.idx
               )
         ) THEN
             RAISE EXCEPTION 'an event must take the next index and the next stream version'
                 USING ERRCODE = 'restrict_violation';
         END IF;
         RETURN NULL;
     END
     $$",
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
