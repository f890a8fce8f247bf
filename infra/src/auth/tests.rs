//! Verification tests: every accepted algorithm, every rejection (each asserting the exact
//! [`AuthError`]), the JWKS refresh floor and single flight, key rotation, and the minting and
//! secret helpers. Test keys live in `tests/keys/` (see `tests/keys/generate.sh`).
#![expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

use std::sync::Arc;
use std::sync::Mutex as StdMutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::auth::claims::Role;
use crate::auth::config::{HmacSecret, JwksSource, VerifierConfig};
use crate::auth::error::{Alg, AuthError, ConfigError, JwksError, MintError};
use crate::auth::jwks::{HttpsFetcher, JwksFetcher};
use crate::auth::mint::{
    bearer_token, generate_secret, load_or_create_secret, mint_hs256, parse_ttl,
};
use crate::auth::verifier::Verifier;
use amanah_domain::ports::BoxFuture;

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/auth/keys");
const SECRET: &str = "an-hs256-test-secret-that-is-at-least-32-bytes";

fn key_file(name: &str) -> Vec<u8> {
    std::fs::read(format!("{KEYS}/{name}")).unwrap()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn b64_json(value: &Value) -> String {
    b64(serde_json::to_vec(value).unwrap())
}

/// Valid claims for the default config.
fn claims() -> Value {
    json!({
        "sub": "user-1",
        "roles": ["editor", "viewer"],
        "name": "Aisyah",
        "iss": "amanah",
        "aud": "amanah",
        "iat": now(),
        "exp": now() + 600,
    })
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().unwrap().remove(key);
    claims
}

/// Signs `header` + `claims` with `alg` (any header, so tests can forge what they like).
fn sign_raw(header: &Value, claims: &Value, key: &EncodingKey, alg: Algorithm) -> String {
    let message = format!("{}.{}", b64_json(header), b64_json(claims));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).unwrap();
    format!("{message}.{signature}")
}

fn header(alg: &str, kid: Option<&str>) -> Value {
    match kid {
        Some(kid) => json!({"typ": "JWT", "alg": alg, "kid": kid}),
        None => json!({"typ": "JWT", "alg": alg}),
    }
}

fn hs_key(secret: &[u8]) -> EncodingKey {
    EncodingKey::from_secret(secret)
}
fn rsa_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(&key_file("rsa-private.pem")).unwrap()
}
fn rsa2_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(&key_file("rsa2-private.pem")).unwrap()
}
fn ec_key() -> EncodingKey {
    EncodingKey::from_ec_pem(&key_file("ec-private.pem")).unwrap()
}
fn ed_key() -> EncodingKey {
    EncodingKey::from_ed_pem(&key_file("ed-private.pem")).unwrap()
}

fn hs(claims: &Value) -> String {
    sign_raw(
        &header("HS256", None),
        claims,
        &hs_key(SECRET.as_bytes()),
        Algorithm::HS256,
    )
}
fn rs(claims: &Value) -> String {
    sign_raw(
        &header("RS256", Some("rsa-1")),
        claims,
        &rsa_key(),
        Algorithm::RS256,
    )
}
fn es(claims: &Value) -> String {
    sign_raw(
        &header("ES256", Some("ec-1")),
        claims,
        &ec_key(),
        Algorithm::ES256,
    )
}
fn ed(claims: &Value) -> String {
    sign_raw(
        &header("EdDSA", Some("ed-1")),
        claims,
        &ed_key(),
        Algorithm::EdDSA,
    )
}

/// A structurally valid token whose signature is junk: for paths that never reach the signature.
fn unsigned(header: &Value, claims: &Value) -> String {
    format!("{}.{}.{}", b64_json(header), b64_json(claims), b64(b"junk"))
}

fn secret() -> HmacSecret {
    HmacSecret::new(SECRET).unwrap()
}

fn config() -> VerifierConfig {
    VerifierConfig {
        hs256_secret: Some(secret()),
        jwks: Some(JwksSource::File(format!("{KEYS}/jwks.json").into())),
        ..VerifierConfig::default()
    }
}

/// Secret and JWKS file.
fn verifier() -> Verifier {
    Verifier::new(config()).unwrap()
}

/// JWKS file only, no HS256 secret.
fn jwks_only() -> Verifier {
    Verifier::new(VerifierConfig {
        hs256_secret: None,
        ..config()
    })
    .unwrap()
}

/// HS256 secret only, no JWKS.
fn hs_only() -> Verifier {
    Verifier::new(VerifierConfig {
        jwks: None,
        ..config()
    })
    .unwrap()
}

async fn rejects(verifier: &Verifier, token: &str) -> AuthError {
    verifier.verify(token).await.unwrap_err()
}

fn jwks_doc(name: &str) -> Vec<u8> {
    key_file(name)
}

/// A JWKS fetcher that serves a replaceable document, counts calls, can fail, and can be slow.
struct TestFetcher {
    doc: StdMutex<Vec<u8>>,
    calls: AtomicUsize,
    fail: AtomicBool,
    delay: Duration,
}

impl TestFetcher {
    fn new(doc: Vec<u8>, delay: Duration) -> Arc<Self> {
        Arc::new(Self {
            doc: StdMutex::new(doc),
            calls: AtomicUsize::new(0),
            fail: AtomicBool::new(false),
            delay,
        })
    }
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
    fn serve(&self, doc: Vec<u8>) {
        *self.doc.lock().unwrap() = doc;
    }
}

impl JwksFetcher for TestFetcher {
    fn fetch(&self) -> BoxFuture<'_, Result<Vec<u8>, JwksError>> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(self.delay).await;
            if self.fail.load(Ordering::SeqCst) {
                return Err(JwksError::Status { status: 503 });
            }
            Ok(self.doc.lock().unwrap().clone())
        })
    }
}

fn with_fetcher(fetcher: &Arc<TestFetcher>, floor: Duration) -> Verifier {
    Verifier::with_jwks_fetcher(
        VerifierConfig {
            jwks_refresh_floor: floor,
            ..config()
        },
        Arc::clone(fetcher) as Arc<dyn JwksFetcher>,
    )
    .unwrap()
}

// ---------------------------------------------------------------- accepted tokens

#[tokio::test]
async fn valid_hs256_token_yields_the_identity() {
    let org = Uuid::now_v7();
    let exp = now() + 600;
    let claims = with(with(claims(), "org", json!(org)), "exp", json!(exp));
    let identity = verifier().verify(&hs(&claims)).await.unwrap();
    assert_eq!(identity.sub, "user-1");
    assert_eq!(identity.roles, vec![Role::Editor, Role::Viewer]);
    assert_eq!(identity.org, Some(org));
    assert_eq!(identity.name.as_deref(), Some("Aisyah"));
    assert_eq!(identity.expires_at.timestamp(), exp);
    assert!(identity.has_role(Role::Editor) && !identity.has_role(Role::Admin));
    assert_eq!(identity.role_names(), vec!["editor", "viewer"]);
}

#[tokio::test]
async fn valid_rs256_token_from_the_jwks_file() {
    let identity = verifier().verify(&rs(&claims())).await.unwrap();
    assert_eq!(identity.sub, "user-1");
}

#[tokio::test]
async fn valid_es256_token_from_the_jwks_file() {
    let identity = verifier().verify(&es(&claims())).await.unwrap();
    assert_eq!(identity.roles, vec![Role::Editor, Role::Viewer]);
}

