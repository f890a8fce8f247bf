//! The request id: one string that ties a request's response header, log lines, trace and the
//! events it appends together (`docs/api.md`, "HTTP").
//!
//! Taken from the incoming `x-request-id` when it is well-formed (1 to 128 characters of
//! `[A-Za-z0-9._-]`, so it is safe in logs and headers), otherwise a new UUID v7. The middleware in
//! [`crate::middleware`] decides it once per request and stores it in the request's extensions;
//! handlers extract it as a [`RequestId`] argument, and the GraphQL handler inserts it into the
//! GraphQL request data, where resolvers read it with `ctx.data_opt::<RequestId>()` (or
//! [`crate::graphql::ContextExt::request_id`]).

use std::{
    fmt,
    future::{Ready, ready},
};

use actix_web::{
    FromRequest, HttpMessage as _, HttpRequest, dev::Payload, http::header::HeaderValue,
};

/// The name of the header that carries the request id both ways.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The longest request id accepted from a client.
pub const MAX_LENGTH: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestId(String);

impl RequestId {
    /// Accepts a client-supplied id when it is well-formed.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let well_formed = !text.is_empty()
            && text.len() <= MAX_LENGTH
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        well_formed.then(|| Self(text.to_owned()))
    }

    /// A new id: a UUID v7, so ids sort by time.
    #[must_use]
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().to_string())
    }

    /// The incoming header's id if well-formed, else a new one.
    #[must_use]
    pub fn from_header(value: Option<&HeaderValue>) -> Self {
        value
            .and_then(|v| v.to_str().ok())
            .and_then(Self::parse)
            .unwrap_or_else(Self::generate)
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// As a header value; always valid, since the characters are restricted.
    #[must_use]
    pub fn header_value(&self) -> HeaderValue {
        HeaderValue::from_str(&self.0).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The id the middleware chose; a fresh one if the handler runs without the middleware.
impl FromRequest for RequestId {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let id = req
            .extensions()
            .get::<Self>()
            .cloned()
            .unwrap_or_else(Self::generate);
        ready(Ok(id))
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use super::*;

    #[test]
    fn well_formed_ids_are_kept() {
        for id in [
            "abc",
            "A.b_c-9",
            &"x".repeat(128),
            "0191e0b4-7c1e-7d3a-9c1b-1234567890ab",
        ] {
            assert_eq!(RequestId::parse(id).unwrap().as_str(), id);
        }
    }

    #[test]
    fn malformed_ids_are_refused() {
        for id in [
            "",
            &"x".repeat(129),
            "has space",
            "semi;colon",
            "ünïcode",
            "new\nline",
        ] {
            assert!(RequestId::parse(id).is_none(), "{id:?}");
        }
    }

    #[test]
    fn a_missing_or_malformed_header_gets_a_uuid_v7() {
        let id = RequestId::from_header(None);
        let uuid = uuid::Uuid::parse_str(id.as_str()).unwrap();
        assert_eq!(uuid.get_version_num(), 7);
        let id = RequestId::from_header(Some(&HeaderValue::from_static("bad id!")));
        assert!(uuid::Uuid::parse_str(id.as_str()).is_ok());
        let id = RequestId::from_header(Some(&HeaderValue::from_static("good-id")));
        assert_eq!(id.as_str(), "good-id");
    }
}
