//! The composition root of the HTTP server.
//!
//! [`Application::build`] binds the listener (port 0 picks a free one, which tests use), builds the
//! shared state and the schema, and wires the routes of `docs/api.md`; the caller decides
//! when it stops by passing a future to [`Application::run_until_stopped`] (SIGINT/SIGTERM in
//! `amanah serve`, never in tests). The database arrives connected and migrated: `serve` and the
//! test harness each decide how.

use amanah_audit::note::SigningKey;
use amanah_domain::errors::Chain;
use amanah_domain::service::CommandService;
use amanah_infra::audit::cosignatures::Cosignatures;
use amanah_infra::audit::log::SqlAuditLog;
use amanah_infra::audit::tree_cache::TreeCache;
use amanah_infra::auth::Verifier;
use amanah_infra::read_model::SqlProjector;
use amanah_infra::store::database::Database;
use amanah_infra::store::idempotency::IdempotencyStore;
use amanah_infra::store::statements::StatementCounter;
use amanah_infra::{SqlEventStore, StoreConfig};
use std::sync::Arc;
use std::{future::Future, net::SocketAddr};
use tokio::sync::Semaphore;

use actix_web::{App, HttpServer, dev::Server, middleware::from_fn, web};

use crate::{
    config::Config,
    graphiql,
    graphql::{self, persisted::PersistedDocuments},
    graphql_http, health,
    metrics::{self, HttpMetrics},
    middleware::{RequestDeadline, observe_request},
    state::ApiState,
    witnessing::{Pusher, Witnessing},
};

