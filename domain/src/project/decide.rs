//! The rules of a project: `decide` turns a command into events or a typed rejection.
//!
//! Decisions where `domain.md` is silent, and why:
//! * Deactivated organisations take no *new* roles: they cannot report a new project, be added as
//!   participating organisations (at registration or later) or become activity partners. They may
//!   still appear as provider or receiver of a transaction, because a transaction records money
//!   that already moved (often before the deactivation).
//! * Once a project has entered Implementation (statuses 2, 3, 4 and 6), it keeps at least one
//!   Funding and one Implementing organisation: removing the last one is refused. In Pipeline and
//!   Cancelled the rule that Implementation needs them does not (or no longer) apply.
//! * A budget period is at most one calendar year: `periodEnd ≤ periodStart + 12 months` (so
//!   2024-01-01 → 2025-01-01 is allowed, 2025-01-02 is not; from 29 February the limit is 28
//!   February). Budget values are never negative.
//! * Transactions are never zero, never dated in the future (like every actual date), and are
//!   recorded in any status (refunds arrive after closure). A reversal is dated `today`, keeps the
//!   original's type, value date and organisations, negates the value and carries the reason as
//!   its description.
//! * A document URL is added once; a related project is linked once per relation type and never to
//!   itself; an other identifier is added once per type; an A3 (Previous Activity Identifier) must be
//!   a valid IATI identifier other than the project's own.
//! * Revisions, documents, links and budgets are accepted in every status, Closed and Cancelled
//!   included: correcting the record of a finished project is legitimate, and every change is in
//!   the audit log anyway.
//! * `reviseProject` with no field given is refused (`NothingToRevise`), so that every event says
//!   something happened.

use std::collections::HashSet;

use chrono::{Months, NaiveDate};

use crate::values::{
    AidType, CollaborationType, CurrencyCode, FinanceType, FlowType, LanguageCode,
    PolicyMarkerCode, PolicySignificance, TiedStatus, ValueError,
};

use super::{
    AddDocument, AddOtherIdentifier, AddParticipatingOrganisation, AddRelatedProject, BudgetSet,
    ChangeProjectStatus, OtherIdentifier, ParticipatingOrganisation, Participation, Project,
    ProjectCommand, ProjectError, ProjectEvent, ProjectRegistered, ProjectRevised,
    ProjectStatusChanged, RecipientCountry, RecipientRegion, RecordTransaction, RegisterProject,
    RelatedProject, RemoveParticipatingOrganisation, ReverseTransaction, ReviseProject,
    SectorShare, SetBudget, TransactionEntry, TransactionReversed,
};
use super::{
    ContactsSet, Document, DocumentRemoved, LocationsSet, PlannedDisbursementsSet,
    PolicyMarkersSet, RelatedProjectRemoved, RemoveDocument, RemoveOtherIdentifier,
    RemoveRelatedProject, ResultRule, ResultsSet, SetContacts, SetLocations,
    SetPlannedDisbursements, SetPolicyMarkers, SetProjectDefaults, SetResults,
};
use crate::aggregate::DecisionContext;
use crate::codelists::{OrganisationRole, OtherIdentifierType, ProjectStatus};
use crate::values::{FieldPath, IatiIdentifier, Percentage};