#[tokio::test]
async fn valid_eddsa_token_from_the_jwks_file() {
    let identity = verifier().verify(&ed(&claims())).await.unwrap();
    assert_eq!(identity.name.as_deref(), Some("Aisyah"));
}

#[tokio::test]
async fn asymmetric_tokens_verify_without_an_hs256_secret() {
    let v = jwks_only();
    for token in [rs(&claims()), es(&claims()), ed(&claims())] {
        assert_eq!(v.verify(&token).await.unwrap().sub, "user-1");
    }
}

#[tokio::test]
async fn audience_may_be_an_array_containing_ours() {
    let token = hs(&with(claims(), "aud", json!(["other", "amanah"])));
    assert!(verifier().verify(&token).await.is_ok());
}

#[tokio::test]
async fn fractional_exp_is_accepted() {
    let token = hs(&with(claims(), "exp", json!(now() as f64 + 600.5)));
    let identity = verifier().verify(&token).await.unwrap();
    assert_eq!(identity.expires_at.timestamp(), now() + 600);
}

// ---------------------------------------------------------------- algorithm attacks

#[tokio::test]
async fn alg_none_is_rejected() {
    // The classic hand-crafted unsigned token: header {"alg":"none"}, empty signature.
    let token = format!("eyJhbGciOiJub25lIn0.{}.", b64_json(&claims()));
    assert_eq!(
        rejects(&verifier(), &token).await,
        AuthError::UnsupportedAlgorithm {
            alg: "none".to_owned()
        }
    );
    // Same with a signature, and with other spellings: still refused before any key is used.
    for alg in ["none", "None", "NONE", "nOnE"] {
        let token = unsigned(&json!({"alg": alg, "typ": "JWT"}), &claims());
        assert_eq!(
            rejects(&verifier(), &token).await,
            AuthError::UnsupportedAlgorithm {
                alg: alg.to_owned()
            }
        );
    }
}

#[tokio::test]
async fn algorithms_outside_the_four_are_rejected() {
    for alg in [
        "HS384", "HS512", "RS384", "RS512", "PS256", "ES384", "ES512", "Ed25519", "hs256", "",
    ] {
        let token = unsigned(&header(alg, Some("rsa-1")), &claims());
        assert_eq!(
            rejects(&verifier(), &token).await,
            AuthError::UnsupportedAlgorithm {
                alg: alg.to_owned()
            },
            "{alg}"
        );
    }
    // A real HS512 token signed with the configured secret is still refused.
    let token = sign_raw(
        &header("HS512", None),
        &claims(),
        &hs_key(SECRET.as_bytes()),
        Algorithm::HS512,
    );
    assert_eq!(
        rejects(&verifier(), &token).await,
        AuthError::UnsupportedAlgorithm {
            alg: "HS512".to_owned()
        }
    );
}

/// Key confusion: an HS256 token whose HMAC key is the RSA public key's PEM (which an attacker
/// can download). A verifier that fed the JWKS key to HMAC would accept it.
fn hs256_signed_with_rsa_public_pem(kid: Option<&str>) -> String {
    sign_raw(
        &header("HS256", kid),
        &with(claims(), "roles", json!(["admin"])),
        &hs_key(&key_file("rsa-public.pem")),
        Algorithm::HS256,
    )
}

#[tokio::test]
async fn hs256_signed_with_the_rsa_public_key_is_rejected_when_a_secret_is_configured() {
    for kid in [None, Some("rsa-1")] {
        let token = hs256_signed_with_rsa_public_pem(kid);
        assert_eq!(rejects(&verifier(), &token).await, AuthError::BadSignature);
    }
}

#[tokio::test]
async fn hs256_signed_with_the_rsa_public_key_is_rejected_when_no_secret_is_configured() {
    for kid in [None, Some("rsa-1")] {
        let token = hs256_signed_with_rsa_public_pem(kid);
        assert_eq!(
            rejects(&jwks_only(), &token).await,
            AuthError::AlgorithmNotConfigured { alg: Alg::Hs256 }
        );
    }
}

#[tokio::test]
async fn hs256_signed_with_the_rsa_modulus_bytes_is_rejected() {
    // The other common confusion payload: the JWK's raw `n` as the HMAC key.
    let jwks: JwkSet = serde_json::from_slice(&jwks_doc("jwks.json")).unwrap();
    let AlgorithmParameters::RSA(rsa) = &jwks.find("rsa-1").unwrap().algorithm else {
        panic!("rsa-1 is an RSA key");
    };
    let n = URL_SAFE_NO_PAD.decode(&rsa.n).unwrap();
    let token = sign_raw(
        &header("HS256", Some("rsa-1")),
        &claims(),
        &hs_key(&n),
        Algorithm::HS256,
    );
    assert_eq!(rejects(&verifier(), &token).await, AuthError::BadSignature);
    assert_eq!(
        rejects(&jwks_only(), &token).await,
        AuthError::AlgorithmNotConfigured { alg: Alg::Hs256 }
    );
}

#[tokio::test]
async fn hs256_is_never_verified_with_a_symmetric_key_from_the_jwks() {
    let token = sign_raw(
        &header("HS256", Some("oct-1")),
        &claims(),
        &hs_key(b"jwks-oct-key-must-never-be-used!"),
        Algorithm::HS256,
    );
    assert_eq!(rejects(&verifier(), &token).await, AuthError::BadSignature);
    assert_eq!(
        rejects(&jwks_only(), &token).await,
        AuthError::AlgorithmNotConfigured { alg: Alg::Hs256 }
    );
}

#[tokio::test]
async fn rs256_header_with_an_hmac_signature_is_rejected() {
    // The reverse confusion: RS256 header, signature made with the HS256 secret.
    let token = sign_raw(
        &header("HS256", Some("rsa-1")),
        &claims(),
        &hs_key(SECRET.as_bytes()),
        Algorithm::HS256,
    );
    let mut parts: Vec<&str> = token.split('.').collect();
    let forged_header = b64_json(&header("RS256", Some("rsa-1")));
    parts[0] = &forged_header;
    assert_eq!(
        rejects(&verifier(), &parts.join(".")).await,
        AuthError::BadSignature
    );
}

#[tokio::test]
async fn asymmetric_algorithms_need_a_jwks() {
    let v = hs_only();
    assert_eq!(
        rejects(&v, &rs(&claims())).await,
        AuthError::AlgorithmNotConfigured { alg: Alg::Rs256 }
    );
    assert_eq!(
        rejects(&v, &es(&claims())).await,
        AuthError::AlgorithmNotConfigured { alg: Alg::Es256 }
    );
    assert_eq!(
        rejects(&v, &ed(&claims())).await,
        AuthError::AlgorithmNotConfigured { alg: Alg::EdDsa }
    );
}

#[tokio::test]
async fn a_verifier_without_keys_accepts_nothing() {
    let v = Verifier::new(VerifierConfig::default()).unwrap();
    assert_eq!(
        rejects(&v, &hs(&claims())).await,
        AuthError::AlgorithmNotConfigured { alg: Alg::Hs256 }
    );
    assert_eq!(
        rejects(&v, &rs(&claims())).await,
        AuthError::AlgorithmNotConfigured { alg: Alg::Rs256 }
    );
}

