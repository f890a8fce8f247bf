//! Projects (IATI activities): the `Project` type and the types it is made of, and the
//! `projects` filter. The project mutations' inputs are in [`super::project_commands`].

use std::sync::Arc;

use amanah_domain::project::{
    Budget as BudgetRow, Document as DocumentRow, OtherIdentifier as OtherIdentifierRow,
    ParticipatingOrganisation as ParticipationRow, Project as ProjectState,
    RecipientCountry as RecipientCountryRow, RecipientRegion as RecipientRegionRow,
    RelatedProject as RelatedProjectRow, SectorShare as SectorShareRow,
    Transaction as TransactionRow, Transactions,
};
use amanah_domain::query::{ActivityQuery, ProjectQuery, Range};
use amanah_domain::values::{Description, Money as MoneyValue, SectorCode, TransactionRef};
use async_graphql::{ComplexObject, Context, ID, InputObject, Object, SimpleObject};
use uuid::Uuid;

use super::ContextExt as _;
use super::activity::{Activity, ActivityFilter, activity_query};
use super::connection::{
    ActivityConnection, PageArgs, TransactionConnection, connection_cost, paginate,
    paginate_keyset, wants_total, window_of,
};
use super::enums::{
    BudgetStatus, BudgetType, OrderDirection, OrganisationRole, ProjectOrderField, ProjectStatus,
    RelatedActivityType, TransactionType, all,
};
use super::ids::{parse_optional_id, to_id};
use super::organisation::Organisation;
use super::reference_data::{Code, Country, parse_countries, parse_list, search_text};
use super::references::{
    ActivitiesOfProjects, ActivityCountsOfProjects, ProjectActivities, loader,
    required_organisation, required_project, transactions_of,
};
use super::scalars::{BigInt, Date, Percentage};
use crate::error::ApiError;

/// A project, as of now or as of a log size.
#[derive(Debug, Clone)]
pub struct Project {
    state: Arc<ProjectState>,
    /// The log size it was read at, when read "as of" one (its references follow it).
    as_of: Option<u64>,
}

impl Project {
    #[must_use]
    pub fn new(state: ProjectState, as_of: Option<u64>) -> Self {
        Self {
            state: Arc::new(state),
            as_of,
        }
    }

    /// The transaction with this id, as a GraphQL `Transaction`.
    ///
    /// # Errors
    /// Store failures (internal).
    pub async fn transaction(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> Result<Option<Transaction>, ApiError> {
        let transactions = transactions_of(ctx, self.state.id, self.as_of).await?;
        Ok(transactions
            .get(id)
            .cloned()
            .map(|row| Transaction::new(row, self.state.id, Arc::clone(&transactions), self.as_of)))
    }

    fn referrer(&self) -> String {
        format!("project {}", self.state.id)
    }
}

impl From<ProjectState> for Project {
    fn from(state: ProjectState) -> Self {
        Self::new(state, None)
    }
}

/// A development-cooperation project, published as an IATI activity.
#[Object]
impl Project {
    pub async fn id(&self) -> ID {
        to_id(self.state.id)
    }

    /// The IATI activity identifier: the reporting organisation's ref, a dash, and more; never
    /// changes.
    async fn iati_identifier(&self) -> &str {
        self.state.iati_identifier.as_str()
    }

    async fn reporting_organisation(&self, ctx: &Context<'_>) -> Result<Organisation, ApiError> {
        required_organisation(
            ctx,
            self.state.reporting_organisation_id,
            self.as_of,
            || self.referrer(),
        )
        .await
    }

    async fn title(&self) -> &str {
        self.state.title.as_str()
    }

    /// The general description (IATI DescriptionType 1).
    async fn description(&self) -> &str {
        self.state.description.as_str()
    }

    /// The objectives (IATI DescriptionType 2).
    async fn objectives(&self) -> Option<&str> {
        self.state.objectives.as_ref().map(Description::as_str)
    }

    async fn status(&self) -> ProjectStatus {
        self.state.status.into()
    }

    /// IATI ActivityStatus code, e.g. "2".
    async fn status_code(&self) -> &'static str {
        self.state.status.code()
    }

    async fn planned_start(&self) -> Date {
        self.state.planned_start.into()
    }

    async fn planned_end(&self) -> Date {
        self.state.planned_end.into()
    }

    async fn actual_start(&self) -> Option<Date> {
        self.state.actual_start.map(Date::from)
    }

