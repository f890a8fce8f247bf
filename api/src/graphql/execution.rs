//! How the server runs a GraphQL request: [`Catalogued`], a schema with the checks and error codes
//! of [`crate::error`] around it, and [`Traced`], the root types that open a span per root field.
//!
//! Before async-graphql sees a request, [`Catalogued`] resolves a persisted document
//! ([`persisted`]), bounds the document's size, fragments, directives and expanded fields
//! ([`document_bounds`]), so that async-graphql's own walks, which expand every fragment spread
//! anew, only ever see documents of bounded size; no list input may hold more than
//! [`input_bounds::MAX_LIST_ITEMS`] items (`BAD_USER_INPUT`); and it counts the aliases
//! (async-graphql has no alias limit). It parses the document once and hands it on parsed; a
//! document sent again is not parsed again ([`CheckedDocuments`]).
//! [`Catalogued::prepare`] makes these checks and [`Catalogued::execute_prepared`] runs what they
//! left; the HTTP handlers call the two themselves, in between deciding by the operation's type
//! ([`Prepared::operation_type`]) what HTTP refuses.
//!
//! async-graphql raises parse, validation and limit errors as plain messages; they get their
//! codes here:
//!
//! | raised by | code |
//! |---|---|
//! | the parser | `GRAPHQL_PARSE_FAILED` |
//! | the parser's nesting guard, `limit_depth` | `QUERY_TOO_DEEP` |
//! | `limit_complexity`, the alias limit, the document bounds | `QUERY_TOO_COMPLEX` |
//! | every other validation rule, unknown operation names | `GRAPHQL_VALIDATION_FAILED` |
//!
//! The alias limit reports `QUERY_TOO_COMPLEX`: like complexity it bounds the work one document
//! may ask for, and the remedy is the same.
//!
//! After execution it masks internal errors: an `INTERNAL_SERVER_ERROR` (from
//! [`crate::error::ApiError::internal`]) and any error without a code — which can only come from a
//! resolver that forgot the catalogue — are logged with their cause chain and the request id, and
//! the client gets "internal error" with `extensions.requestId`. Argument coercion failures that
//! async-graphql raises during execution become `BAD_USER_INPUT`. The response's fields are put
//! in the order of the selection ([`response_order`]).
//!
//! Why not an async-graphql extension, as this was: with any extension installed, async-graphql
//! builds a `ResolveInfo` and runs the extensions' `resolve` hook, a boxed future each, for every
//! field it resolves — hundreds on the frontend's list page. Without extensions it calls the
//! resolvers directly; on that page the server answered 30 % more requests per second (see
//! BENCHMARKS.md). What the hooks did is done here, around `Schema::execute`, once per request.
//!
//! Spans: `graphql.request` (with the request id), `graphql.parse` (our checks and the parse),
//! `graphql.execute` (async-graphql's validation and the execution), and one `graphql.resolve`
//! per root field of a query or mutation ([`Traced`]). Nested lists are read by the batch
//! loaders ([`super::references`]), whose SQL statements have spans of their own; a span per
//! nested field, which async-graphql's `Tracing` extension opens, would cost as much as the page.
//!
//! Read plans: a query that a [`super::read_plan`] covers, once async-graphql has executed its
//! document, is answered by the plan instead (`graphql.plan` in place of `graphql.execute`, with
//! the same `graphql.resolve` span per root field); a plan's answer has no errors, so it is
//! neither masked nor reordered. async-graphql's answers record their documents for the plans.

use std::{
    any::TypeId,
    borrow::Cow,
    sync::{Arc, OnceLock},
};

use amanah_domain::errors::Cause;
use async_graphql::{
    Context, ContextSelectionSet, Data, Executor, ObjectType, OutputType, Positioned, Request,
    Response, Schema, ServerError, ServerResult, SubscriptionType, Value,
    futures_util::{
        StreamExt as _,
        stream::{self, BoxStream},
    },
    parser::types::{
        DocumentOperations, ExecutableDocument, Field, OperationType, Selection, SelectionSet,
    },
    registry::Registry,
    resolver_utils::{ContainerType, resolve_container},
};
use tracing::Instrument as _;

use super::document_bounds::{self, DocumentLimits};
use super::input_bounds;
use super::persisted::{self, PersistedDocuments};
use super::read_plan::ReadPlans;
use super::response_order;
use crate::{
    error::{ErrorCode, INTERNAL_ERROR_MESSAGE},
    request_id::RequestId,
};

