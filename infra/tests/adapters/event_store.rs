//! The event store against real databases: every scenario runs on SQLite and on PostgreSQL, each
//! test on a fresh database of its own (see `amanah_infra::testing`).
#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use amanah_audit::jcs;
use amanah_audit::note::SigningKey;
use amanah_domain::aggregate::StreamKind;
use amanah_domain::ports::{
    Actor, AppendOutcome, AppendRequest, EventMetadata, EventStore, IdempotencyClaim, Snapshot,
    StoreError, StoredEvent, StreamRead,
};
use amanah_domain::ports::{KeyClaim, KeyRequest};
use amanah_domain::values::{FieldPath, OrgRef};
use amanah_infra::store::database;
use amanah_infra::store::db_error::map_db_error;
use amanah_infra::store::event_store::MAX_READ_LIMIT;
use amanah_infra::store::idempotency::{IdempotencyStore, STALE_AFTER};
use amanah_infra::store::sql::statement;
use amanah_infra::store::statements::StatementCounter;
use amanah_infra::store::writes::{ColumnType, Writes};
use amanah_infra::testing::{
    Hold, HoldFirst, TestDatabase, event, organisation_append, queue_in_order,
};
use amanah_infra::{Projector, SqlEventStore, StoreConfig, envelope};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, Statement, Value,
};
use serde_json::json;
use uuid::Uuid;

amanah_infra::on_both_engines!(
    append_and_load_round_trip,
    canonical_bytes_are_the_jcs_of_the_envelope,
    wrong_expected_version_is_a_conflict_and_appends_nothing,
    a_decision_on_a_stream_that_moved_on_appends_nothing,
    triggers_keep_the_log_append_only,
    concurrent_appends_are_gapless,
    a_sequencer_with_a_pool_of_its_own_stays_gapless,
    two_sequencers_on_one_database_stay_gapless_for_a_reader,
    replicas_writing_through_their_own_pools_ignore_a_stricter_default_isolation,
    group_commit_isolates_each_request_in_its_savepoint,
    a_batch_written_together_answers_each_request_as_alone,
    a_batch_costs_the_same_statements_whatever_its_size,
    a_creation_under_a_taken_id_in_a_batch_is_a_conflict_alone,
    batches_are_published_in_the_logs_order_though_the_next_begins_before_the_last_commits,
    unique_violations_name_the_input_field,
    migrations_seed_member_states_and_are_idempotent,
    no_index_is_one_another_index_begins_with,
    gathered_rows_arrive_as_they_were_given,
    a_panicking_projection_fails_its_batch_not_the_store,
);

// ---------------------------------------------------------------------------------------------
// Helpers

/// 2026-11-28T10:00:00.123456789Z: nanoseconds, to check the store truncates to microseconds.
fn occurred_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 10, 0, 0)
        .unwrap()
        .checked_add_signed(chrono::Duration::nanoseconds(123_456_789))
        .unwrap()
}

fn metadata() -> EventMetadata {
    EventMetadata {
        actor: Actor {
            sub: "alice".to_owned(),
            roles: vec!["editor".to_owned()],
            org: Some(Uuid::from_u128(0x0189_0a5d_ac96_774b_bcce_b302_099a_8059)),
        },
        request_id: Some("req-42".to_owned()),
        occurred_at: occurred_at(),
    }
}

fn request(stream_id: Uuid, expected_version: u64, event_types: &[&str]) -> AppendRequest {
    let events = event_types
        .iter()
        .enumerate()
        .map(|(position, event_type)| {
            event(
                event_type,
                json!({"position": position, "name": "Ünïcode \u{2028} \"quoted\"", "share": "33.33"}),
            )
        })
        .collect();
    AppendRequest {
        metadata: metadata(),
        ..organisation_append(stream_id, expected_version, events, metadata().actor, None)
    }
}

/// Organisation `stream_id` as read at `version`.
fn read(stream_id: Uuid, version: u64) -> StreamRead {
    StreamRead {
        stream: StreamKind::Organisation,
        stream_id,
        version,
    }
}

/// [`request`] for an organisation with an IATI `ref`.
fn request_with_ref(
    stream_id: Uuid,
    expected_version: u64,
    event_types: &[&str],
    org_ref: &str,
) -> AppendRequest {
    let mut request = request(stream_id, expected_version, event_types);
    if let Snapshot::Organisation(organisation) = &mut request.snapshot {
        organisation.org_ref = Some(OrgRef::parse(org_ref).unwrap());
    }
    request
}

async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index(0).unwrap()
}

/// Checks the whole log: indexes 0..N-1 in order and each stream's versions 1..n. Returns N.
async fn assert_log_is_gapless(store: &SqlEventStore) -> u64 {
    let size = store.size().await.unwrap();
    let events = store.read_range(0, MAX_READ_LIMIT).await.unwrap();
    assert_eq!(events.len() as u64, size);
    let mut versions: HashMap<Uuid, u64> = HashMap::new();
    for (expected_index, event) in (0_u64..).zip(&events) {
        assert_eq!(event.index, expected_index);
        let version = versions.entry(event.stream_id).or_default();
        *version += 1;
        assert_eq!(event.stream_version, *version, "stream {}", event.stream_id);
    }
    for (stream_id, version) in versions {
        let stream = store
            .load_stream(StreamKind::Organisation, stream_id, None)
            .await
            .unwrap();
        let loaded: Vec<u64> = stream.iter().map(|event| event.stream_version).collect();
        assert_eq!(loaded, (1..=version).collect::<Vec<_>>());
    }
    size
}

/// Appends `request`, retrying on conflict with the version the store reports, as a command
/// handler would after re-deciding. Returns the outcome and the number of conflicts met.
async fn append_retrying(
    store: &SqlEventStore,
    mut request: AppendRequest,
) -> (AppendOutcome, u32) {
    let mut conflicts = 0;
    loop {
        match store.append(request.clone()).await {
            Ok(outcome) => return (outcome, conflicts),
            Err(StoreError::Conflict { current, .. }) => {
                conflicts += 1;
                assert!(conflicts < 10_000, "livelock");
                request.expected_version = current;
            }
            Err(other) => panic!("append failed: {other}"),
        }
    }
}

/// A tiny deterministic generator, so that runs are reproducible.
fn next_random(state: &mut u64) -> u64 {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    *state >> 33
}

