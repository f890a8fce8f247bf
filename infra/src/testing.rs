//! Test databases: a fresh, migrated database per test, on SQLite or PostgreSQL, removed afterwards.
//!
//! ```no_run
//! # async fn example() {
//! use amanah_infra::testing::TestDatabase;
//!
//! let sqlite = TestDatabase::sqlite().await;
//! // … use sqlite.connection() or sqlite.store() …
//! sqlite.cleanup().await;
//!
//! let postgres = TestDatabase::postgres().await; // panics when no server answers
//! postgres.cleanup().await;
//! # }
//! ```
//!
//! PostgreSQL tests use the server at `AMANAH_TEST_POSTGRES_URL`, else
//! `postgres://postgres@127.0.0.1:5432/postgres`. They create a database named
//! `amanah_test_<uuid>` there and drop it (`WITH (FORCE)`) in [`TestDatabase::cleanup`] or, if the
//! test ended without it (a failed assertion), when the `TestDatabase` is dropped.
//!
//! A PostgreSQL test that runs needs its server: [`TestDatabase::postgres`] fails the test when
//! none answers. Whether they run is decided when they are built: [`postgres_test!`] and
//! [`on_both_engines!`] mark them `#[ignore]`d unless the package is built with
//! `AMANAH_TEST_POSTGRES_URL` or `CI` set (`build/postgres_tests.rs`), so that `cargo test` on a
//! laptop without PostgreSQL lists them as ignored, and `cargo test -- --ignored` there fails them.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Runs each `scenario(&TestDatabase)` (an `async fn` of the calling test file) as two tests,
/// `SCENARIO::sqlite` and `SCENARIO::postgres`, each on a fresh database of its own that is
/// cleaned up afterwards. The PostgreSQL one is a [`postgres_test!`].
///
/// ```text
/// amanah_infra::on_both_engines!(appends_are_gapless, proofs_verify);
/// async fn appends_are_gapless(database: &TestDatabase) { /* … */ }
/// ```
#[macro_export]
macro_rules! on_both_engines {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            use $crate::testing::TestDatabase;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let database = TestDatabase::sqlite().await;
                super::$scenario(&database).await;
                database.cleanup().await;
            }

            $crate::postgres_test! {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let database = TestDatabase::postgres().await;
                    super::$scenario(&database).await;
                    database.cleanup().await;
                }
            }
        }
    )*};
}

/// A test that needs PostgreSQL: `#[ignore]`d with the reason unless the calling package is built
/// with `AMANAH_TEST_POSTGRES_URL` or `CI` set (`build/postgres_tests.rs`, the cfg
/// `amanah_postgres_tests`). When it runs (built so, or with `--ignored`), a missing server fails
/// it ([`TestDatabase::postgres`]). Every PostgreSQL test has `postgres` in its name, so that
/// `cargo test -- --ignored --skip postgres` leaves them out.
///
/// Given scenarios, each `scenario(&TestDatabase)` runs as one test, `SCENARIO::postgres`, on a
/// fresh PostgreSQL database cleaned up afterwards; given a test function (with its attributes),
/// it is marked as a PostgreSQL test, for tests that set up PostgreSQL otherwise.
///
/// ```text
/// amanah_infra::postgres_test!(a_rebuild_waits_for_a_lock);
/// async fn a_rebuild_waits_for_a_lock(database: &TestDatabase) { /* … */ }
///
/// amanah_infra::postgres_test! {
///     #[tokio::test]
///     async fn the_server_answers_on_postgres() { /* … */ }
/// }
/// ```
#[macro_export]
macro_rules! postgres_test {
    ($(#[$attribute:meta])* async fn $name:ident() $body:block) => {
        $(#[$attribute])*
        #[cfg_attr(
            not(amanah_postgres_tests),
            ignore = "needs PostgreSQL: build the tests with AMANAH_TEST_POSTGRES_URL set (.ci/run does)"
        )]
        async fn $name() $body
    };
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            use $crate::testing::TestDatabase;

            $crate::postgres_test! {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let database = TestDatabase::postgres().await;
                    super::$scenario(&database).await;
                    database.cleanup().await;
                }
            }
        }
    )*};
}