/// The checks [`Catalogued`] makes before execution; `max_aliases` is
/// [`crate::config::Limits::aliases`], `document` the bounds of [`document_bounds`] (from the same
/// limits), `persisted` the documents requests may name by hash ([`persisted`]).
#[derive(Debug)]
pub struct Checks {
    pub max_aliases: usize,
    pub document: DocumentLimits,
    pub persisted: Arc<PersistedDocuments>,
}

/// A schema run with [`Checks`] and the error catalogue (see the module documentation). It is
/// what the HTTP handlers call and, as an [`Executor`], what the WebSocket protocol runs.
pub struct Catalogued<Q, M, S> {
    schema: Schema<Q, M, S>,
    checks: Arc<Checks>,
    /// The read plans that answer the queries they cover ([`read_plan`]), when the schema has
    /// them.
    plans: Option<Arc<ReadPlans>>,
    /// The schema's SDL, once asked for.
    sdl: Arc<OnceLock<String>>,
    /// Documents that passed the checks of the document alone, by their text.
    checked: Arc<CheckedDocuments>,
}

impl<Q, M, S> Clone for Catalogued<Q, M, S> {
    fn clone(&self) -> Self {
        Self {
            schema: self.schema.clone(),
            checks: Arc::clone(&self.checks),
            plans: self.plans.clone(),
            sdl: Arc::clone(&self.sdl),
            checked: Arc::clone(&self.checked),
        }
    }
}

/// A document that passed the checks, kept to put the response in selection order.
struct Selected {
    checked: Arc<Checked>,
    operation_name: Option<String>,
}

/// Why a prepared request does not run.
enum Refused {
    /// The persisted document it names cannot be found or accepted.
    Persisted(persisted::Refusal),
    /// Its document broke a check, or did not parse.
    Checks(ServerError),
}

/// A request as [`Catalogued::prepare`] leaves it: its document resolved, checked and parsed,
/// ready for [`Catalogued::execute_prepared`], or refused (which that answers with the refusal).
pub struct Prepared {
    request: Request,
    outcome: Result<Selected, Refused>,
    operation_type: Option<OperationType>,
    request_id: Option<RequestId>,
    /// `graphql.request`: the preparation ran in it, the execution runs in it too.
    span: tracing::Span,
}

impl Prepared {
    /// The type of the operation the request selects, when its document parsed and names one
    /// operation unambiguously (even when a later check refuses it); otherwise execution
    /// reports the problem.
    #[must_use]
    pub fn operation_type(&self) -> Option<OperationType> {
        self.operation_type
    }

    /// Why the persisted document the request names cannot be found or accepted, if so.
    #[must_use]
    pub fn persisted_refusal(&self) -> Option<&persisted::Refusal> {
        match &self.outcome {
            Err(Refused::Persisted(refusal)) => Some(refusal),
            _ => None,
        }
    }

    /// The request, with its persisted document resolved.
    #[must_use]
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// Adds `data` to the request's data.
    #[must_use]
    pub fn data<D: std::any::Any + Send + Sync>(mut self, data: D) -> Self {
        self.request.data.insert(data);
        self
    }
}

