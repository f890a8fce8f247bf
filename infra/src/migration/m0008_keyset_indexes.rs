//! Indexes for reading lists by keyset ([`crate::read_model::queries`]): one on (sort key, id) for each
//! order a list offers, so that a page is an index walk of its own length wherever it starts, and
//! (project, sort key, id) for the activities of a project. Sort keys that may be absent are
//! indexed as the lists read them, coalesced (the empty text, the earliest date).

use sea_orm_migration::prelude::*;

use super::execute_all;

#[derive(DeriveMigrationName)]
pub struct Migration;

const STATEMENTS: [&str; 12] = [
    "CREATE INDEX organisations_name_id_idx ON organisations (name, id)",
    "CREATE INDEX organisations_ref_id_idx ON organisations ((COALESCE(ref, '')), id)",
    "CREATE INDEX projects_iati_identifier_id_idx ON projects (iati_identifier, id)",
    "CREATE INDEX projects_title_id_idx ON projects (title, id)",
    "CREATE INDEX projects_planned_start_id_idx ON projects ((COALESCE(planned_start, '0001-01-01')), id)",
    "CREATE INDEX projects_status_code_id_idx ON projects (status_code, id)",
    "CREATE INDEX activities_planned_start_id_idx ON activities ((COALESCE(planned_start, '0001-01-01')), id)",
    "CREATE INDEX activities_title_id_idx ON activities (title, id)",
    "CREATE INDEX activities_kind_id_idx ON activities (kind, id)",
    "CREATE INDEX activities_project_planned_start_id_idx ON activities (project_id, (COALESCE(planned_start, '0001-01-01')), id)",
    "CREATE INDEX activities_project_title_id_idx ON activities (project_id, title, id)",
    "CREATE INDEX activities_project_kind_id_idx ON activities (project_id, kind, id)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute_all(manager, STATEMENTS).await
    }
}
