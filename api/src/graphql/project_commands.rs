//! The project mutations: their input objects, parsed into the domain's commands at the edge.
//!
//! Every raw value becomes a domain value type here; a value that does not parse is the domain's
//! own rejection (`ProjectError::Invalid`) naming the input path, e.g. `sectors[1].percentage`.
//! Organisations and projects an input names are looked up (as facts, on the write side) before
//! the command runs; one that does not exist is `BAD_USER_INPUT` naming its id field.

use amanah_domain::codelists::OtherIdentifierType;
use amanah_domain::ports::StreamRead;
use amanah_domain::project::{
    AddDocument, AddOtherIdentifier, AddParticipatingOrganisation, AddRelatedProject,
    AdministrativeArea, Budget as BudgetRow, ChangeProjectStatus, Contact, Location,
    OtherIdentifier, Participation, PlannedDisbursement, PolicyMarker, Project as ProjectState,
    ProjectCommand, ProjectDefaults, ProjectError, RecipientCountry as RecipientCountryRow,
    RecipientRegion as RecipientRegionRow, RecordTransaction, RegisterProject, RemoveDocument,
    RemoveOtherIdentifier, RemoveParticipatingOrganisation, RemoveRelatedProject,
    ReverseTransaction, ReviseProject, SectorShare as SectorShareRow, SetBudget, SetContacts,
    SetLocations, SetPlannedDisbursements, SetPolicyMarkers, SetProjectDefaults,
};
use amanah_domain::values::{
    Description, DocumentCategory, FieldPath, IatiIdentifier, MimeType, Money, OtherIdentifierRef,
    Title, TransactionRef, WebUrl,
};
use async_graphql::{Context, ID, InputObject, MaybeUndefined, SimpleObject};
use uuid::Uuid;

use super::command::{self, Expected, invalid, optional, patch, rejected};
use super::enums::{
    BudgetStatus, BudgetType, OrganisationRole, ProjectStatus, RelatedActivityType, TransactionType,
};
use super::ids::{parse_id, parse_optional_id};
use super::project::Project;
use super::scalars::{BigInt, Date, Percentage};
use crate::error::ApiError;

/// What a project mutation returns.
#[derive(SimpleObject)]
pub struct ProjectPayload {
    pub project: Project,
    #[graphql(flatten)]
    pub appended: super::audit::Appended,
}

/// An organisation and its role in a project.
#[derive(InputObject, Clone, Debug)]
pub struct ParticipatingOrganisationInput {
    pub organisation_id: ID,
    pub role: OrganisationRole,
}

/// A recipient country and its share.
#[derive(InputObject, Clone, Debug)]
pub struct RecipientCountryInput {
    /// ISO 3166-1 alpha-2 code, e.g. "ID".
    pub country: String,
    pub percentage: Percentage,
}

/// A recipient DAC region and its share.
#[derive(InputObject, Clone, Debug)]
pub struct RecipientRegionInput {
    /// DAC region code: "689", "789" or "798".
    pub code: String,
    pub percentage: Percentage,
}

/// A DAC sector and its share.
#[derive(InputObject, Clone, Debug)]
pub struct SectorShareInput {
    /// DAC 5-digit sector code, e.g. "15113".
    pub code: String,
    pub percentage: Percentage,
}

/// An amount in minor units of an ISO 4217 currency.
#[derive(InputObject, Clone, Debug)]
pub struct MoneyInput {
    pub minor_units: BigInt,
    pub currency: String,
}

/// `registerProject`: a new project starts in status PIPELINE.
#[derive(InputObject, Clone, Debug)]
pub struct RegisterProjectInput {
    /// The reporting organisation's ref, a dash, and more; never changes once registered.
    pub iati_identifier: String,
    /// An organisation with an IATI ref.
    pub reporting_organisation_id: ID,
    pub title: String,
    pub description: String,
    pub objectives: Option<String>,
    pub planned_start: Date,
    pub planned_end: Date,
    pub participating_organisations: Vec<ParticipatingOrganisationInput>,
    /// With `recipientRegions`: at least one country or region, together 100 % (IATI rule 3.7.1).
    pub recipient_countries: Option<Vec<RecipientCountryInput>>,
    pub recipient_regions: Option<Vec<RecipientRegionInput>>,
    /// At least one DAC sector, together 100 % (IATI rule 6.2.2).
    pub sectors: Option<Vec<SectorShareInput>>,
}

/// `reviseProject`: omitted fields stay as they are; a list given replaces the whole list (a
/// project keeps at least one sector and one recipient country or region); `objectives: null`
/// clears the objectives.
#[derive(InputObject, Clone, Debug)]
pub struct ReviseProjectInput {
    pub id: ID,
    pub expected_version: i64,
    pub title: Option<String>,
    pub description: Option<String>,
    pub objectives: MaybeUndefined<String>,
    pub planned_start: Option<Date>,
    pub planned_end: Option<Date>,
    pub recipient_countries: Option<Vec<RecipientCountryInput>>,
    pub recipient_regions: Option<Vec<RecipientRegionInput>>,
    pub sectors: Option<Vec<SectorShareInput>>,
}

