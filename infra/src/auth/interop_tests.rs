//! Cross-check with an independent implementation: tokens minted by PyJWT (+ `cryptography`)
//! must verify here, and tokens from [`crate::auth::mint::mint_hs256`] must decode there. The test
//! is `#[ignore]`d, so that `cargo test` shows it did not run; `.ci/run` installs PyJWT and
//! `cryptography` and runs it with `--ignored`, and then their absence is a failure.
#![expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::auth::claims::Role;
use crate::auth::config::{HmacSecret, JwksSource, VerifierConfig};
use crate::auth::error::AuthError;
use crate::auth::mint::mint_hs256;
use crate::auth::verifier::Verifier;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/auth");
const SECRET: &str = "interop-secret-shared-with-pyjwt-0123456789";

fn pyjwt_available() -> bool {
    Command::new("python3")
        .args(["-c", "import jwt, cryptography"])
        .output()
        .is_ok_and(|out| out.status.success())
}

fn python(args: &[&str]) -> Value {
    let out = Command::new("python3")
        .arg(format!("{DIR}/pyjwt_interop.py"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pyjwt_interop.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
#[ignore = "needs python3 with PyJWT and cryptography: pip install pyjwt cryptography (.ci/run runs it with --ignored)"]
async fn pyjwt_tokens_verify_and_minted_tokens_decode() {
    assert!(
        pyjwt_available(),
        "python3 with PyJWT and cryptography is not available: pip install pyjwt cryptography"
    );
    let secret = HmacSecret::new(SECRET).unwrap();
    let verifier = Verifier::new(VerifierConfig {
        hs256_secret: Some(secret.clone()),
        jwks: Some(JwksSource::File(format!("{DIR}/keys/jwks.json").into())),
        ..VerifierConfig::default()
    })
    .unwrap();

    let tokens = python(&["mint", &format!("{DIR}/keys"), SECRET, "amanah", "amanah"]);
    let token = |name: &str| tokens[name].as_str().unwrap().to_owned();
    for alg in ["HS256", "RS256", "ES256", "EdDSA"] {
        let identity = verifier
            .verify(&token(alg))
            .await
            .unwrap_or_else(|e| panic!("PyJWT {alg} token refused: {e}"));
        assert_eq!(identity.sub, "pyjwt-user");
        assert_eq!(identity.roles, vec![Role::Auditor, Role::Viewer]);
        assert_eq!(
            identity.org.map(|o| o.to_string()).as_deref(),
            Some("0190f3c2-8a6e-7c1a-9b2d-3e4f5a6b7c8d")
        );
        assert_eq!(identity.name.as_deref(), Some("Py JWT"));
    }
    assert_eq!(
        verifier.verify(&token("expired")).await,
        Err(AuthError::Expired)
    );
    assert_eq!(
        verifier.verify(&token("none")).await,
        Err(AuthError::UnsupportedAlgorithm {
            alg: "none".to_owned()
        })
    );
    assert_eq!(
        verifier.verify(&token("wrong_audience")).await,
        Err(AuthError::WrongAudience)
    );

    let minted = mint_hs256(
        &secret,
        "minted-here",
        &[Role::Editor, Role::Admin],
        None,
        Duration::from_secs(600),
        "amanah",
        "amanah",
    )
    .unwrap();
    let claims = python(&["decode", SECRET, "amanah", "amanah", &minted]);
    assert_eq!(claims["sub"], "minted-here");
    assert_eq!(claims["roles"], serde_json::json!(["editor", "admin"]));
    assert!(claims.get("org").is_none());
}
