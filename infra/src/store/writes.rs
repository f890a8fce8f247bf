//! Writes gathered before they are sent: the inserts, deletes and updates of an append whose
//! answers nobody reads, so that PostgreSQL gets them in as few round trips as it allows.
//!
//! A [`Writes`] is a list of steps; each step is a list of parts (one SQL statement each, with
//! `?` placeholders). On PostgreSQL a step goes as one statement, its parts as data-modifying
//! `WITH` queries: `WITH w0 AS (part 0), w1 AS (part 1) part 2`. They all run on one snapshot,
//! so the parts of a step must not depend on each other: no part reads, deletes or updates rows
//! another part of the same step writes (they are inserts into different rows, typically).
//! Whatever must see an earlier write starts a new step ([`Writes::then`]). On SQLite, which
//! has no round trips to save, every part is a statement of its own, in order.
//!
//! Rows pushed with [`Writes::push_rows`] (or [`Writes::push_updates`]) go to PostgreSQL as
//! arrays, one a column (bound in binary, with one more that flags its NULLs), unnested into rows
//! (`INSERT … SELECT … FROM unnest(…)`, `UPDATE … FROM unnest(…)`), so that the statement's text
//! does not depend on how many rows it carries: PostgreSQL then prepares and plans it once, not
//! once for every batch size (planning varying `VALUES` lists was a seventh of the writer's time,
//! BENCHMARKS.md §5). SQLite gets multi-row `VALUES` for inserts, as many statements as its limit
//! on bound values needs, for inserts and updates alike.

use chrono::NaiveDate;
use sea_orm::sea_query::ArrayType;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Value};

use crate::store::sql::statement;

/// Bound values one PostgreSQL statement carries at most here (the protocol allows 65,535): a
/// step with more goes as several statements.
const VALUES_PER_STATEMENT: usize = 32_000;

/// Bound values one SQLite statement of [`Writes::push_rows`] or [`Writes::push_updates`] carries
/// at most: the limit of every SQLite build (newer ones allow 32,766).
const SQLITE_VALUES_PER_INSERT: usize = 999;

/// Statements to send later to a database of one engine, in steps (see the module
/// documentation).
#[derive(Debug)]
pub struct Writes {
    backend: DbBackend,
    steps: Vec<Vec<Part>>,
}

#[derive(Debug)]
struct Part {
    sql: String,
    values: Vec<Value>,
}

/// The type of a column of rows pushed with [`Writes::push_rows`]: the array it travels in to
/// PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    BigInt,
    Text,
    Bytes,
    Date,
    Bool,
}

impl ColumnType {
    /// Whether `value` is one of the column's (or NULL).
    const fn fits(self, value: &Value) -> bool {
        matches!(
            (self, value),
            (Self::BigInt, Value::BigInt(_))
                | (Self::Text, Value::String(_))
                | (Self::Bytes, Value::Bytes(_))
                | (Self::Date, Value::ChronoDate(_))
                | (Self::Bool, Value::Bool(_))
        )
    }

    /// The array type of sea-query its values are bound in.
    const fn array_type(self) -> ArrayType {
        match self {
            Self::BigInt => ArrayType::BigInt,
            Self::Text => ArrayType::String,
            Self::Bytes => ArrayType::Bytes,
            Self::Date => ArrayType::ChronoDate,
            Self::Bool => ArrayType::Bool,
        }
    }

    /// `value` (one of the column's, [`Self::fits`]) as an element of the column's array, and
    /// whether it is NULL: a NULL travels as a stand-in of the type, flagged.
    fn array_element(self, value: Value) -> (Value, bool) {
        if value != value.as_null() {
            return (value, false);
        }
        let stand_in = match self {
            Self::BigInt => Value::BigInt(Some(0)),
            Self::Text => Value::String(Some(String::new())),
            Self::Bytes => Value::Bytes(Some(Vec::new())),
            Self::Date => Value::ChronoDate(Some(NaiveDate::default())),
            Self::Bool => Value::Bool(Some(false)),
        };
        (stand_in, true)
    }

