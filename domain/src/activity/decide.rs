//! The rules of an activity: `decide` turns a command into events or a typed rejection.
//!
//! Decisions where `domain.md` is silent, and why:
//! * A deactivated organisation cannot become a partner (it takes no new roles).
//! * The same organisation may hold several partner roles, never the same role twice.
//! * Participants may be zero (an audit has auditors, not participants); counts are integers ≥ 0
//!   (the API parses them with [`crate::values::parse_count`]).
//! * Activity dates need not lie inside the project's dates: projects are often extended.

use std::collections::HashSet;

use chrono::NaiveDate;

use super::{
    Activity, ActivityCancelled, ActivityCommand, ActivityCompleted, ActivityError, ActivityEvent,
    ActivityPartner, ActivityPlanned, ActivityRescheduled, ActivityRevised, CancelActivity,
    CompleteActivity, Participants, Partnership, PlanActivity, RescheduleActivity, ReviseActivity,
};
use crate::aggregate::DecisionContext;
use crate::codelists::{ActivityKind, ActivityPartnerRole, ActivityStatus};
use crate::values::FieldPath;

pub(super) fn decide(
    state: Option<&Activity>,
    command: ActivityCommand,
    context: &DecisionContext,
) -> Result<Vec<ActivityEvent>, ActivityError> {
    if let ActivityCommand::Plan(plan) = command {
        if let Some(existing) = state {
            return Err(ActivityError::AlreadyExists { id: existing.id });
        }
        return plan_activity(plan).map(|event| vec![event]);
    }
    let id = command.activity_id();
    let activity = state
        .filter(|activity| activity.id == id)
        .ok_or(ActivityError::NotFound { id })?;
    if activity.status != ActivityStatus::Planned {
        return Err(ActivityError::NotPlanned {
            status: activity.status,
        });
    }
    let event = match command {
        ActivityCommand::Plan(_) => return Err(ActivityError::AlreadyExists { id }),
        ActivityCommand::Revise(revise) => revise_activity(revise)?,
        ActivityCommand::Reschedule(reschedule) => reschedule_activity(reschedule)?,
        ActivityCommand::Complete(complete) => complete_activity(complete, context)?,
        ActivityCommand::Cancel(CancelActivity { reason, .. }) => {
            ActivityEvent::ActivityCancelled(ActivityCancelled { reason })
        }
    };
    Ok(vec![event])
}

fn plan_activity(plan: PlanActivity) -> Result<ActivityEvent, ActivityError> {
    if plan.project.status.is_terminal() {
        return Err(ActivityError::ProjectNotOpen {
            project_id: plan.project.id,
            status: plan.project.status,
        });
    }
    if plan.uncac_chapters.is_empty() {
        return Err(ActivityError::NoUncacChapter);
    }
    let mut seen = HashSet::new();
    for (index, chapter) in plan.uncac_chapters.iter().enumerate() {
        if !seen.insert(*chapter) {
            return Err(ActivityError::DuplicateUncacChapter {
                index,
                chapter: *chapter,
            });
        }
    }
    match (plan.kind, plan.audit_type) {
        (ActivityKind::Audit, None) => return Err(ActivityError::AuditTypeRequired),
        (kind, Some(_)) if kind != ActivityKind::Audit => {
            return Err(ActivityError::AuditTypeNotAllowed { kind });
        }
        _ => {}
    }
    let partners = checked_partners(&plan.partners)?;
    check_dates_order("plannedEnd", plan.planned_start, plan.planned_end)?;
    Ok(ActivityEvent::ActivityPlanned(ActivityPlanned {
        id: plan.id,
        project_id: plan.project.id,
        title: plan.title,
        description: plan.description,
        kind: plan.kind,
        uncac_chapters: plan.uncac_chapters,
        audit_type: plan.audit_type,
        partners,
        location: plan.location,
        planned_start: plan.planned_start,
        planned_end: plan.planned_end,
    }))
}

