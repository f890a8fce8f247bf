//! The seam where the read model is written: a [`Projector`] runs inside the append transaction.
//!
//! For each append request the store opens a savepoint, inserts the request's events, then calls
//! [`Projector::project`] with the same transaction, the aggregate's state after the events
//! (`AppendRequest::snapshot`) and the events as stored. If the projector fails, the savepoint is
//! rolled back — the events and the projection of that one request vanish together, other requests
//! of the batch are untouched — and the caller gets the projector's error. Map database errors
//! with [`crate::db_error::map_db_error`], so that a unique violation (a taken `ref` or IATI
//! identifier) becomes [`StoreError::Duplicate`] naming the input field.
//!
//! The projector must write through `txn` only (never through another connection: it would not
//! see the uncommitted rows, and on SQLite it would wait for the write lock the store holds).

use std::future::Future;

use amanah_domain::aggregate::StreamKind;
use amanah_domain::ports::{LatestState, Snapshot, StoreError, StoredEvent};
use futures::future::BoxFuture;
use sea_orm::{DatabaseConnection, DatabaseTransaction};
use uuid::Uuid;

/// Reads the state a projector keeps of an aggregate, with its version (what
/// `EventStore::latest_state` answers).
pub type StateReader = fn(
    DatabaseConnection,
    StreamKind,
    Uuid,
) -> BoxFuture<'static, Result<Option<LatestState>, StoreError>>;

/// Writes the read model for one append, inside its transaction.
pub trait Projector: Send + Sync + 'static {
    /// Brings the read model in line with `snapshot`, the state the `events` just appended lead
    /// to from `previous` (the state the read model holds; `None` for a new stream).
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] when the snapshot breaks a uniqueness rule of the read model;
    /// any other [`StoreError`] aborts the request. Either way the request's events are not
    /// appended.
    fn project(
        &self,
        txn: &DatabaseTransaction,
        previous: Option<&Snapshot>,
        snapshot: &Snapshot,
        events: &[StoredEvent],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// How to read back the aggregate states it writes, when it keeps them (written in the
    /// append transaction, they are the fold of exactly the committed events): commands then
    /// decide on them instead of folding whole streams. `None` by default.
    fn state_reader(&self) -> Option<StateReader> {
        None
    }
}

/// A projector that writes nothing: the log alone, until the read model is plugged in.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProjection;

impl Projector for NoProjection {
    async fn project(
        &self,
        _txn: &DatabaseTransaction,
        _previous: Option<&Snapshot>,
        _snapshot: &Snapshot,
        _events: &[StoredEvent],
    ) -> Result<(), StoreError> {
        Ok(())
    }
}