    const fn array(self) -> &'static str {
        match self {
            Self::BigInt => "BIGINT[]",
            Self::Text => "TEXT[]",
            Self::Bytes => "BYTEA[]",
            Self::Date => "DATE[]",
            Self::Bool => "BOOLEAN[]",
        }
    }
}

impl Writes {
    /// No writes, for a database of `backend`.
    #[must_use]
    pub const fn new(backend: DbBackend) -> Self {
        Self {
            backend,
            steps: Vec::new(),
        }
    }

    /// Adds a statement (written with `?` placeholders, never a literal `?`) to the current
    /// step. It must not depend on the other parts of the step.
    pub fn push(&mut self, sql: String, values: Vec<Value>) {
        let part = Part { sql, values };
        match self.steps.last_mut() {
            Some(step) => step.push(part),
            None => self.steps.push(vec![part]),
        }
    }

    /// Adds the insert of `rows` (each a value per column of `columns`, in order) into `table`
    /// to the current step: on PostgreSQL one statement, one array a column, unnested, however
    /// many the rows; on SQLite multi-row `VALUES`, as many statements as
    /// [`SQLITE_VALUES_PER_INSERT`] needs.
    ///
    /// # Errors
    /// A row without a value per column, or a value that is not of its column's type (a bug).
    pub fn push_rows(
        &mut self,
        table: &str,
        columns: &[(&str, ColumnType)],
        rows: Vec<Vec<Value>>,
    ) -> Result<(), String> {
        if rows.is_empty() {
            return Ok(());
        }
        check_values(table, columns, &rows)?;
        let names = columns
            .iter()
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(", ");
        if self.backend != DbBackend::Postgres {
            self.push_values(columns.len(), rows, |values| {
                format!("INSERT INTO {table} ({names}) VALUES {values}")
            });
            return Ok(());
        }
        let (unnest, arrays) = unnested(columns, rows);
        let selected = (0..columns.len())
            .map(|n| format!("CASE WHEN n{n} THEN NULL ELSE v{n} END"))
            .collect::<Vec<_>>()
            .join(", ");
        self.push(
            format!("INSERT INTO {table} ({names}) SELECT {selected} FROM {unnest}"),
            arrays,
        );
        Ok(())
    }

    /// Adds the update of `rows` of `table` to the current step: each row (a value per column of
    /// `columns`, in order) replaces the values of the row with the same values in the columns
    /// `keys` names (which must be columns, and are not changed). On PostgreSQL one statement,
    /// an array a column as [`Self::push_rows`]; on SQLite `UPDATE … FROM (VALUES …)`, as many
    /// statements as its limit on bound values needs.
    ///
    /// An update, not a delete and an insert: PostgreSQL then writes no index entry for a row
    /// whose indexed columns did not change (a heap-only tuple), where an insert writes one in
    /// every index of the table.
    ///
    /// # Errors
    /// A row without a value per column, a value that is not of its column's type, or a key that
    /// is not a column (bugs).
    pub fn push_updates(
        &mut self,
        table: &str,
        keys: &[&str],
        columns: &[(&str, ColumnType)],
        rows: Vec<Vec<Value>>,
    ) -> Result<(), String> {
        if rows.is_empty() {
            return Ok(());
        }
        check_values(table, columns, &rows)?;
        let key_positions = keys
            .iter()
            .map(|key| {
                columns
                    .iter()
                    .position(|(name, _)| name == key)
                    .ok_or_else(|| format!("{table}.{key} is not a column"))
            })
            .collect::<Result<Vec<usize>, String>>()?;
        let postgres = self.backend == DbBackend::Postgres;
        // Column `n` of the rows joined in: PostgreSQL's unnested arrays (`v{n}`, with `n{n}`
        // flagging NULL), SQLite's `VALUES` (`column1`, `column2`, …).
        let value = |n: usize| {
            if postgres {
                format!("CASE WHEN r.n{n} THEN NULL ELSE r.v{n} END")
            } else {
                format!("r.column{}", n + 1)
            }
        };
        let key = |n: usize| {
            if postgres {
                format!("r.v{n}")
            } else {
                format!("r.column{}", n + 1)
            }
        };
        let set = columns
            .iter()
            .enumerate()
            .filter(|(n, _)| !key_positions.contains(n))
            .map(|(n, (name, _))| format!("{name} = {}", value(n)))
            .collect::<Vec<_>>()
            .join(", ");
        let matched = key_positions
            .iter()
            .zip(keys)
            .map(|(&n, name)| format!("t.{name} = {}", key(n)))
            .collect::<Vec<_>>()
            .join(" AND ");
        if !postgres {
            self.push_values(columns.len(), rows, |values| {
                format!("UPDATE {table} AS t SET {set} FROM (VALUES {values}) AS r WHERE {matched}")
            });
            return Ok(());
        }
        let (unnest, arrays) = unnested(columns, rows);
        self.push(
            format!("UPDATE {table} AS t SET {set} FROM {unnest} WHERE {matched}"),
            arrays,
        );
        Ok(())
    }

