//! Amanah's configuration: one typed value, built once in `main` and passed down; never a global.
//!
//! Three layers, each overriding the one before (`docs/api.md`, "Configuration"):
//!
//! 1. the defaults ([`Config::defaults_in`]);
//! 2. a TOML file: `--config FILE` (which must exist) or, when that flag is absent, `amanah.toml` in
//!    the working directory if there is one;
//! 3. `AMANAH_*` environment variables.
//!
//! Every setting has one file key and one variable, derived from each other: the file key
//! `limits.depth` is the variable `AMANAH_LIMITS_DEPTH`. Unknown file keys and unknown `AMANAH_*`
//! variables are errors that name the key, so a typo never silently falls back to a default
//! (`AMANAH_TEST_*` is reserved for the test suites and ignored here). Invalid values are errors that
//! name the key or variable; secret values are never repeated in errors.
//!
//! [`Config`] is itself the description of the settings. Each setting is one field: its doc comment,
//! its parse function (`deserialize_with`, range included) and, in [`Config::defaults_in`] or its
//! section's `Default`, its default. Serde derives the rest: `#[serde(default)]` fills in what no
//! layer sets, `deny_unknown_fields` refuses any other key, and the known keys (and so variables)
//! listed in those errors are serde's own list of the fields. The two defaults inside the data dir
//! (the SQLite database, the signing key) follow the data dir the layers chose.
//!
//! [figment] does the layering. The file, parsed with `toml`, and the `AMANAH_*` variables, gathered
//! into the same shape (`AMANAH_LIMITS_DEPTH` → `[limits] depth`, by looking the name up among the
//! known variables), are two figment providers; figment merges them, extracts [`Config`], and
//! reports a failure with its key path and the layer it came from, from which the [`ConfigError`]
//! names the file key or the variable. The variables are gathered here rather than by figment's
//! `Env`, which reads only the process environment: [`Config::load`] takes the environment as a
//! list, so tests never change the process's. A value reaches its parse function as the layer gave
//! it: TOML booleans and integers natively, a variable always as text (never guessed into a number),
//! so the file and the environment share one parser per setting and give the same message for the
//! same mistake. Each layer is also extracted on its own first, so an invalid value in the file is an
//! error even when a variable overrides it.
//!
//! Secrets are held in [`Secret`], whose `Debug`, `Display` and `Serialize` print `[redacted]`; the
//! database and JWKS URLs show `[redacted]` in place of their credentials (userinfo, and query
//! parameters such as `password` or `token`). `amanah config` prints [`Config`] as TOML.

use std::{
    ffi::OsStr,
    fmt,
    net::{Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
    time::Duration,
};

use amanah_infra::url_redaction::redact_url;
use figment::{
    Figment, Metadata, Profile, Provider,
    error::Kind,
    value::{Dict, Map, Value},
};
use serde::{Deserialize, Serialize, Serializer};

use crate::graphql::document_bounds::DocumentLimits;

/// The file read when `--config` is not given, if it exists in the working directory.
pub const DEFAULT_FILE_NAME: &str = "amanah.toml";

/// Variables starting with this prefix are reserved for the test suites and not configuration.
const TEST_VARIABLE_PREFIX: &str = "AMANAH_TEST_";

/// A value that must never be printed: logs, `amanah config` and errors show `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    #[must_use]
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The secret itself, for the one place that needs it (signing a token, connecting).
    #[must_use]
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<T> Serialize for Secret<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("[redacted]")
    }
}

/// A database URL (`sqlite://…` or `postgres://…`). It may carry a password (in the userinfo or
/// a query parameter), so `Debug`, `Display` and `Serialize` show it without its credentials
/// ([`amanah_infra::url_redaction`]).
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// # Errors
    /// When the URL is neither `sqlite:` nor `postgres://` / `postgresql://`.
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        if url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://")
        {
            Ok(Self(url.to_owned()))
        } else {
            Err("it must start with `sqlite:`, `postgres://` or `postgresql://`".to_owned())
        }
    }

    /// The SQLite database inside `data_dir`, created when missing.
    #[must_use]
    pub fn sqlite_in(data_dir: &Path) -> Self {
        Self(format!(
            "sqlite://{}/amanah.db?mode=rwc",
            data_dir.display()
        ))
    }

    /// The full URL, password included: only for connecting.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    #[must_use]
    pub fn is_sqlite(&self) -> bool {
        self.0.starts_with("sqlite:")
    }

    fn redacted(&self) -> String {
        redact_url(&self.0)
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for DatabaseUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.redacted())
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable, for a terminal.
    Pretty,
    /// One JSON object per line, for log collectors in production.
    Json,
}

/// The effective configuration, and the description of the settings: a field is a setting (a
/// section, such as `limits`, holds more), read by its parse function and defaulting to
/// [`Config::defaults_in`]'s value.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server binds; port 0 picks a free port (the bound address is logged).
    #[serde(deserialize_with = "parse::listen")]
    pub listen: SocketAddr,
    /// Holds the SQLite database, the signing key and the development token secret.
    #[serde(deserialize_with = "parse::path")]
    pub data_dir: PathBuf,
    /// By default the SQLite database in the data dir.
    #[serde(deserialize_with = "parse::database_url")]
    pub database_url: DatabaseUrl,
    /// Whether anonymous clients may read domain data.
    #[serde(deserialize_with = "parse::boolean")]
    pub public_read: bool,
    #[serde(deserialize_with = "parse::log_format")]
    pub log_format: LogFormat,
    pub auth: AuthConfig,
    pub audit: AuditConfig,
    pub limits: Limits,
    pub idempotency: IdempotencyConfig,
    pub graphql: GraphqlConfig,
    pub sqlite: SqliteConfig,
}

/// SQLite, when `database_url` names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SqliteConfig {
    /// MiB of the database file memory-mapped (0: none). Reads of a large log come from the page
    /// cache without a copy; the mapped pages count in the process's resident memory (`RssFile`)
    /// and in a container's memory limit, though the kernel drops them under pressure. SQLite
    /// caps it just under 2 GiB.
    #[serde(deserialize_with = "parse::whole::<_, _, 0, { 1024 * 1024 }>")]
    pub mmap_mb: u64,
}

impl SqliteConfig {
    /// Just under 2 GiB, SQLite's own ceiling: the whole file of a 1.7M-event log.
    pub const DEFAULT_MMAP_MB: u64 =
        amanah_infra::store::database::SQLITE_MMAP_BYTES / (1024 * 1024);
}

impl Default for SqliteConfig {
    fn default() -> Self {
        Self {
            mmap_mb: Self::DEFAULT_MMAP_MB,
        }
    }
}

impl Config {
    /// How the connection pool is set up.
    #[must_use]
    pub fn connect_settings(&self) -> amanah_infra::store::database::ConnectSettings {
        amanah_infra::store::database::ConnectSettings {
            sqlite_mmap_bytes: self.sqlite.mmap_mb.saturating_mul(1024 * 1024),
        }
    }
}

