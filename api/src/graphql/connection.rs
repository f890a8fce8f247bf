//! Relay connections (`first/after/last/before`, `edges { cursor node }`, `pageInfo`, `totalCount`).
//!
//! **Organisations, projects and activities** are read by keyset ([`paginate_keyset`]): a cursor
//! is the item's position in the list's order — its sort key and its id — with the list and order
//! it belongs to, opaque to clients. A page is the items after (or before) it, so a cursor stays
//! put when items are added or removed elsewhere in the list, and a page costs the same wherever
//! it starts. `totalCount` is counted only when selected ([`wants_total`]).
//!
//! **The audit log and a project's transactions** only ever grow at their end, so their cursors
//! are positions (base64 of the offset), which new items never move ([`paginate`]).
//!
//! Arguments are checked at the edge: `first`/`last` between 0 and the page-size limit
//! ([`crate::config::Limits::page_size`], at most 100), cursors of this list and order; anything
//! else is `BAD_USER_INPUT` naming the argument. Without `first` and `last`, a page holds the
//! page-size limit. `first` and `last` together follow the Relay algorithm: `first` is applied,
//! then `last`.
//!
//! In the complexity limit a connection costs 1 plus its selection once per item it may return
//! ([`connection_cost`]): `projects(first: 20) { … activities(first: 5) { … } }` pays for 100
//! activities, as the response may hold them.

use std::future::Future;

use amanah_domain::query::{Page, Position, Positioned, Range, SortKey, Window};
use async_graphql::{
    SimpleObject,
    connection::{CursorType, OpaqueCursor},
};

use super::activity::Activity;
use super::audit::AuditEvent;
use super::organisation::Organisation;
use super::project::{Project, Transaction};
use crate::error::ApiError;

/// The complexity of a connection field: 1, plus `child_complexity` (its selection: edges,
/// `pageInfo`, `totalCount`) once per item a page may hold — `first` or `last` (the smaller when
/// both), or the largest page when neither is given, since the configured default may be that
/// large. A negative or oversized count counts as one item: the field refuses it when it runs,
/// naming the argument, which tells the client more than "too complex".
#[must_use]
pub fn connection_cost(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    let largest = crate::config::Limits::MAX_PAGE_SIZE;
    let items = |count: i32| {
        usize::try_from(count)
            .ok()
            .filter(|count| *count <= largest)
            .unwrap_or(1)
    };
    let page = match (first, last) {
        (Some(first), Some(last)) => items(first).min(items(last)),
        (Some(count), None) | (None, Some(count)) => items(count),
        (None, None) => largest,
    };
    page.max(1)
        .saturating_mul(child_complexity)
        .saturating_add(1)
}

/// Information to aid in pagination.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct PageInfo {
    /// When paginating forwards, are there more items?
    pub has_next_page: bool,
    /// When paginating backwards, are there more items?
    pub has_previous_page: bool,
    /// The cursor of the first edge.
    pub start_cursor: Option<String>,
    /// The cursor of the last edge.
    pub end_cursor: Option<String>,
}

/// Declares the Relay connection and edge types of one node type.
macro_rules! connection {
    ($connection:ident, $edge:ident, $node:ty, $one:literal, $many:literal) => {
        #[doc = concat!("One ", $one, " of a page and where it is.")]
        #[derive(SimpleObject)]
        pub struct $edge {
            /// Pass it as `after` (or `before`) to continue from this item.
            pub cursor: String,
            pub node: $node,
        }

        #[doc = concat!("A page of ", $many, ".")]
        #[derive(SimpleObject)]
        pub struct $connection {
            pub edges: Vec<$edge>,
            pub page_info: PageInfo,
            /// The number of items in the whole list (all pages).
            pub total_count: u64,
        }

        impl From<Paged<$node>> for $connection {
            fn from(paged: Paged<$node>) -> Self {
                Self {
                    edges: paged
                        .items
                        .into_iter()
                        .map(|(cursor, node)| $edge { cursor, node })
                        .collect(),
                    page_info: paged.page_info,
                    total_count: paged.total_count,
                }
            }
        }
    };
}

