//! `importIatiActivities`: an IATI 2.03 activity file sent as a string, imported as
//! `amanah iati import` imports a file (`docs/iati.md`), with the caller as the actor.
//!
//! Editors and admins may import any activity. An integrator (with an `org`) may import only
//! projects its organisation takes part in: its file is first decided without appending, and
//! if any activity is outside its organisation's projects the whole request is `FORBIDDEN`,
//! naming them; the import itself checks each activity again.

use amanah_infra::iati::read::ReadError;
use async_graphql::{Context, Enum, InputObject, SimpleObject};

use super::ContextExt as _;
use super::command::metadata;
use crate::error::ApiError;
use crate::iati::import::{self, ImportError, Importer};

/// `importIatiActivities`.
#[derive(InputObject, Clone, Debug)]
pub struct ImportIatiActivitiesInput {
    /// The activity file's XML, at most the server's request body limit (larger files go through
    /// `amanah iati import`).
    pub xml: String,
    /// Decide and report everything, append nothing.
    #[graphql(default)]
    pub dry_run: bool,
}

/// What happened to one `iati-activity`.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum IatiImportOutcome {
    Created,
    Updated,
    Unchanged,
    Refused,
}

/// Why an activity was refused: the element, attribute or domain field at fault, and the reason.
#[derive(SimpleObject, Debug)]
pub struct IatiImportProblem {
    pub field: Option<String>,
    pub message: String,
}

/// Elements or attributes at one path that Amanah does not keep: `count` of the `of` there.
#[derive(SimpleObject, Debug)]
pub struct IatiNotKept {
    pub path: String,
    pub count: u64,
    pub of: u64,
}

/// The report of one `iati-activity`.
#[derive(SimpleObject, Debug)]
pub struct IatiActivityImport {
    /// Its place in the file, from 1.
    pub number: u64,
    pub iati_identifier: Option<String>,
    pub outcome: IatiImportOutcome,
    /// Events appended (or, in a dry run, that would be).
    pub events: u64,
    /// The audit-log index of the last event appended for it.
    pub audit_index: Option<u64>,
    pub problems: Vec<IatiImportProblem>,
    pub not_kept: Vec<IatiNotKept>,
    /// Organisations registered for it (their ref, or name without one).
    pub registered_organisations: Vec<String>,
    /// Related activities not in Amanah when it was imported (linked at the end of the file).
    pub deferred_relations: Vec<String>,
}

