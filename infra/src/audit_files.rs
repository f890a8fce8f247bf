//! The audit log on disk: the checkpoint signing key file, `amanah audit export`, and the
//! verification of an export directory or of the live database (`audit-log.md` §3, §5).
//!
//! An export directory holds exactly:
//! * `events.jsonl` — line *i* is the leaf bytes of event *i* (RFC 8785 JSON), then `\n`;
//! * `checkpoint` — the signed checkpoint those lines add up to;
//! * `log.vkey` — the verifier key (`<name>+<hex key id>+<base64(0x01 ‖ public key)>`), then `\n`.

use std::fs;
use std::io::{BufReader, BufWriter, Write as _};
use std::path::{Path, PathBuf};

use amanah_domain::ports::StoreError;

use crate::audit_tree::{latest_checkpoint, root_at};
use crate::base64_standard;
use crate::event_store::{MAX_READ_LIMIT, SqlEventStore};
use crate::export_verify::{VerificationError, Verified, verify_export};
use crate::note::{KeyError, SigningKey, VerifierKey};
use crate::private_file::{self, PrivateFileError};

/// File names inside an export directory.
pub const EVENTS_FILE: &str = "events.jsonl";
pub const CHECKPOINT_FILE: &str = "checkpoint";
pub const VKEY_FILE: &str = "log.vkey";

/// How the signing key file is named in messages.
const SIGNING_KEY_FILE: &str = "the checkpoint signing key";

/// Why the signing key file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SigningKeyError {
    /// It cannot be read or created, or others may read or write it.
    #[error(transparent)]
    File(#[from] PrivateFileError),
    #[error("the checkpoint signing key {} is not a valid key file: {source}", path.display())]
    Invalid { path: PathBuf, source: KeyError },
    #[error(
        "the checkpoint signing key {} is for the log {found:?}, but the configured origin is \
         {configured:?}: a key signs one log only (set AMANAH_AUDIT_ORIGIN or use another key file)",
        path.display()
    )]
    OtherOrigin {
        path: PathBuf,
        found: String,
        configured: String,
    },
    #[error("the audit origin {0:?} cannot name a key (no spaces, '+' or newlines)")]
    BadOrigin(String),
}

/// Loads the Ed25519 checkpoint signing key at `path`, or creates it when absent — mode 0600,
/// atomically, never over a file another process created meanwhile (that one is loaded instead:
/// see [`crate::private_file`]). Returns the key and whether it was created.
///
/// # Errors
/// [`SigningKeyError`] when the file cannot be read or written, group or others may read or write
/// it (Unix), it is not a key, or it names another origin.
pub fn load_or_create_signing_key(
    path: &Path,
    origin: &str,
) -> Result<(SigningKey, bool), SigningKeyError> {
    match private_file::read(path, SIGNING_KEY_FILE) {
        Ok(text) => return load(path, origin, &text).map(|key| (key, false)),
        Err(error) if error.is_not_found() => {}
        Err(error) => return Err(error.into()),
    }
    let key =
        SigningKey::generate(origin).map_err(|_| SigningKeyError::BadOrigin(origin.to_owned()))?;
    let text = format!("{}\n", key.to_private_key_string());
    if private_file::create_new(path, text.as_bytes(), SIGNING_KEY_FILE)? {
        return Ok((key, true));
    }
    let text = private_file::read(path, SIGNING_KEY_FILE)?;
    load(path, origin, &text).map(|key| (key, false))
}

/// Loads the checkpoint signing key at `path`, which must exist (export and verification must
/// not invent a new key).
///
/// # Errors
/// [`SigningKeyError`] when the file cannot be read, group or others may read or write it
/// (Unix), it is not a key, or it names another origin.
pub fn load_signing_key(path: &Path, origin: &str) -> Result<SigningKey, SigningKeyError> {
    let text = private_file::read(path, SIGNING_KEY_FILE)?;
    load(path, origin, &text)
}

fn load(path: &Path, origin: &str, text: &str) -> Result<SigningKey, SigningKeyError> {
    let key =
        SigningKey::from_private_key_string(text).map_err(|source| SigningKeyError::Invalid {
            path: path.to_owned(),
            source,
        })?;
    if key.name() != origin {
        return Err(SigningKeyError::OtherOrigin {
            path: path.to_owned(),
            found: key.name().to_owned(),
            configured: origin.to_owned(),
        });
    }
    Ok(key)
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("the log has no signed checkpoint yet: there is nothing to export")]
    NothingSigned,
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the event at index {found} was read where {expected} was expected")]
    OutOfOrder { expected: u64, found: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    pub size: u64,
    pub root_base64: String,
}

