//! Idempotency keys in the database (table `idempotency_keys`, see
//! [`crate::migration::m0005_idempotency`] and
//! [`crate::migration::m0006_idempotency_recovery`]), so that every replica answers a retried mutation the
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
//! A process can die while it holds a pending key. The holder refreshes the row's heartbeat
//! ([`IdempotencyStore::heartbeat`], every [`HEARTBEAT_INTERVAL`]) while it runs; a pending row
//! whose heartbeat is older than [`STALE_AFTER`] belongs to a dead process, and the next claim
//! recovers it by looking up the log for events carrying the holder's request id (every event
//! records the `requestId` it was appended under):
//!
//! * none: the dead attempt appended nothing, so the claim takes the key over ([`Claim::Run`]);
//! * some: the dead attempt's change landed but its response was lost ([`Claim::Landed`], with the
//!   indexes), and the caller answers with that rather than run the change twice.
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

/// How often the holder of a pending key refreshes its heartbeat.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);

/// How old a pending key's heartbeat must be for its holder to count as dead: six missed beats.
pub const STALE_AFTER: Duration = Duration::from_secs(30);

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
    /// The same request ran in a process that died after appending these events (global
    /// indexes, inclusive) and before storing its response. Answer with that — and store the
    /// answer with [`IdempotencyStore::complete`] so that later retries replay it.
    Landed { first_index: u64, last_index: u64 },
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

