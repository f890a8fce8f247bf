//! The token's claims: [`Role`], the verified [`Identity`], and the [`Claims`] that
//! [`crate::auth::mint::mint_hs256`] writes.
//!
//! Claim rules, checked after the signature and the registered claims:
//! * `sub` is required, a non-empty string.
//! * `roles`, when present, is a JSON array of role names (a string instead of an array is an
//!   invalid token). Names are exact lowercase strings; an unknown name rejects the whole token
//!   ([`AuthError::UnknownRole`]) rather than being dropped, so that a typo in an identity
//!   provider's mapping shows up at once instead of silently granting less. Duplicates collapse.
//!   Absent or `null` means no roles.
//! * `org`, when present and not `null`, is a UUID string.
//! * `name`, when present and not `null`, is a string.
//! * `iss` must be a single string (an array is refused even when it contains the issuer).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::auth::error::{AuthError, sanitise};

/// What a caller may do (see the access table in the API contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads domain data.
    Viewer,
    /// Registers and revises organisations, projects and activities.
    Editor,
    /// A partner system: changes activities on projects where its `org` participates.
    Integrator,
    /// Reads the audit log, proofs and actors; exports.
    Auditor,
    /// Everything.
    Admin,
}

impl Role {
    /// Every role, in the order of the access table.
    pub const ALL: [Self; 5] = [
        Self::Viewer,
        Self::Editor,
        Self::Integrator,
        Self::Auditor,
        Self::Admin,
    ];

    /// The role's name in tokens.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Editor => "editor",
            Self::Integrator => "integrator",
            Self::Auditor => "auditor",
            Self::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of viewer, editor, integrator, auditor, admin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: use viewer, editor, integrator, auditor or admin")]
pub struct UnknownRoleName(pub String);

impl FromStr for Role {
    type Err = UnknownRoleName;

    /// Exact, case-sensitive match of the lowercase name.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == name)
            .ok_or_else(|| UnknownRoleName(name.to_owned()))
    }
}

/// Who a verified token speaks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// The subject (`sub`), non-empty.
    pub sub: String,
    /// The roles, without duplicates, in token order.
    pub roles: Vec<Role>,
    /// The organisation (`org`), for integrators.
    pub org: Option<Uuid>,
    /// The display name (`name`).
    pub name: Option<String>,
    /// When the token expires (`exp`).
    pub expires_at: DateTime<Utc>,
}

impl Identity {
    /// Whether the identity holds `role`.
    #[must_use]
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// The role names, as the domain's `Actor` records them.
    #[must_use]
    pub fn role_names(&self) -> Vec<String> {
        self.roles.iter().map(|r| r.as_str().to_owned()).collect()
    }

    /// Builds the identity from claims whose signature, `exp`, `nbf`, `iss` and `aud` have
    /// already been checked.
    pub(crate) fn from_verified_claims(claims: &Map<String, Value>) -> Result<Self, AuthError> {
        if !matches!(claims.get("iss"), Some(Value::String(_))) {
            return Err(AuthError::InvalidClaim {
                claim: "iss",
                reason: "it must be a single string",
            });
        }
        let sub = match claims.get("sub") {
            None | Some(Value::Null) => return Err(AuthError::MissingClaim { claim: "sub" }),
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            Some(_) => {
                return Err(AuthError::InvalidClaim {
                    claim: "sub",
                    reason: "it must be a non-empty string",
                });
            }
        };
        let roles = parse_roles(claims.get("roles"))?;
        let org = match claims.get("org") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => {
                Some(Uuid::parse_str(s).map_err(|_| AuthError::InvalidClaim {
                    claim: "org",
                    reason: "it must be an organisation id (a UUID)",
                })?)
            }
            Some(_) => {
                return Err(AuthError::InvalidClaim {
                    claim: "org",
                    reason: "it must be an organisation id (a UUID)",
                });
            }
        };
        let name = match claims.get("name") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                return Err(AuthError::InvalidClaim {
                    claim: "name",
                    reason: "it must be a string",
                });
            }
        };
        let expires_at =
            claims
                .get("exp")
                .and_then(numeric_date)
                .ok_or(AuthError::InvalidClaim {
                    claim: "exp",
                    reason: "it must be a NumericDate (seconds since the epoch)",
                })?;
        Ok(Self {
            sub,
            roles,
            org,
            name,
            expires_at,
        })
    }
}

fn parse_roles(value: Option<&Value>) -> Result<Vec<Role>, AuthError> {
    const NOT_AN_ARRAY: AuthError = AuthError::InvalidClaim {
        claim: "roles",
        reason: "it must be an array of role names",
    };
    let items = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(NOT_AN_ARRAY),
    };
    let mut roles = Vec::with_capacity(items.len());
    for item in items {
        let Value::String(name) = item else {
            return Err(NOT_AN_ARRAY);
        };
        let role = Role::from_str(name).map_err(|_| AuthError::UnknownRole {
            role: sanitise(name),
        })?;
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    Ok(roles)
}

/// A JWT NumericDate (integer or fractional seconds) as a UTC time.
fn numeric_date(value: &Value) -> Option<DateTime<Utc>> {
    if let Some(secs) = value.as_i64() {
        return DateTime::from_timestamp(secs, 0);
    }
    let secs = value.as_f64()?;
    if !secs.is_finite() {
        return None;
    }
    let whole = secs.floor();
    // Out-of-range values saturate and are then refused by `from_timestamp`.
    let (secs, nanos) = (whole as i64, ((secs - whole) * 1e9) as u32);
    DateTime::from_timestamp(secs, nanos)
}

/// The claims [`crate::auth::mint::mint_hs256`] writes (verification reads claims more leniently: see
/// the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Subject.
    pub sub: String,
    /// Roles (always an array).
    pub roles: Vec<Role>,
    /// Organisation id, for integrators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<Uuid>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// Token id (a UUIDv7), for log correlation.
    pub jti: String,
}