/// The report of an import.
#[derive(SimpleObject, Debug)]
pub struct ImportIatiActivitiesPayload {
    pub dry_run: bool,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub refused: u64,
    pub events: u64,
    /// One entry per activity, in file order, then one per project whose deferred relations
    /// were linked at the end.
    pub activities: Vec<IatiActivityImport>,
    /// Parts of the file outside its activities that Amanah does not keep.
    pub not_kept: Vec<IatiNotKept>,
    /// Relations to activities neither in Amanah nor in the file: not kept.
    pub unresolved_relations: Vec<String>,
    /// The audit-log index of the last event the import appended; null when it appended none.
    pub audit_index: Option<u64>,
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

fn not_kept(list: Vec<import::NotKept>) -> Vec<IatiNotKept> {
    list.into_iter()
        .map(|n| IatiNotKept {
            path: n.path,
            count: count(n.count),
            of: count(n.of),
        })
        .collect()
}

impl From<import::ActivityReport> for IatiActivityImport {
    fn from(report: import::ActivityReport) -> Self {
        Self {
            number: count(report.number),
            iati_identifier: report.identifier,
            outcome: match report.outcome {
                import::Outcome::Created => IatiImportOutcome::Created,
                import::Outcome::Updated => IatiImportOutcome::Updated,
                import::Outcome::Unchanged => IatiImportOutcome::Unchanged,
                import::Outcome::Refused => IatiImportOutcome::Refused,
            },
            events: count(report.events),
            audit_index: report.audit_index,
            problems: report
                .problems
                .into_iter()
                .map(|p| IatiImportProblem {
                    field: p.field,
                    message: p.message,
                })
                .collect(),
            not_kept: not_kept(report.not_kept),
            registered_organisations: report.registered,
            deferred_relations: report.deferred,
        }
    }
}

/// A file refused whole: `BAD_USER_INPUT` on `input.xml`, except what is the server's fault.
fn file_error(error: ImportError) -> ApiError {
    match error {
        ImportError::Schema(_)
        | ImportError::NotAnActivityFile(_)
        | ImportError::Version(_)
        | ImportError::Read(
            ReadError::DocumentType
            | ReadError::Syntax { .. }
            | ReadError::NoRoot
            | ReadError::TooDeep { .. }
            | ReadError::ActivityTooLarge { .. },
        ) => ApiError::bad_user_input("input.xml", error.to_string()),
        ImportError::Store(error) => error.into(),
        ImportError::Read(ReadError::Io(_))
        | ImportError::Open { .. }
        | ImportError::SchemaCheck(_) => ApiError::internal(error),
    }
}

/// Runs one import of the file at `path`; every report in order and the summary.
async fn run(
    importer: &mut Importer,
    path: &std::path::Path,
) -> Result<(import::Summary, Vec<import::ActivityReport>), ApiError> {
    let mut reports = Vec::new();
    let summary = importer
        .import_file(path, |report| reports.push(report.clone()))
        .await
        .map_err(file_error)?;
    Ok((summary, reports))
}

/// The resolver of `importIatiActivities` (the guard has let the caller in).
///
/// # Errors
/// `BAD_USER_INPUT` on `input.xml` for a file refused whole, `FORBIDDEN` for an integrator's
/// file that touches another organisation's project, store failures.
pub async fn import_iati_activities(
    ctx: &Context<'_>,
    input: ImportIatiActivitiesInput,
) -> Result<ImportIatiActivitiesPayload, ApiError> {
    let state = ctx.api_state()?;
    let metadata = metadata(ctx)?;
    let file = tempfile::NamedTempFile::new().map_err(ApiError::internal)?;
    std::fs::write(file.path(), input.xml.as_bytes()).map_err(ApiError::internal)?;
    let integrator_org = ctx.identity().and_then(|identity| {
        let any_project =
            super::access::decide(Some(identity), true, super::access::Action::ChangeProjects)
                .is_ok();
        (!any_project).then_some(identity.org).flatten()
    });
    let importer = |dry_run: bool| {
        let importer = Importer::new(
            state.commands.clone(),
            state.read_model.clone(),
            metadata.actor.clone(),
            dry_run,
        )
        .in_request(metadata.request_id.clone());
        match integrator_org {
            Some(org) => importer.for_organisation(org),
            None => importer,
        }
    };
    if integrator_org.is_some() && !input.dry_run {
        let (_, reports) = run(&mut importer(true), file.path()).await?;
        let outside: Vec<String> = reports
            .iter()
            .filter(|report| report.forbidden)
            .map(|report| report.identifier.clone().unwrap_or_default())
            .collect();
        if !outside.is_empty() {
            return Err(ApiError::forbidden(format!(
                "Your organisation does not take part in {}: an integrator imports only \
                 projects its organisation takes part in. Nothing was imported.",
                outside.join(", ")
            )));
        }
    }
    let (summary, reports) = run(&mut importer(input.dry_run), file.path()).await?;
    let audit_index = reports.iter().filter_map(|report| report.audit_index).max();
    Ok(ImportIatiActivitiesPayload {
        dry_run: input.dry_run,
        created: count(summary.created),
        updated: count(summary.updated),
        unchanged: count(summary.unchanged),
        refused: count(summary.refused),
        events: count(summary.events),
        activities: reports.into_iter().map(Into::into).collect(),
        not_kept: not_kept(summary.not_kept),
        unresolved_relations: summary.unresolved_relations,
        audit_index,
    })
}