use amanah_audit::note::SigningKey;
use amanah_domain::aggregate::StreamKind;
use amanah_domain::codelists::OrganisationType;
use amanah_domain::organisation::Organisation;
use amanah_domain::ports::{
    Actor, AppendRequest, EventMetadata, NewEvent, Snapshot, StoreError, StoredEvent,
};
use amanah_domain::values::Name;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr,
};
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::read_model::projection::{
    NoProjection, Projection, Projector, StateReader, TransactionReader,
};
use crate::store::database::{self, DatabaseSetupError};
use crate::store::event_store::{SqlEventStore, StoreConfig};
use crate::store::writes::Writes;

/// An append of `events` to organisation `stream_id` at `expected_version`, by `actor` under
/// `request_id`, now, with the organisation state the read model would store (only its id and
/// version matter): the request the log's tests and benchmarks append.
#[must_use]
#[expect(clippy::expect_used, reason = "a fixed name that is valid")]
pub fn organisation_append(
    stream_id: Uuid,
    expected_version: u64,
    events: Vec<NewEvent>,
    actor: Actor,
    request_id: Option<String>,
) -> AppendRequest {
    let version = expected_version + events.len() as u64;
    AppendRequest {
        stream: StreamKind::Organisation,
        stream_id,
        expected_version,
        reads: Vec::new(),
        events,
        metadata: EventMetadata {
            actor,
            request_id,
            occurred_at: chrono::Utc::now(),
        },
        previous: None,
        idempotency_claim: None,
        snapshot: Snapshot::Organisation(Box::new(Organisation {
            id: stream_id,
            org_ref: None,
            name: Name::parse("Test organisation").expect("a valid name"),
            acronym: None,
            organisation_type: OrganisationType::Government,
            country: None,
            website: None,
            deactivated: false,
            version,
        })),
    }
}

/// One event of `event_type` with `data`, for [`organisation_append`].
#[must_use]
pub fn event(event_type: &str, data: serde_json::Value) -> NewEvent {
    NewEvent {
        event_type: event_type.to_owned(),
        data,
    }
}

/// Runs `work` on `threads` threads released at the same instant (as processes starting
/// together), and returns what each got, in thread order.
///
/// # Panics
/// When a thread panics.
pub fn all_at_once<T: Send>(threads: usize, work: impl Fn() -> T + Sync) -> Vec<T> {
    let start = std::sync::Barrier::new(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    start.wait();
                    work()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// Appends from `tasks` concurrent tasks, each `per_task` single-event requests to a stream of
/// its own, through `store`, so that group commit forms batches (and, with a signer, one
/// checkpoint per batch).
///
/// # Panics
/// When an append fails.
#[expect(clippy::expect_used, reason = "a test fixture fails loudly")]
pub async fn append_concurrently(store: &SqlEventStore, tasks: usize, per_task: u64) {
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let id = Uuid::now_v7();
            for version in 0..per_task {
                let request = organisation_append(
                    id,
                    version,
                    vec![event(
                        "OrganisationRevised",
                        serde_json::json!({ "v": version }),
                    )],
                    Actor::system("system:test"),
                    None,
                );
                amanah_domain::ports::EventStore::append(&store, request)
                    .await
                    .expect("the append succeeds");
            }
        }));
    }
    for handle in handles {
        handle.await.expect("the appending task ends");
    }
}

/// A projector that projects as `inner` does, but holds its first call (the first append's, alone
/// in its batch) until the test releases it: the sequencer stays busy with that append, so that
/// the appends sent meanwhile queue up ([`queue_in_order`]) and are committed together, in one
/// batch.
///
/// ```text
/// let (projector, hold) = HoldFirst::new(SqlProjector);
/// let store = SqlEventStore::start(db, StoreConfig::default(), projector);
/// let first = tokio::spawn(/* an append through store */);
/// let release = hold.held().await;
/// queue_in_order(&store, &mut pending, /* the next append */).await;
/// release.release();
/// ```
#[derive(Debug)]
pub struct HoldFirst<P> {
    inner: P,
    held: std::sync::Mutex<Option<oneshot::Sender<()>>>,
    release: std::sync::Mutex<Option<oneshot::Receiver<()>>>,
}

