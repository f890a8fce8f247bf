//! Recovering idempotency keys whose first request died with its process (see
//! [`crate::store::idempotency`]):
//!
//! * `idempotency_keys.request_id`: the request id of the attempt that holds a pending key — the
//!   `requestId` its events carry in the log, so that a later attempt can tell whether the first
//!   one appended anything before it died;
//! * `idempotency_keys.heartbeat_at`: microseconds since the Unix epoch (UTC), refreshed while the
//!   holder runs; a pending key whose heartbeat stopped belongs to a dead process;
//! * an index on `events.request_id`, so that looking up a request's events does not scan the log.
//!
//! Rows written before this migration have neither (`NULL`): they are treated as pending since
//! their `created_at`.
//!
//! Recovery by request id was replaced by [`super::m0007_idempotency_claims`] (the client chooses
//! the request id, and may send one for many keys), which drops the index.

use sea_orm_migration::prelude::*;

use super::execute_all;

#[derive(DeriveMigrationName)]
pub struct Migration;

const STATEMENTS: [&str; 3] = [
    "ALTER TABLE idempotency_keys ADD COLUMN request_id TEXT",
    "ALTER TABLE idempotency_keys ADD COLUMN heartbeat_at BIGINT",
    "CREATE INDEX events_request_id_idx ON events (request_id)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute_all(manager, STATEMENTS).await
    }
}
