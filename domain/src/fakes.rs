//! In-memory implementations of the ports, for tests that need a store but not a database: the
//! command service's own logic (versions, stale reads, rejections) is tested against
//! [`MemoryEventStore`] in `service.rs`, and other crates' tests use them with the `fakes` feature
//! (not compiled into the server);
//! [`MemoryIdempotencyKeys`] keeps idempotency keys, and [`check_idempotency_keys`] checks that
//! it and the database adapter keep the same rules; [`MemoryAuditLog`] serves checkpoints and
//! proofs computed from its leaves.
//!
//! It keeps the rules the port states and nothing more: an append is all or nothing; it is a
//! [`StoreError::Conflict`] when its stream is not at `expected_version`, a
//! [`StoreError::StaleRead`] when a stream it read moved on, a
//! [`StoreError::IdempotencyKeyTakenOver`] when its claim was taken over; indexes and stream
//! versions are gapless. It keeps no states beside the log (`KeptState::NotKept`), and no leaf
//! bytes (`canonical` is empty: encoding envelopes is the infrastructure's).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use uuid::Uuid;

use crate::aggregate::StreamKind;
use amanah_audit::merkle::{self, Hash, NodeId};

use crate::ports::{
    AppendOutcome, AppendRequest, AuditEventFilter, AuditLog, AuditReadError, BoxFuture,
    ConsistencyProof, EventStore, IdempotencyClaim, IdempotencyKeys, InclusionProof, KeyClaim,
    KeyRequest, StoreError, StoredCheckpoint, StoredEvent,
};
use crate::query::{Page, Window};

/// The log in a `Vec`, behind a lock.
#[derive(Debug, Default)]
pub struct MemoryEventStore {
    log: Mutex<Vec<StoredEvent>>,
    /// Claims a retry has taken over: appends under them fail.
    taken_over: Mutex<HashSet<Uuid>>,
    loads: AtomicUsize,
    appends: AtomicUsize,
}

impl MemoryEventStore {
    /// How many times a stream was read ([`EventStore::load_stream`]).
    pub fn loads(&self) -> usize {
        self.loads.load(Ordering::SeqCst)
    }

    /// How many appends were asked for, whether they succeeded or not.
    pub fn appends(&self) -> usize {
        self.appends.load(Ordering::SeqCst)
    }

    /// The whole log, in index order.
    pub fn events(&self) -> Vec<StoredEvent> {
        self.lock().clone()
    }

