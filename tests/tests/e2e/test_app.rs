//! [`TestApp`]: a running server and a client to speak to it.

use std::{net::SocketAddr, sync::LazyLock};

use amanah_api::{
    config::{Config, DatabaseUrl},
    startup::Application,
    state::ApiState,
    telemetry::{self, TelemetrySettings},
};
use amanah_infra::auth::Role;
use amanah_infra::testing::TestDatabase;
use reqwest::{StatusCode, header};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

/// Installs the log subscriber once per test binary: to stdout when `TEST_LOG` is set, else
/// nowhere, so test output stays readable.
static TELEMETRY: LazyLock<()> = LazyLock::new(|| {
    let settings = TelemetrySettings {
        service_name: "amanah-test".to_owned(),
        filter: std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_owned()),
        format: amanah_api::config::LogFormat::Pretty,
        otlp: false,
        ansi: false,
    };
    if std::env::var_os("TEST_LOG").is_some() {
        let (subscriber, guard) = telemetry::get_subscriber(&settings, std::io::stdout).unwrap();
        telemetry::init_subscriber(subscriber).unwrap();
        std::mem::forget(guard);
    } else {
        let (subscriber, guard) = telemetry::get_subscriber(&settings, std::io::sink).unwrap();
        telemetry::init_subscriber(subscriber).unwrap();
        std::mem::forget(guard);
    }
});

/// What a test's database is: kept alive (and cleaned up when dropped) with the app.
enum Backing {
    Sqlite,
    Postgres(
        #[expect(dead_code, reason = "held for its Drop, which drops the database")] TestDatabase,
    ),
}

/// A running server with its own database and data directory.
pub struct TestApp {
    pub address: SocketAddr,
    pub client: reqwest::Client,
    /// The configuration the server runs with.
    pub config: Config,
    /// The server's shared state (its event store, to check what requests appended).
    pub state: ApiState,
    _data_dir: tempfile::TempDir,
    _backing: Backing,
}

/// A GraphQL response as the client saw it.
#[derive(Debug)]
pub struct GraphqlResponse {
    pub status: StatusCode,
    pub content_type: String,
    pub request_id: String,
    pub body: Value,
}

