//! C2SP signed notes (<https://c2sp.org/signed-note>) with Ed25519 keys.
//!
//! A signed note is a UTF-8 text that ends in a newline, then a blank line, then one or more
//! signature lines `— <key name> <base64(key ID ‖ signature)>\n` (U+2014 EM DASH, a space). The
//! signature covers the text including its final newline. This follows the reference
//! implementation (`golang.org/x/mod/sumdb/note`) in what it accepts:
//!
//! * The whole note is UTF-8 without ASCII control characters other than `\n` (so CRLF line
//!   endings are rejected).
//! * The text is everything up to the *last* blank line; every line after it is a signature.
//! * Signatures by keys the verifier does not know are ignored; a repeated signature by the same
//!   key is ignored after the first; a note with more than 100 signatures is rejected.
//!
//! Keys:
//!
//! * Key ID: the first 4 bytes (big-endian `u32`) of `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)`.
//! * Verifier key (public, [`VerifierKey`]): `<name>+<8 hex digits of key ID>+<base64(0x01 ‖
//!   32-byte public key)>`.
//! * Signing key (secret, [`SigningKey`]), the key-file format of the Go `note` package:
//!   `PRIVATE+KEY+<name>+<8 hex digits of key ID>+<base64(0x01 ‖ 32-byte Ed25519 seed)>`, written
//!   on one line; [`SigningKey::from_private_key_string`] accepts one trailing `\n`. The file must
//!   be readable by the service only (mode 0600).
//!
//! A key name is non-empty UTF-8 without white space (Unicode `White_Space`, so no newline either)
//! and without `+`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::Signer as _;
use sha2::{Digest, Sha256};

/// The algorithm byte of Ed25519 keys in key IDs and key strings.
pub const ALG_ED25519: u8 = 0x01;

/// The first bytes of every signature line: U+2014 EM DASH and a space.
pub const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// At most this many signature lines are read, as the reference implementation does.
pub const MAX_SIGNATURES: usize = 100;

/// Why a key string or key name is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The name is empty, or holds white space or `+`.
    #[error("invalid key name {0:?}: it must be non-empty, without spaces, newlines or `+`")]
    InvalidName(String),
    /// The string does not have the `name+keyid+key` shape (or `PRIVATE+KEY+…` for signing keys).
    #[error("malformed key: {0}")]
    Malformed(&'static str),
    /// The key's algorithm byte is not Ed25519's.
    #[error("unsupported key algorithm 0x{0:02x} (only Ed25519, 0x01, is supported)")]
    UnsupportedAlgorithm(u8),
    /// The key is not 32 bytes after the algorithm byte.
    #[error("an Ed25519 key has 32 bytes, got {0}")]
    WrongKeyLength(usize),
    /// The 32 bytes are not a valid Ed25519 public key.
    #[error("not a valid Ed25519 public key")]
    InvalidPublicKey,
    /// The key ID in the string is not the one the name and key imply.
    #[error("key ID {given:08x} does not match the name and key (expected {expected:08x})")]
    KeyIdMismatch {
        /// The key ID written in the string.
        given: u32,
        /// The key ID computed from the name and the key.
        expected: u32,
    },
}

