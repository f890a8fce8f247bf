//! The one catalogue of error codes clients see, and the mapping of every failure onto it.
//!
//! Every GraphQL error Amanah sends carries `extensions.code` with one [`ErrorCode`]
//! (`docs/api.md`, "GraphQL conventions"). Resolvers return [`ApiError`]; `?` turns it into
//! an [`async_graphql::Error`] with the code and the extensions the code promises
//! (`field` for `BAD_USER_INPUT`, `currentVersion` for `CONFLICT`).
//!
//! Errors that async-graphql raises itself (parse and validation failures, limits) are given their
//! codes by [`crate::graphql::execution::Catalogued`], which also masks internal errors and
//! logs their causes with the request id: the client gets the code, the message "internal error"
//! and `extensions.requestId`, never the cause chain.

use std::fmt;

use amanah_domain::errors::Cause;
use async_graphql::ErrorExtensions as _;

/// The codes of the catalogue; the `SCREAMING_SNAKE_CASE` names are the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    BadUserInput,
    NotFound,
    Conflict,
    GraphqlParseFailed,
    GraphqlValidationFailed,
    QueryTooDeep,
    QueryTooComplex,
    PersistedQueryNotFound,
    RateLimited,
    InternalServerError,
}

impl ErrorCode {
    pub const ALL: [Self; 12] = [
        Self::Unauthenticated,
        Self::Forbidden,
        Self::BadUserInput,
        Self::NotFound,
        Self::Conflict,
        Self::GraphqlParseFailed,
        Self::GraphqlValidationFailed,
        Self::QueryTooDeep,
        Self::QueryTooComplex,
        Self::PersistedQueryNotFound,
        Self::RateLimited,
        Self::InternalServerError,
    ];

