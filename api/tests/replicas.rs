//! Two `amanah serve` processes (replicas) on one PostgreSQL database, written to concurrently over
//! HTTP: the log stays gapless with index order equal to commit order, every checkpoint either
//! replica signed is consistent with every later one, `amanah replay --check` finds the read model
//! equal to the fold of the log, and `amanah audit verify-db` verifies it. A subscriber to one
//! replica sees every event, in order, whichever replica appended it.
//!
//! PostgreSQL tests: ignored unless built with `CI` or `AMANAH_TEST_POSTGRES_URL` set, and then a
//! missing server fails them (see `amanah_infra::postgres_test!`).
#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use amanah_audit::checkpoint::Checkpoint;
use amanah_audit::merkle::verify_consistency;
use amanah_infra::audit::files::load_or_create_signing_key;
use amanah_infra::auth::{HmacSecret, Role, mint_hs256};
use amanah_infra::testing::TestDatabase;
use serde_json::{Value, json};

amanah_infra::postgres_test!(
    two_replicas_on_one_postgres_keep_one_gapless_signed_log,
    a_subscriber_to_one_replica_sees_what_the_other_appends,
);

const SECRET: &str = "replica-test-secret-with-at-least-32-bytes!";
const ORIGIN: &str = "amanah.test/replicas";

/// A server process, killed when dropped.
struct Replica {
    child: Child,
    base: String,
    /// The process's standard error (its log), shown when a test cannot explain a failure.
    log: std::path::PathBuf,
}

