//! From database driver errors to the domain's [`StoreError`].
//!
//! * a unique-constraint violation becomes [`StoreError::Duplicate`] naming the *input field* whose
//!   value is taken (`organisations.ref` → `ref`, `projects.iati_identifier` → `iatiIdentifier`;
//!   other columns → their camelCase name);
//! * a lost connection, an exhausted pool, a locked SQLite file, a PostgreSQL shutdown, or a
//!   serialization failure or deadlock (transient: the same command can be retried) becomes
//!   [`StoreError::Unavailable`];
//! * anything else becomes [`StoreError::Internal`].
//!
//! Projection code calls [`map_db_error`] on the errors of its writes, so that a taken IATI
//! identifier reaches the client as `BAD_USER_INPUT` on `iatiIdentifier`, not as an internal error.

use amanah_domain::ports::StoreError;
use amanah_domain::values::FieldPath;
use sea_orm::sqlx;
use sea_orm::sqlx::postgres::PgDatabaseError;
use sea_orm::{DbErr, RuntimeErr};

/// Read-model columns whose input field is not simply their camelCase name:
/// (table, column, GraphQL input field).
const FIELD_NAMES: &[(&str, &str, &str)] = &[
    ("organisations", "ref", "ref"),
    ("projects", "iati_identifier", "iatiIdentifier"),
];

/// What the store was doing when the driver failed; the driver's error is the cause under it.
const UNREACHABLE: &str = "the database did not answer";
const FAILED: &str = "the database refused a statement";

/// Maps a database error to a [`StoreError`] (see the module documentation); the driver's error is
/// kept as its source.
#[must_use]
pub fn map_db_error(err: DbErr) -> StoreError {
    if let Some(field) = duplicate_field(&err) {
        return StoreError::Duplicate { field };
    }
    if is_transient(&err) {
        return StoreError::unavailable_from(UNREACHABLE, err);
    }
    StoreError::internal_from(FAILED, err)
}

/// Like [`map_db_error`], but a unique violation is an internal error: for the store's own tables,
/// where a duplicate means a broken invariant, never a user's input.
#[must_use]
pub(crate) fn map_internal_db_error(err: DbErr) -> StoreError {
    if is_transient(&err) {
        StoreError::unavailable_from(UNREACHABLE, err)
    } else {
        StoreError::internal_from(FAILED, err)
    }
}

/// The input field named by a unique-constraint violation; `None` for any other error.
fn duplicate_field(err: &DbErr) -> Option<FieldPath> {
    let database_error = database_error(err)?;
    if !database_error.is_unique_violation() {
        return None;
    }
    let (table, columns) = match database_error.try_downcast_ref::<PgDatabaseError>() {
        // PostgreSQL: detail `Key (iati_identifier)=(XM-1) already exists.`
        Some(postgres) => (
            postgres.table().map(str::to_owned),
            postgres.detail().and_then(postgres_key_columns),
        ),
        // SQLite: message `UNIQUE constraint failed: projects.iati_identifier`
        None => sqlite_unique_columns(database_error.message()),
    };
    let columns = columns.unwrap_or_default();
    let Some(column) = columns.last() else {
        return Some(database_error.constraint().map_or_else(
            || FieldPath::new("value"),
            |name| FieldPath::named(name.to_owned()),
        ));
    };
    Some(field_name(table.as_deref(), column))
}

/// Whether retrying later may succeed: the database was unreachable, busy or chose a victim.
#[must_use]
pub fn is_transient(err: &DbErr) -> bool {
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(sqlx_error))
        | DbErr::Query(RuntimeErr::SqlxError(sqlx_error)) => match sqlx_error.as_ref() {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(database_error) => {
                let postgres = database_error
                    .try_downcast_ref::<PgDatabaseError>()
                    .is_some();
                database_error
                    .code()
                    .is_some_and(|code| is_transient_code(&code, postgres))
            }
            _ => false,
        },
        _ => false,
    }
}

fn is_transient_code(code: &str, postgres: bool) -> bool {
    if postgres {
        // SQLSTATE: connection exceptions (08…), serialization failure, deadlock, shutdown,
        // "cannot connect now", too many connections.
        code.starts_with("08")
            || matches!(
                code,
                "40001" | "40P01" | "57P01" | "57P02" | "57P03" | "53300"
            )
    } else {
        // SQLite result codes, primary or extended (the low byte is the primary code):
        // SQLITE_BUSY (5; 261, 517, 773) and SQLITE_LOCKED (6; 262).
        code.parse::<u32>()
            .is_ok_and(|sqlite| matches!(sqlite & 0xff, 5 | 6))
    }
}

fn database_error(err: &DbErr) -> Option<&(dyn sqlx::error::DatabaseError + 'static)> {
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(sqlx_error))
        | DbErr::Query(RuntimeErr::SqlxError(sqlx_error)) => sqlx_error.as_database_error(),
        _ => None,
    }
}

