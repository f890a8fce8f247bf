//! `amanah iati import FILE [--dry-run]`: an IATI 2.03 activity file into the portfolio, through
//! the ordinary commands (`docs/iati.md`).
//!
//! ```text
//! DOCTYPE? ─▶ xmllint --schema (whole file) ─▶ for each iati-activity:
//!     read (domain values) ─▶ resolve organisations ─▶ commands against the project's state
//!     ─▶ decide all ─▶ compare what would be written back ─▶ append (one append per stream)
//! ```
//!
//! A file that fails the schema is refused whole. Each activity is then all or nothing: its
//! project's commands are decided together and appended in one append, after the organisations
//! it names that Amanah does not know are registered. An activity whose project already says
//! what the file says appends nothing. The report lists, per `iati-identifier`, what happened,
//! and every element or attribute of the activity that Amanah does not keep (found by writing
//! the project back as the export would and comparing the two).

use std::collections::HashMap;
use std::io::BufReader;
use std::path::Path;

use amanah_domain::activity::{Activity, ActivityCommand, Partnership};
use amanah_domain::aggregate::Aggregate;
use amanah_domain::codelists::{OrganisationRole, OrganisationType, RelatedActivityType};
use amanah_domain::organisation::{Organisation, OrganisationCommand, RegisterOrganisation};
use amanah_domain::ports::{Actor, EventMetadata};
use amanah_domain::project::{Project, ProjectCommand, ProjectFacts, Transactions};
use amanah_domain::query::{OrganisationQuery, Range, ReadModel};
use amanah_domain::service::{CommandError, CommandService, Expected, Given};
use amanah_domain::values::{IatiIdentifier, Name};
use amanah_infra::SqlEventStore;
use amanah_infra::iati::read::{ActivityReader, Element, ReadError};
use amanah_infra::iati::schema::{self, SchemaCheckError, SchemaMessage};
use chrono::Utc;
use serde::Serialize;
use uuid::Uuid;

mod changes;
mod report;

use self::changes::{
    Desired, activity_changes, decide_project, domain_problem, relation_changes, today,
};
use self::report::not_kept;
pub use self::report::{render, render_summary};
use crate::state::PortfolioReadModel;
use amanah_infra::iati::stated::{Mention, Problem, Stated, stated};

/// What happened to one activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
    Refused,
}

impl Outcome {
    /// The word the report prints.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Unchanged => "unchanged",
            Self::Refused => "refused",
        }
    }
}

/// Elements or attributes at one path that Amanah does not keep: `count` of the `of` the
/// activity has there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotKept {
    pub path: String,
    pub count: usize,
    pub of: usize,
}

impl std::fmt::Display for NotKept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({} of {})", self.path, self.count, self.of)
    }
}

/// The report of one `iati-activity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActivityReport {
    /// Its place in the file, from 1.
    pub number: usize,
    /// Its `iati-identifier`, when it has a readable one.
    pub identifier: Option<String>,
    pub outcome: Outcome,
    /// Events appended (or, in a dry run, that would be).
    pub events: usize,
    /// The audit-log index of the last event appended for it.
    pub audit_index: Option<u64>,
    /// Why it was refused: the element or domain field at fault and the reason.
    pub problems: Vec<Problem>,
    /// What Amanah does not keep of it.
    pub not_kept: Vec<NotKept>,
    /// Organisations registered for it (their ref, or name without one).
    pub registered: Vec<String>,
    /// Related activities named that are not (yet) projects in Amanah: linked at the end of the
    /// file when an activity later in it creates them.
    pub deferred: Vec<String>,
    /// Whether it was refused because the importer's organisation does not take part in the
    /// project (an integrator's import, [`Importer::for_organisation`]).
    pub forbidden: bool,
}

impl ActivityReport {
    /// The report of activity `number`, with nothing yet appended, found or kept.
    fn new(number: usize, identifier: Option<String>, outcome: Outcome) -> Self {
        Self {
            number,
            identifier,
            outcome,
            events: 0,
            audit_index: None,
            problems: Vec::new(),
            not_kept: Vec::new(),
            registered: Vec::new(),
            deferred: Vec::new(),
            forbidden: false,
        }
    }
}

