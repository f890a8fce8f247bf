//! [`Verifier`]: turns a bearer token into an [`Identity`] or a typed [`AuthError`].
//!
//! The checks, in order (each failure is final; nothing falls back to anonymous):
//! 1. Size: over [`MAX_TOKEN_BYTES`] → [`AuthError::TooLarge`], before any parsing.
//! 2. Shape: exactly three `.`-separated segments of unpadded base64url; the header a JSON object
//!    with a string `alg`, a string `kid` when present and no `crit`; the payload a JSON object;
//!    a non-empty signature → else [`AuthError::Malformed`]. All of this happens before any key
//!    lookup, so garbage never triggers a JWKS reload.
//! 3. Algorithm: HS256, RS256, ES256 or EdDSA, case-sensitive; `none` and everything else →
//!    [`AuthError::UnsupportedAlgorithm`].
//! 4. Key, chosen by the algorithm alone: HS256 only ever with the configured secret; RS256, ES256
//!    and EdDSA only ever with the JWKS key named by `kid` whose type fits (see [`crate::auth::jwks`]).
//!    The header's `jwk`, `jku`, `x5u` and `x5c` are ignored: keys never come from the token.
//! 5. Signature, then `exp` (required), `nbf` (when present), `iss` and `aud` (required, must
//!    match), with the configured leeway on `exp` and `nbf` (`jsonwebtoken` 11).
//! 6. Amanah's claims: `sub`, `roles`, `org`, `name` (see [`crate::auth::claims`]).

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::{Map, Value};

use crate::auth::claims::Identity;
use crate::auth::config::{JwksSource, MAX_TOKEN_BYTES, VerifierConfig};
use crate::auth::error::{Alg, AuthError, ConfigError, JwksError, sanitise};
use crate::auth::jwks::{FileFetcher, HttpsFetcher, JwksFetcher, KeyStore};

/// Verifies bearer tokens; cheap to share behind an `Arc` (all methods take `&self`).
pub struct Verifier {
    hs256: Option<Arc<DecodingKey>>,
    jwks: Option<KeyStore>,
    issuer: String,
    audience: String,
    leeway_secs: u64,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("hs256", &self.hs256.as_ref().map(|_| "[redacted]"))
            .field("jwks", &self.jwks.is_some())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway_secs", &self.leeway_secs)
            .finish()
    }
}

impl Verifier {
    /// Builds a verifier from its configuration. No I/O: the JWKS is loaded on the first
    /// RS256/ES256/EdDSA token, or at start-up through [`Verifier::refresh_jwks`].
    ///
    /// # Errors
    /// [`ConfigError`] for a leeway over 60 s, an empty issuer or audience, a JWKS URL that is not
    /// `https://`, or an HTTPS client that cannot be built.
    pub fn new(config: VerifierConfig) -> Result<Self, ConfigError> {
        let fetcher: Option<Arc<dyn JwksFetcher>> = match &config.jwks {
            None => None,
            Some(JwksSource::File(path)) => Some(Arc::new(FileFetcher::new(
                path.clone(),
                config.jwks_max_bytes,
            ))),
            Some(JwksSource::Url(url)) => Some(Arc::new(HttpsFetcher::new(
                url.clone(),
                config.jwks_fetch_timeout,
                config.jwks_max_bytes,
            )?)),
        };
        Self::build(config, fetcher)
    }

    /// Like [`Verifier::new`], but the JWKS comes from `fetcher` (whatever `config.jwks` says):
    /// for tests, or for a key source this crate does not know.
    ///
    /// # Errors
    /// As [`Verifier::new`].
    pub fn with_jwks_fetcher(
        config: VerifierConfig,
        fetcher: Arc<dyn JwksFetcher>,
    ) -> Result<Self, ConfigError> {
        Self::build(config, Some(fetcher))
    }

