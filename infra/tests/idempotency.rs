//! The idempotency-key table against real databases: one claim wins, retries replay, a changed
//! request is a mismatch, released and expired keys run again, and fifty concurrent claims of one
//! key run exactly once. Every scenario runs on SQLite and on PostgreSQL.
#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

use std::time::Duration;

use amanah_infra::idempotency::{Claim, IdempotencyStore, STALE_AFTER};
use amanah_infra::testing::TestDatabase;
use sea_orm::ConnectionTrait;
use serde_json::json;

amanah_infra::on_both_engines!(
    the_first_claim_runs_and_retries_replay,
    a_released_key_runs_again,
    an_expired_key_runs_again_and_purge_removes_old_keys,
    fifty_concurrent_claims_run_once,
    a_live_holder_keeps_its_key,
    a_key_whose_holder_died_before_appending_is_taken_over,
    a_key_whose_holder_died_after_appending_is_answered_as_landed,
);

const DAY: Duration = Duration::from_secs(24 * 3600);

/// `store.claim(subject, key, hash, request_id)` with a day's time to live, waiting `wait`.
async fn claim(
    store: &IdempotencyStore,
    subject: &str,
    key: &str,
    hash: &str,
    request_id: &str,
    wait: Duration,
) -> Claim {
    store
        .claim(subject, key, hash, request_id, DAY, wait)
        .await
        .unwrap()
}
const NO_WAIT: Duration = Duration::ZERO;

async fn the_first_claim_runs_and_retries_replay(database: &TestDatabase) {
    let store = IdempotencyStore::new(database.connection().clone());
    assert_eq!(
        claim(&store, "alice", "k1", "hash-a", "request-1", NO_WAIT).await,
        Claim::Run
    );
    // Pending: the same request waits, and gives up after the wait.
    assert_eq!(
        claim(&store, "alice", "k1", "hash-a", "request-1", NO_WAIT).await,
        Claim::InProgress
    );
    // A different request under the same key is refused even while pending.
    assert_eq!(
        claim(&store, "alice", "k1", "hash-b", "request-1", NO_WAIT).await,
        Claim::Mismatch
    );
    let response = json!({ "data": { "registerOrganisation": { "auditIndex": 7 } } });
    store.complete("alice", "k1", &response).await.unwrap();
    assert_eq!(
        claim(&store, "alice", "k1", "hash-a", "request-1", NO_WAIT).await,
        Claim::Replay(response.clone())
    );
    assert_eq!(
        claim(&store, "alice", "k1", "hash-b", "request-1", NO_WAIT).await,
        Claim::Mismatch
    );
    // Keys belong to their subject.
    assert_eq!(
        claim(&store, "bob", "k1", "hash-b", "request-1", NO_WAIT).await,
        Claim::Run
    );
    // A second completion does not overwrite the first response.
    store
        .complete("alice", "k1", &json!({ "data": null }))
        .await
        .unwrap();
    assert_eq!(
        claim(&store, "alice", "k1", "hash-a", "request-1", NO_WAIT).await,
        Claim::Replay(response)
    );
}

