//! The offline verifier of an audit export (audit-log.md §5), as a pure function over a byte
//! stream: `amanah audit verify DIR` reads the files and calls [`verify_export`].
//!
//! Given `events.jsonl`, the signed checkpoint, the log's verifier key and optionally an older
//! checkpoint the auditor kept, it checks, in one streaming pass with one reusable line buffer:
//!
//! 1. the checkpoint note is signed by the key (and its origin is the key's name);
//! 2. the older checkpoint, if any, names the same origin, is signed by the key, and is not
//!    larger than the new one;
//! 3. every line ends with `\n` and is exactly the RFC 8785 (JCS) serialisation of a well-formed
//!    version-1 envelope (§1): members `actor` {`org` UUID or null, `roles` strings, `sub`
//!    string}, `data` object, `id` UUID, `index`, `occurredAt` (`YYYY-MM-DDTHH:MM:SS.ffffffZ`),
//!    `requestId` string or null, `stream` (`organisation`, `project` or `activity`), `streamId`
//!    UUID, `streamVersion` ≥ 1, `type` (PascalCase), `v` = 1, and nothing else; UUIDs in
//!    lowercase hyphenated form; no floats;
//! 4. `index` runs 0, 1, 2, … and each stream's (`stream`, `streamId`) `streamVersion` runs 1, 2,
//!    3, …;
//! 5. the file has exactly as many lines as the checkpoint's size, and the RFC 9162 root of the
//!    leaf hashes `SHA-256(0x00 ‖ line without its \n)` equals the checkpoint's root;
//! 6. the older checkpoint's root equals the root of the first `size` leaves (taken during the
//!    same pass), i.e. it is a prefix of this log.
//!
//! The first failure is returned as a [`VerificationError`]: the index of the first failing event
//! where there is one, and the [`Reason`].
//!
//! Canonical JSON is checked with a fast, allocation-free scanner that accepts exactly the
//! canonical serialisation of a well-formed envelope (object members in their one canonical
//! order). When it does not accept a line, the reference check runs to name the reason:
//! `serde_json` parsing, re-encoding with [`crate::jcs::to_canonical`] and comparing bytes, then
//! checking the envelope's members. The test suite checks that both agree.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::io::{BufRead, Read as _};

use serde_json::{Map, Value};

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::envelope::{ACTOR_KEYS, ENVELOPE_KEYS, ENVELOPE_VERSION, is_event_type};
use crate::jcs::{self, JcsError};
use crate::merkle::{CompactRange, Hash, empty_root, leaf_hash};
use crate::note::{self, VerifierKey};

/// The longest line (event) read, newline included: 64 MiB. Longer lines are an error rather
/// than an unbounded allocation.
pub const MAX_LINE_BYTES: u64 = 64 << 20;

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The log's origin (the checkpoint's first line).
    pub origin: String,
    /// The number of events, equal to the checkpoint's tree size.
    pub size: u64,
    /// The verified root hash.
    pub root: Hash,
}

/// Why an export did not verify: the first failing event's index, where there is one, and the
/// reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct VerificationError {
    /// The index (0-based line number) of the first failing event; `None` for failures that
    /// belong to no single event (signatures, roots).
    pub index: Option<u64>,
    /// What is wrong.
    pub reason: Reason,
}

impl fmt::Display for VerificationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index {
            Some(index) => write!(f, "event {index}: {}", self.reason),
            None => write!(f, "{}", self.reason),
        }
    }
}

/// Why an export did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    /// Reading the events failed.
    #[error("cannot read the events: {0}")]
    Read(String),
    /// The checkpoint note is malformed, not signed by the key, or badly signed.
    #[error("checkpoint: {0}")]
    Checkpoint(CheckpointError),
    /// The previous checkpoint note is malformed, not signed by the key, or badly signed.
    #[error("previous checkpoint: {0}")]
    PreviousCheckpoint(CheckpointError),
    /// The previous checkpoint names another log.
    #[error("the previous checkpoint is of another log: origin {previous:?}, not {current:?}")]
    PreviousOtherOrigin {
        /// The previous checkpoint's origin.
        previous: String,
        /// The checkpoint's origin.
        current: String,
    },
    /// The previous checkpoint is larger than the checkpoint.
    #[error(
        "the previous checkpoint (size {previous}) is larger than the checkpoint (size {current})"
    )]
    PreviousLarger {
        /// The previous checkpoint's size.
        previous: u64,
        /// The checkpoint's size.
        current: u64,
    },
    /// The root of the first `size` events differs from the previous checkpoint's root.
    #[error(
        "the previous checkpoint is not a prefix of this log: the root of its first {size} events differs"
    )]
    PreviousNotPrefix {
        /// The previous checkpoint's size.
        size: u64,
    },
    /// The file has more lines than the checkpoint's size.
    #[error("line count differs from the checkpoint size: more than {checkpoint_size} lines")]
    TooManyLines {
        /// The checkpoint's size.
        checkpoint_size: u64,
    },
    /// The file has fewer lines than the checkpoint's size.
    #[error(
        "line count differs from the checkpoint size: {lines} lines, the checkpoint says {checkpoint_size}"
    )]
    TooFewLines {
        /// The number of lines.
        lines: u64,
        /// The checkpoint's size.
        checkpoint_size: u64,
    },
    /// The last line does not end with `\n`.
    #[error("missing final newline")]
    MissingFinalNewline,
    /// The line is longer than [`MAX_LINE_BYTES`].
    #[error("the line is longer than {MAX_LINE_BYTES} bytes")]
    LineTooLong,
    /// The line is not JSON at all.
    #[error("not canonical JSON: not JSON ({0})")]
    NotJson(String),
    /// The line holds a number JCS does not allow in the audit log.
    #[error("not canonical JSON: {0}")]
    NotCanonicalNumber(JcsError),
    /// The line is JSON, but not its RFC 8785 serialisation (white space, member order,
    /// escapes, duplicate members, …).
    #[error("not canonical JSON (RFC 8785)")]
    NotCanonical,
    /// The line is canonical JSON, but not a well-formed envelope.
    #[error("malformed envelope field `{field}`: {problem}")]
    Malformed {
        /// The member at fault, e.g. `streamVersion` or `actor.org`.
        field: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// `index` is not the line number.
    #[error("index out of sequence: expected {expected}, got {got}")]
    IndexOutOfSequence {
        /// The line number.
        expected: u64,
        /// The envelope's `index`.
        got: u64,
    },
    /// `streamVersion` does not follow the stream's previous event.
    #[error(
        "stream version out of sequence in {stream} {stream_id}: expected {expected}, got {got}"
    )]
    StreamVersionOutOfSequence {
        /// The stream type.
        stream: &'static str,
        /// The stream id.
        stream_id: String,
        /// One more than the stream's previous version.
        expected: u64,
        /// The envelope's `streamVersion`.
        got: u64,
    },
    /// The recomputed root differs from the checkpoint's.
    #[error("root mismatch: the events hash to a root other than the checkpoint's")]
    RootMismatch {
        /// The root of the events.
        computed: Hash,
        /// The checkpoint's root.
        checkpoint: Hash,
    },
}