/// The SHA-256 (hex) of a request written with its object members sorted
/// ([`crate::jcs::to_sorted_json`]), so that the same request written with its members in
/// another order hashes the same, and requests that differ in any value (numbers included, as
/// `serde_json` parsed them: exactly what the request executes with) hash differently.
///
/// Total: every JSON value a client can send has a hash, floats and integers beyond ±2^53
/// included. For the values RFC 8785 accepts, the bytes hashed are its canonical form.
#[must_use]
pub fn request_hash(request: &serde_json::Value) -> String {
    let digest = Sha256::digest(crate::jcs::to_sorted_json(request).as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
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
    request_id: Option<String>,
    heartbeat_at: Option<i64>,
}

impl Row {
    /// When the holder last showed it was alive.
    fn last_beat(&self) -> i64 {
        self.heartbeat_at.unwrap_or(self.created_at)
    }
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

    /// Claims `key` for `subject` and a request hashing to `hash`, run under `request_id` (see
    /// the module docs). Keys older than `ttl` count as unused; a pending row is waited on for at
    /// most `wait`, and recovered when its holder died.
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
        request_id: &str,
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
            if self
                .insert_pending(subject, key, hash, request_id, now)
                .await?
            {
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
            if row.last_beat() < now.saturating_sub(ttl_micros(STALE_AFTER))
                && let Some(claim) = self.recover(subject, key, &row, request_id, now).await?
            {
                return Ok(claim);
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(Claim::InProgress);
            }
            let poll = POLL_INTERVAL.min(deadline - now);
            let _ = tokio::time::timeout(poll, settled).await;
        }
    }

    /// A pending row whose holder died: [`Claim::Landed`] when the holder's request appended
    /// events, else the key taken over for `request_id` ([`Claim::Run`]). `None` when another
    /// claim changed the row first, or when the row predates request ids (it cannot be told
    /// whether it landed: it stays pending until it expires).
    async fn recover(
        &self,
        subject: &str,
        key: &str,
        row: &Row,
        request_id: &str,
        now: i64,
    ) -> Result<Option<Claim>, StoreError> {
        let Some(holder) = &row.request_id else {
            return Ok(None);
        };
        if let Some((first_index, last_index)) = self.appended_by(holder).await? {
            tracing::warn!(
                subject,
                request_id = holder.as_str(),
                first_index,
                last_index,
                "an idempotent request landed but its process died before answering"
            );
            return Ok(Some(Claim::Landed {
                first_index,
                last_index,
            }));
        }
        let backend = self.db.get_database_backend();
        let taken = self
            .db
            .execute_raw(statement(
                backend,
                "UPDATE idempotency_keys SET request_id = ?, heartbeat_at = ? \
                 WHERE subject = ? AND \"key\" = ? AND response IS NULL AND request_id = ? \
                 AND COALESCE(heartbeat_at, created_at) = ?",
                vec![
                    request_id.into(),
                    now.into(),
                    subject.into(),
                    key.into(),
                    holder.clone().into(),
                    row.last_beat().into(),
                ],
            ))
            .await
            .map_err(map_db_error)?;
        if taken.rows_affected() == 1 {
            tracing::warn!(
                subject,
                dead = holder.as_str(),
                request_id,
                "took over an idempotency key whose holder died before appending"
            );
            Ok(Some(Claim::Run))
        } else {
            Ok(None)
        }
    }

    /// The first and last index of the events appended under `request_id`, if any.
    async fn appended_by(&self, request_id: &str) -> Result<Option<(u64, u64)>, StoreError> {
        let backend = self.db.get_database_backend();
        let row = self
            .db
            .query_one_raw(statement(
                backend,
                "SELECT MIN(idx), MAX(idx) FROM events WHERE request_id = ?",
                vec![request_id.into()],
            ))
            .await
            .map_err(map_db_error)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let first: Option<i64> = row.try_get_by_index(0).map_err(map_db_error)?;
        let last: Option<i64> = row.try_get_by_index(1).map_err(map_db_error)?;
        Ok(first.zip(last).and_then(|(first, last)| {
            Some((u64::try_from(first).ok()?, u64::try_from(last).ok()?))
        }))
    }

    /// Shows that the holder of a pending key (running `request_id`) is alive; call it every
    /// [`HEARTBEAT_INTERVAL`] while the request runs.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn heartbeat(
        &self,
        subject: &str,
        key: &str,
        request_id: &str,
    ) -> Result<(), StoreError> {
        let backend = self.db.get_database_backend();
        self.db
            .execute_raw(statement(
                backend,
                "UPDATE idempotency_keys SET heartbeat_at = ? WHERE subject = ? AND \"key\" = ? \
                 AND request_id = ? AND response IS NULL",
                vec![
                    now_micros().into(),
                    subject.into(),
                    key.into(),
                    request_id.into(),
                ],
            ))
            .await
            .map_err(map_db_error)?;
        Ok(())
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
        request_id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let backend = self.db.get_database_backend();
        let result = self
            .db
            .execute_raw(statement(
                backend,
                "INSERT INTO idempotency_keys \
                 (subject, \"key\", request_hash, response, created_at, request_id, heartbeat_at) \
                 VALUES (?, ?, ?, NULL, ?, ?, ?) ON CONFLICT (subject, \"key\") DO NOTHING",
                vec![
                    subject.into(),
                    key.into(),
                    hash.into(),
                    now.into(),
                    request_id.into(),
                    now.into(),
                ],
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
                "SELECT request_hash, response, created_at, request_id, heartbeat_at \
                 FROM idempotency_keys WHERE subject = ? AND \"key\" = ?",
                vec![subject.into(), key.into()],
            ))
            .await
            .map_err(map_db_error)?;
        row.map(|row| {
            Ok(Row {
                request_hash: row.try_get_by_index(0).map_err(map_db_error)?,
                response: row.try_get_by_index(1).map_err(map_db_error)?,
                created_at: row.try_get_by_index(2).map_err(map_db_error)?,
                request_id: row.try_get_by_index(3).map_err(map_db_error)?,
                heartbeat_at: row.try_get_by_index(4).map_err(map_db_error)?,
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
        let a = request_hash(&json!({ "query": "q", "variables": { "x": 1, "y": 2 } }));
        let b = request_hash(&json!({ "variables": { "y": 2, "x": 1 }, "query": "q" }));
        let c = request_hash(&json!({ "query": "q", "variables": { "x": 1, "y": 3 } }));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 64);
    }

    /// A request as a client sends it (the body's text), parsed as the server parses it.
    fn parsed(body: &str) -> serde_json::Value {
        serde_json::from_str(body).unwrap()
    }

    #[test]
    fn every_number_a_client_can_send_has_a_hash() {
        for (one, same, different) in [
            (
                r#"{"query":"q","variables":{"x":1.5,"y":"a"}}"#,
                r#"{"variables":{"y":"a","x":1.5},"query":"q"}"#,
                r#"{"query":"q","variables":{"x":2.5,"y":"a"}}"#,
            ),
            (
                r#"{"query":"q","variables":{"x":1152921504606846976}}"#,
                r#"{"variables":{"x":1152921504606846976},"query":"q"}"#,
                r#"{"query":"q","variables":{"x":1152921504606846977}}"#,
            ),
            (
                r#"{"query":"q","variables":{"x":-1152921504606846976}}"#,
                r#"{"variables":{"x":-1152921504606846976},"query":"q"}"#,
                r#"{"query":"q","variables":{"x":1152921504606846976}}"#,
            ),
            (
                r#"{"query":"q","variables":{"x":[1e300,18446744073709551615]}}"#,
                r#"{"variables":{"x":[1E300,18446744073709551615]},"query":"q"}"#,
                r#"{"query":"q","variables":{"x":[1e299,18446744073709551615]}}"#,
            ),
        ] {
            assert_eq!(
                request_hash(&parsed(one)),
                request_hash(&parsed(same)),
                "{one}"
            );
            assert_ne!(
                request_hash(&parsed(one)),
                request_hash(&parsed(different)),
                "{one}"
            );
        }
        // A float and the integer it equals are different values to GraphQL (`Int` refuses 1.0).
        assert_ne!(
            request_hash(&parsed(r#"{"x":1.0}"#)),
            request_hash(&parsed(r#"{"x":1}"#))
        );
    }

    #[test]
    fn the_hash_of_integer_requests_is_unchanged_by_accepting_floats() {
        // Keys stored before floats were accepted were hashed over RFC 8785: their retries must
        // still match.
        let request = json!({ "query": "mutation { a }", "variables": { "n": 9_007_199_254_740_991_u64, "s": "é\n" } });
        let digest = Sha256::digest(crate::jcs::to_canonical(&request).unwrap());
        let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
        assert_eq!(request_hash(&request), hex);
    }
}