pub(super) fn decide(
    state: Option<&Project>,
    command: ProjectCommand,
    context: &DecisionContext,
) -> Result<Vec<ProjectEvent>, ProjectError> {
    if let ProjectCommand::Register(register) = command {
        if let Some(existing) = state {
            return Err(ProjectError::AlreadyExists { id: existing.id });
        }
        return register_project(register).map(|event| vec![event]);
    }
    let id = command.project_id();
    let project = state
        .filter(|project| project.id == id)
        .ok_or(ProjectError::NotFound { id })?;
    let event = match command {
        ProjectCommand::Register(_) => return Err(ProjectError::AlreadyExists { id }),
        ProjectCommand::Revise(revise) => revise_project(project, revise)?,
        ProjectCommand::ChangeStatus(change) => change_status(project, change, context)?,
        ProjectCommand::AddParticipatingOrganisation(add) => add_participant(project, add)?,
        ProjectCommand::RemoveParticipatingOrganisation(remove) => {
            remove_participant(project, remove)?
        }
        ProjectCommand::SetBudget(set) => set_budget(set)?,
        ProjectCommand::RecordTransaction(record) => record_transaction(record, context)?,
        ProjectCommand::ReverseTransaction(reverse) => reverse_transaction(reverse, context)?,
        ProjectCommand::AddDocument(add) => add_document(project, add)?,
        ProjectCommand::AddRelatedProject(add) => add_related_project(project, add)?,
        ProjectCommand::AddOtherIdentifier(add) => add_other_identifier(project, add)?,
        ProjectCommand::RemoveDocument(remove) => remove_document(project, remove)?,
        ProjectCommand::RemoveRelatedProject(remove) => remove_related_project(project, remove)?,
        ProjectCommand::RemoveOtherIdentifier(remove) => remove_other_identifier(project, remove)?,
        ProjectCommand::SetDefaults(set) => set_defaults(project, set)?,
        ProjectCommand::SetPolicyMarkers(set) => set_policy_markers(project, set)?,
        ProjectCommand::SetContacts(set) => set_contacts(project, set)?,
        ProjectCommand::SetPlannedDisbursements(set) => set_planned_disbursements(project, set)?,
        ProjectCommand::SetLocations(set) => set_locations(project, set)?,
        ProjectCommand::SetResults(set) => set_results(project, set)?,
    };
    Ok(vec![event])
}

fn register_project(register: RegisterProject) -> Result<ProjectEvent, ProjectError> {
    let reporting = &register.reporting_organisation;
    let Some(org_ref) = reporting.org_ref.clone() else {
        return Err(ProjectError::ReportingOrganisationWithoutRef {
            organisation_id: reporting.id,
        });
    };
    if reporting.deactivated {
        return Err(ProjectError::ReportingOrganisationDeactivated {
            organisation_id: reporting.id,
        });
    }
    if !register.iati_identifier.is_under(&org_ref) {
        return Err(ProjectError::IdentifierNotUnderReportingOrganisation {
            iati_identifier: register.iati_identifier,
            org_ref,
        });
    }
    check_dates_order("plannedEnd", register.planned_start, register.planned_end)?;
    let participating_organisations = check_participations(&register.participating_organisations)?;
    check_geography(
        &register.recipient_countries,
        &register.recipient_regions,
        geography_field(!register.recipient_countries.is_empty()),
    )?;
    check_sectors(&register.sectors)?;
    Ok(ProjectEvent::ProjectRegistered(ProjectRegistered {
        id: register.id,
        iati_identifier: register.iati_identifier,
        reporting_organisation_id: reporting.id,
        reporting_org_ref: org_ref,
        title: register.title,
        description: register.description,
        objectives: register.objectives,
        status: ProjectStatus::Pipeline,
        planned_start: register.planned_start,
        planned_end: register.planned_end,
        participating_organisations,
        recipient_countries: register.recipient_countries,
        recipient_regions: register.recipient_regions,
        sectors: register.sectors,
    }))
}

fn revise_project(project: &Project, revise: ReviseProject) -> Result<ProjectEvent, ProjectError> {
    let nothing_given = revise.title.is_none()
        && revise.description.is_none()
        && revise.objectives.is_keep()
        && revise.planned_start.is_none()
        && revise.planned_end.is_none()
        && revise.recipient_countries.is_none()
        && revise.recipient_regions.is_none()
        && revise.sectors.is_none();
    if nothing_given {
        return Err(ProjectError::NothingToRevise);
    }
    let planned_start = revise.planned_start.unwrap_or(project.planned_start);
    let planned_end = revise.planned_end.unwrap_or(project.planned_end);
    let blamed = if revise.planned_end.is_some() {
        "plannedEnd"
    } else {
        "plannedStart"
    };
    if planned_end < planned_start {
        return Err(ProjectError::EndBeforeStart {
            field: FieldPath::new(blamed),
            start: planned_start,
            end: planned_end,
        });
    }
    let countries_given = revise.recipient_countries.is_some();
    let regions_given = revise.recipient_regions.is_some();
    let recipient_countries = revise
        .recipient_countries
        .unwrap_or_else(|| project.recipient_countries.clone());
    let recipient_regions = revise
        .recipient_regions
        .unwrap_or_else(|| project.recipient_regions.clone());
    if countries_given || regions_given {
        let sum_field = geography_field(countries_given);
        check_geography(&recipient_countries, &recipient_regions, sum_field)?;
    }
    let sectors = match revise.sectors {
        Some(sectors) => {
            check_sectors(&sectors)?;
            sectors
        }
        None => project.sectors.clone(),
    };
    Ok(ProjectEvent::ProjectRevised(ProjectRevised {
        title: revise.title.unwrap_or_else(|| project.title.clone()),
        description: revise
            .description
            .unwrap_or_else(|| project.description.clone()),
        objectives: revise.objectives.apply(project.objectives.clone()),
        planned_start,
        planned_end,
        recipient_countries,
        recipient_regions,
        sectors,
    }))
}

