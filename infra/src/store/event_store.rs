//! The event store: the audit log in SQL, behind the domain's [`EventStore`] port.
//!
//! # Appending: one sequencer per process, group commit
//! [`SqlEventStore::append`] does not touch the database itself. It queues the request for the
//! process's single *sequencer* task and waits for its answer. The sequencer takes the next
//! request plus whatever else is already queued (at most [`StoreConfig::max_batch`]) and commits
//! them all in one transaction:
//!
//! 1. lock the log head (PostgreSQL: `SELECT size FROM log_head WHERE id = 1 FOR UPDATE`, which
//!    serialises every replica's appends, so index order equals commit order; SQLite:
//!    `BEGIN IMMEDIATE` has already taken the database's single write lock);
//! 2. check each request: its stream at the expected version and every stream the decision read
//!    ([`AppendRequest::reads`]) still at the version read, in one lookup (a stream the request
//!    creates is taken to be new: the events' unique key refuses it otherwise); assign the next
//!    global indexes and stream versions, build each envelope and its canonical bytes;
//! 3. write the accepted requests' events, their read-model changes ([`Projector`]), the Merkle
//!    nodes, the signed checkpoint and the head's new size, gathered ([`Writes`]; on PostgreSQL
//!    one statement), and commit — one disk flush for the whole batch. Should that fail (a
//!    request broke a rule of the read model, say), the batch is written again request by
//!    request, each in its own savepoint, so that only the request at fault fails (with
//!    [`StoreError::Conflict`], [`StoreError::StaleRead`], [`StoreError::Duplicate`] or the
//!    projector's error). A request made under an idempotency key
//!    ([`AppendRequest::idempotency_claim`]) first records its indexes in the key's row, which
//!    must still hold its claim token, else it alone fails with
//!    [`StoreError::IdempotencyKeyTakenOver`] (`idempotency::record_append`);
//! 4. only then answer each request, and publish the committed events to subscribers.
//!
//! [`SqlEventStore::begin_holding_append_lock`] takes the same lock for work that must read the
//! whole log and keep appends out until it commits (`amanah replay`).
//!
//! A failed commit fails every request that had succeeded in the batch (requests that had already
//! failed keep their own error). When a connection dies during `COMMIT` the outcome is unknown to
//! the store; the caller sees [`StoreError::Unavailable`] and a retry with the same expected
//! version answers the question (a `Conflict` means the first attempt landed).
//!
//! Dropping an `append` future after it was queued does not withdraw the request: it may still
//! be committed.
//!
//! # Reading
//! Reads go straight to the pool. Every event is served by decoding its stored leaf bytes, never
//! re-derived from columns. Because appends are serialised by the head lock and commit in index
//! order, every committed state of the log is a prefix: a reader never sees a hole.

use amanah_domain::errors::Chain;
use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use amanah_domain::aggregate::StreamKind;
use amanah_domain::ports::{
    AppendOutcome, AppendRequest, EventStore, KeptState, StoreError, StoredEvent, StreamRead,
    truncate_to_micros,
};
use amanah_domain::project::KnownTransaction;
use futures::FutureExt as _;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, IsolationLevel,
    QueryResult, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait, Value,
};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tracing::Instrument as _;
use uuid::Uuid;

use crate::audit::tree as audit_tree;
use crate::envelope;
use crate::read_model::projection::{
    NoProjection, Projection, Projector, StateReader, TransactionReader,
};
use crate::store::database::{self, DatabaseSetupError};
use crate::store::db_error::map_internal_db_error;
use crate::store::idempotency;
use crate::store::sql::{from_db_int, query_bound, statement, to_db_int};
use crate::store::writes::{ColumnType, Writes};
use amanah_audit::merkle::CompactRange;
use amanah_audit::note::SigningKey;

/// Default for [`StoreConfig::queue_capacity`].
pub const DEFAULT_QUEUE_CAPACITY: usize = 1024;

/// Default for [`StoreConfig::max_batch`].
pub const DEFAULT_MAX_BATCH: usize = 256;

/// The most events one [`SqlEventStore::read_range`] call returns, whatever limit it is given:
/// bounds the memory of one call (export and replay page through the log instead).
pub const MAX_READ_LIMIT: u64 = 10_000;

/// How many committed batches a [`SqlEventStore::subscribe`] receiver may fall behind before it
/// starts missing some (it is then told how many it lagged, and can catch up with `read_range`).
/// Kept small because a slow subscriber makes the channel hold that many batches in memory.
pub const COMMITTED_CHANNEL_CAPACITY: usize = 128;

/// Tuning of the append path.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Append requests that may wait for the sequencer. When the queue is full, `append` waits for
    /// room: back-pressure on callers instead of unbounded memory when the database is slow.
    pub queue_capacity: usize,
    /// The most requests committed in one transaction. Larger batches amortise the commit's disk
    /// flush over more requests, but hold the log head (and, on SQLite, the write lock) longer
    /// and make every request of the batch wait for the slowest.
    pub max_batch: usize,
    /// Signs one checkpoint per committed batch (`audit-log.md` §3). The server always has one;
    /// without it the tree is still maintained but nothing is signed (tests of the log alone).
    pub checkpoint_signer: Option<Arc<SigningKey>>,
    /// Whether appends extend the Merkle tree and, with a signer, sign checkpoints; `true` by
    /// default, and the server never turns it off. `false` is for benchmarks that measure what
    /// the tree costs (`infra/examples/append_bench.rs`): batches then write the events and the
    /// head only, no tree nodes and no checkpoint (the signer is unused, since signing needs the
    /// tree's root), so the events appended meanwhile have no proofs. The log stays sound: the
    /// next batch appended with the tree maintained first adds the missing leaves from the
    /// stored events (all of them in one read, so meant for small gaps), then signs the root of
    /// the whole log.
    pub maintain_tree: bool,
    /// How often the process looks at the log's size for events other processes (replicas)
    /// appended, on behalf of all its followers together ([`crate::store::follow`]); its own commits
    /// reach them at once.
    pub follow_poll: Duration,
    /// The pool the sequencer writes through ([`database::writer_pool`]: connections of its own,
    /// so that a batch never waits for a pooled connection behind the reads of the requests it is
    /// about to answer). `None`: the store's own pool.
    pub writer: Option<database::WriterPool>,
    /// On SQLite, how the WAL is checkpointed: in the background, and by the sequencer between
    /// two batches once the WAL has grown long ([`database::WalCheckpoints`]).
    pub wal_checkpoints: database::WalCheckpoints,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            writer: None,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            max_batch: DEFAULT_MAX_BATCH,
            checkpoint_signer: None,
            maintain_tree: true,
            follow_poll: crate::store::follow::FOLLOW_POLL,
            wal_checkpoints: database::WalCheckpoints::default(),
        }
    }
}

