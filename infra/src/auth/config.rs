//! The verifier's configuration: the HS256 secret, the JWKS source, the required issuer and
//! audience, the clock leeway and the JWKS refresh limits.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::auth::error::ConfigError;

/// Tokens longer than this many bytes are rejected before any parsing (8 KiB).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// The largest clock leeway the configuration accepts, in seconds.
pub const MAX_LEEWAY_SECS: u64 = 60;
/// The default clock leeway applied to `exp` and `nbf`, in seconds.
pub const DEFAULT_LEEWAY_SECS: u64 = 30;
/// The shortest HS256 secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;
/// The default floor between two JWKS loads triggered by unknown `kid`s.
pub const DEFAULT_JWKS_REFRESH_FLOOR: Duration = Duration::from_secs(30);
/// The default age after which a cached JWKS is reloaded (so removed keys stop being trusted).
pub const DEFAULT_JWKS_MAX_AGE: Duration = Duration::from_secs(3600);
/// The default timeout of one HTTPS JWKS fetch (connect, TLS, request and body).
pub const DEFAULT_JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The default size limit of a JWKS document.
pub const DEFAULT_JWKS_MAX_BYTES: usize = 1024 * 1024;

/// The shared HS256 secret: the configured string's bytes, used as they are (no base64 decoding),
/// at least [`MIN_SECRET_BYTES`] long. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct HmacSecret(Vec<u8>);

impl HmacSecret {
    /// Wraps the secret's bytes.
    ///
    /// # Errors
    /// [`ConfigError::SecretTooShort`] when it is shorter than [`MIN_SECRET_BYTES`].
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, ConfigError> {
        let bytes = bytes.into();
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(ConfigError::SecretTooShort { len: bytes.len() });
        }
        Ok(Self(bytes))
    }

    /// The secret's bytes (the HMAC key).
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for HmacSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HmacSecret([redacted; {} bytes])", self.0.len())
    }
}

/// Where the JWKS for RS256 / ES256 / EdDSA tokens comes from. `Debug` and `Display` show a URL
/// without its credentials ([`crate::url_redaction`]).
#[derive(Clone, PartialEq, Eq)]
pub enum JwksSource {
    /// A local file, re-read on refresh.
    File(PathBuf),
    /// An `https://` URL, re-fetched on refresh (any other scheme is refused by
    /// [`JwksSource::parse`] and by [`crate::auth::verifier::Verifier::new`]).
    Url(reqwest::Url),
}

impl JwksSource {
    /// Reads the `AMANAH_AUTH_JWKS` setting: a value starting with `https://` is a URL; one with
    /// any other `scheme://` prefix (notably `http://`) is refused; anything else is a file path.
    ///
    /// # Errors
    /// [`ConfigError::EmptyJwksSource`], [`ConfigError::JwksUrlNotHttps`] or
    /// [`ConfigError::JwksUrlInvalid`].
    pub fn parse(value: &str) -> Result<Self, ConfigError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(ConfigError::EmptyJwksSource);
        }
        match value.split_once("://") {
            Some((scheme, _))
                if !scheme.is_empty()
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
            {
                let url = reqwest::Url::parse(value).map_err(|e| ConfigError::JwksUrlInvalid {
                    reason: e.to_string(),
                })?;
                Self::check_url(&url)?;
                Ok(Self::Url(url))
            }
            _ => Ok(Self::File(PathBuf::from(value))),
        }
    }

    /// Checks that a URL source is `https://` with a host.
    pub(crate) fn check_url(url: &reqwest::Url) -> Result<(), ConfigError> {
        if url.scheme() != "https" {
            return Err(ConfigError::JwksUrlNotHttps {
                scheme: url.scheme().to_owned(),
            });
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(ConfigError::JwksUrlInvalid {
                reason: "it has no host".to_owned(),
            });
        }
        Ok(())
    }
}

impl fmt::Display for JwksSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            // Userinfo and query parameters such as `token` are credentials: never print them.
            Self::Url(url) => f.write_str(&crate::url_redaction::redact_url(url.as_str())),
        }
    }
}

impl fmt::Debug for JwksSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => f.debug_tuple("File").field(path).finish(),
            Self::Url(_) => f.debug_tuple("Url").field(&self.to_string()).finish(),
        }
    }
}

/// Everything the [`crate::auth::verifier::Verifier`] needs.
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// The HS256 secret; without it HS256 tokens are refused
    /// ([`crate::auth::error::AuthError::AlgorithmNotConfigured`]).
    pub hs256_secret: Option<HmacSecret>,
    /// The JWKS; without it RS256 / ES256 / EdDSA tokens are refused.
    pub jwks: Option<JwksSource>,
    /// The required `iss` (exact match).
    pub issuer: String,
    /// The required `aud` (the token's `aud`, a string or an array, must contain it).
    pub audience: String,
    /// Clock leeway for `exp` and `nbf`, in seconds (at most [`MAX_LEEWAY_SECS`]).
    pub leeway_secs: u64,
    /// At most one JWKS load per this interval is triggered by unknown `kid`s (and by age).
    pub jwks_refresh_floor: Duration,
    /// A cached JWKS older than this is reloaded on the next asymmetric token (when a refresh is
    /// due under the floor), so that keys removed from the set stop being trusted.
    pub jwks_max_age: Duration,
    /// Timeout of one HTTPS fetch.
    pub jwks_fetch_timeout: Duration,
    /// Size limit of the JWKS document (file or HTTPS body).
    pub jwks_max_bytes: usize,
}

impl Default for VerifierConfig {
    /// No keys, issuer and audience `amanah`, the documented defaults for the rest.
    fn default() -> Self {
        Self {
            hs256_secret: None,
            jwks: None,
            issuer: "amanah".to_owned(),
            audience: "amanah".to_owned(),
            leeway_secs: DEFAULT_LEEWAY_SECS,
            jwks_refresh_floor: DEFAULT_JWKS_REFRESH_FLOOR,
            jwks_max_age: DEFAULT_JWKS_MAX_AGE,
            jwks_fetch_timeout: DEFAULT_JWKS_FETCH_TIMEOUT,
            jwks_max_bytes: DEFAULT_JWKS_MAX_BYTES,
        }
    }
}

impl VerifierConfig {
    /// Checks the settings that do not depend on the key source.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.leeway_secs > MAX_LEEWAY_SECS {
            return Err(ConfigError::LeewayTooLarge {
                secs: self.leeway_secs,
            });
        }
        if self.issuer.trim().is_empty() {
            return Err(ConfigError::Empty {
                what: "issuer",
                env: "ISSUER",
            });
        }
        if self.audience.trim().is_empty() {
            return Err(ConfigError::Empty {
                what: "audience",
                env: "AUDIENCE",
            });
        }
        if let Some(JwksSource::Url(url)) = &self.jwks {
            JwksSource::check_url(url)?;
        }
        Ok(())
    }
}