impl Replica {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_else(|error| format!("(no log: {error})"))
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn amanah(data_dir: &Path, database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_amanah"));
    command
        .current_dir(data_dir)
        .env("AMANAH_DATA_DIR", data_dir)
        .env("AMANAH_DATABASE_URL", database_url)
        .env("AMANAH_AUTH_HS256_SECRET", SECRET)
        .env("AMANAH_AUDIT_ORIGIN", ORIGIN)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
    command
}

async fn start(data_dir: &Path, database_url: &str, client: &reqwest::Client) -> Replica {
    let port = free_port();
    let log = data_dir.join(format!("replica-{port}.log"));
    let child = amanah(data_dir, database_url)
        .env("AMANAH_LISTEN", format!("127.0.0.1:{port}"))
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let replica = Replica {
        child,
        base: format!("http://127.0.0.1:{port}"),
        log,
    };
    // Readiness, bounded: the process needs a moment to connect and migrate.
    for _ in 0..200 {
        if let Ok(response) = client.get(format!("{}/readyz", replica.base)).send().await
            && response.status().is_success()
        {
            return replica;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("replica on port {port} did not become ready");
}

async fn register(client: &reqwest::Client, base: &str, token: &str, name: &str) -> u64 {
    let body: Value = client
        .post(format!("{base}/graphql"))
        .bearer_auth(token)
        .json(&json!({
            "query": "mutation($name: String!) { registerOrganisation(input: {name: $name, type: GOVERNMENT}) { auditIndex } }",
            "variables": { "name": name },
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["data"]["registerOrganisation"]["auditIndex"]
        .as_u64()
        .unwrap_or_else(|| panic!("mutation failed: {body}"))
}

async fn two_replicas_on_one_postgres_keep_one_gapless_signed_log(database: &TestDatabase) {
    let data_dir = tempfile::tempdir().unwrap();
    // Both replicas sign with the same key, as a deployment shares it.
    let (key, _) =
        load_or_create_signing_key(&data_dir.path().join("audit-signing.key"), ORIGIN).unwrap();
    let client = reqwest::Client::new();
    let a = start(data_dir.path(), database.url(), &client).await;
    let b = start(data_dir.path(), database.url(), &client).await;
    let token = mint_hs256(
        &HmacSecret::new(SECRET).unwrap(),
        "integration-test",
        &[Role::Editor],
        None,
        Duration::from_secs(600),
        "amanah",
        "amanah",
    )
    .unwrap();

    let per_replica = 40;
    let mut tasks = Vec::new();
    for (replica, base) in [("a", a.base.clone()), ("b", b.base.clone())] {
        for i in 0..per_replica {
            let client = client.clone();
            let base = base.clone();
            let token = token.clone();
            tasks.push(tokio::spawn(async move {
                register(&client, &base, &token, &format!("Office {replica}{i}")).await
            }));
        }
    }
    let mut indexes = Vec::new();
    for task in tasks {
        indexes.push(task.await.unwrap());
    }
    indexes.sort_unstable();
    let expected: Vec<u64> = (0..2 * per_replica).collect();
    assert_eq!(indexes, expected, "one gapless log, no index twice");

    // Every checkpoint (signed by either replica) opens and is consistent with the next.
    let verifier = key.verifier_key();
    let checkpoints: Vec<Checkpoint> =
        amanah_infra::audit::tree::checkpoints(database.connection())
            .await
            .unwrap()
            .iter()
            .map(|stored| Checkpoint::open(&stored.note, &verifier).unwrap())
            .collect();
    assert_eq!(checkpoints.last().map(|c| c.size), Some(2 * per_replica));
    for pair in checkpoints.windows(2) {
        let proof = amanah_infra::audit::tree::consistency_proof(
            database.connection(),
            pair[0].size,
            Some(pair[1].size),
        )
        .await
        .unwrap()
        .hashes;
        verify_consistency(
            pair[0].size,
            pair[1].size,
            &proof,
            &pair[0].root,
            &pair[1].root,
        )
        .unwrap();
    }

    // Either replica publishes the latest checkpoint, publicly, as text.
    for base in [&a.base, &b.base] {
        let response = client
            .get(format!("{base}/audit/checkpoint"))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(content_type.starts_with("text/plain"), "{content_type}");
        let published = Checkpoint::open(response.text().await.unwrap(), &verifier).unwrap();
        assert_eq!(published.size, 2 * per_replica);
    }

    drop(a);
    drop(b);
    let check = amanah(data_dir.path(), database.url())
        .args(["replay", "--check"])
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "replay --check: {}",
        String::from_utf8_lossy(&check.stdout)
    );
    let verify = amanah(data_dir.path(), database.url())
        .args(["audit", "verify-db"])
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "verify-db: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(String::from_utf8_lossy(&verify.stdout).contains("80 verified events"));
}

/// The next `next` payload's `data` on `socket` (to `replica`), skipping keep-alives; fails
/// after 10 s, and with the replica's log when the connection ends.
async fn next_event(
    socket: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    replica: &Replica,
) -> Value {
    use futures::StreamExt as _;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .unwrap_or_else(|_| panic!("no event within 10 s"))
            .unwrap_or_else(|| panic!("the WebSocket ended; the replica's log:\n{}", replica.log()))
            .unwrap();
        if let Message::Close(frame) = &message {
            panic!(
                "the replica closed the WebSocket ({frame:?}); its log:\n{}",
                replica.log()
            );
        }
        if let Message::Text(text) = message {
            let value: Value = serde_json::from_str(&text).unwrap();
            match value["type"].as_str() {
                Some("ping" | "pong" | "connection_ack") => {}
                Some("next") => return value["payload"]["data"].clone(),
                _ => panic!("unexpected {value}"),
            }
        }
    }
}

async fn a_subscriber_to_one_replica_sees_what_the_other_appends(database: &TestDatabase) {
    use futures::SinkExt as _;
    use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest as _};

    let data_dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let a = start(data_dir.path(), database.url(), &client).await;
    let b = start(data_dir.path(), database.url(), &client).await;
    let token = |sub: &str, role: Role| {
        mint_hs256(
            &HmacSecret::new(SECRET).unwrap(),
            sub,
            &[role],
            None,
            Duration::from_secs(600),
            "amanah",
            "amanah",
        )
        .unwrap()
    };
    let (editor, auditor) = (
        token("editor", Role::Editor),
        token("auditor", Role::Auditor),
    );

    let mut request = format!("{}/graphql", a.base.replacen("http", "ws", 1))
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    for message in [
        json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {auditor}") } }),
        json!({ "id": "log", "type": "subscribe", "payload": {
            "query": "subscription { auditEventAppended(fromIndex: 0) { index actor { sub } data } }" } }),
    ] {
        socket
            .send(Message::Text(message.to_string().into()))
            .await
            .unwrap();
    }
    // Alternating replicas, one at a time: the indexes are known.
    let mut names = Vec::new();
    for i in 0..8 {
        let base = if i % 2 == 0 { &b.base } else { &a.base };
        let name = format!("Office {i}");
        assert_eq!(register(&client, base, &editor, &name).await, i);
        names.push(name);
    }
    for (index, name) in names.iter().enumerate() {
        let event = &next_event(&mut socket, &a).await["auditEventAppended"];
        assert_eq!(event["index"], index, "{event}");
        assert_eq!(event["data"]["name"], name.as_str(), "{event}");
    }
}