/// Why a note cannot be signed, parsed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// The note is not UTF-8.
    #[error("the note is not valid UTF-8")]
    NotUtf8,
    /// The note holds an ASCII control character other than `\n` (e.g. the `\r` of CRLF).
    #[error("the note holds control character U+{code:04X} at byte {offset}; only \\n is allowed")]
    ControlCharacter {
        /// Byte offset in the note.
        offset: usize,
        /// The character.
        code: u32,
    },
    /// The text to sign is empty or does not end with a newline.
    #[error("the note text must be non-empty and end with a newline")]
    TextWithoutFinalNewline,
    /// No blank line separates the text from the signatures.
    #[error("the note has no blank line between its text and its signatures")]
    MissingSeparator,
    /// The blank line is not followed by any signature line.
    #[error("the note has no signature lines")]
    NoSignatureLines,
    /// The last signature line does not end with a newline.
    #[error("the note does not end with a newline")]
    MissingFinalNewline,
    /// A line after the blank line is not a well-formed signature line.
    #[error("signature line {line} is malformed: {reason}")]
    MalformedSignatureLine {
        /// 1-based number of the line among the signature lines.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// More than [`MAX_SIGNATURES`] signature lines.
    #[error("the note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    /// No signature line by the verifier's key (same name and key ID).
    #[error("no signature by key {name}+{key_id:08x}")]
    NoSignatureByKey {
        /// The verifier key's name.
        name: String,
        /// The verifier key's ID.
        key_id: u32,
    },
    /// The signature by the verifier's key does not verify: the text or signature was altered.
    #[error("the signature by key {name}+{key_id:08x} does not verify")]
    BadSignature {
        /// The verifier key's name.
        name: String,
        /// The verifier key's ID.
        key_id: u32,
    },
    /// A signer has an invalid name (only possible for keys not built by this module).
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Whether `name` is a valid key name: non-empty, no white space, no `+`.
#[must_use]
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

pub(crate) fn check_name(name: &str) -> Result<(), KeyError> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(KeyError::InvalidName(name.to_owned()))
    }
}

/// The key ID of an Ed25519 public key under `name`: the first 4 bytes, big-endian, of
/// `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)`.
#[must_use]
pub fn key_id(name: &str, public_key: &[u8; 32]) -> u32 {
    typed_key_id(name, ALG_ED25519, public_key)
}

/// The key ID of a public key of type `alg` under `name`: the first 4 bytes, big-endian, of
/// `SHA-256(name ‖ 0x0A ‖ alg ‖ public key)`. Note keys are type `0x01`, witness
/// (`cosignature/v1`) keys `0x04`.
pub(crate) fn typed_key_id(name: &str, alg: u8, public_key: &[u8; 32]) -> u32 {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update([b'\n', alg]);
    hasher.update(public_key);
    let digest = hasher.finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// Splits a key string `<name>+<hex key ID>+<base64 key>` (a verifier key, or a private key
/// after its `PRIVATE+KEY+`), checking the name and the 8 hex digits of the key ID (either
/// case, as Go's `strconv.ParseUint` reads them).
pub(crate) fn split_key(text: &str) -> Result<(&str, u32, &str), KeyError> {
    let shape = KeyError::Malformed("expected name+keyid+key");
    let (name, rest) = text.split_once('+').ok_or(shape.clone())?;
    let (id_hex, key) = rest.split_once('+').ok_or(shape)?;
    check_name(name)?;
    let malformed_id = KeyError::Malformed("the key ID must be 8 hex digits");
    if id_hex.len() != 8 || !id_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(malformed_id);
    }
    let id = u32::from_str_radix(id_hex, 16).map_err(|_| malformed_id)?;
    Ok((name, id, key))
}

/// Decodes `base64(alg ‖ 32 bytes)`, requiring the type byte `alg`.
pub(crate) fn decode_key(base64: &str, alg: u8) -> Result<[u8; 32], KeyError> {
    let bytes = STANDARD
        .decode(base64)
        .map_err(|_| KeyError::Malformed("the key is not standard base64"))?;
    let (&found, key) = bytes
        .split_first()
        .ok_or(KeyError::Malformed("the key is empty"))?;
    if found != alg {
        return Err(KeyError::UnsupportedAlgorithm(found));
    }
    key.try_into()
        .map_err(|_| KeyError::WrongKeyLength(key.len()))
}

/// `base64(alg ‖ key)`.
pub(crate) fn encode_key(alg: u8, key: &[u8; 32]) -> String {
    let mut bytes = Vec::with_capacity(33);
    bytes.push(alg);
    bytes.extend_from_slice(key);
    STANDARD.encode(bytes)
}

