//! The root `Subscription` (over WebSocket, `graphql-transport-ws`): the audit log as it grows,
//! and a project as it changes.
//!
//! Both follow the log itself ([`amanah_infra::store::follow`]): events arrive in index order, none is
//! skipped, and a client that reconnects with `fromIndex` = the last index it saw + 1 misses
//! nothing. Changes appended by other replicas on the same PostgreSQL database arrive within
//! [`amanah_infra::store::follow::FOLLOW_POLL`]; this replica's own at once.
//!
//! Access is decided when the subscription starts (the same guards as the queries), and holds
//! only as long as the token: when the caller's token expires the subscription sends one
//! `UNAUTHENTICATED` error and ends, and nothing appended after the expiry is delivered (the
//! WebSocket layer also closes the connection with 4401 then).

use std::future::ready;
use std::sync::Arc;

use amanah_domain::aggregate::StreamKind;
use amanah_domain::project::Project as ProjectState;
use amanah_infra::store::follow::follow_limited;
use async_graphql::{Context, ID, Subscription as SubscriptionRoot};
use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream};
use futures::{StreamExt as _, TryStreamExt as _};

use super::ContextExt as _;
use super::access;
use super::audit::{AuditEvent, AuditEventFilter};
use super::ids::parse_id;
use super::project::Project;
use crate::error::ApiError;

/// A subscription's items before they are handed to async-graphql.
pub type Items<T> = BoxStream<'static, Result<T, ApiError>>;

/// What a subscription field returns: its items, ended by the token's expiry, with catalogue
/// errors.
pub type Delivered<T> = BoxStream<'static, async_graphql::Result<T>>;

/// The root subscription.
#[derive(Debug, Default)]
pub struct Subscription;

#[SubscriptionRoot]
impl Subscription {
    /// Auditors and admins: every event as it is appended, from `fromIndex` on when given (no
    /// gaps on reconnect). Without `fromIndex`, from the next event appended. With
    /// `filter.indexTo`, the subscription completes after that index.
    #[graphql(guard = "access::ReadAudit")]
    async fn audit_event_appended(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditEventFilter>,
        from_index: Option<i64>,
    ) -> Result<Delivered<AuditEvent>, ApiError> {
        let state = ctx.api_state()?;
        let filter = filter.unwrap_or_default().parse()?;
        let store = state.commands.store();
        let size = {
            let _read = state.subscription_reads.acquire().await;
            store.size().await?
        };
        let from = match from_index {
            None => size,
            Some(from) => {
                let from = u64::try_from(from).map_err(|_| {
                    ApiError::bad_user_input("fromIndex", "fromIndex must not be negative")
                })?;
                if from > size {
                    return Err(ApiError::bad_user_input(
                        "fromIndex",
                        format!(
                            "fromIndex {from} is past the end of the log ({size} events): \
                             resume from at most {size}"
                        ),
                    ));
                }
                from
            }
        }
        .max(filter.index_from.unwrap_or(0));
        let last = filter.index_to;
        if last.is_some_and(|last| last < from) {
            return Ok(deliver(None, stream::empty().boxed()));
        }
        let events = follow_limited(store, from, Arc::clone(&state.subscription_reads))
            // Ends after `indexTo` (the log is gapless, so that index is seen).
            .scan(false, move |finished, item| {
                if *finished {
                    return ready(None);
                }
                if let Ok(event) = &item {
                    *finished = last.is_some_and(|last| event.index >= last);
                }
                ready(Some(item))
            })
            .try_filter(move |event| ready(filter.matches(event)))
            .map_ok(AuditEvent::from)
            .map_err(ApiError::from);
        Ok(deliver(expiry(ctx), events.boxed()))
    }

