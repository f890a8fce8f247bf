//! The idempotency-key table against real databases: one claim wins, retries replay, a changed
//! request is a mismatch, released and expired keys run again, and fifty concurrent claims of one
//! key run exactly once. Recovery from a dead holder reads the key alone: the indexes its appends
//! recorded there (never the request id, which the client chooses), and a holder whose key was
//! taken over can append nothing more. Every scenario runs on SQLite and on PostgreSQL.
#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

use std::time::Duration;

use amanah_domain::fakes::check_idempotency_keys;
use amanah_domain::ports::{
    Actor, AppendOutcome, AppendRequest, EventStore as _, IdempotencyClaim, StoreError,
};
use amanah_domain::ports::{KeyClaim, KeyRequest};
use amanah_infra::SqlEventStore;
use amanah_infra::store::idempotency::{IdempotencyStore, STALE_AFTER};
use amanah_infra::testing::{TestDatabase, event, organisation_append};
use sea_orm::ConnectionTrait;
use serde_json::json;
use uuid::Uuid;

amanah_infra::on_both_engines!(
    the_first_claim_runs_and_retries_replay,
    a_released_key_runs_again,
    an_expired_key_runs_again_and_purge_removes_old_keys,
    fifty_concurrent_claims_run_once,
    a_live_holder_keeps_its_key,
    a_key_whose_holder_died_before_appending_is_taken_over,
    a_key_whose_holder_died_after_appending_is_answered_as_landed,
    a_request_id_shared_with_a_key_that_landed_does_not_make_another_key_landed,
    a_holder_whose_key_was_taken_over_cannot_append_or_settle_it,
    every_append_under_a_claim_is_recorded_first_kept_last_moved,
    an_append_that_fails_records_nothing,
    a_failed_request_that_had_appended_is_answered_as_landed_at_once,
    a_pending_key_from_before_claim_tokens_waits_until_it_expires,
    a_takeover_racing_the_holders_append_agrees_with_it,
    the_store_keeps_the_rules_the_in_memory_fake_keeps,
);

const DAY: Duration = Duration::from_secs(24 * 3600);

/// `store.claim` of (subject, key, hash, request_id) with a day's time to live, waiting `wait`.
async fn claim(
    store: &IdempotencyStore,
    subject: &str,
    key: &str,
    hash: &str,
    request_id: &str,
    wait: Duration,
) -> KeyClaim {
    store
        .claim(KeyRequest {
            subject,
            key,
            hash,
            request_id,
            ttl: DAY,
            wait,
        })
        .await
        .unwrap()
}
const NO_WAIT: Duration = Duration::ZERO;

/// The claim a [`KeyClaim::Run`] holds; fails the test on any other outcome.
#[track_caller]
fn held(claim: KeyClaim) -> IdempotencyClaim {
    match claim {
        KeyClaim::Run(held) => held,
        other => panic!("expected KeyClaim::Run, got {other:?}"),
    }
}

/// An organisation registered (and revised, `events - 1` times) under `claim`, with `request_id`.
fn append_under(
    claim: Option<&IdempotencyClaim>,
    events: usize,
    request_id: &str,
) -> AppendRequest {
    let types = ["OrganisationRegistered"]
        .into_iter()
        .chain(std::iter::repeat("OrganisationRevised"))
        .take(events);
    AppendRequest {
        idempotency_claim: claim.cloned(),
        ..organisation_append(
            Uuid::now_v7(),
            0,
            types.map(|t| event(t, json!({}))).collect(),
            Actor::system("alice"),
            Some(request_id.to_owned()),
        )
    }
}

/// The same sequence of calls as the fake's own test ([`check_idempotency_keys`]), through the
/// port: the fake the API's tests may use behaves as this store does.
async fn the_store_keeps_the_rules_the_in_memory_fake_keeps(database: &TestDatabase) {
    let store = IdempotencyStore::new(database.connection().clone());
    if let Err(broken) = check_idempotency_keys(&store, "alice").await {
        panic!("{broken}");
    }
}

