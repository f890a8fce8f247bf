//! Idempotency keys (`docs/api.md`, "GraphQL conventions"): the first response to a
//! mutation sent with an `Idempotency-Key`, per subject and key, so that a retry returns it and
//! appends nothing. In the database rather than in memory so that every replica agrees.
//!
//! * `subject`, `key`: the token's `sub` and the header's value; together the primary key, so
//!   that concurrent duplicates race on one insert and exactly one wins.
//! * `request_hash`: SHA-256 (hex) of the canonical JSON of the request (query, operation name,
//!   variables); a retry with a different hash is `CONFLICT`.
//! * `response`: the JSON of the first response; `NULL` while the first request is still running
//!   (the "pending" marker that concurrent duplicates wait on).
//! * `created_at`: microseconds since the Unix epoch (UTC); rows older than the configured time
//!   (`AMANAH_IDEMPOTENCY_TTL`, 24 h by default) are expired and purged lazily.
//!
//! Not part of the audit log: no append-only triggers (expired keys are deleted).

use sea_orm_migration::prelude::*;

use super::execute_all;

#[derive(DeriveMigrationName)]
pub struct Migration;

const STATEMENTS: [&str; 2] = [
    "CREATE TABLE idempotency_keys (
        subject TEXT NOT NULL,
        \"key\" TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        response TEXT,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (subject, \"key\")
    )",
    "CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute_all(manager, STATEMENTS).await
    }
}