    async fn actual_end(&self) -> Option<Date> {
        self.state.actual_end.map(Date::from)
    }

    async fn participating_organisations(&self) -> Vec<ParticipatingOrganisation> {
        self.state
            .participating_organisations
            .iter()
            .map(|row| ParticipatingOrganisation {
                row: *row,
                project_id: self.state.id,
                as_of: self.as_of,
            })
            .collect()
    }

    async fn recipient_countries(&self) -> Vec<RecipientCountry> {
        self.state
            .recipient_countries
            .iter()
            .map(|row| RecipientCountry::from(*row))
            .collect()
    }

    async fn recipient_regions(&self) -> Vec<RecipientRegion> {
        self.state
            .recipient_regions
            .iter()
            .map(|row| RecipientRegion::from(*row))
            .collect()
    }

    async fn sectors(&self) -> Vec<SectorShare> {
        self.state
            .sectors
            .iter()
            .map(|row| SectorShare::from(*row))
            .collect()
    }

    async fn budgets(&self) -> Vec<Budget> {
        self.state
            .budgets
            .iter()
            .map(|row| Budget::from(*row))
            .collect()
    }

    /// The transactions in the order they were recorded; a reversal is a transaction of its own.
    #[graphql(complexity = "connection_cost(first, last, child_complexity)")]
    async fn transactions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<TransactionConnection, ApiError> {
        let state = ctx.portfolio()?;
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let transactions = transactions_of(ctx, self.state.id, self.as_of).await?;
        let connection = paginate(&args, state.config.limits.page_size, |window| {
            let page = window_of(transactions.as_slice(), window);
            async move { Ok(page) }
        })
        .await?;
        Ok(connection
            .map(|row| Transaction::new(row, self.state.id, Arc::clone(&transactions), self.as_of))
            .into())
    }

    async fn documents(&self) -> Vec<Document> {
        self.state.documents.iter().map(Document::from).collect()
    }

    async fn related_projects(&self) -> Vec<RelatedProject> {
        self.state
            .related_projects
            .iter()
            .map(|row| RelatedProject {
                row: row.clone(),
                project_id: self.state.id,
                as_of: self.as_of,
            })
            .collect()
    }

    async fn other_identifiers(&self) -> Vec<OtherIdentifier> {
        self.state
            .other_identifiers
            .iter()
            .map(OtherIdentifier::from)
            .collect()
    }

    /// Where the project works.
    async fn locations(&self) -> Vec<Location> {
        self.state
            .locations
            .iter()
            .map(|row| Location {
                name: row.name.as_str().to_owned(),
                description: row.description.as_ref().map(|d| d.as_str().to_owned()),
                point: row.point.map(|point| Point {
                    latitude: point.latitude(),
                    longitude: point.longitude(),
                }),
                administrative: row.administrative.as_ref().map(|area| AdministrativeArea {
                    vocabulary: Code::from(area.vocabulary.entry()),
                    level: area.level.map(i32::from),
                    code: area.code.as_str().to_owned(),
                }),
            })
            .collect()
    }

    /// The money planned to be disbursed, by period.
    async fn planned_disbursements(&self) -> Vec<PlannedDisbursement> {
        self.state
            .planned_disbursements
            .iter()
            .map(|row| PlannedDisbursement {
                disbursement_type: row.disbursement_type.into(),
                period_start: row.period_start.into(),
                period_end: row.period_end.map(Date::from),
                value: row.value.into(),
                value_date: row.value_date.into(),
                provider_organisation_id: row.provider_organisation_id,
                receiver_organisation_id: row.receiver_organisation_id,
                project_id: self.state.id,
                as_of: self.as_of,
            })
            .collect()
    }

    /// Whom to contact about the project.
    async fn contacts(&self) -> Vec<Contact> {
        self.state.contacts.iter().map(Contact::from).collect()
    }

    /// The OECD DAC policy markers the project is scored on, with their significance.
    async fn policy_markers(&self) -> Vec<PolicyMarker> {
        self.state
            .policy_markers
            .iter()
            .map(|row| PolicyMarker {
                marker: Code::from(row.code.entry()),
                significance: Code::from(row.significance.entry()),
            })
            .collect()
    }

    /// The results the project reports on, with their indicators, baselines, targets and
    /// actuals (`setResults`).
    async fn results(&self) -> Vec<super::results::ProjectResult> {
        self.state
            .results
            .iter()
            .map(super::results::ProjectResult::from)
            .collect()
    }

