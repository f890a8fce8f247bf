//! Amanah's adapters: the implementations of the domain's ports, in four groups.
//!
//! * [`store`]: the database and the append-only log. [`store::event_store::SqlEventStore`]
//!   implements [`amanah_domain::ports::EventStore`] on SQLite and PostgreSQL: one sequencer task
//!   per process commits appends in batches (group commit), under a lock on the log head that
//!   serialises every replica, so that the global index is gapless and index order equals commit
//!   order. Beside it: opening and migrating the database ([`store::database`]), statements for
//!   either engine ([`store::sql`]), driver errors mapped to the port's ([`store::db_error`]),
//!   the statement counter ([`store::statements`]), following the log ([`store::follow`]) and
//!   the idempotency keys shared by every replica ([`store::idempotency`]).
//! * [`read_model`]: the tables queries read, written by the projection inside the append
//!   transaction ([`read_model::projection::Projector`], [`read_model::SqlProjector`]), and the
//!   queries behind GraphQL ([`read_model::queries`]).
//! * [`audit`]: the audit log's stored side — the Merkle tree and signed checkpoints in the
//!   database ([`audit::tree`]) and their copy in memory ([`audit::tree_cache`]), queries of the
//!   log ([`audit::query`]), the signing key file, export and `verify-db` ([`audit::files`]). The
//!   pure parts (canonical JSON, the Merkle tree, signed notes, checkpoints, the export verifier)
//!   are the crate `amanah-audit`; [`envelope`] writes and reads the leaf bytes in its format.
//! * [`auth`]: bearer tokens — verification (HS256, JWKS) and minting for development.
//!
//! [`migration`] holds the schema; [`testing`] gives tests a fresh, migrated database on either
//! engine.

pub mod audit;
pub mod auth;
pub mod envelope;
pub mod iati;
#[expect(
    elided_lifetimes_in_paths,
    reason = "sea-orm-migration's `MigrationTrait` is an async_trait whose `up`/`down` take \
              `&SchemaManager` with its lifetime elided; naming it breaks the trait's signature"
)]
pub mod migration;
pub mod private_file;
pub mod read_model;
pub mod store;
pub mod testing;
pub mod url_redaction;
pub mod witness;

pub use read_model::projection::{NoProjection, Projector};
pub use store::event_store::{SqlEventStore, StoreConfig};

/// Standard base64 (RFC 4648 §4), as the audit log serves hashes.
#[must_use]
pub fn base64_standard(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
