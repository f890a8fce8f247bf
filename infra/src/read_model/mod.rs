//! The read model: the tables queries read, derived from each aggregate's state.
//!
//! One pure function, [`rows_of`], says which rows an aggregate's state stands for, and one,
//! [`transaction_rows`], which rows a project's transaction events add (a project's transactions
//! are not in its state: they are rows of their own, written from their events and never
//! rewritten, so that a project's commands cost the same however many it has recorded).
//! Everything else is built on them, so the three uses cannot drift apart:
//!
//! * [`SqlProjector`] (the store's [`Projector`]) writes what changed in an aggregate's rows
//!   inside the append transaction, for a whole batch of appends at once;
//! * [`rebuild`] (`amanah replay`) folds the whole log with the domain's `evolve` and writes every
//!   aggregate's rows afresh, in one transaction that holds the log's append lock, so that it is
//!   safe beside running servers: an append lands before the rebuild reads the log (and is folded
//!   in) or waits for the rebuild to commit (and is projected after it);
//! * [`check`] (`amanah replay --check`) folds the log the same way and compares the rows it
//!   expects with the rows the live read model holds, reporting every difference; it reads both
//!   from one snapshot, so appends running meanwhile neither wait nor show up as differences.
//!
//! [`SqlReadModel`] ([`crate::read_model::queries`]) answers the API's queries. Each aggregate's row keeps
//! its whole state as JSON (`state`); the other columns and the child tables are what filters,
//! sorting and joins use.

pub mod projection;
pub mod queries;

use std::collections::{BTreeMap, BTreeSet};

use amanah_domain::activity::{Activity, ActivityLocation};
use amanah_domain::aggregate::{Aggregate, StreamKind};
use amanah_domain::organisation::Organisation;
use amanah_domain::ports::{BoxFuture, LatestState, Snapshot, StoreError, StoredEvent};
use amanah_domain::project::{
    KnownTransaction, Project, ProjectEvent, TransactionEntry, Transactions,
};
use amanah_domain::service::decode;
use chrono::NaiveDate;
use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend,
    IsolationLevel, Statement, TransactionOptions, TransactionTrait, Value,
};
use uuid::Uuid;

use crate::read_model::projection::{Projection, Projector, StateReader, TransactionReader};
use crate::read_model::queries::{TRANSACTION_COLUMNS, transaction_at};
use crate::store::db_error::map_db_error;
use crate::store::event_store::{SqlEventStore, read_range_in};
use crate::store::sql::{from_db_int, statement};
use crate::store::writes::{ColumnType, Writes};

pub use queries::SqlReadModel;

/// One cell of a read-model row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cell {
    Text(Option<String>),
    Int(i64),
    Date(Option<NaiveDate>),
    Bool(bool),
}

impl Cell {
    fn text(value: impl ToString) -> Self {
        Self::Text(Some(value.to_string()))
    }

    fn opt_text<T: ToString>(value: Option<T>) -> Self {
        Self::Text(value.map(|v| v.to_string()))
    }

    fn count(value: u64) -> Self {
        Self::Int(i64::try_from(value).unwrap_or(i64::MAX))
    }

    fn position(index: usize) -> Self {
        Self::Int(i64::try_from(index).unwrap_or(i64::MAX))
    }

    /// The cell as the database stores it.
    fn value(&self) -> Value {
        self.clone().into_value()
    }

    fn into_value(self) -> Value {
        match self {
            Self::Text(text) => text.into(),
            Self::Int(int) => int.into(),
            Self::Date(date) => date.into(),
            Self::Bool(flag) => flag.into(),
        }
    }

    /// Whether the cell is of `kind`.
    const fn is(&self, kind: Kind) -> bool {
        matches!(
            (self, kind),
            (Self::Text(_), Kind::Text)
                | (Self::Int(_), Kind::Int)
                | (Self::Date(_), Kind::Date)
                | (Self::Bool(_), Kind::Bool)
        )
    }

    /// The cell as [`check`] compares it: text that reads the same on SQLite and PostgreSQL.
    fn normalised(&self) -> Option<String> {
        match self {
            Self::Text(text) => text.clone(),
            Self::Int(int) => Some(int.to_string()),
            Self::Date(date) => date.map(|d| d.format("%Y-%m-%d").to_string()),
            Self::Bool(flag) => Some(if *flag { "1" } else { "0" }.to_owned()),
        }
    }
}

/// What a table column holds: the kind of [`Cell`] written to it, its SQL type, and how
/// [`check`] reads it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Int,
    Date,
    Bool,
}

impl Kind {
    /// The type its values travel in to the database in gathered writes.
    const fn column_type(self) -> ColumnType {
        match self {
            Self::Text => ColumnType::Text,
            Self::Int => ColumnType::BigInt,
            Self::Date => ColumnType::Date,
            Self::Bool => ColumnType::Bool,
        }
    }

    /// The column's SQL type, as both engines' catalogues name it (case aside).
    const fn sql_type(self) -> &'static str {
        match self {
            Self::Text => "TEXT",
            Self::Int => "BIGINT",
            Self::Date => "DATE",
            Self::Bool => "BOOLEAN",
        }
    }
}

/// A read-model table: its columns, the column that names the aggregate a row belongs to, and
/// the columns that identify one row (its primary key).
///
/// This is the one description of a table's columns: the projection writes rows in this
/// order and of these kinds ([`check_rows`] refuses any other), `replay --check` reads them
/// back by it, and [`schema_differences`] checks that the migrated database has exactly these
/// columns, types and primary keys. The migrations stay as written: they are the history every
/// deployed database went through, so a new column is a new migration, and the check fails
/// until it exists.
struct Table {
    name: &'static str,
    key: &'static str,
    row_key: &'static [&'static str],
    columns: &'static [(&'static str, Kind)],
}

