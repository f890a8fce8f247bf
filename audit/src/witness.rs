//! The witness's side of C2SP tlog-witness `add-checkpoint` (`docs/witness.md` §1–2): the
//! request's wire format and what a witness answers, as a pure function of the request and what
//! it stored for the log. The server around it (`amanah witness serve`) persists the new size
//! and root, and signs, only when this says [`Decision::Cosign`].
//!
//! The checks run in the specification's order: unknown origin 404; no trusted log signature,
//! or a trusted one that fails, 403; `old` beyond the checkpoint's size 400; `old` not the stored
//! size 409 (with the stored size); then the consistency checks, 422.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::checkpoint::Checkpoint;
use crate::merkle::{Hash, empty_root, verify_consistency};
use crate::note::{VerifierKey, parse_note};

/// The largest request body a witness reads.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The most consistency-proof hashes a request may carry (a proof in a tree of 2^63 leaves).
pub const MAX_PROOF_HASHES: usize = 63;

/// `POST <prefix>/add-checkpoint`: the size the log believes the witness holds, the consistency
/// proof from it, and the signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    pub old: u64,
    pub proof: Vec<Hash>,
    /// The checkpoint as a signed note.
    pub checkpoint: String,
}

impl AddCheckpoint {
    /// Parses the body: `old <N>\n`, 0–63 lines of base64 hashes, a blank line, the note.
    ///
    /// # Errors
    /// [`Refusal::BadRequest`] naming what is malformed.
    pub fn parse(body: &[u8]) -> Result<Self, Refusal> {
        let bad = |reason: &'static str| Refusal::BadRequest(reason);
        if body.len() > MAX_BODY_BYTES {
            return Err(bad("the body is larger than 16 KiB"));
        }
        let body = std::str::from_utf8(body).map_err(|_| bad("the body is not UTF-8"))?;
        let (first, mut rest) = body.split_once('\n').ok_or(bad("no `old` line"))?;
        let old = first
            .strip_prefix("old ")
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .filter(|n| *n == "0" || !n.starts_with('0'))
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or(bad(
                "the first line must be `old <size>` in decimal without leading zeros",
            ))?;
        let mut proof = Vec::new();
        loop {
            let (line, after) = rest
                .split_once('\n')
                .ok_or(bad("no blank line before the checkpoint"))?;
            rest = after;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_HASHES {
                return Err(bad("more than 63 proof hashes"));
            }
            let hash: Hash = STANDARD
                .decode(line)
                .ok()
                .and_then(|bytes| bytes.try_into().ok())
                .ok_or(bad("a proof line is not the base64 of 32 bytes"))?;
            proof.push(hash);
        }
        Ok(Self {
            old,
            proof,
            checkpoint: rest.to_owned(),
        })
    }

    /// The body, as the log sends it.
    #[must_use]
    pub fn to_body(&self) -> String {
        let mut body = format!("old {}\n", self.old);
        for hash in &self.proof {
            body.push_str(&STANDARD.encode(hash));
            body.push('\n');
        }
        body.push('\n');
        body.push_str(&self.checkpoint);
        body
    }
}

/// What the witness stored for a log: its keys and the size and root it last cosigned (size 0
/// and the empty tree's root before the first checkpoint, which it trusts on first use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trusted {
    pub keys: Vec<VerifierKey>,
    pub size: u64,
    pub root: Hash,
}

/// Why a witness does not cosign, with the status it answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// 404: the witness does not know the log.
    #[error("unknown log origin {0:?}")]
    UnknownOrigin(String),
    /// 403: no signature by a trusted key of the log, or one that does not verify.
    #[error("the checkpoint is not signed by the log's trusted key")]
    NotSignedByTheLog,
    /// 400.
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// 409: the log's idea of the witness's size is wrong; the witness holds `size`.
    #[error("the witness holds size {size}")]
    Conflict { size: u64 },
    /// 422: the checkpoint is signed by the log but does not extend what the witness holds.
    /// The request is evidence of a split view.
    #[error("inconsistent: {0}")]
    Inconsistent(&'static str),
}

