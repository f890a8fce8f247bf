//! [`ErrorCatalogue`]: the async-graphql extension that puts every error on the catalogue of
//! [`crate::error`].
//!
//! async-graphql raises parse, validation and limit errors as plain messages; this extension gives
//! them their codes where they arise (`parse_query` and `validation` hooks), so nothing downstream
//! needs to guess from message text:
//!
//! | raised by | code |
//! |---|---|
//! | the parser | `GRAPHQL_PARSE_FAILED` |
//! | the parser's nesting guard, `limit_depth` | `QUERY_TOO_DEEP` |
//! | `limit_complexity`, the alias limit | `QUERY_TOO_COMPLEX` |
//! | every other validation rule, unknown operation names | `GRAPHQL_VALIDATION_FAILED` |
//!
//! Before any of that, `prepare_request` bounds the document's size, fragments, directives and
//! expanded fields ([`document_bounds`]), so that async-graphql's own walks, which expand every
//! fragment spread anew, only ever see documents of bounded size; and no list input may hold
//! more than [`input_bounds::MAX_LIST_ITEMS`] items (`BAD_USER_INPUT`).
//!
//! The alias limit is enforced here too (async-graphql has none). It reports `QUERY_TOO_COMPLEX`:
//! like complexity it bounds the work one document may ask for, and the remedy is the same.
//!
//! During execution it masks internal errors: an `INTERNAL_SERVER_ERROR` (from
//! [`crate::error::ApiError::internal`]) and any error without a code — which can only come from a
//! resolver that forgot the catalogue — are logged with their cause chain and the request id, and
//! the client gets "internal error" with `extensions.requestId`. Argument coercion failures that
//! async-graphql raises during execution become `BAD_USER_INPUT`.

use std::sync::{
    Arc, OnceLock,
    atomic::{AtomicBool, Ordering},
};

use async_graphql::{
    Request, Response, ServerError, ServerResult, ValidationResult, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery,
        NextPrepareRequest, NextRequest, NextSubscribe, NextValidation,
    },
    futures_util::{StreamExt as _, stream::BoxStream},
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};

use super::document_bounds::{self, DocumentLimits};
use super::input_bounds;
use super::persisted::{self, PersistedDocuments};
use super::response_order;
use crate::{
    error::{ErrorCode, INTERNAL_ERROR_MESSAGE, InternalCause},
    request_id::RequestId,
};

/// Installs the catalogue on a schema; `max_aliases` is [`crate::config::Limits::aliases`],
/// `document` the bounds of [`document_bounds`] (from the same limits).
/// `persisted` the documents requests may name by hash ([`persisted`]).
#[derive(Debug, Clone)]
pub struct ErrorCatalogue {
    max_aliases: usize,
    document: DocumentLimits,
    persisted: Arc<PersistedDocuments>,
}

impl ErrorCatalogue {
    #[must_use]
    pub fn new(
        max_aliases: usize,
        document: DocumentLimits,
        persisted: Arc<PersistedDocuments>,
    ) -> Self {
        Self {
            max_aliases,
            document,
            persisted,
        }
    }
}

impl ExtensionFactory for ErrorCatalogue {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCatalogueExtension {
            max_aliases: self.max_aliases,
            document: self.document,
            persisted: Arc::clone(&self.persisted),
            selection: Arc::new(OnceLock::new()),
            executed: AtomicBool::new(false),
            request_id: OnceLock::new(),
        })
    }
}

/// One per request (async-graphql creates extensions per request).
struct ErrorCatalogueExtension {
    max_aliases: usize,
    document: DocumentLimits,
    persisted: Arc<PersistedDocuments>,
    /// The document and the operation name, kept to put the response in selection order
    /// ([`response_order`]).
    selection: Arc<OnceLock<(ExecutableDocument, Option<String>)>>,
    /// Whether execution started: errors of a request that never executed are request errors.
    executed: AtomicBool,
    /// Captured in `parse_query`, the first hook that can see the request's data.
    request_id: OnceLock<Option<RequestId>>,
}

fn set_code(error: &mut ServerError, code: ErrorCode) {
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code.as_str());
}

fn has_code(error: &ServerError) -> bool {
    error
        .extensions
        .as_ref()
        .is_some_and(|extensions| extensions.get("code").is_some())
}

/// Code for an error raised by async-graphql's validation, from the limit messages of
/// `async-graphql` 7 (`src/validation/mod.rs`); a test pins them.
fn validation_code(error: &ServerError) -> ErrorCode {
    match error.message.as_str() {
        "Query is nested too deep." => ErrorCode::QueryTooDeep,
        "Query is too complex." => ErrorCode::QueryTooComplex,
        _ => ErrorCode::GraphqlValidationFailed,
    }
}

