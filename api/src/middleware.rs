//! The one middleware every request passes through: request id, tracing span, deadline, metrics.
//!
//! For each request it
//! 1. decides the [`RequestId`] (the client's when well-formed, else a new one) and stores it in the
//!    request's extensions for handlers;
//! 2. runs the handler inside an `http_request` span carrying the method, route and request id,
//!    so every log line and child span of the request (GraphQL resolvers included) has them;
//! 3. abandons the handler after [`RequestDeadline`] with `503` and a catalogue error. Dropping the
//!    handler rolls back any open database transaction. Every request is bounded, WebSocket
//!    upgrades too: the deadline covers producing the response's head, and an upgrade's head (the
//!    `101`) is ready at once; the connection then lives in the response body, which the deadline
//!    does not cover. (An exemption for requests that merely carried `Upgrade: websocket` once
//!    let any client hold a worker with a slow body.)
//! 4. sets `x-request-id` on the response, whatever produced it (handler, error or deadline);
//! 5. counts the SQL statements the request sends, and records the request in [`HttpMetrics`] and
//!    logs one line with status, latency and statements (at `debug` for the probes and
//!    `/metrics`, which machines call every few seconds).

use std::time::{Duration, Instant};

use actix_web::{
    HttpMessage as _, HttpResponse,
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    error::InternalError,
    http::{StatusCode, header},
    middleware::Next,
    web,
};
use tracing::Instrument as _;

use crate::{
    error::{ErrorCode, error_object},
    metrics::{HttpMetrics, standard_method},
    request_id::{REQUEST_ID_HEADER, RequestId},
};

/// How long a request may take: [`crate::config::Limits::request_timeout`].
#[derive(Debug, Clone, Copy)]
pub struct RequestDeadline(pub Duration);

/// Routes that orchestrators and monitoring call on a schedule.
fn is_probe(route: &str) -> bool {
    matches!(route, "/healthz" | "/readyz" | "/metrics")
}

fn deadline_response(deadline: Duration, request_id: &RequestId) -> HttpResponse {
    let mut error = error_object(
        ErrorCode::InternalServerError,
        &format!(
            "The request took longer than {} s and was abandoned; simplify it or retry later.",
            deadline.as_secs()
        ),
    );
    error["extensions"]["requestId"] = request_id.as_str().into();
    HttpResponse::build(StatusCode::SERVICE_UNAVAILABLE)
        .content_type("application/json")
        .json(serde_json::json!({ "errors": [error] }))
}

