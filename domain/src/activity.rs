//! PLACEHOLDER: replaced by the domain implementation.
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub id: Uuid,
    pub version: u64,
}