/// Aliased fields in the document, counting each fragment definition once.
fn count_aliases(document: &ExecutableDocument) -> usize {
    fn in_selection_set(selection_set: &SelectionSet) -> usize {
        selection_set
            .items
            .iter()
            .map(|selection| match &selection.node {
                Selection::Field(field) => {
                    usize::from(field.node.alias.is_some())
                        + in_selection_set(&field.node.selection_set.node)
                }
                Selection::InlineFragment(fragment) => {
                    in_selection_set(&fragment.node.selection_set.node)
                }
                Selection::FragmentSpread(_) => 0,
            })
            .sum()
    }
    let in_operations: usize = document
        .operations
        .iter()
        .map(|(_, operation)| in_selection_set(&operation.node.selection_set.node))
        .sum();
    let in_fragments: usize = document
        .fragments
        .values()
        .map(|fragment| in_selection_set(&fragment.node.selection_set.node))
        .sum();
    in_operations + in_fragments
}

/// Gives execution errors their codes and masks internal ones (see the module documentation).
fn classify_execution_errors(response: &mut Response, request_id: Option<&RequestId>) {
    for error in &mut response.errors {
        match ErrorCode::of(error) {
            Some(ErrorCode::InternalServerError) => mask_internal(error, request_id),
            Some(_) => {}
            None if is_argument_error(&error.message) => {
                set_code(error, ErrorCode::BadUserInput);
                let field = path_text(error);
                if let Some(extensions) = error.extensions.as_mut() {
                    extensions.set("field", field);
                }
            }
            None => {
                set_code(error, ErrorCode::InternalServerError);
                mask_internal(error, request_id);
            }
        }
    }
}

/// Messages async-graphql gives input that failed coercion or connection arguments out of range.
fn is_argument_error(message: &str) -> bool {
    message.starts_with("Failed to parse \"")
        || message.starts_with("Invalid value for argument")
        || (message.starts_with("The \"") && message.contains("parameter"))
}

