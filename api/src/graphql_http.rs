//! GraphQL over HTTP, following the GraphQL-over-HTTP specification rather than the stock
//! handler's defaults.
//!
//! * **Response media type** by `Accept`: `application/graphql-response+json` when the client
//!   names it and prefers it; `application/json` when that is what it prefers, and — as the
//!   specification asks of servers for legacy clients — when it sends no `Accept` or accepts
//!   either only through a wildcard (`*/*`, `application/*`); neither acceptable → `406`.
//! * **Status codes.** A request that cannot execute (the document does not parse or validate, or
//!   breaks a limit) gets `400` with `application/graphql-response+json` and `200` with
//!   `application/json`, as the specification asks for each; its body has `errors` and no `data`.
//!   An executed request gets `200`, with field errors in `errors`.
//! * **Requests.** `POST` takes `application/json` bodies (`415` for any other `Content-Type`,
//!   `400` for a body that is not JSON or not a GraphQL request object, `413` above
//!   [`crate::config::Limits::body_bytes`]). `GET` takes `query`, `variables`, `operationName`
//!   and `extensions` from the query string and runs queries only: any other operation gets `405`
//!   with `Allow: POST`. `GET` with a WebSocket upgrade speaks `graphql-transport-ws` (see [`crate::graphql_ws`]).
//!
//! * **Identity.** `Authorization: Bearer <token>` on `POST` and `GET`: no header is anonymous; a
//!   token that verifies puts its [`Identity`] into the request data; anything else is `401` with
//!   `WWW-Authenticate: Bearer error="invalid_token", …` and an `UNAUTHENTICATED` error, before the
//!   body is read, never silently anonymous. When the token cannot be checked because the JWKS is
//!   unavailable, the answer is `503` with `Retry-After` (still `UNAUTHENTICATED`: the caller is
//!   not authenticated, but the same token may work later).
//!
//! * **Idempotency.** A `POST` mutation with an `Idempotency-Key` header (1–255 visible ASCII
//!   characters) from an authenticated caller runs at most once per (subject, key) while the key
//!   is kept (`AMANAH_IDEMPOTENCY_TTL`, 24 h): a retry with the same request (query, operation
//!   name and variables) gets the first response again with `Idempotent-Replayed: true` and
//!   appends nothing; the same key with a different request is `409` `CONFLICT`, as is a retry
//!   while the first is still running (with `Retry-After`). Concurrent duplicates wait for the
//!   first. A first attempt that failed internally, or never executed, does not keep the key —
//!   unless it had appended something, which its retry is then told (`CONFLICT` with the audit
//!   indexes) rather than apply it twice. The claim on the key (a token the server assigns) goes
//!   into the request's data, and every append of the request runs under it: the key records
//!   the indexes appended, in the append's transaction, and a retry that took the key over
//!   (this attempt having looked dead) makes this attempt's appends fail. See
//!   [`amanah_infra::store::idempotency`].
//!
//! Every GraphQL request carries the [`RequestId`] in its data; errors of the HTTP layer itself
//! use the catalogue ([`BAD_USER_INPUT`](ErrorCode::BadUserInput) naming the faulty request
//! parameter in `extensions.field`).

use actix_web::{
    HttpRequest, HttpResponse,
    http::{StatusCode, header},
    web,
};
use amanah_domain::errors::Chain;
use amanah_domain::ports::IdempotencyClaim;
use amanah_infra::auth::{AuthError, Identity};
use amanah_infra::store::idempotency::{Claim, HEARTBEAT_INTERVAL, request_hash};
use async_graphql::{
    Variables,
    parser::types::{DocumentOperations, OperationType},
};
use futures::StreamExt as _;

use crate::{
    error::{ErrorCode, error_object},
    graphql::{
        AmanahSchema,
        document_bounds::count_tokens,
        persisted::{self, PersistedDocuments},
    },
    request_id::RequestId,
    state::ApiState,
};

/// `application/graphql-response+json`, the GraphQL-over-HTTP media type.
pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
/// `application/json`, the legacy media type.
pub const APPLICATION_JSON: &str = "application/json";

/// The media type of the response, chosen from `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMediaType {
    GraphqlResponseJson,
    Json,
}