impl GraphqlResponse {
    /// The `extensions.code` of every error, in order.
    pub fn codes(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| {
                        e["extensions"]["code"]
                            .as_str()
                            .unwrap_or("none")
                            .to_owned()
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Fails the test, showing the body, unless the response has no errors.
    #[track_caller]
    pub fn assert_no_errors(&self) {
        assert_eq!(self.codes(), Vec::<String>::new(), "{:?}", self.body);
    }

    /// Whether the body has a `data` entry at all (request errors must not).
    pub fn has_data(&self) -> bool {
        self.body.get("data").is_some()
    }
}

impl TestApp {
    /// A server on a fresh, migrated SQLite database in a temporary data directory.
    pub async fn spawn_sqlite() -> Self {
        Self::spawn_sqlite_with(|_| {}).await
    }

    /// As [`Self::spawn_sqlite`], with the configuration adjusted first (limits, say).
    pub async fn spawn_sqlite_with(configure: impl FnOnce(&mut Config)) -> Self {
        let (config, data_dir) = test_config(configure);
        let db = amanah_infra::store::database::connect(config.database_url.expose())
            .await
            .unwrap();
        amanah_infra::store::database::migrate(&db).await.unwrap();
        Self::start(config, db, data_dir, Backing::Sqlite).await
    }

    /// A server on a SQLite database that was never migrated (readiness must fail).
    pub async fn spawn_sqlite_unmigrated() -> Self {
        let (config, data_dir) = test_config(|_| {});
        let db = amanah_infra::store::database::connect(config.database_url.expose())
            .await
            .unwrap();
        Self::start(config, db, data_dir, Backing::Sqlite).await
    }

    /// A server on a scratch PostgreSQL database of its own; panics when no PostgreSQL server
    /// answers (see `amanah_infra::testing`).
    pub async fn spawn_postgres() -> Self {
        let database = TestDatabase::postgres().await;
        let (config, data_dir) = test_config(|config| {
            config.database_url = DatabaseUrl::parse(database.url()).unwrap();
        });
        let db = database.connection().clone();
        Self::start(config, db, data_dir, Backing::Postgres(database)).await
    }

    async fn start(
        config: Config,
        db: DatabaseConnection,
        data_dir: tempfile::TempDir,
        backing: Backing,
    ) -> Self {
        LazyLock::force(&TELEMETRY);
        let application = Application::build(config.clone(), db).await.unwrap();
        let address = application.address();
        let state = application.state().clone();
        tokio::spawn(application.run_until_stopped(std::future::pending()));
        Self {
            address,
            client: reqwest::Client::new(),
            config,
            state,
            _data_dir: data_dir,
            _backing: backing,
        }
    }

    /// An HS256 token for `sub` with `roles` (and `org`), valid for an hour, minted with the
    /// server's secret (the data directory's generated one unless the test configured one), as
    /// `amanah token` mints it.
    pub fn token(&self, sub: &str, roles: &[Role], org: Option<uuid::Uuid>) -> String {
        let secret = amanah_api::auth::hs256_secret(&self.config).unwrap();
        amanah_infra::auth::mint_hs256(
            &secret,
            sub,
            roles,
            org,
            std::time::Duration::from_secs(3600),
            &self.config.auth.issuer,
            &self.config.auth.audience,
        )
        .unwrap()
    }

    /// Runs `query` with `variables` as the bearer of `token`.
    pub async fn graphql_as(&self, token: &str, query: &str, variables: Value) -> GraphqlResponse {
        self.send(
            self.post_graphql()
                .bearer_auth(token)
                .json(&json!({ "query": query, "variables": variables })),
        )
        .await
    }

    /// Registers an organisation (with `org_ref` when given) as the bearer of `token`, which must
    /// succeed; returns its id and the audit index of its event.
    pub async fn register_organisation(
        &self,
        token: &str,
        name: &str,
        org_ref: Option<&str>,
    ) -> (String, u64) {
        let response = self
            .graphql_as(
                token,
                "mutation($input: RegisterOrganisationInput!) {
                    registerOrganisation(input: $input) { organisation { id } auditIndex } }",
                json!({ "input": { "name": name, "ref": org_ref, "type": "GOVERNMENT" } }),
            )
            .await;
        response.assert_no_errors();
        let payload = &response.body["data"]["registerOrganisation"];
        (
            payload["organisation"]["id"].as_str().unwrap().to_owned(),
            payload["auditIndex"].as_u64().unwrap(),
        )
    }

    /// The number of events in the audit log.
    pub async fn log_size(&self) -> u64 {
        self.state.commands.store().size().await.unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path))
    }

    /// `POST /graphql` with a JSON body and `Accept: application/graphql-response+json`.
    pub fn post_graphql(&self) -> reqwest::RequestBuilder {
        self.client
            .post(self.url("/graphql"))
            .header(header::ACCEPT, "application/graphql-response+json")
    }

    /// Runs `query` with `variables` the way a modern client does.
    pub async fn graphql(&self, query: &str, variables: Value) -> GraphqlResponse {
        self.send(
            self.post_graphql()
                .json(&json!({ "query": query, "variables": variables })),
        )
        .await
    }

    /// Sends any request and reads the answer as a GraphQL response.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> GraphqlResponse {
        let response = request.send().await.unwrap();
        let status = response.status();
        let header_text = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let content_type = header_text("content-type");
        let request_id = header_text("x-request-id");
        let text = response.text().await.unwrap();
        let body =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
        GraphqlResponse {
            status,
            content_type,
            request_id,
            body,
        }
    }
}

/// Defaults in a fresh data directory, listening on a free port.
fn test_config(configure: impl FnOnce(&mut Config)) -> (Config, tempfile::TempDir) {
    let data_dir = tempfile::tempdir().unwrap();
    let mut config = Config::defaults_in(data_dir.path());
    config.listen = "127.0.0.1:0".parse().unwrap();
    configure(&mut config);
    (config, data_dir)
}