    /// The IATI defaults the project's figures and texts fall back to (`setProjectDefaults`).
    async fn defaults(&self) -> ProjectDefaults {
        ProjectDefaults::from(self.state.defaults)
    }

    /// The anti-corruption activities under this project. Always the current activities, also
    /// when the project was read with `asOf`.
    #[graphql(complexity = "connection_cost(first, last, child_complexity)")]
    async fn activities(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<ActivityFilter>,
    ) -> Result<ActivityConnection, ApiError> {
        let state = ctx.portfolio()?;
        let project_id = self.state.id;
        let mut query: ActivityQuery = activity_query(filter, None)?;
        // `filter.projectId` naming another project: nothing here matches.
        let other_project = query.project.is_some_and(|id| id != project_id);
        query.project = None;
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        // Batched with the other projects of the response: one statement for all their pages.
        let pages = loader::<ActivitiesOfProjects>(ctx)?;
        let counts = loader::<ActivityCountsOfProjects>(ctx)?;
        let order = format!("activities {:?}", query.order);
        let query = &query;
        let connection = paginate_keyset(
            &args,
            state.config.limits.page_size,
            &order,
            |range| async move {
                if other_project {
                    return Ok(Vec::new());
                }
                let key = ProjectActivities::new(project_id, query.clone(), range);
                Ok(pages.load_one(key).await?.unwrap_or_default())
            },
            wants_total(ctx).then_some(|| async move {
                if other_project {
                    return Ok(0);
                }
                let key = ProjectActivities::new(project_id, query.clone(), Range::first(0));
                Ok(counts.load_one(key).await?.unwrap_or_default())
            }),
        )
        .await?;
        Ok(connection.map(Activity::from).into())
    }

    /// The number of events in the project's stream: pass it as `expectedVersion`.
    async fn version(&self) -> u64 {
        self.state.version
    }
}

/// An organisation taking part in a project in one role.
pub struct ParticipatingOrganisation {
    row: ParticipationRow,
    project_id: Uuid,
    as_of: Option<u64>,
}

#[Object]
impl ParticipatingOrganisation {
    async fn organisation(&self, ctx: &Context<'_>) -> Result<Organisation, ApiError> {
        required_organisation(ctx, self.row.organisation_id, self.as_of, || {
            format!("a participation in project {}", self.project_id)
        })
        .await
    }

    async fn role(&self) -> OrganisationRole {
        self.row.role.into()
    }

    /// IATI OrganisationRole code, e.g. "1".
    async fn role_code(&self) -> &'static str {
        self.row.role.code()
    }
}

/// A recipient country and its share.
#[derive(SimpleObject, Debug, Clone)]
pub struct RecipientCountry {
    pub country: Country,
    pub percentage: Percentage,
}

impl From<RecipientCountryRow> for RecipientCountry {
    fn from(row: RecipientCountryRow) -> Self {
        Self {
            country: row.country.into(),
            percentage: row.percentage.into(),
        }
    }
}

/// A recipient DAC region and its share.
#[derive(SimpleObject, Debug, Clone)]
pub struct RecipientRegion {
    /// DAC region code, e.g. "798".
    pub code: String,
    pub name: String,
    pub percentage: Percentage,
}

impl From<RecipientRegionRow> for RecipientRegion {
    fn from(row: RecipientRegionRow) -> Self {
        Self {
            code: row.region.as_str().to_owned(),
            name: row.region.name().to_owned(),
            percentage: row.percentage.into(),
        }
    }
}

/// A DAC sector and its share.
#[derive(SimpleObject, Debug, Clone)]
pub struct SectorShare {
    /// DAC 5-digit sector code, e.g. "15113".
    pub code: String,
    pub name: String,
    pub percentage: Percentage,
}

impl From<SectorShareRow> for SectorShare {
    fn from(row: SectorShareRow) -> Self {
        Self {
            code: row.sector.as_str().to_owned(),
            name: row.sector.name().to_owned(),
            percentage: row.percentage.into(),
        }
    }
}

/// An amount of money: an integer count of the currency's minor unit. Never floating point.
#[derive(SimpleObject, Debug, Clone)]
pub struct Money {
    /// The amount in minor units (cents for EUR, yen for JPY).
    pub minor_units: BigInt,
    /// ISO 4217 code, e.g. "EUR".
    pub currency: String,
    /// e.g. "1250000.00"
    pub decimal: String,
}