connection!(
    OrganisationConnection,
    OrganisationEdge,
    Organisation,
    "organisation",
    "organisations"
);
connection!(
    ProjectConnection,
    ProjectEdge,
    Project,
    "project",
    "projects"
);
connection!(
    ActivityConnection,
    ActivityEdge,
    Activity,
    "activity",
    "activities"
);
connection!(
    TransactionConnection,
    TransactionEdge,
    Transaction,
    "transaction",
    "transactions"
);

connection!(
    AuditEventConnection,
    AuditEventEdge,
    AuditEvent,
    "event of the audit log",
    "events of the audit log"
);

/// A page of values with their cursors, before they become a GraphQL connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paged<T> {
    /// Each item with its cursor.
    pub items: Vec<(String, T)>,
    pub page_info: PageInfo,
    pub total_count: u64,
}

impl<T> Paged<T> {
    /// The same page with each item mapped (a domain state into its GraphQL type).
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Paged<U> {
        let mut f = f;
        Paged {
            items: self
                .items
                .into_iter()
                .map(|(cursor, item)| (cursor, f(item)))
                .collect(),
            page_info: self.page_info,
            total_count: self.total_count,
        }
    }
}

/// The pagination arguments of a connection field, as given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

impl PageArgs {
    /// Forward pagination only (`first`, `after`), as `Organisation.projects` offers.
    #[must_use]
    pub fn forward(first: Option<i32>, after: Option<String>) -> Self {
        Self {
            first,
            after,
            ..Self::default()
        }
    }
}

/// The cursor of the item at `offset`.
#[must_use]
pub fn encode_cursor(offset: u64) -> String {
    OpaqueCursor(offset).encode_cursor()
}

/// The offset a cursor stands for.
fn decode_cursor(cursor: &str, field: &str) -> Result<u64, ApiError> {
    OpaqueCursor::<u64>::decode_cursor(cursor)
        .map(|cursor| cursor.0)
        .map_err(|_| {
            ApiError::bad_user_input(
                field,
                format!("{field} is not a cursor of this list; pass a cursor the list returned"),
            )
        })
}

/// A page size argument: 0 to `max`.
fn page_size(value: Option<i32>, field: &str, max: usize) -> Result<Option<u64>, ApiError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let max = u64::try_from(max).unwrap_or(u64::MAX);
    match u64::try_from(value) {
        Ok(size) if size <= max => Ok(Some(size)),
        Ok(_) => Err(ApiError::bad_user_input(
            field,
            format!("{field} must be at most {max} (got {value})"),
        )),
        Err(_) => Err(ApiError::bad_user_input(
            field,
            format!("{field} must not be negative (got {value})"),
        )),
    }
}

/// The arguments checked and turned into bounds on positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bounds {
    /// The first position the page may hold (after `after`).
    start: u64,
    /// One past the last position the page may hold (`before`), when given.
    end: Option<u64>,
    first: Option<u64>,
    last: Option<u64>,
}

impl Bounds {
    fn of(args: &PageArgs, max_page_size: usize) -> Result<Self, ApiError> {
        let mut first = page_size(args.first, "first", max_page_size)?;
        let last = page_size(args.last, "last", max_page_size)?;
        if first.is_none() && last.is_none() {
            first = Some(u64::try_from(max_page_size).unwrap_or(u64::MAX));
        }
        let start = match &args.after {
            Some(cursor) => decode_cursor(cursor, "after")?.saturating_add(1),
            None => 0,
        };
        let end = args
            .before
            .as_deref()
            .map(|cursor| decode_cursor(cursor, "before"))
            .transpose()?;
        Ok(Self {
            start,
            end,
            first,
            last,
        })
    }