/// The test's side of a [`HoldFirst`]: waits until the first projection is held.
#[derive(Debug)]
pub struct Hold {
    held: oneshot::Receiver<()>,
    release: oneshot::Sender<()>,
}

/// Lets the projection a [`HoldFirst`] holds go on.
#[derive(Debug)]
pub struct Release(oneshot::Sender<()>);

impl<P: Projector> HoldFirst<P> {
    /// The projector, and the test's side of it.
    #[must_use]
    pub fn new(inner: P) -> (Self, Hold) {
        let (held_tx, held) = oneshot::channel();
        let (release, release_rx) = oneshot::channel();
        let projector = Self {
            inner,
            held: std::sync::Mutex::new(Some(held_tx)),
            release: std::sync::Mutex::new(Some(release_rx)),
        };
        (projector, Hold { held, release })
    }

    /// On the first call, signals [`Hold::held`] and waits for the [`Release`].
    async fn hold_the_first(&self) {
        let held = take(&self.held);
        if let Some(held) = held {
            let release = take(&self.release);
            let _ = held.send(());
            if let Some(release) = release {
                // A test that dropped its `Release` lets the projection go on.
                let _ = release.await;
            }
        }
    }
}

fn take<T>(slot: &std::sync::Mutex<Option<T>>) -> Option<T> {
    slot.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
}

impl<P: Projector> Projector for HoldFirst<P> {
    async fn project(
        &self,
        txn: &DatabaseTransaction,
        previous: Option<&Snapshot>,
        snapshot: &Snapshot,
        events: &[StoredEvent],
    ) -> Result<(), StoreError> {
        self.hold_the_first().await;
        self.inner.project(txn, previous, snapshot, events).await
    }

    async fn project_all(
        &self,
        txn: &DatabaseTransaction,
        projections: &[Projection<'_>],
    ) -> Result<(), StoreError> {
        self.hold_the_first().await;
        self.inner.project_all(txn, projections).await
    }

    /// The inner projector's, once the first projection was held (until then the store calls
    /// [`Self::project_all`], which holds).
    fn gather_all(
        &self,
        projections: &[Projection<'_>],
        writes: &mut Writes,
    ) -> Result<bool, StoreError> {
        let not_held_yet = self
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some();
        if not_held_yet {
            return Ok(false);
        }
        self.inner.gather_all(projections, writes)
    }

    fn state_reader(&self) -> Option<StateReader> {
        self.inner.state_reader()
    }

    fn transaction_reader(&self) -> Option<TransactionReader> {
        self.inner.transaction_reader()
    }
}

impl Hold {
    /// Waits until the [`HoldFirst`] holds its first projection, and returns what releases it.
    ///
    /// # Panics
    /// When the projector was dropped without holding anything (the store stopped).
    #[expect(clippy::expect_used, reason = "a test fixture fails loudly")]
    pub async fn held(self) -> Release {
        self.held
            .await
            .expect("the projector holds its first projection");
        Release(self.release)
    }
}

impl Release {
    /// Lets the held projection go on.
    pub fn release(self) {
        let _ = self.0.send(());
    }
}

/// Spawns `append` and waits until its request is queued in `store` behind those of the tasks
/// already in `pending` (while the sequencer is busy, say held by a [`HoldFirst`]), then adds
/// it to `pending`: the next batch holds them in the order they were given.
///
/// # Panics
/// When `append` is answered before its request queued, or it has not queued within 15 s.
pub async fn queue_in_order<T: std::fmt::Debug + Send + 'static>(
    store: &SqlEventStore,
    pending: &mut Vec<tokio::task::JoinHandle<T>>,
    append: impl Future<Output = T> + Send + 'static,
) {
    let task = tokio::spawn(append);
    let mut polls = 0;
    while store.queued_requests() <= pending.len() {
        if task.is_finished() {
            panic!("an append was answered before it queued: {:?}", task.await);
        }
        polls += 1;
        assert!(polls < 3000, "an append never queued up");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    pending.push(task);
}

/// Environment variable naming the PostgreSQL server (any database on it) tests may use.
pub const POSTGRES_URL_VAR: &str = "AMANAH_TEST_POSTGRES_URL";

/// The server tried when [`POSTGRES_URL_VAR`] is not set.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// How long to wait for the PostgreSQL server before deciding there is none.
const POSTGRES_PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether a missing PostgreSQL server is an error for [`TestDatabase::try_postgres`] rather than
/// `None`: in CI (`CI` set) or when [`POSTGRES_URL_VAR`] is set.
#[must_use]
pub fn postgres_required() -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|value| !value.is_empty());
    set("CI") || set(POSTGRES_URL_VAR)
}