impl From<MoneyValue> for Money {
    fn from(money: MoneyValue) -> Self {
        Self {
            minor_units: money.minor_units().into(),
            currency: money.currency().as_str().to_owned(),
            decimal: money.decimal(),
        }
    }
}

/// A budget row; its period is at most one year.
#[derive(SimpleObject, Debug, Clone)]
pub struct Budget {
    #[graphql(name = "type")]
    pub budget_type: BudgetType,
    pub status: BudgetStatus,
    pub period_start: Date,
    pub period_end: Date,
    pub value: Money,
    /// The date of the exchange rate of `value`.
    pub value_date: Date,
}

impl From<BudgetRow> for Budget {
    fn from(row: BudgetRow) -> Self {
        Self {
            budget_type: row.budget_type.into(),
            status: row.status.into(),
            period_start: row.period_start.into(),
            period_end: row.period_end.into(),
            value: row.value.into(),
            value_date: row.value_date.into(),
        }
    }
}

/// A transaction of a project. Transactions are never edited: a mistake is corrected by a
/// reversal, a transaction of its own that names the one it reverses.
#[derive(Debug, Clone)]
pub struct Transaction {
    row: TransactionRow,
    project_id: Uuid,
    /// The project's transactions (reversals are looked up there).
    siblings: Arc<Transactions>,
    as_of: Option<u64>,
}

impl Transaction {
    fn new(
        row: TransactionRow,
        project_id: Uuid,
        siblings: Arc<Transactions>,
        as_of: Option<u64>,
    ) -> Self {
        Self {
            row,
            project_id,
            siblings,
            as_of,
        }
    }

    fn sibling(&self, id: Option<Uuid>) -> Option<Self> {
        let row = self.siblings.get(id?)?;
        Some(Self::new(
            row.clone(),
            self.project_id,
            Arc::clone(&self.siblings),
            self.as_of,
        ))
    }

    async fn organisation(
        &self,
        ctx: &Context<'_>,
        id: Option<Uuid>,
    ) -> Result<Option<Organisation>, ApiError> {
        let Some(id) = id else {
            return Ok(None);
        };
        required_organisation(ctx, id, self.as_of, || {
            format!("transaction {} of project {}", self.row.id, self.project_id)
        })
        .await
        .map(Some)
    }
}

/// A transaction of a project (IATI transaction).
#[Object]
impl Transaction {
    pub async fn id(&self) -> ID {
        to_id(self.row.id)
    }

    #[graphql(name = "type")]
    async fn transaction_type(&self) -> TransactionType {
        self.row.transaction_type.into()
    }