    /// A retry took `claim`'s key over: appends under it fail from now on.
    pub fn take_over(&self, claim: &IdempotencyClaim) {
        self.taken_over
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(claim.token);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<StoredEvent>> {
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn version_of(log: &[StoredEvent], stream: StreamKind, stream_id: Uuid) -> u64 {
    log.iter()
        .filter(|event| event.stream == stream && event.stream_id == stream_id)
        .count() as u64
}

impl EventStore for MemoryEventStore {
    async fn load_stream(
        &self,
        stream: StreamKind,
        stream_id: Uuid,
        up_to_index: Option<u64>,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        Ok(self
            .lock()
            .iter()
            .filter(|event| event.stream == stream && event.stream_id == stream_id)
            .filter(|event| up_to_index.is_none_or(|below| event.index < below))
            .cloned()
            .collect())
    }

    async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, StoreError> {
        self.appends.fetch_add(1, Ordering::SeqCst);
        if request.events.is_empty() {
            return Err(StoreError::internal("an append needs at least one event"));
        }
        let mut log = self.lock();
        let current = version_of(&log, request.stream, request.stream_id);
        if current != request.expected_version {
            return Err(StoreError::Conflict {
                expected: request.expected_version,
                current,
            });
        }
        for read in &request.reads {
            let now = version_of(&log, read.stream, read.stream_id);
            if now != read.version {
                return Err(StoreError::StaleRead {
                    read: *read,
                    current: now,
                });
            }
        }
        if let Some(claim) = &request.idempotency_claim
            && self
                .taken_over
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .contains(&claim.token)
        {
            return Err(StoreError::IdempotencyKeyTakenOver);
        }
        let first_index = log.len() as u64;
        for (offset, event) in request.events.into_iter().enumerate() {
            let offset = offset as u64;
            log.push(StoredEvent {
                index: first_index + offset,
                id: Uuid::now_v7(),
                stream: request.stream,
                stream_id: request.stream_id,
                stream_version: current + offset + 1,
                event_type: event.event_type,
                occurred_at: request.metadata.occurred_at,
                actor: request.metadata.actor.clone(),
                request_id: request.metadata.request_id.clone(),
                data: event.data,
                // The leaf bytes are the infrastructure's encoding (amanah-infra's envelope).
                canonical: Vec::new(),
            });
        }
        let last_index = log.len() as u64 - 1;
        Ok(AppendOutcome {
            first_index,
            last_index,
            stream_version: version_of(&log, request.stream, request.stream_id),
        })
    }
}

/// One log shared by several services, as processes share a database: what one appends, the
/// others' next reads and appends see.
impl EventStore for std::sync::Arc<MemoryEventStore> {
    async fn load_stream(
        &self,
        stream: StreamKind,
        stream_id: Uuid,
        up_to_index: Option<u64>,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.as_ref()
            .load_stream(stream, stream_id, up_to_index)
            .await
    }

    async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, StoreError> {
        self.as_ref().append(request).await
    }
}

/// Idempotency keys in a map, behind a lock: the rules of [`IdempotencyKeys`] within one process.
/// The first claim of a (subject, key) runs; a claim with another request's hash is a mismatch; a
/// completed key replays its response; a pending key is [`KeyClaim::InProgress`] at once (the
/// fake never waits). Its holders never die and its keys never expire, so it never answers
/// [`KeyClaim::Landed`]; those rules are the database adapter's, tested there.
#[derive(Debug, Default)]
pub struct MemoryIdempotencyKeys {
    /// Subject → key → the key's state.
    keys: Mutex<HeldKeys>,
}

type HeldKeys = HashMap<String, HashMap<String, HeldKey>>;

#[derive(Debug)]
struct HeldKey {
    hash: String,
    token: Uuid,
    response: Option<String>,
}

impl HeldKey {
    /// Whether `claim` holds this key, pending.
    fn is_held_by(&self, claim: &IdempotencyClaim) -> bool {
        self.token == claim.token && self.response.is_none()
    }
}

/// The key of `claim`, when `claim` still holds it, pending.
fn held_mut<'k>(keys: &'k mut HeldKeys, claim: &IdempotencyClaim) -> Option<&'k mut HeldKey> {
    keys.get_mut(&claim.subject)?
        .get_mut(&claim.key)
        .filter(|held| held.is_held_by(claim))
}

impl MemoryIdempotencyKeys {
    fn lock(&self) -> std::sync::MutexGuard<'_, HeldKeys> {
        self.keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl IdempotencyKeys for MemoryIdempotencyKeys {
    fn claim<'a>(&'a self, request: KeyRequest<'a>) -> BoxFuture<'a, Result<KeyClaim, StoreError>> {
        let mut keys = self.lock();
        let of_subject = keys.entry(request.subject.to_owned()).or_default();
        let outcome = match of_subject.get(request.key) {
            Some(held) if held.hash != request.hash => KeyClaim::Mismatch,
            Some(HeldKey {
                response: Some(response),
                ..
            }) => KeyClaim::Replay(response.clone()),
            Some(_) => KeyClaim::InProgress,
            None => {
                let token = Uuid::now_v7();
                of_subject.insert(
                    request.key.to_owned(),
                    HeldKey {
                        hash: request.hash.to_owned(),
                        token,
                        response: None,
                    },
                );
                KeyClaim::Run(IdempotencyClaim {
                    subject: request.subject.to_owned(),
                    key: request.key.to_owned(),
                    token,
                })
            }
        };
        Box::pin(std::future::ready(Ok(outcome)))
    }

    fn heartbeat<'a>(
        &'a self,
        _claim: &'a IdempotencyClaim,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(std::future::ready(Ok(())))
    }

