//! What every handler and resolver shares: built once, by [`crate::startup::state`] (the
//! composition root, which builds every adapter).

use std::sync::Arc;

use amanah_audit::note::SigningKey;
use amanah_domain::ports::{AuditLog, AuditReadError, IdempotencyKeys, StoredCheckpoint};
use amanah_domain::service::CommandService;
use amanah_infra::SqlEventStore;
use amanah_infra::audit::tree_cache::TreeCache;
use amanah_infra::auth::Verifier;
use amanah_infra::store::database::Database;
use amanah_infra::store::statements::StatementCounter;
use tokio::sync::Semaphore;

use crate::config::Config;
use crate::graphql::persisted::PersistedDocuments;

/// The read model the portfolio's queries read.
pub type PortfolioReadModel = amanah_infra::read_model::SqlReadModel;

/// The shared state, cheap to clone (handles and `Arc`s). Handlers get it as
/// `web::Data<ApiState>`, resolvers as `ctx.api_state()?` ([`crate::graphql::ContextExt`]).
#[derive(Debug, Clone)]
pub struct ApiState {
    /// The database: handed to `amanah_infra`'s adapters, which send every statement (the API
    /// sends none; it only asks whether the database answers).
    pub db: Database,
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
    pub idempotency: Arc<dyn IdempotencyKeys>,
    /// The audit log for auditors: events, signed checkpoints, proofs (and receipts).
    pub audit_log: Arc<dyn AuditLog>,
    /// The Merkle tree and checkpoints in memory, kept up to date with the log: what the audit
    /// log's proofs read first (here for its `/metrics`).
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
    /// With a witness policy (`audit.witness_policy`): the checkpoints served with their
    /// cosignatures, and the witnesses' state.
    pub witnessing: Option<crate::witnessing::Witnessing>,
}

impl ApiState {
    /// The checkpoint `GET /audit/checkpoint` and `auditCheckpoint` serve: at `size`, or the
    /// latest; with a witness policy, with the witnesses' cosignatures, and without a size the
    /// newest that meets the quorum (the newest of all while none does).
    ///
    /// # Errors
    /// A size never signed, nothing signed yet, or the store.
    pub async fn served_checkpoint(
        &self,
        size: Option<u64>,
    ) -> Result<StoredCheckpoint, AuditReadError> {
        match &self.witnessing {
            Some(witnessing) => witnessing.checkpoints.checkpoint(size).await,
            None => self.audit_log.signed_checkpoint(size).await,
        }
    }
}