impl<Q, M, S> Catalogued<Q, M, S>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    #[must_use]
    pub fn new(schema: Schema<Q, M, S>, checks: Checks) -> Self {
        Self {
            schema,
            checks: Arc::new(checks),
            plans: None,
            sdl: Arc::default(),
            checked: Arc::default(),
        }
    }

    /// The same schema, answering the queries `plans` cover with them.
    #[must_use]
    pub fn with_read_plans(mut self, plans: Arc<ReadPlans>) -> Self {
        self.plans = Some(plans);
        self
    }

    /// The same schema, every query executed by async-graphql (what the read plans are compared
    /// with).
    #[must_use]
    pub fn without_read_plans(mut self) -> Self {
        self.plans = None;
        self
    }

    /// The read plans, when the schema has them.
    #[must_use]
    pub fn read_plans(&self) -> Option<&ReadPlans> {
        self.plans.as_deref()
    }

    /// The schema's SDL, built once.
    #[must_use]
    pub fn sdl(&self) -> &str {
        self.sdl.get_or_init(|| self.schema.sdl())
    }

    /// Runs a query or a mutation.
    pub async fn execute(&self, request: impl Into<Request>) -> Response {
        self.execute_prepared(self.prepare(request.into())).await
    }

    /// Runs a request [`Self::prepare`] prepared: answers its refusal, or executes it.
    pub async fn execute_prepared(&self, prepared: Prepared) -> Response {
        let Prepared {
            request,
            outcome,
            operation_type,
            request_id,
            span,
        } = prepared;
        async {
            let selected = match outcome {
                Ok(selected) => selected,
                Err(refused) => return refusal_response(refused),
            };
            if let Some(plans) = &self.plans
                && let Some(response) = plans.answer(&request, &selected.checked.document).await
            {
                // Written in selection order, without errors: nothing to reorder or mask.
                return response;
            }
            let record = self
                .plans
                .as_ref()
                .filter(|plans| plans.wants_record(&request, operation_type))
                .map(|_| (request.operation_name.clone(), request.query.clone()));
            let execute = tracing::info_span!(
                "graphql.execute",
                graphql.operation.name = request.operation_name.as_deref().unwrap_or_default()
            );
            let response = self.schema.execute(request).instrument(execute).await;
            if let (Some(plans), Some((operation_name, query))) = (&self.plans, record)
                && !never_executed(&response)
            {
                plans.executed(operation_name, query);
            }
            finished(response, Some(&selected), request_id.as_ref())
        }
        .instrument(span)
        .await
    }

    /// Runs a subscription (or, over WebSocket, any operation) with the connection's data.
    pub fn execute_stream(
        &self,
        request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let Prepared {
            request,
            outcome,
            request_id,
            ..
        } = self.prepare(request);
        // Over WebSocket the request id is in the connection's data.
        let request_id = request_id.or_else(|| session_data.as_deref().and_then(request_id_in));
        match outcome {
            Err(refused) => stream::once(async move { refusal_response(refused) }).boxed(),
            Ok(selected) => self
                .schema
                .execute_stream_with_session_data(request, session_data.unwrap_or_default())
                .map(move |response| finished(response, Some(&selected), request_id.as_ref()))
                .boxed(),
        }
    }

    /// The checks before execution (see the module documentation), in a `graphql.request`
    /// span that [`Self::execute_prepared`] goes on with: the request with its persisted
    /// document resolved and its document parsed, or the refusal.
    pub fn prepare(&self, mut request: Request) -> Prepared {
        let request_id = request_id_in(&request.data);
        let span = tracing::info_span!(
            "graphql.request",
            request_id = request_id.as_ref().map(RequestId::as_str)
        );
        let mut operation_type = None;
        let outcome = span.in_scope(|| {
            let _span = tracing::info_span!("graphql.parse").entered();
            self.check(&mut request, &mut operation_type)
        });
        Prepared {
            request,
            outcome,
            operation_type,
            request_id,
            span,
        }
    }

    /// [`Self::prepare`]'s checks; sets `operation_type` as soon as the document parsed.
    fn check(
        &self,
        request: &mut Request,
        operation_type: &mut Option<OperationType>,
    ) -> Result<Selected, Refused> {
        let reference = request
            .extensions
            .get(persisted::EXTENSION)
            .and_then(|value| value.clone().into_json().ok());
        match self
            .checks
            .persisted
            .resolve(&request.query, reference.as_ref())
        {
            Ok(Some(query)) => request.query = query,
            Ok(None) => {}
            Err(refusal) => return Err(Refused::Persisted(refusal)),
        }
        let refused = |refusal: document_bounds::Refusal| {
            let mut error = coded(refusal.message, refusal.code, None);
            error.locations = refusal.locations;
            Refused::Checks(error)
        };
        let checked = match self.checked.get(&request.query) {
            Some(checked) => {
                *operation_type =
                    operation_type_of(&checked.document, request.operation_name.as_deref());
                checked
            }
            None => {
                let document = document_bounds::parse(&request.query, &self.checks.document)
                    .map_err(refused)?;
                *operation_type = operation_type_of(&document, request.operation_name.as_deref());
                document_bounds::bound(&document, &self.checks.document).map_err(refused)?;
                let checked = Arc::new(Checked {
                    aliases: count_aliases(&document),
                    document,
                });
                self.checked.keep(&request.query, Arc::clone(&checked));
                checked
            }
        };
        let document = &checked.document;
        if let Err(oversized) = input_bounds::check(document, &request.variables) {
            return Err(Refused::Checks(coded(
                oversized.message(),
                ErrorCode::BadUserInput,
                Some(oversized.field.as_str()),
            )));
        }
        let aliases = checked.aliases;
        if aliases > self.checks.max_aliases {
            return Err(Refused::Checks(coded(
                format!(
                    "Query uses {aliases} aliases; at most {} are allowed.",
                    self.checks.max_aliases
                ),
                ErrorCode::QueryTooComplex,
                None,
            )));
        }
        request.set_parsed_query(document.clone());
        Ok(Selected {
            checked,
            operation_name: request.operation_name.clone(),
        })
    }
}