/// Runs `tasks` × `per_task` appends on `store`, over `streams`; 1 or 2 events per request.
async fn hammer(
    store: &SqlEventStore,
    streams: &Arc<Vec<Uuid>>,
    tasks: u64,
    per_task: u64,
    seed: u64,
) {
    let mut handles = Vec::new();
    for task in 0..tasks {
        let store = store.clone();
        let streams = Arc::clone(streams);
        handles.push(tokio::spawn(async move {
            let mut random = seed + task;
            let mut known_versions: HashMap<Uuid, u64> = HashMap::new();
            for n in 0..per_task {
                let stream_id = streams[(next_random(&mut random) % streams.len() as u64) as usize];
                let expected = known_versions.get(&stream_id).copied().unwrap_or(0);
                let types: &[&str] = if n % 3 == 0 {
                    &["OrganisationRevised", "OrganisationDeactivated"]
                } else {
                    &["OrganisationRevised"]
                };
                let (outcome, _) =
                    append_retrying(&store, request(stream_id, expected, types)).await;
                assert_eq!(
                    outcome.last_index - outcome.first_index + 1,
                    types.len() as u64
                );
                known_versions.insert(stream_id, outcome.stream_version);
            }
        }));
    }
    for handle in handles {
        handle.await.unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios

async fn append_and_load_round_trip(database: &TestDatabase) {
    let store = database.store();
    let mut committed = store.subscribe();
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());

    let first = store
        .append(request(
            a,
            0,
            &["OrganisationRegistered", "OrganisationRevised"],
        ))
        .await
        .unwrap();
    assert_eq!(
        first,
        AppendOutcome {
            first_index: 0,
            last_index: 1,
            stream_version: 2
        }
    );
    let second = store
        .append(request(b, 0, &["OrganisationRegistered"]))
        .await
        .unwrap();
    assert_eq!(
        (second.first_index, second.last_index, second.stream_version),
        (2, 2, 1)
    );
    let third = store
        .append(request(a, 2, &["OrganisationDeactivated"]))
        .await
        .unwrap();
    assert_eq!(
        (third.first_index, third.last_index, third.stream_version),
        (3, 3, 3)
    );

    let stream = store
        .load_stream(StreamKind::Organisation, a, None)
        .await
        .unwrap();
    let shape: Vec<(u64, u64, &str)> = stream
        .iter()
        .map(|event| (event.index, event.stream_version, event.event_type.as_str()))
        .collect();
    assert_eq!(
        shape,
        [
            (0, 1, "OrganisationRegistered"),
            (1, 2, "OrganisationRevised"),
            (3, 3, "OrganisationDeactivated")
        ]
    );
    let event = &stream[1];
    assert_eq!(event.stream, StreamKind::Organisation);
    assert_eq!(event.stream_id, a);
    assert_eq!(event.actor, metadata().actor);
    assert_eq!(event.request_id.as_deref(), Some("req-42"));
    assert_eq!(event.data["position"], json!(1));
    assert_eq!(event.data["name"], json!("Ünïcode \u{2028} \"quoted\""));
    // Stored with microseconds: the nanoseconds were truncated, not rounded.
    assert_eq!(
        event.occurred_at,
        amanah_domain::ports::truncate_to_micros(occurred_at())
    );
    assert_eq!(event.occurred_at.timestamp_subsec_nanos(), 123_456_000);

    // As of the first three events of the log, stream `a` had two.
    let as_of = store
        .load_stream(StreamKind::Organisation, a, Some(3))
        .await
        .unwrap();
    assert_eq!(as_of.len(), 2);
    assert!(
        store
            .load_stream(StreamKind::Organisation, a, Some(0))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .load_stream(StreamKind::Project, a, None)
            .await
            .unwrap()
            .is_empty(),
        "the stream kind is part of the stream's identity"
    );
    assert!(
        store
            .load_stream(StreamKind::Organisation, Uuid::now_v7(), None)
            .await
            .unwrap()
            .is_empty()
    );

    assert_eq!(store.size().await.unwrap(), 4);
    let head = store.head().await.unwrap();
    assert_eq!(head.size, 4);
    assert_eq!(head.last.as_ref().map(|event| event.index), Some(3));
    let range: Vec<u64> = store
        .read_range(1, 2)
        .await
        .unwrap()
        .iter()
        .map(|e| e.index)
        .collect();
    assert_eq!(range, [1, 2]);
    assert!(store.read_range(4, 10).await.unwrap().is_empty());
    assert!(store.read_range(u64::MAX, 10).await.unwrap().is_empty());

    // Subscribers got the same events, after their commits.
    let mut published: Vec<StoredEvent> = Vec::new();
    while published.len() < 4 {
        let batch = committed.recv().await.unwrap();
        assert_eq!(batch.size, batch.events.last().unwrap().index + 1);
        published.extend(batch.events.iter().cloned());
    }
    assert_eq!(published, store.read_range(0, 10).await.unwrap());
    assert_eq!(store.stats().events, 4);

    // An empty request is refused before it reaches the database.
    assert!(matches!(
        store.append(request(b, 1, &[])).await,
        Err(StoreError::Internal { .. })
    ));
    assert_log_is_gapless(&store).await;
}

async fn canonical_bytes_are_the_jcs_of_the_envelope(database: &TestDatabase) {
    let store = database.store();
    let stream_id = Uuid::now_v7();
    store
        .append(request(
            stream_id,
            0,
            &["OrganisationRegistered", "OrganisationRevised"],
        ))
        .await
        .unwrap();
    let events = store
        .load_stream(StreamKind::Organisation, stream_id, None)
        .await
        .unwrap();
    let db = database.connection();
    for event in &events {
        let envelope = envelope::envelope_value(event).unwrap();
        assert_eq!(event.canonical, jcs::to_canonical(&envelope).unwrap());
        assert!(jcs::is_canonical(&event.canonical));
        assert_eq!(envelope::decode(&event.canonical).unwrap(), *event);

        // The row holds exactly these bytes, and its columns agree with them.
        let row = db
            .query_one_raw(statement(
                db.get_database_backend(),
                "SELECT canonical, occurred_at, id, actor_sub, request_id, event_type FROM events WHERE idx = ?",
                vec![i64::try_from(event.index).unwrap().into()],
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.try_get_by_index::<Vec<u8>>(0).unwrap(), event.canonical);
        assert_eq!(
            row.try_get_by_index::<String>(1).unwrap(),
            "2026-11-28T10:00:00.123456Z"
        );
        assert_eq!(
            row.try_get_by_index::<String>(2).unwrap(),
            event.id.to_string()
        );
        assert_eq!(row.try_get_by_index::<String>(3).unwrap(), "alice");
        assert_eq!(
            row.try_get_by_index::<Option<String>>(4)
                .unwrap()
                .as_deref(),
            Some("req-42")
        );
        assert_eq!(row.try_get_by_index::<String>(5).unwrap(), event.event_type);
    }

    let first = &events[0];
    let expected = format!(
        concat!(
            r#"{{"actor":{{"org":"01890a5d-ac96-774b-bcce-b302099a8059","roles":["editor"],"sub":"alice"}},"#,
            r#""data":{{"name":"Ünïcode {line_separator} \"quoted\"","position":0,"share":"33.33"}},"#,
            r#""id":"{id}","index":0,"occurredAt":"2026-11-28T10:00:00.123456Z","requestId":"req-42","#,
            r#""stream":"organisation","streamId":"{stream_id}","streamVersion":1,"#,
            r#""type":"OrganisationRegistered","v":1}}"#
        ),
        line_separator = '\u{2028}',
        id = first.id,
        stream_id = stream_id,
    );
    assert_eq!(
        String::from_utf8(first.canonical.clone()).unwrap(),
        expected
    );
    assert_eq!(first.id.get_version_num(), 7, "event ids are UUID v7");
}

async fn wrong_expected_version_is_a_conflict_and_appends_nothing(database: &TestDatabase) {
    let store = database.store();
    let stream_id = Uuid::now_v7();
    store
        .append(request(
            stream_id,
            0,
            &["OrganisationRegistered", "OrganisationRevised"],
        ))
        .await
        .unwrap();

    for stale in [0, 1, 3, 99] {
        assert_eq!(
            store
                .append(request(stream_id, stale, &["OrganisationRevised"]))
                .await,
            Err(StoreError::Conflict {
                expected: stale,
                current: 2
            })
        );
    }
    assert_eq!(store.size().await.unwrap(), 2);
    assert_eq!(
        store
            .load_stream(StreamKind::Organisation, stream_id, None)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        count(database.connection(), "SELECT COUNT(*) FROM events").await,
        2
    );

    let next = store
        .append(request(stream_id, 2, &["OrganisationRevised"]))
        .await
        .unwrap();
    assert_eq!((next.first_index, next.stream_version), (2, 3));
    assert_log_is_gapless(&store).await;
}

async fn a_decision_on_a_stream_that_moved_on_appends_nothing(database: &TestDatabase) {
    let store = database.store();
    let (read_stream, target, missing) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    store
        .append(request(
            read_stream,
            0,
            &["OrganisationRegistered", "OrganisationRevised"],
        ))
        .await
        .unwrap();

    for stale in [0, 1, 3] {
        let decided_on_stale = AppendRequest {
            reads: vec![read(missing, 0), read(read_stream, stale)],
            ..request(target, 0, &["OrganisationRegistered"])
        };
        assert_eq!(
            store.append(decided_on_stale).await,
            Err(StoreError::StaleRead {
                read: read(read_stream, stale),
                current: 2
            })
        );
    }
    assert_eq!(store.size().await.unwrap(), 2);
    assert_eq!(
        count(database.connection(), "SELECT COUNT(*) FROM events").await,
        2
    );

    // Read at its current version (and a stream that still does not exist, at 0): appended.
    let current = AppendRequest {
        reads: vec![read(missing, 0), read(read_stream, 2)],
        ..request(target, 0, &["OrganisationRegistered"])
    };
    let outcome = store.append(current).await.unwrap();
    assert_eq!((outcome.first_index, outcome.stream_version), (2, 1));
    assert_log_is_gapless(&store).await;
}

async fn triggers_keep_the_log_append_only(database: &TestDatabase) {
    let store = database.store();
    store
        .append(request(Uuid::now_v7(), 0, &["OrganisationRegistered"]))
        .await
        .unwrap();
    let db = database.connection();
    let before = store.read_range(0, 10).await.unwrap();

    let rejected_changes = [
        "UPDATE events SET event_type = 'Forged'",
        "UPDATE events SET canonical = canonical",
        "DELETE FROM events",
        "DELETE FROM events WHERE idx = 0",
    ];
    for sql in rejected_changes {
        let error = db.execute_unprepared(sql).await.unwrap_err();
        assert!(error.to_string().contains("append-only"), "{sql}: {error}");
    }
    let rejected_head_changes = [
        "DELETE FROM log_head",
        "UPDATE log_head SET size = 0",
        "UPDATE log_head SET size = 5",
        "UPDATE log_head SET id = 2",
        "INSERT INTO log_head (id, size) VALUES (2, 1)",
    ];
    for sql in rejected_head_changes {
        assert!(db.execute_unprepared(sql).await.is_err(), "{sql}");
    }
    // Raw inserts must take the next index and stream version, so they cannot leave gaps or
    // overwrite an event either.
    let canonical_literal = if database.backend() == DbBackend::Postgres {
        "'\\x7b7d'::bytea"
    } else {
        "X'7b7d'"
    };
    let event = &before[0];
    let inserts = [
        (5, event.stream_id, 2), // index gap
        (0, event.stream_id, 2), // index taken
        (1, event.stream_id, 3), // version gap
        (1, event.stream_id, 1), // version taken
    ];
    for (idx, stream_id, version) in inserts {
        let sql = format!(
            "INSERT INTO events (idx, id, stream, stream_id, stream_version, event_type, occurred_at, \
             actor_sub, request_id, canonical) VALUES ({idx}, 'x', 'organisation', '{stream_id}', \
             {version}, 'Forged', 'now', 'mallory', NULL, {canonical_literal})"
        );
        assert!(db.execute_unprepared(&sql).await.is_err(), "{sql}");
        if database.backend() == DbBackend::Sqlite {
            let replace = sql.replacen("INSERT", "INSERT OR REPLACE", 1);
            assert!(db.execute_unprepared(&replace).await.is_err(), "{replace}");
        }
    }
    // Several rows in one statement (PostgreSQL checks the statement's rows together): each
    // set is refused, though some of its rows alone would be right.
    let other = Uuid::now_v7();
    let row = |idx: u64, stream_id: Uuid, version: u64| {
        format!(
            "({idx}, 'x', 'organisation', '{stream_id}', {version}, 'Forged', 'now', 'mallory', \
             NULL, {canonical_literal})"
        )
    };
    let stream = event.stream_id;
    let multi_row_inserts = [
        // a gap inside the statement
        vec![row(1, stream, 2), row(3, stream, 3)],
        // contiguous, but not from the head
        vec![row(2, stream, 2), row(3, stream, 3)],
        // versions that skip one
        vec![row(1, stream, 2), row(2, stream, 4)],
        // versions against the order of the indexes
        vec![row(1, stream, 3), row(2, stream, 2)],
        // a new stream that does not start at 1
        vec![row(1, other, 2), row(2, other, 3)],
        // a new stream twice at version 1
        vec![row(1, other, 1), row(2, other, 1)],
    ];
    for rows in multi_row_inserts {
        let sql = format!(
            "INSERT INTO events (idx, id, stream, stream_id, stream_version, event_type, \
             occurred_at, actor_sub, request_id, canonical) VALUES {}",
            rows.join(", ")
        );
        assert!(db.execute_unprepared(&sql).await.is_err(), "{sql}");
    }
    if database.backend() == DbBackend::Postgres {
        for sql in [
            "TRUNCATE events",
            "TRUNCATE log_head",
            "TRUNCATE events, log_head",
        ] {
            assert!(db.execute_unprepared(sql).await.is_err(), "{sql}");
        }
    }

    assert_eq!(store.read_range(0, 10).await.unwrap(), before);
    assert_eq!(store.size().await.unwrap(), 1);
    // The store still appends after all that.
    store
        .append(request(Uuid::now_v7(), 0, &["OrganisationRegistered"]))
        .await
        .unwrap();
    assert_eq!(assert_log_is_gapless(&store).await, 2);
}

/// The server's sequencer writes through a pool of its own (`database::writer_pool`, with the
/// settings of the shared pool): appends through it are read back through the shared pool,
/// gapless, with conflicts answered as before; on PostgreSQL its connections (at most two: one
/// batch commits while the next waits for the head's lock) show themselves as `amanah-writer`.
async fn a_sequencer_with_a_pool_of_its_own_stays_gapless(database: &TestDatabase) {
    let writer = database::writer_pool(database.connection()).unwrap();
    let store = SqlEventStore::start(
        database.connection().clone(),
        StoreConfig {
            writer: Some(writer),
            ..StoreConfig::default()
        },
        amanah_infra::NoProjection,
    );
    let streams: Arc<Vec<Uuid>> = Arc::new((0..16).map(|_| Uuid::now_v7()).collect());
    hammer(&store, &streams, 8, 20, 5).await;
    let size = assert_log_is_gapless(&store).await;
    assert_eq!(store.stats().appended_requests, 160);
    assert_eq!(store.stats().events, size);
    if database.backend() == DbBackend::Postgres {
        let writers = count(
            database.connection(),
            "SELECT COUNT(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = 'amanah-writer'",
        )
        .await;
        assert!((1..=2).contains(&writers), "{writers}");
    }
}

async fn concurrent_appends_are_gapless(database: &TestDatabase) {
    const TASKS: u64 = 8;
    const APPENDS_PER_TASK: u64 = 40;
    let store = database.store();
    // Few enough streams that tasks meet on them (and retry after conflicts), enough that they
    // mostly do not.
    let streams: Arc<Vec<Uuid>> = Arc::new((0..32).map(|_| Uuid::now_v7()).collect());

    hammer(&store, &streams, TASKS, APPENDS_PER_TASK, 7).await;

    let size = assert_log_is_gapless(&store).await;
    // Every third request of each task appends two events.
    let two_event_requests = TASKS * APPENDS_PER_TASK.div_ceil(3);
    assert_eq!(size, TASKS * APPENDS_PER_TASK + two_event_requests);
    let stats = store.stats();
    assert_eq!(stats.appended_requests, TASKS * APPENDS_PER_TASK);
    assert_eq!(stats.events, size);
    assert_eq!(stats.failed_batches, 0);
    // Group commit: concurrent requests shared transactions.
    assert!(
        stats.batches < stats.requests,
        "{} batches for {} requests",
        stats.batches,
        stats.requests
    );
}

async fn two_sequencers_on_one_database_stay_gapless_for_a_reader(database: &TestDatabase) {
    // Two stores with their own pools and sequencers: two replicas (or two processes on SQLite).
    let replica_a = SqlEventStore::new(database::connect(database.url()).await.unwrap());
    let replica_b = SqlEventStore::new(database::connect(database.url()).await.unwrap());
    let reader = SqlEventStore::new(database::connect(database.url()).await.unwrap());
    let streams: Arc<Vec<Uuid>> = Arc::new((0..32).map(|_| Uuid::now_v7()).collect());
    let writers_done = Arc::new(AtomicBool::new(false));

    let polling = {
        let writers_done = Arc::clone(&writers_done);
        tokio::spawn(async move {
            let mut sizes_seen = Vec::new();
            // Events 0..verified were read and found contiguous.
            let mut verified = 0_u64;
            loop {
                let finished = writers_done.load(Ordering::SeqCst);
                // Whatever is committed is a prefix of the log: a size is never ahead of its
                // events, and the events never skip an index.
                let size = reader.size().await.unwrap();
                let events = reader.read_range(verified, MAX_READ_LIMIT).await.unwrap();
                for event in &events {
                    assert_eq!(event.index, verified, "a reader saw a hole");
                    verified += 1;
                }
                assert!(verified >= size, "size {size} but only {verified} events");
                if sizes_seen.last() != Some(&size) {
                    sizes_seen.push(size);
                }
                if finished {
                    return sizes_seen;
                }
                tokio::task::yield_now().await;
            }
        })
    };

    let (a, b) = tokio::join!(
        hammer(&replica_a, &streams, 4, 40, 11),
        hammer(&replica_b, &streams, 4, 40, 23),
    );
    let ((), ()) = (a, b);
    writers_done.store(true, Ordering::SeqCst);
    let sizes_seen = polling.await.unwrap();

    let size = assert_log_is_gapless(&replica_a).await;
    let (stats_a, stats_b) = (replica_a.stats(), replica_b.stats());
    assert_eq!(
        stats_a.appended_requests + stats_b.appended_requests,
        8 * 40
    );
    assert_eq!(stats_a.events + stats_b.events, size);
    assert!(
        sizes_seen.windows(2).all(|pair| pair[0] < pair[1]),
        "{sizes_seen:?}"
    );
    assert_eq!(sizes_seen.last(), Some(&size));
}

/// Two replicas, each writing through its own pool (`database::writer_pool`), on a database
/// whose default isolation is SERIALIZABLE (PostgreSQL): a batch that waited for the other
/// replica's head lock reads the head it committed instead of failing to serialize, because the
/// writer's sessions run at READ COMMITTED (set when the connection opens, not by a statement a
/// batch). On SQLite the same two replicas (two processes' worth of pools) stay gapless.
async fn replicas_writing_through_their_own_pools_ignore_a_stricter_default_isolation(
    database: &TestDatabase,
) {
    if database.backend() == DbBackend::Postgres {
        database
            .connection()
            .execute_unprepared(
                "DO $$ BEGIN EXECUTE format(\
                 'ALTER DATABASE %I SET default_transaction_isolation = %L', \
                 current_database(), 'serializable'); END $$",
            )
            .await
            .unwrap();
    }
    let replica = || async {
        let shared = database::connect(database.url()).await.unwrap();
        let writer = database::writer_pool(&shared).unwrap();
        if database.backend() == DbBackend::Postgres {
            // New sessions take the stricter default; the writer's does not.
            let show = |db: DatabaseConnection, setting: &'static str| async move {
                let row = db
                    .query_one_raw(Statement::from_string(
                        DbBackend::Postgres,
                        format!("SHOW {setting}"),
                    ))
                    .await
                    .unwrap()
                    .unwrap();
                row.try_get_by_index::<String>(0).unwrap()
            };
            assert_eq!(
                show(shared.clone(), "transaction_isolation").await,
                "serializable"
            );
            assert_eq!(
                show(writer.connection().clone(), "transaction_isolation").await,
                "read committed"
            );
        }
        SqlEventStore::start(
            shared,
            StoreConfig {
                writer: Some(writer),
                ..StoreConfig::default()
            },
            amanah_infra::NoProjection,
        )
    };
    let (replica_a, replica_b) = (replica().await, replica().await);
    let streams: Arc<Vec<Uuid>> = Arc::new((0..32).map(|_| Uuid::now_v7()).collect());
    tokio::join!(
        hammer(&replica_a, &streams, 4, 40, 5),
        hammer(&replica_b, &streams, 4, 40, 9),
    );
    let size = assert_log_is_gapless(&replica_a).await;
    let (stats_a, stats_b) = (replica_a.stats(), replica_b.stats());
    assert_eq!(
        stats_a.appended_requests + stats_b.appended_requests,
        8 * 40
    );
    assert_eq!(stats_a.failed_batches + stats_b.failed_batches, 0);
    assert_eq!(stats_a.events + stats_b.events, size);
}

/// A batch of creations is written set-based, the read model's rows gathered with the events,
/// the Merkle nodes, the checkpoint and the head's move: its statements do not grow with its
/// size. On PostgreSQL those writes go as one statement after the head's lock (new streams are
/// not looked up): two statements a batch (with `BEGIN` and `COMMIT`, four round trips; the
/// server's writer pool needs no `SET TRANSACTION`).
async fn a_batch_costs_the_same_statements_whatever_its_size(database: &TestDatabase) {
    let key = Arc::new(SigningKey::from_seed("amanah.test/log", &[9; 32]).unwrap());
    // A log that is not empty, so that each store's first batch reads the same stored tree.
    database
        .store()
        .append(request(Uuid::now_v7(), 0, &["OrganisationRegistered"]))
        .await
        .unwrap();
    // The statements of each store (a new one each time): the batch of one request that the
    // test holds (the same each time), then the batch of `size` queued behind it.
    let mut statements = Vec::new();
    for size in [0_usize, 4, 40] {
        let (projector, hold) = HoldFirst::new(amanah_infra::read_model::SqlProjector);
        let mut counted = database::connect(database.url()).await.unwrap();
        let counter = StatementCounter::install(&mut counted);
        let mut writer = database::writer_pool(&counted).unwrap();
        counter.attach(writer.connection_mut());
        let store = SqlEventStore::start(
            counted,
            StoreConfig {
                writer: Some(writer),
                checkpoint_signer: Some(Arc::clone(&key)),
                ..StoreConfig::default()
            },
            projector,
        );
        let requests = (0..size)
            .map(|_| request(Uuid::now_v7(), 0, &["OrganisationRegistered"]))
            .collect();
        for answer in batch_behind_a_held_creation(&store, hold, requests).await {
            answer.unwrap();
        }
        let stats = store.stats();
        assert_eq!(stats.batches, if size == 0 { 1 } else { 2 }, "{size}");
        assert_eq!(stats.batches_one_by_one, 0);
        statements.push(stats.statements);
    }
    let per_batch = [statements[1] - statements[0], statements[2] - statements[0]];
    assert_eq!(per_batch[0], per_batch[1], "{statements:?}");
    assert_eq!(
        assert_log_is_gapless(&database.store()).await,
        1 + 3 + 4 + 40
    );
    let organisations = count(database.connection(), "SELECT COUNT(*) FROM organisations").await;
    assert_eq!(organisations, 3 + 4 + 40);
    if database.backend() == DbBackend::Postgres {
        assert_eq!(per_batch[0], 2, "{statements:?}");
    }
}

/// New streams are not looked up before a batch is written: a creation under an id that is
/// already a stream's breaks the events' unique key, and the batch is written again request by
/// request, where that creation alone is a conflict and the others land.
async fn a_creation_under_a_taken_id_in_a_batch_is_a_conflict_alone(database: &TestDatabase) {
    let taken = Uuid::now_v7();
    database
        .store()
        .append(request(taken, 0, &["OrganisationRegistered"]))
        .await
        .unwrap();
    let (projector, hold) = HoldFirst::new(amanah_infra::read_model::SqlProjector);
    let store = SqlEventStore::start(
        database.connection().clone(),
        StoreConfig::default(),
        projector,
    );
    let requests = [Uuid::now_v7(), taken, Uuid::now_v7()]
        .into_iter()
        .map(|id| request(id, 0, &["OrganisationRegistered"]))
        .collect();
    let answers = batch_behind_a_held_creation(&store, hold, requests).await;
    assert!(answers[0].is_ok(), "{answers:?}");
    assert_eq!(
        answers[1],
        Err(StoreError::Conflict {
            expected: 0,
            current: 1
        })
    );
    assert!(answers[2].is_ok(), "{answers:?}");
    let stats = store.stats();
    assert_eq!(stats.batches, 2);
    assert_eq!(stats.batches_one_by_one, 1);
    assert_eq!(assert_log_is_gapless(&store).await, 4);
    // The rows of the three creations that landed (the taken id's first store kept none).
    assert_eq!(
        count(database.connection(), "SELECT COUNT(*) FROM organisations").await,
        3
    );
}

/// On PostgreSQL a batch begins, and asks for the head's lock, while the batch before it commits;
/// batches still take their indexes, answer and publish in the log's order: every broadcast
/// starts where the one before ended, and every answer lies in the log where it says.
async fn batches_are_published_in_the_logs_order_though_the_next_begins_before_the_last_commits(
    database: &TestDatabase,
) {
    const TASKS: usize = 16;
    const PER_TASK: usize = 25;
    let store = SqlEventStore::start(
        database.connection().clone(),
        StoreConfig {
            writer: database::writer_pool(database.connection()),
            ..StoreConfig::default()
        },
        amanah_infra::NoProjection,
    );
    let mut published = store.subscribe();
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            for _ in 0..PER_TASK {
                let stream_id = Uuid::now_v7();
                let outcome = store
                    .append(request(stream_id, 0, &["OrganisationRegistered"]))
                    .await
                    .unwrap();
                answers.push((stream_id, outcome));
            }
            answers
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.extend(task.await.unwrap());
    }
    let mut size = 0;
    let mut batches = 0;
    while size < (TASKS * PER_TASK) as u64 {
        let batch = published.recv().await.unwrap();
        let first = batch.events.first().unwrap().index;
        assert_eq!(first, size, "a batch published out of the log's order");
        for (offset, event) in (0_u64..).zip(batch.events.iter()) {
            assert_eq!(event.index, first + offset);
        }
        size = batch.size;
        assert_eq!(size, first + batch.events.len() as u64);
        batches += 1;
    }
    assert!(batches > 1, "{batches}");
    let events = store.read_range(0, MAX_READ_LIMIT).await.unwrap();
    for (stream_id, outcome) in answers {
        let event = &events[usize::try_from(outcome.first_index).unwrap()];
        assert_eq!(event.stream_id, stream_id);
        assert_eq!(outcome.stream_version, 1);
    }
    assert_eq!(
        assert_log_is_gapless(&store).await,
        (TASKS * PER_TASK) as u64
    );
    assert_eq!(store.stats().failed_batches, 0);
}

