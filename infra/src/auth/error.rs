//! Typed errors of token verification, configuration, minting and the JWKS fetch.
//!
//! [`AuthError`] is what [`crate::auth::verifier::Verifier::verify`] returns. Its `Display` is for logs
//! (it may name the claim, the algorithm or a sanitised `kid`), while [`AuthError::message`] is the
//! one client-safe sentence for the HTTP layer's 401 body and `WWW-Authenticate` header: it never
//! echoes the token or any value taken from it.

use std::fmt;

use crate::auth::config::{MAX_LEEWAY_SECS, MAX_TOKEN_BYTES, MIN_SECRET_BYTES};

/// The algorithms Amanah accepts, named as in the JWT `alg` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    /// HMAC-SHA256 with the configured shared secret.
    Hs256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, RSA key from the JWKS.
    Rs256,
    /// ECDSA on P-256 with SHA-256, EC key from the JWKS.
    Es256,
    /// Ed25519, OKP key from the JWKS.
    EdDsa,
}

impl Alg {
    /// Parses an `alg` header value; only the four accepted names match (case-sensitive, as in
    /// RFC 7518).
    #[must_use]
    pub fn from_header(alg: &str) -> Option<Self> {
        match alg {
            "HS256" => Some(Self::Hs256),
            "RS256" => Some(Self::Rs256),
            "ES256" => Some(Self::Es256),
            "EdDSA" => Some(Self::EdDsa),
            _ => None,
        }
    }

    /// The `alg` header value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }

    /// The matching `jsonwebtoken` algorithm.
    #[must_use]
    pub const fn to_jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            Self::Hs256 => jsonwebtoken::Algorithm::HS256,
            Self::Rs256 => jsonwebtoken::Algorithm::RS256,
            Self::Es256 => jsonwebtoken::Algorithm::ES256,
            Self::EdDsa => jsonwebtoken::Algorithm::EdDSA,
        }
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a bearer token was not accepted.
///
/// Every variant means "this request carries an invalid token": the HTTP layer answers 401 with
/// `UNAUTHENTICATED` and [`AuthError::www_authenticate`], never falls back to anonymous.
/// [`AuthError::KeySetUnavailable`] is the one variant caused by the server side (the JWKS could
/// not be loaded); see [`AuthError::is_transient`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The token is longer than [`MAX_TOKEN_BYTES`]; rejected before any parsing.
    #[error("token is {len} bytes, over the {MAX_TOKEN_BYTES}-byte limit")]
    TooLarge {
        /// The token's length in bytes.
        len: usize,
    },
    /// Not a compact JWS: wrong segment count, a segment that is not unpadded base64url, a header
    /// or payload that is not a JSON object, a missing or non-string `alg`/`kid`, a `crit` header,
    /// an empty signature, or an `Authorization` header that is not `Bearer <token>`.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The `alg` header is not one of HS256, RS256, ES256, EdDSA (this includes `none`).
    #[error("token algorithm {alg:?} is not supported")]
    UnsupportedAlgorithm {
        /// The header's `alg`, sanitised (printable ASCII, at most 32 characters).
        alg: String,
    },
    /// The algorithm is supported but this server has no key source for it: HS256 without a
    /// configured secret, or RS256/ES256/EdDSA without a JWKS.
    #[error("{alg} tokens are not accepted: no key for them is configured")]
    AlgorithmNotConfigured {
        /// The token's algorithm.
        alg: Alg,
    },
    /// An RS256/ES256/EdDSA token without a `kid` header (keys are chosen by `kid`).
    #[error("{alg} token has no kid header")]
    MissingKeyId {
        /// The token's algorithm.
        alg: Alg,
    },
    /// No key with the token's `kid` in the JWKS, even after a refresh (or a refresh was not due).
    #[error("no JWKS key has kid {kid:?}")]
    UnknownKey {
        /// The header's `kid`, sanitised.
        kid: String,
    },
    /// The JWKS key named by `kid` cannot verify this algorithm: wrong key type (`kty`), wrong
    /// curve, a declared `alg` that differs, a key not for signatures, or an unusable key.
    #[error("JWKS key {kid:?} cannot verify {alg} tokens: {reason}")]
    KeyMismatch {
        /// The header's `kid`, sanitised.
        kid: String,
        /// The token's algorithm.
        alg: Alg,
        /// Why the key does not fit.
        reason: &'static str,
    },
    /// The signature does not verify with the selected key.
    #[error("token signature is invalid")]
    BadSignature,
    /// `exp` is in the past by more than the leeway.
    #[error("token has expired")]
    Expired,
    /// `nbf` is in the future by more than the leeway.
    #[error("token is not valid yet (nbf)")]
    NotYetValid,
    /// `iss` is not the configured issuer.
    #[error("token issuer does not match")]
    WrongIssuer,
    /// `aud` does not contain the configured audience.
    #[error("token audience does not match")]
    WrongAudience,
    /// A required claim (`exp`, `iss`, `aud` or `sub`) is absent.
    #[error("token lacks the required {claim} claim")]
    MissingClaim {
        /// The claim's name.
        claim: &'static str,
    },
    /// A claim has the wrong shape: `roles` not an array of strings, `sub` empty or not a string,
    /// `org` not a UUID, `name` not a string, `iss` not a string, `exp`/`nbf` not a number.
    #[error("token claim {claim} is invalid: {reason}")]
    InvalidClaim {
        /// The claim's name.
        claim: &'static str,
        /// What it must be.
        reason: &'static str,
    },
    /// `roles` names a role Amanah does not know (roles are case-sensitive lowercase names).
    #[error("token names unknown role {role:?}")]
    UnknownRole {
        /// The unknown role, sanitised.
        role: String,
    },
    /// The token needs a JWKS key that is not cached, and the JWKS could not be loaded.
    #[error("JWKS unavailable: {reason}")]
    KeySetUnavailable {
        /// Why the last load failed (for logs).
        reason: String,
    },
}

