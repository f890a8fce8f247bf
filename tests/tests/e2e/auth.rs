//! Identity and access over HTTP, with real tokens: minted with the data directory's generated
//! secret (as `amanah token` mints them), signed with the test RSA key from the JWKS, and forged
//! every way the issue lists. Every bad token is `401` with `WWW-Authenticate` and
//! `UNAUTHENTICATED`, never anonymous.

use amanah_infra::auth::Role;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::test_app::{GraphqlResponse, TestApp};

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/tests/auth/keys");

fn key_file(name: &str) -> Vec<u8> {
    std::fs::read(format!("{KEYS}/{name}")).unwrap()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Claims the server accepts (issuer and audience `amanah`).
fn claims() -> Value {
    json!({ "sub": "forger", "roles": ["admin"], "iss": "amanah", "aud": "amanah",
            "iat": now(), "exp": now() + 600 })
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn sign(header: Header, claims: &Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn hs256(secret: &[u8], claims: &Value) -> String {
    sign(
        Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
}

fn rs256(kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    sign(
        header,
        claims,
        &EncodingKey::from_rsa_pem(&key_file("rsa-private.pem")).unwrap(),
    )
}

fn b64_json(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// A server that also trusts the test JWKS (RS256 key `rsa-1`, among others).
async fn spawn_with_jwks() -> TestApp {
    TestApp::spawn_sqlite_with(|config| {
        config.auth.jwks = Some(format!("{KEYS}/jwks.json"));
    })
    .await
}

/// Asserts the 401 the spec promises for an invalid token.
fn assert_refused(response: &GraphqlResponse, www_authenticate: &str, case: &str) {
    assert_eq!(
        response.status,
        StatusCode::UNAUTHORIZED,
        "{case}: {:?}",
        response.body
    );
    assert!(
        www_authenticate.starts_with("Bearer error=\"invalid_token\", error_description=\""),
        "{case}: {www_authenticate}"
    );
    assert_eq!(response.codes(), ["UNAUTHENTICATED"], "{case}");
    assert!(!response.has_data(), "{case}: {:?}", response.body);
    assert!(
        response
            .content_type
            .starts_with("application/graphql-response+json"),
        "{case}: {}",
        response.content_type
    );
}

/// `POST /graphql { me { sub } }` with this `Authorization` value; the response and its
/// `WWW-Authenticate`.
async fn me_with_authorization(app: &TestApp, authorization: &str) -> (GraphqlResponse, String) {
    let response = app
        .post_graphql()
        .header("authorization", authorization)
        .json(&json!({ "query": "{ me { sub } }" }))
        .send()
        .await
        .unwrap();
    let www_authenticate = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let status = response.status();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    (
        GraphqlResponse {
            status,
            content_type,
            request_id: String::new(),
            body,
        },
        www_authenticate,
    )
}

#[tokio::test]
async fn every_bad_token_is_401_with_www_authenticate_and_never_anonymous() {
    let app = spawn_with_jwks().await;
    let secret = amanah_api::auth::hs256_secret(&app.config).unwrap();
    let secret = secret.as_bytes();
    let valid = hs256(secret, &claims());
    let none_header = b64_json(&json!({ "alg": "none", "typ": "JWT" }));
    let oversized = hs256(secret, &with(claims(), "name", json!("x".repeat(9000))));
    assert!(oversized.len() > 8 * 1024);

    let cases: Vec<(&str, String)> = vec![
        (
            "alg none, no signature",
            format!("{none_header}.{}.", b64_json(&claims())),
        ),
        (
            "alg none with a signature",
            format!("{none_header}.{}.c2lnbmF0dXJl", b64_json(&claims())),
        ),
        (
            "HS256 signed with the RSA public key",
            hs256(&key_file("rsa-public.pem"), &claims()),
        ),
        (
            "HS256 signed with another secret",
            hs256(b"another-secret-that-is-also-32-bytes-long", &claims()),
        ),
        (
            "expired",
            hs256(secret, &with(claims(), "exp", json!(now() - 3600))),
        ),
        (
            "not yet valid",
            hs256(secret, &with(claims(), "nbf", json!(now() + 3600))),
        ),
        (
            "wrong issuer",
            hs256(secret, &with(claims(), "iss", json!("someone-else"))),
        ),
        (
            "wrong audience",
            hs256(secret, &with(claims(), "aud", json!("another-api"))),
        ),
        ("unknown kid", rs256("no-such-key", &claims())),
        ("truncated signature", valid[..valid.len() - 8].to_owned()),
        (
            "truncated to two segments",
            valid.rsplit_once('.').unwrap().0.to_owned(),
        ),
        ("oversized", oversized),
        (
            "not base64",
            "eyJhbGciOiJIUzI1NiJ9.not*base64!.c2ln".to_owned(),
        ),
        (
            "roles as a string",
            hs256(secret, &with(claims(), "roles", json!("admin"))),
        ),
        (
            "an unknown role",
            hs256(secret, &with(claims(), "roles", json!(["superuser"]))),
        ),
        (
            "no subject",
            hs256(secret, &with(claims(), "sub", Value::Null)),
        ),
    ];
    for (case, token) in &cases {
        let (response, www_authenticate) =
            me_with_authorization(&app, &format!("Bearer {token}")).await;
        assert_refused(&response, &www_authenticate, case);
    }
    for (case, authorization) in [
        ("another scheme", "Basic dXNlcjpwYXNzd29yZA==".to_owned()),
        ("Bearer without a token", "Bearer".to_owned()),
        ("two tokens", format!("Bearer {valid} {valid}")),
    ] {
        let (response, www_authenticate) = me_with_authorization(&app, &authorization).await;
        assert_refused(&response, &www_authenticate, case);
    }
    // GET is checked the same way.
    let response = app
        .get("/graphql?query=%7B%20me%20%7B%20sub%20%7D%20%7D")
        .bearer_auth(&cases[4].1)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().contains_key("www-authenticate"));

    // The same server accepts the good ones: HS256 with its secret, RS256 from the JWKS.
    for (case, token) in [("HS256", valid), ("RS256", rs256("rsa-1", &claims()))] {
        let response = app
            .graphql_as(&token, "{ me { sub roles } }", json!({}))
            .await;
        assert_eq!(response.status, StatusCode::OK, "{case}");
        assert_eq!(
            response.body["data"]["me"],
            json!({ "sub": "forger", "roles": ["ADMIN"] }),
            "{case}"
        );
    }
}

#[tokio::test]
async fn a_missing_token_is_anonymous() {
    let app = TestApp::spawn_sqlite().await;
    let response = app.graphql("{ me { sub } apiVersion }", json!({})).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body["data"]["me"], Value::Null);
}

#[tokio::test]
async fn an_unreachable_jwks_is_503_with_retry_after_not_401() {
    let app = TestApp::spawn_sqlite_with(|config| {
        config.auth.jwks = Some("https://127.0.0.1:1/jwks.json".to_owned());
    })
    .await;
    let response = app
        .post_graphql()
        .bearer_auth(rs256("rsa-1", &claims()))
        .json(&json!({ "query": "{ me { sub } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    assert!(!response.headers().contains_key("www-authenticate"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

const REGISTER_ORGANISATION: &str = "mutation($input: RegisterOrganisationInput!) {
    registerOrganisation(input: $input) { organisation { id } auditIndex } }";

const RECORD_TRANSACTION: &str = "mutation($input: RecordTransactionInput!) {
    recordTransaction(input: $input) { project { version } auditIndex } }";

#[tokio::test]
async fn mutations_follow_the_access_table_and_record_the_caller() {
    let app = TestApp::spawn_sqlite().await;
    let editor = app.token("editor@asean.org", &[Role::Editor], None);
    let reporting = app
        .register_organisation(&editor, "Federal Foreign Office", Some("XM-DAC-5-7"))
        .await
        .0;
    let own = app
        .register_organisation(&editor, "Implementing agency", None)
        .await
        .0;
    let other = app
        .register_organisation(&editor, "Outside agency", None)
        .await
        .0;
    let response = app
        .graphql_as(
            &editor,
            "mutation($input: RegisterProjectInput!) { registerProject(input: $input) { project { id } } }",
            json!({ "input": {
                "iatiIdentifier": "XM-DAC-5-7-E2E-1", "reportingOrganisationId": reporting,
                "title": "End-to-end project", "description": "Changed over HTTP.",
                "plannedStart": "2016-01-01", "plannedEnd": "2018-12-31",
                "recipientCountries": [{ "country": "ID", "percentage": "100" }],
                "sectors": [{ "code": "15113", "percentage": "100" }],
                "participatingOrganisations": [
                    { "organisationId": reporting, "role": "FUNDING" },
                    { "organisationId": own, "role": "IMPLEMENTING" },
                ],
            } }),
        )
        .await;
    let project = response.body["data"]["registerProject"]["project"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let transaction = |version: i64| {
        json!({ "input": { "projectId": project, "expectedVersion": version, "type": "DISBURSEMENT",
                           "date": "2016-05-01", "valueDate": "2016-05-01",
                           "value": { "minorUnits": "500000", "currency": "EUR" } } })
    };

    // Anonymous: UNAUTHENTICATED; a viewer and the other organisation's integrator: FORBIDDEN.
    // The request executed (200) and appended nothing.
    let before = app.log_size().await;
    let response = app.graphql(RECORD_TRANSACTION, transaction(1)).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.codes(), ["UNAUTHENTICATED"]);
    let viewer = app.token("reader", &[Role::Viewer], None);
    let response = app
        .graphql_as(
            &viewer,
            REGISTER_ORGANISATION,
            json!({ "input": { "name": "Not allowed", "type": "OTHER" } }),
        )
        .await;
    assert_eq!(response.codes(), ["FORBIDDEN"]);
    assert_eq!(response.body["data"], Value::Null);
    let outsider = app.token(
        "outsider-system",
        &[Role::Integrator],
        Some(other.parse().unwrap()),
    );
    let response = app
        .graphql_as(&outsider, RECORD_TRANSACTION, transaction(1))
        .await;
    assert_eq!(response.codes(), ["FORBIDDEN"]);
    let auditor = app.token("sai", &[Role::Auditor], None);
    let response = app
        .graphql_as(&auditor, RECORD_TRANSACTION, transaction(1))
        .await;
    assert_eq!(response.codes(), ["FORBIDDEN"]);
    assert_eq!(app.log_size().await, before);

    // The integrator of a participating organisation may; its event names it and the request.
    let org = own.parse().unwrap();
    let integrator = app.token("partner-system", &[Role::Integrator], Some(org));
    let response = app
        .send(
            app.post_graphql()
                .bearer_auth(&integrator)
                .header("x-request-id", "e2e-integrator-1")
                .json(&json!({ "query": RECORD_TRANSACTION, "variables": transaction(1) })),
        )
        .await;
    response.assert_no_errors();
    let index = response.body["data"]["recordTransaction"]["auditIndex"]
        .as_u64()
        .unwrap();
    let events = app
        .state
        .commands
        .store()
        .read_range(index, 1)
        .await
        .unwrap();
    let event = &events[0];
    assert_eq!(event.index, index);
    assert_eq!(event.actor.sub, "partner-system");
    assert_eq!(event.actor.roles, ["integrator"]);
    assert_eq!(event.actor.org, Some(org));
    assert_eq!(event.request_id.as_deref(), Some("e2e-integrator-1"));
    let leaf: Value = serde_json::from_slice(&event.canonical).unwrap();
    assert_eq!(leaf["actor"]["sub"], "partner-system");
    assert_eq!(leaf["actor"]["org"], json!(own));

    // Auditors find the change by its actor; others may not look.
    let by_actor = "{ auditEvents(filter: { actor: \"partner-system\" }) {
        totalCount edges { node { index type actor { sub roles org } requestId } } } }";
    let response = app.graphql_as(&auditor, by_actor, json!({})).await;
    response.assert_no_errors();
    assert_eq!(
        response.body["data"]["auditEvents"]["edges"],
        json!([{ "node": { "index": index, "type": "TransactionRecorded",
            "actor": { "sub": "partner-system", "roles": ["integrator"], "org": own },
            "requestId": "e2e-integrator-1" } }])
    );
    let response = app.graphql_as(&integrator, by_actor, json!({})).await;
    assert_eq!(response.codes(), ["FORBIDDEN"]);
}

#[tokio::test]
async fn without_public_read_anonymous_reads_are_unauthenticated() {
    let app = TestApp::spawn_sqlite_with(|config| config.public_read = false).await;
    let response = app.graphql("{ projects { totalCount } }", json!({})).await;
    assert_eq!(response.codes(), ["UNAUTHENTICATED"], "{:?}", response.body);
    let viewer = app.token("reader", &[Role::Viewer], None);
    let response = app
        .graphql_as(&viewer, "{ projects { totalCount } }", json!({}))
        .await;
    assert_eq!(response.body["data"]["projects"]["totalCount"], 0);
}
