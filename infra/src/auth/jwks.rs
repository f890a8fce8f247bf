//! The JWKS: where its bytes come from ([`JwksFetcher`]: a file, an `https://` URL, or a test
//! double), how its keys are kept, and when it is reloaded.
//!
//! * Keys are chosen by `kid`, and then must fit the token's algorithm: `kty` RSA (≥ 2048 bits)
//!   for RS256, `kty` EC with `crv` P-256 for ES256, `kty` OKP with `crv` Ed25519 for EdDSA; a
//!   declared `alg` must equal the token's, a declared `use` must be `sig`, declared `key_ops` must
//!   include `verify`. Symmetric (`oct`) keys in the set are never used for anything.
//! * An unknown `kid` triggers a reload, at most once per refresh floor: concurrent requests with
//!   unknown `kid`s share one reload (single flight behind a `tokio` mutex) and requests within
//!   the floor after it do not reload again. A set older than the maximum age is reloaded the same
//!   way (without making other requests wait), so that removed keys stop being trusted.
//! * A failed reload keeps the previous keys; the failure is reported as
//!   [`AuthError::KeySetUnavailable`] only to tokens whose key is not cached.
//! * Entries that do not parse, lack a `kid` or are of unknown type are skipped, not fatal; a
//!   document that is not a JSON object with a `keys` array is a failed load.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse,
};
use serde_json::Value;
use tokio::sync::{Mutex, RwLock};
use tokio::time::Instant;

use amanah_domain::ports::BoxFuture;

use crate::auth::config::JwksSource;
use crate::auth::error::{Alg, AuthError, ConfigError, JwksError, sanitise};

/// Fetches the raw JWKS document. Implemented by [`FileFetcher`] and [`HttpsFetcher`]; tests
/// inject their own to count fetches or to rotate keys without a network.
pub trait JwksFetcher: Send + Sync {
    /// Returns the JWKS document's bytes.
    fn fetch(&self) -> BoxFuture<'_, Result<Vec<u8>, JwksError>>;
}

/// Reads the JWKS from a file (re-read on each refresh).
#[derive(Debug, Clone)]
pub struct FileFetcher {
    path: PathBuf,
    max_bytes: usize,
}

impl FileFetcher {
    /// A fetcher for `path` refusing documents over `max_bytes`.
    #[must_use]
    pub fn new(path: PathBuf, max_bytes: usize) -> Self {
        Self { path, max_bytes }
    }

    async fn read(&self) -> Result<Vec<u8>, JwksError> {
        let io = |e: std::io::Error| JwksError::Io {
            path: self.path.display().to_string(),
            reason: e.to_string(),
        };
        let len = tokio::fs::metadata(&self.path).await.map_err(io)?.len();
        if usize::try_from(len).map_or(true, |len| len > self.max_bytes) {
            return Err(JwksError::TooLarge {
                limit: self.max_bytes,
            });
        }
        let bytes = tokio::fs::read(&self.path).await.map_err(io)?;
        if bytes.len() > self.max_bytes {
            return Err(JwksError::TooLarge {
                limit: self.max_bytes,
            });
        }
        Ok(bytes)
    }
}

impl JwksFetcher for FileFetcher {
    fn fetch(&self) -> BoxFuture<'_, Result<Vec<u8>, JwksError>> {
        Box::pin(self.read())
    }
}

/// Fetches the JWKS over HTTPS only (redirects too), with a timeout and a size limit.
#[derive(Clone)]
pub struct HttpsFetcher {
    client: reqwest::Client,
    url: reqwest::Url,
    max_bytes: usize,
}

impl std::fmt::Debug for HttpsFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpsFetcher")
            .field("url", &crate::url_redaction::redact_url(self.url.as_str()))
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}

