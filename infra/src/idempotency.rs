//! Idempotency keys in the database (table `idempotency_keys`, see
//! [`crate::migration::m0005_idempotency`]), so that every replica answers a retried mutation the
//! same way and concurrent duplicates run exactly once.
//!
//! The protocol, per (subject, key):
//!
//! 1. [`IdempotencyStore::claim`] inserts a *pending* row (no response yet). The primary key makes
//!    exactly one of any number of concurrent claims win: it gets [`Claim::Run`] and runs the
//!    request.
//! 2. The winner stores the response with [`IdempotencyStore::complete`] — or, when the request
//!    failed in a way a retry may fix (an internal error), removes the row with
//!    [`IdempotencyStore::release`] so that the next attempt runs again.
//! 3. Every other claim reads the row: a different request hash is [`Claim::Mismatch`]; a stored
//!    response is [`Claim::Replay`]; a pending row is waited on (woken at once in this process,
//!    polled across replicas) until it completes, is released, or the wait ends
//!    ([`Claim::InProgress`]).
//!
//! Rows older than the time to live are expired: a claim that meets one deletes it and claims
//! afresh, and a purge of every expired row runs at most once per [`PURGE_INTERVAL`] per process
//! ("lazily": no background task).

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use amanah_domain::ports::StoreError;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use sha2::{Digest as _, Sha256};
use tokio::sync::Notify;

use crate::db_error::map_db_error;
use crate::sql::statement;

/// How often, at most, one process deletes every expired key.
pub const PURGE_INTERVAL: Duration = Duration::from_secs(60);

/// How often a waiting claim looks at a row that another replica is still running (in this
/// process it is woken as soon as the row completes).
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This claim won: run the request, then [`IdempotencyStore::complete`] or
    /// [`IdempotencyStore::release`].
    Run,
    /// The same request ran before: this is its response.
    Replay(serde_json::Value),
    /// The key was used for a different request.
    Mismatch,
    /// The same request is still running elsewhere and did not finish within the wait.
    InProgress,
}

/// The `idempotency_keys` table. Cheap to clone (a pool handle and an `Arc`).
#[derive(Debug, Clone)]
pub struct IdempotencyStore {
    db: DatabaseConnection,
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    /// Woken whenever this process completes or releases a key.
    settled: Notify,
    /// When this process last purged expired keys (microseconds since the epoch).
    last_purge: AtomicI64,
}

/// The SHA-256 (hex) of the canonical JSON (RFC 8785) of a request, so that the same request
/// written with its object members in another order hashes the same.
///
/// # Errors
/// [`StoreError::Internal`] when the value cannot be canonicalised (a float that JSON cannot
/// hold).
pub fn request_hash(request: &serde_json::Value) -> Result<String, StoreError> {
    let canonical = crate::jcs::to_canonical(request)
        .map_err(|e| StoreError::Internal(format!("request hash: {e}")))?;
    let digest = Sha256::digest(&canonical);
    let mut hex = String::with_capacity(64);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    Ok(hex)
}

fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

fn ttl_micros(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX)
}

/// A row as a claim sees it.
struct Row {
    request_hash: String,
    response: Option<String>,
    created_at: i64,
}

