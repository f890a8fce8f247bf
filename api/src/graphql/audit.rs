//! The audit log for auditors (`docs/audit-log.md` §6): the events with their exact leaf
//! bytes, signed checkpoints, inclusion and consistency proofs — all for the auditor and admin
//! roles — and the receipt a mutation payload carries, which anyone holding it can verify later.
//!
//! Hashes are standard base64 (RFC 4648 §4). Proof sizes must be sizes of signed checkpoints: a
//! proof against a size that was never signed proves nothing to anyone.

use amanah_audit::merkle;
use amanah_domain::aggregate::StreamKind;
use amanah_domain::ports::{
    AuditEventFilter as StoreFilter, AuditReadError, StoredCheckpoint, StoredEvent,
};
use amanah_infra::base64_standard;
use async_graphql::{Context, ID, InputObject, Json, Object, SimpleObject};

use super::ContextExt as _;
use super::access;
use super::connection::{AuditEventConnection, PageArgs, connection_cost, paginate};
use super::scalars::DateTime;
use crate::error::ApiError;

/// Who appended an event: the verified token's claims, or a system actor.
#[derive(SimpleObject, Debug, Clone)]
pub struct Actor {
    pub sub: String,
    pub roles: Vec<String>,
    pub org: Option<ID>,
}

/// One event of the audit log.
#[derive(Debug, Clone)]
pub struct AuditEvent(StoredEvent);

impl From<StoredEvent> for AuditEvent {
    fn from(event: StoredEvent) -> Self {
        Self(event)
    }
}

#[Object]
impl AuditEvent {
    /// Global, gapless, 0-based position: the Merkle leaf index.
    async fn index(&self) -> u64 {
        self.0.index
    }
    async fn event_id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// PascalCase event name, e.g. `ProjectRegistered`.
    #[graphql(name = "type")]
    async fn event_type(&self) -> &str {
        &self.0.event_type
    }
    /// `organisation`, `project` or `activity`.
    async fn stream(&self) -> &str {
        self.0.stream.as_str()
    }
    /// The aggregate's id (the same UUID the entity has in the API).
    async fn stream_id(&self) -> ID {
        ID(self.0.stream_id.to_string())
    }
    /// 1-based position inside the stream.
    async fn stream_version(&self) -> u64 {
        self.0.stream_version
    }
    async fn occurred_at(&self) -> DateTime {
        DateTime(self.0.occurred_at)
    }
    async fn actor(&self) -> Actor {
        Actor {
            sub: self.0.actor.sub.clone(),
            roles: self.0.actor.roles.clone(),
            org: self.0.actor.org.map(|org| ID(org.to_string())),
        }
    }
    /// The id of the HTTP request that appended the event.
    async fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }
    /// The event's payload.
    async fn data(&self) -> Json<serde_json::Value> {
        Json(self.0.data.clone())
    }
    /// The exact leaf bytes (RFC 8785 JSON) as a string.
    async fn canonical(&self) -> String {
        String::from_utf8_lossy(&self.0.canonical).into_owned()
    }
    /// SHA-256(0x00 ‖ canonical), base64.
    async fn leaf_hash(&self) -> String {
        base64_standard(&merkle::leaf_hash(&self.0.canonical))
    }
}

/// Which events to list; every field narrows the list.
#[derive(InputObject, Debug, Clone, Default)]
pub struct AuditEventFilter {
    /// `organisation`, `project` or `activity`.
    pub stream: Option<String>,
    pub stream_id: Option<ID>,
    /// PascalCase event name.
    #[graphql(name = "type")]
    pub event_type: Option<String>,
    /// The actor's `sub`.
    pub actor: Option<String>,
    pub occurred_from: Option<DateTime>,
    pub occurred_to: Option<DateTime>,
    pub index_from: Option<i64>,
    pub index_to: Option<i64>,
}

fn non_negative(value: Option<i64>, field: &str) -> Result<Option<u64>, ApiError> {
    value
        .map(|v| {
            u64::try_from(v).map_err(|_| {
                ApiError::bad_user_input(field, format!("{field} must not be negative"))
            })
        })
        .transpose()
}

