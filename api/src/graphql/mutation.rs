//! The root `Mutation`: one field per domain command. Each takes one `input` object, parses it into
//! the domain's values at the edge (see [`super::command`]), and returns the changed entity with
//! the audit-log index of the last event it appended.
//!
//! Access: each field's guard applies one rule of [`super::access`] (anonymous callers get
//! `UNAUTHENTICATED`, callers without the role `FORBIDDEN`), before anything is looked up or
//! appended. The activity and transaction fields call [`access::WorkOnProject::authorise`] first
//! instead of a guard, because its answer (the project version whose participants allowed an
//! integrator) must travel with the append. Events are appended under the caller's identity ([`super::command::metadata`]).
//!
//! Errors: `BAD_USER_INPUT` with `extensions.field` (the path inside `input`, e.g.
//! `recipientCountries[1].percentage`, or `input` when the command as a whole is refused),
//! `NOT_FOUND` when the aggregate to change does not exist, `CONFLICT` with
//! `extensions.currentVersion` when `expectedVersion` is stale. Nothing is appended then.
//!
//! Each field runs its lookups, access decision and command once more when the append finds
//! something they read moved on meanwhile ([`command::once_more_if_stale`]): the command service
//! decides on states it kept from earlier requests, which another process may have changed.

use async_graphql::{Context, Object};

use super::access;
use super::activity::{
    self, ActivityPayload, CancelActivityInput, CompleteActivityInput, PlanActivityInput,
    RescheduleActivityInput, ReviseActivityInput,
};
use super::command;
use super::organisation::{
    self, OrganisationPayload, RegisterOrganisationInput, ReviseOrganisationInput, VersionedIdInput,
};
use super::project_commands::{
    self as project, AddDocumentInput, AddOtherIdentifierInput, AddRelatedProjectInput,
    ChangeProjectStatusInput, ParticipatingOrganisationChangeInput, ProjectPayload,
    RecordTransactionInput, RegisterProjectInput, RemoveDocumentInput, RemoveOtherIdentifierInput,
    RemoveRelatedProjectInput, ReverseTransactionInput, ReviseProjectInput, SetBudgetInput,
    SetContactsInput, SetLocationsInput, SetPlannedDisbursementsInput, SetPolicyMarkersInput,
    SetProjectDefaultsInput,
};
use crate::error::ApiError;

/// The root mutation.
#[derive(Debug, Default)]
pub struct Mutation;

#[Object]
impl Mutation {
    /// Registers an organisation (a new id is assigned).
    #[graphql(guard = "access::ChangeOrganisations")]
    async fn register_organisation(
        &self,
        ctx: &Context<'_>,
        input: RegisterOrganisationInput,
    ) -> Result<OrganisationPayload, ApiError> {
        command::once_more_if_stale(|| organisation::register(ctx, input.clone())).await
    }

    /// Revises an organisation's profile; its ref, once set, never changes.
    #[graphql(guard = "access::ChangeOrganisations")]
    async fn revise_organisation(
        &self,
        ctx: &Context<'_>,
        input: ReviseOrganisationInput,
    ) -> Result<OrganisationPayload, ApiError> {
        command::once_more_if_stale(|| organisation::revise(ctx, input.clone())).await
    }

    /// Deactivates an organisation: it stays, but takes no new roles.
    #[graphql(guard = "access::ChangeOrganisations")]
    async fn deactivate_organisation(
        &self,
        ctx: &Context<'_>,
        input: VersionedIdInput,
    ) -> Result<OrganisationPayload, ApiError> {
        command::once_more_if_stale(|| organisation::set_deactivated(ctx, input.clone(), true))
            .await
    }

    /// Reactivates a deactivated organisation.
    #[graphql(guard = "access::ChangeOrganisations")]
    async fn reactivate_organisation(
        &self,
        ctx: &Context<'_>,
        input: VersionedIdInput,
    ) -> Result<OrganisationPayload, ApiError> {
        command::once_more_if_stale(|| organisation::set_deactivated(ctx, input.clone(), false))
            .await
    }

    /// Registers a project in status PIPELINE (a new id is assigned).
    #[graphql(guard = "access::ChangeProjects")]
    async fn register_project(
        &self,
        ctx: &Context<'_>,
        input: RegisterProjectInput,
    ) -> Result<ProjectPayload, ApiError> {
        command::once_more_if_stale(|| project::register(ctx, input.clone())).await
    }

    /// Revises a project's texts, planned dates, geography or sectors.
    #[graphql(guard = "access::ChangeProjects")]
    async fn revise_project(
        &self,
        ctx: &Context<'_>,
        input: ReviseProjectInput,
    ) -> Result<ProjectPayload, ApiError> {
        command::once_more_if_stale(|| project::revise(ctx, input.clone())).await
    }

    /// Moves a project along its life cycle: PIPELINE → IMPLEMENTATION → FINALISATION → CLOSED,
    /// CANCELLED from the first three, IMPLEMENTATION ⇄ SUSPENDED.
    #[graphql(guard = "access::ChangeProjects")]
    async fn change_project_status(
        &self,
        ctx: &Context<'_>,
        input: ChangeProjectStatusInput,
    ) -> Result<ProjectPayload, ApiError> {
        command::once_more_if_stale(|| project::change_status(ctx, input.clone())).await
    }