/// Counters of the append path since the store started (for metrics and tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppendStats {
    /// Transactions the sequencer ran (one per batch).
    pub batches: u64,
    /// Append requests the sequencer handled, whatever their outcome.
    pub requests: u64,
    /// Requests whose events were committed.
    pub appended_requests: u64,
    /// Events committed.
    pub events: u64,
    /// Batches that failed as a whole (begin, head lock or commit failed, or the batch panicked).
    pub failed_batches: u64,
    /// SQL statements the batches sent, from `BEGIN` to `COMMIT`.
    pub statements: u64,
    /// Batches written request by request after their set-based write failed (a request of
    /// theirs broke a uniqueness rule of the read model, say) or could not be used.
    pub batches_one_by_one: u64,
}

#[derive(Debug, Default)]
struct Counters {
    batches: AtomicU64,
    requests: AtomicU64,
    appended_requests: AtomicU64,
    events: AtomicU64,
    failed_batches: AtomicU64,
    statements: AtomicU64,
    batches_one_by_one: AtomicU64,
}

/// The log's size and its last event.
#[derive(Debug, Clone, PartialEq)]
pub struct LogHead {
    /// Number of events (the next index).
    pub size: u64,
    /// The event at index `size - 1`, when the log is not empty.
    pub last: Option<StoredEvent>,
}

/// Events this process just committed, in index order, published after the commit.
#[derive(Debug, Clone)]
pub struct CommittedBatch {
    /// The events of the batch's successful requests.
    pub events: Arc<[StoredEvent]>,
    /// The log size after the batch.
    pub size: u64,
}

/// A batch's place in the sequence. The sequencer starts a batch when the one before sends its
/// `COMMIT` (on PostgreSQL; on SQLite when it is done), so two can be under way: the later one's
/// request for the head's lock then waits in the database until the earlier one commits, and
/// batches take the lock, hence their indexes, in the order they were started. Holding the lock,
/// a batch waits for the one before to be done — answered, its tree edge kept, its events
/// published — before it reads that edge, and it is done itself only after that one, so
/// answers and broadcasts keep the log's order.
struct Turn {
    /// Resolves when the batch before is done (`None` once waited for, or for the first batch).
    previous: Option<oneshot::Receiver<()>>,
    /// Tells the sequencer that this batch will lock and write nothing more (it is about to send
    /// `COMMIT`, or roll back); dropped unsent when the batch ends otherwise, which says the same.
    committing: Option<oneshot::Sender<()>>,
    /// The tree's edge the batch before left, once taken (after the head's lock).
    known: Option<Option<CompactRange>>,
}

impl Turn {
    async fn wait_for_previous(&mut self) {
        if let Some(previous) = self.previous.take() {
            // An error only means that batch's task ended without a word: it is done too.
            let _ = previous.await;
        }
    }

    fn committing(&mut self) {
        if let Some(committing) = self.committing.take() {
            let _ = committing.send(());
        }
    }

    /// The edge taken, if any.
    fn known(&self) -> Option<CompactRange> {
        self.known.clone().flatten()
    }
}

/// One queued append and where its answer goes.
struct Job {
    request: AppendRequest,
    reply: oneshot::Sender<Result<AppendOutcome, StoreError>>,
    /// The caller's span, linked from the batch span that commits the request.
    span: tracing::Span,
}

/// What a batch transaction wrote: the log size before and after, and the Merkle tree's right
/// edge after (when the sequencer maintains the tree and knows it).
struct Written {
    start: u64,
    end: u64,
    frontier: Option<CompactRange>,
}

/// A request's appended events and where they landed.
struct Appended {
    outcome: AppendOutcome,
    events: Vec<StoredEvent>,
}

/// The SQL event store (SQLite or PostgreSQL). Cheap to clone: clones share the sequencer.
#[derive(Clone)]
pub struct SqlEventStore {
    db: DatabaseConnection,
    jobs: mpsc::Sender<Job>,
    counters: Arc<Counters>,
    committed: broadcast::Sender<CommittedBatch>,
    /// The log size as last polled, shared by every follower; started by the first of them.
    size_watch: Arc<OnceLock<watch::Receiver<u64>>>,
    follow_poll: Duration,
    /// Reads the aggregate states the projector keeps ([`EventStore::latest_state`]).
    state_reader: Option<StateReader>,
    transaction_reader: Option<TransactionReader>,
}

