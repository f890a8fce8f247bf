//! Who may do what: the access table of `docs/api.md` ("Identity and access"), one rule per
//! row, each decided in exactly one place ([`decide`]) and applied to fields as async-graphql
//! [`Guard`]s.
//!
//! | rule | guard | who |
//! |---|---|---|
//! | read projects, organisations, activities, member states | `ctx.portfolio()` ([`super::ContextExt::portfolio`]), wherever such data is read | anyone when `AMANAH_PUBLIC_READ` (the default), else any role |
//! | register / revise / deactivate / reactivate organisations | [`ChangeOrganisations`] | editor, admin |
//! | register / revise projects, status, budgets, participants, documents, related projects, other identifiers | [`ChangeProjects`] | editor, admin |
//! | plan / reschedule / complete / cancel activities, record / reverse transactions | [`WorkOnProject::authorise`] | editor, admin; integrator when its `org` participates in the project |
//! | audit log, proofs, checkpoints, actors; export | [`ReadAudit`] | auditor, admin |
//!
//! Outcomes: an anonymous caller who is refused gets `UNAUTHENTICATED` (a token would help); an
//! authenticated one gets `FORBIDDEN` (another token would be needed). Nothing is appended then.
//!
//! Integrators: the project is the one the input names (`projectId`), or the project of the
//! activity the input names (`id`; an activity never changes project). A project or activity that
//! does not exist has no participants, so an integrator is refused (`FORBIDDEN`) rather than told
//! what exists. Participation is read on the write side before the command runs, and the version
//! of the project it was read at travels with the append ([`WorkOnProject::authorise`] returns
//! it): the append commits only if the project is still at that version, checked inside the
//! append's transaction under the log's write lock. A participant removed between the check and
//! the append therefore makes the append fail (`CONFLICT`, nothing appended) instead of letting a
//! no-longer-participating integrator write.

use amanah_domain::activity::Activity as ActivityState;
use amanah_domain::ports::StreamRead;
use amanah_domain::project::ProjectFacts;
use amanah_infra::auth::{Identity, Role};
use async_graphql::{Context, Guard, ID};
use uuid::Uuid;

use super::ContextExt as _;
use super::ids::parse_id;
use crate::error::ApiError;

/// The actions of the access table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action<'a> {
    /// Read projects, organisations, activities and member states.
    ReadPortfolio,
    /// Register, revise, deactivate or reactivate organisations.
    ChangeOrganisations,
    /// Register or revise projects; their status, budgets, participants, documents, links.
    ChangeProjects,
    /// Change the activities or transactions of a project whose participating organisations are
    /// these (`None`: the project does not exist, or the participants were not looked up).
    WorkOnProject { participants: Option<&'a [Uuid]> },
    /// Read the audit log, proofs, checkpoints and actors; export.
    ReadAudit,
    /// Import an IATI activity file: any project, or (an integrator's) only the projects its
    /// organisation takes part in, which the import checks per activity.
    ImportActivities,
}

/// Why an action is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// Anonymous: a token would be needed.
    Unauthenticated,
    /// Authenticated, but without a role that allows the action.
    Forbidden,
}

/// The access table as one function: may `identity` (`None`: anonymous) do `action`?
///
/// # Errors
/// The [`Denial`] when it may not.
pub fn decide(
    identity: Option<&Identity>,
    public_read: bool,
    action: Action<'_>,
) -> Result<(), Denial> {
    let has = |role: Role| identity.is_some_and(|identity| identity.has_role(role));
    let allowed = match action {
        Action::ReadPortfolio => public_read || identity.is_some_and(|i| !i.roles.is_empty()),
        Action::ChangeOrganisations | Action::ChangeProjects => {
            has(Role::Editor) || has(Role::Admin)
        }
        Action::WorkOnProject { participants } => {
            has(Role::Editor)
                || has(Role::Admin)
                || (has(Role::Integrator)
                    && identity
                        .and_then(|identity| identity.org)
                        .zip(participants)
                        .is_some_and(|(org, participants)| participants.contains(&org)))
        }
        Action::ReadAudit => has(Role::Auditor) || has(Role::Admin),
        Action::ImportActivities => {
            has(Role::Editor)
                || has(Role::Admin)
                || (has(Role::Integrator) && identity.is_some_and(|i| i.org.is_some()))
        }
    };
    match (allowed, identity) {
        (true, _) => Ok(()),
        (false, None) => Err(Denial::Unauthenticated),
        (false, Some(_)) => Err(Denial::Forbidden),
    }
}

