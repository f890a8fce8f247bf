//! C2SP tlog-cosignature `cosignature/v1` (Ed25519, key type `0x04`): what a witness signs when
//! it vouches that a checkpoint extends the last one it saw (`docs/witness.md` §1).
//!
//! * Key ID: the first 4 bytes of `SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key)`.
//! * Verifier key: `<name>+<hex key ID>+<base64(0x04 ‖ public key)>`.
//! * Signed message: `"cosignature/v1\n" ‖ "time " ‖ decimal(T) ‖ "\n" ‖ note text`, where the
//!   note text is the checkpoint's lines with their final newline and without signatures.
//! * Line: `— <name> <base64(key ID[4] ‖ T[8], big-endian ‖ signature[64])>\n`: 76 bytes, so
//!   104 base64 characters. T is POSIX seconds, `0 < T ≤ 2^63 − 1`.
//!
//! The message does not commit to the witness's name, so each witness needs a key of its own.

use std::fmt;

use ed25519_dalek::Signer as _;

use crate::note::{self, KeyError, NoteSignature};

/// The key type byte of `cosignature/v1` keys.
pub const ALG_COSIGNATURE_V1: u8 = 0x04;

/// Bytes after the key ID in a cosignature: the timestamp and the Ed25519 signature.
pub const COSIGNATURE_BYTES: usize = 8 + 64;

/// The largest timestamp a cosignature may carry.
pub const MAX_TIME: u64 = i64::MAX as u64;

/// The key ID of a `cosignature/v1` public key under `name`.
#[must_use]
pub fn key_id(name: &str, public_key: &[u8; 32]) -> u32 {
    note::typed_key_id(name, ALG_COSIGNATURE_V1, public_key)
}

/// The message a cosignature signs: the header, the time, then the note text.
#[must_use]
pub fn message(note_text: &str, time: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {time}\n{note_text}").into_bytes()
}

/// A witness's public key: verifies its cosignatures.
#[derive(Clone, PartialEq, Eq)]
pub struct CosignatureVerifier {
    name: String,
    key_id: u32,
    key: ed25519_dalek::VerifyingKey,
}

impl CosignatureVerifier {
    /// Parses `<name>+<hex key ID>+<base64(0x04 ‖ public key)>`.
    ///
    /// # Errors
    /// [`KeyError`] for a malformed string, another key type (a `0x01` note key is refused,
    /// as tlog-policy requires), an invalid key, or a key ID that does not match.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let (name, key_id, key) = note::parse_verifier_key(text.trim(), ALG_COSIGNATURE_V1)?;
        Ok(Self {
            name: name.to_owned(),
            key_id,
            key,
        })
    }

    /// The witness's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    #[must_use]
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// Whether a signature line is this witness's (same name and key ID), verified or not.
    #[must_use]
    pub fn names(&self, line: &NoteSignature) -> bool {
        line.name == self.name && line.key_id == self.key_id
    }

    /// The time of `line` when it is this witness's valid cosignature of `note_text`.
    ///
    /// # Errors
    /// [`CosignatureError`] when the line is not this witness's, has the wrong length or a time
    /// out of range, or does not verify.
    pub fn verify(&self, note_text: &str, line: &NoteSignature) -> Result<u64, CosignatureError> {
        if !self.names(line) {
            return Err(CosignatureError::NotThisWitness);
        }
        let bytes: &[u8; COSIGNATURE_BYTES] = line
            .signature
            .as_slice()
            .try_into()
            .map_err(|_| CosignatureError::WrongLength(line.signature.len()))?;
        let (time, signature) = bytes.split_at(8);
        let time = u64::from_be_bytes(
            time.try_into()
                .map_err(|_| CosignatureError::WrongLength(0))?,
        );
        if time == 0 || time > MAX_TIME {
            return Err(CosignatureError::TimeOutOfRange(time));
        }
        let signature = ed25519_dalek::Signature::from_slice(signature)
            .map_err(|_| CosignatureError::BadSignature)?;
        self.key
            .verify_strict(&message(note_text, time), &signature)
            .map_err(|_| CosignatureError::BadSignature)?;
        Ok(time)
    }
}