/// `Key (a, b)=(…) already exists.` → `[a, b]`.
fn postgres_key_columns(detail: &str) -> Option<Vec<String>> {
    let rest = detail.strip_prefix("Key (")?;
    let (columns, _) = rest.split_once(")=(")?;
    Some(
        columns
            .split(',')
            .map(|column| column.trim().trim_matches('"').to_owned())
            .collect(),
    )
}

/// `UNIQUE constraint failed: t.a, t.b` → (`t`, `[a, b]`).
fn sqlite_unique_columns(message: &str) -> (Option<String>, Option<Vec<String>>) {
    let Some((_, list)) = message.split_once("constraint failed: ") else {
        return (None, None);
    };
    let mut table = None;
    let columns = list
        .split(',')
        .map(|qualified| {
            let qualified = qualified.trim();
            match qualified.split_once('.') {
                Some((owner, column)) => {
                    table = Some(owner.to_owned());
                    column.to_owned()
                }
                None => qualified.to_owned(),
            }
        })
        .collect();
    (table, Some(columns))
}

/// The input field of `table.column`: from [`FIELD_NAMES`], else the column in camelCase.
fn field_name(table: Option<&str>, column: &str) -> FieldPath {
    FIELD_NAMES
        .iter()
        .find(|(known_table, known_column, _)| {
            table.is_none_or(|table| table == *known_table) && column == *known_column
        })
        .map_or_else(
            || FieldPath::named(camel_case(column)),
            |(_, _, field)| FieldPath::new(field),
        )
}

fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper_next = false;
    for ch in snake.chars() {
        if ch == '_' {
            upper_next = !out.is_empty();
        } else if upper_next {
            out.extend(ch.to_uppercase());
            upper_next = false;
        } else {
            out.push(ch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_postgres_details() {
        assert_eq!(
            postgres_key_columns("Key (iati_identifier)=(XM-1) already exists."),
            Some(vec!["iati_identifier".to_owned()])
        );
        assert_eq!(
            postgres_key_columns("Key (project_id, \"position\")=(a, 1) already exists."),
            Some(vec!["project_id".to_owned(), "position".to_owned()])
        );
        assert_eq!(postgres_key_columns("something else"), None);
    }

    #[test]
    fn parses_sqlite_messages() {
        assert_eq!(
            sqlite_unique_columns("UNIQUE constraint failed: projects.iati_identifier"),
            (
                Some("projects".to_owned()),
                Some(vec!["iati_identifier".to_owned()])
            )
        );
        assert_eq!(
            sqlite_unique_columns("UNIQUE constraint failed: t.a, t.b").1,
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
    }

    #[test]
    fn names_input_fields() {
        assert_eq!(
            field_name(Some("projects"), "iati_identifier").to_string(),
            "iatiIdentifier"
        );
        assert_eq!(field_name(Some("organisations"), "ref").to_string(), "ref");
        assert_eq!(
            field_name(None, "iati_identifier").to_string(),
            "iatiIdentifier"
        );
        assert_eq!(
            field_name(Some("projects"), "reporting_org_id").to_string(),
            "reportingOrgId"
        );
        assert_eq!(camel_case("_leading_underscore"), "leadingUnderscore");
    }

    #[test]
    fn classifies_transient_codes() {
        for code in ["08006", "40001", "40P01", "57P01", "53300"] {
            assert!(is_transient_code(code, true), "{code}");
        }
        for code in ["23505", "42P01", "P0001", "23001"] {
            assert!(!is_transient_code(code, true), "{code}");
        }
        for code in ["5", "261", "517", "773", "6", "262"] {
            assert!(is_transient_code(code, false), "{code}");
        }
        for code in ["2067", "1555", "19", "1"] {
            assert!(!is_transient_code(code, false), "{code}");
        }
    }

    #[test]
    fn maps_non_driver_errors_to_internal() {
        assert!(matches!(
            map_db_error(DbErr::Custom("boom".to_owned())),
            StoreError::Internal { .. }
        ));
        assert!(matches!(
            map_db_error(DbErr::Conn(RuntimeErr::Internal("gone".to_owned()))),
            StoreError::Unavailable { .. }
        ));
    }

    /// The driver's error stays the cause (not flattened into text), so the log's chain shows it.
    #[test]
    fn the_driver_error_is_kept_as_the_source() {
        let error = map_db_error(DbErr::Custom("no such table: projectz".to_owned()));
        let source = std::error::Error::source(&error).map(ToString::to_string);
        assert_eq!(
            source.as_deref(),
            Some("Custom Error: no such table: projectz")
        );
        assert_eq!(
            amanah_domain::errors::Chain(&error).to_string(),
            "event store failure: the database refused a statement: Custom Error: no such table: \
             projectz"
        );
    }
}
