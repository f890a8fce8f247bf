//! Amanah's configuration: one typed value, built once in `main` and passed down; never a global.
//!
//! Three layers, each overriding the one before (`docs/api.md`, "Configuration"):
//!
//! 1. the defaults below;
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
//! The file is read as a TOML table and walked key by key rather than derived with serde's
//! `deny_unknown_fields`: the effect is the same (an unknown key is refused), and walking lets the
//! file and the environment share one parser per setting, so both give the same message for the
//! same mistake.
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
use serde::{Serialize, Serializer};

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

/// The effective configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// Address the HTTP server binds; port 0 picks a free port (the bound address is logged).
    pub listen: SocketAddr,
    /// Holds the SQLite database, the signing key and the development token secret.
    pub data_dir: PathBuf,
    pub database_url: DatabaseUrl,
    /// Whether anonymous clients may read domain data.
    pub public_read: bool,
    pub log_format: LogFormat,
    pub auth: AuthConfig,
    pub audit: AuditConfig,
    pub limits: Limits,
    pub idempotency: IdempotencyConfig,
    pub graphql: GraphqlConfig,
    pub sqlite: SqliteConfig,
}

/// SQLite, when `database_url` names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SqliteConfig {
    /// MiB of the database file memory-mapped (0: none). Reads of a large log come from the page
    /// cache without a copy; the mapped pages count in the process's resident memory (`RssFile`)
    /// and in a container's memory limit, though the kernel drops them under pressure. SQLite
    /// caps it just under 2 GiB.
    pub mmap_mb: u64,
}

impl SqliteConfig {
    /// Just under 2 GiB, SQLite's own ceiling: the whole file of a 1.7M-event log.
    pub const DEFAULT_MMAP_MB: u64 =
        amanah_infra::store::database::SQLITE_MMAP_BYTES / (1024 * 1024);
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GraphqlConfig {
    /// With a file, only its documents run ([`crate::graphql::persisted`]); without, any document
    /// within the limits, and automatic persisted queries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trusted_documents: Option<PathBuf>,
}

/// Idempotency keys of mutations (`Idempotency-Key`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdempotencyConfig {
    /// How long a key and its first response are kept: a retry within it replays the response,
    /// after it the key may be used afresh. Long enough for a partner system's retries over a
    /// night's outage, short enough that the table stays small.
    #[serde(serialize_with = "serialize_lifetime")]
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
#[derive(Clone, Serialize)]
pub struct AuthConfig {
    /// Shared secret for HS256 tokens (≥ 32 bytes); generated into the data dir when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hs256_secret: Option<Secret<String>>,
    /// JWKS file path or `https://` URL for RS256 / ES256 / EdDSA tokens. A URL may carry
    /// credentials (userinfo, `?token=…`): `Debug` and `Serialize` show it redacted.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_redacted_url"
    )]
    pub jwks: Option<String>,
    /// Required `iss` claim.
    pub issuer: String,
    /// Required `aud` claim.
    pub audience: String,
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
#[derive(Debug, Clone, Serialize)]
pub struct AuditConfig {
    /// Checkpoint origin line and key name.
    pub origin: String,
    /// Ed25519 signing key file.
    pub signing_key: PathBuf,
    /// Memory for the in-process copy of the Merkle tree that proofs read (MiB; 0 turns it off).
    /// The whole tree takes about 64 bytes per event; a smaller budget holds its upper levels.
    pub tree_cache_mb: u64,
}

