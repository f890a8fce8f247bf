//! What an import reports: what of an activity Amanah does not keep, and the printed lines.

use std::collections::HashMap;

use amanah_domain::activity::Activity;
use amanah_domain::codelists::RelatedActivityType;
use amanah_domain::organisation::Organisation;
use amanah_domain::project::{Project, RelatedProject, Transaction};
use amanah_domain::values::IatiIdentifier;
use amanah_infra::iati::publish::{self, AMANAH_NAMESPACE, ActivityRecord};
use amanah_infra::iati::read::{ActivityReader, Element, ReadError};
use uuid::Uuid;

use super::{ActivityReport, NotKept, Outcome, SET_BY_AMANAH, Summary};

/// What of `element` the export of `project` would not write back: each path the activity has
/// more often than the export would. `deferred` relations count as kept (they are linked at
/// the end of the file).
///
/// # Errors
/// When the export of `project` does not read back (a bug of the writer or the reader).
pub(super) fn not_kept(
    element: &Element,
    project: &Project,
    transactions: &[Transaction],
    activities: &[Activity],
    organisations: &HashMap<Uuid, Organisation>,
    deferred: Option<&[(IatiIdentifier, RelatedActivityType)]>,
) -> Result<Vec<NotKept>, ReadError> {
    let mut written = project.clone();
    if let Some(deferred) = deferred {
        written.related_projects = deferred
            .iter()
            .map(|(iati_identifier, relation)| RelatedProject {
                project_id: Uuid::nil(),
                iati_identifier: iati_identifier.clone(),
                relation: *relation,
            })
            .collect();
    }
    let xml = publish::activity(&ActivityRecord {
        project: &written,
        transactions,
        activities,
        organisations,
        last_updated: None,
    });
    let wrapped =
        format!("<iati-activities xmlns:amanah=\"{AMANAH_NAMESPACE}\">{xml}</iati-activities>");
    // Amanah's own output reads back; if it did not, the comparison would report everything.
    let back = ActivityReader::new(wrapped.as_bytes())
        .and_then(|mut reader| reader.next_activity())?
        .map(|element| element.path_counts())
        .unwrap_or_default();
    let mut not_kept: Vec<NotKept> = Vec::new();
    // In path order, so that an element comes before what is inside it: below an element none
    // of which is kept, nothing is listed again.
    let mut dropped: Option<String> = None;
    for (path, of) in element.path_counts() {
        if SET_BY_AMANAH.contains(&path.as_str())
            || dropped
                .as_ref()
                .is_some_and(|whole| path.starts_with(whole.as_str()))
        {
            continue;
        }
        let kept = back.get(&path).copied().unwrap_or(0);
        if of > kept {
            if kept == 0 {
                dropped = Some(format!("{path}/"));
            }
            not_kept.push(NotKept {
                count: of - kept,
                of,
                path,
            });
        }
    }
    Ok(not_kept)
}

/// One activity's lines of the printed report: the outcome, then indented details.
#[must_use]
pub fn render(report: &ActivityReport) -> String {
    use std::fmt::Write as _;

    let identifier = report
        .identifier
        .as_deref()
        .unwrap_or("(no iati-identifier)");
    let mut out = format!(
        "{:<9} {identifier} (activity {}, {} events)\n",
        report.outcome.as_str(),
        report.number,
        report.events
    );
    for problem in &report.problems {
        let _ = writeln!(out, "    refused: {problem}");
    }
    for organisation in &report.registered {
        let _ = writeln!(out, "    registered organisation: {organisation}");
    }
    let linked_later = report.outcome != Outcome::Refused;
    for target in report.deferred.iter().filter(|_| linked_later) {
        let _ = writeln!(
            out,
            "    related activity {target}: not in Amanah yet, linked at the end of the file if \
             the file creates it"
        );
    }
    for not_kept in &report.not_kept {
        let _ = writeln!(out, "    not kept: {not_kept}");
    }
    out
}

/// The closing lines of the printed report.
#[must_use]
pub fn render_summary(summary: &Summary, dry_run: bool) -> String {
    use std::fmt::Write as _;

    let mut out = String::new();
    for not_kept in &summary.not_kept {
        let _ = writeln!(out, "not kept: {not_kept}");
    }
    for relation in &summary.unresolved_relations {
        let _ = writeln!(out, "not kept: related activity {relation}");
    }
    let _ = writeln!(
        out,
        "{}{} created, {} updated, {} unchanged, {} refused; {} events {}",
        if dry_run { "dry run: " } else { "" },
        summary.created,
        summary.updated,
        summary.unchanged,
        summary.refused,
        summary.events,
        if dry_run {
            "would be appended"
        } else {
            "appended"
        }
    );
    out
}
