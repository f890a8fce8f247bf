//! [`SqlReadModel`]: the API's queries over the read-model tables ([`ReadModel`]).
//!
//! Lists are read by keyset ([`Range`]): a page is the rows strictly after (or before) a
//! position in the list's order — the sort key, then the id — so it costs an index walk of the
//! page's length wherever it starts, and a position stays put when rows are added or removed
//! elsewhere. Each order has a composite index on (key, id) (migration m0008). A sort key that may
//! be absent is read as the empty text or the earliest date, so that both engines order it alike.
//!
//! One statement reads a page; counting is a statement of its own, run only when the caller asks
//! for a size. The activities of many projects are read in one statement with a window function
//! (`ROW_NUMBER() OVER (PARTITION BY project_id …)`), so a page of projects with the first
//! activities of each costs one statement, not one per project.

use std::collections::HashMap;

use amanah_domain::activity::Activity;
use amanah_domain::aggregate::StreamKind;
use amanah_domain::codelists::{
    ActivityKind, ActivityStatus, OrganisationRole, ProjectStatus, TransactionType,
};
use amanah_domain::organisation::Organisation;
use amanah_domain::ports::StoreError;
use amanah_domain::project::{ParticipatingOrganisation, Project, Transaction, Transactions};
use amanah_domain::query::{
    ActivityOrderField, ActivityQuery, ActivitySummary, Direction, MemberState,
    OrganisationOrderField, OrganisationQuery, Position, Positioned, ProjectOrderField,
    ProjectQuery, ProjectSummary, Range, ReadModel, SortKey,
};
use amanah_domain::values::{CountryCode, Description, Money, OrgRef, TransactionRef};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, QueryResult, Value};
use tracing::Instrument as _;
use uuid::Uuid;

use crate::store::db_error::map_db_error;
use crate::store::sql::{count, from_db_int, query_bound, statement, to_db_int};

/// The API's queries over the read-model tables.
#[derive(Debug, Clone)]
pub struct SqlReadModel {
    db: DatabaseConnection,
}

/// What a sort key is, to read it back from a row and to bind it in a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Text,
    Date,
}

/// An ordered list over one table: the rows its conditions select, in the order of its key.
struct Listing {
    /// The table, whose `state` column and `id` are read.
    table: &'static str,
    conditions: Vec<String>,
    values: Vec<Value>,
    /// The sort key as an SQL expression (absent values coalesced).
    key: &'static str,
    kind: KeyKind,
    descending: bool,
}

impl Listing {
    fn new(table: &'static str, conditions: Vec<String>, values: Vec<Value>) -> Self {
        Self {
            table,
            conditions,
            values,
            key: "",
            kind: KeyKind::Text,
            descending: false,
        }
    }

    fn ordered_by(mut self, key: &'static str, kind: KeyKind, direction: Direction) -> Self {
        self.key = key;
        self.kind = kind;
        self.descending = direction == Direction::Descending;
        self
    }

    fn bind(key: &SortKey) -> Value {
        match key {
            SortKey::Text(text) => text.clone().into(),
            SortKey::Date(date) => (*date).into(),
        }
    }

    /// Adds the conditions of `range`'s ends. In list order, "after" means a greater key (a
    /// smaller one when descending), then a greater id; ids always ascend.
    fn restrict_to(&mut self, range: &Range) {
        let (key, id) = (self.key, format!("{}.id", self.table));
        let (after, before) = if self.descending {
            ("<", ">")
        } else {
            (">", "<")
        };
        if let Some(position) = &range.after {
            self.conditions
                .push(format!("({key} {after} ? OR ({key} = ? AND {id} > ?))"));
            let bound = Self::bind(&position.key);
            self.values
                .extend([bound.clone(), bound, position.id.to_string().into()]);
        }
        if let Some(position) = &range.before {
            self.conditions
                .push(format!("({key} {before} ? OR ({key} = ? AND {id} < ?))"));
            let bound = Self::bind(&position.key);
            self.values
                .extend([bound.clone(), bound, position.id.to_string().into()]);
        }
    }