    /// Adds `rows` (each of `width` values) for SQLite as `VALUES` lists, `(?, ?), (?, ?)`, in as
    /// many statements as [`SQLITE_VALUES_PER_INSERT`] needs; `statement` writes the statement
    /// around one list.
    fn push_values(
        &mut self,
        width: usize,
        rows: Vec<Vec<Value>>,
        statement: impl Fn(&str) -> String,
    ) {
        let one_row = format!("({})", vec!["?"; width].join(", "));
        let per_statement = (SQLITE_VALUES_PER_INSERT / width.max(1)).max(1);
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<Vec<Value>> = rows.by_ref().take(per_statement).collect();
            let values = vec![one_row.as_str(); chunk.len()].join(", ");
            self.push(statement(&values), chunk.into_iter().flatten().collect());
        }
    }

    /// Starts a new step: what is pushed next sees what was pushed before.
    pub fn then(&mut self) {
        if self.steps.last().is_none_or(|step| !step.is_empty()) {
            self.steps.push(Vec::new());
        }
    }

    /// Whether nothing was pushed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.steps.iter().all(Vec::is_empty)
    }

    /// The statements pushed, step by step, as they are written before they are combined.
    #[cfg(test)]
    pub(crate) fn parts(&self) -> Vec<Vec<&str>> {
        self.steps
            .iter()
            .map(|step| step.iter().map(|part| part.sql.as_str()).collect())
            .collect()
    }

    /// Sends the writes through `db` (of the engine they are for), step by step. Stops at the
    /// first error (inside a transaction, the caller rolls it back).
    ///
    /// # Errors
    /// The database's error.
    pub async fn send<C: ConnectionTrait>(self, db: &C) -> Result<(), DbErr> {
        let backend = db.get_database_backend();
        if backend != self.backend {
            return Err(DbErr::Custom(format!(
                "writes for {:?} sent to {backend:?}",
                self.backend
            )));
        }
        for step in self.steps {
            if backend == DbBackend::Postgres {
                for parts in statements_of(step) {
                    let (sql, values) = combined(parts);
                    db.execute_raw(statement(backend, &sql, values)).await?;
                }
            } else {
                for part in step {
                    db.execute_raw(statement(backend, &part.sql, part.values))
                        .await?;
                }
            }
        }
        Ok(())
    }
}

/// Checks that every row has one value per column, each of its column's type.
fn check_values(
    table: &str,
    columns: &[(&str, ColumnType)],
    rows: &[Vec<Value>],
) -> Result<(), String> {
    for row in rows {
        if row.len() != columns.len() {
            return Err(format!(
                "a row of {table} has {} values for {} columns",
                row.len(),
                columns.len()
            ));
        }
        for ((name, column_type), value) in columns.iter().zip(row) {
            if !column_type.fits(value) {
                return Err(format!("{table}.{name} is {column_type:?}, not {value:?}"));
            }
        }
    }
    Ok(())
}

