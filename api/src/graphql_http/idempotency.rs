//! The idempotency layer: a `POST` mutation with an `Idempotency-Key` runs at most once per
//! (subject, key) while the key is kept (see the parent module's documentation and
//! [`amanah_infra::store::idempotency`]).

use actix_web::{
    HttpRequest, HttpResponse,
    http::{StatusCode, header},
};
use amanah_domain::errors::Chain;
use amanah_domain::ports::{IdempotencyClaim, KeyClaim, KeyRequest};
use amanah_infra::auth::Identity;
use amanah_infra::store::idempotency::{HEARTBEAT_INTERVAL, request_hash};

use super::negotiation::{
    ResponseMediaType, graphql_response, graphql_response_with, response_body,
};
use super::request::Rejection;
use crate::{
    error::{ErrorCode, error_object},
    graphql::{
        AmanahSchema,
        execution::{Prepared, never_executed},
    },
    request_id::RequestId,
    state::ApiState,
};

/// The header that makes a mutation idempotent.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// The header on a response that is the stored first response to an idempotency key.
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";
/// The longest idempotency key accepted.
pub(super) const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// The `Idempotency-Key` of a request, if any.
pub(super) fn idempotency_key(req: &HttpRequest) -> Result<Option<&str>, Rejection> {
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
pub(super) struct Keyed<'k> {
    pub(super) key: &'k str,
    /// The caller: the key is the subject's (`sub`), and the request runs as it.
    pub(super) identity: Identity,
}

impl Keyed<'_> {
    /// Claims the key, then runs the mutation (and keeps its response), replays the stored
    /// response, or refuses.
    pub(super) async fn run(
        self,
        schema: &AmanahSchema,
        state: &ApiState,
        prepared: Prepared,
        request_id: RequestId,
        media_type: ResponseMediaType,
    ) -> HttpResponse {
        let request = prepared.request();
        let variables = match serde_json::to_value(&request.variables) {
            Ok(variables) => variables,
            Err(error) => return internal(&error, &request_id, media_type),
        };
        // The document run (a persisted one resolved), as sent otherwise.
        let hash = request_hash(&serde_json::json!({
            "query": request.query,
            "operationName": request.operation_name,
            "variables": variables,
        }));
        let claim = state
            .idempotency
            .claim(KeyRequest {
                subject: &self.identity.sub,
                key: self.key,
                hash: &hash,
                request_id: request_id.as_str(),
                ttl: state.config.idempotency.ttl,
                wait: state.config.limits.request_timeout(),
            })
            .await;
        let claim = match claim {
            Ok(KeyClaim::Run(claim)) => claim,
            Ok(KeyClaim::Replay(body)) => return replayed(body, media_type),
            Ok(KeyClaim::Mismatch) => {
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
            Ok(KeyClaim::InProgress) => {
                return Rejection::new(
                    StatusCode::CONFLICT,
                    ErrorCode::Conflict,
                    None,
                    "A request with this Idempotency-Key is still running; retry it later."
                        .to_owned(),
                )
                .with_header(header::RETRY_AFTER, "1")
                .into_response(Some(media_type));
            }
            Ok(KeyClaim::Landed {
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
        let store = std::sync::Arc::clone(&state.idempotency);
        let prepared = prepared.data(self.identity).data(claim.clone());
        let finished = actix_web::rt::spawn(async move {
            // While it runs, the heartbeat tells other claims that this holder is alive.
            let execution = schema.execute_prepared(prepared);
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
            let keep = !never_executed(&response)
                && response
                    .errors
                    .iter()
                    .all(|e| ErrorCode::of(e) != Some(ErrorCode::InternalServerError));
            // An executed request's body is the same for both media types: kept as it is sent.
            let kept =
                keep.then(|| response_body(&response, ResponseMediaType::GraphqlResponseJson));
            let outcome = match &kept {
                Some((status, body)) if *status == StatusCode::OK => {
                    store.complete(&claim, body).await.map(|stored| {
                        if !stored {
                            tracing::warn!(
                                "a retry took this request's idempotency key over while it ran; \
                                 its response is not kept"
                            );
                        }
                    })
                }
                // It never executed, or failed internally (down to a response that could not be
                // serialised): a retry may fix it, and runs again.
                _ => store.release(&claim).await,
            };
            if let Err(error) = outcome {
                tracing::error!(error = %Chain(&error), "could not settle an idempotency key");
            }
            (response, kept)
        });
        match finished.await {
            Ok((response, Some((status, body)))) => {
                graphql_response_with(&response, status, body, media_type)
            }
            Ok((response, None)) => graphql_response(response, media_type),
            Err(error) => internal(&error, &request_id, media_type),
        }
    }
}

/// The answer to a retry whose first attempt landed (events `first_index..=last_index`) in a
/// process that died before answering: `CONFLICT` with the indexes, stored as the key's response
/// (the retry holds the key now, as `claim`) so that every later retry gets the same.
pub(super) async fn landed(
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
    let body = serde_json::json!({ "data": null, "errors": [error] }).to_string();
    if let Err(error) = state.idempotency.complete(claim, &body).await {
        return internal(&error, request_id, media_type);
    }
    replayed(body, media_type)
}

/// The stored first response to a key, as it was sent, marked as a replay.
fn replayed(body: String, media_type: ResponseMediaType) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(media_type.content_type())
        .insert_header((IDEMPOTENT_REPLAYED, "true"))
        .body(body)
}

/// A failure of the server's own: `500` (`503` when the database is unavailable), masked, with
/// the request id; the cause goes to the log.
pub(super) fn internal(
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
