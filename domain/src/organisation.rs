//! PLACEHOLDER: replaced by the domain implementation.
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    pub id: Uuid,
    pub version: u64,
}