    fn complete<'a>(
        &'a self,
        claim: &'a IdempotencyClaim,
        response: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let mut keys = self.lock();
        let stored =
            held_mut(&mut keys, claim).map(|held| held.response = Some(response.to_owned()));
        Box::pin(std::future::ready(Ok(stored.is_some())))
    }

    fn release<'a>(&'a self, claim: &'a IdempotencyClaim) -> BoxFuture<'a, Result<(), StoreError>> {
        let mut keys = self.lock();
        if let Some(of_subject) = keys.get_mut(&claim.subject)
            && of_subject
                .get(&claim.key)
                .is_some_and(|held| held.is_held_by(claim))
        {
            of_subject.remove(&claim.key);
        }
        Box::pin(std::future::ready(Ok(())))
    }
}

/// A rule of [`IdempotencyKeys`] that an implementation broke
/// ([`check_idempotency_keys`]).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BrokenRule(String);

/// Checks the rules every [`IdempotencyKeys`] keeps, on keys of `subject` that were never used:
/// the same sequence of calls runs against [`MemoryIdempotencyKeys`] and against the database
/// adapter, so that the fake behaves as the real store does.
///
/// # Errors
/// The first rule broken, or a store failure.
pub async fn check_idempotency_keys(
    keys: &dyn IdempotencyKeys,
    subject: &str,
) -> Result<(), BrokenRule> {
    let ttl = std::time::Duration::from_secs(3600);
    let request = |subject, key, hash| KeyRequest {
        subject,
        key,
        hash,
        request_id: "request-1",
        ttl,
        wait: std::time::Duration::ZERO,
    };
    let failed = |error: StoreError| BrokenRule(format!("the store failed: {error}"));
    let expect = |rule: &str, got: &KeyClaim, wanted: &KeyClaim| {
        if got == wanted {
            Ok(())
        } else {
            Err(BrokenRule(format!(
                "{rule}: expected {wanted:?}, got {got:?}"
            )))
        }
    };

    let first = keys
        .claim(request(subject, "key-1", "hash-a"))
        .await
        .map_err(failed)?;
    let KeyClaim::Run(held) = first else {
        return Err(BrokenRule(format!("a fresh key must run, got {first:?}")));
    };
    let again = keys
        .claim(request(subject, "key-1", "hash-a"))
        .await
        .map_err(failed)?;
    expect(
        "a pending key is in progress",
        &again,
        &KeyClaim::InProgress,
    )?;
    let other = keys
        .claim(request(subject, "key-1", "hash-b"))
        .await
        .map_err(failed)?;
    expect(
        "another request under a used key is a mismatch",
        &other,
        &KeyClaim::Mismatch,
    )?;
    let elsewhere = keys
        .claim(request("someone-else", "key-1", "hash-a"))
        .await
        .map_err(failed)?;
    if !matches!(elsewhere, KeyClaim::Run(_)) {
        return Err(BrokenRule(format!(
            "keys belong to their subject: another subject's key-1 must run, got {elsewhere:?}"
        )));
    }

    let stranger = IdempotencyClaim {
        token: Uuid::now_v7(),
        ..held.clone()
    };
    // Not in the alphabetical order of its keys: the text comes back as it was given.
    let response = r#"{"data":{"zebra":1,"answer":2}}"#;
    if keys.complete(&stranger, response).await.map_err(failed)? {
        return Err(BrokenRule(
            "a claim that does not hold the key must not complete it".to_owned(),
        ));
    }
    if !keys.complete(&held, response).await.map_err(failed)? {
        return Err(BrokenRule("the holder must complete its key".to_owned()));
    }
    let replay = keys
        .claim(request(subject, "key-1", "hash-a"))
        .await
        .map_err(failed)?;
    expect(
        "a completed key replays its response",
        &replay,
        &KeyClaim::Replay(response.to_owned()),
    )?;
    keys.release(&held).await.map_err(failed)?;
    let still = keys
        .claim(request(subject, "key-1", "hash-a"))
        .await
        .map_err(failed)?;
    expect(
        "a completed key cannot be released",
        &still,
        &KeyClaim::Replay(response.to_owned()),
    )?;

    let KeyClaim::Run(second) = keys
        .claim(request(subject, "key-2", "hash-a"))
        .await
        .map_err(failed)?
    else {
        return Err(BrokenRule("a fresh key-2 must run".to_owned()));
    };
    keys.heartbeat(&second).await.map_err(failed)?;
    keys.release(&second).await.map_err(failed)?;
    let rerun = keys
        .claim(request(subject, "key-2", "hash-a"))
        .await
        .map_err(failed)?;
    match rerun {
        KeyClaim::Run(third) if third.token != second.token => Ok(()),
        other => Err(BrokenRule(format!(
            "a released key runs again under a new claim, got {other:?}"
        ))),
    }
}