    fn build(
        config: VerifierConfig,
        fetcher: Option<Arc<dyn JwksFetcher>>,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            hs256: config
                .hs256_secret
                .as_ref()
                .map(|secret| Arc::new(DecodingKey::from_secret(secret.as_bytes()))),
            jwks: fetcher.map(|fetcher| {
                KeyStore::new(fetcher, config.jwks_refresh_floor, config.jwks_max_age)
            }),
            issuer: config.issuer,
            audience: config.audience,
            leeway_secs: config.leeway_secs,
        })
    }

    /// Loads the JWKS now (ignoring the refresh floor) and returns how many usable keys it has.
    /// `serve` can call it at start-up to fail fast on a bad file or log an unreachable URL.
    /// Returns `Ok(0)` when no JWKS is configured.
    ///
    /// # Errors
    /// [`JwksError`] when the document cannot be read, fetched or parsed; the keys loaded before,
    /// if any, stay in use.
    pub async fn refresh_jwks(&self) -> Result<usize, JwksError> {
        match &self.jwks {
            Some(store) => store.reload_now().await,
            None => Ok(0),
        }
    }

    /// Verifies a bearer token (the part after `Bearer `).
    ///
    /// # Errors
    /// An [`AuthError`] naming the first check that failed (see the module docs).
    pub async fn verify(&self, token: &str) -> Result<Identity, AuthError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::TooLarge { len: token.len() });
        }
        let header = TokenParts::parse(token)?;
        let key: Arc<DecodingKey> = match header.alg {
            Alg::Hs256 => match &self.hs256 {
                Some(secret) => Arc::clone(secret),
                None => return Err(AuthError::AlgorithmNotConfigured { alg: header.alg }),
            },
            Alg::Rs256 | Alg::Es256 | Alg::EdDsa => {
                let Some(store) = &self.jwks else {
                    return Err(AuthError::AlgorithmNotConfigured { alg: header.alg });
                };
                let Some(kid) = &header.kid else {
                    return Err(AuthError::MissingKeyId { alg: header.alg });
                };
                store.key_for(kid, header.alg).await?
            }
        };
        let claims =
            jsonwebtoken::decode::<Map<String, Value>>(token, &key, &self.validation(header.alg))
                .map_err(|e| map_jwt_error(e.kind(), &header))?
                .claims;
        // `claims` and `header.payload` are the same JSON; from here on it is signed and fresh.
        Identity::from_verified_claims(&claims)
    }

    fn validation(&self, alg: Alg) -> Validation {
        let mut validation = Validation::new(alg.to_jwt());
        validation.leeway = self.leeway_secs;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        // `sub` is checked in `Identity::from_verified_claims`, to tell missing from malformed.
        validation.required_spec_claims = ["exp", "iss", "aud"]
            .into_iter()
            .map(str::to_owned)
            .collect::<HashSet<_>>();
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation
    }
}

/// What the verifier needs from the JOSE header, after the shape checks, and the (not yet
/// verified) payload, used only to explain a registered claim of the wrong type.
#[derive(Debug)]
struct TokenParts {
    alg: Alg,
    kid: Option<String>,
    payload: Map<String, Value>,
}

impl TokenParts {
    /// Checks the token's shape and reads its header (no key, no signature check).
    fn parse(token: &str) -> Result<Self, AuthError> {
        let mut segments = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) = (
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
        ) else {
            return Err(AuthError::Malformed(
                "a JWT has three dot-separated segments",
            ));
        };
        let header = decode_segment(header)?;
        let header: Map<String, Value> = serde_json::from_slice(&header)
            .map_err(|_| AuthError::Malformed("the header is not a JSON object"))?;
        let alg = match header.get("alg") {
            Some(Value::String(alg)) => Alg::from_header(alg)
                .ok_or_else(|| AuthError::UnsupportedAlgorithm { alg: sanitise(alg) })?,
            _ => return Err(AuthError::Malformed("the header has no string alg")),
        };
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(kid)) => Some(kid.clone()),
            Some(_) => return Err(AuthError::Malformed("the header's kid is not a string")),
        };
        if header.contains_key("crit") {
            return Err(AuthError::Malformed(
                "critical header extensions are not supported",
            ));
        }
        let payload = decode_segment(payload)?;
        let payload: Map<String, Value> = serde_json::from_slice(&payload)
            .map_err(|_| AuthError::Malformed("the payload is not a JSON object"))?;
        if decode_segment(signature)?.is_empty() {
            return Err(AuthError::Malformed("the signature is empty"));
        }
        Ok(Self { alg, kid, payload })
    }
}

