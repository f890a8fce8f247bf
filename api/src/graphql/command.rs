//! The path every mutation takes once its input is parsed: metadata, `expectedVersion`, the
//! command service, and the mapping of its errors onto the catalogue.
//!
//! ```text
//! input ─▶ parse into domain values (BAD_USER_INPUT + field) ─▶ look up referenced aggregates
//!       ─▶ CommandService::execute ─▶ payload { entity (from Committed.state), auditIndex }
//! ```
//!
//! A request sent with an `Idempotency-Key` carries its claim on the key in its data
//! ([`super::ContextExt::idempotency_claim`]); every append made here runs under it, so that the
//! key records what the request appended (see [`amanah_infra::store::idempotency`]).

use amanah_domain::aggregate::{Aggregate, FieldError};
use amanah_domain::organisation::OrganisationFacts;
use amanah_domain::ports::{EventMetadata, Snapshot, StreamRead};
use amanah_domain::project::ProjectFacts;
pub use amanah_domain::service::Expected;
use amanah_domain::service::{CommandError, Committed, Given};
use async_graphql::Context;
use chrono::Utc;
use uuid::Uuid;

use super::ContextExt as _;
use crate::error::ApiError;

/// Who, when and under which request the events of this mutation are appended: the verified
/// identity's `sub`, roles and `org` (see [`crate::auth::actor_of`]), and the request id.
///
/// # Errors
/// `UNAUTHENTICATED` without an identity. The access guards refuse anonymous mutations before
/// they get here; this keeps an unguarded path from ever appending without an actor.
pub fn metadata(ctx: &Context<'_>) -> Result<EventMetadata, ApiError> {
    let identity = ctx.identity().ok_or_else(|| {
        ApiError::unauthenticated("Changes need a bearer token; send `Authorization: Bearer …`.")
    })?;
    Ok(EventMetadata {
        actor: crate::auth::actor_of(identity),
        request_id: ctx.request_id().map(|id| id.as_str().to_owned()),
        occurred_at: Utc::now(),
    })
}

/// `expectedVersion`: the stream version the client read, never negative.
///
/// # Errors
/// `BAD_USER_INPUT` on `expectedVersion` when negative.
pub fn expected_version(value: i64) -> Result<u64, ApiError> {
    u64::try_from(value).map_err(|_| {
        ApiError::bad_user_input(
            "expectedVersion",
            format!("expectedVersion must be the version you read (0 or more), not {value}"),
        )
    })
}

/// A domain rejection raised at the edge (a value that does not parse, a reference that does not
/// exist), mapped exactly as the same rejection from `decide` would be.
pub fn rejected(error: impl FieldError) -> ApiError {
    ApiError::from(CommandError::rejected(error))
}

/// Runs `command` against aggregate `id` and returns what it committed, valid only while the
/// streams of `given` are unchanged: what an access rule decided on
/// ([`super::access::WorkOnProject::authorise`]; empty when the rule read nothing); and, for a
/// keyed request, only while its idempotency key still holds its claim. Both are checked in the
/// append's transaction.
///
/// # Errors
/// The command service's errors, mapped by the catalogue (`From<CommandError> for ApiError`);
/// `CONFLICT` when a stream of `given` moved on or the idempotency key was taken over by a retry
/// (nothing appended).
pub async fn execute<A>(
    ctx: &Context<'_>,
    id: Uuid,
    expected: Expected,
    command: A::Command,
    given: Vec<StreamRead>,
) -> Result<Committed<A>, ApiError>
where
    A: Aggregate + Into<Snapshot>,
{
    let state = ctx.api_state()?;
    let metadata = metadata(ctx)?;
    let idempotency_claim = ctx.idempotency_claim().cloned();
    Ok(state
        .commands
        .execute::<A>(
            id,
            expected,
            command,
            metadata,
            Given {
                reads: given,
                idempotency_claim,
            },
        )
        .await?)
}

/// The facts of an organisation a command names, or the rejection `missing` builds.
///
/// # Errors
/// `missing()` mapped as a rejection when the organisation does not exist; store failures.
pub async fn organisation_facts<E: FieldError>(
    ctx: &Context<'_>,
    id: Uuid,
    missing: impl FnOnce() -> E,
) -> Result<OrganisationFacts, ApiError> {
    let state = ctx.api_state()?;
    match state.commands.organisation_facts(id).await? {
        Some(facts) => Ok(facts),
        None => Err(rejected(missing())),
    }
}

/// The facts of a project a command names, or the rejection `missing` builds.
///
/// # Errors
/// `missing()` mapped as a rejection when the project does not exist; store failures.
pub async fn project_facts<E: FieldError>(
    ctx: &Context<'_>,
    id: Uuid,
    missing: impl FnOnce() -> E,
) -> Result<ProjectFacts, ApiError> {
    let state = ctx.api_state()?;
    match state.commands.project_facts(id).await? {
        Some(facts) => Ok(facts),
        None => Err(rejected(missing())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_expected_versions_are_bad_input() {
        assert_eq!(expected_version(3).ok(), Some(3));
        assert!(matches!(
            expected_version(-1),
            Err(ApiError::BadUserInput { field, .. }) if field == "expectedVersion"
        ));
    }
}
