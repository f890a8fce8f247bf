//! The Merkle tree and signed checkpoints kept by the append path, on SQLite and PostgreSQL:
//! every committed batch leaves a signed checkpoint whose root is the RFC 9162 root of the leaves
//! so far, proofs served from the stored nodes verify, and the tables are append-only.
#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

use std::sync::Arc;

use amanah_audit::checkpoint::Checkpoint;
use amanah_audit::merkle::{self, ProofError, verify_consistency, verify_inclusion};
use amanah_audit::note::SigningKey;
use amanah_domain::ports::{
    Actor, AppendRequest, AuditReadError, ConsistencyProof, EventStore, InclusionProof,
};
use amanah_infra::audit::tree::{
    checkpoints, consistency_proof, inclusion_proof, latest_checkpoint, root_at,
};
use amanah_infra::testing::{TestDatabase, append_concurrently, event, organisation_append};
use amanah_infra::{NoProjection, SqlEventStore, StoreConfig};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;
use uuid::Uuid;

amanah_infra::on_both_engines!(
    every_batch_is_signed_and_proofs_verify,
    tree_and_checkpoints_are_append_only,
    proofs_for_unsigned_sizes_are_refused,
    a_log_appended_without_its_tree_catches_up,
    replicas_taking_turns_keep_one_tree_and_read_its_edge_only_after_another_appended,
    the_in_memory_audit_log_answers_as_the_database_does,
);

const ORIGIN: &str = "amanah.test/audit";

fn signer() -> Arc<SigningKey> {
    Arc::new(SigningKey::from_seed(ORIGIN, &[7; 32]).unwrap())
}

fn store(database: &TestDatabase) -> SqlEventStore {
    database.signed_store(signer())
}

fn request(stream_id: Uuid, expected_version: u64, events: usize) -> AppendRequest {
    organisation_append(
        stream_id,
        expected_version,
        (0..events)
            .map(|i| event("OrganisationRevised", json!({ "n": i })))
            .collect(),
        Actor::system("system:test"),
        None,
    )
}

/// The leaves of the log's first `size` events, hashed as an auditor would, from the stored
/// canonical bytes.
async fn leaves(store: &SqlEventStore, size: u64) -> Vec<merkle::Hash> {
    store
        .read_range(0, size)
        .await
        .unwrap()
        .iter()
        .map(|e| merkle::leaf_hash(&e.canonical))
        .collect()
}

/// The RFC 9162 root of `leaves`, computed afresh.
fn root_of(leaves: &[merkle::Hash]) -> merkle::Hash {
    let mut range = merkle::CompactRange::new();
    for leaf in leaves {
        range.push(*leaf);
    }
    range.root()
}

/// Opens every stored checkpoint with the test key, checks its origin and that its root is the
/// root of the first `tree_size` of `leaves`; returns their sizes in order.
async fn checked_checkpoints(
    db: &sea_orm::DatabaseConnection,
    leaves: &[merkle::Hash],
) -> Vec<u64> {
    let verifier = signer().verifier_key();
    let mut sizes = Vec::new();
    for stored in checkpoints(db).await.unwrap() {
        let checkpoint = Checkpoint::open(&stored.note, &verifier).unwrap();
        assert_eq!(checkpoint.origin, ORIGIN);
        assert_eq!(checkpoint.size, stored.size);
        assert_eq!(checkpoint.root, stored.root, "size {}", stored.size);
        assert_eq!(
            checkpoint.root,
            root_of(&leaves[..stored.size as usize]),
            "size {}",
            stored.size
        );
        sizes.push(checkpoint.size);
    }
    sizes
}

async fn every_batch_is_signed_and_proofs_verify(database: &TestDatabase) {
    let store = store(database);
    append_concurrently(&store, 6, 12).await;
    store.append(request(Uuid::now_v7(), 0, 3)).await.unwrap();
    let db = database.connection();
    let size = store.size().await.unwrap();
    assert_eq!(size, 75);

    let leaves = leaves(&store, size).await;
    let sizes = checked_checkpoints(db, &leaves).await;
    assert_eq!(sizes.last(), Some(&size), "the last batch is signed");
    let stats = store.stats();
    assert_eq!(
        sizes.len() as u64,
        stats.batches,
        "one checkpoint per batch"
    );
    assert!(stats.batches < stats.requests, "batches formed: {stats:?}");

    let latest = latest_checkpoint(db).await.unwrap().unwrap();
    assert_eq!(latest.size, size);
    assert_eq!(root_at(db, 37).await.unwrap(), root_of(&leaves[..37]));

    for &tree_size in &sizes {
        for index in [0, tree_size / 2, tree_size - 1] {
            let InclusionProof {
                checkpoint,
                leaf,
                hashes: proof,
            } = inclusion_proof(db, index, Some(tree_size)).await.unwrap();
            assert_eq!(leaf, leaves[index as usize]);
            verify_inclusion(index, tree_size, &leaf, &proof, &checkpoint.root).unwrap();
        }
    }
    for pair in sizes.windows(2) {
        let ConsistencyProof {
            from: old,
            to: new,
            hashes: proof,
        } = consistency_proof(db, pair[0], Some(pair[1])).await.unwrap();
        verify_consistency(old.size, new.size, &proof, &old.root, &new.root).unwrap();
    }
    let ConsistencyProof {
        from: old,
        to: new,
        hashes: proof,
    } = consistency_proof(db, sizes[0], None).await.unwrap();
    assert_eq!(new.size, size);
    verify_consistency(old.size, new.size, &proof, &old.root, &new.root).unwrap();
}

