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

mod idempotency;
mod negotiation;
mod request;

pub(crate) use request::{Rejection, caller};

use actix_web::{
    HttpRequest, HttpResponse,
    http::{StatusCode, header},
    web,
};
use amanah_infra::auth::Identity;
use async_graphql::parser::types::OperationType;

use crate::{
    error::ErrorCode,
    graphql::{AmanahSchema, execution::Prepared},
    request_id::RequestId,
    state::ApiState,
};

use idempotency::{Keyed, idempotency_key};
use negotiation::{
    APPLICATION_JSON, ResponseMediaType, accept_header, graphql_response, is_json_content_type,
    not_acceptable,
};
use request::{GraphqlParams, read_body};

/// What every GraphQL request over HTTP passes first: the response media type by `Accept`
/// (`406` when neither is acceptable), then the caller (`401`, or `503`, for a token that does
/// not verify).
async fn admit(
    req: &HttpRequest,
    state: &ApiState,
) -> Result<(ResponseMediaType, Option<Identity>), HttpResponse> {
    let Some(media_type) = ResponseMediaType::negotiate(accept_header(req)) else {
        return Err(not_acceptable());
    };
    match caller(req, state).await {
        Ok(identity) => Ok((media_type, identity)),
        Err(rejection) => Err(rejection.into_response(Some(media_type))),
    }
}

/// Executes a prepared request as `identity` and writes the response for `media_type`.
async fn execute(
    schema: &AmanahSchema,
    prepared: Prepared,
    identity: Option<Identity>,
    media_type: ResponseMediaType,
) -> HttpResponse {
    let prepared = match identity {
        Some(identity) => prepared.data(identity),
        None => prepared,
    };
    graphql_response(schema.execute_prepared(prepared).await, media_type)
}

/// `POST /graphql`.
pub async fn graphql_post(
    req: HttpRequest,
    payload: web::Payload,
    schema: web::Data<AmanahSchema>,
    state: web::Data<ApiState>,
    request_id: RequestId,
) -> HttpResponse {
    let (media_type, identity) = match admit(&req, &state).await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let reject = |rejection: Rejection| rejection.into_response(Some(media_type));
    if !is_json_content_type(&req) {
        return reject(Rejection::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::BadUserInput,
            Some("content-type"),
            format!("Send GraphQL requests as {APPLICATION_JSON} (UTF-8)."),
        ));
    }
    let params = match read_body(&req, payload, state.config.limits.body_bytes)
        .await
        .and_then(|body| GraphqlParams::from_json_body(&body))
    {
        Ok(params) => params,
        Err(rejection) => return reject(rejection),
    };
    let prepared = schema.prepare(params.into_graphql_request(request_id.clone()));
    if let Some(refusal) = prepared.persisted_refusal() {
        return reject(Rejection::persisted(refusal, media_type));
    }
    let key = match idempotency_key(&req) {
        Ok(key) => key,
        Err(rejection) => return reject(rejection),
    };
    match (prepared.operation_type(), key, identity) {
        (Some(OperationType::Subscription), _, _) => reject(Rejection::bad_request(
            "query",
            "Subscriptions run over the WebSocket at /graphql (graphql-transport-ws), not over \
             HTTP.",
        )),
        (Some(OperationType::Mutation), Some(key), Some(identity)) => {
            Keyed { key, identity }
                .run(&schema, &state, prepared, request_id, media_type)
                .await
        }
        (_, _, identity) => execute(&schema, prepared, identity, media_type).await,
    }
}

/// `GET /graphql`: a query from the query string, or a WebSocket upgrade.
pub async fn graphql_get(
    req: HttpRequest,
    payload: web::Payload,
    schema: web::Data<AmanahSchema>,
    state: web::Data<ApiState>,
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

    let (media_type, identity) = match admit(&req, &state).await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let reject = |rejection: Rejection| rejection.into_response(Some(media_type));
    let params = match GraphqlParams::from_query_string(req.query_string()) {
        Ok(params) => params,
        Err(rejection) => return reject(rejection),
    };
    let prepared = schema.prepare(params.into_graphql_request(request_id));
    if let Some(refusal) = prepared.persisted_refusal() {
        return reject(Rejection::persisted(refusal, media_type));
    }
    match prepared.operation_type() {
        Some(OperationType::Mutation | OperationType::Subscription) => {
            reject(Rejection::method_not_allowed())
        }
        Some(OperationType::Query) | None => execute(&schema, prepared, identity, media_type).await,
    }
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
        .body(schema.sdl().to_owned())
}
