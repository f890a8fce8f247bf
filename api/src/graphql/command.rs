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
use amanah_domain::project::{KnownTransaction, ProjectFacts};
pub use amanah_domain::service::Expected;
use amanah_domain::service::{CommandError, Committed, Given};
use amanah_domain::values::{FieldPath, Patch, ValueError};
use async_graphql::{Context, ID, MaybeUndefined};
use chrono::Utc;
use uuid::Uuid;

use super::ContextExt as _;
use super::ids::parse_id;
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
pub fn expected_version(value: i64) -> Result<Expected, ApiError> {
    u64::try_from(value).map(Expected::Version).map_err(|_| {
        ApiError::bad_user_input(
            "expectedVersion",
            format!("expectedVersion must be the version you read (0 or more), not {value}"),
        )
    })
}

/// The aggregate a mutation changes and the version the client read of it: the input's id field
/// (`id`, `projectId`) and its `expectedVersion`, checked in that order.
///
/// # Errors
/// `BAD_USER_INPUT` naming `id_field` or `expectedVersion`.
pub fn target(
    id: &ID,
    id_field: &'static str,
    expected_version: i64,
) -> Result<(Uuid, Expected), ApiError> {
    Ok((
        parse_id(id, id_field)?,
        self::expected_version(expected_version)?,
    ))
}

/// A domain rejection raised at the edge (a value that does not parse, a reference that does not
/// exist), mapped exactly as the same rejection from `decide` would be.
pub fn rejected(error: impl FieldError) -> ApiError {
    ApiError::from(CommandError::rejected(error))
}

/// A value of input `field` that does not parse: `BAD_USER_INPUT` naming the field, with the
/// message `{field} {error}`. This is how every aggregate's `Invalid` rejection is mapped
/// (`ProjectError::invalid(field)(error)` through [`rejected`]; a test checks they agree), so
/// the edge need not say which aggregate refuses the value. The path is built only on error.
pub fn invalid(field: impl Into<FieldPath>) -> impl FnOnce(ValueError) -> ApiError {
    move |error| {
        let field = field.into();
        ApiError::bad_user_input(field.to_string(), format!("{field} {error}"))
    }
}

/// An optional input value, parsed when given.
///
/// # Errors
/// [`invalid`] naming `field` when the value does not parse.
pub fn optional<T>(
    value: Option<&str>,
    field: impl Into<FieldPath>,
    parse: impl FnOnce(&str) -> Result<T, ValueError>,
) -> Result<Option<T>, ApiError> {
    value
        .map(|raw| parse(raw).map_err(invalid(field)))
        .transpose()
}

/// A clearable field of a revision: omitted keeps it, `null` clears it, a value is parsed.
///
/// # Errors
/// [`invalid`] naming `field` when the value does not parse.
pub fn patch<T>(
    value: &MaybeUndefined<String>,
    field: impl Into<FieldPath>,
    parse: impl FnOnce(&str) -> Result<T, ValueError>,
) -> Result<Patch<T>, ApiError> {
    Ok(match value {
        MaybeUndefined::Undefined => Patch::Keep,
        MaybeUndefined::Null => Patch::Clear,
        MaybeUndefined::Value(raw) => Patch::Set(parse(raw).map_err(invalid(field))?),
    })
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

/// Runs `attempt` (a mutation: its lookups, its access decision, its command) and, when its
/// append found that something it was decided on had moved on ([`ApiError::StaleRead`]), runs it
/// once more. The command service keeps the states it read lately and decides on them without
/// reading them again; another process (a second replica, `amanah iati import`) may have changed
/// one meanwhile, which the append's check finds. The service then forgot what it kept of every
/// stream the command read, so the second attempt reads them fresh: the client sees a `CONFLICT`
/// only when the change happens again between that read and the append, as it would without
/// anything kept.
///
/// # Errors
/// `attempt`'s error: the second one's, when there is one.
pub async fn once_more_if_stale<T, F, Fut>(attempt: F) -> Result<T, ApiError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    match attempt().await {
        Err(ApiError::StaleRead(_)) => attempt().await,
        done => done,
    }
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

/// Transaction `id` of project `project_id`, as a command that names it carries it (found or
/// not, with the project's version it was read at).
///
/// # Errors
/// Store failures.
pub async fn known_transaction(
    ctx: &Context<'_>,
    project_id: Uuid,
    id: Uuid,
) -> Result<KnownTransaction, ApiError> {
    let state = ctx.api_state()?;
    Ok(state.commands.known_transaction(project_id, id).await?)
}

/// An organisation a row of a list input names: its id, the row's role, and the field naming
/// the id (`partners[2].organisationId`).
#[derive(Debug)]
pub struct NamedOrganisation<R> {
    pub id: Uuid,
    pub role: R,
    pub field: FieldPath,
}

/// The organisations the rows of the list input `list` name, their ids parsed; `row` gives a
/// row's `organisationId` and role.
///
/// # Errors
/// `BAD_USER_INPUT` naming `list[i].organisationId` for the first id that is not a UUID.
pub fn named_organisations<I, R>(
    list: &'static str,
    rows: &[I],
    row: impl Fn(&I) -> (&ID, R),
) -> Result<Vec<NamedOrganisation<R>>, ApiError> {
    rows.iter()
        .enumerate()
        .map(|(index, input)| {
            let (id, role) = row(input);
            let field = FieldPath::list(list, index).field("organisationId");
            Ok(NamedOrganisation {
                id: parse_id(id, field.clone())?,
                role,
                field,
            })
        })
        .collect()
}

/// The organisations `named` looked up in order, each with its role made into `T` by `build`.
///
/// # Errors
/// The rejection `unknown` builds from the field and id of the first organisation that does not
/// exist; store failures.
pub async fn organisations<R, T, E: FieldError>(
    ctx: &Context<'_>,
    named: Vec<NamedOrganisation<R>>,
    unknown: impl Fn(FieldPath, Uuid) -> E,
    build: impl Fn(OrganisationFacts, R) -> T,
) -> Result<Vec<T>, ApiError> {
    let mut found = Vec::with_capacity(named.len());
    for NamedOrganisation { id, role, field } in named {
        let facts = organisation_facts(ctx, id, || unknown(field, id)).await?;
        found.push(build(facts, role));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_expected_versions_are_bad_input() {
        assert_eq!(expected_version(3).ok(), Some(Expected::Version(3)));
        assert!(matches!(
            expected_version(-1),
            Err(ApiError::BadUserInput { field, .. }) if field == "expectedVersion"
        ));
    }

    /// `invalid` is what each aggregate's own `Invalid` rejection of the value becomes.
    #[test]
    fn invalid_is_every_aggregates_invalid_rejection() {
        use amanah_domain::activity::ActivityError;
        use amanah_domain::organisation::OrganisationError;
        use amanah_domain::project::ProjectError;

        let field = || FieldPath::list("budgets", 1).field("value.currency");
        let error = || ValueError::UnknownCurrency("XXX".to_owned());
        let expected = format!("{:?}", invalid(field())(error()));
        for mapped in [
            rejected(ProjectError::invalid(field())(error())),
            rejected(ActivityError::invalid(field())(error())),
            rejected(OrganisationError::invalid(field())(error())),
        ] {
            assert_eq!(format!("{mapped:?}"), expected);
        }
        assert!(matches!(
            invalid("title")(ValueError::Empty),
            ApiError::BadUserInput { field, message } if field == "title" && message.starts_with("title ")
        ));
    }
}