impl AuditEventFilter {
    /// The store's filter, or `BAD_USER_INPUT` naming the field that does not parse.
    pub(crate) fn parse(self) -> Result<StoreFilter, ApiError> {
        let stream = self
            .stream
            .map(|s| {
                StreamKind::parse(&s).ok_or_else(|| {
                    ApiError::bad_user_input(
                        "filter.stream",
                        "stream is one of organisation, project, activity",
                    )
                })
            })
            .transpose()?;
        let stream_id = self
            .stream_id
            .map(|id| {
                uuid::Uuid::parse_str(&id).map_err(|_| {
                    ApiError::bad_user_input("filter.streamId", "streamId must be a UUID")
                })
            })
            .transpose()?;
        Ok(StoreFilter {
            stream,
            stream_id,
            event_type: self.event_type,
            actor: self.actor,
            occurred_from: self.occurred_from.map(|t| t.0),
            occurred_to: self.occurred_to.map(|t| t.0),
            index_from: non_negative(self.index_from, "filter.indexFrom")?,
            index_to: non_negative(self.index_to, "filter.indexTo")?,
        })
    }
}

/// A signed checkpoint (C2SP tlog-checkpoint).
#[derive(SimpleObject, Debug, Clone)]
pub struct AuditCheckpoint {
    pub origin: String,
    pub tree_size: u64,
    /// base64
    pub root_hash: String,
    /// the signed note, verbatim
    pub note: String,
}

impl AuditCheckpoint {
    fn from_stored(stored: StoredCheckpoint) -> Self {
        let origin = stored.note.lines().next().unwrap_or_default().to_owned();
        Self {
            origin,
            tree_size: stored.size,
            root_hash: base64_standard(&stored.root),
            note: stored.note,
        }
    }
}

/// An RFC 9162 inclusion proof, with the signed checkpoint it leads to.
#[derive(SimpleObject, Debug, Clone)]
pub struct InclusionProof {
    pub leaf_index: u64,
    pub tree_size: u64,
    pub leaf_hash: String,
    pub hashes: Vec<String>,
    pub checkpoint: AuditCheckpoint,
}

/// An RFC 9162 consistency proof between two signed checkpoints.
#[derive(SimpleObject, Debug, Clone)]
pub struct ConsistencyProof {
    pub from_size: u64,
    pub to_size: u64,
    pub hashes: Vec<String>,
    pub from_checkpoint: AuditCheckpoint,
    pub to_checkpoint: AuditCheckpoint,
}

/// Proof that a change is in the signed log: keep it, verify it any time.
#[derive(SimpleObject, Debug, Clone)]
pub struct Receipt {
    pub index: u64,
    pub leaf_hash: String,
    pub checkpoint: AuditCheckpoint,
    pub inclusion_proof: Vec<String>,
}

fn hashes(list: &[merkle::Hash]) -> Vec<String> {
    list.iter().map(|h| base64_standard(h)).collect()
}

fn read_error(error: AuditReadError, field: &str) -> ApiError {
    match error {
        AuditReadError::NotSigned(_)
        | AuditReadError::IndexOutOfRange { .. }
        | AuditReadError::Proof(_) => ApiError::bad_user_input(field, error.to_string()),
        AuditReadError::NoCheckpoint => ApiError::not_found(error.to_string()),
        AuditReadError::Store(store) => store.into(),
    }
}

fn size_arg(value: Option<i64>, field: &str) -> Result<Option<u64>, ApiError> {
    non_negative(value, field)
}

/// What every mutation payload carries besides the aggregate it changed: where the change is in
/// the audit log, and the receipt that proves it. One definition for all payloads, flattened
/// into each (`#[graphql(flatten)] appended: Appended`), so each payload still shows
/// `auditIndex` and `receipt` as its own fields.
pub struct Appended {
    audit_index: u64,
}

impl<A> From<&amanah_domain::service::Committed<A>> for Appended {
    fn from(committed: &amanah_domain::service::Committed<A>) -> Self {
        Self {
            audit_index: committed.outcome.last_index,
        }
    }
}

#[Object]
impl Appended {
    /// The audit-log index of the last event the mutation appended.
    async fn audit_index(&self) -> u64 {
        self.audit_index
    }

    /// Proof that the change is in the signed log (its last event's inclusion proof in the
    /// latest checkpoint): keep it, verify it any time.
    async fn receipt(&self, ctx: &Context<'_>) -> Result<Option<Receipt>, ApiError> {
        receipt(ctx, self.audit_index).await
    }
}