    /// The value of `extensions.code`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::NotFound => "NOT_FOUND",
            Self::Conflict => "CONFLICT",
            Self::GraphqlParseFailed => "GRAPHQL_PARSE_FAILED",
            Self::GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
            Self::QueryTooDeep => "QUERY_TOO_DEEP",
            Self::QueryTooComplex => "QUERY_TOO_COMPLEX",
            Self::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            Self::RateLimited => "RATE_LIMITED",
            Self::InternalServerError => "INTERNAL_SERVER_ERROR",
        }
    }

    #[must_use]
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == code)
    }

    /// Codes raised before execution starts: the request as a whole could not run, so the
    /// response has no `data` and, with `application/graphql-response+json`, HTTP status 400.
    #[must_use]
    pub fn is_request_error(self) -> bool {
        matches!(
            self,
            Self::GraphqlParseFailed
                | Self::GraphqlValidationFailed
                | Self::QueryTooDeep
                | Self::QueryTooComplex
                | Self::PersistedQueryNotFound
        )
    }

    /// The code of a GraphQL error, if it carries one from the catalogue.
    #[must_use]
    pub fn of(error: &async_graphql::ServerError) -> Option<Self> {
        match error.extensions.as_ref()?.get("code")? {
            async_graphql::Value::String(code) => Self::parse(code),
            _ => None,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The message every internal error shows to clients.
pub const INTERNAL_ERROR_MESSAGE: &str = "internal error";

/// A failure as the API reports it. Build one with the helpers, return it from a resolver, and
/// `?` converts it.
///
/// It deliberately does not implement `Display`: async-graphql converts every `Display` type into
/// an error without a code, and that blanket conversion must not apply here.
#[derive(Debug)]
pub enum ApiError {
    Unauthenticated(String),
    Forbidden(String),
    /// Input that breaks a rule; `field` is the input path, e.g. `input.title`.
    BadUserInput {
        field: String,
        message: String,
    },
    NotFound(String),
    /// The aggregate changed since the client read it (`expectedVersion` is stale), or an
    /// idempotency key was reused with a different input.
    Conflict {
        message: String,
        current_version: Option<u64>,
    },
    /// Something another aggregate's facts or an access rule read for the change moved on before
    /// the append (`CONFLICT`, without a current version): the mutation may be run once more on
    /// what it reads then ([`crate::graphql::command::once_more_if_stale`]).
    StaleRead(String),
    PersistedQueryNotFound(String),
    RateLimited(String),
    /// Anything the client cannot fix. The cause is logged, never sent; shareable, it rides
    /// inside the [`async_graphql::Error`] as its source until it is logged.
    Internal(Cause),
}

impl ApiError {
    #[must_use]
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::Unauthenticated(message.into())
    }

    #[must_use]
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }

    #[must_use]
    pub fn bad_user_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadUserInput {
            field: field.into(),
            message: message.into(),
        }
    }

    #[must_use]
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }

    #[must_use]
    pub fn conflict(message: impl Into<String>, current_version: Option<u64>) -> Self {
        Self::Conflict {
            message: message.into(),
            current_version,
        }
    }

    #[must_use]
    pub fn rate_limited(message: impl Into<String>) -> Self {
        Self::RateLimited(message.into())
    }

    /// Wraps any error the client cannot fix; its chain is logged with the request id.
    #[must_use]
    pub fn internal(cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Cause::new(cause))
    }

    #[must_use]
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unauthenticated(_) => ErrorCode::Unauthenticated,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::BadUserInput { .. } => ErrorCode::BadUserInput,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::Conflict { .. } | Self::StaleRead(_) => ErrorCode::Conflict,
            Self::PersistedQueryNotFound(_) => ErrorCode::PersistedQueryNotFound,
            Self::RateLimited(_) => ErrorCode::RateLimited,
            Self::Internal(_) => ErrorCode::InternalServerError,
        }
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(error: ApiError) -> Self {
        let code = error.code();
        match error {
            ApiError::Internal(cause) => {
                // The message is masked here already; the cause travels as the error's source so
                // `execution::Catalogued` can log it with the request id and add `requestId`.
                let mut masked = async_graphql::Error::new_with_source(cause);
                masked.message = INTERNAL_ERROR_MESSAGE.to_owned();
                masked.extend_with(|_, e| e.set("code", code.as_str()))
            }
            ApiError::BadUserInput { field, message } => async_graphql::Error::new(message)
                .extend_with(|_, e| {
                    e.set("code", code.as_str());
                    e.set("field", field.as_str());
                }),
            ApiError::Conflict {
                message,
                current_version,
            } => async_graphql::Error::new(message).extend_with(|_, e| {
                e.set("code", code.as_str());
                if let Some(version) = current_version {
                    e.set("currentVersion", version);
                }
            }),
            ApiError::Unauthenticated(message)
            | ApiError::Forbidden(message)
            | ApiError::NotFound(message)
            | ApiError::StaleRead(message)
            | ApiError::PersistedQueryNotFound(message)
            | ApiError::RateLimited(message) => {
                async_graphql::Error::new(message).extend_with(|_, e| e.set("code", code.as_str()))
            }
        }
    }
}

/// The `extensions.field` of a rejection about the command as a whole (an illegal status
/// transition, a revision that changes nothing): the mutation's `input` argument.
pub const WHOLE_INPUT_FIELD: &str = "input";