/// Appends a creation that `hold` holds in `store`'s projector, queues `requests` behind it (the
/// next batch, in this order), lets the creation go, and returns the requests' answers once the
/// creation has landed.
async fn batch_behind_a_held_creation(
    store: &SqlEventStore,
    hold: Hold,
    requests: Vec<AppendRequest>,
) -> Vec<Result<AppendOutcome, StoreError>> {
    let first = tokio::spawn({
        let store = store.clone();
        let request = request(Uuid::now_v7(), 0, &["OrganisationRegistered"]);
        async move { store.append(request).await }
    });
    let release = hold.held().await;
    let mut pending = Vec::new();
    for request in requests {
        let store_for_task = store.clone();
        queue_in_order(store, &mut pending, async move {
            store_for_task.append(request).await
        })
        .await;
    }
    release.release();
    first.await.unwrap().unwrap();
    let mut answers = Vec::new();
    for task in pending {
        answers.push(task.await.unwrap());
    }
    answers
}

/// A projector that writes an organisation row with the snapshot's `ref` (so that the test can
/// provoke unique violations).
struct RefRows;

impl Projector for RefRows {
    async fn project(
        &self,
        txn: &DatabaseTransaction,
        _previous: Option<&amanah_domain::ports::Snapshot>,
        snapshot: &Snapshot,
        events: &[StoredEvent],
    ) -> Result<(), StoreError> {
        let Snapshot::Organisation(organisation) = snapshot else {
            return Ok(());
        };
        assert_eq!(events.last().unwrap().stream_version, organisation.version);
        txn.execute_raw(statement(
            txn.get_database_backend(),
            "INSERT INTO organisations (id, ref, name, type_code, deactivated, version, state) \
             VALUES (?, ?, 'Test', '10', FALSE, ?, '{}')",
            vec![
                organisation.id.to_string().into(),
                organisation
                    .org_ref
                    .as_ref()
                    .map(|org_ref| org_ref.as_str().to_owned())
                    .into(),
                i64::try_from(organisation.version).unwrap().into(),
            ],
        ))
        .await
        .map_err(map_db_error)?;
        Ok(())
    }
}

