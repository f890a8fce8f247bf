//! Amanah's audit log, the parts an auditor needs to check it without trusting the server
//! ([docs/audit-log.md](../../docs/audit-log.md)):
//!
//! * [`jcs`]: RFC 8785 canonical JSON, the encoding of every leaf;
//! * [`envelope`]: the members and version of the envelope each leaf holds;
//! * [`merkle`]: the RFC 9162 Merkle tree — leaf and node hashes, roots, inclusion and
//!   consistency proofs and their verification;
//! * [`note`] and [`checkpoint`]: C2SP signed notes (Ed25519) and the checkpoints they carry;
//! * [`cosignature`]: C2SP `cosignature/v1`, what witnesses add to a checkpoint, and
//!   [`witness`], what a witness answers to `add-checkpoint`, and [`policy`], which witnesses
//!   an auditor requires (C2SP tlog-policy) and the check of a cosigned checkpoint;
//! * [`export_verify`]: the streaming verifier of an export (`events.jsonl` against its signed
//!   checkpoint), and [`files`], the same for an export directory on disk.
//!
//! It depends on no database, async runtime, HTTP or TLS crate (CI checks this), so that an
//! institution can review and build just this crate and its binary `amanah-verify`.

pub mod checkpoint;
pub mod cosignature;
pub mod envelope;
pub mod export_verify;
pub mod files;
pub mod jcs;
pub mod merkle;
pub mod note;
pub mod policy;
pub mod witness;
