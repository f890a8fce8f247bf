//! Opening the database and bringing its schema up to date.
//!
//! [`connect`] accepts `sqlite://PATH[?mode=rwc]` and `postgres://…` (or `postgresql://…`) URLs.
//! SQLite is opened for durability and for several processes: WAL journal, `synchronous=FULL`
//! (an acknowledged append survives a power cut), foreign keys on, and a busy timeout so that a
//! writer waits for another process's write lock instead of failing. Its WAL is checkpointed in
//! the background, not inside a commit, and kept from growing without bound
//! ([`WalCheckpoints`]). Error messages never repeat
//! the URL's credentials (it may hold a password): where a driver quotes the URL, it is redacted.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::time::Duration;

use sea_orm::sqlx::Executor as _;
use sea_orm::sqlx::postgres::PgPoolOptions;
use sea_orm::sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sea_orm::{
    ConnectOptions, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, SqliteTransactionMode,
    SqlxPostgresConnector, SqlxSqliteConnector, Statement, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;

use amanah_domain::ports::StoreError;

use crate::migration::Migrator;

/// How long a SQLite connection waits for another connection's (or process's) write lock before
/// giving up with "database is locked". Appends are short, so waiting this long means something is
/// wrong rather than busy.
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// SQLite pool size: one connection for the append sequencer plus concurrent readers (WAL lets
/// readers run beside the writer). More would only contend for the same file.
pub const SQLITE_MAX_CONNECTIONS: u32 = 8;

/// How much of a SQLite database file each connection maps into memory by default
/// (`PRAGMA mmap_size`, [`ConnectSettings::sqlite_mmap_bytes`]):
/// reads of a large log (the Merkle nodes of a proof are scattered over the file) then come from
/// the shared page cache without a `pread` and a copy each. Address space only; the kernel shares
/// the pages between connections. SQLite writes through its usual path either way. This is
/// SQLite's default compile-time ceiling (`SQLITE_MAX_MMAP_SIZE`, just under 2 GiB); larger
/// values are silently capped to it.
pub const SQLITE_MMAP_BYTES: u64 = 0x7fff_0000;

/// PostgreSQL pool size per process: the sequencer holds one connection per batch, the rest serve
/// reads. Kept well below PostgreSQL's default `max_connections` (100) so that several replicas fit.
pub const POSTGRES_MAX_CONNECTIONS: u32 = 16;

/// How long a pooled PostgreSQL connection may sit idle before it is pinged on checkout: a busy
/// server's connections are not (a ping is a round trip before the read), and one that sat
/// through a server restart or a proxy's timeout is.
pub const POSTGRES_PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// The most connections the pool of `db` holds (see [`SQLITE_MAX_CONNECTIONS`] and
/// [`POSTGRES_MAX_CONNECTIONS`]).
#[must_use]
pub fn pool_size(db: &DatabaseConnection) -> u32 {
    match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => POSTGRES_MAX_CONNECTIONS,
        _ => SQLITE_MAX_CONNECTIONS,
    }
}

/// The pool the append sequencer writes through ([`writer_pool`]): connections of its own (one on
/// SQLite, two on PostgreSQL), with the settings of the shared pool (its URL, and for SQLite its
/// pragmas), opened on first use. On PostgreSQL its sessions run their transactions at READ
/// COMMITTED unless told otherwise (set when a connection opens), so a batch's `BEGIN` needs no
/// `SET TRANSACTION` round trip.
#[derive(Debug, Clone)]
pub struct WriterPool {
    connection: DatabaseConnection,
}

impl WriterPool {
    /// The pool.
    #[must_use]
    pub fn connection(&self) -> &DatabaseConnection {
        &self.connection
    }

    /// The pool, to attach a statement counter to it.
    pub fn connection_mut(&mut self) -> &mut DatabaseConnection {
        &mut self.connection
    }
}

