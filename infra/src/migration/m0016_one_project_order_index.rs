//! Drops two of `activities`' three per-project order indexes, `(project_id, title, id)` and
//! `(project_id, kind, id)`; `(project_id, planned start, id)` stays.
//!
//! Each was written at every planned activity, at the project's place in the index, so a batch
//! of activities on different projects dirtied a page of each for each project. On SQLite, where
//! the single writer's time goes into writing those pages to the WAL, the two were a fifth of the
//! pages a batch of W2 wrote (BENCHMARKS.md §5). What they served stays cheap without them: a
//! project's activities ordered by title or kind are found by the remaining per-project index
//! (its `project_id` prefix) and sorted, and a project has tens of activities, not thousands. The
//! default order (planned start), which list pages use, keeps its index.

use sea_orm_migration::prelude::*;

use super::execute_all;

#[derive(DeriveMigrationName)]
pub struct Migration;

const STATEMENTS: [&str; 2] = [
    "DROP INDEX activities_project_title_id_idx",
    "DROP INDEX activities_project_kind_id_idx",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute_all(manager, STATEMENTS).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