/// How long a stopping server lets requests in flight finish.
const SHUTDOWN_GRACE_SECS: u64 = 30;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    SigningKey(#[from] amanah_infra::audit::files::SigningKeyError),
    #[error("could not listen on {address} ({source}); choose another address with AMANAH_LISTEN")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthSetupError),
    #[error(transparent)]
    TrustedDocuments(#[from] crate::graphql::persisted::TrustedDocumentsError),
    #[error(transparent)]
    WitnessPolicy(#[from] crate::witnessing::WitnessPolicyError),
    #[error("cannot build the HTTP client that pushes checkpoints to witnesses: {0}")]
    WitnessClient(#[from] reqwest::Error),
}

/// The server's socket, bound to `listen` (port 0: a free port).
#[derive(Debug)]
pub struct Listener {
    listener: std::net::TcpListener,
    address: SocketAddr,
}

impl Listener {
    /// Binds `config.listen`.
    ///
    /// # Errors
    /// [`StartupError::Bind`] when the address cannot be bound.
    pub fn bind(config: &Config) -> Result<Self, StartupError> {
        let requested = config.listen;
        let bind_error = |source| StartupError::Bind {
            address: requested,
            source,
        };
        let listener = std::net::TcpListener::bind(requested).map_err(bind_error)?;
        let address = listener.local_addr().map_err(bind_error)?;
        Ok(Self { listener, address })
    }

    /// The bound address (with the real port when `listen` asked for port 0).
    #[must_use]
    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

/// A bound, ready-to-run server.
pub struct Application {
    server: Server,
    address: SocketAddr,
    state: ApiState,
}

/// The composition root: every adapter the server uses, built over `db` — the event store with
/// its sequencer and the read model's projection, the read model's queries, the idempotency keys,
/// the audit tree's copy in memory — and the state every handler and resolver shares. `verifier`
/// checks tokens ([`crate::auth::build_verifier`]); `signer` signs a checkpoint per committed
/// batch (`None` only in tests of the portfolio alone); `persisted` are the documents requests
/// may name by hash (trusted documents, or the default cache of automatic persisted queries).
/// Nothing else builds adapters.
#[must_use]
pub fn state(
    config: Config,
    db: impl Into<Database>,
    verifier: Arc<Verifier>,
    signer: Option<Arc<SigningKey>>,
    persisted: PersistedDocuments,
) -> ApiState {
    // Before the pool is cloned into the store and the read model, so that all share the counter.
    let mut connection = db.into().into_connection();
    let statements = StatementCounter::install(&mut connection);
    let writer = amanah_infra::store::database::writer_pool(&connection).map(|mut writer| {
        statements.attach(writer.connection_mut());
        writer
    });
    let store = SqlEventStore::start(
        connection.clone(),
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
    let subscription_reads = (amanah_infra::store::database::pool_size(&connection) / 4).max(1);
    ApiState {
        websockets: Arc::new(Semaphore::new(config.limits.websockets)),
        persisted: Arc::new(persisted),
        stopping: tokio::sync::watch::Sender::new(false),
        statements,
        subscription_reads: Arc::new(Semaphore::new(subscription_reads as usize)),
        audit_log: Arc::new(SqlAuditLog::new(
            connection.clone(),
            Arc::clone(&audit_tree),
        )),
        audit_tree,
        commands: CommandService::new(store),
        read_model: crate::state::PortfolioReadModel::new(connection.clone()),
        idempotency: Arc::new(IdempotencyStore::new(connection.clone())),
        witnessing: None,
        db: Database::from(connection),
        config: Arc::new(config),
        verifier,
        checkpoint_signer: signer,
    }
}

/// The state a command-line tool that changes the portfolio works on (`amanah iati import`):
/// the same store, signing key and read model as `serve`, on a migrated database, with no
/// server around it. `db` is connected and migrated.
///
/// # Errors
/// [`StartupError`] when the signing key or token verification cannot be set up.
pub async fn offline_state(
    config: Config,
    db: impl Into<Database>,
) -> Result<ApiState, StartupError> {
    let verifier = Arc::new(crate::auth::build_verifier(&config).await?);
    let (signer, _) = amanah_infra::audit::files::load_or_create_signing_key(
        &config.audit.signing_key,
        &config.audit.origin,
    )?;
    Ok(state(
        config,
        db,
        verifier,
        Some(Arc::new(signer)),
        PersistedDocuments::default(),
    ))
}

impl Application {
    /// Binds `config.listen` and builds the server around `db` (connected and migrated). Without
    /// a configured HS256 secret, the data directory (which must exist) gets a generated one.
    ///
    /// # Errors
    /// [`StartupError::Bind`] when the address cannot be bound, [`StartupError::Auth`] when token
    /// verification cannot be set up.
    pub async fn build(config: Config, db: impl Into<Database>) -> Result<Self, StartupError> {
        let listener = Listener::bind(&config)?;
        Self::build_on(listener, config, db).await
    }

    /// As [`Self::build`], on a listener bound before: `amanah serve` binds first, so that a taken
    /// address stops it before it creates or migrates anything.
    ///
    /// # Errors
    /// As [`Self::build`].
    pub async fn build_on(
        listener: Listener,
        config: Config,
        db: impl Into<Database>,
    ) -> Result<Self, StartupError> {
        let Listener { listener, address } = listener;
        let bind_error = |source| StartupError::Bind { address, source };

        let limits = config.limits.clone();
        let verifier = std::sync::Arc::new(crate::auth::build_verifier(&config).await?);
        let (signer, created) = amanah_infra::audit::files::load_or_create_signing_key(
            &config.audit.signing_key,
            &config.audit.origin,
        )?;
        if created {
            tracing::info!(
                path = %config.audit.signing_key.display(),
                verifier_key = %signer.verifier_key(),
                "created the checkpoint signing key"
            );
        }
        let persisted = match &config.graphql.trusted_documents {
            Some(path) => {
                let documents = PersistedDocuments::trusted_from_file(path)?;
                tracing::info!(path = %path.display(), "only trusted documents run");
                documents
            }
            None => PersistedDocuments::default(),
        };
        let policy = match &config.audit.witness_policy {
            Some(path) => Some(crate::witnessing::load_policy(
                path,
                &signer.verifier_key(),
            )?),
            None => None,
        };
        let push_interval = std::time::Duration::from_secs(config.audit.witness_push_secs);
        let mut shared = state(config, db, verifier, Some(Arc::new(signer)), persisted);
        if let Some(policy) = policy {
            let cosignatures = Cosignatures::new(shared.db.connection().clone());
            let witnessing =
                Witnessing::new(policy, cosignatures.clone(), Arc::clone(&shared.audit_log));
            let pusher = Pusher::new(
                witnessing.clone(),
                cosignatures,
                Arc::clone(&shared.audit_log),
                push_interval,
            )?;
            tokio::spawn(pusher.run(shared.stopping.subscribe()));
            shared.witnessing = Some(witnessing);
        }
        let schema = graphql::schema(shared.clone());

        let state = web::Data::new(shared.clone());
        let schema = web::Data::new(schema);
        let metrics = web::Data::new(HttpMetrics::default());
        let deadline = web::Data::new(RequestDeadline(limits.request_timeout()));

        // actix-web counts connections per worker thread; one worker per core, as it defaults to.
        let workers = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let connections_per_worker = limits.connections.div_ceil(workers).max(1);
        let server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(observe_request))
                .app_data(state.clone())
                .app_data(schema.clone())
                .app_data(metrics.clone())
                .app_data(deadline.clone())
                .service(
                    web::resource("/graphql")
                        .route(web::post().to(graphql_http::graphql_post))
                        .route(web::get().to(graphql_http::graphql_get))
                        .default_service(web::to(graphql_http::method_not_allowed)),
                )
                .route("/graphiql", web::get().to(graphiql::page))
                .route("/graphiql/assets/{name}", web::get().to(graphiql::asset))
                .route("/schema.graphql", web::get().to(graphql_http::schema_sdl))
                .route("/audit/checkpoint", web::get().to(audit_checkpoint))
                .route(
                    "/iati/activities.xml",
                    web::get().to(crate::iati::activities_xml),
                )
                .route(
                    "/iati/organisations.xml",
                    web::get().to(crate::iati::organisations_xml),
                )
                .route("/healthz", web::get().to(health::healthz))
                .route("/readyz", web::get().to(health::readyz))
                .route("/metrics", web::get().to(metrics::render_metrics))
        })
        .workers(workers)
        .max_connections(connections_per_worker)
        .listen(listener)
        .map_err(bind_error)?
        .disable_signals()
        .shutdown_timeout(SHUTDOWN_GRACE_SECS)
        .run();

        tracing::info!(%address, "listening");
        Ok(Self {
            server,
            address,
            state: shared,
        })
    }

    /// The state the server shares with its handlers (for start-up work such as the demo data).
    #[must_use]
    pub fn state(&self) -> &ApiState {
        &self.state
    }

    /// The bound address (with the real port when `listen` asked for port 0).
    #[must_use]
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    #[must_use]
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Serves until `shutdown` completes, then stops accepting connections, ends every
    /// WebSocket connection at once (each running operation gets `complete`, then the socket is
    /// closed with 1001, going away, so that clients reconnect to another replica), lets HTTP
    /// requests in flight finish (up to 30 s), and logs `stopped`.
    ///
    /// # Errors
    /// An I/O error of the server.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let handle = self.server.handle();
        let stopping = self.state.stopping.clone();
        tokio::spawn(async move {
            shutdown.await;
            tracing::info!(
                "shutting down: ending WebSocket connections, finishing requests in flight"
            );
            stopping.send_replace(true);
            handle.stop(true).await;
        });
        let result = self.server.await;
        tracing::info!("stopped");
        result
    }
}

/// The query of `GET /audit/checkpoint`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckpointQuery {
    size: Option<u64>,
}

