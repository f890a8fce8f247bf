//! IATI 2.03: writing the activity and organisation files Amanah publishes, and reading activity
//! files to import (`docs/iati.md`). The schemas are vendored in `infra/iati/schemas`.

pub mod publish;
pub mod read;
pub mod schema;
pub mod xml;

#[cfg(test)]
mod tests;