    fn where_clause(&self) -> String {
        if self.conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conditions.join(" AND "))
        }
    }

    /// `ORDER BY` in list order, or reversed (to read a range from its end).
    fn order(&self, reversed: bool) -> String {
        self.order_on(reversed, self.key, &format!("{}.id", self.table))
    }

    /// The same order on the key and the id as an outer query names them.
    fn order_on(&self, reversed: bool, key: &str, id: &str) -> String {
        let descending = self.descending != reversed;
        let (key_direction, id_direction) = if descending {
            ("DESC", if reversed { "DESC" } else { "ASC" })
        } else {
            ("ASC", if reversed { "DESC" } else { "ASC" })
        };
        format!("{key} {key_direction}, {id} {id_direction}")
    }

    /// The key as the query returns it: text on both engines (a date as `YYYY-MM-DD`).
    fn key_column(&self) -> String {
        format!("CAST({} AS TEXT)", self.key)
    }
}

fn parse_key(kind: KeyKind, text: String) -> Result<SortKey, StoreError> {
    match kind {
        KeyKind::Text => Ok(SortKey::Text(text)),
        KeyKind::Date => NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .map(SortKey::Date)
            .map_err(|error| StoreError::internal_from(format!("a sort key {text:?}"), error)),
    }
}

fn parse_id(text: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text)
        .map_err(|error| StoreError::internal_from(format!("bad id {text}"), error))
}

fn parse_state<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, StoreError> {
    serde_json::from_str(json)
        .map_err(|error| StoreError::internal_from("a read-model state does not decode", error))
}

fn text_at(row: &QueryResult, index: usize) -> Result<String, StoreError> {
    row.try_get_by_index(index).map_err(map_db_error)
}

fn date_at(row: &QueryResult, index: usize) -> Result<Option<NaiveDate>, StoreError> {
    let text: Option<String> = row.try_get_by_index(index).map_err(map_db_error)?;
    text.map(|text| {
        NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .map_err(|error| StoreError::internal_from(format!("a date {text:?}"), error))
    })
    .transpose()
}

/// The columns of a `project_transactions` row that [`transaction_at`] reads, in its order
/// (prefixed with `t.`: the table's alias).
pub(crate) const TRANSACTION_COLUMNS: &str = "t.id, t.type_code, CAST(t.date AS TEXT), \
     t.minor_units, t.currency, CAST(t.value_date AS TEXT), t.description, t.provider_org_id, \
     t.receiver_org_id, t.ref, t.reverses_id";

/// The transaction of a row whose columns from `first` on are [`TRANSACTION_COLUMNS`], as the
/// table keeps it (without the reversal that cancelled it: [`Transactions::from_rows`] adds it).
pub(crate) fn transaction_at(row: &QueryResult, first: usize) -> Result<Transaction, StoreError> {
    let id = parse_id(&text_at(row, first)?)?;
    let malformed = |what: &str, error: &dyn std::fmt::Display| {
        StoreError::internal(format!(
            "transaction {id}: its {what} does not parse: {error}"
        ))
    };
    let optional = |index: usize| -> Result<Option<String>, StoreError> {
        row.try_get_by_index(first + index).map_err(map_db_error)
    };
    let required_date =
        |index: usize| date_at(row, first + index)?.ok_or_else(|| malformed("date", &"NULL"));
    let optional_id = |index: usize| optional(index)?.as_deref().map(parse_id).transpose();
    let type_code = text_at(row, first + 1)?;
    let units: i64 = row.try_get_by_index(first + 3).map_err(map_db_error)?;
    Ok(Transaction {
        id,
        transaction_type: TransactionType::from_code(&type_code)
            .ok_or_else(|| malformed("type", &type_code))?,
        date: required_date(2)?,
        value: Money::parse(&units.to_string(), &text_at(row, first + 4)?)
            .map_err(|e| malformed("value", &e))?,
        value_date: required_date(5)?,
        description: optional(6)?
            .map(|text| Description::parse(&text).map_err(|e| malformed("description", &e)))
            .transpose()?,
        provider_organisation_id: optional_id(7)?,
        receiver_organisation_id: optional_id(8)?,
        reference: optional(9)?
            .map(|text| TransactionRef::parse(&text).map_err(|e| malformed("ref", &e)))
            .transpose()?,
        reverses: optional_id(10)?,
        reversed_by: None,
    })
}