/// `changeProjectStatus`: actual dates given replace the recorded ones.
#[derive(InputObject, Clone, Debug)]
pub struct ChangeProjectStatusInput {
    pub id: ID,
    pub expected_version: i64,
    pub status: ProjectStatus,
    pub actual_start: Option<Date>,
    pub actual_end: Option<Date>,
}

/// `addParticipatingOrganisation` and `removeParticipatingOrganisation`.
#[derive(InputObject, Clone, Debug)]
pub struct ParticipatingOrganisationChangeInput {
    pub project_id: ID,
    pub expected_version: i64,
    pub organisation_id: ID,
    pub role: OrganisationRole,
}

/// One budget row; a period is at most one year.
#[derive(InputObject, Clone, Debug)]
pub struct BudgetInput {
    #[graphql(name = "type")]
    pub budget_type: BudgetType,
    pub status: BudgetStatus,
    pub period_start: Date,
    pub period_end: Date,
    pub value: MoneyInput,
    pub value_date: Date,
}

/// `setBudget`: replaces all budget rows (an empty list clears them).
#[derive(InputObject, Clone, Debug)]
pub struct SetBudgetInput {
    pub project_id: ID,
    pub expected_version: i64,
    pub budgets: Vec<BudgetInput>,
}

/// `recordTransaction`: transactions are append-only.
#[derive(InputObject, Clone, Debug)]
pub struct RecordTransactionInput {
    pub project_id: ID,
    pub expected_version: i64,
    #[graphql(name = "type")]
    pub transaction_type: TransactionType,
    pub date: Date,
    pub value: MoneyInput,
    pub value_date: Date,
    pub description: Option<String>,
    pub provider_organisation_id: Option<ID>,
    pub receiver_organisation_id: Option<ID>,
    #[graphql(name = "ref")]
    pub reference: Option<String>,
}

/// `reverseTransaction`: records a reversal dated today with the negated value.
#[derive(InputObject, Clone, Debug)]
pub struct ReverseTransactionInput {
    pub project_id: ID,
    pub expected_version: i64,
    pub transaction_id: ID,
    pub reason: String,
}

/// `addDocument`.
#[derive(InputObject, Clone, Debug)]
pub struct AddDocumentInput {
    pub project_id: ID,
    pub expected_version: i64,
    pub url: String,
    pub title: String,
    /// IATI DocumentCategory code, e.g. "A05".
    pub category_code: String,
    /// MIME type, e.g. "application/pdf".
    pub format: String,
    pub date: Option<Date>,
}

/// `addRelatedProject`: links another project of Amanah.
#[derive(InputObject, Clone, Debug)]
pub struct AddRelatedProjectInput {
    pub project_id: ID,
    pub expected_version: i64,
    pub related_project_id: ID,
    #[graphql(name = "type")]
    pub relation: RelatedActivityType,
}

/// `addOtherIdentifier`: type A3 (Previous Activity Identifier) links a follow-on project to its
/// predecessor's IATI identifier.
#[derive(InputObject, Clone, Debug)]
pub struct AddOtherIdentifierInput {
    pub project_id: ID,
    pub expected_version: i64,
    #[graphql(name = "ref")]
    pub reference: String,
    /// IATI OtherIdentifierType code: A1, A2, A3, A4, A9, B1 or B9.
    pub type_code: String,
}

/// `setProjectDefaults`: the project's IATI defaults, all of them at once (a default left out, or
/// null, is cleared). Codes withdrawn from their list are refused as new defaults.
#[derive(InputObject, Clone, Debug)]
pub struct SetProjectDefaultsInput {
    pub project_id: ID,
    pub expected_version: i64,
    /// ISO 4217 currency code, e.g. EUR: the activity's `@default-currency`.
    pub currency: Option<String>,
    /// IATI Language code (ISO 639-1), e.g. en: the activity's `@xml:lang`.
    pub language: Option<String>,
    /// IATI CollaborationType code, e.g. 1 (Bilateral).
    pub collaboration_type_code: Option<String>,
    /// IATI FlowType code, e.g. 10 (ODA).
    pub flow_type_code: Option<String>,
    /// IATI FinanceType code, e.g. 110 (Standard grant).
    pub finance_type_code: Option<String>,
    /// IATI AidType code of the OECD DAC vocabulary, e.g. C01 (Project-type interventions).
    pub aid_type_code: Option<String>,
    /// IATI TiedStatus code, e.g. 5 (Untied).
    pub tied_status_code: Option<String>,
}

/// `setLocations`: where the project works, the whole list (an empty list clears it).
#[derive(InputObject, Clone, Debug)]
pub struct SetLocationsInput {
    pub project_id: ID,
    pub expected_version: i64,
    pub locations: Vec<LocationInput>,
}

/// One location: a name (each once), and optionally a description, a point and an
/// administrative area.
#[derive(InputObject, Clone, Debug)]
pub struct LocationInput {
    pub name: String,
    pub description: Option<String>,
    pub point: Option<PointInput>,
    pub administrative: Option<AdministrativeAreaInput>,
}

