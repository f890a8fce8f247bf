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

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Value};

use crate::store::sql::statement;

/// Bound values one PostgreSQL statement carries at most here (the protocol allows 65,535): a
/// step with more goes as several statements.
const VALUES_PER_STATEMENT: usize = 32_000;

/// Statements to send later, in steps (see the module documentation).
#[derive(Debug, Default)]
pub struct Writes {
    steps: Vec<Vec<Part>>,
}

#[derive(Debug)]
struct Part {
    sql: String,
    values: Vec<Value>,
}

impl Writes {
    /// No writes.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
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

    /// Sends the writes through `db`, step by step. Stops at the first error (inside a
    /// transaction, the caller rolls it back).
    ///
    /// # Errors
    /// The database's error.
    pub async fn send<C: ConnectionTrait>(self, db: &C) -> Result<(), DbErr> {
        let backend = db.get_database_backend();
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
    fn empty_steps_are_not_kept() {
        let mut writes = Writes::new();
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