impl Denial {
    /// What the caller needs for `action`, as a sentence.
    #[must_use]
    pub fn message(self, action: Action<'_>) -> String {
        let needs = match action {
            Action::ReadPortfolio => "Reading needs a token with a role (public read is off)",
            Action::ChangeOrganisations => "Changing organisations needs the editor or admin role",
            Action::ChangeProjects => "Changing projects needs the editor or admin role",
            Action::WorkOnProject { .. } => {
                "Changing activities and transactions needs the editor or admin role, or the \
                 integrator role with an `org` that participates in the project"
            }
            Action::ReadAudit => "Reading the audit log needs the auditor or admin role",
            Action::ImportActivities => {
                "Importing IATI activities needs the editor or admin role, or the integrator \
                 role with an `org` (then only projects the organisation takes part in)"
            }
        };
        match self {
            Self::Unauthenticated => format!("{needs}; send `Authorization: Bearer …`."),
            Self::Forbidden => format!("{needs}."),
        }
    }

    /// The catalogue error for the refusal: `UNAUTHENTICATED` or `FORBIDDEN`, with
    /// [`Self::message`].
    #[must_use]
    pub fn into_error(self, action: Action<'_>) -> ApiError {
        let message = self.message(action);
        match self {
            Self::Unauthenticated => ApiError::unauthenticated(message),
            Self::Forbidden => ApiError::forbidden(message),
        }
    }
}

/// [`decide`] for the caller of `ctx`, as a catalogue error.
pub(super) fn check(ctx: &Context<'_>, action: Action<'_>) -> Result<(), ApiError> {
    let public_read = ctx.api_state()?.config.public_read;
    decide(ctx.identity(), public_read, action).map_err(|denial| denial.into_error(action))
}

/// Guard: [`Action::ChangeOrganisations`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ChangeOrganisations;

impl Guard for ChangeOrganisations {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        Ok(check(ctx, Action::ChangeOrganisations)?)
    }
}

/// Guard: [`Action::ChangeProjects`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ChangeProjects;

impl Guard for ChangeProjects {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        Ok(check(ctx, Action::ChangeProjects)?)
    }
}

/// Guard: [`Action::ImportActivities`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportActivities;

impl Guard for ImportActivities {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        Ok(check(ctx, Action::ImportActivities)?)
    }
}

/// Guard: [`Action::ReadAudit`], for the audit log's queries and subscription.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadAudit;

impl Guard for ReadAudit {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        Ok(check(ctx, Action::ReadAudit)?)
    }
}

/// Which project an activity or transaction change is about, as the input names it.
#[derive(Debug, Clone)]
enum Target {
    /// `projectId` of the input.
    Project(ID),
    /// `id` of the input: an activity, whose project is looked up.
    Activity(ID),
}

/// [`Action::WorkOnProject`] for the project an input names. Not a field guard: the resolver
/// calls [`authorise`](Self::authorise) first and passes what the decision was based on to the
/// append.
#[derive(Debug, Clone)]
pub struct WorkOnProject(Target);

impl WorkOnProject {
    /// For inputs with a `projectId` (plan an activity, record or reverse a transaction).
    #[must_use]
    pub fn on_project(project_id: &ID) -> Self {
        Self(Target::Project(project_id.clone()))
    }

    /// For inputs with an activity `id` (reschedule, complete, cancel).
    #[must_use]
    pub fn on_activity(activity_id: &ID) -> Self {
        Self(Target::Activity(activity_id.clone()))
    }

    /// The target project's facts (participants, version); `None` when it does not exist.
    async fn project(&self, ctx: &Context<'_>) -> Result<Option<ProjectFacts>, ApiError> {
        let state = ctx.api_state()?;
        let project_id: Option<Uuid> = match &self.0 {
            Target::Project(id) => Some(parse_id(id, "projectId")?),
            Target::Activity(id) => state
                .commands
                .load::<ActivityState>(parse_id(id, "id")?, None)
                .await?
                .map(|activity| activity.project_id),
        };
        let Some(project_id) = project_id else {
            return Ok(None);
        };
        Ok(state.commands.project_facts(project_id).await?)
    }