/// What GraphQL documents the server runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GraphqlConfig {
    /// With a file, only its documents run ([`crate::graphql::persisted`]); without, any document
    /// within the limits, and automatic persisted queries.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "parse::optional_path"
    )]
    pub trusted_documents: Option<PathBuf>,
    /// Memory for the answers of the read plans (MiB; 0 turns it off): a query a plan answers is
    /// answered again from memory while the log has not grown (`read_plan::ResponseCache`).
    #[serde(deserialize_with = "parse::whole::<_, _, 0, 65_536>")]
    pub response_cache_mb: u64,
}

impl Default for GraphqlConfig {
    fn default() -> Self {
        Self {
            trusted_documents: None,
            response_cache_mb: Config::DEFAULT_RESPONSE_CACHE_MB,
        }
    }
}

/// Idempotency keys of mutations (`Idempotency-Key`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdempotencyConfig {
    /// How long a key and its first response are kept: a retry within it replays the response,
    /// after it the key may be used afresh. Long enough for a partner system's retries over a
    /// night's outage, short enough that the table stays small.
    #[serde(
        serialize_with = "serialize_lifetime",
        deserialize_with = "parse::lifetime"
    )]
    pub ttl: Duration,
}

impl IdempotencyConfig {
    pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 60 * 60);
}

impl Default for IdempotencyConfig {
    fn default() -> Self {
        Self {
            ttl: Self::DEFAULT_TTL,
        }
    }
}

/// A lifetime in the largest of hours, minutes and seconds that divides it exactly (`24h`,
/// `168h`, `90m`, `45s`), as `--ttl` and `AMANAH_IDEMPOTENCY_TTL` read it and the README writes
/// it.
fn serialize_lifetime<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    let secs = value.as_secs();
    let text = [(3600, "h"), (60, "m")]
        .into_iter()
        .find(|(unit, _)| secs > 0 && secs.is_multiple_of(*unit))
        .map_or_else(
            || format!("{secs}s"),
            |(unit, suffix)| format!("{}{suffix}", secs / unit),
        );
    serializer.serialize_str(&text)
}

/// Bearer-token verification (`docs/api.md`, "Identity and access").
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Shared secret for HS256 tokens (≥ 32 bytes); generated into the data dir when unset.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "parse::hs256_secret"
    )]
    pub hs256_secret: Option<Secret<String>>,
    /// JWKS file path or `https://` URL for RS256 / ES256 / EdDSA tokens. A URL may carry
    /// credentials (userinfo, `?token=…`): `Debug` and `Serialize` show it redacted.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_redacted_url",
        deserialize_with = "parse::jwks"
    )]
    pub jwks: Option<String>,
    /// Required `iss` claim.
    #[serde(deserialize_with = "parse::text")]
    pub issuer: String,
    /// Required `aud` claim.
    #[serde(deserialize_with = "parse::text")]
    pub audience: String,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            hs256_secret: None,
            jwks: None,
            issuer: Config::DEFAULT_ISSUER.to_owned(),
            audience: Config::DEFAULT_AUDIENCE.to_owned(),
        }
    }
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("hs256_secret", &self.hs256_secret)
            .field("jwks", &self.jwks.as_deref().map(redact_url))
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

fn serialize_redacted_url<S: Serializer>(
    value: &Option<String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(url) => serializer.serialize_some(&redact_url(url)),
        None => serializer.serialize_none(),
    }
}

/// The signed audit log (`docs/audit-log.md`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// Checkpoint origin line and key name.
    #[serde(deserialize_with = "parse::origin")]
    pub origin: String,
    /// Ed25519 signing key file; by default in the data dir.
    #[serde(deserialize_with = "parse::path")]
    pub signing_key: PathBuf,
    /// Memory for the in-process copy of the Merkle tree that proofs read (MiB; 0 turns it off).
    /// The whole tree takes about 64 bytes per event; a smaller budget holds its upper levels.
    #[serde(deserialize_with = "parse::whole::<_, _, 0, { 1024 * 1024 }>")]
    pub tree_cache_mb: u64,
    /// The witness policy (`docs/witness.md` §3): the witnesses the server pushes its checkpoints
    /// to, each with its URL, and the quorum of cosignatures `/audit/checkpoint` waits for.
    /// Without one, checkpoints are served with the log's signature alone.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "parse::optional_path"
    )]
    pub witness_policy: Option<PathBuf>,
    /// Seconds between two rounds of pushes to the witnesses.
    #[serde(deserialize_with = "parse::whole::<_, _, 1, 3600>")]
    pub witness_push_secs: u64,
}

impl AuditConfig {
    /// The defaults, with the signing key in `data_dir`.
    fn defaults_in(data_dir: &Path) -> Self {
        Self {
            origin: Config::DEFAULT_AUDIT_ORIGIN.to_owned(),
            signing_key: Self::signing_key_in(data_dir),
            tree_cache_mb: Config::DEFAULT_TREE_CACHE_MB,
            witness_policy: None,
            witness_push_secs: Config::DEFAULT_WITNESS_PUSH_SECS,
        }
    }

    /// The default signing key file inside `data_dir`.
    fn signing_key_in(data_dir: &Path) -> PathBuf {
        data_dir.join("audit-signing.key")
    }
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self::defaults_in(Path::new(Config::DEFAULT_DATA_DIR))
    }
}

/// Limits that keep one request from taking the service down. Each is configurable; the defaults
/// suit the portfolio's schema (the deepest useful query is about eight levels).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Maximum selection depth: stops queries that walk project → organisation → project … forever.
    #[serde(deserialize_with = "parse::whole::<_, _, 1, 1000>")]
    pub depth: usize,
    /// Maximum complexity (each field counts 1, a connection its selection once per item it may
    /// return): bounds the work one query can ask for even when it is shallow.
    #[serde(deserialize_with = "parse::whole::<_, _, 1, 1_000_000>")]
    pub complexity: usize,
    /// Maximum number of aliased fields in one document: aliases let a small document ask for the
    /// same expensive field hundreds of times.
    #[serde(deserialize_with = "parse::whole::<_, _, 0, 10_000>")]
    pub aliases: usize,
    /// Maximum `first` / `last` of a connection; the contract promises clients at most 100.
    #[serde(deserialize_with = "parse::whole::<_, _, 1, { Limits::MAX_PAGE_SIZE as u64 }>")]
    pub page_size: usize,
    /// Maximum request body: GraphQL documents are small; a large body is a mistake or an attack.
    #[serde(deserialize_with = "parse::whole::<_, _, 1024, { 1024 * 1024 * 1024 }>")]
    pub body_bytes: usize,
    /// Seconds a request may take before it is abandoned, so a stuck query cannot hold a worker.
    #[serde(deserialize_with = "parse::whole::<_, _, 1, { 24 * 60 * 60 }>")]
    pub request_timeout_secs: u64,
    /// Most lexical tokens in one GraphQL document, counted before it is parsed: parsing and
    /// validating cost grows with the document, and no real query comes near it.
    #[serde(deserialize_with = "parse::whole::<_, _, 100, 1_000_000>")]
    pub tokens: usize,
    /// Most fragment definitions in one document (Relay pages use a few dozen).
    #[serde(deserialize_with = "parse::whole::<_, _, 0, 100_000>")]
    pub fragments: usize,
    /// Most directives in one document: each is checked and many repeated `@include`s otherwise
    /// make a small document answer with megabytes of errors.
    #[serde(deserialize_with = "parse::whole::<_, _, 0, 100_000>")]
    pub directives: usize,
    /// Most HTTP connections the process holds open at once (WebSocket connections included);
    /// beyond it new connections wait in the listen queue.
    #[serde(deserialize_with = "parse::whole::<_, _, 16, 1_000_000>")]
    pub connections: usize,
    /// Most WebSocket connections the process holds; an upgrade beyond it is refused with `503`.
    #[serde(deserialize_with = "parse::whole::<_, _, 0, 1_000_000>")]
    pub websockets: usize,
    /// Most operations running at once on one WebSocket connection; a `subscribe` beyond it gets
    /// an `error` with `RATE_LIMITED`.
    #[serde(deserialize_with = "parse::whole::<_, _, 1, 100_000>")]
    pub subscriptions_per_socket: usize,
    /// Seconds a new WebSocket connection may take to send `connection_init` (then 4408): an
    /// idle socket otherwise holds a connection slot for as long as it answers pings.
    #[serde(deserialize_with = "parse::whole::<_, _, 1, 3600>")]
    pub websocket_init_timeout_secs: u64,
}