impl ResponseMediaType {
    #[must_use]
    pub fn content_type(self) -> &'static str {
        match self {
            Self::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
            Self::Json => "application/json; charset=utf-8",
        }
    }

    /// Picks the media type from an `Accept` header; `None` when neither is acceptable.
    ///
    /// Each candidate takes the quality of the most specific range that matches it (`q=0` refuses
    /// it); the higher quality wins. On a tie `application/graphql-response+json` wins only when
    /// the header names it exactly; otherwise (no header, wildcards only) `application/json`, as
    /// the GraphQL-over-HTTP specification asks for legacy clients.
    #[must_use]
    pub fn negotiate(accept: Option<&str>) -> Option<Self> {
        let Some(accept) = accept.map(str::trim).filter(|a| !a.is_empty()) else {
            return Some(Self::Json);
        };
        let ranges: Vec<MediaRange<'_>> = accept.split(',').filter_map(MediaRange::parse).collect();
        // (specificity, quality) of the most specific matching range.
        let best = |media_type: &str| {
            ranges
                .iter()
                .filter_map(|range| range.specificity(media_type).map(|s| (s, range.quality)))
                .max_by_key(|(specificity, _)| *specificity)
                .unwrap_or((0, 0))
        };
        let (graphql_specificity, graphql) = best(GRAPHQL_RESPONSE_JSON);
        let (_, json) = best(APPLICATION_JSON);
        match (graphql, json) {
            (0, 0) => None,
            (graphql, json) if graphql > json => Some(Self::GraphqlResponseJson),
            (graphql, json) if graphql == json && graphql_specificity == 2 => {
                Some(Self::GraphqlResponseJson)
            }
            _ => Some(Self::Json),
        }
    }
}

/// One entry of an `Accept` header.
struct MediaRange<'a> {
    kind: &'a str,
    subtype: &'a str,
    /// Quality in thousandths (`q=0.5` → 500).
    quality: u16,
    /// A `charset` parameter other than UTF-8 makes the range unusable.
    usable_charset: bool,
}

impl<'a> MediaRange<'a> {
    fn parse(text: &'a str) -> Option<Self> {
        let mut parts = text.split(';').map(str::trim);
        let (kind, subtype) = parts.next()?.split_once('/')?;
        let mut range = Self {
            kind: kind.trim(),
            subtype: subtype.trim(),
            quality: 1000,
            usable_charset: true,
        };
        for parameter in parts {
            let Some((name, value)) = parameter.split_once('=') else {
                continue;
            };
            let value = value.trim().trim_matches('"');
            if name.trim().eq_ignore_ascii_case("q") {
                range.quality = parse_quality(value)?;
            } else if name.trim().eq_ignore_ascii_case("charset") {
                range.usable_charset = value.eq_ignore_ascii_case("utf-8");
            }
        }
        Some(range)
    }

    /// How specifically this range names `media_type` (2 exact, 1 `type/*`, 0 `*/*`), if at all.
    fn specificity(&self, media_type: &str) -> Option<u8> {
        let (kind, subtype) = media_type.split_once('/')?;
        if !self.usable_charset {
            return None;
        }
        if self.kind == "*" && self.subtype == "*" {
            Some(0)
        } else if self.kind.eq_ignore_ascii_case(kind) && self.subtype == "*" {
            Some(1)
        } else if self.kind.eq_ignore_ascii_case(kind) && self.subtype.eq_ignore_ascii_case(subtype)
        {
            Some(2)
        } else {
            None
        }
    }
}

/// `q` values are 0 to 1 with at most three decimals.
fn parse_quality(value: &str) -> Option<u16> {
    let number: f64 = value.parse().ok()?;
    if !(0.0..=1.0).contains(&number) {
        return None;
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "checked to be within 0..=1, so the scaled value is within 0..=1000"
    )]
    let thousandths = (number * 1000.0).round() as u16;
    Some(thousandths)
}

/// The header that makes a mutation idempotent.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// The header on a response that is the stored first response to an idempotency key.
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";
/// The longest idempotency key accepted.
const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// Seconds a client is asked to wait when the JWKS could not be loaded (the verifier refetches at
/// most once per refresh floor, 30 s by default).
const JWKS_RETRY_AFTER_SECS: u64 = 30;

/// The limits the HTTP layer enforces itself.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    pub body_bytes: usize,
    /// Documents with more tokens are not parsed to find their operation type.
    pub tokens: usize,
}

/// The parameters of a GraphQL-over-HTTP request.
#[derive(Debug)]
struct GraphqlParams {
    query: String,
    operation_name: Option<String>,
    variables: serde_json::Map<String, serde_json::Value>,
    extensions: serde_json::Map<String, serde_json::Value>,
}

/// A request that cannot become a GraphQL request: status and one catalogue error.
#[derive(Debug)]
struct Rejection {
    status: StatusCode,
    code: ErrorCode,
    field: Option<&'static str>,
    message: String,
    /// Extra response headers (`WWW-Authenticate`, `Retry-After`).
    headers: Vec<(header::HeaderName, String)>,
}