fn fail<T>(index: Option<u64>, reason: Reason) -> Result<T, VerificationError> {
    Err(VerificationError { index, reason })
}

/// Verifies an export: see the module documentation for what is checked.
///
/// `events` is the content of `events.jsonl`, `checkpoint_note` the signed checkpoint note,
/// `key` the log's verifier key, and `previous_note` an older signed checkpoint the auditor kept.
///
/// # Errors
/// The first failure, as a [`VerificationError`].
pub fn verify_export<R: BufRead>(
    mut events: R,
    checkpoint_note: &[u8],
    key: &VerifierKey,
    previous_note: Option<&[u8]>,
) -> Result<Verified, VerificationError> {
    let checkpoint = match Checkpoint::open(checkpoint_note, key) {
        Ok(checkpoint) => checkpoint,
        Err(error) => return fail(None, Reason::Checkpoint(error)),
    };
    let previous = match previous_note {
        Some(note) => Some(open_previous(note, key, &checkpoint)?),
        None => None,
    };
    if let Some(previous) = &previous
        && previous.size == 0
        && previous.root != empty_root()
    {
        return fail(None, Reason::PreviousNotPrefix { size: 0 });
    }

    let mut line = Vec::with_capacity(64 * 1024);
    let mut range = CompactRange::new();
    let mut versions: HashMap<(u8, u128), u64> = HashMap::new();
    let mut index: u64 = 0;
    loop {
        line.clear();
        let read = (&mut events)
            .take(MAX_LINE_BYTES)
            .read_until(b'\n', &mut line);
        match read {
            Ok(0) => break,
            Ok(_) => {}
            Err(error) => return fail(Some(index), Reason::Read(error.to_string())),
        }
        if index >= checkpoint.size {
            return fail(
                Some(index),
                Reason::TooManyLines {
                    checkpoint_size: checkpoint.size,
                },
            );
        }
        let Some(content) = line.strip_suffix(b"\n") else {
            let reason = if line.len() as u64 == MAX_LINE_BYTES {
                Reason::LineTooLong
            } else {
                Reason::MissingFinalNewline
            };
            return fail(Some(index), reason);
        };
        let fields = match check_line(content) {
            Ok(fields) => fields,
            Err(reason) => return fail(Some(index), reason),
        };
        if fields.index != index {
            return fail(
                Some(index),
                Reason::IndexOutOfSequence {
                    expected: index,
                    got: fields.index,
                },
            );
        }
        let version = versions
            .entry((fields.stream, fields.stream_id))
            .or_insert(0);
        if fields.stream_version != *version + 1 {
            return fail(
                Some(index),
                Reason::StreamVersionOutOfSequence {
                    stream: STREAMS[usize::from(fields.stream)],
                    stream_id: format_uuid(fields.stream_id),
                    expected: *version + 1,
                    got: fields.stream_version,
                },
            );
        }
        *version = fields.stream_version;
        range.push(leaf_hash(content));
        index += 1;
        if let Some(previous) = &previous
            && previous.size == index
            && previous.root != range.root()
        {
            return fail(None, Reason::PreviousNotPrefix { size: index });
        }
    }
    if index < checkpoint.size {
        return fail(
            Some(index),
            Reason::TooFewLines {
                lines: index,
                checkpoint_size: checkpoint.size,
            },
        );
    }
    let root = range.root();
    if root != checkpoint.root {
        return fail(
            None,
            Reason::RootMismatch {
                computed: root,
                checkpoint: checkpoint.root,
            },
        );
    }
    Ok(Verified {
        origin: checkpoint.origin,
        size: checkpoint.size,
        root,
    })
}

/// Opens the previous checkpoint: same origin first (the clearest message for a checkpoint of
/// another log), then the signature, then the size.
fn open_previous(
    note: &[u8],
    key: &VerifierKey,
    current: &Checkpoint,
) -> Result<Checkpoint, VerificationError> {
    let origin = note::parse_note(note)
        .ok()
        .and_then(|parsed| Checkpoint::parse_body(parsed.text).ok())
        .map(|checkpoint| checkpoint.origin);
    if let Some(origin) = origin
        && origin != current.origin
    {
        return fail(
            None,
            Reason::PreviousOtherOrigin {
                previous: origin,
                current: current.origin.clone(),
            },
        );
    }
    let previous = match Checkpoint::open(note, key) {
        Ok(previous) => previous,
        Err(error) => return fail(None, Reason::PreviousCheckpoint(error)),
    };
    if previous.size > current.size {
        return fail(
            None,
            Reason::PreviousLarger {
                previous: previous.size,
                current: current.size,
            },
        );
    }
    Ok(previous)
}