fn path_text(error: &ServerError) -> String {
    error
        .path
        .iter()
        .map(|segment| match segment {
            async_graphql::PathSegment::Field(name) => name.clone(),
            async_graphql::PathSegment::Index(index) => index.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn mask_internal(error: &mut ServerError, request_id: Option<&RequestId>) {
    let cause = error
        .source::<InternalCause>()
        .map_or_else(|| error.message.clone(), InternalCause::chain);
    tracing::error!(
        request_id = request_id.map(RequestId::as_str),
        graphql.path = %path_text(error),
        error.cause_chain = %cause,
        "internal error while resolving a GraphQL field"
    );
    error.message = INTERNAL_ERROR_MESSAGE.to_owned();
    if let Some(id) = request_id {
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("requestId", id.as_str());
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for ErrorCatalogueExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        if !self.executed.load(Ordering::Acquire) {
            // Failed before execution: errors the hooks below did not see (an unknown operation
            // name, a missing operation name) are validation failures.
            for error in &mut response.errors {
                if !has_code(error) {
                    set_code(error, ErrorCode::GraphqlValidationFailed);
                }
            }
        }
        response
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        // Subscriptions skip `request` and `execute`; over WebSocket the request id is in the
        // connection's data.
        let request_id = ctx.data_opt::<RequestId>().cloned();
        let selection = Arc::clone(&self.selection);
        next.run(ctx, stream)
            .map(move |mut response| {
                classify_execution_errors(&mut response, request_id.as_ref());
                if let Some((document, operation)) = selection.get() {
                    response_order::reorder(&mut response.data, document, operation.as_deref());
                }
                response
            })
            .boxed()
    }

    /// Bounds the document before async-graphql parses and walks it ([`document_bounds`]), after
    /// the inner extensions prepared the request, and hands it on parsed.
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let mut request = next.run(ctx, request).await?;
        let reference = request
            .extensions
            .get(persisted::EXTENSION)
            .and_then(|value| value.clone().into_json().ok());
        match self.persisted.resolve(&request.query, reference.as_ref()) {
            Ok(Some(query)) => request.query = query,
            Ok(None) => {}
            Err(refusal) => {
                let mut error = ServerError::new(refusal.message, None);
                set_code(&mut error, refusal.code);
                if let (Some(field), Some(extensions)) = (refusal.field, error.extensions.as_mut())
                {
                    extensions.set("field", field);
                }
                return Err(error);
            }
        }
        match document_bounds::check(&request.query, &self.document) {
            Ok(Some(document)) => {
                if let Err(oversized) = input_bounds::check(&document, &request.variables) {
                    let mut error = ServerError::new(oversized.message(), None);
                    set_code(&mut error, ErrorCode::BadUserInput);
                    if let Some(extensions) = error.extensions.as_mut() {
                        extensions.set("field", oversized.field);
                    }
                    return Err(error);
                }
                let _ = self
                    .selection
                    .set((document.clone(), request.operation_name.clone()));
                request.set_parsed_query(document);
            }
            Ok(None) => {}
            Err(refusal) => {
                let mut error = ServerError::new(refusal.message, None);
                set_code(&mut error, refusal.code);
                return Err(error);
            }
        }
        Ok(request)
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let _ = self.request_id.set(ctx.data_opt::<RequestId>().cloned());
        match next.run(ctx, query, variables).await {
            Ok(document) => {
                let aliases = count_aliases(&document);
                if aliases > self.max_aliases {
                    let mut error = ServerError::new(
                        format!(
                            "Query uses {aliases} aliases; at most {} are allowed.",
                            self.max_aliases
                        ),
                        None,
                    );
                    set_code(&mut error, ErrorCode::QueryTooComplex);
                    return Err(error);
                }
                Ok(document)
            }
            Err(mut error) => {
                // The parser also refuses documents nested deeper than its recursion guard.
                let code = if error
                    .message
                    .starts_with("The recursion depth of the query")
                {
                    ErrorCode::QueryTooDeep
                } else {
                    ErrorCode::GraphqlParseFailed
                };
                set_code(&mut error, code);
                Err(error)
            }
        }
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|mut errors| {
            for error in &mut errors {
                let code = validation_code(error);
                set_code(error, code);
            }
            errors
        })
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        self.executed.store(true, Ordering::Release);
        let mut response = next.run(ctx, operation_name).await;
        if let Some((document, _)) = self.selection.get() {
            response_order::reorder(&mut response.data, document, operation_name);
        }
        let request_id = ctx
            .data_opt::<RequestId>()
            .or_else(|| self.request_id.get().and_then(Option::as_ref));
        classify_execution_errors(&mut response, request_id);
        response
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use async_graphql::{EmptyMutation, EmptySubscription, Object, Request, Schema, Value};

    use super::*;
    use crate::error::ApiError;

    struct Query;

    #[Object]
    impl Query {
        async fn ok(&self) -> i32 {
            1
        }

        async fn nested(&self) -> Query {
            Query
        }

        async fn broken(&self) -> Result<i32, ApiError> {
            Err(ApiError::internal(std::io::Error::other(
                "password=hunter2 rejected",
            )))
        }

        async fn untagged(&self) -> async_graphql::Result<i32> {
            Err(async_graphql::Error::new("raw driver text"))
        }

        async fn rejected(&self) -> Result<i32, ApiError> {
            Err(ApiError::bad_user_input("input.title", "title is empty"))
        }

        async fn echo(&self, value: i32) -> i32 {
            value
        }
    }

    fn schema() -> Schema<Query, EmptyMutation, EmptySubscription> {
        Schema::build(Query, EmptyMutation, EmptySubscription)
            .limit_depth(3)
            .limit_complexity(20)
            .extension(ErrorCatalogue::new(
                2,
                crate::config::Limits::default().document(),
                Arc::default(),
            ))
            .finish()
    }

    async fn run(request: impl Into<Request>) -> (Response, Vec<String>) {
        let response = schema().execute(request).await;
        let codes = response
            .errors
            .iter()
            .map(|e| ErrorCode::of(e).map_or_else(|| "none".to_owned(), |c| c.to_string()))
            .collect();
        (response, codes)
    }

    fn request_id() -> RequestId {
        RequestId::parse("req-42").unwrap()
    }

    #[tokio::test]
    async fn a_parse_failure_is_graphql_parse_failed() {
        let (_, codes) = run("{ ok ").await;
        assert_eq!(codes, ["GRAPHQL_PARSE_FAILED"]);
    }

    #[tokio::test]
    async fn an_unknown_field_is_graphql_validation_failed() {
        let (_, codes) = run("{ nope }").await;
        assert_eq!(codes, ["GRAPHQL_VALIDATION_FAILED"]);
    }

    #[tokio::test]
    async fn an_unknown_operation_name_is_graphql_validation_failed() {
        let (_, codes) = run(Request::new("query A { ok }").operation_name("B")).await;
        assert_eq!(codes, ["GRAPHQL_VALIDATION_FAILED"]);
    }

    #[tokio::test]
    async fn a_mutation_on_a_schema_without_mutations_is_graphql_validation_failed() {
        let (_, codes) = run("mutation { ok }").await;
        assert!(!codes.is_empty());
        assert!(
            codes.iter().all(|c| c == "GRAPHQL_VALIDATION_FAILED"),
            "{codes:?}"
        );
    }

    #[tokio::test]
    async fn depth_over_the_limit_is_query_too_deep() {
        let (_, codes) = run("{ nested { nested { nested { ok } } } }").await;
        assert_eq!(codes, ["QUERY_TOO_DEEP"]);
        let (response, _) = run("{ nested { nested { ok } } }").await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
    }

    #[tokio::test]
    async fn parser_recursion_guard_is_query_too_deep() {
        let deep = format!("{{ {} ok {} }}", "nested { ".repeat(40), "} ".repeat(40));
        let (_, codes) = run(deep).await;
        assert_eq!(codes, ["QUERY_TOO_DEEP"]);
    }

    #[tokio::test]
    async fn complexity_over_the_limit_is_query_too_complex() {
        let fields = "ok ".repeat(21);
        let (_, codes) = run(format!("{{ {fields} }}")).await;
        assert_eq!(codes, ["QUERY_TOO_COMPLEX"]);
    }

    #[tokio::test]
    async fn aliases_over_the_limit_are_query_too_complex() {
        let (response, codes) = run("{ a: ok b: ok c: ok }").await;
        assert_eq!(codes, ["QUERY_TOO_COMPLEX"]);
        assert!(response.errors[0].message.contains("3 aliases"));
        let (response, _) = run("{ a: ok b: ok }").await;
        assert!(response.errors.is_empty());
    }

    #[tokio::test]
    async fn aliases_in_fragments_count() {
        let (_, codes) = run("{ ...F } fragment F on Query { a: ok b: ok c: ok }").await;
        assert_eq!(codes, ["QUERY_TOO_COMPLEX"]);
    }

    #[tokio::test]
    async fn internal_errors_are_masked_and_carry_the_request_id() {
        let (response, codes) = run(Request::new("{ broken }").data(request_id())).await;
        assert_eq!(codes, ["INTERNAL_SERVER_ERROR"]);
        let error = &response.errors[0];
        assert_eq!(error.message, "internal error");
        let extensions = error.extensions.as_ref().unwrap();
        assert_eq!(extensions.get("requestId"), Some(&Value::from("req-42")));
        let body = serde_json::to_string(&response).unwrap();
        assert!(!body.contains("hunter2"), "{body}");
    }

    #[tokio::test]
    async fn an_error_without_a_code_is_masked_as_internal() {
        let (response, codes) = run(Request::new("{ untagged }").data(request_id())).await;
        assert_eq!(codes, ["INTERNAL_SERVER_ERROR"]);
        assert_eq!(response.errors[0].message, "internal error");
    }

    #[tokio::test]
    async fn catalogue_errors_from_resolvers_pass_through() {
        let (response, codes) = run("{ rejected }").await;
        assert_eq!(codes, ["BAD_USER_INPUT"]);
        assert_eq!(response.errors[0].message, "title is empty");
    }

    #[tokio::test]
    async fn a_variable_of_the_wrong_type_is_bad_user_input() {
        let request = Request::new("query ($v: Int!) { echo(value: $v) }").variables(
            async_graphql::Variables::from_json(serde_json::json!({ "v": "seven" })),
        );
        let (_, codes) = run(request).await;
        assert_eq!(codes.len(), 1);
        assert!(
            codes[0] == "BAD_USER_INPUT" || codes[0] == "GRAPHQL_VALIDATION_FAILED",
            "{codes:?}"
        );
    }

    #[tokio::test]
    async fn request_errors_and_only_they_have_request_error_codes() {
        for query in ["{ ok ", "{ nope }", "{ a: ok b: ok c: ok }"] {
            let (response, _) = run(query).await;
            assert!(response.data == Value::Null);
            assert!(
                response
                    .errors
                    .iter()
                    .all(|e| ErrorCode::of(e).is_some_and(ErrorCode::is_request_error))
            );
        }
        let (response, _) = run("{ ok broken }").await;
        assert!(
            response
                .errors
                .iter()
                .all(|e| !ErrorCode::of(e).is_some_and(ErrorCode::is_request_error))
        );
    }
}
