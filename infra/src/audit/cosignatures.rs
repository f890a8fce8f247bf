//! The witnesses' cosignatures of the log's checkpoints, as the log keeps them (`witness.md` §3):
//! every verified line a witness returned (append-only, `audit_cosignature`), the size each
//! witness is known to hold (`audit_witness_state`), and the checkpoint the log serves with them:
//! the newest one whose cosignatures meet the policy's quorum.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use amanah_audit::policy::Policy;
use amanah_domain::ports::{AuditLog, AuditReadError, StoreError, StoredCheckpoint};
use chrono::{SecondsFormat, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, Value};

use crate::store::db_error::map_internal_db_error;
use crate::store::sql::{from_db_int, statement, to_db_int};

/// One stored cosignature line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCosignature {
    pub tree_size: u64,
    /// The witness's `cosignature/v1` verifier key, as the policy writes it.
    pub witness_vkey: String,
    /// The cosignature's time `T`, POSIX seconds.
    pub time: u64,
    /// The line, `— <name> <base64>\n`.
    pub line: String,
}

/// The cosignatures and witness sizes in the database. Cheap to clone (a pool handle).
#[derive(Debug, Clone)]
pub struct Cosignatures {
    db: DatabaseConnection,
}

/// How many cosigned sizes one statement reads while looking for the newest that meets the quorum.
const SIZES_PER_READ: u64 = 32;

impl Cosignatures {
    #[must_use]
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Keeps `lines`, each a verified cosignature of the checkpoint of `tree_size` by the witness
    /// `witness_vkey`, with its time. A line already kept (same witness, size and time) is kept
    /// once.
    ///
    /// # Errors
    /// Database errors.
    pub async fn record(
        &self,
        tree_size: u64,
        witness_vkey: &str,
        lines: &[(u64, String)],
    ) -> Result<(), StoreError> {
        let received_at = now_text();
        for (time, line) in lines {
            self.db
                .execute_raw(statement(
                    self.db.get_database_backend(),
                    "INSERT INTO audit_cosignature \
                     (tree_size, witness_vkey, cosigned_at, line, received_at) \
                     VALUES (?, ?, ?, ?, ?) \
                     ON CONFLICT (tree_size, witness_vkey, cosigned_at) DO NOTHING",
                    vec![
                        to_db_int(tree_size)?.into(),
                        witness_vkey.into(),
                        to_db_int(*time)?.into(),
                        line.as_str().into(),
                        received_at.as_str().into(),
                    ],
                ))
                .await
                .map_err(map_internal_db_error)?;
        }
        Ok(())
    }

    /// The size the witness is known to hold: 0 before anything was pushed to it.
    ///
    /// # Errors
    /// Database errors.
    pub async fn last_size(&self, witness_vkey: &str) -> Result<u64, StoreError> {
        let row = self
            .db
            .query_one_raw(statement(
                self.db.get_database_backend(),
                "SELECT last_size FROM audit_witness_state WHERE witness_vkey = ?",
                vec![witness_vkey.into()],
            ))
            .await
            .map_err(map_internal_db_error)?;
        match row {
            Some(row) => from_db_int(row.try_get_by_index(0).map_err(map_internal_db_error)?),
            None => Ok(0),
        }
    }