/// Why a command changed nothing, on the catalogue: the domain's rejections are `BAD_USER_INPUT`
/// naming the input field (`NOT_FOUND` when the aggregate to change does not exist), a stale
/// `expectedVersion` is `CONFLICT` with the current version, a change decided on another aggregate
/// (or an access rule's participants) that moved on before the append is `CONFLICT` without one
/// (sending the request again decides it anew), a taken unique value is
/// `BAD_USER_INPUT` naming its field, an attempt whose idempotency key a retry took over is
/// `CONFLICT` (it appended nothing), and store or decoding failures are internal.
impl From<amanah_domain::service::CommandError> for ApiError {
    fn from(error: amanah_domain::service::CommandError) -> Self {
        use amanah_domain::ports::StoreError;
        use amanah_domain::service::CommandError;
        match error {
            CommandError::Rejected(rejection) => {
                let message = rejection.to_string();
                if rejection.is_not_found() {
                    Self::not_found(message)
                } else {
                    let field = rejection
                        .field()
                        .map_or_else(|| WHOLE_INPUT_FIELD.to_owned(), |path| path.to_string());
                    Self::bad_user_input(field, message)
                }
            }
            CommandError::Store(StoreError::Conflict { expected, current }) => Self::conflict(
                format!(
                    "expectedVersion is {expected} but the current version is {current}: \
                     read it again and retry"
                ),
                Some(current),
            ),
            CommandError::Store(StoreError::StaleRead { read, current }) => {
                Self::StaleRead(format!(
                    "the {} {} that this change was decided on changed meanwhile (version {} \
                     read, now {current}): nothing was changed; send the request again",
                    read.stream.as_str(),
                    read.stream_id,
                    read.version
                ))
            }
            CommandError::Store(StoreError::Duplicate { field }) => {
                let message = format!("{field} is already taken");
                Self::bad_user_input(field.to_string(), message)
            }
            CommandError::Store(StoreError::IdempotencyKeyTakenOver) => Self::conflict(
                "this attempt stalled and a retry with the same Idempotency-Key took over: \
                 this attempt changed nothing; send the request again to get the retry's answer"
                    .to_owned(),
                None,
            ),
            internal @ (CommandError::Undecodable { .. }
            | CommandError::Store(
                StoreError::Unavailable { .. } | StoreError::Internal { .. },
            )) => Self::internal(internal),
        }
    }
}

/// A read-model failure: nothing the client can fix.
impl From<amanah_domain::ports::StoreError> for ApiError {
    fn from(error: amanah_domain::ports::StoreError) -> Self {
        Self::internal(error)
    }
}

