//! The ports: what the domain needs from the outside world, implemented by `amanah-infra`.
//!
//! Native `async fn` in traits (no `async_trait`); the futures are `Send` so that the API can run
//! them on a multi-threaded runtime.

use std::future::Future;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use amanah_audit::merkle::{Hash, ProofError};

use crate::aggregate::StreamKind;
use crate::errors::Cause;
use crate::query::{Page, Window};
use crate::values::FieldPath;

/// Who asked for a change: the verified token's claims, or a system actor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub sub: String,
    pub roles: Vec<String>,
    pub org: Option<Uuid>,
}

impl Actor {
    /// The actor of unauthenticated requests (until authentication lands, mutations run as it).
    #[must_use]
    pub fn anonymous() -> Self {
        Self::system("anonymous")
    }

    /// A system actor such as `system:demo` or `system:migration`.
    #[must_use]
    pub fn system(sub: &str) -> Self {
        Self {
            sub: sub.to_owned(),
            roles: Vec::new(),
            org: None,
        }
    }
}

/// Who, when and under which request a batch of events is appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventMetadata {
    pub actor: Actor,
    pub request_id: Option<String>,
    /// When the command was accepted, in UTC (stored with microsecond precision).
    pub occurred_at: DateTime<Utc>,
}

/// An event about to be appended: the store assigns its index, id and stream version.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// PascalCase event name, e.g. `ProjectRegistered`.
    pub event_type: String,
    /// The payload; integers and strings only (no floating-point numbers).
    pub data: serde_json::Value,
}

/// An event as recorded in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Global, gapless, 0-based position: the Merkle leaf index.
    pub index: u64,
    pub id: Uuid,
    pub stream: StreamKind,
    pub stream_id: Uuid,
    /// 1-based, gapless position inside the stream.
    pub stream_version: u64,
    pub event_type: String,
    pub occurred_at: DateTime<Utc>,
    pub actor: Actor,
    pub request_id: Option<String>,
    pub data: serde_json::Value,
    /// The exact leaf bytes (RFC 8785 JSON of the envelope), as stored.
    pub canonical: Vec<u8>,
}

/// The read-model state an append leaves behind, written in the same transaction as the events.
#[derive(Debug, Clone)]
pub enum Snapshot {
    Organisation(Box<crate::organisation::Organisation>),
    Project(Box<crate::project::Project>),
    Activity(Box<crate::activity::Activity>),
}

/// A stream version that a decision was based on: the decision holds only while that stream is
/// still at that version (0: the stream did not exist when it was read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamRead {
    pub stream: StreamKind,
    pub stream_id: Uuid,
    pub version: u64,
}

/// The idempotency key a keyed request holds while it runs (see `amanah_infra::store::idempotency`).
/// An append made under it succeeds only while the key still holds `token` — a retry takes the
/// key over, with a new token, when this holder looks dead — and records the indexes it
/// appended in the key, in the append's own transaction: what a retry reads to learn whether
/// the attempt landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    /// The caller's `sub`: keys belong to their subject.
    pub subject: String,
    /// The `Idempotency-Key` the client sent.
    pub key: String,
    /// Random, assigned by the server when this attempt claimed the key; never seen by clients.
    pub token: Uuid,
}

/// A stream's current state as the store keeps it ([`EventStore::latest_state`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestState {
    /// The stream's version: the number of its events the state folds.
    pub version: u64,
    /// The aggregate's state, as JSON (as [`Snapshot`] serialises it).
    pub state: String,
}

/// What the store keeps of a stream's current state ([`EventStore::latest_state`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeptState {
    /// The store keeps no states beside the log: the caller folds the stream.
    NotKept,
    /// The store keeps a state for every stream that has events, and has none for this one: the
    /// stream has no events (a creation needs no second read to learn that).
    Absent,
    /// The stream's state and version.
    Kept(LatestState),
}

/// One command's events for one stream, with optimistic concurrency.
#[derive(Debug, Clone)]
pub struct AppendRequest {
    pub stream: StreamKind,
    pub stream_id: Uuid,
    /// The stream version the command was decided against (0 for a new stream); a different
    /// current version is a [`StoreError::Conflict`].
    pub expected_version: u64,
    /// The other streams the decision read (facts of other aggregates, the participants an
    /// access rule looked at): each must still be at the version read when the append commits,
    /// checked in the append's transaction, or the append is a [`StoreError::StaleRead`]. This
    /// closes the window between reading another aggregate and appending.
    pub reads: Vec<StreamRead>,
    pub events: Vec<NewEvent>,
    pub metadata: EventMetadata,
    /// The aggregate's state after the events, for the read model.
    pub snapshot: Snapshot,
    /// Its state before them (`None` for a new stream): the read model holds it, so only the
    /// difference needs writing.
    pub previous: Option<Snapshot>,
    /// The idempotency key the request runs under, if it was sent with one: the append is a
    /// [`StoreError::IdempotencyKeyTakenOver`] when the key no longer holds the claim's token.
    pub idempotency_claim: Option<IdempotencyClaim>,
}

