//! `amanah token`, run as the binary: it prints one token on stdout and nothing else, creates the
//! data directory's secret when none is configured, and the server's verifier (built from the same
//! configuration, as `serve` builds it) accepts the token.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on an unexpected error"
)]

use std::process::Command;

use amanah_api::config::Config;
use amanah_infra::auth::Role;

fn amanah(data_dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_amanah"))
        .args(args)
        .env_clear()
        .env("AMANAH_DATA_DIR", data_dir)
        .current_dir(data_dir.parent().expect("the data dir has a parent"))
        .output()
        .expect("amanah runs")
}

#[tokio::test]
async fn token_prints_a_token_the_server_accepts_with_no_set_up() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("amanah-data");
    let org = "0190a5a8-2c4e-7d3b-9a1f-3c2b1a0f9e8d";
    let output = amanah(
        &data_dir,
        &[
            "token",
            "--sub",
            "partner-system",
            "--role",
            "integrator",
            "--role",
            "viewer",
            "--org",
            org,
            "--ttl",
            "10m",
        ],
    );
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let token = stdout.strip_suffix('\n').expect("one line");
    assert!(!token.contains('\n'), "{stdout}");
    assert_eq!(token.split('.').count(), 3, "{token}");
    assert!(data_dir.join("auth-hs256.secret").exists());

    let verifier = amanah_api::auth::build_verifier(&Config::defaults_in(&data_dir))
        .await
        .unwrap();
    let identity = verifier.verify(token).await.unwrap();
    assert_eq!(identity.sub, "partner-system");
    assert_eq!(identity.roles, [Role::Integrator, Role::Viewer]);
    assert_eq!(identity.org.map(|o| o.to_string()).as_deref(), Some(org));
}

#[test]
fn an_unknown_role_is_a_usage_error_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("amanah-data");
    let output = amanah(&data_dir, &["token", "--sub", "s", "--role", "root"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("unknown role"), "{stderr}");
    assert!(!data_dir.exists(), "nothing is created for a usage error");
}
