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

/// Makes the key look as if its holder had died `STALE_AFTER` + 1 s ago, running `request_id`,
/// without having stored its response.
async fn kill_holder(app: &TestApp, key: &str, request_id: &str) {
    use sea_orm::ConnectionTrait as _;
    let stale = i64::try_from(
        (amanah_infra::idempotency::STALE_AFTER + std::time::Duration::from_secs(1)).as_micros(),
    )
    .unwrap();
    let statement = sea_orm::Statement::from_sql_and_values(
        app.state.db.get_database_backend(),
        "UPDATE idempotency_keys SET response = NULL, request_id = $1, \
         heartbeat_at = heartbeat_at - $2 WHERE \"key\" = $3",
        [request_id.into(), stale.into(), key.into()],
    );
    let updated = app.state.db.execute_raw(statement).await.unwrap();
    assert_eq!(updated.rows_affected(), 1);
}

#[tokio::test]
async fn a_retry_after_the_first_attempt_landed_and_its_process_died_appends_nothing() {
    let app = TestApp::spawn_sqlite().await;
    let token = app.token("partner-system", &[Role::Editor], None);
    let response = app
        .post_graphql()
        .bearer_auth(&token)
        .header("idempotency-key", "landed-1")
        .header("x-request-id", "first-attempt-of-landed-1")
        .json(&json!({ "query": REGISTER,
                       "variables": { "input": { "name": "Audit Board", "type": "GOVERNMENT" } } }))
        .send()
        .await
        .unwrap();
    let first: Value = response.json().await.unwrap();
    let index = first["data"]["registerOrganisation"]["auditIndex"]
        .as_u64()
        .unwrap();
    // The process died after the append committed and before the response was stored.
    kill_holder(&app, "landed-1", "first-attempt-of-landed-1").await;
    let size = app.log_size().await;
    for _ in 0..2 {
        let (status, replayed, body) = register(&app, &token, "landed-1", "Audit Board").await;
        assert_eq!(status, StatusCode::OK);
        assert!(replayed);
        let error = &body["errors"][0];
        assert_eq!(error["extensions"]["code"], "CONFLICT", "{body}");
        assert_eq!(error["extensions"]["auditIndex"], index, "{body}");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("applied before"),
            "{body}"
        );
    }
    assert_eq!(app.log_size().await, size, "nothing appended again");
}

#[tokio::test]
async fn a_retry_after_the_first_attempt_died_before_appending_runs_once() {
    let app = TestApp::spawn_sqlite().await;
    let token = app.token("partner-system", &[Role::Editor], None);
    let (_, _, first) = register(&app, &token, "died-1", "Audit Board").await;
    assert!(first["data"]["registerOrganisation"]["auditIndex"].is_u64());
    // Pretend the key was held by an attempt that appended nothing and died.
    kill_holder(&app, "died-1", "an-attempt-that-never-appended").await;
    let size = app.log_size().await;
    let retries =
        futures::future::join_all((0..5).map(|_| register(&app, &token, "died-1", "Audit Board")))
            .await;
    assert_eq!(app.log_size().await, size + 1, "the retry ran exactly once");
    let ran: Vec<&Value> = retries
        .iter()
        .filter(|(_, replayed, _)| !replayed)
        .map(|(_, _, body)| body)
        .collect();
    assert_eq!(ran.len(), 1, "{retries:?}");
    assert_eq!(ran[0]["data"]["registerOrganisation"]["auditIndex"], size);
    for (status, _, body) in &retries {
        assert_eq!(*status, StatusCode::OK);
        assert_eq!(body, ran[0], "every retry gets the one new response");
    }
}

/// A keyed `registerOrganisation` with `variables` as given, as the bearer of `token`: status,
/// whether it was a replay, body.
async fn register_with_variables(
    app: &TestApp,
    token: &str,
    key: &str,
    variables: &Value,
) -> (StatusCode, bool, Value) {
    let response = app
        .post_graphql()
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(&json!({ "query": REGISTER, "variables": variables }))
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
async fn keyed_requests_with_floats_or_integers_beyond_2_pow_53_get_graphql_answers() {
    let app = TestApp::spawn_sqlite().await;
    let token = app.token("partner-system", &[Role::Editor], None);
    let input = json!({ "name": "Audit Board", "type": "GOVERNMENT" });
    for (n, number) in [json!(1.5), json!(1_152_921_504_606_846_976_u64)]
        .into_iter()
        .enumerate()
    {
        // A variable the operation does not declare: the mutation runs, and its retry replays.
        let variables = json!({ "input": input, "unused": number });
        let key = format!("unused-number-{n}");
        let (status, replayed, first) =
            register_with_variables(&app, &token, &key, &variables).await;
        assert_eq!((status, replayed), (StatusCode::OK, false), "{first}");
        assert!(
            first["data"]["registerOrganisation"]["auditIndex"].is_u64(),
            "{first}"
        );
        let size = app.log_size().await;
        let (status, replayed, again) =
            register_with_variables(&app, &token, &key, &variables).await;
        assert_eq!((status, replayed), (StatusCode::OK, true), "{again}");
        assert_eq!(again, first);
        assert_eq!(app.log_size().await, size, "the retry appended nothing");

        // The number where the schema wants a string: the schema's own error, every time.
        let variables = json!({ "input": { "name": number, "type": "GOVERNMENT" } });
        let key = format!("ill-typed-number-{n}");
        let (status, _, first) = register_with_variables(&app, &token, &key, &variables).await;
        assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{first}");
        assert!(first["errors"][0]["message"].is_string(), "{first}");
        assert_ne!(
            first["errors"][0]["extensions"]["code"], "INTERNAL_SERVER_ERROR",
            "{first}"
        );
        let (retry_status, _, again) =
            register_with_variables(&app, &token, &key, &variables).await;
        assert_eq!(retry_status, status);
        assert_eq!(again, first);
        assert_eq!(app.log_size().await, size, "nothing appended");
    }
}