/// Where an append landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Global index of the first event appended.
    pub first_index: u64,
    /// Global index of the last event appended (the payload's `auditIndex`).
    pub last_index: u64,
    /// The stream's version after the append.
    pub stream_version: u64,
}

/// Why the store could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The stream moved on since the command was decided.
    #[error("expected version {expected} but the stream is at version {current}")]
    Conflict { expected: u64, current: u64 },
    /// Another stream the decision read moved on before the append committed.
    #[error(
        "{} {} changed while the change was decided (version {} read, now {current})",
        read.stream.as_str(), read.stream_id, read.version
    )]
    StaleRead { read: StreamRead, current: u64 },
    /// A uniqueness rule of the read model was violated (e.g. an IATI identifier already taken).
    #[error("{field} is already taken")]
    Duplicate {
        /// The input field whose value is taken, e.g. `iatiIdentifier` or `ref`.
        field: FieldPath,
    },
    /// The idempotency key the request ran under ([`AppendRequest::idempotency_claim`]) no
    /// longer holds its claim: a retry took it over (this attempt had looked dead), or it was
    /// settled. Nothing was appended.
    #[error("the idempotency key this request ran under was taken over by a retry")]
    IdempotencyKeyTakenOver,
    /// The database could not be reached or did not answer in time.
    #[error("the event store is unavailable: {message}")]
    Unavailable {
        message: String,
        /// The driver's error, when there is one.
        #[source]
        source: Option<Cause>,
    },
    /// Anything else; the message is for logs, never for clients.
    #[error("event store failure: {message}")]
    Internal {
        message: String,
        /// The error underneath (the driver's, a decoder's), when there is one.
        #[source]
        source: Option<Cause>,
    },
}

impl StoreError {
    /// An internal failure the store detected itself (a broken invariant): a message, no cause.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::Internal {
            message: message.into(),
            source: None,
        }
    }

    /// An internal failure `source` caused; `message` says what the store was doing.
    pub fn internal_from(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Internal {
            message: message.into(),
            source: Some(Cause::new(source)),
        }
    }

    /// The store cannot answer now (the database is unreachable, the sequencer stopped).
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::Unavailable {
            message: message.into(),
            source: None,
        }
    }

    /// The store cannot answer now because of `source`.
    pub fn unavailable_from(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Unavailable {
            message: message.into(),
            source: Some(Cause::new(source)),
        }
    }
}

