//! `amanah witness`, run as the binary: a key is made and printed, a log added, and the server
//! answers `add-checkpoint` as C2SP tlog-witness says (`docs/witness.md` §1, §5): trust on first
//! use, growth with a consistency proof, 409 with the stored size, 422 for a split view (kept as
//! evidence), 404, 403, 400, and the cosigned checkpoint it serves; its state survives a restart.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on an unexpected error"
)]

use std::io::BufRead as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use amanah_audit::checkpoint::Checkpoint;
use amanah_audit::cosignature::CosignatureVerifier;
use amanah_audit::merkle::{CompactRange, Hash, NodeId, consistency_plan, leaf_hash, node_hash};
use amanah_audit::note::{SigningKey, parse_note};
use amanah_audit::witness::AddCheckpoint;
use sha2::{Digest as _, Sha256};

fn amanah(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_amanah"))
        .args(args)
        .env_clear()
        .current_dir(dir)
        .output()
        .expect("amanah runs")
}

/// The witness server, killed when dropped.
struct Server(Child, String);

impl Server {
    fn start(dir: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_amanah"))
            .args([
                "witness",
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--db",
                "w.db",
                "--key",
                "w.key",
            ])
            .env_clear()
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim().rsplit(' ').next().unwrap().to_owned();
        assert!(url.starts_with("http://127.0.0.1:"), "{line}");
        Self(child, url)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Appendix B's log key.
fn log_key() -> SigningKey {
    let seed: [u8; 32] = std::array::from_fn(|i| u8::try_from(i + 0x20).unwrap());
    SigningKey::from_seed("amanah.local/audit", &seed).unwrap()
}

fn leaves() -> Vec<Vec<u8>> {
    (0..16_u8).map(|i| vec![i; usize::from(i)]).collect()
}

fn node(id: NodeId) -> Hash {
    let leaves = leaves();
    if id.level == 0 {
        return leaf_hash(&leaves[usize::try_from(id.index).unwrap()]);
    }
    let child = |index| NodeId {
        level: id.level - 1,
        index,
    };
    node_hash(&node(child(2 * id.index)), &node(child(2 * id.index + 1)))
}

fn root(size: u64) -> Hash {
    let mut range = CompactRange::new();
    for leaf in &leaves()[..usize::try_from(size).unwrap()] {
        range.push(leaf_hash(leaf));
    }
    range.root()
}

fn body(old: u64, size: u64, root: Hash, key: &SigningKey) -> String {
    let proof = if old == 0 || old >= size {
        Vec::new()
    } else {
        consistency_plan(old, size)
            .unwrap()
            .assemble(|id| Some(node(id)))
            .unwrap()
    };
    AddCheckpoint {
        old,
        proof,
        checkpoint: Checkpoint::new("amanah.local/audit", size, root)
            .sign(key)
            .unwrap(),
    }
    .to_body()
}

async fn post(server: &Server, body: String) -> (u16, String, String) {
    let response = reqwest::Client::new()
        .post(format!("{}/add-checkpoint", server.1))
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

#[tokio::test]
async fn a_witness_cosigns_what_extends_its_history_and_keeps_evidence_of_what_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let init = amanah(
        dir.path(),
        &[
            "witness",
            "init",
            "--name",
            "sai-1.example/witness",
            "--key",
            "w.key",
        ],
    );
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let vkey = String::from_utf8(init.stdout).unwrap().trim().to_owned();
    let witness = CosignatureVerifier::parse(&vkey).unwrap();
    let key = amanah(dir.path(), &["witness", "key", "--key", "w.key"]);
    assert_eq!(String::from_utf8(key.stdout).unwrap().trim(), vkey);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join("w.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = amanah(
        dir.path(),
        &["witness", "init", "--name", "other", "--key", "w.key"],
    );
    assert!(
        !again.status.success(),
        "a witness key is never overwritten"
    );
    let log_vkey = log_key().verifier_key().to_string();
    let added = amanah(
        dir.path(),
        &["witness", "add-log", "--db", "w.db", &log_vkey],
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );

    let server = Server::start(dir.path());
    // Trust on first use, then growth with a proof; each answer is a cosignature line over the
    // checkpoint.
    for (old, size) in [(0, 3), (3, 8)] {
        let request = body(old, size, root(size), &log_key());
        let (status, _, line) = post(&server, request.clone()).await;
        assert_eq!(status, 200, "{line}");
        let checkpoint = request.split_once("\n\n").unwrap().1;
        let note = format!("{checkpoint}{line}");
        let parsed = parse_note(note.as_bytes()).unwrap();
        let cosignature = parsed.signatures.iter().find(|s| witness.names(s)).unwrap();
        assert!(witness.verify(parsed.text, cosignature).is_ok());
    }
    // A replay after the witness moved on: 409 with the size it holds.
    let (status, content_type, size) = post(&server, body(3, 8, root(8), &log_key())).await;
    assert_eq!(
        (status, content_type.as_str(), size.as_str()),
        (409, "text/x.tlog.size", "8\n")
    );
    // A split view at the same size: 422, kept as evidence.
    let fork = body(8, 8, root(7), &log_key());
    assert_eq!(post(&server, fork.clone()).await.0, 422);
    // A larger checkpoint whose proof does not link to what the witness holds.
    let linked = body(8, 12, root(12), &log_key());
    let unlinked = format!("{}AAAA{}", &linked[..6], &linked[10..]);
    assert_ne!(unlinked, linked);
    assert_eq!(post(&server, unlinked).await.0, 422);
    // The same checkpoint again: cosigned again.
    assert_eq!(post(&server, body(8, 8, root(8), &log_key())).await.0, 200);
    // Another log's key, a body over 16 KiB, an older checkpoint.
    let stranger = SigningKey::generate("amanah.local/audit").unwrap();
    assert_eq!(post(&server, body(8, 9, root(9), &stranger)).await.0, 403);
    assert_eq!(post(&server, "x".repeat(17 * 1024)).await.0, 400);
    let older = body(8, 5, root(5), &log_key());
    assert_eq!(post(&server, older).await.0, 400);
    let other_origin = AddCheckpoint {
        old: 0,
        proof: Vec::new(),
        checkpoint: Checkpoint::new("elsewhere.example/log", 1, root(1))
            .sign(&SigningKey::generate("elsewhere.example/log").unwrap())
            .unwrap(),
    };
    assert_eq!(post(&server, other_origin.to_body()).await.0, 404);

    // The cosigned checkpoint, at the hash of the origin.
    let origin_hash = hex(&Sha256::digest(b"amanah.local/audit"));
    let served = reqwest::get(format!("{}/{origin_hash}/checkpoint", server.1))
        .await
        .unwrap();
    assert_eq!(served.status().as_u16(), 200);
    let note = served.text().await.unwrap();
    assert!(note.starts_with("amanah.local/audit\n8\n"), "{note}");
    assert!(note.contains("\u{2014} sai-1.example/witness "), "{note}");
    let unknown = reqwest::get(format!("{}/{}/checkpoint", server.1, "0".repeat(64)))
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 404);
    drop(server);

    // After a restart the witness still holds size 8, and the evidence is there.
    let server = Server::start(dir.path());
    let (status, _, size) = post(&server, body(3, 8, root(8), &log_key())).await;
    assert_eq!((status, size.as_str()), (409, "8\n"));
    let store = amanah_infra::witness::WitnessStore::open(&dir.path().join("w.db"))
        .await
        .unwrap();
    let evidence = store.evidence().await.unwrap();
    assert_eq!(evidence.len(), 2, "{evidence:?}");
    assert_eq!(evidence[0].body, fork);
    assert!(evidence.iter().all(|e| e.status == 422));
}

/// An export cosigned by two of three witnesses verifies against a 2-of-3 policy; with one
/// cosignature, or a tampered one, it does not; `--vkey` and `--policy` do not combine.
#[tokio::test]
async fn an_export_verifies_against_a_witness_policy_only_when_the_quorum_cosigned_it() {
    let work = tempfile::tempdir().unwrap();
    let operator = std::sync::Arc::new(SigningKey::generate("amanah.test/witnessed").unwrap());
    let export = work.path().join("export");
    amanah_infra::testing::write_signed_export(&operator, &export, 6).await;
    let checkpoint = std::fs::read_to_string(export.join("checkpoint")).unwrap();

    let mut witnesses = Vec::new();
    let mut policy = format!("log {}\n", operator.verifier_key());
    for n in 1..=3 {
        let dir = work.path().join(format!("w{n}"));
        std::fs::create_dir(&dir).unwrap();
        let name = format!("sai-{n}.example/witness");
        let init = amanah(
            &dir,
            &["witness", "init", "--name", &name, "--key", "w.key"],
        );
        let vkey = String::from_utf8(init.stdout).unwrap().trim().to_owned();
        policy.push_str(&format!("witness w{n} {vkey}\n"));
        let log = operator.verifier_key().to_string();
        assert!(
            amanah(&dir, &["witness", "add-log", "--db", "w.db", &log])
                .status
                .success()
        );
        witnesses.push(Server::start(&dir));
    }
    policy.push_str("group sais 2 w1 w2 w3\nquorum sais\n");
    std::fs::write(work.path().join("policy"), &policy).unwrap();

    // Two of the three cosign the exported checkpoint (trust on first use: old 0).
    let request = AddCheckpoint {
        old: 0,
        proof: Vec::new(),
        checkpoint: checkpoint.clone(),
    }
    .to_body();
    let mut lines = Vec::new();
    for server in &witnesses[..2] {
        let (status, _, line) = post(server, request.clone()).await;
        assert_eq!(status, 200, "{line}");
        lines.push(line);
    }
    let verify = |note: &str| {
        std::fs::write(export.join("checkpoint"), note).unwrap();
        let policy = work.path().join("policy");
        amanah(
            work.path(),
            &[
                "audit",
                "verify",
                export.to_str().unwrap(),
                "--policy",
                policy.to_str().unwrap(),
            ],
        )
    };
    let both = verify(&format!("{checkpoint}{}{}", lines[0], lines[1]));
    assert_eq!(
        both.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&both.stderr)
    );
    let out = String::from_utf8(both.stdout).unwrap();
    assert!(out.contains("verified 6 events"), "{out}");
    assert!(
        out.contains("cosigned by sai-1.example/witness at "),
        "{out}"
    );
    assert!(
        out.contains("cosigned by sai-2.example/witness at "),
        "{out}"
    );