/// The stream types, by the numbers [`Fields::stream`] uses.
const STREAMS: [&str; 3] = ["organisation", "project", "activity"];

/// What the sequence checks need from an envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fields {
    index: u64,
    /// Index into [`STREAMS`].
    stream: u8,
    stream_id: u128,
    stream_version: u64,
}

/// Checks one line (without its newline): the fast scanner, or the reference check for the
/// reason when the scanner does not accept it.
fn check_line(line: &[u8]) -> Result<Fields, Reason> {
    match scan::envelope(line) {
        Some(fields) => Ok(fields),
        None => reference_check(line),
    }
}

/// The reference check: parse, re-encode canonically, compare, then check the envelope.
fn reference_check(line: &[u8]) -> Result<Fields, Reason> {
    let value: Value =
        serde_json::from_slice(line).map_err(|error| Reason::NotJson(error.to_string()))?;
    let canonical = jcs::to_canonical(&value).map_err(Reason::NotCanonicalNumber)?;
    if canonical != line {
        return Err(Reason::NotCanonical);
    }
    check_envelope(&value)
}

fn malformed(field: &str, problem: &'static str) -> Reason {
    Reason::Malformed {
        field: field.to_owned(),
        problem,
    }
}

fn check_members(
    object: &Map<String, Value>,
    expected: &[&str],
    prefix: &str,
) -> Result<(), Reason> {
    if let Some(unknown) = object.keys().find(|k| !expected.contains(&k.as_str())) {
        return Err(malformed(
            &format!("{prefix}{unknown}"),
            "is not an envelope member",
        ));
    }
    if let Some(missing) = expected.iter().find(|k| !object.contains_key(**k)) {
        return Err(malformed(&format!("{prefix}{missing}"), "is missing"));
    }
    Ok(())
}

/// The envelope's members, checked in canonical order (the order of the line).
fn check_envelope(value: &Value) -> Result<Fields, Reason> {
    let Value::Object(envelope) = value else {
        return Err(malformed("(envelope)", "must be a JSON object"));
    };
    check_members(envelope, &ENVELOPE_KEYS, "")?;
    let member = |name: &str| envelope.get(name).unwrap_or(&Value::Null);
    let string = |name: &'static str| match member(name) {
        Value::String(text) => Ok(text.as_str()),
        _ => Err(malformed(name, "must be a string")),
    };

    let Value::Object(actor) = member("actor") else {
        return Err(malformed("actor", "must be an object"));
    };
    check_members(actor, &ACTOR_KEYS, "actor.")?;
    match actor.get("org") {
        Some(Value::Null) => {}
        Some(Value::String(org)) if parse_uuid(org.as_bytes()).is_some() => {}
        _ => return Err(malformed("actor.org", "must be a lowercase UUID or null")),
    }
    match actor.get("roles") {
        Some(Value::Array(roles)) if roles.iter().all(Value::is_string) => {}
        _ => return Err(malformed("actor.roles", "must be an array of strings")),
    }
    if !actor.get("sub").is_some_and(Value::is_string) {
        return Err(malformed("actor.sub", "must be a string"));
    }
    if !member("data").is_object() {
        return Err(malformed("data", "must be an object"));
    }
    if parse_uuid(string("id")?.as_bytes()).is_none() {
        return Err(malformed("id", "must be a lowercase hyphenated UUID"));
    }
    let index = member("index")
        .as_u64()
        .ok_or_else(|| malformed("index", "must be a non-negative integer"))?;
    if !is_timestamp(string("occurredAt")?.as_bytes()) {
        return Err(malformed(
            "occurredAt",
            "must be RFC 3339 UTC with six fractional digits and `Z`",
        ));
    }
    if !matches!(member("requestId"), Value::String(_) | Value::Null) {
        return Err(malformed("requestId", "must be a string or null"));
    }
    let stream = stream_number(string("stream")?.as_bytes())
        .ok_or_else(|| malformed("stream", "must be `organisation`, `project` or `activity`"))?;
    let stream_id = parse_uuid(string("streamId")?.as_bytes())
        .ok_or_else(|| malformed("streamId", "must be a lowercase hyphenated UUID"))?;
    let stream_version = member("streamVersion")
        .as_u64()
        .filter(|version| *version >= 1)
        .ok_or_else(|| malformed("streamVersion", "must be a positive integer"))?;
    if !is_event_type(string("type")?.as_bytes()) {
        return Err(malformed("type", "must be a PascalCase name"));
    }
    if member("v").as_u64() != Some(ENVELOPE_VERSION) {
        // The message names the version: a new version must change it.
        const _: () = assert!(ENVELOPE_VERSION == 1);
        return Err(malformed("v", "must be 1"));
    }
    Ok(Fields {
        index,
        stream,
        stream_id,
        stream_version,
    })
}

fn stream_number(name: &[u8]) -> Option<u8> {
    match name {
        b"organisation" => Some(0),
        b"project" => Some(1),
        b"activity" => Some(2),
        _ => None,
    }
}

