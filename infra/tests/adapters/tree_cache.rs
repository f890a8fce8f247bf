//! The in-memory copy of the Merkle tree (`amanah_infra::audit::tree_cache`), on SQLite and PostgreSQL:
//! proofs through it are the database's proofs byte for byte, whatever it holds (everything, only
//! the upper levels, or a copy that lags the log); what it holds is served without the database;
//! it follows this process's and other replicas' appends; and it refuses a tree with a hole.
#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

use std::sync::Arc;
use std::time::Duration;

use amanah_audit::note::SigningKey;
use amanah_domain::ports::{Actor, AppendRequest, AuditLog, AuditReadError, EventStore};
use amanah_infra::audit::log::SqlAuditLog;
use amanah_infra::audit::tree::{consistency_proof, inclusion_proof};
use amanah_infra::audit::tree_cache::{TreeCache, TreeCacheStats};
use amanah_infra::testing::{TestDatabase, append_concurrently, event, organisation_append};
use amanah_infra::{SqlEventStore, StoreConfig};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;
use uuid::Uuid;

amanah_infra::on_both_engines!(
    cached_proofs_are_the_database_proofs,
    a_small_budget_holds_only_the_upper_levels,
    proofs_stay_right_while_the_copy_lags,
    follow_sees_this_and_other_replicas_appends,
);

fn store(database: &TestDatabase) -> SqlEventStore {
    database.signed_store_with(
        Arc::new(SigningKey::from_seed("amanah.test/audit", &[9; 32]).unwrap()),
        StoreConfig {
            follow_poll: Duration::from_millis(50),
            ..StoreConfig::default()
        },
    )
}

fn request(stream_id: Uuid, expected_version: u64) -> AppendRequest {
    organisation_append(
        stream_id,
        expected_version,
        vec![event(
            "OrganisationRevised",
            json!({ "v": expected_version }),
        )],
        Actor::system("system:test"),
        None,
    )
}

/// The nodes a tree of `leaves` leaves stores on the levels from `floor` up.
fn stored_nodes(leaves: u64, floor: u32) -> u64 {
    (floor..64).map(|level| leaves >> level).sum()
}

async fn signed_sizes(database: &TestDatabase) -> Vec<u64> {
    let db = database.connection();
    db.query_all_raw(Statement::from_string(
        db.get_database_backend(),
        "SELECT tree_size FROM checkpoints ORDER BY tree_size",
    ))
    .await
    .unwrap()
    .iter()
    .map(|row| u64::try_from(row.try_get_by_index::<i64>(0).unwrap()).unwrap())
    .collect()
}

/// The audit log over `db`, reading through `cache`.
fn through(db: &sea_orm::DatabaseConnection, cache: &Arc<TreeCache>) -> SqlAuditLog {
    SqlAuditLog::new(db.clone(), Arc::clone(cache))
}

/// Every inclusion proof at every signed size (three leaves each) and every consistency proof
/// between consecutive signed sizes, through `cache`, equals the database's.
async fn assert_same_proofs(database: &TestDatabase, cache: &Arc<TreeCache>) {
    let db = database.connection();
    let cached = through(db, cache);
    let sizes = signed_sizes(database).await;
    assert!(sizes.len() > 3, "several batches: {sizes:?}");
    for &size in &sizes {
        for index in [0, size / 2, size - 1] {
            assert_eq!(
                cached.inclusion_proof(index, Some(size)).await.unwrap(),
                inclusion_proof(db, index, Some(size)).await.unwrap(),
                "leaf {index} at size {size}"
            );
        }
        assert_eq!(
            cached.inclusion_proof(size - 1, None).await.unwrap(),
            inclusion_proof(db, size - 1, None).await.unwrap(),
        );
    }
    for pair in sizes.windows(2) {
        assert_eq!(
            cached
                .consistency_proof(pair[0], Some(pair[1]))
                .await
                .unwrap(),
            consistency_proof(db, pair[0], Some(pair[1])).await.unwrap(),
            "{} → {}",
            pair[0],
            pair[1]
        );
    }
    assert_eq!(
        cached.consistency_proof(sizes[0], None).await.unwrap(),
        consistency_proof(db, sizes[0], None).await.unwrap(),
    );
}

async fn cached_proofs_are_the_database_proofs(database: &TestDatabase) {
    let store = store(database);
    append_concurrently(&store, 6, 12).await;
    let size = store.size().await.unwrap();
    assert_eq!(size, 72);

    let cache = Arc::new(TreeCache::new(u64::MAX));
    let added = cache.refresh(database.connection()).await.unwrap();
    assert_eq!(added, stored_nodes(size, 0));
    assert_eq!(cache.refresh(database.connection()).await.unwrap(), 0);
    assert_same_proofs(database, &cache).await;
    let held = cache.stats();
    assert_eq!((held.floor, held.nodes), (0, stored_nodes(size, 0)));
    assert_eq!(held.checkpoints, signed_sizes(database).await.len());

    // What the copy holds is served without the database: through an empty one, proofs at a
    // signed size still come out the same, while "the latest" checkpoint is the database's.
    let empty = TestDatabase::sqlite().await;
    let sizes = signed_sizes(database).await;
    for &tree_size in &sizes {
        assert_eq!(
            through(empty.connection(), &cache)
                .inclusion_proof(tree_size / 3, Some(tree_size))
                .await
                .unwrap(),
            inclusion_proof(database.connection(), tree_size / 3, Some(tree_size))
                .await
                .unwrap(),
        );
    }
    assert!(matches!(
        through(empty.connection(), &cache)
            .inclusion_proof(0, None)
            .await,
        Err(AuditReadError::NoCheckpoint)
    ));
    // Sizes never signed are refused as before.
    assert!(matches!(
        through(database.connection(), &cache)
            .inclusion_proof(0, Some(size + 1))
            .await,
        Err(AuditReadError::NotSigned(n)) if n == size + 1
    ));
    assert!(matches!(
        through(database.connection(), &cache)
            .inclusion_proof(size, Some(size))
            .await,
        Err(AuditReadError::IndexOutOfRange { .. })
    ));
    empty.cleanup().await;
}