impl Refusal {
    /// The HTTP status of the answer.
    #[must_use]
    pub const fn status(&self) -> u16 {
        match self {
            Self::UnknownOrigin(_) => 404,
            Self::NotSignedByTheLog => 403,
            Self::BadRequest(_) => 400,
            Self::Conflict { .. } => 409,
            Self::Inconsistent(_) => 422,
        }
    }

    /// Whether the request is evidence of a split view: signed by the log, yet inconsistent
    /// with what the witness cosigned. The witness keeps such requests.
    #[must_use]
    pub const fn is_evidence(&self) -> bool {
        matches!(self, Self::Inconsistent(_))
    }
}

/// What a witness does with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Store `checkpoint`'s size and root (if the stored size is still `old`), then cosign
    /// `text`, the checkpoint's note text.
    Cosign {
        checkpoint: Checkpoint,
        text: String,
    },
    Refuse(Refusal),
}

/// Decides a request. `lookup` finds what the witness stored for an origin.
#[must_use]
pub fn decide(request: &AddCheckpoint, lookup: impl FnOnce(&str) -> Option<Trusted>) -> Decision {
    match check(request, lookup) {
        Ok((checkpoint, text)) => Decision::Cosign { checkpoint, text },
        Err(refusal) => Decision::Refuse(refusal),
    }
}

