//! Following the log (the source of the GraphQL subscriptions): every event from an index on, in
//! order, without gaps, whether this process or another replica appended it; and the in-memory
//! audit filter agrees with the SQL one. Every scenario runs on SQLite and on PostgreSQL.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on an unexpected error"
)]

use std::time::Duration;

use amanah_domain::aggregate::StreamKind;
use amanah_domain::ports::{Actor, AppendRequest, AuditEventFilter, EventStore as _, StoredEvent};
use amanah_domain::query::Window;
use amanah_infra::audit::query::audit_events;
use amanah_infra::store::follow::follow;
use amanah_infra::testing::{TestDatabase, event, organisation_append};
use amanah_infra::{NoProjection, SqlEventStore, StoreConfig};
use chrono::{Duration as TimeDelta, Utc};
use futures::{Stream, StreamExt as _};
use serde_json::json;
use uuid::Uuid;

amanah_infra::on_both_engines!(
    a_follower_sees_the_log_then_each_new_event_in_order,
    a_follower_sees_what_another_replica_appends,
    the_in_memory_filter_agrees_with_the_sql_filter,
);

/// How long to wait for one event before the test fails (it never sleeps otherwise).
const TIMEOUT: Duration = Duration::from_secs(10);

fn request(stream_id: Uuid, expected_version: u64, sub: &str, event_type: &str) -> AppendRequest {
    let actor = Actor {
        sub: sub.to_owned(),
        roles: vec!["editor".to_owned()],
        org: None,
    };
    organisation_append(
        stream_id,
        expected_version,
        vec![event(event_type, json!({ "n": expected_version }))],
        actor,
        None,
    )
}

/// Appends `count` events to one new stream; returns their indexes.
async fn append(store: &SqlEventStore, count: u64) -> Vec<u64> {
    let stream_id = Uuid::now_v7();
    let mut indexes = Vec::new();
    for version in 0..count {
        let event_type = if version == 0 {
            "OrganisationRegistered"
        } else {
            "OrganisationRevised"
        };
        let outcome = store
            .append(request(stream_id, version, "editor-1", event_type))
            .await
            .unwrap();
        indexes.push(outcome.last_index);
    }
    indexes
}

async fn next_index(
    events: &mut (impl Stream<Item = Result<StoredEvent, amanah_domain::ports::StoreError>> + Unpin),
) -> u64 {
    tokio::time::timeout(TIMEOUT, events.next())
        .await
        .expect("no event within the timeout")
        .expect("the follower ended")
        .unwrap()
        .index
}

async fn a_follower_sees_the_log_then_each_new_event_in_order(database: &TestDatabase) {
    let store = database.store();
    append(&store, 3).await;
    // From the middle of what exists, with a poll far longer than the test: local commits wake
    // the follower.
    let mut events = Box::pin(follow(&store, 1));
    assert_eq!(next_index(&mut events).await, 1);
    assert_eq!(next_index(&mut events).await, 2);

    // Appended while the follower waits: each arrives, in order.
    let appender = tokio::spawn({
        let store = store.clone();
        async move { append(&store, 40).await }
    });
    for expected in 3..43 {
        assert_eq!(next_index(&mut events).await, expected);
    }
    assert_eq!(appender.await.unwrap(), (3..43).collect::<Vec<_>>());

    // A follower from the end sees only what comes next.
    let mut later = Box::pin(follow(&store, 43));
    append(&store, 1).await;
    assert_eq!(next_index(&mut later).await, 43);
    assert_eq!(next_index(&mut events).await, 43);
}

async fn a_follower_sees_what_another_replica_appends(database: &TestDatabase) {
    // This process polls the log's size every 50 ms (for all its followers).
    let here = SqlEventStore::start(
        database.connection().clone(),
        StoreConfig {
            follow_poll: Duration::from_millis(50),
            ..StoreConfig::default()
        },
        NoProjection,
    );
    // A second sequencer on the same database: another replica, whose commits this process's
    // broadcast never hears of.
    let replica = SqlEventStore::start(
        database.connection().clone(),
        StoreConfig::default(),
        NoProjection,
    );
    // One poller per process, whatever the number of followers (and clones of the store).
    assert!(here.size_watch().same_channel(&here.clone().size_watch()));
    let mut events = Box::pin(follow(&here, 0));
    append(&replica, 5).await;
    append(&here, 2).await;
    append(&replica, 3).await;
    for expected in 0..10 {
        assert_eq!(next_index(&mut events).await, expected);
    }
}

async fn the_in_memory_filter_agrees_with_the_sql_filter(database: &TestDatabase) {
    let store = database.store();
    let streams: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
    let start = Utc::now();
    for version in 0..4 {
        for (n, stream_id) in streams.iter().enumerate() {
            let event_type = if version == 0 {
                "OrganisationRegistered"
            } else {
                "OrganisationRevised"
            };
            let sub = format!("editor-{}", (n + version as usize) % 2);
            store
                .append(request(*stream_id, version, &sub, event_type))
                .await
                .unwrap();
        }
    }
    let all = store.read_range(0, 100).await.unwrap();
    assert_eq!(all.len(), 12);
    let middle = all[5].occurred_at;
    let filters = [
        AuditEventFilter::default(),
        AuditEventFilter {
            stream: Some(StreamKind::Organisation),
            stream_id: Some(streams[1]),
            ..AuditEventFilter::default()
        },
        AuditEventFilter {
            stream: Some(StreamKind::Project),
            ..AuditEventFilter::default()
        },
        AuditEventFilter {
            event_type: Some("OrganisationRevised".to_owned()),
            actor: Some("editor-1".to_owned()),
            ..AuditEventFilter::default()
        },
        AuditEventFilter {
            occurred_from: Some(middle),
            occurred_to: Some(Utc::now() + TimeDelta::seconds(1)),
            ..AuditEventFilter::default()
        },
        AuditEventFilter {
            occurred_to: Some(middle),
            index_from: Some(2),
            index_to: Some(8),
            ..AuditEventFilter::default()
        },
        AuditEventFilter {
            occurred_to: Some(start - TimeDelta::seconds(1)),
            ..AuditEventFilter::default()
        },
    ];
    for filter in filters {
        let in_sql: Vec<u64> = audit_events(
            database.connection(),
            &filter,
            Window {
                offset: 0,
                limit: 100,
            },
        )
        .await
        .unwrap()
        .items
        .iter()
        .map(|event| event.index)
        .collect();
        let in_memory: Vec<u64> = all
            .iter()
            .filter(|event| filter.matches(event))
            .map(|event| event.index)
            .collect();
        assert_eq!(in_memory, in_sql, "{filter:?}");
    }
}