impl std::fmt::Debug for SqlEventStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlEventStore")
            .field("backend", &self.db.get_database_backend())
            .field("queued_requests", &self.queued_requests())
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl SqlEventStore {
    /// Starts a store over `db` without a read model ([`NoProjection`]) and default tuning.
    ///
    /// # Panics
    /// Outside a Tokio runtime (the sequencer is a spawned task).
    #[must_use]
    pub fn new(db: DatabaseConnection) -> Self {
        Self::start(db, StoreConfig::default(), NoProjection)
    }

    /// Starts a store over `db`: spawns its sequencer task, which writes the read model with
    /// `projector`. The sequencer stops when the last clone of the store is dropped, after the
    /// requests already queued.
    ///
    /// `db` must be migrated ([`database::migrate`]).
    ///
    /// # Panics
    /// Outside a Tokio runtime (the sequencer is a spawned task).
    #[must_use]
    pub fn start<P: Projector>(db: DatabaseConnection, config: StoreConfig, projector: P) -> Self {
        let (jobs, queue) = mpsc::channel(config.queue_capacity.max(1));
        let counters = Arc::new(Counters::default());
        let (committed, _) = broadcast::channel(COMMITTED_CHANNEL_CAPACITY);
        let state_reader = projector.state_reader();
        let transaction_reader = projector.transaction_reader();
        let sqlite = db.get_database_backend() == DbBackend::Sqlite;
        let sequencer = Sequencer {
            db: config
                .writer
                .as_ref()
                .map_or_else(|| db.clone(), |writer| writer.connection().clone()),
            read_committed_sessions: config.writer.is_some(),
            projector,
            signer: config.checkpoint_signer.clone(),
            maintain_tree: config.maintain_tree,
            frontier: std::sync::Mutex::new(None),
            max_batch: config.max_batch.max(1),
            counters: Arc::clone(&counters),
            committed: committed.clone(),
            wal_checkpoints: sqlite.then(|| config.wal_checkpoints.clone()),
        };
        tokio::spawn(sequencer.run(queue));
        if sqlite {
            // Until every handle of the store is gone, as the sequencer.
            let store = jobs.downgrade();
            tokio::spawn(database::checkpoint_wal(
                db.clone(),
                config.wal_checkpoints,
                move || store.upgrade().is_some(),
            ));
        }
        Self {
            db,
            jobs,
            counters,
            committed,
            size_watch: Arc::new(OnceLock::new()),
            follow_poll: config.follow_poll,
            state_reader,
            transaction_reader,
        }
    }

    /// Connects to `url` ([`database::connect`]) and starts a store without a read model. Does
    /// not migrate.
    ///
    /// # Errors
    /// [`DatabaseSetupError`] when the database cannot be opened.
    pub async fn connect(url: &str) -> Result<Self, DatabaseSetupError> {
        Ok(Self::new(database::connect(url).await?))
    }

    /// The connection pool the store reads with.
    #[must_use]
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Counters of the append path so far.
    #[must_use]
    pub fn stats(&self) -> AppendStats {
        let counters = &self.counters;
        AppendStats {
            batches: counters.batches.load(Ordering::Relaxed),
            requests: counters.requests.load(Ordering::Relaxed),
            appended_requests: counters.appended_requests.load(Ordering::Relaxed),
            events: counters.events.load(Ordering::Relaxed),
            failed_batches: counters.failed_batches.load(Ordering::Relaxed),
            statements: counters.statements.load(Ordering::Relaxed),
            batches_one_by_one: counters.batches_one_by_one.load(Ordering::Relaxed),
        }
    }

    /// Append requests waiting for the sequencer (not counting the batch being committed).
    #[must_use]
    pub fn queued_requests(&self) -> usize {
        self.jobs.max_capacity() - self.jobs.capacity()
    }

    /// Receives every batch this process commits from now on. Appends by other processes
    /// (other replicas) are not seen here: poll [`Self::size`] for those.
    #[must_use]
    pub fn subscribe(&self) -> broadcast::Receiver<CommittedBatch> {
        self.committed.subscribe()
    }

    /// The log's size as one task of this process polls it every [`StoreConfig::follow_poll`],
    /// for every follower at once: a change means events appended, possibly by another process.
    /// The task starts with the first call and stops once the store and every receiver are gone.
    ///
    /// # Panics
    /// Outside a Tokio runtime (the poller is a spawned task).
    #[must_use]
    pub fn size_watch(&self) -> watch::Receiver<u64> {
        self.size_watch
            .get_or_init(|| {
                let (sender, receiver) = watch::channel(0);
                tokio::spawn(poll_size(self.db.clone(), sender, self.follow_poll));
                receiver
            })
            .clone()
    }

    /// The number of events in the log.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Internal`] when the database fails.
    #[tracing::instrument(skip_all)]
    pub async fn size(&self) -> Result<u64, StoreError> {
        read_head_size(&self.db, false).await
    }

    /// The log's size and last event, consistent with each other.
    ///
    /// # Errors
    /// As [`Self::size`].
    #[tracing::instrument(skip_all)]
    pub async fn head(&self) -> Result<LogHead, StoreError> {
        let size = self.size().await?;
        let last = match size.checked_sub(1) {
            // Committed events never change, so reading the last one separately is consistent.
            Some(last_index) => self.read_range(last_index, 1).await?.pop(),
            None => None,
        };
        Ok(LogHead { size, last })
    }

    /// Up to `limit` events (at most [`MAX_READ_LIMIT`]) from index `from_index` on, in index
    /// order: for export, replay and the auditors' views.
    ///
    /// # Errors
    /// As [`Self::size`]; [`StoreError::Internal`] when a stored envelope does not decode.
    #[tracing::instrument(skip_all, fields(from_index = from_index, limit = limit))]
    pub async fn read_range(
        &self,
        from_index: u64,
        limit: u64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        read_range_in(&self.db, from_index, limit).await
    }

    /// Begins a transaction that holds the log's append lock, the one every batch of appends
    /// takes (by any process): PostgreSQL locks the log head row (`FOR UPDATE`, under READ
    /// COMMITTED), SQLite starts with `BEGIN IMMEDIATE` (the database's one write lock). Until the
    /// transaction ends no append commits, and what it reads is the whole committed log; returns
    /// the transaction and the log's size.
    ///
    /// Appends wait meanwhile: on PostgreSQL for as long as it takes, on SQLite for
    /// [`database::SQLITE_BUSY_TIMEOUT`], after which they fail as unavailable. Keep it short.
    ///
    /// # Errors
    /// As [`Self::size`].
    #[tracing::instrument(skip_all)]
    pub async fn begin_holding_append_lock(
        &self,
    ) -> Result<(DatabaseTransaction, u64), StoreError> {
        let txn = begin_append_transaction(&self.db, false).await?;
        let size = read_head_size(&txn, true).await?;
        Ok((txn, size))
    }
}

/// Up to `limit` events (at most [`MAX_READ_LIMIT`]) from index `from_index` on, in index order,
/// read through `db` (the pool, or a transaction).
///
/// # Errors
/// As [`SqlEventStore::read_range`].
pub async fn read_range_in<C: ConnectionTrait>(
    db: &C,
    from_index: u64,
    limit: u64,
) -> Result<Vec<StoredEvent>, StoreError> {
    let (Ok(from), Ok(limit)) = (
        i64::try_from(from_index),
        i64::try_from(limit.min(MAX_READ_LIMIT)),
    ) else {
        return Ok(Vec::new());
    };
    let rows = db
        .query_all_raw(statement(
            db.get_database_backend(),
            "SELECT idx, canonical FROM events WHERE idx >= ? ORDER BY idx LIMIT ?",
            [from.into(), limit.into()],
        ))
        .await
        .map_err(map_internal_db_error)?;
    rows.iter().map(decode_row).collect()
}