/// Claims idempotency keys `taken-over` (then taken over by a retry, so that the first claim
/// no longer holds it), `refused` and `appended`; returns the first claim of each.
async fn claims_for_a_batch(database: &TestDatabase) -> [IdempotencyClaim; 3] {
    let keys = IdempotencyStore::new(database.connection().clone());
    let day = Duration::from_secs(24 * 3600);
    let mut claims = Vec::new();
    for key in ["taken-over", "refused", "appended"] {
        match keys
            .claim(KeyRequest {
                subject: "alice",
                key,
                hash: "h",
                request_id: "shared",
                ttl: day,
                wait: Duration::ZERO,
            })
            .await
            .unwrap()
        {
            KeyClaim::Run(claim) => claims.push(claim),
            other => panic!("{other:?}"),
        }
    }
    let stale = i64::try_from((STALE_AFTER * 2).as_micros()).unwrap();
    database
        .connection()
        .execute_unprepared(&format!(
            "UPDATE idempotency_keys SET heartbeat_at = heartbeat_at - {stale} \
             WHERE \"key\" = 'taken-over'"
        ))
        .await
        .unwrap();
    let retry = keys
        .claim(KeyRequest {
            subject: "alice",
            key: "taken-over",
            hash: "h",
            request_id: "retry",
            ttl: day,
            wait: Duration::ZERO,
        })
        .await
        .unwrap();
    assert!(matches!(retry, KeyClaim::Run(_)), "{retry:?}");
    claims.try_into().unwrap()
}

