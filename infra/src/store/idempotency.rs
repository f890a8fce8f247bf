//! Idempotency keys in the database (table `idempotency_keys`, see
//! [`crate::migration::m0005_idempotency`], [`crate::migration::m0006_idempotency_recovery`] and
//! [`crate::migration::m0007_idempotency_claims`]), so that every replica answers a retried
//! mutation the same way and concurrent duplicates run exactly once.
//!
//! The protocol, per (subject, key):
//!
//! 1. [`IdempotencyStore::claim`] inserts a *pending* row (no response yet) holding a random
//!    *claim token* the server assigns. The primary key makes exactly one of any number of
//!    concurrent claims win: it gets [`KeyClaim::Run`] with its [`IdempotencyClaim`] and runs the
//!    request.
//! 2. Every append the request makes carries the claim
//!    ([`AppendRequest::idempotency_claim`](amanah_domain::ports::AppendRequest)).
//!    Inside the append's own transaction, under the log's write lock, the event store
//!    (`record_append`) checks that the row still holds the token and records the first and
//!    last global index appended under it; when the row holds another token the append fails
//!    with [`StoreError::IdempotencyKeyTakenOver`] and appends nothing. Several appends under one
//!    claim (a document with several mutation fields) keep the first index and move the last.
//! 3. The winner stores the response with [`IdempotencyStore::complete`] — or, when the request
//!    failed in a way a retry may fix (an internal error), gives the key up with
//!    [`IdempotencyStore::release`] so that the next attempt runs again.
//! 4. Every other claim reads the row: a different request hash is [`KeyClaim::Mismatch`]; a stored
//!    response is [`KeyClaim::Replay`]; a pending row is waited on (woken at once in this process,
//!    polled across replicas) until it completes, is released, or the wait ends
//!    ([`KeyClaim::InProgress`]).
//!
//! A process can die while it holds a pending key. The holder refreshes the row's heartbeat
//! ([`IdempotencyStore::heartbeat`], every [`HEARTBEAT_INTERVAL`]) while it runs; a pending row
//! whose heartbeat is older than [`STALE_AFTER`] belongs to a dead process, and the next claim
//! recovers it from the row alone, taking it over with a new token by compare-and-set (exactly
//! one of any number of racing retries wins; the others wait for it as for a live holder):
//!
//! * no indexes recorded: the dead attempt appended nothing (its appends would have recorded
//!   them in the same transaction), so the retry runs ([`KeyClaim::Run`]);
//! * indexes recorded: the dead attempt's change landed but its response was lost
//!   ([`KeyClaim::Landed`], with the indexes), and the caller answers with that rather than run the
//!   change twice.
//!
//! Either way the dead holder, should it be alive after all, can no longer append under the key
//! nor settle it: every write it makes names its token. Nothing here depends on the request id,
//! which the client chooses and may share between keys.
//!
//! Rows older than the time to live are expired: a claim that meets one deletes it and claims
//! afresh, and a purge of every expired row runs at most once per [`PURGE_INTERVAL`] per process
//! ("lazily": no background task).

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use amanah_domain::ports::{
    BoxFuture, IdempotencyClaim, IdempotencyKeys, KeyClaim, KeyRequest, StoreError,
};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use sha2::{Digest as _, Sha256};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::store::db_error::{map_db_error, map_internal_db_error};
use crate::store::sql::statement;

/// How often, at most, one process deletes every expired key.
pub const PURGE_INTERVAL: Duration = Duration::from_secs(60);

/// How often the holder of a pending key refreshes its heartbeat.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);

/// How old a pending key's heartbeat must be for its holder to count as dead: six missed beats.
pub const STALE_AFTER: Duration = Duration::from_secs(30);

