//! Counts the SQL statements a process sends and the time they take, through sea-orm's metric
//! callback: every statement of the pool, inside transactions too.
//!
//! The counts are what `/metrics` shows (`amanah_sql_statements_total`,
//! `amanah_sql_statement_seconds_total`). Statements are also counted per request: [`counted`]
//! runs a request's future with a counter of its own, which every statement sent from that task
//! adds to — and from the tasks it has spawned with [`spawn_counted`] (the batch loaders), so that
//! a batched read counts for the request that started the batch. Background work (the tree
//! copy's refresh, the log's size poll) counts for no request.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sea_orm::DatabaseConnection;
use tracing::Instrument as _;

tokio::task_local! {
    /// The statements of the request whose task this is.
    static REQUEST: Arc<AtomicU64>;
}

/// Runs `future` counting the statements it sends (see the module documentation); returns its
/// output and the count.
pub async fn counted<F: Future>(future: F) -> (F::Output, u64) {
    let count = Arc::new(AtomicU64::new(0));
    let output = REQUEST.scope(Arc::clone(&count), future).await;
    (output, count.load(Ordering::Relaxed))
}

/// Spawns `future` on the Tokio runtime, counting its statements for the request of the calling
/// task, if any, and inside the calling task's current span (so that its spans belong to the
/// request's trace).
pub fn spawn_counted<F>(future: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let future = future.instrument(tracing::Span::current());
    match REQUEST.try_with(Arc::clone) {
        Ok(count) => tokio::spawn(REQUEST.scope(count, future)),
        Err(_) => tokio::spawn(future),
    }
}

/// The statements sent through the connections it was installed on.
#[derive(Debug, Default)]
pub struct StatementCounter {
    statements: AtomicU64,
    failed: AtomicU64,
    micros: AtomicU64,
}

/// A reading of a [`StatementCounter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatementCounts {
    pub statements: u64,
    pub failed: u64,
    /// Time spent in them, summed, in microseconds.
    pub micros: u64,
}

impl StatementCounter {
    /// A counter of every statement `db` (and every clone of it made afterwards) sends.
    #[must_use]
    pub fn install(db: &mut DatabaseConnection) -> Arc<Self> {
        let counter = Arc::new(Self::default());
        counter.attach(db);
        counter
    }

    /// Counts the statements `db` (and every clone of it made afterwards) sends, too: for a
    /// second pool of the same process.
    pub fn attach(self: &Arc<Self>, db: &mut DatabaseConnection) {
        let counting = Arc::clone(self);
        db.set_metric_callback(move |info| {
            counting.statements.fetch_add(1, Ordering::Relaxed);
            // The request being served, if any, counts it too.
            let _ = REQUEST.try_with(|request| request.fetch_add(1, Ordering::Relaxed));
            if info.failed {
                counting.failed.fetch_add(1, Ordering::Relaxed);
            }
            let micros = u64::try_from(info.elapsed.as_micros()).unwrap_or(u64::MAX);
            counting.micros.fetch_add(micros, Ordering::Relaxed);
        });
    }

    /// The counts so far.
    #[must_use]
    pub fn read(&self) -> StatementCounts {
        StatementCounts {
            statements: self.statements.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            micros: self.micros.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use sea_orm::{ConnectionTrait as _, Statement};

    use super::*;

    #[tokio::test]
    async fn every_statement_of_every_clone_is_counted() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/s.db?mode=rwc", dir.path().display());
        let mut db = crate::store::database::connect(&url).await.unwrap();
        let counter = StatementCounter::install(&mut db);
        let clone = db.clone();
        let backend = db.get_database_backend();
        for sql in ["SELECT 1", "SELECT 2", "SELECT nonsense FROM nowhere"] {
            let _ = clone
                .query_one_raw(Statement::from_string(backend, sql))
                .await;
        }
        let counts = counter.read();
        assert_eq!(counts.statements, 3);
        assert_eq!(counts.failed, 1);
    }

    #[tokio::test]
    async fn a_request_counts_its_own_statements_and_those_of_what_it_spawns() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/s.db?mode=rwc", dir.path().display());
        let mut db = crate::store::database::connect(&url).await.unwrap();
        let _counter = StatementCounter::install(&mut db);
        let backend = db.get_database_backend();
        let query = |db: DatabaseConnection| async move {
            db.query_one_raw(Statement::from_string(backend, "SELECT 1"))
                .await
                .unwrap();
        };
        // Outside any request: counted for none.
        query(db.clone()).await;
        let ((), own) = counted(async {
            query(db.clone()).await;
            query(db.clone()).await;
            spawn_counted(query(db.clone())).await.unwrap();
            // Spawned plainly: not the request's.
            tokio::spawn(query(db.clone())).await.unwrap();
        })
        .await;
        assert_eq!(own, 3);
    }
}
