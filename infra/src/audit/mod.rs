//! The audit log's stored side: the Merkle tree and signed checkpoints in the database
//! ([`tree`]), their copy in memory that proofs are served from ([`tree_cache`]), queries of the
//! log ([`query`]), the [`AuditLog`](amanah_domain::ports::AuditLog) port over all of them
//! ([`log`]), the files: the signing key, `audit export`, `audit verify-db` ([`files`]), and the
//! witnesses' cosignatures of the checkpoints ([`cosignatures`]).

pub mod cosignatures;
pub mod files;
pub mod log;
pub mod query;
pub mod tree;
pub mod tree_cache;