/// The PostgreSQL server tests use: [`POSTGRES_URL_VAR`], else [`DEFAULT_POSTGRES_URL`].
#[must_use]
pub fn postgres_server_url() -> String {
    std::env::var(POSTGRES_URL_VAR)
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_owned())
}

/// Which server the tests tried, for messages: the variable when set (its value may hold a
/// password), else the default address.
fn postgres_server_named() -> String {
    if std::env::var_os(POSTGRES_URL_VAR).is_some_and(|value| !value.is_empty()) {
        format!("the server {POSTGRES_URL_VAR} names")
    } else {
        format!("{DEFAULT_POSTGRES_URL} ({POSTGRES_URL_VAR} is not set)")
    }
}

/// Why a test database could not be provided.
#[derive(Debug, thiserror::Error)]
pub enum TestDatabaseError {
    /// No PostgreSQL server answers.
    #[error(
        "no PostgreSQL server answers at {server}: {source}; a PostgreSQL test that runs needs \
         one: start it, or set {POSTGRES_URL_VAR} to one that answers"
    )]
    PostgresUnreachable {
        /// The server tried, as [`postgres_server_named`] names it.
        server: String,
        /// The connection error.
        #[source]
        source: DbErr,
    },
    /// Creating or dropping the scratch database failed.
    #[error("could not create or drop the test database: {0}")]
    Database(#[from] DbErr),
    /// Connecting to or migrating the scratch database failed.
    #[error(transparent)]
    Setup(#[from] DatabaseSetupError),
    /// The temporary directory could not be created.
    #[error("could not create a temporary directory: {0}")]
    Io(#[from] std::io::Error),
}

/// A fresh, migrated database for one test.
#[derive(Debug)]
pub struct TestDatabase {
    connection: DatabaseConnection,
    url: String,
    scratch: Scratch,
}

#[derive(Debug)]
enum Scratch {
    Sqlite(TempDirectory),
    Postgres(ScratchDatabase),
}

impl TestDatabase {
    /// A migrated SQLite database in a new temporary directory.
    ///
    /// # Panics
    /// When it cannot be created (see [`Self::try_sqlite`]).
    pub async fn sqlite() -> Self {
        match Self::try_sqlite().await {
            Ok(database) => database,
            Err(error) => panic!("test SQLite database: {error}"),
        }
    }

    /// A migrated SQLite database in a new temporary directory.
    ///
    /// # Errors
    /// [`TestDatabaseError`] when the directory or the database cannot be created.
    pub async fn try_sqlite() -> Result<Self, TestDatabaseError> {
        let directory =
            std::env::temp_dir().join(format!("amanah-test-{}", Uuid::now_v7().simple()));
        std::fs::create_dir_all(&directory)?;
        let directory = TempDirectory(directory);
        let url = format!(
            "sqlite://{}?mode=rwc",
            directory.0.join("amanah.db").display()
        );
        let connection = database::connect(&url).await?;
        database::migrate(&connection).await?;
        Ok(Self {
            connection,
            url,
            scratch: Scratch::Sqlite(directory),
        })
    }

    /// A migrated PostgreSQL database of its own.
    ///
    /// # Panics
    /// When no PostgreSQL server answers (a PostgreSQL test that runs needs one), or the database
    /// cannot be created: the test fails with the reason.
    pub async fn postgres() -> Self {
        match Self::create_postgres().await {
            Ok(database) => database,
            Err(error) => panic!("test PostgreSQL database: {error}"),
        }
    }

    /// A migrated PostgreSQL database of its own, or `Ok(None)` when no server answers and none
    /// is required ([`postgres_required`]), for a caller that can do without (a benchmark).
    ///
    /// # Errors
    /// [`TestDatabaseError::PostgresUnreachable`] when PostgreSQL is required but does not answer;
    /// other variants when the database cannot be created or migrated.
    pub async fn try_postgres() -> Result<Option<Self>, TestDatabaseError> {
        match Self::create_postgres().await {
            Err(TestDatabaseError::PostgresUnreachable { .. }) if !postgres_required() => Ok(None),
            created => created.map(Some),
        }
    }

    async fn create_postgres() -> Result<Self, TestDatabaseError> {
        let admin_url = postgres_server_url();
        let admin = connect_admin(&admin_url).await.map_err(|source| {
            TestDatabaseError::PostgresUnreachable {
                server: postgres_server_named(),
                source,
            }
        })?;
        let name = format!("amanah_test_{}", Uuid::now_v7().simple());
        let created = admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await;
        let _ = admin.close().await;
        created?;
        // From here on, the guard drops the database whatever happens.
        let scratch = ScratchDatabase {
            admin_url: admin_url.clone(),
            name: name.clone(),
            dropped: false,
        };
        let url = with_database_name(&admin_url, &name);
        let connection = database::connect(&url).await?;
        database::migrate(&connection).await?;
        Ok(Self {
            connection,
            url,
            scratch: Scratch::Postgres(scratch),
        })
    }

    /// The connection pool to the test database.
    #[must_use]
    pub fn connection(&self) -> &DatabaseConnection {
        &self.connection
    }

    /// The database's URL, e.g. to open a second, independent pool (a second replica).
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The engine.
    #[must_use]
    pub fn backend(&self) -> DbBackend {
        self.connection.get_database_backend()
    }

    /// An event store over this database, without a read model.
    #[must_use]
    pub fn store(&self) -> SqlEventStore {
        SqlEventStore::new(self.connection.clone())
    }

    /// An event store over this database that signs a checkpoint with `key` after every batch,
    /// without a read model.
    #[must_use]
    pub fn signed_store(&self, key: Arc<SigningKey>) -> SqlEventStore {
        self.signed_store_with(key, StoreConfig::default())
    }

    /// As [`Self::signed_store`], with the rest of the settings from `config`.
    #[must_use]
    pub fn signed_store_with(&self, key: Arc<SigningKey>, config: StoreConfig) -> SqlEventStore {
        SqlEventStore::start(
            self.connection.clone(),
            StoreConfig {
                checkpoint_signer: Some(key),
                ..config
            },
            NoProjection,
        )
    }

    /// Closes the pool and removes the database now (rather than when dropped).
    ///
    /// # Panics
    /// When a PostgreSQL database cannot be dropped.
    pub async fn cleanup(self) {
        let Self {
            connection,
            scratch,
            ..
        } = self;
        let _ = connection.close().await;
        match scratch {
            Scratch::Sqlite(directory) => drop(directory),
            Scratch::Postgres(mut database) => {
                if let Err(error) = database.drop_now().await {
                    panic!("could not drop test database {}: {error}", database.name);
                }
            }
        }
    }
}

/// A temporary directory, removed when dropped.
#[derive(Debug)]
struct TempDirectory(PathBuf);

impl Drop for TempDirectory {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A scratch PostgreSQL database, dropped when the guard is.
#[derive(Debug)]
struct ScratchDatabase {
    admin_url: String,
    name: String,
    dropped: bool,
}

impl ScratchDatabase {
    async fn drop_now(&mut self) -> Result<(), DbErr> {
        drop_database(&self.admin_url, &self.name).await?;
        self.dropped = true;
        Ok(())
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        // Drop cannot await, and blocking on the test's own runtime would deadlock it: drop the
        // database from a thread with a runtime of its own, and wait for it.
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let outcome = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|error| error.to_string())?;
            runtime
                .block_on(drop_database(&admin_url, &name))
                .map_err(|error| error.to_string())
        })
        .join();
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                eprintln!("warning: test database {} not dropped: {error}", self.name)
            }
            Err(_) => eprintln!(
                "warning: test database {} not dropped: thread panicked",
                self.name
            ),
        }
    }
}

