//! Reading the audit log for auditors: the events, filtered, in index order (GraphQL
//! `auditEvents`). The filters use the columns the event table keeps beside the leaf bytes; what
//! is returned is always decoded from the stored leaf bytes themselves.

use amanah_domain::ports::{AuditEventFilter, StoreError, StoredEvent};
use amanah_domain::query::{Page, Window};
use sea_orm::{ConnectionTrait, Value};

use crate::envelope;
use crate::store::db_error::map_internal_db_error;
use crate::store::sql::{count, query_bound, statement};

/// One window of the events matching `filter`, in index order, and how many match in all.
///
/// # Errors
/// Database errors, or a stored event that does not decode.
pub async fn audit_events<C: ConnectionTrait>(
    db: &C,
    filter: &AuditEventFilter,
    window: Window,
) -> Result<Page<StoredEvent>, StoreError> {
    let mut conditions: Vec<&str> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    if let Some(stream) = filter.stream {
        conditions.push("stream = ?");
        values.push(stream.as_str().into());
    }
    if let Some(stream_id) = filter.stream_id {
        conditions.push("stream_id = ?");
        values.push(stream_id.to_string().into());
    }
    if let Some(event_type) = &filter.event_type {
        conditions.push("event_type = ?");
        values.push(event_type.clone().into());
    }
    if let Some(actor) = &filter.actor {
        conditions.push("actor_sub = ?");
        values.push(actor.clone().into());
    }
    // `occurred_at` is stored in the envelope's fixed-width RFC 3339 form (microseconds, `Z`),
    // so text order is time order.
    if let Some(from) = filter.occurred_from {
        conditions.push("occurred_at >= ?");
        values.push(envelope::format_occurred_at(from).into());
    }
    if let Some(to) = filter.occurred_to {
        conditions.push("occurred_at <= ?");
        values.push(envelope::format_occurred_at(to).into());
    }
    if let Some(from) = filter.index_from {
        conditions.push("idx >= ?");
        values.push(query_bound(from));
    }
    if let Some(to) = filter.index_to {
        conditions.push("idx <= ?");
        values.push(query_bound(to));
    }
    let where_clause = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    let backend = db.get_database_backend();
    let total_row = db
        .query_one_raw(statement(
            backend,
            &format!("SELECT COUNT(*) FROM events{where_clause}"),
            values.clone(),
        ))
        .await
        .map_err(map_internal_db_error)?;
    let total = count(total_row.as_ref())?;
    values.push(query_bound(window.limit));
    values.push(query_bound(window.offset));
    let rows = db
        .query_all_raw(statement(
            backend,
            &format!(
                "SELECT idx, canonical FROM events{where_clause} ORDER BY idx LIMIT ? OFFSET ?"
            ),
            values,
        ))
        .await
        .map_err(map_internal_db_error)?;
    let items = rows
        .iter()
        .map(|row| {
            let idx: i64 = row.try_get_by_index(0).map_err(map_internal_db_error)?;
            let canonical: Vec<u8> = row.try_get_by_index(1).map_err(map_internal_db_error)?;
            envelope::decode(&canonical).map_err(|error| {
                StoreError::internal_from(
                    format!("the event at index {idx} does not decode"),
                    error,
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page { items, total })
}