    /// The project as it is now, then after each change to it, as that change left it (its
    /// references as of the same point of the log): the first item tells the client the
    /// subscription is live, and no change between reading and subscribing is lost. `NOT_FOUND`
    /// when there is no such project.
    async fn project_changed(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<Delivered<Project>, ApiError> {
        let state = ctx.portfolio()?;
        let project_id = parse_id(&id, "id")?;
        let store = state.commands.store();
        let reads = Arc::clone(&state.subscription_reads);
        let (from, now) = {
            let _read = reads.acquire().await;
            let from = store.size().await?;
            let now = state
                .commands
                .load::<ProjectState>(project_id, Some(from))
                .await?;
            (from, now)
        };
        let Some(now) = now else {
            return Err(ApiError::not_found(format!(
                "there is no project {project_id}"
            )));
        };
        let commands = state.commands.clone();
        let changes = follow_limited(store, from, Arc::clone(&reads))
            .map_err(ApiError::from)
            .try_filter(move |event| {
                ready(event.stream == StreamKind::Project && event.stream_id == project_id)
            })
            .and_then(move |event| {
                let commands = commands.clone();
                let reads = Arc::clone(&reads);
                async move {
                    let _read = reads.acquire().await;
                    let as_of = event.index + 1;
                    let state = commands
                        .load::<ProjectState>(project_id, Some(as_of))
                        .await?
                        .ok_or_else(|| {
                            ApiError::not_found(format!("there is no project {project_id}"))
                        })?;
                    Ok(Project::new(state, Some(as_of)))
                }
            });
        let items = stream::once(ready(Ok(Project::new(now, Some(from))))).chain(changes);
        Ok(deliver(expiry(ctx), items.boxed()))
    }
}

/// When the caller's token expires; `None` for anonymous callers.
fn expiry(ctx: &Context<'_>) -> Option<DateTime<Utc>> {
    ctx.identity().map(|identity| identity.expires_at)
}

/// [`until_expiry`], with the errors as async-graphql's.
fn deliver<T: Send + 'static>(expires_at: Option<DateTime<Utc>>, items: Items<T>) -> Delivered<T> {
    until_expiry(expires_at, items)
        .map_err(async_graphql::Error::from)
        .boxed()
}

/// `items` until `expires_at`; then one `UNAUTHENTICATED` error, and the end. An item that is
/// ready at the same instant as the expiry is not delivered.
pub fn until_expiry<T: Send + 'static>(
    expires_at: Option<DateTime<Utc>>,
    items: Items<T>,
) -> Items<T> {
    let Some(expires_at) = expires_at else {
        return items;
    };
    let remaining = (expires_at - Utc::now()).to_std().unwrap_or_default();
    let deadline = tokio::time::Instant::now() + remaining;
    stream::unfold(Some(items), move |items| async move {
        let mut items = items?;
        tokio::select! {
            biased;
            () = tokio::time::sleep_until(deadline) => Some((
                Err(ApiError::unauthenticated(
                    "The token has expired: this subscription ended; subscribe again with a \
                     fresh token.",
                )),
                None,
            )),
            item = items.next() => item.map(|item| (item, Some(items))),
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_expired_token_ends_the_items_with_one_error() {
        let expires_at = Utc::now() + chrono::Duration::seconds(10);
        // One item now, one after 5 s, one after 20 s (past the expiry).
        let items = stream::iter([0_u64, 5, 20])
            .then(|at| async move {
                tokio::time::sleep(Duration::from_secs(at)).await;
                Ok(at)
            })
            .boxed();
        let seen: Vec<Result<u64, ApiError>> =
            until_expiry(Some(expires_at), items).collect().await;
        assert_eq!(seen.len(), 3, "{seen:?}");
        assert!(matches!(seen[0], Ok(0)));
        assert!(matches!(seen[1], Ok(5)));
        assert!(
            matches!(&seen[2], Err(ApiError::Unauthenticated(message)) if message.contains("expired")),
            "{:?}",
            seen[2]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn without_expiry_or_before_it_the_items_pass_unchanged() {
        let items = || stream::iter([Ok(1_u64), Ok(2)]).boxed();
        let anonymous: Vec<_> = until_expiry(None, items()).collect().await;
        assert_eq!(anonymous.len(), 2);
        let later = Utc::now() + chrono::Duration::hours(1);
        let before: Vec<_> = until_expiry(Some(later), items()).collect().await;
        assert!(matches!(before.as_slice(), [Ok(1), Ok(2)]), "{before:?}");
    }
}