    /// Records that the witness holds `size`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn set_last_size(&self, witness_vkey: &str, size: u64) -> Result<(), StoreError> {
        self.db
            .execute_raw(statement(
                self.db.get_database_backend(),
                "INSERT INTO audit_witness_state (witness_vkey, last_size, updated_at) \
                 VALUES (?, ?, ?) \
                 ON CONFLICT (witness_vkey) DO UPDATE \
                 SET last_size = excluded.last_size, updated_at = excluded.updated_at",
                vec![
                    witness_vkey.into(),
                    to_db_int(size)?.into(),
                    now_text().into(),
                ],
            ))
            .await
            .map_err(map_internal_db_error)?;
        Ok(())
    }

    /// Every cosignature of the checkpoint of `tree_size`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn at(&self, tree_size: u64) -> Result<Vec<StoredCosignature>, StoreError> {
        self.select("WHERE tree_size = ?", vec![to_db_int(tree_size)?.into()])
            .await
    }

    /// The cosignatures of the (at most [`SIZES_PER_READ`]) largest cosigned sizes below
    /// `below` (all when `None`) and above `above`, and the smallest of those sizes, where a next
    /// read starts.
    async fn newest_between(
        &self,
        above: Option<u64>,
        below: Option<u64>,
    ) -> Result<(Vec<StoredCosignature>, Option<u64>), StoreError> {
        let backend = self.db.get_database_backend();
        let bound = |size: Option<u64>, none: i64| size.map_or(Ok(none), to_db_int);
        let rows = self
            .db
            .query_all_raw(statement(
                backend,
                "SELECT DISTINCT tree_size FROM audit_cosignature \
                 WHERE tree_size > ? AND tree_size < ? ORDER BY tree_size DESC LIMIT ?",
                vec![
                    bound(above, -1)?.into(),
                    bound(below, i64::MAX)?.into(),
                    to_db_int(SIZES_PER_READ)?.into(),
                ],
            ))
            .await
            .map_err(map_internal_db_error)?;
        let sizes = rows
            .iter()
            .map(|row| from_db_int(row.try_get_by_index(0).map_err(map_internal_db_error)?))
            .collect::<Result<Vec<_>, _>>()?;
        let (Some(&largest), Some(&smallest)) = (sizes.first(), sizes.last()) else {
            return Ok((Vec::new(), None));
        };
        let found = self
            .select(
                "WHERE tree_size >= ? AND tree_size <= ?",
                vec![to_db_int(smallest)?.into(), to_db_int(largest)?.into()],
            )
            .await?;
        Ok((found, Some(smallest)))
    }

    async fn select(
        &self,
        condition: &str,
        values: Vec<Value>,
    ) -> Result<Vec<StoredCosignature>, StoreError> {
        let rows = self
            .db
            .query_all_raw(statement(
                self.db.get_database_backend(),
                &format!(
                    "SELECT tree_size, witness_vkey, cosigned_at, line FROM audit_cosignature \
                     {condition} ORDER BY tree_size, witness_vkey, cosigned_at"
                ),
                values,
            ))
            .await
            .map_err(map_internal_db_error)?;
        rows.iter()
            .map(|row| {
                let get = |index| -> Result<i64, StoreError> {
                    row.try_get_by_index(index).map_err(map_internal_db_error)
                };
                Ok(StoredCosignature {
                    tree_size: from_db_int(get(0)?)?,
                    witness_vkey: row.try_get_by_index(1).map_err(map_internal_db_error)?,
                    time: from_db_int(get(2)?)?,
                    line: row.try_get_by_index(3).map_err(map_internal_db_error)?,
                })
            })
            .collect()
    }
}

fn now_text() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The checkpoints the log serves when a witness policy is set: with the cosignature lines of the
/// policy's witnesses appended to the log's own note.
#[derive(Debug, Clone)]
pub struct WitnessedCheckpoints {
    policy: Arc<Policy>,
    cosignatures: Cosignatures,
    log: Arc<dyn AuditLog>,
    /// The policy's witnesses' keys as stored, in policy order.
    vkeys: Vec<String>,
    /// Under `quorum none` no cosignature is needed.
    needs_nobody: bool,
    /// The largest size known to meet the quorum (shared by clones).
    known: Arc<Mutex<Option<u64>>>,
}

impl WitnessedCheckpoints {
    #[must_use]
    pub fn new(policy: Arc<Policy>, cosignatures: Cosignatures, log: Arc<dyn AuditLog>) -> Self {
        Self {
            vkeys: policy.witnesses.iter().map(|w| w.key.to_string()).collect(),
            needs_nobody: policy.is_met(&vec![false; policy.witnesses.len()]),
            policy,
            cosignatures,
            log,
            known: Arc::new(Mutex::new(None)),
        }
    }

    /// Over the database `db` alone (a command-line tool; the server passes its own audit log).
    #[must_use]
    pub fn over(policy: Policy, db: &DatabaseConnection) -> Self {
        let log = crate::audit::log::SqlAuditLog::new(
            db.clone(),
            Arc::new(crate::audit::tree_cache::TreeCache::new(0)),
        );
        Self::new(
            Arc::new(policy),
            Cosignatures::new(db.clone()),
            Arc::new(log),
        )
    }

