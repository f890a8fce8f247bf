//! The read model: what queries read, written by the projection in the same transaction as the
//! events it follows from.
//!
//! These tables are disposable: `amanah replay` rebuilds them by folding the log, so they carry no
//! append-only triggers, and no foreign keys (a replay may write them in any order). Each
//! aggregate's row keeps its whole state as JSON in `state`; the other columns are what queries
//! filter, sort or join on. Codes (IATI code lists, ISO countries and currencies) are text,
//! percentages are decimal strings, money is an integer count of minor units, dates are `DATE`.
//!
//! Uniqueness rules of the domain that the database enforces here surface as
//! `StoreError::Duplicate` (see [`crate::store::db_error`]): `organisations.ref` and
//! `projects.iati_identifier`.

use sea_orm_migration::prelude::*;

use super::execute_all;

#[derive(DeriveMigrationName)]
pub struct Migration;

const STATEMENTS: [&str; 33] = [
    "CREATE TABLE organisations (
        id TEXT PRIMARY KEY,
        ref TEXT UNIQUE,
        name TEXT NOT NULL,
        acronym TEXT,
        type_code TEXT NOT NULL,
        country TEXT,
        website TEXT,
        deactivated BOOLEAN NOT NULL DEFAULT FALSE,
        version BIGINT NOT NULL,
        state TEXT NOT NULL
    )",
    "CREATE INDEX organisations_name_idx ON organisations (name)",
    "CREATE INDEX organisations_type_code_idx ON organisations (type_code)",
    "CREATE INDEX organisations_country_idx ON organisations (country)",
    "CREATE TABLE projects (
        id TEXT PRIMARY KEY,
        iati_identifier TEXT NOT NULL UNIQUE,
        reporting_org_id TEXT NOT NULL,
        title TEXT NOT NULL,
        status_code TEXT NOT NULL,
        planned_start DATE,
        planned_end DATE,
        actual_start DATE,
        actual_end DATE,
        version BIGINT NOT NULL,
        state TEXT NOT NULL
    )",
    "CREATE INDEX projects_reporting_org_id_idx ON projects (reporting_org_id)",
    "CREATE INDEX projects_status_code_idx ON projects (status_code)",
    "CREATE TABLE project_participants (
        project_id TEXT NOT NULL,
        position BIGINT NOT NULL,
        organisation_id TEXT NOT NULL,
        role_code TEXT NOT NULL,
        PRIMARY KEY (project_id, position)
    )",
    "CREATE INDEX project_participants_organisation_id_idx ON project_participants (organisation_id)",
    "CREATE TABLE project_countries (
        project_id TEXT NOT NULL,
        position BIGINT NOT NULL,
        country_code TEXT NOT NULL,
        percentage TEXT,
        PRIMARY KEY (project_id, position)
    )",
    "CREATE INDEX project_countries_country_code_idx ON project_countries (country_code)",
    "CREATE TABLE project_regions (
        project_id TEXT NOT NULL,
        position BIGINT NOT NULL,
        region_code TEXT NOT NULL,
        percentage TEXT,
        PRIMARY KEY (project_id, position)
    )",
    "CREATE INDEX project_regions_region_code_idx ON project_regions (region_code)",
    "CREATE TABLE project_sectors (
        project_id TEXT NOT NULL,
        position BIGINT NOT NULL,
        sector_code TEXT NOT NULL,
        percentage TEXT,
        PRIMARY KEY (project_id, position)
    )",
    "CREATE INDEX project_sectors_sector_code_idx ON project_sectors (sector_code)",
    "CREATE TABLE project_budgets (
        project_id TEXT NOT NULL,
        position BIGINT NOT NULL,
        type_code TEXT NOT NULL,
        status_code TEXT NOT NULL,
        period_start DATE NOT NULL,
        period_end DATE NOT NULL,
        minor_units BIGINT NOT NULL,
        currency TEXT NOT NULL,
        value_date DATE,
        PRIMARY KEY (project_id, position)
    )",
    "CREATE TABLE project_transactions (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        position BIGINT NOT NULL,
        type_code TEXT NOT NULL,
        date DATE NOT NULL,
        minor_units BIGINT NOT NULL,
        currency TEXT NOT NULL,
        value_date DATE,
        description TEXT,
        provider_org_id TEXT,
        receiver_org_id TEXT,
        ref TEXT,
        reverses_id TEXT
    )",
    "CREATE UNIQUE INDEX project_transactions_position_key ON project_transactions (project_id, position)",
    "CREATE INDEX project_transactions_provider_org_id_idx ON project_transactions (provider_org_id)",
    "CREATE INDEX project_transactions_receiver_org_id_idx ON project_transactions (receiver_org_id)",
    "CREATE INDEX project_transactions_reverses_id_idx ON project_transactions (reverses_id)",
    "CREATE TABLE project_documents (
        project_id TEXT NOT NULL,
        position BIGINT NOT NULL,
        url TEXT NOT NULL,
        title TEXT NOT NULL,
        category_code TEXT NOT NULL,
        format TEXT,
        date DATE,
        PRIMARY KEY (project_id, position)
    )",
    "CREATE TABLE activities (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        title TEXT NOT NULL,
        kind TEXT NOT NULL,
        status TEXT NOT NULL,
        country TEXT,
        planned_start DATE,
        planned_end DATE,
        version BIGINT NOT NULL,
        state TEXT NOT NULL
    )",
    "CREATE INDEX activities_project_id_idx ON activities (project_id)",
    "CREATE INDEX activities_kind_idx ON activities (kind)",
    "CREATE INDEX activities_status_idx ON activities (status)",
    "CREATE INDEX activities_country_idx ON activities (country)",
    "CREATE TABLE activity_partners (
        activity_id TEXT NOT NULL,
        organisation_id TEXT NOT NULL,
        role TEXT NOT NULL,
        PRIMARY KEY (activity_id, organisation_id, role)
    )",
    "CREATE INDEX activity_partners_organisation_id_idx ON activity_partners (organisation_id)",
    "CREATE TABLE activity_chapters (
        activity_id TEXT NOT NULL,
        chapter TEXT NOT NULL,
        PRIMARY KEY (activity_id, chapter)
    )",
    "CREATE INDEX activity_chapters_chapter_idx ON activity_chapters (chapter)",
    "CREATE INDEX activities_planned_start_idx ON activities (planned_start)",
    "CREATE INDEX projects_planned_start_idx ON projects (planned_start)",
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
