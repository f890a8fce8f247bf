//! Tests of the offline export verifier: a generated export verifies, and every attack is caught
//! with the right index and reason.

#![expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

use std::io::{BufReader, Cursor};

use amanah_audit::checkpoint::{Checkpoint, CheckpointError};
use amanah_audit::export_verify::{Reason, VerificationError, Verified, verify_export};
use amanah_audit::jcs::{self, JcsError};
use amanah_audit::merkle::{CompactRange, Hash, empty_root, leaf_hash};
use amanah_audit::note::{NoteError, SigningKey};
use proptest::prelude::*;
use serde_json::{Value, json};

const ORIGIN: &str = "amanah.example/audit";

pub(super) fn key() -> SigningKey {
    SigningKey::from_seed(ORIGIN, &[42; 32]).unwrap()
}

fn uuid(kind: u8, n: u64) -> String {
    format!("0190{kind:04x}-0000-7000-8000-{n:012x}")
}

const STREAMS: [&str; 3] = ["organisation", "project", "activity"];

/// The envelope of event `index`: it belongs to stream `index % 5` of type `index % 3`, so each
/// stream's versions interleave with the others'.
fn envelope(index: u64) -> Value {
    let stream = index % 5;
    let version = index / 5 + 1;
    json!({
        "v": 1,
        "index": index,
        "id": uuid(1, index),
        "stream": STREAMS[(stream % 3) as usize],
        "streamId": uuid(2, stream),
        "streamVersion": version,
        "type": "ProjectRegistered",
        "occurredAt": format!("2026-11-28T10:{:02}:{:02}.{:06}Z", index / 60 % 60, index % 60, index * 7 % 1_000_000),
        "actor": {"sub": "alice", "roles": ["editor"], "org": if index.is_multiple_of(2) { Value::Null } else { Value::from(uuid(3, 1)) }},
        "requestId": if index.is_multiple_of(3) { Value::Null } else { Value::from(format!("req-{index}")) },
        "data": {"title": format!("Project number {index}"), "amount": index * 100, "percentage": "33.33", "tags": ["a", "b"]},
    })
}

fn line(value: &Value) -> Vec<u8> {
    jcs::to_canonical(value).unwrap()
}

fn lines(count: u64) -> Vec<Vec<u8>> {
    (0..count).map(|i| line(&envelope(i))).collect()
}

fn file(lines: &[Vec<u8>]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for line in lines {
        bytes.extend_from_slice(line);
        bytes.push(b'\n');
    }
    bytes
}

pub(super) fn root(lines: &[Vec<u8>]) -> Hash {
    let mut range = CompactRange::new();
    for line in lines {
        range.push(leaf_hash(line));
    }
    range.root()
}

fn checkpoint(lines: &[Vec<u8>], key: &SigningKey) -> String {
    Checkpoint::new(key.name(), lines.len() as u64, root(lines))
        .sign(key)
        .unwrap()
}

fn verify(
    events: &[u8],
    note: &str,
    previous: Option<&str>,
) -> Result<Verified, VerificationError> {
    verify_export(
        Cursor::new(events),
        note.as_bytes(),
        &key().verifier_key(),
        previous.map(str::as_bytes),
    )
}

fn error(index: Option<u64>, reason: Reason) -> Result<Verified, VerificationError> {
    Err(VerificationError { index, reason })
}

const N: u64 = 40;

pub(super) struct Export {
    pub(super) lines: Vec<Vec<u8>>,
    pub(super) file: Vec<u8>,
    pub(super) note: String,
}

pub(super) fn export() -> Export {
    let lines = lines(N);
    let note = checkpoint(&lines, &key());
    Export {
        file: file(&lines),
        lines,
        note,
    }
}

#[test]
fn a_generated_export_verifies() {
    let export = export();
    let verified = verify(&export.file, &export.note, None).unwrap();
    assert_eq!(
        verified,
        Verified {
            origin: ORIGIN.to_owned(),
            size: N,
            root: root(&export.lines)
        }
    );
}

#[test]
fn lines_split_across_tiny_read_buffers_verify() {
    let export = export();
    let reader = BufReader::with_capacity(7, Cursor::new(&export.file));
    let verified =
        verify_export(reader, export.note.as_bytes(), &key().verifier_key(), None).unwrap();
    assert_eq!(verified.size, N);
}

