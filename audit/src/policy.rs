//! C2SP tlog-policy: which log, which witnesses, and which of them must cosign a checkpoint
//! before an auditor trusts it (`docs/witness.md` §1, §4), and the check of a cosigned
//! checkpoint against it.
//!
//! ```text
//! # one item a line; fields separated by spaces or tabs; names defined before they are used
//! log <vkey> [url]
//! witness <name> <vkey> [url]
//! group <name> <k|any|all> <member>…
//! quorum <name|none>
//! ```
//!
//! Amanah's policy has exactly one `log` line, with an Ed25519 note key (`0x01`) whose name is the
//! log's origin; witness keys are `cosignature/v1` keys (`0x04`).

use std::collections::{BTreeMap, HashMap};

use crate::checkpoint::Checkpoint;
use crate::cosignature::{CosignatureError, CosignatureVerifier};
use crate::note::{NoteError, VerifierKey, parse_note};

/// The most witnesses, and the most groups, a policy may name (the spec asks for at least 32).
pub const MAX_ITEMS: usize = 256;

/// How far in the future a cosignature's time may be, in seconds, before the note is rejected.
pub const MAX_CLOCK_SKEW: u64 = 600;

/// A witness of the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyWitness {
    pub name: String,
    pub key: CosignatureVerifier,
    /// Where the log submits checkpoints to it (its `add-checkpoint` prefix).
    pub url: Option<String>,
}

/// A member of a group or the quorum: a witness or a group, by position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Member {
    Witness(usize),
    Group(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    threshold: usize,
    members: Vec<Member>,
}

/// A parsed policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub log: VerifierKey,
    pub log_url: Option<String>,
    pub witnesses: Vec<PolicyWitness>,
    groups: Vec<Group>,
    /// `None`: `quorum none`, no cosignature needed.
    quorum: Option<Member>,
}

/// Why a policy does not parse, with its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("policy line {line}: {reason}")]
pub struct PolicyError {
    pub line: usize,
    pub reason: String,
}