/// Limits that keep one request from taking the service down. Each is configurable; the defaults
/// suit the portfolio's schema (the deepest useful query is about eight levels).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Maximum selection depth: stops queries that walk project → organisation → project … forever.
    pub depth: usize,
    /// Maximum complexity (each field counts 1, a connection its selection once per item it may
    /// return): bounds the work one query can ask for even when it is shallow.
    pub complexity: usize,
    /// Maximum number of aliased fields in one document: aliases let a small document ask for the
    /// same expensive field hundreds of times.
    pub aliases: usize,
    /// Maximum `first` / `last` of a connection; the contract promises clients at most 100.
    pub page_size: usize,
    /// Maximum request body: GraphQL documents are small; a large body is a mistake or an attack.
    pub body_bytes: usize,
    /// Seconds a request may take before it is abandoned, so a stuck query cannot hold a worker.
    pub request_timeout_secs: u64,
    /// Most lexical tokens in one GraphQL document, counted before it is parsed: parsing and
    /// validating cost grows with the document, and no real query comes near it.
    pub tokens: usize,
    /// Most fragment definitions in one document (Relay pages use a few dozen).
    pub fragments: usize,
    /// Most directives in one document: each is checked and many repeated `@include`s otherwise
    /// make a small document answer with megabytes of errors.
    pub directives: usize,
    /// Most HTTP connections the process holds open at once (WebSocket connections included);
    /// beyond it new connections wait in the listen queue.
    pub connections: usize,
    /// Most WebSocket connections the process holds; an upgrade beyond it is refused with `503`.
    pub websockets: usize,
    /// Most operations running at once on one WebSocket connection; a `subscribe` beyond it gets
    /// an `error` with `RATE_LIMITED`.
    pub subscriptions_per_socket: usize,
    /// Seconds a new WebSocket connection may take to send `connection_init` (then 4408): an
    /// idle socket otherwise holds a connection slot for as long as it answers pings.
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

/// One setting: its file key, from which its variable name follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Listen,
    DataDir,
    DatabaseUrl,
    PublicRead,
    LogFormat,
    AuthHs256Secret,
    AuthJwks,
    AuthIssuer,
    AuthAudience,
    AuditOrigin,
    AuditSigning,
    AuditTreeCacheMb,
    LimitsDepth,
    LimitsComplexity,
    LimitsAliases,
    LimitsPageSize,
    LimitsBodyBytes,
    LimitsRequestTimeoutSecs,
    LimitsTokens,
    LimitsFragments,
    LimitsDirectives,
    LimitsConnections,
    LimitsWebsockets,
    LimitsSubscriptionsPerSocket,
    LimitsWebsocketInitTimeoutSecs,
    IdempotencyTtl,
    GraphqlTrustedDocuments,
    SqliteMmapMb,
}

impl Key {
    const ALL: [Self; 28] = [
        Self::Listen,
        Self::DataDir,
        Self::DatabaseUrl,
        Self::PublicRead,
        Self::LogFormat,
        Self::AuthHs256Secret,
        Self::AuthJwks,
        Self::AuthIssuer,
        Self::AuthAudience,
        Self::AuditOrigin,
        Self::AuditSigning,
        Self::AuditTreeCacheMb,
        Self::LimitsDepth,
        Self::LimitsComplexity,
        Self::LimitsAliases,
        Self::LimitsPageSize,
        Self::LimitsBodyBytes,
        Self::LimitsRequestTimeoutSecs,
        Self::LimitsTokens,
        Self::LimitsFragments,
        Self::LimitsDirectives,
        Self::LimitsConnections,
        Self::LimitsWebsockets,
        Self::LimitsSubscriptionsPerSocket,
        Self::LimitsWebsocketInitTimeoutSecs,
        Self::IdempotencyTtl,
        Self::GraphqlTrustedDocuments,
        Self::SqliteMmapMb,
    ];

    fn file_key(self) -> &'static str {
        match self {
            Self::Listen => "listen",
            Self::DataDir => "data_dir",
            Self::DatabaseUrl => "database_url",
            Self::PublicRead => "public_read",
            Self::LogFormat => "log_format",
            Self::AuthHs256Secret => "auth.hs256_secret",
            Self::AuthJwks => "auth.jwks",
            Self::AuthIssuer => "auth.issuer",
            Self::AuthAudience => "auth.audience",
            Self::AuditOrigin => "audit.origin",
            Self::AuditSigning => "audit.signing_key",
            Self::AuditTreeCacheMb => "audit.tree_cache_mb",
            Self::LimitsDepth => "limits.depth",
            Self::LimitsComplexity => "limits.complexity",
            Self::LimitsAliases => "limits.aliases",
            Self::LimitsPageSize => "limits.page_size",
            Self::LimitsBodyBytes => "limits.body_bytes",
            Self::LimitsRequestTimeoutSecs => "limits.request_timeout_secs",
            Self::LimitsTokens => "limits.tokens",
            Self::LimitsFragments => "limits.fragments",
            Self::LimitsDirectives => "limits.directives",
            Self::LimitsConnections => "limits.connections",
            Self::LimitsWebsockets => "limits.websockets",
            Self::LimitsSubscriptionsPerSocket => "limits.subscriptions_per_socket",
            Self::LimitsWebsocketInitTimeoutSecs => "limits.websocket_init_timeout_secs",
            Self::IdempotencyTtl => "idempotency.ttl",
            Self::GraphqlTrustedDocuments => "graphql.trusted_documents",
            Self::SqliteMmapMb => "sqlite.mmap_mb",
        }
    }

    fn env_var(self) -> String {
        format!(
            "AMANAH_{}",
            self.file_key().replace('.', "_").to_uppercase()
        )
    }

    fn from_file_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.file_key() == key)
    }

    fn from_env_var(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.env_var() == name)
    }

    fn is_secret(self) -> bool {
        matches!(
            self,
            Self::AuthHs256Secret | Self::DatabaseUrl | Self::AuthJwks
        )
    }
}