/// The append-only event log.
pub trait EventStore: Send + Sync {
    /// The events of one stream in stream order; with `up_to_index`, only those whose global index is
    /// below it (the stream as the first `up_to_index` events of the log left it).
    fn load_stream(
        &self,
        stream: StreamKind,
        stream_id: Uuid,
        up_to_index: Option<u64>,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;

    /// The current state of a stream's aggregate, when the store keeps it beside the log (written
    /// in the same transaction as the stream's events, so it is the fold of exactly the events
    /// committed): what a command decides on without folding the whole stream again.
    /// [`KeptState::NotKept`] by default: the caller folds the stream then.
    ///
    /// A store that answers [`KeptState::Absent`] must keep a state for every stream with events,
    /// written in the events' transaction. The append checks the stream's version against the log
    /// itself, so a wrong `Absent` could only ever cost a `CONFLICT`, never a forked stream.
    fn latest_state(
        &self,
        stream: StreamKind,
        stream_id: Uuid,
    ) -> impl Future<Output = Result<KeptState, StoreError>> + Send {
        let _ = (stream, stream_id);
        std::future::ready(Ok(KeptState::NotKept))
    }

    /// Transaction `id` of project `project_id` as the store keeps it beside the log (rows
    /// written from the transactions' events in the events' transaction), read in one snapshot
    /// with the project's version; `Ok(None)` when the store keeps no such rows (the default):
    /// the caller folds the project's stream then. A project without rows is at version 0.
    fn kept_transaction(
        &self,
        project_id: Uuid,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<crate::project::KnownTransaction>, StoreError>> + Send
    {
        let _ = (project_id, id);
        std::future::ready(Ok(None))
    }

    /// Appends one command's events and updates the read model, atomically.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the stream is not at `expected_version`,
    /// [`StoreError::StaleRead`] when a stream of `reads` is not at the version read,
    /// [`StoreError::Duplicate`] when the snapshot breaks a uniqueness rule,
    /// [`StoreError::IdempotencyKeyTakenOver`] when the request's idempotency key no longer holds
    /// its claim; nothing is written then.
    fn append(
        &self,
        request: AppendRequest,
    ) -> impl Future<Output = Result<AppendOutcome, StoreError>> + Send;
}

/// A future a port returns where the port is used as a trait object (`Arc<dyn …>`): boxed, so
/// the trait stays object-safe, and `Send`.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A request to claim an idempotency key ([`IdempotencyKeys::claim`]).
#[derive(Debug, Clone, Copy)]
pub struct KeyRequest<'a> {
    /// The caller's `sub`: keys belong to their subject.
    pub subject: &'a str,
    /// The `Idempotency-Key` the client sent.
    pub key: &'a str,
    /// The hash of the request the key is sent with: the same key with another request is
    /// [`KeyClaim::Mismatch`].
    pub hash: &'a str,
    /// The request's id, kept with the claim for the logs only.
    pub request_id: &'a str,
    /// How long a key and its response are kept: an older key counts as unused.
    pub ttl: std::time::Duration,
    /// How long to wait for the same request still running elsewhere.
    pub wait: std::time::Duration,
}

/// What a claim of an idempotency key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyClaim {
    /// This claim won and holds the key: run the request with the claim in every append
    /// ([`AppendRequest::idempotency_claim`]), then [`IdempotencyKeys::complete`] or
    /// [`IdempotencyKeys::release`].
    Run(IdempotencyClaim),
    /// The same request ran before: this is its response body, the text as it was first sent
    /// (so that a replay is byte for byte the first answer, its fields in the same order).
    Replay(String),
    /// The key was used for a different request.
    Mismatch,
    /// The same request is still running elsewhere and did not finish within the wait.
    InProgress,
    /// The same request ran in a process that died after appending these events (global
    /// indexes, inclusive) and before storing its response; this claim took the key over (the
    /// dead holder can append no more). Answer with that, and store the answer with
    /// [`IdempotencyKeys::complete`] so that later retries replay it.
    Landed {
        first_index: u64,
        last_index: u64,
        claim: IdempotencyClaim,
    },
}

/// Idempotency keys of mutations (`Idempotency-Key`), shared by every replica: a keyed request
/// runs at most once per (subject, key) while the key is kept, and every retry gets its first
/// response. The event store checks the claim in each append's transaction
/// ([`StoreError::IdempotencyKeyTakenOver`]).
pub trait IdempotencyKeys: Send + Sync + std::fmt::Debug {
    /// Claims the key for a request (see [`KeyClaim`]).
    ///
    /// # Errors
    /// When the store fails.
    fn claim<'a>(&'a self, request: KeyRequest<'a>) -> BoxFuture<'a, Result<KeyClaim, StoreError>>;

    /// Tells other claims that the holder of `claim` is still running its request.
    ///
    /// # Errors
    /// When the store fails.
    fn heartbeat<'a>(
        &'a self,
        claim: &'a IdempotencyClaim,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Keeps `response`, the response body's text as it is sent, as the key's answer (replayed
    /// unchanged, [`KeyClaim::Replay`]); `false` when the key no longer holds `claim` (a retry
    /// took it over), and nothing was kept.
    ///
    /// # Errors
    /// When the store fails.
    fn complete<'a>(
        &'a self,
        claim: &'a IdempotencyClaim,
        response: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Gives the key up, so that the next attempt runs the request again (the request failed in
    /// a way a retry may fix).
    ///
    /// # Errors
    /// When the store fails.
    fn release<'a>(&'a self, claim: &'a IdempotencyClaim) -> BoxFuture<'a, Result<(), StoreError>>;
}

// ---------------------------------------------------------------------------------------------
// The audit log, for auditors: events, signed checkpoints and proofs.
// ---------------------------------------------------------------------------------------------

/// A signed checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub size: u64,
    pub root: Hash,
    /// The signed note, verbatim.
    pub note: String,
}