#[test]
fn the_empty_log_verifies() {
    let note = checkpoint(&[], &key());
    assert_eq!(
        verify(b"", &note, None).unwrap(),
        Verified {
            origin: ORIGIN.to_owned(),
            size: 0,
            root: empty_root()
        }
    );
    assert_eq!(
        verify(b"", &export().note, None),
        error(
            Some(0),
            Reason::TooFewLines {
                lines: 0,
                checkpoint_size: N
            }
        )
    );
}

#[test]
fn one_byte_changed_inside_a_string_is_a_root_mismatch() {
    let export = export();
    let mut lines = export.lines.clone();
    let text = String::from_utf8(lines[17].clone()).unwrap();
    lines[17] = text
        .replacen("Project number", "Project numbes", 1)
        .into_bytes();
    let result = verify(&file(&lines), &export.note, None);
    assert_eq!(
        result,
        error(
            None,
            Reason::RootMismatch {
                computed: root(&lines),
                checkpoint: root(&export.lines)
            }
        )
    );
    assert_eq!(
        result.unwrap_err().to_string(),
        "root mismatch: the events hash to a root other than the checkpoint's"
    );
}

#[test]
fn one_byte_changed_in_the_syntax_is_named_at_its_index() {
    let export = export();
    let mut bytes = export.file.clone();
    // The first `:` of line 5.
    let start: usize = export.lines[..5].iter().map(|l| l.len() + 1).sum();
    let colon = start + export.lines[5].iter().position(|&b| b == b':').unwrap();
    bytes[colon] = b';';
    let result = verify(&bytes, &export.note, None);
    assert!(
        matches!(
            &result,
            Err(VerificationError {
                index: Some(5),
                reason: Reason::NotJson(_)
            })
        ),
        "{result:?}"
    );
    assert!(
        result
            .unwrap_err()
            .to_string()
            .starts_with("event 5: not canonical JSON")
    );
}

#[test]
fn one_byte_changed_in_the_index_is_out_of_sequence() {
    let export = export();
    let mut lines = export.lines.clone();
    let text = String::from_utf8(lines[12].clone()).unwrap();
    lines[12] = text
        .replacen("\"index\":12,", "\"index\":13,", 1)
        .into_bytes();
    let result = verify(&file(&lines), &export.note, None);
    assert_eq!(
        result,
        error(
            Some(12),
            Reason::IndexOutOfSequence {
                expected: 12,
                got: 13
            }
        )
    );
    assert_eq!(
        result.unwrap_err().to_string(),
        "event 12: index out of sequence: expected 12, got 13"
    );
}

#[test]
fn a_deleted_line_is_out_of_sequence() {
    let export = export();
    let mut lines = export.lines.clone();
    lines.remove(9);
    assert_eq!(
        verify(&file(&lines), &export.note, None),
        error(
            Some(9),
            Reason::IndexOutOfSequence {
                expected: 9,
                got: 10
            }
        )
    );
    // The last line deleted: one line short.
    let mut lines = export.lines.clone();
    lines.pop();
    assert_eq!(
        verify(&file(&lines), &export.note, None),
        error(
            Some(N - 1),
            Reason::TooFewLines {
                lines: N - 1,
                checkpoint_size: N
            }
        )
    );
}

#[test]
fn swapped_lines_are_out_of_sequence() {
    let export = export();
    let mut lines = export.lines.clone();
    lines.swap(20, 21);
    assert_eq!(
        verify(&file(&lines), &export.note, None),
        error(
            Some(20),
            Reason::IndexOutOfSequence {
                expected: 20,
                got: 21
            }
        )
    );
}

#[test]
fn truncated_files_are_caught() {
    let export = export();
    // In the middle of line 30.
    let start: usize = export.lines[..30].iter().map(|l| l.len() + 1).sum();
    let result = verify(&export.file[..start + 50], &export.note, None);
    assert_eq!(result, error(Some(30), Reason::MissingFinalNewline));
    assert_eq!(
        result.unwrap_err().to_string(),
        "event 30: missing final newline"
    );
    // At a line boundary.
    assert_eq!(
        verify(&export.file[..start], &export.note, None),
        error(
            Some(30),
            Reason::TooFewLines {
                lines: 30,
                checkpoint_size: N
            }
        )
    );
    // Only the final newline missing.
    assert_eq!(
        verify(&export.file[..export.file.len() - 1], &export.note, None),
        error(Some(N - 1), Reason::MissingFinalNewline)
    );
}