impl Policy {
    /// Parses a policy.
    ///
    /// # Errors
    /// [`PolicyError`] naming the line: an unknown keyword, a bad key, a name used before it is
    /// defined or defined twice, a threshold out of range, a second `log` or `quorum`, or none.
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let mut log = None;
        let mut witnesses: Vec<PolicyWitness> = Vec::new();
        let mut groups: Vec<Group> = Vec::new();
        let mut names: HashMap<String, Member> = HashMap::new();
        let mut quorum = None;
        let mut last = 0;
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            last = line;
            let fail = |reason: String| PolicyError { line, reason };
            let content = raw.split('#').next().unwrap_or_default();
            let fields: Vec<&str> = content
                .split([' ', '\t'])
                .filter(|f| !f.is_empty())
                .collect();
            let Some((&keyword, args)) = fields.split_first() else {
                continue;
            };
            match (keyword, args) {
                ("log", [vkey, rest @ ..]) if rest.len() <= 1 => {
                    if log.is_some() {
                        return Err(fail(
                            "a second `log` line: Amanah's policy names one log".into(),
                        ));
                    }
                    let key = VerifierKey::parse(vkey).map_err(|e| fail(e.to_string()))?;
                    log = Some((key, rest.first().map(|u| (*u).to_owned())));
                }
                ("witness", [name, vkey, rest @ ..]) if rest.len() <= 1 => {
                    if names.contains_key(*name) {
                        return Err(fail(format!("{name} is defined twice")));
                    }
                    if witnesses.len() == MAX_ITEMS {
                        return Err(fail(format!("more than {MAX_ITEMS} witnesses")));
                    }
                    let key = CosignatureVerifier::parse(vkey).map_err(|e| fail(e.to_string()))?;
                    names.insert((*name).to_owned(), Member::Witness(witnesses.len()));
                    witnesses.push(PolicyWitness {
                        name: (*name).to_owned(),
                        key,
                        url: rest.first().map(|u| (*u).to_owned()),
                    });
                }
                ("group", [name, threshold, members @ ..]) if !members.is_empty() => {
                    if names.contains_key(*name) {
                        return Err(fail(format!("{name} is defined twice")));
                    }
                    if groups.len() == MAX_ITEMS {
                        return Err(fail(format!("more than {MAX_ITEMS} groups")));
                    }
                    let members = members
                        .iter()
                        .map(|member| {
                            names.get(*member).copied().ok_or_else(|| {
                                fail(format!("{member} is not defined on an earlier line"))
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    let threshold = match *threshold {
                        "any" => 1,
                        "all" => members.len(),
                        k => k
                            .parse::<usize>()
                            .ok()
                            .filter(|k| (1..=members.len()).contains(k))
                            .ok_or_else(|| {
                                fail(format!(
                                    "the threshold {k:?} is not any, all or 1 to {}",
                                    members.len()
                                ))
                            })?,
                    };
                    names.insert((*name).to_owned(), Member::Group(groups.len()));
                    groups.push(Group { threshold, members });
                }
                ("quorum", [name]) => {
                    if quorum.is_some() {
                        return Err(fail("a second `quorum` line".into()));
                    }
                    quorum = Some(match *name {
                        "none" => None,
                        name => Some(names.get(name).copied().ok_or_else(|| {
                            fail(format!("{name} is not defined on an earlier line"))
                        })?),
                    });
                }
                _ => {
                    return Err(fail(format!(
                        "expected `log <vkey> [url]`, `witness <name> <vkey> [url]`, `group \
                         <name> <k|any|all> <member>…` or `quorum <name|none>`, got {keyword:?}"
                    )));
                }
            }
        }
        let missing = |what: &str| PolicyError {
            line: last,
            reason: format!("the policy has no `{what}` line"),
        };
        let (log, log_url) = log.ok_or_else(|| missing("log"))?;
        let quorum = quorum.ok_or_else(|| missing("quorum"))?;
        Ok(Self {
            log,
            log_url,
            witnesses,
            groups,
            quorum,
        })
    }

    /// Whether the witnesses at the positions in `cosigned` meet the quorum.
    #[must_use]
    pub fn is_met(&self, cosigned: &[bool]) -> bool {
        self.quorum
            .is_none_or(|member| self.member_met(member, cosigned))
    }

    fn member_met(&self, member: Member, cosigned: &[bool]) -> bool {
        match member {
            Member::Witness(index) => cosigned.get(index).copied().unwrap_or(false),
            Member::Group(index) => self.groups.get(index).is_some_and(|group| {
                group
                    .members
                    .iter()
                    .filter(|member| self.member_met(**member, cosigned))
                    .count()
                    >= group.threshold
            }),
        }
    }
}

/// A checkpoint that met a policy: what it says, and which witnesses cosigned it when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosigned {
    pub checkpoint: Checkpoint,
    /// The witnesses whose cosignatures verified, by key name, with their newest times, in
    /// policy order.
    pub witnesses: Vec<(String, u64)>,
}

/// Why a cosigned checkpoint is not trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CosignedError {
    #[error("the checkpoint note: {0}")]
    Note(#[from] NoteError),
    #[error("the checkpoint is not a checkpoint of the policy's log")]
    NotTheLog,
    #[error("witness {name}'s cosignature does not count: {error}")]
    BadCosignature {
        name: String,
        error: CosignatureError,
    },
    #[error("witness {name}'s cosignature is dated {time}, more than 10 minutes in the future")]
    FromTheFuture { name: String, time: u64 },
    #[error("quorum not met (verified: {})", verified.join(", "))]
    QuorumNotMet { verified: Vec<String> },
}

/// Checks a cosigned checkpoint note against `policy` at time `now` (POSIX seconds): the log's
/// signature, every line of a known witness (one that fails rejects the note; lines of unknown
/// keys are ignored; a witness counts once), and the quorum.
///
/// # Errors
/// [`CosignedError`] saying what failed.
pub fn verify_cosigned(note: &[u8], policy: &Policy, now: u64) -> Result<Cosigned, CosignedError> {
    let text = crate::note::open_note(note, &policy.log)?;
    let checkpoint = Checkpoint::parse_body(text).map_err(|_| CosignedError::NotTheLog)?;
    if checkpoint.origin != policy.log.name() {
        return Err(CosignedError::NotTheLog);
    }
    let parsed = parse_note(note)?;
    let mut times: BTreeMap<usize, u64> = BTreeMap::new();
    for line in &parsed.signatures {
        let Some(index) = policy.witnesses.iter().position(|w| w.key.names(line)) else {
            continue;
        };
        let witness = &policy.witnesses[index];
        let time =
            witness
                .key
                .verify(text, line)
                .map_err(|error| CosignedError::BadCosignature {
                    name: witness.name.clone(),
                    error,
                })?;
        if time > now.saturating_add(MAX_CLOCK_SKEW) {
            return Err(CosignedError::FromTheFuture {
                name: witness.name.clone(),
                time,
            });
        }
        let newest = times.entry(index).or_insert(time);
        *newest = (*newest).max(time);
    }
    let mut cosigned = vec![false; policy.witnesses.len()];
    for index in times.keys() {
        cosigned[*index] = true;
    }
    let witnesses: Vec<(String, u64)> = times
        .iter()
        .map(|(index, time)| (policy.witnesses[*index].key.name().to_owned(), *time))
        .collect();
    if !policy.is_met(&cosigned) {
        return Err(CosignedError::QuorumNotMet {
            verified: witnesses.into_iter().map(|(name, _)| name).collect(),
        });
    }
    Ok(Cosigned {
        checkpoint,
        witnesses,
    })
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use super::*;
    use crate::cosignature::Cosigner;
    use crate::merkle::empty_root;
    use crate::note::SigningKey;

    fn log_key() -> SigningKey {
        let seed: [u8; 32] = std::array::from_fn(|i| u8::try_from(i + 0x20).unwrap());
        SigningKey::from_seed("amanah.local/audit", &seed).unwrap()
    }

    fn witness(n: u8) -> Cosigner {
        Cosigner::from_seed(&format!("sai-{n}.example/witness"), &[n; 32]).unwrap()
    }

    fn policy(quorum: &str) -> String {
        let mut text = format!(
            "# three SAIs\nlog {} https://amanah.example/audit\n",
            log_key().verifier_key()
        );
        for n in 1..=3 {
            text.push_str(&format!(
                "witness w{n}\t{} https://sai-{n}.example/\n",
                witness(n).verifier()
            ));
        }
        text.push_str(&format!("group two-of-three 2 w1 w2 w3\nquorum {quorum}\n"));
        text
    }

    /// The size-5 checkpoint signed by the log and cosigned by `witnesses` at `time`.
    fn note(witnesses: &[u8], time: u64) -> String {
        let signed = Checkpoint::new("amanah.local/audit", 5, empty_root())
            .sign(&log_key())
            .unwrap();
        let text = &signed[..=signed.find("\n\n").unwrap()];
        let mut note = signed.clone();
        for n in witnesses {
            note.push_str(&witness(*n).cosign(text, time));
        }
        note
    }

    const NOW: u64 = 1_800_000_000;

    #[test]
    fn a_two_of_three_quorum() {
        let policy = Policy::parse(&policy("two-of-three")).unwrap();
        assert_eq!(policy.witnesses.len(), 3);
        assert_eq!(
            policy.witnesses[1].url.as_deref(),
            Some("https://sai-2.example/")
        );
        let cosigned = verify_cosigned(note(&[1, 3], NOW).as_bytes(), &policy, NOW).unwrap();
        assert_eq!(cosigned.checkpoint.size, 5);
        assert_eq!(
            cosigned.witnesses,
            vec![
                ("sai-1.example/witness".to_owned(), NOW),
                ("sai-3.example/witness".to_owned(), NOW)
            ]
        );
        // One witness is not enough; the same one twice counts once.
        assert_eq!(
            verify_cosigned(note(&[2, 2], NOW).as_bytes(), &policy, NOW),
            Err(CosignedError::QuorumNotMet {
                verified: vec!["sai-2.example/witness".to_owned()]
            })
        );
        // A line by a key the policy does not know is ignored.
        let mut with_stranger = note(&[1, 3], NOW);
        with_stranger.push_str(&witness(9).cosign("anything\n", NOW));
        assert!(verify_cosigned(with_stranger.as_bytes(), &policy, NOW).is_ok());
        // A known witness's line that fails rejects the note, quorum or not.
        let mut tampered = note(&[1, 2, 3], NOW);
        let at = tampered.rfind("sai-3.example/witness ").unwrap() + 40;
        let byte = if &tampered[at..=at] == "A" { "B" } else { "A" };
        tampered.replace_range(at..=at, byte);
        assert!(matches!(
            verify_cosigned(tampered.as_bytes(), &policy, NOW),
            Err(CosignedError::BadCosignature { .. })
        ));
        // A time more than 10 minutes ahead.
        assert!(matches!(
            verify_cosigned(note(&[1, 2], NOW + 601).as_bytes(), &policy, NOW),
            Err(CosignedError::FromTheFuture { .. })
        ));
        assert!(verify_cosigned(note(&[1, 2], NOW + 600).as_bytes(), &policy, NOW).is_ok());
    }

    #[test]
    fn quorum_none_any_all_and_nested_groups() {
        let none = Policy::parse(&policy("none")).unwrap();
        assert!(verify_cosigned(note(&[], NOW).as_bytes(), &none, NOW).is_ok());
        let single = Policy::parse(&policy("w2")).unwrap();
        assert!(single.is_met(&[false, true, false]));
        assert!(!single.is_met(&[true, false, true]));
        let text = policy("two-of-three").replace(
            "quorum two-of-three\n",
            "group both all w1 w2\ngroup either any both w3\nquorum either\n",
        );
        let nested = Policy::parse(&text).unwrap();
        assert!(nested.is_met(&[false, false, true]));
        assert!(nested.is_met(&[true, true, false]));
        assert!(!nested.is_met(&[true, false, false]));
    }

    #[test]
    fn malformed_policies_name_their_line() {
        let line_of = |text: &str| Policy::parse(text).unwrap_err().line;
        let base = policy("two-of-three");
        assert_eq!(
            line_of(&base.replace("quorum two-of-three", "quorum nobody")),
            7
        );
        assert_eq!(
            line_of(&base.replace("group two-of-three 2", "group two-of-three 4")),
            6
        );
        assert_eq!(line_of(&base.replace("witness w3", "witness w1")), 5);
        assert_eq!(line_of(&base.replace("witness w2", "witnesses w2")), 4);
        // A note key is not a witness key; a witness key is not the log's.
        let log_vkey = log_key().verifier_key().to_string();
        let w1 = witness(1).verifier().to_string();
        assert_eq!(line_of(&base.replace(&w1, &log_vkey)), 3);
        assert_eq!(line_of(&base.replacen(&log_vkey, &w1, 1)), 2);
        assert!(
            Policy::parse("quorum none\n")
                .unwrap_err()
                .reason
                .contains("log")
        );
    }
}
