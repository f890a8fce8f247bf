//! Identity at the edge: the [`Verifier`] the server builds from its configuration, reading the
//! `Authorization` value of a request into an [`Identity`], and the [`Actor`] that identity
//! becomes in the audit log.
//!
//! * The HS256 secret is `AMANAH_AUTH_HS256_SECRET` when set, else the data directory's
//!   [`DEV_SECRET_FILE`], generated (mode 0600) the first time `serve` or `token` needs it, so that
//!   `amanah serve --demo` and `amanah token` work together with no set-up.
//! * A missing `Authorization` is anonymous (`Ok(None)`); anything else that does not verify is an
//!   [`AuthError`], never anonymous. Callers answer it with `UNAUTHENTICATED` (HTTP 401 with
//!   `WWW-Authenticate`, or WebSocket close code 4403).
//!
//! Access rules (who may do what) are not here: see [`crate::graphql::access`].

use std::path::{Path, PathBuf};

use amanah_domain::ports::Actor;
use amanah_infra::auth::{
    AuthError, ConfigError, HmacSecret, Identity, JwksError, JwksSource, SecretFileError, Verifier,
    VerifierConfig, bearer_token, load_or_create_secret,
};

use crate::config::Config;

/// The file in the data directory that holds the generated HS256 secret when none is configured.
pub const DEV_SECRET_FILE: &str = "auth-hs256.secret";

