//! GraphQL over HTTP as the specification asks: media types, status codes, methods.

use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::test_app::TestApp;

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const APPLICATION_JSON: &str = "application/json";

#[tokio::test]
async fn the_media_type_follows_accept_and_legacy_clients_get_application_json() {
    let app = TestApp::spawn_sqlite().await;
    for (accept, expected) in [
        (Some(GRAPHQL_RESPONSE_JSON), GRAPHQL_RESPONSE_JSON),
        (
            Some("application/graphql-response+json, */*;q=0.5"),
            GRAPHQL_RESPONSE_JSON,
        ),
        // The specification's SHOULDs for clients that predate the new media type.
        (None, APPLICATION_JSON),
        (Some("*/*"), APPLICATION_JSON),
    ] {
        let mut request = app
            .client
            .post(app.url("/graphql"))
            .json(&json!({ "query": "{ apiVersion }" }));
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT, accept);
        }
        let response = app.send(request).await;
        assert_eq!(response.status, StatusCode::OK, "{accept:?}");
        assert!(
            response.content_type.starts_with(expected),
            "{accept:?}: {}",
            response.content_type
        );
        assert_eq!(
            response.body["data"]["apiVersion"],
            env!("CARGO_PKG_VERSION")
        );
        assert!(response.body.get("errors").is_none());
        assert!(!response.request_id.is_empty());
    }
}

#[tokio::test]
async fn application_json_is_answered_when_asked_for() {
    let app = TestApp::spawn_sqlite().await;
    let response = app
        .send(
            app.client
                .post(app.url("/graphql"))
                .header(header::ACCEPT, APPLICATION_JSON)
                .json(&json!({ "query": "{ apiVersion }" })),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(
        response.content_type.starts_with(APPLICATION_JSON),
        "{}",
        response.content_type
    );
}

#[tokio::test]
async fn a_parse_failure_is_400_with_graphql_response_json_and_200_with_application_json() {
    let app = TestApp::spawn_sqlite().await;
    let response = app.graphql("{ apiVersion ", Value::Null).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.codes(), ["GRAPHQL_PARSE_FAILED"]);
    assert!(
        !response.has_data(),
        "a request error has no data: {}",
        response.body
    );

    let response = app
        .send(
            app.client
                .post(app.url("/graphql"))
                .header(header::ACCEPT, APPLICATION_JSON)
                .json(&json!({ "query": "{ apiVersion " })),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.content_type.starts_with(APPLICATION_JSON));
    assert_eq!(response.codes(), ["GRAPHQL_PARSE_FAILED"]);
}

#[tokio::test]
async fn a_validation_failure_is_400_with_its_code() {
    let app = TestApp::spawn_sqlite().await;
    let response = app.graphql("{ noSuchField }", Value::Null).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.codes(), ["GRAPHQL_VALIDATION_FAILED"]);
    assert!(!response.has_data());

    let response = app
        .send(app.post_graphql().json(&json!({
            "query": "query A { apiVersion }",
            "operationName": "B",
        })))
        .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.codes(), ["GRAPHQL_VALIDATION_FAILED"]);
}

#[tokio::test]
async fn an_unacceptable_accept_header_is_406() {
    let app = TestApp::spawn_sqlite().await;
    let response = app
        .client
        .post(app.url("/graphql"))
        .header(header::ACCEPT, "text/html")
        .json(&json!({ "query": "{ apiVersion }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415_or_400() {
    let app = TestApp::spawn_sqlite().await;
    // Not declared as JSON: unsupported media type.
    for content_type in [Some("text/plain"), Some("application/graphql"), None] {
        let mut request = app
            .client
            .post(app.url("/graphql"))
            .header(header::ACCEPT, GRAPHQL_RESPONSE_JSON)
            .body("{ apiVersion }");
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let response = request.send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type:?}"
        );
    }
    // Declared as JSON but not JSON, or not a GraphQL request: bad request.
    for body in [
        "{ apiVersion }",
        "[]",
        r#"{"query": 7}"#,
        r#"{"variables": {}}"#,
    ] {
        let response = app
            .send(
                app.post_graphql()
                    .header(header::CONTENT_TYPE, APPLICATION_JSON)
                    .body(body),
            )
            .await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(response.codes(), ["BAD_USER_INPUT"], "{body}");
    }
}

#[tokio::test]
async fn get_runs_queries() {
    let app = TestApp::spawn_sqlite().await;
    let response = app
        .send(
            app.get("/graphql")
                .header(header::ACCEPT, GRAPHQL_RESPONSE_JSON)
                .query(&[(
                    "query",
                    "query V($x: Boolean!) { apiVersion @include(if: $x) }",
                )])
                .query(&[("variables", r#"{"x": true}"#)]),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(
        response.body["data"]["apiVersion"],
        env!("CARGO_PKG_VERSION")
    );
}

#[tokio::test]
async fn a_mutation_over_get_is_405_with_allow_post() {
    let app = TestApp::spawn_sqlite().await;
    let response = app
        .get("/graphql")
        .query(&[("query", "mutation { anything }")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[header::ALLOW], "POST");

    // The operation chosen by name decides.
    let response = app
        .get("/graphql")
        .query(&[
            ("query", "query Q { apiVersion } mutation M { anything }"),
            ("operationName", "M"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[header::ALLOW], "POST");
}

#[tokio::test]
async fn get_without_a_query_is_400() {
    let app = TestApp::spawn_sqlite().await;
    let response = app.send(app.get("/graphql")).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.codes(), ["BAD_USER_INPUT"]);
}

#[tokio::test]
async fn other_methods_are_not_allowed() {
    let app = TestApp::spawn_sqlite().await;
    let response = app
        .client
        .put(app.url("/graphql"))
        .json(&json!({ "query": "{ apiVersion }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[header::ALLOW], "GET, POST");
}

/// The GraphQL specification asks serialisations that can keep order (JSON can) to keep the
/// order of the selection; over HTTP the keys came back sorted (`memberStates` before
/// `projects`).
#[tokio::test]
async fn response_keys_keep_the_order_of_the_selection() {
    let app = TestApp::spawn_sqlite().await;
    let body = app
        .post_graphql()
        .json(
            &json!({ "query": "{ projects(first: 1) { totalCount pageInfo { hasNextPage } } \
                                  memberStates { joinedOn } apiVersion __typename }" }),
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = |key: &str| {
        body.find(&format!("\"{key}\""))
            .unwrap_or_else(|| panic!("{key} in {body}"))
    };
    assert!(at("projects") < at("memberStates"), "{body}");
    assert!(at("memberStates") < at("apiVersion"), "{body}");
    assert!(at("apiVersion") < at("__typename"), "{body}");
    assert!(at("totalCount") < at("pageInfo"), "{body}");
}

/// A subscription sent over HTTP was answered with a masked INTERNAL_SERVER_ERROR ("not supported
/// on this transport"): it is the client's mistake, and the answer says where subscriptions run.
#[tokio::test]
async fn a_subscription_over_http_is_bad_user_input_pointing_at_the_websocket() {
    let app = TestApp::spawn_sqlite().await;
    let response = app
        .graphql(
            "subscription { projectChanged(id: \"x\") { id } }",
            Value::Null,
        )
        .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.codes(), ["BAD_USER_INPUT"]);
    assert_eq!(response.body["errors"][0]["extensions"]["field"], "query");
    assert!(
        response.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("WebSocket"),
        "{:?}",
        response.body
    );
}