/// The audit log in memory: events appended with [`MemoryAuditLog::append`] become leaves (the
/// RFC 9162 leaf hash of their `canonical` bytes), [`MemoryAuditLog::sign`] signs a checkpoint of
/// the tree as it stands, and proofs are assembled with the same plans
/// ([`amanah_audit::merkle`]) the database adapter evaluates, from the same nodes it stores: the
/// complete subtrees each appended leaf completes. Sizes never signed are refused, as the port
/// requires.
#[derive(Debug)]
pub struct MemoryAuditLog {
    key: amanah_audit::note::SigningKey,
    log: Mutex<AuditMemory>,
}

#[derive(Debug, Default)]
struct AuditMemory {
    events: Vec<StoredEvent>,
    /// The tree's right edge: its size and root.
    range: merkle::CompactRange,
    /// Every complete subtree, as the database adapter stores them.
    nodes: BTreeMap<NodeId, Hash>,
    checkpoints: BTreeMap<u64, StoredCheckpoint>,
}

impl AuditMemory {
    fn assemble(&self, plan: &merkle::Plan) -> Result<Vec<Hash>, AuditReadError> {
        plan.assemble(|node| self.nodes.get(&node).copied())
            .ok_or_else(|| {
                AuditReadError::Store(StoreError::internal(
                    "the Merkle tree lacks a node a proof needs",
                ))
            })
    }

    fn leaf(&self, index: u64) -> Result<Hash, AuditReadError> {
        self.nodes
            .get(&NodeId { level: 0, index })
            .copied()
            .ok_or_else(|| {
                AuditReadError::Store(StoreError::internal(format!(
                    "the Merkle tree has no leaf {index}"
                )))
            })
    }

    fn checkpoint(&self, size: Option<u64>) -> Result<StoredCheckpoint, AuditReadError> {
        match size {
            Some(size) => self
                .checkpoints
                .get(&size)
                .cloned()
                .ok_or(AuditReadError::NotSigned(size)),
            None => self
                .checkpoints
                .last_key_value()
                .map(|(_, checkpoint)| checkpoint.clone())
                .ok_or(AuditReadError::NoCheckpoint),
        }
    }
}