fn change_status(
    project: &Project,
    change: ChangeProjectStatus,
    context: &DecisionContext,
) -> Result<ProjectEvent, ProjectError> {
    use ProjectStatus::{Cancelled, Closed, Finalisation, Implementation, Suspended};

    let (from, to) = (project.status, change.status);
    if !from.can_move_to(to) {
        return Err(ProjectError::StatusTransitionNotAllowed { from, to });
    }
    check_not_future("actualStart", change.actual_start, context)?;
    check_not_future("actualEnd", change.actual_end, context)?;
    let actual_start = change.actual_start.or(project.actual_start);
    let actual_end = change.actual_end.or(project.actual_end);
    let start_required = matches!(to, Implementation | Finalisation | Closed | Suspended);
    let end_required = matches!(to, Finalisation | Closed);
    let end_allowed = matches!(to, Finalisation | Closed | Cancelled);
    if start_required && actual_start.is_none() {
        return Err(ProjectError::ActualStartRequired { status: to });
    }
    if end_required && actual_end.is_none() {
        return Err(ProjectError::ActualEndRequired { status: to });
    }
    if !end_allowed && actual_end.is_some() {
        return Err(ProjectError::ActualEndNotAllowed { status: to });
    }
    if let (Some(start), Some(end)) = (actual_start, actual_end) {
        check_dates_order("actualEnd", start, end)?;
    }
    if to == Implementation {
        let missing: Vec<OrganisationRole> =
            [OrganisationRole::Funding, OrganisationRole::Implementing]
                .into_iter()
                .filter(|role| {
                    !project
                        .participating_organisations
                        .iter()
                        .any(|p| p.role == *role)
                })
                .collect();
        if !missing.is_empty() {
            return Err(ProjectError::MissingRolesForImplementation { missing });
        }
    }
    Ok(ProjectEvent::ProjectStatusChanged(ProjectStatusChanged {
        from,
        to,
        actual_start,
        actual_end,
    }))
}

fn add_participant(
    project: &Project,
    add: AddParticipatingOrganisation,
) -> Result<ProjectEvent, ProjectError> {
    if add.organisation.deactivated {
        return Err(ProjectError::OrganisationDeactivated {
            field: FieldPath::new("organisationId"),
            organisation_id: add.organisation.id,
        });
    }
    if project.has_participant(add.organisation.id, add.role) {
        return Err(ProjectError::DuplicateParticipation {
            field: FieldPath::new("role"),
            organisation_id: add.organisation.id,
            role: add.role,
        });
    }
    Ok(ProjectEvent::ParticipatingOrganisationAdded(
        ParticipatingOrganisation {
            organisation_id: add.organisation.id,
            role: add.role,
        },
    ))
}

