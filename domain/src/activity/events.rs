//! The events of an activity: the `data` of the audit log's envelopes.
//!
//! Serialised as `{"type": "ActivityPlanned", "data": {...}}` with camelCase keys, enums as their
//! `SCREAMING_SNAKE_CASE` names, dates as `YYYY-MM-DD`, counts as integers. No floating point.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Activity, ActivityLocation, ActivityPartner, Participants};
use crate::aggregate::DomainEvent;
use crate::codelists::{ActivityKind, ActivityStatus, AuditType, UncacChapter};
use crate::values::{Description, Title};

/// Payload of `ActivityPlanned`: everything planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityPlanned {
    pub id: Uuid,
    pub project_id: Uuid,
    pub title: Title,
    pub description: Description,
    pub kind: ActivityKind,
    pub uncac_chapters: Vec<UncacChapter>,
    pub audit_type: Option<AuditType>,
    pub partners: Vec<ActivityPartner>,
    pub location: ActivityLocation,
    pub planned_start: NaiveDate,
    pub planned_end: NaiveDate,
}

/// Payload of `ActivityRevised`: the fields that changed (absent ones did not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityRevised {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<Title>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Description>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partners: Option<Vec<ActivityPartner>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<ActivityLocation>,
}

impl ActivityPlanned {
    /// The activity this event creates.
    #[must_use]
    pub fn to_activity(&self) -> Activity {
        Activity {
            id: self.id,
            project_id: self.project_id,
            title: self.title.clone(),
            description: self.description.clone(),
            kind: self.kind,
            uncac_chapters: self.uncac_chapters.clone(),
            audit_type: self.audit_type,
            partners: self.partners.clone(),
            location: self.location.clone(),
            status: ActivityStatus::Planned,
            planned_start: self.planned_start,
            planned_end: self.planned_end,
            actual_start: None,
            actual_end: None,
            participants: None,
            outcome: None,
            cancellation_reason: None,
            version: 1,
        }
    }
}

/// Payload of `ActivityRescheduled`: the new planned dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityRescheduled {
    pub planned_start: NaiveDate,
    pub planned_end: NaiveDate,
}

/// Payload of `ActivityCompleted`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityCompleted {
    pub actual_start: NaiveDate,
    pub actual_end: NaiveDate,
    pub participants: Participants,
    pub outcome: Option<Description>,
}

/// Payload of `ActivityCancelled`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityCancelled {
    pub reason: Description,
}

/// The events of an activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum ActivityEvent {
    ActivityPlanned(ActivityPlanned),
    ActivityRevised(ActivityRevised),
    ActivityRescheduled(ActivityRescheduled),
    ActivityCompleted(ActivityCompleted),
    ActivityCancelled(ActivityCancelled),
}

impl DomainEvent for ActivityEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::ActivityPlanned(_) => "ActivityPlanned",
            Self::ActivityRevised(_) => "ActivityRevised",
            Self::ActivityRescheduled(_) => "ActivityRescheduled",
            Self::ActivityCompleted(_) => "ActivityCompleted",
            Self::ActivityCancelled(_) => "ActivityCancelled",
        }
    }
}