async fn group_commit_isolates_each_request_in_its_savepoint(database: &TestDatabase) {
    let ids: Vec<Uuid> = (0..10).map(|_| Uuid::now_v7()).collect();
    let [taken_over, refused, appended] = claims_for_a_batch(database).await;
    let (projector, hold) = HoldFirst::new(RefRows);
    let store = SqlEventStore::start(
        database.connection().clone(),
        StoreConfig::default(),
        projector,
    );

    // The first request occupies the sequencer (its projection waits for the release)…
    let first = tokio::spawn({
        let store = store.clone();
        let request = request_with_ref(ids[0], 0, &["OrganisationRegistered"], "XM-DAC-1");
        async move { store.append(request).await }
    });
    let release = hold.held().await;
    // …while the next ones queue up, in a known order.
    let registered = &["OrganisationRegistered"];
    let queued = [
        request_with_ref(
            ids[1],
            0,
            &["OrganisationRegistered", "OrganisationRevised"],
            "XM-DAC-2",
        ),
        // `ref` taken by the request before, in the same batch
        request_with_ref(ids[2], 0, registered, "XM-DAC-2"),
        // stale version
        request(ids[3], 5, &["OrganisationRevised"]),
        request_with_ref(ids[4], 0, registered, "XM-DAC-4"),
        // `ref` taken in the previous batch
        request_with_ref(ids[5], 0, registered, "XM-DAC-1"),
        // decided on ids[4] before it existed, which an earlier request of this batch changed
        AppendRequest {
            reads: vec![read(ids[4], 0)],
            ..request(ids[6], 0, registered)
        },
        // under an idempotency key that a retry took over
        AppendRequest {
            idempotency_claim: Some(taken_over),
            ..request(ids[7], 0, registered)
        },
        // under its key, but `ref` taken in the previous batch: the key records nothing
        AppendRequest {
            idempotency_claim: Some(refused),
            ..request_with_ref(ids[8], 0, registered, "XM-DAC-1")
        },
        // under its key: recorded there
        AppendRequest {
            idempotency_claim: Some(appended),
            ..request(ids[9], 0, registered)
        },
    ];
    let mut pending = Vec::new();
    for request in queued {
        let store_for_task = store.clone();
        queue_in_order(&store, &mut pending, async move {
            store_for_task.append(request).await
        })
        .await;
    }
    release.release();

    assert_eq!(
        first.await.unwrap(),
        Ok(AppendOutcome {
            first_index: 0,
            last_index: 0,
            stream_version: 1
        })
    );
    let mut results = Vec::new();
    for task in pending {
        results.push(task.await.unwrap());
    }
    let duplicate_ref = Err(StoreError::Duplicate {
        field: FieldPath::new("ref"),
    });
    assert_eq!(
        results,
        [
            Ok(AppendOutcome {
                first_index: 1,
                last_index: 2,
                stream_version: 2
            }),
            duplicate_ref.clone(),
            Err(StoreError::Conflict {
                expected: 5,
                current: 0
            }),
            // Right after the last success: the failed requests left no gap.
            Ok(AppendOutcome {
                first_index: 3,
                last_index: 3,
                stream_version: 1
            }),
            duplicate_ref,
            Err(StoreError::StaleRead {
                read: read(ids[4], 0),
                current: 1
            }),
            Err(StoreError::IdempotencyKeyTakenOver),
            Err(StoreError::Duplicate {
                field: FieldPath::new("ref"),
            }),
            Ok(AppendOutcome {
                first_index: 4,
                last_index: 4,
                stream_version: 1
            }),
        ]
    );
    let stats = store.stats();
    assert_eq!(
        (stats.batches, stats.requests, stats.appended_requests),
        (2, 10, 4)
    );

    // The failed requests' events were rolled back with their savepoints; the others committed.
    assert_eq!(assert_log_is_gapless(&store).await, 5);
    for (id, expected_events) in [
        (ids[1], 2),
        (ids[2], 0),
        (ids[3], 0),
        (ids[4], 1),
        (ids[5], 0),
        (ids[6], 0),
        (ids[7], 0),
        (ids[8], 0),
        (ids[9], 1),
    ] {
        let events = store
            .load_stream(StreamKind::Organisation, id, None)
            .await
            .unwrap();
        assert_eq!(events.len(), expected_events, "stream {id}");
    }
    assert_eq!(
        count(database.connection(), "SELECT COUNT(*) FROM organisations").await,
        4
    );
    // What the keys recorded: the refused request's record went with its savepoint.
    assert_eq!(
        count(
            database.connection(),
            "SELECT COUNT(*) FROM idempotency_keys WHERE first_index IS NOT NULL"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            database.connection(),
            "SELECT last_index FROM idempotency_keys WHERE \"key\" = 'appended'"
        )
        .await,
        4
    );
}