/// A pool of its own for the append sequencer ([`crate::StoreConfig::writer`]), with the settings
/// of `db`: one connection on SQLite, two on PostgreSQL (a batch commits on one while the next
/// waits for the head's lock on the other). `None` for an in-memory SQLite database, which a
/// second pool would not share. On PostgreSQL each connection it opens is set to READ COMMITTED
/// for its session (the isolation the sequencer's head lock needs, whatever the server's
/// default), once, instead of once a batch.
#[must_use]
pub fn writer_pool(db: &DatabaseConnection) -> Option<WriterPool> {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let options = (*db.get_postgres_connection_pool().connect_options())
                .clone()
                .application_name("amanah-writer");
            // Two: while one batch commits, the next one begins and waits for the head's lock
            // on the other (the sequencer's `Turn`).
            let pool = PgPoolOptions::new()
                .max_connections(2)
                .acquire_timeout(CONNECT_TIMEOUT)
                .after_connect(|connection, _| {
                    Box::pin(async move {
                        connection
                            .execute(
                                "SET SESSION CHARACTERISTICS AS TRANSACTION \
                                 ISOLATION LEVEL READ COMMITTED",
                            )
                            .await
                            .map(|_| ())
                    })
                })
                .connect_lazy_with(options);
            Some(WriterPool {
                connection: SqlxPostgresConnector::from_sqlx_postgres_pool(pool),
            })
        }
        DbBackend::Sqlite => {
            let options = (*db.get_sqlite_connection_pool().connect_options()).clone();
            let filename = options.get_filename().to_string_lossy();
            if filename.starts_with("file:sqlx-in-memory") || filename == ":memory:" {
                return None;
            }
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(CONNECT_TIMEOUT)
                // As for the shared pool: no liveness ping per checkout.
                .test_before_acquire(false)
                .connect_lazy_with(options);
            Some(WriterPool {
                connection: SqlxSqliteConnector::from_sqlx_sqlite_pool(pool),
            })
        }
        _ => None,
    }
}

/// How long opening a connection, or waiting for a free one in the pool, may take before the
/// database counts as unavailable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Key of the PostgreSQL advisory lock held while migrating, so that replicas starting together
/// migrate one at a time (the digits spell "amanah" on a phone keypad).
const MIGRATION_LOCK_KEY: i64 = 262_624;

/// Why the database could not be opened or migrated.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseSetupError {
    /// The URL names an engine Amanah does not run on.
    #[error("unsupported database URL scheme `{0}`: use sqlite:// or postgres://")]
    UnsupportedScheme(String),
    /// The URL could not be parsed (the reason never repeats the URL's credentials).
    #[error("the database URL is not valid: {0}")]
    InvalidUrl(String),
    /// The directory for the SQLite file could not be created.
    #[error("could not create the database directory {path}: {source}")]
    CreateDirectory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Connecting failed: the driver's reason, with the URL redacted should the driver repeat it
    /// ([`crate::url_redaction`]). Kept as text, not as the driver's error, so that no cause
    /// chain printed later can reveal the password.
    #[error("could not connect to the database: {0}")]
    Connect(String),
    /// Applying migrations failed.
    #[error("could not migrate the database: {0}")]
    Migrate(#[source] DbErr),
}

/// Opens a connection pool for `url` (see the module documentation for the settings).
///
/// For SQLite, the file's directory is created (mode 0700) when missing, and so is the file unless the URL
/// sets `mode` itself (`mode=rwc` creates, `mode=rw` does not). `sqlite::memory:` gets a
/// single-connection pool, since every connection would otherwise see its own empty database.
///
/// # Errors
/// [`DatabaseSetupError`] for an unsupported or invalid URL, a directory that cannot be created or
/// a database that does not answer.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DatabaseSetupError> {
    connect_with(url, &ConnectSettings::default()).await
}

/// How a connection pool is set up, beyond its URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectSettings {
    /// How much of a SQLite database file is memory-mapped (`PRAGMA mmap_size`; 0: none). The
    /// mapped pages count in the process's resident memory (`RssFile`) and in a container's
    /// memory limit, though the kernel can drop them at any time.
    pub sqlite_mmap_bytes: u64,
}

impl Default for ConnectSettings {
    fn default() -> Self {
        Self {
            sqlite_mmap_bytes: SQLITE_MMAP_BYTES,
        }
    }
}

/// As [`connect`], with `settings`.
///
/// # Errors
/// As [`connect`].
pub async fn connect_with(
    url: &str,
    settings: &ConnectSettings,
) -> Result<DatabaseConnection, DatabaseSetupError> {
    let scheme = url.split_once(':').map_or(url, |(scheme, _)| scheme);
    match scheme {
        "sqlite" => connect_sqlite(url, settings.sqlite_mmap_bytes).await,
        "postgres" | "postgresql" => {
            let mut options = ConnectOptions::new(url);
            options
                .max_connections(POSTGRES_MAX_CONNECTIONS)
                .connect_timeout(CONNECT_TIMEOUT)
                .acquire_timeout(CONNECT_TIMEOUT)
                .set_application_name("amanah")
                // A connection is pinged on its way out of the pool only when it has been idle
                // long enough to have been dropped (a server restart, a proxy's timeout): a ping
                // on every checkout was a round trip to PostgreSQL before every read. (sqlx
                // pings each connection it takes back into the pool as well.)
                .test_before_acquire_if_idle_for(POSTGRES_PING_AFTER_IDLE)
                .sqlx_logging(false);
            sea_orm::Database::connect(options)
                .await
                .map_err(|error| DatabaseSetupError::Connect(without_credentials(&error, url)))
        }
        other => Err(DatabaseSetupError::UnsupportedScheme(other.to_owned())),
    }
}

