//! The audit log's Merkle tree and signed checkpoints in the database (`audit-log.md` §2–§3).
//!
//! Writing: [`extend`] runs inside the append transaction, under the head lock, after a batch's
//! events are inserted. It restores the tree's right edge (its *frontier*: the O(log n) complete
//! subtrees of the old size) from `merkle_nodes`, appends the new leaves, stores every subtree they
//! complete, and signs one checkpoint for the new size. Appending never rescans the log, and since
//! the checkpoint is signed in the same transaction that fixes the leaves, two checkpoints can
//! never disagree.
//!
//! Reading: the root at any size, inclusion and consistency proofs each need O(log n) stored
//! nodes ([`amanah_audit::merkle::Plan`]), fetched in one query.
//! The server reads them through [`TreeCache`], an in-memory
//! copy of the nodes and checkpoints (the `*_in` functions below with a cache, which
//! [`SqlAuditLog`](crate::audit::log::SqlAuditLog) calls): the same answers, with the database
//! read only for what the copy lacks and for the latest checkpoint.

use amanah_domain::ports::{
    AuditReadError, ConsistencyProof, InclusionProof, StoreError, StoredCheckpoint, StoredEvent,
};
use chrono::Utc;
use sea_orm::{ConnectionTrait, Statement, Value};

use crate::audit::tree_cache::TreeCache;
use crate::store::db_error::map_internal_db_error;
use crate::store::sql::{count, from_db_int, statement, to_db_int};
use crate::store::writes::{ColumnType, Writes};
use amanah_audit::checkpoint::Checkpoint;
use amanah_audit::merkle::{self, CompactRange, Hash, NodeId, Plan, ProofError};
use amanah_audit::note::SigningKey;

fn to_hash(bytes: Vec<u8>) -> Result<Hash, StoreError> {
    Hash::try_from(bytes.as_slice())
        .map_err(|_| StoreError::internal(format!("a stored hash has {} bytes", bytes.len())))
}

/// The stored nodes matching `conditions` (SQL with `?` placeholders for `values`), in no
/// particular order.
pub(crate) async fn select_nodes<C: ConnectionTrait>(
    db: &C,
    conditions: &str,
    values: Vec<Value>,
) -> Result<Vec<(NodeId, Hash)>, StoreError> {
    let rows = db
        .query_all_raw(statement(
            db.get_database_backend(),
            &format!("SELECT level, idx, hash FROM merkle_nodes WHERE {conditions}"),
            values,
        ))
        .await
        .map_err(map_internal_db_error)?;
    rows.iter()
        .map(|row| {
            let level: i64 = row.try_get_by_index(0).map_err(map_internal_db_error)?;
            let index: i64 = row.try_get_by_index(1).map_err(map_internal_db_error)?;
            let hash: Vec<u8> = row.try_get_by_index(2).map_err(map_internal_db_error)?;
            let level = u32::try_from(level)
                .map_err(|_| StoreError::internal(format!("a stored node is at level {level}")))?;
            let index = from_db_int(index)?;
            Ok((NodeId { level, index }, to_hash(hash)?))
        })
        .collect()
}

/// Fetches stored nodes in one query; missing ones are absent from the result.
async fn fetch_nodes<C: ConnectionTrait>(
    db: &C,
    ids: &[NodeId],
) -> Result<Vec<(NodeId, Hash)>, StoreError> {
    let mut found = Vec::with_capacity(ids.len());
    // Bounded statement size: proofs need fewer than 130 nodes, but be safe.
    for chunk in ids.chunks(200) {
        if chunk.is_empty() {
            continue;
        }
        let conditions = vec!["(level = ? AND idx = ?)"; chunk.len()].join(" OR ");
        let mut values = Vec::with_capacity(chunk.len() * 2);
        for id in chunk {
            values.push(Value::from(i64::from(id.level)));
            values.push(Value::from(to_db_int(id.index)?));
        }
        found.extend(select_nodes(db, &conditions, values).await?);
    }
    Ok(found)
}

/// Fetches nodes from `cache` where it holds them, from the database otherwise.
async fn nodes<C: ConnectionTrait>(
    db: &C,
    cache: Option<&TreeCache>,
    ids: &[NodeId],
) -> Result<Vec<(NodeId, Hash)>, StoreError> {
    let Some(cache) = cache else {
        return fetch_nodes(db, ids).await;
    };
    let (mut found, missing) = cache.lookup(ids);
    if !missing.is_empty() {
        found.extend(fetch_nodes(db, &missing).await?);
    }
    Ok(found)
}

