//! What an `amanah witness` keeps (`docs/witness.md` §2): the logs it witnesses, each with the
//! size, root and cosigned checkpoint it last vouched for, and the evidence of split views.
//!
//! One SQLite file (WAL, `synchronous=FULL`, as every Amanah database). A log starts at size 0
//! with the empty tree's root, so its first checkpoint is trusted on first use. A cosignature is
//! stored by one conditional `UPDATE … WHERE size = <old>`, so two requests racing from the same
//! size cannot both move it, and the size never goes backwards. Evidence is append-only: triggers
//! refuse every update and delete.

use std::path::Path;

use amanah_audit::merkle::{Hash, empty_root};
use amanah_audit::note::VerifierKey;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, Value};

/// The witness's tables; `CREATE … IF NOT EXISTS`, so opening an existing file changes nothing.
const SCHEMA: [&str; 4] = [
    "CREATE TABLE IF NOT EXISTS witnessed_log (
        origin TEXT PRIMARY KEY,
        vkeys TEXT NOT NULL,
        size INTEGER NOT NULL,
        root BLOB NOT NULL,
        checkpoint TEXT
    )",
    "CREATE TABLE IF NOT EXISTS evidence (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        received_at TEXT NOT NULL,
        origin TEXT NOT NULL,
        status INTEGER NOT NULL,
        body TEXT NOT NULL
    )",
    "CREATE TRIGGER IF NOT EXISTS evidence_is_not_updated BEFORE UPDATE ON evidence
     BEGIN SELECT RAISE(ABORT, 'evidence is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS evidence_is_not_deleted BEFORE DELETE ON evidence
     BEGIN SELECT RAISE(ABORT, 'evidence is append-only'); END",
];

/// A log the witness vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessedLog {
    pub origin: String,
    /// The log's keys (its checkpoint signing keys).
    pub keys: Vec<VerifierKey>,
    /// The size and root of the checkpoint the witness last cosigned (0 and the empty root
    /// before the first).
    pub size: u64,
    pub root: Hash,
    /// That checkpoint with the log's signature and the witness's cosignature.
    pub checkpoint: Option<String>,
}

/// A request kept as evidence: signed by the log, inconsistent with what the witness cosigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub received_at: String,
    pub origin: String,
    pub status: u16,
    pub body: String,
}

/// Why the witness's state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum WitnessStoreError {
    #[error("the witness database: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("the witness database could not be opened: {0}")]
    Open(#[from] crate::store::database::DatabaseSetupError),
    #[error("the witness database holds a malformed row for {origin}: {reason}")]
    Corrupt { origin: String, reason: String },
    #[error("the witness already witnesses the log {0}")]
    AlreadyWitnessed(String),
}

/// The witness's database.
#[derive(Debug, Clone)]
pub struct WitnessStore {
    db: DatabaseConnection,
}

fn statement(sql: &str, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Sqlite, sql, values)
}

fn stored_size(size: u64) -> i64 {
    i64::try_from(size).unwrap_or(i64::MAX)
}

impl WitnessStore {
    /// Opens (creating when missing) the witness database at `path`.
    ///
    /// # Errors
    /// [`WitnessStoreError`] when the file cannot be opened or its tables created.
    pub async fn open(path: &Path) -> Result<Self, WitnessStoreError> {
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let db = crate::store::database::connect(&url).await?;
        for sql in SCHEMA {
            db.execute_unprepared(sql).await?;
        }
        Ok(Self { db })
    }

    /// Starts witnessing the log of `key` (its origin is the key's name), from size 0.
    ///
    /// # Errors
    /// [`WitnessStoreError::AlreadyWitnessed`], or a database failure.
    pub async fn add_log(&self, key: &VerifierKey) -> Result<(), WitnessStoreError> {
        let added = self
            .db
            .execute_raw(statement(
                "INSERT INTO witnessed_log (origin, vkeys, size, root, checkpoint)
                 VALUES (?, ?, 0, ?, NULL) ON CONFLICT (origin) DO NOTHING",
                vec![
                    key.name().into(),
                    key.to_string().into(),
                    empty_root().to_vec().into(),
                ],
            ))
            .await?;
        if added.rows_affected() == 0 {
            return Err(WitnessStoreError::AlreadyWitnessed(key.name().to_owned()));
        }
        Ok(())
    }