fn remove_participant(
    project: &Project,
    remove: RemoveParticipatingOrganisation,
) -> Result<ProjectEvent, ProjectError> {
    if !project.has_participant(remove.organisation_id, remove.role) {
        return Err(ProjectError::ParticipationNotFound {
            organisation_id: remove.organisation_id,
            role: remove.role,
        });
    }
    if project.participating_organisations.len() == 1 {
        return Err(ProjectError::LastParticipatingOrganisation {
            organisation_id: remove.organisation_id,
        });
    }
    let implemented = matches!(
        project.status,
        ProjectStatus::Implementation
            | ProjectStatus::Finalisation
            | ProjectStatus::Closed
            | ProjectStatus::Suspended
    );
    let needed = matches!(
        remove.role,
        OrganisationRole::Funding | OrganisationRole::Implementing
    );
    let holders = project
        .participating_organisations
        .iter()
        .filter(|p| p.role == remove.role)
        .count();
    if implemented && needed && holders == 1 {
        return Err(ProjectError::RoleStillNeeded {
            role: remove.role,
            status: project.status,
        });
    }
    Ok(ProjectEvent::ParticipatingOrganisationRemoved(
        ParticipatingOrganisation {
            organisation_id: remove.organisation_id,
            role: remove.role,
        },
    ))
}

/// The latest end of a budget period that starts on `start`: one calendar year later.
#[must_use]
pub fn budget_period_limit(start: NaiveDate) -> Option<NaiveDate> {
    start.checked_add_months(Months::new(12))
}

fn set_budget(set: SetBudget) -> Result<ProjectEvent, ProjectError> {
    for (index, budget) in set.budgets.iter().enumerate() {
        if budget.period_end <= budget.period_start {
            return Err(ProjectError::BudgetPeriodNotPositive { index });
        }
        if budget_period_limit(budget.period_start).is_some_and(|limit| budget.period_end > limit) {
            return Err(ProjectError::BudgetPeriodTooLong { index });
        }
        if budget.value.minor_units() < 0 {
            return Err(ProjectError::NegativeBudget { index });
        }
    }
    Ok(ProjectEvent::BudgetSet(BudgetSet {
        budgets: set.budgets,
    }))
}

fn record_transaction(
    record: RecordTransaction,
    context: &DecisionContext,
) -> Result<ProjectEvent, ProjectError> {
    if record.value.minor_units() == 0 {
        return Err(ProjectError::ZeroTransaction);
    }
    check_not_future("date", Some(record.date), context)?;
    // IATI rulesets: a transaction's value-date is not in the future either.
    check_not_future("valueDate", Some(record.value_date), context)?;
    Ok(ProjectEvent::TransactionRecorded(TransactionEntry {
        id: record.transaction_id,
        transaction_type: record.transaction_type,
        date: record.date,
        value: record.value,
        value_date: record.value_date,
        description: record.description,
        provider_organisation_id: record.provider_organisation.map(|o| o.id),
        receiver_organisation_id: record.receiver_organisation.map(|o| o.id),
        reference: record.reference,
        reverses: None,
    }))
}

fn reverse_transaction(
    reverse: ReverseTransaction,
    context: &DecisionContext,
) -> Result<ProjectEvent, ProjectError> {
    let original = reverse
        .transaction
        .row
        .as_ref()
        .ok_or(ProjectError::TransactionNotFound {
            id: reverse.transaction.id,
        })?;
    if original.reverses.is_some() {
        return Err(ProjectError::ReversalCannotBeReversed { id: original.id });
    }
    if let Some(reversed_by) = original.reversed_by {
        return Err(ProjectError::TransactionAlreadyReversed {
            id: original.id,
            reversed_by,
        });
    }
    Ok(ProjectEvent::TransactionReversed(TransactionReversed {
        transaction_id: original.id,
        reversal: TransactionEntry {
            id: reverse.reversal_id,
            transaction_type: original.transaction_type,
            date: context.today,
            value: original.value.negated(),
            value_date: original.value_date,
            description: Some(reverse.reason),
            provider_organisation_id: original.provider_organisation_id,
            receiver_organisation_id: original.receiver_organisation_id,
            reference: None,
            reverses: Some(original.id),
        },
    }))
}

fn add_document(project: &Project, add: AddDocument) -> Result<ProjectEvent, ProjectError> {
    if project.documents.iter().any(|d| d.url == add.url) {
        return Err(ProjectError::DocumentAlreadyAdded { url: add.url });
    }
    Ok(ProjectEvent::DocumentAdded(Document {
        url: add.url,
        title: add.title,
        category: add.category,
        format: add.format,
        date: add.date,
    }))
}