impl Limits {
    pub const DEFAULT_DEPTH: usize = 12;
    /// A connection costs its selection once per item ([`crate::graphql::connection::connection_cost`]),
    /// so this is about the number of values a response may hold: a page of 100 projects with
    /// ten fields and ten activities of each comes to about 7,000.
    pub const DEFAULT_COMPLEXITY: usize = 10_000;
    pub const DEFAULT_ALIASES: usize = 30;
    /// Also the most a page may ever hold (`docs/api.md`).
    pub const MAX_PAGE_SIZE: usize = 100;
    pub const DEFAULT_BODY_BYTES: usize = 1024 * 1024;
    pub const DEFAULT_REQUEST_TIMEOUT_SECS: u64 = 30;
    pub const DEFAULT_TOKENS: usize = 10_000;
    pub const DEFAULT_FRAGMENTS: usize = 200;
    pub const DEFAULT_DIRECTIVES: usize = 50;
    pub const DEFAULT_CONNECTIONS: usize = 4096;
    pub const DEFAULT_WEBSOCKETS: usize = 1024;
    pub const DEFAULT_SUBSCRIPTIONS_PER_SOCKET: usize = 100;
    pub const DEFAULT_WEBSOCKET_INIT_TIMEOUT_SECS: u64 = 10;

    #[must_use]
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    /// The bounds every GraphQL document is checked against before it is parsed and validated;
    /// its expanded fields are bounded by the complexity limit.
    #[must_use]
    pub fn document(&self) -> DocumentLimits {
        DocumentLimits {
            tokens: self.tokens,
            fragments: self.fragments,
            directives: self.directives,
            fields: self.complexity,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            depth: Self::DEFAULT_DEPTH,
            complexity: Self::DEFAULT_COMPLEXITY,
            aliases: Self::DEFAULT_ALIASES,
            page_size: Self::MAX_PAGE_SIZE,
            body_bytes: Self::DEFAULT_BODY_BYTES,
            request_timeout_secs: Self::DEFAULT_REQUEST_TIMEOUT_SECS,
            tokens: Self::DEFAULT_TOKENS,
            fragments: Self::DEFAULT_FRAGMENTS,
            directives: Self::DEFAULT_DIRECTIVES,
            connections: Self::DEFAULT_CONNECTIONS,
            websockets: Self::DEFAULT_WEBSOCKETS,
            subscriptions_per_socket: Self::DEFAULT_SUBSCRIPTIONS_PER_SOCKET,
            websocket_init_timeout_secs: Self::DEFAULT_WEBSOCKET_INIT_TIMEOUT_SECS,
        }
    }
}

/// Why the configuration could not be loaded. Each message is one sentence naming the file, key
/// or variable at fault and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("the configuration file {} does not exist; pass an existing file to --config", path.display())]
    FileNotFound { path: PathBuf },
    #[error("the configuration file {} could not be read ({source}); check its permissions", path.display())]
    FileUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the configuration file {} is not valid TOML: {message}", path.display())]
    FileSyntax { path: PathBuf, message: String },
    #[error("unknown key `{key}` in the configuration file {}; known keys are {known}", path.display())]
    UnknownKey {
        path: PathBuf,
        key: String,
        known: String,
    },
    #[error("unknown environment variable {name}; known variables are {known}")]
    UnknownVariable { name: String, known: String },
    #[error("invalid value for {origin}: {reason}")]
    InvalidValue { origin: String, reason: String },
}

/// `HOST:PORT`, `[V6]:PORT`, `localhost:PORT`, or `:PORT` (all IPv4 interfaces, as Go and
/// others read it).
fn parse_listen(text: &str) -> Result<SocketAddr, ()> {
    if let Some(port) = text.strip_prefix(':') {
        let port = port.parse::<u16>().map_err(|_| ())?;
        return Ok(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)));
    }
    if let Some(port) = text.strip_prefix("localhost:") {
        let port = port.parse::<u16>().map_err(|_| ())?;
        return Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    }
    text.parse::<SocketAddr>().map_err(|_| ())
}

