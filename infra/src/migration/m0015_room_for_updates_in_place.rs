//! On PostgreSQL, the tables of the aggregates' own rows (`organisations`, `projects`,
//! `activities`) leave a fifth of each page free, so that a row's new version fits beside the old
//! one.
//!
//! Every append updates its aggregate's row (its version and state change). PostgreSQL writes no
//! index entry for an update whose indexed columns did not change, a heap-only tuple, but only
//! when the new version fits on the old one's page; on full pages (the default fill factor is
//! 100) each update is written elsewhere, with an entry in every index of the table (nine on
//! `projects`, ten on `activities`). The setting applies to the pages written from now on.
//! SQLite has no such setting and needs none.

use sea_orm_migration::prelude::*;

use super::execute_on_postgres;

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES: [&str; 3] = [
    "ALTER TABLE organisations SET (fillfactor = 80)",
    "ALTER TABLE projects SET (fillfactor = 80)",
    "ALTER TABLE activities SET (fillfactor = 80)",
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
