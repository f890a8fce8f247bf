//! C2SP tlog checkpoints (<https://c2sp.org/tlog-checkpoint>), signed as C2SP signed notes
//! ([`crate::note`]).
//!
//! The body of a checkpoint is
//!
//! ```text
//! <origin>\n
//! <tree size, ASCII decimal, no leading zeros>\n
//! <root hash, standard base64>\n
//! ```
//!
//! optionally followed by non-empty extension lines, which the spec allows and [`parse_body`]
//! keeps; Amanah never writes any. Parsing is strict: the body must be byte for byte what
//! [`Checkpoint::to_body`] writes for the values it holds.
//!
//! In Amanah the signing key's name equals the origin (audit-log.md §3): [`Checkpoint::sign`] and
//! [`Checkpoint::open`] insist on it.
//!
//! [`parse_body`]: Checkpoint::parse_body

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::merkle::Hash;
use crate::note::{self, NoteError, SigningKey, VerifierKey};

/// A log checkpoint: the log's name, a tree size and the root hash at that size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's name, e.g. `amanah.local/audit`.
    pub origin: String,
    /// The tree size.
    pub size: u64,
    /// The Merkle tree root at `size` (RFC 9162).
    pub root: Hash,
    /// Extension lines after the root (without their newlines). Amanah writes none.
    pub extensions: Vec<String>,
}

/// Why a checkpoint cannot be signed, parsed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The signed note around the checkpoint is malformed or does not verify.
    #[error("checkpoint note: {0}")]
    Note(#[from] NoteError),
    /// The body lacks one of its three lines.
    #[error("checkpoint body is missing its {0} line")]
    MissingLine(&'static str),
    /// The body does not end with a newline.
    #[error("checkpoint body does not end with a newline")]
    MissingFinalNewline,
    /// The origin line is empty, or has leading or trailing white space.
    #[error("checkpoint origin {0:?} is empty or has leading or trailing white space")]
    BadOrigin(String),
    /// The size line is not a decimal number without leading zeros that fits in 64 bits.
    #[error("checkpoint size {0:?} is not a decimal number without leading zeros")]
    BadSize(String),
    /// The root line is not the standard base64 of 32 bytes.
    #[error("checkpoint root {0:?} is not the standard base64 of 32 bytes")]
    BadRoot(String),
    /// An extension line is empty, or a field holds a control character.
    #[error("checkpoint line {line} is invalid: {reason}")]
    BadLine {
        /// 1-based line number in the body.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The fields would not read back as they are (a newline inside a field).
    #[error("the checkpoint's fields do not read back as written (a newline in a field?)")]
    Unrepresentable,
    /// The key's name differs from the checkpoint's origin.
    #[error("checkpoint origin {origin:?} differs from the key name {key_name:?}")]
    OriginMismatch {
        /// The checkpoint's origin.
        origin: String,
        /// The key's name.
        key_name: String,
    },
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    #[must_use]
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Self {
        Self {
            origin: origin.into(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// The body: `<origin>\n<size>\n<base64 root>\n`, then any extension lines.
    #[must_use]
    pub fn to_body(&self) -> String {
        let mut body = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        );
        for line in &self.extensions {
            body.push_str(line);
            body.push('\n');
        }
        body
    }

    /// Parses a body strictly (see the module documentation).
    ///
    /// # Errors
    /// [`CheckpointError`] naming the first line at fault.
    pub fn parse_body(body: &str) -> Result<Self, CheckpointError> {
        let Some(body) = body.strip_suffix('\n') else {
            return Err(if body.is_empty() {
                CheckpointError::MissingLine("origin")
            } else {
                CheckpointError::MissingFinalNewline
            });
        };
        let mut lines = body.split('\n');
        let origin = lines.next().ok_or(CheckpointError::MissingLine("origin"))?;
        check_origin(origin)?;
        let size = lines.next().ok_or(CheckpointError::MissingLine("size"))?;
        let size = parse_size(size)?;
        let root = lines.next().ok_or(CheckpointError::MissingLine("root"))?;
        let root = parse_root(root)?;
        let mut extensions = Vec::new();
        for (offset, line) in lines.enumerate() {
            let number = offset + 4;
            if line.is_empty() {
                return Err(CheckpointError::BadLine {
                    line: number,
                    reason: "extension lines must not be empty",
                });
            }
            if line.chars().any(char::is_control) {
                return Err(CheckpointError::BadLine {
                    line: number,
                    reason: "control character",
                });
            }
            extensions.push(line.to_owned());
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// Signs the checkpoint: the full signed note text, body then blank line then signature.
    ///
    /// # Errors
    /// [`CheckpointError::OriginMismatch`] unless the key's name is the origin; the errors of
    /// [`Checkpoint::parse_body`] when the fields would not read back as they are (an origin
    /// with white space or newlines, an empty extension line, …).
    pub fn sign(&self, key: &SigningKey) -> Result<String, CheckpointError> {
        if key.name() != self.origin {
            return Err(CheckpointError::OriginMismatch {
                origin: self.origin.clone(),
                key_name: key.name().to_owned(),
            });
        }
        let body = self.to_body();
        if Self::parse_body(&body)? != *self {
            return Err(CheckpointError::Unrepresentable);
        }
        Ok(note::sign_note(&body, &[key])?)
    }

    /// Verifies a signed checkpoint note with `key` and parses its body.
    ///
    /// # Errors
    /// [`CheckpointError::Note`] when the note is malformed, has no signature by `key` or a bad
    /// one; the body errors of [`Checkpoint::parse_body`];
    /// [`CheckpointError::OriginMismatch`] when the origin is not the key's name.
    pub fn open(note: impl AsRef<[u8]>, key: &VerifierKey) -> Result<Self, CheckpointError> {
        let body = note::open_note(note.as_ref(), key)?;
        let checkpoint = Self::parse_body(body)?;
        if checkpoint.origin != key.name() {
            return Err(CheckpointError::OriginMismatch {
                origin: checkpoint.origin,
                key_name: key.name().to_owned(),
            });
        }
        Ok(checkpoint)
    }
}

fn check_origin(origin: &str) -> Result<(), CheckpointError> {
    if origin.is_empty() || origin.trim() != origin || origin.chars().any(char::is_control) {
        return Err(CheckpointError::BadOrigin(origin.to_owned()));
    }
    Ok(())
}

fn parse_size(text: &str) -> Result<u64, CheckpointError> {
    let bad = || CheckpointError::BadSize(text.to_owned());
    let digits_only = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    let leading_zero = text.len() > 1 && text.starts_with('0');
    if !digits_only || leading_zero {
        return Err(bad());
    }
    text.parse().map_err(|_| bad())
}

fn parse_root(text: &str) -> Result<Hash, CheckpointError> {
    let bad = || CheckpointError::BadRoot(text.to_owned());
    let bytes = STANDARD.decode(text).map_err(|_| bad())?;
    let root: Hash = bytes.try_into().map_err(|_| bad())?;
    // The standard engine already insists on padding and zero trailing bits; re-encoding makes
    // "one root, one spelling" evident.
    if STANDARD.encode(root) != text {
        return Err(bad());
    }
    Ok(root)
}