/// Which configuration file to read, if any.
#[derive(Debug, Clone, Copy)]
pub enum FileChoice<'a> {
    /// `--config FILE`: it must exist.
    Explicit(&'a Path),
    /// No `--config`: `amanah.toml` in this directory is read when present.
    DefaultIn(&'a Path),
    /// Defaults and environment only (tests).
    None,
}

impl Config {
    pub const DEFAULT_LISTEN: SocketAddr =
        SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 8080);
    pub const DEFAULT_DATA_DIR: &str = "./amanah-data";
    pub const DEFAULT_ISSUER: &str = "amanah";
    pub const DEFAULT_AUDIENCE: &str = "amanah";
    pub const DEFAULT_AUDIT_ORIGIN: &str = "amanah.local/audit";
    /// Holds the whole tree of a log of 4 million events.
    pub const DEFAULT_TREE_CACHE_MB: u64 = 256;
    /// As Tessera pushes to its witnesses.
    pub const DEFAULT_WITNESS_PUSH_SECS: u64 = 10;
    /// A few hundred list pages.
    pub const DEFAULT_RESPONSE_CACHE_MB: u64 = 64;

    /// Loads the configuration from the three layers.
    ///
    /// `env` is the process environment in production and a literal list in tests, so tests never
    /// mutate the process environment.
    ///
    /// # Errors
    /// A missing explicit file, unreadable or invalid TOML, an unknown key or `AMANAH_*` variable,
    /// or an invalid value: see [`ConfigError`].
    pub fn load<I, K, V>(file: FileChoice<'_>, env: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        let keys = file_keys();
        let mut figment = Figment::new();
        // Each layer is extracted on its own first, so that an invalid value is an error even when
        // a later layer overrides it; the file's errors come before the environment's.
        if let Some((path, text)) = read_file(file)? {
            let layer = Layer::file(path, &text, &keys)?;
            extract(&Figment::from(&layer), &keys)?;
            figment = figment.merge(layer);
        }
        let layer = Layer::environment(env, &keys)?;
        extract(&Figment::from(&layer), &keys)?;
        let figment = figment.merge(layer);

        let mut config = extract(&figment, &keys)?;
        // The defaults inside the data dir follow the data dir the layers chose.
        if !figment.contains("database_url") {
            config.database_url = DatabaseUrl::sqlite_in(&config.data_dir);
        }
        if !figment.contains("audit.signing_key") {
            config.audit.signing_key = AuditConfig::signing_key_in(&config.data_dir);
        }
        Ok(config)
    }

    /// The defaults with `data_dir` set, as a starting point for tests.
    #[must_use]
    pub fn defaults_in(data_dir: &Path) -> Self {
        Self {
            listen: Self::DEFAULT_LISTEN,
            data_dir: data_dir.to_owned(),
            database_url: DatabaseUrl::sqlite_in(data_dir),
            public_read: true,
            log_format: LogFormat::Pretty,
            auth: AuthConfig::default(),
            audit: AuditConfig::defaults_in(data_dir),
            limits: Limits::default(),
            idempotency: IdempotencyConfig::default(),
            graphql: GraphqlConfig::default(),
            sqlite: SqliteConfig::default(),
        }
    }

    /// The effective configuration as TOML, secrets redacted (`amanah config`).
    ///
    /// # Errors
    /// Only if a value cannot be written as TOML, which the types rule out.
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string(self)
    }
}

/// The defaults, with the data dir `./amanah-data`.
impl Default for Config {
    fn default() -> Self {
        Self::defaults_in(Path::new(Self::DEFAULT_DATA_DIR))
    }
}

fn read_file(file: FileChoice<'_>) -> Result<Option<(PathBuf, String)>, ConfigError> {
    let (path, required) = match file {
        FileChoice::Explicit(path) => (path.to_owned(), true),
        FileChoice::DefaultIn(dir) => (dir.join(DEFAULT_FILE_NAME), false),
        FileChoice::None => return Ok(None),
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some((path, text))),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            if required {
                Err(ConfigError::FileNotFound { path })
            } else {
                Ok(None)
            }
        }
        Err(source) => Err(ConfigError::FileUnreadable { path, source }),
    }
}

/// One layer's settings in the file's shape (`[limits] depth = …`), as a figment provider whose
/// metadata says where they came from: the file's path, or none for the environment.
struct Layer {
    settings: toml::Table,
    file: Option<PathBuf>,
}

impl Layer {
    /// The file's settings. The file is parsed here rather than by figment's `Toml` provider, so
    /// that a syntax error is [`ConfigError::FileSyntax`] with `toml`'s one-line message.
    fn file(path: PathBuf, text: &str, keys: &[String]) -> Result<Self, ConfigError> {
        let settings: toml::Table = match toml::from_str(text) {
            Ok(settings) => settings,
            Err(error) => {
                return Err(ConfigError::FileSyntax {
                    path,
                    message: error.message().to_owned(),
                });
            }
        };
        // A section given as anything but a table (`limits = 5`, `[[limits]]`) is no key:
        // serde would read a list as the section's fields in order.
        let section = |name: &str| {
            keys.iter()
                .any(|key| key.split_once('.').is_some_and(|(s, _)| s == name))
        };
        if let Some((name, _)) = settings
            .iter()
            .find(|(name, value)| !value.is_table() && section(name))
        {
            return Err(ConfigError::UnknownKey {
                key: name.clone(),
                path,
                known: known_file_keys(keys),
            });
        }
        Ok(Self {
            settings,
            file: Some(path),
        })
    }

    /// The `AMANAH_*` variables, each set as text at the file key it names; an `AMANAH_*` name
    /// that is not one of `keys`' variables is an error.
    fn environment<I, K, V>(env: I, keys: &[String]) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        let mut settings = toml::Table::new();
        for (name, value) in env {
            let name = name.as_ref().to_string_lossy();
            if !name.starts_with("AMANAH_") || name.starts_with(TEST_VARIABLE_PREFIX) {
                continue;
            }
            let key = keys
                .iter()
                .find(|key| variable(key) == name)
                .ok_or_else(|| ConfigError::UnknownVariable {
                    name: name.to_string(),
                    known: known_variables(keys),
                })?;
            let value = value
                .as_ref()
                .to_str()
                .ok_or_else(|| ConfigError::InvalidValue {
                    origin: name.to_string(),
                    reason: "the value is not valid UTF-8".to_owned(),
                })?;
            set(&mut settings, key, toml::Value::String(value.to_owned()));
        }
        Ok(Self {
            settings,
            file: None,
        })
    }
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        match &self.file {
            Some(path) => Metadata::from("configuration file", path.as_path()),
            None => Metadata::named("environment"),
        }
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let settings = Value::serialize(&self.settings)?
            .into_dict()
            .ok_or_else(|| figment::Error::from("the settings are not a table".to_owned()))?;
        Ok(Profile::Default.collect(settings))
    }
}

/// Sets the file key `key` (`limits.depth`) in `table`, adding its section when missing.
fn set(table: &mut toml::Table, key: &str, value: toml::Value) {
    match key.split_once('.') {
        Some((section, rest)) => {
            let section = table
                .entry(section)
                .or_insert_with(|| toml::Table::new().into());
            if let toml::Value::Table(section) = section {
                set(section, rest, value);
            }
        }
        None => {
            table.insert(key.to_owned(), value);
        }
    }
}

/// Extracts [`Config`], turning figment's error into the [`ConfigError`] that names the file key
/// or the variable, from the error's key path and the metadata of the layer that gave the value.
fn extract(figment: &Figment, keys: &[String]) -> Result<Config, ConfigError> {
    figment.extract().map_err(|error: figment::Error| {
        let key = error.path.join(".");
        let file = error
            .metadata
            .as_ref()
            .and_then(|metadata| metadata.source.as_ref()?.file_path())
            .map(Path::to_owned);
        match (error.kind, file) {
            // A parse function's reason.
            (Kind::Message(reason), Some(path)) => ConfigError::InvalidValue {
                origin: format!("`{key}` in the configuration file {}", path.display()),
                reason,
            },
            (Kind::Message(reason), None) => ConfigError::InvalidValue {
                origin: variable(&key),
                reason,
            },
            // Anything else is a key that is no setting (`deny_unknown_fields`); the environment
            // has none, its unknown names being refused as they are gathered.
            (_, Some(path)) => ConfigError::UnknownKey {
                path,
                key,
                known: known_file_keys(keys),
            },
            (_, None) => ConfigError::UnknownVariable {
                name: variable(&key),
                known: known_variables(keys),
            },
        }
    })
}

