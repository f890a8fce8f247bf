//! `amanah audit verify`, run as the binary: what its exit code tells an auditor. A log rewritten
//! and signed again with a fresh key (its `log.vkey` replaced too) is consistent with itself, so
//! without `--vkey` the command must not exit 0 (it exits 3: internal consistency only); with the
//! key the operator published it fails (exit 1, naming the key mismatch). A missing export
//! directory is named as such (exit 2).
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on an unexpected error"
)]

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use amanah_audit::checkpoint::Checkpoint;
use amanah_audit::files::{CHECKPOINT_FILE, EVENTS_FILE, VKEY_FILE};
use amanah_audit::merkle::{CompactRange, leaf_hash};
use amanah_audit::note::SigningKey;
use amanah_infra::testing::write_signed_export;

const ORIGIN: &str = "amanah.test/verify-command";

fn amanah<S: AsRef<OsStr>>(args: &[S]) -> Output {
    let scratch = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_amanah"))
        .args(args)
        .env_clear()
        .env("AMANAH_DATA_DIR", scratch.path().join("amanah-data"))
        .current_dir(scratch.path())
        .output()
        .expect("amanah runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Writes an export of a short log signed by `operator` into `dir`.
async fn export_log(operator: &Arc<SigningKey>, dir: &Path) {
    write_signed_export(operator, dir, 5).await;
}

/// What an attacker with write access to the export does: rewrites an event, signs the new root
/// with a key of their own for the same origin, and replaces `log.vkey` with that key.
fn rewrite_and_resign(dir: &Path) {
    let events = std::fs::read_to_string(dir.join(EVENTS_FILE)).unwrap();
    let rewritten = events.replacen("system:operator", "system:forger!", 1);
    assert_ne!(rewritten, events);
    let mut range = CompactRange::new();
    for line in rewritten.lines() {
        range.push(leaf_hash(line.as_bytes()));
    }
    let forger = SigningKey::generate(ORIGIN).unwrap();
    let size = rewritten.lines().count() as u64;
    let note = Checkpoint::new(ORIGIN, size, range.root())
        .sign(&forger)
        .unwrap();
    std::fs::write(dir.join(EVENTS_FILE), rewritten).unwrap();
    std::fs::write(dir.join(CHECKPOINT_FILE), note).unwrap();
    std::fs::write(dir.join(VKEY_FILE), format!("{}\n", forger.verifier_key())).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_re_signed_with_a_fresh_key_never_passes() {
    let operator = Arc::new(SigningKey::generate(ORIGIN).unwrap());
    let work = tempfile::tempdir().unwrap();
    let published = work.path().join("published.vkey");
    std::fs::write(&published, format!("{}\n", operator.verifier_key())).unwrap();
    let dir = work.path().join("export");
    export_log(&operator, &dir).await;

    // The genuine export: 0 with the published key; 3 with its own key only.
    let output = amanah(&[
        OsStr::new("audit"),
        OsStr::new("verify"),
        dir.as_os_str(),
        OsStr::new("--vkey"),
        published.as_os_str(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(
        text(&output.stdout).starts_with("verified 5 events"),
        "{output:?}"
    );
    let output = amanah(&[OsStr::new("audit"), OsStr::new("verify"), dir.as_os_str()]);
    assert_eq!(output.status.code(), Some(3), "{output:?}");
    let stderr = text(&output.stderr);
    assert!(stderr.contains("internal consistency"), "{stderr}");
    assert!(stderr.contains("--vkey FILE"), "{stderr}");

    rewrite_and_resign(&dir);

    // Without --vkey the forgery is consistent with itself: not a pass.
    let output = amanah(&[OsStr::new("audit"), OsStr::new("verify"), dir.as_os_str()]);
    assert_eq!(output.status.code(), Some(3), "{output:?}");
    assert!(
        text(&output.stderr).contains("not that it is the log the operator signed"),
        "{output:?}"
    );
    // With the operator's key: a verification failure naming the substituted key.
    let output = amanah(&[
        OsStr::new("audit"),
        OsStr::new("verify"),
        dir.as_os_str(),
        OsStr::new("--vkey"),
        published.as_os_str(),
    ]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = text(&output.stderr);
    assert!(stderr.contains("verification failed"), "{stderr}");
    assert!(stderr.contains("log.vkey"), "{stderr}");
    assert!(
        stderr.contains(&operator.verifier_key().to_string()),
        "{stderr}"
    );
}

#[test]
fn a_missing_export_directory_is_named_as_such() {
    let work = tempfile::tempdir().unwrap();
    let missing = work.path().join("no-such-export");
    let output = amanah(&[
        OsStr::new("audit"),
        OsStr::new("verify"),
        missing.as_os_str(),
    ]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "the export directory {} does not exist",
            missing.display()
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("log.vkey"), "{stderr}");
}