impl Rejection {
    fn new(
        status: StatusCode,
        code: ErrorCode,
        field: Option<&'static str>,
        message: String,
    ) -> Self {
        Self {
            status,
            code,
            field,
            message,
            headers: Vec::new(),
        }
    }

    fn bad_request(field: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadUserInput,
            Some(field),
            message.into(),
        )
    }

    /// A token that did not verify: `401` with `WWW-Authenticate`, or `503` with `Retry-After`
    /// when the keys to check it are unavailable.
    fn unauthenticated(error: &AuthError) -> Self {
        let mut rejection = Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            None,
            error.message(),
        );
        if error.is_transient() {
            rejection.status = StatusCode::SERVICE_UNAVAILABLE;
            rejection
                .headers
                .push((header::RETRY_AFTER, JWKS_RETRY_AFTER_SECS.to_string()));
        } else {
            rejection
                .headers
                .push((header::WWW_AUTHENTICATE, error.www_authenticate()));
        }
        rejection
    }

    fn into_response(self, media_type: Option<ResponseMediaType>) -> HttpResponse {
        let mut error = error_object(self.code, &self.message);
        if let Some(field) = self.field {
            error["extensions"]["field"] = field.into();
        }
        let content_type = media_type.map_or(APPLICATION_JSON, ResponseMediaType::content_type);
        let mut response = HttpResponse::build(self.status);
        response.content_type(content_type);
        if self.status == StatusCode::METHOD_NOT_ALLOWED {
            response.insert_header((header::ALLOW, "POST"));
        }
        for (name, value) in self.headers {
            response.insert_header((name, value));
        }
        response.body(serde_json::json!({ "errors": [error] }).to_string())
    }
}

impl GraphqlParams {
    /// From a JSON request body: an object with a string `query` and optional `operationName`,
    /// `variables` and `extensions`.
    fn from_json_body(body: &[u8]) -> Result<Self, Rejection> {
        let value: serde_json::Value = serde_json::from_slice(body).map_err(|error| {
            Rejection::bad_request(
                "body",
                format!("The request body is not valid JSON: {error}."),
            )
        })?;
        let serde_json::Value::Object(mut object) = value else {
            return Err(Rejection::bad_request(
                "body",
                "The request body must be a JSON object with a `query`; batches are not supported.",
            ));
        };
        let query = match object.remove("query") {
            Some(serde_json::Value::String(query)) => Some(query),
            None | Some(serde_json::Value::Null) => None,
            Some(_) => return Err(Rejection::bad_request("query", "`query` must be a string.")),
        };
        let operation_name = match object.remove("operationName") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(name)) => Some(name),
            Some(_) => {
                return Err(Rejection::bad_request(
                    "operationName",
                    "`operationName` must be a string or null.",
                ));
            }
        };
        let variables = optional_object(object.remove("variables"), "variables")?;
        let extensions = optional_object(object.remove("extensions"), "extensions")?;
        Ok(Self {
            query: Self::query_or_persisted(query, &extensions, "The request has no `query`.")?,
            operation_name,
            variables,
            extensions,
        })
    }

    /// The `query` sent, or none when the request names a persisted document instead (an empty
    /// query, resolved by [`Self::resolve_persisted`]).
    fn query_or_persisted(
        query: Option<String>,
        extensions: &serde_json::Map<String, serde_json::Value>,
        missing: &str,
    ) -> Result<String, Rejection> {
        match query {
            Some(query) => Ok(query),
            None if extensions.contains_key(persisted::EXTENSION) => Ok(String::new()),
            None => Err(Rejection::bad_request("query", missing)),
        }
    }

    /// Puts the document a `persistedQuery` names in place of the query (see
    /// [`crate::graphql::persisted`]); with trusted documents, refuses any other.
    fn resolve_persisted(
        &mut self,
        documents: &PersistedDocuments,
        media_type: ResponseMediaType,
    ) -> Result<(), Rejection> {
        match documents.resolve(&self.query, self.extensions.get(persisted::EXTENSION)) {
            Ok(Some(query)) => {
                self.query = query;
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(refusal) => {
                // Like any request that cannot execute: 400, or 200 for `application/json`.
                let status = match (refusal.field, media_type) {
                    (None, ResponseMediaType::Json) => StatusCode::OK,
                    _ => StatusCode::BAD_REQUEST,
                };
                Err(Rejection::new(
                    status,
                    refusal.code,
                    refusal.field,
                    refusal.message,
                ))
            }
        }
    }

    /// From a `GET` query string; `variables` and `extensions` are JSON-encoded.
    fn from_query_string(query_string: &str) -> Result<Self, Rejection> {
        let pairs: Vec<(String, String)> =
            web::Query::<Vec<(String, String)>>::from_query(query_string)
                .map_err(|_| {
                    Rejection::bad_request("query", "The query string is not well-formed.")
                })?
                .into_inner();
        let mut query = None;
        let mut operation_name = None;
        let mut variables = serde_json::Map::new();
        let mut extensions = serde_json::Map::new();
        for (name, value) in pairs {
            match name.as_str() {
                "query" => query = Some(value),
                "operationName" if !value.is_empty() => operation_name = Some(value),
                "variables" if !value.is_empty() => {
                    variables = optional_object(
                        Some(serde_json::from_str(&value).map_err(|_| {
                            Rejection::bad_request("variables", "`variables` must be JSON.")
                        })?),
                        "variables",
                    )?;
                }
                "extensions" if !value.is_empty() => {
                    extensions = optional_object(
                        Some(serde_json::from_str(&value).map_err(|_| {
                            Rejection::bad_request("extensions", "`extensions` must be JSON.")
                        })?),
                        "extensions",
                    )?;
                }
                _ => {}
            }
        }
        let query =
            Self::query_or_persisted(query, &extensions, "The request has no `query` parameter.")?;
        Ok(Self {
            query,
            operation_name,
            variables,
            extensions,
        })
    }

    /// The type of the operation the request selects, when the document parses and the choice is
    /// unambiguous; otherwise execution reports the problem. A document over `max_tokens` is not
    /// parsed here (execution refuses it before parsing too).
    fn operation_type(&self, max_tokens: usize) -> Option<OperationType> {
        if count_tokens(&self.query, max_tokens).is_some() {
            return None;
        }
        let document = async_graphql::parser::parse_query(&self.query).ok()?;
        match document.operations {
            DocumentOperations::Single(operation) => Some(operation.node.ty),
            DocumentOperations::Multiple(operations) => match &self.operation_name {
                Some(name) => operations
                    .iter()
                    .find(|(n, _)| n.as_str() == name)
                    .map(|(_, op)| op.node.ty),
                None if operations.len() == 1 => operations.values().next().map(|op| op.node.ty),
                None => None,
            },
        }
    }

    fn into_graphql_request(
        self,
        request_id: RequestId,
        identity: Option<Identity>,
    ) -> async_graphql::Request {
        let mut request = async_graphql::Request::new(self.query)
            .variables(Variables::from_json(serde_json::Value::Object(
                self.variables,
            )))
            .data(request_id);
        if let Some(identity) = identity {
            request = request.data(identity);
        }
        if let Some(name) = self.operation_name {
            request = request.operation_name(name);
        }
        for (name, value) in self.extensions {
            if let Ok(value) = async_graphql::Value::from_json(value) {
                request.extensions.0.insert(name, value);
            }
        }
        request
    }
}