/// A driver's message about `url`, with the URL redacted wherever the message quotes it.
fn without_credentials(error: &impl std::fmt::Display, url: &str) -> String {
    error
        .to_string()
        .replace(url, &crate::url_redaction::redact_url(url))
}

async fn connect_sqlite(
    url: &str,
    mmap_bytes: u64,
) -> Result<DatabaseConnection, DatabaseSetupError> {
    let parsed = SqliteConnectOptions::from_str(url)
        .map_err(|err| DatabaseSetupError::InvalidUrl(without_credentials(&err, url)))?;
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    if !in_memory
        && let Some(directory) = parsed.get_filename().parent()
        && !directory.as_os_str().is_empty()
    {
        // Mode 0700: the database files are readable by whoever can enter the directory.
        crate::private_file::create_dir(directory).map_err(|source| {
            DatabaseSetupError::CreateDirectory {
                path: directory.to_path_buf(),
                source,
            }
        })?;
    }
    let create_if_missing = !url.contains("mode=");

    let mut options = ConnectOptions::new(url);
    options
        .max_connections(if in_memory { 1 } else { SQLITE_MAX_CONNECTIONS })
        .connect_timeout(CONNECT_TIMEOUT)
        .acquire_timeout(CONNECT_TIMEOUT)
        // No liveness ping on every checkout: a SQLite connection is a file handle on a thread of
        // this process, with no peer that could drop it, and the ping costs a round trip to that
        // thread before every statement (BENCHMARKS.md §2).
        .test_before_acquire(false)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(move |sqlite| {
            let sqlite = sqlite
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .pragma("mmap_size", mmap_bytes.to_string())
                // No checkpoint inside a commit: the store checkpoints the WAL in the background
                // (`checkpoint_wal`).
                .pragma("wal_autocheckpoint", "0");
            if create_if_missing {
                sqlite.create_if_missing(true)
            } else {
                sqlite
            }
        });
    sea_orm::Database::connect(options)
        .await
        .map_err(|error| DatabaseSetupError::Connect(without_credentials(&error, url)))
}

/// How often a SQLite database's WAL is checkpointed in the background ([`checkpoint_wal`]).
pub const SQLITE_CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// How long a SQLite database's WAL may grow, in pages, before the writer is asked to let it
/// start over ([`WalCheckpoints`]): 16 MiB of 4 KiB pages. SQLite's own threshold for a
/// checkpoint inside a commit is 1,000 pages; this one costs the writer a short checkpoint of
/// what the background one has not yet copied, once the WAL has grown this far.
pub const SQLITE_WAL_RESTART_PAGES: u64 = 4_096;

/// The checkpoints of a SQLite database's WAL: a background task's ([`checkpoint_wal`]), and the
/// writer's own when the WAL has grown long ([`checkpoint_wal_between_writes`]). Clones share
/// the request the first makes to the second.
///
/// Why two: the WAL starts over from its first page only when a write transaction begins with
/// every frame copied into the database file. The background checkpoint runs beside the writer,
/// which appends more frames meanwhile; under a steady stream of batches it never catches up, and
/// the WAL grew without bound (294 MB in a 10 s run of W2, BENCHMARKS.md §5), each page read from
/// it again and again. The writer, between two of its transactions, appends nothing while it
/// checkpoints, so its checkpoint can copy every frame (unless a reader still needs an older
/// one), and its next transaction starts the WAL over.
#[derive(Debug, Clone)]
pub struct WalCheckpoints {
    every: Duration,
    restart_after_pages: u64,
    restart_wanted: Arc<AtomicBool>,
}