/// Logs an internal failure: `cause` with its whole chain ([`amanah_domain::errors::Chain`]),
/// the request id and `what` failed. The one place this is done, for a resolver's error
/// ([`crate::graphql::execution`]) as for a failure of the HTTP layer around it
/// ([`mask_internal`]); either way the client is told only [`INTERNAL_ERROR_MESSAGE`] with
/// `extensions.requestId`.
pub fn log_internal(
    cause: &(dyn std::error::Error + 'static),
    request_id: Option<&crate::request_id::RequestId>,
    what: &str,
) {
    tracing::error!(
        request_id = request_id.map(crate::request_id::RequestId::as_str),
        error.cause_chain = %amanah_domain::errors::Chain(cause),
        "{what}"
    );
}

/// [`log_internal`], and the error object the client gets instead: "internal error",
/// `INTERNAL_SERVER_ERROR`, and `extensions.requestId`.
pub fn mask_internal(
    cause: &(dyn std::error::Error + 'static),
    request_id: Option<&crate::request_id::RequestId>,
    what: &str,
) -> serde_json::Value {
    log_internal(cause, request_id, what);
    let mut object = error_object(ErrorCode::InternalServerError, INTERNAL_ERROR_MESSAGE);
    if let Some(id) = request_id {
        object["extensions"]["requestId"] = id.as_str().into();
    }
    object
}

/// A catalogue error as a GraphQL error object, for responses built outside async-graphql
/// (malformed HTTP requests, timeouts).
#[must_use]
pub fn error_object(code: ErrorCode, message: &str) -> serde_json::Value {
    serde_json::json!({ "message": message, "extensions": { "code": code.as_str() } })
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use async_graphql::Value;

    use super::*;

    fn extension(error: &async_graphql::Error, name: &str) -> Option<Value> {
        error.extensions.as_ref()?.get(name).cloned()
    }

    fn code(error: &async_graphql::Error) -> Option<Value> {
        extension(error, "code")
    }

    #[test]
    fn every_code_round_trips_through_its_name() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
        }
        assert_eq!(ErrorCode::parse("NOPE"), None);
    }

    #[test]
    fn unauthenticated_maps_to_its_code() {
        let error: async_graphql::Error = ApiError::unauthenticated("token expired").into();
        assert_eq!(error.message, "token expired");
        assert_eq!(code(&error), Some(Value::from("UNAUTHENTICATED")));
    }

    #[test]
    fn forbidden_maps_to_its_code() {
        let error: async_graphql::Error = ApiError::forbidden("editors only").into();
        assert_eq!(code(&error), Some(Value::from("FORBIDDEN")));
    }

    #[test]
    fn bad_user_input_names_the_field() {
        let error: async_graphql::Error =
            ApiError::bad_user_input("input.title", "title must not be empty").into();
        assert_eq!(error.message, "title must not be empty");
        assert_eq!(code(&error), Some(Value::from("BAD_USER_INPUT")));
        assert_eq!(extension(&error, "field"), Some(Value::from("input.title")));
    }

    #[test]
    fn not_found_maps_to_its_code() {
        let error: async_graphql::Error = ApiError::not_found("no such project").into();
        assert_eq!(code(&error), Some(Value::from("NOT_FOUND")));
    }

    #[test]
    fn conflict_carries_the_current_version() {
        let error: async_graphql::Error =
            ApiError::conflict("project changed since version 3", Some(5)).into();
        assert_eq!(code(&error), Some(Value::from("CONFLICT")));
        assert_eq!(extension(&error, "currentVersion"), Some(Value::from(5)));
        let error: async_graphql::Error = ApiError::conflict("key reused", None).into();
        assert_eq!(extension(&error, "currentVersion"), None);
    }

    #[test]
    fn persisted_query_not_found_maps_to_its_code() {
        let error: async_graphql::Error =
            ApiError::PersistedQueryNotFound("PersistedQueryNotFound".into()).into();
        assert_eq!(code(&error), Some(Value::from("PERSISTED_QUERY_NOT_FOUND")));
    }

    #[test]
    fn rate_limited_maps_to_its_code() {
        let error: async_graphql::Error = ApiError::rate_limited("slow down").into();
        assert_eq!(code(&error), Some(Value::from("RATE_LIMITED")));
    }

    #[test]
    fn internal_errors_are_masked_and_keep_their_cause_for_the_log() {
        let cause = std::io::Error::other("disk on fire at /var/lib/amanah");
        let error: async_graphql::Error = ApiError::internal(cause).into();
        assert_eq!(error.message, INTERNAL_ERROR_MESSAGE);
        assert_eq!(code(&error), Some(Value::from("INTERNAL_SERVER_ERROR")));
        let server_error = error.into_server_error(async_graphql::Pos::default());
        assert!(!server_error.message.contains("disk"));
        let cause = server_error.source::<Cause>().unwrap();
        assert!(
            amanah_domain::errors::Chain(cause)
                .to_string()
                .contains("disk on fire")
        );
    }

    #[test]
    fn the_cause_chain_joins_every_source() {
        #[derive(Debug, thiserror::Error)]
        #[error("appending events failed")]
        struct Outer(#[source] std::io::Error);
        let error = ApiError::internal(Outer(std::io::Error::other("connection reset")));
        let ApiError::Internal(cause) = error else {
            panic!("expected an internal error");
        };
        assert_eq!(
            amanah_domain::errors::Chain(&cause).to_string(),
            "appending events failed: connection reset"
        );
    }

    #[test]
    fn request_errors_are_the_pre_execution_codes() {
        let request_errors: Vec<_> = ErrorCode::ALL
            .into_iter()
            .filter(|c| c.is_request_error())
            .collect();
        assert_eq!(
            request_errors,
            [
                ErrorCode::GraphqlParseFailed,
                ErrorCode::GraphqlValidationFailed,
                ErrorCode::QueryTooDeep,
                ErrorCode::QueryTooComplex,
                ErrorCode::PersistedQueryNotFound,
            ]
        );
    }
}

/// The mapping of the domain's errors (`CommandError`, `StoreError`) onto the catalogue.
#[cfg(test)]
mod domain_error_tests {
    use amanah_domain::organisation::OrganisationError;
    use amanah_domain::ports::StoreError;
    use amanah_domain::project::ProjectError;
    use amanah_domain::service::CommandError;
    use amanah_domain::values::ValueError;
    use uuid::Uuid;

    use super::*;

    fn field_of(error: &ApiError) -> Option<&str> {
        match error {
            ApiError::BadUserInput { field, .. } => Some(field),
            _ => None,
        }
    }

    fn message_of(error: ApiError) -> String {
        async_graphql::Error::from(error).message
    }

    #[test]
    fn a_rejection_is_bad_user_input_naming_its_field() {
        let error = ApiError::from(CommandError::rejected(ProjectError::invalid(
            amanah_domain::values::FieldPath::list("recipientCountries", 1).field("percentage"),
        )(
            ValueError::PercentageTooPrecise("33.333".into()),
        )));
        assert_eq!(error.code(), ErrorCode::BadUserInput);
        assert_eq!(field_of(&error), Some("recipientCountries[1].percentage"));
        let message = message_of(error);
        assert!(message.contains("33.333"), "{message}");
    }

    #[test]
    fn a_rejection_of_the_whole_command_names_the_input() {
        let error = ApiError::from(CommandError::rejected(ProjectError::NothingToRevise));
        assert_eq!(error.code(), ErrorCode::BadUserInput);
        assert_eq!(field_of(&error), Some(WHOLE_INPUT_FIELD));
    }

    #[test]
    fn a_missing_aggregate_is_not_found() {
        let id = Uuid::now_v7();
        let error = ApiError::from(CommandError::rejected(OrganisationError::NotFound { id }));
        assert_eq!(error.code(), ErrorCode::NotFound);
        assert!(message_of(error).contains(&id.to_string()));
    }

    #[test]
    fn a_stale_version_is_a_conflict_with_the_current_version() {
        let error = ApiError::from(CommandError::from(StoreError::Conflict {
            expected: 2,
            current: 5,
        }));
        assert_eq!(error.code(), ErrorCode::Conflict);
        assert!(matches!(
            error,
            ApiError::Conflict {
                current_version: Some(5),
                ..
            }
        ));
    }

    #[test]
    fn a_taken_value_is_bad_user_input_naming_its_field() {
        let error = ApiError::from(CommandError::from(StoreError::Duplicate {
            field: "iatiIdentifier".into(),
        }));
        assert_eq!(error.code(), ErrorCode::BadUserInput);
        assert_eq!(field_of(&error), Some("iatiIdentifier"));
    }

    #[test]
    fn an_attempt_whose_idempotency_key_was_taken_over_is_a_conflict() {
        let error = ApiError::from(CommandError::from(StoreError::IdempotencyKeyTakenOver));
        assert_eq!(error.code(), ErrorCode::Conflict);
        assert!(message_of(error).contains("changed nothing"));
    }

    #[test]
    fn store_and_decoding_failures_are_internal_and_masked() {
        for failure in [
            CommandError::Store(StoreError::unavailable("connection refused to db:5432")),
            CommandError::Undecodable {
                index: 7,
                reason: "missing field `title`".into(),
            },
        ] {
            let error = ApiError::from(failure);
            assert_eq!(error.code(), ErrorCode::InternalServerError);
            let graphql: async_graphql::Error = error.into();
            assert_eq!(graphql.message, INTERNAL_ERROR_MESSAGE);
        }
    }

    #[test]
    fn read_model_failures_are_internal() {
        let error = ApiError::from(StoreError::internal("syntax error near SELECT"));
        assert_eq!(error.code(), ErrorCode::InternalServerError);
    }
}