const ORGANISATIONS: Table = Table {
    name: "organisations",
    key: "id",
    row_key: &["id"],
    columns: &[
        ("id", Kind::Text),
        ("ref", Kind::Text),
        ("name", Kind::Text),
        ("acronym", Kind::Text),
        ("type_code", Kind::Text),
        ("country", Kind::Text),
        ("website", Kind::Text),
        ("deactivated", Kind::Bool),
        ("version", Kind::Int),
        ("state", Kind::Text),
    ],
};
const PROJECTS: Table = Table {
    name: "projects",
    key: "id",
    row_key: &["id"],
    columns: &[
        ("id", Kind::Text),
        ("iati_identifier", Kind::Text),
        ("reporting_org_id", Kind::Text),
        ("title", Kind::Text),
        ("status_code", Kind::Text),
        ("planned_start", Kind::Date),
        ("planned_end", Kind::Date),
        ("actual_start", Kind::Date),
        ("actual_end", Kind::Date),
        ("version", Kind::Int),
        ("state", Kind::Text),
    ],
};
const PROJECT_PARTICIPANTS: Table = Table {
    name: "project_participants",
    key: "project_id",
    row_key: &["project_id", "position"],
    columns: &[
        ("project_id", Kind::Text),
        ("position", Kind::Int),
        ("organisation_id", Kind::Text),
        ("role_code", Kind::Text),
    ],
};
const PROJECT_COUNTRIES: Table = Table {
    name: "project_countries",
    key: "project_id",
    row_key: &["project_id", "position"],
    columns: &[
        ("project_id", Kind::Text),
        ("position", Kind::Int),
        ("country_code", Kind::Text),
        ("percentage", Kind::Text),
    ],
};
const PROJECT_REGIONS: Table = Table {
    name: "project_regions",
    key: "project_id",
    row_key: &["project_id", "position"],
    columns: &[
        ("project_id", Kind::Text),
        ("position", Kind::Int),
        ("region_code", Kind::Text),
        ("percentage", Kind::Text),
    ],
};
const PROJECT_SECTORS: Table = Table {
    name: "project_sectors",
    key: "project_id",
    row_key: &["project_id", "position"],
    columns: &[
        ("project_id", Kind::Text),
        ("position", Kind::Int),
        ("sector_code", Kind::Text),
        ("percentage", Kind::Text),
    ],
};
const PROJECT_BUDGETS: Table = Table {
    name: "project_budgets",
    key: "project_id",
    row_key: &["project_id", "position"],
    columns: &[
        ("project_id", Kind::Text),
        ("position", Kind::Int),
        ("type_code", Kind::Text),
        ("status_code", Kind::Text),
        ("period_start", Kind::Date),
        ("period_end", Kind::Date),
        ("minor_units", Kind::Int),
        ("currency", Kind::Text),
        ("value_date", Kind::Date),
    ],
};
const PROJECT_TRANSACTIONS: Table = Table {
    name: "project_transactions",
    key: "project_id",
    row_key: &["id"],
    columns: &[
        ("id", Kind::Text),
        ("project_id", Kind::Text),
        ("position", Kind::Int),
        ("type_code", Kind::Text),
        ("date", Kind::Date),
        ("minor_units", Kind::Int),
        ("currency", Kind::Text),
        ("value_date", Kind::Date),
        ("description", Kind::Text),
        ("provider_org_id", Kind::Text),
        ("receiver_org_id", Kind::Text),
        ("ref", Kind::Text),
        ("reverses_id", Kind::Text),
    ],
};
const PROJECT_DOCUMENTS: Table = Table {
    name: "project_documents",
    key: "project_id",
    row_key: &["project_id", "position"],
    columns: &[
        ("project_id", Kind::Text),
        ("position", Kind::Int),
        ("url", Kind::Text),
        ("title", Kind::Text),
        ("category_code", Kind::Text),
        ("format", Kind::Text),
        ("date", Kind::Date),
    ],
};
const ACTIVITIES: Table = Table {
    name: "activities",
    key: "id",
    row_key: &["id"],
    columns: &[
        ("id", Kind::Text),
        ("project_id", Kind::Text),
        ("title", Kind::Text),
        ("kind", Kind::Text),
        ("status", Kind::Text),
        ("country", Kind::Text),
        ("planned_start", Kind::Date),
        ("planned_end", Kind::Date),
        ("version", Kind::Int),
        ("state", Kind::Text),
    ],
};
const ACTIVITY_PARTNERS: Table = Table {
    name: "activity_partners",
    key: "activity_id",
    row_key: &["activity_id", "organisation_id", "role"],
    columns: &[
        ("activity_id", Kind::Text),
        ("organisation_id", Kind::Text),
        ("role", Kind::Text),
    ],
};
const ACTIVITY_CHAPTERS: Table = Table {
    name: "activity_chapters",
    key: "activity_id",
    row_key: &["activity_id", "chapter"],
    columns: &[("activity_id", Kind::Text), ("chapter", Kind::Text)],
};

/// Every read-model table, grouped by the aggregate that owns its rows.
const ORGANISATION_TABLES: &[&Table] = &[&ORGANISATIONS];
const PROJECT_TABLES: &[&Table] = &[
    &PROJECTS,
    &PROJECT_PARTICIPANTS,
    &PROJECT_COUNTRIES,
    &PROJECT_REGIONS,
    &PROJECT_SECTORS,
    &PROJECT_BUDGETS,
    &PROJECT_DOCUMENTS,
];
/// The tables written from events rather than states (never rewritten, never cleared).
const EVENT_TABLES: &[&Table] = &[&PROJECT_TRANSACTIONS];
const ACTIVITY_TABLES: &[&Table] = &[&ACTIVITIES, &ACTIVITY_PARTNERS, &ACTIVITY_CHAPTERS];

fn all_tables() -> impl Iterator<Item = &'static Table> {
    ORGANISATION_TABLES
        .iter()
        .chain(PROJECT_TABLES)
        .chain(EVENT_TABLES)
        .chain(ACTIVITY_TABLES)
        .copied()
}

/// The rows of one table that one aggregate stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rows {
    pub table: &'static str,
    pub rows: Vec<Vec<Cell>>,
}

fn state_json<T: serde::Serialize>(state: &T) -> Result<Cell, StoreError> {
    serde_json::to_string(state)
        .map(|json| Cell::Text(Some(json)))
        .map_err(|error| StoreError::internal_from("state does not serialise", error))
}

/// The rows `snapshot` stands for, table by table (every table of its aggregate, possibly empty).
///
/// # Errors
/// [`StoreError::Internal`] if the state does not serialise (a bug).
pub fn rows_of(snapshot: &Snapshot) -> Result<Vec<Rows>, StoreError> {
    Ok(match snapshot {
        Snapshot::Organisation(o) => organisation_rows(o)?,
        Snapshot::Project(p) => project_rows(p)?,
        Snapshot::Activity(a) => activity_rows(a)?,
    })
}