    /// The window to read once the list's size is known (or assumed unbounded).
    fn window(self, total: Option<u64>) -> Window {
        let mut end = match (self.end, total) {
            (Some(end), Some(total)) => end.min(total),
            (Some(end), None) => end,
            (None, Some(total)) => total,
            (None, None) => u64::MAX,
        };
        end = end.max(self.start);
        if let Some(first) = self.first {
            end = end.min(self.start.saturating_add(first));
        }
        let start = match self.last {
            Some(last) => self.start.max(end.saturating_sub(last)),
            None => self.start,
        };
        Window {
            offset: start,
            limit: end - start,
        }
    }

    /// Whether the window can be computed without the list's size: `last` counts back from the
    /// end, which is the list's end when no `before` (or a `first`) bounds it.
    fn needs_total(self) -> bool {
        self.last.is_some() && self.end.is_none() && self.first.is_none()
    }
}

/// Builds a connection: checks `args`, reads the window(s) it needs with `fetch`, and numbers the
/// edges. `fetch` is called once, or twice when `last` is given without `before` (the first call,
/// with an empty window, learns the list's size).
///
/// # Errors
/// `BAD_USER_INPUT` for arguments out of range or foreign cursors; whatever `fetch` fails with.
pub async fn paginate<T, F, Fut>(
    args: &PageArgs,
    max_page_size: usize,
    fetch: F,
) -> Result<Paged<T>, ApiError>
where
    F: Fn(Window) -> Fut,
    Fut: Future<Output = Result<Page<T>, ApiError>>,
{
    let bounds = Bounds::of(args, max_page_size)?;
    let known_total = if bounds.needs_total() {
        Some(
            fetch(Window {
                offset: 0,
                limit: 0,
            })
            .await?
            .total,
        )
    } else {
        None
    };
    let window = bounds.window(known_total);
    let page = if window.limit == 0 && known_total.is_some() {
        Page {
            items: Vec::new(),
            total: known_total.unwrap_or_default(),
        }
    } else {
        fetch(window).await?
    };
    let total = page.total;
    let offset = window.offset;
    let items: Vec<(String, T)> = page
        .items
        .into_iter()
        .take(usize::try_from(window.limit).unwrap_or(usize::MAX))
        .zip(offset..)
        .map(|(item, position)| (encode_cursor(position), item))
        .collect();
    let past_last = offset.saturating_add(u64::try_from(items.len()).unwrap_or(u64::MAX));
    let page_info = PageInfo {
        has_next_page: past_last < total,
        has_previous_page: offset > 0 && total > 0,
        start_cursor: items.first().map(|(cursor, _)| cursor.clone()),
        end_cursor: items.last().map(|(cursor, _)| cursor.clone()),
    };
    Ok(Paged {
        items,
        page_info,
        total_count: total,
    })
}

/// The position a keyset cursor stands for, with the order it was taken in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct KeysetCursor {
    /// The list and its order (`projects (Title, Descending)`): a cursor of another list or
    /// order is refused, since its position means nothing there.
    #[serde(rename = "o")]
    order: String,
    #[serde(rename = "t", skip_serializing_if = "Option::is_none", default)]
    text: Option<String>,
    #[serde(rename = "d", skip_serializing_if = "Option::is_none", default)]
    date: Option<chrono::NaiveDate>,
    #[serde(rename = "i")]
    id: uuid::Uuid,
}

/// The cursor of the item at `position` of the list ordered as `order` says.
#[must_use]
pub fn keyset_cursor(order: &str, position: &Position) -> String {
    let (text, date) = match &position.key {
        SortKey::Text(text) => (Some(text.clone()), None),
        SortKey::Date(date) => (None, Some(*date)),
    };
    OpaqueCursor(KeysetCursor {
        order: order.to_owned(),
        text,
        date,
        id: position.id,
    })
    .encode_cursor()
}