async fn tree_and_checkpoints_are_append_only(database: &TestDatabase) {
    let store = store(database);
    store.append(request(Uuid::now_v7(), 0, 2)).await.unwrap();
    let db = database.connection();
    for sql in [
        "UPDATE merkle_nodes SET hash = hash WHERE level = 0",
        "DELETE FROM merkle_nodes",
        "UPDATE checkpoints SET note = 'forged'",
        "DELETE FROM checkpoints",
    ] {
        let result = db.execute_unprepared(sql).await;
        assert!(result.is_err(), "{sql} must be refused");
    }
    assert_eq!(latest_checkpoint(db).await.unwrap().unwrap().size, 2);
}

async fn proofs_for_unsigned_sizes_are_refused(database: &TestDatabase) {
    let store = store(database);
    store.append(request(Uuid::now_v7(), 0, 4)).await.unwrap();
    store.append(request(Uuid::now_v7(), 0, 4)).await.unwrap();
    let db = database.connection();
    assert_eq!(
        inclusion_proof(db, 0, Some(5)).await.unwrap_err(),
        AuditReadError::NotSigned(5)
    );
    assert_eq!(
        inclusion_proof(db, 8, Some(8)).await.unwrap_err(),
        AuditReadError::IndexOutOfRange { index: 8, size: 8 }
    );
    assert_eq!(
        consistency_proof(db, 0, Some(8)).await.unwrap_err(),
        AuditReadError::Proof(ProofError::FromEmptyTree)
    );
    assert!(matches!(
        consistency_proof(db, 8, Some(4)).await.unwrap_err(),
        AuditReadError::Proof(ProofError::SizeDecreased { .. })
    ));
    assert_eq!(
        consistency_proof(db, 3, Some(8)).await.unwrap_err(),
        AuditReadError::NotSigned(3)
    );
    let ConsistencyProof {
        from: old,
        to: new,
        hashes: proof,
    } = consistency_proof(db, 4, Some(8)).await.unwrap();
    verify_consistency(4, 8, &proof, &old.root, &new.root).unwrap();
}

/// `maintain_tree: false` (benchmarks only) leaves the tree and checkpoints alone; the next append
/// with the tree maintained adds the missing leaves first, so the signed roots stay those of the
/// whole log.
async fn a_log_appended_without_its_tree_catches_up(database: &TestDatabase) {
    let db = database.connection();
    let bare = database.signed_store_with(
        signer(),
        StoreConfig {
            maintain_tree: false,
            ..StoreConfig::default()
        },
    );
    append_concurrently(&bare, 3, 4).await;
    assert_eq!(bare.size().await.unwrap(), 12);
    drop(bare);
    assert_eq!(latest_checkpoint(db).await.unwrap(), None, "nothing signed");
    let nodes = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) FROM merkle_nodes",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(nodes.try_get_by_index::<i64>(0).unwrap(), 0, "no tree");

    let store = store(database);
    store.append(request(Uuid::now_v7(), 0, 2)).await.unwrap();
    let leaves = leaves(&store, 14).await;
    let latest = latest_checkpoint(db).await.unwrap().unwrap();
    assert_eq!(latest.size, 14);
    assert_eq!(latest.root, root_of(&leaves));
    for index in [0, 5, 13] {
        let InclusionProof {
            checkpoint,
            leaf,
            hashes: proof,
        } = inclusion_proof(db, index, None).await.unwrap();
        assert_eq!(leaf, leaves[index as usize]);
        verify_inclusion(index, 14, &leaf, &proof, &checkpoint.root).unwrap();
    }
}

