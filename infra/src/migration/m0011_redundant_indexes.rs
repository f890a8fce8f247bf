//! Drops the read-model indexes that another index of the same table begins with: m0008's
//! (sort key, id) indexes serve every lookup m0003's single-column ones did, and each index is
//! one more tree that every insert and update of a row maintains.
//!
//! * `organisations (name)`: `organisations (name, id)`;
//! * `projects (status_code)`: `projects (status_code, id)`;
//! * `activities (project_id)`: `activities (project_id, kind, id)` and its siblings;
//! * `activities (kind)`: `activities (kind, id)`.

use sea_orm_migration::prelude::*;

use super::execute_all;

#[derive(DeriveMigrationName)]
pub struct Migration;

const STATEMENTS: [&str; 4] = [
    "DROP INDEX organisations_name_idx",
    "DROP INDEX projects_status_code_idx",
    "DROP INDEX activities_project_id_idx",
    "DROP INDEX activities_kind_idx",
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