/// The position a cursor of the list ordered as `order` stands for.
fn decode_keyset_cursor(cursor: &str, field: &str, order: &str) -> Result<Position, ApiError> {
    let foreign = || {
        ApiError::bad_user_input(
            field,
            format!(
                "{field} is not a cursor of this list in this order; pass a cursor the list \
                 returned"
            ),
        )
    };
    let decoded = OpaqueCursor::<KeysetCursor>::decode_cursor(cursor)
        .map_err(|_| foreign())?
        .0;
    if decoded.order != order {
        return Err(foreign());
    }
    let key = match (decoded.text, decoded.date) {
        (Some(text), None) => SortKey::Text(text),
        (None, Some(date)) => SortKey::Date(date),
        _ => return Err(foreign()),
    };
    Ok(Position {
        key,
        id: decoded.id,
    })
}

/// Builds a connection over a list read by keyset (organisations, projects, activities): checks
/// `args`, reads one range with `fetch` — the page and one item more, which tells whether more lie
/// beyond — and, when `count` is given (the client selected `totalCount`), the list's size.
/// `order` names the list and its order; cursors carry it.
///
/// Relay's algorithm: `first` reads from the range's start, `last` from its end, both together
/// take the last `last` of the first `first`. `hasNextPage` is exact when paginating forward
/// (`first`), `hasPreviousPage` when paginating backward (`last`); the other is `true` exactly
/// when a cursor bounds the page on that side (a cursor the list returned stands for an item
/// there), as the Relay specification allows.
///
/// # Errors
/// `BAD_USER_INPUT` for arguments out of range or cursors of another list or order; whatever
/// `fetch` or `count` fail with.
pub async fn paginate_keyset<T, F, Fut, C, CFut>(
    args: &PageArgs,
    max_page_size: usize,
    order: &str,
    fetch: F,
    count: Option<C>,
) -> Result<Paged<T>, ApiError>
where
    F: FnOnce(Range) -> Fut,
    Fut: Future<Output = Result<Vec<Positioned<T>>, ApiError>>,
    C: FnOnce() -> CFut,
    CFut: Future<Output = Result<u64, ApiError>>,
{
    let request = KeysetRequest::new(args, max_page_size, order)?;
    let page = request.page(fetch(request.range()).await?);
    let total_count = match count {
        Some(count) => count().await?,
        // Not selected: never read, never shown.
        None => 0,
    };
    let items: Vec<(String, T)> = page
        .items
        .into_iter()
        .map(|positioned| (keyset_cursor(order, &positioned.position), positioned.item))
        .collect();
    let page_info = PageInfo {
        has_next_page: page.has_next_page,
        has_previous_page: page.has_previous_page,
        start_cursor: items.first().map(|(cursor, _)| cursor.clone()),
        end_cursor: items.last().map(|(cursor, _)| cursor.clone()),
    };
    Ok(Paged {
        items,
        page_info,
        total_count,
    })
}

/// The arguments of a keyset connection, checked: the range to read, and how to cut the page
/// out of what it read ([`KeysetRequest::page`]). [`paginate_keyset`] is made of the two; the read
/// plans ([`super::read_plan`]) use them apart, to read the pages of many parents at once.
#[derive(Debug, Clone)]
pub struct KeysetRequest {
    first: Option<u64>,
    last: Option<u64>,
    after: Option<Position>,
    before: Option<Position>,
}