/// A document that parsed and kept within [`document_bounds`], with its aliases counted: what the
/// checks of the document alone found.
struct Checked {
    document: ExecutableDocument,
    aliases: usize,
}

/// The documents that passed [`Catalogued`]'s checks of the document alone, by their text, so
/// that the same document sent again is not parsed and walked again: a client sends the same few
/// documents over and over (parsing was a twentieth of an audited write's time, BENCHMARKS.md
/// §5). Bounded, since clients choose the texts: at most [`CHECKED_DOCUMENTS`] documents of at
/// most [`CHECKED_DOCUMENT_BYTES`] each; a new one then takes the place of one kept. Documents
/// that fail are not kept (they fail the same way each time, at the same cost as before).
#[derive(Default)]
struct CheckedDocuments(std::sync::Mutex<std::collections::HashMap<String, Arc<Checked>>>);

/// How many documents [`CheckedDocuments`] keeps.
const CHECKED_DOCUMENTS: usize = 256;

/// The longest document text [`CheckedDocuments`] keeps.
const CHECKED_DOCUMENT_BYTES: usize = 8 * 1024;

impl CheckedDocuments {
    fn get(&self, query: &str) -> Option<Arc<Checked>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(query)
            .cloned()
    }

    fn keep(&self, query: &str, checked: Arc<Checked>) {
        if query.len() > CHECKED_DOCUMENT_BYTES {
            return;
        }
        let mut documents = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if documents.len() >= CHECKED_DOCUMENTS
            && let Some(other) = documents.keys().next().cloned()
        {
            documents.remove(&other);
        }
        documents.insert(query.to_owned(), checked);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }
}

/// The response to a request refused before execution.
fn refusal_response(refused: Refused) -> Response {
    let error = match refused {
        Refused::Persisted(refusal) => coded(refusal.message, refusal.code, refusal.field),
        Refused::Checks(error) => error,
    };
    finished(Response::from_errors(vec![error]), None, None)
}

/// The type of the operation `operation_name` selects in `document` (the only one, without a
/// name); `None` when that is ambiguous or names no operation.
fn operation_type_of(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<OperationType> {
    match &document.operations {
        DocumentOperations::Single(operation) => Some(operation.node.ty),
        DocumentOperations::Multiple(operations) => match operation_name {
            Some(name) => operations
                .iter()
                .find(|(n, _)| n.as_str() == name)
                .map(|(_, operation)| operation.node.ty),
            None if operations.len() == 1 => operations
                .values()
                .next()
                .map(|operation| operation.node.ty),
            None => None,
        },
    }
}

impl<Q, M, S> Executor for Catalogued<Q, M, S>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    async fn execute(&self, request: Request) -> Response {
        Catalogued::execute(self, request).await
    }

    fn execute_stream(
        &self,
        request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        Catalogued::execute_stream(self, request, session_data)
    }
}

fn request_id_in(data: &Data) -> Option<RequestId> {
    data.get(&TypeId::of::<RequestId>())
        .and_then(|value| value.downcast_ref::<RequestId>())
        .cloned()
}

/// Whether `response` answers a request that never executed: it did not parse or validate, broke
/// a limit, named an unknown operation or persisted document, or had input refused before
/// execution. Such a response has errors and no data, and none of its errors has a `path`; every
/// error raised while executing has one. (Once [`Catalogued`] has coded them, each of these
/// errors has a code of [`ErrorCode::is_request_error`], or `BAD_USER_INPUT`.)
#[must_use]
pub fn never_executed(response: &Response) -> bool {
    response.data == Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| error.path.is_empty())
}