async fn the_first_claim_runs_and_retries_replay(database: &TestDatabase) {
    let store = IdempotencyStore::new(database.connection().clone());
    let first = held(claim(&store, "alice", "k1", "hash-a", "request-1", NO_WAIT).await);
    // Pending: the same request waits, and gives up after the wait.
    assert_eq!(
        claim(&store, "alice", "k1", "hash-a", "request-1", NO_WAIT).await,
        KeyClaim::InProgress
    );
    // A different request under the same key is refused even while pending.
    assert_eq!(
        claim(&store, "alice", "k1", "hash-b", "request-1", NO_WAIT).await,
        KeyClaim::Mismatch
    );
    let response = json!({ "data": { "registerOrganisation": { "auditIndex": 7 } } });
    assert!(store.complete(&first, &response.to_string()).await.unwrap());
    assert_eq!(
        claim(&store, "alice", "k1", "hash-a", "request-1", NO_WAIT).await,
        KeyClaim::Replay(response.to_string())
    );
    assert_eq!(
        claim(&store, "alice", "k1", "hash-b", "request-1", NO_WAIT).await,
        KeyClaim::Mismatch
    );
    // Keys belong to their subject.
    let bob = held(claim(&store, "bob", "k1", "hash-b", "request-1", NO_WAIT).await);
    assert_ne!(
        bob.token, first.token,
        "every claim gets a token of its own"
    );
    // A second completion does not overwrite the first response.
    assert!(
        !store
            .complete(&first, &json!({ "data": null }).to_string())
            .await
            .unwrap()
    );
    assert_eq!(
        claim(&store, "alice", "k1", "hash-a", "request-1", NO_WAIT).await,
        KeyClaim::Replay(response.to_string())
    );
}