impl MemoryAuditLog {
    /// An empty log whose checkpoints `key` signs (its name is the origin).
    #[must_use]
    pub fn new(key: amanah_audit::note::SigningKey) -> Self {
        Self {
            key,
            log: Mutex::new(AuditMemory::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, AuditMemory> {
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Appends `event` (at the next index; its `index` must be that) as a leaf.
    ///
    /// # Errors
    /// [`StoreError::Internal`] when `event.index` is not the next index.
    pub fn append(&self, event: StoredEvent) -> Result<(), StoreError> {
        let mut log = self.lock();
        if event.index != log.events.len() as u64 {
            return Err(StoreError::internal(format!(
                "event {} appended at index {}",
                event.index,
                log.events.len()
            )));
        }
        let completed = log.range.append(merkle::leaf_hash(&event.canonical));
        log.nodes.extend(completed);
        log.events.push(event);
        Ok(())
    }

    /// Signs a checkpoint of the tree as it stands.
    ///
    /// # Errors
    /// When the key cannot sign a checkpoint of its own name.
    pub fn sign(&self) -> Result<StoredCheckpoint, StoreError> {
        let mut log = self.lock();
        let (size, root) = (log.range.size(), log.range.root());
        let note = amanah_audit::checkpoint::Checkpoint::new(self.key.name(), size, root)
            .sign(&self.key)
            .map_err(|error| StoreError::internal_from("cannot sign the checkpoint", error))?;
        let checkpoint = StoredCheckpoint { size, root, note };
        log.checkpoints.insert(size, checkpoint.clone());
        Ok(checkpoint)
    }
}

impl AuditLog for MemoryAuditLog {
    fn events<'a>(
        &'a self,
        filter: &'a AuditEventFilter,
        window: Window,
    ) -> BoxFuture<'a, Result<Page<StoredEvent>, StoreError>> {
        let matching: Vec<StoredEvent> = self
            .lock()
            .events
            .iter()
            .filter(|event| filter.matches(event))
            .cloned()
            .collect();
        let start = usize::try_from(window.offset).unwrap_or(usize::MAX);
        let limit = usize::try_from(window.limit).unwrap_or(usize::MAX);
        let page = Page {
            total: matching.len() as u64,
            items: matching.into_iter().skip(start).take(limit).collect(),
        };
        Box::pin(std::future::ready(Ok(page)))
    }

    fn signed_checkpoint(
        &self,
        size: Option<u64>,
    ) -> BoxFuture<'_, Result<StoredCheckpoint, AuditReadError>> {
        Box::pin(std::future::ready(self.lock().checkpoint(size)))
    }

    fn inclusion_proof(
        &self,
        index: u64,
        size: Option<u64>,
    ) -> BoxFuture<'_, Result<InclusionProof, AuditReadError>> {
        let log = self.lock();
        let proof = log.checkpoint(size).and_then(|checkpoint| {
            if index >= checkpoint.size {
                return Err(AuditReadError::IndexOutOfRange {
                    index,
                    size: checkpoint.size,
                });
            }
            let leaf = log.leaf(index)?;
            let hashes = log.assemble(&merkle::inclusion_plan(index, checkpoint.size)?)?;
            Ok(InclusionProof {
                checkpoint,
                leaf,
                hashes,
            })
        });
        Box::pin(std::future::ready(proof))
    }

    fn consistency_proof(
        &self,
        from: u64,
        to: Option<u64>,
    ) -> BoxFuture<'_, Result<ConsistencyProof, AuditReadError>> {
        let log = self.lock();
        let proof = log.checkpoint(Some(from)).and_then(|old| {
            let new = log.checkpoint(to)?;
            let hashes = log.assemble(&merkle::consistency_plan(from, new.size)?)?;
            Ok(ConsistencyProof {
                from: old,
                to: new,
                hashes,
            })
        });
        Box::pin(std::future::ready(proof))
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use super::*;
    use crate::testing::run;

    #[test]
    fn the_memory_keys_keep_the_ports_rules() {
        let keys = MemoryIdempotencyKeys::default();
        if let Err(broken) = run(check_idempotency_keys(&keys, "alice")) {
            panic!("{broken}");
        }
    }

