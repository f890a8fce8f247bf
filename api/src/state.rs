//! What every handler and resolver shares: built once in [`crate::startup::Application::build`].

use std::sync::Arc;

use amanah_audit::note::SigningKey;
use amanah_domain::service::CommandService;
use amanah_infra::audit::tree_cache::TreeCache;
use amanah_infra::auth::Verifier;
use amanah_infra::read_model::SqlProjector;
use amanah_infra::store::idempotency::IdempotencyStore;
use amanah_infra::store::statements::StatementCounter;
use amanah_infra::{SqlEventStore, StoreConfig};
use sea_orm::DatabaseConnection;
use tokio::sync::Semaphore;

use crate::config::Config;
use crate::graphql::persisted::PersistedDocuments;

/// The read model the portfolio's queries read.
pub type PortfolioReadModel = amanah_infra::read_model::SqlReadModel;

/// The shared state, cheap to clone (handles and `Arc`s). Handlers get it as
/// `web::Data<ApiState>`, resolvers as `ctx.api_state()?` ([`crate::graphql::ContextExt`]).
#[derive(Debug, Clone)]
pub struct ApiState {
    /// The connection pool; hand it to `amanah_infra`, which owns every query.
    pub db: DatabaseConnection,
    /// The effective configuration (limits, access policy, audit settings).
    pub config: Arc<Config>,
    /// The write side: load, decide, append (the store projects the read model as it appends).
    pub commands: CommandService<SqlEventStore>,
    /// What queries read.
    pub read_model: PortfolioReadModel,
    /// Verifies bearer tokens (HTTP `Authorization`, WebSocket `connection_init`).
    pub verifier: Arc<Verifier>,
    /// Signs a checkpoint per committed batch; `None` only in tests of the portfolio alone.
    pub checkpoint_signer: Option<Arc<SigningKey>>,
    /// The first responses of keyed mutations (`Idempotency-Key`), shared by every replica.
    pub idempotency: IdempotencyStore,
    /// The Merkle tree and checkpoints in memory, kept up to date with the log: what proofs read.
    pub audit_tree: Arc<TreeCache>,
    /// The WebSocket connections this process may still accept
    /// ([`crate::config::Limits::websockets`]); each connection holds a permit.
    pub websockets: Arc<Semaphore>,
    /// Database reads of subscriptions (their first read, and following the log) run with one of
    /// these permits: a quarter of the pool, so that a flood of subscriptions waits here instead
    /// of taking every connection that queries and mutations need.
    pub subscription_reads: Arc<Semaphore>,
    /// The documents requests may name by hash; with trusted documents, the only ones that run.
    pub persisted: Arc<PersistedDocuments>,
    /// Becomes `true` when the server begins to stop: WebSocket connections end then.
    pub stopping: tokio::sync::watch::Sender<bool>,
    /// Every SQL statement the state's connections send (`/metrics`).
    pub statements: Arc<StatementCounter>,
}

impl ApiState {
    /// The state over `db`, verifying tokens with `verifier` (built by
    /// [`crate::auth::build_verifier`] in the server).
    #[must_use]
    pub fn new(config: Config, db: DatabaseConnection, verifier: Arc<Verifier>) -> Self {
        Self::with_signer(config, db, verifier, None)
    }

    /// The state of the server: as [`Self::new`], and the store signs a checkpoint per committed
    /// batch with `signer`.
    #[must_use]
    pub fn with_signer(
        config: Config,
        db: DatabaseConnection,
        verifier: Arc<Verifier>,
        signer: Option<Arc<SigningKey>>,
    ) -> Self {
        // Before the connection is cloned into the store and the read model, so all share it.
        let mut db = db;
        let statements = StatementCounter::install(&mut db);
        let writer = amanah_infra::store::database::writer_pool(&db).map(|mut writer| {
            statements.attach(&mut writer);
            writer
        });
        let store = SqlEventStore::start(
            db.clone(),
            StoreConfig {
                checkpoint_signer: signer.clone(),
                writer,
                ..StoreConfig::default()
            },
            SqlProjector,
        );
        let audit_tree = Arc::new(TreeCache::new(
            config.audit.tree_cache_mb.saturating_mul(1024 * 1024),
        ));
        // Ends when the state (and with it the copy) is dropped.
        drop(audit_tree.follow(&store));
        let subscription_reads = (amanah_infra::store::database::pool_size(&db) / 4).max(1);
        Self {
            websockets: Arc::new(Semaphore::new(config.limits.websockets)),
            persisted: Arc::new(PersistedDocuments::default()),
            stopping: tokio::sync::watch::Sender::new(false),
            statements,
            subscription_reads: Arc::new(Semaphore::new(subscription_reads as usize)),
            audit_tree,
            commands: CommandService::new(store),
            read_model: PortfolioReadModel::new(db.clone()),
            idempotency: IdempotencyStore::new(db.clone()),
            db,
            config: Arc::new(config),
            verifier,
            checkpoint_signer: signer,
        }
    }
}