/// A value as a layer supplied it: TOML may give native booleans and integers, variables give text.
#[derive(Debug, Clone)]
enum RawValue {
    Text(String),
    Bool(bool),
    Integer(i64),
    Other(&'static str),
}

/// The values that layers set explicitly; `None` means "not set here".
#[derive(Debug, Default)]
struct Overrides {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database_url: Option<DatabaseUrl>,
    public_read: Option<bool>,
    log_format: Option<LogFormat>,
    auth_hs256_secret: Option<Secret<String>>,
    auth_jwks: Option<String>,
    auth_issuer: Option<String>,
    auth_audience: Option<String>,
    audit_origin: Option<String>,
    audit_signing_key: Option<PathBuf>,
    audit_tree_cache_mb: Option<u64>,
    limits_depth: Option<usize>,
    limits_complexity: Option<usize>,
    limits_aliases: Option<usize>,
    limits_page_size: Option<usize>,
    limits_body_bytes: Option<usize>,
    limits_request_timeout_secs: Option<u64>,
    limits_tokens: Option<usize>,
    limits_fragments: Option<usize>,
    limits_directives: Option<usize>,
    limits_connections: Option<usize>,
    limits_websockets: Option<usize>,
    limits_subscriptions_per_socket: Option<usize>,
    limits_websocket_init_timeout_secs: Option<u64>,
    idempotency_ttl: Option<Duration>,
    graphql_trusted_documents: Option<PathBuf>,
    sqlite_mmap_mb: Option<u64>,
}

impl Overrides {
    /// Parses `value` for `key` and records it; `origin` names the key or variable in errors.
    fn set(&mut self, key: Key, value: RawValue, origin: &str) -> Result<(), ConfigError> {
        let invalid = |reason: String| ConfigError::InvalidValue {
            origin: origin.to_owned(),
            reason,
        };
        let shown = |value: &RawValue| {
            if key.is_secret() {
                "the given value".to_owned()
            } else {
                match value {
                    RawValue::Text(text) => format!("`{text}`"),
                    RawValue::Bool(b) => format!("`{b}`"),
                    RawValue::Integer(i) => format!("`{i}`"),
                    RawValue::Other(kind) => format!("a {kind}"),
                }
            }
        };
        let text = |value: &RawValue| match value {
            RawValue::Text(text) => Ok(text.trim().to_owned()),
            other => Err(invalid(format!("expected text, found {}", shown(other)))),
        };
        let non_empty = |value: &RawValue| {
            let text = text(value)?;
            if text.is_empty() {
                Err(invalid("it must not be empty".to_owned()))
            } else {
                Ok(text)
            }
        };
        let integer = |value: &RawValue, min: u64, max: u64| {
            let number = match value {
                RawValue::Integer(i) => u64::try_from(*i).ok(),
                RawValue::Text(text) => text.trim().parse::<u64>().ok(),
                RawValue::Bool(_) | RawValue::Other(_) => None,
            };
            match number {
                Some(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(invalid(format!(
                    "expected a whole number from {min} to {max}, found {}",
                    shown(value)
                ))),
            }
        };
        let size = |value: &RawValue, min: u64, max: u64| {
            integer(value, min, max).and_then(|n| {
                usize::try_from(n).map_err(|_| invalid("the number is too large".to_owned()))
            })
        };

        match key {
            Key::Listen => {
                let text = non_empty(&value)?;
                self.listen = Some(parse_listen(&text).map_err(|()| {
                    invalid(format!(
                        "expected HOST:PORT such as `127.0.0.1:8080` or `:0`, found {}",
                        shown(&value)
                    ))
                })?);
            }
            Key::DataDir => self.data_dir = Some(PathBuf::from(non_empty(&value)?)),
            Key::DatabaseUrl => {
                self.database_url = Some(DatabaseUrl::parse(&non_empty(&value)?).map_err(invalid)?);
            }
            Key::PublicRead => {
                self.public_read = Some(match &value {
                    RawValue::Bool(b) => *b,
                    RawValue::Text(text) if text.trim() == "true" => true,
                    RawValue::Text(text) if text.trim() == "false" => false,
                    other => {
                        return Err(invalid(format!(
                            "expected `true` or `false`, found {}",
                            shown(other)
                        )));
                    }
                });
            }
            Key::LogFormat => {
                self.log_format = Some(match non_empty(&value)?.as_str() {
                    "pretty" => LogFormat::Pretty,
                    "json" => LogFormat::Json,
                    _ => {
                        return Err(invalid(format!(
                            "expected `pretty` or `json`, found {}",
                            shown(&value)
                        )));
                    }
                });
            }
            Key::AuthHs256Secret => {
                // Not trimmed: every byte of a secret counts.
                let RawValue::Text(secret) = value else {
                    return Err(invalid("expected text".to_owned()));
                };
                if secret.len() < 32 {
                    return Err(invalid(
                        "the HS256 secret must be at least 32 bytes long".to_owned(),
                    ));
                }
                self.auth_hs256_secret = Some(Secret::new(secret));
            }
            Key::AuthJwks => {
                let jwks = non_empty(&value)?;
                if jwks.starts_with("http://") {
                    return Err(invalid(
                        "a JWKS URL must use https://; use a file path for local keys".to_owned(),
                    ));
                }
                self.auth_jwks = Some(jwks);
            }
            Key::AuthIssuer => self.auth_issuer = Some(non_empty(&value)?),
            Key::AuthAudience => self.auth_audience = Some(non_empty(&value)?),
            Key::AuditOrigin => {
                let origin = non_empty(&value)?;
                if origin.chars().any(char::is_control) {
                    return Err(invalid(
                        "the origin is one line of printable text".to_owned(),
                    ));
                }
                self.audit_origin = Some(origin);
            }
            Key::AuditSigning => self.audit_signing_key = Some(PathBuf::from(non_empty(&value)?)),
            Key::AuditTreeCacheMb => {
                self.audit_tree_cache_mb = Some(integer(&value, 0, 1024 * 1024)?);
            }
            Key::LimitsDepth => self.limits_depth = Some(size(&value, 1, 1000)?),
            Key::LimitsComplexity => self.limits_complexity = Some(size(&value, 1, 1_000_000)?),
            Key::LimitsAliases => self.limits_aliases = Some(size(&value, 0, 10_000)?),
            Key::LimitsPageSize => {
                self.limits_page_size = Some(size(&value, 1, Limits::MAX_PAGE_SIZE as u64)?);
            }
            Key::LimitsBodyBytes => {
                self.limits_body_bytes = Some(size(&value, 1024, 1024 * 1024 * 1024)?);
            }
            Key::LimitsRequestTimeoutSecs => {
                self.limits_request_timeout_secs = Some(integer(&value, 1, 24 * 60 * 60)?);
            }
            Key::LimitsTokens => self.limits_tokens = Some(size(&value, 100, 1_000_000)?),
            Key::LimitsFragments => self.limits_fragments = Some(size(&value, 0, 100_000)?),
            Key::LimitsDirectives => self.limits_directives = Some(size(&value, 0, 100_000)?),
            Key::LimitsConnections => {
                self.limits_connections = Some(size(&value, 16, 1_000_000)?);
            }
            Key::LimitsWebsockets => self.limits_websockets = Some(size(&value, 0, 1_000_000)?),
            Key::LimitsSubscriptionsPerSocket => {
                self.limits_subscriptions_per_socket = Some(size(&value, 1, 100_000)?);
            }
            Key::LimitsWebsocketInitTimeoutSecs => {
                self.limits_websocket_init_timeout_secs = Some(integer(&value, 1, 3600)?);
            }
            Key::SqliteMmapMb => self.sqlite_mmap_mb = Some(integer(&value, 0, 1024 * 1024)?),
            Key::GraphqlTrustedDocuments => {
                self.graphql_trusted_documents = Some(PathBuf::from(non_empty(&value)?));
            }
            Key::IdempotencyTtl => {
                let text = match &value {
                    RawValue::Integer(seconds) => seconds.to_string(),
                    other => text(other)?,
                };
                self.idempotency_ttl =
                    Some(amanah_infra::auth::parse_ttl(&text).map_err(|_| {
                        invalid(format!(
                            "expected a lifetime such as `24h`, `90m` or `3600s` (at most 366d), \
                         found {}",
                            shown(&value)
                        ))
                    })?);
            }
        }
        Ok(())
    }

    /// Fills in the defaults. Defaults that live inside the data dir follow the final `data_dir`.
    fn resolve(self) -> Config {
        let data_dir = self
            .data_dir
            .unwrap_or_else(|| PathBuf::from(Config::DEFAULT_DATA_DIR));
        let defaults = Limits::default();
        Config {
            listen: self.listen.unwrap_or(Config::DEFAULT_LISTEN),
            database_url: self
                .database_url
                .unwrap_or_else(|| DatabaseUrl::sqlite_in(&data_dir)),
            public_read: self.public_read.unwrap_or(true),
            log_format: self.log_format.unwrap_or(LogFormat::Pretty),
            auth: AuthConfig {
                hs256_secret: self.auth_hs256_secret,
                jwks: self.auth_jwks,
                issuer: self
                    .auth_issuer
                    .unwrap_or_else(|| Config::DEFAULT_ISSUER.to_owned()),
                audience: self
                    .auth_audience
                    .unwrap_or_else(|| Config::DEFAULT_AUDIENCE.to_owned()),
            },
            audit: AuditConfig {
                origin: self
                    .audit_origin
                    .unwrap_or_else(|| Config::DEFAULT_AUDIT_ORIGIN.to_owned()),
                signing_key: self
                    .audit_signing_key
                    .unwrap_or_else(|| data_dir.join("audit-signing.key")),
                tree_cache_mb: self
                    .audit_tree_cache_mb
                    .unwrap_or(Config::DEFAULT_TREE_CACHE_MB),
            },
            limits: Limits {
                depth: self.limits_depth.unwrap_or(defaults.depth),
                complexity: self.limits_complexity.unwrap_or(defaults.complexity),
                aliases: self.limits_aliases.unwrap_or(defaults.aliases),
                page_size: self.limits_page_size.unwrap_or(defaults.page_size),
                body_bytes: self.limits_body_bytes.unwrap_or(defaults.body_bytes),
                request_timeout_secs: self
                    .limits_request_timeout_secs
                    .unwrap_or(defaults.request_timeout_secs),
                tokens: self.limits_tokens.unwrap_or(defaults.tokens),
                fragments: self.limits_fragments.unwrap_or(defaults.fragments),
                directives: self.limits_directives.unwrap_or(defaults.directives),
                connections: self.limits_connections.unwrap_or(defaults.connections),
                websockets: self.limits_websockets.unwrap_or(defaults.websockets),
                subscriptions_per_socket: self
                    .limits_subscriptions_per_socket
                    .unwrap_or(defaults.subscriptions_per_socket),
                websocket_init_timeout_secs: self
                    .limits_websocket_init_timeout_secs
                    .unwrap_or(defaults.websocket_init_timeout_secs),
            },
            sqlite: SqliteConfig {
                mmap_mb: self.sqlite_mmap_mb.unwrap_or(SqliteConfig::DEFAULT_MMAP_MB),
            },
            graphql: GraphqlConfig {
                trusted_documents: self.graphql_trusted_documents,
            },
            idempotency: IdempotencyConfig {
                ttl: self
                    .idempotency_ttl
                    .unwrap_or(IdempotencyConfig::DEFAULT_TTL),
            },
            data_dir,
        }
    }
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
        let mut overrides = Overrides::default();
        if let Some((path, text)) = read_file(file)? {
            apply_file(&mut overrides, &path, &text)?;
        }
        apply_env(&mut overrides, env)?;
        Ok(overrides.resolve())
    }