    /// The policy the cosignatures are counted against.
    #[must_use]
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The checkpoint of `size` with every policy witness's newest cosignature of it; without a
    /// size, the newest checkpoint whose cosignatures meet the quorum, or the newest checkpoint
    /// (with what cosignatures it has) while none does.
    ///
    /// # Errors
    /// As [`AuditLog::signed_checkpoint`]: a size never signed, no checkpoint yet, the store.
    pub async fn checkpoint(&self, size: Option<u64>) -> Result<StoredCheckpoint, AuditReadError> {
        if size.is_none()
            && let Some(met) = self.newest_quorum().await?
        {
            return Ok(met);
        }
        self.with_cosignatures(self.log.signed_checkpoint(size).await?)
            .await
    }

    /// The newest checkpoint whose cosignatures meet the quorum, with them; `None` while none
    /// does. Under `quorum none` that is the newest checkpoint.
    ///
    /// A request's cost does not grow with the log: this reads the newest [`SIZES_PER_READ`]
    /// cosigned sizes above the largest size already known to meet the quorum, and falls back to
    /// that size. [`Self::refresh`], which the pusher runs each round, reads every size above it.
    /// A size that met the quorum meets it for good (cosignatures are append-only, the policy is
    /// fixed), so what is known only grows.
    ///
    /// # Errors
    /// As [`AuditLog::signed_checkpoint`].
    pub async fn newest_quorum(&self) -> Result<Option<StoredCheckpoint>, AuditReadError> {
        let checkpoint = if self.needs_nobody {
            match self.log.signed_checkpoint(None).await {
                Err(AuditReadError::NoCheckpoint) => return Ok(None),
                newest => newest?,
            }
        } else {
            match self.search(Some(1)).await?.or_else(|| self.known()) {
                Some(size) => self.log.signed_checkpoint(Some(size)).await?,
                None => return Ok(None),
            }
        };
        self.with_cosignatures(checkpoint).await.map(Some)
    }

    /// Reads every cosigned size above the largest known to meet the quorum, and returns the
    /// newest size that meets it (`None` while none does; under `quorum none`, the newest).
    ///
    /// # Errors
    /// As [`AuditLog::signed_checkpoint`].
    pub async fn refresh(&self) -> Result<Option<u64>, AuditReadError> {
        if self.needs_nobody {
            return match self.log.signed_checkpoint(None).await {
                Ok(newest) => Ok(Some(newest.size)),
                Err(AuditReadError::NoCheckpoint) => Ok(None),
                Err(error) => Err(error),
            };
        }
        Ok(self.search(None).await?.or_else(|| self.known()))
    }

    /// `checkpoint` followed by each policy witness's newest cosignature of it.
    async fn with_cosignatures(
        &self,
        mut checkpoint: StoredCheckpoint,
    ) -> Result<StoredCheckpoint, AuditReadError> {
        let found = self.cosignatures.at(checkpoint.size).await?;
        for vkey in &self.vkeys {
            if let Some(newest) = found
                .iter()
                .filter(|c| &c.witness_vkey == vkey)
                .max_by_key(|c| c.time)
            {
                checkpoint.note.push_str(&newest.line);
            }
        }
        Ok(checkpoint)
    }

    /// The newest size above the known one whose cosignatures meet the quorum, reading at most
    /// `reads` chunks of sizes (all when `None`); remembers it.
    async fn search(&self, reads: Option<usize>) -> Result<Option<u64>, StoreError> {
        let floor = self.known();
        let mut below = None;
        let mut read = 0;
        while reads.is_none_or(|reads| read < reads) {
            read += 1;
            let (found, smallest) = self.cosignatures.newest_between(floor, below).await?;
            let Some(smallest) = smallest else {
                return Ok(None);
            };
            let mut by_size: BTreeMap<u64, Vec<StoredCosignature>> = BTreeMap::new();
            for cosignature in found {
                by_size
                    .entry(cosignature.tree_size)
                    .or_default()
                    .push(cosignature);
            }
            if let Some(size) = by_size
                .iter()
                .rev()
                .find(|(_, found)| self.policy.is_met(&self.cosigned(found)))
                .map(|(size, _)| *size)
            {
                let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
                *known = Some(known.map_or(size, |k| k.max(size)));
                return Ok(Some(size));
            }
            below = Some(smallest);
        }
        Ok(None)
    }

    fn known(&self) -> Option<u64> {
        *self.known.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Which of the policy's witnesses, by position, have a cosignature among `found`.
    fn cosigned(&self, found: &[StoredCosignature]) -> Vec<bool> {
        self.vkeys
            .iter()
            .map(|vkey| found.iter().any(|c| &c.witness_vkey == vkey))
            .collect()
    }
}