/// A batch with no request at fault in the read model is written set-based (its checks in memory,
/// its events in one insert), and each request still gets the answer it would get alone, in queue
/// order: a conflict, a stale read, a request under a taken-over key (which hears that first, even
/// though its version is wrong too), a refused request whose key records nothing, and a request
/// whose key records where it landed.
async fn a_batch_written_together_answers_each_request_as_alone(database: &TestDatabase) {
    let ids: Vec<Uuid> = (0..7).map(|_| Uuid::now_v7()).collect();
    let [taken_over, refused, appended] = claims_for_a_batch(database).await;
    let (projector, hold) = HoldFirst::new(RefRows);
    let store = SqlEventStore::start(
        database.connection().clone(),
        StoreConfig::default(),
        projector,
    );
    let first = tokio::spawn({
        let store = store.clone();
        let request = request(ids[0], 0, &["OrganisationRegistered"]);
        async move { store.append(request).await }
    });
    let release = hold.held().await;
    let registered = &["OrganisationRegistered"];
    let queued = [
        request(
            ids[1],
            0,
            &["OrganisationRegistered", "OrganisationRevised"],
        ),
        // decided on ids[1] before it existed
        AppendRequest {
            reads: vec![read(ids[1], 0)],
            ..request(ids[2], 0, registered)
        },
        // a taken-over key and a wrong version: the key is what it hears
        AppendRequest {
            idempotency_claim: Some(taken_over),
            ..request(ids[3], 3, registered)
        },
        // its key holds, its version is wrong: a conflict, and the key records nothing
        AppendRequest {
            idempotency_claim: Some(refused),
            ..request(ids[4], 2, registered)
        },
        AppendRequest {
            idempotency_claim: Some(appended),
            ..request(ids[5], 0, registered)
        },
        // the stream the first request of this batch wrote, at the version before it
        request(ids[1], 0, &["OrganisationRevised"]),
        request(ids[6], 0, registered),
    ];
    let mut pending = Vec::new();
    for request in queued {
        let store_for_task = store.clone();
        queue_in_order(&store, &mut pending, async move {
            store_for_task.append(request).await
        })
        .await;
    }
    release.release();
    assert!(first.await.unwrap().is_ok());
    let mut results = Vec::new();
    for task in pending {
        results.push(task.await.unwrap());
    }
    assert_eq!(
        results,
        [
            Ok(AppendOutcome {
                first_index: 1,
                last_index: 2,
                stream_version: 2
            }),
            Err(StoreError::StaleRead {
                read: read(ids[1], 0),
                current: 2
            }),
            Err(StoreError::IdempotencyKeyTakenOver),
            Err(StoreError::Conflict {
                expected: 2,
                current: 0
            }),
            Ok(AppendOutcome {
                first_index: 3,
                last_index: 3,
                stream_version: 1
            }),
            Err(StoreError::Conflict {
                expected: 0,
                current: 2
            }),
            Ok(AppendOutcome {
                first_index: 4,
                last_index: 4,
                stream_version: 1
            }),
        ]
    );
    let stats = store.stats();
    assert_eq!(
        (stats.batches, stats.requests, stats.appended_requests),
        (2, 8, 4)
    );
    assert_eq!(stats.batches_one_by_one, 0, "{stats:?}");
    assert_eq!(assert_log_is_gapless(&store).await, 5);
    assert_eq!(
        count(database.connection(), "SELECT COUNT(*) FROM organisations").await,
        4
    );
    assert_eq!(
        count(
            database.connection(),
            "SELECT COUNT(*) FROM idempotency_keys WHERE first_index IS NOT NULL"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            database.connection(),
            "SELECT first_index FROM idempotency_keys WHERE \"key\" = 'appended'"
        )
        .await,
        3
    );
}

async fn unique_violations_name_the_input_field(database: &TestDatabase) {
    let db = database.connection();
    let backend = database.backend();
    let insert_project = |id: &str| {
        statement(
            backend,
            "INSERT INTO projects (id, iati_identifier, reporting_org_id, title, status_code, version, state) \
             VALUES (?, 'XM-DAC-5-7-1', 'org', 'Title', '1', 1, '{}')",
            vec![id.into()],
        )
    };
    db.execute_raw(insert_project("p1")).await.unwrap();
    let taken = db.execute_raw(insert_project("p2")).await.unwrap_err();
    assert_eq!(
        map_db_error(taken),
        StoreError::Duplicate {
            field: FieldPath::new("iatiIdentifier")
        }
    );
    let same_id = db
        .execute_raw(statement(
            backend,
            "INSERT INTO projects (id, iati_identifier, reporting_org_id, title, status_code, version, state) \
             VALUES ('p1', 'XM-DAC-5-7-2', 'org', 'Title', '1', 1, '{}')",
            vec![],
        ))
        .await
        .unwrap_err();
    assert_eq!(
        map_db_error(same_id),
        StoreError::Duplicate {
            field: FieldPath::new("id")
        }
    );
    let not_unique = db
        .execute_unprepared("SELECT * FROM no_such_table")
        .await
        .unwrap_err();
    assert!(matches!(
        map_db_error(not_unique),
        StoreError::Internal { .. }
    ));
}

