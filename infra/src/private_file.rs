//! Files only the service's own user may use: the key material Amanah keeps on disk (the
//! checkpoint signing key, the generated HS256 token secret) and the directories that hold them
//! and the SQLite database.
//!
//! * [`read`] refuses, on Unix, a file that group or others may read or write, as OpenSSH refuses
//!   such a private key; the error names the file and the fix (`chmod 600 FILE`). The mode is
//!   read from the opened file, so it is the mode of the file that is read.
//! * [`create_new`] writes a new file atomically and never over another: the content goes to a
//!   temporary file in the same directory, created with mode 0600 (never loosened and then
//!   tightened), flushed, then hard-linked to its name. The link fails when another process
//!   created the file first; the loser then reads the winner's file. Either way no reader ever
//!   sees the file before its whole content is in it.
//! * [`create_dir`] creates a directory, and any missing parents, with mode 0700;
//!   [`exposed_mode`] says whether an existing one is open to group or others.
//!
//! On other platforms the modes are not checked or set.

use std::fs;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

/// Why a private file could not be used. `what` names the file for the operator ("the
/// checkpoint signing key").
#[derive(Debug, thiserror::Error)]
pub enum PrivateFileError {
    #[error("cannot read {what} {}: {source}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create {what} {}: {source}", path.display())]
    Create {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{what} {} is not used because group or others may read or write it (mode {mode:03o}); \
         run `chmod 600 {}`",
        path.display(),
        path.display()
    )]
    Exposed {
        what: &'static str,
        path: PathBuf,
        mode: u32,
    },
}

impl PrivateFileError {
    /// Whether the file does not exist (so that the caller may create it).
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

/// Reads the private file at `path` as text.
///
/// # Errors
/// [`PrivateFileError::Exposed`] when group or others may read or write it (Unix);
/// [`PrivateFileError::Read`] when it cannot be opened or read (see
/// [`PrivateFileError::is_not_found`]).
pub fn read(path: &Path, what: &'static str) -> Result<String, PrivateFileError> {
    let reading = |source| PrivateFileError::Read {
        what,
        path: path.to_owned(),
        source,
    };
    let mut file = fs::File::open(path).map_err(reading)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = file.metadata().map_err(reading)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(PrivateFileError::Exposed {
                what,
                path: path.to_owned(),
                mode: mode & 0o777,
            });
        }
    }
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(reading)?;
    Ok(text)
}

/// Creates the private file `path` holding `contents` (and its directory, mode 0700, when
/// missing), atomically and only if it does not exist yet. Returns `false`, writing nothing, when
/// the file already exists, e.g. because another process created it first.
///
/// # Errors
/// [`PrivateFileError::Create`] when the directory, the temporary file or the link cannot be
/// made (a file system without hard links is one reason).
pub fn create_new(
    path: &Path,
    contents: &[u8],
    what: &'static str,
) -> Result<bool, PrivateFileError> {
    let creating = |source| PrivateFileError::Create {
        what,
        path: path.to_owned(),
        source,
    };
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let name = path.file_name().ok_or_else(|| {
        creating(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the path names no file",
        ))
    })?;
    create_dir(dir).map_err(creating)?;
    let temporary = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        uuid::Uuid::now_v7().simple()
    ));
    let written = write_exclusive(&temporary, contents);
    let linked = written.and_then(|()| fs::hard_link(&temporary, path));
    if let Err(error) = fs::remove_file(&temporary)
        && error.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(
            path = %temporary.display(),
            %error,
            "could not remove a temporary key file; delete it by hand"
        );
    }
    match linked {
        Ok(()) => {
            sync_dir(dir).map_err(creating)?;
            Ok(true)
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(error) => Err(creating(error)),
    }
}

/// Creates `path` exclusively with mode 0600, writes `contents` and flushes them to disk.
fn write_exclusive(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Flushes the directory entry of a newly linked file, so that the file survives a power cut.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Creates `dir` and any missing parents with mode 0700 (the directories created, not existing
/// ones). An existing directory is left as it is.
///
/// # Errors
/// When a directory cannot be created.
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// The permission bits of `dir` when group or others may use it (any of `0o077`), else `None`
/// (always `None` off Unix).
///
/// # Errors
/// When its metadata cannot be read.
pub fn exposed_mode(dir: &Path) -> std::io::Result<Option<u32>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(dir)?.permissions().mode() & 0o777;
        Ok((mode & 0o077 != 0).then_some(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = fs::metadata(dir)?;
        Ok(None)
    }
}

#[cfg(all(test, unix))]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn set_mode(path: &Path, mode: u32) {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_file_others_may_read_or_write_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        assert!(create_new(&path, b"s3cret\n", "the test secret").unwrap());
        assert_eq!(read(&path, "the test secret").unwrap(), "s3cret\n");
        for exposed in [0o644, 0o640, 0o604, 0o620, 0o602, 0o660] {
            set_mode(&path, exposed);
            let error = read(&path, "the test secret").unwrap_err();
            assert!(
                matches!(error, PrivateFileError::Exposed { mode, .. } if mode == exposed),
                "{exposed:o}: {error}"
            );
            let message = error.to_string();
            assert!(message.contains("the test secret"), "{message}");
            assert!(
                message.contains(&format!("chmod 600 {}", path.display())),
                "{message}"
            );
            assert!(!message.contains("s3cret"), "{message}");
        }
        for private in [0o600, 0o400] {
            set_mode(&path, private);
            assert_eq!(read(&path, "the test secret").unwrap(), "s3cret\n");
        }
        assert!(
            read(&dir.path().join("missing"), "x")
                .unwrap_err()
                .is_not_found()
        );
    }

    #[test]
    fn created_files_are_0600_and_never_replace_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/nested/secret");
        assert!(create_new(&path, b"first", "the test secret").unwrap());
        assert_eq!(mode(&path), 0o600);
        assert!(!create_new(&path, b"second", "the test secret").unwrap());
        assert_eq!(fs::read(&path).unwrap(), b"first");
        // The directories it created are 0700, and no temporary file is left.
        assert_eq!(mode(&dir.path().join("keys")), 0o700);
        assert_eq!(mode(&dir.path().join("keys/nested")), 0o700);
        let names: Vec<_> = fs::read_dir(dir.path().join("keys/nested"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names, ["secret"]);
    }

    #[test]
    fn directories_are_created_0700_and_exposed_ones_are_told() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("a/amanah-data");
        create_dir(&data).unwrap();
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        assert_eq!(exposed_mode(&data).unwrap(), None);
        set_mode(&data, 0o755);
        create_dir(&data).unwrap();
        assert_eq!(mode(&data), 0o755, "an existing directory is left as it is");
        assert_eq!(exposed_mode(&data).unwrap(), Some(0o755));
    }
}