fn organisation_rows(o: &Organisation) -> Result<Vec<Rows>, StoreError> {
    Ok(vec![Rows {
        table: ORGANISATIONS.name,
        rows: vec![vec![
            Cell::text(o.id),
            Cell::opt_text(o.org_ref.as_ref()),
            Cell::text(&o.name),
            Cell::opt_text(o.acronym.as_ref()),
            Cell::text(o.organisation_type.code()),
            Cell::opt_text(o.country.as_ref()),
            Cell::opt_text(o.website.as_ref()),
            Cell::Bool(o.deactivated),
            Cell::count(o.version),
            state_json(o)?,
        ]],
    }])
}

fn project_rows(p: &Project) -> Result<Vec<Rows>, StoreError> {
    let id = || Cell::text(p.id);
    Ok(vec![
        Rows {
            table: PROJECTS.name,
            rows: vec![vec![
                id(),
                Cell::text(&p.iati_identifier),
                Cell::text(p.reporting_organisation_id),
                Cell::text(&p.title),
                Cell::text(p.status.code()),
                Cell::Date(Some(p.planned_start)),
                Cell::Date(Some(p.planned_end)),
                Cell::Date(p.actual_start),
                Cell::Date(p.actual_end),
                Cell::count(p.version),
                state_json(p)?,
            ]],
        },
        Rows {
            table: PROJECT_PARTICIPANTS.name,
            rows: p
                .participating_organisations
                .iter()
                .enumerate()
                .map(|(i, po)| {
                    vec![
                        id(),
                        Cell::position(i),
                        Cell::text(po.organisation_id),
                        Cell::text(po.role.code()),
                    ]
                })
                .collect(),
        },
        Rows {
            table: PROJECT_COUNTRIES.name,
            rows: p
                .recipient_countries
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    vec![
                        id(),
                        Cell::position(i),
                        Cell::text(c.country),
                        Cell::text(c.percentage),
                    ]
                })
                .collect(),
        },
        Rows {
            table: PROJECT_REGIONS.name,
            rows: p
                .recipient_regions
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    vec![
                        id(),
                        Cell::position(i),
                        Cell::text(r.region),
                        Cell::text(r.percentage),
                    ]
                })
                .collect(),
        },
        Rows {
            table: PROJECT_SECTORS.name,
            rows: p
                .sectors
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    vec![
                        id(),
                        Cell::position(i),
                        Cell::text(s.sector),
                        Cell::text(s.percentage),
                    ]
                })
                .collect(),
        },
        Rows {
            table: PROJECT_BUDGETS.name,
            rows: p
                .budgets
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    vec![
                        id(),
                        Cell::position(i),
                        Cell::text(b.budget_type.code()),
                        Cell::text(b.status.code()),
                        Cell::Date(Some(b.period_start)),
                        Cell::Date(Some(b.period_end)),
                        Cell::Int(b.value.minor_units()),
                        Cell::text(b.value.currency()),
                        Cell::Date(Some(b.value_date)),
                    ]
                })
                .collect(),
        },
        Rows {
            table: PROJECT_DOCUMENTS.name,
            rows: p
                .documents
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    vec![
                        id(),
                        Cell::position(i),
                        Cell::text(&d.url),
                        Cell::text(&d.title),
                        Cell::text(d.category),
                        Cell::text(&d.format),
                        Cell::Date(d.date),
                    ]
                })
                .collect(),
        },
    ])
}

/// The `project_transactions` rows that a project's `events` (one append's, in stream order)
/// add, the first at `position` (the number of transactions the project had before them).
///
/// # Errors
/// [`StoreError::Internal`] when a transaction event does not decode (the log and this build
/// disagree).
fn transaction_rows(
    project_id: Uuid,
    mut position: u64,
    events: &[StoredEvent],
) -> Result<Vec<Vec<Cell>>, StoreError> {
    let mut rows = Vec::new();
    for event in events {
        if let Some(entry) = transaction_entry(event)? {
            rows.push(transaction_row(project_id, position, &entry));
            position += 1;
        }
    }
    Ok(rows)
}

/// Whether `event` records a transaction row (a transaction or a reversal).
fn records_a_transaction(event: &StoredEvent) -> bool {
    matches!(
        event.event_type.as_str(),
        "TransactionRecorded" | "TransactionReversed"
    )
}

/// The transaction row `event` records, if it is a transaction's event.
fn transaction_entry(event: &StoredEvent) -> Result<Option<TransactionEntry>, StoreError> {
    if !records_a_transaction(event) {
        return Ok(None);
    }
    let decoded = decode::<ProjectEvent>(event)
        .map_err(|e| StoreError::internal_from("a transaction event does not decode", e))?;
    Ok(match decoded {
        ProjectEvent::TransactionRecorded(entry) => Some(entry),
        ProjectEvent::TransactionReversed(reversed) => Some(reversed.reversal),
        _ => None,
    })
}

fn transaction_row(project_id: Uuid, position: u64, t: &TransactionEntry) -> Vec<Cell> {
    vec![
        Cell::text(t.id),
        Cell::text(project_id),
        Cell::count(position),
        Cell::text(t.transaction_type.code()),
        Cell::Date(Some(t.date)),
        Cell::Int(t.value.minor_units()),
        Cell::text(t.value.currency()),
        Cell::Date(Some(t.value_date)),
        Cell::opt_text(t.description.as_ref()),
        Cell::opt_text(t.provider_organisation_id),
        Cell::opt_text(t.receiver_organisation_id),
        Cell::opt_text(t.reference.as_ref()),
        Cell::opt_text(t.reverses),
    ]
}

fn activity_rows(a: &Activity) -> Result<Vec<Rows>, StoreError> {
    let id = || Cell::text(a.id);
    let country = match &a.location {
        ActivityLocation::Site { country, .. } => Some(country.to_string()),
        ActivityLocation::Online => None,
    };
    Ok(vec![
        Rows {
            table: ACTIVITIES.name,
            rows: vec![vec![
                id(),
                Cell::text(a.project_id),
                Cell::text(&a.title),
                Cell::text(a.kind.as_str()),
                Cell::text(a.status.as_str()),
                Cell::Text(country),
                Cell::Date(Some(a.planned_start)),
                Cell::Date(Some(a.planned_end)),
                Cell::count(a.version),
                state_json(a)?,
            ]],
        },
        Rows {
            table: ACTIVITY_PARTNERS.name,
            rows: a
                .partners
                .iter()
                .map(|p| {
                    vec![
                        id(),
                        Cell::text(p.organisation_id),
                        Cell::text(p.role.as_str()),
                    ]
                })
                .collect(),
        },
        Rows {
            table: ACTIVITY_CHAPTERS.name,
            rows: a
                .uncac_chapters
                .iter()
                .map(|c| vec![id(), Cell::text(c.as_str())])
                .collect(),
        },
    ])
}

