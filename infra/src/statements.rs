//! Counts the SQL statements a process sends and the time they take, through sea-orm's metric
//! callback: every statement of the pool, inside transactions too.
//!
//! The counts are what `/metrics` shows (`amanah_sql_statements_total`,
//! `amanah_sql_statement_seconds_total`) and what the benchmarks divide by the requests they sent
//! to report statements per request; the tests use them to check that a request's statements do
//! not grow with its page size.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sea_orm::DatabaseConnection;

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
        let counting = Arc::clone(&counter);
        db.set_metric_callback(move |info| {
            counting.statements.fetch_add(1, Ordering::Relaxed);
            if info.failed {
                counting.failed.fetch_add(1, Ordering::Relaxed);
            }
            let micros = u64::try_from(info.elapsed.as_micros()).unwrap_or(u64::MAX);
            counting.micros.fetch_add(micros, Ordering::Relaxed);
        });
        counter
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
        let mut db = crate::database::connect(&url).await.unwrap();
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
}
