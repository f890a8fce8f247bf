//! `me`: who the bearer token says the caller is.

use amanah_infra::auth::{Identity, Role as TokenRole};
use async_graphql::{Context, Enum, Object};

use super::ContextExt as _;
use super::organisation::Organisation;
use super::references;
use crate::error::ApiError;

/// What a caller may do (see the access table in `docs/authentication.md`).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Reads domain data.
    Viewer,
    /// Registers and changes organisations, projects and activities.
    Editor,
    /// A partner system: changes activities and transactions of projects its organisation takes
    /// part in.
    Integrator,
    /// Reads the audit log, proofs and actors; exports.
    Auditor,
    /// Everything.
    Admin,
}

impl From<TokenRole> for Role {
    fn from(role: TokenRole) -> Self {
        match role {
            TokenRole::Viewer => Self::Viewer,
            TokenRole::Editor => Self::Editor,
            TokenRole::Integrator => Self::Integrator,
            TokenRole::Auditor => Self::Auditor,
            TokenRole::Admin => Self::Admin,
        }
    }
}

/// The caller, as its verified token describes it.
#[derive(Debug, Clone)]
pub struct Viewer(Identity);

#[Object]
impl Viewer {
    /// The token's subject (`sub`).
    async fn sub(&self) -> &str {
        &self.0.sub
    }

    /// The token's roles.
    async fn roles(&self) -> Vec<Role> {
        self.0.roles.iter().copied().map(Role::from).collect()
    }

    /// The organisation the token speaks for (`org`), when it names one that exists.
    async fn organisation(&self, ctx: &Context<'_>) -> Result<Option<Organisation>, ApiError> {
        match self.0.org {
            Some(id) => references::organisation(ctx, id, None).await,
            None => Ok(None),
        }
    }
}

/// The `me` field, merged into `Query`.
#[derive(Debug, Default)]
pub struct ViewerQuery;

#[Object]
impl ViewerQuery {
    /// Who the bearer token says you are (null when anonymous).
    async fn me(&self, ctx: &Context<'_>) -> Option<Viewer> {
        ctx.identity().cloned().map(Viewer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_token_role_has_the_graphql_name_of_its_token_name() {
        for role in TokenRole::ALL {
            let graphql: Role = role.into();
            assert_eq!(
                async_graphql::InputType::to_value(&graphql),
                async_graphql::Value::Enum(async_graphql::Name::new(role.as_str().to_uppercase()))
            );
        }
    }
}