fn table(name: &str) -> Result<&'static Table, StoreError> {
    all_tables()
        .find(|t| t.name == name)
        .ok_or_else(|| StoreError::internal(format!("no read-model table {name}")))
}

fn snapshot_id(snapshot: &Snapshot) -> Uuid {
    match snapshot {
        Snapshot::Organisation(o) => o.id,
        Snapshot::Project(p) => p.id,
        Snapshot::Activity(a) => a.id,
    }
}

fn snapshot_tables(snapshot: &Snapshot) -> &'static [&'static Table] {
    match snapshot {
        Snapshot::Organisation(_) => ORGANISATION_TABLES,
        Snapshot::Project(_) => PROJECT_TABLES,
        Snapshot::Activity(_) => ACTIVITY_TABLES,
    }
}

/// Inserts rows into their tables ([`push_rows`]).
async fn insert_rows<C: ConnectionTrait>(db: &C, all: Vec<Rows>) -> Result<(), StoreError> {
    let mut writes = Writes::new(db.get_database_backend());
    push_rows(&mut writes, all)?;
    writes.send(db).await.map_err(map_db_error)
}

/// Adds the inserts of `all` to `writes` ([`Writes::push_rows`]); the cells move into them (a
/// state's JSON is not copied).
fn push_rows(writes: &mut Writes, all: Vec<Rows>) -> Result<(), StoreError> {
    for rows in all {
        let table = table(rows.table)?;
        check_rows(table, &rows.rows)?;
        let columns = columns_of(table);
        let values = rows
            .rows
            .into_iter()
            .map(|row| row.into_iter().map(Cell::into_value).collect())
            .collect();
        writes
            .push_rows(table.name, &columns, values)
            .map_err(StoreError::internal)?;
    }
    Ok(())
}

/// The columns of `table` with the types their values travel in.
fn columns_of(table: &Table) -> Vec<(&'static str, ColumnType)> {
    table
        .columns
        .iter()
        .map(|(name, kind)| (*name, kind.column_type()))
        .collect()
}

/// What changes in one table between two states of an aggregate: the keys of the rows that went,
/// the rows whose key stayed but whose values changed, and the new rows.
#[derive(Debug, Default, PartialEq, Eq)]
struct TableChanges {
    deletes: Vec<Vec<Cell>>,
    updates: Vec<Update>,
    inserts: Vec<Vec<Cell>>,
}

/// A row whose key stayed: its cells after, and the columns its update names: those of the row
/// key (to find it) and those whose values changed (to set them).
#[derive(Debug, PartialEq, Eq)]
struct Update {
    row: Vec<Cell>,
    named: Vec<bool>,
}

/// Checks that every row has one cell per column of `table`, each of the column's kind (a bug
/// otherwise: the cells would be bound to the wrong columns).
fn check_rows(table: &Table, rows: &[Vec<Cell>]) -> Result<(), StoreError> {
    for row in rows {
        if row.len() != table.columns.len() {
            return Err(StoreError::internal(format!(
                "a row of {} has {} cells for {} columns",
                table.name,
                row.len(),
                table.columns.len()
            )));
        }
        for (cell, (column, kind)) in row.iter().zip(table.columns) {
            if !cell.is(*kind) {
                return Err(StoreError::internal(format!(
                    "{}.{column} is {kind:?}, but the row's cell is {cell:?}",
                    table.name
                )));
            }
        }
    }
    Ok(())
}

/// The changes from `before` to `after`, two row sets of `table`, matched by their row key. A
/// row that is in both unchanged is not touched: changing one budget of a project updates that
/// budget's row (and the project's own row), and writes none of the others again.
///
/// # Errors
/// [`StoreError::Internal`] when a row does not have one cell per column, or the table's row key
/// names no column (bugs).
fn table_changes(
    table: &Table,
    before: &[Vec<Cell>],
    after: &[Vec<Cell>],
) -> Result<TableChanges, StoreError> {
    check_rows(table, before)?;
    check_rows(table, after)?;
    let key_columns = table
        .row_key
        .iter()
        .map(|key| {
            table
                .columns
                .iter()
                .position(|(name, _)| name == key)
                .ok_or_else(|| {
                    StoreError::internal(format!("{}.{key} is not a column", table.name))
                })
        })
        .collect::<Result<Vec<usize>, _>>()?;
    let key_of = |row: &Vec<Cell>| -> Vec<Cell> {
        // In range: `check_rows` passed and every key column is a column.
        key_columns
            .iter()
            .filter_map(|&index| row.get(index).cloned())
            .collect()
    };
    let before_by_key: BTreeMap<Vec<Cell>, &Vec<Cell>> =
        before.iter().map(|row| (key_of(row), row)).collect();
    let after_keys: BTreeSet<Vec<Cell>> = after.iter().map(key_of).collect();
    let mut changes = TableChanges {
        deletes: before
            .iter()
            .map(key_of)
            .filter(|key| !after_keys.contains(key))
            .collect(),
        ..TableChanges::default()
    };
    for row in after {
        match before_by_key.get(&key_of(row)) {
            Some(old) if *old == row => {}
            Some(old) => changes.updates.push(Update {
                row: row.clone(),
                named: old
                    .iter()
                    .zip(row)
                    .enumerate()
                    .map(|(n, (old, new))| old != new || key_columns.contains(&n))
                    .collect(),
            }),
            None => changes.inserts.push(row.clone()),
        }
    }
    Ok(changes)
}

/// Conditions one `DELETE` carries at most.
const KEYS_PER_DELETE: usize = 128;

/// What one append changes in the read model: an aggregate's state before and after.
#[derive(Debug, Clone, Copy)]
struct Change<'a> {
    before: Option<&'a Snapshot>,
    after: &'a Snapshot,
    /// The events appended, as stored.
    events: &'a [StoredEvent],
}

