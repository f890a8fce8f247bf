//! The seam where the read model is written: a [`Projector`] runs inside the append transaction.
//!
//! For a batch, the store asks the projector to add its writes to the batch's gathered writes
//! ([`Projector::gather_all`]), sent with the events' and the Merkle tree's; a projector that
//! cannot is called after the events are inserted ([`Projector::project_all`]) with the same
//! transaction. Either way it gets, for each append request, the aggregate's state before and
//! after the events (`AppendRequest::previous` and `snapshot`) and the events as stored. If the
//! batch fails, the store
//! rolls back the batch's writes and goes through it again request by request, each in its own
//! savepoint with [`Projector::project`]: a request whose projection fails vanishes with its
//! events, other requests of the batch are untouched, and its caller gets the projector's error. Map database errors
//! with [`crate::store::db_error::map_db_error`], so that a unique violation (a taken `ref` or IATI
//! identifier) becomes [`StoreError::Duplicate`] naming the input field.
//!
//! The projector must write through `txn` only (never through another connection: it would not
//! see the uncommitted rows, and on SQLite it would wait for the write lock the store holds).

use std::future::Future;

use amanah_domain::aggregate::StreamKind;
use amanah_domain::ports::{BoxFuture, LatestState, Snapshot, StoreError, StoredEvent};
use amanah_domain::project::KnownTransaction;
use sea_orm::{DatabaseConnection, DatabaseTransaction};
use uuid::Uuid;

use crate::store::writes::Writes;

/// Reads the state a projector keeps of an aggregate, with its version (what
/// `EventStore::latest_state` answers); `None` when it keeps none for that stream, which then
/// has no events.
pub type StateReader = fn(
    DatabaseConnection,
    StreamKind,
    Uuid,
) -> BoxFuture<'static, Result<Option<LatestState>, StoreError>>;

/// Reads a project's transaction as a projector keeps it, with the project's version read in
/// the same snapshot (what `EventStore::kept_transaction` answers).
pub type TransactionReader =
    fn(DatabaseConnection, Uuid, Uuid) -> BoxFuture<'static, Result<KnownTransaction, StoreError>>;

/// One append request's part of a batch, as [`Projector::project_all`] receives it.
#[derive(Debug, Clone, Copy)]
pub struct Projection<'a> {
    /// The state before the events, as the read model holds it (`None` for a new stream).
    pub previous: Option<&'a Snapshot>,
    /// The state after them.
    pub snapshot: &'a Snapshot,
    /// The events as stored.
    pub events: &'a [StoredEvent],
}

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

    /// Projects several appends of one batch at once, each of a different stream, in queue
    /// order; by default one [`Self::project`] after the other. A projector writing tables
    /// overrides it to write all of them in a few statements. On an error the store rolls back
    /// what this wrote and projects the batch's appends one by one, so that only the append at
    /// fault fails.
    ///
    /// # Errors
    /// As [`Self::project`], for any of the appends.
    fn project_all(
        &self,
        txn: &DatabaseTransaction,
        projections: &[Projection<'_>],
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async move {
            for projection in projections {
                self.project(
                    txn,
                    projection.previous,
                    projection.snapshot,
                    projection.events,
                )
                .await?;
            }
            Ok(())
        }
    }

    /// Adds what [`Self::project_all`] would write to `writes` instead of writing it, when it
    /// can: the store then sends it with the batch's other writes, in fewer round trips. The
    /// writes go after the events', in one step with them as far as they allow
    /// ([`Writes::then`]). Returns `false` when it cannot (the default): the store then sends
    /// the events and calls [`Self::project_all`].
    ///
    /// # Errors
    /// As [`Self::project`], for rows that cannot be written at all.
    fn gather_all(
        &self,
        _projections: &[Projection<'_>],
        _writes: &mut Writes,
    ) -> Result<bool, StoreError> {
        Ok(false)
    }

    /// How to read back the aggregate states it writes, when it keeps them (written in the
    /// append transaction, they are the fold of exactly the committed events): commands then
    /// decide on them instead of folding whole streams. A projector that offers a reader keeps a
    /// state for every stream with events, so a stream without one is taken to have none (a
    /// creation reads once; the append still checks the version against the log). `None` by
    /// default.
    fn state_reader(&self) -> Option<StateReader> {
        None
    }

    /// How to read back a project's transaction, when it keeps transactions as rows written
    /// from their events, in the append transaction. `None` by default: the store's callers then
    /// fold the project's stream.
    fn transaction_reader(&self) -> Option<TransactionReader> {
        None
    }
}

/// A projector that writes nothing: the log alone, until the read model is plugged in.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProjection;

impl Projector for NoProjection {
    fn gather_all(
        &self,
        _projections: &[Projection<'_>],
        _writes: &mut Writes,
    ) -> Result<bool, StoreError> {
        Ok(true)
    }

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