/// `amanah audit export --out DIR`: writes the events up to the latest signed checkpoint, that
/// checkpoint and the verifier key.
///
/// # Errors
/// [`ExportError`] when nothing is signed yet, the log cannot be read or the files written.
pub async fn export(
    store: &SqlEventStore,
    verifier_key: &VerifierKey,
    dir: &Path,
) -> Result<ExportSummary, ExportError> {
    let writing = |path: PathBuf| move |source| ExportError::Write { path, source };
    fs::create_dir_all(dir).map_err(writing(dir.to_owned()))?;
    let checkpoint = latest_checkpoint(store.connection())
        .await?
        .ok_or(ExportError::NothingSigned)?;
    let events_path = dir.join(EVENTS_FILE);
    let file = fs::File::create(&events_path).map_err(writing(events_path.clone()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut next = 0;
    while next < checkpoint.size {
        let limit = (checkpoint.size - next).min(MAX_READ_LIMIT);
        let events = store.read_range(next, limit).await?;
        if events.is_empty() {
            return Err(ExportError::OutOfOrder {
                expected: next,
                found: u64::MAX,
            });
        }
        for event in events {
            if event.index != next {
                return Err(ExportError::OutOfOrder {
                    expected: next,
                    found: event.index,
                });
            }
            out.write_all(&event.canonical)
                .and_then(|()| out.write_all(b"\n"))
                .map_err(writing(events_path.clone()))?;
            next += 1;
        }
    }
    out.flush().map_err(writing(events_path.clone()))?;
    let checkpoint_path = dir.join(CHECKPOINT_FILE);
    fs::write(&checkpoint_path, &checkpoint.note).map_err(writing(checkpoint_path))?;
    let vkey_path = dir.join(VKEY_FILE);
    fs::write(&vkey_path, format!("{verifier_key}\n")).map_err(writing(vkey_path))?;
    Ok(ExportSummary {
        size: checkpoint.size,
        root_base64: base64_standard(&checkpoint.root),
    })
}

/// Why an export directory could not be verified.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// A file is missing or unreadable (usage error, exit 2).
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The export directory does not exist or is not a directory (usage error, exit 2).
    #[error(
        "the export directory {} does not exist or is not a directory; pass the directory \
         `amanah audit export --out` wrote",
        path.display()
    )]
    MissingDirectory { path: PathBuf },
    /// The verifier key file is not a key (usage error, exit 2).
    #[error("{} is not a verifier key: {source}", path.display())]
    BadKey { path: PathBuf, source: KeyError },
    /// The export's own `log.vkey` is not the key the auditor trusts (exit 1): the export was
    /// signed with another key, or its `log.vkey` was replaced.
    #[error(
        "verification failed: the export's log.vkey ({found}) is not the key given with --vkey \
         ({trusted}); the export was signed with another key or its log.vkey was replaced"
    )]
    KeyMismatch { found: String, trusted: String },
    /// The log does not verify (exit 1).
    #[error("verification failed: {0}")]
    Failed(#[from] VerificationError),
    /// The live database could not be read (`verify-db`).
    #[error(transparent)]
    Export(#[from] ExportError),
    /// The database's stored tree disagrees with its events (`verify-db`, exit 1).
    #[error(
        "verification failed: the stored Merkle tree gives the root {stored} at size {size}, \
         but the signed checkpoint says {signed}"
    )]
    TreeMismatch {
        size: u64,
        stored: String,
        signed: String,
    },
}