async fn connect_admin(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(1)
        .connect_timeout(POSTGRES_PROBE_TIMEOUT)
        .acquire_timeout(POSTGRES_PROBE_TIMEOUT)
        .sqlx_logging(false);
    Database::connect(options).await
}

async fn drop_database(admin_url: &str, name: &str) -> Result<(), DbErr> {
    let admin = connect_admin(admin_url).await?;
    let dropped = admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await;
    let _ = admin.close().await;
    dropped.map(|_| ())
}

/// `url` with its database name replaced by `name` (query parameters kept).
fn with_database_name(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(base, query)| (base, Some(query)));
    let authority = base.find("://").map_or(0, |scheme_end| scheme_end + 3);
    let server = base[authority..]
        .find('/')
        .map_or(base, |slash| &base[..authority + slash]);
    match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_database_name() {
        assert_eq!(
            with_database_name("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database_name("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            with_database_name("postgres://h:5432", "x"),
            "postgres://h:5432/x"
        );
    }
}

/// The vendored IATI 2.03 schemas (`infra/iati/schemas`) tests validate files against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IatiSchema {
    Activities,
    Organisations,
}

impl IatiSchema {
    /// The schema file, in the source tree.
    #[must_use]
    pub fn path(self) -> PathBuf {
        let file = match self {
            Self::Activities => "iati-activities-schema.xsd",
            Self::Organisations => "iati-organisations-schema.xsd",
        };
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("iati/schemas")
            .join(file)
    }
}

