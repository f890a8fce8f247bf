//! The same server on PostgreSQL: ignored unless built with `CI` or `AMANAH_TEST_POSTGRES_URL` set,
//! and then a missing server fails it (see `amanah_infra::postgres_test!`).

use reqwest::StatusCode;
use serde_json::Value;

use crate::test_app::TestApp;

amanah_infra::postgres_test! {
    #[tokio::test]
    async fn the_server_is_ready_and_answers_on_postgres() {
        let app = TestApp::spawn_postgres().await;
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
}
