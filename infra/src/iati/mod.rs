//! IATI 2.03: writing the activity and organisation files Amanah publishes ([`publish`]), and
//! reading activity files to import: one activity at a time ([`read`]), into the domain's values
//! ([`stated`], the inverse of [`publish`]), after the schema check ([`schema`])
//! (`docs/iati.md`). The schemas are vendored in `infra/iati/schemas`.

pub mod publish;
pub mod read;
pub mod schema;
pub mod stated;
pub mod xml;

#[cfg(test)]
mod tests;
