//! The adapters' integration tests, one binary (one link, one process to start): the event store
//! and its sequencer, the read model, the audit tree and its in-memory copy, the witnesses'
//! cosignatures, the audit files, following the log, and idempotency keys — each on SQLite, and
//! on PostgreSQL when the suite is built with a PostgreSQL URL (see `build/postgres_tests.rs`).

mod audit_files;
mod audit_tree;
mod cosignatures;
mod event_store;
mod follow;
mod idempotency;
mod read_model;
mod tree_cache;