/// Begins the transaction of an append batch (or of anything else that must exclude appends),
/// with the write lock taken at once on SQLite; on PostgreSQL the caller then locks the log head
/// with `read_head_size(txn, true)`.
///
/// READ COMMITTED whatever the server's default: under it `FOR UPDATE` waits for the previous
/// holder and then reads the row it committed; stricter levels would fail with a serialization
/// error instead. When `db`'s sessions run at READ COMMITTED already (`read_committed_sessions`),
/// the `BEGIN` is not followed by a `SET TRANSACTION`: one round trip a batch fewer.
async fn begin_append_transaction(
    db: &DatabaseConnection,
    read_committed_sessions: bool,
) -> Result<DatabaseTransaction, StoreError> {
    let options = TransactionOptions {
        isolation_level: (db.get_database_backend() == DbBackend::Postgres
            && !read_committed_sessions)
            .then_some(IsolationLevel::ReadCommitted),
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    };
    db.begin_with_options(options)
        .await
        .map_err(map_internal_db_error)
}

impl EventStore for SqlEventStore {
    async fn latest_state(
        &self,
        stream: StreamKind,
        stream_id: Uuid,
    ) -> Result<KeptState, StoreError> {
        // The projector writes a stream's state with its events, in their transaction: a
        // projector that keeps states and has none for a stream says the stream has no events.
        match self.state_reader {
            Some(read) => Ok(match read(self.db.clone(), stream, stream_id).await? {
                Some(latest) => KeptState::Kept(latest),
                None => KeptState::Absent,
            }),
            None => Ok(KeptState::NotKept),
        }
    }

    async fn kept_transaction(
        &self,
        project_id: Uuid,
        id: Uuid,
    ) -> Result<Option<KnownTransaction>, StoreError> {
        match self.transaction_reader {
            Some(read) => read(self.db.clone(), project_id, id).await.map(Some),
            None => Ok(None),
        }
    }

    #[tracing::instrument(
        skip_all,
        fields(stream = stream.as_str(), %stream_id, up_to_index = ?up_to_index)
    )]
    async fn load_stream(
        &self,
        stream: StreamKind,
        stream_id: Uuid,
        up_to_index: Option<u64>,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let backend = self.db.get_database_backend();
        let mut values: Vec<Value> = vec![stream.as_str().into(), stream_id.to_string().into()];
        let mut sql =
            "SELECT idx, canonical FROM events WHERE stream = ? AND stream_id = ?".to_owned();
        if let Some(up_to_index) = up_to_index {
            sql.push_str(" AND idx < ?");
            values.push(query_bound(up_to_index));
        }
        sql.push_str(" ORDER BY stream_version");
        let rows = self
            .db
            .query_all_raw(statement(backend, &sql, values))
            .await
            .map_err(map_internal_db_error)?;
        rows.iter().map(decode_row).collect()
    }

    #[tracing::instrument(
        skip_all,
        fields(
            stream = request.stream.as_str(),
            stream_id = %request.stream_id,
            expected_version = request.expected_version,
            events = request.events.len(),
        )
    )]
    async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, StoreError> {
        if request.events.is_empty() {
            return Err(StoreError::internal(
                "an append request needs at least one event",
            ));
        }
        let (reply, answer) = oneshot::channel();
        let job = Job {
            request,
            reply,
            span: tracing::Span::current(),
        };
        self.jobs
            .send(job)
            .await
            .map_err(|_| StoreError::unavailable("the append sequencer has stopped"))?;
        answer.await.map_err(|_| {
            StoreError::internal("the append sequencer failed while committing the request")
        })?
    }
}

/// The single writer of a process: commits queued appends in batches.
struct Sequencer<P> {
    db: DatabaseConnection,
    /// `db` is a [`database::WriterPool`], whose sessions run transactions at READ COMMITTED
    /// already (on PostgreSQL; SQLite has no isolation levels to set).
    read_committed_sessions: bool,
    projector: P,
    signer: Option<Arc<SigningKey>>,
    maintain_tree: bool,
    max_batch: usize,
    counters: Arc<Counters>,
    committed: broadcast::Sender<CommittedBatch>,
    /// The Merkle tree's right edge as this sequencer's last batch committed it: the next batch
    /// extends it without reading the stored edge, unless another replica appended meanwhile.
    frontier: std::sync::Mutex<Option<CompactRange>>,
    /// SQLite's WAL checkpoints, whose requests the sequencer answers between two batches.
    wal_checkpoints: Option<database::WalCheckpoints>,
}

impl<P: Projector> Sequencer<P> {
    /// Takes batches from `queue` in turn. On PostgreSQL the next batch starts as soon as the
    /// last one sends its `COMMIT`: its `BEGIN` and its request for the head's lock are then on
    /// their way while the last one's flush is, and the lock is granted the moment that commits
    /// (see [`Turn`]). On SQLite, whose single write lock a waiting `BEGIN IMMEDIATE` would only
    /// poll for, a batch starts when the last one is done.
    async fn run(self, mut queue: mpsc::Receiver<Job>) {
        let overlapped = self.db.get_database_backend() == DbBackend::Postgres;
        let sequencer = Arc::new(self);
        let mut previous: Option<oneshot::Receiver<()>> = None;
        loop {
            let mut batch = Vec::with_capacity(sequencer.max_batch);
            // Waits for one request, then takes whatever else is already queued.
            if queue.recv_many(&mut batch, sequencer.max_batch).await == 0 {
                break; // every store handle is gone
            }
            let (committing, committing_now) = oneshot::channel();
            let (done, done_now) = oneshot::channel::<()>();
            let turn = Turn {
                previous: previous.take(),
                committing: Some(committing),
                known: None,
            };
            let task = tokio::spawn({
                let sequencer = Arc::clone(&sequencer);
                async move {
                    sequencer.take_turn(batch, turn).await;
                    drop(done);
                }
            });
            if overlapped {
                // Sent before its COMMIT, or dropped when the batch ended without one.
                let _ = committing_now.await;
            } else {
                let _ = task.await;
                sequencer.checkpoint_wal_if_asked().await;
            }
            previous = Some(done_now);
        }
        if let Some(last) = previous {
            let _ = last.await;
        }
    }