/// Decodes one segment: unpadded base64url, nothing else (no padding, no `+` or `/`).
fn decode_segment(segment: &str) -> Result<Vec<u8>, AuthError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| AuthError::Malformed("a segment is not unpadded base64url"))
}

/// Maps a `jsonwebtoken` failure (signature or registered claims) to an [`AuthError`].
fn map_jwt_error(kind: &ErrorKind, header: &TokenParts) -> AuthError {
    match kind {
        ErrorKind::InvalidSignature => AuthError::BadSignature,
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::ImmatureSignature => AuthError::NotYetValid,
        ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
        ErrorKind::InvalidAudience => AuthError::WrongAudience,
        // `jsonwebtoken` reports a registered claim of the wrong type as missing (or, for some
        // shapes, as a JSON error): name the claim and what it must be instead. Both errors come
        // after the signature check.
        ErrorKind::MissingRequiredClaim(_)
        | ErrorKind::InvalidClaimFormat(_)
        | ErrorKind::Json(_) => mistyped_claim(&header.payload).unwrap_or_else(|| match kind {
            ErrorKind::MissingRequiredClaim(claim) => AuthError::MissingClaim {
                claim: registered_claim(claim),
            },
            _ => AuthError::Malformed("the claims do not decode"),
        }),
        ErrorKind::InvalidToken | ErrorKind::Base64(_) | ErrorKind::Utf8(_) => {
            AuthError::Malformed("the token does not decode")
        }
        ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidEddsaKey
        | ErrorKind::InvalidKeyFormat
        | ErrorKind::InvalidAlgorithm => AuthError::KeyMismatch {
            kid: header.kid.as_deref().map(sanitise).unwrap_or_default(),
            alg: header.alg,
            reason: "the key cannot verify this algorithm",
        },
        // Signing-side and provider errors cannot come out of `decode` with our keys; fail
        // closed.
        _ => AuthError::BadSignature,
    }
}

/// The first registered claim that is present (not `null`) with the wrong JSON type.
fn mistyped_claim(payload: &Map<String, Value>) -> Option<AuthError> {
    let present = |name: &str| payload.get(name).filter(|v| !v.is_null());
    let numeric_date = |value: &Value| value.as_f64().is_some_and(|n| n.is_finite() && n >= 0.0);
    let string_or_strings = |value: &Value| match value {
        Value::String(_) => true,
        Value::Array(items) => items.iter().all(Value::is_string),
        _ => false,
    };
    for claim in ["exp", "nbf"] {
        if present(claim).is_some_and(|v| !numeric_date(v)) {
            return Some(AuthError::InvalidClaim {
                claim: registered_claim(claim),
                reason: "it must be a NumericDate (seconds since the epoch)",
            });
        }
    }
    if present("iss").is_some_and(|v| !v.is_string()) {
        return Some(AuthError::InvalidClaim {
            claim: "iss",
            reason: "it must be a single string",
        });
    }
    if present("aud").is_some_and(|v| !string_or_strings(v)) {
        return Some(AuthError::InvalidClaim {
            claim: "aud",
            reason: "it must be a string or an array of strings",
        });
    }
    if present("sub").is_some_and(|v| !v.is_string()) {
        return Some(AuthError::InvalidClaim {
            claim: "sub",
            reason: "it must be a non-empty string",
        });
    }
    None
}

fn registered_claim(claim: &str) -> &'static str {
    match claim {
        "exp" => "exp",
        "nbf" => "nbf",
        "iss" => "iss",
        "aud" => "aud",
        "sub" => "sub",
        _ => "unknown",
    }
}