    /// IATI TransactionType code, e.g. "3".
    async fn type_code(&self) -> &'static str {
        self.row.transaction_type.code()
    }

    async fn date(&self) -> Date {
        self.row.date.into()
    }

    async fn value(&self) -> Money {
        self.row.value.into()
    }

    /// The date of the exchange rate of `value`.
    async fn value_date(&self) -> Date {
        self.row.value_date.into()
    }

    /// For a reversal: the reason given.
    async fn description(&self) -> Option<&str> {
        self.row.description.as_ref().map(Description::as_str)
    }

    async fn provider_organisation(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<Organisation>, ApiError> {
        self.organisation(ctx, self.row.provider_organisation_id)
            .await
    }

    async fn receiver_organisation(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<Organisation>, ApiError> {
        self.organisation(ctx, self.row.receiver_organisation_id)
            .await
    }

    /// The transaction's own reference (IATI transaction/@ref).
    #[graphql(name = "ref")]
    async fn reference(&self) -> Option<&str> {
        self.row.reference.as_ref().map(TransactionRef::as_str)
    }

    /// The transaction this one reverses, when it is a reversal.
    async fn reverses(&self) -> Option<Transaction> {
        self.sibling(self.row.reverses)
    }

    /// The reversal that cancelled this transaction, if any.
    async fn reversed_by(&self) -> Option<Transaction> {
        self.sibling(self.row.reversed_by)
    }
}

/// A document linked to a project.
#[derive(SimpleObject, Debug, Clone)]
pub struct Document {
    pub url: String,
    pub title: String,
    /// IATI DocumentCategory code, e.g. "A05".
    pub category_code: String,
    /// MIME type, e.g. "application/pdf".
    pub format: String,
    pub date: Option<Date>,
}

impl From<&DocumentRow> for Document {
    fn from(row: &DocumentRow) -> Self {
        Self {
            url: row.url.as_str().to_owned(),
            title: row.title.as_str().to_owned(),
            category_code: row.category.as_str().to_owned(),
            format: row.format.as_str().to_owned(),
            date: row.date.map(Date::from),
        }
    }
}

/// A link to another project in Amanah.
pub struct RelatedProject {
    row: RelatedProjectRow,
    project_id: Uuid,
    as_of: Option<u64>,
}

#[Object]
impl RelatedProject {
    async fn project(&self, ctx: &Context<'_>) -> Result<Project, ApiError> {
        required_project(ctx, self.row.project_id, self.as_of, || {
            format!("a related-project link of project {}", self.project_id)
        })
        .await
    }

    #[graphql(name = "type")]
    async fn relation(&self) -> RelatedActivityType {
        self.row.relation.into()
    }
}

/// Another identifier of the project; type A3 names the project this one follows on from.
#[derive(SimpleObject, Debug, Clone)]
pub struct OtherIdentifier {
    #[graphql(name = "ref")]
    pub reference: String,
    /// IATI OtherIdentifierType code, e.g. "A3".
    pub type_code: String,
}

impl From<&OtherIdentifierRow> for OtherIdentifier {
    fn from(row: &OtherIdentifierRow) -> Self {
        Self {
            reference: row.reference.as_str().to_owned(),
            type_code: row.identifier_type.code().to_owned(),
        }
    }
}

/// Which projects to list. Lists mean "any of"; fields combine with "and".
#[derive(InputObject, Clone, Debug, Default)]
pub struct ProjectFilter {
    pub status: Option<Vec<ProjectStatus>>,
    /// ISO 3166-1 alpha-2 codes.
    pub recipient_country: Option<Vec<String>>,
    /// DAC 5-digit sector codes.
    pub sector: Option<Vec<String>>,
    pub participating_organisation_id: Option<ID>,
    /// With `participatingOrganisationId`: only in this role; alone: any organisation in it.
    pub participating_role: Option<OrganisationRole>,
    pub reporting_organisation_id: Option<ID>,
    /// Projects whose planned period contains this date.
    pub active_on: Option<Date>,
    /// A case-insensitive part of the title or IATI identifier.
    pub text: Option<String>,
}

/// How to order projects.
#[derive(InputObject, Debug, Clone, Copy)]
pub struct ProjectOrder {
    pub field: ProjectOrderField,
    pub direction: OrderDirection,
}

/// The read model's query for `projects(filter, orderBy)`.
///
/// # Errors
/// `BAD_USER_INPUT` naming the filter field that does not parse.
pub fn project_query(
    filter: Option<ProjectFilter>,
    order: Option<ProjectOrder>,
) -> Result<ProjectQuery, ApiError> {
    let filter = filter.unwrap_or_default();
    let mut query = ProjectQuery {
        statuses: all(filter.status),
        recipient_countries: parse_countries(
            filter.recipient_country.as_deref(),
            "filter.recipientCountry",
        )?,
        sectors: parse_list(filter.sector.as_deref(), "filter.sector", SectorCode::known)?,
        participating_organisation: parse_optional_id(
            filter.participating_organisation_id.as_ref(),
            "filter.participatingOrganisationId",
        )?,
        participating_role: filter.participating_role.map(Into::into),
        reporting_organisation: parse_optional_id(
            filter.reporting_organisation_id.as_ref(),
            "filter.reportingOrganisationId",
        )?,
        active_on: Date::parse_optional(filter.active_on.as_ref(), "filter.activeOn")?,
        text: search_text(filter.text, "filter.text")?,
        ..ProjectQuery::default()
    };
    if let Some(order) = order {
        query.order = (order.field.into(), order.direction.into());
    }
    Ok(query)
}

/// A project's IATI defaults; each is null until set.
#[derive(SimpleObject, Debug)]
pub struct ProjectDefaults {
    /// ISO 4217 code, e.g. EUR: the IATI activity's `@default-currency`.
    currency: Option<&'static str>,
    /// The IATI activity's `@xml:lang` (IATI Language list).
    language: Option<Code>,
    /// IATI CollaborationType.
    collaboration_type: Option<Code>,
    /// IATI FlowType: the activity's `default-flow-type`.
    flow_type: Option<Code>,
    /// IATI FinanceType: the activity's `default-finance-type`.
    finance_type: Option<Code>,
    /// IATI AidType (OECD DAC vocabulary): the activity's `default-aid-type`.
    aid_type: Option<Code>,
    /// IATI TiedStatus: the activity's `default-tied-status`.
    tied_status: Option<Code>,
}

impl From<amanah_domain::project::ProjectDefaults> for ProjectDefaults {
    fn from(defaults: amanah_domain::project::ProjectDefaults) -> Self {
        Self {
            currency: defaults.currency.map(|c| c.as_str()),
            language: defaults.language.map(|c| Code::from(c.entry())),
            collaboration_type: defaults.collaboration_type.map(|c| Code::from(c.entry())),
            flow_type: defaults.flow_type.map(|c| Code::from(c.entry())),
            finance_type: defaults.finance_type.map(|c| Code::from(c.entry())),
            aid_type: defaults.aid_type.map(|c| Code::from(c.entry())),
            tied_status: defaults.tied_status.map(|c| Code::from(c.entry())),
        }
    }
}

/// An OECD DAC policy marker (IATI PolicyMarker) and its significance (IATI PolicySignificance).
#[derive(SimpleObject, Debug)]
pub struct PolicyMarker {
    marker: Code,
    significance: Code,
}

/// A contact for the project (IATI `contact-info`).
#[derive(SimpleObject, Debug)]
pub struct Contact {
    /// IATI ContactType.
    #[graphql(name = "type")]
    contact_type: Option<Code>,
    organisation: Option<String>,
    department: Option<String>,
    person_name: Option<String>,
    job_title: Option<String>,
    telephone: Option<String>,
    email: Option<String>,
    website: Option<String>,
    mailing_address: Option<String>,
}

impl From<&amanah_domain::project::Contact> for Contact {
    fn from(contact: &amanah_domain::project::Contact) -> Self {
        fn text<T: AsRef<str>>(value: Option<&T>) -> Option<String> {
            value.map(|value| value.as_ref().to_owned())
        }
        Self {
            contact_type: contact.contact_type.map(|t| Code::from(t.entry())),
            organisation: text(contact.organisation.as_ref()),
            department: text(contact.department.as_ref()),
            person_name: text(contact.person_name.as_ref()),
            job_title: text(contact.job_title.as_ref()),
            telephone: text(contact.telephone.as_ref()),
            email: text(contact.email.as_ref()),
            website: text(contact.website.as_ref()),
            mailing_address: text(contact.mailing_address.as_ref()),
        }
    }
}

/// Money planned to be disbursed in a period (IATI `planned-disbursement`).
#[derive(SimpleObject, Debug)]
#[graphql(complex)]
pub struct PlannedDisbursement {
    #[graphql(name = "type")]
    disbursement_type: BudgetType,
    period_start: Date,
    /// Absent for an open-ended period.
    period_end: Option<Date>,
    value: Money,
    /// The date of the exchange rate of `value`.
    value_date: Date,
    #[graphql(skip)]
    provider_organisation_id: Option<Uuid>,
    #[graphql(skip)]
    receiver_organisation_id: Option<Uuid>,
    #[graphql(skip)]
    project_id: Uuid,
    #[graphql(skip)]
    as_of: Option<u64>,
}

#[ComplexObject]
impl PlannedDisbursement {
    /// The organisation the money comes from, when given.
    async fn provider_organisation(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<Organisation>, ApiError> {
        self.organisation(ctx, self.provider_organisation_id).await
    }

    /// The organisation the money goes to, when given.
    async fn receiver_organisation(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<Organisation>, ApiError> {
        self.organisation(ctx, self.receiver_organisation_id).await
    }
}

impl PlannedDisbursement {
    async fn organisation(
        &self,
        ctx: &Context<'_>,
        id: Option<Uuid>,
    ) -> Result<Option<Organisation>, ApiError> {
        let Some(id) = id else {
            return Ok(None);
        };
        required_organisation(ctx, id, self.as_of, || {
            format!("a planned disbursement of project {}", self.project_id)
        })
        .await
        .map(Some)
    }
}

/// A place where the project works (IATI `location`).
#[derive(SimpleObject, Debug)]
pub struct Location {
    name: String,
    description: Option<String>,
    point: Option<Point>,
    administrative: Option<AdministrativeArea>,
}

/// A point in WGS 84 (EPSG:4326) degrees, as decimals with six places.
#[derive(SimpleObject, Debug)]
pub struct Point {
    latitude: String,
    longitude: String,
}

/// An administrative area in a geographic vocabulary.
#[derive(SimpleObject, Debug)]
pub struct AdministrativeArea {
    /// IATI GeographicVocabulary.
    vocabulary: Code,
    level: Option<i32>,
    code: String,
}