/// A UUID in lowercase hyphenated form (`8-4-4-4-12` hex digits), as a number.
fn parse_uuid(text: &[u8]) -> Option<u128> {
    if text.len() != 36 {
        return None;
    }
    let mut value: u128 = 0;
    for (position, &byte) in text.iter().enumerate() {
        if matches!(position, 8 | 13 | 18 | 23) {
            if byte != b'-' {
                return None;
            }
            continue;
        }
        let digit = match byte {
            b'0'..=b'9' => byte - b'0',
            b'a'..=b'f' => byte - b'a' + 10,
            _ => return None,
        };
        value = (value << 4) | u128::from(digit);
    }
    Some(value)
}

fn format_uuid(value: u128) -> String {
    let hex = format!("{value:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`, a valid date and time (seconds 00–59).
fn is_timestamp(text: &[u8]) -> bool {
    let Ok(text) = <&[u8; 27]>::try_from(text) else {
        return false;
    };
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        text[range].iter().try_fold(0u32, |acc, &byte| {
            byte.is_ascii_digit()
                .then(|| acc * 10 + u32::from(byte - b'0'))
        })
    };
    let separators = [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
        (26, b'Z'),
    ];
    if separators
        .iter()
        .any(|&(position, byte)| text[position] != byte)
    {
        return false;
    }
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second), Some(_)) = (
        digits(0..4),
        digits(5..7),
        digits(8..10),
        digits(11..13),
        digits(14..16),
        digits(17..19),
        digits(20..26),
    ) else {
        return false;
    };
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day) && hour < 24 && minute < 60 && second < 60
}

/// Compares two canonical JSON string contents (escapes included) by the UTF-16 code units of the
/// strings they denote, as JCS orders member names.
fn utf16_cmp(a: &[u8], b: &[u8]) -> Ordering {
    if !a.contains(&b'\\') && !b.contains(&b'\\') && a.is_ascii() && b.is_ascii() {
        return a.cmp(b);
    }
    // UTF-16 order is code point order except that U+E000–U+FFFF sort after the supplementary
    // planes (whose surrogates are D800–DFFF): move them above U+10FFFF.
    let key = |c: char| {
        let c = u32::from(c);
        if (0xE000..=0xFFFF).contains(&c) {
            c + 0x11_0000
        } else {
            c
        }
    };
    unescape(a).map(key).cmp(unescape(b).map(key))
}

/// The characters a canonical JSON string content denotes (the scanner has checked its escapes
/// and its UTF-8; anything else ends the iteration).
fn unescape(raw: &[u8]) -> impl Iterator<Item = char> + '_ {
    let text = std::str::from_utf8(raw).unwrap_or_default();
    let mut chars = text.chars();
    std::iter::from_fn(move || {
        let c = chars.next()?;
        if c != '\\' {
            return Some(c);
        }
        Some(match chars.next()? {
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => {
                let hex: String = chars.by_ref().take(4).collect();
                char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?
            }
            other => other,
        })
    })
}

/// The fast scanner: accepts exactly the canonical serialisation of a well-formed envelope.
mod scan {
    use super::{Fields, is_event_type, is_timestamp, parse_uuid, stream_number, utf16_cmp};
    use crate::jcs::MAX_SAFE_INTEGER;

    /// `serde_json` refuses a 128th nested array or object; so does the scanner.
    const MAX_DEPTH: u32 = 127;

    /// A canonical envelope's fields, or `None` when `line` is anything else.
    pub(super) fn envelope(line: &[u8]) -> Option<Fields> {
        std::str::from_utf8(line).ok()?;
        let mut c = Cursor {
            bytes: line,
            pos: 0,
        };
        c.lit(b"{\"actor\":{\"org\":")?;
        if c.peek()? == b'n' {
            c.lit(b"null")?;
        } else {
            c.uuid()?;
        }
        c.lit(b",\"roles\":[")?;
        if c.peek()? == b']' {
            c.pos += 1;
        } else {
            loop {
                c.string()?;
                match c.next()? {
                    b',' => {}
                    b']' => break,
                    _ => return None,
                }
            }
        }
        c.lit(b",\"sub\":")?;
        c.string()?;
        c.lit(b"},\"data\":")?;
        if c.peek()? != b'{' {
            return None;
        }
        c.object(2)?;
        c.lit(b",\"id\":")?;
        c.uuid()?;
        c.lit(b",\"index\":")?;
        let index = c.uint()?;
        c.lit(b",\"occurredAt\":")?;
        if !is_timestamp(c.string()?) {
            return None;
        }
        c.lit(b",\"requestId\":")?;
        if c.peek()? == b'n' {
            c.lit(b"null")?;
        } else {
            c.string()?;
        }
        c.lit(b",\"stream\":")?;
        let stream = stream_number(c.string()?)?;
        c.lit(b",\"streamId\":")?;
        let stream_id = c.uuid()?;
        c.lit(b",\"streamVersion\":")?;
        let stream_version = c.uint()?;
        if stream_version == 0 {
            return None;
        }
        c.lit(b",\"type\":")?;
        if !is_event_type(c.string()?) {
            return None;
        }
        c.lit(b",\"v\":1}")?;
        (c.pos == line.len()).then_some(Fields {
            index,
            stream,
            stream_id,
            stream_version,
        })
    }

    /// Whether `bytes` are canonical JSON (JCS, integers only), for tests against the reference.
    #[cfg(test)]
    pub(super) fn is_canonical(bytes: &[u8]) -> bool {
        if std::str::from_utf8(bytes).is_err() {
            return false;
        }
        let mut c = Cursor { bytes, pos: 0 };
        c.value(0).is_some() && c.pos == bytes.len()
    }

