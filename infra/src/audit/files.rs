//! The audit log on disk, the server's side: the checkpoint signing key file, `amanah audit
//! export` (the directory of [`amanah_audit::files`]), and the verification of the live database
//! (`audit-log.md` §3, §5). Verifying an export directory is [`amanah_audit::files::verify_dir`].

use std::fs;
use std::io::{BufReader, BufWriter, Write as _};
use std::path::{Path, PathBuf};

use amanah_domain::ports::{AuditReadError, StoreError};

use crate::audit::cosignatures::WitnessedCheckpoints;
use crate::audit::tree::{latest_checkpoint, root_at, signed_checkpoint_in};
use crate::base64_standard;
use crate::private_file::{self, PrivateFileError};
use crate::store::db_error::map_internal_db_error;
use crate::store::event_store::SqlEventStore;
use crate::store::sql::{from_db_int, statement, to_db_int};
use amanah_audit::export_verify::{VerificationError, Verified, verify_export};
use amanah_audit::files::{CHECKPOINT_FILE, EVENTS_FILE, VKEY_FILE};
use amanah_audit::note::{KeyError, SigningKey, VerifierKey};

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
    #[error("no checkpoint was signed at tree size {0}")]
    NotSigned(u64),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The event table does not hold every index below the signed size: a row was deleted (the
    /// export is refused rather than written short; `audit verify-db` names the damage).
    #[error(
        "the event table has no event at index {missing} below the signed size {size}; run \
         `amanah audit verify-db` to see what was changed"
    )]
    Incomplete { missing: u64, size: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    pub size: u64,
    pub root_base64: String,
}

/// `amanah audit export --out DIR`: writes the events up to a signed checkpoint (their stored
/// leaf bytes, as they are), that checkpoint and the verifier key. The checkpoint is the one of
/// `size`, or the latest when `None`; with `witnessed` (a witness policy is set) it carries the
/// witnesses' cosignatures, and without a size it is the newest that meets the policy's quorum,
/// as `GET /audit/checkpoint` serves it.
///
/// # Errors
/// [`ExportError`] when nothing is signed yet (or not at `size`), the log cannot be read or the
/// files written.
pub async fn export(
    store: &SqlEventStore,
    verifier_key: &VerifierKey,
    dir: &Path,
    size: Option<u64>,
    witnessed: Option<&WitnessedCheckpoints>,
) -> Result<ExportSummary, ExportError> {
    let writing = |path: PathBuf| move |source| ExportError::Write { path, source };
    fs::create_dir_all(dir).map_err(writing(dir.to_owned()))?;
    let db = store.connection();
    let chosen = match witnessed {
        // The quorum checkpoint: found among every cosigned size, not only the newest that a
        // request reads.
        Some(witnessed) if size.is_none() => match witnessed.refresh().await {
            Ok(_) => witnessed.checkpoint(None).await,
            Err(error) => Err(error),
        },
        Some(witnessed) => witnessed.checkpoint(size).await,
        None => signed_checkpoint_in(db, None, size).await,
    };
    let checkpoint = match chosen {
        Ok(checkpoint) => checkpoint,
        Err(AuditReadError::NoCheckpoint) => return Err(ExportError::NothingSigned),
        Err(AuditReadError::NotSigned(size)) => return Err(ExportError::NotSigned(size)),
        Err(AuditReadError::Store(error)) => return Err(ExportError::Store(error)),
        Err(other) => return Err(ExportError::Store(StoreError::internal(other.to_string()))),
    };
    if let Some(missing) = write_raw_events(db, checkpoint.size, &dir.join(EVENTS_FILE)).await? {
        return Err(ExportError::Incomplete {
            missing,
            size: checkpoint.size,
        });
    }
    let checkpoint_path = dir.join(CHECKPOINT_FILE);
    fs::write(&checkpoint_path, &checkpoint.note).map_err(writing(checkpoint_path))?;
    let vkey_path = dir.join(VKEY_FILE);
    fs::write(&vkey_path, format!("{verifier_key}\n")).map_err(writing(vkey_path))?;
    Ok(ExportSummary {
        size: checkpoint.size,
        root_base64: base64_standard(&checkpoint.root),
    })
}

