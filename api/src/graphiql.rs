//! `GET /graphiql`: GraphiQL, served entirely from the binary.
//!
//! Partner ministries and audit institutions often work on closed networks, so nothing the page
//! needs comes from elsewhere: GraphiQL 3.9.0 with React 18.3.1 (their UMD builds, from npm,
//! vendored in `api/assets/vendor/graphiql` with their licences by its `fetch.sh`, which checks
//! each package against its npm integrity) and the page's own start-up script are embedded here,
//! and [`ASSETS`] pins the SHA-256 of each vendored file (a test fails when a file differs). The
//! page carries a Content-Security-Policy that lets it load and connect to this server only.
//!
//! The page's GraphiQL sends queries and mutations to `/graphql` and runs subscriptions over its
//! WebSocket; the headers typed into GraphiQL's *Headers* tab go with both (on the WebSocket, in
//! the `connection_init` payload, where [`crate::graphql_ws`] reads `Authorization`).

use actix_web::{HttpResponse, http::header, web};

/// The page's Content-Security-Policy: everything from this server, nothing inline but styles
/// (GraphiQL's editor sets them), no frames, no other origins.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
     connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// One file the page loads.
pub struct Asset {
    /// Its name under `/graphiql/assets/`.
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
    /// SHA-256 (hex) of a vendored file as npm ships it; `None` for the page's own files.
    pub sha256: Option<&'static str>,
}

/// The page and everything it loads.
pub const ASSETS: [Asset; 6] = [
    Asset {
        name: "react.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/vendor/graphiql/react.production.min.js"),
        sha256: Some("d949f1c3687aedadcedac85261865f29b17cd273997e7f6b2bfc53b2f9d4c4dd"),
    },
    Asset {
        name: "react-dom.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/vendor/graphiql/react-dom.production.min.js"),
        sha256: Some("35f4f974f4b2bcd44da73963347f8952e341f83909e4498227d4e26b98f66f0d"),
    },
    Asset {
        name: "graphiql.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/vendor/graphiql/graphiql.min.js"),
        sha256: Some("a330a2be1d2389486840a9d0a834767d9083a23f105879e0de54e4fce83d3513"),
    },
    Asset {
        name: "graphiql.min.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../assets/vendor/graphiql/graphiql.min.css"),
        sha256: Some("bdddd50aac5bdb0edd83e5c862ba2fed9db2964e4c75d4655ab62b0a7d5bd730"),
    },
    Asset {
        name: "amanah-graphiql.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/graphiql.js"),
        sha256: None,
    },
    Asset {
        name: "amanah-graphiql.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../assets/graphiql.css"),
        sha256: None,
    },
];

/// The page.
const PAGE: &str = include_str!("../assets/graphiql.html");

/// `GET /graphiql`.
pub async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(PAGE)
}

/// `GET /graphiql/assets/{name}`: one of [`ASSETS`], or 404.
pub async fn asset(name: web::Path<String>) -> HttpResponse {
    match ASSETS.iter().find(|asset| asset.name == name.as_str()) {
        Some(asset) => HttpResponse::Ok()
            .content_type(asset.content_type)
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            // They change only with the binary; an hour spares reloads, a restart refreshes.
            .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
            .body(asset.bytes),
        None => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("no such GraphiQL asset\n"),
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use sha2::{Digest as _, Sha256};

    use super::*;

    fn sha256_hex(bytes: &[u8]) -> String {
        Sha256::digest(bytes)
            .iter()
            .fold(String::new(), |mut hex, byte| {
                let _ = write!(hex, "{byte:02x}");
                hex
            })
    }

    /// The vendored files are the ones npm ships at the pinned versions (`fetch.sh` checks the
    /// packages' integrity; this pins the files taken from them).
    #[test]
    fn every_vendored_file_has_its_pinned_hash() {
        for asset in ASSETS {
            if let Some(pinned) = asset.sha256 {
                assert_eq!(sha256_hex(asset.bytes), pinned, "{}", asset.name);
            }
        }
    }

    /// The page loads exactly the assets served, from this server, and nothing else.
    #[test]
    fn the_page_loads_every_asset_from_this_server_only() {
        let loaded: Vec<&str> = PAGE
            .split(['"', '\''])
            .filter(|part| part.starts_with('/') || part.contains("://"))
            .collect();
        let mut expected: Vec<String> = ASSETS
            .iter()
            .map(|asset| format!("/graphiql/assets/{}", asset.name))
            .collect();
        expected.sort();
        let mut sorted: Vec<String> = loaded.iter().map(|part| (*part).to_owned()).collect();
        sorted.sort();
        assert_eq!(sorted, expected);
        assert!(
            !PAGE.contains("<script>"),
            "no inline script: the CSP forbids it"
        );
    }

    #[test]
    fn the_vendored_code_loads_nothing_from_elsewhere() {
        for asset in ASSETS {
            let text = String::from_utf8_lossy(asset.bytes);
            for cdn in [
                "://unpkg.com",
                "://cdn.jsdelivr.net",
                "://cdnjs.cloudflare.com",
                "://fonts.googleapis.com",
                "://fonts.gstatic.com",
                "://esm.sh",
            ] {
                assert!(!text.contains(cdn), "{} mentions {cdn}", asset.name);
            }
        }
    }
}