impl fmt::Display for CosignatureVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}+{:08x}+{}",
            self.name,
            self.key_id,
            note::encode_key(ALG_COSIGNATURE_V1, self.key.as_bytes())
        )
    }
}

impl fmt::Debug for CosignatureVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CosignatureVerifier({self})")
    }
}

/// Why a cosignature line does not count.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CosignatureError {
    #[error("the line is not by this witness (name or key ID)")]
    NotThisWitness,
    #[error("a cosignature holds {COSIGNATURE_BYTES} bytes after the key ID, this one {0}")]
    WrongLength(usize),
    #[error("the cosignature time {0} is out of range (0 < T ≤ 2^63 − 1)")]
    TimeOutOfRange(u64),
    #[error("the cosignature does not verify over the note")]
    BadSignature,
}

/// A witness's secret key. Its `Debug` shows the name and key ID only.
#[derive(Clone)]
pub struct Cosigner {
    name: String,
    key_id: u32,
    key: ed25519_dalek::SigningKey,
}

impl Cosigner {
    /// The cosigner for `name` and a 32-byte Ed25519 seed.
    ///
    /// # Errors
    /// [`KeyError::InvalidName`].
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, KeyError> {
        Self::new(name, ed25519_dalek::SigningKey::from_bytes(seed))
    }

    fn new(name: &str, key: ed25519_dalek::SigningKey) -> Result<Self, KeyError> {
        note::check_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, key.verifying_key().as_bytes()),
            key,
        })
    }

    /// A fresh cosigner for `name`, from the operating system's random number generator.
    ///
    /// # Errors
    /// [`KeyError::InvalidName`].
    pub fn generate(name: &str) -> Result<Self, KeyError> {
        Self::new(
            name,
            ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng),
        )
    }

    /// Parses `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x04 ‖ seed)>`, with at most one trailing
    /// `\n` (the key file `amanah witness init` writes).
    ///
    /// # Errors
    /// [`KeyError`] for a malformed string, another key type, or a key ID that does not match.
    pub fn from_private_key_string(text: &str) -> Result<Self, KeyError> {
        let (name, key) = note::parse_private_key(text, ALG_COSIGNATURE_V1)?;
        Self::new(name, key)
    }

    /// The key file's text; the secret, to be written with mode 0600 only.
    #[must_use]
    pub fn to_private_key_string(&self) -> String {
        note::private_key_string(&self.name, ALG_COSIGNATURE_V1, &self.key)
    }

    /// The witness's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The public key, as a verifier (what `amanah witness key` prints).
    #[must_use]
    pub fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier {
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.key.verifying_key(),
        }
    }

    /// The cosignature line for `note_text` at `time`:
    /// `— <name> <base64(key ID ‖ T ‖ signature)>\n`.
    #[must_use]
    pub fn cosign(&self, note_text: &str, time: u64) -> String {
        let signature = self.key.sign(&message(note_text, time));
        let mut payload = Vec::with_capacity(COSIGNATURE_BYTES);
        payload.extend_from_slice(&time.to_be_bytes());
        payload.extend_from_slice(&signature.to_bytes());
        note::signature_line(&self.name, self.key_id, &payload)
    }
}

