//! A project's transactions leave its kept state (`projects.state`): the state counts them
//! (`transactionCount`) instead, and the rows of `project_transactions`, unchanged, hold them.
//!
//! A state kept before this held every transaction the project had recorded, so each command on
//! the project decoded, evolved and rewrote all of them. Read with this release's `Project`, the
//! old `transactions` member is skipped; this migration rewrites each state once, as the projector
//! now writes it, with the count the member's length gives. The count is the position the next
//! transaction row takes, so it must be right: it is what m0003's rows already number
//! (`position` 0, 1, …, in recording order).
//!
//! States that do not decode are an error: the migration stops, and nothing of it is applied.

use amanah_domain::project::Project;
use sea_orm::{ConnectionTrait, Statement};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        let rows = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT id, state FROM projects ORDER BY id",
            ))
            .await?;
        for row in rows {
            let id: String = row.try_get_by_index(0)?;
            let state: String = row.try_get_by_index(1)?;
            let Some(rewritten) = rewrite(&state).map_err(|error| {
                DbErr::Migration(format!("the kept state of project {id}: {error}"))
            })?
            else {
                continue;
            };
            let update = match backend {
                sea_orm::DbBackend::Postgres => "UPDATE projects SET state = $1 WHERE id = $2",
                _ => "UPDATE projects SET state = ? WHERE id = ?",
            };
            db.execute_raw(Statement::from_sql_and_values(
                backend,
                update,
                [rewritten.into(), id.into()],
            ))
            .await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

/// The state `state` as it is kept now, or `None` when it holds no `transactions` member (a
/// state written by this release already).
fn rewrite(state: &str) -> Result<Option<String>, serde_json::Error> {
    #[derive(serde::Deserialize)]
    struct Old {
        transactions: Option<Vec<serde::de::IgnoredAny>>,
    }
    let Some(transactions) = serde_json::from_str::<Old>(state)?.transactions else {
        return Ok(None);
    };
    let mut project: Project = serde_json::from_str(state)?;
    project.transaction_count = transactions.len() as u64;
    serde_json::to_string(&project).map(Some)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test fails loudly")]
mod tests {
    use super::*;

    #[test]
    fn a_kept_state_with_transactions_is_rewritten_with_their_count_and_one_without_is_left() {
        let minimal = serde_json::json!({
            "id": "0190b0b0-0000-7000-8000-000000000001",
            "iatiIdentifier": "XM-DAC-5-7-2015-1",
            "reportingOrganisationId": "0190b0b0-0000-7000-8000-000000000002",
            "reportingOrgRef": "XM-DAC-5-7",
            "title": "A project",
            "description": "What it does",
            "objectives": null,
            "status": "2",
            "plannedStart": "2016-01-01",
            "plannedEnd": "2018-12-31",
            "actualStart": null,
            "actualEnd": null,
            "participatingOrganisations": [],
            "recipientCountries": [],
            "recipientRegions": [],
            "sectors": [],
            "budgets": [],
            "documents": [],
            "relatedProjects": [],
            "otherIdentifiers": [],
            "version": 4
        });
        let mut old = minimal.clone();
        old["transactions"] = serde_json::json!([{"id": "a"}, {"id": "b"}, {"id": "c"}]);
        let rewritten = rewrite(&old.to_string()).unwrap().unwrap();
        assert!(!rewritten.contains("transactions\""), "{rewritten}");
        let project: Project = serde_json::from_str(&rewritten).unwrap();
        assert_eq!(project.transaction_count, 3);
        assert_eq!(project.version, 4);
        // What the projector writes of that project is what the migration wrote.
        assert_eq!(serde_json::to_string(&project).unwrap(), rewritten);
        assert_eq!(rewrite(&rewritten).unwrap(), None);
        assert!(rewrite("{\"transactions\": 3}").is_err());
    }
}
