//! In-memory implementations of the ports, for tests that need a store but not a database: the
//! command service's own logic (versions, stale reads, rejections) is tested against
//! [`MemoryEventStore`] in `service.rs`, and any crate may use it the same way.
//!
//! It keeps the rules the port states and nothing more: an append is all or nothing; it is a
//! [`StoreError::Conflict`] when its stream is not at `expected_version`, a
//! [`StoreError::StaleRead`] when a stream it read moved on, a
//! [`StoreError::IdempotencyKeyTakenOver`] when its claim was taken over; indexes and stream
//! versions are gapless. It keeps no states beside the log (`KeptState::NotKept`), and no leaf
//! bytes (`canonical` is empty: encoding envelopes is the infrastructure's).

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use uuid::Uuid;

use crate::aggregate::StreamKind;
use crate::ports::{
    AppendOutcome, AppendRequest, EventStore, IdempotencyClaim, StoreError, StoredEvent,
};

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