/// A sequencer keeps the tree's right edge its last batch committed and extends it without reading
/// the stored edge (two statements fewer a batch), unless another replica appended meanwhile: then
/// it reads the edge again. Two sequencers on one database taking turns leave one tree whose every
/// signed root is the RFC 9162 root of the log's leaves.
async fn replicas_taking_turns_keep_one_tree_and_read_its_edge_only_after_another_appended(
    database: &TestDatabase,
) {
    let mut db = database.connection().clone();
    let _counter = amanah_infra::store::statements::StatementCounter::install(&mut db);
    let replica = || {
        SqlEventStore::start(
            db.clone(),
            StoreConfig {
                checkpoint_signer: Some(signer()),
                ..StoreConfig::default()
            },
            NoProjection,
        )
    };
    let (a, b) = (replica(), replica());
    // The statements one single-event append costs its sequencer.
    let append = |store: &SqlEventStore| {
        let store = store.clone();
        async move {
            let before = store.stats().statements;
            store.append(request(Uuid::now_v7(), 0, 1)).await.unwrap();
            store.stats().statements - before
        }
    };
    append(&a).await; // the first batch of an empty tree
    let warm = append(&a).await;
    append(&b).await;
    let after_another = append(&a).await;
    let warm_again = append(&a).await;
    let b_after_another = append(&b).await;
    assert_eq!(
        after_another,
        warm + 2,
        "the edge read again (leaves, then nodes)"
    );
    assert_eq!(warm_again, warm);
    assert_eq!(b_after_another, warm + 2);
    for _ in 0..3 {
        append(&b).await;
        append(&a).await;
    }

    let size = a.size().await.unwrap();
    assert_eq!(size, 12);
    let leaves = leaves(&a, size).await;
    let db = database.connection();
    let sizes = checked_checkpoints(db, &leaves).await;
    assert_eq!(
        sizes,
        (1..=12).collect::<Vec<u64>>(),
        "one checkpoint per append"
    );
    for index in [0, 5, 11] {
        let InclusionProof {
            checkpoint,
            leaf,
            hashes: proof,
        } = inclusion_proof(db, index, None).await.unwrap();
        assert_eq!(leaf, leaves[index as usize]);
        verify_inclusion(index, size, &leaf, &proof, &checkpoint.root).unwrap();
    }
}

/// The port's fake ([`MemoryAuditLog`]), given the same leaves and signed at the same sizes with
/// the same key, answers exactly as the database adapter ([`SqlAuditLog`]): the same checkpoints
/// (notes byte for byte), the same inclusion and consistency proofs, the same pages of events,
/// and the same refusals.
async fn the_in_memory_audit_log_answers_as_the_database_does(database: &TestDatabase) {
    use amanah_domain::fakes::MemoryAuditLog;
    use amanah_domain::ports::{AuditEventFilter, AuditLog};
    use amanah_domain::query::Window;
    use amanah_infra::audit::log::SqlAuditLog;
    use amanah_infra::audit::tree_cache::TreeCache;

    let store = store(database);
    // Two streams, so that filtering the events on one leaves a strict part of the log.
    let (first, second) = (Uuid::now_v7(), Uuid::now_v7());
    for (id, version, events) in [(first, 0, 1), (second, 0, 3), (first, 1, 2)] {
        store.append(request(id, version, events)).await.unwrap();
    }
    let sql = SqlAuditLog::new(database.connection().clone(), Arc::new(TreeCache::new(0)));
    let sizes: Vec<u64> = checkpoints(database.connection())
        .await
        .unwrap()
        .iter()
        .map(|checkpoint| checkpoint.size)
        .collect();
    assert_eq!(sizes, vec![1, 4, 6], "one checkpoint per batch");

    let memory = MemoryAuditLog::new(SigningKey::clone(&signer()));
    for event in store.read_range(0, 6).await.unwrap() {
        let size = event.index + 1;
        memory.append(event).unwrap();
        if sizes.contains(&size) {
            memory.sign().unwrap();
        }
    }
    for size in [None, Some(1), Some(4), Some(6)] {
        assert_eq!(
            memory.signed_checkpoint(size).await,
            sql.signed_checkpoint(size).await,
            "checkpoint {size:?}"
        );
    }
    for size in [1, 4, 6] {
        for index in 0..=size {
            assert_eq!(
                memory.inclusion_proof(index, Some(size)).await,
                sql.inclusion_proof(index, Some(size)).await,
                "inclusion of {index} in {size}"
            );
        }
    }
    for (from, to) in [
        (1, Some(4)),
        (1, None),
        (4, Some(6)),
        (6, Some(4)),
        (3, None),
    ] {
        assert_eq!(
            memory.consistency_proof(from, to).await,
            sql.consistency_proof(from, to).await,
            "consistency {from} → {to:?}"
        );
    }
    // The first stream's events are 0, 4 and 5 of the six; the window skips the first.
    let filter = AuditEventFilter {
        stream_id: Some(first),
        ..AuditEventFilter::default()
    };
    let window = Window {
        offset: 1,
        limit: 3,
    };
    let indexes = |page: amanah_domain::query::Page<amanah_domain::ports::StoredEvent>| {
        (
            page.total,
            page.items.iter().map(|e| e.index).collect::<Vec<_>>(),
        )
    };
    let page = indexes(sql.events(&filter, window).await.unwrap());
    assert_eq!(page, (3, vec![4, 5]));
    assert_eq!(indexes(memory.events(&filter, window).await.unwrap()), page);
    assert_eq!(
        memory.signed_checkpoint(Some(3)).await,
        Err(AuditReadError::NotSigned(3))
    );
}