impl<'a> Change<'a> {
    fn all(projections: &[Projection<'a>]) -> Vec<Self> {
        projections
            .iter()
            .map(|projection| Self::of(projection.previous, projection.snapshot, projection.events))
            .collect()
    }

    const fn of(
        before: Option<&'a Snapshot>,
        after: &'a Snapshot,
        events: &'a [StoredEvent],
    ) -> Self {
        Self {
            before,
            after,
            events,
        }
    }

    /// The append started the stream (its first event is version 1): nothing can be in the
    /// read model for it yet.
    fn new_stream(&self) -> bool {
        self.events
            .first()
            .is_some_and(|event| event.stream_version == 1)
    }

    /// The rows its events add to the tables written from events.
    fn event_rows(&self) -> Result<Vec<Rows>, StoreError> {
        let Snapshot::Project(project) = self.after else {
            return Ok(Vec::new());
        };
        let added = self
            .events
            .iter()
            .filter(|event| records_a_transaction(event))
            .count() as u64;
        if added == 0 {
            return Ok(Vec::new());
        }
        // The project counts its transactions: those before these are the count less these.
        let first = project
            .transaction_count
            .checked_sub(added)
            .ok_or_else(|| {
                StoreError::internal(format!(
                    "project {} counts {} transactions, fewer than its append records",
                    project.id, project.transaction_count
                ))
            })?;
        Ok(vec![Rows {
            table: PROJECT_TRANSACTIONS.name,
            rows: transaction_rows(project.id, first, self.events)?,
        }])
    }
}

/// Brings the rows of several aggregates (each a different one) from their state before to
/// their state after, set-based: per table, one `DELETE` for the rows that went, one `UPDATE` for
/// those whose values changed and multi-row `INSERT`s for the new ones. An aggregate without a
/// state before that is not a new stream has every row of its tables deleted by its id first, so
/// that its rows are exactly those of its state.
async fn write_changes<C: ConnectionTrait>(
    db: &C,
    changes: &[Change<'_>],
) -> Result<(), StoreError> {
    let mut writes = Writes::new(db.get_database_backend());
    push_changes(&mut writes, changes)?;
    writes.send(db).await.map_err(map_db_error)
}

/// Adds the statements of [`write_changes`] to `writes`, in the current step: the rows that went,
/// changed or came touch different row keys, so they need not see each other. Only when an
/// aggregate's rows are all deleted first (it has no state before) do the rest go in a step after
/// that.
fn push_changes(writes: &mut Writes, changes: &[Change<'_>]) -> Result<(), StoreError> {
    let mut cleared: BTreeMap<&'static str, Vec<Value>> = BTreeMap::new();
    let mut changed: BTreeMap<&'static str, TableChanges> = BTreeMap::new();
    for change in changes {
        let &Change { before, after, .. } = change;
        for added in change.event_rows()? {
            changed
                .entry(added.table)
                .or_default()
                .inserts
                .extend(added.rows);
        }
        let after_rows = rows_of(after)?;
        match before {
            Some(before) => {
                let before_rows = rows_of(before)?;
                for new in after_rows {
                    let old = before_rows
                        .iter()
                        .find(|rows| rows.table == new.table)
                        .map_or(&[][..], |rows| rows.rows.as_slice());
                    let table_changes = table_changes(table(new.table)?, old, &new.rows)?;
                    let all = changed.entry(new.table).or_default();
                    all.deletes.extend(table_changes.deletes);
                    all.updates.extend(table_changes.updates);
                    all.inserts.extend(table_changes.inserts);
                }
            }
            None => {
                if !change.new_stream() {
                    let id = snapshot_id(after).to_string();
                    for table in snapshot_tables(after) {
                        cleared
                            .entry(table.name)
                            .or_default()
                            .push(id.clone().into());
                    }
                }
                for new in after_rows {
                    changed
                        .entry(new.table)
                        .or_default()
                        .inserts
                        .extend(new.rows);
                }
            }
        }
    }
    if !cleared.is_empty() {
        for table in all_tables() {
            for chunk in cleared
                .remove(table.name)
                .unwrap_or_default()
                .chunks(KEYS_PER_DELETE)
            {
                let sql = format!(
                    "DELETE FROM {} WHERE {} IN ({})",
                    table.name,
                    table.key,
                    vec!["?"; chunk.len()].join(", ")
                );
                writes.push(sql, chunk.to_vec());
            }
        }
        writes.then();
    }
    let mut inserts = Vec::new();
    for table in all_tables() {
        let Some(TableChanges {
            deletes,
            updates,
            inserts: new,
        }) = changed.remove(table.name)
        else {
            continue;
        };
        let one_key = format!(
            "({})",
            table
                .row_key
                .iter()
                .map(|column| format!("{column} = ?"))
                .collect::<Vec<_>>()
                .join(" AND ")
        );
        for chunk in deletes.chunks(KEYS_PER_DELETE) {
            let sql = format!(
                "DELETE FROM {} WHERE {}",
                table.name,
                vec![one_key.as_str(); chunk.len()].join(" OR ")
            );
            let values: Vec<Value> = chunk.iter().flatten().map(Cell::value).collect();
            writes.push(sql, values);
        }
        // One update for the rows whose same columns changed (the usual case: a version and a
        // state), setting only those: SQLite rewrites the entries of every index on a column an
        // update sets, changed or not.
        let mut by_columns: BTreeMap<Vec<bool>, Vec<Vec<Cell>>> = BTreeMap::new();
        for Update { row, named } in updates {
            by_columns.entry(named).or_default().push(row);
        }
        let columns = columns_of(table);
        for (named, rows) in by_columns {
            let pick = |row: Vec<Cell>| -> Vec<Value> {
                row.into_iter()
                    .zip(&named)
                    .filter(|(_, named)| **named)
                    .map(|(cell, _)| cell.into_value())
                    .collect()
            };
            let named_columns: Vec<(&str, ColumnType)> = columns
                .iter()
                .zip(&named)
                .filter(|(_, named)| **named)
                .map(|(column, _)| *column)
                .collect();
            writes
                .push_updates(
                    table.name,
                    table.row_key,
                    &named_columns,
                    rows.into_iter().map(pick).collect(),
                )
                .map_err(StoreError::internal)?;
        }
        if !new.is_empty() {
            inserts.push(Rows {
                table: table.name,
                rows: new,
            });
        }
    }
    push_rows(writes, inserts)
}

/// The store's [`Projector`]: keeps the read-model tables in line with each append.
#[derive(Debug, Clone, Copy, Default)]
pub struct SqlProjector;

/// The state the read model keeps of an aggregate, and its version.
fn read_latest_state(
    db: DatabaseConnection,
    stream: StreamKind,
    id: Uuid,
) -> BoxFuture<'static, Result<Option<LatestState>, StoreError>> {
    Box::pin(async move {
        let table = match stream {
            StreamKind::Organisation => "organisations",
            StreamKind::Project => "projects",
            StreamKind::Activity => "activities",
        };
        let backend = db.get_database_backend();
        let row = db
            .query_one_raw(statement(
                backend,
                &format!("SELECT state, version FROM {table} WHERE id = ?"),
                vec![id.to_string().into()],
            ))
            .await
            .map_err(map_db_error)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let state: String = row.try_get_by_index(0).map_err(map_db_error)?;
        let version: i64 = row.try_get_by_index(1).map_err(map_db_error)?;
        Ok(Some(LatestState {
            version: from_db_int(version)?,
            state,
        }))
    })
}

/// Transaction `id` of project `project_id` and the reversal of it, if any, with the project's
/// version, in one statement (one snapshot on both engines).
fn read_kept_transaction(
    db: DatabaseConnection,
    project_id: Uuid,
    id: Uuid,
) -> BoxFuture<'static, Result<KnownTransaction, StoreError>> {
    Box::pin(async move {
        let backend = db.get_database_backend();
        let sql = format!(
            "SELECT p.version, {TRANSACTION_COLUMNS} FROM projects p \
             LEFT JOIN project_transactions t ON t.project_id = p.id \
             AND (t.id = ? OR t.reverses_id = ?) WHERE p.id = ? ORDER BY t.position"
        );
        let rows = db
            .query_all_raw(statement(
                backend,
                &sql,
                vec![
                    id.to_string().into(),
                    id.to_string().into(),
                    project_id.to_string().into(),
                ],
            ))
            .await
            .map_err(map_db_error)?;
        let mut version = 0;
        let mut found = Vec::new();
        for row in &rows {
            version = from_db_int(row.try_get_by_index(0).map_err(map_db_error)?)?;
            let transaction: Option<String> = row.try_get_by_index(1).map_err(map_db_error)?;
            if transaction.is_some() {
                found.push(transaction_at(row, 1)?);
            }
        }
        Ok(Transactions::from_rows(found).known(id, version))
    })
}

impl Projector for SqlProjector {
    fn state_reader(&self) -> Option<StateReader> {
        Some(read_latest_state)
    }