fn optional_object(
    value: Option<serde_json::Value>,
    field: &'static str,
) -> Result<serde_json::Map<String, serde_json::Value>, Rejection> {
    match value {
        None | Some(serde_json::Value::Null) => Ok(serde_json::Map::new()),
        Some(serde_json::Value::Object(map)) => Ok(map),
        Some(_) => Err(Rejection::bad_request(
            field,
            format!("`{field}` must be a JSON object or null."),
        )),
    }
}

/// Whether the `Content-Type` is JSON in UTF-8 (`application/json`, optionally `charset=utf-8`).
fn is_json_content_type(req: &HttpRequest) -> bool {
    let Some(content_type) = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mut parts = content_type.split(';').map(str::trim);
    let essence_ok = parts
        .next()
        .is_some_and(|essence| essence.eq_ignore_ascii_case(APPLICATION_JSON));
    let charset_ok = parts.all(|parameter| match parameter.split_once('=') {
        Some((name, value)) if name.trim().eq_ignore_ascii_case("charset") => {
            value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        }
        _ => true,
    });
    essence_ok && charset_ok
}

fn accept_header(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
}

fn not_acceptable() -> HttpResponse {
    Rejection::new(
        StatusCode::NOT_ACCEPTABLE,
        ErrorCode::BadUserInput,
        Some("accept"),
        format!("The Accept header allows neither {GRAPHQL_RESPONSE_JSON} nor {APPLICATION_JSON}."),
    )
    .into_response(None)
}

/// The caller of an HTTP request: `Authorization` verified, or anonymous when absent.
async fn caller(req: &HttpRequest, state: &ApiState) -> Result<Option<Identity>, Rejection> {
    let authorization = match req.headers().get(header::AUTHORIZATION) {
        None => None,
        Some(value) => Some(value.to_str().map_err(|_| {
            Rejection::unauthenticated(&AuthError::Malformed(
                "the Authorization header is not visible ASCII",
            ))
        })?),
    };
    crate::auth::authenticate(&state.verifier, authorization)
        .await
        .map_err(|error| {
            tracing::info!(%error, "refused a bearer token");
            Rejection::unauthenticated(&error)
        })
}

