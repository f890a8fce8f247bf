//! Content negotiation and the shape of GraphQL responses over HTTP: the response media type by
//! `Accept`, the request body's `Content-Type`, and the status code and body of a response
//! (see the parent module's documentation).

use actix_web::{
    HttpRequest, HttpResponse,
    http::{StatusCode, header},
};

use super::request::Rejection;
use crate::error::ErrorCode;
use crate::graphql::execution::never_executed;

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
pub(super) struct MediaRange<'a> {
    kind: &'a str,
    subtype: &'a str,
    /// Quality in thousandths (`q=0.5` → 500).
    quality: u16,
    /// A `charset` parameter other than UTF-8 makes the range unusable.
    usable_charset: bool,
}

impl<'a> MediaRange<'a> {
    pub(super) fn parse(text: &'a str) -> Option<Self> {
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
    pub(super) fn specificity(&self, media_type: &str) -> Option<u8> {
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
pub(super) fn parse_quality(value: &str) -> Option<u16> {
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

/// Whether the `Content-Type` is JSON in UTF-8 (`application/json`, optionally `charset=utf-8`).
pub(super) fn is_json_content_type(req: &HttpRequest) -> bool {
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

pub(super) fn accept_header(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
}

pub(super) fn not_acceptable() -> HttpResponse {
    Rejection::new(
        StatusCode::NOT_ACCEPTABLE,
        ErrorCode::BadUserInput,
        Some("accept"),
        format!("The Accept header allows neither {GRAPHQL_RESPONSE_JSON} nor {APPLICATION_JSON}."),
    )
    .into_response(None)
}

/// A GraphQL response as HTTP (see the module documentation for the status codes).
#[must_use]
pub fn graphql_response(
    response: async_graphql::Response,
    media_type: ResponseMediaType,
) -> HttpResponse {
    let (status, body) = response_body(&response, media_type);
    graphql_response_with(&response, status, body, media_type)
}

/// A GraphQL response as HTTP, its status and body ([`response_body`]) already made.
pub(super) fn graphql_response_with(
    response: &async_graphql::Response,
    status: StatusCode,
    body: String,
    media_type: ResponseMediaType,
) -> HttpResponse {
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

/// The body of a request that never executed: no `data` at all.
#[derive(serde::Serialize)]
pub(super) struct RequestErrorBody<'a> {
    errors: &'a [async_graphql::ServerError],
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    extensions: &'a std::collections::BTreeMap<String, async_graphql::Value>,
}

/// The status and JSON body of a GraphQL response (see the module documentation). The response
/// is serialised as it is, never through `serde_json::Value` (whose objects sort their keys), so
/// that `data` keeps the order of the selection, as the GraphQL specification asks of
/// serialisations that can keep it.
pub(super) fn response_body(
    response: &async_graphql::Response,
    media_type: ResponseMediaType,
) -> (StatusCode, String) {
    let request_error = never_executed(response);
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

#[cfg(test)]
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
}
