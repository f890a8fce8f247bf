//! Real third-party clients against the real server: the GraphQL-over-HTTP server audits of
//! `graphql-http` and the `graphql-ws` client (graphql-transport-ws), both from npm, driven by the
//! scripts in `tests/clients` (`npm ci --prefix tests/clients` installs them; `.ci/run` does).
//! They are `#[ignore]`d, so that `cargo test` shows they did not run; `cargo test -p amanah-tests
//! --test e2e -- --ignored clients` runs them, and then missing packages are a failure.

use std::path::PathBuf;
use std::process::Command;

use amanah_infra::auth::Role;
use serde_json::{Value, json};

use crate::test_app::TestApp;

fn clients_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("clients")
}

/// Fails the test, saying what to install, unless `node` and the npm packages are there.
fn assert_clients_installed() {
    let installed = clients_dir().join("node_modules/graphql-ws").is_dir()
        && clients_dir().join("node_modules/graphql-http").is_dir();
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    assert!(
        installed && node,
        "Node.js or the client packages are missing: npm ci --prefix tests/clients"
    );
}

/// Runs `node SCRIPT ARGS…` in `tests/clients` (on a blocking thread) and parses its JSON line.
async fn node(script: &str, args: Vec<String>) -> Value {
    let script = clients_dir().join(script);
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .args(args)
            .current_dir(clients_dir())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
        panic!(
            "not JSON (exit {:?}): {stdout}\n{}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

#[tokio::test]
#[ignore = "needs Node.js and `npm ci --prefix tests/clients` (.ci/run runs it with --ignored)"]
async fn every_graphql_over_http_server_audit_passes() {
    assert_clients_installed();
    let app = TestApp::spawn_sqlite().await;
    let report = node("audit_http.mjs", vec![app.url("/graphql")]).await;
    let results = report["results"].as_array().unwrap();
    assert!(results.len() > 50, "{report}");
    let failed: Vec<&Value> = results.iter().filter(|r| r["status"] != "ok").collect();
    assert!(failed.is_empty(), "audits not passed: {failed:#?}");
}

#[tokio::test]
#[ignore = "needs Node.js and `npm ci --prefix tests/clients` (.ci/run runs it with --ignored)"]
async fn the_graphql_ws_client_follows_the_audit_log_from_an_index() {
    assert_clients_installed();
    let app = TestApp::spawn_sqlite().await;
    let editor = app.token("editor@asean.org", &[Role::Editor], None);
    let auditor = app.token("sai-auditor", &[Role::Auditor], None);
    app.register_organisation(&editor, "Before one", None).await;
    app.register_organisation(&editor, "Before two", None).await;
    let url = format!("ws://{}/graphql", app.address);
    // From index 1: one event from the past, then three appended while the client listens.
    let client = tokio::spawn(node(
        "ws_client.mjs",
        vec!["follow".into(), url, auditor, "1".into(), "4".into()],
    ));
    let mut live = Vec::new();
    for name in ["Live one", "Live two", "Live three"] {
        live.push(app.register_organisation(&editor, name, None).await.1);
    }
    let report = client.await.unwrap();
    assert_eq!(
        report["indexes"],
        json!([1, live[0], live[1], live[2]]),
        "{report}"
    );
    assert_eq!(live, [2, 3, 4]);
}

#[tokio::test]
#[ignore = "needs Node.js and `npm ci --prefix tests/clients` (.ci/run runs it with --ignored)"]
async fn the_graphql_ws_client_is_refused_with_4403_for_a_bad_token() {
    assert_clients_installed();
    let app = TestApp::spawn_sqlite().await;
    let url = format!("ws://{}/graphql", app.address);
    let report = node(
        "ws_client.mjs",
        vec!["refused".into(), url, "not.a.token".into()],
    )
    .await;
    assert_eq!(report["code"], 4403, "{report}");
    assert!(
        report["reason"].as_str().unwrap().starts_with("Forbidden"),
        "{report}"
    );
}

/// GraphiQL in Debian's headless Chromium with the network cut off: the page loads everything
/// from the server (no request tries to leave it, no Content-Security-Policy violation), runs a
/// query through the editor, `me` with a token typed into the Headers tab, and a subscription over
/// the WebSocket with another token from the Headers tab.
#[tokio::test]
#[ignore = "needs Chromium (apt-get install chromium) and `npm ci --prefix tests/clients` (.ci/run runs it with --ignored)"]
async fn graphiql_works_offline_in_a_real_browser() {
    assert_clients_installed();
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists()
            || std::env::var_os("CHROMIUM").is_some(),
        "Chromium is missing: apt-get install chromium (or set CHROMIUM to its path)"
    );
    let app = TestApp::spawn_sqlite().await;
    let editor = app.token("editor@asean.org", &[Role::Editor], None);
    let auditor = app.token("sai-auditor", &[Role::Auditor], None);
    let base = format!("http://{}", app.address);
    let report = node("graphiql.mjs", vec![base, editor, auditor]).await;
    assert!(report.get("error").is_none(), "{report:#}");
    assert_eq!(
        report["blocked"],
        json!([]),
        "requests left the server: {report:#}"
    );
    assert_eq!(report["consoleErrors"], json!([]), "{report:#}");
    let steps = &report["steps"];
    assert_eq!(
        steps["query"]["data"]["apiVersion"],
        env!("CARGO_PKG_VERSION"),
        "{report:#}"
    );
    assert_eq!(
        steps["me"]["data"]["me"],
        json!({ "sub": "editor@asean.org", "roles": ["EDITOR"] }),
        "{report:#}"
    );
    let event = &steps["subscription"]["shown"]["data"]["auditEventAppended"];
    assert_eq!(event["type"], "OrganisationRegistered", "{report:#}");
    assert_eq!(
        event["index"], steps["subscription"]["appended"],
        "{report:#}"
    );
}