/// Reads the body up to `limit` bytes; `413` beyond it.
async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::BytesMut, Rejection> {
    let too_large = || {
        Rejection::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::BadUserInput,
            Some("body"),
            format!("The request body is larger than the limit of {limit} bytes."),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large());
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|error| {
            Rejection::bad_request(
                "body",
                format!("The request body could not be read: {error}."),
            )
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Executes a GraphQL request and writes the response for `media_type`.
async fn execute(
    schema: &AmanahSchema,
    params: GraphqlParams,
    request_id: RequestId,
    identity: Option<Identity>,
    media_type: ResponseMediaType,
) -> HttpResponse {
    let response = schema
        .execute(params.into_graphql_request(request_id, identity))
        .await;
    graphql_response(response, media_type)
}

/// A GraphQL response as HTTP (see the module documentation for the status codes).
#[must_use]
pub fn graphql_response(
    response: async_graphql::Response,
    media_type: ResponseMediaType,
) -> HttpResponse {
    let (status, body) = response_body(&response, media_type);
    let mut builder = HttpResponse::build(status);
    builder.content_type(media_type.content_type());
    if response.is_ok()
        && let Some(cache_control) = response.cache_control.value()
    {
        builder.insert_header((header::CACHE_CONTROL, cache_control));
    }
    for (name, value) in &response.http_headers {
        if let (Ok(name), Ok(value)) = (
            header::HeaderName::from_bytes(name.as_str().as_bytes()),
            header::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            builder.append_header((name, value));
        }
    }
    builder.body(body)
}

/// Whether a response is of a request that never executed: parse, validation or limit errors,
/// or input refused before execution (a list over its bound). Such errors have no `path`; an
/// error raised while executing always has one.
fn is_request_error(response: &async_graphql::Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| {
            e.path.is_empty()
                && ErrorCode::of(e)
                    .is_some_and(|code| code.is_request_error() || code == ErrorCode::BadUserInput)
        })
}

/// The body of a request that never executed: no `data` at all.
#[derive(serde::Serialize)]
struct RequestErrorBody<'a> {
    errors: &'a [async_graphql::ServerError],
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    extensions: &'a std::collections::BTreeMap<String, async_graphql::Value>,
}

/// The status and JSON body of a GraphQL response (see the module documentation). The response
/// is serialised as it is, never through `serde_json::Value` (whose objects sort their keys), so
/// that `data` keeps the order of the selection, as the GraphQL specification asks of
/// serialisations that can keep it.
fn response_body(
    response: &async_graphql::Response,
    media_type: ResponseMediaType,
) -> (StatusCode, String) {
    let request_error = is_request_error(response);
    let status = if request_error && media_type == ResponseMediaType::GraphqlResponseJson {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let body = if request_error {
        serde_json::to_string(&RequestErrorBody {
            errors: &response.errors,
            extensions: &response.extensions,
        })
    } else {
        serde_json::to_string(response)
    };
    match body {
        Ok(body) => (status, body),
        Err(error) => {
            // Never a silent `{}`: the client is told it failed, the log says why.
            let error = crate::error::mask_internal(
                &error,
                None,
                "a GraphQL response could not be serialised",
            );
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                serde_json::json!({ "errors": [error] }).to_string(),
            )
        }
    }
}

/// `POST /graphql`.
pub async fn graphql_post(
    req: HttpRequest,
    payload: web::Payload,
    schema: web::Data<AmanahSchema>,
    state: web::Data<ApiState>,
    limits: web::Data<HttpLimits>,
    request_id: RequestId,
) -> HttpResponse {
    let Some(media_type) = ResponseMediaType::negotiate(accept_header(&req)) else {
        return not_acceptable();
    };
    let identity = match caller(&req, &state).await {
        Ok(identity) => identity,
        Err(rejection) => return rejection.into_response(Some(media_type)),
    };
    if !is_json_content_type(&req) {
        return Rejection::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::BadUserInput,
            Some("content-type"),
            format!("Send GraphQL requests as {APPLICATION_JSON} (UTF-8)."),
        )
        .into_response(Some(media_type));
    }
    let params = match read_body(&req, payload, limits.body_bytes)
        .await
        .and_then(|body| GraphqlParams::from_json_body(&body))
        .and_then(|mut params| {
            params.resolve_persisted(&state.persisted, media_type)?;
            Ok(params)
        }) {
        Ok(params) => params,
        Err(rejection) => return rejection.into_response(Some(media_type)),
    };
    let key = match idempotency_key(&req) {
        Ok(key) => key,
        Err(rejection) => return rejection.into_response(Some(media_type)),
    };
    let operation_type = params.operation_type(limits.tokens);
    if operation_type == Some(OperationType::Subscription) {
        return Rejection::bad_request(
            "query",
            "Subscriptions run over the WebSocket at /graphql (graphql-transport-ws), not over \
             HTTP.",
        )
        .into_response(Some(media_type));
    }
    if let (Some(key), Some(identity)) = (key, &identity)
        && operation_type == Some(OperationType::Mutation)
    {
        let keyed = Keyed {
            subject: identity.sub.clone(),
            key: key.to_owned(),
        };
        return keyed
            .run(
                &schema,
                &state,
                params,
                request_id,
                identity.clone(),
                media_type,
            )
            .await;
    }
    execute(&schema, params, request_id, identity, media_type).await
}