    /// Adds an organisation to a project in a role.
    #[graphql(guard = "access::ChangeProjects")]
    async fn add_participating_organisation(
        &self,
        ctx: &Context<'_>,
        input: ParticipatingOrganisationChangeInput,
    ) -> Result<ProjectPayload, ApiError> {
        command::once_more_if_stale(|| project::change_participation(ctx, input.clone(), true))
            .await
    }

    /// Removes an organisation's role in a project.
    #[graphql(guard = "access::ChangeProjects")]
    async fn remove_participating_organisation(
        &self,
        ctx: &Context<'_>,
        input: ParticipatingOrganisationChangeInput,
    ) -> Result<ProjectPayload, ApiError> {
        command::once_more_if_stale(|| project::change_participation(ctx, input.clone(), false))
            .await
    }

    /// Replaces a project's budget rows.
    #[graphql(guard = "access::ChangeProjects")]
    async fn set_budget(
        &self,
        ctx: &Context<'_>,
        input: SetBudgetInput,
    ) -> Result<ProjectPayload, ApiError> {
        command::once_more_if_stale(|| project::set_budget(ctx, input.clone())).await
    }

    /// Records a transaction (append-only; correct mistakes with `reverseTransaction`).
    async fn record_transaction(
        &self,
        ctx: &Context<'_>,
        input: RecordTransactionInput,
    ) -> Result<ProjectPayload, ApiError> {
        let input = &input;
        command::once_more_if_stale(move || async move {
            let given = access::WorkOnProject::on_project(&input.project_id)
                .authorise(ctx)
                .await?;
            project::record_transaction(ctx, input.clone(), given).await
        })
        .await
    }

    /// Reverses a transaction: records a new one, dated today, with the negated value.
    async fn reverse_transaction(
        &self,
        ctx: &Context<'_>,
        input: ReverseTransactionInput,
    ) -> Result<ProjectPayload, ApiError> {
        let input = &input;
        command::once_more_if_stale(move || async move {
            let given = access::WorkOnProject::on_project(&input.project_id)
                .authorise(ctx)
                .await?;
            project::reverse_transaction(ctx, input.clone(), given).await
        })
        .await
    }

    /// Links a document to a project.
    #[graphql(guard = "access::ChangeProjects")]
    async fn add_document(
        &self,
        ctx: &Context<'_>,
        input: AddDocumentInput,
    ) -> Result<ProjectPayload, ApiError> {
        command::once_more_if_stale(|| project::add_document(ctx, input.clone())).await
    }

    /// Links another project of Amanah (parent, child, sibling, co-funded, third party).
    #[graphql(guard = "access::ChangeProjects")]
    async fn add_related_project(
        &self,
        ctx: &Context<'_>,
        input: AddRelatedProjectInput,
    ) -> Result<ProjectPayload, ApiError> {
        command::once_more_if_stale(|| project::add_related_project(ctx, input.clone())).await
    }

    /// Sets a project's IATI defaults (currency, language, collaboration, flow, finance, aid and
    /// tied-status types), all at once: a default left out is cleared.
    #[graphql(guard = "access::ChangeProjects")]
    async fn set_project_defaults(
        &self,
        ctx: &Context<'_>,
        input: SetProjectDefaultsInput,
    ) -> Result<ProjectPayload, ApiError> {
        command::once_more_if_stale(|| project::set_project_defaults(ctx, input.clone())).await
    }

    /// Sets where a project works (names, points, administrative areas): the whole list.
    #[graphql(guard = "access::ChangeProjects")]
    async fn set_locations(
        &self,
        ctx: &Context<'_>,
        input: SetLocationsInput,
    ) -> Result<ProjectPayload, ApiError> {
        command::once_more_if_stale(|| project::set_locations(ctx, input.clone())).await
    }

    /// Sets the money planned to be disbursed for a project, by period: the whole list.
    #[graphql(guard = "access::ChangeProjects")]
    async fn set_planned_disbursements(
        &self,
        ctx: &Context<'_>,
        input: SetPlannedDisbursementsInput,
    ) -> Result<ProjectPayload, ApiError> {
        command::once_more_if_stale(|| project::set_planned_disbursements(ctx, input.clone())).await
    }

    /// Sets a project's results, their indicators, baselines, targets and actuals: the whole
    /// list. Results are updated over time by setting the list again.
    #[graphql(guard = "access::ChangeProjects")]
    async fn set_results(
        &self,
        ctx: &Context<'_>,
        input: super::results::SetResultsInput,
    ) -> Result<ProjectPayload, ApiError> {
        command::once_more_if_stale(|| super::results::set_results(ctx, input.clone())).await
    }

    /// Sets whom to contact about a project: the whole list.
    #[graphql(guard = "access::ChangeProjects")]
    async fn set_contacts(
        &self,
        ctx: &Context<'_>,
        input: SetContactsInput,
    ) -> Result<ProjectPayload, ApiError> {
        command::once_more_if_stale(|| project::set_contacts(ctx, input.clone())).await
    }