    /// On SQLite, between two batches, checkpoints the WAL when the background checkpoint asks,
    /// so that the next batch starts it over ([`database::WalCheckpoints`]). The last batch's
    /// callers have their answers already.
    async fn checkpoint_wal_if_asked(&self) {
        if let Some(checkpoints) = &self.wal_checkpoints
            && checkpoints.take_restart_request()
            && let Err(error) = database::checkpoint_wal_between_writes(&self.db).await
        {
            tracing::warn!(
                error = %amanah_domain::errors::Chain(&error),
                "the SQLite WAL could not be checkpointed between two batches"
            );
        }
    }

    /// Commits `jobs` as one batch in its `turn`; when it is done, so is every batch before it.
    async fn take_turn(&self, jobs: Vec<Job>, mut turn: Turn) {
        // A panic (in a projector, say) fails its batch — the transaction is rolled back when
        // dropped and its callers are answered with an error — but not the sequencer: later
        // appends still work.
        if AssertUnwindSafe(self.commit_batch(jobs, &mut turn))
            .catch_unwind()
            .await
            .is_err()
        {
            self.counters.failed_batches.fetch_add(1, Ordering::Relaxed);
            tracing::error!("an append batch panicked; its requests failed");
        }
        turn.wait_for_previous().await;
    }

    async fn commit_batch(&self, jobs: Vec<Job>, turn: &mut Turn) {
        let span = tracing::info_span!(
            "append_batch",
            requests = jobs.len(),
            appended = tracing::field::Empty,
            size = tracing::field::Empty,
            statements = tracing::field::Empty,
        );
        for job in &jobs {
            span.follows_from(&job.span);
        }
        let requests: Vec<&AppendRequest> = jobs.iter().map(|job| &job.request).collect();
        let mut outcomes = Vec::with_capacity(requests.len());
        let (written, statements) = crate::store::statements::counted(
            self.write_batch(&requests, &mut outcomes, turn)
                .instrument(span.clone()),
        )
        .await;
        span.record("statements", statements);

        let counters = &self.counters;
        counters.statements.fetch_add(statements, Ordering::Relaxed);
        counters.batches.fetch_add(1, Ordering::Relaxed);
        counters
            .requests
            .fetch_add(jobs.len() as u64, Ordering::Relaxed);
        match written {
            Ok(size) => {
                let mut committed = Vec::new();
                let mut appended = 0;
                for (job, outcome) in jobs.into_iter().zip(outcomes) {
                    let answer = outcome.map(|done| {
                        appended += 1;
                        committed.extend(done.events);
                        done.outcome
                    });
                    // The caller may have given up waiting; the append stands regardless.
                    let _ = job.reply.send(answer);
                }
                span.record("appended", appended);
                span.record("size", size);
                counters
                    .appended_requests
                    .fetch_add(appended, Ordering::Relaxed);
                counters
                    .events
                    .fetch_add(committed.len() as u64, Ordering::Relaxed);
                if !committed.is_empty() {
                    // No subscriber is not an error.
                    let _ = self.committed.send(CommittedBatch {
                        events: committed.into(),
                        size,
                    });
                }
            }
            Err(error) => {
                counters.failed_batches.fetch_add(1, Ordering::Relaxed);
                span.in_scope(|| tracing::warn!(error = %Chain(&error), "append batch failed"));
                let mut outcomes = outcomes.into_iter();
                for job in jobs {
                    let answer = match outcomes.next() {
                        Some(Err(own_error)) => own_error,
                        _ => error.clone(),
                    };
                    let _ = job.reply.send(Err(answer));
                }
            }
        }
    }

    /// Runs one batch transaction; fills `outcomes` (one per request, in order, as far as it got)
    /// and returns the log size after the commit.
    ///
    /// A batch of several requests is first written set-based ([`Self::write_together`]): its
    /// checks in memory, its events and read-model rows in a few multi-row statements. Should that
    /// fail (a unique violation in the read model, say), the transaction is rolled back and the
    /// batch is written again in a new one, request by request, each in its own savepoint
    /// ([`Self::write_one_by_one`]), so that only the request at fault fails; when the database
    /// is unavailable, the batch fails as a whole instead of trying again. Both give each
    /// request the answer it would get alone, in queue order. (No savepoint around the set-based
    /// attempt: that is two round trips a batch saved, for a second `BEGIN` when it fails.)
    async fn write_batch(
        &self,
        requests: &[&AppendRequest],
        outcomes: &mut Vec<Result<Appended, StoreError>>,
        turn: &mut Turn,
    ) -> Result<u64, StoreError> {
        if requests.len() > 1 {
            let txn = begin_append_transaction(&self.db, self.read_committed_sessions).await?;
            let attempt = async {
                let start = self.lock_head(&txn, turn).await?;
                let mut writes = Writes::new(txn.get_database_backend());
                match self
                    .write_together(&txn, requests, start, outcomes, &mut writes)
                    .await?
                {
                    Some(next) => self
                        .seal(&txn, start, next, turn.known(), outcomes, writes)
                        .await
                        .map(Some),
                    None => Ok(None),
                }
            };
            let attempt = attempt.await;
            if let Ok(Some(written)) = attempt {
                return self.finish(txn, written, turn).await;
            }
            let _ = txn.rollback().await;
            outcomes.clear();
            match attempt {
                // A database that cannot be reached now will not be reached by a second
                // transaction either: every request of the batch hears this.
                Err(error @ StoreError::Unavailable { .. }) => return Err(error),
                Err(error) => tracing::debug!(
                    error = %Chain(&error),
                    "the set-based batch failed; writing it request by request"
                ),
                Ok(_) => {}
            }
            self.counters
                .batches_one_by_one
                .fetch_add(1, Ordering::Relaxed);
        }
        let txn = begin_append_transaction(&self.db, self.read_committed_sessions).await?;
        let written = async {
            let start = self.lock_head(&txn, turn).await?;
            let next = self
                .write_one_by_one(&txn, requests, start, outcomes)
                .await?;
            let writes = Writes::new(txn.get_database_backend());
            self.seal(&txn, start, next, turn.known(), outcomes, writes)
                .await
        };
        match written.await {
            Ok(written) => self.finish(txn, written, turn).await,
            Err(error) => {
                let _ = txn.rollback().await;
                Err(error)
            }
        }
    }