fn remove_document(
    project: &Project,
    remove: RemoveDocument,
) -> Result<ProjectEvent, ProjectError> {
    if !project.documents.iter().any(|d| d.url == remove.url) {
        return Err(ProjectError::DocumentNotFound { url: remove.url });
    }
    Ok(ProjectEvent::DocumentRemoved(DocumentRemoved {
        url: remove.url,
    }))
}

fn remove_related_project(
    project: &Project,
    remove: RemoveRelatedProject,
) -> Result<ProjectEvent, ProjectError> {
    if !project
        .related_projects
        .iter()
        .any(|r| r.is(remove.related_project_id, remove.relation))
    {
        return Err(ProjectError::RelatedProjectNotFound {
            project_id: remove.related_project_id,
        });
    }
    Ok(ProjectEvent::RelatedProjectRemoved(RelatedProjectRemoved {
        project_id: remove.related_project_id,
        relation: remove.relation,
    }))
}

fn remove_other_identifier(
    project: &Project,
    remove: RemoveOtherIdentifier,
) -> Result<ProjectEvent, ProjectError> {
    let removed = remove.identifier;
    if !project.other_identifiers.contains(&removed) {
        return Err(ProjectError::OtherIdentifierNotFound {
            reference: removed.reference,
        });
    }
    Ok(ProjectEvent::OtherIdentifierRemoved(removed))
}

fn add_related_project(
    project: &Project,
    add: AddRelatedProject,
) -> Result<ProjectEvent, ProjectError> {
    if add.related.id == project.id {
        return Err(ProjectError::RelatedToItself);
    }
    if project
        .related_projects
        .iter()
        .any(|r| r.is(add.related.id, add.relation))
    {
        return Err(ProjectError::RelatedProjectAlreadyAdded {
            project_id: add.related.id,
        });
    }
    Ok(ProjectEvent::RelatedProjectAdded(RelatedProject {
        project_id: add.related.id,
        iati_identifier: add.related.iati_identifier,
        relation: add.relation,
    }))
}

fn add_other_identifier(
    project: &Project,
    add: AddOtherIdentifier,
) -> Result<ProjectEvent, ProjectError> {
    if add.identifier_type == OtherIdentifierType::PreviousActivityIdentifier {
        IatiIdentifier::parse(add.reference.as_str()).map_err(ProjectError::invalid("ref"))?;
        if add.reference.as_str() == project.iati_identifier.as_str() {
            return Err(ProjectError::OwnIdentifier {
                reference: add.reference,
            });
        }
    }
    let added = OtherIdentifier {
        reference: add.reference,
        identifier_type: add.identifier_type,
    };
    if project.other_identifiers.contains(&added) {
        return Err(ProjectError::OtherIdentifierAlreadyAdded {
            reference: added.reference,
        });
    }
    Ok(ProjectEvent::OtherIdentifierAdded(added))
}

/// `end ≥ start`, or [`ProjectError::EndBeforeStart`] naming `field`.
fn check_dates_order(
    field: &'static str,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<(), ProjectError> {
    if end < start {
        return Err(ProjectError::EndBeforeStart {
            field: FieldPath::new(field),
            start,
            end,
        });
    }
    Ok(())
}

/// An actual date is never after today.
fn check_not_future(
    field: &'static str,
    date: Option<NaiveDate>,
    context: &DecisionContext,
) -> Result<(), ProjectError> {
    match date {
        Some(date) if date > context.today => Err(ProjectError::DateInFuture {
            field: FieldPath::new(field),
            date,
            today: context.today,
        }),
        _ => Ok(()),
    }
}

