//! Amanah's adapters: the implementations of the domain's ports.
//!
//! * [`event_store::SqlEventStore`] implements [`amanah_domain::ports::EventStore`] on SQLite and
//!   PostgreSQL: one sequencer task per process commits appends in batches (group commit), under a
//!   lock on the log head that serialises every replica, so that the global index is gapless and
//!   index order equals commit order.
//! * [`envelope`] writes and reads the leaf bytes of the audit log (RFC 8785 JSON envelopes, in the
//!   format of [`amanah_audit::envelope`]); the audit log's pure parts (canonical JSON, the Merkle
//!   tree, signed notes, checkpoints, the export verifier) are the crate `amanah-audit`.
//! * [`projection::Projector`] is the seam where the read model is written, inside the append
//!   transaction; [`db_error`] maps driver errors (unique violations → `Duplicate`).
//! * [`idempotency::IdempotencyStore`] keeps the first response to each idempotency key, shared by
//!   every replica.
//! * [`database`] opens and migrates the database; [`migration`] holds the schema.
//! * [`testing`] gives tests a fresh, migrated database on either engine.

pub mod audit_files;
pub mod audit_query;
pub mod audit_tree;
pub mod auth;
pub mod database;
pub mod db_error;
pub mod envelope;
pub mod event_store;
pub mod follow;
pub mod idempotency;
#[expect(
    elided_lifetimes_in_paths,
    reason = "sea-orm-migration's `MigrationTrait` is an async_trait whose `up`/`down` take \
              `&SchemaManager` with its lifetime elided; naming it breaks the trait's signature"
)]
pub mod migration;
pub mod private_file;
pub mod projection;
pub mod read_model;
pub mod read_queries;
pub mod sql;
pub mod statements;
pub mod testing;
pub mod tree_cache;
pub mod url_redaction;

pub use event_store::{AppendStats, CommittedBatch, LogHead, SqlEventStore, StoreConfig};
pub use projection::{NoProjection, Projection, Projector};

/// Standard base64 (RFC 4648 §4), as the audit log serves hashes.
#[must_use]
pub fn base64_standard(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
