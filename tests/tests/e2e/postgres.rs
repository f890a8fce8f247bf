//! The same server on PostgreSQL. Runs when a PostgreSQL server answers, and must run (failing
//! otherwise) when `CI` or `AMANAH_TEST_POSTGRES_URL` is set: see `amanah_infra::testing`.

use reqwest::StatusCode;
use serde_json::Value;

use crate::test_app::TestApp;

#[tokio::test]
#[cfg_attr(
    not(amanah_postgres_tests),
    ignore = "needs PostgreSQL: build the tests with AMANAH_TEST_POSTGRES_URL set (.ci/run does)"
)]
async fn the_server_is_ready_and_answers_on_postgres() {
    let Some(app) = TestApp::spawn_postgres().await else {
        return;
    };
    let response = app.get("/readyz").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["checks"]["migrations"], "ok");

    let response = app.graphql("{ apiVersion }", Value::Null).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(
        response.body["data"]["apiVersion"],
        env!("CARGO_PKG_VERSION")
    );
}