/// A page of a keyset connection, cut out of what its range read, items in list order.
#[derive(Debug, Clone)]
pub struct KeysetPage<T> {
    pub items: Vec<Positioned<T>>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

impl KeysetRequest {
    /// Checks `args` against the page-size limit and the list's `order` (cursors carry it).
    ///
    /// # Errors
    /// `BAD_USER_INPUT` for arguments out of range or cursors of another list or order.
    pub fn new(args: &PageArgs, max_page_size: usize, order: &str) -> Result<Self, ApiError> {
        let mut first = page_size(args.first, "first", max_page_size)?;
        let last = page_size(args.last, "last", max_page_size)?;
        if first.is_none() && last.is_none() {
            first = Some(u64::try_from(max_page_size).unwrap_or(u64::MAX));
        }
        let after = args
            .after
            .as_deref()
            .map(|cursor| decode_keyset_cursor(cursor, "after", order))
            .transpose()?;
        let before = args
            .before
            .as_deref()
            .map(|cursor| decode_keyset_cursor(cursor, "before", order))
            .transpose()?;
        Ok(Self {
            first,
            last,
            after,
            before,
        })
    }

    fn wanted(&self) -> u64 {
        self.first.or(self.last).unwrap_or_default()
    }

    /// The range to read: the page and one item more, which tells whether more lie beyond.
    #[must_use]
    pub fn range(&self) -> Range {
        Range {
            after: self.after.clone(),
            before: self.before.clone(),
            limit: self.wanted().saturating_add(1),
            from_end: self.first.is_none(),
        }
    }