fn check(
    request: &AddCheckpoint,
    lookup: impl FnOnce(&str) -> Option<Trusted>,
) -> Result<(Checkpoint, String), Refusal> {
    let note = parse_note(request.checkpoint.as_bytes())
        .map_err(|_| Refusal::BadRequest("the checkpoint is not a signed note"))?;
    let checkpoint = Checkpoint::parse_body(note.text)
        .map_err(|_| Refusal::BadRequest("the note is not a checkpoint"))?;
    let trusted = lookup(&checkpoint.origin)
        .ok_or_else(|| Refusal::UnknownOrigin(checkpoint.origin.clone()))?;
    let mut signed = false;
    for line in &note.signatures {
        for key in &trusted.keys {
            if line.name == key.name() && line.key_id == key.key_id() {
                if !key.verify(note.text.as_bytes(), &line.signature) {
                    return Err(Refusal::NotSignedByTheLog);
                }
                signed = true;
            }
        }
    }
    if !signed {
        return Err(Refusal::NotSignedByTheLog);
    }
    if request.old > checkpoint.size {
        return Err(Refusal::BadRequest(
            "old is larger than the checkpoint's size",
        ));
    }
    if request.old != trusted.size {
        return Err(Refusal::Conflict { size: trusted.size });
    }
    if checkpoint.size == 0 && checkpoint.root != empty_root() {
        return Err(Refusal::Inconsistent(
            "an empty tree has the root SHA-256(\"\")",
        ));
    }
    if request.old == 0 {
        if !request.proof.is_empty() {
            return Err(Refusal::Inconsistent("a proof from size 0 must be empty"));
        }
    } else {
        verify_consistency(
            request.old,
            checkpoint.size,
            &request.proof,
            &trusted.root,
            &checkpoint.root,
        )
        .map_err(|_| {
            Refusal::Inconsistent("the checkpoint does not extend the one the witness cosigned")
        })?;
    }
    Ok((checkpoint, note.text.to_owned()))
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use super::*;
    use crate::merkle::{NodeId, consistency_plan, leaf_hash, node_hash};
    use crate::note::SigningKey;

    /// Appendix B: the log key from the seed `20 21 … 3f`.
    fn log_key() -> SigningKey {
        let seed: [u8; 32] = std::array::from_fn(|i| u8::try_from(i + 0x20).unwrap());
        SigningKey::from_seed("amanah.local/audit", &seed).unwrap()
    }

    /// The leaves of RFC 6962's test tree (and transparency-dev/merkle's test data).
    fn leaves() -> Vec<Vec<u8>> {
        [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|hex| {
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect()
        })
        .collect()
    }

    fn node(leaves: &[Vec<u8>], id: NodeId) -> Hash {
        if id.level == 0 {
            return leaf_hash(&leaves[usize::try_from(id.index).unwrap()]);
        }
        let child = |index| NodeId {
            level: id.level - 1,
            index,
        };
        node_hash(
            &node(leaves, child(2 * id.index)),
            &node(leaves, child(2 * id.index + 1)),
        )
    }

    fn root(size: u64) -> Hash {
        let leaves = leaves();
        let mut range = crate::merkle::CompactRange::new();
        for leaf in &leaves[..usize::try_from(size).unwrap()] {
            range.push(leaf_hash(leaf));
        }
        range.root()
    }

    fn proof(old: u64, size: u64) -> Vec<Hash> {
        let leaves = leaves();
        consistency_plan(old, size)
            .unwrap()
            .assemble(|id| Some(node(&leaves, id)))
            .unwrap()
    }

    fn signed(size: u64, root: Hash, key: &SigningKey) -> String {
        Checkpoint::new("amanah.local/audit", size, root)
            .sign(key)
            .unwrap()
    }

    fn trusted(size: u64) -> Trusted {
        Trusted {
            keys: vec![log_key().verifier_key()],
            size,
            root: root(size),
        }
    }

    fn request(old: u64, size: u64) -> AddCheckpoint {
        AddCheckpoint {
            old,
            proof: if old == 0 {
                Vec::new()
            } else {
                proof(old, size)
            },
            checkpoint: signed(size, root(size), &log_key()),
        }
    }

    fn answer(request: &AddCheckpoint, stored: u64) -> Result<u64, Refusal> {
        match decide(request, |origin| {
            (origin == "amanah.local/audit").then(|| trusted(stored))
        }) {
            Decision::Cosign { checkpoint, .. } => Ok(checkpoint.size),
            Decision::Refuse(refusal) => Err(refusal),
        }
    }

    const BODY_3_TO_8: &str = "old 3\n\
        ApjRIpBtz8EIkstTpzmS/FufST6kybrbJ7eRtBJ6f+c=\n\
        B1Bqhf2d0vEg62lPhgEeW7RmLlxBWmKRcDPUqWJEh+c=\n\
        +sVCA+fMaWzw38tCySodnbr3CtnmIfS9jZhmLwDjwSU=\n\
        a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ=\n\
        \n\
        amanah.local/audit\n\
        8\n\
        XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\
        \n\
        \u{2014} amanah.local/audit hBb5ZXpaILOcJDWUI8S6d2p5/CfA68mHE75EqEFWYlinYnYkZCESjVI+RZ5ZKg8+L9ENfDMypRfzGRffZ3rLbL2FUg0=\n";

    #[test]
    fn the_known_answers_of_appendix_b() {
        assert_eq!(
            log_key().verifier_key().to_string(),
            "amanah.local/audit+8416f965+ASmsuuFBvMrwsi4alNNNC8c2HlJtC/4SyJeUvJMilm3X"
        );
        let parsed = AddCheckpoint::parse(BODY_3_TO_8.as_bytes()).unwrap();
        assert_eq!(parsed, request(3, 8), "the body the log would send");
        assert_eq!(parsed.to_body(), BODY_3_TO_8);
        assert_eq!(
            STANDARD.encode(root(3)),
            "rra8/idLcKFPsGel5VeCZNsPqbUa9eC6FZFY8yngbnc="
        );
        assert_eq!(answer(&parsed, 3), Ok(8));
    }

    /// The failure cases of `docs/witness.md` §5 that a witness decides (3–13).
    #[test]
    fn each_failure_case_gets_its_status() {
        let status = |request: &AddCheckpoint, stored: u64| {
            answer(request, stored).map_err(|refusal| (refusal.status(), refusal.is_evidence()))
        };
        // Trust on first use, then growth with a proof.
        assert_eq!(status(&request(0, 3), 0), Ok(3));
        assert_eq!(status(&request(3, 8), 3), Ok(8));
        // 3: a stale old size is a 409 with the stored size.
        assert_eq!(
            answer(&request(3, 8), 5),
            Err(Refusal::Conflict { size: 5 })
        );
        // 4: a split view at the same size (another root, signed by the log).
        let mut forked = request(5, 5);
        forked.checkpoint = signed(5, root(4), &log_key());
        assert_eq!(status(&forked, 5), Err((422, true)));
        // 5: a split view at a larger size: the proof does not link.
        let mut unlinked = request(3, 8);
        unlinked.checkpoint = signed(8, root(7), &log_key());
        assert_eq!(status(&unlinked, 3), Err((422, true)));
        // 6: a replay after the witness moved on.
        assert_eq!(
            answer(&request(3, 8), 8),
            Err(Refusal::Conflict { size: 8 })
        );
        // 7: the same checkpoint again is cosigned again (a fresh time).
        assert_eq!(status(&request(8, 8), 8), Ok(8));
        // 8: an older checkpoint than the witness holds.
        let older = AddCheckpoint {
            old: 8,
            proof: Vec::new(),
            checkpoint: signed(5, root(5), &log_key()),
        };
        assert_eq!(status(&older, 8), Err((400, false)));
        // 9: another origin.
        assert_eq!(
            decide(&request(0, 3), |_| None),
            Decision::Refuse(Refusal::UnknownOrigin("amanah.local/audit".to_owned()))
        );
        // 10: another key, or a broken signature.
        let mut stranger = request(0, 3);
        let other = SigningKey::generate("amanah.local/audit").unwrap();
        stranger.checkpoint = signed(3, root(3), &other);
        assert_eq!(status(&stranger, 0), Err((403, false)));
        let mut broken = request(0, 3);
        broken.checkpoint = broken.checkpoint.replacen("\n3\n", "\n4\n", 1);
        assert_eq!(status(&broken, 0), Err((403, false)));
        // 11: a bit-flipped, short or extra proof hash; a proof line that is not base64.
        let mut flipped = request(3, 8);
        flipped.proof[1][0] ^= 1;
        let mut short = request(3, 8);
        short.proof.pop();
        let mut extra = request(3, 8);
        extra.proof.push([7; 32]);
        for bad in [flipped, short, extra] {
            assert_eq!(status(&bad, 3), Err((422, true)));
        }
        let not_base64 = BODY_3_TO_8.replacen("ApjR", "A*jR", 1);
        assert_eq!(
            AddCheckpoint::parse(not_base64.as_bytes())
                .unwrap_err()
                .status(),
            400
        );
        // 12: 64 proof lines; a body over 16 KiB.
        let long = format!(
            "old 3\n{}\n{}",
            "ApjRIpBtz8EIkstTpzmS/FufST6kybrbJ7eRtBJ6f+c=\n".repeat(64),
            request(3, 8).checkpoint
        );
        assert_eq!(
            AddCheckpoint::parse(long.as_bytes()).unwrap_err().status(),
            400
        );
        let large = format!("old 3\n\n{}", "x".repeat(MAX_BODY_BYTES));
        assert_eq!(
            AddCheckpoint::parse(large.as_bytes()).unwrap_err().status(),
            400
        );
        // 13: a proof from size 0; an empty tree with another root.
        let mut from_zero = request(0, 3);
        from_zero.proof = proof(1, 3);
        assert_eq!(status(&from_zero, 0), Err((422, true)));
        let mut empty = request(0, 0);
        empty.checkpoint = signed(0, root(1), &log_key());
        assert_eq!(status(&empty, 0), Err((422, true)));
        assert_eq!(status(&request(0, 0), 0), Ok(0));
        // `old` with a leading zero is malformed.
        let zero_led = BODY_3_TO_8.replacen("old 3", "old 03", 1);
        assert_eq!(
            AddCheckpoint::parse(zero_led.as_bytes())
                .unwrap_err()
                .status(),
            400
        );
    }
}