    struct Cursor<'a> {
        bytes: &'a [u8],
        pos: usize,
    }

    impl<'a> Cursor<'a> {
        fn peek(&self) -> Option<u8> {
            self.bytes.get(self.pos).copied()
        }

        fn next(&mut self) -> Option<u8> {
            let byte = self.peek()?;
            self.pos += 1;
            Some(byte)
        }

        fn lit(&mut self, literal: &[u8]) -> Option<()> {
            let end = self.pos.checked_add(literal.len())?;
            if self.bytes.get(self.pos..end)? == literal {
                self.pos = end;
                Some(())
            } else {
                None
            }
        }

        /// A string as JCS writes it; returns its content between the quotes, escapes included.
        fn string(&mut self) -> Option<&'a [u8]> {
            self.lit(b"\"")?;
            let start = self.pos;
            loop {
                self.skip_plain();
                match self.next()? {
                    b'"' => return self.bytes.get(start..self.pos - 1),
                    b'\\' => match self.next()? {
                        b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                        b'u' => {
                            // Only C0 controls without a short escape, in lowercase hex.
                            let hex = self.bytes.get(self.pos..self.pos + 4)?;
                            let low = match hex[3] {
                                digit @ b'0'..=b'9' => digit - b'0',
                                letter @ b'a'..=b'f' => letter - b'a' + 10,
                                _ => return None,
                            };
                            let code = match hex[..3] {
                                [b'0', b'0', b'0'] => low,
                                [b'0', b'0', b'1'] => 16 + low,
                                _ => return None,
                            };
                            if matches!(code, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d) {
                                return None;
                            }
                            self.pos += 4;
                        }
                        _ => return None,
                    },
                    0x00..=0x1f => return None,
                    _ => {}
                }
            }
        }

        /// Skips string bytes that need no attention (not `"`, `\\` or a C0 control), eight at a
        /// time: the bulk of an event is string content.
        fn skip_plain(&mut self) {
            const ONES: u64 = 0x0101_0101_0101_0101;
            const HIGHS: u64 = 0x8080_8080_8080_8080;
            while let Some(chunk) = self.bytes.get(self.pos..self.pos + 8) {
                let mut word = [0u8; 8];
                word.copy_from_slice(chunk);
                let x = u64::from_le_bytes(word);
                // High bit set in a byte that is < 0x20, == '"' or == '\\' (the lowest such
                // byte is flagged exactly; borrows only disturb the bytes above it).
                let zero_if = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
                let below_space = x.wrapping_sub(ONES * 0x20) & !x & HIGHS;
                let flagged = below_space
                    | zero_if(x ^ (ONES * u64::from(b'"')))
                    | zero_if(x ^ (ONES * u64::from(b'\\')));
                if flagged != 0 {
                    self.pos += (flagged.trailing_zeros() / 8) as usize;
                    return;
                }
                self.pos += 8;
            }
        }

        /// `"` + a lowercase hyphenated UUID + `"`.
        fn uuid(&mut self) -> Option<u128> {
            self.lit(b"\"")?;
            let value = parse_uuid(self.bytes.get(self.pos..self.pos + 36)?)?;
            self.pos += 36;
            self.lit(b"\"")?;
            Some(value)
        }

        /// A non-negative integer as JCS writes it, at most 2^53 − 1. (A fraction or exponent
        /// after it fails the caller's next expectation.)
        fn uint(&mut self) -> Option<u64> {
            let first = self.next()?;
            if first == b'0' {
                return Some(0);
            }
            if !first.is_ascii_digit() {
                return None;
            }
            let mut value = u64::from(first - b'0');
            while let Some(digit) = self.peek().filter(u8::is_ascii_digit) {
                value = value
                    .checked_mul(10)?
                    .checked_add(u64::from(digit - b'0'))?;
                if value > MAX_SAFE_INTEGER {
                    return None;
                }
                self.pos += 1;
            }
            Some(value)
        }

        /// An integer as JCS writes it: no `-0`, no leading zeros, within ±(2^53 − 1).
        fn number(&mut self) -> Option<()> {
            let negative = self.peek()? == b'-';
            if negative {
                self.pos += 1;
            }
            let value = self.uint()?;
            if negative && value == 0 {
                return None;
            }
            // `01`, `1.5`, `1e3`: a digit, fraction or exponent cannot follow.
            match self.peek() {
                Some(b'0'..=b'9' | b'.' | b'e' | b'E') => None,
                _ => Some(()),
            }
        }

        fn value(&mut self, depth: u32) -> Option<()> {
            match self.peek()? {
                b'"' => self.string().map(|_| ()),
                b'{' => self.object(depth + 1),
                b'[' => self.array(depth + 1),
                b't' => self.lit(b"true"),
                b'f' => self.lit(b"false"),
                b'n' => self.lit(b"null"),
                b'-' | b'0'..=b'9' => self.number(),
                _ => None,
            }
        }

        /// An object at nesting `depth` (the envelope is 1): members strictly sorted by UTF-16
        /// code units (so no duplicates).
        fn object(&mut self, depth: u32) -> Option<()> {
            if depth > MAX_DEPTH {
                return None;
            }
            self.lit(b"{")?;
            if self.peek()? == b'}' {
                self.pos += 1;
                return Some(());
            }
            let mut previous: Option<&[u8]> = None;
            loop {
                let name = self.string()?;
                if previous.is_some_and(|previous| utf16_cmp(previous, name).is_ge()) {
                    return None;
                }
                previous = Some(name);
                self.lit(b":")?;
                self.value(depth)?;
                match self.next()? {
                    b',' => {}
                    b'}' => return Some(()),
                    _ => return None,
                }
            }
        }

        fn array(&mut self, depth: u32) -> Option<()> {
            if depth > MAX_DEPTH {
                return None;
            }
            self.lit(b"[")?;
            if self.peek()? == b']' {
                self.pos += 1;
                return Some(());
            }
            loop {
                self.value(depth)?;
                match self.next()? {
                    b',' => {}
                    b']' => return Some(()),
                    _ => return None,
                }
            }
        }
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    //! The fast scanner against the reference check: they must accept exactly the same lines.

    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// Both checks on one line: they agree on acceptance, and on the fields when they accept.
    fn agree(line: &[u8]) -> Result<Option<Fields>, String> {
        let fast = scan::envelope(line);
        let reference = reference_check(line);
        match (&fast, &reference) {
            (Some(f), Ok(r)) if f == r => Ok(fast),
            (None, Err(_)) => Ok(None),
            _ => Err(format!(
                "scanner {fast:?} vs reference {reference:?} on {}",
                String::from_utf8_lossy(line)
            )),
        }
    }

    fn canonical_agree(bytes: &[u8]) -> Result<bool, String> {
        let fast = scan::is_canonical(bytes);
        let reference = jcs::is_canonical(bytes);
        if fast == reference {
            Ok(fast)
        } else {
            Err(format!(
                "scanner {fast} vs reference {reference} on {:?}",
                String::from_utf8_lossy(bytes)
            ))
        }
    }

    fn sample_envelope() -> Value {
        json!({
            "v": 1,
            "index": 7,
            "id": "01890a5d-ac96-774b-bcce-b302099a8057",
            "stream": "project",
            "streamId": "01890a5d-ac96-774b-bcce-b302099a8058",
            "streamVersion": 3,
            "type": "ProjectRegistered",
            "occurredAt": "2026-11-28T10:00:00.123456Z",
            "actor": {"sub": "alice", "roles": ["editor", "admin"], "org": "01890a5d-ac96-774b-bcce-b302099a8059"},
            "requestId": "req-1",
            "data": {"title": "Support to ASEANSAI", "percentage": "33.33", "amount": 1500},
        })
    }

    fn encode(value: &Value) -> Vec<u8> {
        jcs::to_canonical(value).unwrap()
    }

    #[test]
    fn sample_envelope_is_accepted_by_both() {
        let line = encode(&sample_envelope());
        assert_eq!(
            String::from_utf8(line.clone()).unwrap(),
            concat!(
                r#"{"actor":{"org":"01890a5d-ac96-774b-bcce-b302099a8059","roles":["editor","admin"],"sub":"alice"},"#,
                r#""data":{"amount":1500,"percentage":"33.33","title":"Support to ASEANSAI"},"#,
                r#""id":"01890a5d-ac96-774b-bcce-b302099a8057","index":7,"#,
                r#""occurredAt":"2026-11-28T10:00:00.123456Z","requestId":"req-1","stream":"project","#,
                r#""streamId":"01890a5d-ac96-774b-bcce-b302099a8058","streamVersion":3,"#,
                r#""type":"ProjectRegistered","v":1}"#
            )
        );
        let fields = agree(&line).unwrap().unwrap();
        assert_eq!(fields.index, 7);
        assert_eq!(fields.stream, 1);
        assert_eq!(fields.stream_version, 3);
        assert_eq!(
            format_uuid(fields.stream_id),
            "01890a5d-ac96-774b-bcce-b302099a8058"
        );
    }

    #[test]
    fn each_malformed_member_is_named() {
        let cases: Vec<(&str, Value, &str)> = vec![
            ("v", json!(2), "v"),
            ("index", json!(-1), "index"),
            ("index", json!("7"), "index"),
            ("id", json!("01890A5D-AC96-774B-BCCE-B302099A8057"), "id"),
            ("id", json!("01890a5dac96774bbcceb302099a8057"), "id"),
            ("stream", json!("Project"), "stream"),
            ("streamId", json!(null), "streamId"),
            ("streamVersion", json!(0), "streamVersion"),
            ("type", json!("projectRegistered"), "type"),
            ("type", json!("Project-Registered"), "type"),
            (
                "occurredAt",
                json!("2026-11-28T10:00:00.123Z"),
                "occurredAt",
            ),
            (
                "occurredAt",
                json!("2026-11-28T10:00:00.123456+00:00"),
                "occurredAt",
            ),
            (
                "occurredAt",
                json!("2026-02-29T10:00:00.123456Z"),
                "occurredAt",
            ),
            (
                "occurredAt",
                json!("2026-11-28T24:00:00.123456Z"),
                "occurredAt",
            ),
            (
                "occurredAt",
                json!("2026-11-28T23:59:60.123456Z"),
                "occurredAt",
            ),
            ("requestId", json!(5), "requestId"),
            ("data", json!([1]), "data"),
            ("data", json!(null), "data"),
            ("actor", json!("alice"), "actor"),
            ("actor", json!({"sub": "a", "roles": []}), "actor.org"),
            (
                "actor",
                json!({"sub": "a", "roles": [], "org": null, "x": 1}),
                "actor.x",
            ),
            (
                "actor",
                json!({"sub": 1, "roles": [], "org": null}),
                "actor.sub",
            ),
            (
                "actor",
                json!({"sub": "a", "roles": [1], "org": null}),
                "actor.roles",
            ),
            (
                "actor",
                json!({"sub": "a", "roles": [], "org": "acme"}),
                "actor.org",
            ),
        ];
        for (member, replacement, field) in cases {
            let mut envelope = sample_envelope();
            envelope[member] = replacement;
            let line = encode(&envelope);
            assert_eq!(agree(&line).unwrap(), None);
            match reference_check(&line) {
                Err(Reason::Malformed { field: got, .. }) => assert_eq!(got, field, "{member}"),
                other => panic!("{member}: {other:?}"),
            }
        }
        let mut envelope = sample_envelope();
        envelope.as_object_mut().unwrap().remove("requestId");
        assert_eq!(
            reference_check(&encode(&envelope)),
            Err(malformed("requestId", "is missing"))
        );
        envelope["extra"] = json!(1);
        assert_eq!(
            reference_check(&encode(&envelope)),
            Err(malformed("extra", "is not an envelope member"))
        );
        assert_eq!(
            reference_check(b"[]"),
            Err(malformed("(envelope)", "must be a JSON object"))
        );
    }

    #[test]
    fn valid_variants_are_accepted_by_both() {
        let variants: Vec<(&str, Value)> = vec![
            ("requestId", json!(null)),
            ("requestId", json!("")),
            (
                "actor",
                json!({"sub": "system:demo", "roles": [], "org": null}),
            ),
            ("data", json!({})),
            (
                "data",
                json!({"nested": {"deep": [1, -2, true, false, null, "x\u{1}\n\"\\/é😀"]}}),
            ),
            (
                "data",
                json!({"\u{FB33}": 1, "\u{10000}": 2, "a": 3, "\r": 4}),
            ),
            ("occurredAt", json!("2024-02-29T23:59:59.999999Z")),
            ("occurredAt", json!("0000-01-01T00:00:00.000000Z")),
            ("index", json!(MAX_SAFE)),
            ("streamVersion", json!(MAX_SAFE)),
            ("stream", json!("organisation")),
            ("stream", json!("activity")),
            ("type", json!("A")),
        ];
        for (member, replacement) in variants {
            let mut envelope = sample_envelope();
            envelope[member] = replacement;
            let line = encode(&envelope);
            assert!(agree(&line).unwrap().is_some(), "{member}");
        }
    }

    const MAX_SAFE: u64 = jcs::MAX_SAFE_INTEGER;

    #[test]
    fn non_canonical_spellings_are_rejected_by_both() {
        let line = String::from_utf8(encode(&sample_envelope())).unwrap();
        let variants = [
            line.replacen(r#""amount":1500"#, r#""amount": 1500"#, 1),
            line.replacen(r#""amount":1500"#, r#""amount":1500.0"#, 1),
            line.replacen(r#""amount":1500"#, r#""amount":1.5e3"#, 1),
            line.replacen(r#""amount":1500"#, r#""amount":01500"#, 1),
            line.replacen(r#""amount":1500"#, r#""amount":-0"#, 1),
            line.replacen(r#""amount":1500"#, r#""amount":9007199254740992"#, 1),
            line.replacen(r#""amount":1500,"#, r#""amount":1500,"amount":1500,"#, 1),
            line.replacen(
                r#""amount":1500,"percentage":"33.33""#,
                r#""percentage":"33.33","amount":1500"#,
                1,
            ),
            line.replacen("ASEANSAI", r"ASEAN\u0053AI", 1),
            line.replacen("ASEANSAI", r"ASEAN\/SAI", 1),
            line.replacen("ASEANSAI", r"ASEAN\u000aSAI", 1),
            line.replacen("ASEANSAI", r"ASEAN\u000ASAI", 1),
            line.replacen("ASEANSAI", "ASEAN\tSAI", 1),
            line.replacen(r#""index":7"#, r#""index":7.0"#, 1),
            line.replacen(r#""v":1}"#, r#""v":1.0}"#, 1),
            line.replacen(r#""v":1}"#, r#""v":1} "#, 1),
            format!(" {line}"),
            format!("{line}\r"),
            format!("\u{feff}{line}"),
            line.replacen(r#"{"actor""#, r#"{ "actor""#, 1),
        ];
        for variant in variants {
            assert_ne!(variant, line);
            assert_eq!(agree(variant.as_bytes()).unwrap(), None, "{variant}");
        }
        let mut invalid_utf8 = line.into_bytes();
        invalid_utf8[150] = 0xff;
        assert_eq!(agree(&invalid_utf8).unwrap(), None);
    }

    #[test]
    fn depth_limit_matches_serde_json() {
        for depth in [1usize, 2, 64, 126, 127, 128, 129, 1000] {
            let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            canonical_agree(nested.as_bytes()).unwrap();
            let objects = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
            canonical_agree(objects.as_bytes()).unwrap();
        }
        assert!(!scan::is_canonical("[".repeat(127).as_bytes()));
        assert!(scan::is_canonical(
            format!("{}{}", "[".repeat(127), "]".repeat(127)).as_bytes()
        ));
        assert!(!scan::is_canonical(
            format!("{}{}", "[".repeat(128), "]".repeat(128)).as_bytes()
        ));
        // Inside an envelope, `data` is at depth 2: 125 arrays in it make 127 levels.
        let mut envelope = sample_envelope();
        let mut deep = json!(1);
        for _ in 0..125 {
            deep = json!([deep]);
        }
        envelope["data"] = json!({ "x": deep.clone() });
        assert!(agree(&encode(&envelope)).unwrap().is_some());
        envelope["data"] = json!({ "x": [deep] });
        // Built from a Value, so serde_json can encode it, but not read it back.
        assert!(agree(&encode(&envelope)).unwrap().is_none());
    }

    #[test]
    fn scanner_agrees_on_rfc8785_examples() {
        let sorted = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
             \"\u{F6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20AC}\":\"Euro Sign\",\
             \"\u{1F600}\":\"Emoji: Grinning Face\",\"\u{FB33}\":\"Hebrew Letter Dalet With Dagesh\"}";
        assert!(canonical_agree(sorted.as_bytes()).unwrap());
        let swapped = sorted.replacen(
            "\"\\r\":\"Carriage Return\",\"1\":\"One\"",
            "\"1\":\"One\",\"\\r\":\"Carriage Return\"",
            1,
        );
        assert!(!canonical_agree(swapped.as_bytes()).unwrap());
        assert!(
            canonical_agree(
                br#"{"literals":[null,true,false],"string":"\u20ac$\u000f\nA'B\"\\\\\"/"}"#
            )
            .is_ok()
        );
        assert!(
            canonical_agree(
                "{\"literals\":[null,true,false],\"string\":\"€$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}"
                    .as_bytes()
            )
            .unwrap()
        );
        for text in [
            "",
            "{",
            "}",
            "[1,]",
            "[,1]",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\":1,}",
            "tru",
            "nul",
            "\"",
            "\"\\",
            "\"\\u00\"",
            "1 ",
            "-",
            "--1",
            "[-]",
            "\"\\u001g\"",
            "\"\\u001F\"",
            "\"\\u007f\"",
        ] {
            assert!(!canonical_agree(text.as_bytes()).unwrap(), "{text}");
        }
        for text in [
            "0",
            "-1",
            "[]",
            "{}",
            "\"\\u001f\"",
            "\"\\u0000\"",
            "\"\u{7f}\u{2028}\"",
            "[9007199254740991,-9007199254740991]",
        ] {
            assert!(canonical_agree(text.as_bytes()).unwrap(), "{text}");
        }
    }

    fn json_without_floats() -> impl Strategy<Value = Value> {
        let safe = MAX_SAFE as i64;
        let text = prop_oneof![
            "[a-z]{0,4}",
            "[\\x00-\\x1f\"\\\\/a\u{7f}\u{e9}\u{2028}\u{e000}\u{ffff}\u{10000}\u{1f600}]{0,4}",
            any::<String>(),
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-safe..=safe).prop_map(Value::from),
            prop_oneof![Just(0i64), Just(-1), Just(safe), Just(-safe)].prop_map(Value::from),
            text.clone().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 5, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map(text.clone(), inner, 0..5)
                    .prop_map(|members| Value::Object(members.into_iter().collect())),
            ]
        })
    }

    /// Replaces, inserts or deletes bytes, mostly JSON-significant ones.
    fn mutate(bytes: &mut Vec<u8>, edits: &[(prop::sample::Index, u8, u8)]) {
        const ALPHABET: &[u8] =
            b"{}[]\":,\\ -.0123456789eEabfnrtuvx/\x00\x1f\x7f\xc3\xa9\xe2\x80\xa8\xef\xbf\xbf";
        for (at, kind, byte) in edits {
            let byte = ALPHABET[usize::from(*byte) % ALPHABET.len()];
            if bytes.is_empty() {
                bytes.push(byte);
                continue;
            }
            let position = at.index(bytes.len());
            match kind % 3 {
                0 => bytes[position] = byte,
                1 => bytes.insert(position, byte),
                _ => {
                    bytes.remove(position);
                }
            }
        }
    }

    fn envelope_strategy() -> impl Strategy<Value = Value> {
        (
            (0..=MAX_SAFE, 1..=MAX_SAFE, 0usize..3, any::<u128>(), any::<u128>()),
            (any::<Option<u128>>(), prop::collection::vec("[a-z:]{0,6}", 0..3), ".{0,8}"),
            (any::<Option<String>>(), "[A-Z][A-Za-z0-9]{0,12}", 0u32..=9999, 1u32..=12, 1u32..=28),
            (0u32..24, 0u32..60, 0u32..60, 0u32..1_000_000),
            json_without_floats(),
        )
            .prop_map(|(ids, actor, named, time, data)| {
                let (index, version, stream, id, stream_id) = ids;
                let (org, roles, sub) = actor;
                let (request_id, event_type, year, month, day) = named;
                let (hour, minute, second, micros) = time;
                let data = match data {
                    Value::Object(members) => Value::Object(members),
                    other => json!({ "value": other }),
                };
                json!({
                    "v": 1,
                    "index": index,
                    "id": format_uuid(id),
                    "stream": STREAMS[stream],
                    "streamId": format_uuid(stream_id),
                    "streamVersion": version,
                    "type": event_type,
                    "occurredAt": format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{micros:06}Z"),
                    "actor": {"sub": sub, "roles": roles, "org": org.map(format_uuid)},
                    "requestId": request_id,
                    "data": data,
                })
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn scanner_and_reference_agree_on_canonical_json(value in json_without_floats()) {
            let bytes = encode(&value);
            prop_assert_eq!(canonical_agree(&bytes), Ok(true));
        }

        #[test]
        fn scanner_and_reference_agree_on_mutated_json(
            value in json_without_floats(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), any::<u8>()), 1..4),
        ) {
            let mut bytes = encode(&value);
            mutate(&mut bytes, &edits);
            prop_assert!(canonical_agree(&bytes).is_ok(), "{:?}", canonical_agree(&bytes));
        }

        #[test]
        fn scanner_and_reference_agree_on_envelopes(envelope in envelope_strategy()) {
            let line = encode(&envelope);
            let fields = agree(&line).map_err(TestCaseError::fail)?;
            prop_assert!(fields.is_some());
        }

        #[test]
        fn scanner_and_reference_agree_on_mutated_envelopes(
            envelope in envelope_strategy(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), any::<u8>()), 1..4),
        ) {
            let mut line = encode(&envelope);
            mutate(&mut line, &edits);
            agree(&line).map_err(TestCaseError::fail)?;
        }

        #[test]
        fn scanner_and_reference_agree_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            agree(&bytes).map_err(TestCaseError::fail)?;
            canonical_agree(&bytes).map_err(TestCaseError::fail)?;
        }
    }
}
