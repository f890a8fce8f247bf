//! `amanah serve`, run as the binary: it binds before it touches the data directory, tells a
//! person where GraphiQL and the data are, and on SIGTERM ends its subscriptions at once
//! (`complete`, then close 1001) and says it stopped.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on an unexpected error"
)]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest as _, http::HeaderValue};

/// Not a speed target: a bound on waiting, so that a server that never answers fails the test.
const HANG_GUARD: Duration = Duration::from_secs(20);

fn amanah(data_dir: &std::path::Path, listen: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_amanah"));
    command
        .env_clear()
        .env("AMANAH_DATA_DIR", data_dir)
        .env("AMANAH_LISTEN", listen)
        .env("RUST_LOG", "info")
        .current_dir(data_dir.parent().expect("the data dir has a parent"));
    command
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_taken_address_stops_serve_before_it_creates_anything() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("amanah-data");
    let output = amanah(&data_dir, &taken.local_addr().unwrap().to_string())
        .arg("serve")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("could not listen"), "{stderr}");
    assert!(
        !data_dir.exists(),
        "the data directory (and its database) must not be created: {:?}",
        std::fs::read_dir(&data_dir).map(|entries| entries.count())
    );
}

/// Reads the server's stderr until `needle`, returning everything read.
fn read_until(child: &mut Child, needle: &str) -> String {
    let stderr = child.stderr.take().unwrap();
    let mut reader = BufReader::new(stderr);
    let mut seen = String::new();
    let deadline = std::time::Instant::now() + HANG_GUARD;
    while !seen.contains(needle) {
        assert!(
            std::time::Instant::now() < deadline,
            "no {needle:?} in {seen}"
        );
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            panic!("the server ended before {needle:?}: {seen}");
        }
        seen.push_str(&line);
    }
    // Keep draining, so that the server never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut rest = String::new();
        while reader.read_line(&mut rest).is_ok_and(|n| n > 0) {}
    });
    seen
}

#[tokio::test]
async fn serve_says_where_to_start_and_on_sigterm_ends_subscriptions_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("amanah-data");
    let port = free_port();
    let log = dir.path().join("serve.log");
    let mut server = amanah(&data_dir, &format!("127.0.0.1:{port}"))
        .args(["serve", "--demo"])
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let welcome = read_until(&mut server, "Ctrl-C");
    assert!(
        welcome.contains(&format!("http://127.0.0.1:{port}/graphiql")),
        "{welcome}"
    );
    assert!(
        welcome.contains(&data_dir.display().to_string()),
        "{welcome}"
    );
    assert!(welcome.contains("amanah token --sub"), "{welcome}");

    // A subscription that runs until it is ended: the first project, followed.
    let mut request = format!("ws://127.0.0.1:{port}/graphql")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let send = |message: Value| Message::text(message.to_string());
    socket
        .send(send(json!({ "type": "connection_init" })))
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let projects: Value = client
        .post(format!("http://127.0.0.1:{port}/graphql"))
        .json(&json!({ "query": "{ projects(first: 1) { edges { node { id } } } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let project = projects["data"]["projects"]["edges"][0]["node"]["id"].clone();
    socket
        .send(send(json!({ "id": "p", "type": "subscribe", "payload": {
            "query": "subscription($id: ID!) { projectChanged(id: $id) { id } }",
            "variables": { "id": project } } })))
        .await
        .unwrap();
    let mut seen = Vec::new();
    while !seen.iter().any(|m: &Value| m["type"] == "next") {
        let message = tokio::time::timeout(HANG_GUARD, socket.next())
            .await
            .expect("the first item")
            .unwrap()
            .unwrap();
        if let Message::Text(text) = message {
            seen.push(serde_json::from_str(&text).unwrap());
        }
    }

    let stopping = std::time::Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // The subscription completes, then the socket closes with 1001, well before the 30 s grace.
    let mut completed = false;
    let close = loop {
        let message = tokio::time::timeout(HANG_GUARD, socket.next())
            .await
            .expect("ended before the hang guard")
            .expect("a close frame, not a dropped connection")
            .unwrap();
        match message {
            Message::Text(text) => {
                let message: Value = serde_json::from_str(&text).unwrap();
                if message == json!({ "type": "complete", "id": "p" }) {
                    completed = true;
                }
            }
            Message::Close(frame) => break frame.expect("a close code"),
            _ => {}
        }
    };
    assert!(completed, "no complete for the subscription");
    assert_eq!(u16::from(close.code), 1001, "{close:?}");
    let status = tokio::task::spawn_blocking(move || server.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
    assert!(stopping.elapsed() < HANG_GUARD, "{:?}", stopping.elapsed());
    let log = std::fs::read_to_string(log).unwrap();
    assert!(
        log.lines()
            .last()
            .is_some_and(|line| line.contains("stopped")),
        "the last line says it stopped: {log}"
    );
}