impl WalCheckpoints {
    /// Background checkpoints `every` so often; the writer asked to checkpoint once the WAL holds
    /// more than `restart_after_pages` pages.
    #[must_use]
    pub fn new(every: Duration, restart_after_pages: u64) -> Self {
        Self {
            every,
            restart_after_pages,
            restart_wanted: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Asks the writer to checkpoint between its next two transactions, as the background
    /// checkpoint does when it finds the WAL longer than its bound.
    pub fn request_restart(&self) {
        self.restart_wanted.store(true, AtomicOrdering::Relaxed);
    }

    /// Whether a checkpoint by the writer was asked for ([`Self::request_restart`]) since the
    /// last call; the writer then checkpoints between two transactions. Clears the request.
    #[must_use]
    pub fn take_restart_request(&self) -> bool {
        self.restart_wanted.swap(false, AtomicOrdering::Relaxed)
    }
}

impl Default for WalCheckpoints {
    fn default() -> Self {
        Self::new(SQLITE_CHECKPOINT_EVERY, SQLITE_WAL_RESTART_PAGES)
    }
}

/// Copies what the WAL of SQLite database `db` holds into the database file, every
/// `checkpoints.every`, until `running` says to stop (returns `false`); when the WAL has grown
/// longer than its bound, asks the writer to let it start over ([`WalCheckpoints`]).
///
/// SQLite's own checkpoint runs inside the commit that takes the WAL past 1,000 pages: on the
/// one writer's path, so every few batches one waited for a thousand pages to be copied and the
/// database file to be synced (W2 on SQLite: +10 % to +28 % without it, BENCHMARKS.md §5). The
/// connections are opened without it (`wal_autocheckpoint = 0`), and this checkpoint, `PASSIVE`,
/// runs on a connection of its own beside the writer, which it never blocks. Durability is the
/// WAL's, synced at every commit (`synchronous = FULL`), as before. A failed checkpoint is
/// logged and tried again at the next turn; SQLite also checkpoints when the last connection
/// closes.
pub async fn checkpoint_wal(
    db: DatabaseConnection,
    checkpoints: WalCheckpoints,
    running: impl Fn() -> bool,
) {
    let mut every = tokio::time::interval(checkpoints.every);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    loop {
        every.tick().await;
        if !running() {
            break;
        }
        match checkpoint_passive(&db).await {
            Ok(pages) => {
                if pages > checkpoints.restart_after_pages {
                    checkpoints.request_restart();
                }
            }
            Err(error) => tracing::warn!(
                error = %amanah_domain::errors::Chain(&error),
                "the SQLite WAL could not be checkpointed; trying again shortly"
            ),
        }
    }
}

/// The writer's checkpoint of SQLite database `writer`'s WAL, between two of its transactions,
/// when [`WalCheckpoints::take_restart_request`] asks for it: it copies what the background
/// checkpoint has not yet, so that the writer's next transaction starts the WAL over.
///
/// # Errors
/// The database's error; the WAL then stays as it is until the next request.
pub async fn checkpoint_wal_between_writes(writer: &DatabaseConnection) -> Result<(), DbErr> {
    checkpoint_passive(writer).await.map(|_| ())
}

/// `PRAGMA wal_checkpoint(PASSIVE)` on `db`: the pages the WAL holds.
async fn checkpoint_passive(db: &DatabaseConnection) -> Result<u64, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA wal_checkpoint(PASSIVE)",
        ))
        .await?;
    // (busy, pages in the WAL, pages copied); -1 pages when the database is not in WAL mode.
    let pages = match row {
        Some(row) => row.try_get_by_index::<i64>(1)?,
        None => 0,
    };
    Ok(u64::try_from(pages).unwrap_or(0))
}

/// Applies every pending migration, atomically: all of them or none.
///
/// On PostgreSQL a transaction-scoped advisory lock makes concurrent callers (replicas starting
/// together) take turns; the later ones then find nothing pending. On SQLite the migration
/// transaction takes the write lock up front (`BEGIN IMMEDIATE`), with the same effect.
///
/// # Errors
/// [`DatabaseSetupError::Migrate`] when a migration fails; nothing is applied then.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DatabaseSetupError> {
    let backend = db.get_database_backend();
    let txn = db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        })
        .await
        .map_err(DatabaseSetupError::Migrate)?;
    if backend == DbBackend::Postgres {
        txn.execute_raw(Statement::from_string(
            backend,
            format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"),
        ))
        .await
        .map_err(DatabaseSetupError::Migrate)?;
    }
    Migrator::up(&txn, None)
        .await
        .map_err(DatabaseSetupError::Migrate)?;
    txn.commit().await.map_err(DatabaseSetupError::Migrate)
}

