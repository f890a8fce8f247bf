//! The stand-alone verifier `amanah-verify`, run as a process: its exit status and what it prints
//! for a good export, a tampered one, an untrusted key and bad usage.
#![expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use amanah_audit::files::{CHECKPOINT_FILE, EVENTS_FILE, VKEY_FILE};
use amanah_audit::note::SigningKey;
use base64::Engine as _;

use super::export_verify::{export, key, root};

fn run(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_amanah-verify"))
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// An export directory of the shared test log, with its own `log.vkey`, and the trusted key
/// written beside it.
fn written(dir: &Path, events: &[u8]) -> PathBuf {
    let export = export();
    std::fs::write(dir.join(EVENTS_FILE), events).unwrap();
    std::fs::write(dir.join(CHECKPOINT_FILE), &export.note).unwrap();
    std::fs::write(dir.join(VKEY_FILE), format!("{}\n", key().verifier_key())).unwrap();
    let trusted = dir.with_extension("trusted.vkey");
    std::fs::write(&trusted, format!("{}\n", key().verifier_key())).unwrap();
    trusted
}

/// A scratch directory (removed when dropped) and an empty `export` directory in it.
fn scratch_export() -> (tempfile::TempDir, PathBuf) {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("export");
    std::fs::create_dir(&dir).unwrap();
    (scratch, dir)
}

#[test]
fn a_good_export_with_the_trusted_key_exits_0_and_prints_size_origin_and_root() {
    let (_scratch, dir) = scratch_export();
    let trusted = written(&dir, &export().file);
    let output = run(&[dir.as_os_str(), "--vkey".as_ref(), trusted.as_os_str()]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let root = base64::engine::general_purpose::STANDARD.encode(root(&export().lines));
    assert_eq!(
        text(&output.stdout),
        format!("verified 40 events of amanah.example/audit; root {root}\n")
    );
}

#[test]
fn without_a_trusted_key_it_exits_3_even_when_the_export_is_consistent() {
    let (_scratch, dir) = scratch_export();
    written(&dir, &export().file);
    let output = run(&[dir.as_os_str()]);
    assert_eq!(output.status.code(), Some(3));
    assert!(
        text(&output.stderr).contains("--vkey"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn a_changed_event_exits_1() {
    let (_scratch, dir) = scratch_export();
    let mut events = export().file;
    let at = text(&events).find("Project number 7").unwrap();
    events[at + "Project number ".len()] = b'8';
    let trusted = written(&dir, &events);
    let output = run(&[dir.as_os_str(), "--vkey".as_ref(), trusted.as_os_str()]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stdout));
    assert!(
        text(&output.stderr).contains("verification failed"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn a_key_other_than_the_trusted_one_exits_1() {
    let (scratch, dir) = scratch_export();
    written(&dir, &export().file);
    let other = SigningKey::from_seed("amanah.example/audit", &[7; 32]).unwrap();
    let untrusted = scratch.path().join("other.vkey");
    std::fs::write(&untrusted, format!("{}\n", other.verifier_key())).unwrap();
    let output = run(&[dir.as_os_str(), "--vkey".as_ref(), untrusted.as_os_str()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("log.vkey"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn bad_usage_exits_2_and_help_exits_0() {
    let scratch = tempfile::tempdir().unwrap();
    let missing = scratch.path().join("missing");
    for args in [
        vec![],
        vec![missing.as_os_str()],
        vec![scratch.path().as_os_str(), "--vkey".as_ref()],
        vec![scratch.path().as_os_str(), "--frobnicate".as_ref()],
    ] {
        let output = run(&args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&output.stderr)
        );
        assert!(!text(&output.stderr).is_empty(), "{args:?}");
    }
    let help = run(&["--help".as_ref()]);
    assert_eq!(help.status.code(), Some(0));
    assert!(text(&help.stdout).starts_with("usage: amanah-verify DIR"));
}