    let one = verify(&format!("{checkpoint}{}", lines[0]));
    assert_eq!(one.status.code(), Some(1));
    let error = String::from_utf8(one.stderr).unwrap();
    assert!(
        error.contains("quorum not met (verified: sai-1.example/witness)"),
        "{error}"
    );

    // A cosignature that does not verify rejects the note, even with the quorum met.
    let mut broken = lines[1].clone();
    let at = broken.len() - 10;
    let byte = if &broken[at..=at] == "A" { "B" } else { "A" };
    broken.replace_range(at..=at, byte);
    let tampered = verify(&format!("{checkpoint}{}{broken}", lines[0]));
    assert_eq!(tampered.status.code(), Some(1));

    // --max-age: a cosignature two hours old passes a 3-hour limit and fails a 1-hour one.
    let old_witness = amanah_audit::cosignature::Cosigner::generate("old.example/witness").unwrap();
    let old_policy = work.path().join("old-policy");
    std::fs::write(
        &old_policy,
        format!(
            "log {}
witness old {}
quorum old
",
            operator.verifier_key(),
            old_witness.verifier()
        ),
    )
    .unwrap();
    let text = &checkpoint[..=checkpoint.find("\n\n").unwrap()];
    let two_hours_ago = u64::try_from(chrono::Utc::now().timestamp()).unwrap() - 7200;
    std::fs::write(
        export.join("checkpoint"),
        format!("{checkpoint}{}", old_witness.cosign(text, two_hours_ago)),
    )
    .unwrap();
    let with_max_age = |age: &str| {
        amanah(
            work.path(),
            &[
                "audit",
                "verify",
                export.to_str().unwrap(),
                "--policy",
                old_policy.to_str().unwrap(),
                "--max-age",
                age,
            ],
        )
    };
    assert_eq!(with_max_age("3h").status.code(), Some(0));
    let stale = with_max_age("1h");
    assert_eq!(stale.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&stale.stderr).contains("--max-age"));

    let both_flags = amanah(
        work.path(),
        &[
            "audit",
            "verify",
            export.to_str().unwrap(),
            "--policy",
            "policy",
            "--vkey",
            "policy",
        ],
    );
    assert_eq!(both_flags.status.code(), Some(2));
}

