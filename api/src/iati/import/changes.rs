//! What one activity changes: the commands that take a project and its anti-corruption
//! activities from what Amanah holds to what the file says, in an order the rules accept.

use amanah_domain::activity::{
    Activity, ActivityCommand, CancelActivity, CompleteActivity, Partnership, PlanActivity,
    RescheduleActivity, ReviseActivity,
};
use amanah_domain::aggregate::{Aggregate as _, DecisionContext, FieldError};
use amanah_domain::codelists::{
    ActivityStatus, OrganisationRole, ProjectStatus, RelatedActivityType,
};
use amanah_domain::organisation::Organisation;
use amanah_domain::project::{
    AddDocument, AddOtherIdentifier, AddParticipatingOrganisation, AddRelatedProject,
    ChangeProjectStatus, Participation, Project, ProjectCommand, ProjectError, ProjectFacts,
    RecordTransaction, RegisterProject, RemoveDocument, RemoveOtherIdentifier,
    RemoveParticipatingOrganisation, RemoveRelatedProject, ReviseProject, SetBudget, SetContacts,
    SetLocations, SetPlannedDisbursements, SetPolicyMarkers, SetProjectDefaults, SetResults,
    Transactions,
};
use amanah_domain::values::{LanguageCode, Patch};
use amanah_infra::iati::publish::TEXT_LANGUAGE;
use chrono::Utc;
use uuid::Uuid;

use super::ProjectPlan;
use amanah_infra::iati::stated::{Problem, Stated, StatedActivity};

/// The commands that make `project`'s related projects `wanted`, in order: relations not
/// wanted are removed, wanted ones missing are added.
pub(super) fn relation_changes(
    project: &Project,
    wanted: &[(ProjectFacts, RelatedActivityType)],
) -> Vec<ProjectCommand> {
    let mut commands = Vec::new();
    for related in &project.related_projects {
        if !wanted
            .iter()
            .any(|(target, relation)| related.is(target.id, *relation))
        {
            commands.push(ProjectCommand::RemoveRelatedProject(RemoveRelatedProject {
                project_id: project.id,
                related_project_id: related.project_id,
                relation: related.relation,
            }));
        }
    }
    for (target, relation) in wanted {
        if !project
            .related_projects
            .iter()
            .any(|related| related.is(target.id, *relation))
        {
            commands.push(ProjectCommand::AddRelatedProject(AddRelatedProject {
                project_id: project.id,
                related: target.clone(),
                relation: *relation,
            }));
        }
    }
    commands
}

pub(super) fn today() -> DecisionContext {
    DecisionContext {
        today: Utc::now().date_naive(),
    }
}

/// Decides the commands that take the project `existing` (or a new one) to what `desired`
/// says.
pub(super) fn decide_project(
    existing: Option<&Project>,
    desired: &Desired<'_>,
) -> Result<ProjectPlan, Vec<Problem>> {
    let context = today();
    let refused = |error: ProjectError| vec![domain_problem(&error)];
    let (id, mut first) = match existing {
        Some(project) => (project.id, Vec::new()),
        None => {
            let id = Uuid::now_v7();
            (id, vec![ProjectCommand::Register(desired.register(id))])
        }
    };
    // The state the other commands are worked out against: the project as it is, or as
    // registering it would leave it.
    let base = match existing {
        Some(project) => project.clone(),
        None => Project::decide_all(None, first.clone(), &context)
            .map_err(refused)?
            .1
            .ok_or_else(|| {
                vec![Problem {
                    field: None,
                    message: "registering the project left no project (a bug)".to_owned(),
                }]
            })?,
    };
    let (changes, last) = desired.changes(&base)?;
    first.extend(changes);
    let (events, open) =
        Project::decide_all(existing.cloned(), first.clone(), &context).map_err(refused)?;
    let open = open.unwrap_or(base);
    let (closing, after) =
        Project::decide_all(Some(open.clone()), last.clone(), &context).map_err(refused)?;
    let after = after.unwrap_or_else(|| open.clone());
    // The recorded transactions and those the commands record: what the project holds after.
    let mut transactions = desired.recorded.clone();
    for event in events.iter().chain(&closing) {
        transactions.apply(event);
    }
    Ok(ProjectPlan {
        id,
        version: existing.map(|project| project.version),
        first,
        last,
        events: events.len() + closing.len(),
        open,
        after,
        transactions,
    })
}

