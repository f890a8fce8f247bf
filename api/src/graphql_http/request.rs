//! What a GraphQL-over-HTTP request asks: its parameters from a JSON body or a query string,
//! its caller (the bearer token), its body within the size limit, and the rejections of malformed
//! requests.

use actix_web::{
    HttpRequest, HttpResponse,
    http::{StatusCode, header},
    web,
};
use amanah_infra::auth::{AuthError, Identity};
use async_graphql::Variables;

use super::negotiation::{APPLICATION_JSON, ResponseMediaType};
use crate::{
    error::{ErrorCode, error_object},
    graphql::persisted,
    request_id::RequestId,
    state::ApiState,
};

/// The parameters of a GraphQL-over-HTTP request.
#[derive(Debug)]
pub(super) struct GraphqlParams {
    pub(super) query: String,
    pub(super) operation_name: Option<String>,
    pub(super) variables: serde_json::Map<String, serde_json::Value>,
    pub(super) extensions: serde_json::Map<String, serde_json::Value>,
}

/// A request that cannot become a GraphQL request: status and one catalogue error.
#[derive(Debug)]
pub(crate) struct Rejection {
    status: StatusCode,
    code: ErrorCode,
    field: Option<&'static str>,
    message: String,
    /// Extra response headers (`WWW-Authenticate`, `Retry-After`, `Allow`).
    headers: Vec<(header::HeaderName, String)>,
}

impl Rejection {
    pub(crate) fn new(
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

    /// The rejection with the response header `name: value`.
    pub(crate) fn with_header(
        mut self,
        name: header::HeaderName,
        value: impl Into<String>,
    ) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// `405` with `Allow: POST`: an operation other than a query sent with `GET`.
    pub(super) fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::BadUserInput,
            Some("query"),
            "GET runs queries only; send mutations with POST.".to_owned(),
        )
        .with_header(header::ALLOW, "POST")
    }

    /// A request whose persisted document cannot be found or accepted (see
    /// [`crate::graphql::persisted`]): like any request that cannot execute, `400`, or `200` for
    /// `application/json`; a malformed reference is `400` for both.
    pub(super) fn persisted(refusal: &persisted::Refusal, media_type: ResponseMediaType) -> Self {
        let status = match (refusal.field, media_type) {
            (None, ResponseMediaType::Json) => StatusCode::OK,
            _ => StatusCode::BAD_REQUEST,
        };
        Self::new(status, refusal.code, refusal.field, refusal.message.clone())
    }

    pub(super) fn bad_request(field: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadUserInput,
            Some(field),
            message.into(),
        )
    }

    /// A token that did not verify: `401` with `WWW-Authenticate`, or `503` with `Retry-After`
    /// when the keys to check it are unavailable.
    pub(super) fn unauthenticated(error: &AuthError) -> Self {
        if error.is_transient() {
            Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Unauthenticated,
                None,
                error.message(),
            )
            .with_header(header::RETRY_AFTER, JWKS_RETRY_AFTER_SECS.to_string())
        } else {
            Self::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthenticated,
                None,
                error.message(),
            )
            .with_header(header::WWW_AUTHENTICATE, error.www_authenticate())
        }
    }

    /// The response: the status, the headers, and `{"errors": [the error]}` as `media_type`
    /// (`application/json` when none was negotiated).
    pub(crate) fn into_response(self, media_type: Option<ResponseMediaType>) -> HttpResponse {
        let mut error = error_object(self.code, &self.message);
        if let Some(field) = self.field {
            error["extensions"]["field"] = field.into();
        }
        let content_type = media_type.map_or(APPLICATION_JSON, ResponseMediaType::content_type);
        let mut response = HttpResponse::build(self.status);
        response.content_type(content_type);
        for (name, value) in self.headers {
            response.insert_header((name, value));
        }
        response.body(serde_json::json!({ "errors": [error] }).to_string())
    }
}

impl GraphqlParams {
    /// From a JSON request body: an object with a string `query` and optional `operationName`,
    /// `variables` and `extensions`.
    pub(super) fn from_json_body(body: &[u8]) -> Result<Self, Rejection> {
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
    /// query, which [`crate::graphql::execution::Catalogued::prepare`] resolves).
    pub(super) fn query_or_persisted(
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

    /// From a `GET` query string; `variables` and `extensions` are JSON-encoded.
    pub(super) fn from_query_string(query_string: &str) -> Result<Self, Rejection> {
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
                    variables = json_object_param(&value, "variables")?;
                }
                "extensions" if !value.is_empty() => {
                    extensions = json_object_param(&value, "extensions")?;
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

    /// The GraphQL request, with `request_id` in its data.
    pub(super) fn into_graphql_request(self, request_id: RequestId) -> async_graphql::Request {
        let mut request = async_graphql::Request::new(self.query)
            .variables(Variables::from_json(serde_json::Value::Object(
                self.variables,
            )))
            .data(request_id);
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

/// A query-string parameter that holds a JSON object (or `null`).
fn json_object_param(
    value: &str,
    field: &'static str,
) -> Result<serde_json::Map<String, serde_json::Value>, Rejection> {
    let value = serde_json::from_str(value)
        .map_err(|_| Rejection::bad_request(field, format!("`{field}` must be JSON.")))?;
    optional_object(Some(value), field)
}

pub(super) fn optional_object(
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

/// Seconds a client is asked to wait when the JWKS could not be loaded (the verifier refetches at
/// most once per refresh floor, 30 s by default).
const JWKS_RETRY_AFTER_SECS: u64 = 30;

/// The caller of an HTTP request: `Authorization` verified, or anonymous when absent.
pub(crate) async fn caller(
    req: &HttpRequest,
    state: &ApiState,
) -> Result<Option<Identity>, Rejection> {
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

/// Reads the body up to `limit` bytes; `413` beyond it (at once when `Content-Length` says so).
pub(super) async fn read_body(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, Rejection> {
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
    match payload.to_bytes_limited(limit).await {
        Ok(Ok(body)) => Ok(body),
        Ok(Err(error)) => Err(Rejection::bad_request(
            "body",
            format!("The request body could not be read: {error}."),
        )),
        Err(_) => Err(too_large()),
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use super::*;
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
}