/// Why a proof or checkpoint could not be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditReadError {
    /// The size asked for is not the size of a signed checkpoint.
    #[error("no checkpoint was signed at tree size {0}")]
    NotSigned(u64),
    /// The index is not below the tree size.
    #[error("index {index} is not below the tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    /// The sizes do not make a consistency proof.
    #[error("{0}")]
    Proof(#[from] ProofError),
    /// Nothing has been signed yet.
    #[error("the log has no signed checkpoint yet")]
    NoCheckpoint,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Which events to list. `None` means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditEventFilter {
    pub stream: Option<StreamKind>,
    pub stream_id: Option<Uuid>,
    pub event_type: Option<String>,
    /// The actor's `sub`.
    pub actor: Option<String>,
    /// Inclusive lower bound of `occurredAt`.
    pub occurred_from: Option<DateTime<Utc>>,
    /// Inclusive upper bound of `occurredAt`.
    pub occurred_to: Option<DateTime<Utc>>,
    /// Inclusive lower bound of the index.
    pub index_from: Option<u64>,
    /// Inclusive upper bound of the index.
    pub index_to: Option<u64>,
}

impl AuditEventFilter {
    /// Whether `event` passes the filter: the same rule as the database adapter's query, for
    /// events that are already in memory (a subscription's). A stored event's `occurred_at` is
    /// in whole microseconds, as the log records it; the bounds are truncated to match.
    #[must_use]
    pub fn matches(&self, event: &StoredEvent) -> bool {
        let occurred_at = event.occurred_at;
        self.stream.is_none_or(|stream| stream == event.stream)
            && self.stream_id.is_none_or(|id| id == event.stream_id)
            && self
                .event_type
                .as_ref()
                .is_none_or(|event_type| *event_type == event.event_type)
            && self
                .actor
                .as_ref()
                .is_none_or(|sub| *sub == event.actor.sub)
            && self
                .occurred_from
                .is_none_or(|from| truncate_to_micros(from) <= occurred_at)
            && self
                .occurred_to
                .is_none_or(|to| occurred_at <= truncate_to_micros(to))
            && self.index_from.is_none_or(|from| from <= event.index)
            && self.index_to.is_none_or(|to| event.index <= to)
    }
}

/// `time` to whole microseconds (truncated, never rounded up), as the log records `occurredAt`.
#[must_use]
pub fn truncate_to_micros(time: DateTime<Utc>) -> DateTime<Utc> {
    chrono::SubsecRound::trunc_subsecs(time, 6)
}

/// An inclusion proof of one leaf (RFC 9162 §2.1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    /// The signed checkpoint the proof is against.
    pub checkpoint: StoredCheckpoint,
    /// The leaf's hash.
    pub leaf: Hash,
    /// The proof's hashes, from the leaf up.
    pub hashes: Vec<Hash>,
}

/// A consistency proof between two signed checkpoints (RFC 9162 §2.1.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyProof {
    /// The older checkpoint (the smaller tree).
    pub from: StoredCheckpoint,
    /// The newer checkpoint.
    pub to: StoredCheckpoint,
    /// The proof's hashes.
    pub hashes: Vec<Hash>,
}

/// The audit log as auditors read it (`docs/audit-log.md` §6): its events, filtered, in index
/// order; its signed checkpoints; inclusion and consistency proofs between them. Sizes are sizes
/// of signed checkpoints: a proof against a size never signed proves nothing to anyone.
pub trait AuditLog: Send + Sync + std::fmt::Debug {
    /// One window of the events matching `filter`, in index order, and how many match in all.
    ///
    /// # Errors
    /// When the store fails or a stored event does not decode.
    fn events<'a>(
        &'a self,
        filter: &'a AuditEventFilter,
        window: Window,
    ) -> BoxFuture<'a, Result<Page<StoredEvent>, StoreError>>;

    /// The signed checkpoint of `size`, or the latest.
    ///
    /// # Errors
    /// [`AuditReadError::NotSigned`], [`AuditReadError::NoCheckpoint`], store failures.
    fn signed_checkpoint(
        &self,
        size: Option<u64>,
    ) -> BoxFuture<'_, Result<StoredCheckpoint, AuditReadError>>;

    /// The inclusion proof of event `index` in the signed tree of `size`, or the latest.
    ///
    /// # Errors
    /// As [`signed_checkpoint`](Self::signed_checkpoint); [`AuditReadError::IndexOutOfRange`].
    fn inclusion_proof(
        &self,
        index: u64,
        size: Option<u64>,
    ) -> BoxFuture<'_, Result<InclusionProof, AuditReadError>>;

    /// The consistency proof from the signed tree of `from` to that of `to`, or the latest.
    ///
    /// # Errors
    /// As [`signed_checkpoint`](Self::signed_checkpoint); [`AuditReadError::Proof`] when the
    /// sizes make no proof.
    fn consistency_proof(
        &self,
        from: u64,
        to: Option<u64>,
    ) -> BoxFuture<'_, Result<ConsistencyProof, AuditReadError>>;
}