/// `rows` as PostgreSQL rows from arrays: `unnest(…) AS r (v0, n0, v1, n1, …)` with its bound
/// values, two arrays a column, bound in binary: the values (a stand-in where NULL) and whether
/// each is NULL (sea-query's arrays carry no NULL elements). The values move into them.
fn unnested(columns: &[(&str, ColumnType)], rows: Vec<Vec<Value>>) -> (String, Vec<Value>) {
    let mut values: Vec<Vec<Value>> = vec![Vec::with_capacity(rows.len()); columns.len()];
    let mut nulls: Vec<Vec<Value>> = vec![Vec::with_capacity(rows.len()); columns.len()];
    for row in rows {
        for (n, (value, (_, column_type))) in row.into_iter().zip(columns).enumerate() {
            let (element, null) = column_type.array_element(value);
            values[n].push(element);
            nulls[n].push(Value::Bool(Some(null)));
        }
    }
    let mut arrays = Vec::with_capacity(columns.len() * 2);
    for ((column, nulls), (_, column_type)) in values.into_iter().zip(nulls).zip(columns) {
        arrays.push(Value::Array(
            column_type.array_type(),
            Some(Box::new(column)),
        ));
        arrays.push(Value::Array(ArrayType::Bool, Some(Box::new(nulls))));
    }
    let unnest = columns
        .iter()
        .map(|(_, column_type)| format!("CAST(? AS {}), CAST(? AS BOOLEAN[])", column_type.array()))
        .collect::<Vec<_>>()
        .join(", ");
    let aliases = (0..columns.len())
        .map(|n| format!("v{n}, n{n}"))
        .collect::<Vec<_>>()
        .join(", ");
    (format!("unnest({unnest}) AS r ({aliases})"), arrays)
}

/// A step's parts, grouped into statements of at most [`VALUES_PER_STATEMENT`] values (a part
/// with more goes alone).
fn statements_of(step: Vec<Part>) -> Vec<Vec<Part>> {
    let mut statements: Vec<Vec<Part>> = Vec::new();
    let mut values = 0;
    for part in step {
        match statements.last_mut() {
            Some(parts) if values + part.values.len() <= VALUES_PER_STATEMENT => {
                values += part.values.len();
                parts.push(part);
            }
            _ => {
                values = part.values.len();
                statements.push(vec![part]);
            }
        }
    }
    statements
}

