//! Raw SQL shared by the adapters: one statement text for both engines.

use std::fmt::Write as _;

use sea_orm::{DbBackend, Statement, Value};

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
}