/// Why `amanah audit verify-db` failed.
#[derive(Debug, thiserror::Error)]
pub enum VerifyDbError {
    /// The events read from the database do not verify, as an export would not (exit 1).
    #[error("verification failed: {0}")]
    Verify(#[from] VerificationError),
    /// The live database could not be read, or the events not written to the scratch directory.
    #[error(transparent)]
    Export(#[from] ExportError),
    /// The events written to the scratch directory cannot be read back.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The database's stored tree disagrees with its events (exit 1).
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

impl VerifyDbError {
    /// Whether the log failed verification (exit 1) rather than the command being unusable.
    #[must_use]
    pub fn is_verification_failure(&self) -> bool {
        match self {
            Self::Verify(_) | Self::TreeMismatch { .. } => true,
            Self::Export(_) | Self::Read { .. } => false,
        }
    }
}

/// `amanah audit verify-db`: verifies the live database the way an auditor verifies an export —
/// every stored event re-checked, the root recomputed and compared with the latest signed
/// checkpoint — and checks that the stored Merkle tree gives the same root. Catches rows edited
/// behind the triggers' back. The events pass through `scratch`, a directory of the caller's.
///
/// # Errors
/// [`VerifyDbError::Verify`] naming the first failing index and reason,
/// [`VerifyDbError::TreeMismatch`], or the database or the scratch directory failing.
pub async fn verify_db(
    store: &SqlEventStore,
    verifier_key: &VerifierKey,
    scratch: &Path,
) -> Result<Verified, VerifyDbError> {
    let db = store.connection();
    let checkpoint = latest_checkpoint(db)
        .await
        .map_err(ExportError::Store)?
        .ok_or(ExportError::NothingSigned)?;
    let events_path = scratch.join(EVENTS_FILE);
    // A missing row is left to the verifier, which names where the log breaks.
    write_raw_events(db, checkpoint.size, &events_path).await?;
    let events = fs::File::open(&events_path).map_err(|source| VerifyDbError::Read {
        path: events_path,
        source,
    })?;
    let verified = verify_export(
        BufReader::with_capacity(1 << 20, events),
        checkpoint.note.as_bytes(),
        verifier_key,
        None,
    )?;
    let stored = root_at(db, verified.size)
        .await
        .map_err(ExportError::Store)?;
    if stored != verified.root {
        return Err(VerifyDbError::TreeMismatch {
            size: verified.size,
            stored: base64_standard(&stored),
            signed: base64_standard(&verified.root),
        });
    }
    Ok(verified)
}

/// Writes the stored leaf bytes of the rows below `size`, as they are — without decoding them —
/// so that the verifier, not the reader, judges a tampered table (a deleted, reordered or edited
/// row). Returns the first index below `size` that has no row, if any.
async fn write_raw_events(
    db: &sea_orm::DatabaseConnection,
    size: u64,
    path: &Path,
) -> Result<Option<u64>, ExportError> {
    use sea_orm::ConnectionTrait as _;

    let writing = |source| ExportError::Write {
        path: path.to_owned(),
        source,
    };
    let file = fs::File::create(path).map_err(writing)?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let backend = db.get_database_backend();
    let below = to_db_int(size)?;
    let mut after = -1_i64;
    let mut written = 0_i64;
    let mut missing = None;
    loop {
        let rows = db
            .query_all_raw(statement(
                backend,
                "SELECT idx, canonical FROM events WHERE idx > ? AND idx < ? ORDER BY idx LIMIT 10000",
                [after.into(), below.into()],
            ))
            .await
            .map_err(map_internal_db_error)?;
        let Some(last) = rows.last() else { break };
        after = last.try_get_by_index(0).map_err(map_internal_db_error)?;
        for row in &rows {
            let index: i64 = row.try_get_by_index(0).map_err(map_internal_db_error)?;
            // Rows come in index order, one per index: the first index that is not the count
            // written so far is where a row is missing.
            if missing.is_none() && index != written {
                missing = Some(from_db_int(written)?);
            }
            let canonical: Vec<u8> = row.try_get_by_index(1).map_err(map_internal_db_error)?;
            out.write_all(&canonical).map_err(writing)?;
            out.write_all(b"\n").map_err(writing)?;
            written += 1;
        }
    }
    out.flush().map_err(writing)?;
    if missing.is_none() && written != below {
        missing = Some(from_db_int(written)?);
    }
    Ok(missing)
}