/// A row of the table [`gathered_rows_arrive_as_they_were_given`] writes.
type GatheredRow = (
    Option<i64>,
    Option<String>,
    Option<Vec<u8>>,
    Option<NaiveDate>,
    Option<bool>,
);

/// Rows gathered for a batch (on PostgreSQL one array a column, unnested) arrive exactly as they
/// were given, whatever their text, bytes or NULLs, and whatever their number.
async fn gathered_rows_arrive_as_they_were_given(database: &TestDatabase) {
    let db = database.connection();
    let bytes = if database.backend() == DbBackend::Postgres {
        "BYTEA"
    } else {
        "BLOB"
    };
    db.execute_unprepared(&format!(
        "CREATE TABLE gathered (n BIGINT, t TEXT, b {bytes}, d DATE, f BOOLEAN)"
    ))
    .await
    .unwrap();
    let texts = [
        Some("a\"b,c"),
        Some("x\\y\\"),
        Some("NULL"),
        Some(""),
        Some("{}"),
        Some(" spaced, {braced} "),
        Some("ความซื่อสัตย์ ✓"),
        Some("'quoted'"),
        None,
    ];
    let numbers = [i64::MIN, -1, 0, i64::MAX];
    let rows: Vec<GatheredRow> = (0..300)
        .map(|i: usize| {
            (
                (i % 5 != 4).then(|| numbers[i % numbers.len()]),
                texts[i % texts.len()].map(str::to_owned),
                (i % 7 != 6).then(|| (0..i % 9).map(|b| (b * 37 + i) as u8).collect()),
                (i % 3 != 2)
                    .then(|| {
                        NaiveDate::from_ymd_opt(2000 + (i % 30) as i32, 1 + (i % 12) as u32, 28)
                    })
                    .flatten(),
                (i % 4 != 3).then_some(i.is_multiple_of(2)),
            )
        })
        .collect();
    let columns = [
        ("n", ColumnType::BigInt),
        ("t", ColumnType::Text),
        ("b", ColumnType::Bytes),
        ("d", ColumnType::Date),
        ("f", ColumnType::Bool),
    ];
    let mut writes = Writes::new(database.backend());
    // Two pushes of different sizes: one statement each, whatever the size.
    for part in [&rows[..1], &rows[1..]] {
        let values = part
            .iter()
            .map(|(n, t, b, d, f)| {
                vec![
                    Value::BigInt(*n),
                    Value::String(t.clone()),
                    Value::Bytes(b.clone()),
                    Value::ChronoDate(*d),
                    Value::Bool(*f),
                ]
            })
            .collect();
        writes.push_rows("gathered", &columns, values).unwrap();
    }
    writes.send(db).await.unwrap();
    let read = db
        .query_all_raw(Statement::from_string(
            database.backend(),
            "SELECT n, t, b, d, f FROM gathered",
        ))
        .await
        .unwrap();
    let mut read: Vec<_> = read
        .iter()
        .map(|row| {
            (
                row.try_get_by_index::<Option<i64>>(0).unwrap(),
                row.try_get_by_index::<Option<String>>(1).unwrap(),
                row.try_get_by_index::<Option<Vec<u8>>>(2).unwrap(),
                row.try_get_by_index::<Option<NaiveDate>>(3).unwrap(),
                row.try_get_by_index::<Option<bool>>(4).unwrap(),
            )
        })
        .collect();
    let mut given = rows.clone();
    given.sort();
    read.sort();
    assert_eq!(read, given);
    // A value of another type than its column's is refused before anything is sent.
    let mut wrong = Writes::new(database.backend());
    let refused = wrong.push_rows(
        "gathered",
        &columns[..1],
        vec![vec![Value::String(Some("7".to_owned()))]],
    );
    assert!(refused.is_err(), "{refused:?}");
    assert!(wrong.is_empty());
}

/// Every index is maintained on every insert and update of its table's rows, so none is kept
/// that another index of the table begins with (that one serves the same lookups), unless it
/// enforces uniqueness.
async fn no_index_is_one_another_index_begins_with(database: &TestDatabase) {
    let sql = if database.backend() == DbBackend::Postgres {
        "SELECT tablename, indexname, indexdef, \
         CAST(indexdef LIKE 'CREATE UNIQUE%' AS INTEGER) FROM pg_indexes \
         WHERE schemaname = current_schema()"
    } else {
        // SQLite's own indexes (primary keys, UNIQUE constraints) have no SQL; they are unique.
        "SELECT tbl_name, name, sql, CAST(sql LIKE 'CREATE UNIQUE%' AS INTEGER) \
         FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    };
    let rows = database
        .connection()
        .query_all_raw(Statement::from_string(database.backend(), sql))
        .await
        .unwrap();
    // (table, index, its columns or expressions, unique)
    let indexes: Vec<(String, String, Vec<String>, bool)> = rows
        .iter()
        .map(|row| {
            let definition: String = row.try_get_by_index(2).unwrap();
            let unique: i32 = row.try_get_by_index(3).unwrap();
            (
                row.try_get_by_index(0).unwrap(),
                row.try_get_by_index(1).unwrap(),
                index_columns(&definition),
                unique == 1,
            )
        })
        .collect();
    assert!(indexes.len() > 20, "{indexes:?}");
    let mut redundant = Vec::new();
    for (table, name, columns, unique) in &indexes {
        let covered_by = indexes
            .iter()
            .find(|(other_table, other, other_columns, _)| {
                other_table == table && other != name && other_columns.starts_with(columns)
            });
        if let (false, Some((_, other, _, _))) = (unique, covered_by) {
            redundant.push(format!("{name} ({}) begins {other}", columns.join(", ")));
        }
    }
    assert_eq!(redundant, Vec::<String>::new());
}

/// The columns (or expressions) of `CREATE [UNIQUE] INDEX name ON table [USING btree] (a, b)`,
/// normalised: split at the commas outside parentheses, spaces and quotes removed.
fn index_columns(definition: &str) -> Vec<String> {
    let open = definition.find(" (").map_or(0, |at| at + 2);
    let list = &definition[open..definition.rfind(')').unwrap_or(definition.len())];
    let mut columns = vec![String::new()];
    let mut depth = 0;
    for ch in list.chars() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                columns.push(String::new());
                continue;
            }
            _ => {}
        }
        if !ch.is_whitespace() && ch != '"' {
            columns.last_mut().unwrap().push(ch.to_ascii_lowercase());
        }
    }
    columns
}

async fn migrations_seed_member_states_and_are_idempotent(database: &TestDatabase) {
    let db = database.connection();
    // Applying again, even concurrently, finds nothing to do.
    let (first, second) = tokio::join!(database::migrate(db), database::migrate(db));
    first.unwrap();
    second.unwrap();
    assert_eq!(
        database::Database::from(db.clone())
            .pending_migrations()
            .await
            .unwrap(),
        0
    );

    let rows = db
        .query_all_raw(Statement::from_string(
            database.backend(),
            "SELECT country_code, name, joined_on FROM member_states ORDER BY country_code",
        ))
        .await
        .unwrap();
    let members: BTreeMap<String, (String, chrono::NaiveDate)> = rows
        .iter()
        .map(|row| {
            (
                row.try_get_by_index(0).unwrap(),
                (
                    row.try_get_by_index(1).unwrap(),
                    row.try_get_by_index(2).unwrap(),
                ),
            )
        })
        .collect();
    assert_eq!(members.len(), 11);
    let date = |text: &str| chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
    assert_eq!(
        members["TL"],
        ("Timor-Leste".to_owned(), date("2025-10-26"))
    );
    assert_eq!(
        members["LA"],
        (
            "Lao People's Democratic Republic".to_owned(),
            date("1997-07-23")
        )
    );
    assert_eq!(members["BN"].1, date("1984-01-07"));
    let founders = members
        .values()
        .filter(|(_, joined)| *joined == date("1967-08-08"))
        .count();
    assert_eq!(founders, 5);
    assert_eq!(count(db, "SELECT size FROM log_head").await, 0);
}