impl AuthError {
    /// One client-safe sentence describing the failure, for the 401 body and the
    /// `error_description` of `WWW-Authenticate`. It never contains the token or a value taken
    /// from it, and never a `"` or `\` (so it can be quoted in a header as is).
    #[must_use]
    pub fn message(&self) -> String {
        match self {
            Self::TooLarge { .. } => "The bearer token is larger than 8 KiB.".to_owned(),
            Self::Malformed(_) => "The bearer token is not a well-formed JWT.".to_owned(),
            Self::UnsupportedAlgorithm { .. } => {
                "The token's signing algorithm is not accepted; use HS256, RS256, ES256 or EdDSA."
                    .to_owned()
            }
            Self::AlgorithmNotConfigured { alg } => {
                format!("This server is not configured to accept {alg} tokens.")
            }
            Self::MissingKeyId { alg } => {
                format!("The {alg} token has no kid header naming its signing key.")
            }
            Self::UnknownKey { .. } => {
                "The token was signed with a key this server does not know.".to_owned()
            }
            Self::KeyMismatch { .. } => {
                "The token's algorithm does not match the type of its signing key.".to_owned()
            }
            Self::BadSignature => "The token's signature is invalid.".to_owned(),
            Self::Expired => "The token has expired.".to_owned(),
            Self::NotYetValid => "The token is not valid yet.".to_owned(),
            Self::WrongIssuer => {
                "The token was issued by an issuer this server does not trust.".to_owned()
            }
            Self::WrongAudience => "The token is not intended for this server.".to_owned(),
            Self::MissingClaim { claim } => {
                format!("The token lacks the required `{claim}` claim.")
            }
            Self::InvalidClaim { claim, reason } => {
                format!("The token's `{claim}` claim is invalid: {reason}.")
            }
            Self::UnknownRole { .. } => "The token's `roles` claim names an unknown role \
                 (known roles: viewer, editor, integrator, auditor, admin)."
                .to_owned(),
            Self::KeySetUnavailable { .. } => "The token cannot be verified now because the \
                 signing keys are unavailable; try again later."
                .to_owned(),
        }
    }

    /// The `WWW-Authenticate` header value for the 401 response:
    /// `Bearer error="invalid_token", error_description="<message>"` (RFC 6750 §3).
    #[must_use]
    pub fn www_authenticate(&self) -> String {
        format!(
            "Bearer error=\"invalid_token\", error_description=\"{}\"",
            header_safe(&self.message())
        )
    }

    /// Whether the failure is on the server's side (the JWKS could not be loaded), so that the
    /// same token may be accepted later. The HTTP layer may still answer 401, or 503.
    #[must_use]
    pub const fn is_transient(&self) -> bool {
        matches!(self, Self::KeySetUnavailable { .. })
    }
}

/// Keeps only the characters RFC 6750 allows in `error_description` (%x20-21 / %x23-5B /
/// %x5D-7E), replacing any other with a space.
fn header_safe(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            ' ' | '!' | '#'..='[' | ']'..='~' => c,
            _ => ' ',
        })
        .collect()
}

