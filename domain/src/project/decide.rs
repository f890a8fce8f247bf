//! The rules of a project: `decide` turns a command into events or a typed rejection.

use super::{Project, ProjectCommand, ProjectError, ProjectEvent};
use crate::aggregate::DecisionContext;

pub(super) fn decide(
    state: Option<&Project>,
    command: ProjectCommand,
    _context: &DecisionContext,
) -> Result<Vec<ProjectEvent>, ProjectError> {
    match (state, command) {
        (Some(project), ProjectCommand::Register(_)) => {
            Err(ProjectError::AlreadyExists { id: project.id })
        }
        (None, command) => Err(ProjectError::NotFound {
            id: command.project_id(),
        }),
        (Some(_), _) => Err(ProjectError::NothingToRevise),
    }
}
