//! The rules of an activity: `decide` turns a command into events or a typed rejection.

use super::{Activity, ActivityCommand, ActivityError, ActivityEvent};
use crate::aggregate::DecisionContext;

pub(super) fn decide(
    state: Option<&Activity>,
    command: ActivityCommand,
    _context: &DecisionContext,
) -> Result<Vec<ActivityEvent>, ActivityError> {
    match (state, command) {
        (Some(activity), ActivityCommand::Plan(_)) => {
            Err(ActivityError::AlreadyExists { id: activity.id })
        }
        (None, command) => Err(ActivityError::NotFound {
            id: command.activity_id(),
        }),
        (Some(activity), _) => Err(ActivityError::NotPlanned {
            status: activity.status,
        }),
    }
}