/// The commands that take anti-corruption activity `current` (or a new one) to what the file
/// says, with `project` as it is when they are appended. A planned activity can be revised,
/// rescheduled, completed or cancelled; a completed or cancelled one no longer changes.
pub(super) fn activity_changes(
    current: Option<&Activity>,
    stated: &StatedActivity,
    partners: Vec<Partnership>,
    project: &Project,
) -> Result<Vec<ActivityCommand>, String> {
    let id = stated.id;
    let mut commands = Vec::new();
    match current {
        Some(activity) if activity.project_id != project.id => {
            return Err(format!(
                "activity {id} belongs to another project: it cannot move to {}",
                project.iati_identifier.as_str()
            ));
        }
        None => commands.push(ActivityCommand::Plan(PlanActivity {
            id,
            project: project.facts(),
            title: stated.title.clone(),
            description: stated.description.clone(),
            kind: stated.kind,
            uncac_chapters: stated.uncac_chapters.clone(),
            audit_type: stated.audit_type,
            partners,
            location: stated.location.clone(),
            planned_start: stated.planned_start,
            planned_end: stated.planned_end,
        })),
        Some(activity) if activity.status == ActivityStatus::Planned => {
            if activity.kind != stated.kind
                || activity.uncac_chapters != stated.uncac_chapters
                || activity.audit_type != stated.audit_type
            {
                return Err(
                    "the kind, UNCAC chapters and audit type of an activity are fixed when it \
                     is planned"
                        .to_owned(),
                );
            }
            let same_partners = activity.partners.len() == partners.len()
                && activity
                    .partners
                    .iter()
                    .zip(&partners)
                    .all(|(current, wanted)| {
                        current.organisation_id == wanted.organisation.id
                            && current.role == wanted.role
                    });
            let revise = ReviseActivity {
                id,
                title: (activity.title != stated.title).then(|| stated.title.clone()),
                description: (activity.description != stated.description)
                    .then(|| stated.description.clone()),
                partners: (!same_partners).then_some(partners),
                location: (activity.location != stated.location).then(|| stated.location.clone()),
            };
            if revise.title.is_some()
                || revise.description.is_some()
                || revise.partners.is_some()
                || revise.location.is_some()
            {
                commands.push(ActivityCommand::Revise(revise));
            }
            if activity.planned_start != stated.planned_start
                || activity.planned_end != stated.planned_end
            {
                commands.push(ActivityCommand::Reschedule(RescheduleActivity {
                    id,
                    planned_start: stated.planned_start,
                    planned_end: stated.planned_end,
                }));
            }
        }
        Some(activity) => {
            let unchanged = activity.status == stated.status
                && activity.title == stated.title
                && activity.description == stated.description
                && activity.location == stated.location
                && activity.planned_start == stated.planned_start
                && activity.planned_end == stated.planned_end
                && activity.actual_start == stated.actual_start
                && activity.actual_end == stated.actual_end
                && activity.participants == stated.participants
                && activity.outcome == stated.outcome
                && activity.cancellation_reason == stated.cancellation_reason
                && activity
                    .partners
                    .iter()
                    .map(|p| (p.organisation_id, p.role))
                    .eq(partners.iter().map(|p| (p.organisation.id, p.role)));
            if unchanged {
                return Ok(Vec::new());
            }
            return Err(format!(
                "activity {id} is {} in Amanah: a completed or cancelled activity does not change",
                activity.status.as_str()
            ));
        }
    }
    match stated.status {
        ActivityStatus::Planned => {}
        ActivityStatus::Completed => {
            let (Some(actual_start), Some(actual_end), Some(participants)) = (
                stated.actual_start,
                stated.actual_end,
                stated.participants.clone(),
            ) else {
                return Err(
                    "a completed activity needs its actual start and end and its participants"
                        .to_owned(),
                );
            };
            commands.push(ActivityCommand::Complete(CompleteActivity {
                id,
                actual_start,
                actual_end,
                participants,
                outcome: stated.outcome.clone(),
            }));
        }
        ActivityStatus::Cancelled => {
            let Some(reason) = stated.cancellation_reason.clone() else {
                return Err("a cancelled activity needs its cancellation reason".to_owned());
            };
            commands.push(ActivityCommand::Cancel(CancelActivity { id, reason }));
        }
    }
    Ok(commands)
}

