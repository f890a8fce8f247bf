//! The ASEAN member states with the date each joined (`docs/domain.md`, "Member states").
//! Reference data: seeded here, changed only by a later migration.

use sea_orm_migration::prelude::*;

use super::execute_all;

#[derive(DeriveMigrationName)]
pub struct Migration;

const STATEMENTS: [&str; 2] = [
    "CREATE TABLE member_states (
        country_code TEXT PRIMARY KEY CHECK (length(country_code) = 2),
        name TEXT NOT NULL,
        joined_on DATE NOT NULL
    )",
    "INSERT INTO member_states (country_code, name, joined_on) VALUES
        ('BN', 'Brunei Darussalam', '1984-01-07'),
        ('KH', 'Cambodia', '1999-04-30'),
        ('ID', 'Indonesia', '1967-08-08'),
        ('LA', 'Lao People''s Democratic Republic', '1997-07-23'),
        ('MY', 'Malaysia', '1967-08-08'),
        ('MM', 'Myanmar', '1997-07-23'),
        ('PH', 'Philippines', '1967-08-08'),
        ('SG', 'Singapore', '1967-08-08'),
        ('TH', 'Thailand', '1967-08-08'),
        ('VN', 'Viet Nam', '1995-07-28'),
        ('TL', 'Timor-Leste', '2025-10-26')",
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