#[tokio::test]
async fn asymmetric_tokens_need_a_kid() {
    let token = sign_raw(
        &header("RS256", None),
        &claims(),
        &rsa_key(),
        Algorithm::RS256,
    );
    assert_eq!(
        rejects(&verifier(), &token).await,
        AuthError::MissingKeyId { alg: Alg::Rs256 }
    );
}

#[tokio::test]
async fn the_key_named_by_kid_must_fit_the_algorithm() {
    let cases = [
        (
            "RS256",
            "ec-1",
            "the key type does not match the algorithm",
            Alg::Rs256,
        ),
        (
            "ES256",
            "rsa-1",
            "the key type does not match the algorithm",
            Alg::Es256,
        ),
        (
            "EdDSA",
            "ec-1",
            "the key type does not match the algorithm",
            Alg::EdDsa,
        ),
        (
            "ES256",
            "ec384-1",
            "the EC key is not on curve P-256",
            Alg::Es256,
        ),
        (
            "RS256",
            "oct-1",
            "symmetric keys from the JWKS are never used",
            Alg::Rs256,
        ),
        (
            "RS256",
            "weird-1",
            "the key type is not supported",
            Alg::Rs256,
        ),
    ];
    for (alg, kid, reason, expected_alg) in cases {
        let token = unsigned(&header(alg, Some(kid)), &claims());
        assert_eq!(
            rejects(&verifier(), &token).await,
            AuthError::KeyMismatch {
                kid: kid.to_owned(),
                alg: expected_alg,
                reason
            },
            "{alg} with {kid}"
        );
    }
}

#[tokio::test]
async fn jwks_entries_restrict_their_own_use() {
    let mut doc: Value = serde_json::from_slice(&jwks_doc("jwks.json")).unwrap();
    let keys = doc["keys"].as_array_mut().unwrap();
    let rsa = keys.iter().find(|k| k["kid"] == "rsa-1").unwrap().clone();
    keys.push(with(
        with(rsa.clone(), "kid", json!("rsa-ps")),
        "alg",
        json!("PS256"),
    ));
    keys.push(with(
        with(rsa.clone(), "kid", json!("rsa-enc")),
        "use",
        json!("enc"),
    ));
    let mut ops = with(rsa.clone(), "kid", json!("rsa-sign-only"));
    ops.as_object_mut().unwrap().remove("use");
    keys.push(with(ops, "key_ops", json!(["sign"])));
    let short_n = b64([0xC5_u8; 128]);
    keys.push(with(
        with(rsa, "kid", json!("rsa-1024")),
        "n",
        json!(short_n),
    ));
    let fetcher = TestFetcher::new(serde_json::to_vec(&doc).unwrap(), Duration::ZERO);
    let v = with_fetcher(&fetcher, Duration::from_secs(30));
    let cases = [
        ("rsa-ps", "the key declares another alg"),
        ("rsa-enc", "the key's use is not sig"),
        ("rsa-sign-only", "the key's key_ops do not include verify"),
        ("rsa-1024", "the RSA key is shorter than 2048 bits"),
    ];
    for (kid, reason) in cases {
        let token = sign_raw(
            &header("RS256", Some(kid)),
            &claims(),
            &rsa_key(),
            Algorithm::RS256,
        );
        assert_eq!(
            rejects(&v, &token).await,
            AuthError::KeyMismatch {
                kid: kid.to_owned(),
                alg: Alg::Rs256,
                reason
            },
            "{kid}"
        );
    }
    assert_eq!(fetcher.calls(), 1, "known kids never trigger a reload");
}

#[tokio::test]
async fn keys_embedded_in_the_header_are_ignored() {
    // The attacker signs with their own key and ships it in the `jwk` header (CVE-2018-0114
    // style) and points `jku` at their own key set: neither is ever consulted.
    let attacker = Jwk::from_encoding_key(&rsa2_key(), Algorithm::RS256).unwrap();
    let forged = json!({
        "alg": "RS256",
        "kid": "attacker",
        "jwk": attacker,
        "jku": "https://attacker.invalid/jwks.json",
    });
    let token = sign_raw(&forged, &claims(), &rsa2_key(), Algorithm::RS256);
    assert_eq!(
        rejects(&verifier(), &token).await,
        AuthError::UnknownKey {
            kid: "attacker".to_owned()
        }
    );
    // Same attacker key under the real kid: the JWKS key decides, so the signature fails.
    let forged = with(forged, "kid", json!("rsa-1"));
    let token = sign_raw(&forged, &claims(), &rsa2_key(), Algorithm::RS256);
    assert_eq!(rejects(&verifier(), &token).await, AuthError::BadSignature);
}

#[tokio::test]
async fn a_tampered_payload_breaks_the_signature() {
    for token in [hs(&claims()), rs(&claims()), es(&claims()), ed(&claims())] {
        let parts: Vec<&str> = token.split('.').collect();
        let tampered = b64_json(&with(claims(), "roles", json!(["admin"])));
        let forged = format!("{}.{}.{}", parts[0], tampered, parts[2]);
        assert_eq!(rejects(&verifier(), &forged).await, AuthError::BadSignature);
    }
}

#[tokio::test]
async fn a_signature_from_another_key_is_rejected() {
    let token = sign_raw(
        &header("RS256", Some("rsa-1")),
        &claims(),
        &rsa2_key(),
        Algorithm::RS256,
    );
    assert_eq!(rejects(&verifier(), &token).await, AuthError::BadSignature);
    let token = sign_raw(
        &header("HS256", None),
        &claims(),
        &hs_key(b"another-secret-that-is-32-bytes-long!!"),
        Algorithm::HS256,
    );
    assert_eq!(rejects(&verifier(), &token).await, AuthError::BadSignature);
}

// ---------------------------------------------------------------- time and registered claims

#[tokio::test]
async fn expired_beyond_the_leeway_is_rejected() {
    let token = hs(&with(claims(), "exp", json!(now() - 120)));
    assert_eq!(rejects(&verifier(), &token).await, AuthError::Expired);
}

#[tokio::test]
async fn expired_within_the_leeway_is_accepted() {
    let token = hs(&with(claims(), "exp", json!(now() - 10)));
    assert!(verifier().verify(&token).await.is_ok());
    // With no leeway the same token is expired.
    let strict = Verifier::new(VerifierConfig {
        leeway_secs: 0,
        ..config()
    })
    .unwrap();
    assert_eq!(rejects(&strict, &token).await, AuthError::Expired);
}

#[tokio::test]
async fn not_before_in_the_future_is_rejected() {
    let token = hs(&with(claims(), "nbf", json!(now() + 300)));
    assert_eq!(rejects(&verifier(), &token).await, AuthError::NotYetValid);
    let token = es(&with(claims(), "nbf", json!(now() + 300)));
    assert_eq!(rejects(&verifier(), &token).await, AuthError::NotYetValid);
}

#[tokio::test]
async fn not_before_within_the_leeway_is_accepted() {
    let token = hs(&with(claims(), "nbf", json!(now() + 10)));
    assert!(verifier().verify(&token).await.is_ok());
}

