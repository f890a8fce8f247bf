//! Following the log: every event from an index on, in index order, as it is committed — the
//! source of the GraphQL subscriptions.
//!
//! The database is the source of truth. A follower reads pages of committed events from its next
//! index; when it has caught up it waits for this process's next committed batch (taken directly
//! from the store's broadcast when it starts exactly at the next index, so local appends cost no
//! read) or for the log's size, which one task per process polls every
//! [`StoreConfig::follow_poll`](crate::StoreConfig::follow_poll) ([`FOLLOW_POLL`] by default) for
//! all followers together, to pass its next index — and reads again. Events that other replicas
//! append to a shared PostgreSQL database are therefore delivered within one poll interval, and
//! idle followers cost the database nothing but that one poll; none is skipped, since every read
//! starts at the next index of a gapless log.
//!
//! A follower buffers at most one page ([`FOLLOW_PAGE`] events) or one committed batch, however
//! far behind its consumer is: a slow subscriber reads from the database at its own pace.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use amanah_domain::ports::{StoreError, StoredEvent};
use futures::Stream;
use tokio::sync::{Semaphore, broadcast, watch};

use crate::store::event_store::{CommittedBatch, SqlEventStore};

/// How often, by default, a process looks for events appended by other processes (for all its
/// followers at once).
pub const FOLLOW_POLL: Duration = Duration::from_secs(1);

/// Events read per database round trip while catching up.
pub const FOLLOW_PAGE: u64 = 500;

struct Follower {
    store: SqlEventStore,
    committed: broadcast::Receiver<CommittedBatch>,
    size: watch::Receiver<u64>,
    next: u64,
    buffered: VecDeque<StoredEvent>,
    failed: bool,
    /// When set, each read of the log waits for one of these permits first.
    reads: Option<Arc<Semaphore>>,
}

impl Follower {
    /// Takes a locally committed batch when it continues exactly where the follower is;
    /// otherwise leaves it to the next read of the log.
    fn take(&mut self, batch: &CommittedBatch) {
        if batch.events.first().map(|event| event.index) == Some(self.next) {
            self.buffered.extend(batch.events.iter().cloned());
            self.next = batch.size;
        }
    }

    async fn next_event(&mut self) -> Option<Result<StoredEvent, StoreError>> {
        loop {
            if self.failed {
                return None;
            }
            if let Some(event) = self.buffered.pop_front() {
                return Some(Ok(event));
            }
            let permit = match &self.reads {
                Some(reads) => Some(reads.acquire().await.ok()?),
                None => None,
            };
            let read = self.store.read_range(self.next, FOLLOW_PAGE).await;
            drop(permit);
            match read {
                Ok(events) if !events.is_empty() => {
                    self.next = events.last().map_or(self.next, |event| event.index + 1);
                    self.buffered.extend(events);
                }
                Ok(_) => {
                    // Caught up: wait for a local commit or for the polled size to pass the next
                    // index. The receivers were made before the first read, so nothing is missed.
                    let next = self.next;
                    let (local, poller_alive) = tokio::select! {
                        received = self.committed.recv() => (received.ok(), true),
                        changed = self.size.wait_for(|size| *size > next) => (None, changed.is_ok()),
                    };
                    if !poller_alive {
                        return None; // the store is shutting down
                    }
                    if let Some(batch) = local {
                        // Taken when contiguous; otherwise (lagged, or another process's events
                        // first) the next read catches up from the log.
                        self.take(&batch);
                    }
                }
                Err(error) => {
                    self.failed = true;
                    return Some(Err(error));
                }
            }
        }
    }
}

/// Every event of `store`'s log from index `from` on, in index order, waiting for new ones as
/// they are committed (by this process or, within one poll interval, by another). A read failure
/// is the stream's last item.
///
/// # Panics
/// Outside a Tokio runtime (the first follower starts the store's size poller).
pub fn follow(
    store: &SqlEventStore,
    from: u64,
) -> impl Stream<Item = Result<StoredEvent, StoreError>> + Send + 'static {
    follow_with(store, from, None)
}

/// As [`follow`], with each read of the log taking one of `reads`' permits while it runs, so that
/// many followers share a bounded part of the connection pool. (A closed semaphore ends the
/// stream.)
///
/// # Panics
/// Outside a Tokio runtime.
pub fn follow_limited(
    store: &SqlEventStore,
    from: u64,
    reads: Arc<Semaphore>,
) -> impl Stream<Item = Result<StoredEvent, StoreError>> + Send + 'static {
    follow_with(store, from, Some(reads))
}

fn follow_with(
    store: &SqlEventStore,
    from: u64,
    reads: Option<Arc<Semaphore>>,
) -> impl Stream<Item = Result<StoredEvent, StoreError>> + Send + 'static {
    let follower = Follower {
        reads,
        committed: store.subscribe(),
        size: store.size_watch(),
        store: store.clone(),
        next: from,
        buffered: VecDeque::new(),
        failed: false,
    };
    futures::stream::unfold(follower, |mut follower| async move {
        let item = follower.next_event().await?;
        Some((item, follower))
    })
}