/// See the module documentation.
///
/// # Errors
/// Errors of inner services, and the deadline, as errors whose ready-made response carries the
/// request id too.
pub async fn observe_request(
    metrics: web::Data<HttpMetrics>,
    deadline: web::Data<RequestDeadline>,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let request_id = RequestId::from_header(req.headers().get(REQUEST_ID_HEADER));
    req.extensions_mut().insert(request_id.clone());

    // The standard methods by name, anything else as OpenTelemetry's `_OTHER`: a client can send
    // any token as a method, and it must not become a label or a 4 KB span attribute.
    let method = req.method().to_string();
    let method_attribute = standard_method(req.method().as_str()).unwrap_or("_OTHER");
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let span = tracing::info_span!(
        crate::telemetry::REQUEST_SPAN,
        http.request.method = method_attribute,
        http.route = %route,
        url.path = %req.path(),
        request_id = %request_id,
        http.response.status_code = tracing::field::Empty,
    );
    // The request's SQL statements are counted (its own and its batch loaders').
    let handled = amanah_infra::store::statements::counted(next.call(req).instrument(span.clone()));
    let (outcome, statements) = match tokio::time::timeout(deadline.0, handled).await {
        Ok((outcome, statements)) => (Some(outcome), Some(statements)),
        Err(_) => (None, None),
    };
    // The request cannot be kept to build responses of our own (cloning it before routing breaks
    // the router), so failures leave as errors whose response is ready-made, header included.
    let header_name = header::HeaderName::from_static(REQUEST_ID_HEADER);
    let result: Result<ServiceResponse<BoxBody>, actix_web::Error> = match outcome {
        Some(Ok(response)) => {
            let mut response = response.map_into_boxed_body();
            response
                .headers_mut()
                .insert(header_name, request_id.header_value());
            Ok(response)
        }
        Some(Err(error)) => {
            let mut response = error.error_response();
            response
                .headers_mut()
                .insert(header_name, request_id.header_value());
            Err(InternalError::from_response(error, response).into())
        }
        None => {
            let mut response = deadline_response(deadline.0, &request_id);
            response
                .headers_mut()
                .insert(header_name, request_id.header_value());
            Err(InternalError::from_response("request deadline exceeded", response).into())
        }
    };
    let status = match &result {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };

    let status = status.as_u16();
    let elapsed = started.elapsed();
    metrics.record(&method, &route, status, elapsed, statements);
    span.record("http.response.status_code", status);
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    span.in_scope(|| {
        // Probes and scrapes arrive every few seconds from machines: keep them out of `info`.
        if is_probe(&route) {
            tracing::debug!(
                status,
                latency_ms,
                sql_statements = statements,
                "request finished"
            );
        } else {
            tracing::info!(
                status,
                latency_ms,
                sql_statements = statements,
                "request finished"
            );
        }
    });
    result
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use actix_web::{
        App, HttpResponse, body::to_bytes, dev::Service as _, middleware::from_fn, test, web,
    };

    use super::*;

    async fn slow() -> HttpResponse {
        tokio::time::sleep(Duration::from_secs(5)).await;
        HttpResponse::Ok().finish()
    }

    async fn fast() -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    async fn failing() -> Result<HttpResponse, actix_web::Error> {
        Err(actix_web::error::ErrorBadRequest("no"))
    }

    /// Calls the app as the HTTP dispatcher does: an error becomes its response.
    async fn call(
        metrics: &web::Data<HttpMetrics>,
        request: test::TestRequest,
    ) -> (StatusCode, String, serde_json::Value) {
        let app = test::init_service(
            App::new()
                .wrap(from_fn(observe_request))
                .app_data(metrics.clone())
                .app_data(web::Data::new(RequestDeadline(Duration::from_millis(50))))
                .route("/slow", web::get().to(slow))
                .route("/fast", web::get().to(fast))
                .route("/failing", web::get().to(failing)),
        )
        .await;
        let response = match app.call(request.to_request()).await {
            Ok(response) => response.into_parts().1,
            Err(error) => error.error_response(),
        };
        let status = response.status();
        let request_id = response
            .headers()
            .get(REQUEST_ID_HEADER)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let body = to_bytes(response.into_body()).await.unwrap();
        let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
        (status, request_id, body)
    }

    #[actix_web::test]
    async fn a_request_over_the_deadline_gets_503_with_its_request_id() {
        let metrics = web::Data::new(HttpMetrics::default());
        let request = test::TestRequest::get()
            .uri("/slow")
            .insert_header((REQUEST_ID_HEADER, "slow-1"));
        let (status, request_id, body) = call(&metrics, request).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(request_id, "slow-1");
        assert_eq!(
            body["errors"][0]["extensions"]["code"],
            "INTERNAL_SERVER_ERROR"
        );
        assert_eq!(body["errors"][0]["extensions"]["requestId"], "slow-1");
        assert!(
            metrics.render().contains(
                r#"amanah_http_requests_total{method="GET",route="/slow",status="503"} 1"#
            )
        );
    }

    #[actix_web::test]
    async fn errors_and_unknown_routes_carry_a_request_id_and_are_counted() {
        let metrics = web::Data::new(HttpMetrics::default());
        let (status, request_id, _) =
            call(&metrics, test::TestRequest::get().uri("/failing")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(RequestId::parse(&request_id).is_some());
        let (status, request_id, _) =
            call(&metrics, test::TestRequest::get().uri("/nowhere")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(RequestId::parse(&request_id).is_some());
        let (status, _, _) = call(&metrics, test::TestRequest::get().uri("/fast")).await;
        assert_eq!(status, StatusCode::OK);

        let text = metrics.render();
        for line in [
            r#"amanah_http_requests_total{method="GET",route="/failing",status="400"} 1"#,
            r#"amanah_http_requests_total{method="GET",route="unmatched",status="404"} 1"#,
            r#"amanah_http_requests_total{method="GET",route="/fast",status="200"} 1"#,
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
    }
}