impl IdempotencyStore {
    #[must_use]
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            shared: Arc::new(Shared {
                settled: Notify::new(),
                last_purge: AtomicI64::new(i64::MIN),
            }),
        }
    }

    /// Claims `key` for `subject` and a request hashing to `hash` (see the module docs).
    /// Keys older than `ttl` count as unused; a pending row is waited on for at most `wait`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Internal`] when the database fails; a stored
    /// response that is not JSON is internal too.
    #[tracing::instrument(skip_all)]
    pub async fn claim(
        &self,
        subject: &str,
        key: &str,
        hash: &str,
        ttl: Duration,
        wait: Duration,
    ) -> Result<Claim, StoreError> {
        let deadline = tokio::time::Instant::now() + wait;
        self.purge_if_due(ttl).await?;
        loop {
            // Registered before the row is read, so a completion in between is not missed.
            let settled = self.shared.settled.notified();
            tokio::pin!(settled);
            settled.as_mut().enable();

            let now = now_micros();
            if self.insert_pending(subject, key, hash, now).await? {
                return Ok(Claim::Run);
            }
            let Some(row) = self.read(subject, key).await? else {
                continue; // released or purged since the insert failed: claim again
            };
            if row.created_at < now.saturating_sub(ttl_micros(ttl)) {
                self.delete_expired(subject, key, row.created_at).await?;
                continue;
            }
            if row.request_hash != hash {
                return Ok(Claim::Mismatch);
            }
            if let Some(response) = row.response {
                let response = serde_json::from_str(&response).map_err(|e| {
                    StoreError::Internal(format!("stored idempotent response: {e}"))
                })?;
                return Ok(Claim::Replay(response));
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(Claim::InProgress);
            }
            let poll = POLL_INTERVAL.min(deadline - now);
            let _ = tokio::time::timeout(poll, settled).await;
        }
    }

    /// Stores the response of the request that won the claim.
    ///
    /// # Errors
    /// When the database fails.
    #[tracing::instrument(skip_all)]
    pub async fn complete(
        &self,
        subject: &str,
        key: &str,
        response: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let backend = self.db.get_database_backend();
        let result = self
            .db
            .execute_raw(statement(
                backend,
                "UPDATE idempotency_keys SET response = ? WHERE subject = ? AND \"key\" = ? \
                 AND response IS NULL",
                vec![response.to_string().into(), subject.into(), key.into()],
            ))
            .await
            .map_err(map_db_error);
        self.shared.settled.notify_waiters();
        result.map(|_| ())
    }

    /// Removes a pending claim, so that the next attempt with the key runs again.
    ///
    /// # Errors
    /// When the database fails.
    #[tracing::instrument(skip_all)]
    pub async fn release(&self, subject: &str, key: &str) -> Result<(), StoreError> {
        let backend = self.db.get_database_backend();
        let result = self
            .db
            .execute_raw(statement(
                backend,
                "DELETE FROM idempotency_keys WHERE subject = ? AND \"key\" = ? \
                 AND response IS NULL",
                vec![subject.into(), key.into()],
            ))
            .await
            .map_err(map_db_error);
        self.shared.settled.notify_waiters();
        result.map(|_| ())
    }

    /// Deletes every key older than `ttl`; returns how many.
    ///
    /// # Errors
    /// When the database fails.
    #[tracing::instrument(skip_all)]
    pub async fn purge_expired(&self, ttl: Duration) -> Result<u64, StoreError> {
        let backend = self.db.get_database_backend();
        let cutoff = now_micros().saturating_sub(ttl_micros(ttl));
        let result = self
            .db
            .execute_raw(statement(
                backend,
                "DELETE FROM idempotency_keys WHERE created_at < ?",
                vec![cutoff.into()],
            ))
            .await
            .map_err(map_db_error)?;
        Ok(result.rows_affected())
    }

    async fn purge_if_due(&self, ttl: Duration) -> Result<(), StoreError> {
        let now = now_micros();
        let last = self.shared.last_purge.load(Ordering::Relaxed);
        let interval = ttl_micros(PURGE_INTERVAL);
        if now.saturating_sub(last) < interval {
            return Ok(());
        }
        // One caller per interval does the purge; the others go on.
        if self
            .shared
            .last_purge
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            let purged = self.purge_expired(ttl).await?;
            if purged > 0 {
                tracing::debug!(purged, "purged expired idempotency keys");
            }
        }
        Ok(())
    }

    /// Inserts the pending row; `false` when the key is already there.
    async fn insert_pending(
        &self,
        subject: &str,
        key: &str,
        hash: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let backend = self.db.get_database_backend();
        let result = self
            .db
            .execute_raw(statement(
                backend,
                "INSERT INTO idempotency_keys (subject, \"key\", request_hash, response, created_at) \
                 VALUES (?, ?, ?, NULL, ?) ON CONFLICT (subject, \"key\") DO NOTHING",
                vec![subject.into(), key.into(), hash.into(), now.into()],
            ))
            .await
            .map_err(map_db_error)?;
        Ok(result.rows_affected() == 1)
    }

    async fn read(&self, subject: &str, key: &str) -> Result<Option<Row>, StoreError> {
        let backend = self.db.get_database_backend();
        let row = self
            .db
            .query_one_raw(statement(
                backend,
                "SELECT request_hash, response, created_at FROM idempotency_keys \
                 WHERE subject = ? AND \"key\" = ?",
                vec![subject.into(), key.into()],
            ))
            .await
            .map_err(map_db_error)?;
        row.map(|row| {
            Ok(Row {
                request_hash: row.try_get_by_index(0).map_err(map_db_error)?,
                response: row.try_get_by_index(1).map_err(map_db_error)?,
                created_at: row.try_get_by_index(2).map_err(map_db_error)?,
            })
        })
        .transpose()
    }

    /// Deletes an expired row, unless it was replaced in the meantime.
    async fn delete_expired(
        &self,
        subject: &str,
        key: &str,
        created_at: i64,
    ) -> Result<(), StoreError> {
        let backend = self.db.get_database_backend();
        self.db
            .execute_raw(statement(
                backend,
                "DELETE FROM idempotency_keys WHERE subject = ? AND \"key\" = ? AND created_at = ?",
                vec![subject.into(), key.into(), created_at.into()],
            ))
            .await
            .map_err(map_db_error)?;
        Ok(())
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_hash_ignores_member_order_but_not_values() {
        let a = request_hash(&json!({ "query": "q", "variables": { "x": 1, "y": 2 } })).unwrap();
        let b = request_hash(&json!({ "variables": { "y": 2, "x": 1 }, "query": "q" })).unwrap();
        let c = request_hash(&json!({ "query": "q", "variables": { "x": 1, "y": 3 } })).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 64);
    }
}