    /// The page out of `items`, what [`Self::range`] read.
    #[must_use]
    pub fn page<T>(&self, mut items: Vec<Positioned<T>>) -> KeysetPage<T> {
        let wanted = usize::try_from(self.wanted()).unwrap_or(usize::MAX);
        let more = items.len() > wanted;
        let (mut has_previous_page, has_next_page);
        if self.first.is_some() {
            items.truncate(wanted);
            has_next_page = more;
            has_previous_page = self.after.is_some();
            if let Some(last) = self.last.and_then(|last| usize::try_from(last).ok())
                && items.len() > last
            {
                items.drain(..items.len() - last);
                has_previous_page = true;
            }
        } else {
            // Read from the end: the extra item, if any, is the first.
            if more {
                items.drain(..items.len() - wanted);
            }
            has_previous_page = more;
            has_next_page = self.before.is_some();
        }
        KeysetPage {
            items,
            has_next_page,
            has_previous_page,
        }
    }
}

/// Whether the connection field being resolved selects `totalCount` (counting is a query of
/// its own, run only then).
#[must_use]
pub fn wants_total(ctx: &async_graphql::Context<'_>) -> bool {
    ctx.look_ahead().field("totalCount").exists()
}

/// A window of an in-memory list (a project's transactions).
#[must_use]
pub fn window_of<T: Clone>(items: &[T], window: Window) -> Page<T> {
    let start = usize::try_from(window.offset)
        .unwrap_or(usize::MAX)
        .min(items.len());
    let limit = usize::try_from(window.limit).unwrap_or(usize::MAX);
    Page {
        items: items.iter().skip(start).take(limit).cloned().collect(),
        total: u64::try_from(items.len()).unwrap_or(u64::MAX),
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use super::*;

    async fn page_of(args: PageArgs) -> Result<Paged<u32>, ApiError> {
        let items: Vec<u32> = (0..10).collect();
        paginate(&args, 4, |window| {
            let page = window_of(&items, window);
            async move { Ok(page) }
        })
        .await
    }

    fn nodes(page: &Paged<u32>) -> Vec<u32> {
        page.items.iter().map(|(_, item)| *item).collect()
    }

    fn field_of(error: Option<ApiError>) -> Option<String> {
        match error {
            Some(ApiError::BadUserInput { field, .. }) => Some(field),
            _ => None,
        }
    }

    #[tokio::test]
    async fn forward_pages_walk_the_list() {
        let first = page_of(PageArgs::forward(Some(3), None)).await.unwrap();
        assert_eq!(nodes(&first), [0, 1, 2]);
        assert!(first.page_info.has_next_page);
        assert!(!first.page_info.has_previous_page);
        assert_eq!(first.total_count, 10);
        let after = first.page_info.end_cursor.clone();
        let second = page_of(PageArgs::forward(Some(3), after)).await.unwrap();
        assert_eq!(nodes(&second), [3, 4, 5]);
        assert!(second.page_info.has_previous_page);
        let last_page = page_of(PageArgs::forward(Some(3), Some(encode_cursor(8))))
            .await
            .unwrap();
        assert_eq!(nodes(&last_page), [9]);
        assert!(!last_page.page_info.has_next_page);
    }

    #[tokio::test]
    async fn without_first_or_last_a_page_holds_the_limit() {
        let page = page_of(PageArgs::default()).await.unwrap();
        assert_eq!(nodes(&page), [0, 1, 2, 3]);
    }

    #[tokio::test]
    async fn backward_pages_count_from_the_end_or_from_before() {
        let tail = page_of(PageArgs {
            last: Some(3),
            ..PageArgs::default()
        })
        .await
        .unwrap();
        assert_eq!(nodes(&tail), [7, 8, 9]);
        assert!(tail.page_info.has_previous_page);
        assert!(!tail.page_info.has_next_page);
        let before = page_of(PageArgs {
            last: Some(3),
            before: tail.page_info.start_cursor.clone(),
            ..PageArgs::default()
        })
        .await
        .unwrap();
        assert_eq!(nodes(&before), [4, 5, 6]);
        assert!(before.page_info.has_next_page);
        let head = page_of(PageArgs {
            last: Some(3),
            before: Some(encode_cursor(2)),
            ..PageArgs::default()
        })
        .await
        .unwrap();
        assert_eq!(nodes(&head), [0, 1]);
        assert!(!head.page_info.has_previous_page);
    }

    #[tokio::test]
    async fn first_and_last_together_follow_relay() {
        let page = page_of(PageArgs {
            first: Some(4),
            last: Some(2),
            after: Some(encode_cursor(1)),
            ..PageArgs::default()
        })
        .await
        .unwrap();
        assert_eq!(nodes(&page), [4, 5]);
    }

    #[tokio::test]
    async fn out_of_range_arguments_name_themselves() {
        let too_many = page_of(PageArgs::forward(Some(5), None)).await.err();
        assert_eq!(field_of(too_many).as_deref(), Some("first"));
        let negative = page_of(PageArgs {
            last: Some(-1),
            ..PageArgs::default()
        })
        .await
        .err();
        assert_eq!(field_of(negative).as_deref(), Some("last"));
        let foreign = page_of(PageArgs::forward(None, Some("not a cursor".into())))
            .await
            .err();
        assert_eq!(field_of(foreign).as_deref(), Some("after"));
    }

    #[tokio::test]
    async fn an_empty_list_has_no_pages() {
        let page = paginate(&PageArgs::default(), 4, |window| async move {
            Ok(window_of::<u32>(&[], window))
        })
        .await
        .unwrap();
        assert!(page.items.is_empty());
        assert_eq!(
            page.page_info,
            PageInfo {
                has_next_page: false,
                has_previous_page: false,
                start_cursor: None,
                end_cursor: None,
            }
        );
    }

    #[test]
    fn a_connection_costs_its_selection_once_per_item() {
        assert_eq!(connection_cost(Some(20), None, 5), 101);
        assert_eq!(connection_cost(None, Some(3), 5), 16);
        assert_eq!(
            connection_cost(Some(20), Some(3), 5),
            16,
            "the smaller page"
        );
        assert_eq!(connection_cost(None, None, 2), 201, "the largest page");
        assert_eq!(
            connection_cost(Some(0), None, 4),
            5,
            "totalCount alone still costs"
        );
        assert_eq!(
            connection_cost(Some(-1), None, 1),
            2,
            "refused when it runs"
        );
        assert_eq!(
            connection_cost(Some(101), None, 1),
            2,
            "refused when it runs"
        );
        assert_eq!(connection_cost(Some(100), None, usize::MAX), usize::MAX);
    }
}