#[tokio::test]
async fn exp_is_required_and_numeric() {
    let token = hs(&without(claims(), "exp"));
    assert_eq!(
        rejects(&verifier(), &token).await,
        AuthError::MissingClaim { claim: "exp" }
    );
    let token = hs(&with(claims(), "exp", json!("tomorrow")));
    assert_eq!(
        rejects(&verifier(), &token).await,
        AuthError::InvalidClaim {
            claim: "exp",
            reason: "it must be a NumericDate (seconds since the epoch)"
        }
    );
    for bad in [json!(-5), json!({"at": 1}), json!([1])] {
        let token = hs(&with(claims(), "exp", bad));
        assert_eq!(
            rejects(&verifier(), &token).await,
            AuthError::InvalidClaim {
                claim: "exp",
                reason: "it must be a NumericDate (seconds since the epoch)"
            }
        );
    }
    let token = hs(&with(claims(), "nbf", json!("yesterday")));
    assert_eq!(
        rejects(&verifier(), &token).await,
        AuthError::InvalidClaim {
            claim: "nbf",
            reason: "it must be a NumericDate (seconds since the epoch)"
        }
    );
    let token = hs(&with(claims(), "aud", json!({"amanah": true})));
    assert_eq!(
        rejects(&verifier(), &token).await,
        AuthError::InvalidClaim {
            claim: "aud",
            reason: "it must be a string or an array of strings"
        }
    );
}

#[tokio::test]
async fn wrong_issuer_is_rejected() {
    let token = hs(&with(claims(), "iss", json!("someone-else")));
    assert_eq!(rejects(&verifier(), &token).await, AuthError::WrongIssuer);
    let token = rs(&with(claims(), "iss", json!("someone-else")));
    assert_eq!(rejects(&verifier(), &token).await, AuthError::WrongIssuer);
}

#[tokio::test]
async fn issuer_is_required_and_a_single_string() {
    let token = hs(&without(claims(), "iss"));
    assert_eq!(
        rejects(&verifier(), &token).await,
        AuthError::MissingClaim { claim: "iss" }
    );
    // jsonwebtoken accepts an array that contains the issuer; Amanah does not.
    let token = hs(&with(claims(), "iss", json!(["evil", "amanah"])));
    assert_eq!(
        rejects(&verifier(), &token).await,
        AuthError::InvalidClaim {
            claim: "iss",
            reason: "it must be a single string"
        }
    );
}

#[tokio::test]
async fn wrong_audience_is_rejected() {
    let token = hs(&with(claims(), "aud", json!("another-service")));
    assert_eq!(rejects(&verifier(), &token).await, AuthError::WrongAudience);
    let token = ed(&with(claims(), "aud", json!(["a", "b"])));
    assert_eq!(rejects(&verifier(), &token).await, AuthError::WrongAudience);
    let token = hs(&with(claims(), "aud", json!([])));
    assert_eq!(rejects(&verifier(), &token).await, AuthError::WrongAudience);
}

#[tokio::test]
async fn audience_is_required() {
    let token = hs(&without(claims(), "aud"));
    assert_eq!(
        rejects(&verifier(), &token).await,
        AuthError::MissingClaim { claim: "aud" }
    );
}

#[tokio::test]
async fn configured_issuer_and_audience_are_the_ones_checked() {
    let v = Verifier::new(VerifierConfig {
        issuer: "https://idp.example".to_owned(),
        audience: "amanah-api".to_owned(),
        ..config()
    })
    .unwrap();
    let ok = with(
        with(claims(), "iss", json!("https://idp.example")),
        "aud",
        json!("amanah-api"),
    );
    assert!(v.verify(&rs(&ok)).await.is_ok());
    assert_eq!(rejects(&v, &rs(&claims())).await, AuthError::WrongIssuer);
}

// ---------------------------------------------------------------- Amanah's claims

#[tokio::test]
async fn roles_as_a_string_is_an_invalid_token() {
    let token = hs(&with(claims(), "roles", json!("admin")));
    assert_eq!(
        rejects(&verifier(), &token).await,
        AuthError::InvalidClaim {
            claim: "roles",
            reason: "it must be an array of role names"
        }
    );
    for bad in [
        json!([1]),
        json!([["admin"]]),
        json!({"admin": true}),
        json!(true),
    ] {
        let token = hs(&with(claims(), "roles", bad));
        assert_eq!(
            rejects(&verifier(), &token).await,
            AuthError::InvalidClaim {
                claim: "roles",
                reason: "it must be an array of role names"
            }
        );
    }
}

#[tokio::test]
async fn an_unknown_role_rejects_the_token() {
    let token = hs(&with(claims(), "roles", json!(["viewer", "superuser"])));
    assert_eq!(
        rejects(&verifier(), &token).await,
        AuthError::UnknownRole {
            role: "superuser".to_owned()
        }
    );
    // Roles are case-sensitive lowercase names.
    let token = hs(&with(claims(), "roles", json!(["Admin"])));
    assert_eq!(
        rejects(&verifier(), &token).await,
        AuthError::UnknownRole {
            role: "Admin".to_owned()
        }
    );
}

#[tokio::test]
async fn roles_parse_dedupe_and_default_to_none() {
    let all = json!([
        "viewer",
        "editor",
        "integrator",
        "auditor",
        "admin",
        "editor"
    ]);
    let identity = verifier()
        .verify(&hs(&with(claims(), "roles", all)))
        .await
        .unwrap();
    assert_eq!(identity.roles, Role::ALL.to_vec());
    let identity = verifier()
        .verify(&hs(&without(claims(), "roles")))
        .await
        .unwrap();
    assert!(identity.roles.is_empty());
    let identity = verifier()
        .verify(&hs(&with(claims(), "roles", Value::Null)))
        .await
        .unwrap();
    assert!(identity.roles.is_empty());
}

#[tokio::test]
async fn sub_is_required_and_non_empty() {
    let token = hs(&without(claims(), "sub"));
    assert_eq!(
        rejects(&verifier(), &token).await,
        AuthError::MissingClaim { claim: "sub" }
    );
    for bad in [
        json!(""),
        json!("   "),
        json!(42),
        json!(["user-1"]),
        json!({"id": 1}),
    ] {
        let token = hs(&with(claims(), "sub", bad));
        assert_eq!(
            rejects(&verifier(), &token).await,
            AuthError::InvalidClaim {
                claim: "sub",
                reason: "it must be a non-empty string"
            }
        );
    }
}

#[tokio::test]
async fn org_must_be_a_uuid_and_name_a_string() {
    for bad in [json!("not-a-uuid"), json!(7)] {
        let token = hs(&with(claims(), "org", bad));
        assert_eq!(
            rejects(&verifier(), &token).await,
            AuthError::InvalidClaim {
                claim: "org",
                reason: "it must be an organisation id (a UUID)"
            }
        );
    }
    let token = hs(&with(claims(), "name", json!(["Aisyah"])));
    assert_eq!(
        rejects(&verifier(), &token).await,
        AuthError::InvalidClaim {
            claim: "name",
            reason: "it must be a string"
        }
    );
    let identity = verifier()
        .verify(&hs(&with(
            with(claims(), "org", Value::Null),
            "name",
            Value::Null,
        )))
        .await
        .unwrap();
    assert_eq!((identity.org, identity.name), (None, None));
}

// ---------------------------------------------------------------- malformed input

#[tokio::test]
async fn oversized_tokens_are_rejected_before_parsing() {
    let garbage = "!".repeat(8 * 1024 + 1);
    assert_eq!(
        rejects(&verifier(), &garbage).await,
        AuthError::TooLarge { len: 8193 }
    );
    // A correctly signed token just over the limit is refused; the largest under it passes.
    let token_with_name = |n: usize| hs(&with(claims(), "name", json!("x".repeat(n))));
    let mut n = 5800;
    while token_with_name(n + 1).len() <= 8 * 1024 {
        n += 1;
    }
    let largest = token_with_name(n);
    assert!(largest.len() <= 8 * 1024);
    assert!(verifier().verify(&largest).await.is_ok());
    let over = token_with_name(n + 1);
    assert_eq!(
        rejects(&verifier(), &over).await,
        AuthError::TooLarge { len: over.len() }
    );
}

