//! Amanah's bearer-token verification: JWT adapter over `jsonwebtoken` 11 (RustCrypto backend).
//!
//! * [`verifier::Verifier`] verifies HS256 tokens with the configured secret and RS256 / ES256 /
//!   EdDSA tokens with keys from a JWKS (file or `https://` URL, chosen by `kid`, reloaded on an
//!   unknown `kid` at most once per refresh floor), and returns an [`claims::Identity`] or a typed
//!   [`error::AuthError`] whose [`error::AuthError::message`] and
//!   [`error::AuthError::www_authenticate`] feed the HTTP layer's 401.
//! * [`config`] holds the configuration ([`config::VerifierConfig`], [`config::HmacSecret`],
//!   [`config::JwksSource`]) and the limits (8 KiB tokens, leeway ≤ 60 s, secrets ≥ 32 bytes).
//! * [`jwks`] fetches and caches the key set; [`jwks::JwksFetcher`] is the seam tests inject.
//! * [`mint`] mints development tokens (`amanah token`), parses `--ttl`, generates and stores the
//!   data directory's secret, and reads `Authorization: Bearer …` values.
//!
//! No GraphQL or HTTP types here: callers map [`error::AuthError`] to `UNAUTHENTICATED`.

pub mod claims;
pub mod config;
pub mod error;
pub mod jwks;
pub mod mint;
pub mod verifier;

#[cfg(test)]
mod interop_tests;
#[cfg(test)]
mod tests;

pub use claims::{Claims, Identity, Role};
pub use config::{HmacSecret, JwksSource, VerifierConfig};
pub use error::{Alg, AuthError, ConfigError, JwksError, MintError, SecretFileError, TtlError};
pub use jwks::{FileFetcher, HttpsFetcher, JwksFetcher};
pub use mint::{bearer_token, generate_secret, load_or_create_secret, mint_hs256, parse_ttl};
pub use verifier::Verifier;
