//! The audit log's Merkle tree and signed checkpoints (`audit-log.md` §2–§4).
//!
//! * `merkle_nodes` holds the hash of every complete, aligned subtree: `(level, idx)` covers the
//!   leaves `idx·2^level … (idx+1)·2^level − 1`; level 0 holds the leaf hashes. The root at any
//!   size and every proof are combinations of O(log n) of them.
//! * `checkpoints` holds every signed checkpoint, one per committed append batch, keyed by tree
//!   size: the signed note exactly as it was served.
//!
//! Both are written in the append transaction, under the head lock, and are append-only: triggers
//! reject UPDATE and DELETE on both engines.

use sea_orm_migration::prelude::*;

use super::{execute_all, is_postgres};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: [&str; 2] = [
    "CREATE TABLE merkle_nodes (
        level BIGINT NOT NULL CHECK (level >= 0 AND level < 64),
        idx BIGINT NOT NULL CHECK (idx >= 0),
        hash {bytes} NOT NULL CHECK (length(hash) = 32),
        PRIMARY KEY (level, idx)
    )",
    "CREATE TABLE checkpoints (
        tree_size BIGINT PRIMARY KEY CHECK (tree_size >= 0),
        root {bytes} NOT NULL CHECK (length(root) = 32),
        note TEXT NOT NULL,
        signed_at TEXT NOT NULL
    )",
];

const SQLITE_TRIGGERS: [&str; 4] = [
    "CREATE TRIGGER merkle_nodes_reject_update BEFORE UPDATE ON merkle_nodes
     BEGIN SELECT RAISE(ABORT, 'merkle nodes are append-only'); END",
    "CREATE TRIGGER merkle_nodes_reject_delete BEFORE DELETE ON merkle_nodes
     BEGIN SELECT RAISE(ABORT, 'merkle nodes are append-only'); END",
    "CREATE TRIGGER checkpoints_reject_update BEFORE UPDATE ON checkpoints
     BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END",
    "CREATE TRIGGER checkpoints_reject_delete BEFORE DELETE ON checkpoints
     BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END",
];

const POSTGRES_TRIGGERS: [&str; 4] = [
    "CREATE TRIGGER merkle_nodes_reject_update_delete BEFORE UPDATE OR DELETE ON merkle_nodes
     FOR EACH ROW EXECUTE FUNCTION amanah_reject_change('merkle nodes are append-only')",
    "CREATE TRIGGER merkle_nodes_reject_truncate BEFORE TRUNCATE ON merkle_nodes
     FOR EACH STATEMENT EXECUTE FUNCTION amanah_reject_change('merkle nodes are append-only')",
    "CREATE TRIGGER checkpoints_reject_update_delete BEFORE UPDATE OR DELETE ON checkpoints
     FOR EACH ROW EXECUTE FUNCTION amanah_reject_change('checkpoints are append-only')",
    "CREATE TRIGGER checkpoints_reject_truncate BEFORE TRUNCATE ON checkpoints
     FOR EACH STATEMENT EXECUTE FUNCTION amanah_reject_change('checkpoints are append-only')",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let postgres = is_postgres(manager);
        let bytes = if postgres { "BYTEA" } else { "BLOB" };
        execute_all(manager, TABLES.map(|sql| sql.replace("{bytes}", bytes))).await?;
        if postgres {
            execute_all(manager, POSTGRES_TRIGGERS).await
        } else {
            execute_all(manager, SQLITE_TRIGGERS).await
        }
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