/// One statement doing all of `parts`: the last as the main statement, the others as `WITH`
/// queries before it.
fn combined(parts: Vec<Part>) -> (String, Vec<Value>) {
    let mut sql = String::new();
    let mut values = Vec::with_capacity(parts.iter().map(|part| part.values.len()).sum());
    let last = parts.len().saturating_sub(1);
    for (n, part) in parts.into_iter().enumerate() {
        if n < last {
            sql.push_str(if n == 0 { "WITH " } else { ", " });
            sql.push_str(&format!("w{n} AS ({})", part.sql));
        } else {
            if n > 0 {
                sql.push(' ');
            }
            sql.push_str(&part.sql);
        }
        values.extend(part.values);
    }
    (sql, values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(sql: &str, values: usize) -> Part {
        Part {
            sql: sql.to_owned(),
            values: (0..values)
                .map(|n| Value::from(i64::try_from(n).unwrap_or_default()))
                .collect(),
        }
    }

    #[test]
    fn a_step_is_one_statement_of_with_queries() {
        let (sql, values) = combined(vec![
            part("INSERT INTO a VALUES (?)", 1),
            part("INSERT INTO b VALUES (?, ?)", 2),
            part("UPDATE c SET x = ?", 1),
        ]);
        assert_eq!(
            sql,
            "WITH w0 AS (INSERT INTO a VALUES (?)), w1 AS (INSERT INTO b VALUES (?, ?)) \
             UPDATE c SET x = ?"
        );
        assert_eq!(values.len(), 4);
        let (alone, _) = combined(vec![part("DELETE FROM a", 0)]);
        assert_eq!(alone, "DELETE FROM a");
    }

    #[test]
    fn a_step_too_large_for_one_statement_is_split() {
        let grouped = statements_of(vec![
            part("a", 20_000),
            part("b", 12_000),
            part("c", 1),
            part("d", 40_000),
            part("e", 1),
        ]);
        let sizes: Vec<Vec<usize>> = grouped
            .iter()
            .map(|parts| parts.iter().map(|p| p.values.len()).collect())
            .collect();
        assert_eq!(
            sizes,
            vec![vec![20_000, 12_000], vec![1], vec![40_000], vec![1]]
        );
    }

    #[test]
    fn rows_for_sqlite_stay_within_its_limit_on_bound_values() {
        let columns = [("n", ColumnType::BigInt); 10];
        let row = vec![Value::BigInt(Some(1)); 10];
        let mut writes = Writes::new(DbBackend::Sqlite);
        assert!(
            writes
                .push_rows("t", &columns, vec![row.clone(); 250])
                .is_ok()
        );
        let sizes: Vec<usize> = writes.steps[0].iter().map(|p| p.values.len()).collect();
        assert_eq!(sizes, vec![990, 990, 520]);
        // PostgreSQL: one statement of two arrays a column, whatever the number of rows.
        let mut writes = Writes::new(DbBackend::Postgres);
        assert!(writes.push_rows("t", &columns, vec![row; 250]).is_ok());
        let sizes: Vec<usize> = writes.steps[0].iter().map(|p| p.values.len()).collect();
        assert_eq!(sizes, vec![20]);
    }

    #[test]
    fn updates_match_rows_by_their_key_and_set_the_other_columns() {
        let columns = [
            ("project_id", ColumnType::Text),
            ("position", ColumnType::BigInt),
            ("value", ColumnType::Text),
        ];
        let row = |n: i64| {
            vec![
                Value::from("p"),
                Value::BigInt(Some(n)),
                Value::String(None),
            ]
        };
        let keys = ["project_id", "position"];
        let mut writes = Writes::new(DbBackend::Sqlite);
        assert!(
            writes
                .push_updates("t", &keys, &columns, vec![row(1), row(2)])
                .is_ok()
        );
        let step = &writes.steps[0];
        assert_eq!(step.len(), 1, "SQLite: the rows joined in from VALUES");
        assert_eq!(
            step[0].sql,
            "UPDATE t AS t SET value = r.column3 FROM (VALUES (?, ?, ?), (?, ?, ?)) AS r \
             WHERE t.project_id = r.column1 AND t.position = r.column2"
        );
        assert_eq!(
            step[0].values,
            [
                Value::from("p"),
                Value::BigInt(Some(1)),
                Value::String(None),
                Value::from("p"),
                Value::BigInt(Some(2)),
                Value::String(None)
            ]
        );
        // As many statements as SQLite's limit on bound values needs.
        let mut writes = Writes::new(DbBackend::Sqlite);
        assert!(
            writes
                .push_updates("t", &keys, &columns, (0..400).map(row).collect())
                .is_ok()
        );
        let sizes: Vec<usize> = writes.steps[0].iter().map(|p| p.values.len()).collect();
        assert_eq!(sizes, vec![999, 201]);
        // PostgreSQL: one statement whatever the number of rows, NULLs flagged as for inserts.
        let mut writes = Writes::new(DbBackend::Postgres);
        assert!(
            writes
                .push_updates("t", &keys, &columns, vec![row(1), row(2), row(3)])
                .is_ok()
        );
        let step = &writes.steps[0];
        assert_eq!(step.len(), 1);
        assert_eq!(
            step[0].sql,
            "UPDATE t AS t SET value = CASE WHEN r.n2 THEN NULL ELSE r.v2 END \
             FROM unnest(CAST(? AS TEXT[]), CAST(? AS BOOLEAN[]), CAST(? AS BIGINT[]), \
             CAST(? AS BOOLEAN[]), CAST(? AS TEXT[]), CAST(? AS BOOLEAN[])) \
             AS r (v0, n0, v1, n1, v2, n2) WHERE t.project_id = r.v0 AND t.position = r.v1"
        );
        assert_eq!(step[0].values.len(), 6);
        // A key that is not a column is a bug, refused.
        let refused =
            Writes::new(DbBackend::Postgres).push_updates("t", &["nope"], &columns, vec![row(1)]);
        assert_eq!(refused, Err("t.nope is not a column".to_owned()));
    }

    #[test]
    fn empty_steps_are_not_kept() {
        let mut writes = Writes::new(DbBackend::Sqlite);
        writes.then();
        writes.then();
        assert!(writes.is_empty());
        writes.push("INSERT INTO a VALUES (1)".to_owned(), Vec::new());
        writes.then();
        writes.then();
        writes.push("INSERT INTO b VALUES (1)".to_owned(), Vec::new());
        assert_eq!(writes.steps.len(), 2);
    }
}
