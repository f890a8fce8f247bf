//! The composition root of the HTTP server.
//!
//! [`Application::build`] binds the listener (port 0 picks a free one, which tests use), builds the
//! shared state and the schema, and wires the routes of `docs/api.md`; the caller decides
//! when it stops by passing a future to [`Application::run_until_stopped`] (SIGINT/SIGTERM in
//! `amanah serve`, never in tests). The database arrives connected and migrated: `serve` and the
//! test harness each decide how.

use amanah_domain::errors::Chain;
use std::sync::Arc;
use std::{future::Future, net::SocketAddr};

use actix_web::{App, HttpServer, dev::Server, middleware::from_fn, web};
use sea_orm::DatabaseConnection;

use crate::{
    config::Config,
    graphiql,
    graphql::{self, persisted::PersistedDocuments},
    graphql_http::{self, HttpLimits},
    health,
    metrics::{self, HttpMetrics},
    middleware::{RequestDeadline, observe_request},
    state::ApiState,
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

impl Application {
    /// Binds `config.listen` and builds the server around `db` (connected and migrated). Without
    /// a configured HS256 secret, the data directory (which must exist) gets a generated one.
    ///
    /// # Errors
    /// [`StartupError::Bind`] when the address cannot be bound, [`StartupError::Auth`] when token
    /// verification cannot be set up.
    pub async fn build(config: Config, db: DatabaseConnection) -> Result<Self, StartupError> {
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
        db: DatabaseConnection,
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
                Some(documents)
            }
            None => None,
        };
        let mut shared = ApiState::with_signer(config, db, verifier, Some(Arc::new(signer)));
        if let Some(documents) = persisted {
            shared.persisted = Arc::new(documents);
        }
        let schema = graphql::schema(shared.clone());

        let state = web::Data::new(shared.clone());
        let schema = web::Data::new(schema);
        let metrics = web::Data::new(HttpMetrics::default());
        let deadline = web::Data::new(RequestDeadline(limits.request_timeout()));
        let http_limits = web::Data::new(HttpLimits {
            body_bytes: limits.body_bytes,
            tokens: limits.tokens,
        });

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
                .app_data(http_limits.clone())
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

/// `GET /audit/checkpoint`: the latest signed checkpoint, `text/plain`, public (anyone may hold the
/// log to what it signed). 404 before anything was signed.
async fn audit_checkpoint(state: web::Data<ApiState>) -> actix_web::HttpResponse {
    match amanah_infra::audit::tree::latest_checkpoint(&state.db).await {
        Ok(Some(checkpoint)) => actix_web::HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .insert_header(("cache-control", "no-cache"))
            .body(checkpoint.note),
        Ok(None) => actix_web::HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("no checkpoint has been signed yet\n"),
        Err(error) => {
            tracing::error!(error = %Chain(&error), "cannot read the latest checkpoint");
            actix_web::HttpResponse::ServiceUnavailable()
                .content_type("text/plain; charset=utf-8")
                .body("the checkpoint cannot be read now; try again later\n")
        }
    }
}