    fn transaction_reader(&self) -> Option<TransactionReader> {
        Some(read_kept_transaction)
    }

    async fn project(
        &self,
        txn: &DatabaseTransaction,
        previous: Option<&Snapshot>,
        snapshot: &Snapshot,
        events: &[StoredEvent],
    ) -> Result<(), StoreError> {
        // The read model holds exactly `previous` (it was projected with the append that left
        // the stream at the version this append expects): the difference is what is written.
        write_changes(txn, &[Change::of(previous, snapshot, events)]).await
    }

    async fn project_all(
        &self,
        txn: &DatabaseTransaction,
        projections: &[Projection<'_>],
    ) -> Result<(), StoreError> {
        let changes = Change::all(projections);
        write_changes(txn, &changes).await
    }

    fn gather_all(
        &self,
        projections: &[Projection<'_>],
        writes: &mut Writes,
    ) -> Result<bool, StoreError> {
        let changes = Change::all(projections);
        push_changes(writes, &changes)?;
        Ok(true)
    }
}

/// What the whole log folds into ([`fold_log_in`]).
struct Folded {
    /// The state of every aggregate.
    snapshots: Vec<Snapshot>,
    /// The rows of the tables written from events.
    event_rows: Vec<Rows>,
    /// The number of events read.
    events: u64,
}

impl Folded {
    /// Every row of the read model the log implies, table by table.
    fn into_rows(self) -> Result<Vec<Rows>, StoreError> {
        let mut all = Vec::new();
        for snapshot in &self.snapshots {
            all.extend(rows_of(snapshot)?);
        }
        all.extend(self.event_rows);
        Ok(all)
    }
}

/// Folds the whole log, through `db` (the pool, or a transaction), into the state of every
/// aggregate with the domain's `evolve`, and the rows its transaction events add.
async fn fold_log_in<C: ConnectionTrait>(db: &C) -> Result<Folded, StoreError> {
    let mut organisations: BTreeMap<Uuid, Option<Organisation>> = BTreeMap::new();
    let mut projects: BTreeMap<Uuid, Option<Project>> = BTreeMap::new();
    let mut activities: BTreeMap<Uuid, Option<Activity>> = BTreeMap::new();
    let mut transactions: BTreeMap<Uuid, u64> = BTreeMap::new();
    let mut transaction_table = Vec::new();
    let mut next = 0;
    loop {
        let batch = read_range_in(db, next, 1000).await?;
        let Some(last) = batch.last() else { break };
        next = last.index + 1;
        for event in &batch {
            match event.stream {
                StreamKind::Organisation => fold_into(&mut organisations, event)?,
                StreamKind::Project => {
                    fold_into(&mut projects, event)?;
                    let count = transactions.entry(event.stream_id).or_default();
                    let rows =
                        transaction_rows(event.stream_id, *count, std::slice::from_ref(event))?;
                    *count += rows.len() as u64;
                    transaction_table.extend(rows);
                }
                StreamKind::Activity => fold_into(&mut activities, event)?,
            }
        }
    }
    let snapshots = organisations
        .into_values()
        .flatten()
        .map(Snapshot::from)
        .chain(projects.into_values().flatten().map(Snapshot::from))
        .chain(activities.into_values().flatten().map(Snapshot::from))
        .collect();
    Ok(Folded {
        snapshots,
        event_rows: vec![Rows {
            table: PROJECT_TRANSACTIONS.name,
            rows: transaction_table,
        }],
        events: next,
    })
}

/// Folds `event` into the state of its aggregate in `states`.
fn fold_into<A: Aggregate>(
    states: &mut BTreeMap<Uuid, Option<A>>,
    event: &StoredEvent,
) -> Result<(), StoreError> {
    let decoded = decode::<A::Event>(event)
        .map_err(|e| StoreError::internal_from("a stored event does not decode", e))?;
    let state = states.entry(event.stream_id).or_default();
    *state = A::evolve(state.take(), &decoded);
    Ok(())
}

/// What [`rebuild`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rebuilt {
    /// The aggregates whose rows were written.
    pub aggregates: u64,
    /// The events folded: the whole log at the time of the rebuild.
    pub events: u64,
}

/// `amanah replay`: rebuilds every read-model table from the log, in one transaction that holds
/// the log's append lock ([`SqlEventStore::begin_holding_append_lock`]) from before it reads the
/// log until it commits. Appends by running servers wait meanwhile (on SQLite for at most
/// [`crate::store::database::SQLITE_BUSY_TIMEOUT`], then they fail and may be retried), so none can
/// commit between the read and the rewrite and be lost from the read model.
///
/// # Errors
/// When the log cannot be read or the tables cannot be written; nothing changes then.
pub async fn rebuild(store: &SqlEventStore) -> Result<Rebuilt, StoreError> {
    let (txn, size) = store.begin_holding_append_lock().await?;
    let folded = fold_log_in(&txn).await?;
    let events = folded.events;
    if events != size {
        return Err(StoreError::internal(format!(
            "the log head says {size} events but {events} were read"
        )));
    }
    for table in all_tables() {
        txn.execute_unprepared(&format!("DELETE FROM {}", table.name))
            .await
            .map_err(map_db_error)?;
    }
    let aggregates = u64::try_from(folded.snapshots.len()).unwrap_or(u64::MAX);
    insert_rows(&txn, folded.into_rows()?).await?;
    txn.commit().await.map_err(map_db_error)?;
    Ok(Rebuilt { aggregates, events })
}

/// How the migrated read-model tables differ from their description ([`Table`]): one sentence
/// per difference (a missing table, a column missing, extra, out of order or of another type, a
/// different primary key). Empty when the database has exactly the described tables.
///
/// # Errors
/// When the catalogue cannot be read.
pub async fn schema_differences<C: ConnectionTrait>(db: &C) -> Result<Vec<String>, StoreError> {
    let backend = db.get_database_backend();
    let mut differences = Vec::new();
    for table in all_tables() {
        let (columns_sql, key_sql) = match backend {
            DbBackend::Postgres => (
                "SELECT column_name, data_type FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = ? \
                 ORDER BY ordinal_position",
                "SELECT a.attname FROM pg_index i \
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) \
                 WHERE i.indrelid = CAST(? AS regclass) AND i.indisprimary \
                 ORDER BY array_position(CAST(i.indkey AS int2[]), a.attnum)",
            ),
            _ => (
                "SELECT name, type FROM pragma_table_info(?) ORDER BY cid",
                "SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk",
            ),
        };
        let read = |sql: &'static str| async move {
            db.query_all_raw(statement(backend, sql, [table.name.into()]))
                .await
                .map_err(map_db_error)
        };
        let columns = read(columns_sql).await?;
        if columns.is_empty() {
            differences.push(format!("table {} is missing", table.name));
            continue;
        }
        let mut found = Vec::with_capacity(columns.len());
        for row in &columns {
            let name: String = row.try_get_by_index(0).map_err(map_db_error)?;
            let sql_type: String = row.try_get_by_index(1).map_err(map_db_error)?;
            found.push((name, sql_type.to_uppercase()));
        }
        let described: Vec<(String, String)> = table
            .columns
            .iter()
            .map(|(name, kind)| ((*name).to_owned(), kind.sql_type().to_owned()))
            .collect();
        if found != described {
            differences.push(format!(
                "{} has the columns {found:?}; its description says {described:?}",
                table.name
            ));
        }
        let mut key = Vec::new();
        for row in read(key_sql).await? {
            key.push(row.try_get_by_index::<String>(0).map_err(map_db_error)?);
        }
        if key != table.row_key {
            differences.push(format!(
                "{} has the primary key {key:?}; its description says {:?}",
                table.name, table.row_key
            ));
        }
    }
    Ok(differences)
}

/// One difference between the live read model and the fold of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub table: &'static str,
    /// `missing`: the log implies the row, the read model lacks it; `unexpected`: the other way.
    pub kind: &'static str,
    pub row: Vec<Option<String>>,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cells: Vec<String> = self
            .row
            .iter()
            .map(|c| c.clone().unwrap_or_else(|| "NULL".to_owned()))
            .collect();
        let mut shown = cells.join(" | ");
        if shown.len() > 200 {
            let cut = (0..=200)
                .rev()
                .find(|i| shown.is_char_boundary(*i))
                .unwrap_or(0);
            shown.truncate(cut);
            shown.push('…');
        }
        write!(f, "{}: {} row ({shown})", self.table, self.kind)
    }
}

