//! An in-memory copy of the audit log's Merkle tree and signed checkpoints, so that proofs need
//! not read them from the database.
//!
//! Every row of `merkle_nodes` is the hash of a complete subtree: once committed it never changes
//! (the triggers refuse updates and deletes, and the leaves under it are fixed), and neither does
//! a signed checkpoint. A copy of a committed node or checkpoint is therefore right forever,
//! whichever replica appended it: the copy is never invalidated, it only grows.
//! [`TreeCache::refresh`] reads the nodes committed since its last call, and [`TreeCache::follow`]
//! calls it whenever the log grows. A proof takes the nodes the copy holds and reads only the
//! others (those committed since the last refresh, or on levels below the memory budget) from the
//! database, so a stale or empty copy makes a proof slower, never different.
//!
//! Each level of the tree is a dense prefix (level `l` of a tree of `n` leaves holds the nodes
//! `0 .. n >> l`), so the copy is one vector per level. The whole tree takes about 64 bytes per
//! event; under a smaller budget the copy leaves out the lowest levels, which are the largest.
//!
//! What still reads the database: the *latest* checkpoint (one indexed row, so that "latest"
//! means the database's latest, on every replica) and whatever the copy lacks.

use amanah_domain::errors::Chain;
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use amanah_domain::ports::{StoreError, StoredCheckpoint};
use sea_orm::{ConnectionTrait, Value};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use crate::audit::tree::{select_nodes, tree_leaves};
use crate::store::event_store::SqlEventStore;
use crate::store::sql::to_db_int;
use amanah_audit::merkle::{Hash, NodeId};

/// Bytes a node takes in the copy.
const NODE_BYTES: u64 = 32;

/// Rows one refresh query reads at most (about 1 MB of hashes).
const REFRESH_PAGE: u64 = 16_384;

/// The least time between two refreshes of [`TreeCache::follow`]: under a steady stream of
/// batches it reads once per interval rather than once per batch (a proof meanwhile reads the
/// few newest nodes from the database).
const REFRESH_INTERVAL: std::time::Duration = std::time::Duration::from_millis(25);

/// Signed checkpoints the copy holds at most (a signed note is a few hundred bytes); when full,
/// it starts again from empty.
const CHECKPOINTS_HELD: usize = 16_384;

/// The nodes held: `by_level[i]` is level `floor + i`, a prefix of that level.
#[derive(Debug, Default)]
struct Levels {
    floor: u32,
    by_level: Vec<Vec<Hash>>,
}

impl Levels {
    fn get(&self, id: NodeId) -> Option<Hash> {
        let offset = id.level.checked_sub(self.floor)?;
        let level = self.by_level.get(usize::try_from(offset).ok()?)?;
        level.get(usize::try_from(id.index).ok()?).copied()
    }

    fn len(&self, level: u32) -> u64 {
        level
            .checked_sub(self.floor)
            .and_then(|offset| self.by_level.get(usize::try_from(offset).ok()?))
            .map_or(0, |nodes| nodes.len() as u64)
    }

    /// Leaves out the levels below `floor` (the budget no longer holds them).
    fn raise_floor(&mut self, floor: u32) {
        if floor <= self.floor {
            return;
        }
        let dropped = usize::try_from(floor - self.floor).unwrap_or(usize::MAX);
        self.by_level.drain(..dropped.min(self.by_level.len()));
        self.floor = floor;
    }

    /// Appends `hashes` to `level`, which must hold exactly `from` nodes.
    fn extend(&mut self, level: u32, from: u64, hashes: Vec<Hash>) -> Result<(), StoreError> {
        let Some(offset) = level
            .checked_sub(self.floor)
            .and_then(|o| usize::try_from(o).ok())
        else {
            return Ok(());
        };
        if self.by_level.len() <= offset {
            self.by_level.resize_with(offset + 1, Vec::new);
        }
        let nodes = &mut self.by_level[offset];
        if nodes.len() as u64 != from {
            return Err(StoreError::internal(format!(
                "the tree cache holds {} nodes of level {level}, not {from}",
                nodes.len()
            )));
        }
        let wanted = nodes.len() + hashes.len();
        if nodes.capacity() < wanted {
            // Grow by an eighth at a time: amortised appends, at most 12.5 % unused memory.
            nodes.reserve_exact(wanted + wanted / 8 - nodes.len());
        }
        nodes.extend(hashes);
        Ok(())
    }

    fn nodes(&self) -> u64 {
        self.by_level.iter().map(|level| level.len() as u64).sum()
    }
}

/// What the copy holds, for metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeCacheStats {
    /// The lowest level held; every level from it up is held as far as the last refresh read.
    pub floor: u32,
    /// Nodes held.
    pub nodes: u64,
    /// Signed checkpoints held.
    pub checkpoints: usize,
}

/// The copy of the tree; share it as `Arc<TreeCache>`. See the module documentation.
#[derive(Debug)]
pub struct TreeCache {
    budget_bytes: u64,
    levels: RwLock<Levels>,
    checkpoints: RwLock<HashMap<u64, StoredCheckpoint>>,
    /// One refresh at a time.
    refreshing: tokio::sync::Mutex<()>,
}