/// At least one row, no deactivated organisation, never the same organisation in the same role twice.
fn check_participations(
    participations: &[Participation],
) -> Result<Vec<ParticipatingOrganisation>, ProjectError> {
    if participations.is_empty() {
        return Err(ProjectError::NoParticipatingOrganisation);
    }
    let mut rows: Vec<ParticipatingOrganisation> = Vec::with_capacity(participations.len());
    for (index, participation) in participations.iter().enumerate() {
        let row = ParticipatingOrganisation {
            organisation_id: participation.organisation.id,
            role: participation.role,
        };
        if participation.organisation.deactivated {
            return Err(ProjectError::OrganisationDeactivated {
                field: FieldPath::list("participatingOrganisations", index).field("organisationId"),
                organisation_id: row.organisation_id,
            });
        }
        if rows.contains(&row) {
            return Err(ProjectError::DuplicateParticipation {
                field: FieldPath::list("participatingOrganisations", index).field("role"),
                organisation_id: row.organisation_id,
                role: row.role,
            });
        }
        rows.push(row);
    }
    Ok(rows)
}

/// The field a wrong geography sum is reported on: the countries when they are present.
fn geography_field(countries_present: bool) -> &'static str {
    if countries_present {
        "recipientCountries"
    } else {
        "recipientRegions"
    }
}

/// Sums percentages in hundredths, saturating (a sum that large is wrong anyway).
fn sum_hundredths(percentages: impl Iterator<Item = Percentage>) -> u32 {
    percentages.fold(0_u32, |sum, p| sum.saturating_add(p.hundredths()))
}

/// At least one country or region (IATI rule 3.7.1), none repeated, adding up to exactly 100
/// together.
fn check_geography(
    countries: &[RecipientCountry],
    regions: &[RecipientRegion],
    sum_field: &'static str,
) -> Result<(), ProjectError> {
    let mut seen = HashSet::new();
    for (index, row) in countries.iter().enumerate() {
        if !seen.insert(row.country) {
            return Err(ProjectError::DuplicateRecipientCountry {
                index,
                country: row.country,
            });
        }
    }
    let mut seen = HashSet::new();
    for (index, row) in regions.iter().enumerate() {
        if !seen.insert(row.region) {
            return Err(ProjectError::DuplicateRecipientRegion {
                index,
                region: row.region,
            });
        }
    }
    if countries.is_empty() && regions.is_empty() {
        return Err(ProjectError::NoRecipientCountryOrRegion);
    }
    let total = sum_hundredths(countries.iter().map(|c| c.percentage))
        .saturating_add(sum_hundredths(regions.iter().map(|r| r.percentage)));
    if total != Percentage::HUNDRED_IN_HUNDREDTHS {
        return Err(ProjectError::GeographyPercentagesSum {
            field: FieldPath::new(sum_field),
            total_hundredths: total,
        });
    }
    Ok(())
}

/// At least one sector (IATI rule 6.2.2), none withdrawn or repeated, adding up to exactly 100.
fn check_sectors(sectors: &[SectorShare]) -> Result<(), ProjectError> {
    let mut seen = HashSet::new();
    for (index, row) in sectors.iter().enumerate() {
        if row.sector.is_withdrawn() {
            return Err(ProjectError::WithdrawnSector {
                index,
                sector: row.sector,
            });
        }
        if !seen.insert(row.sector) {
            return Err(ProjectError::DuplicateSector {
                index,
                sector: row.sector,
            });
        }
    }
    if sectors.is_empty() {
        return Err(ProjectError::NoSector);
    }
    let total = sum_hundredths(sectors.iter().map(|s| s.percentage));
    if total != Percentage::HUNDRED_IN_HUNDREDTHS {
        return Err(ProjectError::SectorPercentagesSum {
            total_hundredths: total,
        });
    }
    Ok(())
}

/// New defaults: something must change, and a code that changes must not be withdrawn from its
/// list (one kept from before a withdrawal may stay).
fn set_defaults(project: &Project, set: SetProjectDefaults) -> Result<ProjectEvent, ProjectError> {
    let (old, new) = (project.defaults, set.defaults);
    if new == old {
        return Err(ProjectError::NothingToRevise);
    }
    fresh(
        "currency",
        new.currency,
        old.currency,
        CurrencyCode::as_str,
        CurrencyCode::parse,
    )?;
    fresh(
        "language",
        new.language,
        old.language,
        LanguageCode::as_str,
        LanguageCode::parse,
    )?;
    fresh(
        "collaborationTypeCode",
        new.collaboration_type,
        old.collaboration_type,
        CollaborationType::as_str,
        CollaborationType::parse,
    )?;
    fresh(
        "flowTypeCode",
        new.flow_type,
        old.flow_type,
        FlowType::as_str,
        FlowType::parse,
    )?;
    fresh(
        "financeTypeCode",
        new.finance_type,
        old.finance_type,
        FinanceType::as_str,
        FinanceType::parse,
    )?;
    fresh(
        "aidTypeCode",
        new.aid_type,
        old.aid_type,
        AidType::as_str,
        AidType::parse,
    )?;
    fresh(
        "tiedStatusCode",
        new.tied_status,
        old.tied_status,
        TiedStatus::as_str,
        TiedStatus::parse,
    )?;
    Ok(ProjectEvent::ProjectDefaultsSet(new))
}