    /// Grows the Merkle tree by the batch's events (from `known`, the edge the last committed
    /// batch left, when it is still the log's) and moves the head from `start` to `next`;
    /// sends `writes` (what the batch gathered before) with the tree's nodes, the checkpoint and
    /// the head's move: on PostgreSQL, one statement after the last `Writes::then`.
    async fn seal(
        &self,
        txn: &DatabaseTransaction,
        start: u64,
        next: u64,
        known: Option<CompactRange>,
        outcomes: &[Result<Appended, StoreError>],
        mut writes: Writes,
    ) -> Result<Written, StoreError> {
        if next == start {
            return Ok(Written {
                start,
                end: next,
                frontier: known,
            });
        }
        let mut frontier = None;
        if self.maintain_tree {
            let appended: Vec<&StoredEvent> = outcomes
                .iter()
                .filter_map(|outcome| outcome.as_ref().ok())
                .flat_map(|done| done.events.iter())
                .collect();
            frontier = Some(
                audit_tree::extend(
                    txn,
                    start,
                    known,
                    &appended,
                    self.signer.as_deref(),
                    &mut writes,
                )
                .await?,
            );
        }
        // In the same step as the events: the head's check runs when the statement is done
        // (m0013; SQLite sends the parts one by one, in order).
        writes.push(
            "UPDATE log_head SET size = ? WHERE id = 1".to_owned(),
            vec![to_db_int(next)?.into()],
        );
        writes.send(txn).await.map_err(map_internal_db_error)?;
        Ok(Written {
            start,
            end: next,
            frontier,
        })
    }

    /// Commits what a batch wrote, or rolls back when nothing was appended; keeps the tree's edge;
    /// returns the log size after.
    async fn finish(
        &self,
        txn: DatabaseTransaction,
        written: Written,
        turn: &mut Turn,
    ) -> Result<u64, StoreError> {
        // Nothing more to lock or write: the next batch may start.
        turn.committing();
        if written.start == written.end {
            // Nothing to write (every request failed): no need for a commit and its flush.
            let _ = txn.rollback().await;
        } else {
            txn.commit()
                .instrument(tracing::info_span!("db.commit"))
                .await
                .map_err(map_internal_db_error)?;
        }
        self.keep_frontier(written.frontier);
        Ok(written.end)
    }

    /// Locks the head in `txn` and returns the log's size. The first time in a turn, it then
    /// waits for the batch before to be done (holding the lock, this one knows that batch
    /// committed or failed) and takes the tree's edge it left: taken, not read, so that whatever
    /// happens to this batch, the edge is known again only if it commits.
    async fn lock_head(
        &self,
        txn: &DatabaseTransaction,
        turn: &mut Turn,
    ) -> Result<u64, StoreError> {
        let start = read_head_size(txn, true).await?;
        if turn.known.is_none() {
            turn.wait_for_previous().await;
            turn.known = Some(self.take_frontier());
        }
        Ok(start)
    }

