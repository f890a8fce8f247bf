//! Tests of C2SP signed notes and checkpoints: the signed-note spec's known answer, round trips,
//! and a typed error for every kind of tampering.

#![expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

use amanah_audit::checkpoint::{Checkpoint, CheckpointError};
use amanah_audit::merkle::Hash;
use amanah_audit::note::{
    KeyError, NoteError, SigningKey, VerifierKey, generate_signing_key, key_id, open_note,
    parse_note, sign_note,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

const KAT_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
const KAT_TEXT: &str = "This is an example message.\n";
const KAT_SIG: &str = "\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

fn kat_note() -> String {
    format!("{KAT_TEXT}\n{KAT_SIG}")
}

fn seeded(name: &str, byte: u8) -> SigningKey {
    SigningKey::from_seed(name, &[byte; 32]).unwrap()
}

// ---------------------------------------------------------------------------------------------
// The signed-note known answer (audit-log.md §3).
// ---------------------------------------------------------------------------------------------

#[test]
fn known_answer_verifier_key_parses_and_formats_back() {
    let key = VerifierKey::parse(KAT_VKEY).unwrap();
    assert_eq!(key.name(), "example.com/foo");
    assert_eq!(key.key_id(), 0x530d_903a);
    assert_eq!(key.to_string(), KAT_VKEY);
    assert_eq!(
        key_id("example.com/foo", key.public_key().as_bytes()),
        0x530d_903a
    );
    assert_eq!(KAT_VKEY.parse::<VerifierKey>().unwrap(), key);
}

#[test]
fn known_answer_note_verifies() {
    let key = VerifierKey::parse(KAT_VKEY).unwrap();
    let note = kat_note();
    assert_eq!(open_note(note.as_bytes(), &key).unwrap(), KAT_TEXT);
    let parsed = parse_note(note.as_bytes()).unwrap();
    assert_eq!(parsed.text, KAT_TEXT);
    assert_eq!(parsed.signatures.len(), 1);
    assert_eq!(parsed.signatures[0].name, "example.com/foo");
    assert_eq!(parsed.signatures[0].key_id, 0x530d_903a);
    assert_eq!(parsed.signatures[0].signature.len(), 64);
}

#[test]
fn known_answer_with_altered_text_fails() {
    let key = VerifierKey::parse(KAT_VKEY).unwrap();
    let note = format!("This is an example message!\n\n{KAT_SIG}");
    assert_eq!(
        open_note(note.as_bytes(), &key),
        Err(NoteError::BadSignature {
            name: "example.com/foo".to_owned(),
            key_id: 0x530d_903a
        })
    );
}

/// The example of the reference implementation's documentation (`golang.org/x/mod/sumdb/note`):
/// a signer key in the key-file format this module uses, its verifier key, and the exact note it
/// signs (Ed25519 is deterministic).
#[test]
fn known_answer_go_signer_key_signs_the_documented_note() {
    let skey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    let text = "If you think cryptography is the answer to your problem,\n\
                then you don't know what your problem is.\n";
    let note = format!(
        "{text}\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
    );
    let signer = SigningKey::from_private_key_string(skey).unwrap();
    assert_eq!(signer.to_private_key_string(), skey);
    assert_eq!(signer.verifier_key().to_string(), vkey);
    assert_eq!(sign_note(text, &[&signer]).unwrap(), note);
    assert_eq!(
        open_note(note.as_bytes(), &VerifierKey::parse(vkey).unwrap()).unwrap(),
        text
    );
}

// ---------------------------------------------------------------------------------------------
// Keys.
// ---------------------------------------------------------------------------------------------

#[test]
fn signing_key_round_trips_through_the_key_file_format() {
    let key = generate_signing_key("amanah.local/audit").unwrap();
    let text = key.to_private_key_string();
    assert!(text.starts_with(&format!(
        "PRIVATE+KEY+amanah.local/audit+{:08x}+",
        key.key_id()
    )));
    assert!(!text.contains('\n'));
    let parsed = SigningKey::from_private_key_string(&text).unwrap();
    assert_eq!(parsed.to_private_key_string(), text);
    assert_eq!(parsed.verifier_key(), key.verifier_key());
    // One trailing newline, as a file has, is accepted.
    let from_file = SigningKey::from_private_key_string(&format!("{text}\n")).unwrap();
    assert_eq!(from_file.verifier_key(), key.verifier_key());
    // Two fresh keys differ.
    let other = generate_signing_key("amanah.local/audit").unwrap();
    assert_ne!(other.verifier_key(), key.verifier_key());
    // Debug never shows the secret.
    let debug = format!("{key:?}");
    // The secret is everything after `PRIVATE+KEY+<name>+<key id>+`; base64 may itself hold a
    // `+`, so it is not "the part after the last +" (a short part could appear by chance).
    let secret = text.splitn(5, '+').nth(4).unwrap();
    assert!(secret.len() > 40, "{secret}");
    assert!(!debug.contains(secret), "{debug}");
}

#[test]
fn known_seed_gives_the_go_format() {
    // The RFC 8032 test 1 secret key; its public key is d75a9801…511a.
    let mut seed = [0u8; 32];
    let hex = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    for (i, byte) in seed.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    let key = SigningKey::from_seed("test", &seed).unwrap();
    let mut pub_bytes = vec![1u8];
    pub_bytes.extend_from_slice(key.verifier_key().public_key().as_bytes());
    assert_eq!(
        key.verifier_key().public_key().as_bytes()[..4],
        [0xd7, 0x5a, 0x98, 0x01]
    );
    let vkey = key.verifier_key().to_string();
    assert_eq!(
        vkey,
        format!("test+{:08x}+{}", key.key_id(), STANDARD.encode(&pub_bytes))
    );
    let mut secret = vec![1u8];
    secret.extend_from_slice(&seed);
    assert_eq!(
        key.to_private_key_string(),
        format!(
            "PRIVATE+KEY+test+{:08x}+{}",
            key.key_id(),
            STANDARD.encode(&secret)
        )
    );
}

#[test]
fn malformed_verifier_keys_are_rejected() {
    let good = VerifierKey::parse(KAT_VKEY).unwrap();
    let key_b64 = KAT_VKEY.rsplit('+').next().unwrap();
    let raw = STANDARD.decode(key_b64).unwrap();
    let with_alg = |alg: u8, key: &[u8]| {
        let mut bytes = vec![alg];
        bytes.extend_from_slice(key);
        STANDARD.encode(bytes)
    };
    let cases: Vec<(String, KeyError)> = vec![
        (
            "".to_owned(),
            KeyError::Malformed("expected name+keyid+key"),
        ),
        (
            "example.com/foo".to_owned(),
            KeyError::Malformed("expected name+keyid+key"),
        ),
        (
            "example.com/foo+530d903a".to_owned(),
            KeyError::Malformed("expected name+keyid+key"),
        ),
        (
            format!("+530d903a+{key_b64}"),
            KeyError::InvalidName(String::new()),
        ),
        (
            format!("example com+530d903a+{key_b64}"),
            KeyError::InvalidName("example com".to_owned()),
        ),
        (
            format!("example\ncom+530d903a+{key_b64}"),
            KeyError::InvalidName("example\ncom".to_owned()),
        ),
        (
            format!("example.com/foo+530d903+{key_b64}"),
            KeyError::Malformed("the key ID must be 8 hex digits"),
        ),
        (
            format!("example.com/foo+530d903g+{key_b64}"),
            KeyError::Malformed("the key ID must be 8 hex digits"),
        ),
        (
            format!("example.com/foo+530d903a+{}", &key_b64[1..]),
            KeyError::Malformed("the key is not standard base64"),
        ),
        (
            format!("example.com/foo+530d903a+{}", with_alg(2, &raw[1..])),
            KeyError::UnsupportedAlgorithm(2),
        ),
        (
            format!("example.com/foo+530d903a+{}", with_alg(1, &raw[1..32])),
            KeyError::WrongKeyLength(31),
        ),
        (
            format!(
                "example.com/foo+530d903a+{}",
                with_alg(1, &[raw[1..].to_vec(), vec![0]].concat())
            ),
            KeyError::WrongKeyLength(33),
        ),
        (
            format!("example.com/foo+530d903b+{key_b64}"),
            KeyError::KeyIdMismatch {
                given: 0x530d_903b,
                expected: 0x530d_903a,
            },
        ),
        (
            // The name is part of the key ID: another name with the same ID is caught.
            format!("example.com/bar+530d903a+{key_b64}"),
            KeyError::KeyIdMismatch {
                given: 0x530d_903a,
                expected: key_id("example.com/bar", good.public_key().as_bytes()),
            },
        ),
    ];
    for (text, error) in cases {
        assert_eq!(VerifierKey::parse(&text), Err(error), "{text:?}");
    }
    // A `+` in the name makes the rest unparseable.
    assert!(VerifierKey::parse(&format!("a+b+530d903a+{key_b64}")).is_err());
}

#[test]
fn malformed_signing_keys_are_rejected() {
    let key = seeded("amanah.local/audit", 7);
    let text = key.to_private_key_string();
    let seed_b64 = text.rsplit('+').next().unwrap();
    let id = format!("{:08x}", key.key_id());
    let shape = KeyError::Malformed("expected PRIVATE+KEY+name+keyid+key");
    let cases: Vec<(String, KeyError)> = vec![
        (text.replacen("PRIVATE", "PUBLIC", 1), shape.clone()),
        (
            format!("PRIVATE+KEY+amanah.local/audit+{id}"),
            shape.clone(),
        ),
        (
            format!("{text}\n\n"),
            KeyError::Malformed("the key is not standard base64"),
        ),
        (
            format!("PRIVATE+KEY+amanah local+{id}+{seed_b64}"),
            KeyError::InvalidName("amanah local".to_owned()),
        ),
        (
            format!("PRIVATE+KEY+amanah.local/other+{id}+{seed_b64}"),
            KeyError::KeyIdMismatch {
                given: key.key_id(),
                expected: seeded("amanah.local/other", 7).key_id(),
            },
        ),
        (
            format!(
                "PRIVATE+KEY+amanah.local/audit+{id}+{}",
                STANDARD.encode([1u8; 32])
            ),
            KeyError::WrongKeyLength(31),
        ),
        (
            format!(
                "PRIVATE+KEY+amanah.local/audit+{id}+{}",
                STANDARD.encode([9u8; 33])
            ),
            KeyError::UnsupportedAlgorithm(9),
        ),
    ];
    for (text, error) in cases {
        assert_eq!(
            SigningKey::from_private_key_string(&text).map(|k| k.key_id()),
            Err(error),
            "{text:?}"
        );
    }
}

#[test]
fn invalid_names_cannot_make_keys() {
    for name in ["", "a b", "a+b", "a\nb", "a\tb", "a\u{a0}b"] {
        assert!(SigningKey::from_seed(name, &[1; 32]).is_err(), "{name:?}");
        assert!(generate_signing_key(name).is_err(), "{name:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Notes.
// ---------------------------------------------------------------------------------------------

#[test]
fn sign_and_open_round_trip_with_several_signers() {
    let a = seeded("log.example/a", 1);
    let b = seeded("log.example/b", 2);
    let text = "line one\nline two\n";
    let note = sign_note(text, &[&a, &b]).unwrap();
    assert!(note.starts_with("line one\nline two\n\n\u{2014} log.example/a "));
    assert_eq!(note.matches('\n').count(), 5);
    assert_eq!(open_note(note.as_bytes(), &a.verifier_key()).unwrap(), text);
    assert_eq!(open_note(note.as_bytes(), &b.verifier_key()).unwrap(), text);
    // Ed25519 is deterministic: signing again gives the same note.
    assert_eq!(sign_note(text, &[&a, &b]).unwrap(), note);
}

#[test]
fn unknown_signatures_are_ignored() {
    let log = seeded("log.example", 1);
    let witness = seeded("witness.example", 2);
    let note = sign_note("hello\n", &[&witness, &log]).unwrap();
    assert_eq!(
        open_note(note.as_bytes(), &log.verifier_key()).unwrap(),
        "hello\n"
    );
    // An unknown signature that is pure garbage (but well-formed) is ignored too.
    let garbage = format!("\u{2014} someone.else {}\n", STANDARD.encode([0u8; 68]));
    let note = format!("{}{garbage}", sign_note("hello\n", &[&log]).unwrap());
    assert_eq!(
        open_note(note.as_bytes(), &log.verifier_key()).unwrap(),
        "hello\n"
    );
}

#[test]
fn signing_rejects_bad_text() {
    let key = seeded("log.example", 1);
    assert_eq!(
        sign_note("", &[&key]),
        Err(NoteError::TextWithoutFinalNewline)
    );
    assert_eq!(
        sign_note("no newline", &[&key]),
        Err(NoteError::TextWithoutFinalNewline)
    );
    assert_eq!(
        sign_note("crlf\r\n", &[&key]),
        Err(NoteError::ControlCharacter {
            offset: 4,
            code: 13
        })
    );
}

fn signed_hello() -> (SigningKey, String) {
    let key = seeded("log.example", 1);
    let note = sign_note("hello\nworld\n", &[&key]).unwrap();
    (key, note)
}

#[test]
fn tampered_text_is_a_bad_signature() {
    let (key, note) = signed_hello();
    let tampered = note.replacen("world", "World", 1);
    assert_eq!(
        open_note(tampered.as_bytes(), &key.verifier_key()),
        Err(NoteError::BadSignature {
            name: "log.example".to_owned(),
            key_id: key.key_id()
        })
    );
}

#[test]
fn tampered_signature_is_a_bad_signature() {
    let (key, note) = signed_hello();
    let vkey = key.verifier_key();
    let (head, b64) = note.trim_end().rsplit_once(' ').unwrap();
    let mut bytes = STANDARD.decode(b64).unwrap();
    for position in [4, 20, 40, 67] {
        bytes[position] ^= 0x10;
        let tampered = format!("{head} {}\n", STANDARD.encode(&bytes));
        assert_eq!(
            open_note(tampered.as_bytes(), &vkey),
            Err(NoteError::BadSignature {
                name: "log.example".to_owned(),
                key_id: key.key_id()
            })
        );
        bytes[position] ^= 0x10;
    }
    // Changing the key ID bytes makes it somebody else's signature.
    bytes[0] ^= 1;
    let tampered = format!("{head} {}\n", STANDARD.encode(&bytes));
    assert!(matches!(
        open_note(tampered.as_bytes(), &vkey),
        Err(NoteError::NoSignatureByKey { .. })
    ));
    // A truncated signature (still ≥ 5 bytes) cannot verify.
    let tampered = format!("{head} {}\n", STANDARD.encode(&bytes[..40]));
    assert!(open_note(tampered.as_bytes(), &vkey).is_err());
}

#[test]
fn wrong_key_or_wrong_name_is_no_signature_by_key() {
    let (key, note) = signed_hello();
    let same_name_other_key = seeded("log.example", 2).verifier_key();
    assert_eq!(
        open_note(note.as_bytes(), &same_name_other_key),
        Err(NoteError::NoSignatureByKey {
            name: "log.example".to_owned(),
            key_id: same_name_other_key.key_id()
        })
    );
    let same_key_other_name = seeded("log.example/other", 1).verifier_key();
    assert_eq!(
        open_note(note.as_bytes(), &same_key_other_name),
        Err(NoteError::NoSignatureByKey {
            name: "log.example/other".to_owned(),
            key_id: same_key_other_name.key_id()
        })
    );
    assert_eq!(
        NoteError::NoSignatureByKey {
            name: "log.example".to_owned(),
            key_id: 0x0102_0304
        }
        .to_string(),
        "no signature by key log.example+01020304"
    );
    // A signature line that claims the right name and ID but carries another key's signature.
    let other = seeded("log.example", 2);
    let forged_sig = sign_note("hello\nworld\n", &[&other]).unwrap();
    let forged_b64 = forged_sig.trim_end().rsplit_once(' ').unwrap().1;
    let mut bytes = STANDARD.decode(forged_b64).unwrap();
    bytes[..4].copy_from_slice(&key.key_id().to_be_bytes());
    let forged = format!(
        "hello\nworld\n\n\u{2014} log.example {}\n",
        STANDARD.encode(&bytes)
    );
    assert!(matches!(
        open_note(forged.as_bytes(), &key.verifier_key()),
        Err(NoteError::BadSignature { .. })
    ));
}

#[test]
fn malformed_notes_are_typed_errors() {
    let (key, note) = signed_hello();
    let vkey = key.verifier_key();
    let sig_line = note.split_once("\n\n").unwrap().1.to_owned();
    let cases: Vec<(Vec<u8>, NoteError)> = vec![
        // Missing blank line between text and signature.
        (
            format!("hello\nworld\n{sig_line}").into_bytes(),
            NoteError::MissingSeparator,
        ),
        // CRLF line endings.
        (
            note.replace('\n', "\r\n").into_bytes(),
            NoteError::ControlCharacter {
                offset: 5,
                code: 13,
            },
        ),
        // Trailing garbage after the signature line.
        (
            format!("{note}garbage").into_bytes(),
            NoteError::MissingFinalNewline,
        ),
        (
            format!("{note}garbage\n").into_bytes(),
            NoteError::MalformedSignatureLine {
                line: 2,
                reason: "it does not start with an em dash and a space",
            },
        ),
        // Trailing blank line: the signature block now looks empty.
        (
            format!("{note}\n").into_bytes(),
            NoteError::NoSignatureLines,
        ),
        // No final newline.
        (
            note.trim_end_matches('\n').as_bytes().to_vec(),
            NoteError::MissingFinalNewline,
        ),
        // A hyphen instead of the em dash.
        (
            note.replace('\u{2014}', "-").into_bytes(),
            NoteError::MalformedSignatureLine {
                line: 1,
                reason: "it does not start with an em dash and a space",
            },
        ),
        // Not base64.
        (
            "hello\nworld\n\n\u{2014} log.example !!!!\n"
                .as_bytes()
                .to_vec(),
            NoteError::MalformedSignatureLine {
                line: 1,
                reason: "the signature is not standard base64",
            },
        ),
        // Too short.
        (
            "hello\nworld\n\n\u{2014} log.example AAAA\n"
                .as_bytes()
                .to_vec(),
            NoteError::MalformedSignatureLine {
                line: 1,
                reason: "the signature is too short",
            },
        ),
        // No space after the name.
        (
            "hello\n\n\u{2014} log.example\n".as_bytes().to_vec(),
            NoteError::MalformedSignatureLine {
                line: 1,
                reason: "expected a key name, a space and a signature",
            },
        ),
        // Tab (a control character) anywhere.
        (
            note.replacen("world", "wor\tld", 1).into_bytes(),
            NoteError::ControlCharacter { offset: 9, code: 9 },
        ),
        // Not UTF-8.
        (
            [b"hel\xfflo\n\n".as_slice(), sig_line.as_bytes()].concat(),
            NoteError::NotUtf8,
        ),
        (Vec::new(), NoteError::MissingSeparator),
    ];
    for (bytes, error) in cases {
        assert_eq!(
            open_note(&bytes, &vkey),
            Err(error),
            "{:?}",
            String::from_utf8_lossy(&bytes)
        );
    }
}

#[test]
fn too_many_signatures_are_rejected() {
    let key = seeded("log.example", 1);
    let note = sign_note("hello\n", &[&key]).unwrap();
    let line = note.split_once("\n\n").unwrap().1;
    let many = format!("hello\n\n{}", line.repeat(101));
    assert_eq!(
        open_note(many.as_bytes(), &key.verifier_key()),
        Err(NoteError::TooManySignatures)
    );
    let hundred = format!("hello\n\n{}", line.repeat(100));
    assert!(open_note(hundred.as_bytes(), &key.verifier_key()).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Checkpoints.
// ---------------------------------------------------------------------------------------------

const ORIGIN: &str = "amanah.local/audit";

fn root(byte: u8) -> Hash {
    [byte; 32]
}

#[test]
fn checkpoint_body_is_byte_exact() {
    let checkpoint = Checkpoint::new(ORIGIN, 42, root(0xab));
    let body = checkpoint.to_body();
    assert_eq!(
        body,
        format!("amanah.local/audit\n42\n{}\n", STANDARD.encode([0xab; 32]))
    );
    assert_eq!(Checkpoint::parse_body(&body).unwrap(), checkpoint);
    assert_eq!(
        Checkpoint::new(ORIGIN, 0, root(0)).to_body(),
        "amanah.local/audit\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
    );
}

#[test]
fn checkpoint_sign_and_open_round_trip() {
    let key = seeded(ORIGIN, 3);
    let checkpoint = Checkpoint::new(ORIGIN, u64::MAX, root(7));
    let note = checkpoint.sign(&key).unwrap();
    assert!(note.starts_with(&checkpoint.to_body()));
    assert!(note.contains(&format!("\n\n\u{2014} {ORIGIN} ")));
    assert_eq!(
        Checkpoint::open(&note, &key.verifier_key()).unwrap(),
        checkpoint
    );
    assert_eq!(
        Checkpoint::open(note.as_bytes(), &key.verifier_key()).unwrap(),
        checkpoint
    );
}

#[test]
fn checkpoint_with_extension_lines_parses() {
    let body = format!(
        "{ORIGIN}\n5\n{}\nextension one\nmore\n",
        STANDARD.encode([1u8; 32])
    );
    let checkpoint = Checkpoint::parse_body(&body).unwrap();
    assert_eq!(checkpoint.extensions, vec!["extension one", "more"]);
    assert_eq!(checkpoint.to_body(), body);
    let key = seeded(ORIGIN, 3);
    let note = checkpoint.sign(&key).unwrap();
    assert_eq!(
        Checkpoint::open(&note, &key.verifier_key()).unwrap(),
        checkpoint
    );
}

#[test]
fn checkpoint_from_one_key_does_not_open_under_another() {
    let key = seeded(ORIGIN, 3);
    let other = seeded(ORIGIN, 4);
    let note = Checkpoint::new(ORIGIN, 10, root(1)).sign(&key).unwrap();
    assert!(matches!(
        Checkpoint::open(&note, &other.verifier_key()),
        Err(CheckpointError::Note(NoteError::NoSignatureByKey { .. }))
    ));
    let tampered = note.replacen("\n10\n", "\n11\n", 1);
    assert!(matches!(
        Checkpoint::open(&tampered, &key.verifier_key()),
        Err(CheckpointError::Note(NoteError::BadSignature { .. }))
    ));
}

#[test]
fn checkpoint_origin_must_be_the_key_name() {
    let key = seeded("another.log", 3);
    assert_eq!(
        Checkpoint::new(ORIGIN, 1, root(1)).sign(&key),
        Err(CheckpointError::OriginMismatch {
            origin: ORIGIN.to_owned(),
            key_name: "another.log".to_owned()
        })
    );
    // A note whose body names another origin than the key's name does not open.
    let body = Checkpoint::new(ORIGIN, 1, root(1)).to_body();
    let note = sign_note(&body, &[&key]).unwrap();
    assert_eq!(
        Checkpoint::open(&note, &key.verifier_key()),
        Err(CheckpointError::OriginMismatch {
            origin: ORIGIN.to_owned(),
            key_name: "another.log".to_owned()
        })
    );
}

#[test]
fn checkpoint_bodies_are_parsed_strictly() {
    let r = STANDARD.encode([5u8; 32]);
    let cases: Vec<(String, CheckpointError)> = vec![
        (String::new(), CheckpointError::MissingLine("origin")),
        (format!("{ORIGIN}\n"), CheckpointError::MissingLine("size")),
        (
            format!("{ORIGIN}\n5\n"),
            CheckpointError::MissingLine("root"),
        ),
        (
            format!("{ORIGIN}\n5\n{r}"),
            CheckpointError::MissingFinalNewline,
        ),
        (
            format!("\n5\n{r}\n"),
            CheckpointError::BadOrigin(String::new()),
        ),
        (
            format!(" {ORIGIN}\n5\n{r}\n"),
            CheckpointError::BadOrigin(format!(" {ORIGIN}")),
        ),
        (
            format!("{ORIGIN} \n5\n{r}\n"),
            CheckpointError::BadOrigin(format!("{ORIGIN} ")),
        ),
        (
            format!("{ORIGIN}\n05\n{r}\n"),
            CheckpointError::BadSize("05".to_owned()),
        ),
        (
            format!("{ORIGIN}\n00\n{r}\n"),
            CheckpointError::BadSize("00".to_owned()),
        ),
        (
            format!("{ORIGIN}\n 5\n{r}\n"),
            CheckpointError::BadSize(" 5".to_owned()),
        ),
        (
            format!("{ORIGIN}\n5 \n{r}\n"),
            CheckpointError::BadSize("5 ".to_owned()),
        ),
        (
            format!("{ORIGIN}\n+5\n{r}\n"),
            CheckpointError::BadSize("+5".to_owned()),
        ),
        (
            format!("{ORIGIN}\n-5\n{r}\n"),
            CheckpointError::BadSize("-5".to_owned()),
        ),
        (
            format!("{ORIGIN}\n\n{r}\n"),
            CheckpointError::BadSize(String::new()),
        ),
        (
            format!("{ORIGIN}\n18446744073709551616\n{r}\n"),
            CheckpointError::BadSize("18446744073709551616".to_owned()),
        ),
        (
            format!("{ORIGIN}\n5\n {r}\n"),
            CheckpointError::BadRoot(format!(" {r}")),
        ),
        (
            format!("{ORIGIN}\n5\n{r} \n"),
            CheckpointError::BadRoot(format!("{r} ")),
        ),
        (
            format!("{ORIGIN}\n5\n{}\n", r.trim_end_matches('=')),
            CheckpointError::BadRoot(r.trim_end_matches('=').to_owned()),
        ),
        (
            format!("{ORIGIN}\n5\n{}\n", STANDARD.encode([5u8; 31])),
            CheckpointError::BadRoot(STANDARD.encode([5u8; 31])),
        ),
        (
            format!("{ORIGIN}\n5\n{}\n", STANDARD.encode([5u8; 33])),
            CheckpointError::BadRoot(STANDARD.encode([5u8; 33])),
        ),
        (
            // Non-zero trailing bits: another spelling of the same bytes.
            format!("{ORIGIN}\n5\n{}F=\n", &r[..r.len() - 2]),
            CheckpointError::BadRoot(format!("{}F=", &r[..r.len() - 2])),
        ),
        (
            format!("{ORIGIN}\n5\n{}\n", r.replace('B', "-")),
            CheckpointError::BadRoot(r.replace('B', "-")),
        ),
        (
            format!("{ORIGIN}\n5\n{r}\n\n"),
            CheckpointError::BadLine {
                line: 4,
                reason: "extension lines must not be empty",
            },
        ),
        (
            format!("{ORIGIN}\r\n5\n{r}\n"),
            CheckpointError::BadOrigin(format!("{ORIGIN}\r")),
        ),
    ];
    for (body, error) in cases {
        assert_eq!(Checkpoint::parse_body(&body), Err(error), "{body:?}");
    }
}

#[test]
fn unrepresentable_checkpoints_are_not_signed() {
    let key = seeded(ORIGIN, 3);
    let mut checkpoint = Checkpoint::new(ORIGIN, 1, root(1));
    checkpoint.extensions = vec!["a\nb".to_owned()];
    assert_eq!(checkpoint.sign(&key), Err(CheckpointError::Unrepresentable));
    checkpoint.extensions = vec![String::new()];
    assert!(checkpoint.sign(&key).is_err());
}
