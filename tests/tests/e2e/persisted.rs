//! Persisted documents: automatic persisted queries by default, and a trusted-documents mode in
//! which only the listed documents run (`AMANAH_GRAPHQL_TRUSTED_DOCUMENTS`).

use amanah_api::graphql::persisted::sha256_hex;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::test_app::TestApp;
use crate::websocket;

fn by_hash(document: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": sha256_hex(document) } })
}

#[tokio::test]
async fn automatic_persisted_queries_register_a_document_then_run_it_by_hash() {
    let app = TestApp::spawn_sqlite().await;
    let query = "{ apiVersion }";
    // Unknown hash: the client is told to send the document.
    let response = app
        .send(
            app.post_graphql()
                .json(&json!({ "extensions": by_hash(query) })),
        )
        .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.codes(), ["PERSISTED_QUERY_NOT_FOUND"]);
    assert_eq!(
        response.body["errors"][0]["message"],
        "PersistedQueryNotFound"
    );
    // Document and hash: it runs and is kept.
    let response = app
        .send(
            app.post_graphql()
                .json(&json!({ "query": query, "extensions": by_hash(query) })),
        )
        .await;
    response.assert_no_errors();
    // The hash alone now runs it, over POST and over GET.
    let response = app
        .send(
            app.post_graphql()
                .json(&json!({ "extensions": by_hash(query) })),
        )
        .await;
    response.assert_no_errors();
    assert_eq!(
        response.body["data"]["apiVersion"],
        env!("CARGO_PKG_VERSION")
    );
    let extensions = by_hash(query).to_string();
    let response = app
        .send(
            app.get("/graphql")
                .query(&[("extensions", extensions.as_str())]),
        )
        .await;
    response.assert_no_errors();
}

#[tokio::test]
async fn a_persisted_mutation_still_needs_post() {
    let app = TestApp::spawn_sqlite().await;
    let mutation = "mutation { registerOrganisation(input: { name: \"X\", type: GOVERNMENT }) { auditIndex } }";
    // Registered (it runs as anonymous and is refused, but the document is kept).
    app.send(
        app.post_graphql()
            .json(&json!({ "query": mutation, "extensions": by_hash(mutation) })),
    )
    .await;
    let extensions = by_hash(mutation).to_string();
    let response = app
        .get("/graphql")
        .query(&[("extensions", extensions.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn a_hash_that_is_not_the_documents_is_bad_user_input() {
    let app = TestApp::spawn_sqlite().await;
    let response = app
        .send(
            app.post_graphql().json(
                &json!({ "query": "{ apiVersion }", "extensions": by_hash("{ me { sub } }") }),
            ),
        )
        .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.codes(), ["BAD_USER_INPUT"]);
    assert_eq!(
        response.body["errors"][0]["extensions"]["field"],
        "extensions.persistedQuery"
    );
}

#[tokio::test]
async fn with_trusted_documents_only_the_listed_documents_run() {
    let listed = "query Version { apiVersion }";
    let subscription = "subscription Follow($id: ID!) { projectChanged(id: $id) { id } }";
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("persisted-documents.json");
    std::fs::write(
        &path,
        json!({ sha256_hex(listed): listed, sha256_hex(subscription): subscription }).to_string(),
    )
    .unwrap();
    let app = TestApp::spawn_sqlite_with(|config| {
        config.graphql.trusted_documents = Some(path.clone());
    })
    .await;

    // By hash, and by its text.
    let response = app
        .send(
            app.post_graphql()
                .json(&json!({ "extensions": by_hash(listed) })),
        )
        .await;
    response.assert_no_errors();
    app.graphql(listed, Value::Null).await.assert_no_errors();

    // Anything else, even with its correct hash, is refused.
    let other = "{ apiVersion me { sub } }";
    for body in [
        json!({ "query": other }),
        json!({ "query": other, "extensions": by_hash(other) }),
        json!({ "extensions": by_hash(other) }),
    ] {
        let response = app.send(app.post_graphql().json(&body)).await;
        assert_eq!(response.codes(), ["PERSISTED_QUERY_NOT_FOUND"], "{body}");
        assert!(!response.has_data());
    }

    // Over WebSocket too.
    let mut socket = websocket::open(&app, None).await;
    websocket::send(
        &mut socket,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": other } }),
    )
    .await;
    let message = websocket::receive(&mut socket).await;
    assert_eq!(
        websocket::errors_of(&message)[0]["extensions"]["code"],
        "PERSISTED_QUERY_NOT_FOUND",
        "{message}"
    );
}

#[tokio::test]
async fn a_trusted_documents_file_that_does_not_check_out_stops_the_start() {
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("persisted-documents.json");
    std::fs::write(&path, json!({ sha256_hex("{ a }"): "{ b }" }).to_string()).unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let mut config = amanah_api::config::Config::defaults_in(data_dir.path());
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.graphql.trusted_documents = Some(path);
    let db = amanah_infra::store::database::connect(config.database_url.expose())
        .await
        .unwrap();
    amanah_infra::store::database::migrate(&db).await.unwrap();
    let error = amanah_api::startup::Application::build(config, db)
        .await
        .err()
        .expect("the start fails");
    assert!(
        error
            .to_string()
            .contains("is not the SHA-256 of its document"),
        "{error}"
    );
}