/// The project of a [`SqlReadModel::project_summaries`] row.
fn summary_of(row: &QueryResult, id: Uuid) -> Result<ProjectSummary, StoreError> {
    let status = text_at(row, 4)?;
    let required = |index| {
        date_at(row, index)?
            .ok_or_else(|| StoreError::internal(format!("project {id} lacks a planned date")))
    };
    Ok(ProjectSummary {
        id,
        iati_identifier: text_at(row, 2)?,
        title: text_at(row, 3)?,
        status: ProjectStatus::from_code(&status)
            .ok_or_else(|| StoreError::internal(format!("a project's status {status:?}")))?,
        planned_start: required(5)?,
        planned_end: required(6)?,
        actual_start: date_at(row, 7)?,
        actual_end: date_at(row, 8)?,
        version: from_db_int(row.try_get_by_index(9).map_err(map_db_error)?)?,
    })
}

fn limit_value(limit: u64) -> Value {
    query_bound(limit)
}

/// A `LIKE` pattern matching `text` anywhere, with `\` escaping the wildcards.
fn contains_pattern(text: &str) -> String {
    let escaped = text
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// `column IN (?, ?, …)` for a non-empty list, pushing the values.
fn push_in(
    conditions: &mut Vec<String>,
    values: &mut Vec<Value>,
    column: &str,
    items: Vec<String>,
) {
    if items.is_empty() {
        return;
    }
    conditions.push(format!(
        "{column} IN ({})",
        vec!["?"; items.len()].join(", ")
    ));
    values.extend(items.into_iter().map(Value::from));
}

/// The text of a member of the JSON `state` column.
fn state_member(backend: DbBackend, table: &str, member: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("({table}.state::jsonb ->> '{member}')"),
        _ => format!("json_extract({table}.state, '$.{member}')"),
    }
}

/// The span of one SQL statement (OpenTelemetry's database conventions).
fn db_span(backend: DbBackend, sql: &str) -> tracing::Span {
    let system = match backend {
        DbBackend::Postgres => "postgresql",
        DbBackend::Sqlite => "sqlite",
        _ => "other",
    };
    tracing::info_span!("db.query", db.system = system, db.statement = sql)
}

impl SqlReadModel {
    #[must_use]
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// Every query of the read model goes through here, in a `db.query` span with the statement
    /// (never its values).
    async fn rows(&self, sql: &str, values: Vec<Value>) -> Result<Vec<QueryResult>, StoreError> {
        let span = db_span(self.backend(), sql);
        self.db
            .query_all_raw(statement(self.backend(), sql, values))
            .instrument(span)
            .await
            .map_err(map_db_error)
    }