/// The `Idempotency-Key` of a request, if any.
fn idempotency_key(req: &HttpRequest) -> Result<Option<&str>, Rejection> {
    let Some(value) = req.headers().get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(key)
            if (1..=MAX_IDEMPOTENCY_KEY_LEN).contains(&key.len())
                && key.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            Ok(Some(key))
        }
        _ => Err(Rejection::bad_request(
            IDEMPOTENCY_KEY,
            format!(
                "The Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible ASCII \
                 characters, e.g. a UUID."
            ),
        )),
    }
}

/// A mutation sent with an idempotency key by an authenticated subject.
struct Keyed {
    subject: String,
    key: String,
}

impl Keyed {
    /// Claims the key, then runs the mutation (and keeps its response), replays the stored
    /// response, or refuses.
    async fn run(
        self,
        schema: &AmanahSchema,
        state: &ApiState,
        params: GraphqlParams,
        request_id: RequestId,
        identity: Identity,
        media_type: ResponseMediaType,
    ) -> HttpResponse {
        let hash = request_hash(&serde_json::json!({
            "query": params.query,
            "operationName": params.operation_name,
            "variables": params.variables,
        }));
        let claim = state
            .idempotency
            .claim(
                &self.subject,
                &self.key,
                &hash,
                request_id.as_str(),
                state.config.idempotency.ttl,
                state.config.limits.request_timeout(),
            )
            .await;
        let claim = match claim {
            Ok(Claim::Run(claim)) => claim,
            Ok(Claim::Replay(body)) => {
                return HttpResponse::Ok()
                    .content_type(media_type.content_type())
                    .insert_header((IDEMPOTENT_REPLAYED, "true"))
                    .body(body.to_string());
            }
            Ok(Claim::Mismatch) => {
                return Rejection::new(
                    StatusCode::CONFLICT,
                    ErrorCode::Conflict,
                    None,
                    "This Idempotency-Key was already used for a different request; send a new \
                     request with a new key."
                        .to_owned(),
                )
                .into_response(Some(media_type));
            }
            Ok(Claim::InProgress) => {
                let mut rejection = Rejection::new(
                    StatusCode::CONFLICT,
                    ErrorCode::Conflict,
                    None,
                    "A request with this Idempotency-Key is still running; retry it later."
                        .to_owned(),
                );
                rejection
                    .headers
                    .push((header::RETRY_AFTER, "1".to_owned()));
                return rejection.into_response(Some(media_type));
            }
            Ok(Claim::Landed {
                first_index,
                last_index,
                claim,
            }) => {
                return landed(
                    state,
                    &claim,
                    first_index,
                    last_index,
                    &request_id,
                    media_type,
                )
                .await;
            }
            Err(error) => return internal(&error, &request_id, media_type),
        };

        // From here the key is ours: finish (run, then keep or release the key) even if the
        // client goes away, so that the key never stays pending because a connection dropped.
        // Every append the request makes runs under the claim (it reaches them in the request's
        // data): it fails, appending nothing, if a retry took the key over meanwhile.
        let schema = schema.clone();
        let store = state.idempotency.clone();
        let failed_request = request_id.clone();
        let request = params
            .into_graphql_request(request_id, Some(identity))
            .data(claim.clone());
        let finished = actix_web::rt::spawn(async move {
            // While it runs, the heartbeat tells other claims that this holder is alive.
            let execution = schema.execute(request);
            tokio::pin!(execution);
            let mut beats = tokio::time::interval(HEARTBEAT_INTERVAL);
            beats.tick().await; // the first tick is immediate; the claim set the first beat
            let response = loop {
                tokio::select! {
                    response = &mut execution => break response,
                    _ = beats.tick() => {
                        if let Err(error) = store.heartbeat(&claim).await {
                            tracing::warn!(error = %Chain(&error), "could not refresh an idempotency key's heartbeat");
                        }
                    }
                }
            };
            let keep = !is_request_error(&response)
                && response
                    .errors
                    .iter()
                    .all(|e| ErrorCode::of(e) != Some(ErrorCode::InternalServerError));
            let outcome = if keep {
                // Stored as the `application/graphql-response+json` body of an executed request,
                // which is the same for both media types.
                let (_, body) = response_body(&response, ResponseMediaType::GraphqlResponseJson);
                match serde_json::from_str(&body) {
                    Ok(body) => store.complete(&claim, &body).await.map(|stored| {
                        if !stored {
                            tracing::warn!(
                                "a retry took this request's idempotency key over while it ran; \
                                 its response is not kept"
                            );
                        }
                    }),
                    Err(error) => {
                        // Not for a body just serialised; if it ever were, a retry runs again.
                        tracing::error!(%error, "a GraphQL response does not read back as JSON");
                        store.release(&claim).await
                    }
                }
            } else {
                store.release(&claim).await
            };
            if let Err(error) = outcome {
                tracing::error!(error = %Chain(&error), "could not settle an idempotency key");
            }
            response
        });
        match finished.await {
            Ok(response) => graphql_response(response, media_type),
            Err(error) => internal(&error, &failed_request, media_type),
        }
    }
}