/// Parses a verifier key string of type `alg`: its name, key ID and public key, the key ID
/// checked against the name and key.
pub(crate) fn parse_verifier_key(
    text: &str,
    alg: u8,
) -> Result<(&str, u32, ed25519_dalek::VerifyingKey), KeyError> {
    let (name, given, key) = split_key(text)?;
    let key = decode_key(key, alg)?;
    let expected = typed_key_id(name, alg, &key);
    if given != expected {
        return Err(KeyError::KeyIdMismatch { given, expected });
    }
    let key =
        ed25519_dalek::VerifyingKey::from_bytes(&key).map_err(|_| KeyError::InvalidPublicKey)?;
    Ok((name, expected, key))
}

/// Parses a private key string `PRIVATE+KEY+<name>+<hex key ID>+<base64(alg ‖ seed)>` (at most
/// one trailing `\n`): its name and signing key, the key ID checked against the derived public
/// key.
pub(crate) fn parse_private_key(
    text: &str,
    alg: u8,
) -> Result<(&str, ed25519_dalek::SigningKey), KeyError> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    let rest = text
        .strip_prefix("PRIVATE+KEY+")
        .ok_or(KeyError::Malformed("expected PRIVATE+KEY+name+keyid+key"))?;
    let (name, given, seed) = split_key(rest).map_err(|error| match error {
        KeyError::Malformed("expected name+keyid+key") => {
            KeyError::Malformed("expected PRIVATE+KEY+name+keyid+key")
        }
        other => other,
    })?;
    let key = ed25519_dalek::SigningKey::from_bytes(&decode_key(seed, alg)?);
    let expected = typed_key_id(name, alg, key.verifying_key().as_bytes());
    if given != expected {
        return Err(KeyError::KeyIdMismatch { given, expected });
    }
    Ok((name, key))
}

/// `PRIVATE+KEY+<name>+<hex key ID>+<base64(alg ‖ seed)>`.
pub(crate) fn private_key_string(name: &str, alg: u8, key: &ed25519_dalek::SigningKey) -> String {
    format!(
        "PRIVATE+KEY+{name}+{:08x}+{}",
        typed_key_id(name, alg, key.verifying_key().as_bytes()),
        encode_key(alg, key.as_bytes())
    )
}

/// A signature line: `— <name> <base64(key ID ‖ payload)>\n`.
pub(crate) fn signature_line(name: &str, key_id: u32, payload: &[u8]) -> String {
    let mut bytes = Vec::with_capacity(4 + payload.len());
    bytes.extend_from_slice(&key_id.to_be_bytes());
    bytes.extend_from_slice(payload);
    format!("{SIGNATURE_PREFIX}{name} {}\n", STANDARD.encode(bytes))
}

/// A public Ed25519 note verifier key: a name, its key ID and the public key.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    key_id: u32,
    key: ed25519_dalek::VerifyingKey,
}

impl VerifierKey {
    /// Builds the verifier key for `name` and an Ed25519 public key.
    ///
    /// # Errors
    /// [`KeyError::InvalidName`] for an invalid name.
    pub fn new(name: &str, key: ed25519_dalek::VerifyingKey) -> Result<Self, KeyError> {
        check_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, key.as_bytes()),
            key,
        })
    }

    /// Parses `<name>+<hex key ID>+<base64(0x01 ‖ public key)>` (surrounding white space, such as
    /// the final newline of a `.vkey` file, is ignored).
    ///
    /// # Errors
    /// [`KeyError`] for a malformed string, an invalid name, another algorithm than Ed25519, a key
    /// of the wrong length or not on the curve, or a key ID that does not match.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let (name, key_id, key) = parse_verifier_key(text.trim(), ALG_ED25519)?;
        Ok(Self {
            name: name.to_owned(),
            key_id,
            key,
        })
    }

    /// The key name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    #[must_use]
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The Ed25519 public key.
    #[must_use]
    pub fn public_key(&self) -> &ed25519_dalek::VerifyingKey {
        &self.key
    }

    /// Whether `signature` is this key's signature of `message` (strict Ed25519 verification).
    #[must_use]
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(signature) = ed25519_dalek::Signature::from_slice(signature) else {
            return false;
        };
        self.key.verify_strict(message, &signature).is_ok()
    }
}

