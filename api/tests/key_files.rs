//! The key files on disk, through the binary: `amanah token` and `amanah audit key` create the
//! data directory 0700 and their key files 0600, load them again, and refuse — exit 2, naming the
//! file and `chmod 600` — key files that group or others may read or write.
#![cfg(unix)]
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on an unexpected error"
)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output};

fn amanah(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_amanah"))
        .args(args)
        .env_clear()
        .env("AMANAH_DATA_DIR", data_dir)
        .current_dir(data_dir.parent().expect("the data dir has a parent"))
        .output()
        .expect("amanah runs")
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

const TOKEN: &[&str] = &["token", "--sub", "s", "--role", "viewer"];
const AUDIT_KEY: &[&str] = &["audit", "key"];

#[test]
fn key_files_are_created_private_and_refused_when_others_may_read_them() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("amanah-data");
    for (args, file) in [
        (TOKEN, "auth-hs256.secret"),
        (AUDIT_KEY, "audit-signing.key"),
    ] {
        let path = data_dir.join(file);
        let first = amanah(&data_dir, args);
        assert_eq!(first.status.code(), Some(0), "{first:?}");
        assert_eq!(mode(&data_dir), 0o700, "{args:?}");
        assert_eq!(mode(&path), 0o600, "{args:?}");

        for exposed in [0o644, 0o640, 0o606] {
            set_mode(&path, exposed);
            let refused = amanah(&data_dir, args);
            assert_eq!(refused.status.code(), Some(2), "{refused:?}");
            assert!(refused.stdout.is_empty(), "{refused:?}");
            let stderr = String::from_utf8(refused.stderr).unwrap();
            assert!(
                stderr.contains(&format!("chmod 600 {}", path.display())),
                "{stderr}"
            );
            assert!(stderr.contains(&format!("{exposed:03o}")), "{stderr}");
        }

        for private in [0o600, 0o400] {
            set_mode(&path, private);
            let again = amanah(&data_dir, args);
            assert_eq!(again.status.code(), Some(0), "{again:?}");
        }
        // `audit key` prints the same key each time it loads it.
        if args == AUDIT_KEY {
            let again = amanah(&data_dir, args);
            assert_eq!(again.stdout, first.stdout);
        }
    }
}
