//! An export directory on disk (`docs/audit-log.md` §5), and its verification with no database
//! and no network: what `amanah audit verify` and `amanah-verify` run.
//!
//! An export directory holds exactly:
//! * `events.jsonl` — line *i* is the leaf bytes of event *i* (RFC 8785 JSON), then `\n`;
//! * `checkpoint` — the signed checkpoint those lines add up to;
//! * `log.vkey` — the verifier key (`<name>+<hex key id>+<base64(0x01 ‖ public key)>`), then `\n`.

use std::fs;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use base64::Engine as _;

use crate::export_verify::{VerificationError, Verified, verify_export};
use crate::note::{KeyError, VerifierKey};

/// The exit status of a verification (`amanah audit verify` and `amanah-verify`): the export
/// verified with the key the auditor trusts.
pub const EXIT_VERIFIED: u8 = 0;
/// The exit status when the log does not verify.
pub const EXIT_FAILED: u8 = 1;
/// The exit status when the command could not run (usage, unreadable files).
pub const EXIT_UNUSABLE: u8 = 2;
/// The exit status when the export verified with its own `log.vkey` only.
pub const EXIT_OWN_KEY_ONLY: u8 = 3;

/// What a verification with the export's own `log.vkey` proves, and what to do instead.
pub const OWN_KEY_ONLY: &str = "the export was verified with its own log.vkey, which proves only \
its internal consistency, not that it is the log the operator signed (a rewritten log signed \
again with a new key passes too); pass --vkey FILE with the key obtained out of band";

/// File names inside an export directory.
pub const EVENTS_FILE: &str = "events.jsonl";
pub const CHECKPOINT_FILE: &str = "checkpoint";
pub const VKEY_FILE: &str = "log.vkey";

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
    /// The policy file does not parse (usage error, exit 2).
    #[error("{} is not a witness policy: {source}", path.display())]
    BadPolicy {
        path: PathBuf,
        source: crate::policy::PolicyError,
    },
    /// The checkpoint's cosignatures do not meet the policy (exit 1).
    #[error("verification failed: {0}")]
    Witnesses(#[from] crate::policy::CosignedError),
    /// The newest cosignature the policy counts is older than `--max-age` allows (exit 1).
    #[error(
        "verification failed: the newest cosignature is {age} s old, more than the {max_age} s \
         --max-age allows"
    )]
    TooOld { age: u64, max_age: u64 },
}

impl VerifyError {
    /// Whether the log failed verification (exit 1) rather than the command being unusable.
    #[must_use]
    pub fn is_verification_failure(&self) -> bool {
        matches!(
            self,
            Self::Failed(_) | Self::KeyMismatch { .. } | Self::Witnesses(_) | Self::TooOld { .. }
        )
    }

    /// The exit status for this error: [`EXIT_FAILED`] or [`EXIT_UNUSABLE`].
    #[must_use]
    pub fn exit_status(&self) -> u8 {
        if self.is_verification_failure() {
            EXIT_FAILED
        } else {
            EXIT_UNUSABLE
        }
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
    require_dir(dir)?;
    let own_key_path = dir.join(VKEY_FILE);
    let key = match vkey {
        Some(trusted_path) => read_verifier_key(trusted_path)?,
        None => read_verifier_key(&own_key_path)?,
    };
    verify_with_key(dir, &key, vkey.is_some(), previous).map(|(verified, _)| verified)
}

fn require_dir(dir: &Path) -> Result<(), VerifyError> {
    if dir.is_dir() {
        Ok(())
    } else {
        Err(VerifyError::MissingDirectory {
            path: dir.to_owned(),
        })
    }
}

/// Verifies the export in `dir` (which exists) with `key`; with `trusted`, the export's own
/// `log.vkey`, when it has one, must be that key. Returns what verified and the checkpoint's
/// bytes.
fn verify_with_key(
    dir: &Path,
    key: &VerifierKey,
    trusted: bool,
    previous: Option<&Path>,
) -> Result<(Verified, Vec<u8>), VerifyError> {
    if trusted {
        check_own_key(&dir.join(VKEY_FILE), key)?;
    }
    let checkpoint = read_file(&dir.join(CHECKPOINT_FILE))?;
    let previous = previous.map(read_file).transpose()?;
    let events_path = dir.join(EVENTS_FILE);
    let events = fs::File::open(&events_path).map_err(|source| VerifyError::Read {
        path: events_path,
        source,
    })?;
    let reader = BufReader::with_capacity(1 << 20, events);
    let verified = verify_export(reader, &checkpoint, key, previous.as_deref())?;
    Ok((verified, checkpoint))
}

/// `amanah audit verify DIR --policy FILE [--previous FILE] [--max-age D]`: verifies an export
/// as [`verify_dir`] does, with the policy's `log` key as the trusted key, then requires its
/// checkpoint's cosignatures to meet the policy's quorum ([`crate::policy::verify_cosigned`]) at
/// time `now` (POSIX seconds), and, with `max_age` (seconds), the newest of them to be that
/// recent.
///
/// # Errors
/// As [`verify_dir`]; [`VerifyError::BadPolicy`], [`VerifyError::Witnesses`] and
/// [`VerifyError::TooOld`].
pub fn verify_dir_with_policy(
    dir: &Path,
    policy_path: &Path,
    previous: Option<&Path>,
    max_age: Option<u64>,
    now: u64,
) -> Result<(Verified, crate::policy::Cosigned), VerifyError> {
    let text = read_file(policy_path)?;
    let policy =
        crate::policy::Policy::parse(&String::from_utf8_lossy(&text)).map_err(|source| {
            VerifyError::BadPolicy {
                path: policy_path.to_owned(),
                source,
            }
        })?;
    require_dir(dir)?;
    let (verified, checkpoint) = verify_with_key(dir, &policy.log, true, previous)?;
    let cosigned = crate::policy::verify_cosigned(&checkpoint, &policy, now)?;
    if let Some(max_age) = max_age {
        let newest = cosigned.witnesses.iter().map(|(_, time)| *time).max();
        let age = newest.map_or(u64::MAX, |time| now.saturating_sub(time));
        if age > max_age {
            return Err(VerifyError::TooOld { age, max_age });
        }
    }
    Ok((verified, cosigned))
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

/// The line both verifiers print for a verified export: its size, origin and root (base64).
#[must_use]
pub fn summary(verified: &Verified) -> String {
    format!(
        "verified {} events of {}; root {}",
        verified.size,
        verified.origin,
        base64::engine::general_purpose::STANDARD.encode(verified.root)
    )
}
