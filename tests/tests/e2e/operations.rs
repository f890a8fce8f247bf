//! What operators rely on: probes, metrics and the request id.

use amanah_infra::auth::Role;
use reqwest::StatusCode;
use serde_json::Value;

use crate::test_app::TestApp;

#[tokio::test]
async fn healthz_answers_200() {
    let app = TestApp::spawn_sqlite().await;
    let response = app.get("/healthz").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn readyz_answers_200_when_the_database_is_migrated() {
    let app = TestApp::spawn_sqlite().await;
    let response = app.get("/readyz").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"]["database"], "ok");
    assert_eq!(body["checks"]["migrations"], "ok");
}

#[tokio::test]
async fn readyz_answers_503_naming_the_failed_check_when_migrations_are_pending() {
    let app = TestApp::spawn_sqlite_unmigrated().await;
    let response = app.get("/readyz").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["checks"]["database"], "ok");
    let migrations = body["checks"]["migrations"].as_str().unwrap();
    assert!(migrations.contains("pending"), "{migrations}");
    // Liveness is unaffected: the process serves.
    let response = app.get("/healthz").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_well_formed_request_id_is_echoed() {
    let app = TestApp::spawn_sqlite().await;
    for path in [
        "/healthz",
        "/graphql?query=%7BapiVersion%7D",
        "/no-such-path",
    ] {
        let response = app
            .get(path)
            .header("x-request-id", "client-chosen.id_42")
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()["x-request-id"],
            "client-chosen.id_42",
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_missing_or_malformed_request_id_is_replaced_by_a_uuid_v7() {
    let app = TestApp::spawn_sqlite().await;
    let too_long = "x".repeat(129);
    for sent in [
        None,
        Some("has spaces"),
        Some("semi;colon"),
        Some(too_long.as_str()),
    ] {
        let mut request = app.get("/healthz");
        if let Some(id) = sent {
            request = request.header("x-request-id", id);
        }
        let response = request.send().await.unwrap();
        let id = response.headers()["x-request-id"].to_str().unwrap();
        let uuid = uuid::Uuid::parse_str(id).unwrap();
        assert_eq!(uuid.get_version_num(), 7, "{sent:?} → {id}");
    }
}

#[tokio::test]
async fn error_responses_carry_the_request_id_too() {
    let app = TestApp::spawn_sqlite().await;
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("x-request-id", "unsupported-1")
        .header("content-type", "text/plain")
        .body("{ apiVersion }")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(response.headers()["x-request-id"], "unsupported-1");
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_in_prometheus_text() {
    let app = TestApp::spawn_sqlite().await;
    app.get("/healthz").send().await.unwrap();
    app.get("/healthz").send().await.unwrap();
    app.graphql("{ apiVersion }", Value::Null).await;
    let response = app.get("/metrics").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    for expected in [
        r#"amanah_http_requests_total{method="GET",route="/healthz",status="200"} 2"#,
        r#"amanah_http_requests_total{method="POST",route="/graphql",status="200"} 1"#,
        "# TYPE amanah_http_request_duration_seconds histogram",
        r#"amanah_http_request_duration_seconds_count{method="GET",route="/healthz"} 2"#,
        "# TYPE amanah_sql_statements_total counter",
    ] {
        assert!(text.contains(expected), "{expected} missing from\n{text}");
    }
    // A query that reads the database adds statements.
    let statements = |text: &str| -> u64 {
        text.lines()
            .find_map(|line| line.strip_prefix("amanah_sql_statements_total "))
            .unwrap()
            .parse()
            .unwrap()
    };
    let before = statements(&text);
    app.graphql("{ projects(first: 1) { totalCount } }", Value::Null)
        .await
        .assert_no_errors();
    let text = app
        .get("/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(statements(&text) > before, "{text}");
}

/// Issue 9: each made-up method used to become a series of its own, so a client could grow the
/// registry (and every scrape) without bound.
#[tokio::test]
async fn made_up_methods_do_not_grow_the_metrics() {
    let app = TestApp::spawn_sqlite().await;
    for n in 0..50 {
        let method =
            reqwest::Method::from_bytes(format!("M{n}{}", "X".repeat(1000)).as_bytes()).unwrap();
        let response = app
            .client
            .request(method, app.url("/graphql"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
    let text = app
        .get("/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            r#"amanah_http_requests_total{method="OTHER",route="/graphql",status="405"} 50"#
        ),
        "{text}"
    );
    assert!(!text.contains("XXX"), "{text}");
    assert!(text.len() < 10_000, "{} bytes", text.len());
}

#[tokio::test]
async fn metrics_show_the_audit_tree_copy_following_the_log() {
    let app = TestApp::spawn_sqlite().await;
    let gauge = |text: &str, name: &str| -> u64 {
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} missing from\n{text}"))
            .parse()
            .unwrap()
    };
    let editor = app.token("editor@asean.org", &[Role::Editor], None);
    app.register_organisation(&editor, "Audit Board of Indonesia", None)
        .await;
    // One event, one leaf: the copy holds it once the follower has refreshed after the commit.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let text = app
            .get("/metrics")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(gauge(&text, "amanah_audit_tree_cache_floor"), 0, "{text}");
        if gauge(&text, "amanah_audit_tree_cache_nodes") >= 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the copy never grew:\n{text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn graphiql_is_served_and_points_at_graphql() {
    let app = TestApp::spawn_sqlite().await;
    let response = app.get("/graphiql").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"),
        "{csp}"
    );
    let html = response.text().await.unwrap();
    // Every script and style comes from this server; the start-up script points at /graphql.
    for asset in amanah_api::graphiql::ASSETS {
        let path = format!("/graphiql/assets/{}", asset.name);
        assert!(html.contains(&path), "{path} not in {html}");
        let response = app.get(&path).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            asset.content_type,
            "{path}"
        );
        assert_eq!(response.bytes().await.unwrap(), asset.bytes, "{path}");
    }
    let start = app
        .get("/graphiql/assets/amanah-graphiql.js")
        .send()
        .await
        .unwrap();
    assert!(start.text().await.unwrap().contains("\"/graphql\""));
    let missing = app.get("/graphiql/assets/nothing.js").send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}