#[tokio::test]
async fn truncated_tokens_are_rejected() {
    let token = rs(&claims());
    let (message, _) = token.rsplit_once('.').unwrap();
    let (header_only, _) = message.split_once('.').unwrap();
    let v = verifier();
    let shape = AuthError::Malformed("a JWT has three dot-separated segments");
    assert_eq!(rejects(&v, message).await, shape);
    assert_eq!(rejects(&v, header_only).await, shape);
    assert_eq!(rejects(&v, "").await, shape);
    assert_eq!(rejects(&v, &token[..token.len() / 3]).await, shape);
    // Cut inside the signature: 341 characters cannot be base64url…
    assert_eq!(
        rejects(&v, &token[..token.len() - 1]).await,
        AuthError::Malformed("a segment is not unpadded base64url")
    );
    // …and a shortened but well-encoded signature does not verify.
    let (_, signature) = token.rsplit_once('.').unwrap();
    let short = b64(&URL_SAFE_NO_PAD.decode(signature).unwrap()[..200]);
    assert_eq!(
        rejects(&v, &format!("{message}.{short}")).await,
        AuthError::BadSignature
    );
    // No signature at all.
    assert_eq!(
        rejects(&v, &format!("{message}.")).await,
        AuthError::Malformed("the signature is empty")
    );
    // Too many segments (a JWE has five).
    assert_eq!(rejects(&v, &format!("{token}.e30.e30")).await, shape);
}

#[tokio::test]
async fn non_base64url_segments_are_rejected() {
    let token = hs(&claims());
    let parts: Vec<&str> = token.split('.').collect();
    let bad = AuthError::Malformed("a segment is not unpadded base64url");
    let v = verifier();
    let std_signature = base64::engine::general_purpose::STANDARD.encode([0xfb_u8; 32]);
    let cases = [
        format!("{}!.{}.{}", parts[0], parts[1], parts[2]),
        format!("{}.{}*.{}", parts[0], parts[1], parts[2]),
        format!("{}.{}.{}", parts[0], parts[1], std_signature),
        format!("{}.{}.{}=", parts[0], parts[1], parts[2]),
        format!("{}.{} .{}", parts[0], parts[1], parts[2]),
        format!("{}.{}.{}", parts[0], "ü", parts[2]),
    ];
    for case in cases {
        assert_eq!(rejects(&v, &case).await, bad, "{case}");
    }
}

#[tokio::test]
async fn headers_that_are_not_a_json_object_are_rejected() {
    let payload = b64_json(&claims());
    let v = verifier();
    let not_object = AuthError::Malformed("the header is not a JSON object");
    for header in [
        b64("not json"),
        b64("[\"HS256\"]"),
        b64([0xff, 0xfe, 0x00]),
        b64(""),
    ] {
        let token = format!("{header}.{payload}.c2ln");
        assert_eq!(rejects(&v, &token).await, not_object, "{header}");
    }
    for header in [json!({}), json!({"alg": null}), json!({"alg": 256})] {
        assert_eq!(
            rejects(&v, &unsigned(&header, &claims())).await,
            AuthError::Malformed("the header has no string alg")
        );
    }
    assert_eq!(
        rejects(&v, &unsigned(&json!({"alg": "RS256", "kid": 1}), &claims())).await,
        AuthError::Malformed("the header's kid is not a string")
    );
    assert_eq!(
        rejects(
            &v,
            &unsigned(
                &json!({"alg": "HS256", "crit": ["exp"], "exp": 1}),
                &claims()
            )
        )
        .await,
        AuthError::Malformed("critical header extensions are not supported")
    );
}

#[tokio::test]
async fn payloads_that_are_not_a_json_object_are_rejected() {
    let v = verifier();
    for payload in [b64("not json"), b64("[1,2]"), b64("\"sub\"")] {
        let token = format!("{}.{payload}.c2ln", b64_json(&header("HS256", None)));
        assert_eq!(
            rejects(&v, &token).await,
            AuthError::Malformed("the payload is not a JSON object")
        );
    }
}

// ---------------------------------------------------------------- JWKS refresh

#[tokio::test]
async fn unknown_kid_is_rejected_after_one_refresh() {
    let fetcher = TestFetcher::new(jwks_doc("jwks.json"), Duration::ZERO);
    let v = with_fetcher(&fetcher, Duration::from_secs(30));
    assert_eq!(v.verify(&rs(&claims())).await.unwrap().sub, "user-1");
    assert_eq!(fetcher.calls(), 1, "first use loads the set");
    // The initial load is within the floor: an unknown kid right after it does not reload.
    let token = unsigned(&header("RS256", Some("no-such-key")), &claims());
    assert_eq!(
        rejects(&v, &token).await,
        AuthError::UnknownKey {
            kid: "no-such-key".to_owned()
        }
    );
    assert_eq!(fetcher.calls(), 1);
}

#[tokio::test]
async fn unknown_kid_reloads_the_jwks_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwks.json");
    std::fs::write(&path, jwks_doc("jwks.json")).unwrap();
    let v = Verifier::new(VerifierConfig {
        jwks: Some(JwksSource::File(path.clone())),
        jwks_refresh_floor: Duration::ZERO,
        ..config()
    })
    .unwrap();
    assert_eq!(
        v.refresh_jwks().await.unwrap(),
        3,
        "rsa-1, ec-1 and ed-1 are usable"
    );
    let rotated = sign_raw(
        &header("RS256", Some("rsa-2")),
        &claims(),
        &rsa2_key(),
        Algorithm::RS256,
    );
    assert_eq!(
        rejects(&v, &rotated).await,
        AuthError::UnknownKey {
            kid: "rsa-2".to_owned()
        }
    );
    // The identity provider publishes rsa-2: the next token naming it re-reads the file.
    std::fs::write(&path, jwks_doc("jwks-rotated.json")).unwrap();
    assert_eq!(v.verify(&rotated).await.unwrap().sub, "user-1");
    assert_eq!(v.verify(&rs(&claims())).await.unwrap().sub, "user-1");
}

/// 50 concurrent tokens with unknown kids: one fetch. Another burst within the floor: none.
/// After the floor: one more.
#[tokio::test(start_paused = true)]
async fn a_flood_of_unknown_kids_shares_one_refresh_per_floor() {
    let fetcher = TestFetcher::new(jwks_doc("jwks.json"), Duration::from_millis(200));
    let v = Arc::new(with_fetcher(&fetcher, Duration::from_secs(30)));
    let burst = |v: &Arc<Verifier>, tag: &'static str| {
        let mut set = JoinSet::new();
        for i in 0..50 {
            let v = Arc::clone(v);
            let kid = format!("{tag}-{i}");
            let token = unsigned(&header("RS256", Some(&kid)), &claims());
            set.spawn(async move { (kid.clone(), v.verify(&token).await) });
        }
        set
    };
    let check = |results: Vec<(String, Result<crate::auth::claims::Identity, AuthError>)>| {
        assert_eq!(results.len(), 50);
        for (kid, result) in results {
            assert_eq!(result.unwrap_err(), AuthError::UnknownKey { kid });
        }
    };
    check(burst(&v, "first").join_all().await);
    assert_eq!(fetcher.calls(), 1, "the first burst shares one fetch");
    tokio::time::advance(Duration::from_secs(10)).await;
    check(burst(&v, "second").join_all().await);
    assert_eq!(fetcher.calls(), 1, "no fetch within the floor");
    tokio::time::advance(Duration::from_secs(30)).await;
    check(burst(&v, "third").join_all().await);
    assert_eq!(fetcher.calls(), 2, "one fetch once the floor has passed");
}

