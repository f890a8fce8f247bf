//! Limits come from the configuration and fail with their catalogue codes.

use amanah_api::config::Limits;
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::test_app::TestApp;

/// Nested introspection: `levels` selection levels below `__schema`.
fn nested_query(levels: usize) -> String {
    let mut query = String::from("name");
    for _ in 0..levels {
        query = format!("ofType {{ {query} }}");
    }
    format!("{{ __schema {{ types {{ fields {{ type {{ {query} }} }} }} }} }}")
}

#[tokio::test]
async fn a_query_deeper_than_the_configured_depth_is_query_too_deep() {
    let app = TestApp::spawn_sqlite_with(|config| config.limits.depth = 6).await;
    let response = app.graphql(&nested_query(1), Value::Null).await;
    assert_eq!(
        response.status,
        StatusCode::OK,
        "depth 6 fits: {}",
        response.body
    );
    let response = app.graphql(&nested_query(2), Value::Null).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.codes(), ["QUERY_TOO_DEEP"]);
}

#[tokio::test]
async fn the_default_depth_is_the_documented_one() {
    let app = TestApp::spawn_sqlite().await;
    // `nested_query(n)` is n + 5 levels deep.
    let fits = Limits::DEFAULT_DEPTH - 5;
    let response = app.graphql(&nested_query(fits), Value::Null).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let response = app.graphql(&nested_query(fits + 1), Value::Null).await;
    assert_eq!(response.codes(), ["QUERY_TOO_DEEP"]);
}

#[tokio::test]
async fn a_query_over_the_configured_complexity_is_query_too_complex() {
    let app = TestApp::spawn_sqlite_with(|config| config.limits.complexity = 3).await;
    let response = app.graphql("{ __typename apiVersion }", Value::Null).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let response = app
        .graphql(
            "{ __schema { queryType { name fields { name } } } }",
            Value::Null,
        )
        .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.codes(), ["QUERY_TOO_COMPLEX"]);
}

#[tokio::test]
async fn more_aliases_than_configured_is_query_too_complex() {
    let app = TestApp::spawn_sqlite_with(|config| config.limits.aliases = 2).await;
    let response = app
        .graphql("{ a: apiVersion b: apiVersion }", Value::Null)
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let response = app
        .graphql("{ a: apiVersion b: apiVersion c: apiVersion }", Value::Null)
        .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.codes(), ["QUERY_TOO_COMPLEX"]);
}

#[tokio::test]
async fn a_body_over_the_configured_size_is_413() {
    let app = TestApp::spawn_sqlite_with(|config| config.limits.body_bytes = 2048).await;
    let padding = " ".repeat(4096);
    let response = app
        .client
        .post(app.url("/graphql"))
        .header(header::ACCEPT, "application/graphql-response+json")
        .json(&json!({ "query": format!("{{ apiVersion {padding} }}") }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let response = app.graphql("{ apiVersion }", Value::Null).await;
    assert_eq!(response.status, StatusCode::OK);
}
