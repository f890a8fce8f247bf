//! Recovery of idempotency keys decided by the key alone (see [`crate::store::idempotency`]), no longer
//! by looking up the log for events carrying the dead holder's request id, which the client
//! chooses (`X-Request-Id`) and may share between keys:
//!
//! * `idempotency_keys.claim_token`: random (a UUID v7 in text), assigned by the server each time
//!   an attempt claims or takes over the key. An append made under the key succeeds only while
//!   the row still holds the appending attempt's token, checked in the append's transaction.
//! * `idempotency_keys.first_index`, `last_index`: the global indexes of the first and last event
//!   appended under the claim (`NULL` until the first append), written by those appends in their
//!   own transactions; a key whose holder died is `Landed` with them, or, without them, taken
//!   over by a retry.
//! * The index on `events.request_id` (m0006) is dropped: recovery was its only reader.
//!
//! Pending rows written before this migration have no token: whether their attempt landed cannot
//! be told from the row, so they stay pending until they expire (`AMANAH_IDEMPOTENCY_TTL`).

use sea_orm_migration::prelude::*;

use super::execute_all;

#[derive(DeriveMigrationName)]
pub struct Migration;

const STATEMENTS: [&str; 4] = [
    "ALTER TABLE idempotency_keys ADD COLUMN claim_token TEXT",
    "ALTER TABLE idempotency_keys ADD COLUMN first_index BIGINT",
    "ALTER TABLE idempotency_keys ADD COLUMN last_index BIGINT",
    "DROP INDEX events_request_id_idx",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute_all(manager, STATEMENTS).await
    }
}