    async fn states<T: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
        values: Vec<Value>,
    ) -> Result<Vec<T>, StoreError> {
        self.rows(sql, values)
            .await?
            .iter()
            .map(|row| {
                let json: String = row.try_get_by_index(0).map_err(map_db_error)?;
                parse_state(&json)
            })
            .collect()
    }

    async fn count(&self, listing: &Listing) -> Result<u64, StoreError> {
        let sql = format!(
            "SELECT COUNT(*) FROM {}{}",
            listing.table,
            listing.where_clause()
        );
        let rows = self.rows(&sql, listing.values.clone()).await?;
        count(rows.first())
    }

    /// One page of `listing`, in list order, each item its kept state.
    async fn page<T: serde::de::DeserializeOwned>(
        &self,
        listing: Listing,
        range: &Range,
    ) -> Result<Vec<Positioned<T>>, StoreError> {
        let state = format!("{}.state", listing.table);
        self.page_of(listing, range, &[&state], |row| {
            parse_state(&text_at(row, 2)?)
        })
        .await
    }

    /// One page of `listing`, in list order: a row is the sort key, the id, then the `items`
    /// (expressions over the table), and `decode` makes the item of a row.
    async fn page_of<T>(
        &self,
        mut listing: Listing,
        range: &Range,
        items: &[&str],
        decode: impl Fn(&QueryResult) -> Result<T, StoreError>,
    ) -> Result<Vec<Positioned<T>>, StoreError> {
        listing.restrict_to(range);
        let sql = format!(
            "SELECT {key}, {table}.id, {items} FROM {table}{where_clause} ORDER BY {order} LIMIT ?",
            table = listing.table,
            key = listing.key_column(),
            items = items.join(", "),
            where_clause = listing.where_clause(),
            order = listing.order(range.from_end),
        );
        let mut values = listing.values;
        values.push(limit_value(range.limit));
        let mut page = self
            .rows(&sql, values)
            .await?
            .iter()
            .map(|row| {
                Ok(Positioned {
                    position: Position {
                        key: parse_key(listing.kind, text_at(row, 0)?)?,
                        id: parse_id(&text_at(row, 1)?)?,
                    },
                    item: decode(row)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        if range.from_end {
            page.reverse();
        }
        Ok(page)
    }

    /// Each of `projects`' page of the activities `query` selects, read from `range`, in one
    /// statement: a row is the sort key, the id, the project, then the `items` (expressions over
    /// `activities`), and `decode` makes the positioned item of a row.
    async fn pages_of_projects<T>(
        &self,
        projects: &[Uuid],
        query: &ActivityQuery,
        range: &Range,
        items: &[&str],
        decode: impl Fn(&QueryResult, KeyKind) -> Result<Positioned<T>, StoreError>,
    ) -> Result<HashMap<Uuid, Vec<Positioned<T>>>, StoreError> {
        if projects.is_empty() {
            return Ok(HashMap::new());
        }
        let mut listing = self.activity_listing(query);
        Self::of_projects(&mut listing, projects);
        listing.restrict_to(range);
        // Each project's own page: number its rows in (possibly reversed) list order, keep the
        // first `limit` of each.
        let outer: Vec<String> = (0..items.len()).map(|i| format!("item{i}")).collect();
        let inner: Vec<String> = items
            .iter()
            .enumerate()
            .map(|(i, column)| format!("{column} AS item{i}"))
            .collect();
        let sql = format!(
            "SELECT sort_key, id, project_id, {outer} FROM (\
               SELECT {key} AS sort_key, activities.id AS id, \
                      activities.project_id AS project_id, {inner}, \
                      ROW_NUMBER() OVER (PARTITION BY activities.project_id ORDER BY {order}) AS rn \
               FROM activities{where_clause}\
             ) ranked WHERE rn <= ? ORDER BY project_id, rn",
            outer = outer.join(", "),
            inner = inner.join(", "),
            key = listing.key_column(),
            order = listing.order(range.from_end),
            where_clause = listing.where_clause(),
        );
        let mut values = listing.values;
        values.push(limit_value(range.limit));
        let mut pages: HashMap<Uuid, Vec<Positioned<T>>> = HashMap::new();
        for row in self.rows(&sql, values).await? {
            pages
                .entry(parse_id(&text_at(&row, 2)?)?)
                .or_default()
                .push(decode(&row, listing.kind)?);
        }
        if range.from_end {
            for page in pages.values_mut() {
                page.reverse();
            }
        }
        Ok(pages)
    }

    fn organisation_listing(query: &OrganisationQuery) -> Listing {
        let mut conditions = Vec::new();
        let mut values = Vec::new();
        push_in(
            &mut conditions,
            &mut values,
            "organisations.type_code",
            query.types.iter().map(|t| t.code().to_owned()).collect(),
        );
        push_in(
            &mut conditions,
            &mut values,
            "organisations.country",
            query.countries.iter().map(ToString::to_string).collect(),
        );
        if let Some(text) = &query.text {
            conditions.push(
                "(LOWER(organisations.name) LIKE ? ESCAPE '\\' \
                 OR LOWER(COALESCE(organisations.acronym, '')) LIKE ? ESCAPE '\\' \
                 OR LOWER(COALESCE(organisations.ref, '')) LIKE ? ESCAPE '\\')"
                    .to_owned(),
            );
            let pattern = contains_pattern(text);
            values.extend([
                pattern.clone().into(),
                pattern.clone().into(),
                pattern.into(),
            ]);
        }
        if !query.include_deactivated {
            conditions.push("organisations.deactivated = ?".to_owned());
            values.push(false.into());
        }
        let (field, direction) = query.order;
        let key = match field {
            OrganisationOrderField::Name => "organisations.name",
            OrganisationOrderField::Ref => "COALESCE(organisations.ref, '')",
        };
        Listing::new("organisations", conditions, values).ordered_by(key, KeyKind::Text, direction)
    }

    fn project_listing(query: &ProjectQuery) -> Listing {
        let mut conditions = Vec::new();
        let mut values: Vec<Value> = Vec::new();
        push_in(
            &mut conditions,
            &mut values,
            "projects.status_code",
            query.statuses.iter().map(|s| s.code().to_owned()).collect(),
        );
        if !query.recipient_countries.is_empty() {
            let mut inner = Vec::new();
            push_in(
                &mut inner,
                &mut values,
                "c.country_code",
                query
                    .recipient_countries
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
            );
            conditions.push(format!(
                "EXISTS (SELECT 1 FROM project_countries c WHERE c.project_id = projects.id AND {})",
                inner.join(" AND ")
            ));
        }
        if !query.sectors.is_empty() {
            let mut inner = Vec::new();
            push_in(
                &mut inner,
                &mut values,
                "s.sector_code",
                query.sectors.iter().map(ToString::to_string).collect(),
            );
            conditions.push(format!(
                "EXISTS (SELECT 1 FROM project_sectors s WHERE s.project_id = projects.id AND {})",
                inner.join(" AND ")
            ));
        }
        if query.participating_organisation.is_some() || query.participating_role.is_some() {
            let mut inner = vec!["p.project_id = projects.id".to_owned()];
            if let Some(organisation) = query.participating_organisation {
                inner.push("p.organisation_id = ?".to_owned());
                values.push(organisation.to_string().into());
            }
            if let Some(role) = query.participating_role {
                inner.push("p.role_code = ?".to_owned());
                values.push(role.code().into());
            }
            conditions.push(format!(
                "EXISTS (SELECT 1 FROM project_participants p WHERE {})",
                inner.join(" AND ")
            ));
        }
        if let Some(reporting) = query.reporting_organisation {
            conditions.push("projects.reporting_org_id = ?".to_owned());
            values.push(reporting.to_string().into());
        }
        if let Some(day) = query.active_on {
            conditions.push("projects.planned_start <= ? AND projects.planned_end >= ?".to_owned());
            values.push(day.into());
            values.push(day.into());
        }
        if let Some(text) = &query.text {
            conditions.push(
                "(LOWER(projects.title) LIKE ? ESCAPE '\\' \
                 OR LOWER(projects.iati_identifier) LIKE ? ESCAPE '\\')"
                    .to_owned(),
            );
            let pattern = contains_pattern(text);
            values.extend([pattern.clone().into(), pattern.into()]);
        }
        let (field, direction) = query.order;
        let (key, kind) = match field {
            ProjectOrderField::IatiIdentifier => ("projects.iati_identifier", KeyKind::Text),
            ProjectOrderField::Title => ("projects.title", KeyKind::Text),
            ProjectOrderField::PlannedStart => (
                "COALESCE(projects.planned_start, '0001-01-01')",
                KeyKind::Date,
            ),
            ProjectOrderField::Status => ("projects.status_code", KeyKind::Text),
        };
        Listing::new("projects", conditions, values).ordered_by(key, kind, direction)
    }

    /// The activities `query` selects, without its `project` condition.
    fn activity_listing(&self, query: &ActivityQuery) -> Listing {
        let mut conditions = Vec::new();
        let mut values: Vec<Value> = Vec::new();
        push_in(
            &mut conditions,
            &mut values,
            "activities.kind",
            query.kinds.iter().map(|k| k.as_str().to_owned()).collect(),
        );
        push_in(
            &mut conditions,
            &mut values,
            "activities.status",
            query
                .statuses
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect(),
        );
        push_in(
            &mut conditions,
            &mut values,
            "activities.country",
            query.countries.iter().map(ToString::to_string).collect(),
        );
        if !query.uncac_chapters.is_empty() {
            let mut inner = Vec::new();
            push_in(
                &mut inner,
                &mut values,
                "c.chapter",
                query
                    .uncac_chapters
                    .iter()
                    .map(|c| c.as_str().to_owned())
                    .collect(),
            );
            conditions.push(format!(
                "EXISTS (SELECT 1 FROM activity_chapters c WHERE c.activity_id = activities.id AND {})",
                inner.join(" AND ")
            ));
        }
        // The audit type has no column of its own: it is read from the state, among the few
        // activities of kind AUDIT.
        push_in(
            &mut conditions,
            &mut values,
            &state_member(self.backend(), "activities", "auditType"),
            query
                .audit_types
                .iter()
                .map(|t| t.as_str().to_owned())
                .collect(),
        );
        if !query.audit_types.is_empty() {
            conditions.push("activities.kind = 'AUDIT'".to_owned());
        }
        if let Some(from) = query.from {
            conditions.push("activities.planned_end >= ?".to_owned());
            values.push(from.into());
        }
        if let Some(to) = query.to {
            conditions.push("activities.planned_start <= ?".to_owned());
            values.push(to.into());
        }
        let (field, direction) = query.order;
        let (key, kind) = match field {
            ActivityOrderField::PlannedStart => (
                "COALESCE(activities.planned_start, '0001-01-01')",
                KeyKind::Date,
            ),
            ActivityOrderField::Title => ("activities.title", KeyKind::Text),
            ActivityOrderField::Kind => ("activities.kind", KeyKind::Text),
        };
        Listing::new("activities", conditions, values).ordered_by(key, kind, direction)
    }

    fn of_project(listing: &mut Listing, project: Option<Uuid>) {
        if let Some(project) = project {
            listing
                .conditions
                .insert(0, "activities.project_id = ?".to_owned());
            listing.values.insert(0, project.to_string().into());
        }
    }

    /// Restricts an activity listing to `projects` (`activities.project_id IN (…)`).
    fn of_projects(listing: &mut Listing, projects: &[Uuid]) {
        let mut conditions = Vec::new();
        let mut values = Vec::new();
        push_in(
            &mut conditions,
            &mut values,
            "activities.project_id",
            projects.iter().map(ToString::to_string).collect(),
        );
        conditions.append(&mut listing.conditions);
        values.append(&mut listing.values);
        listing.conditions = conditions;
        listing.values = values;
    }
}

impl ReadModel for SqlReadModel {
    async fn organisation(&self, id: Uuid) -> Result<Option<Organisation>, StoreError> {
        let mut found = self
            .states(
                "SELECT state FROM organisations WHERE id = ?",
                vec![id.to_string().into()],
            )
            .await?;
        Ok(found.pop())
    }

    async fn organisation_by_ref(
        &self,
        org_ref: &OrgRef,
    ) -> Result<Option<Organisation>, StoreError> {
        let mut found = self
            .states(
                "SELECT state FROM organisations WHERE ref = ?",
                vec![org_ref.as_str().into()],
            )
            .await?;
        Ok(found.pop())
    }

    async fn organisations_by_id(&self, ids: &[Uuid]) -> Result<Vec<Organisation>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders = vec!["?"; ids.len()].join(", ");
        self.states(
            &format!("SELECT state FROM organisations WHERE id IN ({placeholders})"),
            ids.iter().map(|id| id.to_string().into()).collect(),
        )
        .await
    }

    async fn organisations(
        &self,
        query: &OrganisationQuery,
        range: &Range,
    ) -> Result<Vec<Positioned<Organisation>>, StoreError> {
        self.page(Self::organisation_listing(query), range).await
    }

    async fn count_organisations(&self, query: &OrganisationQuery) -> Result<u64, StoreError> {
        self.count(&Self::organisation_listing(query)).await
    }

    async fn project(&self, id: Uuid) -> Result<Option<Project>, StoreError> {
        let mut found = self
            .states(
                "SELECT state FROM projects WHERE id = ?",
                vec![id.to_string().into()],
            )
            .await?;
        Ok(found.pop())
    }

    async fn project_by_iati_identifier(
        &self,
        iati_identifier: &str,
    ) -> Result<Option<Project>, StoreError> {
        let mut found = self
            .states(
                "SELECT state FROM projects WHERE iati_identifier = ?",
                vec![iati_identifier.into()],
            )
            .await?;
        Ok(found.pop())
    }

    async fn projects(
        &self,
        query: &ProjectQuery,
        range: &Range,
    ) -> Result<Vec<Positioned<Project>>, StoreError> {
        self.page(Self::project_listing(query), range).await
    }

    async fn project_summaries(
        &self,
        query: &ProjectQuery,
        range: &Range,
    ) -> Result<Vec<Positioned<ProjectSummary>>, StoreError> {
        let columns = [
            "projects.iati_identifier",
            "projects.title",
            "projects.status_code",
            "CAST(projects.planned_start AS TEXT)",
            "CAST(projects.planned_end AS TEXT)",
            "CAST(projects.actual_start AS TEXT)",
            "CAST(projects.actual_end AS TEXT)",
            "projects.version",
        ];
        self.page_of(Self::project_listing(query), range, &columns, |row| {
            summary_of(row, parse_id(&text_at(row, 1)?)?)
        })
        .await
    }

    async fn participations_of_projects(
        &self,
        projects: &[Uuid],
    ) -> Result<HashMap<Uuid, Vec<ParticipatingOrganisation>>, StoreError> {
        if projects.is_empty() {
            return Ok(HashMap::new());
        }
        let placeholders = vec!["?"; projects.len()].join(", ");
        let sql = format!(
            "SELECT project_id, organisation_id, role_code FROM project_participants \
             WHERE project_id IN ({placeholders}) ORDER BY project_id, position"
        );
        let values = projects.iter().map(|id| id.to_string().into()).collect();
        let mut participations: HashMap<Uuid, Vec<ParticipatingOrganisation>> = HashMap::new();
        for row in self.rows(&sql, values).await? {
            let role = text_at(&row, 2)?;
            participations
                .entry(parse_id(&text_at(&row, 0)?)?)
                .or_default()
                .push(ParticipatingOrganisation {
                    organisation_id: parse_id(&text_at(&row, 1)?)?,
                    role: OrganisationRole::from_code(&role).ok_or_else(|| {
                        StoreError::internal(format!("a participation's role {role:?}"))
                    })?,
                });
        }
        Ok(participations)
    }

    async fn transactions_of_projects(
        &self,
        projects: &[Uuid],
    ) -> Result<HashMap<Uuid, Transactions>, StoreError> {
        if projects.is_empty() {
            return Ok(HashMap::new());
        }
        let placeholders = vec!["?"; projects.len()].join(", ");
        let sql = format!(
            "SELECT t.project_id, {TRANSACTION_COLUMNS} FROM project_transactions t \
             WHERE t.project_id IN ({placeholders}) ORDER BY t.project_id, t.position"
        );
        let values = projects.iter().map(|id| id.to_string().into()).collect();
        let mut rows: HashMap<Uuid, Vec<Transaction>> = HashMap::new();
        for row in self.rows(&sql, values).await? {
            rows.entry(parse_id(&text_at(&row, 0)?)?)
                .or_default()
                .push(transaction_at(&row, 1)?);
        }
        Ok(rows
            .into_iter()
            .map(|(project, rows)| (project, Transactions::from_rows(rows)))
            .collect())
    }

    async fn count_projects(&self, query: &ProjectQuery) -> Result<u64, StoreError> {
        self.count(&Self::project_listing(query)).await
    }

    async fn activity(&self, id: Uuid) -> Result<Option<Activity>, StoreError> {
        let mut found = self
            .states(
                "SELECT state FROM activities WHERE id = ?",
                vec![id.to_string().into()],
            )
            .await?;
        Ok(found.pop())
    }

    async fn activities(
        &self,
        query: &ActivityQuery,
        range: &Range,
    ) -> Result<Vec<Positioned<Activity>>, StoreError> {
        let mut listing = self.activity_listing(query);
        Self::of_project(&mut listing, query.project);
        self.page(listing, range).await
    }

    async fn count_activities(&self, query: &ActivityQuery) -> Result<u64, StoreError> {
        let mut listing = self.activity_listing(query);
        Self::of_project(&mut listing, query.project);
        self.count(&listing).await
    }

    async fn activities_of_projects(
        &self,
        projects: &[Uuid],
        query: &ActivityQuery,
        range: &Range,
    ) -> Result<HashMap<Uuid, Vec<Positioned<Activity>>>, StoreError> {
        self.pages_of_projects(
            projects,
            query,
            range,
            &["activities.state"],
            |row, kind| {
                Ok(Positioned {
                    position: Position {
                        key: parse_key(kind, text_at(row, 0)?)?,
                        id: parse_id(&text_at(row, 1)?)?,
                    },
                    item: parse_state(&text_at(row, 3)?)?,
                })
            },
        )
        .await
    }

    async fn activity_summaries_of_projects(
        &self,
        projects: &[Uuid],
        query: &ActivityQuery,
        range: &Range,
    ) -> Result<HashMap<Uuid, Vec<Positioned<ActivitySummary>>>, StoreError> {
        let columns = [
            "activities.title",
            "activities.kind",
            "activities.status",
            "CAST(activities.planned_start AS TEXT)",
            "CAST(activities.planned_end AS TEXT)",
            "activities.version",
        ];
        self.pages_of_projects(projects, query, range, &columns, |row, kind| {
            let id = parse_id(&text_at(row, 1)?)?;
            let status = text_at(row, 5)?;
            let kind_name = text_at(row, 4)?;
            let malformed = |what: &str, text: &str| {
                StoreError::internal(format!("activity {id}'s {what} {text:?}"))
            };
            let required =
                |index| date_at(row, index)?.ok_or_else(|| malformed("planned date", "NULL"));
            Ok(Positioned {
                position: Position {
                    key: parse_key(kind, text_at(row, 0)?)?,
                    id,
                },
                item: ActivitySummary {
                    id,
                    project_id: parse_id(&text_at(row, 2)?)?,
                    title: text_at(row, 3)?,
                    kind: ActivityKind::from_name(&kind_name)
                        .ok_or_else(|| malformed("kind", &kind_name))?,
                    status: ActivityStatus::from_name(&status)
                        .ok_or_else(|| malformed("status", &status))?,
                    planned_start: required(6)?,
                    planned_end: required(7)?,
                    version: from_db_int(row.try_get_by_index(8).map_err(map_db_error)?)?,
                },
            })
        })
        .await
    }

    async fn count_activities_of_projects(
        &self,
        projects: &[Uuid],
        query: &ActivityQuery,
    ) -> Result<HashMap<Uuid, u64>, StoreError> {
        if projects.is_empty() {
            return Ok(HashMap::new());
        }
        let mut listing = self.activity_listing(query);
        Self::of_projects(&mut listing, projects);
        let sql = format!(
            "SELECT activities.project_id, COUNT(*) FROM activities{} \
             GROUP BY activities.project_id",
            listing.where_clause()
        );
        self.rows(&sql, listing.values)
            .await?
            .iter()
            .map(|row| {
                let project: String = row.try_get_by_index(0).map_err(map_db_error)?;
                let count: i64 = row.try_get_by_index(1).map_err(map_db_error)?;
                Ok((parse_id(&project)?, from_db_int(count)?))
            })
            .collect()
    }

    async fn project_of_transaction(
        &self,
        transaction_id: Uuid,
    ) -> Result<Option<Uuid>, StoreError> {
        let rows = self
            .rows(
                "SELECT project_id FROM project_transactions WHERE id = ?",
                vec![transaction_id.to_string().into()],
            )
            .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let id: String = row.try_get_by_index(0).map_err(map_db_error)?;
        parse_id(&id).map(Some)
    }

    async fn member_states(&self, as_of: NaiveDate) -> Result<Vec<MemberState>, StoreError> {
        let rows = self
            .rows(
                "SELECT country_code, CAST(joined_on AS TEXT) FROM member_states \
                 WHERE joined_on <= ? ORDER BY country_code",
                vec![as_of.into()],
            )
            .await?;
        rows.iter()
            .map(|row| {
                let code: String = row.try_get_by_index(0).map_err(map_db_error)?;
                let joined: String = row.try_get_by_index(1).map_err(map_db_error)?;
                let country = CountryCode::parse(&code)
                    .map_err(|e| StoreError::internal_from(format!("member state {code}"), e))?;
                let joined_on = NaiveDate::parse_from_str(&joined, "%Y-%m-%d")
                    .map_err(|e| StoreError::internal_from(format!("member state {code}"), e))?;
                Ok(MemberState { country, joined_on })
            })
            .collect()
    }

    async fn last_changed(
        &self,
        stream: StreamKind,
        ids: &[Uuid],
        up_to: Option<u64>,
    ) -> Result<HashMap<Uuid, DateTime<Utc>>, StoreError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut conditions = vec!["stream = ?".to_owned()];
        let mut values = vec![Value::from(stream.as_str())];
        push_in(
            &mut conditions,
            &mut values,
            "stream_id",
            ids.iter().map(ToString::to_string).collect(),
        );
        if let Some(size) = up_to {
            conditions.push("idx < ?".to_owned());
            values.push(to_db_int(size)?.into());
        }
        // `occurred_at` has one fixed-width form (RFC 3339, six fractional digits, `Z`), so the
        // greatest text is the latest time.
        let sql = format!(
            "SELECT stream_id, MAX(occurred_at) FROM events WHERE {} GROUP BY stream_id",
            conditions.join(" AND ")
        );
        self.rows(&sql, values)
            .await?
            .iter()
            .map(|row| {
                let id: String = row.try_get_by_index(0).map_err(map_db_error)?;
                let at: String = row.try_get_by_index(1).map_err(map_db_error)?;
                let at = DateTime::parse_from_rfc3339(&at)
                    .map_err(|e| StoreError::internal_from(format!("occurred_at of {id}"), e))?;
                Ok((parse_id(&id)?, at.with_timezone(&Utc)))
            })
            .collect()
    }
}