/// `<name>+<hex key ID>+<base64(0x01 ‖ public key)>`.
impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}+{:08x}+{}",
            self.name,
            self.key_id,
            encode_key(ALG_ED25519, self.key.as_bytes())
        )
    }
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifierKey({self})")
    }
}

impl std::str::FromStr for VerifierKey {
    type Err = KeyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

/// A secret Ed25519 note signing key with its name. Its `Debug` shows the name and key ID only;
/// the secret is zeroed when the key is dropped.
#[derive(Clone)]
pub struct SigningKey {
    name: String,
    key_id: u32,
    key: ed25519_dalek::SigningKey,
}

/// A fresh signing key for `name`, from the operating system's random number generator.
///
/// # Errors
/// [`KeyError::InvalidName`] for an invalid name.
pub fn generate_signing_key(name: &str) -> Result<SigningKey, KeyError> {
    SigningKey::generate(name)
}

impl SigningKey {
    /// A fresh signing key for `name`, from the operating system's random number generator.
    ///
    /// # Errors
    /// [`KeyError::InvalidName`] for an invalid name.
    pub fn generate(name: &str) -> Result<Self, KeyError> {
        let key = ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng);
        Self::new(name, key)
    }

    /// The signing key for `name` and a 32-byte Ed25519 seed (RFC 8032 private key).
    ///
    /// # Errors
    /// [`KeyError::InvalidName`] for an invalid name.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, KeyError> {
        Self::new(name, ed25519_dalek::SigningKey::from_bytes(seed))
    }

    fn new(name: &str, key: ed25519_dalek::SigningKey) -> Result<Self, KeyError> {
        check_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, key.verifying_key().as_bytes()),
            key,
        })
    }

    /// Parses the key-file format `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 ‖ seed)>`, with
    /// at most one trailing `\n`.
    ///
    /// # Errors
    /// [`KeyError`] for a malformed string, an invalid name, another algorithm, a seed of the
    /// wrong length, or a key ID that does not match the derived public key.
    pub fn from_private_key_string(text: &str) -> Result<Self, KeyError> {
        let (name, key) = parse_private_key(text, ALG_ED25519)?;
        Self::new(name, key)
    }

    /// The key-file format `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 ‖ seed)>`, without a
    /// final newline. This is the secret: write it to a file of mode 0600 only.
    #[must_use]
    pub fn to_private_key_string(&self) -> String {
        private_key_string(&self.name, ALG_ED25519, &self.key)
    }

    /// The key name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    #[must_use]
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The matching verifier key (what `amanah audit key` prints).
    #[must_use]
    pub fn verifier_key(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.key.verifying_key(),
        }
    }

    /// The signature line of this key for `text`: `— <name> <base64(key ID ‖ signature)>\n`.
    fn signature_line(&self, text: &str) -> String {
        let signature = self.key.sign(text.as_bytes());
        signature_line(&self.name, self.key_id, &signature.to_bytes())
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({}+{:08x})", self.name, self.key_id)
    }
}

/// Checks the character rules of a note: no ASCII control character but `\n`.
fn check_characters(text: &str) -> Result<(), NoteError> {
    match text
        .bytes()
        .enumerate()
        .find(|&(_, b)| b < 0x20 && b != b'\n')
    {
        Some((offset, code)) => Err(NoteError::ControlCharacter {
            offset,
            code: u32::from(code),
        }),
        None => Ok(()),
    }
}

/// Signs `text` with every signer: `text ‖ "\n" ‖ signature lines`.
///
/// # Errors
/// [`NoteError::TextWithoutFinalNewline`] for an empty text or one without a final newline;
/// [`NoteError::ControlCharacter`] for control characters other than `\n`.
pub fn sign_note(text: &str, signers: &[&SigningKey]) -> Result<String, NoteError> {
    if !text.ends_with('\n') {
        return Err(NoteError::TextWithoutFinalNewline);
    }
    check_characters(text)?;
    let mut note = String::with_capacity(text.len() + 1 + signers.len() * 128);
    note.push_str(text);
    note.push('\n');
    for signer in signers {
        check_name(&signer.name)?;
        note.push_str(&signer.signature_line(text));
    }
    Ok(note)
}