/// A code that changes to `new` must be one its list still offers for new data.
fn fresh<T: Copy + PartialEq>(
    field: &'static str,
    new: Option<T>,
    old: Option<T>,
    code: fn(T) -> &'static str,
    parse: fn(&str) -> Result<T, ValueError>,
) -> Result<(), ProjectError> {
    match new {
        Some(value) if new != old => parse(code(value))
            .map(|_| ())
            .map_err(ProjectError::invalid(field)),
        _ => Ok(()),
    }
}

/// New policy markers: something must change; each marker once, of a code and a significance its
/// list still offers for new data (kept ones may stay), and significance 3 (desertification) only
/// for marker 8, 4 (explicit primary objective) only for marker 9 (RMNCH).
fn set_policy_markers(
    project: &Project,
    set: SetPolicyMarkers,
) -> Result<ProjectEvent, ProjectError> {
    if set.policy_markers == project.policy_markers {
        return Err(ProjectError::NothingToRevise);
    }
    let mut seen = HashSet::new();
    for (index, marker) in set.policy_markers.iter().enumerate() {
        if !seen.insert(marker.code) {
            return Err(ProjectError::DuplicatePolicyMarker {
                index,
                code: marker.code,
            });
        }
        let kept = project.policy_markers.contains(marker);
        if !kept {
            let at = FieldPath::list("policyMarkers", index);
            PolicyMarkerCode::parse(marker.code.as_str())
                .map_err(ProjectError::invalid(at.clone().field("code")))?;
            PolicySignificance::parse(marker.significance.as_str())
                .map_err(ProjectError::invalid(at.field("significance")))?;
        }
        let applies = match marker.significance.as_str() {
            "3" => marker.code.as_str() == "8",
            "4" => marker.code.as_str() == "9",
            _ => true,
        };
        if !applies {
            return Err(ProjectError::SignificanceNotForMarker {
                index,
                code: marker.code,
                significance: marker.significance,
            });
        }
    }
    Ok(ProjectEvent::PolicyMarkersSet(PolicyMarkersSet {
        policy_markers: set.policy_markers,
    }))
}

/// New contacts: something must change, each contact says something, and a contact type that is
/// new must still be offered for new data.
fn set_contacts(project: &Project, set: SetContacts) -> Result<ProjectEvent, ProjectError> {
    if set.contacts == project.contacts {
        return Err(ProjectError::NothingToRevise);
    }
    for (index, contact) in set.contacts.iter().enumerate() {
        if contact.says_nothing() {
            return Err(ProjectError::EmptyContact { index });
        }
        if let Some(contact_type) = contact.contact_type
            && !project.contacts.contains(contact)
        {
            crate::values::ContactType::parse(contact_type.as_str()).map_err(
                ProjectError::invalid(FieldPath::list("contacts", index).field("type")),
            )?;
        }
    }
    Ok(ProjectEvent::ContactsSet(ContactsSet {
        contacts: set.contacts,
    }))
}

