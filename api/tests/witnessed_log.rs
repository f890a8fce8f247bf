//! One Amanah log and three `amanah witness` processes, run as the binaries (`docs/witness.md`
//! §3, §5): the log pushes its checkpoints to the witnesses outside the commit path, keeps their
//! cosignatures, and serves the newest checkpoint that meets a 2-of-3 quorum. A stopped witness
//! leaves the quorum standing and raises its alert; restarted, it catches up. With two witnesses
//! gone, `/audit/checkpoint` stays on the last quorum checkpoint and a newer export fails
//! `audit verify --policy`. That story runs on SQLite and on PostgreSQL. A forked log (same
//! origin and key, another history) shown to a witness is refused with 422 and kept as evidence,
//! and its export fails `verify --policy`. An independent verifier written from the C2SP texts
//! (`tests/witness/verify_cosigned.py`) gives the same verdicts as `amanah audit verify` on
//! cosigned exports, altered ones included.
#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use amanah_audit::checkpoint::Checkpoint;
use amanah_audit::note::parse_note;
use amanah_audit::policy::Policy;
use amanah_infra::testing::TestDatabase;
use base64::Engine as _;
use serde_json::{Value, json};

/// Not a speed target: a bound on waiting, so that a test whose condition never comes fails.
const HANG_GUARD: Duration = Duration::from_secs(60);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `amanah` with a clean environment, in `dir`.
fn amanah(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_amanah"));
    command.env_clear().current_dir(dir);
    command
}