/// Why the server (or `amanah token`) cannot set up token verification.
#[derive(Debug, thiserror::Error)]
pub enum AuthSetupError {
    #[error("{0}")]
    SecretFile(#[from] SecretFileError),
    #[error("the configured HS256 secret is invalid: {0}")]
    Secret(ConfigError),
    #[error("the token verification settings are invalid: {0}; check AMANAH_AUTH_*")]
    Verifier(ConfigError),
    #[error("the JWKS file could not be loaded: {0}; check AMANAH_AUTH_JWKS")]
    JwksFile(JwksError),
}

/// Where the data directory's generated secret lives.
#[must_use]
pub fn dev_secret_path(data_dir: &Path) -> PathBuf {
    data_dir.join(DEV_SECRET_FILE)
}

/// The HS256 secret: the configured one, else the data directory's file (created with a fresh
/// random secret when missing, mode 0600; a file that group or others may read or write is
/// refused, see [`amanah_infra::private_file`]).
///
/// # Errors
/// A configured secret shorter than 32 bytes; a secret file that cannot be read, created or holds
/// a short secret.
pub fn hs256_secret(config: &Config) -> Result<HmacSecret, AuthSetupError> {
    if let Some(secret) = &config.auth.hs256_secret {
        return HmacSecret::new(secret.expose().as_bytes()).map_err(AuthSetupError::Secret);
    }
    let path = dev_secret_path(&config.data_dir);
    let loaded = load_or_create_secret(&path)?;
    if loaded.created {
        tracing::info!(
            path = %path.display(),
            "generated a development HS256 token secret (set AMANAH_AUTH_HS256_SECRET to choose one)"
        );
    }
    Ok(loaded.secret)
}

/// The verifier's settings from the configuration and the resolved HS256 secret.
///
/// # Errors
/// An `AMANAH_AUTH_JWKS` value that is neither a file path nor an `https://` URL.
pub fn verifier_config(
    config: &Config,
    secret: HmacSecret,
) -> Result<VerifierConfig, AuthSetupError> {
    let jwks = config
        .auth
        .jwks
        .as_deref()
        .map(JwksSource::parse)
        .transpose()
        .map_err(AuthSetupError::Verifier)?;
    Ok(VerifierConfig {
        hs256_secret: Some(secret),
        jwks,
        issuer: config.auth.issuer.clone(),
        audience: config.auth.audience.clone(),
        ..VerifierConfig::default()
    })
}

/// Builds the server's verifier and, when a JWKS is configured, loads it once: a JWKS file that
/// cannot be loaded stops the start (it is a configuration mistake); an unreachable JWKS URL is
/// logged and retried on the first token that needs it (the identity provider may start later).
///
/// # Errors
/// See [`AuthSetupError`].
pub async fn build_verifier(config: &Config) -> Result<Verifier, AuthSetupError> {
    let secret = hs256_secret(config)?;
    let verifier_config = verifier_config(config, secret)?;
    let from_file = matches!(verifier_config.jwks, Some(JwksSource::File(_)));
    let verifier = Verifier::new(verifier_config).map_err(AuthSetupError::Verifier)?;
    match verifier.refresh_jwks().await {
        Ok(0) => {}
        Ok(keys) => tracing::info!(keys, "loaded the JWKS"),
        Err(error) if from_file => return Err(AuthSetupError::JwksFile(error)),
        Err(error) => tracing::warn!(
            %error,
            "the JWKS could not be loaded at start-up; it is fetched again when a token needs it"
        ),
    }
    Ok(verifier)
}

/// Reads an `Authorization` value: absent → `Ok(None)` (anonymous); `Bearer <token>` that
/// verifies → the identity.
///
/// # Errors
/// Any other value, or a token that does not verify.
pub async fn authenticate(
    verifier: &Verifier,
    authorization: Option<&str>,
) -> Result<Option<Identity>, AuthError> {
    match bearer_token(authorization)? {
        None => Ok(None),
        Some(token) => verifier.verify(token).await.map(Some),
    }
}

/// The actor an identity's changes are recorded under: its `sub`, role names and `org`.
#[must_use]
pub fn actor_of(identity: &Identity) -> Actor {
    Actor {
        sub: identity.sub.clone(),
        roles: identity.role_names(),
        org: identity.org,
    }
}

/// The HS256 secret of [`test_verifier`].
#[cfg(test)]
pub(crate) const TEST_SECRET: &str = "amanah-in-process-tests-secret-0123456789abcdef";

/// A verifier for in-process tests: HS256 with [`TEST_SECRET`], issuer and audience `amanah`.
#[cfg(test)]
#[expect(clippy::expect_used, reason = "a fixed, valid test configuration")]
pub(crate) fn test_verifier() -> std::sync::Arc<Verifier> {
    let secret = HmacSecret::new(TEST_SECRET.as_bytes()).expect("the test secret is long enough");
    std::sync::Arc::new(
        Verifier::new(VerifierConfig {
            hs256_secret: Some(secret),
            ..VerifierConfig::default()
        })
        .expect("the test verifier configuration is valid"),
    )
}

/// An identity as a verified token would give it, valid for an hour.
#[cfg(test)]
pub(crate) fn test_identity(
    sub: &str,
    roles: &[amanah_infra::auth::Role],
    org: Option<uuid::Uuid>,
) -> Identity {
    Identity {
        sub: sub.to_owned(),
        roles: roles.to_vec(),
        org,
        name: None,
        expires_at: chrono::Utc::now() + chrono::Duration::hours(1),
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use std::time::Duration;

    use amanah_infra::auth::{Role, mint_hs256};

    use super::*;
    use crate::config::Secret;

    const SECRET: &str = "a-test-secret-that-is-long-enough-0123456789";

    #[test]
    fn the_secret_is_generated_once_into_the_data_dir_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::defaults_in(dir.path());
        let first = hs256_secret(&config).unwrap();
        let second = hs256_secret(&config).unwrap();
        assert_eq!(first, second);
        let path = dev_secret_path(dir.path());
        assert!(path.exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_configured_secret_wins_and_writes_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::defaults_in(dir.path());
        config.auth.hs256_secret = Some(Secret::new(SECRET.to_owned()));
        let secret = hs256_secret(&config).unwrap();
        assert_eq!(secret.as_bytes(), SECRET.as_bytes());
        assert!(!dev_secret_path(dir.path()).exists());
    }

    #[tokio::test]
    async fn authenticate_reads_bearer_tokens_and_refuses_everything_else() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::defaults_in(dir.path());
        config.auth.hs256_secret = Some(Secret::new(SECRET.to_owned()));
        let verifier = build_verifier(&config).await.unwrap();
        let secret = HmacSecret::new(SECRET.as_bytes()).unwrap();
        let org = uuid::Uuid::now_v7();
        let token = mint_hs256(
            &secret,
            "partner-system",
            &[Role::Integrator],
            Some(org),
            Duration::from_secs(60),
            "amanah",
            "amanah",
        )
        .unwrap();

        assert_eq!(authenticate(&verifier, None).await, Ok(None));
        let identity = authenticate(&verifier, Some(&format!("Bearer {token}")))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            actor_of(&identity),
            Actor {
                sub: "partner-system".to_owned(),
                roles: vec!["integrator".to_owned()],
                org: Some(org),
            }
        );
        for bad in [
            "Basic dXNlcjpwYXNz".to_owned(),
            "Bearer".to_owned(),
            format!("Bearer {token}x"),
        ] {
            assert!(authenticate(&verifier, Some(&bad)).await.is_err(), "{bad}");
        }
    }
}