impl VerifyError {
    /// Whether the log failed verification (exit 1) rather than the command being unusable.
    #[must_use]
    pub fn is_verification_failure(&self) -> bool {
        matches!(
            self,
            Self::Failed(_) | Self::TreeMismatch { .. } | Self::KeyMismatch { .. }
        )
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, VerifyError> {
    fs::read(path).map_err(|source| VerifyError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Reads a verifier key file.
///
/// # Errors
/// When the file cannot be read or holds no valid key.
pub fn read_verifier_key(path: &Path) -> Result<VerifierKey, VerifyError> {
    let bytes = read_file(path)?;
    let text = String::from_utf8_lossy(&bytes);
    VerifierKey::parse(text.trim_end_matches('\n')).map_err(|source| VerifyError::BadKey {
        path: path.to_owned(),
        source,
    })
}

/// `amanah audit verify DIR [--vkey FILE] [--previous FILE]`: verifies an export with no
/// database and no network.
///
/// With `vkey` (the key the auditor obtained out of band) the export's own `log.vkey`, when
/// present, must be that same key. Without it the export's own `log.vkey` is used, which proves
/// only that the export is consistent with itself: whoever rewrote a log can sign it again with a
/// key of their own and replace `log.vkey` (the command exits 3 then, never 0).
///
/// # Errors
/// [`VerifyError::Failed`] naming the first failing index and reason; [`VerifyError::KeyMismatch`]
/// when the export's `log.vkey` is not `vkey`; [`VerifyError::MissingDirectory`] and read errors
/// otherwise.
pub fn verify_dir(
    dir: &Path,
    vkey: Option<&Path>,
    previous: Option<&Path>,
) -> Result<Verified, VerifyError> {
    if !dir.is_dir() {
        return Err(VerifyError::MissingDirectory {
            path: dir.to_owned(),
        });
    }
    let own_key_path = dir.join(VKEY_FILE);
    let key = match vkey {
        Some(trusted_path) => {
            let trusted = read_verifier_key(trusted_path)?;
            check_own_key(&own_key_path, &trusted)?;
            trusted
        }
        None => read_verifier_key(&own_key_path)?,
    };
    let checkpoint = read_file(&dir.join(CHECKPOINT_FILE))?;
    let previous = previous.map(read_file).transpose()?;
    let events_path = dir.join(EVENTS_FILE);
    let events = fs::File::open(&events_path).map_err(|source| VerifyError::Read {
        path: events_path,
        source,
    })?;
    let reader = BufReader::with_capacity(1 << 20, events);
    Ok(verify_export(
        reader,
        &checkpoint,
        &key,
        previous.as_deref(),
    )?)
}

/// The export's own `log.vkey`, when there is one, must be the trusted key: a different or
/// unreadable one is [`VerifyError::KeyMismatch`]. An export without it is verified with the
/// trusted key alone.
fn check_own_key(own_key_path: &Path, trusted: &VerifierKey) -> Result<(), VerifyError> {
    let found = match read_verifier_key(own_key_path) {
        Ok(own) if own == *trusted => return Ok(()),
        Err(VerifyError::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(());
        }
        Ok(own) => own.to_string(),
        Err(VerifyError::BadKey { source, .. }) => format!("not a verifier key: {source}"),
        Err(error) => return Err(error),
    };
    Err(VerifyError::KeyMismatch {
        found,
        trusted: trusted.to_string(),
    })
}

/// `amanah audit verify-db`: verifies the live database the way an auditor verifies an export —
/// every stored event re-checked, the root recomputed and compared with the latest signed
/// checkpoint — and checks that the stored Merkle tree gives the same root. Catches rows edited
/// behind the triggers' back.
///
/// # Errors
/// As [`verify_dir`], plus [`VerifyError::TreeMismatch`].
pub async fn verify_db(
    store: &SqlEventStore,
    verifier_key: &VerifierKey,
    scratch: &Path,
) -> Result<Verified, VerifyError> {
    let db = store.connection();
    let checkpoint = latest_checkpoint(db)
        .await
        .map_err(ExportError::Store)?
        .ok_or(ExportError::NothingSigned)?;
    write_raw_events(db, checkpoint.size, &scratch.join(EVENTS_FILE)).await?;
    let checkpoint_path = scratch.join(CHECKPOINT_FILE);
    fs::write(&checkpoint_path, &checkpoint.note).map_err(|source| ExportError::Write {
        path: checkpoint_path,
        source,
    })?;
    let vkey = scratch.join(VKEY_FILE);
    fs::write(&vkey, format!("{verifier_key}\n")).map_err(|source| ExportError::Write {
        path: vkey.clone(),
        source,
    })?;
    let verified = verify_dir(scratch, Some(&vkey), None)?;
    let stored = root_at(db, verified.size)
        .await
        .map_err(ExportError::Store)?;
    if stored != verified.root {
        return Err(VerifyError::TreeMismatch {
            size: verified.size,
            stored: base64_standard(&stored),
            signed: base64_standard(&verified.root),
        });
    }
    Ok(verified)
}

/// Writes the stored leaf bytes of the rows below `size`, as they are — without decoding them or
/// checking their order — so that the verifier, not the reader, judges a tampered table (a
/// deleted, reordered or edited row).
async fn write_raw_events(
    db: &sea_orm::DatabaseConnection,
    size: u64,
    path: &Path,
) -> Result<(), ExportError> {
    use sea_orm::ConnectionTrait as _;

    let writing = |source| ExportError::Write {
        path: path.to_owned(),
        source,
    };
    let file = fs::File::create(path).map_err(writing)?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let backend = db.get_database_backend();
    let limit = i64::try_from(size).unwrap_or(i64::MAX);
    let mut after = -1_i64;
    loop {
        let rows = db
            .query_all_raw(crate::sql::statement(
                backend,
                "SELECT idx, canonical FROM events WHERE idx > ? AND idx < ? ORDER BY idx LIMIT 10000",
                [after.into(), limit.into()],
            ))
            .await
            .map_err(|e| ExportError::Store(crate::db_error::map_db_error(e)))?;
        let Some(last) = rows.last() else { break };
        after = last
            .try_get_by_index(0)
            .map_err(|e| ExportError::Store(crate::db_error::map_db_error(e)))?;
        for row in &rows {
            let canonical: Vec<u8> = row
                .try_get_by_index(1)
                .map_err(|e| ExportError::Store(crate::db_error::map_db_error(e)))?;
            out.write_all(&canonical).map_err(writing)?;
            out.write_all(b"\n").map_err(writing)?;
        }
    }
    out.flush().map_err(writing)
}
