//! `GET /schema.graphql` is the committed `schema.graphql`.

use reqwest::StatusCode;

use crate::test_app::TestApp;

#[tokio::test]
async fn the_served_sdl_equals_the_committed_schema_file() {
    let app = TestApp::spawn_sqlite().await;
    let response = app.get("/schema.graphql").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let served = response.text().await.unwrap();
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql")).unwrap();
    assert!(
        served == committed,
        "GET /schema.graphql differs from schema.graphql: \
         run `UPDATE_SCHEMA=1 cargo test -p amanah-api committed_schema` and commit the file"
    );
}