/// §5 case 14: two checkpoints from the same size at once, N and N + K. One is cosigned, the other
/// answered 409 with the size the witness then holds, and the size never goes backwards.
#[tokio::test]
async fn of_two_concurrent_checkpoints_from_one_size_one_is_cosigned_and_the_other_told_the_size() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &[
            "witness",
            "init",
            "--name",
            "sai-2.example/witness",
            "--key",
            "w.key",
        ][..],
        &[
            "witness",
            "add-log",
            "--db",
            "w.db",
            &log_key().verifier_key().to_string(),
        ][..],
    ] {
        let output = amanah(dir.path(), args);
        assert!(output.status.success(), "{output:?}");
    }
    let server = Server::start(dir.path());
    let mut held = 0;
    for (n, k) in [(2, 3), (6, 1), (8, 3), (12, 2), (15, 1)] {
        assert!(held < n);
        let (first, second) = tokio::join!(
            post(&server, body(held, n, root(n), &log_key())),
            post(&server, body(held, n + k, root(n + k), &log_key())),
        );
        let (winner, loser) = match (first.0, second.0) {
            (200, 409) => (n, second),
            (409, 200) => (n + k, first),
            other => panic!("from {held}: {n} and {}: {other:?}", n + k),
        };
        assert_eq!(loser.1, "text/x.tlog.size");
        assert_eq!(loser.2, format!("{winner}\n"));
        assert!(winner > held, "the size never goes backwards");
        held = winner;
        // What the witness serves is the winner's checkpoint.
        let origin_hash = hex(&Sha256::digest(b"amanah.local/audit"));
        let served = reqwest::get(format!("{}/{origin_hash}/checkpoint", server.1))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let parsed = parse_note(served.as_bytes()).unwrap();
        assert_eq!(Checkpoint::parse_body(parsed.text).unwrap().size, winner);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