/// Evaluates a plan against the stored nodes.
async fn evaluate<C: ConnectionTrait>(
    db: &C,
    cache: Option<&TreeCache>,
    plan: &Plan,
) -> Result<Vec<Hash>, StoreError> {
    let nodes = nodes(db, cache, &plan.nodes()).await?;
    plan.assemble(|id| nodes.iter().find(|(n, _)| *n == id).map(|(_, h)| *h))
        .ok_or_else(|| StoreError::internal("the Merkle tree lacks a node a proof needs"))
}

/// The number of leaves the stored tree has (level-0 nodes).
pub(crate) async fn tree_leaves<C: ConnectionTrait>(db: &C) -> Result<u64, StoreError> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COALESCE(MAX(idx) + 1, 0) FROM merkle_nodes WHERE level = 0",
        ))
        .await
        .map_err(map_internal_db_error)?;
    count(row.as_ref())
}

/// The tree's right edge at `size`, from the stored nodes.
async fn compact_range<C: ConnectionTrait>(db: &C, size: u64) -> Result<CompactRange, StoreError> {
    let ids = merkle::frontier(size);
    let nodes = fetch_nodes(db, &ids).await?;
    let peaks = ids
        .iter()
        .map(|id| nodes.iter().find(|(n, _)| n == id).map(|(_, h)| *h))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| StoreError::internal("the Merkle tree's frontier is incomplete"))?;
    CompactRange::from_peaks(size, peaks)
        .map_err(|e| StoreError::internal_from("the stored frontier is not a tree's", e))
}

/// Adds the insert of `nodes` to `writes` ([`Writes::push_rows`]).
fn push_nodes(writes: &mut Writes, nodes: &[(NodeId, Hash)]) -> Result<(), StoreError> {
    const COLUMNS: [(&str, ColumnType); 3] = [
        ("level", ColumnType::BigInt),
        ("idx", ColumnType::BigInt),
        ("hash", ColumnType::Bytes),
    ];
    let mut rows = Vec::with_capacity(nodes.len());
    for (id, hash) in nodes {
        rows.push(vec![
            Value::from(i64::from(id.level)),
            Value::from(to_db_int(id.index)?),
            Value::from(hash.to_vec()),
        ]);
    }
    writes
        .push_rows("merkle_nodes", &COLUMNS, rows)
        .map_err(StoreError::internal)
}

/// Reads the leaves `[from, to)` from the event table (for a tree that lags the log, e.g. a log
/// written before the tree existed).
async fn missing_leaves<C: ConnectionTrait>(
    db: &C,
    from: u64,
    to: u64,
) -> Result<Vec<Hash>, StoreError> {
    let rows = db
        .query_all_raw(statement(
            db.get_database_backend(),
            "SELECT canonical FROM events WHERE idx >= ? AND idx < ? ORDER BY idx",
            vec![to_db_int(from)?.into(), to_db_int(to)?.into()],
        ))
        .await
        .map_err(map_internal_db_error)?;
    rows.iter()
        .map(|row| {
            let bytes: Vec<u8> = row.try_get_by_index(0).map_err(map_internal_db_error)?;
            Ok(merkle::leaf_hash(&bytes))
        })
        .collect()
}