/// A point in WGS 84 degrees, as decimal strings with at most six places (never floats).
#[derive(InputObject, Clone, Debug)]
pub struct PointInput {
    /// −90 to 90, e.g. "-6.175392".
    pub latitude: String,
    /// −180 to 180, e.g. "106.827153".
    pub longitude: String,
}

/// An administrative area in a geographic vocabulary.
#[derive(InputObject, Clone, Debug)]
pub struct AdministrativeAreaInput {
    /// IATI GeographicVocabulary code, e.g. A1 (GAUL), A4 (ISO country and subdivision).
    pub vocabulary_code: String,
    /// 0 for a country, 1 for its first-level subdivisions, … (at most 10).
    pub level: Option<i32>,
    pub code: String,
}

/// `setPlannedDisbursements`: the money planned to be disbursed, by period, the whole list (an
/// empty list clears it).
#[derive(InputObject, Clone, Debug)]
pub struct SetPlannedDisbursementsInput {
    pub project_id: ID,
    pub expected_version: i64,
    pub planned_disbursements: Vec<PlannedDisbursementInput>,
}

/// One planned disbursement: the period may be open-ended; the value is never negative.
#[derive(InputObject, Clone, Debug)]
pub struct PlannedDisbursementInput {
    #[graphql(name = "type")]
    pub disbursement_type: BudgetType,
    pub period_start: Date,
    pub period_end: Option<Date>,
    pub value: MoneyInput,
    pub value_date: Date,
    /// The organisation the money comes from (IATI `provider-org`).
    pub provider_organisation_id: Option<ID>,
    /// The organisation it goes to (IATI `receiver-org`).
    pub receiver_organisation_id: Option<ID>,
}

/// `setContacts`: whom to contact about the project, the whole list (an empty list clears it).
#[derive(InputObject, Clone, Debug)]
pub struct SetContactsInput {
    pub project_id: ID,
    pub expected_version: i64,
    pub contacts: Vec<ContactInput>,
}

/// One contact (IATI `contact-info`): every part optional, but at least one of the names, the
/// title, the telephone, the e-mail, the website or the address given.
#[derive(InputObject, Clone, Debug)]
pub struct ContactInput {
    /// IATI ContactType code: 1 General Enquiries, 2 Project Management, 3 Financial
    /// Management, 4 Communications.
    pub type_code: Option<String>,
    pub organisation: Option<String>,
    pub department: Option<String>,
    pub person_name: Option<String>,
    pub job_title: Option<String>,
    pub telephone: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    pub mailing_address: Option<String>,
}

/// `setPolicyMarkers`: the project's OECD DAC policy markers, the whole list (an empty list clears
/// it).
#[derive(InputObject, Clone, Debug)]
pub struct SetPolicyMarkersInput {
    pub project_id: ID,
    pub expected_version: i64,
    pub policy_markers: Vec<PolicyMarkerInput>,
}

/// One policy marker and its significance.
#[derive(InputObject, Clone, Debug)]
pub struct PolicyMarkerInput {
    /// IATI PolicyMarker code, e.g. 3 (Participatory Development/Good Governance).
    pub code: String,
    /// IATI PolicySignificance code: 0 not targeted, 1 significant, 2 principal objective, 3 for
    /// desertification (marker 8) only, 4 for RMNCH (marker 9) only.
    pub significance: String,
}

/// `removeDocument`: unlinks the document with this URL (to correct a document, remove it and
/// add it again).
#[derive(InputObject, Clone, Debug)]
pub struct RemoveDocumentInput {
    pub project_id: ID,
    pub expected_version: i64,
    pub url: String,
}

/// `removeRelatedProject`: ends one relation (project and type) to another project.
#[derive(InputObject, Clone, Debug)]
pub struct RemoveRelatedProjectInput {
    pub project_id: ID,
    pub expected_version: i64,
    pub related_project_id: ID,
    #[graphql(name = "type")]
    pub relation: RelatedActivityType,
}

/// `removeOtherIdentifier`: removes one other identifier, named by its `ref` and type.
#[derive(InputObject, Clone, Debug)]
pub struct RemoveOtherIdentifierInput {
    pub project_id: ID,
    pub expected_version: i64,
    #[graphql(name = "ref")]
    pub reference: String,
    /// IATI OtherIdentifierType code: A1, A2, A3, A4, A9, B1 or B9.
    pub type_code: String,
}

/// Each row of a list input through the domain's own constructor (which names `list[i].leaf`).
fn rows<I, T>(
    rows: &[I],
    parse: impl Fn(usize, &I) -> Result<T, ProjectError>,
) -> Result<Vec<T>, ApiError> {
    rows.iter()
        .enumerate()
        .map(|(index, row)| parse(index, row).map_err(rejected))
        .collect()
}

fn recipient_countries(
    input: &[RecipientCountryInput],
) -> Result<Vec<RecipientCountryRow>, ApiError> {
    rows(input, |index, row| {
        RecipientCountryRow::parse(index, &row.country, row.percentage.as_str())
    })
}