/// The answer to a retry whose first attempt landed (events `first_index..=last_index`) in a
/// process that died before answering: `CONFLICT` with the indexes, stored as the key's response
/// (the retry holds the key now, as `claim`) so that every later retry gets the same.
async fn landed(
    state: &ApiState,
    claim: &IdempotencyClaim,
    first_index: u64,
    last_index: u64,
    request_id: &RequestId,
    media_type: ResponseMediaType,
) -> HttpResponse {
    let mut error = error_object(
        ErrorCode::Conflict,
        &format!(
            "This request was applied before (audit index {last_index}), but the server \
             stopped before answering it; nothing was applied again. Read the changed \
             entity (or auditEvents from index {first_index}) to see the result."
        ),
    );
    error["extensions"]["auditIndex"] = last_index.into();
    error["extensions"]["firstAuditIndex"] = first_index.into();
    let body = serde_json::json!({ "data": null, "errors": [error] });
    if let Err(error) = state.idempotency.complete(claim, &body).await {
        return internal(&error, request_id, media_type);
    }
    HttpResponse::Ok()
        .content_type(media_type.content_type())
        .insert_header((IDEMPOTENT_REPLAYED, "true"))
        .body(body.to_string())
}

/// A failure of the server's own: `500` (`503` when the database is unavailable), masked, with
/// the request id; the cause goes to the log.
fn internal(
    error: &(dyn std::error::Error + 'static),
    request_id: &RequestId,
    media_type: ResponseMediaType,
) -> HttpResponse {
    let status = match error.downcast_ref::<amanah_domain::ports::StoreError>() {
        Some(amanah_domain::ports::StoreError::Unavailable { .. }) => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let error = crate::error::mask_internal(error, Some(request_id), "idempotent request failed");
    HttpResponse::build(status)
        .content_type(media_type.content_type())
        .body(serde_json::json!({ "errors": [error] }).to_string())
}

/// `GET /graphql`: a query from the query string, or a WebSocket upgrade.
pub async fn graphql_get(
    req: HttpRequest,
    payload: web::Payload,
    schema: web::Data<AmanahSchema>,
    state: web::Data<ApiState>,
    limits: web::Data<HttpLimits>,
    request_id: RequestId,
) -> HttpResponse {
    let upgrade = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if upgrade {
        let Ok(slot) = std::sync::Arc::clone(&state.websockets).try_acquire_owned() else {
            return crate::graphql_ws::too_many_connections();
        };
        return crate::graphql_ws::start(
            &req,
            payload,
            AmanahSchema::clone(&schema),
            &state,
            request_id,
            slot,
        )
        .unwrap_or_else(|error| error.error_response());
    }

    let Some(media_type) = ResponseMediaType::negotiate(accept_header(&req)) else {
        return not_acceptable();
    };
    let identity = match caller(&req, &state).await {
        Ok(identity) => identity,
        Err(rejection) => return rejection.into_response(Some(media_type)),
    };
    let params =
        match GraphqlParams::from_query_string(req.query_string()).and_then(|mut params| {
            params.resolve_persisted(&state.persisted, media_type)?;
            Ok(params)
        }) {
            Ok(params) => params,
            Err(rejection) => return rejection.into_response(Some(media_type)),
        };
    match params.operation_type(limits.tokens) {
        Some(OperationType::Mutation | OperationType::Subscription) => {
            return Rejection::new(
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorCode::BadUserInput,
                Some("query"),
                "GET runs queries only; send mutations with POST.".to_owned(),
            )
            .into_response(Some(media_type));
        }
        Some(OperationType::Query) | None => {}
    }
    execute(&schema, params, request_id, identity, media_type).await
}

/// Any other method on `/graphql`.
pub async fn method_not_allowed() -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, "GET, POST"))
        .finish()
}

