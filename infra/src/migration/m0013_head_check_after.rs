//! On PostgreSQL, the log head's size check runs after the row is updated (an `AFTER UPDATE`
//! trigger), no longer before: so a batch can move the head in the same statement that inserts its
//! events.
//!
//! m0001's `BEFORE UPDATE` trigger compared the new size with the events it could see, which in
//! one statement of data-modifying `WITH` queries are not yet those the statement inserts: the
//! head's move had to be a statement of its own, one round trip a batch. A row-level `AFTER`
//! trigger fires when the whole statement is done and sees everything it changed. The rule and its
//! error are m0001's (the same function): the head keeps its id, never decreases, and equals the
//! number of events; a refused update rolls back its statement either way. SQLite sends a batch's
//! writes one statement at a time, events first, and keeps its trigger.

use sea_orm_migration::prelude::*;

use super::execute_on_postgres;

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES: [&str; 2] = [
    "DROP TRIGGER log_head_check_size ON log_head",
    "CREATE TRIGGER log_head_check_size AFTER UPDATE ON log_head
     FOR EACH ROW EXECUTE FUNCTION amanah_log_head_check_size()",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute_on_postgres(manager, POSTGRES).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