impl HttpsFetcher {
    /// A fetcher for `url`, which must be `https://`.
    ///
    /// # Errors
    /// [`ConfigError::JwksUrlNotHttps`] / [`ConfigError::JwksUrlInvalid`] for a non-https URL,
    /// [`ConfigError::HttpClient`] when the TLS client cannot be built.
    pub fn new(
        url: reqwest::Url,
        timeout: Duration,
        max_bytes: usize,
    ) -> Result<Self, ConfigError> {
        JwksSource::check_url(&url)?;
        let client = reqwest::Client::builder()
            .https_only(true)
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::limited(3))
            .user_agent(concat!("amanah/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConfigError::HttpClient {
                reason: e.to_string(),
            })?;
        Ok(Self {
            client,
            url,
            max_bytes,
        })
    }

    /// A fetcher that also speaks plain HTTP, for tests against a loopback server.
    #[cfg(test)]
    pub(crate) fn plain_http_for_tests(
        url: reqwest::Url,
        timeout: Duration,
        max_bytes: usize,
    ) -> Self {
        Self {
            client: reqwest::Client::builder()
                .timeout(timeout)
                .build()
                .unwrap_or_default(),
            url,
            max_bytes,
        }
    }

    async fn get(&self) -> Result<Vec<u8>, JwksError> {
        let http = |e: reqwest::Error| JwksError::Http {
            reason: e.without_url().to_string(),
        };
        let mut response = self
            .client
            .get(self.url.clone())
            .header(
                reqwest::header::ACCEPT,
                "application/jwk-set+json, application/json",
            )
            .send()
            .await
            .map_err(http)?;
        let status = response.status();
        if !status.is_success() {
            return Err(JwksError::Status {
                status: status.as_u16(),
            });
        }
        let too_large = JwksError::TooLarge {
            limit: self.max_bytes,
        };
        if response
            .content_length()
            .is_some_and(|len| usize::try_from(len).map_or(true, |len| len > self.max_bytes))
        {
            return Err(too_large);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(http)? {
            if body.len() + chunk.len() > self.max_bytes {
                return Err(too_large);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

impl JwksFetcher for HttpsFetcher {
    fn fetch(&self) -> BoxFuture<'_, Result<Vec<u8>, JwksError>> {
        Box::pin(self.get())
    }
}

/// What a JWKS entry can verify.
#[derive(Debug, Clone)]
enum Material {
    Rsa(Arc<DecodingKey>),
    EcP256(Arc<DecodingKey>),
    Ed25519(Arc<DecodingKey>),
    /// Kept so that a token naming it gets [`AuthError::KeyMismatch`] with this reason.
    Unusable(&'static str),
}

/// One usable-or-not JWKS entry.
#[derive(Debug, Clone)]
struct Entry {
    material: Material,
    declared_alg: Option<KeyAlgorithm>,
    /// `None` when the entry may verify signatures, else why not.
    not_for_signatures: Option<&'static str>,
}

impl Entry {
    fn from_jwk(jwk: &Jwk) -> Self {
        let material = match &jwk.algorithm {
            AlgorithmParameters::RSA(rsa) => match URL_SAFE_NO_PAD.decode(&rsa.n) {
                Ok(n) if n.iter().skip_while(|b| **b == 0).count() < 256 => {
                    Material::Unusable("the RSA key is shorter than 2048 bits")
                }
                Ok(_) => DecodingKey::from_rsa_components(&rsa.n, &rsa.e)
                    .map_or(Material::Unusable("the RSA key does not decode"), |k| {
                        Material::Rsa(Arc::new(k))
                    }),
                Err(_) => Material::Unusable("the RSA key does not decode"),
            },
            AlgorithmParameters::EllipticCurve(ec) => {
                if ec.curve == EllipticCurve::P256 {
                    DecodingKey::from_ec_components(&ec.x, &ec.y)
                        .map_or(Material::Unusable("the EC key does not decode"), |k| {
                            Material::EcP256(Arc::new(k))
                        })
                } else {
                    Material::Unusable("the EC key is not on curve P-256")
                }
            }
            AlgorithmParameters::OctetKeyPair(okp) => {
                let is_32_bytes = URL_SAFE_NO_PAD.decode(&okp.x).is_ok_and(|x| x.len() == 32);
                if okp.curve != EllipticCurve::Ed25519 {
                    Material::Unusable("the OKP key is not an Ed25519 key")
                } else if !is_32_bytes {
                    Material::Unusable("the Ed25519 key does not decode")
                } else {
                    DecodingKey::from_ed_components(&okp.x)
                        .map_or(Material::Unusable("the Ed25519 key does not decode"), |k| {
                            Material::Ed25519(Arc::new(k))
                        })
                }
            }
            AlgorithmParameters::OctetKey(_) => {
                Material::Unusable("symmetric keys from the JWKS are never used")
            }
            _ => Material::Unusable("the key type is not supported"),
        };
        let not_for_signatures = match (&jwk.common.public_key_use, &jwk.common.key_operations) {
            (Some(key_use), _) if *key_use != PublicKeyUse::Signature => {
                Some("the key's use is not sig")
            }
            (_, Some(ops)) if !ops.contains(&KeyOperations::Verify) => {
                Some("the key's key_ops do not include verify")
            }
            _ => None,
        };
        Self {
            material,
            declared_alg: jwk.common.key_algorithm,
            not_for_signatures,
        }
    }

    fn usable(&self) -> bool {
        self.not_for_signatures.is_none() && !matches!(self.material, Material::Unusable(_))
    }

    /// The key if this entry may verify `alg`, else why not.
    fn key_for(&self, alg: Alg) -> Result<Arc<DecodingKey>, &'static str> {
        if let Some(reason) = self.not_for_signatures {
            return Err(reason);
        }
        let key = match (&self.material, alg) {
            (Material::Unusable(reason), _) => return Err(reason),
            (Material::Rsa(k), Alg::Rs256)
            | (Material::EcP256(k), Alg::Es256)
            | (Material::Ed25519(k), Alg::EdDsa) => k,
            (_, Alg::Hs256) => return Err("HS256 tokens are never verified with JWKS keys"),
            _ => return Err("the key type does not match the algorithm"),
        };
        match self.declared_alg {
            Some(declared) if declared != KeyAlgorithm::from(alg.to_jwt()) => {
                Err("the key declares another alg")
            }
            _ => Ok(Arc::clone(key)),
        }
    }
}

/// The keys of one successful load.
#[derive(Debug)]
struct Snapshot {
    by_kid: HashMap<String, Vec<Entry>>,
    loaded_at: Option<Instant>,
}

impl Snapshot {
    fn empty() -> Self {
        Self {
            by_kid: HashMap::new(),
            loaded_at: None,
        }
    }

    /// `None` when no entry has `kid`; else the key, or the mismatch.
    fn find(&self, kid: &str, alg: Alg) -> Option<Result<Arc<DecodingKey>, AuthError>> {
        let entries = self.by_kid.get(kid)?;
        let mut first_reason = None;
        for entry in entries {
            match entry.key_for(alg) {
                Ok(key) => return Some(Ok(key)),
                Err(reason) => {
                    first_reason.get_or_insert(reason);
                }
            }
        }
        Some(Err(AuthError::KeyMismatch {
            kid: sanitise(kid),
            alg,
            reason: first_reason.unwrap_or("the key type does not match the algorithm"),
        }))
    }
}

/// Parses a JWKS document into entries by `kid`; returns them and how many are usable.
fn parse_jwks(bytes: &[u8]) -> Result<(HashMap<String, Vec<Entry>>, usize), JwksError> {
    let document: Value = serde_json::from_slice(bytes).map_err(|e| JwksError::Parse {
        reason: e.to_string(),
    })?;
    let Some(Value::Array(keys)) = document.get("keys") else {
        return Err(JwksError::Parse {
            reason: "it is not a JSON object with a \"keys\" array".to_owned(),
        });
    };
    let mut by_kid: HashMap<String, Vec<Entry>> = HashMap::new();
    let mut usable = 0;
    for raw in keys {
        let Ok(jwk) = serde_json::from_value::<Jwk>(raw.clone()) else {
            continue;
        };
        let Some(kid) = jwk.common.key_id.clone() else {
            continue;
        };
        let entry = Entry::from_jwk(&jwk);
        if entry.usable() {
            usable += 1;
        }
        by_kid.entry(kid).or_default().push(entry);
    }
    Ok((by_kid, usable))
}

/// When the last load was attempted and whether it failed.
#[derive(Debug, Default)]
struct RefreshState {
    last_attempt: Option<Instant>,
    last_error: Option<JwksError>,
}

/// The cached JWKS with single-flight, rate-limited reloads.
pub(crate) struct KeyStore {
    fetcher: Arc<dyn JwksFetcher>,
    snapshot: RwLock<Arc<Snapshot>>,
    refresh: Mutex<RefreshState>,
    floor: Duration,
    max_age: Duration,
}

impl KeyStore {
    pub(crate) fn new(fetcher: Arc<dyn JwksFetcher>, floor: Duration, max_age: Duration) -> Self {
        Self {
            fetcher,
            snapshot: RwLock::new(Arc::new(Snapshot::empty())),
            refresh: Mutex::new(RefreshState::default()),
            floor,
            max_age,
        }
    }

    /// The key for a token with this `kid` and `alg`, reloading the set when the `kid` is
    /// unknown and a reload is due.
    pub(crate) async fn key_for(&self, kid: &str, alg: Alg) -> Result<Arc<DecodingKey>, AuthError> {
        let snapshot = Arc::clone(&*self.snapshot.read().await);
        let stale = snapshot
            .loaded_at
            .is_some_and(|at| at.elapsed() >= self.max_age);
        if stale {
            // Reload in this request, but never make others wait for it: if a reload is already
            // running, they go on with the keys they have.
            if let Ok(mut state) = self.refresh.try_lock() {
                self.reload_if_due(&mut state).await;
            }
        } else if let Some(found) = snapshot.find(kid, alg) {
            return found;
        }
        if let Some(found) = self.snapshot.read().await.find(kid, alg) {
            return found;
        }
        let mut state = self.refresh.lock().await;
        self.reload_if_due(&mut state).await;
        let last_error = state.last_error.clone();
        drop(state);
        match self.snapshot.read().await.find(kid, alg) {
            Some(found) => found,
            None => Err(match last_error {
                Some(error) => AuthError::KeySetUnavailable {
                    reason: error.to_string(),
                },
                None => AuthError::UnknownKey { kid: sanitise(kid) },
            }),
        }
    }

    /// Loads the set now, whatever the floor (for start-up), still single-flight.
    pub(crate) async fn reload_now(&self) -> Result<usize, JwksError> {
        let mut state = self.refresh.lock().await;
        self.reload(&mut state).await
    }

    async fn reload_if_due(&self, state: &mut RefreshState) {
        let due = state
            .last_attempt
            .is_none_or(|at| at.elapsed() >= self.floor);
        if due {
            // The outcome is recorded in `state`.
            let _ = self.reload(state).await;
        }
    }

    async fn reload(&self, state: &mut RefreshState) -> Result<usize, JwksError> {
        state.last_attempt = Some(Instant::now());
        let loaded = match self.fetcher.fetch().await {
            Ok(bytes) => parse_jwks(&bytes),
            Err(error) => Err(error),
        };
        match loaded {
            Ok((by_kid, usable)) => {
                *self.snapshot.write().await = Arc::new(Snapshot {
                    by_kid,
                    loaded_at: Some(Instant::now()),
                });
                state.last_error = None;
                Ok(usable)
            }
            Err(error) => {
                state.last_error = Some(error.clone());
                Err(error)
            }
        }
    }
}