/// `GET /audit/checkpoint[?size=N]`: the latest signed checkpoint, or the one of size N,
/// `text/plain`, public (anyone may hold the log to what it signed). With a witness policy, the
/// note carries the witnesses' cosignatures, and without a size it is the newest checkpoint that
/// meets the policy's quorum. 404 before anything was signed, or for a size never signed.
async fn audit_checkpoint(
    state: web::Data<ApiState>,
    query: web::Query<CheckpointQuery>,
) -> actix_web::HttpResponse {
    match state.served_checkpoint(query.size).await {
        Ok(checkpoint) => actix_web::HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .insert_header(("cache-control", "no-cache"))
            .body(checkpoint.note),
        Err(amanah_domain::ports::AuditReadError::NotSigned(size)) => {
            actix_web::HttpResponse::NotFound()
                .content_type("text/plain; charset=utf-8")
                .body(format!("no checkpoint was signed at tree size {size}\n"))
        }
        Err(amanah_domain::ports::AuditReadError::NoCheckpoint) => {
            actix_web::HttpResponse::NotFound()
                .content_type("text/plain; charset=utf-8")
                .body("no checkpoint has been signed yet\n")
        }
        Err(error) => {
            tracing::error!(error = %Chain(&error), "cannot read the latest checkpoint");
            actix_web::HttpResponse::ServiceUnavailable()
                .content_type("text/plain; charset=utf-8")
                .body("the checkpoint cannot be read now; try again later\n")
        }
    }
}