#[test]
fn a_forged_extra_line_is_caught() {
    let export = export();
    // Appended after the checkpoint's size: one line too many.
    let mut lines = export.lines.clone();
    lines.push(line(&envelope(N)));
    assert_eq!(
        verify(&file(&lines), &export.note, None),
        error(Some(N), Reason::TooManyLines { checkpoint_size: N })
    );
    // Inserted in the middle, the later lines renumbered and the last one dropped to keep the
    // count: the events are well-formed and in sequence, but the root differs.
    let mut forged: Vec<Value> = (0..N).map(envelope).collect();
    let mut extra = envelope(10);
    extra["data"]["title"] = json!("a forged event");
    forged.insert(10, extra);
    forged.pop();
    for (index, event) in forged.iter_mut().enumerate() {
        event["index"] = json!(index);
    }
    // Keep each stream's versions in sequence: renumber them too.
    let mut versions = std::collections::HashMap::new();
    for event in &mut forged {
        let version = versions
            .entry((
                event["stream"].clone().to_string(),
                event["streamId"].to_string(),
            ))
            .or_insert(0u64);
        *version += 1;
        event["streamVersion"] = json!(*version);
    }
    let forged_lines: Vec<Vec<u8>> = forged.iter().map(line).collect();
    assert!(matches!(
        verify(&file(&forged_lines), &export.note, None),
        Err(VerificationError {
            index: None,
            reason: Reason::RootMismatch { .. }
        })
    ));
}

#[test]
fn non_canonical_reserialisation_is_caught() {
    let export = export();
    let value: Value = serde_json::from_slice(&export.lines[3]).unwrap();
    // With spaces.
    let mut lines = export.lines.clone();
    lines[3] = serde_json::to_vec_pretty(&value)
        .unwrap()
        .into_iter()
        .filter(|&b| b != b'\n')
        .collect();
    assert_eq!(
        verify(&file(&lines), &export.note, None),
        error(Some(3), Reason::NotCanonical)
    );
    // Keys in another order (serde_json's default map is sorted by bytes; build the order by
    // hand).
    let text = String::from_utf8(export.lines[3].clone()).unwrap();
    let (actor, rest) = text[1..].split_once(",\"data\"").unwrap();
    lines[3] = format!("{{\"data\"{rest}")
        .replacen("\"v\":1}", &format!("\"v\":1,{actor}}}"), 1)
        .into_bytes();
    assert!(serde_json::from_slice::<Value>(&lines[3]).is_ok());
    assert_eq!(
        verify(&file(&lines), &export.note, None),
        error(Some(3), Reason::NotCanonical)
    );
    // CRLF line endings.
    let crlf: Vec<u8> = export
        .file
        .iter()
        .flat_map(|&b| {
            if b == b'\n' {
                vec![b'\r', b'\n']
            } else {
                vec![b]
            }
        })
        .collect();
    assert_eq!(
        verify(&crlf, &export.note, None),
        error(Some(0), Reason::NotCanonical)
    );
}

#[test]
fn a_float_in_data_is_caught() {
    let mut lines = lines(N);
    let text = String::from_utf8(lines[8].clone()).unwrap();
    lines[8] = text
        .replacen("\"amount\":800,", "\"amount\":8.5,", 1)
        .into_bytes();
    // Even under a checkpoint that commits to the float (signed by the right key).
    let note = checkpoint(&lines, &key());
    assert_eq!(
        verify(&file(&lines), &note, None),
        error(
            Some(8),
            Reason::NotCanonicalNumber(JcsError::Float("8.5".to_owned()))
        )
    );
}

#[test]
fn a_malformed_envelope_under_a_valid_signature_is_named() {
    let mut events: Vec<Value> = (0..N).map(envelope).collect();
    events[6]["stream"] = json!("portfolio");
    let lines: Vec<Vec<u8>> = events.iter().map(line).collect();
    let note = checkpoint(&lines, &key());
    let result = verify(&file(&lines), &note, None);
    assert!(
        matches!(&result, Err(VerificationError { index: Some(6), reason: Reason::Malformed { field, .. } }) if field == "stream"),
        "{result:?}"
    );
    assert_eq!(
        result.unwrap_err().to_string(),
        "event 6: malformed envelope field `stream`: must be `organisation`, `project` or `activity`"
    );
}

