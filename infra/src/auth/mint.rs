//! Development tokens and secrets: [`mint_hs256`] for `amanah token`, [`parse_ttl`] for its
//! `--ttl`, [`generate_secret`] and [`load_or_create_secret`] for the secret `serve` keeps in the
//! data directory when none is configured, and [`bearer_token`] to read an `Authorization` value.

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header};
use rand::RngCore as _;
use uuid::Uuid;

use crate::auth::claims::{Claims, Role};
use crate::auth::config::HmacSecret;
use crate::auth::error::{AuthError, MintError, SecretFileError, TtlError};
use crate::private_file;

/// The longest lifetime [`mint_hs256`] and [`parse_ttl`] accept (366 days).
pub const MAX_TTL: Duration = Duration::from_secs(366 * 24 * 3600);
/// How many random bytes [`generate_secret`] draws (encoded as 64 base64url characters).
pub const GENERATED_SECRET_BYTES: usize = 48;

/// Mints an HS256 token for `amanah token`: `sub`, `roles` (always an array), `org` when given,
/// `iss`, `aud`, `iat`, `exp = iat + ttl` and a UUIDv7 `jti`. No `kid` (HS256 tokens never name
/// a key).
///
/// # Errors
/// [`MintError::EmptySubject`], [`MintError::InvalidTtl`] (zero or over [`MAX_TTL`]),
/// [`MintError::Empty`] for an empty issuer or audience, [`MintError::Encode`] if encoding fails.
pub fn mint_hs256(
    secret: &HmacSecret,
    sub: &str,
    roles: &[Role],
    org: Option<Uuid>,
    ttl: Duration,
    issuer: &str,
    audience: &str,
) -> Result<String, MintError> {
    if sub.trim().is_empty() {
        return Err(MintError::EmptySubject);
    }
    if ttl.is_zero() || ttl > MAX_TTL {
        return Err(MintError::InvalidTtl);
    }
    if issuer.trim().is_empty() {
        return Err(MintError::Empty("issuer"));
    }
    if audience.trim().is_empty() {
        return Err(MintError::Empty("audience"));
    }
    let now = chrono::Utc::now().timestamp();
    let ttl_secs = i64::try_from(ttl.as_secs()).map_err(|_| MintError::InvalidTtl)?;
    let mut unique_roles: Vec<Role> = Vec::with_capacity(roles.len());
    for role in roles {
        if !unique_roles.contains(role) {
            unique_roles.push(*role);
        }
    }
    let claims = Claims {
        sub: sub.to_owned(),
        roles: unique_roles,
        org,
        name: None,
        iss: issuer.to_owned(),
        aud: audience.to_owned(),
        iat: now,
        exp: now.saturating_add(ttl_secs),
        jti: Uuid::now_v7().to_string(),
    };
    jsonwebtoken::encode(
        &Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(MintError::Encode)
}

/// Parses a lifetime: a whole number followed by `s`, `m`, `h` or `d` (`3600s`, `30m`, `1h`,
/// `7d`); a bare number is seconds. From 1 s to [`MAX_TTL`].
///
/// # Errors
/// [`TtlError`] for anything else (empty, fractional, negative, unknown unit, zero, too long).
pub fn parse_ttl(input: &str) -> Result<Duration, TtlError> {
    let error = || TtlError {
        input: input.to_owned(),
    };
    let text = input.trim();
    let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => text.split_at(at),
        None => (text, "s"),
    };
    if digits.is_empty() {
        return Err(error());
    }
    let value: u64 = digits.parse().map_err(|_| error())?;
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(error()),
    };
    let secs = value.checked_mul(unit_secs).ok_or_else(error)?;
    let ttl = Duration::from_secs(secs);
    if ttl.is_zero() || ttl > MAX_TTL {
        return Err(error());
    }
    Ok(ttl)
}

/// A new random HS256 secret: [`GENERATED_SECRET_BYTES`] bytes from the operating system's
/// generator, as unpadded base64url (64 characters). The secret is the string's bytes.
///
/// # Errors
/// When the operating system's random generator fails.
pub fn generate_secret() -> Result<String, rand::Error> {
    let mut bytes = [0_u8; GENERATED_SECRET_BYTES];
    rand::rngs::OsRng.try_fill_bytes(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The data directory's secret, and whether it was just created.
#[derive(Debug)]
pub struct LoadedSecret {
    /// The secret.
    pub secret: HmacSecret,
    /// `true` when this call generated and wrote it.
    pub created: bool,
}

/// How the secret file is named in messages.
const SECRET_FILE: &str = "the token secret file";

/// Reads the HS256 secret from `path`, or — when the file does not exist — generates one with
/// [`generate_secret`] and writes it there: mode 0600, atomically, never over a file another
/// process created meanwhile, whose secret is then used ([`crate::private_file`]). Surrounding
/// whitespace in the file is ignored.
///
/// # Errors
/// [`SecretFileError`] when the file cannot be read or created, group or others may read or
/// write it (Unix), it holds a secret shorter than 32 bytes, or the random generator fails.
pub fn load_or_create_secret(path: &Path) -> Result<LoadedSecret, SecretFileError> {
    let existing = |text: String| {
        read_secret(&text, path).map(|secret| LoadedSecret {
            secret,
            created: false,
        })
    };
    match private_file::read(path, SECRET_FILE) {
        Ok(text) => return existing(text),
        Err(error) if error.is_not_found() => {}
        Err(error) => return Err(error.into()),
    }
    let generated = generate_secret().map_err(SecretFileError::Random)?;
    if private_file::create_new(path, format!("{generated}\n").as_bytes(), SECRET_FILE)? {
        return read_secret(&generated, path).map(|secret| LoadedSecret {
            secret,
            created: true,
        });
    }
    existing(private_file::read(path, SECRET_FILE)?)
}

fn read_secret(text: &str, path: &Path) -> Result<HmacSecret, SecretFileError> {
    HmacSecret::new(text.trim().as_bytes()).map_err(|source| SecretFileError::Invalid {
        path: path.display().to_string(),
        source,
    })
}

/// Reads an `Authorization` header value (or the `Authorization` entry of a WebSocket
/// `connection_init` payload): absent → `Ok(None)` (anonymous); `Bearer <token>` (scheme
/// case-insensitive) → the token; anything else → [`AuthError::Malformed`], never anonymous.
///
/// # Errors
/// [`AuthError::Malformed`] for another scheme, a missing or empty token, or extra parts.
pub fn bearer_token(authorization: Option<&str>) -> Result<Option<&str>, AuthError> {
    let Some(value) = authorization else {
        return Ok(None);
    };
    let mut parts = value.split_ascii_whitespace();
    match (parts.next(), parts.next(), parts.next()) {
        (Some(scheme), Some(token), None) if scheme.eq_ignore_ascii_case("bearer") => {
            Ok(Some(token))
        }
        _ => Err(AuthError::Malformed(
            "the Authorization header is not `Bearer <token>`",
        )),
    }
}