fn recipient_regions(input: &[RecipientRegionInput]) -> Result<Vec<RecipientRegionRow>, ApiError> {
    rows(input, |index, row| {
        RecipientRegionRow::parse(index, &row.code, row.percentage.as_str())
    })
}

fn sectors(input: &[SectorShareInput]) -> Result<Vec<SectorShareRow>, ApiError> {
    rows(input, |index, row| {
        SectorShareRow::parse(index, &row.code, row.percentage.as_str())
    })
}

/// The list of a revision: `None` keeps the current one.
fn revised_list<I, T>(
    rows: Option<&[I]>,
    parse: impl FnOnce(&[I]) -> Result<Vec<T>, ApiError>,
) -> Result<Option<Vec<T>>, ApiError> {
    rows.map(parse).transpose()
}

/// Runs `command`, valid only while the streams of `given` (an access decision's basis; empty
/// when the decision needed none) are unchanged.
pub(super) async fn payload(
    ctx: &Context<'_>,
    id: Uuid,
    expected: Expected,
    command: ProjectCommand,
    given: Vec<StreamRead>,
) -> Result<ProjectPayload, ApiError> {
    let committed = command::execute::<ProjectState>(ctx, id, expected, command, given).await?;
    Ok(ProjectPayload {
        appended: (&committed).into(),
        project: committed.state.into(),
    })
}

/// The facts of an organisation named by `field`.
async fn organisation(
    ctx: &Context<'_>,
    id: Uuid,
    field: FieldPath,
) -> Result<amanah_domain::organisation::OrganisationFacts, ApiError> {
    command::organisation_facts(ctx, id, || ProjectError::UnknownOrganisation { field, id }).await
}

/// Parses and runs `registerProject`.
///
/// # Errors
/// `BAD_USER_INPUT` naming the field (including a taken `iatiIdentifier`); store failures.
pub async fn register(
    ctx: &Context<'_>,
    input: RegisterProjectInput,
) -> Result<ProjectPayload, ApiError> {
    let id = Uuid::now_v7();
    let iati_identifier =
        IatiIdentifier::parse(&input.iati_identifier).map_err(invalid("iatiIdentifier"))?;
    let reporting_id = parse_id(&input.reporting_organisation_id, "reportingOrganisationId")?;
    let title = Title::parse(&input.title).map_err(invalid("title"))?;
    let description = Description::parse(&input.description).map_err(invalid("description"))?;
    let objectives = optional(
        input.objectives.as_deref(),
        "objectives",
        Description::parse,
    )?;
    let planned_start = input.planned_start.parse("plannedStart")?;
    let planned_end = input.planned_end.parse("plannedEnd")?;
    let named = command::named_organisations(
        "participatingOrganisations",
        &input.participating_organisations,
        |row| (&row.organisation_id, row.role),
    )?;
    let recipient_countries =
        recipient_countries(input.recipient_countries.as_deref().unwrap_or_default())?;
    let recipient_regions =
        recipient_regions(input.recipient_regions.as_deref().unwrap_or_default())?;
    let sectors = sectors(input.sectors.as_deref().unwrap_or_default())?;

    let reporting_organisation =
        organisation(ctx, reporting_id, FieldPath::new("reportingOrganisationId")).await?;
    let participating_organisations = command::organisations(
        ctx,
        named,
        |field, id| ProjectError::UnknownOrganisation { field, id },
        |organisation, role| Participation {
            organisation,
            role: role.into(),
        },
    )
    .await?;
    let command = ProjectCommand::Register(RegisterProject {
        id,
        iati_identifier,
        reporting_organisation,
        title,
        description,
        objectives,
        planned_start,
        planned_end,
        participating_organisations,
        recipient_countries,
        recipient_regions,
        sectors,
    });
    payload(ctx, id, Expected::Minted, command, Vec::new()).await
}

/// Parses and runs `reviseProject`.
///
/// # Errors
/// `BAD_USER_INPUT` naming the field, `NOT_FOUND`, `CONFLICT`; store failures.
pub async fn revise(
    ctx: &Context<'_>,
    input: ReviseProjectInput,
) -> Result<ProjectPayload, ApiError> {
    let (id, expected) = command::target(&input.id, "id", input.expected_version)?;
    let objectives = patch(&input.objectives, "objectives", Description::parse)?;
    let command = ProjectCommand::Revise(ReviseProject {
        id,
        title: optional(input.title.as_deref(), "title", Title::parse)?,
        description: optional(
            input.description.as_deref(),
            "description",
            Description::parse,
        )?,
        objectives,
        planned_start: Date::parse_optional(input.planned_start.as_ref(), "plannedStart")?,
        planned_end: Date::parse_optional(input.planned_end.as_ref(), "plannedEnd")?,
        recipient_countries: revised_list(
            input.recipient_countries.as_deref(),
            recipient_countries,
        )?,
        recipient_regions: revised_list(input.recipient_regions.as_deref(), recipient_regions)?,
        sectors: revised_list(input.sectors.as_deref(), sectors)?,
    });
    payload(ctx, id, expected, command, Vec::new()).await
}