#[test]
fn a_stream_version_gap_is_caught() {
    let mut events: Vec<Value> = (0..N).map(envelope).collect();
    // Event 27 is the 6th event (version 6) of stream 2; make it 7.
    assert_eq!(events[27]["streamVersion"], json!(6));
    events[27]["streamVersion"] = json!(7);
    let lines: Vec<Vec<u8>> = events.iter().map(line).collect();
    let note = checkpoint(&lines, &key());
    assert_eq!(
        verify(&file(&lines), &note, None),
        error(
            Some(27),
            Reason::StreamVersionOutOfSequence {
                stream: "activity",
                stream_id: uuid(2, 2),
                expected: 6,
                got: 7
            }
        )
    );
}

#[test]
fn a_checkpoint_re_signed_with_another_key_is_caught() {
    let export = export();
    let impostor = SigningKey::from_seed(ORIGIN, &[43; 32]).unwrap();
    // The attacker changes an event, recomputes the root and signs with their own key.
    let mut lines = export.lines.clone();
    let text = String::from_utf8(lines[2].clone()).unwrap();
    lines[2] = text
        .replacen("Project number", "Project numbes", 1)
        .into_bytes();
    let note = checkpoint(&lines, &impostor);
    assert_eq!(
        verify(&file(&lines), &note, None),
        error(
            None,
            Reason::Checkpoint(CheckpointError::Note(NoteError::NoSignatureByKey {
                name: ORIGIN.to_owned(),
                key_id: key().key_id()
            }))
        )
    );
}

#[test]
fn a_tampered_checkpoint_is_a_bad_signature() {
    let export = export();
    let note = export
        .note
        .replacen(&format!("\n{N}\n"), &format!("\n{}\n", N - 1), 1);
    assert_eq!(
        verify(&export.file, &note, None),
        error(
            None,
            Reason::Checkpoint(CheckpointError::Note(NoteError::BadSignature {
                name: ORIGIN.to_owned(),
                key_id: key().key_id()
            }))
        )
    );
}

#[test]
fn a_checkpoint_root_that_does_not_match_is_caught() {
    let export = export();
    let note = Checkpoint::new(ORIGIN, N, [7; 32]).sign(&key()).unwrap();
    assert_eq!(
        verify(&export.file, &note, None),
        error(
            None,
            Reason::RootMismatch {
                computed: root(&export.lines),
                checkpoint: [7; 32]
            }
        )
    );
    // A checkpoint for fewer events than the file holds.
    let smaller = checkpoint(&export.lines[..25], &key());
    assert_eq!(
        verify(&export.file, &smaller, None),
        error(
            Some(25),
            Reason::TooManyLines {
                checkpoint_size: 25
            }
        )
    );
}

#[test]
fn a_previous_checkpoint_that_is_a_prefix_verifies() {
    let export = export();
    for size in [0, 1, 13, 32, N] {
        let previous = checkpoint(&export.lines[..size as usize], &key());
        assert_eq!(
            verify(&export.file, &export.note, Some(&previous))
                .unwrap()
                .size,
            N,
            "size {size}"
        );
    }
}

#[test]
fn a_previous_checkpoint_that_is_not_a_prefix_is_caught() {
    let export = export();
    // A fork: the log showed someone else another event 4 at size 16.
    let mut fork = export.lines[..16].to_vec();
    let text = String::from_utf8(fork[4].clone()).unwrap();
    fork[4] = text
        .replacen("Project number", "Project numbes", 1)
        .into_bytes();
    let previous = checkpoint(&fork, &key());
    let result = verify(&export.file, &export.note, Some(&previous));
    assert_eq!(result, error(None, Reason::PreviousNotPrefix { size: 16 }));
    assert_eq!(
        result.unwrap_err().to_string(),
        "the previous checkpoint is not a prefix of this log: the root of its first 16 events differs"
    );
    // A size-0 checkpoint whose root is not the empty root.
    let previous = Checkpoint::new(ORIGIN, 0, [1; 32]).sign(&key()).unwrap();
    assert_eq!(
        verify(&export.file, &export.note, Some(&previous)),
        error(None, Reason::PreviousNotPrefix { size: 0 })
    );
}