/// The receipt of the event at `index`: its inclusion proof in the latest signed checkpoint.
///
/// # Errors
/// Internal errors when the store cannot answer.
async fn receipt(ctx: &Context<'_>, index: u64) -> Result<Option<Receipt>, ApiError> {
    let state = ctx.api_state()?;
    match state.audit_log.inclusion_proof(index, None).await {
        Ok(proof) => Ok(Some(Receipt {
            index,
            leaf_hash: base64_standard(&proof.leaf),
            inclusion_proof: hashes(&proof.hashes),
            checkpoint: AuditCheckpoint::from_stored(proof.checkpoint),
        })),
        // Nothing signed (a store run without a signer): no receipt rather than an error.
        Err(AuditReadError::NoCheckpoint) => Ok(None),
        Err(error) => Err(read_error(error, "receipt")),
    }
}

/// The auditors' queries, merged into `Query`.
#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The audit log, in index order (auditor or admin).
    #[graphql(
        guard = "access::ReadAudit",
        complexity = "connection_cost(first, last, child_complexity)"
    )]
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<AuditEventFilter>,
    ) -> Result<AuditEventConnection, ApiError> {
        let state = ctx.api_state()?;
        let filter = filter.unwrap_or_default().parse()?;
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let log = &state.audit_log;
        let paged = paginate(&args, state.config.limits.page_size, |window| {
            let filter = &filter;
            async move { log.events(filter, window).await.map_err(ApiError::from) }
        })
        .await?;
        Ok(paged.map(AuditEvent).into())
    }

    /// The signed checkpoint at treeSize (the latest when omitted). With a witness policy, the
    /// note carries the witnesses' cosignatures, and without treeSize it is the newest
    /// checkpoint whose cosignatures meet the policy's quorum (the newest of all while none
    /// does), as `GET /audit/checkpoint` serves it.
    #[graphql(guard = "access::ReadAudit")]
    async fn audit_checkpoint(
        &self,
        ctx: &Context<'_>,
        tree_size: Option<i64>,
    ) -> Result<AuditCheckpoint, ApiError> {
        let size = size_arg(tree_size, "treeSize")?;
        let state = ctx.api_state()?;
        let stored = state
            .served_checkpoint(size)
            .await
            .map_err(|e| read_error(e, "treeSize"))?;
        Ok(AuditCheckpoint::from_stored(stored))
    }

    /// An inclusion proof of event `index` in the signed tree of `treeSize` (the latest when
    /// omitted).
    #[graphql(guard = "access::ReadAudit")]
    async fn audit_inclusion_proof(
        &self,
        ctx: &Context<'_>,
        index: i64,
        tree_size: Option<i64>,
    ) -> Result<InclusionProof, ApiError> {
        let index = size_arg(Some(index), "index")?.unwrap_or_default();
        let size = size_arg(tree_size, "treeSize")?;
        let state = ctx.api_state()?;
        let proof = state
            .audit_log
            .inclusion_proof(index, size)
            .await
            .map_err(|e| read_error(e, if size.is_some() { "treeSize" } else { "index" }))?;
        Ok(InclusionProof {
            leaf_index: index,
            tree_size: proof.checkpoint.size,
            leaf_hash: base64_standard(&proof.leaf),
            hashes: hashes(&proof.hashes),
            checkpoint: AuditCheckpoint::from_stored(proof.checkpoint),
        })
    }

    /// A consistency proof from the signed tree of `fromSize` to that of `toSize` (the latest when
    /// omitted).
    #[graphql(guard = "access::ReadAudit")]
    async fn audit_consistency_proof(
        &self,
        ctx: &Context<'_>,
        from_size: i64,
        to_size: Option<i64>,
    ) -> Result<ConsistencyProof, ApiError> {
        let from = size_arg(Some(from_size), "fromSize")?.unwrap_or_default();
        let to = size_arg(to_size, "toSize")?;
        let state = ctx.api_state()?;
        let proof = state
            .audit_log
            .consistency_proof(from, to)
            .await
            .map_err(|e| read_error(e, "fromSize"))?;
        Ok(ConsistencyProof {
            from_size: proof.from.size,
            to_size: proof.to.size,
            hashes: hashes(&proof.hashes),
            from_checkpoint: AuditCheckpoint::from_stored(proof.from),
            to_checkpoint: AuditCheckpoint::from_stored(proof.to),
        })
    }
}