async fn a_released_key_runs_again(database: &TestDatabase) {
    let store = IdempotencyStore::new(database.connection().clone());
    assert_eq!(
        claim(&store, "alice", "k", "h", "request-1", NO_WAIT).await,
        Claim::Run
    );
    store.release("alice", "k").await.unwrap();
    assert_eq!(
        claim(&store, "alice", "k", "h", "request-1", NO_WAIT).await,
        Claim::Run
    );
    // A completed key is not released.
    store
        .complete("alice", "k", &json!({ "ok": 1 }))
        .await
        .unwrap();
    store.release("alice", "k").await.unwrap();
    assert_eq!(
        claim(&store, "alice", "k", "h", "request-1", NO_WAIT).await,
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
        claim(&store, "alice", "old", "h1", "request-1", NO_WAIT).await,
        Claim::Run
    );
    store.complete("alice", "old", &json!(1)).await.unwrap();
    assert_eq!(
        claim(&store, "alice", "kept", "h1", "request-1", NO_WAIT).await,
        Claim::Run
    );
    store.complete("alice", "kept", &json!(2)).await.unwrap();
    age_keys(database, Duration::from_secs(3600)).await;
    // With a one-hour lifetime both are expired: a claim of one runs afresh, even with another
    // request, and the purge removes the other.
    let hour = Duration::from_secs(3599);
    assert_eq!(
        store
            .claim("alice", "old", "h2", "request-1", hour, NO_WAIT)
            .await
            .unwrap(),
        Claim::Run
    );
    assert_eq!(store.purge_expired(hour).await.unwrap(), 1);
    assert_eq!(
        store
            .claim("alice", "kept", "h2", "request-1", hour, NO_WAIT)
            .await
            .unwrap(),
        Claim::Run
    );
    // With the default day, nothing of that age is expired.
    store.complete("alice", "old", &json!(3)).await.unwrap();
    age_keys(database, Duration::from_secs(3600)).await;
    assert_eq!(store.purge_expired(DAY).await.unwrap(), 0);
    assert_eq!(
        claim(&store, "alice", "old", "h2", "request-1", NO_WAIT).await,
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
                .claim(
                    "integrator",
                    "batch-1",
                    "h",
                    "request-1",
                    DAY,
                    Duration::from_secs(30),
                )
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

/// Stops the heartbeat of every pending key `age` ago (its holder died then).
async fn stop_heartbeats(database: &TestDatabase, age: Duration) {
    let micros = i64::try_from(age.as_micros()).unwrap();
    database
        .connection()
        .execute_unprepared(&format!(
            "UPDATE idempotency_keys SET heartbeat_at = heartbeat_at - {micros}, \
             created_at = created_at - {micros} WHERE response IS NULL"
        ))
        .await
        .unwrap();
}

const WAIT: Duration = Duration::from_millis(200);

async fn a_live_holder_keeps_its_key(database: &TestDatabase) {
    let store = IdempotencyStore::new(database.connection().clone());
    assert_eq!(
        claim(&store, "alice", "k", "h", "first", NO_WAIT).await,
        Claim::Run
    );
    // Older than the staleness limit, but the holder's heartbeat is fresh: still in progress.
    stop_heartbeats(database, STALE_AFTER * 2).await;
    store.heartbeat("alice", "k", "first").await.unwrap();
    assert_eq!(
        claim(&store, "alice", "k", "h", "second", WAIT).await,
        Claim::InProgress
    );
    // A heartbeat from anyone but the holder changes nothing.
    stop_heartbeats(database, STALE_AFTER * 2).await;
    store.heartbeat("alice", "k", "intruder").await.unwrap();
    assert_eq!(
        claim(&store, "alice", "k", "h", "second", NO_WAIT).await,
        Claim::Run,
        "the holder's heartbeat stopped: the key is taken over"
    );
}

async fn a_key_whose_holder_died_before_appending_is_taken_over(database: &TestDatabase) {
    let store = IdempotencyStore::new(database.connection().clone());
    assert_eq!(
        claim(&store, "alice", "k", "h", "dead", NO_WAIT).await,
        Claim::Run
    );
    // Within the staleness limit a retry waits and is told the first is in progress.
    assert_eq!(
        claim(&store, "alice", "k", "h", "retry-1", WAIT).await,
        Claim::InProgress
    );
    stop_heartbeats(database, STALE_AFTER + Duration::from_secs(1)).await;
    // Exactly one of several concurrent retries takes the key over.
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..8 {
        let store = store.clone();
        tasks.spawn(async move {
            store
                .claim("alice", "k", "h", &format!("retry-{n}"), DAY, NO_WAIT)
                .await
                .unwrap()
        });
    }
    let claims = tasks.join_all().await;
    assert_eq!(
        claims.iter().filter(|c| **c == Claim::Run).count(),
        1,
        "{claims:?}"
    );
    assert!(
        claims
            .iter()
            .all(|c| matches!(c, Claim::Run | Claim::InProgress))
    );
    // A changed request is still a mismatch, dead holder or not.
    stop_heartbeats(database, STALE_AFTER * 2).await;
    assert_eq!(
        claim(&store, "alice", "k", "other", "x", NO_WAIT).await,
        Claim::Mismatch
    );
}

async fn a_key_whose_holder_died_after_appending_is_answered_as_landed(database: &TestDatabase) {
    use amanah_domain::ports::{Actor, EventStore as _};
    use amanah_infra::testing::{event, organisation_append};

    let store = IdempotencyStore::new(database.connection().clone());
    assert_eq!(
        claim(&store, "alice", "k", "h", "landed-then-died", NO_WAIT).await,
        Claim::Run
    );
    // The holder appends two events under its request id, then dies before `complete`.
    let events = database.store();
    let outcome = events
        .append(organisation_append(
            uuid::Uuid::now_v7(),
            0,
            vec![
                event("OrganisationRegistered", json!({})),
                event("OrganisationRevised", json!({})),
            ],
            Actor::system("alice"),
            Some("landed-then-died".to_owned()),
        ))
        .await
        .unwrap();
    stop_heartbeats(database, STALE_AFTER * 2).await;
    let landed = Claim::Landed {
        first_index: outcome.first_index,
        last_index: outcome.last_index,
    };
    assert_eq!(
        claim(&store, "alice", "k", "h", "retry", NO_WAIT).await,
        landed
    );
    // Until the answer is stored every retry is told the same; then it is replayed.
    assert_eq!(
        claim(&store, "alice", "k", "h", "retry-2", NO_WAIT).await,
        landed
    );
    store
        .complete("alice", "k", &json!({ "landed": outcome.last_index }))
        .await
        .unwrap();
    assert_eq!(
        claim(&store, "alice", "k", "h", "retry-3", NO_WAIT).await,
        Claim::Replay(json!({ "landed": outcome.last_index }))
    );
}