/// `GET /schema.graphql`: the SDL of the running schema.
pub async fn schema_sdl(schema: web::Data<AmanahSchema>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(crate::graphql::sdl_of(&schema))
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use super::*;

    #[test]
    fn no_accept_or_only_wildcards_get_application_json() {
        for accept in [None, Some(""), Some("*/*"), Some("application/*")] {
            assert_eq!(
                ResponseMediaType::negotiate(accept),
                Some(ResponseMediaType::Json),
                "{accept:?}"
            );
        }
        assert_eq!(
            ResponseMediaType::negotiate(Some("application/graphql-response+json, */*")),
            Some(ResponseMediaType::GraphqlResponseJson),
            "named exactly, it wins the tie"
        );
        assert_eq!(
            ResponseMediaType::negotiate(Some(
                "application/graphql-response+json, application/json"
            )),
            Some(ResponseMediaType::GraphqlResponseJson)
        );
    }

    #[test]
    fn application_json_is_honoured() {
        assert_eq!(
            ResponseMediaType::negotiate(Some("application/json")),
            Some(ResponseMediaType::Json)
        );
        assert_eq!(
            ResponseMediaType::negotiate(Some(
                "application/graphql-response+json;q=0.5, application/json"
            )),
            Some(ResponseMediaType::Json)
        );
        assert_eq!(
            ResponseMediaType::negotiate(Some(
                "application/graphql-response+json, application/json;q=0.9"
            )),
            Some(ResponseMediaType::GraphqlResponseJson)
        );
    }

    #[test]
    fn the_most_specific_range_decides() {
        assert_eq!(
            ResponseMediaType::negotiate(Some("application/graphql-response+json;q=0, */*")),
            Some(ResponseMediaType::Json)
        );
    }

    #[test]
    fn unacceptable_types_are_refused() {
        for accept in [
            "text/html",
            "application/xml, text/*",
            "application/json;q=0",
            "application/json; charset=latin1",
        ] {
            assert_eq!(ResponseMediaType::negotiate(Some(accept)), None, "{accept}");
        }
    }

    #[test]
    fn body_parsing_checks_the_shape() {
        let ok = GraphqlParams::from_json_body(
            br#"{"query":"{ a }","variables":{"x":1},"operationName":null}"#,
        )
        .unwrap();
        assert_eq!(ok.query, "{ a }");
        assert_eq!(ok.variables.get("x"), Some(&serde_json::json!(1)));
        for (body, field) in [
            (&b"not json"[..], "body"),
            (b"[]", "body"),
            (b"{}", "query"),
            (br#"{"query":1}"#, "query"),
            (br#"{"query":"{a}","variables":"x"}"#, "variables"),
            (br#"{"query":"{a}","operationName":1}"#, "operationName"),
        ] {
            let rejection = GraphqlParams::from_json_body(body).unwrap_err();
            assert_eq!(rejection.status, StatusCode::BAD_REQUEST);
            assert_eq!(rejection.field, Some(field));
        }
    }

    #[test]
    fn the_operation_type_follows_the_operation_name() {
        let params = |query: &str, name: Option<&str>| GraphqlParams {
            query: query.to_owned(),
            operation_name: name.map(str::to_owned),
            variables: serde_json::Map::new(),
            extensions: serde_json::Map::new(),
        };
        assert_eq!(
            params("{ a }", None).operation_type(usize::MAX),
            Some(OperationType::Query)
        );
        assert_eq!(
            params("mutation { a }", None).operation_type(usize::MAX),
            Some(OperationType::Mutation)
        );
        let both = "query Q { a } mutation M { b }";
        assert_eq!(
            params(both, Some("M")).operation_type(usize::MAX),
            Some(OperationType::Mutation)
        );
        assert_eq!(
            params(both, Some("Q")).operation_type(usize::MAX),
            Some(OperationType::Query)
        );
        assert_eq!(params(both, None).operation_type(usize::MAX), None);
        assert_eq!(params("{", None).operation_type(usize::MAX), None);
    }
}
