//! `GET /iati/activities.xml` and `GET /iati/organisations.xml`: the demo portfolio published as
//! IATI 2.03, valid against the official schemas (xmllint), selected by reporting organisation
//! and by log size, refused with a named field when the selection is wrong.

use amanah_domain::aggregate::StreamKind;
use amanah_infra::auth::Role;
use amanah_infra::testing::{IatiSchema, xmllint};
use reqwest::StatusCode;
use serde_json::Value;

use crate::test_app::TestApp;

/// `GET path`: the status, the content type and the body.
async fn fetch(app: &TestApp, path: &str) -> (StatusCode, String, String) {
    let response = app.get(path).send().await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

/// The file at `path`, which must be served and valid against `schema`.
async fn valid_file(app: &TestApp, path: &str, schema: IatiSchema) -> String {
    let (status, content_type, body) = fetch(app, path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    assert_eq!(content_type, "application/xml; charset=utf-8");
    if let Err(report) = xmllint(schema, body.as_bytes()) {
        panic!("{path} is not valid IATI 2.03:\n{report}\n{body}");
    }
    body
}

/// The `extensions.field` and code of a refused request.
async fn refused(app: &TestApp, path: &str) -> (StatusCode, String, Option<String>) {
    let (status, _, body) = fetch(app, path).await;
    let body: Value = serde_json::from_str(&body).unwrap();
    let error = &body["errors"][0];
    (
        status,
        error["extensions"]["code"].as_str().unwrap().to_owned(),
        error["extensions"]["field"].as_str().map(str::to_owned),
    )
}

fn identifiers(xml: &str) -> Vec<&str> {
    xml.split("<iati-identifier>")
        .skip(1)
        .filter_map(|rest| rest.split("</iati-identifier>").next())
        .collect()
}

async fn the_demo_portfolio_publishes_valid_iati_files(app: TestApp) {
    let (status, _, _) = fetch(&app, "/iati/activities.xml").await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "an empty portfolio has no file"
    );

    let demo = amanah_api::demo::load(&app.state.commands).await.unwrap();
    let activities = valid_file(&app, "/iati/activities.xml", IatiSchema::Activities).await;
    assert_eq!(identifiers(&activities).len(), demo.projects);
    assert_eq!(
        activities.matches("<amanah:activity ").count(),
        demo.activities,
        "every anti-corruption activity, in Amanah's namespace"
    );
    let mut sorted = identifiers(&activities);
    sorted.sort_unstable();
    assert_eq!(identifiers(&activities), sorted, "in identifier order");
    assert_eq!(
        activities.matches("last-updated-datetime=").count(),
        demo.projects,
        "each activity says when the log last changed it"
    );

    let organisations =
        valid_file(&app, "/iati/organisations.xml", IatiSchema::Organisations).await;
    let mut reporting: Vec<&str> = activities
        .split("<reporting-org ref=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    reporting.sort_unstable();
    reporting.dedup();
    let mut published: Vec<&str> = organisations
        .split("<organisation-identifier>")
        .skip(1)
        .filter_map(|rest| rest.split("</organisation-identifier>").next())
        .collect();
    published.sort_unstable();
    assert_eq!(published, reporting, "exactly the reporting organisations");

    // One reporting organisation's projects.
    let de = valid_file(
        &app,
        "/iati/activities.xml?reportingOrg=DE-1",
        IatiSchema::Activities,
    )
    .await;
    assert_eq!(
        identifiers(&de),
        ["DE-1-DEMO-ANTI-CORRUPTION", "DE-1-DEMO-ASEANSAI"]
    );
    assert!(!de.contains("<reporting-org ref=\"XM-DAC-5-7\""));
    assert_eq!(
        refused(&app, "/iati/activities.xml?reportingOrg=XX-NOBODY").await,
        (
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT".into(),
            Some("reportingOrg".into())
        )
    );

    // What the portfolio said when the log held the first project's registration.
    let size = app.log_size().await;
    let events = app
        .state
        .commands
        .store()
        .read_range(0, size)
        .await
        .unwrap();
    let first = events
        .iter()
        .find(|event| event.stream == StreamKind::Project)
        .unwrap();
    let path = format!("/iati/activities.xml?asOf={}", first.index + 1);
    let then = valid_file(&app, &path, IatiSchema::Activities).await;
    assert_eq!(identifiers(&then).len(), 1, "{then}");
    assert!(
        !then.contains("<amanah:activity "),
        "no activity was planned yet"
    );
    assert!(
        then.contains(&format!(
            "last-updated-datetime=\"{}\"",
            first.occurred_at.format("%Y-%m-%dT%H:%M:%SZ")
        )),
        "{then}"
    );
    let (status, _, _) = fetch(&app, &format!("/iati/activities.xml?asOf={}", first.index)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "before the first project");
    assert_eq!(
        refused(&app, &format!("/iati/activities.xml?asOf={}", size + 1)).await,
        (
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT".into(),
            Some("asOf".into())
        )
    );
    assert_eq!(
        refused(&app, "/iati/activities.xml?asOf=-1")
            .await
            .2
            .as_deref(),
        Some("asOf")
    );
    assert_eq!(
        refused(&app, "/iati/activities.xml?reporting=DE-1")
            .await
            .2
            .as_deref(),
        Some("query"),
        "an unknown parameter is refused, not ignored"
    );
    // Reading a file appends nothing.
    assert_eq!(app.log_size().await, size);
}

#[tokio::test]
async fn the_demo_portfolio_publishes_valid_iati_files_sqlite() {
    the_demo_portfolio_publishes_valid_iati_files(TestApp::spawn_sqlite().await).await;
}

amanah_infra::postgres_test! {
    #[tokio::test]
    async fn the_demo_portfolio_publishes_valid_iati_files_postgres() {
        the_demo_portfolio_publishes_valid_iati_files(TestApp::spawn_postgres().await).await;
    }
}

/// The files are portfolio data: without public read, a token with a role is needed.
#[tokio::test]
async fn the_files_need_what_reading_the_portfolio_needs() {
    let app = TestApp::spawn_sqlite_with(|config| config.public_read = false).await;
    amanah_api::demo::load(&app.state.commands).await.unwrap();
    for path in ["/iati/activities.xml", "/iati/organisations.xml"] {
        let (status, code, _) = refused(&app, path).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED")
        );
        let token = app.token("viewer", &[Role::Viewer], None);
        let response = app.get(path).bearer_auth(token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}