/// New planned disbursements: something must change, no period ends before it starts (IATI rule
/// 8.6.3) and no value is negative.
fn set_planned_disbursements(
    project: &Project,
    set: SetPlannedDisbursements,
) -> Result<ProjectEvent, ProjectError> {
    if set.planned_disbursements == project.planned_disbursements {
        return Err(ProjectError::NothingToRevise);
    }
    for (index, row) in set.planned_disbursements.iter().enumerate() {
        if row.period_end.is_some_and(|end| end < row.period_start) {
            return Err(ProjectError::DisbursementPeriodReversed { index });
        }
        if row.value.minor_units() < 0 {
            return Err(ProjectError::NegativeDisbursement { index });
        }
        let parties = [
            ("providerOrganisationId", row.provider_organisation_id),
            ("receiverOrganisationId", row.receiver_organisation_id),
        ];
        for (leaf, id) in parties {
            let Some(id) = id else { continue };
            let field = FieldPath::list("plannedDisbursements", index).field(leaf);
            match set.organisations.iter().find(|facts| facts.id == id) {
                None => return Err(ProjectError::UnknownOrganisation { field, id }),
                // A row kept as it was may keep an organisation deactivated since.
                Some(facts)
                    if facts.deactivated && !project.planned_disbursements.contains(row) =>
                {
                    return Err(ProjectError::OrganisationDeactivated {
                        field,
                        organisation_id: id,
                    });
                }
                Some(_) => {}
            }
        }
    }
    Ok(ProjectEvent::PlannedDisbursementsSet(
        PlannedDisbursementsSet {
            planned_disbursements: set.planned_disbursements,
        },
    ))
}

/// New results: something must change; each result has an indicator; each period ends on or
/// after its start; a non-qualitative indicator gives a value with its baseline, targets and
/// actuals, a qualitative one none.
fn set_results(project: &Project, set: SetResults) -> Result<ProjectEvent, ProjectError> {
    if set.results == project.results {
        return Err(ProjectError::NothingToRevise);
    }
    let broken = |field: FieldPath, rule| ProjectError::ResultRule { field, rule };
    for (r, result) in set.results.iter().enumerate() {
        let at = FieldPath::list("results", r);
        if result.indicators.is_empty() {
            return Err(broken(at.field("indicators"), ResultRule::NoIndicator));
        }
        for (i, indicator) in result.indicators.iter().enumerate() {
            let at = at.clone().field("indicators").index(i);
            let qualitative = indicator.measure.is_qualitative();
            let check = |field: FieldPath, value: Option<&_>| match (qualitative, value) {
                (false, None) => Err(broken(field, ResultRule::ValueMissing)),
                (true, Some(_)) => Err(broken(field, ResultRule::ValueForQualitative)),
                _ => Ok(()),
            };
            if let Some(baseline) = &indicator.baseline {
                check(
                    at.clone().field("baseline").field("value"),
                    baseline.value.as_ref(),
                )?;
            }
            for (p, period) in indicator.periods.iter().enumerate() {
                let at = at.clone().field("periods").index(p);
                if period.period_end < period.period_start {
                    return Err(broken(at.field("periodEnd"), ResultRule::PeriodReversed));
                }
                for (name, measured) in [("target", &period.target), ("actual", &period.actual)] {
                    if let Some(measured) = measured {
                        check(
                            at.clone().field(name).field("value"),
                            measured.value.as_ref(),
                        )?;
                    }
                }
            }
        }
    }
    Ok(ProjectEvent::ResultsSet(ResultsSet {
        results: set.results,
    }))
}

/// New locations: something must change, each name once, and an administrative vocabulary that
/// is new still offered for new data.
fn set_locations(project: &Project, set: SetLocations) -> Result<ProjectEvent, ProjectError> {
    if set.locations == project.locations {
        return Err(ProjectError::NothingToRevise);
    }
    let mut names = HashSet::new();
    for (index, location) in set.locations.iter().enumerate() {
        if !names.insert(&location.name) {
            return Err(ProjectError::DuplicateLocation {
                index,
                name: location.name.as_str().to_owned(),
            });
        }
        if let Some(area) = &location.administrative
            && !project.locations.contains(location)
        {
            crate::values::GeographicVocabulary::parse(area.vocabulary.as_str()).map_err(
                ProjectError::invalid(
                    FieldPath::list("locations", index)
                        .field("administrative")
                        .field("vocabularyCode"),
                ),
            )?;
        }
    }
    Ok(ProjectEvent::LocationsSet(LocationsSet {
        locations: set.locations,
    }))
}