    /// The check fails an implementation that breaks a rule: one that keeps
    /// something other than the response it was given.
    #[test]
    fn the_check_catches_a_store_that_keeps_the_wrong_response() {
        #[derive(Debug, Default)]
        struct Garbling(MemoryIdempotencyKeys);
        impl IdempotencyKeys for Garbling {
            fn claim<'a>(
                &'a self,
                request: KeyRequest<'a>,
            ) -> BoxFuture<'a, Result<KeyClaim, StoreError>> {
                self.0.claim(request)
            }
            fn heartbeat<'a>(
                &'a self,
                claim: &'a IdempotencyClaim,
            ) -> BoxFuture<'a, Result<(), StoreError>> {
                self.0.heartbeat(claim)
            }
            fn complete<'a>(
                &'a self,
                claim: &'a IdempotencyClaim,
                _response: &'a str,
            ) -> BoxFuture<'a, Result<bool, StoreError>> {
                self.0.complete(claim, "null")
            }
            fn release<'a>(
                &'a self,
                claim: &'a IdempotencyClaim,
            ) -> BoxFuture<'a, Result<(), StoreError>> {
                self.0.release(claim)
            }
        }
        let Err(broken) = run(check_idempotency_keys(&Garbling::default(), "alice")) else {
            panic!("a store that keeps the wrong response passed the check");
        };
        assert!(
            broken
                .to_string()
                .contains("a completed key replays its response"),
            "{broken}"
        );
    }

    fn key() -> amanah_audit::note::SigningKey {
        amanah_audit::note::SigningKey::from_seed("amanah.test/audit", &[7; 32]).unwrap()
    }

    fn event(index: u64) -> StoredEvent {
        StoredEvent {
            index,
            id: Uuid::now_v7(),
            stream: crate::aggregate::StreamKind::Organisation,
            stream_id: Uuid::nil(),
            stream_version: index + 1,
            event_type: if index == 0 {
                "OrganisationRegistered"
            } else {
                "OrganisationRevised"
            }
            .to_owned(),
            occurred_at: chrono::Utc::now(),
            actor: crate::ports::Actor::system("test"),
            request_id: None,
            data: serde_json::json!({ "n": index }),
            canonical: format!("leaf {index}").into_bytes(),
        }
    }

    /// Checkpoints open with the key's verifier key, and every proof the fake serves verifies
    /// against them with the verifier crate.
    #[test]
    fn the_memory_audit_log_serves_proofs_that_verify() {
        let log = MemoryAuditLog::new(key());
        let mut signed = Vec::new();
        for index in 0..7 {
            log.append(event(index)).unwrap();
            if matches!(index, 1 | 4 | 6) {
                signed.push(log.sign().unwrap());
            }
        }
        for checkpoint in &signed {
            let opened =
                amanah_audit::checkpoint::Checkpoint::open(&checkpoint.note, &key().verifier_key())
                    .unwrap();
            assert_eq!(
                (opened.size, opened.root),
                (checkpoint.size, checkpoint.root)
            );
            for index in 0..checkpoint.size {
                let InclusionProof {
                    checkpoint: at,
                    leaf,
                    hashes: proof,
                } = run(log.inclusion_proof(index, Some(checkpoint.size))).unwrap();
                assert_eq!(at, *checkpoint);
                merkle::verify_inclusion(index, at.size, &leaf, &proof, &at.root).unwrap();
            }
        }
        let ConsistencyProof {
            from: old,
            to: new,
            hashes: proof,
        } = run(log.consistency_proof(2, None)).unwrap();
        assert_eq!((old.size, new.size), (2, 7));
        merkle::verify_consistency(2, 7, &proof, &old.root, &new.root).unwrap();
        // A wrong leaf does not verify: the check above can fail.
        let InclusionProof {
            checkpoint: at,
            hashes: proof,
            ..
        } = run(log.inclusion_proof(3, Some(5))).unwrap();
        assert!(
            merkle::verify_inclusion(3, 5, &merkle::leaf_hash(b"forged"), &proof, &at.root)
                .is_err()
        );
    }

    #[test]
    fn the_memory_audit_log_refuses_what_the_port_refuses() {
        let log = MemoryAuditLog::new(key());
        assert_eq!(
            run(log.signed_checkpoint(None)),
            Err(AuditReadError::NoCheckpoint)
        );
        for index in 0..3 {
            log.append(event(index)).unwrap();
        }
        assert!(
            log.append(event(7)).is_err(),
            "an index out of order is refused"
        );
        log.sign().unwrap();
        assert_eq!(
            run(log.signed_checkpoint(Some(2))),
            Err(AuditReadError::NotSigned(2))
        );
        assert_eq!(
            run(log.inclusion_proof(3, None)).map(|_| ()),
            Err(AuditReadError::IndexOutOfRange { index: 3, size: 3 })
        );
        let page = run(log.events(
            &AuditEventFilter {
                event_type: Some("OrganisationRevised".to_owned()),
                ..AuditEventFilter::default()
            },
            Window {
                offset: 1,
                limit: 5,
            },
        ))
        .unwrap();
        assert_eq!(page.total, 2);
        assert_eq!(
            page.items.iter().map(|e| e.index).collect::<Vec<_>>(),
            vec![2]
        );
    }
}