/// Parses and runs `changeProjectStatus`.
///
/// # Errors
/// `BAD_USER_INPUT` (an illegal transition, missing actual dates), `NOT_FOUND`, `CONFLICT`.
pub async fn change_status(
    ctx: &Context<'_>,
    input: ChangeProjectStatusInput,
) -> Result<ProjectPayload, ApiError> {
    let (id, expected) = command::target(&input.id, "id", input.expected_version)?;
    let command = ProjectCommand::ChangeStatus(ChangeProjectStatus {
        id,
        status: input.status.into(),
        actual_start: Date::parse_optional(input.actual_start.as_ref(), "actualStart")?,
        actual_end: Date::parse_optional(input.actual_end.as_ref(), "actualEnd")?,
    });
    payload(ctx, id, expected, command, Vec::new()).await
}

/// Parses and runs `addParticipatingOrganisation` (`add = true`) or
/// `removeParticipatingOrganisation`.
///
/// # Errors
/// `BAD_USER_INPUT` (an unknown organisation, a role held twice, the last participant),
/// `NOT_FOUND`, `CONFLICT`.
pub async fn change_participation(
    ctx: &Context<'_>,
    input: ParticipatingOrganisationChangeInput,
    add: bool,
) -> Result<ProjectPayload, ApiError> {
    let (id, expected) = command::target(&input.project_id, "projectId", input.expected_version)?;
    let organisation_id = parse_id(&input.organisation_id, "organisationId")?;
    let role = input.role.into();
    let command = if add {
        ProjectCommand::AddParticipatingOrganisation(AddParticipatingOrganisation {
            project_id: id,
            organisation: organisation(ctx, organisation_id, FieldPath::new("organisationId"))
                .await?,
            role,
        })
    } else {
        ProjectCommand::RemoveParticipatingOrganisation(RemoveParticipatingOrganisation {
            project_id: id,
            organisation_id,
            role,
        })
    };
    payload(ctx, id, expected, command, Vec::new()).await
}

