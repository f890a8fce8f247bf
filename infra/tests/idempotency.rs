//! The idempotency-key table against real databases: one claim wins, retries replay, a changed
//! request is a mismatch, released and expired keys run again, and fifty concurrent claims of one
//! key run exactly once. Every scenario runs on SQLite and on PostgreSQL.
#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

use std::time::Duration;

use amanah_infra::idempotency::{Claim, IdempotencyStore};
use amanah_infra::testing::TestDatabase;
use sea_orm::ConnectionTrait;
use serde_json::json;

macro_rules! on_both_engines {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            use amanah_infra::testing::TestDatabase;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let database = TestDatabase::sqlite().await;
                super::$scenario(&database).await;
                database.cleanup().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(database) = TestDatabase::postgres().await else {
                    return;
                };
                super::$scenario(&database).await;
                database.cleanup().await;
            }
        }
    )*};
}

on_both_engines!(
    the_first_claim_runs_and_retries_replay,
    a_released_key_runs_again,
    an_expired_key_runs_again_and_purge_removes_old_keys,
    fifty_concurrent_claims_run_once,
);

const DAY: Duration = Duration::from_secs(24 * 3600);
const NO_WAIT: Duration = Duration::ZERO;

async fn the_first_claim_runs_and_retries_replay(database: &TestDatabase) {
    let store = IdempotencyStore::new(database.connection().clone());
    assert_eq!(
        store
            .claim("alice", "k1", "hash-a", DAY, NO_WAIT)
            .await
            .unwrap(),
        Claim::Run
    );
    // Pending: the same request waits, and gives up after the wait.
    assert_eq!(
        store
            .claim("alice", "k1", "hash-a", DAY, NO_WAIT)
            .await
            .unwrap(),
        Claim::InProgress
    );
    // A different request under the same key is refused even while pending.
    assert_eq!(
        store
            .claim("alice", "k1", "hash-b", DAY, NO_WAIT)
            .await
            .unwrap(),
        Claim::Mismatch
    );
    let response = json!({ "data": { "registerOrganisation": { "auditIndex": 7 } } });
    store.complete("alice", "k1", &response).await.unwrap();
    assert_eq!(
        store
            .claim("alice", "k1", "hash-a", DAY, NO_WAIT)
            .await
            .unwrap(),
        Claim::Replay(response.clone())
    );
    assert_eq!(
        store
            .claim("alice", "k1", "hash-b", DAY, NO_WAIT)
            .await
            .unwrap(),
        Claim::Mismatch
    );
    // Keys belong to their subject.
    assert_eq!(
        store
            .claim("bob", "k1", "hash-b", DAY, NO_WAIT)
            .await
            .unwrap(),
        Claim::Run
    );
    // A second completion does not overwrite the first response.
    store
        .complete("alice", "k1", &json!({ "data": null }))
        .await
        .unwrap();
    assert_eq!(
        store
            .claim("alice", "k1", "hash-a", DAY, NO_WAIT)
            .await
            .unwrap(),
        Claim::Replay(response)
    );
}

async fn a_released_key_runs_again(database: &TestDatabase) {
    let store = IdempotencyStore::new(database.connection().clone());
    assert_eq!(
        store.claim("alice", "k", "h", DAY, NO_WAIT).await.unwrap(),
        Claim::Run
    );
    store.release("alice", "k").await.unwrap();
    assert_eq!(
        store.claim("alice", "k", "h", DAY, NO_WAIT).await.unwrap(),
        Claim::Run
    );
    // A completed key is not released.
    store
        .complete("alice", "k", &json!({ "ok": 1 }))
        .await
        .unwrap();
    store.release("alice", "k").await.unwrap();
    assert_eq!(
        store.claim("alice", "k", "h", DAY, NO_WAIT).await.unwrap(),
        Claim::Replay(json!({ "ok": 1 }))
    );
}

/// Moves every key `age` into the past.
async fn age_keys(database: &TestDatabase, age: Duration) {
    let micros = i64::try_from(age.as_micros()).unwrap();
    database
        .connection()
        .execute_unprepared(&format!(
            "UPDATE idempotency_keys SET created_at = created_at - {micros}"
        ))
        .await
        .unwrap();
}

async fn an_expired_key_runs_again_and_purge_removes_old_keys(database: &TestDatabase) {
    let store = IdempotencyStore::new(database.connection().clone());
    assert_eq!(
        store
            .claim("alice", "old", "h1", DAY, NO_WAIT)
            .await
            .unwrap(),
        Claim::Run
    );
    store.complete("alice", "old", &json!(1)).await.unwrap();
    assert_eq!(
        store
            .claim("alice", "kept", "h1", DAY, NO_WAIT)
            .await
            .unwrap(),
        Claim::Run
    );
    store.complete("alice", "kept", &json!(2)).await.unwrap();
    age_keys(database, Duration::from_secs(3600)).await;
    // With a one-hour lifetime both are expired: a claim of one runs afresh, even with another
    // request, and the purge removes the other.
    let hour = Duration::from_secs(3599);
    assert_eq!(
        store
            .claim("alice", "old", "h2", hour, NO_WAIT)
            .await
            .unwrap(),
        Claim::Run
    );
    assert_eq!(store.purge_expired(hour).await.unwrap(), 1);
    assert_eq!(
        store
            .claim("alice", "kept", "h2", hour, NO_WAIT)
            .await
            .unwrap(),
        Claim::Run
    );
    // With the default day, nothing of that age is expired.
    store.complete("alice", "old", &json!(3)).await.unwrap();
    age_keys(database, Duration::from_secs(3600)).await;
    assert_eq!(store.purge_expired(DAY).await.unwrap(), 0);
    assert_eq!(
        store
            .claim("alice", "old", "h2", DAY, NO_WAIT)
            .await
            .unwrap(),
        Claim::Replay(json!(3))
    );
}

async fn fifty_concurrent_claims_run_once(database: &TestDatabase) {
    let store = IdempotencyStore::new(database.connection().clone());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let store = store.clone();
        tasks.spawn(async move {
            let claim = store
                .claim("integrator", "batch-1", "h", DAY, Duration::from_secs(30))
                .await
                .unwrap();
            if claim == Claim::Run {
                store
                    .complete("integrator", "batch-1", &json!({ "auditIndex": 0 }))
                    .await
                    .unwrap();
            }
            claim
        });
    }
    let claims = tasks.join_all().await;
    let runs = claims.iter().filter(|c| **c == Claim::Run).count();
    let replays = claims
        .iter()
        .filter(|c| **c == Claim::Replay(json!({ "auditIndex": 0 })))
        .count();
    assert_eq!((runs, replays), (1, 49), "{claims:?}");
}