/// A connected database, as the API holds it: the API passes it to the adapters it builds and
/// asks it whether the database answers, but never sends SQL itself (it does not depend on
/// sea-orm; every statement is an adapter's).
#[derive(Debug, Clone)]
pub struct Database {
    connection: DatabaseConnection,
}

impl Database {
    /// The pool, for the adapters of this crate.
    #[must_use]
    pub fn connection(&self) -> &DatabaseConnection {
        &self.connection
    }

    /// The pool, to build an adapter that keeps it, or to attach a statement counter to
    /// ([`crate::store::statements::StatementCounter::install`]).
    #[must_use]
    pub fn into_connection(self) -> DatabaseConnection {
        self.connection
    }

    /// Whether the database answers now (a connection from the pool, pinged).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], with the driver's error as its source.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.connection
            .ping()
            .await
            .map_err(|error| StoreError::unavailable_from("the database does not answer", error))
    }

    /// How many migrations are not applied yet (0 when the schema is current): for readiness
    /// checks.
    ///
    /// # Errors
    /// [`DatabaseSetupError::Migrate`] when the migration table cannot be read.
    pub async fn pending_migrations(&self) -> Result<usize, DatabaseSetupError> {
        Migrator::get_pending_migrations_read_only(&self.connection)
            .await
            .map(|pending| pending.len())
            .map_err(DatabaseSetupError::Migrate)
    }
}

