//! The audit crate's integration tests, one binary: canonical JSON and the export verifier, the
//! Merkle tree (with the transparency-dev conformance probes), signed notes and checkpoints, and
//! the `amanah-verify` binary run as a process.

mod amanah_verify;
mod export_verify;
mod merkle;
mod merkle_probes;
mod note_checkpoint;