/// The partners of a plan or a revision: none deactivated, no (organisation, role) twice, and an
/// organiser among them.
fn checked_partners(partnerships: &[Partnership]) -> Result<Vec<ActivityPartner>, ActivityError> {
    let mut partners: Vec<ActivityPartner> = Vec::with_capacity(partnerships.len());
    for (index, partnership) in partnerships.iter().enumerate() {
        let partner = ActivityPartner {
            organisation_id: partnership.organisation.id,
            role: partnership.role,
        };
        if partnership.organisation.deactivated {
            return Err(ActivityError::PartnerDeactivated {
                index,
                organisation_id: partner.organisation_id,
            });
        }
        if partners.contains(&partner) {
            return Err(ActivityError::DuplicatePartner {
                index,
                organisation_id: partner.organisation_id,
                role: partner.role,
            });
        }
        partners.push(partner);
    }
    if !partners
        .iter()
        .any(|p| p.role == ActivityPartnerRole::Organiser)
    {
        return Err(ActivityError::NoOrganiser);
    }
    Ok(partners)
}

fn revise_activity(revise: ReviseActivity) -> Result<ActivityEvent, ActivityError> {
    if revise.title.is_none()
        && revise.description.is_none()
        && revise.partners.is_none()
        && revise.location.is_none()
    {
        return Err(ActivityError::NothingToRevise);
    }
    let partners = revise
        .partners
        .as_deref()
        .map(checked_partners)
        .transpose()?;
    Ok(ActivityEvent::ActivityRevised(ActivityRevised {
        title: revise.title,
        description: revise.description,
        partners,
        location: revise.location,
    }))
}

fn reschedule_activity(reschedule: RescheduleActivity) -> Result<ActivityEvent, ActivityError> {
    check_dates_order(
        "plannedEnd",
        reschedule.planned_start,
        reschedule.planned_end,
    )?;
    Ok(ActivityEvent::ActivityRescheduled(ActivityRescheduled {
        planned_start: reschedule.planned_start,
        planned_end: reschedule.planned_end,
    }))
}

fn complete_activity(
    complete: CompleteActivity,
    context: &DecisionContext,
) -> Result<ActivityEvent, ActivityError> {
    for (field, date) in [
        ("actualStart", complete.actual_start),
        ("actualEnd", complete.actual_end),
    ] {
        if date > context.today {
            return Err(ActivityError::DateInFuture {
                field: FieldPath::new(field),
                date,
                today: context.today,
            });
        }
    }
    check_dates_order("actualEnd", complete.actual_start, complete.actual_end)?;
    check_participants(&complete.participants)?;
    Ok(ActivityEvent::ActivityCompleted(ActivityCompleted {
        actual_start: complete.actual_start,
        actual_end: complete.actual_end,
        participants: complete.participants,
        outcome: complete.outcome,
    }))
}

/// female + male + undisclosed = total; per-country rows unique and, when present, add up to total.
fn check_participants(participants: &Participants) -> Result<(), ActivityError> {
    let total = participants.total;
    let sum = u64::from(participants.female)
        + u64::from(participants.male)
        + u64::from(participants.undisclosed);
    if sum != u64::from(total) {
        return Err(ActivityError::ParticipantsDoNotAddUp { total, sum });
    }
    let mut seen = HashSet::new();
    for (index, row) in participants.by_country.iter().enumerate() {
        if !seen.insert(row.country) {
            return Err(ActivityError::DuplicateCountryCount {
                index,
                country: row.country,
            });
        }
    }
    if !participants.by_country.is_empty() {
        let sum: u64 = participants
            .by_country
            .iter()
            .map(|row| u64::from(row.count))
            .sum();
        if sum != u64::from(total) {
            return Err(ActivityError::CountryCountsDoNotAddUp { total, sum });
        }
    }
    Ok(())
}

/// `end ≥ start`, or [`ActivityError::EndBeforeStart`] naming `field`.
fn check_dates_order(
    field: &'static str,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<(), ActivityError> {
    if end < start {
        return Err(ActivityError::EndBeforeStart {
            field: FieldPath::new(field),
            start,
            end,
        });
    }
    Ok(())
}