/// One signature line of a note, decoded but not verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The key ID.
    pub key_id: u32,
    /// The signature bytes (after the key ID).
    pub signature: Vec<u8>,
}

/// A note split into its text and its signature lines, none of them verified yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedNote<'a> {
    /// The signed text, including its final newline.
    pub text: &'a str,
    /// The signature lines, in order.
    pub signatures: Vec<NoteSignature>,
}

/// Splits a signed note into its text and signature lines, checking its form but no signature.
///
/// # Errors
/// [`NoteError::NotUtf8`], [`NoteError::ControlCharacter`], [`NoteError::MissingSeparator`],
/// [`NoteError::NoSignatureLines`], [`NoteError::MissingFinalNewline`],
/// [`NoteError::MalformedSignatureLine`] or [`NoteError::TooManySignatures`].
pub fn parse_note(note: &[u8]) -> Result<ParsedNote<'_>, NoteError> {
    let note = std::str::from_utf8(note).map_err(|_| NoteError::NotUtf8)?;
    check_characters(note)?;
    let split = note.rfind("\n\n").ok_or(NoteError::MissingSeparator)?;
    let (text, block) = (&note[..=split], &note[split + 2..]);
    if block.is_empty() {
        return Err(NoteError::NoSignatureLines);
    }
    let Some(block) = block.strip_suffix('\n') else {
        return Err(NoteError::MissingFinalNewline);
    };
    let mut signatures = Vec::new();
    for (number, line) in block.split('\n').enumerate() {
        if number >= MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures);
        }
        signatures.push(parse_signature_line(line, number + 1)?);
    }
    Ok(ParsedNote { text, signatures })
}

fn parse_signature_line(line: &str, number: usize) -> Result<NoteSignature, NoteError> {
    let malformed = |reason| NoteError::MalformedSignatureLine {
        line: number,
        reason,
    };
    let rest = line
        .strip_prefix(SIGNATURE_PREFIX)
        .ok_or(malformed("it does not start with an em dash and a space"))?;
    let (name, base64) = rest
        .split_once(' ')
        .ok_or(malformed("expected a key name, a space and a signature"))?;
    if !is_valid_name(name) {
        return Err(malformed("invalid key name"));
    }
    let bytes = STANDARD
        .decode(base64)
        .map_err(|_| malformed("the signature is not standard base64"))?;
    if bytes.len() < 5 {
        return Err(malformed("the signature is too short"));
    }
    let (id, signature) = bytes.split_at(4);
    Ok(NoteSignature {
        name: name.to_owned(),
        key_id: u32::from_be_bytes([id[0], id[1], id[2], id[3]]),
        signature: signature.to_vec(),
    })
}

/// Verifies a signed note with `key` and returns its text (with its final newline).
///
/// The signature must be by `key`: same name and same key ID. Signatures by other keys are
/// ignored, as are repeats of the key's signature after the first.
///
/// # Errors
/// The form errors of [`parse_note`]; [`NoteError::NoSignatureByKey`] when no signature line is
/// by `key`; [`NoteError::BadSignature`] when its signature does not verify.
pub fn open_note<'a>(note: &'a [u8], key: &VerifierKey) -> Result<&'a str, NoteError> {
    let parsed = parse_note(note)?;
    let signature = parsed
        .signatures
        .iter()
        .find(|s| s.name == key.name && s.key_id == key.key_id)
        .ok_or_else(|| NoteError::NoSignatureByKey {
            name: key.name.clone(),
            key_id: key.key_id,
        })?;
    if key.verify(parsed.text.as_bytes(), &signature.signature) {
        Ok(parsed.text)
    } else {
        Err(NoteError::BadSignature {
            name: key.name.clone(),
            key_id: key.key_id,
        })
    }
}