    /// Decides whether the caller may work on the target project, before anything else of the
    /// mutation runs. Returns what the decision was based on: nothing for editors and admins,
    /// the project at the version whose participants allowed an integrator. The append must
    /// require it unchanged ([`super::command::execute`]).
    ///
    /// # Errors
    /// `UNAUTHENTICATED` or `FORBIDDEN` as [`decide`] says; store failures.
    pub async fn authorise(&self, ctx: &Context<'_>) -> Result<Vec<StreamRead>, ApiError> {
        // Editors and admins may work on any project: decide without looking anything up.
        if check(ctx, Action::WorkOnProject { participants: None }).is_ok() {
            return Ok(Vec::new());
        }
        let needs_lookup = ctx
            .identity()
            .is_some_and(|identity| identity.has_role(Role::Integrator) && identity.org.is_some());
        let project = if needs_lookup {
            self.project(ctx).await?
        } else {
            None
        };
        let participants: Option<Vec<Uuid>> = project.as_ref().map(|facts| {
            facts
                .participating_organisations
                .iter()
                .map(|p| p.organisation_id)
                .collect()
        });
        check(
            ctx,
            Action::WorkOnProject {
                participants: participants.as_deref(),
            },
        )?;
        Ok(project.iter().map(ProjectFacts::read).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::test_identity;

    /// The expected decisions of one caller, in the order of `actions` below.
    type Row = [Result<(), Denial>; 7];

    #[test]
    fn the_access_table() {
        let own = Uuid::now_v7();
        let other = Uuid::now_v7();
        let participants = [own];
        let anonymous = None;
        let viewer = test_identity("v", &[Role::Viewer], None);
        let editor = test_identity("e", &[Role::Editor], None);
        let integrator = test_identity("i", &[Role::Integrator], Some(own));
        let outsider = test_identity("o", &[Role::Integrator], Some(other));
        let orgless = test_identity("n", &[Role::Integrator], None);
        let auditor = test_identity("a", &[Role::Auditor], None);
        let admin = test_identity("x", &[Role::Admin], None);
        let roleless = test_identity("r", &[], None);
        let work = Action::WorkOnProject {
            participants: Some(&participants),
        };
        let missing_project = Action::WorkOnProject { participants: None };
        use Denial::{Forbidden as F, Unauthenticated as U};
        let ok = Ok(());
        #[rustfmt::skip]
        let table: [(Option<&Identity>, Row); 9] = [
            //                 read  orgs    projects work    missing audit   import
            (anonymous,        [ok,  Err(U), Err(U), Err(U), Err(U), Err(U), Err(U)]),
            (Some(&viewer),    [ok,  Err(F), Err(F), Err(F), Err(F), Err(F), Err(F)]),
            (Some(&editor),    [ok,  ok,     ok,     ok,     ok,     Err(F), ok]),
            (Some(&integrator),[ok,  Err(F), Err(F), ok,     Err(F), Err(F), ok]),
            (Some(&outsider),  [ok,  Err(F), Err(F), Err(F), Err(F), Err(F), ok]),
            (Some(&orgless),   [ok,  Err(F), Err(F), Err(F), Err(F), Err(F), Err(F)]),
            (Some(&auditor),   [ok,  Err(F), Err(F), Err(F), Err(F), ok,     Err(F)]),
            (Some(&admin),     [ok,  ok,     ok,     ok,     ok,     ok,     ok]),
            (Some(&roleless),  [ok,  Err(F), Err(F), Err(F), Err(F), Err(F), Err(F)]),
        ];
        let actions = [
            Action::ReadPortfolio,
            Action::ChangeOrganisations,
            Action::ChangeProjects,
            work,
            missing_project,
            Action::ReadAudit,
            Action::ImportActivities,
        ];
        for (identity, expected) in table {
            for (action, expected) in actions.into_iter().zip(expected) {
                assert_eq!(
                    decide(identity, true, action),
                    expected,
                    "{:?} {action:?}",
                    identity.map(|i| &i.sub)
                );
            }
        }
    }

    #[test]
    fn without_public_read_reading_needs_a_role() {
        let viewer = test_identity("v", &[Role::Viewer], None);
        let roleless = test_identity("r", &[], None);
        assert_eq!(
            decide(None, false, Action::ReadPortfolio),
            Err(Denial::Unauthenticated)
        );
        assert_eq!(
            decide(Some(&roleless), false, Action::ReadPortfolio),
            Err(Denial::Forbidden)
        );
        assert_eq!(decide(Some(&viewer), false, Action::ReadPortfolio), Ok(()));
    }
}