/// Validates `xml` against `schema` with `xmllint --noout --nonet --schema`: `Err` holds
/// xmllint's messages (each names the line). Panics when xmllint cannot be run: a test that
/// cannot validate must fail, not pass (`.ci/run` installs `libxml2-utils`).
///
/// # Errors
/// xmllint's report when the file is not valid.
pub fn xmllint(schema: IatiSchema, xml: &[u8]) -> Result<(), String> {
    use std::io::Write as _;
    use std::process::{Command, Stdio};

    let child = Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(schema.path())
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) => panic!(
            "cannot run xmllint ({error}): install libxml2-utils (`apt-get install -y \
             libxml2-utils`); the IATI tests validate every file with it"
        ),
    };
    // Written from another thread, so that a long report on stderr cannot block both ends.
    let mut stdin = child.stdin.take();
    let xml = xml.to_vec();
    let writer = std::thread::spawn(move || {
        if let Some(stdin) = stdin.as_mut() {
            // A broken pipe means xmllint stopped early; its report says why.
            let _ = stdin.write_all(&xml);
        }
    });
    let output = match child.wait_with_output() {
        Ok(output) => output,
        Err(error) => panic!("xmllint did not finish: {error}"),
    };
    let _ = writer.join();
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// Writes to `dir` an export (`amanah audit export`'s three files) of a log of `events`
/// `OrganisationRevised` events, appended to a scratch SQLite database and signed by `operator`.
///
/// # Panics
/// When the database, an append or the export fails: a test fails loudly.
pub async fn write_signed_export(operator: &Arc<SigningKey>, dir: &std::path::Path, events: u64) {
    let database = TestDatabase::sqlite().await;
    let store = database.signed_store(Arc::clone(operator));
    let id = Uuid::now_v7();
    for version in 0..events {
        let request = organisation_append(
            id,
            version,
            vec![event(
                "OrganisationRevised",
                serde_json::json!({ "v": version }),
            )],
            amanah_domain::ports::Actor::system("system:operator"),
            None,
        );
        if let Err(error) = amanah_domain::ports::EventStore::append(&store, request).await {
            panic!("append {version}: {error}");
        }
    }
    if let Err(error) =
        crate::audit::files::export(&store, &operator.verifier_key(), dir, None, None).await
    {
        panic!("export: {error}");
    }
    database.cleanup().await;
}