impl fmt::Debug for Cosigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cosigner({}+{:08x})", self.name, self.key_id)
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use super::*;
    use crate::note::parse_note;

    /// Appendix B of `docs/witness.md`: the witness key from the seed `00 01 … 1f`.
    pub(crate) fn witness() -> Cosigner {
        let seed: [u8; 32] = std::array::from_fn(|i| u8::try_from(i).unwrap());
        Cosigner::from_seed("witness.example/sai-1", &seed).unwrap()
    }

    const CHECKPOINT_8: &str =
        "amanah.local/audit\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n";

    #[test]
    fn the_known_answers_of_appendix_b() {
        assert_eq!(
            witness().verifier().to_string(),
            "witness.example/sai-1+c7d519f3+BAOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"
        );
        assert_eq!(
            witness().cosign(CHECKPOINT_8, 1_700_000_000),
            "\u{2014} witness.example/sai-1 x9UZ8wAAAABlU/EAle0yUTbl3em+QBXpqhHS2PUQXwf2SzrkXEQ7\
             FvRcXo8A/3+UPamXs2yHbCZxffDANKoF/lD8C6gWz+FaeRWQDw==\n"
        );
        // A key of the public witness network (transparency-dev/formats' tests) parses: its key
        // ID recomputes.
        let remora = CosignatureVerifier::parse(
            "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2",
        )
        .unwrap();
        assert_eq!(remora.key_id(), 0xda77_ade7);
    }

    #[test]
    fn a_cosignature_verifies_over_its_note_and_time_only() {
        let witness = witness();
        let note = format!(
            "{CHECKPOINT_8}\n{}",
            witness.cosign(CHECKPOINT_8, 1_700_000_000)
        );
        let parsed = parse_note(note.as_bytes()).unwrap();
        let line = &parsed.signatures[0];
        let verifier = witness.verifier();
        assert_eq!(verifier.verify(parsed.text, line), Ok(1_700_000_000));

        // Over another note.
        let other = CHECKPOINT_8.replace("\n8\n", "\n9\n");
        assert_eq!(
            verifier.verify(&other, line),
            Err(CosignatureError::BadSignature)
        );
        // With a tampered time.
        let mut tampered = line.clone();
        tampered.signature[7] ^= 1;
        assert_eq!(
            verifier.verify(parsed.text, &tampered),
            Err(CosignatureError::BadSignature)
        );
        // Time zero, and beyond 2^63 − 1.
        for time in [0_u64, MAX_TIME + 1] {
            let mut out_of_range = line.clone();
            out_of_range.signature[..8].copy_from_slice(&time.to_be_bytes());
            assert_eq!(
                verifier.verify(parsed.text, &out_of_range),
                Err(CosignatureError::TimeOutOfRange(time))
            );
        }
        // Short, and by another witness.
        let mut short = line.clone();
        short.signature.pop();
        assert_eq!(
            verifier.verify(parsed.text, &short),
            Err(CosignatureError::WrongLength(71))
        );
        let stranger = Cosigner::generate("witness.example/sai-2")
            .unwrap()
            .verifier();
        assert_eq!(
            stranger.verify(parsed.text, line),
            Err(CosignatureError::NotThisWitness)
        );
    }

    #[test]
    fn keys_round_trip_and_a_note_key_is_not_a_witness_key() {
        let witness = witness();
        let text = witness.to_private_key_string();
        let again = Cosigner::from_private_key_string(&format!("{text}\n")).unwrap();
        assert_eq!(again.verifier(), witness.verifier());
        assert_eq!(
            CosignatureVerifier::parse(&witness.verifier().to_string()).unwrap(),
            witness.verifier()
        );
        // The log's own key (type 0x01) is refused as a witness key.
        assert_eq!(
            CosignatureVerifier::parse(
                "amanah.local/audit+8416f965+ASmsuuFBvMrwsi4alNNNC8c2HlJtC/4SyJeUvJMilm3X"
            ),
            Err(KeyError::UnsupportedAlgorithm(0x01))
        );
        let wrong_id = witness
            .verifier()
            .to_string()
            .replace("+c7d519f3+", "+c7d519f4+");
        assert!(matches!(
            CosignatureVerifier::parse(&wrong_id),
            Err(KeyError::KeyIdMismatch { .. })
        ));
    }
}