    /// Sets a project's OECD DAC policy markers and their significance: the whole list.
    #[graphql(guard = "access::ChangeProjects")]
    async fn set_policy_markers(
        &self,
        ctx: &Context<'_>,
        input: SetPolicyMarkersInput,
    ) -> Result<ProjectPayload, ApiError> {
        command::once_more_if_stale(|| project::set_policy_markers(ctx, input.clone())).await
    }

    /// Adds another identifier to a project; type A3 names the project it follows on from.
    #[graphql(guard = "access::ChangeProjects")]
    async fn add_other_identifier(
        &self,
        ctx: &Context<'_>,
        input: AddOtherIdentifierInput,
    ) -> Result<ProjectPayload, ApiError> {
        command::once_more_if_stale(|| project::add_other_identifier(ctx, input.clone())).await
    }

    /// Unlinks a document from a project (to correct one, remove it and add it again).
    #[graphql(guard = "access::ChangeProjects")]
    async fn remove_document(
        &self,
        ctx: &Context<'_>,
        input: RemoveDocumentInput,
    ) -> Result<ProjectPayload, ApiError> {
        command::once_more_if_stale(|| project::remove_document(ctx, input.clone())).await
    }

    /// Ends one relation of a project to another project.
    #[graphql(guard = "access::ChangeProjects")]
    async fn remove_related_project(
        &self,
        ctx: &Context<'_>,
        input: RemoveRelatedProjectInput,
    ) -> Result<ProjectPayload, ApiError> {
        command::once_more_if_stale(|| project::remove_related_project(ctx, input.clone())).await
    }

    /// Removes one other identifier of a project.
    #[graphql(guard = "access::ChangeProjects")]
    async fn remove_other_identifier(
        &self,
        ctx: &Context<'_>,
        input: RemoveOtherIdentifierInput,
    ) -> Result<ProjectPayload, ApiError> {
        command::once_more_if_stale(|| project::remove_other_identifier(ctx, input.clone())).await
    }

    /// Plans an anti-corruption activity under a project (a new id is assigned).
    async fn plan_activity(
        &self,
        ctx: &Context<'_>,
        input: PlanActivityInput,
    ) -> Result<ActivityPayload, ApiError> {
        let input = &input;
        command::once_more_if_stale(move || async move {
            let given = access::WorkOnProject::on_project(&input.project_id)
                .authorise(ctx)
                .await?;
            activity::plan(ctx, input.clone(), given).await
        })
        .await
    }

    /// Corrects a PLANNED activity: title, description, partners (replaced when given), location.
    async fn revise_activity(
        &self,
        ctx: &Context<'_>,
        input: ReviseActivityInput,
    ) -> Result<ActivityPayload, ApiError> {
        let input = &input;
        command::once_more_if_stale(move || async move {
            let given = access::WorkOnProject::on_activity(&input.id)
                .authorise(ctx)
                .await?;
            activity::revise(ctx, input.clone(), given).await
        })
        .await
    }

    /// Gives a PLANNED activity new planned dates.
    async fn reschedule_activity(
        &self,
        ctx: &Context<'_>,
        input: RescheduleActivityInput,
    ) -> Result<ActivityPayload, ApiError> {
        let input = &input;
        command::once_more_if_stale(move || async move {
            let given = access::WorkOnProject::on_activity(&input.id)
                .authorise(ctx)
                .await?;
            activity::reschedule(ctx, input.clone(), given).await
        })
        .await
    }

    /// Records that a PLANNED activity took place: actual dates, participants, outcome.
    async fn complete_activity(
        &self,
        ctx: &Context<'_>,
        input: CompleteActivityInput,
    ) -> Result<ActivityPayload, ApiError> {
        let input = &input;
        command::once_more_if_stale(move || async move {
            let given = access::WorkOnProject::on_activity(&input.id)
                .authorise(ctx)
                .await?;
            activity::complete(ctx, input.clone(), given).await
        })
        .await
    }

    /// Cancels a PLANNED activity, with a reason.
    async fn cancel_activity(
        &self,
        ctx: &Context<'_>,
        input: CancelActivityInput,
    ) -> Result<ActivityPayload, ApiError> {
        let input = &input;
        command::once_more_if_stale(move || async move {
            let given = access::WorkOnProject::on_activity(&input.id)
                .authorise(ctx)
                .await?;
            activity::cancel(ctx, input.clone(), given).await
        })
        .await
    }

    /// Imports an IATI 2.03 activity file (`docs/iati.md`): validated against the schema, then
    /// each activity through the ordinary commands, all or nothing, with a report of what is not
    /// kept. An integrator may import only projects its organisation takes part in.
    #[graphql(guard = "access::ImportActivities")]
    async fn import_iati_activities(
        &self,
        ctx: &Context<'_>,
        input: super::iati_import::ImportIatiActivitiesInput,
    ) -> Result<super::iati_import::ImportIatiActivitiesPayload, ApiError> {
        super::iati_import::import_iati_activities(ctx, input).await
    }
}