/// The response with its errors coded and masked, and its fields in selection order.
fn finished(
    mut response: Response,
    selected: Option<&Selected>,
    request_id: Option<&RequestId>,
) -> Response {
    if never_executed(&response) {
        for error in &mut response.errors {
            if ErrorCode::of(error).is_none() {
                let code = refusal_code(error);
                set_code(error, code);
            }
        }
    } else {
        classify_execution_errors(&mut response, request_id);
    }
    if let Some(selected) = selected {
        response_order::reorder(
            &mut response.data,
            &selected.checked.document,
            selected.operation_name.as_deref(),
        );
    }
    response
}

/// A root type whose fields each run in a `graphql.resolve` span: the root fields are where a
/// request reads or writes (see the module documentation). The schema is the same as `T`'s.
#[derive(Default)]
pub struct Traced<T>(pub T);

impl<T: ObjectType> OutputType for Traced<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        _field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        resolve_container(ctx, self).await
    }
}

impl<T: ObjectType> ContainerType for Traced<T> {
    async fn resolve_field(&self, ctx: &Context<'_>) -> ServerResult<Option<Value>> {
        let field = &ctx.item.node;
        let parent = T::type_name();
        let returns = ctx
            .schema_env
            .registry
            .types
            .get(parent.as_ref())
            .and_then(|ty| ty.field_by_name(field.name.node.as_str()))
            .map_or("", |meta| meta.ty.as_str());
        let span = tracing::info_span!(
            "graphql.resolve",
            graphql.field.path = field.response_key().node.as_str(),
            graphql.field.parent_type = parent.as_ref(),
            graphql.field.type = returns,
        );
        self.0.resolve_field(ctx).instrument(span).await
    }

    async fn find_entity(&self, ctx: &Context<'_>, params: &Value) -> ServerResult<Option<Value>> {
        self.0.find_entity(ctx, params).await
    }
}

impl<T: ObjectType> ObjectType for Traced<T> {}

/// An error of the catalogue raised before execution: `code`, and `field` when it names one.
fn coded(message: impl Into<String>, code: ErrorCode, field: Option<&str>) -> ServerError {
    let mut error = ServerError::new(message, None);
    set_code(&mut error, code);
    if let (Some(field), Some(extensions)) = (field, error.extensions.as_mut()) {
        extensions.set("field", field);
    }
    error
}

fn set_code(error: &mut ServerError, code: ErrorCode) {
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code.as_str());
}