pub(super) fn domain_problem(error: &(impl FieldError + ?Sized)) -> Problem {
    let field = error.field().map(|field| field.to_string());
    let message = error.to_string();
    // The domain's messages often begin with their field, which the report prints already.
    let message = field
        .as_deref()
        .and_then(|field| message.strip_prefix(&format!("{field}: ")))
        .map_or_else(|| message.clone(), str::to_owned);
    Problem { field, message }
}

/// What the file wants of a project, with its organisations and related projects resolved.
pub(super) struct Desired<'a> {
    pub(super) stated: &'a Stated,
    pub(super) reporting: &'a Organisation,
    pub(super) participants: &'a [(Organisation, OrganisationRole)],
    /// Provider and receiver of each transaction, in order.
    pub(super) parties: &'a [(Option<Organisation>, Option<Organisation>)],
    /// The transactions the project has recorded (none for a new one), read after its state.
    pub(super) recorded: &'a Transactions,
    /// Provider and receiver of each planned disbursement, in order.
    pub(super) planned: &'a [(Option<Organisation>, Option<Organisation>)],
    /// `None` when the relations are linked at the end of the file.
    pub(super) related: Option<&'a [(ProjectFacts, RelatedActivityType)]>,
}

impl Desired<'_> {
    fn register(&self, id: Uuid) -> RegisterProject {
        let stated = self.stated;
        RegisterProject {
            id,
            iati_identifier: stated.identifier.clone(),
            reporting_organisation: self.reporting.facts(),
            title: stated.title.clone(),
            description: stated.description.clone(),
            objectives: stated.objectives.clone(),
            planned_start: stated.planned_start,
            planned_end: stated.planned_end,
            participating_organisations: self
                .participants
                .iter()
                .map(|(organisation, role)| Participation {
                    organisation: organisation.facts(),
                    role: *role,
                })
                .collect(),
            recipient_countries: stated.recipient_countries.clone(),
            recipient_regions: stated.recipient_regions.clone(),
            sectors: stated.sectors.clone(),
        }
    }

    /// The commands that take `project` to what the file says, in an order the rules accept:
    /// revise, partners, status, the replaced lists, then what is added or removed row by row;
    /// and apart from them the step that closes or cancels the project, which goes last.
    fn changes(
        &self,
        project: &Project,
    ) -> Result<(Vec<ProjectCommand>, Vec<ProjectCommand>), Vec<Problem>> {
        let stated = self.stated;
        let id = project.id;
        let mut commands = Vec::new();
        let mut closing = Vec::new();
        let mut problems = Vec::new();

        let revise = ReviseProject {
            id,
            title: (project.title != stated.title).then(|| stated.title.clone()),
            description: (project.description != stated.description)
                .then(|| stated.description.clone()),
            objectives: match (&project.objectives, &stated.objectives) {
                (current, wanted) if current == wanted => Patch::Keep,
                (_, Some(wanted)) => Patch::Set(wanted.clone()),
                (_, None) => Patch::Clear,
            },
            planned_start: (project.planned_start != stated.planned_start)
                .then_some(stated.planned_start),
            planned_end: (project.planned_end != stated.planned_end).then_some(stated.planned_end),
            recipient_countries: (project.recipient_countries != stated.recipient_countries)
                .then(|| stated.recipient_countries.clone()),
            recipient_regions: (project.recipient_regions != stated.recipient_regions)
                .then(|| stated.recipient_regions.clone()),
            sectors: (project.sectors != stated.sectors).then(|| stated.sectors.clone()),
        };
        if revise
            != (ReviseProject {
                id,
                ..ReviseProject::default()
            })
        {
            commands.push(ProjectCommand::Revise(revise));
        }

        for (organisation, role) in self.participants {
            let present = project
                .participating_organisations
                .iter()
                .any(|p| p.organisation_id == organisation.id && p.role == *role);
            if !present {
                commands.push(ProjectCommand::AddParticipatingOrganisation(
                    AddParticipatingOrganisation {
                        project_id: id,
                        organisation: organisation.facts(),
                        role: *role,
                    },
                ));
            }
        }
        for participant in &project.participating_organisations {
            let wanted = self.participants.iter().any(|(organisation, role)| {
                organisation.id == participant.organisation_id && *role == participant.role
            });
            if !wanted {
                commands.push(ProjectCommand::RemoveParticipatingOrganisation(
                    RemoveParticipatingOrganisation {
                        project_id: id,
                        organisation_id: participant.organisation_id,
                        role: participant.role,
                    },
                ));
            }
        }

        if project.status == stated.status {
            let differs = |current: Option<_>, wanted: Option<_>| current != wanted;
            if differs(project.actual_start, stated.actual_start)
                || differs(project.actual_end, stated.actual_end)
            {
                problems.push(Problem {
                    field: Some("iati-activity/activity-date".to_owned()),
                    message: format!(
                        "the actual dates differ from the project's ({} / {}), and Amanah records \
                         actual dates only with a change of status",
                        project
                            .actual_start
                            .map_or_else(|| "no start".to_owned(), |d| d.to_string()),
                        project
                            .actual_end
                            .map_or_else(|| "no end".to_owned(), |d| d.to_string())
                    ),
                });
            }
        } else {
            match status_path(project.status, stated.status) {
                Some(steps) => {
                    for status in steps {
                        let end_allowed = matches!(
                            status,
                            ProjectStatus::Finalisation
                                | ProjectStatus::Closed
                                | ProjectStatus::Cancelled
                        );
                        let change = ProjectCommand::ChangeStatus(ChangeProjectStatus {
                            id,
                            status,
                            actual_start: stated.actual_start,
                            actual_end: if end_allowed { stated.actual_end } else { None },
                        });
                        if status.is_terminal() {
                            closing.push(change);
                        } else {
                            commands.push(change);
                        }
                    }
                }
                None => problems.push(Problem {
                    field: Some("iati-activity/activity-status/@code".to_owned()),
                    message: format!(
                        "a project cannot move from {} to {}",
                        project.status.name(),
                        stated.status.name()
                    ),
                }),
            }
        }

        if project.budgets != stated.budgets {
            commands.push(ProjectCommand::SetBudget(SetBudget {
                project_id: id,
                budgets: stated.budgets.clone(),
            }));
        }
        let defaults = self.defaults(project);
        if project.defaults != defaults {
            commands.push(ProjectCommand::SetDefaults(SetProjectDefaults {
                project_id: id,
                defaults,
            }));
        }
        if project.policy_markers != stated.policy_markers {
            commands.push(ProjectCommand::SetPolicyMarkers(SetPolicyMarkers {
                project_id: id,
                policy_markers: stated.policy_markers.clone(),
            }));
        }
        if project.contacts != stated.contacts {
            commands.push(ProjectCommand::SetContacts(SetContacts {
                project_id: id,
                contacts: stated.contacts.clone(),
            }));
        }
        let (planned_disbursements, organisations) = self.planned_disbursements();
        if project.planned_disbursements != planned_disbursements {
            commands.push(ProjectCommand::SetPlannedDisbursements(
                SetPlannedDisbursements {
                    project_id: id,
                    planned_disbursements,
                    organisations,
                },
            ));
        }
        if project.results != stated.results {
            commands.push(ProjectCommand::SetResults(SetResults {
                project_id: id,
                results: stated.results.clone(),
            }));
        }
        if project.locations != stated.locations {
            commands.push(ProjectCommand::SetLocations(SetLocations {
                project_id: id,
                locations: stated.locations.clone(),
            }));
        }

        match self.transactions(id) {
            Ok(recorded) => commands.extend(recorded),
            Err(problem) => problems.push(problem),
        }

        for document in &project.documents {
            if !stated.documents.contains(document) {
                commands.push(ProjectCommand::RemoveDocument(RemoveDocument {
                    project_id: id,
                    url: document.url.clone(),
                }));
            }
        }
        for document in &stated.documents {
            if !project.documents.contains(document) {
                commands.push(ProjectCommand::AddDocument(AddDocument {
                    project_id: id,
                    url: document.url.clone(),
                    title: document.title.clone(),
                    category: document.category,
                    format: document.format.clone(),
                    date: document.date,
                }));
            }
        }
        for other in &project.other_identifiers {
            if !stated.other_identifiers.contains(other) {
                commands.push(ProjectCommand::RemoveOtherIdentifier(
                    RemoveOtherIdentifier {
                        project_id: id,
                        identifier: other.clone(),
                    },
                ));
            }
        }
        for other in &stated.other_identifiers {
            if !project.other_identifiers.contains(other) {
                commands.push(ProjectCommand::AddOtherIdentifier(AddOtherIdentifier {
                    project_id: id,
                    reference: other.reference.clone(),
                    identifier_type: other.identifier_type,
                }));
            }
        }
        if let Some(related) = self.related {
            commands.extend(relation_changes(project, related));
        }
        if problems.is_empty() {
            Ok((commands, closing))
        } else {
            Err(problems)
        }
    }

    /// The planned disbursements with their organisations, and the facts of those.
    fn planned_disbursements(
        &self,
    ) -> (
        Vec<amanah_domain::project::PlannedDisbursement>,
        Vec<amanah_domain::organisation::OrganisationFacts>,
    ) {
        let mut facts: Vec<amanah_domain::organisation::OrganisationFacts> = Vec::new();
        let rows = self
            .stated
            .planned_disbursements
            .iter()
            .zip(self.planned)
            .map(|(row, (provider, receiver))| {
                for organisation in [provider, receiver].into_iter().flatten() {
                    if !facts.iter().any(|known| known.id == organisation.id) {
                        facts.push(organisation.facts());
                    }
                }
                let mut row = *row;
                row.provider_organisation_id = provider.as_ref().map(|o| o.id);
                row.receiver_organisation_id = receiver.as_ref().map(|o| o.id);
                row
            })
            .collect();
        (rows, facts)
    }

    /// The defaults the file sets. The export writes `xml:lang="en"` for a project without a
    /// default language, so `en` on a project without one leaves it without one.
    fn defaults(&self, project: &Project) -> amanah_domain::project::ProjectDefaults {
        let mut defaults = self.stated.defaults;
        let plain = LanguageCode::parse(TEXT_LANGUAGE).ok();
        if project.defaults.language.is_none() && defaults.language == plain {
            defaults.language = None;
        }
        defaults
    }

    /// The transactions to record: recorded ones cannot change, so the file must repeat them
    /// first, in order; the ones after them are new.
    fn transactions(&self, project_id: Uuid) -> Result<Vec<ProjectCommand>, Problem> {
        let stated = &self.stated.transactions;
        let party = |organisation: &Option<Organisation>| organisation.as_ref().map(|o| o.id);
        let recorded_ones = self.recorded.as_slice();
        for (index, recorded) in recorded_ones.iter().enumerate() {
            let same = stated.get(index).zip(self.parties.get(index)).is_some_and(
                |(wanted, (provider, receiver))| {
                    wanted.transaction_type == recorded.transaction_type
                        && wanted.date == recorded.date
                        && wanted.value == recorded.value
                        && wanted.value_date == recorded.value_date
                        && wanted.description == recorded.description
                        && wanted.reference == recorded.reference
                        && party(provider) == recorded.provider_organisation_id
                        && party(receiver) == recorded.receiver_organisation_id
                },
            );
            if !same {
                return Err(Problem {
                    field: Some(format!("iati-activity/transaction[{}]", index + 1)),
                    message: format!(
                        "the project has {} recorded transactions and the file does not repeat \
                         them unchanged, in order, before new ones: a recorded transaction is \
                         never changed or removed, only reversed (reverseTransaction)",
                        recorded_ones.len()
                    ),
                });
            }
        }
        Ok(stated
            .iter()
            .zip(self.parties)
            .skip(recorded_ones.len())
            .map(|(transaction, (provider, receiver))| {
                ProjectCommand::RecordTransaction(RecordTransaction {
                    project_id,
                    transaction_id: Uuid::now_v7(),
                    transaction_type: transaction.transaction_type,
                    date: transaction.date,
                    value: transaction.value,
                    value_date: transaction.value_date,
                    description: transaction.description.clone(),
                    provider_organisation: provider.as_ref().map(Organisation::facts),
                    receiver_organisation: receiver.as_ref().map(Organisation::facts),
                    reference: transaction.reference.clone(),
                })
            })
            .collect())
    }
}

/// The shortest chain of allowed status changes from `from` to `to`.
fn status_path(from: ProjectStatus, to: ProjectStatus) -> Option<Vec<ProjectStatus>> {
    use std::collections::VecDeque;
    let all = ["1", "2", "3", "4", "5", "6"].map(ProjectStatus::from_code);
    let mut queue = VecDeque::from([vec![from]]);
    while let Some(path) = queue.pop_front() {
        let last = *path.last()?;
        if last == to {
            return Some(path.into_iter().skip(1).collect());
        }
        for next in all.iter().flatten() {
            if last.can_move_to(*next) && !path.contains(next) {
                let mut longer = path.clone();
                longer.push(*next);
                queue.push_back(longer);
            }
        }
    }
    None
}
