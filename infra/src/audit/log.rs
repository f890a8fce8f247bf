//! The [`AuditLog`] port over the database: events from the event table ([`super::query`]),
//! checkpoints and proofs through the tree's copy in memory ([`TreeCache`]), which reads the
//! database for what it does not hold.

use std::sync::Arc;

use amanah_domain::ports::{
    AuditEventFilter, AuditLog, AuditReadError, BoxFuture, ConsistencyProof, InclusionProof,
    StoreError, StoredCheckpoint, StoredEvent,
};
use amanah_domain::query::{Page, Window};
use sea_orm::DatabaseConnection;

use super::query::audit_events;
use super::tree::{consistency_proof_in, inclusion_proof_in, signed_checkpoint_in};
use super::tree_cache::TreeCache;

/// The audit log in the database. Cheap to clone (a pool handle and an `Arc`).
#[derive(Debug, Clone)]
pub struct SqlAuditLog {
    db: DatabaseConnection,
    tree: Arc<TreeCache>,
}

impl SqlAuditLog {
    #[must_use]
    pub fn new(db: DatabaseConnection, tree: Arc<TreeCache>) -> Self {
        Self { db, tree }
    }
}

impl AuditLog for SqlAuditLog {
    fn events<'a>(
        &'a self,
        filter: &'a AuditEventFilter,
        window: Window,
    ) -> BoxFuture<'a, Result<Page<StoredEvent>, StoreError>> {
        Box::pin(audit_events(&self.db, filter, window))
    }

    fn signed_checkpoint(
        &self,
        size: Option<u64>,
    ) -> BoxFuture<'_, Result<StoredCheckpoint, AuditReadError>> {
        Box::pin(signed_checkpoint_in(&self.db, Some(&self.tree), size))
    }

    fn inclusion_proof(
        &self,
        index: u64,
        size: Option<u64>,
    ) -> BoxFuture<'_, Result<InclusionProof, AuditReadError>> {
        Box::pin(inclusion_proof_in(&self.db, Some(&self.tree), index, size))
    }

    fn consistency_proof(
        &self,
        from: u64,
        to: Option<u64>,
    ) -> BoxFuture<'_, Result<ConsistencyProof, AuditReadError>> {
        Box::pin(consistency_proof_in(&self.db, Some(&self.tree), from, to))
    }
}
