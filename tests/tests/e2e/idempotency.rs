//! `Idempotency-Key` on mutations, over HTTP with real tokens: concurrent duplicates append exactly
//! once and all get the first response; a replay with a changed body is `CONFLICT`; keys belong
//! to their subject; a key whose holder died is answered by what that key recorded (landed or
//! not), whatever request id the attempts shared; any JSON number in the variables is hashed.

use amanah_infra::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::test_app::TestApp;

const REGISTER: &str = "mutation($input: RegisterOrganisationInput!) {
    registerOrganisation(input: $input) { organisation { id name } auditIndex } }";

/// A keyed `registerOrganisation` as the bearer of `token`: status, whether it was a replay, body.
async fn register(app: &TestApp, token: &str, key: &str, name: &str) -> (StatusCode, bool, Value) {
    let variables = json!({ "input": { "name": name, "type": "GOVERNMENT" } });
    register_with_variables(app, token, key, &variables).await
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

/// Makes the key look as if its holder had died `STALE_AFTER` + 1 s ago without having stored
/// its response (whatever it appended stays recorded in the key).
async fn kill_holder(app: &TestApp, key: &str) {
    use sea_orm::ConnectionTrait as _;
    let statement = sea_orm::Statement::from_sql_and_values(
        app.state.db.connection().get_database_backend(),
        "UPDATE idempotency_keys SET response = NULL, heartbeat_at = heartbeat_at - $1 \
         WHERE \"key\" = $2",
        [stale_micros().into(), key.into()],
    );
    let updated = app
        .state
        .db
        .connection()
        .execute_raw(statement)
        .await
        .unwrap();
    assert_eq!(updated.rows_affected(), 1);
}

/// `STALE_AFTER` + 1 s, in microseconds.
fn stale_micros() -> i64 {
    i64::try_from(
        (amanah_infra::store::idempotency::STALE_AFTER + std::time::Duration::from_secs(1))
            .as_micros(),
    )
    .unwrap()
}

/// Claims `key` for `subject` and the keyed `registerOrganisation` of `name`, under `request_id`,
/// as the server would before running it, and makes the claim look as if its holder had died
/// before appending anything.
async fn claim_and_die_before_appending(
    app: &TestApp,
    subject: &str,
    key: &str,
    name: &str,
    request_id: &str,
) {
    // The request exactly as `Keyed::run` hashes it.
    let hash = amanah_infra::store::idempotency::request_hash(&json!({
        "query": REGISTER,
        "operationName": null,
        "variables": { "input": { "name": name, "type": "GOVERNMENT" } },
    }));
    let claim = app
        .state
        .idempotency
        .claim(amanah_domain::ports::KeyRequest {
            subject,
            key,
            hash: &hash,
            request_id,
            ttl: app.config.idempotency.ttl,
            wait: std::time::Duration::ZERO,
        })
        .await
        .unwrap();
    assert!(
        matches!(claim, amanah_domain::ports::KeyClaim::Run(_)),
        "{claim:?}"
    );
    // No response is stored yet: the holder dies before appending.
    kill_holder(app, key).await;
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
    kill_holder(&app, "landed-1").await;
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
    // The key was claimed by an attempt that appended nothing and died.
    claim_and_die_before_appending(&app, "partner-system", "died-1", "Audit Board", "dead").await;
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

/// A keyed `registerOrganisation` of `name` under `request_id` (`X-Request-Id`): status, whether
/// it was a replay, body.
async fn register_as_request(
    app: &TestApp,
    token: &str,
    key: &str,
    name: &str,
    request_id: &str,
) -> (StatusCode, bool, Value) {
    let response = app
        .post_graphql()
        .bearer_auth(token)
        .header("idempotency-key", key)
        .header("x-request-id", request_id)
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

/// Issue 9, item 5: keyed mutations that all carry one `X-Request-Id` (the client chooses it)
/// and die, some after their change landed and some before. Every retry is answered by what its
/// own key recorded: before, a key that had appended nothing was told "applied before" with the
/// index of another key's change, and its organisation was never registered.
async fn retries_of_keys_sharing_a_request_id_answer_by_their_own_key(app: &TestApp) {
    const SHARED: &str = "one-request-id-for-every-call";
    let token = app.token("partner-system", &[Role::Editor], None);
    let mut landed = Vec::new();
    for n in 0..3 {
        let key = format!("landed-{n}");
        let (status, _, body) =
            register_as_request(app, &token, &key, &format!("Landed {n}"), SHARED).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let index = body["data"]["registerOrganisation"]["auditIndex"]
            .as_u64()
            .unwrap();
        kill_holder(app, &key).await;
        landed.push((key, format!("Landed {n}"), index));
    }
    let never: Vec<(String, String)> = (0..3)
        .map(|n| (format!("never-{n}"), format!("Never {n}")))
        .collect();
    for (key, name) in &never {
        claim_and_die_before_appending(app, "partner-system", key, name, SHARED).await;
    }
    let size = app.log_size().await;

    // Every retry at once, under the same request id again.
    let retries = futures::future::join_all(
        landed
            .iter()
            .map(|(key, name, _)| (key, name))
            .chain(never.iter().map(|(key, name)| (key, name)))
            .map(|(key, name)| register_as_request(app, &token, key, name, SHARED)),
    )
    .await;
    let (landed_retries, never_retries) = retries.split_at(landed.len());
    for ((key, _, index), (status, replayed, body)) in landed.iter().zip(landed_retries) {
        assert_eq!(
            (*status, *replayed),
            (StatusCode::OK, true),
            "{key}: {body}"
        );
        let error = &body["errors"][0];
        assert_eq!(error["extensions"]["code"], "CONFLICT", "{key}: {body}");
        assert_eq!(error["extensions"]["auditIndex"], *index, "{key}: {body}");
        assert_eq!(
            error["extensions"]["firstAuditIndex"], *index,
            "{key}: {body}"
        );
    }
    let mut new_indexes = Vec::new();
    for ((key, name), (status, replayed, body)) in never.iter().zip(never_retries) {
        assert_eq!(
            (*status, *replayed),
            (StatusCode::OK, false),
            "{key}: {body}"
        );
        let payload = &body["data"]["registerOrganisation"];
        assert_eq!(
            payload["organisation"]["name"],
            name.as_str(),
            "{key}: {body}"
        );
        new_indexes.push(payload["auditIndex"].as_u64().unwrap());
    }
    new_indexes.sort_unstable();
    assert_eq!(new_indexes, [size, size + 1, size + 2], "each ran once");
    assert_eq!(app.log_size().await, size + 3);

    // And again: every key replays what it answered.
    for ((key, name), (_, _, first)) in never.iter().zip(never_retries) {
        let (status, replayed, body) = register_as_request(app, &token, key, name, SHARED).await;
        assert_eq!((status, replayed), (StatusCode::OK, true), "{key}: {body}");
        assert_eq!(&body, first);
    }
    assert_eq!(app.log_size().await, size + 3);
}

#[tokio::test]
async fn retries_of_keys_sharing_a_request_id_answer_by_their_own_key_on_sqlite() {
    let app = TestApp::spawn_sqlite().await;
    retries_of_keys_sharing_a_request_id_answer_by_their_own_key(&app).await;
}

amanah_infra::postgres_test! {
    #[tokio::test]
    async fn retries_of_keys_sharing_a_request_id_answer_by_their_own_key_on_postgres() {
        let app = TestApp::spawn_postgres().await;
        retries_of_keys_sharing_a_request_id_answer_by_their_own_key(&app).await;
    }
}

const REGISTER_TWO: &str =
    "mutation($a: RegisterOrganisationInput!, $b: RegisterOrganisationInput!) {
    a: registerOrganisation(input: $a) { auditIndex }
    b: registerOrganisation(input: $b) { auditIndex } }";

#[tokio::test]
async fn a_document_with_two_mutations_is_recovered_as_one_landed_change() {
    let app = TestApp::spawn_sqlite().await;
    let token = app.token("partner-system", &[Role::Editor], None);
    let send = || {
        app.post_graphql()
            .bearer_auth(&token)
            .header("idempotency-key", "two-1")
            .json(&json!({ "query": REGISTER_TWO, "variables": {
                "a": { "name": "First Board", "type": "GOVERNMENT" },
                "b": { "name": "Second Board", "type": "GOVERNMENT" } } }))
            .send()
    };
    let first: Value = send().await.unwrap().json().await.unwrap();
    let a = first["data"]["a"]["auditIndex"].as_u64().unwrap();
    let b = first["data"]["b"]["auditIndex"].as_u64().unwrap();
    assert_eq!(b, a + 1, "{first}");
    kill_holder(&app, "two-1").await;
    let size = app.log_size().await;
    let again: Value = send().await.unwrap().json().await.unwrap();
    let error = &again["errors"][0];
    assert_eq!(error["extensions"]["code"], "CONFLICT", "{again}");
    assert_eq!(error["extensions"]["firstAuditIndex"], a, "{again}");
    assert_eq!(error["extensions"]["auditIndex"], b, "{again}");
    assert_eq!(app.log_size().await, size, "nothing appended again");
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

/// A replay is the first response byte for byte: `data` keeps the order of the selection (here
/// not alphabetical), as the first answer had it.
#[tokio::test]
async fn a_replay_is_the_first_response_byte_for_byte_in_selection_order() {
    let app = TestApp::spawn_sqlite().await;
    let token = app.token("partner-system", &[Role::Editor], None);
    let query = "mutation($input: RegisterOrganisationInput!) {
        registerOrganisation(input: $input) { organisation { name id } auditIndex } }";
    let send = || {
        app.post_graphql()
            .bearer_auth(&token)
            .header("idempotency-key", "in-selection-order")
            .json(&json!({ "query": query,
                           "variables": { "input": { "name": "Audit Board", "type": "GOVERNMENT" } } }))
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first = first.text().await.unwrap();
    assert!(
        first.starts_with(
            r#"{"data":{"registerOrganisation":{"organisation":{"name":"Audit Board","id":"#
        ),
        "{first}"
    );
    let again = send().await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(
        again
            .headers()
            .get("idempotent-replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    assert_eq!(again.text().await.unwrap(), first);
}