/// Makes a token-supplied string safe to keep in an error (and so in logs): printable ASCII only,
/// at most 32 characters.
pub(crate) fn sanitise(value: &str) -> String {
    const MAX: usize = 32;
    let mut out: String = value
        .chars()
        .take(MAX)
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    if value.chars().count() > MAX {
        out.push('…');
    }
    out
}

/// A verifier configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The HS256 secret is shorter than [`MIN_SECRET_BYTES`].
    #[error(
        "the HS256 secret is {len} bytes; it must be at least {MIN_SECRET_BYTES} bytes (set AMANAH_AUTH_HS256_SECRET to a longer value, or unset it to have one generated)"
    )]
    SecretTooShort {
        /// The secret's length in bytes.
        len: usize,
    },
    /// The JWKS setting is empty.
    #[error("the JWKS source is empty; set AMANAH_AUTH_JWKS to a file path or an https:// URL")]
    EmptyJwksSource,
    /// The JWKS URL is not `https://` (plain `http://` and other schemes are refused).
    #[error(
        "the JWKS URL must use https:// (got scheme {scheme:?}); serve the key set over TLS or use a file path"
    )]
    JwksUrlNotHttps {
        /// The URL's scheme.
        scheme: String,
    },
    /// The JWKS URL does not parse.
    #[error("the JWKS URL is invalid: {reason}")]
    JwksUrlInvalid {
        /// The parser's complaint.
        reason: String,
    },
    /// The leeway exceeds [`MAX_LEEWAY_SECS`].
    #[error("the token leeway is {secs} s; it must be at most {MAX_LEEWAY_SECS} s")]
    LeewayTooLarge {
        /// The configured leeway in seconds.
        secs: u64,
    },
    /// The required issuer or audience is empty.
    #[error("the required token {what} is empty; set AMANAH_AUTH_{env}")]
    Empty {
        /// `issuer` or `audience`.
        what: &'static str,
        /// The environment variable's suffix (`ISSUER` or `AUDIENCE`).
        env: &'static str,
    },
    /// The HTTPS client for the JWKS could not be built.
    #[error("cannot build the HTTPS client for the JWKS: {reason}")]
    HttpClient {
        /// The builder's complaint.
        reason: String,
    },
}

/// Loading the JWKS failed (the previous key set, if any, stays in use).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwksError {
    /// Reading the JWKS file failed.
    #[error("cannot read the JWKS file {path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// The HTTPS request failed (connection, TLS, timeout).
    #[error("cannot fetch the JWKS: {reason}")]
    Http {
        /// The client's error.
        reason: String,
    },
    /// The server answered with a non-success status.
    #[error("the JWKS server answered HTTP {status}")]
    Status {
        /// The HTTP status code.
        status: u16,
    },
    /// The document exceeds the size limit.
    #[error("the JWKS document exceeds {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The document is not a JSON object with a `keys` array.
    #[error("the JWKS document is invalid: {reason}")]
    Parse {
        /// What is wrong.
        reason: String,
    },
}

/// Minting a token failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MintError {
    /// `sub` is empty.
    #[error("the token subject (--sub) must not be empty")]
    EmptySubject,
    /// The lifetime is zero or exceeds [`crate::auth::mint::MAX_TTL`].
    #[error("the token lifetime must be between 1 s and 366 days")]
    InvalidTtl,
    /// The issuer or audience is empty.
    #[error("the token {0} must not be empty")]
    Empty(&'static str),
    /// Encoding failed.
    #[error("cannot encode the token: {0}")]
    Encode(#[source] jsonwebtoken::errors::Error),
}

/// A `--ttl` value that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid token lifetime {input:?}: use a whole number with a unit s, m, h or d (e.g. 3600s, 30m, 1h, 7d), from 1s to 366d"
)]
pub struct TtlError {
    /// The rejected input (it is operator input, not a token).
    pub input: String,
}

/// Loading or creating the secret file in the data directory failed.
#[derive(Debug, thiserror::Error)]
pub enum SecretFileError {
    /// Reading or creating the file failed, or group or others may read or write it.
    #[error(transparent)]
    File(#[from] crate::private_file::PrivateFileError),
    /// The random generator failed.
    #[error("cannot generate a token secret: {0}")]
    Random(#[source] rand::Error),
    /// The file holds a secret that is too short.
    #[error("the token secret file {path} is invalid: {source}")]
    Invalid {
        /// The file.
        path: String,
        /// Why.
        source: ConfigError,
    },
}