/// Adds a committed batch's events (`appended`, in index order, starting at `start`) to the tree
/// and, with a signer, signs the checkpoint of the new size: the nodes and the checkpoint are
/// added to `writes`, which the caller sends inside the append transaction. `known` is the tree's
/// right edge as the caller last committed it: when it is at `start`, it stands for the two
/// reads of the stored edge. Returns the new right edge (to be
/// kept only once the transaction commits).
///
/// # Errors
/// Database errors, or a tree that does not line up with the log.
pub(crate) async fn extend<C: ConnectionTrait>(
    db: &C,
    start: u64,
    known: Option<CompactRange>,
    appended: &[&StoredEvent],
    signer: Option<&SigningKey>,
    writes: &mut Writes,
) -> Result<CompactRange, StoreError> {
    let mut leaves = Vec::new();
    let mut range = match known {
        // The right edge this sequencer committed last, still the log's: nobody appended since
        // (sizes only grow, and the tree at a size is the log's up to it).
        Some(range) if range.size() == start => range,
        _ => {
            let stored = tree_leaves(db).await?;
            if stored > start {
                return Err(StoreError::internal(format!(
                    "the Merkle tree has {stored} leaves but the log only {start} events"
                )));
            }
            let range = compact_range(db, stored).await?;
            if stored < start {
                leaves.extend(missing_leaves(db, stored, start).await?);
            }
            range
        }
    };
    for (offset, event) in (0_u64..).zip(appended) {
        if event.index != start + offset {
            return Err(StoreError::internal(format!(
                "event {} is not at the tree's next leaf {}",
                event.index,
                start + offset
            )));
        }
        leaves.push(merkle::leaf_hash(&event.canonical));
    }
    let mut nodes = Vec::with_capacity(leaves.len() * 2);
    for leaf in leaves {
        nodes.extend(range.append(leaf));
    }
    push_nodes(writes, &nodes)?;
    if let Some(signer) = signer {
        let checkpoint = Checkpoint::new(signer.name(), range.size(), range.root());
        let note = checkpoint
            .sign(signer)
            .map_err(|e| StoreError::internal_from("cannot sign the checkpoint", e))?;
        writes.push(
            "INSERT INTO checkpoints (tree_size, root, note, signed_at) VALUES (?, ?, ?, ?)"
                .to_owned(),
            vec![
                to_db_int(range.size())?.into(),
                range.root().to_vec().into(),
                note.into(),
                crate::envelope::format_occurred_at(Utc::now()).into(),
            ],
        );
    }
    Ok(range)
}

fn parse_checkpoint(row: &sea_orm::QueryResult) -> Result<StoredCheckpoint, StoreError> {
    let size: i64 = row.try_get_by_index(0).map_err(map_internal_db_error)?;
    let root: Vec<u8> = row.try_get_by_index(1).map_err(map_internal_db_error)?;
    let note: String = row.try_get_by_index(2).map_err(map_internal_db_error)?;
    Ok(StoredCheckpoint {
        size: from_db_int(size)?,
        root: to_hash(root)?,
        note,
    })
}

/// The latest signed checkpoint, if any.
///
/// # Errors
/// Database errors.
pub async fn latest_checkpoint<C: ConnectionTrait>(
    db: &C,
) -> Result<Option<StoredCheckpoint>, StoreError> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT tree_size, root, note FROM checkpoints ORDER BY tree_size DESC LIMIT 1",
        ))
        .await
        .map_err(map_internal_db_error)?;
    row.as_ref().map(parse_checkpoint).transpose()
}

/// Every signed checkpoint, smallest tree first.
///
/// # Errors
/// Database errors.
pub async fn checkpoints<C: ConnectionTrait>(db: &C) -> Result<Vec<StoredCheckpoint>, StoreError> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT tree_size, root, note FROM checkpoints ORDER BY tree_size",
        ))
        .await
        .map_err(map_internal_db_error)?;
    rows.iter().map(parse_checkpoint).collect()
}

/// The checkpoint signed at `size`, if one was.
///
/// # Errors
/// Database errors.
pub async fn checkpoint_at<C: ConnectionTrait>(
    db: &C,
    size: u64,
) -> Result<Option<StoredCheckpoint>, StoreError> {
    let row = db
        .query_one_raw(statement(
            db.get_database_backend(),
            "SELECT tree_size, root, note FROM checkpoints WHERE tree_size = ?",
            vec![to_db_int(size)?.into()],
        ))
        .await
        .map_err(map_internal_db_error)?;
    row.as_ref().map(parse_checkpoint).transpose()
}

/// The checkpoint at `size`, or the latest when `None`, from `cache` where it holds it.
///
/// # Errors
/// [`AuditReadError::NotSigned`] for a size no checkpoint was signed at,
/// [`AuditReadError::NoCheckpoint`] when none exists.
pub(crate) async fn signed_checkpoint_in<C: ConnectionTrait>(
    db: &C,
    cache: Option<&TreeCache>,
    size: Option<u64>,
) -> Result<StoredCheckpoint, AuditReadError> {
    if let (Some(size), Some(cache)) = (size, cache)
        && let Some(held) = cache.checkpoint(size)
    {
        return Ok(held);
    }
    let stored = match size {
        Some(size) => checkpoint_at(db, size)
            .await?
            .ok_or(AuditReadError::NotSigned(size))?,
        None => latest_checkpoint(db)
            .await?
            .ok_or(AuditReadError::NoCheckpoint)?,
    };
    if let Some(cache) = cache {
        cache.remember(&stored);
    }
    Ok(stored)
}