    /// The defaults with `data_dir` set, as a starting point for tests.
    #[must_use]
    pub fn defaults_in(data_dir: &Path) -> Self {
        Overrides {
            data_dir: Some(data_dir.to_owned()),
            ..Overrides::default()
        }
        .resolve()
    }

    /// The effective configuration as TOML, secrets redacted (`amanah config`).
    ///
    /// # Errors
    /// Only if a value cannot be written as TOML, which the types rule out.
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string(self)
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

fn known_file_keys() -> String {
    Key::ALL
        .iter()
        .map(|k| format!("`{}`", k.file_key()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn known_variables() -> String {
    Key::ALL
        .iter()
        .map(|k| k.env_var())
        .collect::<Vec<_>>()
        .join(", ")
}

fn apply_file(overrides: &mut Overrides, path: &Path, text: &str) -> Result<(), ConfigError> {
    let table: toml::Table = toml::from_str(text).map_err(|error| ConfigError::FileSyntax {
        path: path.to_owned(),
        message: error.message().to_owned(),
    })?;
    let mut entries = Vec::new();
    flatten("", &table, &mut entries);
    for (key_name, value) in entries {
        let key = Key::from_file_key(&key_name).ok_or_else(|| ConfigError::UnknownKey {
            path: path.to_owned(),
            key: key_name.clone(),
            known: known_file_keys(),
        })?;
        let raw = match value {
            toml::Value::String(s) => RawValue::Text(s.clone()),
            toml::Value::Boolean(b) => RawValue::Bool(*b),
            toml::Value::Integer(i) => RawValue::Integer(*i),
            toml::Value::Float(_) => RawValue::Other("floating-point number"),
            toml::Value::Datetime(_) => RawValue::Other("date"),
            toml::Value::Array(_) => RawValue::Other("list"),
            toml::Value::Table(_) => RawValue::Other("table"),
        };
        overrides.set(
            key,
            raw,
            &format!("`{key_name}` in the configuration file {}", path.display()),
        )?;
    }
    Ok(())
}

/// Flattens `[limits] depth = 3` into `("limits.depth", 3)`. Tables under keys that are not
/// sections (such as `[listen]`) stay whole, so they fail as the wrong kind of value.
fn flatten<'t>(prefix: &str, table: &'t toml::Table, out: &mut Vec<(String, &'t toml::Value)>) {
    for (name, value) in table {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match value {
            toml::Value::Table(inner) if prefix.is_empty() && is_section(name) => {
                flatten(&key, inner, out);
            }
            _ => out.push((key, value)),
        }
    }
}

fn is_section(name: &str) -> bool {
    Key::ALL.iter().any(|k| {
        k.file_key()
            .split_once('.')
            .is_some_and(|(section, _)| section == name)
    })
}

fn apply_env<I, K, V>(overrides: &mut Overrides, env: I) -> Result<(), ConfigError>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<OsStr>,
    V: AsRef<OsStr>,
{
    let mut settings = Vec::new();
    for (name, value) in env {
        let name = name.as_ref().to_string_lossy();
        if !name.starts_with("AMANAH_") || name.starts_with(TEST_VARIABLE_PREFIX) {
            continue;
        }
        let key = Key::from_env_var(&name).ok_or_else(|| ConfigError::UnknownVariable {
            name: name.to_string(),
            known: known_variables(),
        })?;
        let value = value
            .as_ref()
            .to_str()
            .ok_or_else(|| ConfigError::InvalidValue {
                origin: name.to_string(),
                reason: "the value is not valid UTF-8".to_owned(),
            })?
            .to_owned();
        settings.push((key, value));
    }
    // The process environment has no order; apply in the order of `Key::ALL` so errors are stable.
    settings.sort_by_key(|(key, _)| Key::ALL.iter().position(|k| k == key));
    for (key, value) in settings {
        overrides.set(key, RawValue::Text(value), &key.env_var())?;
    }
    Ok(())
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
            assert!(Key::from_env_var(name).is_some(), "{name}");
        }
    }
}