/// Parses and runs `setBudget`.
///
/// # Errors
/// `BAD_USER_INPUT` naming `budgets[i]…`, `NOT_FOUND`, `CONFLICT`.
pub async fn set_budget(
    ctx: &Context<'_>,
    input: SetBudgetInput,
) -> Result<ProjectPayload, ApiError> {
    let (id, expected) = command::target(&input.project_id, "projectId", input.expected_version)?;
    let budgets = input
        .budgets
        .iter()
        .enumerate()
        .map(|(index, row)| {
            let at = |leaf| FieldPath::list("budgets", index).field(leaf);
            BudgetRow::parse(
                index,
                row.budget_type.into(),
                row.status.into(),
                row.period_start.parse(at("periodStart"))?,
                row.period_end.parse(at("periodEnd"))?,
                row.value.minor_units.as_str(),
                &row.value.currency,
                row.value_date.parse(at("valueDate"))?,
            )
            .map_err(rejected)
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let command = ProjectCommand::SetBudget(SetBudget {
        project_id: id,
        budgets,
    });
    payload(ctx, id, expected, command, Vec::new()).await
}

/// Parses and runs `recordTransaction`; `given` is what the access decision was based on.
///
/// # Errors
/// `BAD_USER_INPUT` naming the field, `NOT_FOUND`, `CONFLICT`.
pub async fn record_transaction(
    ctx: &Context<'_>,
    input: RecordTransactionInput,
    given: Vec<StreamRead>,
) -> Result<ProjectPayload, ApiError> {
    let (id, expected) = command::target(&input.project_id, "projectId", input.expected_version)?;
    let date = input.date.parse("date")?;
    let value = Money::parse(input.value.minor_units.as_str(), &input.value.currency)
        .map_err(|error| rejected(ProjectError::invalid_money("value")(error)))?;
    let value_date = input.value_date.parse("valueDate")?;
    let description = optional(
        input.description.as_deref(),
        "description",
        Description::parse,
    )?;
    let reference = optional(input.reference.as_deref(), "ref", TransactionRef::parse)?;
    let provider_id = parse_optional_id(
        input.provider_organisation_id.as_ref(),
        "providerOrganisationId",
    )?;
    let receiver_id = parse_optional_id(
        input.receiver_organisation_id.as_ref(),
        "receiverOrganisationId",
    )?;
    let provider_organisation = match provider_id {
        Some(org) => Some(organisation(ctx, org, FieldPath::new("providerOrganisationId")).await?),
        None => None,
    };
    let receiver_organisation = match receiver_id {
        Some(org) => Some(organisation(ctx, org, FieldPath::new("receiverOrganisationId")).await?),
        None => None,
    };
    let command = ProjectCommand::RecordTransaction(RecordTransaction {
        project_id: id,
        transaction_id: Uuid::now_v7(),
        transaction_type: input.transaction_type.into(),
        date,
        value,
        value_date,
        description,
        provider_organisation,
        receiver_organisation,
        reference,
    });
    payload(ctx, id, expected, command, given).await
}

/// Parses and runs `reverseTransaction`; `given` is what the access decision was based on.
///
/// # Errors
/// `BAD_USER_INPUT` (an unknown or already reversed transaction), `NOT_FOUND`, `CONFLICT`.
pub async fn reverse_transaction(
    ctx: &Context<'_>,
    input: ReverseTransactionInput,
    given: Vec<StreamRead>,
) -> Result<ProjectPayload, ApiError> {
    let (id, expected) = command::target(&input.project_id, "projectId", input.expected_version)?;
    let transaction_id = parse_id(&input.transaction_id, "transactionId")?;
    let reason = Description::parse(&input.reason).map_err(invalid("reason"))?;
    let transaction = command::known_transaction(ctx, id, transaction_id).await?;
    let command = ProjectCommand::ReverseTransaction(ReverseTransaction {
        project_id: id,
        transaction,
        reversal_id: Uuid::now_v7(),
        reason,
    });
    payload(ctx, id, expected, command, given).await
}

/// Parses and runs `addDocument`.
///
/// # Errors
/// `BAD_USER_INPUT` naming the field, `NOT_FOUND`, `CONFLICT`.
pub async fn add_document(
    ctx: &Context<'_>,
    input: AddDocumentInput,
) -> Result<ProjectPayload, ApiError> {
    let (id, expected) = command::target(&input.project_id, "projectId", input.expected_version)?;
    let command = ProjectCommand::AddDocument(AddDocument {
        project_id: id,
        url: WebUrl::parse(&input.url).map_err(invalid("url"))?,
        title: Title::parse(&input.title).map_err(invalid("title"))?,
        category: DocumentCategory::parse(&input.category_code).map_err(invalid("categoryCode"))?,
        format: MimeType::parse(&input.format).map_err(invalid("format"))?,
        date: Date::parse_optional(input.date.as_ref(), "date")?,
    });
    payload(ctx, id, expected, command, Vec::new()).await
}

/// Parses and runs `addRelatedProject`.
///
/// # Errors
/// `BAD_USER_INPUT` (an unknown related project, the project itself), `NOT_FOUND`, `CONFLICT`.
pub async fn add_related_project(
    ctx: &Context<'_>,
    input: AddRelatedProjectInput,
) -> Result<ProjectPayload, ApiError> {
    let (id, expected) = command::target(&input.project_id, "projectId", input.expected_version)?;
    let related_id = parse_id(&input.related_project_id, "relatedProjectId")?;
    let related = command::project_facts(ctx, related_id, || ProjectError::UnknownProject {
        field: FieldPath::new("relatedProjectId"),
        id: related_id,
    })
    .await?;
    let command = ProjectCommand::AddRelatedProject(AddRelatedProject {
        project_id: id,
        related,
        relation: input.relation.into(),
    });
    payload(ctx, id, expected, command, Vec::new()).await
}

/// The `ref` and `typeCode` of an other identifier (added or removed).
fn other_identifier(reference: &str, type_code: &str) -> Result<OtherIdentifier, ApiError> {
    Ok(OtherIdentifier {
        reference: OtherIdentifierRef::parse(reference).map_err(invalid("ref"))?,
        identifier_type: OtherIdentifierType::parse(type_code).map_err(invalid("typeCode"))?,
    })
}

/// Parses and runs `addOtherIdentifier`.
///
/// # Errors
/// `BAD_USER_INPUT` naming `ref` or `typeCode`, `NOT_FOUND`, `CONFLICT`.
pub async fn add_other_identifier(
    ctx: &Context<'_>,
    input: AddOtherIdentifierInput,
) -> Result<ProjectPayload, ApiError> {
    let (id, expected) = command::target(&input.project_id, "projectId", input.expected_version)?;
    let OtherIdentifier {
        reference,
        identifier_type,
    } = other_identifier(&input.reference, &input.type_code)?;
    let command = ProjectCommand::AddOtherIdentifier(AddOtherIdentifier {
        project_id: id,
        reference,
        identifier_type,
    });
    payload(ctx, id, expected, command, Vec::new()).await
}

/// Parses and runs `removeDocument`.
///
/// # Errors
/// `BAD_USER_INPUT` naming `url` (also when no document has it), `NOT_FOUND`, `CONFLICT`.
pub async fn remove_document(
    ctx: &Context<'_>,
    input: RemoveDocumentInput,
) -> Result<ProjectPayload, ApiError> {
    let (id, expected) = command::target(&input.project_id, "projectId", input.expected_version)?;
    let command = ProjectCommand::RemoveDocument(RemoveDocument {
        project_id: id,
        url: WebUrl::parse(&input.url).map_err(invalid("url"))?,
    });
    payload(ctx, id, expected, command, Vec::new()).await
}

/// Parses and runs `removeRelatedProject`.
///
/// # Errors
/// `BAD_USER_INPUT` naming `relatedProjectId` (also when no such relation exists), `NOT_FOUND`,
/// `CONFLICT`.
pub async fn remove_related_project(
    ctx: &Context<'_>,
    input: RemoveRelatedProjectInput,
) -> Result<ProjectPayload, ApiError> {
    let (id, expected) = command::target(&input.project_id, "projectId", input.expected_version)?;
    let command = ProjectCommand::RemoveRelatedProject(RemoveRelatedProject {
        project_id: id,
        related_project_id: parse_id(&input.related_project_id, "relatedProjectId")?,
        relation: input.relation.into(),
    });
    payload(ctx, id, expected, command, Vec::new()).await
}

/// Parses and runs `removeOtherIdentifier`.
///
/// # Errors
/// `BAD_USER_INPUT` naming `ref` or `typeCode`, `NOT_FOUND`, `CONFLICT`.
pub async fn remove_other_identifier(
    ctx: &Context<'_>,
    input: RemoveOtherIdentifierInput,
) -> Result<ProjectPayload, ApiError> {
    let (id, expected) = command::target(&input.project_id, "projectId", input.expected_version)?;
    let command = ProjectCommand::RemoveOtherIdentifier(RemoveOtherIdentifier {
        project_id: id,
        identifier: other_identifier(&input.reference, &input.type_code)?,
    });
    payload(ctx, id, expected, command, Vec::new()).await
}

/// Parses and runs `setProjectDefaults`.
///
/// # Errors
/// `BAD_USER_INPUT` naming the code at fault (or none when nothing changes), `NOT_FOUND`,
/// `CONFLICT`.
pub async fn set_project_defaults(
    ctx: &Context<'_>,
    input: SetProjectDefaultsInput,
) -> Result<ProjectPayload, ApiError> {
    use amanah_domain::values::{
        AidType, CollaborationType, CurrencyCode, FinanceType, FlowType, LanguageCode, TiedStatus,
    };

    let (id, expected) = command::target(&input.project_id, "projectId", input.expected_version)?;
    let defaults = ProjectDefaults {
        currency: optional(input.currency.as_deref(), "currency", CurrencyCode::parse)?,
        language: optional(input.language.as_deref(), "language", LanguageCode::parse)?,
        collaboration_type: optional(
            input.collaboration_type_code.as_deref(),
            "collaborationTypeCode",
            CollaborationType::parse,
        )?,
        flow_type: optional(
            input.flow_type_code.as_deref(),
            "flowTypeCode",
            FlowType::parse,
        )?,
        finance_type: optional(
            input.finance_type_code.as_deref(),
            "financeTypeCode",
            FinanceType::parse,
        )?,
        aid_type: optional(
            input.aid_type_code.as_deref(),
            "aidTypeCode",
            AidType::parse,
        )?,
        tied_status: optional(
            input.tied_status_code.as_deref(),
            "tiedStatusCode",
            TiedStatus::parse,
        )?,
    };
    let command = ProjectCommand::SetDefaults(SetProjectDefaults {
        project_id: id,
        defaults,
    });
    payload(ctx, id, expected, command, Vec::new()).await
}

/// Parses and runs `setPolicyMarkers`.
///
/// # Errors
/// `BAD_USER_INPUT` naming `policyMarkers[i].code` or `.significance` (or `input` when nothing
/// changes), `NOT_FOUND`, `CONFLICT`.
pub async fn set_policy_markers(
    ctx: &Context<'_>,
    input: SetPolicyMarkersInput,
) -> Result<ProjectPayload, ApiError> {
    use amanah_domain::values::{FieldPath, PolicyMarkerCode, PolicySignificance};

    let (id, expected) = command::target(&input.project_id, "projectId", input.expected_version)?;
    let policy_markers = input
        .policy_markers
        .iter()
        .enumerate()
        .map(|(index, row)| {
            let at = FieldPath::list("policyMarkers", index);
            Ok(PolicyMarker {
                code: PolicyMarkerCode::parse(&row.code)
                    .map_err(invalid(at.clone().field("code")))?,
                significance: PolicySignificance::parse(&row.significance)
                    .map_err(invalid(at.field("significance")))?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let command = ProjectCommand::SetPolicyMarkers(SetPolicyMarkers {
        project_id: id,
        policy_markers,
    });
    payload(ctx, id, expected, command, Vec::new()).await
}

/// Parses and runs `setContacts`.
///
/// # Errors
/// `BAD_USER_INPUT` naming `contacts[i]` or one of its fields (or `input` when nothing changes),
/// `NOT_FOUND`, `CONFLICT`.
pub async fn set_contacts(
    ctx: &Context<'_>,
    input: SetContactsInput,
) -> Result<ProjectPayload, ApiError> {
    use amanah_domain::values::{ContactType, EmailAddress, Name, Telephone};

    let (id, expected) = command::target(&input.project_id, "projectId", input.expected_version)?;
    let contacts = input
        .contacts
        .iter()
        .enumerate()
        .map(|(index, row)| {
            let at = FieldPath::list("contacts", index);
            Ok(Contact {
                contact_type: optional(
                    row.type_code.as_deref(),
                    at.clone().field("typeCode"),
                    ContactType::parse,
                )?,
                organisation: optional(
                    row.organisation.as_deref(),
                    at.clone().field("organisation"),
                    Name::parse,
                )?,
                department: optional(
                    row.department.as_deref(),
                    at.clone().field("department"),
                    Name::parse,
                )?,
                person_name: optional(
                    row.person_name.as_deref(),
                    at.clone().field("personName"),
                    Name::parse,
                )?,
                job_title: optional(
                    row.job_title.as_deref(),
                    at.clone().field("jobTitle"),
                    Title::parse,
                )?,
                telephone: optional(
                    row.telephone.as_deref(),
                    at.clone().field("telephone"),
                    Telephone::parse,
                )?,
                email: optional(
                    row.email.as_deref(),
                    at.clone().field("email"),
                    EmailAddress::parse,
                )?,
                website: optional(
                    row.website.as_deref(),
                    at.clone().field("website"),
                    WebUrl::parse,
                )?,
                mailing_address: optional(
                    row.mailing_address.as_deref(),
                    at.clone().field("mailingAddress"),
                    Description::parse,
                )?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let command = ProjectCommand::SetContacts(SetContacts {
        project_id: id,
        contacts,
    });
    payload(ctx, id, expected, command, Vec::new()).await
}

/// Parses and runs `setPlannedDisbursements`.
///
/// # Errors
/// `BAD_USER_INPUT` naming the row's field at fault (or `input` when nothing changes),
/// `NOT_FOUND`, `CONFLICT`.
pub async fn set_planned_disbursements(
    ctx: &Context<'_>,
    input: SetPlannedDisbursementsInput,
) -> Result<ProjectPayload, ApiError> {
    let (id, expected) = command::target(&input.project_id, "projectId", input.expected_version)?;
    let mut planned_disbursements = Vec::new();
    let mut organisations: Vec<amanah_domain::organisation::OrganisationFacts> = Vec::new();
    for (index, row) in input.planned_disbursements.iter().enumerate() {
        let at = |leaf| FieldPath::list("plannedDisbursements", index).field(leaf);
        let period_end = match &row.period_end {
            Some(end) => Some(end.parse(at("periodEnd"))?),
            None => None,
        };
        let mut parsed = PlannedDisbursement::parse(
            index,
            row.disbursement_type.into(),
            (row.period_start.parse(at("periodStart"))?, period_end),
            row.value.minor_units.as_str(),
            &row.value.currency,
            row.value_date.parse(at("valueDate"))?,
        )
        .map_err(rejected)?;
        for (leaf, raw) in [
            ("providerOrganisationId", &row.provider_organisation_id),
            ("receiverOrganisationId", &row.receiver_organisation_id),
        ] {
            let field = at(leaf);
            let Some(org) = parse_optional_id(raw.as_ref(), field.clone())? else {
                continue;
            };
            if !organisations.iter().any(|facts| facts.id == org) {
                organisations.push(organisation(ctx, org, field).await?);
            }
            if leaf == "providerOrganisationId" {
                parsed.provider_organisation_id = Some(org);
            } else {
                parsed.receiver_organisation_id = Some(org);
            }
        }
        planned_disbursements.push(parsed);
    }
    let command = ProjectCommand::SetPlannedDisbursements(SetPlannedDisbursements {
        project_id: id,
        planned_disbursements,
        organisations,
    });
    payload(ctx, id, expected, command, Vec::new()).await
}

/// Parses and runs `setLocations`.
///
/// # Errors
/// `BAD_USER_INPUT` naming the location's field at fault (or `input` when nothing changes),
/// `NOT_FOUND`, `CONFLICT`.
pub async fn set_locations(
    ctx: &Context<'_>,
    input: SetLocationsInput,
) -> Result<ProjectPayload, ApiError> {
    use amanah_domain::values::{
        AreaCode, GeoPoint, GeographicVocabulary, Name, parse_administrative_level,
    };

    let (id, expected) = command::target(&input.project_id, "projectId", input.expected_version)?;
    let locations = input
        .locations
        .iter()
        .enumerate()
        .map(|(index, row)| {
            let at = FieldPath::list("locations", index);
            let point = match &row.point {
                Some(point) => Some(GeoPoint::parse(&point.latitude, &point.longitude).map_err(
                    |(leaf, error)| invalid(at.clone().field("point").field(leaf))(error),
                )?),
                None => None,
            };
            let administrative = match &row.administrative {
                Some(area) => {
                    let at = at.clone().field("administrative");
                    Some(AdministrativeArea {
                        vocabulary: GeographicVocabulary::parse(&area.vocabulary_code)
                            .map_err(invalid(at.clone().field("vocabularyCode")))?,
                        level: area
                            .level
                            .map(|level| parse_administrative_level(i64::from(level)))
                            .transpose()
                            .map_err(invalid(at.clone().field("level")))?,
                        code: AreaCode::parse(&area.code).map_err(invalid(at.field("code")))?,
                    })
                }
                None => None,
            };
            Ok(Location {
                name: Name::parse(&row.name).map_err(invalid(at.clone().field("name")))?,
                description: optional(
                    row.description.as_deref(),
                    at.field("description"),
                    Description::parse,
                )?,
                point,
                administrative,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let command = ProjectCommand::SetLocations(SetLocations {
        project_id: id,
        locations,
    });
    payload(ctx, id, expected, command, Vec::new()).await
}