    fn take_frontier(&self) -> Option<CompactRange> {
        self.frontier
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    fn keep_frontier(&self, frontier: Option<CompactRange>) {
        *self
            .frontier
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = frontier;
    }

    /// Appends each request in its own savepoint, from index `start`; returns the next index.
    async fn write_one_by_one(
        &self,
        txn: &DatabaseTransaction,
        requests: &[&AppendRequest],
        start: u64,
        outcomes: &mut Vec<Result<Appended, StoreError>>,
    ) -> Result<u64, StoreError> {
        let mut next = start;
        for request in requests {
            let savepoint = txn.begin().await.map_err(map_internal_db_error)?;
            match append_request(&savepoint, &self.projector, request, next).await {
                Ok(appended) => {
                    savepoint.commit().await.map_err(map_internal_db_error)?;
                    next = appended.outcome.last_index + 1;
                    outcomes.push(Ok(appended));
                }
                Err(error) => {
                    savepoint.rollback().await.map_err(map_internal_db_error)?;
                    outcomes.push(Err(error));
                }
            }
        }
        Ok(next)
    }

    /// Appends the batch set-based, from index `start`, inside `txn`: one
    /// statement reads the version of every stream the batch writes or read; the version and
    /// stale-read checks run in memory, in queue order, against those versions as the earlier
    /// requests move them; the accepted requests' events go in multi-row inserts and the read
    /// model is written for all of them at once. Both are gathered in `writes`, which
    /// [`Self::seal`] sends with the tree's nodes, unless the projector writes at once
    /// ([`Projector::gather_all`]): then the events are sent first and it writes
    /// ([`Projector::project_all`]). A request under an idempotency key records its indexes
    /// (one statement each) as before.
    ///
    /// Returns the next index, or `None` when the batch must be written request by request
    /// instead: two accepted requests write the same stream (the second one's projection starts
    /// from the first one's), which happens only when a batch holds a chain of commands.
    async fn write_together(
        &self,
        txn: &DatabaseTransaction,
        requests: &[&AppendRequest],
        start: u64,
        outcomes: &mut Vec<Result<Appended, StoreError>>,
        writes: &mut Writes,
    ) -> Result<Option<u64>, StoreError> {
        // A stream created here (expected at version 0) is not looked up unless a decision read
        // it: it is taken to be at 0. Were it not (an id that is already a stream's), its first
        // event would break the events' unique key and the batch would be written request by
        // request, where the lookup finds the conflict. A batch of creations alone reads nothing.
        let keys: Vec<(StreamKind, Uuid)> = requests
            .iter()
            .filter(|request| request.expected_version != 0)
            .map(|request| (request.stream, request.stream_id))
            .chain(requests.iter().flat_map(|request| {
                request
                    .reads
                    .iter()
                    .map(|read| (read.stream, read.stream_id))
            }))
            .collect();
        let mut versions = stream_versions(txn, &keys).await?;
        let version_of = |versions: &HashMap<(StreamKind, Uuid), u64>, stream, id| {
            versions.get(&(stream, id)).copied().unwrap_or(0)
        };
        let mut written: HashSet<(StreamKind, Uuid)> = HashSet::new();
        let mut next = start;
        for request in requests {
            let current = version_of(&versions, request.stream, request.stream_id);
            let stale = request.reads.iter().find_map(|read| {
                let now = version_of(&versions, read.stream, read.stream_id);
                (now != read.version).then_some((*read, now))
            });
            let refused = if current != request.expected_version {
                Some(StoreError::Conflict {
                    expected: request.expected_version,
                    current,
                })
            } else {
                stale.map(|(read, current)| StoreError::StaleRead { read, current })
            };
            if let Some(refused) = refused {
                // Alone, a request under a taken-over key hears that first, whatever else holds.
                let answer = match &request.idempotency_claim {
                    Some(claim) if !idempotency::holds_claim(txn, claim).await? => {
                        StoreError::IdempotencyKeyTakenOver
                    }
                    _ => refused,
                };
                outcomes.push(Err(answer));
                continue;
            }
            if !written.insert((request.stream, request.stream_id)) {
                return Ok(None);
            }
            let count = request.events.len() as u64;
            if let Some(claim) = &request.idempotency_claim {
                match idempotency::record_append(txn, claim, next, next + count - 1).await {
                    Ok(()) => {}
                    Err(StoreError::IdempotencyKeyTakenOver) => {
                        written.remove(&(request.stream, request.stream_id));
                        outcomes.push(Err(StoreError::IdempotencyKeyTakenOver));
                        continue;
                    }
                    Err(error) => return Err(error),
                }
            }
            let events = stored_events(request, next, current)?;
            versions.insert((request.stream, request.stream_id), current + count);
            outcomes.push(Ok(Appended {
                outcome: AppendOutcome {
                    first_index: next,
                    last_index: next + count - 1,
                    stream_version: current + count,
                },
                events,
            }));
            next += count;
        }
        let accepted: Vec<(&AppendRequest, &Appended)> = requests
            .iter()
            .zip(outcomes.iter())
            .filter_map(|(request, outcome)| Some((*request, outcome.as_ref().ok()?)))
            .collect();
        let events: Vec<&StoredEvent> = accepted
            .iter()
            .flat_map(|(_, appended)| appended.events.iter())
            .collect();
        push_events(writes, &events)?;
        let projections: Vec<Projection<'_>> = accepted
            .iter()
            .map(|(request, appended)| Projection {
                previous: request.previous.as_ref(),
                snapshot: &request.snapshot,
                events: &appended.events,
            })
            .collect();
        if !self.projector.gather_all(&projections, writes)? {
            // A projector that writes now, on what is in the tables: the events first.
            std::mem::replace(writes, Writes::new(txn.get_database_backend()))
                .send(txn)
                .await
                .map_err(map_internal_db_error)?;
            self.projector.project_all(txn, &projections).await?;
        }
        Ok(Some(next))
    }
}

/// The columns of `events`, in the order [`push_events`] gives their values.
const EVENT_COLUMNS: [(&str, ColumnType); 10] = [
    ("idx", ColumnType::BigInt),
    ("id", ColumnType::Text),
    ("stream", ColumnType::Text),
    ("stream_id", ColumnType::Text),
    ("stream_version", ColumnType::BigInt),
    ("event_type", ColumnType::Text),
    ("occurred_at", ColumnType::Text),
    ("actor_sub", ColumnType::Text),
    ("request_id", ColumnType::Text),
    ("canonical", ColumnType::Bytes),
];

/// Adds the insert of `events` to `writes` ([`Writes::push_rows`]).
fn push_events(writes: &mut Writes, events: &[&StoredEvent]) -> Result<(), StoreError> {
    let mut rows = Vec::with_capacity(events.len());
    for event in events {
        rows.push(vec![
            to_db_int(event.index)?.into(),
            event.id.to_string().into(),
            event.stream.as_str().into(),
            event.stream_id.to_string().into(),
            to_db_int(event.stream_version)?.into(),
            event.event_type.clone().into(),
            envelope::format_occurred_at(event.occurred_at).into(),
            event.actor.sub.clone().into(),
            event.request_id.clone().into(),
            event.canonical.clone().into(),
        ]);
    }
    writes
        .push_rows("events", &EVENT_COLUMNS, rows)
        .map_err(StoreError::internal)
}

/// Inserts events ([`push_events`]).
async fn insert_events(
    txn: &DatabaseTransaction,
    events: &[&StoredEvent],
) -> Result<(), StoreError> {
    let mut writes = Writes::new(txn.get_database_backend());
    push_events(&mut writes, events)?;
    writes.send(txn).await.map_err(map_internal_db_error)
}

/// The events of `request` as stored from global index `first_index`, on a stream at version
/// `current`: ids, versions, the one instant they all carry, and their canonical bytes.
fn stored_events(
    request: &AppendRequest,
    first_index: u64,
    current: u64,
) -> Result<Vec<StoredEvent>, StoreError> {
    // Truncated once, here, so that the row, the bytes and the answer all carry the same instant.
    let occurred_at = truncate_to_micros(request.metadata.occurred_at);
    let mut events = Vec::with_capacity(request.events.len());
    for (offset, new_event) in (0_u64..).zip(&request.events) {
        let mut event = StoredEvent {
            index: first_index + offset,
            id: Uuid::now_v7(),
            stream: request.stream,
            stream_id: request.stream_id,
            stream_version: current + 1 + offset,
            event_type: new_event.event_type.clone(),
            occurred_at,
            actor: request.metadata.actor.clone(),
            request_id: request.metadata.request_id.clone(),
            data: new_event.data.clone(),
            canonical: Vec::new(),
        };
        event.canonical = envelope::encode(&event).map_err(|error| {
            StoreError::internal_from(
                format!("event {} cannot be recorded", event.event_type),
                error,
            )
        })?;
        events.push(event);
    }
    Ok(events)
}

/// Appends one request's events at `first_index` and projects them, inside `txn` (a savepoint).
async fn append_request<P: Projector>(
    txn: &DatabaseTransaction,
    projector: &P,
    request: &AppendRequest,
    first_index: u64,
) -> Result<Appended, StoreError> {
    // First: an attempt whose idempotency key was taken over appends nothing, whatever else
    // holds. Under the head lock, in the savepoint: the record is undone with the request if a
    // later check fails, and a retry's takeover is ordered before or after this whole append.
    if let Some(claim) = &request.idempotency_claim {
        let last_index = first_index + (request.events.len() as u64).saturating_sub(1);
        idempotency::record_append(txn, claim, first_index, last_index).await?;
    }
    let current = stream_version(txn, request.stream, request.stream_id).await?;
    if current != request.expected_version {
        return Err(StoreError::Conflict {
            expected: request.expected_version,
            current,
        });
    }
    // Under the head lock no other writer runs, so what is checked here holds at the commit.
    if let Some((read, current)) = first_stale_read(txn, &request.reads).await? {
        return Err(StoreError::StaleRead { read, current });
    }
    let events = stored_events(request, first_index, current)?;
    insert_events(txn, &events.iter().collect::<Vec<_>>()).await?;
    projector
        .project(txn, request.previous.as_ref(), &request.snapshot, &events)
        .await?;
    let count = events.len() as u64;
    Ok(Appended {
        outcome: AppendOutcome {
            first_index,
            last_index: first_index + count - 1,
            stream_version: current + count,
        },
        events,
    })
}

/// The stream's current version (0 for a stream with no events).
async fn stream_version(
    txn: &DatabaseTransaction,
    stream: StreamKind,
    stream_id: Uuid,
) -> Result<u64, StoreError> {
    let row = txn
        .query_one_raw(statement(
            txn.get_database_backend(),
            "SELECT COALESCE(MAX(stream_version), 0) FROM events WHERE stream = ? AND stream_id = ?",
            [stream.as_str().into(), stream_id.to_string().into()],
        ))
        .await
        .map_err(map_internal_db_error)?
        .ok_or_else(|| StoreError::internal("no answer for the stream version"))?;
    from_db_int(row.try_get_by_index(0).map_err(map_internal_db_error)?)
}

/// Publishes the log's size into `sender` every `interval` (only when it grew) until nobody
/// listens.
async fn poll_size(db: DatabaseConnection, sender: watch::Sender<u64>, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if sender.is_closed() {
            return;
        }
        match read_head_size(&db, false).await {
            Ok(size) => {
                sender.send_if_modified(|known| {
                    let grew = size > *known;
                    if grew {
                        *known = size;
                    }
                    grew
                });
            }
            Err(error) => {
                tracing::warn!(error = %Chain(&error), "could not poll the log size for followers")
            }
        }
    }
}