async fn a_small_budget_holds_only_the_upper_levels(database: &TestDatabase) {
    let store = store(database);
    append_concurrently(&store, 5, 15).await;
    let size = store.size().await.unwrap();
    assert_eq!(size, 75);

    // Levels 3 and up of 75 leaves are 9 + 4 + 2 + 1 = 16 nodes (512 bytes); level 2 adds 18.
    let cache = Arc::new(TreeCache::new(600));
    cache.refresh(database.connection()).await.unwrap();
    assert_eq!(
        cache.stats(),
        TreeCacheStats {
            floor: 3,
            nodes: 16,
            checkpoints: 0
        }
    );
    assert_same_proofs(database, &cache).await;

    // The lower levels come from the database: without it, a leaf's proof cannot be made.
    let empty = TestDatabase::sqlite().await;
    assert!(matches!(
        through(empty.connection(), &cache)
            .inclusion_proof(10, Some(size))
            .await,
        Err(AuditReadError::Store(_))
    ));
    empty.cleanup().await;

    // No budget, no nodes; the proofs are still the same.
    let none = Arc::new(TreeCache::new(0));
    assert_eq!(none.refresh(database.connection()).await.unwrap(), 0);
    assert_eq!(none.stats().nodes, 0);
    assert_same_proofs(database, &none).await;
}

async fn proofs_stay_right_while_the_copy_lags(database: &TestDatabase) {
    let store = store(database);
    append_concurrently(&store, 4, 8).await;
    let first = store.size().await.unwrap();
    assert_eq!(first, 32);
    // Holds the whole tree of 32 leaves (63 nodes), not that of 64 (127 nodes).
    let cache = Arc::new(TreeCache::new(63 * 32));
    assert_eq!(
        cache.refresh(database.connection()).await.unwrap(),
        stored_nodes(first, 0)
    );

    append_concurrently(&store, 4, 8).await;
    let second = store.size().await.unwrap();
    assert_eq!(second, 64);
    // The copy lacks everything appended since: proofs read it from the database.
    assert_same_proofs(database, &cache).await;

    // The next refresh adds the new nodes from level 1 up; level 0 no longer fits.
    let added = cache.refresh(database.connection()).await.unwrap();
    assert_eq!(added, stored_nodes(second, 1) - stored_nodes(first, 1));
    let held = cache.stats();
    assert_eq!((held.floor, held.nodes), (1, stored_nodes(second, 1)));
    assert_same_proofs(database, &cache).await;
}

/// Waits until `cache` holds `nodes` nodes; fails after 10 s.
async fn wait_for_nodes(cache: &TreeCache, nodes: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while cache.stats().nodes != nodes {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the copy holds {:?}, not {nodes} nodes",
            cache.stats()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn follow_sees_this_and_other_replicas_appends(database: &TestDatabase) {
    let store = store(database);
    let cache = Arc::new(TreeCache::new(u64::MAX));
    let follower = cache.follow(&store);

    append_concurrently(&store, 3, 5).await;
    wait_for_nodes(&cache, stored_nodes(15, 0)).await;

    // Another replica: its own sequencer over the same database; this process sees its appends
    // only through the size poll.
    let replica = self::store(database);
    append_concurrently(&replica, 2, 5).await;
    wait_for_nodes(&cache, stored_nodes(25, 0)).await;
    assert_same_proofs(database, &cache).await;

    // The follower ends with the copy.
    drop(cache);
    store.append(request(Uuid::now_v7(), 0)).await.unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(5), follower).await;
    assert!(
        matches!(ended, Ok(Ok(()))),
        "the follower ends once the copy is dropped: {ended:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tree_with_a_hole_is_refused() {
    let database = TestDatabase::sqlite().await;
    let store = store(&database);
    append_concurrently(&store, 2, 10).await;
    let db = database.connection();
    db.execute_unprepared("DROP TRIGGER merkle_nodes_reject_delete")
        .await
        .unwrap();
    db.execute_unprepared("DELETE FROM merkle_nodes WHERE level = 1 AND idx = 3")
        .await
        .unwrap();

    let cache = TreeCache::new(u64::MAX);
    let error = cache.refresh(db).await.unwrap_err();
    assert!(
        error.to_string().contains("lacks node 3 of level 1"),
        "{error}"
    );
    database.cleanup().await;
}