fn succeed(output: Output) -> String {
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// A child process, killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One witness: its directory, name, port and key.
struct Witness {
    dir: PathBuf,
    name: String,
    port: u16,
    vkey: String,
}

impl Witness {
    fn create(root: &Path, name: &str, log_vkey: &str) -> Self {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let key_name = format!("{name}.sai.example/amanah-witness");
        succeed(
            amanah(&dir)
                .args(["witness", "init", "--name", &key_name, "--key", "w.key"])
                .output()
                .unwrap(),
        );
        let vkey = succeed(
            amanah(&dir)
                .args(["witness", "key", "--key", "w.key"])
                .output()
                .unwrap(),
        )
        .trim()
        .to_owned();
        succeed(
            amanah(&dir)
                .args(["witness", "add-log", "--db", "w.db", log_vkey])
                .output()
                .unwrap(),
        );
        Self {
            dir,
            name: name.to_owned(),
            port: free_port(),
            vkey,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn start(&self) -> Running {
        let child = amanah(&self.dir)
            .args([
                "witness",
                "serve",
                "--listen",
                &format!("127.0.0.1:{}", self.port),
                "--db",
                "w.db",
                "--key",
                "w.key",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + HANG_GUARD;
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "witness {} never listened",
                self.name
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Running(child)
    }

    async fn evidence(&self) -> Vec<amanah_infra::witness::Evidence> {
        let store = amanah_infra::witness::WitnessStore::open(&self.dir.join("w.db"))
            .await
            .unwrap();
        store.evidence().await.unwrap()
    }
}

/// A log's data directory and the policy it pushes by.
struct Log {
    data: PathBuf,
    /// The database, when not the data directory's SQLite file.
    database_url: Option<String>,
    policy: PathBuf,
    port: u16,
    output: PathBuf,
}

impl Log {
    fn command(&self) -> Command {
        let mut command = amanah(self.data.parent().unwrap());
        command
            .env("AMANAH_DATA_DIR", &self.data)
            .env("AMANAH_AUDIT_WITNESS_POLICY", &self.policy)
            .env("AMANAH_AUDIT_WITNESS_PUSH_SECS", "1")
            .env("AMANAH_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("RUST_LOG", "info");
        if let Some(url) = &self.database_url {
            command.env("AMANAH_DATABASE_URL", url);
        }
        command
    }

    async fn start(&self, demo: bool) -> Running {
        let mut command = self.command();
        command.arg("serve");
        if demo {
            command.arg("--demo");
        }
        let output = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.output)
            .unwrap();
        let child = command
            .stdout(output.try_clone().unwrap())
            .stderr(output)
            .spawn()
            .unwrap();
        let running = Running(child);
        wait_until("the log is ready", || async {
            reqwest::get(format!("http://127.0.0.1:{}/readyz", self.port))
                .await
                .is_ok_and(|r| r.status() == 200)
        })
        .await;
        running
    }

    fn token(&self, role: &str) -> String {
        succeed(
            self.command()
                .args(["token", "--sub", role, "--role", role])
                .output()
                .unwrap(),
        )
        .trim()
        .to_owned()
    }

    /// The newest signed size: the number of events, since every commit signs its checkpoint.
    async fn newest_size(&self) -> u64 {
        self.graphql(
            "auditor",
            "{ auditEvents(first: 1) { totalCount } }",
            json!({}),
        )
        .await["auditEvents"]["totalCount"]
            .as_u64()
            .unwrap()
    }

    /// A GraphQL request with a token of `role`; the response's `data`.
    async fn graphql(&self, role: &str, query: &str, variables: Value) -> Value {
        let body: Value = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{}/graphql", self.port))
            .bearer_auth(self.token(role))
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(body["errors"].is_null(), "{body}");
        body["data"].clone()
    }

    /// Registers an organisation; the new event's audit index.
    async fn register(&self, name: &str) -> u64 {
        self.register_with_receipt(name).await["auditIndex"]
            .as_u64()
            .unwrap()
    }

    /// Registers an organisation; its payload's `auditIndex` and `receipt`.
    async fn register_with_receipt(&self, name: &str) -> Value {
        self.graphql(
            "editor",
            "mutation($name: String!) { registerOrganisation(input: {name: $name, type: GOVERNMENT}) \
             { auditIndex receipt { checkpoint { treeSize rootHash } } } }",
            json!({ "name": name }),
        )
        .await["registerOrganisation"]
            .clone()
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let response = reqwest::get(format!("http://127.0.0.1:{}{path}", self.port))
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// The value of one series of `/metrics`, e.g. `amanah_witness_up{witness="w1"}`.
    async fn metric(&self, series: &str) -> Option<u64> {
        let (_, text) = self.get("/metrics").await;
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    /// `amanah audit export` into `out` (of `size` when given).
    fn export(&self, out: &Path, size: Option<u64>) -> String {
        let mut command = self.command();
        command.args(["audit", "export", "--out"]).arg(out);
        if let Some(size) = size {
            command.args(["--size", &size.to_string()]);
        }
        succeed(command.output().unwrap())
    }
}

async fn wait_until<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + HANG_GUARD;
    while !condition().await {
        assert!(Instant::now() < deadline, "waited in vain: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A served checkpoint's size and the names of the policy's witnesses whose lines verify on it.
fn cosigners(note: &str, policy: &Policy) -> (u64, Vec<String>) {
    let parsed = parse_note(note.as_bytes()).unwrap();
    let checkpoint = Checkpoint::parse_body(parsed.text).unwrap();
    let names = policy
        .witnesses
        .iter()
        .filter(|w| {
            parsed
                .signatures
                .iter()
                .any(|line| w.key.verify(parsed.text, line).is_ok())
        })
        .map(|w| w.name.clone())
        .collect();
    (checkpoint.size, names)
}

/// `amanah audit verify DIR --policy FILE`: exit code and output.
fn verify(dir: &Path, policy: &Path) -> (Option<i32>, String) {
    verdict(
        amanah(dir.parent().unwrap())
            .args(["audit", "verify"])
            .arg(dir)
            .arg("--policy")
            .arg(policy),
    )
}

/// A verifier's exit code, and what it printed.
fn verdict(command: &mut Command) -> (Option<i32>, String) {
    let output = command.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), text)
}

/// A log with its key (on `database_url`, or its data directory's SQLite file), three witnesses
/// that know it, and a policy that needs two of the three.
fn setup(root: &Path, database_url: Option<&str>) -> (Log, Vec<Witness>) {
    let data = root.join("log");
    let log = Log {
        data,
        database_url: database_url.map(str::to_owned),
        policy: root.join("policy.txt"),
        port: free_port(),
        output: root.join("log.out"),
    };
    let log_vkey = succeed(log.command().args(["audit", "key"]).output().unwrap())
        .trim()
        .to_owned();
    let witnesses: Vec<Witness> = ["w1", "w2", "w3"]
        .iter()
        .map(|name| Witness::create(root, name, &log_vkey))
        .collect();
    let mut policy = format!("log {log_vkey}\n");
    for w in &witnesses {
        policy.push_str(&format!("witness {} {} {}\n", w.name, w.vkey, w.url()));
    }
    policy.push_str("group sais 2 w1 w2 w3\nquorum sais\n");
    std::fs::write(&log.policy, policy).unwrap();
    (log, witnesses)
}

fn parsed_policy(path: &Path) -> Policy {
    Policy::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Waits until the served checkpoint is the newest signed one and `names` cosigned it; returns
/// its note.
async fn cosigned_by(log: &Log, policy: &Policy, names: &[&str]) -> String {
    let newest = log.newest_size().await;
    let deadline = Instant::now() + HANG_GUARD;
    loop {
        let (status, note) = log.get("/audit/checkpoint").await;
        if status == 200 && cosigners(&note, policy) == (newest, names_of(names)) {
            return note;
        }
        assert!(
            Instant::now() < deadline,
            "waited in vain: {names:?} cosign the newest checkpoint, {newest}; served: {note}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn names_of(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

/// The key name of witness `name` (what `verify` reports).
fn key_name(name: &str) -> String {
    format!("{name}.sai.example/amanah-witness")
}

amanah_infra::on_both_engines!(
    a_two_of_three_quorum_survives_a_stopped_witness_which_then_catches_up
);

async fn a_two_of_three_quorum_survives_a_stopped_witness_which_then_catches_up(
    database: &TestDatabase,
) {
    let dir = tempfile::tempdir().unwrap();
    let (log, witnesses) = setup(dir.path(), Some(database.url()));
    let policy = parsed_policy(&log.policy);
    let mut running: Vec<Option<Running>> = witnesses.iter().map(|w| Some(w.start())).collect();
    let _server = log.start(true).await;

    // All three cosign the demo's newest checkpoint; an export verifies against the policy and
    // names them.
    let note = cosigned_by(&log, &policy, &["w1", "w2", "w3"]).await;
    let (first_size, _) = cosigners(&note, &policy);
    // GraphQL serves the same bytes.
    let data = log
        .graphql(
            "auditor",
            "{ auditCheckpoint { treeSize note } }",
            json!({}),
        )
        .await;
    assert_eq!(data["auditCheckpoint"]["note"], note.as_str(), "{data}");
    assert_eq!(data["auditCheckpoint"]["treeSize"], first_size);
    let export = dir.path().join("export-1");
    log.export(&export, None);
    let (code, text) = verify(&export, &log.policy);
    assert_eq!(code, Some(0), "{text}");
    for name in ["w1", "w2", "w3"] {
        assert!(
            text.contains(&format!("cosigned by {} at ", key_name(name))),
            "{text}"
        );
    }
    // The cosignatures are kept, append-only: the served note is what the export wrote.
    assert_eq!(
        std::fs::read_to_string(export.join("checkpoint")).unwrap(),
        note
    );

    // One witness stops: the quorum still holds for the next checkpoint, and its alert is up.
    running[2] = None;
    let index = log.register("After w3 stopped").await;
    let note = cosigned_by(&log, &policy, &["w1", "w2"]).await;
    let (second_size, _) = cosigners(&note, &policy);
    assert!(second_size > index && second_size > first_size);
    wait_until("w3's push failures are counted", || async {
        log.metric(r#"amanah_witness_push_failures_total{witness="w3",reason="unreachable"}"#)
            .await
            .is_some_and(|n| n > 0)
    })
    .await;
    assert_eq!(
        log.metric(r#"amanah_witness_up{witness="w3"}"#).await,
        Some(0)
    );
    assert_eq!(
        log.metric(r#"amanah_witness_up{witness="w1"}"#).await,
        Some(1)
    );
    assert_eq!(log.metric("amanah_audit_quorum_met").await, Some(1));
    let (_, text) = log.get("/metrics").await;
    let alerts = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/alerts.yaml"),
    )
    .unwrap();
    for word in alerts.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        if word.starts_with("amanah_") {
            assert!(
                text.contains(&format!("\n{word}")),
                "deploy/alerts.yaml uses {word}, which /metrics does not have"
            );
        }
    }
    let logged = std::fs::read_to_string(&log.output).unwrap();
    assert!(logged.contains("witness unreachable"), "{logged}");

    // Restarted, it catches up from the size it held, with a consistency proof.
    running[2] = Some(witnesses[2].start());
    let note = cosigned_by(&log, &policy, &["w1", "w2", "w3"]).await;
    assert_eq!(cosigners(&note, &policy).0, second_size);
    wait_until("w3 is up again", || async {
        log.metric(r#"amanah_witness_up{witness="w3"}"#).await == Some(1)
    })
    .await;

    // A receipt is rarely cosigned itself: a consistency proof links its checkpoint to a later,
    // cosigned one.
    let receipt = log.register_with_receipt("Keeps its receipt").await;
    log.register("Comes after").await;
    let note = cosigned_by(&log, &policy, &["w1", "w2", "w3"]).await;
    let cosigned = Checkpoint::parse_body(parse_note(note.as_bytes()).unwrap().text).unwrap();
    let receipt_size = receipt["receipt"]["checkpoint"]["treeSize"]
        .as_u64()
        .unwrap();
    assert!(receipt_size < cosigned.size);
    let data = log
        .graphql(
            "auditor",
            "query($from: Int!, $to: Int) { auditConsistencyProof(fromSize: $from, toSize: $to) { hashes } }",
            json!({ "from": receipt_size, "to": cosigned.size }),
        )
        .await;
    let decode = |text: &Value| {
        base64::engine::general_purpose::STANDARD
            .decode(text.as_str().unwrap())
            .unwrap()
    };
    let hashes: Vec<Vec<u8>> = data["auditConsistencyProof"]["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(decode)
        .collect();
    amanah_audit::merkle::verify_consistency(
        receipt_size,
        cosigned.size,
        &hashes,
        &decode(&receipt["receipt"]["checkpoint"]["rootHash"]),
        &cosigned.root,
    )
    .unwrap();
    let second_size = cosigned.size;

    // Two witnesses gone: the served checkpoint stays on the last one that met the quorum, and
    // an export of the newer checkpoint does not verify against the policy.
    running[1] = None;
    running[2] = None;
    let index = log.register("After w2 and w3 stopped").await;
    wait_until("w1 cosigns the newest checkpoint alone", || async {
        log.metric(r#"amanah_witness_cosigned_size{witness="w1"}"#)
            .await
            .is_some_and(|size| size > index)
    })
    .await;
    let (_, note) = log.get("/audit/checkpoint").await;
    assert_eq!(
        cosigners(&note, &policy),
        (second_size, names_of(&["w1", "w2", "w3"]))
    );
    assert!(log.metric("amanah_audit_quorum_lag_entries").await.unwrap() > 0);
    let newest = index + 1;
    let (status, newest_note) = log.get(&format!("/audit/checkpoint?size={newest}")).await;
    assert_eq!(status, 200, "{newest_note}");
    assert_eq!(
        cosigners(&newest_note, &policy),
        (newest, names_of(&["w1"]))
    );
    let export = dir.path().join("export-newest");
    log.export(&export, Some(newest));
    let (code, text) = verify(&export, &log.policy);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(&format!("quorum not met (verified: {})", key_name("w1"))),
        "{text}"
    );
    let export = dir.path().join("export-quorum");
    log.export(&export, None);
    let (code, text) = verify(&export, &log.policy);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains(&format!("verified {second_size} events")),
        "{text}"
    );
    let (status, _) = log.get("/audit/checkpoint?size=999999").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_forked_log_shown_to_a_witness_is_refused_kept_as_evidence_and_fails_verification() {
    let dir = tempfile::tempdir().unwrap();
    let (log, witnesses) = setup(dir.path(), None);
    let policy = parsed_policy(&log.policy);
    let _running: Vec<Running> = witnesses.iter().map(Witness::start).collect();
    let server = log.start(true).await;
    cosigned_by(&log, &policy, &["w1", "w2", "w3"]).await;

    // The operator copies the log (key and history) while it is stopped, and runs both.
    drop(server);
    let fork = Log {
        data: dir.path().join("fork"),
        database_url: None,
        policy: dir.path().join("fork-policy.txt"),
        port: free_port(),
        output: dir.path().join("fork.out"),
    };
    copy_dir(&log.data, &fork.data);
    // The fork is shown to w1 alone.
    let text = std::fs::read_to_string(&log.policy).unwrap();
    let fork_policy: String = text
        .lines()
        .filter(|line| line.starts_with("log ") || line.starts_with("witness w1 "))
        .map(|line| format!("{line}\n"))
        .collect::<String>()
        + "quorum w1\n";
    std::fs::write(&fork.policy, fork_policy).unwrap();

    let _server = log.start(false).await;
    let index = log.register("The real history").await;
    let note = cosigned_by(&log, &policy, &["w1", "w2", "w3"]).await;
    let (size, _) = cosigners(&note, &policy);
    assert_eq!(size, index + 1);

    let _fork_server = fork.start(false).await;
    let fork_index = fork.register("Another history").await;
    assert_eq!(
        fork_index, index,
        "both logs grew by one event from the same size"
    );
    wait_until("w1 rejects the fork", || async {
        fork.metric(r#"amanah_witness_push_failures_total{witness="w1",reason="rejected"}"#)
            .await
            .is_some_and(|n| n > 0)
    })
    .await;
    let logged = std::fs::read_to_string(&fork.output).unwrap();
    assert!(logged.contains("witness rejects consistency"), "{logged}");

    // w1 kept the fork's signed request as evidence: a checkpoint of the same size with another
    // root, signed by the log's key.
    let (_, fork_note) = fork.get(&format!("/audit/checkpoint?size={size}")).await;
    let fork_text = parse_note(fork_note.as_bytes()).unwrap().text.to_owned();
    let real_text = parse_note(note.as_bytes()).unwrap().text.to_owned();
    assert_ne!(fork_text, real_text);
    let evidence = witnesses[0].evidence().await;
    assert!(
        evidence
            .iter()
            .any(|e| e.status == 422 && e.body.contains(&fork_text)),
        "{evidence:?}"
    );
    assert!(
        witnesses[1].evidence().await.is_empty(),
        "w2 never saw the fork"
    );
    // w1 still holds the real history.
    let (_, real_again) = log.get("/audit/checkpoint").await;
    assert_eq!(cosigners(&real_again, &policy).1, ["w1", "w2", "w3"]);

    // The fork's export does not verify against the auditors' policy; the real one does.
    let fork_export = dir.path().join("fork-export");
    fork.export(&fork_export, None);
    let (code, text) = verify(&fork_export, &log.policy);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("quorum not met"), "{text}");
    let export = dir.path().join("export");
    log.export(&export, None);
    let (code, text) = verify(&export, &log.policy);
    assert_eq!(code, Some(0), "{text}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[test]
fn a_policy_that_does_not_fit_the_log_stops_serve_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (log, witnesses) = setup(dir.path(), None);
    let other = amanah_audit::note::SigningKey::from_seed("amanah.local/audit", &[1; 32]).unwrap();
    let w = &witnesses[0];
    for (policy, reason) in [
        (
            format!(
                "log {}\nwitness w1 {} {}\nquorum w1\n",
                other.verifier_key(),
                w.vkey,
                w.url()
            ),
            "but this server signs with",
        ),
        (
            format!("log {}\nwitness w1 {}\nquorum w1\n", log_vkey(&log), w.vkey),
            "witness w1 has no URL",
        ),
        (
            format!(
                "log {}\nwitness w1 {} ftp://x\nquorum w1\n",
                log_vkey(&log),
                w.vkey
            ),
            "must start with http:// or https://",
        ),
        (
            format!("log {}\nquorum w9\n", log_vkey(&log)),
            "policy line 2: w9 is not defined on an earlier line",
        ),
    ] {
        std::fs::write(&log.policy, &policy).unwrap();
        let output = log.command().arg("serve").output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{policy}: {stderr}");
        assert!(stderr.contains(reason), "{policy}: {stderr}");
    }
}

fn log_vkey(log: &Log) -> String {
    succeed(log.command().args(["audit", "key"]).output().unwrap())
        .trim()
        .to_owned()
}

/// `tests/witness/verify_cosigned.py`, a verifier written from the C2SP texts alone.
fn independent_verdict(dir: &Path, policy: &Path) -> (Option<i32>, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/witness/verify_cosigned.py");
    verdict(Command::new("python3").arg(script).arg(dir).arg(policy))
}

/// The export in `from`, with its checkpoint's cosignature lines changed by `change`.
fn altered(from: &Path, to: &Path, change: impl FnOnce(Vec<String>) -> Vec<String>) {
    copy_dir(from, to);
    let note = std::fs::read_to_string(from.join("checkpoint")).unwrap();
    let (text, lines) = note.rsplit_once("\n\n").unwrap();
    let lines: Vec<String> = lines.lines().map(str::to_owned).collect();
    let mut note = format!("{text}\n\n");
    for line in change(lines) {
        note.push_str(&line);
        note.push('\n');
    }
    std::fs::write(to.join("checkpoint"), note).unwrap();
}

#[tokio::test]
#[ignore = "needs python3 with cryptography: pip install cryptography (.ci/run runs it with --ignored)"]
async fn an_independent_verifier_from_the_c2sp_texts_gives_the_same_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    let (log, witnesses) = setup(dir.path(), None);
    let policy = parsed_policy(&log.policy);
    let mut running: Vec<Option<Running>> = witnesses.iter().map(|w| Some(w.start())).collect();
    let _server = log.start(true).await;
    cosigned_by(&log, &policy, &["w1", "w2", "w3"]).await;
    let first = dir.path().join("first");
    log.export(&first, None);
    log.register("A second checkpoint").await;
    cosigned_by(&log, &policy, &["w1", "w2", "w3"]).await;
    let quorum = dir.path().join("quorum");
    log.export(&quorum, None);
    running[1] = None;
    running[2] = None;
    let index = log.register("Cosigned by w1 alone").await;
    wait_until("w1 cosigns the newest checkpoint", || async {
        log.metric(r#"amanah_witness_cosigned_size{witness="w1"}"#)
            .await
            .is_some_and(|size| size > index)
    })
    .await;
    let lonely = dir.path().join("lonely");
    log.export(&lonely, Some(index + 1));

    // Lines: the log's, then w1's, w2's and w3's.
    let tamper_time = |line: &str| {
        let (head, encoded) = line.rsplit_once(' ').unwrap();
        let mut bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap();
        bytes[11] ^= 1;
        format!(
            "{head} {}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )
    };
    let first_note = std::fs::read_to_string(first.join("checkpoint")).unwrap();
    let older_w2 = first_note.lines().rev().nth(1).unwrap().to_owned();
    let stranger =
        amanah_audit::cosignature::Cosigner::from_seed("stranger.example/w", &[8; 32]).unwrap();
    let quorum_text = {
        let note = std::fs::read_to_string(quorum.join("checkpoint")).unwrap();
        parse_note(note.as_bytes()).unwrap().text.to_owned()
    };
    let cases: Vec<(&str, PathBuf, i32)> = vec![
        ("the quorum checkpoint", quorum.clone(), 0),
        ("a checkpoint w1 alone cosigned", lonely.clone(), 1),
        ("w2's time changed", dir.path().join("t"), 1),
        (
            "w2's line over another checkpoint",
            dir.path().join("other"),
            1,
        ),
        (
            "an unknown witness's line added",
            dir.path().join("unknown"),
            0,
        ),
        (
            "w1's line twice, w2's and w3's gone",
            dir.path().join("twice"),
            1,
        ),
    ];
    altered(&quorum, &cases[2].1, |mut lines| {
        lines[2] = tamper_time(&lines[2]);
        lines
    });
    altered(&quorum, &cases[3].1, |mut lines| {
        lines[2].clone_from(&older_w2);
        lines
    });
    altered(&quorum, &cases[4].1, |mut lines| {
        lines.push(
            stranger
                .cosign(&quorum_text, 1_700_000_000)
                .trim_end()
                .to_owned(),
        );
        lines
    });
    altered(&quorum, &cases[5].1, |lines| {
        vec![lines[0].clone(), lines[1].clone(), lines[1].clone()]
    });
    for (case, export, expected) in cases {
        let (ours, our_text) = verify(&export, &log.policy);
        let (theirs, their_text) = independent_verdict(&export, &log.policy);
        assert_eq!(ours, Some(expected), "{case}: amanah says {our_text}");
        assert_eq!(
            theirs,
            Some(expected),
            "{case}: the independent verifier says {their_text}"
        );
    }
}