impl From<DatabaseConnection> for Database {
    fn from(connection: DatabaseConnection) -> Self {
        Self { connection }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    #[expect(
        clippy::unwrap_used,
        reason = "a test fails loudly on an unexpected error"
    )]
    async fn an_in_memory_database_gets_no_writer_pool_and_a_file_one_does() {
        let memory = connect("sqlite::memory:").await.unwrap();
        assert!(writer_pool(&memory).is_none());
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/w.db?mode=rwc", dir.path().display());
        let file = connect(&url).await.unwrap();
        file.execute_unprepared("CREATE TABLE t (x INTEGER)")
            .await
            .unwrap();
        let writer = writer_pool(&file).unwrap();
        writer
            .connection()
            .execute_unprepared("INSERT INTO t VALUES (7)")
            .await
            .unwrap();
        let row = file
            .query_one_raw(Statement::from_string(DbBackend::Sqlite, "SELECT x FROM t"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.try_get_by_index::<i64>(0).unwrap(), 7);
        // The writer keeps the pool's pragmas: WAL and synchronous=FULL (2).
        let synchronous = writer
            .connection()
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                "PRAGMA synchronous",
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(synchronous.try_get_by_index::<i64>(0).unwrap(), 2);
    }

    /// A SQLite database in `dir` whose WAL holds `blobs` rows of 400,000 bytes (about a hundred
    /// pages each), and the path of its file.
    #[expect(
        clippy::unwrap_used,
        reason = "a test fails loudly on an unexpected error"
    )]
    async fn wal_holding(dir: &tempfile::TempDir, blobs: usize) -> (DatabaseConnection, PathBuf) {
        let path = dir.path().join("c.db");
        let db = connect(&format!("sqlite://{}?mode=rwc", path.display()))
            .await
            .unwrap();
        db.execute_unprepared("CREATE TABLE t (x BLOB)")
            .await
            .unwrap();
        for _ in 0..blobs {
            db.execute_unprepared("INSERT INTO t VALUES (randomblob(400000))")
                .await
                .unwrap();
        }
        (db, path)
    }

    /// [`checkpoint_wal`] running on a database, until [`Self::stop`].
    struct Checkpointing {
        stopped: Arc<AtomicBool>,
        task: tokio::task::JoinHandle<()>,
    }

    impl Checkpointing {
        fn start(db: &DatabaseConnection, checkpoints: &WalCheckpoints) -> Self {
            let stopped = Arc::new(AtomicBool::new(false));
            let task = tokio::spawn(checkpoint_wal(db.clone(), checkpoints.clone(), {
                let stopped = Arc::clone(&stopped);
                move || !stopped.load(AtomicOrdering::SeqCst)
            }));
            Self { stopped, task }
        }

        #[expect(
            clippy::unwrap_used,
            reason = "a test fails loudly on an unexpected error"
        )]
        async fn stop(self) {
            self.stopped.store(true, AtomicOrdering::SeqCst);
            self.task.await.unwrap();
        }
    }

    /// Whether `done` holds within 10 s, looked at every `every`.
    async fn within_seconds(every: Duration, done: impl Fn() -> bool) -> bool {
        let mut waited = Duration::ZERO;
        while !done() && waited < Duration::from_secs(10) {
            tokio::time::sleep(every).await;
            waited += every;
        }
        done()
    }

    #[tokio::test]
    #[expect(
        clippy::unwrap_used,
        reason = "a test fails loudly on an unexpected error"
    )]
    async fn the_wal_is_checkpointed_in_the_background_not_inside_commits() {
        let dir = tempfile::tempdir().unwrap();
        // About 2,000 pages, twice SQLite's own threshold for a checkpoint inside a commit.
        let (db, path) = wal_holding(&dir, 20).await;
        let size = || std::fs::metadata(&path).unwrap().len();
        assert!(
            size() < 1_000_000,
            "the commits copied the WAL into the file: {} bytes",
            size()
        );
        let checkpointing = Checkpointing::start(&db, &WalCheckpoints::default());
        assert!(
            within_seconds(SQLITE_CHECKPOINT_EVERY, || size() >= 8_000_000).await,
            "not checkpointed: {} bytes",
            size()
        );
        checkpointing.stop().await;
    }

    /// The background checkpoint asks the writer for a checkpoint of its own when the WAL holds
    /// more pages than the bound, and not before.
    #[tokio::test]
    #[expect(
        clippy::unwrap_used,
        reason = "a test fails loudly on an unexpected error"
    )]
    async fn a_wal_past_its_bound_asks_the_writer_for_a_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let (db, path) = wal_holding(&dir, 1).await;
        let every = Duration::from_millis(10);

        // Within the bound: the WAL is copied into the file, and nobody is asked.
        let within = WalCheckpoints::new(every, 1_000);
        let checkpointing = Checkpointing::start(&db, &within);
        let copied = || std::fs::metadata(&path).unwrap().len() >= 400_000;
        assert!(within_seconds(every, copied).await, "not checkpointed");
        checkpointing.stop().await;
        assert!(!within.take_restart_request());

        // Past it (the WAL still holds its 100 pages: nothing started it over): asked.
        let past = WalCheckpoints::new(every, 50);
        let checkpointing = Checkpointing::start(&db, &past);
        let asked = AtomicBool::new(false);
        let answered = || {
            if past.take_restart_request() {
                asked.store(true, AtomicOrdering::SeqCst);
            }
            asked.load(AtomicOrdering::SeqCst)
        };
        assert!(within_seconds(every, answered).await, "not asked");
        checkpointing.stop().await;
    }

    #[tokio::test]
    #[expect(
        clippy::unwrap_used,
        reason = "a test fails loudly on an unexpected error"
    )]
    async fn the_sqlite_memory_map_follows_the_settings() {
        use sea_orm::{ConnectionTrait as _, Statement};
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/m.db?mode=rwc", dir.path().display());
        for (bytes, expected) in [(0, 0_i64), (64 * 1024 * 1024, 64 * 1024 * 1024)] {
            let settings = ConnectSettings {
                sqlite_mmap_bytes: bytes,
            };
            let db = connect_with(&url, &settings).await.unwrap();
            let row = db
                .query_one_raw(Statement::from_string(
                    db.get_database_backend(),
                    "PRAGMA mmap_size",
                ))
                .await
                .unwrap()
                .unwrap();
            let mapped: i64 = row.try_get_by_index(0).unwrap();
            assert_eq!(mapped, expected);
        }
    }

    #[tokio::test]
    async fn rejects_unknown_schemes_without_echoing_the_url() {
        let err = connect("mysql://root:secret@localhost/db").await;
        let Err(err) = err else {
            panic!("mysql must be rejected");
        };
        assert!(matches!(err, DatabaseSetupError::UnsupportedScheme(_)));
        assert!(!err.to_string().contains("secret"));
    }

    #[tokio::test]
    async fn connection_errors_do_not_repeat_the_password() {
        // A `/` in the password makes the URL unparsable; the driver's message quotes it.
        for url in [
            "postgres://amanah:pa/ss@localhost/db",
            "postgres://amanah:s3cr3t@localhost:notaport/db?password=pw",
            "sqlite://amanah.db?password=pw&mode=bogus",
        ] {
            let Err(err) = connect(url).await else {
                panic!("{url} must be refused");
            };
            let message = err.to_string();
            for secret in ["pa/ss", "s3cr3t", "=pw"] {
                assert!(!message.contains(secret), "{url}: {message}");
            }
        }
    }
}