/// The same on a multi-threaded runtime with real time, where tasks truly run in parallel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_unknown_kids_share_one_refresh_across_threads() {
    let fetcher = TestFetcher::new(jwks_doc("jwks.json"), Duration::from_millis(50));
    let v = Arc::new(with_fetcher(&fetcher, Duration::from_secs(30)));
    for round in 0..2 {
        let mut set = JoinSet::new();
        for i in 0..50 {
            let v = Arc::clone(&v);
            let token = unsigned(&header("ES256", Some(&format!("x-{round}-{i}"))), &claims());
            set.spawn(async move { v.verify(&token).await });
        }
        for result in set.join_all().await {
            assert!(matches!(result, Err(AuthError::UnknownKey { .. })));
        }
        assert_eq!(fetcher.calls(), 1, "round {round}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_key_added_later_is_found_after_the_floor() {
    let fetcher = TestFetcher::new(jwks_doc("jwks.json"), Duration::ZERO);
    let v = with_fetcher(&fetcher, Duration::from_secs(30));
    assert_eq!(v.refresh_jwks().await.unwrap(), 3);
    fetcher.serve(jwks_doc("jwks-rotated.json"));
    let rotated = sign_raw(
        &header("RS256", Some("rsa-2")),
        &claims(),
        &rsa2_key(),
        Algorithm::RS256,
    );
    assert_eq!(
        rejects(&v, &rotated).await,
        AuthError::UnknownKey {
            kid: "rsa-2".to_owned()
        },
        "within the floor of the start-up load"
    );
    assert_eq!(fetcher.calls(), 1);
    tokio::time::advance(Duration::from_secs(31)).await;
    assert_eq!(v.verify(&rotated).await.unwrap().sub, "user-1");
    assert_eq!(fetcher.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn an_old_key_set_is_reloaded_so_removed_keys_stop_working() {
    let fetcher = TestFetcher::new(jwks_doc("jwks-rotated.json"), Duration::ZERO);
    let v = with_fetcher(&fetcher, Duration::from_secs(30));
    let old = sign_raw(
        &header("RS256", Some("rsa-2")),
        &claims(),
        &rsa2_key(),
        Algorithm::RS256,
    );
    assert!(v.verify(&old).await.is_ok());
    // rsa-2 is withdrawn; within the max age the cached set still has it.
    fetcher.serve(jwks_doc("jwks.json"));
    tokio::time::advance(Duration::from_secs(600)).await;
    assert!(v.verify(&old).await.is_ok());
    assert_eq!(fetcher.calls(), 1);
    tokio::time::advance(Duration::from_secs(3600)).await;
    assert_eq!(
        rejects(&v, &old).await,
        AuthError::UnknownKey {
            kid: "rsa-2".to_owned()
        }
    );
    assert_eq!(fetcher.calls(), 2);
    assert!(v.verify(&rs(&claims())).await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_failing_jwks_keeps_old_keys_and_is_not_hammered() {
    let fetcher = TestFetcher::new(jwks_doc("jwks.json"), Duration::ZERO);
    let v = with_fetcher(&fetcher, Duration::from_secs(30));
    fetcher.fail.store(true, Ordering::SeqCst);
    let reason = "the JWKS server answered HTTP 503".to_owned();
    assert_eq!(
        rejects(&v, &rs(&claims())).await,
        AuthError::KeySetUnavailable {
            reason: reason.clone()
        }
    );
    assert!(rejects(&v, &rs(&claims())).await.is_transient());
    assert_eq!(
        fetcher.calls(),
        1,
        "a failed load is not retried within the floor"
    );
    tokio::time::advance(Duration::from_secs(31)).await;
    fetcher.fail.store(false, Ordering::SeqCst);
    assert!(v.verify(&rs(&claims())).await.is_ok());
    assert_eq!(fetcher.calls(), 2);
    // The server fails again: cached keys keep working, unknown kids report the outage.
    fetcher.fail.store(true, Ordering::SeqCst);
    tokio::time::advance(Duration::from_secs(31)).await;
    let token = unsigned(&header("RS256", Some("rsa-9")), &claims());
    assert_eq!(
        rejects(&v, &token).await,
        AuthError::KeySetUnavailable { reason }
    );
    assert!(v.verify(&rs(&claims())).await.is_ok());
    assert_eq!(fetcher.calls(), 3);
}

#[tokio::test]
async fn jwks_load_errors_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let missing = Verifier::new(VerifierConfig {
        jwks: Some(JwksSource::File(dir.path().join("missing.json"))),
        ..config()
    })
    .unwrap();
    assert!(matches!(
        missing.refresh_jwks().await,
        Err(JwksError::Io { .. })
    ));
    for (doc, what) in [
        ("not json", "json"),
        ("{\"kids\": []}", "shape"),
        ("[]", "array"),
    ] {
        let path = dir.path().join(format!("{what}.json"));
        std::fs::write(&path, doc).unwrap();
        let v = Verifier::new(VerifierConfig {
            jwks: Some(JwksSource::File(path)),
            ..config()
        })
        .unwrap();
        assert!(
            matches!(v.refresh_jwks().await, Err(JwksError::Parse { .. })),
            "{what}"
        );
    }
    let big = Verifier::new(VerifierConfig {
        jwks_max_bytes: 100,
        ..config()
    })
    .unwrap();
    assert_eq!(
        big.refresh_jwks().await,
        Err(JwksError::TooLarge { limit: 100 })
    );
    assert_eq!(hs_only().refresh_jwks().await, Ok(0));
}

#[tokio::test]
async fn https_fetch_errors_are_reported() {
    // Nothing listens on the loopback discard port: the fetch fails fast, no network needed.
    let url = reqwest::Url::parse("https://127.0.0.1:9/jwks.json").unwrap();
    let fetcher = HttpsFetcher::new(url, Duration::from_secs(2), 1024).unwrap();
    assert!(matches!(fetcher.fetch().await, Err(JwksError::Http { .. })));
    let http = reqwest::Url::parse("http://idp.example/jwks.json").unwrap();
    assert_eq!(
        HttpsFetcher::new(http, Duration::from_secs(2), 1024).unwrap_err(),
        ConfigError::JwksUrlNotHttps {
            scheme: "http".to_owned()
        }
    );
}

/// Serves one canned HTTP response per connection on a loopback port (for at most `conns`
/// connections), or never answers when `response` is `None`.
async fn loopback_server(response: Option<Vec<u8>>, conns: usize) -> reqwest::Url {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for _ in 0..conns {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut request = Vec::new();
            let mut buf = [0_u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            match &response {
                Some(bytes) => {
                    let _ = socket.write_all(bytes).await;
                    let _ = socket.shutdown().await;
                }
                None => tokio::time::sleep(Duration::from_secs(5)).await,
            }
        }
    });
    reqwest::Url::parse(&format!("http://{addr}/jwks.json")).unwrap()
}

fn http_response(status: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\n{headers}Connection: close\r\n\r\n").into_bytes();
    out.extend_from_slice(body);
    out
}

#[tokio::test]
async fn the_http_fetch_checks_status_size_and_time() {
    let body = jwks_doc("jwks.json");
    let fetch = |url: reqwest::Url, max: usize| async move {
        HttpsFetcher::plain_http_for_tests(url, Duration::from_millis(500), max)
            .fetch()
            .await
    };
    let ok = http_response(
        "200 OK",
        &format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ),
        &body,
    );
    assert_eq!(
        fetch(loopback_server(Some(ok.clone()), 1).await, 1 << 20).await,
        Ok(body.clone())
    );
    // Declared too large: refused before reading the body.
    assert_eq!(
        fetch(loopback_server(Some(ok), 1).await, 100).await,
        Err(JwksError::TooLarge { limit: 100 })
    );
    // Undeclared length (read to close), too large: refused while streaming.
    let streamed = http_response("200 OK", "", &body);
    assert_eq!(
        fetch(loopback_server(Some(streamed), 1).await, 100).await,
        Err(JwksError::TooLarge { limit: 100 })
    );
    let missing = http_response("404 Not Found", "Content-Length: 0\r\n", b"");
    assert_eq!(
        fetch(loopback_server(Some(missing), 1).await, 1 << 20).await,
        Err(JwksError::Status { status: 404 })
    );
    let silent = fetch(loopback_server(None, 1).await, 1 << 20).await;
    assert!(matches!(silent, Err(JwksError::Http { .. })), "{silent:?}");
}

#[test]
fn committed_jwks_match_the_pems() {
    let jwks: JwkSet = serde_json::from_slice(&jwks_doc("jwks-rotated.json")).unwrap();
    let p384 = EncodingKey::from_ec_pem(&key_file("ec384-private.pem")).unwrap();
    let cases = [
        ("rsa-1", rsa_key(), Algorithm::RS256),
        ("rsa-2", rsa2_key(), Algorithm::RS256),
        ("ec-1", ec_key(), Algorithm::ES256),
        ("ec384-1", p384, Algorithm::ES384),
        ("ed-1", ed_key(), Algorithm::EdDSA),
    ];
    for (kid, key, alg) in cases {
        let derived = Jwk::from_encoding_key(&key, alg).unwrap();
        assert_eq!(
            jwks.find(kid).unwrap().algorithm,
            derived.algorithm,
            "{kid}"
        );
    }
}

// ---------------------------------------------------------------- configuration

#[test]
fn jwks_source_parses_paths_and_https_urls_only() {
    assert!(matches!(
        JwksSource::parse("https://idp.example/.well-known/jwks.json"),
        Ok(JwksSource::Url(_))
    ));
    assert_eq!(
        JwksSource::parse("/etc/amanah/jwks.json").unwrap(),
        JwksSource::File("/etc/amanah/jwks.json".into())
    );
    assert_eq!(
        JwksSource::parse("keys/jwks.json").unwrap(),
        JwksSource::File("keys/jwks.json".into())
    );
    assert_eq!(
        JwksSource::parse("http://idp.example/jwks.json").unwrap_err(),
        ConfigError::JwksUrlNotHttps {
            scheme: "http".to_owned()
        }
    );
    assert_eq!(
        JwksSource::parse("HTTP://idp.example/jwks.json").unwrap_err(),
        ConfigError::JwksUrlNotHttps {
            scheme: "http".to_owned()
        }
    );
    assert!(matches!(
        JwksSource::parse("file:///etc/jwks.json"),
        Err(ConfigError::JwksUrlNotHttps { .. })
    ));
    assert!(matches!(
        JwksSource::parse("https://"),
        Err(ConfigError::JwksUrlInvalid { .. })
    ));
    assert_eq!(
        JwksSource::parse("  ").unwrap_err(),
        ConfigError::EmptyJwksSource
    );
    let with_credentials = JwksSource::parse("https://user:pw@idp.example/jwks").unwrap();
    assert_eq!(
        with_credentials.to_string(),
        "https://user:[redacted]@idp.example/jwks"
    );
    let with_token =
        JwksSource::parse("https://idp.example/jwks?access_token=t0k3n&sig=s1g&v=2").unwrap();
    assert_eq!(
        with_token.to_string(),
        "https://idp.example/jwks?access_token=[redacted]&sig=[redacted]&v=2"
    );
    for shown in [
        format!("{with_credentials:?}"),
        format!("{with_token:?}"),
        format!(
            "{:?}",
            VerifierConfig {
                jwks: Some(with_token.clone()),
                ..VerifierConfig::default()
            }
        ),
    ] {
        for secret in ["pw@", "t0k3n", "s1g"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}

#[test]
fn verifier_config_is_checked() {
    let http = reqwest::Url::parse("http://idp.example/jwks.json").unwrap();
    let err = |config| Verifier::new(config).unwrap_err();
    assert_eq!(
        err(VerifierConfig {
            jwks: Some(JwksSource::Url(http)),
            ..config()
        }),
        ConfigError::JwksUrlNotHttps {
            scheme: "http".to_owned()
        }
    );
    assert_eq!(
        err(VerifierConfig {
            leeway_secs: 61,
            ..config()
        }),
        ConfigError::LeewayTooLarge { secs: 61 }
    );
    assert!(
        Verifier::new(VerifierConfig {
            leeway_secs: 60,
            ..config()
        })
        .is_ok()
    );
    assert_eq!(
        err(VerifierConfig {
            issuer: " ".to_owned(),
            ..config()
        }),
        ConfigError::Empty {
            what: "issuer",
            env: "ISSUER"
        }
    );
    assert_eq!(
        err(VerifierConfig {
            audience: String::new(),
            ..config()
        }),
        ConfigError::Empty {
            what: "audience",
            env: "AUDIENCE"
        }
    );
    let url = reqwest::Url::parse("https://idp.example/jwks.json").unwrap();
    assert!(
        Verifier::new(VerifierConfig {
            jwks: Some(JwksSource::Url(url)),
            ..config()
        })
        .is_ok()
    );
}

#[test]
fn secrets_must_be_long_and_never_printed() {
    assert_eq!(
        HmacSecret::new("short").unwrap_err(),
        ConfigError::SecretTooShort { len: 5 }
    );
    assert!(HmacSecret::new([7_u8; 32]).is_ok());
    let shown = format!("{:?} {:?}", secret(), verifier());
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(shown.contains("redacted"));
}

// ---------------------------------------------------------------- messages

#[test]
fn messages_are_one_client_safe_sentence() {
    let all = [
        AuthError::TooLarge { len: 9000 },
        AuthError::Malformed("x"),
        AuthError::UnsupportedAlgorithm {
            alg: "none-SECRET".to_owned(),
        },
        AuthError::AlgorithmNotConfigured { alg: Alg::Hs256 },
        AuthError::MissingKeyId { alg: Alg::EdDsa },
        AuthError::UnknownKey {
            kid: "kid-SECRET".to_owned(),
        },
        AuthError::KeyMismatch {
            kid: "kid-SECRET".to_owned(),
            alg: Alg::Rs256,
            reason: "r",
        },
        AuthError::BadSignature,
        AuthError::Expired,
        AuthError::NotYetValid,
        AuthError::WrongIssuer,
        AuthError::WrongAudience,
        AuthError::MissingClaim { claim: "sub" },
        AuthError::InvalidClaim {
            claim: "roles",
            reason: "it must be an array of role names",
        },
        AuthError::UnknownRole {
            role: "role-SECRET".to_owned(),
        },
        AuthError::KeySetUnavailable {
            reason: "internal-SECRET".to_owned(),
        },
    ];
    for error in all {
        let message = error.message();
        assert!(message.starts_with(char::is_uppercase), "{message}");
        assert!(message.ends_with('.'), "{message}");
        assert_eq!(message.matches(". ").count(), 0, "one sentence: {message}");
        assert!(!message.contains("SECRET"), "{message}");
        assert!(!message.contains(['"', '\\', '\n']), "{message}");
        let header = error.www_authenticate();
        assert_eq!(
            header,
            format!("Bearer error=\"invalid_token\", error_description=\"{message}\"")
        );
    }
    assert_eq!(
        AuthError::Expired.www_authenticate(),
        "Bearer error=\"invalid_token\", error_description=\"The token has expired.\""
    );
}

#[tokio::test]
async fn errors_never_carry_the_token() {
    let token = hs(&with(claims(), "roles", json!(["\u{1b}[31mred\u{7}"])));
    let error = rejects(&verifier(), &token).await;
    assert_eq!(
        error,
        AuthError::UnknownRole {
            role: "?[31mred?".to_owned()
        }
    );
    let long_kid = "k".repeat(500);
    let error = rejects(
        &verifier(),
        &unsigned(&header("RS256", Some(&long_kid)), &claims()),
    )
    .await;
    let AuthError::UnknownKey { kid } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(kid.chars().count(), 33, "32 characters and an ellipsis");
    for error in [
        error,
        rejects(&verifier(), &hs(&with(claims(), "exp", json!(1)))).await,
    ] {
        assert!(!error.to_string().contains(&token));
        assert!(!error.message().contains(&token));
    }
}

// ---------------------------------------------------------------- minting and secrets

#[tokio::test]
async fn minted_tokens_verify() {
    let org = Uuid::now_v7();
    let token = mint_hs256(
        &secret(),
        "integrator-7",
        &[Role::Integrator, Role::Viewer, Role::Integrator],
        Some(org),
        Duration::from_secs(3600),
        "amanah",
        "amanah",
    )
    .unwrap();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!((header.alg, header.kid), (Algorithm::HS256, None));
    let identity = verifier().verify(&token).await.unwrap();
    assert_eq!(identity.sub, "integrator-7");
    assert_eq!(identity.roles, vec![Role::Integrator, Role::Viewer]);
    assert_eq!(identity.org, Some(org));
    assert!((identity.expires_at.timestamp() - (now() + 3600)).abs() <= 2);
    // Minted for another issuer, it is refused here.
    let foreign = mint_hs256(
        &secret(),
        "u",
        &[],
        None,
        Duration::from_secs(60),
        "other",
        "amanah",
    )
    .unwrap();
    assert_eq!(rejects(&verifier(), &foreign).await, AuthError::WrongIssuer);
}

#[test]
fn minting_checks_its_input() {
    let mint = |sub: &str, ttl: u64, iss: &str| {
        mint_hs256(
            &secret(),
            sub,
            &[Role::Admin],
            None,
            Duration::from_secs(ttl),
            iss,
            "amanah",
        )
    };
    assert_eq!(mint(" ", 60, "amanah"), Err(MintError::EmptySubject));
    assert_eq!(mint("u", 0, "amanah"), Err(MintError::InvalidTtl));
    assert_eq!(
        mint("u", 367 * 86_400, "amanah"),
        Err(MintError::InvalidTtl)
    );
    assert_eq!(mint("u", 60, ""), Err(MintError::Empty("issuer")));
}

#[test]
fn ttl_parses_whole_numbers_with_units() {
    let secs = |s: &str| parse_ttl(s).map(|d| d.as_secs());
    assert_eq!(secs("1h"), Ok(3600));
    assert_eq!(secs("30m"), Ok(1800));
    assert_eq!(secs("7d"), Ok(604_800));
    assert_eq!(secs("3600s"), Ok(3600));
    assert_eq!(secs("90"), Ok(90));
    assert_eq!(secs(" 2h "), Ok(7200));
    assert_eq!(secs("366d"), Ok(366 * 86_400));
    for bad in [
        "",
        "h",
        "1.5h",
        "-1h",
        "1H",
        "1w",
        "0s",
        "0",
        "367d",
        "1 h",
        "1hh",
        "99999999999999999999d",
    ] {
        assert!(parse_ttl(bad).is_err(), "{bad:?}");
    }
    assert_eq!(
        parse_ttl("1w").unwrap_err().to_string(),
        "invalid token lifetime \"1w\": use a whole number with a unit s, m, h or d (e.g. 3600s, 30m, 1h, 7d), from 1s to 366d"
    );
}

#[test]
fn generated_secrets_are_long_random_base64url() {
    let a = generate_secret().unwrap();
    let b = generate_secret().unwrap();
    assert_eq!(a.len(), 64);
    assert_ne!(a, b);
    assert!(
        a.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    );
    assert!(HmacSecret::new(a).is_ok());
}

#[test]
fn the_data_dir_secret_is_created_once_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token-secret");
    let first = load_or_create_secret(&path).unwrap();
    assert!(first.created);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.trim().as_bytes(), first.secret.as_bytes());
    assert!(text.ends_with('\n'));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let second = load_or_create_secret(&path).unwrap();
    assert!(!second.created);
    assert_eq!(second.secret, first.secret);

    std::fs::write(&path, "too-short\n").unwrap();
    assert!(matches!(
        load_or_create_secret(&path),
        Err(crate::auth::error::SecretFileError::Invalid { .. })
    ));
    // A directory where the file should be (mode 0700, so that it is the read that fails).
    let not_a_file = dir.path().join("a-directory");
    crate::private_file::create_dir(&not_a_file).unwrap();
    let error = load_or_create_secret(&not_a_file).unwrap_err();
    assert!(
        matches!(
            error,
            crate::auth::error::SecretFileError::File(
                crate::private_file::PrivateFileError::Read { .. }
            )
        ),
        "{error:?}"
    );
}

#[test]
fn processes_starting_together_all_get_the_one_secret() {
    // Each round: 16 threads race to load-or-create the secret in an empty directory. A reader
    // must never see the file before its secret is in it.
    for _ in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token-secret");
        let loaded: Vec<_> =
            crate::testing::all_at_once(16, || load_or_create_secret(&path).unwrap());
        assert_eq!(loaded.iter().filter(|l| l.created).count(), 1);
        for other in &loaded {
            assert_eq!(other.secret, loaded[0].secret);
        }
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names, ["token-secret"], "no temporary file is left behind");
    }
}

#[test]
fn bearer_values_are_read_strictly() {
    assert_eq!(bearer_token(None), Ok(None));
    assert_eq!(
        bearer_token(Some("Bearer abc.def.ghi")),
        Ok(Some("abc.def.ghi"))
    );
    assert_eq!(bearer_token(Some("bearer   abc")), Ok(Some("abc")));
    let bad = Err(AuthError::Malformed(
        "the Authorization header is not `Bearer <token>`",
    ));
    for value in [
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwdw==",
        "Bearer a b",
        "abc.def.ghi",
    ] {
        assert_eq!(bearer_token(Some(value)), bad, "{value:?}");
    }
}
