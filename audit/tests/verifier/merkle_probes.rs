//! The transparency-dev/merkle conformance probes (Apache-2.0, see `data/merkle/README.md`):
//! every inclusion and consistency probe must verify exactly when its `wantErr` is false.

use std::fs;
use std::path::{Path, PathBuf};

use amanah_audit::merkle::{verify_consistency, verify_inclusion};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InclusionProbe {
    leaf_idx: u64,
    tree_size: u64,
    root: String,
    leaf_hash: String,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConsistencyProbe {
    size1: u64,
    size2: u64,
    root1: String,
    root2: String,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

// Every probe is held to its own `wantErr`.
//
// Note: `consistency/additional/sizes-are-equal-zero-and-proof-is-empty.json` (0 → 0, equal
// 12-byte roots) wants an error where transparency-dev/merkle's upstream copy does not. Amanah's
// verifier honours it with a rule of its own that the reference verifier lacks: the only root of
// the empty tree is SHA-256 of the empty string, so any other root claimed for size 0 is refused.

/// How many probes of each kind `data/merkle` holds (inclusion and consistency alike), and how
/// many of them want no error.
const PROBES: usize = 98;
const VALID: usize = 6;

fn probe_dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/merkle")
        .join(kind)
}

/// Every `*.json` file under `dir`, recursively, sorted.
fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries =
            fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
        for entry in entries {
            let path = entry
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
                .path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn decode(field: &str, path: &Path) -> Vec<u8> {
    STANDARD
        .decode(field)
        .unwrap_or_else(|e| panic!("{}: bad base64 {field:?}: {e}", path.display()))
}

fn decode_proof(proof: Option<&[String]>, path: &Path) -> Vec<Vec<u8>> {
    proof
        .unwrap_or_default()
        .iter()
        .map(|h| decode(h, path))
        .collect()
}

fn read<T: for<'de> Deserialize<'de>>(path: &Path) -> T {
    let text =
        fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_inclusion_probe_agrees_with_want_err() {
    let files = json_files(&probe_dir("inclusion"));
    // The whole set, so that a lost file or folder fails here rather than going unchecked.
    assert_eq!(files.len(), PROBES, "inclusion probes");
    let mut failures = Vec::new();
    let mut want_errs = [0, 0];
    for path in &files {
        let probe: InclusionProbe = read(path);
        let proof = decode_proof(probe.proof.as_deref(), path);
        let result = verify_inclusion(
            probe.leaf_idx,
            probe.tree_size,
            &decode(&probe.leaf_hash, path),
            &proof,
            &decode(&probe.root, path),
        );
        let want_err = probe.want_err;
        want_errs[usize::from(want_err)] += 1;
        if result.is_err() != want_err {
            failures.push(format!(
                "{} ({}): wantErr {}, got {result:?}",
                path.display(),
                probe.desc,
                want_err
            ));
        }
    }
    println!("ran {} inclusion probes", files.len());
    assert_eq!(
        want_errs,
        [VALID, PROBES - VALID],
        "inclusion probes: wantErr false, true"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_consistency_probe_agrees_with_want_err() {
    let files = json_files(&probe_dir("consistency"));
    // The whole set, so that a lost file or folder fails here rather than going unchecked.
    assert_eq!(files.len(), PROBES, "consistency probes");
    let mut failures = Vec::new();
    let mut want_errs = [0, 0];
    for path in &files {
        let probe: ConsistencyProbe = read(path);
        let proof = decode_proof(probe.proof.as_deref(), path);
        let result = verify_consistency(
            probe.size1,
            probe.size2,
            &proof,
            &decode(&probe.root1, path),
            &decode(&probe.root2, path),
        );
        let want_err = probe.want_err;
        want_errs[usize::from(want_err)] += 1;
        if result.is_err() != want_err {
            failures.push(format!(
                "{} ({}): wantErr {}, got {result:?}",
                path.display(),
                probe.desc,
                want_err
            ));
        }
    }
    println!("ran {} consistency probes", files.len());
    assert_eq!(
        want_errs,
        [VALID, PROBES - VALID],
        "consistency probes: wantErr false, true"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