/// `amanah replay --check`: folds the log into the rows it implies and compares them, table by
/// table, with the live read model. An empty result means they are identical.
///
/// # Errors
/// When the log or the read model cannot be read.
pub async fn check(store: &SqlEventStore) -> Result<Vec<Difference>, StoreError> {
    let db = store.connection();
    let backend = db.get_database_backend();
    // One snapshot for the log and the tables: REPEATABLE READ on PostgreSQL; on SQLite (WAL) a
    // read transaction sees the state of its first read throughout. Appends are not held up.
    let txn = db
        .begin_with_options(TransactionOptions {
            isolation_level: (backend == DbBackend::Postgres)
                .then_some(IsolationLevel::RepeatableRead),
            access_mode: (backend == DbBackend::Postgres).then_some(AccessMode::ReadOnly),
            ..TransactionOptions::default()
        })
        .await
        .map_err(map_db_error)?;
    let differences = compare(&txn).await?;
    txn.commit().await.map_err(map_db_error)?;
    Ok(differences)
}

/// [`check`] inside its transaction.
async fn compare(txn: &DatabaseTransaction) -> Result<Vec<Difference>, StoreError> {
    let folded = fold_log_in(txn).await?;
    let mut expected: BTreeMap<&'static str, BTreeSet<Vec<Option<String>>>> = BTreeMap::new();
    for rows in folded.into_rows()? {
        let set = expected.entry(rows.table).or_default();
        for row in rows.rows {
            set.insert(row.iter().map(Cell::normalised).collect());
        }
    }
    let backend = txn.get_database_backend();
    let mut differences = Vec::new();
    for table in all_tables() {
        let selects: Vec<String> = table
            .columns
            .iter()
            .map(|(column, kind)| match kind {
                Kind::Text => column.to_string(),
                Kind::Int | Kind::Date => format!("CAST({column} AS TEXT)"),
                Kind::Bool => format!("CASE WHEN {column} THEN '1' ELSE '0' END"),
            })
            .collect();
        let sql = format!("SELECT {} FROM {}", selects.join(", "), table.name);
        let rows = txn
            .query_all_raw(Statement::from_string(backend, sql))
            .await
            .map_err(map_db_error)?;
        let mut live = BTreeSet::new();
        for row in &rows {
            let cells = (0..table.columns.len())
                .map(|i| row.try_get_by_index::<Option<String>>(i))
                .collect::<Result<Vec<_>, _>>()
                .map_err(map_db_error)?;
            live.insert(cells);
        }
        let want = expected.remove(table.name).unwrap_or_default();
        differences.extend(want.difference(&live).map(|row| Difference {
            table: table.name,
            kind: "missing",
            row: row.clone(),
        }));
        differences.extend(live.difference(&want).map(|row| Difference {
            table: table.name,
            kind: "unexpected",
            row: row.clone(),
        }));
    }
    Ok(differences)
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected result"
)]
mod tests {
    use super::*;

