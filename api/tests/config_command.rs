//! `amanah config`, run as the binary: the effective configuration it prints never holds a
//! credential of the database or JWKS URL, whatever shape the URL has.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on an unexpected error"
)]

use std::process::Command;

fn amanah_config(env: &[(&str, &str)]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_amanah"))
        .arg("config")
        .env_clear()
        .envs(env.iter().copied())
        .env("AMANAH_DATA_DIR", dir.path().join("amanah-data"))
        .current_dir(dir.path())
        .output()
        .expect("amanah runs")
}

#[test]
fn config_prints_no_credential_of_the_database_or_jwks_url() {
    let cases: [(&str, &str, &[&str]); 4] = [
        (
            "postgres://amanah:hunter2@db.example:5432/amanah?sslmode=require&password=qwerty",
            "https://user:pw-in-userinfo@keys.example/jwks.json?access_token=t0k3n&sig=s1gn4ture",
            &["hunter2", "qwerty", "pw-in-userinfo", "t0k3n", "s1gn4ture"],
        ),
        (
            // A `/` in the password: no URL parser finds the userinfo.
            "postgres://amanah:hun/ter2@db.example/amanah",
            "https://keys.example/jwks.json?key=k3y&secret=s3cr3t&token=t0k",
            &["hun/ter2", "ter2", "k3y", "s3cr3t", "t0k"],
        ),
        (
            "postgresql://amanah:p@ss?w#rd@db.example/amanah",
            "https://ghp_0123456789@keys.example/jwks.json",
            &["p@ss", "ss?w", "w#rd", "ghp_0123456789"],
        ),
        (
            "sqlite://./amanah.db?mode=rwc&password=qwerty",
            "/etc/amanah/jwks.json",
            &["qwerty"],
        ),
    ];
    for (database_url, jwks, secrets) in cases {
        let output = amanah_config(&[
            ("AMANAH_DATABASE_URL", database_url),
            ("AMANAH_AUTH_JWKS", jwks),
        ]);
        assert!(output.status.success(), "{output:?}");
        let printed = String::from_utf8(output.stdout).unwrap();
        for secret in secrets {
            assert!(!printed.contains(secret), "{secret} leaked: {printed}");
        }
        assert!(printed.contains("[redacted]"), "{printed}");
        assert!(printed.contains("database_url = "), "{printed}");
        assert!(printed.contains("jwks = "), "{printed}");
    }
}