/// The first of `reads` whose stream is no longer at the version read, with its current version;
/// all of them looked up in one statement (this runs under the log's write lock).
async fn first_stale_read(
    txn: &DatabaseTransaction,
    reads: &[StreamRead],
) -> Result<Option<(StreamRead, u64)>, StoreError> {
    let keys: Vec<(StreamKind, Uuid)> = reads
        .iter()
        .map(|read| (read.stream, read.stream_id))
        .collect();
    let versions = stream_versions(txn, &keys).await?;
    Ok(reads
        .iter()
        .map(|read| {
            let current = versions
                .get(&(read.stream, read.stream_id))
                .copied()
                .unwrap_or(0);
            (*read, current)
        })
        .find(|(read, current)| *current != read.version))
}

/// Streams one version lookup names at most (two bound values each).
const STREAMS_PER_LOOKUP: usize = 256;

/// The current version of each of `streams` that has events (a stream without any is at 0 and
/// has no entry), in one statement per 256 streams.
///
/// Each stream's version is its own `MAX` over the events' unique key, one index descent
/// whatever the stream's length. (A `GROUP BY` over `(stream = ? AND stream_id = ?) OR …` read
/// every event of every stream named: a batch of commands on long-lived projects cost more with
/// each event they had, on both engines.)
async fn stream_versions(
    txn: &DatabaseTransaction,
    streams: &[(StreamKind, Uuid)],
) -> Result<HashMap<(StreamKind, Uuid), u64>, StoreError> {
    let mut distinct: Vec<(StreamKind, Uuid)> = streams.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let mut versions = HashMap::with_capacity(distinct.len());
    for chunk in distinct.chunks(STREAMS_PER_LOOKUP) {
        let keys = vec!["(?, ?)"; chunk.len()].join(", ");
        let values = chunk
            .iter()
            .flat_map(|(stream, id)| [stream.as_str().into(), id.to_string().into()]);
        let rows = txn
            .query_all_raw(statement(
                txn.get_database_backend(),
                &format!(
                    "WITH asked (stream, stream_id) AS (VALUES {keys}) \
                     SELECT asked.stream, asked.stream_id, (SELECT MAX(events.stream_version) \
                     FROM events WHERE events.stream = asked.stream \
                     AND events.stream_id = asked.stream_id) FROM asked"
                ),
                values,
            ))
            .await
            .map_err(map_internal_db_error)?;
        let asked: HashMap<(&str, String), (StreamKind, Uuid)> = chunk
            .iter()
            .map(|&(kind, id)| ((kind.as_str(), id.to_string()), (kind, id)))
            .collect();
        for row in &rows {
            let stream: String = row.try_get_by_index(0).map_err(map_internal_db_error)?;
            let stream_id: String = row.try_get_by_index(1).map_err(map_internal_db_error)?;
            let max: Option<i64> = row.try_get_by_index(2).map_err(map_internal_db_error)?;
            let Some(max) = max else {
                continue; // no events: at 0, no entry
            };
            let version = from_db_int(max)?;
            let key = asked.get(&(stream.as_str(), stream_id)).ok_or_else(|| {
                StoreError::internal(format!("a version for a {stream} stream not asked for"))
            })?;
            versions.insert(*key, version);
        }
    }
    Ok(versions)
}

/// Reads `log_head.size`; with `lock`, on PostgreSQL, locks the row until the transaction ends.
async fn read_head_size<C: ConnectionTrait>(db: &C, lock: bool) -> Result<u64, StoreError> {
    let backend = db.get_database_backend();
    let sql = if lock && backend == DbBackend::Postgres {
        "SELECT size FROM log_head WHERE id = 1 FOR UPDATE"
    } else {
        "SELECT size FROM log_head WHERE id = 1"
    };
    let row = db
        .query_one_raw(Statement::from_string(backend, sql))
        .await
        .map_err(map_internal_db_error)?
        .ok_or_else(|| {
            StoreError::internal("the log head row is missing: is the database migrated?")
        })?;
    from_db_int(row.try_get_by_index(0).map_err(map_internal_db_error)?)
}

/// An event from its `(idx, canonical)` row, checking that the two agree.
fn decode_row(row: &QueryResult) -> Result<StoredEvent, StoreError> {
    let idx: i64 = row.try_get_by_index(0).map_err(map_internal_db_error)?;
    let canonical: Vec<u8> = row.try_get_by_index(1).map_err(map_internal_db_error)?;
    let event = envelope::decode(&canonical).map_err(|error| {
        StoreError::internal_from(format!("the event at index {idx} does not decode"), error)
    })?;
    if i64::try_from(event.index) != Ok(idx) {
        return Err(StoreError::internal(format!(
            "the event stored at index {idx} says it is at index {}",
            event.index
        )));
    }
    Ok(event)
}