/// How often a waiting claim looks at a row that another replica is still running (in this
/// process it is woken as soon as the row completes).
const POLL_INTERVAL: Duration = Duration::from_millis(50);

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
/// ([`amanah_audit::jcs::to_sorted_json`]), so that the same request written with its members in
/// another order hashes the same, and requests that differ in any value (numbers included, as
/// `serde_json` parsed them: exactly what the request executes with) hash differently.
///
/// Total: every JSON value a client can send has a hash, floats and integers beyond ±2^53
/// included. For the values RFC 8785 accepts, the bytes hashed are its canonical form.
#[must_use]
pub fn request_hash(request: &serde_json::Value) -> String {
    let digest = Sha256::digest(amanah_audit::jcs::to_sorted_json(request).as_bytes());
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

/// The rows `claim` holds: its key, with its token, not settled. Every write of a holder (and
/// the check of an append) names them so, with the values of [`claim_values`].
const HELD_BY_CLAIM: &str =
    "WHERE subject = ? AND \"key\" = ? AND claim_token = ? AND response IS NULL";

/// The values of [`HELD_BY_CLAIM`]'s placeholders.
fn claim_values(claim: &IdempotencyClaim) -> [sea_orm::Value; 3] {
    [
        claim.subject.as_str().into(),
        claim.key.as_str().into(),
        claim.token.to_string().into(),
    ]
}

/// A row as a claim sees it.
struct Row {
    request_hash: String,
    response: Option<String>,
    created_at: i64,
    /// The request id of the holder's attempt, for the logs.
    request_id: Option<String>,
    heartbeat_at: Option<i64>,
    /// `None` for rows written before claim tokens existed.
    claim_token: Option<String>,
    first_index: Option<i64>,
    last_index: Option<i64>,
}

impl Row {
    /// When the holder last showed it was alive.
    fn last_beat(&self) -> i64 {
        self.heartbeat_at.unwrap_or(self.created_at)
    }

    /// The first and last index appended under the claim, if anything was.
    fn appended(&self) -> Result<Option<(u64, u64)>, StoreError> {
        let index = |value: i64| {
            u64::try_from(value)
                .map_err(|_| StoreError::internal(format!("negative recorded index {value}")))
        };
        match (self.first_index, self.last_index) {
            (Some(first), Some(last)) => Ok(Some((index(first)?, index(last)?))),
            (None, None) => Ok(None),
            _ => Err(StoreError::internal(
                "an idempotency key records only one of its first and last index",
            )),
        }
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

    /// Claims `request.key` for `request.subject` and a request hashing to `request.hash` (see
    /// the module docs). Keys older than `request.ttl` count as unused; a pending row is waited
    /// on for at most `request.wait`, and recovered when its holder died. `request.request_id` is
    /// recorded with the claim for the logs only.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Internal`] when the database fails.
    #[tracing::instrument(skip_all)]
    pub async fn claim(&self, request: KeyRequest<'_>) -> Result<KeyClaim, StoreError> {
        let KeyRequest {
            subject,
            key,
            hash,
            request_id,
            ttl,
            wait,
        } = request;
        let deadline = tokio::time::Instant::now() + wait;
        self.purge_if_due(ttl).await?;
        loop {
            // Registered before the row is read, so a completion in between is not missed.
            let settled = self.shared.settled.notified();
            tokio::pin!(settled);
            settled.as_mut().enable();

            let now = now_micros();
            let claim = IdempotencyClaim {
                subject: subject.to_owned(),
                key: key.to_owned(),
                token: Uuid::now_v7(),
            };
            if self.insert_pending(&claim, hash, request_id, now).await? {
                return Ok(KeyClaim::Run(claim));
            }
            let Some(row) = self.read(subject, key).await? else {
                continue; // released or purged since the insert failed: claim again
            };
            if row.created_at < now.saturating_sub(ttl_micros(ttl)) {
                self.delete_expired(subject, key, row.created_at).await?;
                continue;
            }
            if row.request_hash != hash {
                return Ok(KeyClaim::Mismatch);
            }
            if let Some(response) = row.response {
                // The body's text as it was sent (rows of older versions hold the same body
                // re-serialised, which is JSON as well): replayed as it is.
                return Ok(KeyClaim::Replay(response));
            }
            if row.last_beat() < now.saturating_sub(ttl_micros(STALE_AFTER))
                && let Some(claim) = self.recover(claim, &row, request_id, now).await?
            {
                return Ok(claim);
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(KeyClaim::InProgress);
            }
            let poll = POLL_INTERVAL.min(deadline - now);
            let _ = tokio::time::timeout(poll, settled).await;
        }
    }

    /// A pending row whose holder died, taken over for `claim` (a new token) when it is still as
    /// read: [`KeyClaim::Landed`] when the holder's appends recorded indexes, else [`KeyClaim::Run`].
    /// `None` when another claim (or the holder) changed the row first, or when the row predates
    /// claim tokens (it cannot be told whether it landed: it stays pending until it expires).
    async fn recover(
        &self,
        claim: IdempotencyClaim,
        row: &Row,
        request_id: &str,
        now: i64,
    ) -> Result<Option<KeyClaim>, StoreError> {
        let Some(dead_token) = &row.claim_token else {
            return Ok(None);
        };
        let backend = self.db.get_database_backend();
        // The token, the last index and the heartbeat as read: the row is unchanged since, so
        // the dead holder appended nothing more and no other retry took it over first. Once the
        // token changes, the dead holder's appends fail: the indexes read are final.
        let taken = self
            .db
            .execute_raw(statement(
                backend,
                "UPDATE idempotency_keys SET claim_token = ?, request_id = ?, heartbeat_at = ? \
                 WHERE subject = ? AND \"key\" = ? AND response IS NULL AND claim_token = ? \
                 AND COALESCE(last_index, -1) = ? AND COALESCE(heartbeat_at, created_at) = ?",
                vec![
                    claim.token.to_string().into(),
                    request_id.into(),
                    now.into(),
                    claim.subject.clone().into(),
                    claim.key.clone().into(),
                    dead_token.clone().into(),
                    row.last_index.unwrap_or(-1).into(),
                    row.last_beat().into(),
                ],
            ))
            .await
            .map_err(map_db_error)?;
        if taken.rows_affected() != 1 {
            return Ok(None);
        }
        let dead_request = row.request_id.as_deref().unwrap_or("unknown");
        match row.appended()? {
            Some((first_index, last_index)) => {
                tracing::warn!(
                    subject = claim.subject,
                    dead_request,
                    request_id,
                    first_index,
                    last_index,
                    "an idempotent request landed but its process died before answering"
                );
                Ok(Some(KeyClaim::Landed {
                    first_index,
                    last_index,
                    claim,
                }))
            }
            None => {
                tracing::warn!(
                    subject = claim.subject,
                    dead_request,
                    request_id,
                    "took over an idempotency key whose holder died before appending"
                );
                Ok(Some(KeyClaim::Run(claim)))
            }
        }
    }

    /// Shows that the holder of `claim` is alive; call it every [`HEARTBEAT_INTERVAL`] while the
    /// request runs. Does nothing once the key was taken over or settled.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn heartbeat(&self, claim: &IdempotencyClaim) -> Result<(), StoreError> {
        let backend = self.db.get_database_backend();
        self.db
            .execute_raw(statement(
                backend,
                &format!("UPDATE idempotency_keys SET heartbeat_at = ? {HELD_BY_CLAIM}"),
                [now_micros().into()].into_iter().chain(claim_values(claim)),
            ))
            .await
            .map_err(map_db_error)?;
        Ok(())
    }

    /// Stores the response of the request that holds `claim`; `false` (nothing stored) when the
    /// key no longer holds the claim: a retry took it over, or it was settled already.
    ///
    /// # Errors
    /// When the database fails.
    #[tracing::instrument(skip_all)]
    pub async fn complete(
        &self,
        claim: &IdempotencyClaim,
        response: &str,
    ) -> Result<bool, StoreError> {
        let backend = self.db.get_database_backend();
        let result = self
            .db
            .execute_raw(statement(
                backend,
                &format!("UPDATE idempotency_keys SET response = ? {HELD_BY_CLAIM}"),
                [response.into()].into_iter().chain(claim_values(claim)),
            ))
            .await
            .map_err(map_db_error);
        self.shared.settled.notify_waiters();
        result.map(|done| done.rows_affected() == 1)
    }

    /// Gives up the key `claim` holds, after a failure a retry may fix. When nothing was appended
    /// under the claim the row is removed, so that the next attempt runs again. When something
    /// was (an append committed although its answer was lost, or a document with several
    /// mutations failed after the first), running again would apply it twice: the row is left
    /// with its indexes and its heartbeat stopped, so that the next attempt recovers it at once
    /// as [`KeyClaim::Landed`]. Does nothing once the key was taken over or settled.
    ///
    /// # Errors
    /// When the database fails.
    #[tracing::instrument(skip_all)]
    pub async fn release(&self, claim: &IdempotencyClaim) -> Result<(), StoreError> {
        let result = self.release_or_abandon(claim).await;
        self.shared.settled.notify_waiters();
        result
    }

    async fn release_or_abandon(&self, claim: &IdempotencyClaim) -> Result<(), StoreError> {
        let backend = self.db.get_database_backend();
        let deleted = self
            .db
            .execute_raw(statement(
                backend,
                &format!("DELETE FROM idempotency_keys {HELD_BY_CLAIM} AND first_index IS NULL"),
                claim_values(claim),
            ))
            .await
            .map_err(map_db_error)?;
        if deleted.rows_affected() == 0 {
            let abandoned = self
                .db
                .execute_raw(statement(
                    backend,
                    &format!("UPDATE idempotency_keys SET heartbeat_at = 0 {HELD_BY_CLAIM}"),
                    claim_values(claim),
                ))
                .await
                .map_err(map_db_error)?;
            if abandoned.rows_affected() == 1 {
                tracing::warn!(
                    subject = claim.subject,
                    "a failed idempotent request had appended events: its key is left to be \
                     answered as landed"
                );
            }
        }
        Ok(())
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

    /// Inserts the pending row held by `claim`; `false` when the key is already there.
    async fn insert_pending(
        &self,
        claim: &IdempotencyClaim,
        hash: &str,
        request_id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let backend = self.db.get_database_backend();
        let result = self
            .db
            .execute_raw(statement(
                backend,
                "INSERT INTO idempotency_keys (subject, \"key\", request_hash, response, \
                 created_at, request_id, heartbeat_at, claim_token) \
                 VALUES (?, ?, ?, NULL, ?, ?, ?, ?) ON CONFLICT (subject, \"key\") DO NOTHING",
                vec![
                    claim.subject.clone().into(),
                    claim.key.clone().into(),
                    hash.into(),
                    now.into(),
                    request_id.into(),
                    now.into(),
                    claim.token.to_string().into(),
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
                "SELECT request_hash, response, created_at, request_id, heartbeat_at, \
                 claim_token, first_index, last_index \
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
                claim_token: row.try_get_by_index(5).map_err(map_db_error)?,
                first_index: row.try_get_by_index(6).map_err(map_db_error)?,
                last_index: row.try_get_by_index(7).map_err(map_db_error)?,
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

/// Records, inside an append's transaction (`txn`, under the log's write lock), that the events
/// `first_index..=last_index` were appended under `claim`: keeps the first index recorded under
/// the claim, moves the last. Called by the event store before it writes the events.
///
/// # Errors
/// [`StoreError::IdempotencyKeyTakenOver`] when the key no longer holds the claim's token (a
/// retry took it over) or was settled: the caller must append nothing. Database failures.
pub(crate) async fn record_append<C: ConnectionTrait>(
    txn: &C,
    claim: &IdempotencyClaim,
    first_index: u64,
    last_index: u64,
) -> Result<(), StoreError> {
    let index = |value: u64| {
        i64::try_from(value).map_err(|_| StoreError::internal(format!("{value} exceeds BIGINT")))
    };
    let recorded = txn
        .execute_raw(statement(
            txn.get_database_backend(),
            &format!(
                "UPDATE idempotency_keys SET first_index = COALESCE(first_index, ?), \
                 last_index = ? {HELD_BY_CLAIM}"
            ),
            [index(first_index)?.into(), index(last_index)?.into()]
                .into_iter()
                .chain(claim_values(claim)),
        ))
        .await
        .map_err(map_internal_db_error)?;
    if recorded.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::IdempotencyKeyTakenOver)
    }
}

/// Whether the key of `claim` still holds its token and is not settled: what
/// [`record_append`] requires, read without writing (for an append refused for another reason).
pub(crate) async fn holds_claim<C: ConnectionTrait>(
    txn: &C,
    claim: &IdempotencyClaim,
) -> Result<bool, StoreError> {
    let row = txn
        .query_one_raw(statement(
            txn.get_database_backend(),
            &format!("SELECT 1 FROM idempotency_keys {HELD_BY_CLAIM}"),
            claim_values(claim),
        ))
        .await
        .map_err(map_internal_db_error)?;
    Ok(row.is_some())
}

/// The port, for the API: each method is the inherent one of the same name.
impl IdempotencyKeys for IdempotencyStore {
    fn claim<'a>(&'a self, request: KeyRequest<'a>) -> BoxFuture<'a, Result<KeyClaim, StoreError>> {
        Box::pin(IdempotencyStore::claim(self, request))
    }

    fn heartbeat<'a>(
        &'a self,
        claim: &'a IdempotencyClaim,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(IdempotencyStore::heartbeat(self, claim))
    }

    fn complete<'a>(
        &'a self,
        claim: &'a IdempotencyClaim,
        response: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(IdempotencyStore::complete(self, claim, response))
    }

    fn release<'a>(&'a self, claim: &'a IdempotencyClaim) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(IdempotencyStore::release(self, claim))
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
        let digest = Sha256::digest(amanah_audit::jcs::to_canonical(&request).unwrap());
        let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
        assert_eq!(request_hash(&request), hex);
    }
}