/// Code for an error async-graphql raised before execution, from the limit messages of
/// `async-graphql` 7 (`src/validation/mod.rs`, `src/schema.rs`); a test pins them.
fn refusal_code(error: &ServerError) -> ErrorCode {
    match error.message.as_str() {
        "Query is nested too deep." => ErrorCode::QueryTooDeep,
        "Query is too complex." => ErrorCode::QueryTooComplex,
        message if message.starts_with("The recursion depth of the query") => {
            ErrorCode::QueryTooDeep
        }
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
            Some(ErrorCode::InternalServerError) => mask_field_error(error, request_id),
            Some(_) => {}
            None if is_argument_error(&error.message) => {
                let field = path_text(error);
                set_code(error, ErrorCode::BadUserInput);
                error
                    .extensions
                    .get_or_insert_with(Default::default)
                    .set("field", field);
            }
            None => {
                set_code(error, ErrorCode::InternalServerError);
                mask_field_error(error, request_id);
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

/// An error a resolver raised without a code: its message is all there is of its cause.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Uncoded(String);

/// Masks an internal error raised while resolving, in place: logged with its cause
/// ([`crate::error::log_internal`]), the client gets only "internal error" and
/// `extensions.requestId` (as [`crate::error::mask_internal`] gives failures outside
/// async-graphql).
fn mask_field_error(error: &mut ServerError, request_id: Option<&RequestId>) {
    let uncoded;
    let cause: &(dyn std::error::Error + 'static) = match error.source::<Cause>() {
        Some(cause) => cause,
        None => {
            uncoded = Uncoded(error.message.clone());
            &uncoded
        }
    };
    let what = format!(
        "internal error while resolving a GraphQL field ({})",
        path_text(error)
    );
    crate::error::log_internal(cause, request_id, &what);
    error.message = INTERNAL_ERROR_MESSAGE.to_owned();
    if let Some(id) = request_id {
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("requestId", id.as_str());
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

    fn schema() -> Catalogued<Traced<Query>, EmptyMutation, EmptySubscription> {
        let schema = Schema::build(Traced(Query), EmptyMutation, EmptySubscription)
            .limit_depth(3)
            .limit_complexity(20)
            .finish();
        Catalogued::new(
            schema,
            Checks {
                max_aliases: 2,
                document: crate::config::Limits::default().document(),
                persisted: Arc::default(),
            },
        )
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
    async fn a_document_sent_again_is_checked_once_and_its_variables_each_time() {
        let schema = schema();
        let echo = "query($v: Int!) { echo(value: $v) }";
        for value in [1, 2] {
            let request = Request::new(echo).variables(async_graphql::Variables::from_json(
                serde_json::json!({ "v": value }),
            ));
            let response = schema.execute(request).await;
            assert!(response.errors.is_empty(), "{:?}", response.errors);
            assert_eq!(
                response.data.into_json().unwrap(),
                serde_json::json!({ "echo": value })
            );
        }
        assert_eq!(schema.checked.len(), 1);
        // A kept document is refused again for what it is: three aliases, two allowed.
        for _ in 0..2 {
            let response = schema.execute("{ a: ok b: ok c: ok }").await;
            let codes: Vec<_> = response.errors.iter().filter_map(ErrorCode::of).collect();
            assert_eq!(codes, [ErrorCode::QueryTooComplex]);
        }
        assert_eq!(schema.checked.len(), 2);
        // What does not parse or breaks a bound is not kept; neither is a document too long.
        schema.execute("{ ok ").await;
        let long = format!("# {}\n{{ ok }}", "x".repeat(CHECKED_DOCUMENT_BYTES));
        assert!(schema.execute(long.as_str()).await.errors.is_empty());
        assert_eq!(schema.checked.len(), 2);
        // However many different documents, at most CHECKED_DOCUMENTS are kept.
        for n in 0..CHECKED_DOCUMENTS + 10 {
            let response = schema.execute(format!("query Q{n} {{ ok }}")).await;
            assert!(response.errors.is_empty(), "{:?}", response.errors);
        }
        assert_eq!(schema.checked.len(), CHECKED_DOCUMENTS);
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

    #[test]
    fn the_operation_type_follows_the_operation_name() {
        let schema = schema();
        let operation_type = |query: &str, name: Option<&str>| {
            let request = match name {
                Some(name) => Request::new(query).operation_name(name),
                None => Request::new(query),
            };
            schema.prepare(request).operation_type()
        };
        assert_eq!(operation_type("{ a }", None), Some(OperationType::Query));
        assert_eq!(
            operation_type("mutation { a }", None),
            Some(OperationType::Mutation)
        );
        let both = "query Q { a } mutation M { b }";
        assert_eq!(
            operation_type(both, Some("M")),
            Some(OperationType::Mutation)
        );
        assert_eq!(operation_type(both, Some("Q")), Some(OperationType::Query));
        assert_eq!(operation_type(both, None), None);
        assert_eq!(operation_type("{", None), None);
        // Known as soon as the document parsed, even when a later check refuses it.
        assert_eq!(
            operation_type("mutation { a: ok b: ok c: ok }", None),
            Some(OperationType::Mutation)
        );
    }

    #[tokio::test]
    async fn a_persisted_refusal_is_told_apart_and_answered_with_its_code() {
        let reference = serde_json::json!({ "version": 1, "sha256Hash": "0".repeat(64) });
        let mut request = Request::new("");
        request.extensions.0.insert(
            persisted::EXTENSION.to_owned(),
            Value::from_json(reference).unwrap(),
        );
        let schema = schema();
        let prepared = schema.prepare(request);
        assert_eq!(
            prepared.persisted_refusal().map(|refusal| refusal.code),
            Some(ErrorCode::PersistedQueryNotFound)
        );
        let response = schema.execute_prepared(prepared).await;
        let codes: Vec<_> = response.errors.iter().filter_map(ErrorCode::of).collect();
        assert_eq!(codes, [ErrorCode::PersistedQueryNotFound]);
        assert!(
            schema
                .prepare(Request::new("{ ok }"))
                .persisted_refusal()
                .is_none()
        );
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

    #[tokio::test]
    async fn the_response_keeps_the_order_of_the_selection() {
        let (response, _) = run("{ nested { ok } ok }").await;
        let body = serde_json::to_string(&response.data).unwrap();
        assert_eq!(body, r#"{"nested":{"ok":1},"ok":1}"#);
    }
}