impl TreeCache {
    /// A copy that holds at most `budget_bytes` of node hashes (0: no nodes, only checkpoints).
    #[must_use]
    pub fn new(budget_bytes: u64) -> Self {
        Self {
            budget_bytes,
            levels: RwLock::new(Levels::default()),
            checkpoints: RwLock::new(HashMap::new()),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    /// What the copy holds now.
    #[must_use]
    pub fn stats(&self) -> TreeCacheStats {
        let levels = self.levels.read().unwrap_or_else(PoisonError::into_inner);
        TreeCacheStats {
            floor: levels.floor,
            nodes: levels.nodes(),
            checkpoints: self
                .checkpoints
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .len(),
        }
    }

    /// The lowest level such that the levels from it up, in a tree of `leaves` leaves, fit the
    /// budget.
    fn floor_for(&self, leaves: u64) -> u32 {
        (0..64)
            .find(|&floor| {
                let nodes: u64 = (floor..64).map(|level| leaves >> level).sum();
                nodes.saturating_mul(NODE_BYTES) <= self.budget_bytes
            })
            .unwrap_or(64)
    }

    /// Splits `ids` into the nodes held (with their hashes) and the ones to read elsewhere.
    #[must_use]
    pub fn lookup(&self, ids: &[NodeId]) -> (Vec<(NodeId, Hash)>, Vec<NodeId>) {
        let levels = self.levels.read().unwrap_or_else(PoisonError::into_inner);
        let mut held = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        for &id in ids {
            match levels.get(id) {
                Some(hash) => held.push((id, hash)),
                None => missing.push(id),
            }
        }
        (held, missing)
    }

    /// The checkpoint signed at `size`, if the copy holds it.
    #[must_use]
    pub fn checkpoint(&self, size: u64) -> Option<StoredCheckpoint> {
        self.checkpoints
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&size)
            .cloned()
    }

    /// Keeps a checkpoint read from the database. Every proof without a `treeSize` passes the
    /// latest checkpoint here, so one already held costs only a shared lock.
    pub fn remember(&self, checkpoint: &StoredCheckpoint) {
        if self
            .checkpoints
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(&checkpoint.size)
        {
            return;
        }
        let mut held = self
            .checkpoints
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if held.len() >= CHECKPOINTS_HELD && !held.contains_key(&checkpoint.size) {
            held.clear();
        }
        held.insert(checkpoint.size, checkpoint.clone());
    }

    /// Reads the nodes committed since the last refresh (all of them the first time, in pages),
    /// down to the lowest level the budget holds. Returns how many nodes it added.
    ///
    /// # Errors
    /// Database errors, or stored levels that are not dense (a node missing below the size).
    pub async fn refresh<C: ConnectionTrait>(&self, db: &C) -> Result<u64, StoreError> {
        let _one = self.refreshing.lock().await;
        let leaves = tree_leaves(db).await?;
        let floor = self.floor_for(leaves);
        self.levels
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .raise_floor(floor);
        let top = if leaves == 0 {
            0
        } else {
            63 - leaves.leading_zeros()
        };
        let mut added = 0;
        loop {
            let mut page = Vec::new();
            {
                let levels = self.levels.read().unwrap_or_else(PoisonError::into_inner);
                let mut room = REFRESH_PAGE;
                for level in floor..=top {
                    let (from, to) = (levels.len(level), leaves >> level);
                    if from < to && room > 0 {
                        let take = (to - from).min(room);
                        page.push((level, from, from + take));
                        room -= take;
                    }
                }
            }
            if page.is_empty() {
                return Ok(added);
            }
            let mut rows = read_ranges(db, &page).await?;
            let mut levels = self.levels.write().unwrap_or_else(PoisonError::into_inner);
            for &(level, from, to) in &page {
                let nodes = rows.remove(&level).unwrap_or_default();
                // In index order; the first that is not where it should be names the hole.
                let in_place = (from..)
                    .zip(&nodes)
                    .take_while(|(expected, (index, _))| expected == index)
                    .count() as u64;
                if in_place < to - from {
                    return Err(StoreError::internal(format!(
                        "the Merkle tree lacks node {} of level {level}",
                        from + in_place
                    )));
                }
                let hashes: Vec<Hash> = nodes.into_iter().map(|(_, hash)| hash).collect();
                added += hashes.len() as u64;
                levels.extend(level, from, hashes)?;
            }
        }
    }

    /// Keeps the copy up to date with `store`'s log: refreshes now, after the batches this process
    /// commits (at most once per 25 ms), and whenever the shared size poll sees the log grow
    /// (other replicas' appends). A
    /// failed refresh is logged and retried on the next change; proofs meanwhile read what the
    /// copy lacks from the database. The task ends when the copy or the store is dropped.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn follow(self: &Arc<Self>, store: &SqlEventStore) -> tokio::task::JoinHandle<()> {
        let cache = Arc::downgrade(self);
        let db = store.connection().clone();
        let mut committed = store.subscribe();
        let mut size = store.size_watch();
        tokio::spawn(async move {
            let mut first = true;
            loop {
                let Some(held) = cache.upgrade() else { return };
                let started = std::time::Instant::now();
                match held.refresh(&db).await {
                    Ok(added) if first => {
                        first = false;
                        let stats = held.stats();
                        tracing::info!(
                            nodes = added,
                            floor = stats.floor,
                            elapsed_ms = started.elapsed().as_millis(),
                            "the audit tree's copy is loaded"
                        );
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(
                        error = %Chain(&error),
                        "the audit tree's copy could not refresh; proofs read the database"
                    ),
                }
                drop(held);
                tokio::time::sleep_until((started + REFRESH_INTERVAL).into()).await;
                tokio::select! {
                    received = committed.recv() => {
                        if matches!(received, Err(RecvError::Closed)) {
                            return;
                        }
                    }
                    changed = size.changed() => {
                        if changed.is_err() {
                            return;
                        }
                    }
                }
                // One refresh covers every batch committed meanwhile.
                while matches!(committed.try_recv(), Ok(_) | Err(TryRecvError::Lagged(_))) {}
            }
        })
    }
}

/// The stored nodes in `ranges` (`(level, from, to)`, half-open), by level, in index order.
async fn read_ranges<C: ConnectionTrait>(
    db: &C,
    ranges: &[(u32, u64, u64)],
) -> Result<HashMap<u32, Vec<(u64, Hash)>>, StoreError> {
    let conditions = vec!["(level = ? AND idx >= ? AND idx < ?)"; ranges.len()].join(" OR ");
    let mut values = Vec::with_capacity(ranges.len() * 3);
    for &(level, from, to) in ranges {
        values.push(Value::from(i64::from(level)));
        values.push(Value::from(to_db_int(from)?));
        values.push(Value::from(to_db_int(to)?));
    }
    let mut by_level: HashMap<u32, Vec<(u64, Hash)>> = HashMap::new();
    for (id, hash) in select_nodes(db, &conditions, values).await? {
        by_level.entry(id.level).or_default().push((id.index, hash));
    }
    for nodes in by_level.values_mut() {
        nodes.sort_unstable_by_key(|(index, _)| *index);
    }
    Ok(by_level)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint(size: u64) -> StoredCheckpoint {
        StoredCheckpoint {
            size,
            root: [0; 32],
            note: format!("note {size}"),
        }
    }

    #[test]
    fn the_floor_is_the_lowest_level_the_budget_holds() {
        // 8 leaves: levels 0..=3 hold 8 + 4 + 2 + 1 = 15 nodes, levels 1..=3 hold 7.
        assert_eq!(TreeCache::new(15 * 32).floor_for(8), 0);
        assert_eq!(TreeCache::new(15 * 32 - 1).floor_for(8), 1);
        assert_eq!(TreeCache::new(7 * 32).floor_for(8), 1);
        assert_eq!(TreeCache::new(32).floor_for(8), 3);
        assert_eq!(
            TreeCache::new(0).floor_for(8),
            4,
            "no budget: above the top level (3), so nothing is held"
        );
        assert_eq!(
            TreeCache::new(0).floor_for(0),
            0,
            "an empty tree fits anything"
        );
        assert_eq!(TreeCache::new(u64::MAX).floor_for(u64::MAX >> 1), 0);
    }

    #[test]
    fn held_checkpoints_are_bounded() {
        let cache = TreeCache::new(0);
        for size in 1..=CHECKPOINTS_HELD as u64 {
            cache.remember(&checkpoint(size));
        }
        assert_eq!(cache.stats().checkpoints, CHECKPOINTS_HELD);
        // Full: one already held changes nothing; a new one starts again from empty.
        cache.remember(&checkpoint(7));
        assert_eq!(cache.stats().checkpoints, CHECKPOINTS_HELD);
        cache.remember(&checkpoint(CHECKPOINTS_HELD as u64 + 1));
        assert_eq!(cache.stats().checkpoints, 1);
        assert_eq!(
            cache.checkpoint(CHECKPOINTS_HELD as u64 + 1),
            Some(checkpoint(CHECKPOINTS_HELD as u64 + 1))
        );
        assert_eq!(cache.checkpoint(7), None);
    }

    #[test]
    fn levels_grow_only_from_where_they_end() {
        let mut levels = Levels::default();
        levels
            .extend(0, 0, vec![[1; 32], [2; 32]])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            levels.extend(0, 3, vec![[3; 32]]).is_err(),
            "a gap is refused"
        );
        assert_eq!(levels.get(NodeId { level: 0, index: 1 }), Some([2; 32]));
        levels.raise_floor(1);
        assert_eq!(levels.get(NodeId { level: 0, index: 1 }), None);
        assert_eq!(levels.nodes(), 0);
    }
}