    /// The log with this origin, if the witness witnesses it.
    ///
    /// # Errors
    /// A database failure, or a row that does not decode.
    pub async fn log(&self, origin: &str) -> Result<Option<WitnessedLog>, WitnessStoreError> {
        let Some(row) = self
            .db
            .query_one_raw(statement(
                "SELECT vkeys, size, root, checkpoint FROM witnessed_log WHERE origin = ?",
                vec![origin.into()],
            ))
            .await?
        else {
            return Ok(None);
        };
        let corrupt = |reason: String| WitnessStoreError::Corrupt {
            origin: origin.to_owned(),
            reason,
        };
        let vkeys: String = row.try_get("", "vkeys")?;
        let keys = vkeys
            .lines()
            .map(|vkey| VerifierKey::parse(vkey).map_err(|e| corrupt(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        let size: i64 = row.try_get("", "size")?;
        let root: Vec<u8> = row.try_get("", "root")?;
        Ok(Some(WitnessedLog {
            origin: origin.to_owned(),
            keys,
            size: u64::try_from(size).map_err(|e| corrupt(e.to_string()))?,
            root: root
                .try_into()
                .map_err(|_| corrupt("the root is not 32 bytes".to_owned()))?,
            checkpoint: row.try_get("", "checkpoint")?,
        }))
    }

    /// The logs the witness witnesses, by origin.
    ///
    /// # Errors
    /// A database failure.
    pub async fn origins(&self) -> Result<Vec<String>, WitnessStoreError> {
        let rows = self
            .db
            .query_all_raw(statement(
                "SELECT origin FROM witnessed_log ORDER BY origin",
                Vec::new(),
            ))
            .await?;
        rows.iter()
            .map(|row| row.try_get("", "origin").map_err(Into::into))
            .collect()
    }

    /// Moves the log from size `old` to `size` and `root`, keeping the cosigned `checkpoint`:
    /// `false`, changing nothing, when the stored size is no longer `old` (another request
    /// moved it first).
    ///
    /// # Errors
    /// A database failure.
    pub async fn advance(
        &self,
        origin: &str,
        old: u64,
        size: u64,
        root: &Hash,
        checkpoint: &str,
    ) -> Result<bool, WitnessStoreError> {
        let moved = self
            .db
            .execute_raw(statement(
                "UPDATE witnessed_log SET size = ?, root = ?, checkpoint = ?
                 WHERE origin = ? AND size = ?",
                vec![
                    stored_size(size).into(),
                    root.to_vec().into(),
                    checkpoint.into(),
                    origin.into(),
                    stored_size(old).into(),
                ],
            ))
            .await?;
        Ok(moved.rows_affected() == 1)
    }

    /// Keeps a request as evidence.
    ///
    /// # Errors
    /// A database failure.
    pub async fn record_evidence(
        &self,
        origin: &str,
        status: u16,
        body: &str,
    ) -> Result<(), WitnessStoreError> {
        self.db
            .execute_raw(statement(
                "INSERT INTO evidence (received_at, origin, status, body) VALUES (?, ?, ?, ?)",
                vec![
                    chrono::Utc::now()
                        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                        .into(),
                    origin.into(),
                    i32::from(status).into(),
                    body.into(),
                ],
            ))
            .await?;
        Ok(())
    }

    /// Every request kept as evidence, oldest first.
    ///
    /// # Errors
    /// A database failure.
    pub async fn evidence(&self) -> Result<Vec<Evidence>, WitnessStoreError> {
        let rows = self
            .db
            .query_all_raw(statement(
                "SELECT received_at, origin, status, body FROM evidence ORDER BY id",
                Vec::new(),
            ))
            .await?;
        rows.iter()
            .map(|row| {
                let status: i32 = row.try_get("", "status")?;
                Ok(Evidence {
                    received_at: row.try_get("", "received_at")?,
                    origin: row.try_get("", "origin")?,
                    status: u16::try_from(status).unwrap_or(0),
                    body: row.try_get("", "body")?,
                })
            })
            .collect()
    }

    /// Tries to change kept evidence (for the test that it cannot be).
    #[cfg(test)]
    async fn tamper_with_evidence(&self) -> Result<(), sea_orm::DbErr> {
        self.db
            .execute_unprepared("UPDATE evidence SET body = 'nothing happened'")
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use super::*;
    use amanah_audit::note::SigningKey;

    #[tokio::test]
    async fn logs_move_forward_once_from_a_size_and_evidence_stays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("witness.db");
        let store = WitnessStore::open(&path).await.unwrap();
        let key = SigningKey::generate("amanah.local/audit")
            .unwrap()
            .verifier_key();
        store.add_log(&key).await.unwrap();
        assert!(matches!(
            store.add_log(&key).await,
            Err(WitnessStoreError::AlreadyWitnessed(_))
        ));
        let log = store.log("amanah.local/audit").await.unwrap().unwrap();
        assert_eq!((log.size, log.root, log.keys), (0, empty_root(), vec![key]));
        assert!(store.log("other.example/log").await.unwrap().is_none());

        let root = [7; 32];
        assert!(
            store
                .advance("amanah.local/audit", 0, 5, &root, "note")
                .await
                .unwrap()
        );
        // A second request from the same old size does not move it again.
        assert!(
            !store
                .advance("amanah.local/audit", 0, 9, &[9; 32], "x")
                .await
                .unwrap()
        );
        drop(store);

        // The state survives a restart.
        let store = WitnessStore::open(&path).await.unwrap();
        let log = store.log("amanah.local/audit").await.unwrap().unwrap();
        assert_eq!((log.size, log.root), (5, root));
        assert_eq!(log.checkpoint.as_deref(), Some("note"));
        assert_eq!(store.origins().await.unwrap(), ["amanah.local/audit"]);

        store
            .record_evidence("amanah.local/audit", 422, "old 5\n\n…")
            .await
            .unwrap();
        assert!(store.tamper_with_evidence().await.is_err());
        let evidence = store.evidence().await.unwrap();
        assert_eq!(evidence.len(), 1);
        assert_eq!(
            (evidence[0].status, evidence[0].body.as_str()),
            (422, "old 5\n\n…")
        );
    }
}