/// The totals of a file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub refused: usize,
    pub events: usize,
    /// Parts of the file outside its activities that Amanah does not keep.
    pub not_kept: Vec<NotKept>,
    /// Relations to activities that are neither in Amanah nor in the file: not kept.
    pub unresolved_relations: Vec<String>,
}

/// Why a file was not imported at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{path} cannot be read: {source}")]
    Open {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Read(#[from] ReadError),
    #[error("the file is not valid against the IATI 2.03 activity schema:\n{}", list(.0))]
    Schema(Vec<SchemaMessage>),
    #[error(transparent)]
    SchemaCheck(#[from] SchemaCheckError),
    #[error("the root element is `{0}`: an IATI activity file has `iati-activities`")]
    NotAnActivityFile(String),
    #[error(
        "the file declares IATI version {0:?}: Amanah imports version 2 files, not 1.x (it \
         validates against 2.03)"
    )]
    Version(String),
    #[error("the database failed: {0}")]
    Store(#[from] CommandError),
}

fn list(messages: &[SchemaMessage]) -> String {
    messages
        .iter()
        .map(|message| format!("  {message}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Paths whose values Amanah sets itself rather than keeping the file's.
const SET_BY_AMANAH: [&str; 1] = ["iati-activity/@last-updated-datetime"];

/// Attributes of `iati-activities` that describe the file, not the portfolio.
const FILE_ATTRIBUTES: [&str; 2] = ["version", "generated-datetime"];

/// How an organisation is looked for: its ref, or its name when it has none.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum OrgKey {
    Ref(String),
    Name(String),
}

impl OrgKey {
    fn of(mention: &Mention) -> Self {
        match (&mention.org_ref, &mention.name) {
            (Some(org_ref), _) => Self::Ref(org_ref.as_str().to_owned()),
            (None, Some(name)) => Self::Name(name.as_str().to_owned()),
            // `read::mention` never yields a mention without both.
            (None, None) => Self::Name(String::new()),
        }
    }
}

/// The related activities of a project that named one not in Amanah when it was imported:
/// all of them are linked at the end of the file, in the file's order.
#[derive(Debug, Clone)]
struct Deferred {
    project_id: Uuid,
    project: String,
    relations: Vec<(IatiIdentifier, RelatedActivityType)>,
}

/// Imports activity files as one actor.
pub struct Importer {
    commands: CommandService<SqlEventStore>,
    read_model: PortfolioReadModel,
    actor: Actor,
    dry_run: bool,
    /// Organisations found or registered during this import, by how activities name them.
    organisations: HashMap<OrgKey, Organisation>,
    /// The identifiers imported so far, with their activity's number.
    seen: HashMap<String, usize>,
    deferred: Vec<Deferred>,
    /// Projects created in a dry run (nothing is appended then), for its relations.
    dry_created: HashMap<String, ProjectFacts>,
    /// For an integrator: the organisation that must take part in every project touched.
    organisation: Option<Uuid>,
    /// The request the import runs in (GraphQL), recorded with its events.
    request_id: Option<String>,
}

impl std::fmt::Debug for Importer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Importer")
            .field("actor", &self.actor)
            .field("dry_run", &self.dry_run)
            .finish_non_exhaustive()
    }
}

impl Importer {
    #[must_use]
    pub fn new(
        commands: CommandService<SqlEventStore>,
        read_model: PortfolioReadModel,
        actor: Actor,
        dry_run: bool,
    ) -> Self {
        Self {
            commands,
            read_model,
            actor,
            dry_run,
            organisations: HashMap::new(),
            seen: HashMap::new(),
            deferred: Vec::new(),
            dry_created: HashMap::new(),
            organisation: None,
            request_id: None,
        }
    }

    /// Records `request_id` with every event the import appends.
    #[must_use]
    pub fn in_request(mut self, request_id: Option<String>) -> Self {
        self.request_id = request_id;
        self
    }

    /// Limits the import to projects `organisation` takes part in (as the file states them for
    /// a new project, as Amanah holds them for an existing one): an integrator's import. Any
    /// other activity is refused, marked [`ActivityReport::forbidden`].
    #[must_use]
    pub fn for_organisation(mut self, organisation: Uuid) -> Self {
        self.organisation = Some(organisation);
        self
    }

    /// Imports the activity file at `path`, calling `report` after each activity.
    ///
    /// # Errors
    /// [`ImportError`] when the file is refused whole (nothing is appended then) or the
    /// database fails (activities reported before that were appended).
    pub async fn import_file(
        &mut self,
        path: &Path,
        mut report: impl FnMut(&ActivityReport),
    ) -> Result<Summary, ImportError> {
        let open = || {
            std::fs::File::open(path)
                .map(BufReader::new)
                .map_err(|source| ImportError::Open {
                    path: path.display().to_string(),
                    source,
                })
        };
        // No DTD, before any other tool reads the file: no entity is ever expanded.
        drop(ActivityReader::new(open()?)?);
        let file = path.to_owned();
        let messages = tokio::task::spawn_blocking(move || schema::check_activity_file(&file))
            .await
            .map_err(|error| {
                SchemaCheckError::Io(std::io::Error::other(format!(
                    "the schema check stopped: {error}"
                )))
            })??;
        if !messages.is_empty() {
            return Err(ImportError::Schema(messages));
        }

        let mut reader = ActivityReader::new(open()?)?;
        let root = reader.root().clone();
        if root.name != "iati-activities" {
            return Err(ImportError::NotAnActivityFile(root.name));
        }
        // The 2.03 schema takes any version string; a file that says it is IATI 1.x is
        // refused even when it happens to pass it, since its elements mean other things.
        let version = root.attribute("version").unwrap_or_default();
        if version.starts_with("1.") {
            return Err(ImportError::Version(version.to_owned()));
        }
        let mut summary = Summary::default();
        for (name, _) in &root.attributes {
            if !FILE_ATTRIBUTES.contains(&name.as_str()) {
                summary.not_kept.push(NotKept {
                    path: format!("iati-activities/@{name}"),
                    count: 1,
                    of: 1,
                });
            }
        }
        let mut number = 0;
        while let Some(activity) = reader.next_activity()? {
            number += 1;
            let outcome = self.activity(number, &activity).await?;
            match outcome.outcome {
                Outcome::Created => summary.created += 1,
                Outcome::Updated => summary.updated += 1,
                Outcome::Unchanged => summary.unchanged += 1,
                Outcome::Refused => summary.refused += 1,
            }
            summary.events += outcome.events;
            report(&outcome);
        }
        for (name, count) in reader.others() {
            summary.not_kept.push(NotKept {
                path: format!("iati-activities/{name}"),
                count: *count,
                of: *count,
            });
        }
        self.link_deferred(&mut summary, &mut report).await?;
        Ok(summary)
    }

    fn metadata(&self) -> EventMetadata {
        EventMetadata {
            actor: self.actor.clone(),
            request_id: self.request_id.clone(),
            occurred_at: Utc::now(),
        }
    }

    /// Imports one `iati-activity`: decides everything first, then appends.
    async fn activity(
        &mut self,
        number: usize,
        element: &Element,
    ) -> Result<ActivityReport, ImportError> {
        let mut report = ActivityReport::new(
            number,
            element
                .child("iati-identifier")
                .map(|id| id.text.trim().to_owned()),
            Outcome::Refused,
        );
        match self.decide(number, element).await? {
            Decision::Refused(problems) => report.problems = problems,
            Decision::Forbidden(problem) => {
                report.problems = vec![problem];
                report.forbidden = true;
            }
            Decision::Plan(plan) => self.apply(*plan, &mut report).await?,
        }
        Ok(report)
    }

    /// Everything one activity changes, decided against the current states, or why it cannot.
    async fn decide(&mut self, number: usize, element: &Element) -> Result<Decision, ImportError> {
        let stated = match stated(element) {
            Ok(stated) => stated,
            Err(problems) => return Ok(Decision::Refused(problems)),
        };
        let identifier = stated.identifier.as_str().to_owned();
        if let Some(first) = self.seen.get(&identifier) {
            return Ok(Decision::Refused(vec![Problem {
                field: Some("iati-activity/iati-identifier".to_owned()),
                message: format!(
                    "{identifier} appears twice in the file (first as activity {first}): the \
                     second is not imported"
                ),
            }]));
        }
        self.seen.insert(identifier.clone(), number);

        let mut pending = Vec::new();
        let parties = self.parties(&stated, &mut pending).await?;
        let existing = self.current(&identifier).await?;
        // Read after the project's state: were they of a later version than it, the project
        // moved on, and appending at its version is a conflict.
        let recorded = match &existing {
            Some(project) => self.recorded(project.id).await?,
            None => Transactions::default(),
        };
        if let Some(project) = &existing
            && project.reporting_organisation_id != parties.reporting.id
        {
            return Ok(Decision::Refused(vec![Problem {
                field: Some("iati-activity/reporting-org/@ref".to_owned()),
                message: format!(
                    "{identifier} is a project of the reporting organisation {}: another \
                     organisation cannot change it",
                    project.reporting_org_ref.as_str()
                ),
            }]));
        }
        if let Some(organisation) = self.organisation {
            let takes_part = match &existing {
                Some(project) => project
                    .participating_organisations
                    .iter()
                    .any(|p| p.organisation_id == organisation),
                None => parties
                    .participants
                    .iter()
                    .any(|(participant, _)| participant.id == organisation),
            };
            if !takes_part {
                return Ok(Decision::Forbidden(Problem {
                    field: Some("iati-activity/participating-org".to_owned()),
                    message: format!(
                        "your organisation ({organisation}) does not take part in \
                         {identifier}{}: an integrator imports only projects its organisation \
                         takes part in",
                        if existing.is_some() {
                            ""
                        } else {
                            " as the file states it"
                        }
                    ),
                }));
            }
        }
        let mut related = Vec::new();
        let mut missing = Vec::new();
        for (target, relation) in &stated.related {
            match self.project_facts(target.as_str()).await? {
                Some(facts) => related.push((facts, *relation)),
                None => missing.push(target.as_str().to_owned()),
            }
        }
        // One relation to a project not (yet) in Amanah defers them all, so that they keep the
        // file's order.
        let deferred = (!missing.is_empty()).then(|| stated.related.clone());
        let desired = Desired {
            stated: &stated,
            reporting: &parties.reporting,
            participants: &parties.participants,
            parties: &parties.transactions,
            recorded: &recorded,
            planned: &parties.planned,
            related: deferred.is_none().then_some(related.as_slice()),
        };
        let project = match decide_project(existing.as_ref(), &desired) {
            Ok(project) => project,
            Err(problems) => return Ok(Decision::Refused(problems)),
        };
        let activities = match self
            .decide_activities(&stated, &parties.partners, &project.open)
            .await?
        {
            Ok(activities) => activities,
            Err(problems) => return Ok(Decision::Refused(problems)),
        };

        let written: Vec<Activity> = activities
            .iter()
            .filter_map(|planned| planned.state.clone())
            .collect();
        let organisations = self.named(&project.after, &project.transactions, &written, &pending);
        let not_kept = not_kept(
            element,
            &project.after,
            project.transactions.as_slice(),
            &written,
            &organisations,
            deferred.as_deref(),
        )?;
        Ok(Decision::Plan(Box::new(Plan {
            identifier,
            created: existing.is_none(),
            project,
            activities,
            pending,
            deferred,
            missing,
            not_kept,
        })))
    }

    /// Resolves every organisation the activity names.
    async fn parties(
        &mut self,
        stated: &Stated,
        pending: &mut Vec<(Organisation, RegisterOrganisation)>,
    ) -> Result<Parties, ImportError> {
        let reporting = self.resolve(&stated.reporting, pending).await?;
        let mut participants = Vec::new();
        for (mention, role) in &stated.participants {
            participants.push((self.resolve(mention, pending).await?, *role));
        }
        let mut transactions = Vec::new();
        for transaction in &stated.transactions {
            let provider = match &transaction.provider {
                Some(mention) => Some(self.resolve(mention, pending).await?),
                None => None,
            };
            let receiver = match &transaction.receiver {
                Some(mention) => Some(self.resolve(mention, pending).await?),
                None => None,
            };
            transactions.push((provider, receiver));
        }
        let mut planned = Vec::new();
        for (provider, receiver) in &stated.planned_parties {
            let provider = match provider {
                Some(mention) => Some(self.resolve(mention, pending).await?),
                None => None,
            };
            let receiver = match receiver {
                Some(mention) => Some(self.resolve(mention, pending).await?),
                None => None,
            };
            planned.push((provider, receiver));
        }
        let mut partners = Vec::new();
        for activity in &stated.activities {
            let mut resolved = Vec::new();
            for (mention, role) in &activity.partners {
                resolved.push(Partnership {
                    organisation: self.resolve(mention, pending).await?.facts(),
                    role: *role,
                });
            }
            partners.push(resolved);
        }
        Ok(Parties {
            reporting,
            participants,
            transactions,
            planned,
            partners,
        })
    }

    /// The anti-corruption activities' commands, decided against their current states and the
    /// project as it is when they are appended.
    async fn decide_activities(
        &self,
        stated: &Stated,
        partners: &[Vec<Partnership>],
        project: &Project,
    ) -> Result<Result<Vec<Planned>, Vec<Problem>>, ImportError> {
        let context = today();
        let mut planned = Vec::new();
        let mut problems = Vec::new();
        for (index, (activity, partners)) in stated.activities.iter().zip(partners).enumerate() {
            let field = format!("iati-activity/amanah:activity[{}]", index + 1);
            let current = self.commands.load::<Activity>(activity.id, None).await?;
            let commands =
                match activity_changes(current.as_ref(), activity, partners.clone(), project) {
                    Ok(commands) => commands,
                    Err(message) => {
                        problems.push(Problem {
                            field: Some(field),
                            message,
                        });
                        continue;
                    }
                };
            match Activity::decide_all(current.clone(), commands.clone(), &context) {
                Ok((decided, state)) => planned.push(Planned {
                    id: activity.id,
                    expected: current
                        .as_ref()
                        .map_or(Expected::Minted, |a| Expected::Version(a.version)),
                    events: decided.len(),
                    commands,
                    state,
                }),
                Err(error) => {
                    let mut problem = domain_problem(&error);
                    problem.field = Some(match problem.field {
                        Some(inner) => format!("{field}: {inner}"),
                        None => field,
                    });
                    problems.push(problem);
                }
            }
        }
        Ok(if problems.is_empty() {
            Ok(planned)
        } else {
            Err(problems)
        })
    }

    /// Appends what `plan` decided (in a dry run, only records it) and fills in `report`.
    async fn apply(&mut self, plan: Plan, report: &mut ActivityReport) -> Result<(), ImportError> {
        let Plan {
            identifier,
            created,
            project,
            activities,
            pending,
            deferred,
            missing,
            not_kept,
        } = plan;
        report.not_kept = not_kept;
        report.deferred = missing;
        let activity_events: usize = activities.iter().map(|planned| planned.events).sum();
        report.events = project.events + activity_events + pending.len();
        report.outcome = match (report.events, created) {
            (0, _) => Outcome::Unchanged,
            (_, true) => Outcome::Created,
            (_, false) => Outcome::Updated,
        };
        report.registered = pending
            .iter()
            .map(|(organisation, _)| describe(organisation))
            .collect();
        if !self.dry_run && report.outcome != Outcome::Unchanged {
            self.append(&project, &pending, activities, report).await?;
        } else if self.dry_run && created {
            self.dry_created
                .insert(identifier.clone(), project.after.facts());
        }
        if report.outcome == Outcome::Refused {
            return Ok(());
        }
        for (organisation, _) in pending {
            let key = OrgKey::of(&mention_of(&organisation));
            self.organisations.insert(key, organisation);
        }
        if let Some(relations) = deferred {
            self.deferred.push(Deferred {
                project_id: project.id,
                project: identifier,
                relations,
            });
        }
        Ok(())
    }

    /// The appends of one activity, in the order its rules need: the organisations it
    /// registers, the project, its anti-corruption activities, then the step that closes the
    /// project, if any.
    async fn append(
        &self,
        project: &ProjectPlan,
        pending: &[(Organisation, RegisterOrganisation)],
        activities: Vec<Planned>,
        report: &mut ActivityReport,
    ) -> Result<(), ImportError> {
        let id = project.id;
        for (organisation, command) in pending {
            let registered = self
                .commands
                .execute::<Organisation>(
                    organisation.id,
                    Expected::Minted,
                    OrganisationCommand::Register(command.clone()),
                    self.metadata(),
                    Given::NOTHING,
                )
                .await?;
            report.audit_index = Some(registered.outcome.last_index);
        }
        let version = self
            .append_project(id, project.version, &project.first, report)
            .await?;
        for planned in activities {
            if report.outcome == Outcome::Refused || planned.commands.is_empty() {
                continue;
            }
            let committed = self
                .commands
                .execute_all::<Activity>(
                    planned.id,
                    planned.expected,
                    planned.commands,
                    self.metadata(),
                    Given::NOTHING,
                )
                .await;
            self.committed(committed, report)?;
        }
        if report.outcome != Outcome::Refused {
            self.append_project(id, version, &project.last, report)
                .await?;
        }
        Ok(())
    }

    /// Appends `commands` to project `id` at `version` (`None`: a new project), when there are
    /// any: the project's version after them (or as it was).
    async fn append_project(
        &self,
        id: Uuid,
        version: Option<u64>,
        commands: &[ProjectCommand],
        report: &mut ActivityReport,
    ) -> Result<Option<u64>, ImportError> {
        if commands.is_empty() {
            return Ok(version);
        }
        let committed = self
            .commands
            .execute_all::<Project>(
                id,
                version.map_or(Expected::Minted, Expected::Version),
                commands.to_vec(),
                self.metadata(),
                Given::NOTHING,
            )
            .await;
        Ok(self.committed(committed, report)?.or(version))
    }

    /// The version a commit left, or the refusal recorded in `report` (a rule that held when
    /// decided and no longer did when appended: another writer came between).
    fn committed<A: Aggregate>(
        &self,
        result: Result<amanah_domain::service::Committed<A>, CommandError>,
        report: &mut ActivityReport,
    ) -> Result<Option<u64>, ImportError> {
        match result {
            Ok(committed) => {
                report.audit_index = Some(committed.outcome.last_index);
                Ok(Some(committed.outcome.stream_version))
            }
            Err(CommandError::Rejected(error)) => {
                report.outcome = Outcome::Refused;
                report.problems.push(Problem {
                    field: error.field().map(|field| field.to_string()),
                    message: format!(
                        "{} (decided before another writer changed the project; what was appended \
                         before this step stays)",
                        domain_problem(error.as_ref()).message
                    ),
                });
                Ok(None)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// The organisation a mention names: met before in this import, in the read model, or
    /// one to register (added to `pending`).
    async fn resolve(
        &mut self,
        mention: &Mention,
        pending: &mut Vec<(Organisation, RegisterOrganisation)>,
    ) -> Result<Organisation, ImportError> {
        let key = OrgKey::of(mention);
        if let Some(found) = self.organisations.get(&key) {
            return Ok(found.clone());
        }
        if let Some((found, _)) = pending
            .iter()
            .find(|(organisation, _)| OrgKey::of(&mention_of(organisation)) == key)
        {
            return Ok(found.clone());
        }
        let found = match &key {
            OrgKey::Ref(_) => match &mention.org_ref {
                Some(org_ref) => self
                    .read_model
                    .organisation_by_ref(org_ref)
                    .await
                    .map_err(CommandError::from)?,
                None => None,
            },
            OrgKey::Name(name) => {
                let query = OrganisationQuery {
                    text: Some(name.clone()),
                    include_deactivated: true,
                    ..OrganisationQuery::default()
                };
                self.read_model
                    .organisations(&query, &Range::first(100))
                    .await
                    .map_err(CommandError::from)?
                    .into_iter()
                    .map(|positioned| positioned.item)
                    .find(|organisation| organisation.name.as_str() == name)
            }
        };
        if let Some(found) = found {
            self.organisations.insert(key, found.clone());
            return Ok(found);
        }
        // Registered under its name, or its ref when the file gives no name (the reader never
        // yields a mention without either).
        let name = match &mention.name {
            Some(name) => name.clone(),
            None => Name::parse(mention.org_ref.as_ref().map_or("", |r| r.as_str())).map_err(
                |error| CommandError::Undecodable {
                    index: u64::MAX,
                    reason: format!("an organisation named by neither a name nor a ref: {error}"),
                },
            )?,
        };
        let command = RegisterOrganisation {
            id: Uuid::now_v7(),
            org_ref: mention.org_ref.clone(),
            name,
            acronym: None,
            organisation_type: mention.organisation_type.unwrap_or(OrganisationType::Other),
            country: None,
            website: None,
        };
        let context = today();
        let registered = Organisation::decide_all(
            None,
            [OrganisationCommand::Register(command.clone())],
            &context,
        )
        .map_err(CommandError::rejected)?
        .1
        .ok_or_else(|| CommandError::Undecodable {
            index: u64::MAX,
            reason: "registering an organisation left no organisation".to_owned(),
        })?;
        pending.push((registered.clone(), command));
        Ok(registered)
    }

    /// The current state of the project with this identifier, if there is one.
    async fn current(&self, identifier: &str) -> Result<Option<Project>, ImportError> {
        let Some(project) = self
            .read_model
            .project_by_iati_identifier(identifier)
            .await
            .map_err(CommandError::from)?
        else {
            return Ok(None);
        };
        Ok(self.commands.load::<Project>(project.id, None).await?)
    }

    /// The transactions project `id` has recorded.
    async fn recorded(&self, id: Uuid) -> Result<Transactions, ImportError> {
        Ok(self
            .read_model
            .transactions_of_projects(&[id])
            .await
            .map_err(CommandError::from)?
            .remove(&id)
            .unwrap_or_default())
    }

    async fn project_facts(&self, identifier: &str) -> Result<Option<ProjectFacts>, ImportError> {
        if let Some(facts) = self.dry_created.get(identifier) {
            return Ok(Some(facts.clone()));
        }
        Ok(self
            .current(identifier)
            .await?
            .map(|project| project.facts()))
    }

    /// Every organisation the export of `project` names, by id.
    fn named(
        &self,
        project: &Project,
        transactions: &Transactions,
        activities: &[Activity],
        pending: &[(Organisation, RegisterOrganisation)],
    ) -> HashMap<Uuid, Organisation> {
        let mut named: HashMap<Uuid, Organisation> = self
            .organisations
            .values()
            .chain(pending.iter().map(|(organisation, _)| organisation))
            .map(|organisation| (organisation.id, organisation.clone()))
            .collect();
        named.retain(|id, _| {
            *id == project.reporting_organisation_id
                || project
                    .participating_organisations
                    .iter()
                    .any(|p| p.organisation_id == *id)
                || transactions.as_slice().iter().any(|t| {
                    t.provider_organisation_id == Some(*id)
                        || t.receiver_organisation_id == Some(*id)
                })
                || project.planned_disbursements.iter().any(|p| {
                    p.provider_organisation_id == Some(*id)
                        || p.receiver_organisation_id == Some(*id)
                })
                || activities
                    .iter()
                    .any(|a| a.partners.iter().any(|p| p.organisation_id == *id))
        });
        named
    }

    /// Links the deferred relations now that the whole file is in; a relation to a project
    /// still unknown is reported as not kept.
    async fn link_deferred(
        &mut self,
        summary: &mut Summary,
        report: &mut impl FnMut(&ActivityReport),
    ) -> Result<(), ImportError> {
        let context = today();
        for deferred in std::mem::take(&mut self.deferred) {
            let mut wanted = Vec::new();
            for (target, relation) in &deferred.relations {
                match self.project_facts(target.as_str()).await? {
                    Some(facts) => wanted.push((facts, *relation)),
                    None => summary.unresolved_relations.push(format!(
                        "{} → {} (type {}): no such project in Amanah",
                        deferred.project,
                        target.as_str(),
                        relation.code()
                    )),
                }
            }
            let number = self
                .seen
                .get(&deferred.project)
                .copied()
                .unwrap_or_default();
            let mut line =
                ActivityReport::new(number, Some(deferred.project.clone()), Outcome::Updated);
            // In a dry run a project created by the file does not exist: nothing to check.
            let Some(project) = self.current(&deferred.project).await? else {
                continue;
            };
            let commands = relation_changes(&project, &wanted);
            if commands.is_empty() {
                continue;
            }
            line.events = commands.len();
            let result = if self.dry_run {
                Project::decide_all(Some(project), commands, &context)
                    .map(|_| ())
                    .map_err(|error| domain_problem(&error))
            } else {
                match self
                    .commands
                    .execute_all::<Project>(
                        deferred.project_id,
                        Expected::Version(project.version),
                        commands,
                        self.metadata(),
                        Given::NOTHING,
                    )
                    .await
                {
                    Ok(committed) => {
                        line.audit_index = Some(committed.outcome.last_index);
                        Ok(())
                    }
                    Err(CommandError::Rejected(error)) => Err(domain_problem(error.as_ref())),
                    Err(error) => return Err(error.into()),
                }
            };
            match result {
                Ok(()) => summary.events += line.events,
                Err(problem) => {
                    line.outcome = Outcome::Refused;
                    line.events = 0;
                    line.problems.push(problem);
                    summary.refused += 1;
                }
            }
            report(&line);
        }
        Ok(())
    }
}

/// What was decided for one activity.
enum Decision {
    Plan(Box<Plan>),
    /// Refused for these reasons.
    Refused(Vec<Problem>),
    /// Outside the importer's organisation's projects.
    Forbidden(Problem),
}

/// Every organisation an activity names, resolved.
struct Parties {
    reporting: Organisation,
    participants: Vec<(Organisation, OrganisationRole)>,
    /// Provider and receiver of each transaction, in order.
    transactions: Vec<(Option<Organisation>, Option<Organisation>)>,
    /// Provider and receiver of each planned disbursement, in order.
    planned: Vec<(Option<Organisation>, Option<Organisation>)>,
    /// The partners of each anti-corruption activity, in order.
    partners: Vec<Vec<Partnership>>,
}

/// One activity's changes, decided and waiting for their appends.
struct Plan {
    identifier: String,
    created: bool,
    project: ProjectPlan,
    activities: Vec<Planned>,
    /// Organisations to register first.
    pending: Vec<(Organisation, RegisterOrganisation)>,
    /// All the project's relations, when one names a project not (yet) in Amanah.
    deferred: Option<Vec<(IatiIdentifier, RelatedActivityType)>>,
    /// The related activities not in Amanah.
    missing: Vec<String>,
    not_kept: Vec<NotKept>,
}

/// A project's commands, decided: `first` in one append, then (after the anti-corruption
/// activities, which need the project open) `last`, the step that closes or cancels it.
struct ProjectPlan {
    id: Uuid,
    /// The project's version now; `None` for a new one.
    version: Option<u64>,
    first: Vec<ProjectCommand>,
    last: Vec<ProjectCommand>,
    events: usize,
    /// The project after `first`.
    open: Project,
    /// The project after both.
    after: Project,
    /// Its transactions after both.
    transactions: Transactions,
}

/// The commands of one anti-corruption activity, decided and waiting for their append.
#[derive(Debug)]
struct Planned {
    id: Uuid,
    expected: Expected,
    commands: Vec<ActivityCommand>,
    events: usize,
    /// Its state after them (`None` only for an activity neither known nor planned).
    state: Option<Activity>,
}

fn mention_of(organisation: &Organisation) -> Mention {
    Mention {
        org_ref: organisation.org_ref.clone(),
        name: Some(organisation.name.clone()),
        organisation_type: Some(organisation.organisation_type),
    }
}

fn describe(organisation: &Organisation) -> String {
    organisation.org_ref.as_ref().map_or_else(
        || organisation.name.as_str().to_owned(),
        |org_ref| org_ref.as_str().to_owned(),
    )
}
