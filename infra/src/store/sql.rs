//! Raw SQL shared by the adapters: one statement text for both engines, and the integers the
//! tables keep as `BIGINT`.

use std::fmt::Write as _;

use amanah_domain::ports::StoreError;
use sea_orm::{DbBackend, QueryResult, Statement, Value};

use crate::store::db_error::map_internal_db_error;

/// A statement written with `?` placeholders, numbered (`$1`, `$2`, …) for PostgreSQL.
/// (The SQL texts of this crate never contain a literal `?`.)
pub fn statement(
    backend: DbBackend,
    sql: &str,
    values: impl IntoIterator<Item = Value>,
) -> Statement {
    if backend != DbBackend::Postgres {
        return Statement::from_sql_and_values(backend, sql, values);
    }
    let mut numbered = String::with_capacity(sql.len() + 16);
    let mut position = 0;
    for ch in sql.chars() {
        if ch == '?' {
            position += 1;
            let _ = write!(numbered, "${position}");
        } else {
            numbered.push(ch);
        }
    }
    Statement::from_sql_and_values(backend, numbered, values)
}

/// An index, size, version or count as the `BIGINT` the tables keep.
///
/// # Errors
/// [`StoreError::Internal`] when `value` exceeds `i64::MAX`.
pub fn to_db_int(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::internal(format!("{value} exceeds BIGINT")))
}

/// A stored `BIGINT` index, size, version or count.
///
/// # Errors
/// [`StoreError::Internal`] when it is negative (the tables never hold one).
pub fn from_db_int(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::internal(format!("a stored integer is {value}")))
}

/// A bound of a query (`LIMIT`, `OFFSET`, `idx < ?`), clamped to `i64::MAX`: a bound past the
/// largest `BIGINT` selects what that one does. For values the caller chose, never for values
/// to store.
#[must_use]
pub fn query_bound(value: u64) -> Value {
    i64::try_from(value).unwrap_or(i64::MAX).into()
}

/// The answer of a statement that returns one integer in one row (`SELECT COUNT(*) …`,
/// `SELECT COALESCE(MAX(…), 0) …`).
///
/// # Errors
/// [`StoreError::Internal`] when there is no row or its first column is not a non-negative
/// integer.
pub fn count(row: Option<&QueryResult>) -> Result<u64, StoreError> {
    let row = row.ok_or_else(|| StoreError::internal("a count returned no row"))?;
    from_db_int(row.try_get_by_index(0).map_err(map_internal_db_error)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_placeholders_for_postgres_only() {
        let postgres = statement(DbBackend::Postgres, "a = ? AND b = ?", [1.into(), 2.into()]);
        assert_eq!(postgres.sql, "a = $1 AND b = $2");
        let sqlite = statement(DbBackend::Sqlite, "a = ? AND b = ?", [1.into(), 2.into()]);
        assert_eq!(sqlite.sql, "a = ? AND b = ?");
    }

    #[test]
    fn integers_out_of_bigint_range_are_refused() {
        assert_eq!(to_db_int(7).ok(), Some(7));
        assert!(to_db_int(u64::MAX).is_err());
        assert_eq!(from_db_int(7).ok(), Some(7));
        assert!(from_db_int(-1).is_err());
        assert!(count(None).is_err(), "no row is not zero");
        assert_eq!(query_bound(u64::MAX), Value::from(i64::MAX));
    }
}