/// Panics when projecting a stream it was told to; projects nothing otherwise.
struct PanickingProjector {
    poisoned: Uuid,
}

impl Projector for PanickingProjector {
    async fn project(
        &self,
        _txn: &DatabaseTransaction,
        _previous: Option<&amanah_domain::ports::Snapshot>,
        snapshot: &Snapshot,
        _events: &[StoredEvent],
    ) -> Result<(), StoreError> {
        if let Snapshot::Organisation(organisation) = snapshot {
            assert_ne!(
                organisation.id, self.poisoned,
                "projection bug (on purpose)"
            );
        }
        Ok(())
    }
}

async fn a_panicking_projection_fails_its_batch_not_the_store(database: &TestDatabase) {
    let poisoned = Uuid::now_v7();
    let store = SqlEventStore::start(
        database.connection().clone(),
        StoreConfig::default(),
        PanickingProjector { poisoned },
    );
    store
        .append(request(Uuid::now_v7(), 0, &["OrganisationRegistered"]))
        .await
        .unwrap();
    assert!(matches!(
        store
            .append(request(poisoned, 0, &["OrganisationRegistered"]))
            .await,
        Err(StoreError::Internal { .. })
    ));
    // Nothing of the failed batch was committed, and the sequencer still works.
    assert!(
        store
            .load_stream(StreamKind::Organisation, poisoned, None)
            .await
            .unwrap()
            .is_empty()
    );
    let after = store
        .append(request(Uuid::now_v7(), 0, &["OrganisationRegistered"]))
        .await
        .unwrap();
    assert_eq!(after.first_index, 1);
    assert_eq!(store.stats().failed_batches, 1);
    assert_eq!(assert_log_is_gapless(&store).await, 2);
}

// ---------------------------------------------------------------------------------------------
// The test databases themselves

amanah_infra::postgres_test! {
    #[tokio::test]
    async fn a_postgres_test_database_is_dropped_even_without_cleanup() {
        let database = TestDatabase::postgres().await;
        let name = database.url().rsplit('/').next().unwrap().to_owned();
        assert!(name.starts_with("amanah_test_"), "{name}");
        let admin = database::connect(&amanah_infra::testing::postgres_server_url())
            .await
            .unwrap();
        let exists = async |admin: &DatabaseConnection| {
            let row = admin
                .query_one_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT COUNT(*) FROM pg_database WHERE datname = $1",
                    [name.clone().into()],
                ))
                .await
                .unwrap()
                .unwrap();
            row.try_get_by_index::<i64>(0).unwrap() == 1
        };
        assert!(exists(&admin).await);
        // As when a test fails before its cleanup: the guard drops the database.
        drop(database);
        assert!(!exists(&admin).await);
        admin.close().await.unwrap();
    }
}

amanah_infra::postgres_test! {
    /// A pooled connection that PostgreSQL dropped while it sat idle is not handed to a read:
    /// idle for longer than `POSTGRES_PING_AFTER_IDLE`, it is pinged on checkout and replaced.
    #[tokio::test]
    async fn a_pooled_connection_dropped_while_idle_is_replaced_before_a_read() {
        let database = TestDatabase::postgres().await;
        let db = database.connection();
        let read = async || {
            db.query_one_raw(Statement::from_string(DbBackend::Postgres, "SELECT 1"))
                .await
        };
        for result in futures::future::join_all((0..4).map(|_| read())).await {
            result.unwrap();
        }
        let name = database.url().rsplit('/').next().unwrap().to_owned();
        let admin = database::connect(&amanah_infra::testing::postgres_server_url())
            .await
            .unwrap();
        let killed = admin
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE datname = $1 AND application_name = 'amanah'",
                [name.into()],
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index::<i64>(0)
            .unwrap();
        assert!(killed >= 1, "{killed}");
        tokio::time::sleep(database::POSTGRES_PING_AFTER_IDLE + Duration::from_millis(300)).await;
        for _ in 0..8 {
            read().await.unwrap();
        }
        admin.close().await.unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// SQLite specifics

#[tokio::test]
async fn sqlite_connections_are_durable_and_wait_for_the_write_lock() {
    let root = std::env::temp_dir().join(format!("amanah-connect-{}", Uuid::now_v7().simple()));
    // No `mode=rwc`: the directory and the file are created anyway.
    let url = format!("sqlite://{}", root.join("nested/dir/amanah.db").display());
    let db = database::connect(&url).await.unwrap();
    assert!(root.join("nested/dir/amanah.db").exists());

    let pragma = async |name: &str| {
        db.query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            format!("PRAGMA {name}"),
        ))
        .await
        .unwrap()
        .unwrap()
    };
    let journal_mode: String = pragma("journal_mode").await.try_get_by_index(0).unwrap();
    assert_eq!(journal_mode.to_lowercase(), "wal");
    let integer = |row: sea_orm::QueryResult| row.try_get_by_index::<i64>(0).unwrap();
    assert_eq!(integer(pragma("synchronous").await), 2, "FULL");
    assert_eq!(integer(pragma("foreign_keys").await), 1);
    assert_eq!(
        integer(pragma("busy_timeout").await),
        i64::try_from(database::SQLITE_BUSY_TIMEOUT.as_millis()).unwrap()
    );
    assert_eq!(
        integer(pragma("mmap_size").await),
        i64::try_from(database::SQLITE_MMAP_BYTES).unwrap()
    );
    db.close().await.unwrap();
    std::fs::remove_dir_all(root).unwrap();
}

/// The sequencer checkpoints the SQLite WAL between two batches when asked (as the background
/// checkpoint asks once the WAL is past its bound), and the batch after starts the WAL over. The
/// background checkpoint alone copies frames beside a writer that keeps appending more, so
/// under appends that never pause it never found every frame copied when a batch began, and the
/// WAL never started over: it grew by every page every batch wrote (294 MB in a 10 s run of W2).
#[tokio::test]
async fn the_sequencer_lets_the_sqlite_wal_start_over_when_asked() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("amanah.db");
    let db = database::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .unwrap();
    database::migrate(&db).await.unwrap();
    // No background checkpoint within the test: only the requests below ask for one.
    let checkpoints = database::WalCheckpoints::new(Duration::from_secs(3_600), 0);
    let store = SqlEventStore::start(
        db.clone(),
        StoreConfig {
            writer: database::writer_pool(&db),
            wal_checkpoints: checkpoints.clone(),
            ..StoreConfig::default()
        },
        amanah_infra::NoProjection,
    );
    // The WAL's header counts the times it started over (its checkpoint sequence number), and
    // the frames follow it.
    let wal = root.path().join("amanah.db-wal");
    let restarts = || {
        let header = std::fs::read(&wal).unwrap();
        u32::from_be_bytes(header[12..16].try_into().unwrap())
    };
    let frames = || (std::fs::metadata(&wal).unwrap().len() - 32) / (4_096 + 24);
    let append = async || {
        store
            .append(request(Uuid::now_v7(), 0, &["OrganisationRegistered"]))
            .await
            .unwrap();
    };
    append().await;
    let (restarted, written) = (restarts(), frames());
    append().await;
    assert_eq!(restarts(), restarted, "not asked, not started over");
    assert!(frames() > written);
    checkpoints.request_restart();
    append().await; // the checkpoint follows this batch
    let (restarted, written) = (restarts(), frames());
    append().await;
    assert_eq!(restarts(), restarted + 1, "started over");
    assert_eq!(frames(), written, "the frames written over the old ones");
    assert!(
        !checkpoints.take_restart_request(),
        "the request was answered"
    );
    assert_log_is_gapless(&store).await;
}
