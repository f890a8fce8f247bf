//! IATI 2.03: writing the activity and organisation files Amanah publishes
//! (`docs/iati.md`). The schemas they are tested against are vendored in `infra/iati/schemas`.

pub mod publish;
pub mod xml;

#[cfg(test)]
mod tests;