#[test]
fn a_previous_checkpoint_of_another_log_is_caught() {
    let export = export();
    let other = SigningKey::from_seed("other.example/audit", &[42; 32]).unwrap();
    let previous = checkpoint(&export.lines[..10], &other);
    assert_eq!(
        verify(&export.file, &export.note, Some(&previous)),
        error(
            None,
            Reason::PreviousOtherOrigin {
                previous: "other.example/audit".to_owned(),
                current: ORIGIN.to_owned()
            }
        )
    );
}

#[test]
fn a_previous_checkpoint_signed_by_another_key_or_larger_is_caught() {
    let export = export();
    let impostor = SigningKey::from_seed(ORIGIN, &[43; 32]).unwrap();
    let previous = checkpoint(&export.lines[..10], &impostor);
    assert!(matches!(
        verify(&export.file, &export.note, Some(&previous)),
        Err(VerificationError {
            index: None,
            reason: Reason::PreviousCheckpoint(CheckpointError::Note(
                NoteError::NoSignatureByKey { .. }
            ))
        })
    ));
    let mut longer = export.lines.clone();
    longer.push(line(&envelope(N)));
    let previous = checkpoint(&longer, &key());
    assert_eq!(
        verify(&export.file, &export.note, Some(&previous)),
        error(
            None,
            Reason::PreviousLarger {
                previous: N + 1,
                current: N
            }
        )
    );
    assert!(matches!(
        verify(&export.file, &export.note, Some("not a note")),
        Err(VerificationError {
            index: None,
            reason: Reason::PreviousCheckpoint(_)
        })
    ));
}

#[test]
fn an_overlong_line_is_an_error_not_an_allocation() {
    use amanah_audit::export_verify::MAX_LINE_BYTES;
    let note = checkpoint(&lines(1), &key());
    let long = std::io::repeat(b'x').take_bytes(MAX_LINE_BYTES + 10);
    let result = verify_export(
        BufReader::new(long),
        note.as_bytes(),
        &key().verifier_key(),
        None,
    );
    assert_eq!(result, error(Some(0), Reason::LineTooLong));
}

/// `Read::take` under a name that does not clash with `Iterator::take` in this file.
trait TakeBytes: std::io::Read + Sized {
    fn take_bytes(self, limit: u64) -> std::io::Take<Self> {
        std::io::Read::take(self, limit)
    }
}

impl<R: std::io::Read> TakeBytes for R {}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn arbitrary_bytes_never_panic(events in prop::collection::vec(any::<u8>(), 0..2048), note in prop::collection::vec(any::<u8>(), 0..256)) {
        let valid = checkpoint(&lines(3), &key());
        let _ = verify_export(Cursor::new(&events), valid.as_bytes(), &key().verifier_key(), None);
        let _ = verify_export(Cursor::new(&events), &note, &key().verifier_key(), Some(&note));
        let _ = verify_export(Cursor::new(&events), valid.as_bytes(), &key().verifier_key(), Some(&note));
    }

    #[test]
    fn arbitrary_line_edits_never_panic_and_name_a_line_that_exists(
        edits in prop::collection::vec((0usize..12, any::<u8>(), prop::collection::vec(any::<u8>(), 0..8)), 0..6),
    ) {
        let mut lines = lines(12);
        let note = checkpoint(&lines, &key());
        for (at, kind, bytes) in &edits {
            let at = *at % lines.len().max(1);
            match (kind % 4, lines.get_mut(at)) {
                (0, Some(line)) => line.extend_from_slice(bytes),
                (1, _) => lines.insert(at.min(lines.len()), bytes.clone()),
                (2, Some(_)) => {
                    lines.remove(at);
                }
                (_, Some(line)) => line.truncate(line.len().saturating_sub(bytes.len())),
                (_, None) => {}
            }
        }
        let file = file(&lines);
        let result = verify_export(Cursor::new(&file), note.as_bytes(), &key().verifier_key(), Some(note.as_bytes()));
        if let Err(VerificationError { index: Some(index), .. }) = &result {
            prop_assert!(*index <= lines.len() as u64);
        }
        if file == self::file(&self::lines(12)) {
            prop_assert!(result.is_ok());
        } else {
            prop_assert!(result.is_err());
        }
    }
}