    fn transaction(position: i64) -> Vec<Cell> {
        let text = |value: &str| Cell::Text(Some(value.to_owned()));
        vec![
            text(&format!("tx-{position}")),
            text("project-1"),
            Cell::Int(position),
            text("3"),
            Cell::Date(None),
            Cell::Int(100 * position),
            text("EUR"),
            Cell::Date(None),
            Cell::Text(None),
            Cell::Text(None),
            Cell::Text(None),
            Cell::Text(None),
            Cell::Text(None),
        ]
    }

    #[test]
    fn only_what_changed_is_written() {
        let before: Vec<Vec<Cell>> = (0..50).map(transaction).collect();
        let mut after = before.clone();
        after.push(transaction(50));
        let changes = table_changes(&PROJECT_TRANSACTIONS, &before, &after).unwrap();
        assert_eq!(changes.deletes, Vec::<Vec<Cell>>::new());
        assert_eq!(changes.updates, Vec::new());
        assert_eq!(changes.inserts, [transaction(50)]);
    }

    #[test]
    fn a_changed_row_is_updated_by_its_key_and_a_row_that_went_is_deleted() {
        let before: Vec<Vec<Cell>> = (0..3).map(transaction).collect();
        let mut after = before.clone();
        after[1][5] = Cell::Int(7);
        after.remove(2);
        after.push(transaction(9));
        let changes = table_changes(&PROJECT_TRANSACTIONS, &before, &after).unwrap();
        let key = |position: i64| vec![Cell::Text(Some(format!("tx-{position}")))];
        assert_eq!(changes.deletes, [key(2)]);
        // Its key (`id`, the first column) and the one value that changed.
        let mut named = vec![false; PROJECT_TRANSACTIONS.columns.len()];
        named[0] = true;
        named[5] = true;
        assert_eq!(
            changes.updates,
            [Update {
                row: after[1].clone(),
                named
            }]
        );
        assert_eq!(changes.inserts, [transaction(9)]);
    }

    #[test]
    fn an_update_sets_only_the_columns_that_changed_and_shares_a_statement_with_the_inserts() {
        use amanah_domain::codelists::OrganisationType;
        let organisation = |name: &str, version: u64| Organisation {
            id: Uuid::nil(),
            org_ref: None,
            name: amanah_domain::values::Name::parse(name).unwrap(),
            acronym: None,
            organisation_type: OrganisationType::Government,
            country: None,
            website: None,
            deactivated: false,
            version,
        };
        let before = Snapshot::Organisation(Box::new(organisation("Ministry", 1)));
        let after = Snapshot::Organisation(Box::new(organisation("Treasury", 2)));
        let created = Snapshot::Organisation(Box::new(Organisation {
            id: Uuid::now_v7(),
            ..organisation("New", 1)
        }));
        // Only the events' stream versions matter here: a first one starts a stream.
        let event = |stream_version: u64| StoredEvent {
            index: 0,
            id: Uuid::nil(),
            stream: StreamKind::Organisation,
            stream_id: Uuid::nil(),
            stream_version,
            event_type: String::new(),
            occurred_at: chrono::DateTime::default(),
            actor: amanah_domain::ports::Actor::system("test"),
            request_id: None,
            data: serde_json::Value::Null,
            canonical: Vec::new(),
        };
        let first = [event(1)];
        let mut writes = Writes::new(DbBackend::Sqlite);
        push_changes(
            &mut writes,
            &[
                Change::of(Some(&before), &after, &[event(2)]),
                Change::of(None, &created, &first),
            ],
        )
        .unwrap();
        assert_eq!(
            writes.parts(),
            [[
                "UPDATE organisations AS t SET name = r.column2, version = r.column3, \
                 state = r.column4 FROM (VALUES (?, ?, ?, ?)) AS r WHERE t.id = r.column1",
                "INSERT INTO organisations (id, ref, name, acronym, type_code, country, website, \
                 deactivated, version, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ]]
        );
    }

    #[test]
    fn a_row_without_one_cell_per_column_is_refused() {
        let short = vec![transaction(1)[..4].to_vec()];
        for (before, after) in [(&short, &Vec::new()), (&Vec::new(), &short)] {
            let error = table_changes(&PROJECT_TRANSACTIONS, before, after).unwrap_err();
            assert!(
                error.to_string().contains("4 cells for 13 columns"),
                "{error}"
            );
        }
    }

    #[test]
    fn a_cell_of_another_kind_than_its_column_is_refused() {
        let mut swapped = transaction(1);
        swapped.swap(3, 4); // type code and date change places
        let error = table_changes(&PROJECT_TRANSACTIONS, &[], &[swapped]).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("project_transactions.type_code is Text"),
            "{error}"
        );
    }

    #[test]
    fn a_row_key_that_is_not_a_column_is_refused() {
        let broken = Table {
            name: "broken",
            key: "id",
            row_key: &["nope"],
            columns: &[("id", Kind::Text)],
        };
        let rows = vec![vec![Cell::text("a")]];
        let error = table_changes(&broken, &rows, &[]).unwrap_err();
        assert!(error.to_string().contains("broken.nope"), "{error}");
    }

    #[test]
    fn every_table_names_columns_for_its_row_key() {
        for table in all_tables() {
            assert!(!table.row_key.is_empty(), "{}", table.name);
            for key in table.row_key {
                assert!(
                    table.columns.iter().any(|(name, _)| name == key),
                    "{}.{key}",
                    table.name
                );
            }
        }
    }
}