async fn a_released_key_runs_again(database: &TestDatabase) {
    let store = IdempotencyStore::new(database.connection().clone());
    let first = held(claim(&store, "alice", "k", "h", "request-1", NO_WAIT).await);
    store.release(&first).await.unwrap();
    let second = held(claim(&store, "alice", "k", "h", "request-1", NO_WAIT).await);
    // The first attempt's claim is gone: releasing it again does not free the second's key.
    store.release(&first).await.unwrap();
    assert_eq!(
        claim(&store, "alice", "k", "h", "request-1", NO_WAIT).await,
        KeyClaim::InProgress
    );
    // A completed key is not released.
    assert!(
        store
            .complete(&second, &json!({ "ok": 1 }).to_string())
            .await
            .unwrap()
    );
    store.release(&second).await.unwrap();
    assert_eq!(
        claim(&store, "alice", "k", "h", "request-1", NO_WAIT).await,
        KeyClaim::Replay(json!({ "ok": 1 }).to_string())
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
    let old = held(claim(&store, "alice", "old", "h1", "request-1", NO_WAIT).await);
    store.complete(&old, &json!(1).to_string()).await.unwrap();
    let kept = held(claim(&store, "alice", "kept", "h1", "request-1", NO_WAIT).await);
    store.complete(&kept, &json!(2).to_string()).await.unwrap();
    age_keys(database, Duration::from_secs(3600)).await;
    // With a one-hour lifetime both are expired: a claim of one runs afresh, even with another
    // request, and the purge removes the other.
    let hour = Duration::from_secs(3599);
    let old = held(
        store
            .claim(KeyRequest {
                subject: "alice",
                key: "old",
                hash: "h2",
                request_id: "request-1",
                ttl: hour,
                wait: NO_WAIT,
            })
            .await
            .unwrap(),
    );
    assert_eq!(store.purge_expired(hour).await.unwrap(), 1);
    held(
        store
            .claim(KeyRequest {
                subject: "alice",
                key: "kept",
                hash: "h2",
                request_id: "request-1",
                ttl: hour,
                wait: NO_WAIT,
            })
            .await
            .unwrap(),
    );
    // With the default day, nothing of that age is expired.
    store.complete(&old, &json!(3).to_string()).await.unwrap();
    age_keys(database, Duration::from_secs(3600)).await;
    assert_eq!(store.purge_expired(DAY).await.unwrap(), 0);
    assert_eq!(
        claim(&store, "alice", "old", "h2", "request-1", NO_WAIT).await,
        KeyClaim::Replay(json!(3).to_string())
    );
}

async fn fifty_concurrent_claims_run_once(database: &TestDatabase) {
    let store = IdempotencyStore::new(database.connection().clone());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let store = store.clone();
        tasks.spawn(async move {
            let claim = store
                .claim(KeyRequest {
                    subject: "integrator",
                    key: "batch-1",
                    hash: "h",
                    request_id: "request-1",
                    ttl: DAY,
                    wait: Duration::from_secs(30),
                })
                .await
                .unwrap();
            if let KeyClaim::Run(held) = &claim {
                store
                    .complete(held, &json!({ "auditIndex": 0 }).to_string())
                    .await
                    .unwrap();
            }
            claim
        });
    }
    let claims = tasks.join_all().await;
    let runs = claims
        .iter()
        .filter(|c| matches!(c, KeyClaim::Run(_)))
        .count();
    let replays = claims
        .iter()
        .filter(|c| **c == KeyClaim::Replay(json!({ "auditIndex": 0 }).to_string()))
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
const RACE_WAIT: Duration = Duration::from_secs(20);

async fn a_live_holder_keeps_its_key(database: &TestDatabase) {
    let store = IdempotencyStore::new(database.connection().clone());
    let holder = held(claim(&store, "alice", "k", "h", "first", NO_WAIT).await);
    // Older than the staleness limit, but the holder's heartbeat is fresh: still in progress.
    stop_heartbeats(database, STALE_AFTER * 2).await;
    store.heartbeat(&holder).await.unwrap();
    assert_eq!(
        claim(&store, "alice", "k", "h", "second", WAIT).await,
        KeyClaim::InProgress
    );
    // A heartbeat under any other claim changes nothing, even with the holder's request id.
    stop_heartbeats(database, STALE_AFTER * 2).await;
    let intruder = IdempotencyClaim {
        token: Uuid::now_v7(),
        ..holder.clone()
    };
    store.heartbeat(&intruder).await.unwrap();
    let taker = held(claim(&store, "alice", "k", "h", "first", NO_WAIT).await);
    assert_ne!(
        taker.token, holder.token,
        "the holder's heartbeat stopped: the key is taken over under a new token"
    );
}

async fn a_key_whose_holder_died_before_appending_is_taken_over(database: &TestDatabase) {
    let store = IdempotencyStore::new(database.connection().clone());
    held(claim(&store, "alice", "k", "h", "dead", NO_WAIT).await);
    // Within the staleness limit a retry waits and is told the first is in progress.
    assert_eq!(
        claim(&store, "alice", "k", "h", "retry-1", WAIT).await,
        KeyClaim::InProgress
    );
    stop_heartbeats(database, STALE_AFTER + Duration::from_secs(1)).await;
    // Exactly one of several concurrent retries takes the key over.
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..8 {
        let store = store.clone();
        tasks.spawn(async move {
            store
                .claim(KeyRequest {
                    subject: "alice",
                    key: "k",
                    hash: "h",
                    request_id: &format!("retry-{n}"),
                    ttl: DAY,
                    wait: NO_WAIT,
                })
                .await
                .unwrap()
        });
    }
    let claims = tasks.join_all().await;
    assert_eq!(
        claims
            .iter()
            .filter(|c| matches!(c, KeyClaim::Run(_)))
            .count(),
        1,
        "{claims:?}"
    );
    assert!(
        claims
            .iter()
            .all(|c| matches!(c, KeyClaim::Run(_) | KeyClaim::InProgress))
    );
    // A changed request is still a mismatch, dead holder or not.
    stop_heartbeats(database, STALE_AFTER * 2).await;
    assert_eq!(
        claim(&store, "alice", "k", "other", "x", NO_WAIT).await,
        KeyClaim::Mismatch
    );
}

async fn a_key_whose_holder_died_after_appending_is_answered_as_landed(database: &TestDatabase) {
    let store = IdempotencyStore::new(database.connection().clone());
    let events = database.store();
    let dead = held(claim(&store, "alice", "k", "h", "landed-then-died", NO_WAIT).await);
    // The holder appends two events under its claim, then dies before `complete`.
    let outcome = events
        .append(append_under(Some(&dead), 2, "landed-then-died"))
        .await
        .unwrap();
    stop_heartbeats(database, STALE_AFTER * 2).await;
    let KeyClaim::Landed {
        first_index,
        last_index,
        claim: retry,
    } = claim(&store, "alice", "k", "h", "retry", NO_WAIT).await
    else {
        panic!("the retry of a landed request must be told it landed");
    };
    assert_eq!(
        (first_index, last_index),
        (outcome.first_index, outcome.last_index)
    );
    // The retry that was told holds the key until it stores its answer; then it is replayed.
    assert_eq!(
        claim(&store, "alice", "k", "h", "retry-2", NO_WAIT).await,
        KeyClaim::InProgress
    );
    let answer = json!({ "landed": outcome.last_index });
    assert!(
        !store
            .complete(&dead, &json!("late").to_string())
            .await
            .unwrap()
    );
    assert!(store.complete(&retry, &answer.to_string()).await.unwrap());
    assert_eq!(
        claim(&store, "alice", "k", "h", "retry-3", NO_WAIT).await,
        KeyClaim::Replay(answer.to_string())
    );
}

/// Issue 9, item 5: a client sent many keyed mutations under one `X-Request-Id`. Before, the
/// recovery of a dead holder looked for events carrying its request id, found another key's,
/// and answered "applied before" for a change that was never appended.
async fn a_request_id_shared_with_a_key_that_landed_does_not_make_another_key_landed(
    database: &TestDatabase,
) {
    let store = IdempotencyStore::new(database.connection().clone());
    let events = database.store();
    let never_appended = held(claim(&store, "alice", "dead", "h1", "shared", NO_WAIT).await);
    let landed = held(claim(&store, "alice", "alive", "h2", "shared", NO_WAIT).await);
    // The other key's request appends under the same request id, and answers.
    let outcome = events
        .append(append_under(Some(&landed), 1, "shared"))
        .await
        .unwrap();
    assert!(
        store
            .complete(&landed, &json!({ "ok": 1 }).to_string())
            .await
            .unwrap()
    );
    // The first holder dies without appending anything.
    stop_heartbeats(database, STALE_AFTER * 2).await;
    let retry = held(claim(&store, "alice", "dead", "h1", "shared", NO_WAIT).await);
    assert_ne!(retry.token, never_appended.token);
    // The retry runs and appends; the log holds both changes exactly once.
    let retried = events
        .append(append_under(Some(&retry), 1, "shared"))
        .await
        .unwrap();
    assert_eq!(retried.first_index, outcome.last_index + 1);
    assert_eq!(events.size().await.unwrap(), 2);
}

async fn a_holder_whose_key_was_taken_over_cannot_append_or_settle_it(database: &TestDatabase) {
    let store = IdempotencyStore::new(database.connection().clone());
    let events = database.store();
    events
        .append(append_under(None, 1, "unkeyed"))
        .await
        .unwrap();
    let stalled = held(claim(&store, "alice", "k", "h", "stalled", NO_WAIT).await);
    stop_heartbeats(database, STALE_AFTER * 2).await;
    let retry = held(claim(&store, "alice", "k", "h", "retry", NO_WAIT).await);

    // The stalled holder wakes up: its append fails and appends nothing.
    assert_eq!(
        events
            .append(append_under(Some(&stalled), 2, "stalled"))
            .await,
        Err(StoreError::IdempotencyKeyTakenOver)
    );
    assert_eq!(events.size().await.unwrap(), 1, "the log is unchanged");
    assert_eq!(
        events.stats().appended_requests,
        1,
        "only the unkeyed append"
    );
    // Nor can it settle the key the retry holds.
    assert!(
        !store
            .complete(&stalled, &json!("stale").to_string())
            .await
            .unwrap()
    );
    store.release(&stalled).await.unwrap();
    assert_eq!(
        claim(&store, "alice", "k", "h", "third", NO_WAIT).await,
        KeyClaim::InProgress
    );
    // The retry appends and answers as usual.
    let outcome = events
        .append(append_under(Some(&retry), 1, "retry"))
        .await
        .unwrap();
    assert_eq!(outcome.first_index, 1);
    assert!(
        store
            .complete(&retry, &json!("done").to_string())
            .await
            .unwrap()
    );
    // Once settled, the key takes no more appends, even from its last holder.
    assert_eq!(
        events.append(append_under(Some(&retry), 1, "retry")).await,
        Err(StoreError::IdempotencyKeyTakenOver)
    );
    // A claim that never held a key appends nothing either.
    let unknown = IdempotencyClaim {
        subject: "alice".to_owned(),
        key: "never-claimed".to_owned(),
        token: Uuid::now_v7(),
    };
    assert_eq!(
        events.append(append_under(Some(&unknown), 1, "x")).await,
        Err(StoreError::IdempotencyKeyTakenOver)
    );
    assert_eq!(events.size().await.unwrap(), 2);
}

async fn every_append_under_a_claim_is_recorded_first_kept_last_moved(database: &TestDatabase) {
    let store = IdempotencyStore::new(database.connection().clone());
    let events = database.store();
    let holder = held(claim(&store, "alice", "k", "h", "document", NO_WAIT).await);
    // A document with three mutation fields, and another request's append in between.
    let first = events
        .append(append_under(Some(&holder), 2, "document"))
        .await
        .unwrap();
    events
        .append(append_under(None, 1, "document"))
        .await
        .unwrap();
    events
        .append(append_under(Some(&holder), 1, "document"))
        .await
        .unwrap();
    let last = events
        .append(append_under(Some(&holder), 3, "document"))
        .await
        .unwrap();
    stop_heartbeats(database, STALE_AFTER * 2).await;
    assert!(matches!(
        claim(&store, "alice", "k", "h", "retry", NO_WAIT).await,
        KeyClaim::Landed { first_index, last_index, .. }
            if (first_index, last_index) == (first.first_index, last.last_index)
    ));
    assert_eq!((first.first_index, last.last_index), (0, 6));
}

async fn an_append_that_fails_records_nothing(database: &TestDatabase) {
    let store = IdempotencyStore::new(database.connection().clone());
    let events = database.store();
    let holder = held(claim(&store, "alice", "k", "h", "conflicted", NO_WAIT).await);
    // Under the claim, but at a stale version: the append fails after the claim was checked.
    let stale = AppendRequest {
        expected_version: 3,
        ..append_under(Some(&holder), 1, "conflicted")
    };
    assert!(matches!(
        events.append(stale).await,
        Err(StoreError::Conflict { .. })
    ));
    stop_heartbeats(database, STALE_AFTER * 2).await;
    held(claim(&store, "alice", "k", "h", "retry", NO_WAIT).await);
}

async fn a_failed_request_that_had_appended_is_answered_as_landed_at_once(database: &TestDatabase) {
    let store = IdempotencyStore::new(database.connection().clone());
    let events = database.store();
    let holder = held(claim(&store, "alice", "k", "h", "partial", NO_WAIT).await);
    // Its first mutation appended; a later one failed internally: running it again would apply
    // the first twice.
    let outcome = events
        .append(append_under(Some(&holder), 1, "partial"))
        .await
        .unwrap();
    store.release(&holder).await.unwrap();
    assert!(matches!(
        claim(&store, "alice", "k", "h", "retry", NO_WAIT).await,
        KeyClaim::Landed { first_index, last_index, .. }
            if (first_index, last_index) == (outcome.first_index, outcome.last_index)
    ));
}

async fn a_pending_key_from_before_claim_tokens_waits_until_it_expires(database: &TestDatabase) {
    let store = IdempotencyStore::new(database.connection().clone());
    held(claim(&store, "alice", "k", "h", "old-release", NO_WAIT).await);
    // As m0007 found it: pending, no token, whatever its request id says.
    database
        .connection()
        .execute_unprepared("UPDATE idempotency_keys SET claim_token = NULL")
        .await
        .unwrap();
    stop_heartbeats(database, STALE_AFTER * 2).await;
    assert_eq!(
        claim(&store, "alice", "k", "h", "retry", NO_WAIT).await,
        KeyClaim::InProgress
    );
    let hour = Duration::from_secs(3600);
    age_keys(database, hour).await;
    assert!(matches!(
        store
            .claim(KeyRequest {
                subject: "alice",
                key: "k",
                hash: "h",
                request_id: "retry",
                ttl: hour,
                wait: NO_WAIT
            })
            .await
            .unwrap(),
        KeyClaim::Run(_)
    ));
}

/// Many keys whose holders look dead, each holder appending while a retry recovers its key:
/// whichever commits first, the retry's answer agrees with the log.
async fn a_takeover_racing_the_holders_append_agrees_with_it(database: &TestDatabase) {
    let store = IdempotencyStore::new(database.connection().clone());
    let events: SqlEventStore = database.store();
    let keys = 12;
    let mut holders = Vec::new();
    for n in 0..keys {
        let key = format!("k{n}");
        holders.push(held(
            claim(&store, "alice", &key, "h", "shared", NO_WAIT).await,
        ));
    }
    stop_heartbeats(database, STALE_AFTER * 2).await;
    let mut races = tokio::task::JoinSet::new();
    for holder in holders {
        let (store, events) = (store.clone(), events.clone());
        races.spawn(async move {
            let append = events.append(append_under(Some(&holder), 1, "shared"));
            // A retry that loses its compare-and-set to the append reads the key again (on
            // PostgreSQL it first waits for the append's batch to commit: a generous wait).
            let retry = store.claim(KeyRequest {
                subject: "alice",
                key: &holder.key,
                hash: "h",
                request_id: "shared",
                ttl: DAY,
                wait: RACE_WAIT,
            });
            let (appended, retried) = tokio::join!(append, retry);
            (appended, retried.unwrap())
        });
    }
    let mut landed = 0;
    for (appended, retried) in races.join_all().await {
        match (appended, retried) {
            (
                Ok(AppendOutcome {
                    first_index,
                    last_index,
                    ..
                }),
                KeyClaim::Landed {
                    first_index: first,
                    last_index: last,
                    ..
                },
            ) => {
                assert_eq!((first, last), (first_index, last_index));
                landed += 1;
            }
            (Err(StoreError::IdempotencyKeyTakenOver), KeyClaim::Run(_)) => {}
            other => panic!("the retry disagrees with the log: {other:?}"),
        }
    }
    assert_eq!(events.size().await.unwrap(), landed);
}
