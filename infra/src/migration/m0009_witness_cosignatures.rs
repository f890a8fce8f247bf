//! The witnesses' cosignatures of the log's checkpoints (`witness.md` §3).
//!
//! * `audit_cosignature` keeps every cosignature line a witness of the policy returned, verified,
//!   with the tree size it cosigned and its time `T` (`cosigned_at`, POSIX seconds). Append-only,
//!   like the checkpoints it countersigns: triggers reject UPDATE and DELETE on both engines.
//! * `audit_witness_state` is the size each witness is known to hold, which the next push starts
//!   its consistency proof from. It is the log's belief about the witness, corrected by the
//!   witness's `409`, so it is updated in place.

use sea_orm_migration::prelude::*;

use super::{execute_all, is_postgres};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: [&str; 2] = [
    "CREATE TABLE audit_cosignature (
        tree_size BIGINT NOT NULL CHECK (tree_size >= 0),
        witness_vkey TEXT NOT NULL,
        cosigned_at BIGINT NOT NULL CHECK (cosigned_at > 0),
        line TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (tree_size, witness_vkey, cosigned_at)
    )",
    "CREATE TABLE audit_witness_state (
        witness_vkey TEXT PRIMARY KEY,
        last_size BIGINT NOT NULL CHECK (last_size >= 0),
        updated_at TEXT NOT NULL
    )",
];

const SQLITE_TRIGGERS: [&str; 2] = [
    "CREATE TRIGGER audit_cosignature_reject_update BEFORE UPDATE ON audit_cosignature
     BEGIN SELECT RAISE(ABORT, 'cosignatures are append-only'); END",
    "CREATE TRIGGER audit_cosignature_reject_delete BEFORE DELETE ON audit_cosignature
     BEGIN SELECT RAISE(ABORT, 'cosignatures are append-only'); END",
];

const POSTGRES_TRIGGERS: [&str; 2] = [
    "CREATE TRIGGER audit_cosignature_reject_update_delete BEFORE UPDATE OR DELETE ON audit_cosignature
     FOR EACH ROW EXECUTE FUNCTION amanah_reject_change('cosignatures are append-only')",
    "CREATE TRIGGER audit_cosignature_reject_truncate BEFORE TRUNCATE ON audit_cosignature
     FOR EACH STATEMENT EXECUTE FUNCTION amanah_reject_change('cosignatures are append-only')",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute_all(manager, TABLES).await?;
        if is_postgres(manager) {
            execute_all(manager, POSTGRES_TRIGGERS).await
        } else {
            execute_all(manager, SQLITE_TRIGGERS).await
        }
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
