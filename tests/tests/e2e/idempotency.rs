//! `Idempotency-Key` on mutations, over HTTP with real tokens: concurrent duplicates append exactly
//! once and all get the first response; a replay with a changed body is `CONFLICT`; keys belong
//! to their subject.

use amanah_infra::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::test_app::TestApp;

const REGISTER: &str = "mutation($input: RegisterOrganisationInput!) {
    registerOrganisation(input: $input) { organisation { id name } auditIndex } }";

/// A keyed `registerOrganisation` as the bearer of `token`: status, whether it was a replay, body.
async fn register(app: &TestApp, token: &str, key: &str, name: &str) -> (StatusCode, bool, Value) {
    let response = app
        .post_graphql()
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(&json!({ "query": REGISTER,
                       "variables": { "input": { "name": name, "type": "GOVERNMENT" } } }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let replayed = response
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true");
    (status, replayed, response.json().await.unwrap())
}

#[tokio::test]
async fn fifty_concurrent_identical_keyed_requests_append_exactly_once() {
    let app = TestApp::spawn_sqlite().await;
    let token = app.token("partner-system", &[Role::Editor], None);
    let before = app.log_size().await;
    let responses = futures::future::join_all(
        (0..50).map(|_| register(&app, &token, "batch-2026-11-28-001", "Audit Board")),
    )
    .await;
    assert_eq!(app.log_size().await, before + 1, "exactly one append");
    let first = &responses[0].2;
    assert!(
        first["data"]["registerOrganisation"]["organisation"]["id"].is_string(),
        "{first}"
    );
    for (status, _, body) in &responses {
        assert_eq!(*status, StatusCode::OK);
        assert_eq!(body, first, "every caller gets the first response");
    }
    let replays = responses
        .iter()
        .filter(|(_, replayed, _)| *replayed)
        .count();
    assert_eq!(replays, 49);
}

#[tokio::test]
async fn a_replayed_key_with_a_changed_body_is_conflict_and_appends_nothing() {
    let app = TestApp::spawn_sqlite().await;
    let token = app.token("partner-system", &[Role::Editor], None);
    let (status, replayed, first) = register(&app, &token, "k-1", "Audit Board").await;
    assert_eq!((status, replayed), (StatusCode::OK, false), "{first}");
    let size = app.log_size().await;

    let (status, replayed, again) = register(&app, &token, "k-1", "Audit Board").await;
    assert_eq!((status, replayed), (StatusCode::OK, true));
    assert_eq!(again, first);

    let (status, _, changed) = register(&app, &token, "k-1", "Another Board").await;
    assert_eq!(status, StatusCode::CONFLICT, "{changed}");
    assert_eq!(changed["errors"][0]["extensions"]["code"], "CONFLICT");
    assert!(changed.get("data").is_none(), "{changed}");
    assert_eq!(app.log_size().await, size);

    // The same key from another subject is another key; no key at all is no idempotency.
    let other = app.token("another-system", &[Role::Editor], None);
    let (status, replayed, _) = register(&app, &other, "k-1", "Another Board").await;
    assert_eq!((status, replayed), (StatusCode::OK, false));
    assert_eq!(app.log_size().await, size + 1);
}

#[tokio::test]
async fn a_refused_first_attempt_is_replayed_and_a_malformed_key_is_400() {
    let app = TestApp::spawn_sqlite().await;
    let viewer = app.token("reader", &[Role::Viewer], None);
    let (status, _, body) = register(&app, &viewer, "k-2", "Audit Board").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
    let (_, replayed, again) = register(&app, &viewer, "k-2", "Audit Board").await;
    assert!(replayed);
    assert_eq!(again, body);

    let editor = app.token("editor", &[Role::Editor], None);
    for key in ["", "has space", &"x".repeat(256)] {
        let (status, _, body) = register(&app, &editor, key, "Audit Board").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{key:?}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "idempotency-key");
    }
    assert_eq!(app.log_size().await, 0);
}