/// Every setting's file key, in the order [`Config`] declares them: serde's own list of each
/// struct's fields, which `deny_unknown_fields` gives with a key that is none of them (`?` at the
/// top, then `section.?` for each field; a setting's parse function refuses the table instead).
fn file_keys() -> Vec<String> {
    let fields_at = |path: &str| match Figment::from((path, 0)).extract::<Config>() {
        Err(figment::Error {
            kind: Kind::UnknownField(_, fields),
            ..
        }) => fields,
        _ => &[],
    };
    fields_at("?")
        .iter()
        .flat_map(|name| match fields_at(&format!("{name}.?")) {
            [] => vec![(*name).to_owned()],
            fields => fields
                .iter()
                .map(|field| format!("{name}.{field}"))
                .collect(),
        })
        .collect()
}

/// The variable of a file key: `limits.depth` is `AMANAH_LIMITS_DEPTH`.
fn variable(key: &str) -> String {
    format!("AMANAH_{}", key.replace('.', "_").to_uppercase())
}

fn known_file_keys(keys: &[String]) -> String {
    keys.iter()
        .map(|key| format!("`{key}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn known_variables(keys: &[String]) -> String {
    keys.iter()
        .map(|key| variable(key))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How each setting reads the value a layer gave: the fields' `deserialize_with` functions. An
/// error is the reason alone (`expected …, found …`); [`extract`] names the key or variable.
mod parse {
    use std::{fmt, net::SocketAddr, path::PathBuf, time::Duration};

    use amanah_infra::auth::config::MIN_SECRET_BYTES;
    use amanah_infra::auth::mint::MAX_TTL;
    use serde::{
        Deserialize, Deserializer,
        de::{self, Error as _, MapAccess, SeqAccess, Visitor},
    };

    use super::{DatabaseUrl, LogFormat, Secret};

    /// How an error shows a secret's value: not at all.
    const SECRET_SHOWN: &str = "the given value";

    /// The one key of the table `toml` writes a date as (`toml_datetime`'s marker).
    const TOML_DATETIME: &str = "$__toml_private_datetime";

    /// A value as a layer gave it: the file's TOML may hold booleans and integers, a variable only
    /// text.
    enum Given {
        Text(String),
        Bool(bool),
        Integer(i128),
        Other(&'static str),
    }

    impl Given {
        /// The value as an error shows it.
        fn shown(&self) -> String {
            match self {
                Self::Text(text) => format!("`{text}`"),
                Self::Bool(b) => format!("`{b}`"),
                Self::Integer(i) => format!("`{i}`"),
                Self::Other(kind) => format!("a {kind}"),
            }
        }

        /// The text, trimmed; an error shows a `secret` value as [`SECRET_SHOWN`].
        fn text(&self, secret: bool) -> Result<String, String> {
            match self {
                Self::Text(text) => Ok(text.trim().to_owned()),
                other => Err(format!(
                    "expected text, found {}",
                    if secret {
                        SECRET_SHOWN.to_owned()
                    } else {
                        other.shown()
                    }
                )),
            }
        }

        fn non_empty(&self, secret: bool) -> Result<String, String> {
            let text = self.text(secret)?;
            if text.is_empty() {
                Err("it must not be empty".to_owned())
            } else {
                Ok(text)
            }
        }
    }

    impl<'de> Deserialize<'de> for Given {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(GivenVisitor)
        }
    }

    struct GivenVisitor;

    impl<'de> Visitor<'de> for GivenVisitor {
        type Value = Given;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a setting's value")
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Given, E> {
            Ok(Given::Text(text.to_owned()))
        }

        fn visit_bool<E: de::Error>(self, b: bool) -> Result<Given, E> {
            Ok(Given::Bool(b))
        }

        fn visit_i64<E: de::Error>(self, i: i64) -> Result<Given, E> {
            Ok(Given::Integer(i.into()))
        }

        fn visit_u64<E: de::Error>(self, i: u64) -> Result<Given, E> {
            Ok(Given::Integer(i.into()))
        }

        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Given, E> {
            Ok(Given::Other("floating-point number"))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Given, A::Error> {
            Ok(Given::Other("list"))
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Given, A::Error> {
            Ok(Given::Other(
                if map.next_key::<String>()?.as_deref() == Some(TOML_DATETIME) {
                    "date"
                } else {
                    "table"
                },
            ))
        }
    }

    /// Reads the value as [`Given`] and parses it with `parse`.
    fn read<'de, D: Deserializer<'de>, T>(
        deserializer: D,
        parse: impl FnOnce(&Given) -> Result<T, String>,
    ) -> Result<T, D::Error> {
        let given = Given::deserialize(deserializer)?;
        parse(&given).map_err(D::Error::custom)
    }

    /// Non-empty text, trimmed.
    pub(super) fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
        read(deserializer, |given| given.non_empty(false))
    }

    pub(super) fn path<'de, D: Deserializer<'de>>(deserializer: D) -> Result<PathBuf, D::Error> {
        text(deserializer).map(PathBuf::from)
    }

    pub(super) fn optional_path<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<PathBuf>, D::Error> {
        path(deserializer).map(Some)
    }

    /// A whole number from `MIN` to `MAX`, given as an integer or as its digits.
    pub(super) fn whole<'de, D, T, const MIN: u64, const MAX: u64>(
        deserializer: D,
    ) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: TryFrom<u64>,
    {
        read(deserializer, |given| {
            let number = match given {
                Given::Integer(i) => u64::try_from(*i).ok(),
                Given::Text(text) => text.trim().parse::<u64>().ok(),
                Given::Bool(_) | Given::Other(_) => None,
            };
            match number {
                Some(n) if (MIN..=MAX).contains(&n) => {
                    T::try_from(n).map_err(|_| "the number is too large".to_owned())
                }
                _ => Err(format!(
                    "expected a whole number from {MIN} to {MAX}, found {}",
                    given.shown()
                )),
            }
        })
    }

    pub(super) fn boolean<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
        read(deserializer, |given| match given {
            Given::Bool(b) => Ok(*b),
            Given::Text(text) if text.trim() == "true" => Ok(true),
            Given::Text(text) if text.trim() == "false" => Ok(false),
            other => Err(format!(
                "expected `true` or `false`, found {}",
                other.shown()
            )),
        })
    }

    pub(super) fn listen<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<SocketAddr, D::Error> {
        read(deserializer, |given| {
            super::parse_listen(&given.non_empty(false)?).map_err(|()| {
                format!(
                    "expected HOST:PORT such as `127.0.0.1:8080` or `:0`, found {}",
                    given.shown()
                )
            })
        })
    }

    pub(super) fn database_url<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DatabaseUrl, D::Error> {
        read(deserializer, |given| {
            DatabaseUrl::parse(&given.non_empty(true)?)
        })
    }

    pub(super) fn log_format<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<LogFormat, D::Error> {
        read(deserializer, |given| {
            match given.non_empty(false)?.as_str() {
                "pretty" => Ok(LogFormat::Pretty),
                "json" => Ok(LogFormat::Json),
                _ => Err(format!(
                    "expected `pretty` or `json`, found {}",
                    given.shown()
                )),
            }
        })
    }

    pub(super) fn hs256_secret<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Secret<String>>, D::Error> {
        read(deserializer, |given| {
            // Not trimmed: every byte of a secret counts.
            let Given::Text(secret) = given else {
                return Err("expected text".to_owned());
            };
            if secret.len() < MIN_SECRET_BYTES {
                return Err(format!(
                    "the HS256 secret must be at least {MIN_SECRET_BYTES} bytes long"
                ));
            }
            Ok(Some(Secret::new(secret.clone())))
        })
    }

    pub(super) fn jwks<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<String>, D::Error> {
        read(deserializer, |given| {
            let jwks = given.non_empty(true)?;
            if jwks.starts_with("http://") {
                return Err(
                    "a JWKS URL must use https://; use a file path for local keys".to_owned(),
                );
            }
            Ok(Some(jwks))
        })
    }

    /// The audit log's origin: one line of text.
    pub(super) fn origin<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
        read(deserializer, |given| {
            let origin = given.non_empty(false)?;
            if origin.chars().any(char::is_control) {
                return Err("the origin is one line of printable text".to_owned());
            }
            Ok(origin)
        })
    }

    /// `24h`, `90m`, `3600s`, or a number of seconds.
    pub(super) fn lifetime<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        read(deserializer, |given| {
            let text = match given {
                Given::Integer(seconds) => seconds.to_string(),
                other => other.text(false)?,
            };
            amanah_infra::auth::parse_ttl(&text).map_err(|_| {
                format!(
                    "expected a lifetime such as `24h`, `90m` or `3600s` (at most {}d), found {}",
                    MAX_TTL.as_secs() / 86_400,
                    given.shown()
                )
            })
        })
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use super::*;

    const NO_ENV: [(&str, &str); 0] = [];

    fn write_file(dir: &tempfile::TempDir, text: &str) -> PathBuf {
        let path = dir.path().join("amanah.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn defaults_match_the_contract() {
        let config = Config::load(FileChoice::None, NO_ENV).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.data_dir, PathBuf::from("./amanah-data"));
        assert_eq!(
            config.database_url.expose(),
            "sqlite://./amanah-data/amanah.db?mode=rwc"
        );
        assert!(config.public_read);
        assert_eq!(config.log_format, LogFormat::Pretty);
        assert_eq!(config.auth.issuer, "amanah");
        assert_eq!(config.auth.audience, "amanah");
        assert!(config.auth.hs256_secret.is_none());
        assert_eq!(config.audit.origin, "amanah.local/audit");
        assert_eq!(
            config.audit.signing_key,
            PathBuf::from("./amanah-data/audit-signing.key")
        );
        assert_eq!(config.limits, Limits::default());
        assert_eq!(config.limits.page_size, 100);
    }

    #[test]
    fn the_sqlite_memory_map_is_a_setting_in_mib() {
        let config = Config::load(FileChoice::None, NO_ENV).unwrap();
        assert_eq!(config.sqlite.mmap_mb, 2047);
        assert_eq!(
            config.connect_settings().sqlite_mmap_bytes,
            2047 * 1024 * 1024
        );
        let config = Config::load(FileChoice::None, [("AMANAH_SQLITE_MMAP_MB", "0")]).unwrap();
        assert_eq!(config.connect_settings().sqlite_mmap_bytes, 0);
        assert!(config.to_toml().unwrap().contains("[sqlite]\nmmap_mb = 0"));
        let error =
            Config::load(FileChoice::None, [("AMANAH_SQLITE_MMAP_MB", "lots")]).unwrap_err();
        assert!(
            error.to_string().contains("AMANAH_SQLITE_MMAP_MB"),
            "{error}"
        );
    }

    #[test]
    fn the_idempotency_ttl_defaults_to_a_day_and_reads_lifetimes() {
        let config = Config::load(FileChoice::None, NO_ENV).unwrap();
        assert_eq!(config.idempotency.ttl, Duration::from_secs(86_400));
        assert!(
            config
                .to_toml()
                .unwrap()
                .contains("[idempotency]\nttl = \"24h\"")
        );
        let config = Config::load(FileChoice::None, [("AMANAH_IDEMPOTENCY_TTL", "90m")]).unwrap();
        assert_eq!(config.idempotency.ttl, Duration::from_secs(5400));
        assert!(config.to_toml().unwrap().contains("ttl = \"90m\""));
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(&dir, "[idempotency]\nttl = 3600\n");
        let config = Config::load(FileChoice::Explicit(&path), NO_ENV).unwrap();
        assert_eq!(config.idempotency.ttl, Duration::from_secs(3600));
        for bad in ["forever", "0s", "-1h", "400d"] {
            let error =
                Config::load(FileChoice::None, [("AMANAH_IDEMPOTENCY_TTL", bad)]).unwrap_err();
            assert!(
                error.to_string().contains("AMANAH_IDEMPOTENCY_TTL"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn the_tree_cache_budget_defaults_to_256_mib_and_zero_turns_it_off() {
        let config = Config::load(FileChoice::None, NO_ENV).unwrap();
        assert_eq!(config.audit.tree_cache_mb, 256);
        let config = Config::load(FileChoice::None, [("AMANAH_AUDIT_TREE_CACHE_MB", "0")]).unwrap();
        assert_eq!(config.audit.tree_cache_mb, 0);
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(&dir, "[audit]\ntree_cache_mb = 64\n");
        let config = Config::load(FileChoice::Explicit(&path), NO_ENV).unwrap();
        assert_eq!(config.audit.tree_cache_mb, 64);
        assert!(config.to_toml().unwrap().contains("tree_cache_mb = 64"));
        for bad in ["lots", "-1"] {
            let error =
                Config::load(FileChoice::None, [("AMANAH_AUDIT_TREE_CACHE_MB", bad)]).unwrap_err();
            assert!(
                error.to_string().contains("AMANAH_AUDIT_TREE_CACHE_MB"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn the_file_overrides_defaults_and_the_environment_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(
            &dir,
            "listen = \"0.0.0.0:9000\"\ndata_dir = \"/srv/amanah\"\nlog_format = \"json\"\n\
             [limits]\ndepth = 5\ncomplexity = 50\n[auth]\nissuer = \"from-file\"\n",
        );
        let config = Config::load(
            FileChoice::Explicit(&path),
            [
                ("AMANAH_LIMITS_DEPTH", "7"),
                ("AMANAH_AUTH_ISSUER", "from-env"),
                ("PATH", "/usr/bin"),
            ],
        )
        .unwrap();
        assert_eq!(config.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(config.log_format, LogFormat::Json);
        assert_eq!(config.limits.depth, 7, "environment beats file");
        assert_eq!(config.limits.complexity, 50, "file beats default");
        assert_eq!(config.auth.issuer, "from-env");
        assert_eq!(
            config.database_url.expose(),
            "sqlite:///srv/amanah/amanah.db?mode=rwc",
            "the default database follows the data dir"
        );
        assert_eq!(
            config.audit.signing_key,
            PathBuf::from("/srv/amanah/audit-signing.key")
        );
    }

    #[test]
    fn amanah_toml_in_the_working_directory_is_read_when_present() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::load(FileChoice::DefaultIn(dir.path()), NO_ENV).unwrap();
        assert_eq!(config.listen, Config::DEFAULT_LISTEN, "absent: defaults");
        write_file(&dir, "public_read = false\n");
        let config = Config::load(FileChoice::DefaultIn(dir.path()), NO_ENV).unwrap();
        assert!(!config.public_read);
    }

    #[test]
    fn a_missing_explicit_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope.toml");
        let error = Config::load(FileChoice::Explicit(&path), NO_ENV).unwrap_err();
        assert!(matches!(error, ConfigError::FileNotFound { .. }));
        assert!(error.to_string().contains("nope.toml"));
    }

    #[test]
    fn an_unknown_file_key_is_an_error_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(&dir, "[limits]\ndepht = 3\n");
        let error = Config::load(FileChoice::Explicit(&path), NO_ENV).unwrap_err();
        assert!(
            error.to_string().contains("unknown key `limits.depht`"),
            "{error}"
        );
        let path = write_file(&dir, "colour = \"blue\"\n");
        let error = Config::load(FileChoice::Explicit(&path), NO_ENV).unwrap_err();
        assert!(error.to_string().contains("`colour`"), "{error}");
    }

    #[test]
    fn an_unknown_amanah_variable_is_an_error_but_test_variables_are_not_configuration() {
        let error = Config::load(FileChoice::None, [("AMANAH_LISTN", ":0")]).unwrap_err();
        assert!(error.to_string().contains("AMANAH_LISTN"), "{error}");
        Config::load(
            FileChoice::None,
            [("AMANAH_TEST_POSTGRES_URL", "postgres://x")],
        )
        .unwrap();
    }

    #[test]
    fn a_bad_value_is_an_error_naming_the_variable_or_key() {
        let error = Config::load(FileChoice::None, [("AMANAH_LIMITS_DEPTH", "deep")]).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("AMANAH_LIMITS_DEPTH"), "{message}");
        assert!(message.contains("`deep`"), "{message}");

        let error = Config::load(FileChoice::None, [("AMANAH_PUBLIC_READ", "yes")]).unwrap_err();
        assert!(error.to_string().contains("AMANAH_PUBLIC_READ"));

        let error = Config::load(FileChoice::None, [("AMANAH_LISTEN", "localhost")]).unwrap_err();
        assert!(error.to_string().contains("AMANAH_LISTEN"));

        let error = Config::load(FileChoice::None, [("AMANAH_LOG_FORMAT", "xml")]).unwrap_err();
        assert!(error.to_string().contains("AMANAH_LOG_FORMAT"));

        let error =
            Config::load(FileChoice::None, [("AMANAH_LIMITS_PAGE_SIZE", "500")]).unwrap_err();
        assert!(error.to_string().contains("from 1 to 100"), "{error}");

        let dir = tempfile::tempdir().unwrap();
        let path = write_file(&dir, "[limits]\ndepth = \"three\"\n");
        let error = Config::load(FileChoice::Explicit(&path), NO_ENV).unwrap_err();
        assert!(error.to_string().contains("`limits.depth`"), "{error}");
        let path = write_file(&dir, "public_read = 1.5\n");
        let error = Config::load(FileChoice::Explicit(&path), NO_ENV).unwrap_err();
        assert!(error.to_string().contains("`public_read`"), "{error}");
    }

    #[test]
    fn listen_accepts_a_bare_port_and_localhost() {
        let config = Config::load(FileChoice::None, [("AMANAH_LISTEN", ":0")]).unwrap();
        assert_eq!(config.listen.to_string(), "0.0.0.0:0");
        let config = Config::load(FileChoice::None, [("AMANAH_LISTEN", "localhost:0")]).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:0");
        let config = Config::load(FileChoice::None, [("AMANAH_LISTEN", "[::1]:8080")]).unwrap();
        assert_eq!(config.listen.to_string(), "[::1]:8080");
    }

    #[test]
    fn invalid_toml_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(&dir, "listen = \n");
        let error = Config::load(FileChoice::Explicit(&path), NO_ENV).unwrap_err();
        assert!(matches!(error, ConfigError::FileSyntax { .. }));
        assert!(error.to_string().contains("amanah.toml"));
    }

    #[test]
    fn secrets_are_redacted_everywhere_they_could_be_printed() {
        let secret = "s3cret-s3cret-s3cret-s3cret-s3cret";
        let config = Config::load(
            FileChoice::None,
            [
                ("AMANAH_AUTH_HS256_SECRET", secret),
                (
                    "AMANAH_DATABASE_URL",
                    "postgres://amanah:hunter2@db.example:5432/amanah",
                ),
                (
                    "AMANAH_AUTH_JWKS",
                    "https://keys.example/jwks.json?token=hunter2",
                ),
            ],
        )
        .unwrap();
        assert_eq!(
            config.auth.jwks.as_deref(),
            Some("https://keys.example/jwks.json?token=hunter2")
        );
        assert_eq!(config.auth.hs256_secret.as_ref().unwrap().expose(), secret);
        assert_eq!(
            config.database_url.expose(),
            "postgres://amanah:hunter2@db.example:5432/amanah"
        );
        let printed = [
            format!("{config:?}"),
            config.to_toml().unwrap(),
            serde_json::to_string(&config).unwrap(),
            config.database_url.to_string(),
            format!("{:?}", config.auth),
        ];
        for text in printed {
            assert!(!text.contains(secret), "secret leaked: {text}");
            assert!(!text.contains("hunter2"), "password leaked: {text}");
            assert!(text.contains("[redacted]"), "{text}");
        }
        assert!(
            config
                .to_toml()
                .unwrap()
                .contains("postgres://amanah:[redacted]@db.example:5432/amanah")
        );
    }

    #[test]
    fn a_short_secret_is_refused_without_repeating_it() {
        let error =
            Config::load(FileChoice::None, [("AMANAH_AUTH_HS256_SECRET", "tiny")]).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("AMANAH_AUTH_HS256_SECRET"));
        assert!(message.contains("32 bytes"));
        assert!(!message.contains("tiny"));
    }

    /// The limits infra enforces, in the words the configuration has always used.
    #[test]
    fn the_secret_and_lifetime_limits_are_infras() {
        let message = |variable: &str, value: &str| {
            Config::load(FileChoice::None, [(variable, value)])
                .unwrap_err()
                .to_string()
        };
        assert!(
            message("AMANAH_AUTH_HS256_SECRET", &"s".repeat(31))
                .ends_with(": the HS256 secret must be at least 32 bytes long"),
        );
        assert!(
            Config::load(
                FileChoice::None,
                [("AMANAH_AUTH_HS256_SECRET", "s".repeat(32).as_str())]
            )
            .is_ok()
        );
        assert!(
            message("AMANAH_IDEMPOTENCY_TTL", "367d").contains(
                "expected a lifetime such as `24h`, `90m` or `3600s` (at most 366d), found"
            )
        );
        assert!(Config::load(FileChoice::None, [("AMANAH_IDEMPOTENCY_TTL", "366d")]).is_ok());
    }

    #[test]
    fn the_printed_configuration_is_valid_toml_that_loads_back() {
        let config = Config::load(FileChoice::None, [("AMANAH_LIMITS_ALIASES", "4")]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(&dir, &config.to_toml().unwrap());
        let reloaded = Config::load(FileChoice::Explicit(&path), NO_ENV).unwrap();
        assert_eq!(reloaded.limits, config.limits);
        assert_eq!(reloaded.listen, config.listen);
        assert_eq!(reloaded.data_dir, config.data_dir);
    }

    #[test]
    fn every_variable_of_the_contract_is_known() {
        for name in [
            "AMANAH_LISTEN",
            "AMANAH_DATA_DIR",
            "AMANAH_DATABASE_URL",
            "AMANAH_AUTH_HS256_SECRET",
            "AMANAH_AUTH_JWKS",
            "AMANAH_AUTH_ISSUER",
            "AMANAH_AUTH_AUDIENCE",
            "AMANAH_PUBLIC_READ",
            "AMANAH_AUDIT_ORIGIN",
            "AMANAH_AUDIT_SIGNING_KEY",
            "AMANAH_LOG_FORMAT",
        ] {
            assert!(
                file_keys().iter().any(|key| variable(key) == name),
                "{name}"
            );
        }
    }

    #[test]
    fn the_known_keys_are_every_setting_in_the_order_config_declares_them() {
        assert_eq!(
            file_keys(),
            [
                "listen",
                "data_dir",
                "database_url",
                "public_read",
                "log_format",
                "auth.hs256_secret",
                "auth.jwks",
                "auth.issuer",
                "auth.audience",
                "audit.origin",
                "audit.signing_key",
                "audit.tree_cache_mb",
                "audit.witness_policy",
                "audit.witness_push_secs",
                "limits.depth",
                "limits.complexity",
                "limits.aliases",
                "limits.page_size",
                "limits.body_bytes",
                "limits.request_timeout_secs",
                "limits.tokens",
                "limits.fragments",
                "limits.directives",
                "limits.connections",
                "limits.websockets",
                "limits.subscriptions_per_socket",
                "limits.websocket_init_timeout_secs",
                "idempotency.ttl",
                "graphql.trusted_documents",
                "graphql.response_cache_mb",
                "sqlite.mmap_mb",
            ]
        );
        assert_eq!(
            variable("limits.request_timeout_secs"),
            "AMANAH_LIMITS_REQUEST_TIMEOUT_SECS"
        );
    }

    #[test]
    fn errors_name_the_file_key_or_the_variable_and_list_the_known_ones() {
        let error = Config::load(FileChoice::None, [("AMANAH_LIMITS_DEPTH", "deep")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid value for AMANAH_LIMITS_DEPTH: expected a whole number from 1 to 1000, \
             found `deep`"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(&dir, "[limits]\ndepth = \"three\"\n");
        let error = Config::load(FileChoice::Explicit(&path), NO_ENV).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "invalid value for `limits.depth` in the configuration file {}: expected a whole \
                 number from 1 to 1000, found `three`",
                path.display()
            )
        );
        let path = write_file(&dir, "[limits]\ndepht = 3\n");
        let error = Config::load(FileChoice::Explicit(&path), NO_ENV).unwrap_err();
        assert!(
            error.to_string().starts_with(&format!(
                "unknown key `limits.depht` in the configuration file {}; known keys are \
                 `listen`, `data_dir`, `database_url`, ",
                path.display()
            )),
            "{error}"
        );
        assert!(error.to_string().ends_with(", `sqlite.mmap_mb`"), "{error}");
        let error = Config::load(FileChoice::None, [("AMANAH_LISTN", ":0")]).unwrap_err();
        assert!(
            error.to_string().starts_with(
                "unknown environment variable AMANAH_LISTN; known variables are AMANAH_LISTEN, \
                 AMANAH_DATA_DIR, "
            ),
            "{error}"
        );
        assert!(
            error.to_string().ends_with(", AMANAH_SQLITE_MMAP_MB"),
            "{error}"
        );
        // A section given as one value is not a key either.
        let path = write_file(&dir, "limits = 5\n");
        let error = Config::load(FileChoice::Explicit(&path), NO_ENV).unwrap_err();
        assert!(
            error.to_string().contains("unknown key `limits`"),
            "{error}"
        );
    }

    #[test]
    fn a_variable_is_text_and_a_file_value_keeps_its_toml_type() {
        let config = Config::load(
            FileChoice::None,
            [
                ("AMANAH_AUTH_ISSUER", "0123"),
                (
                    "AMANAH_AUTH_HS256_SECRET",
                    "01234567890123456789012345678901",
                ),
            ],
        )
        .unwrap();
        assert_eq!(config.auth.issuer, "0123");
        assert_eq!(
            config.auth.hs256_secret.unwrap().expose(),
            "01234567890123456789012345678901"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(&dir, "[auth]\nissuer = 123\n");
        let error = Config::load(FileChoice::Explicit(&path), NO_ENV).unwrap_err();
        assert!(
            error.to_string().contains("expected text, found `123`"),
            "{error}"
        );
        let path = write_file(&dir, "[limits]\ndepth = 1979-05-27\n");
        let error = Config::load(FileChoice::Explicit(&path), NO_ENV).unwrap_err();
        assert!(error.to_string().contains("found a date"), "{error}");
        let path = write_file(&dir, "[auth]\nhs256_secret = 12345\n");
        let error = Config::load(FileChoice::Explicit(&path), NO_ENV).unwrap_err();
        assert!(!error.to_string().contains("12345"), "{error}");
    }

    #[test]
    fn an_invalid_file_value_is_an_error_even_when_a_variable_overrides_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(&dir, "[limits]\ndepth = \"three\"\n");
        let error =
            Config::load(FileChoice::Explicit(&path), [("AMANAH_LIMITS_DEPTH", "7")]).unwrap_err();
        assert!(error.to_string().contains("`limits.depth`"), "{error}");
    }

    #[test]
    fn a_database_url_or_signing_key_that_is_set_does_not_follow_the_data_dir() {
        let config = Config::load(
            FileChoice::None,
            [
                ("AMANAH_DATA_DIR", "/srv/amanah"),
                ("AMANAH_DATABASE_URL", "sqlite://elsewhere.db"),
                ("AMANAH_AUDIT_SIGNING_KEY", "/keys/audit.key"),
            ],
        )
        .unwrap();
        assert_eq!(config.database_url.expose(), "sqlite://elsewhere.db");
        assert_eq!(config.audit.signing_key, PathBuf::from("/keys/audit.key"));
        assert_eq!(
            Config::default().to_toml().unwrap(),
            Config::load(FileChoice::None, NO_ENV)
                .unwrap()
                .to_toml()
                .unwrap()
        );
    }
}