/// The root of the first `size` leaves, from the stored nodes.
///
/// # Errors
/// Database errors, or a tree that lacks the nodes (`size` beyond the tree).
pub async fn root_at<C: ConnectionTrait>(db: &C, size: u64) -> Result<Hash, StoreError> {
    if size == 0 {
        return Ok(merkle::empty_root());
    }
    let hashes = evaluate(db, None, &merkle::root_plan(size)).await?;
    hashes
        .first()
        .copied()
        .ok_or_else(|| StoreError::internal("the root plan is empty"))
}

/// The leaf hash of event `index`.
///
/// # Errors
/// Database errors or a missing leaf.
pub async fn leaf_at<C: ConnectionTrait>(db: &C, index: u64) -> Result<Hash, StoreError> {
    let nodes = fetch_nodes(db, &[NodeId { level: 0, index }]).await?;
    nodes
        .first()
        .map(|(_, h)| *h)
        .ok_or_else(|| StoreError::internal(format!("the Merkle tree has no leaf {index}")))
}

/// An inclusion proof (RFC 9162 §2.1.3) of leaf `index` in the signed tree of `size` (the latest
/// checkpoint when `None`), with that checkpoint and the leaf's hash.
///
/// # Errors
/// [`AuditReadError::NotSigned`] when `size` is not a checkpoint's size,
/// [`AuditReadError::IndexOutOfRange`] when `index ≥ size`.
pub async fn inclusion_proof<C: ConnectionTrait>(
    db: &C,
    index: u64,
    size: Option<u64>,
) -> Result<InclusionProof, AuditReadError> {
    inclusion_proof_in(db, None, index, size).await
}

pub(crate) async fn inclusion_proof_in<C: ConnectionTrait>(
    db: &C,
    cache: Option<&TreeCache>,
    index: u64,
    size: Option<u64>,
) -> Result<InclusionProof, AuditReadError> {
    let checkpoint = signed_checkpoint_in(db, cache, size).await?;
    if index >= checkpoint.size {
        return Err(AuditReadError::IndexOutOfRange {
            index,
            size: checkpoint.size,
        });
    }
    let plan = merkle::inclusion_plan(index, checkpoint.size)?;
    let mut ids = plan.nodes();
    let leaf_id = NodeId { level: 0, index };
    ids.push(leaf_id);
    let nodes = nodes(db, cache, &ids).await?;
    let lookup = |id: NodeId| nodes.iter().find(|(n, _)| *n == id).map(|(_, h)| *h);
    let leaf = lookup(leaf_id)
        .ok_or_else(|| StoreError::internal(format!("the Merkle tree has no leaf {index}")))?;
    let hashes = plan
        .assemble(lookup)
        .ok_or_else(|| StoreError::internal("the Merkle tree lacks a node a proof needs"))?;
    Ok(InclusionProof {
        checkpoint,
        leaf,
        hashes,
    })
}

/// A consistency proof (RFC 9162 §2.1.4) from the signed tree of `from` to the signed tree of
/// `to` (the latest when `None`), with both checkpoints.
///
/// # Errors
/// [`AuditReadError::NotSigned`] for sizes that were never signed; [`AuditReadError::Proof`] when
/// `from` is 0 or larger than `to`.
pub async fn consistency_proof<C: ConnectionTrait>(
    db: &C,
    from: u64,
    to: Option<u64>,
) -> Result<ConsistencyProof, AuditReadError> {
    consistency_proof_in(db, None, from, to).await
}

pub(crate) async fn consistency_proof_in<C: ConnectionTrait>(
    db: &C,
    cache: Option<&TreeCache>,
    from: u64,
    to: Option<u64>,
) -> Result<ConsistencyProof, AuditReadError> {
    if from == 0 {
        return Err(ProofError::FromEmptyTree.into());
    }
    let to_checkpoint = signed_checkpoint_in(db, cache, to).await?;
    if from > to_checkpoint.size {
        return Err(ProofError::SizeDecreased {
            size1: from,
            size2: to_checkpoint.size,
        }
        .into());
    }
    let from_checkpoint = signed_checkpoint_in(db, cache, Some(from)).await?;
    if from == to_checkpoint.size {
        return Ok(ConsistencyProof {
            from: from_checkpoint,
            to: to_checkpoint,
            hashes: Vec::new(),
        });
    }
    let plan = merkle::consistency_plan(from, to_checkpoint.size)?;
    let hashes = evaluate(db, cache, &plan).await?;
    Ok(ConsistencyProof {
        from: from_checkpoint,
        to: to_checkpoint,
        hashes,
    })
}
