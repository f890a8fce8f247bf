//! Running a [`Plan`]: the rows read set by set (a page of projects; the organisations of all
//! their participations in one statement; each `activities` field's pages of all the projects in
//! one), and the response written from them in selection order.
//!
//! [`Traced`]: crate::graphql::execution::Traced

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::Arc;

use amanah_domain::activity::Activity as ActivityState;
use amanah_domain::codelists::{
    ActivityKind as CodedActivityKind, ActivityStatus as CodedActivityStatus,
    ProjectStatus as CodedProjectStatus,
};
use amanah_domain::organisation::Organisation as OrganisationState;
use amanah_domain::project::{
    ParticipatingOrganisation, Project as ProjectState, Transaction as TransactionRow,
};
use amanah_domain::query::{
    ActivityQuery, ActivitySummary, Positioned, ProjectQuery, ProjectSummary, Range, ReadModel as _,
};
use amanah_domain::values::{Acronym, Description, OrgRef, TransactionRef, WebUrl};
use amanah_infra::auth::Identity;
use async_graphql::indexmap::IndexMap;
use async_graphql::{Data, InputType, Name, ScalarType, Value};
use chrono::NaiveDate;
use tracing::Instrument as _;
use uuid::Uuid;

use super::compile::{
    ActivityField, BudgetField, Connection, ConnectionField, CountryField, CountryShareField,
    DocumentField, EdgeField, MoneyField, OrganisationField, PageInfoField, ParticipationField,
    PartnerField, Plan, ProjectField, RootField, SectorField, TransactionField,
};
use crate::graphql::access::{self, Action};
use crate::graphql::connection::{
    KeysetPage, KeysetRequest, PageArgs, Paged, keyset_cursor, paginate, window_of,
};
use crate::graphql::enums::{
    ActivityKind, ActivityPartnerRole, ActivityStatus, OrganisationRole, OrganisationType,
    ProjectStatus, TransactionType,
};
use crate::graphql::project::{Budget, Document, Money, RecipientCountry, SectorShare};
use crate::graphql::references::{
    self, ActivitiesOfProjects, ActivityCountsOfProjects, ActivitySummariesOfProjects,
    OrganisationsById, ParticipationsOfProjects, ProjectActivities, TransactionsOfProjects,
};
use crate::graphql::scalars::Date;
use crate::state::ApiState;

/// The batch loaders of [`super::super::references`], which the plans read through.
pub struct Loaders {
    organisations: OrganisationsById,
    activity_summaries: ActivitySummariesOfProjects,
    participations: ParticipationsOfProjects,
    activities: ActivitiesOfProjects,
    activity_counts: ActivityCountsOfProjects,
    transactions: TransactionsOfProjects,
}

impl Loaders {
    pub fn new(state: &ApiState) -> Self {
        let (activities, activity_counts) = references::activity_loaders(state);
        Self {
            organisations: references::loaders(state),
            participations: references::participation_loader(state),
            activity_summaries: references::activity_summary_loader(state),
            activities,
            activity_counts,
            transactions: references::transaction_loader(state),
        }
    }
}

/// Whether the caller of a request with `data` may read the portfolio: every plan's answer
/// depends on the caller through this alone.
pub fn may_read(state: &ApiState, data: &Data) -> bool {
    let identity = data
        .get(&TypeId::of::<Identity>())
        .and_then(|value| value.downcast_ref::<Identity>());
    access::decide(identity, state.config.public_read, Action::ReadPortfolio).is_ok()
}

/// The response's data for `plan`, or `None` when async-graphql should answer (the caller may not
/// read the portfolio, an argument is refused, a read failed, a reference is missing).
pub async fn run(plan: &Plan, state: &ApiState, loaders: &Loaders, data: &Data) -> Option<Value> {
    if !may_read(state, data) {
        return None;
    }
    let mut object = IndexMap::with_capacity(plan.fields.len());
    for (key, field) in &plan.fields {
        let value = match field {
            RootField::Typename => Value::String("Query".to_owned()),
            RootField::Projects(query, args, connection) => {
                let span = resolve_span(key, "ProjectConnection!");
                projects(state, loaders, query, args, connection)
                    .instrument(span)
                    .await?
            }
            RootField::Project(id, fields) => {
                let span = resolve_span(key, "Project");
                project(state, loaders, id, fields).instrument(span).await?
            }
        };
        object.insert(key.clone(), value);
    }
    Some(Value::Object(object))
}

type Object = IndexMap<Name, Value>;

/// A page of a keyset connection as read, with what its cursors need.
struct Read<T> {
    page: KeysetPage<T>,
    /// The list and order the cursors name.
    order: String,
    total: u64,
}

fn connection_value<T, N>(
    read: &Read<T>,
    connection: &Connection<N>,
    node: impl FnMut(&T, &[(Name, N)]) -> Option<Value>,
) -> Option<Value> {
    let page = PageView {
        items: &read.page.items,
        has_next_page: read.page.has_next_page,
        has_previous_page: read.page.has_previous_page,
        total: read.total,
    };
    page_value(
        &page,
        |item| keyset_cursor(&read.order, &item.position),
        |item| &item.item,
        connection,
        node,
    )
}

/// A page of an offset connection (a project's transactions) as the resolver builds it.
fn paged_value<T, N>(
    paged: &Paged<T>,
    connection: &Connection<N>,
    node: impl FnMut(&T, &[(Name, N)]) -> Option<Value>,
) -> Option<Value> {
    let page = PageView {
        items: &paged.items,
        has_next_page: paged.page_info.has_next_page,
        has_previous_page: paged.page_info.has_previous_page,
        total: paged.total_count,
    };
    page_value(
        &page,
        |(cursor, _)| cursor.clone(),
        |(_, item)| item,
        connection,
        node,
    )
}

/// A page's items (`E`, each holding a node `T` and what its cursor is made of) and flags.
struct PageView<'a, E> {
    items: &'a [E],
    has_next_page: bool,
    has_previous_page: bool,
    total: u64,
}

fn page_value<E, T, N>(
    page: &PageView<'_, E>,
    cursor_of: impl Fn(&E) -> String,
    node_of: impl Fn(&E) -> &T,
    connection: &Connection<N>,
    mut node: impl FnMut(&T, &[(Name, N)]) -> Option<Value>,
) -> Option<Value> {
    let cursor = |item: &E| Value::String(cursor_of(item));
    try_object(&connection.fields, |field| {
        Some(match field {
            ConnectionField::Typename => Value::String(connection.type_name.to_owned()),
            ConnectionField::TotalCount => Value::from(page.total),
            ConnectionField::PageInfo(fields) => object(fields, |field| match field {
                PageInfoField::Typename => Value::String("PageInfo".to_owned()),
                PageInfoField::HasNextPage => Value::Boolean(page.has_next_page),
                PageInfoField::HasPreviousPage => Value::Boolean(page.has_previous_page),
                PageInfoField::StartCursor => page.items.first().map_or(Value::Null, cursor),
                PageInfoField::EndCursor => page.items.last().map_or(Value::Null, cursor),
            }),
            ConnectionField::Edges(fields) => Value::List(
                page.items
                    .iter()
                    .map(|item| {
                        try_object(fields, |field| {
                            Some(match field {
                                EdgeField::Typename => {
                                    Value::String(connection.edge_type_name.to_owned())
                                }
                                EdgeField::Cursor => cursor(item),
                                EdgeField::Node(fields) => node(node_of(item), fields)?,
                            })
                        })
                    })
                    .collect::<Option<_>>()?,
            ),
        })
    })
}

/// Whether a connection's selection asks for `totalCount`.
fn wants_total<N>(connection: &Connection<N>) -> bool {
    connection
        .fields
        .iter()
        .any(|(_, field)| matches!(field, ConnectionField::TotalCount))
}

/// The node selections of a connection (one per `edges` key).
fn node_selections<N>(connection: &Connection<N>) -> impl Iterator<Item = &[(Name, N)]> {
    connection.fields.iter().flat_map(|(_, field)| match field {
        ConnectionField::Edges(edges) => edges
            .iter()
            .filter_map(|(_, field)| match field {
                EdgeField::Node(fields) => Some(fields.as_slice()),
                _ => None,
            })
            .collect::<Vec<_>>(),
        _ => Vec::new(),
    })
}

async fn projects(
    state: &ApiState,
    loaders: &Loaders,
    query: &ProjectQuery,
    args: &PageArgs,
    connection: &Connection<ProjectField>,
) -> Option<Value> {
    let order = format!("projects {:?}", query.order);
    let request = KeysetRequest::new(args, state.config.limits.page_size, &order).ok()?;
    let total = if wants_total(connection) {
        state.read_model.count_projects(query).await.ok()?
    } else {
        0
    };
    // The kept state only when a field outside the columns is selected.
    let needs_state = node_selections(connection)
        .flatten()
        .any(|(_, field)| field.needs_state());
    if needs_state {
        let items = state
            .read_model
            .projects(query, &request.range())
            .await
            .ok()?;
        let read = Read {
            page: request.page(items),
            order,
            total,
        };
        page_of_projects(state, loaders, &read, connection).await
    } else {
        let items = state
            .read_model
            .project_summaries(query, &request.range())
            .await
            .ok()?;
        let page = request.page(items);
        let wants_participations = node_selections(connection)
            .flatten()
            .any(|(_, field)| matches!(field, ProjectField::ParticipatingOrganisations(_)));
        let mut participations = if wants_participations {
            let ids = page.items.iter().map(|item| item.item.id);
            loaders.participations.load_many(ids).await.ok()?
        } else {
            HashMap::new()
        };
        let read = Read {
            page: KeysetPage {
                items: page
                    .items
                    .into_iter()
                    .map(|item| Positioned {
                        position: item.position,
                        item: Summarised {
                            participations: participations
                                .remove(&item.item.id)
                                .unwrap_or_default(),
                            summary: item.item,
                        },
                    })
                    .collect(),
                has_next_page: page.has_next_page,
                has_previous_page: page.has_previous_page,
            },
            order,
            total,
        };
        page_of_projects(state, loaders, &read, connection).await
    }
}

/// `project(id:)`: the project from the read model, as the resolver reads it, or null.
async fn project(
    state: &ApiState,
    loaders: &Loaders,
    id: &str,
    fields: &[(Name, ProjectField)],
) -> Option<Value> {
    let id = Uuid::parse_str(id).ok()?;
    let Some(project) = state.read_model.project(id).await.ok()? else {
        return Some(Value::Null);
    };
    let mut related = Related::default();
    related
        .read_for(state, loaders, &[&project], fields)
        .await?;
    related.project(&project, fields)
}

async fn page_of_projects<P: ProjectView>(
    state: &ApiState,
    loaders: &Loaders,
    read: &Read<P>,
    connection: &Connection<ProjectField>,
) -> Option<Value> {
    let projects: Vec<&P> = read.page.items.iter().map(|item| &item.item).collect();
    let mut related = Related::default();
    for fields in node_selections(connection) {
        related.read_for(state, loaders, &projects, fields).await?;
    }
    connection_value(read, connection, |project, fields| {
        related.project(project, fields)
    })
}

/// What a plan writes of a project, from its kept state or from its summary (which has no
/// description or objectives: `None`, and the plan steps aside).
trait ProjectView {
    fn id(&self) -> Uuid;
    fn iati_identifier(&self) -> &str;
    fn title(&self) -> &str;
    fn description(&self) -> Option<&str>;
    fn objectives(&self) -> Option<Option<&str>>;
    fn status(&self) -> CodedProjectStatus;
    fn planned_start(&self) -> NaiveDate;
    fn planned_end(&self) -> NaiveDate;
    fn actual_start(&self) -> Option<NaiveDate>;
    fn actual_end(&self) -> Option<NaiveDate>;
    fn version(&self) -> u64;
    fn participating_organisations(&self) -> &[ParticipatingOrganisation];
    /// The kept state, when read.
    fn state(&self) -> Option<&ProjectState>;
}

impl ProjectView for ProjectState {
    fn id(&self) -> Uuid {
        self.id
    }
    fn iati_identifier(&self) -> &str {
        self.iati_identifier.as_str()
    }
    fn title(&self) -> &str {
        self.title.as_str()
    }
    fn description(&self) -> Option<&str> {
        Some(self.description.as_str())
    }
    fn objectives(&self) -> Option<Option<&str>> {
        Some(self.objectives.as_ref().map(Description::as_str))
    }
    fn status(&self) -> CodedProjectStatus {
        self.status
    }
    fn planned_start(&self) -> NaiveDate {
        self.planned_start
    }
    fn planned_end(&self) -> NaiveDate {
        self.planned_end
    }
    fn actual_start(&self) -> Option<NaiveDate> {
        self.actual_start
    }
    fn actual_end(&self) -> Option<NaiveDate> {
        self.actual_end
    }
    fn version(&self) -> u64 {
        self.version
    }
    fn participating_organisations(&self) -> &[ParticipatingOrganisation] {
        &self.participating_organisations
    }
    fn state(&self) -> Option<&ProjectState> {
        Some(self)
    }
}

/// A project's summary with its participations (read by their loader when selected).
struct Summarised {
    summary: ProjectSummary,
    participations: Vec<ParticipatingOrganisation>,
}

impl ProjectView for Summarised {
    fn id(&self) -> Uuid {
        self.summary.id
    }
    fn iati_identifier(&self) -> &str {
        &self.summary.iati_identifier
    }
    fn title(&self) -> &str {
        &self.summary.title
    }
    fn description(&self) -> Option<&str> {
        None
    }
    fn objectives(&self) -> Option<Option<&str>> {
        None
    }
    fn status(&self) -> CodedProjectStatus {
        self.summary.status
    }
    fn planned_start(&self) -> NaiveDate {
        self.summary.planned_start
    }
    fn planned_end(&self) -> NaiveDate {
        self.summary.planned_end
    }
    fn actual_start(&self) -> Option<NaiveDate> {
        self.summary.actual_start
    }
    fn actual_end(&self) -> Option<NaiveDate> {
        self.summary.actual_end
    }
    fn version(&self) -> u64 {
        self.summary.version
    }
    fn participating_organisations(&self) -> &[ParticipatingOrganisation] {
        &self.participations
    }
    fn state(&self) -> Option<&ProjectState> {
        None
    }
}

/// What the projects of a page refer to, read for all of them at once.
#[derive(Default)]
struct Related {
    organisations: HashMap<Uuid, Arc<OrganisationState>>,
    /// Each `activities` field's pages, by the field's query and arguments, then by project.
    activities: Vec<((ActivityQuery, PageArgs), ActivityPages)>,
    /// Each `transactions` field's pages, by the field's arguments and then by project.
    transactions: Vec<(PageArgs, HashMap<Uuid, Paged<TransactionRow>>)>,
}

struct ActivityPages {
    order: String,
    request: KeysetRequest,
    pages: ActivityRows,
    totals: HashMap<Uuid, u64>,
}

/// Each project's page of activities: kept states, or summaries when the selection needs
/// nothing beyond the columns.
enum ActivityRows {
    States(HashMap<Uuid, Vec<Positioned<ActivityState>>>),
    Summaries(HashMap<Uuid, Vec<Positioned<ActivitySummary>>>),
}

/// What a plan writes of an activity, from its kept state or its summary (`state()` is `None`:
/// the state-only fields make the plan step aside).
trait ActivityView {
    fn id(&self) -> Uuid;
    fn title(&self) -> &str;
    fn kind(&self) -> CodedActivityKind;
    fn status(&self) -> CodedActivityStatus;
    fn planned_start(&self) -> NaiveDate;
    fn planned_end(&self) -> NaiveDate;
    fn version(&self) -> u64;
    fn state(&self) -> Option<&ActivityState>;
}

impl ActivityView for ActivityState {
    fn id(&self) -> Uuid {
        self.id
    }
    fn title(&self) -> &str {
        self.title.as_str()
    }
    fn kind(&self) -> CodedActivityKind {
        self.kind
    }
    fn status(&self) -> CodedActivityStatus {
        self.status
    }
    fn planned_start(&self) -> NaiveDate {
        self.planned_start
    }
    fn planned_end(&self) -> NaiveDate {
        self.planned_end
    }
    fn version(&self) -> u64 {
        self.version
    }
    fn state(&self) -> Option<&ActivityState> {
        Some(self)
    }
}

impl ActivityView for ActivitySummary {
    fn id(&self) -> Uuid {
        self.id
    }
    fn title(&self) -> &str {
        &self.title
    }
    fn kind(&self) -> CodedActivityKind {
        self.kind
    }
    fn status(&self) -> CodedActivityStatus {
        self.status
    }
    fn planned_start(&self) -> NaiveDate {
        self.planned_start
    }
    fn planned_end(&self) -> NaiveDate {
        self.planned_end
    }
    fn version(&self) -> u64 {
        self.version
    }
    fn state(&self) -> Option<&ActivityState> {
        None
    }
}

impl Related {
    /// Reads what `fields` (a project selection) needs for `projects`.
    async fn read_for<P: ProjectView>(
        &mut self,
        state: &ApiState,
        loaders: &Loaders,
        projects: &[&P],
        fields: &[(Name, ProjectField)],
    ) -> Option<()> {
        let ids: Vec<Uuid> = projects.iter().map(|project| project.id()).collect();
        for (_, field) in fields {
            match field {
                ProjectField::ParticipatingOrganisations(participation)
                    if participation
                        .iter()
                        .any(|(_, field)| matches!(field, ParticipationField::Organisation(_))) =>
                {
                    let mut wanted: Vec<Uuid> = projects
                        .iter()
                        .flat_map(|project| project.participating_organisations().iter())
                        .map(|row| row.organisation_id)
                        .filter(|id| !self.organisations.contains_key(id))
                        .collect();
                    wanted.sort_unstable();
                    wanted.dedup();
                    if !wanted.is_empty() {
                        let read = loaders.organisations.load_many(wanted).await.ok()?;
                        self.organisations.extend(read);
                    }
                }
                ProjectField::Activities(filtered, args, connection) => {
                    let key = (filtered.clone(), args.clone());
                    if self.activities.iter().any(|(read, _)| *read == key) {
                        continue;
                    }
                    // As the resolver: a `filter.projectId` naming another project matches
                    // nothing there (those projects are not read, and get empty pages).
                    let mut query = filtered.clone();
                    let only = query.project.take();
                    let ids: Vec<Uuid> = ids
                        .iter()
                        .copied()
                        .filter(|id| only.is_none_or(|only| only == *id))
                        .collect();
                    let order = format!("activities {:?}", query.order);
                    let request =
                        KeysetRequest::new(args, state.config.limits.page_size, &order).ok()?;
                    let range = request.range();
                    let keys = || {
                        ids.iter()
                            .map(|id| ProjectActivities::new(*id, query.clone(), range.clone()))
                    };
                    let needs_state = node_selections(connection)
                        .flatten()
                        .any(|(_, field)| field.needs_state());
                    let pages = if needs_state {
                        ActivityRows::States(
                            loaders
                                .activities
                                .load_many(keys())
                                .await
                                .ok()?
                                .into_iter()
                                .map(|(key, page)| (key.project(), page))
                                .collect(),
                        )
                    } else {
                        ActivityRows::Summaries(
                            loaders
                                .activity_summaries
                                .load_many(keys())
                                .await
                                .ok()?
                                .into_iter()
                                .map(|(key, page)| (key.project(), page))
                                .collect(),
                        )
                    };
                    let totals = if wants_total(connection) {
                        loaders
                            .activity_counts
                            .load_many(ids.iter().map(|id| {
                                ProjectActivities::new(*id, query.clone(), Range::first(0))
                            }))
                            .await
                            .ok()?
                            .into_iter()
                            .map(|(key, count)| (key.project(), count))
                            .collect()
                    } else {
                        HashMap::new()
                    };
                    let pages = ActivityPages {
                        order,
                        request,
                        pages,
                        totals,
                    };
                    self.read_partners(loaders, &pages, connection).await?;
                    self.activities.push((key, pages));
                }
                ProjectField::Transactions(args, _) => {
                    if self.transactions.iter().any(|(read, _)| read == args) {
                        continue;
                    }
                    let mut transactions = loaders
                        .transactions
                        .load_many(ids.iter().copied())
                        .await
                        .ok()?;
                    let mut pages = HashMap::with_capacity(projects.len());
                    for project in projects {
                        let rows = transactions.remove(&project.id()).unwrap_or_default();
                        let paged = paginate(args, state.config.limits.page_size, |window| {
                            let page = window_of(rows.as_slice(), window);
                            async move { Ok(page) }
                        })
                        .await
                        .ok()?;
                        pages.insert(project.id(), paged);
                    }
                    self.transactions.push((args.clone(), pages));
                }
                _ => {}
            }
        }
        Some(())
    }

    fn activity<A: ActivityView>(
        &self,
        activity: &A,
        fields: &[(Name, ActivityField)],
    ) -> Option<Value> {
        try_object(fields, |field| {
            Some(match field {
                ActivityField::Typename => Value::String("Activity".to_owned()),
                ActivityField::Id => id(activity.id()),
                ActivityField::Title => text(activity.title()),
                ActivityField::Description => text(activity.state()?.description.as_str()),
                ActivityField::Kind => ActivityKind::from(activity.kind()).to_value(),
                ActivityField::Status => ActivityStatus::from(activity.status()).to_value(),
                ActivityField::PlannedStart => date(activity.planned_start()),
                ActivityField::PlannedEnd => date(activity.planned_end()),
                ActivityField::ActualStart => {
                    activity.state()?.actual_start.map_or(Value::Null, date)
                }
                ActivityField::ActualEnd => activity.state()?.actual_end.map_or(Value::Null, date),
                ActivityField::Outcome => {
                    optional_text(activity.state()?.outcome.as_ref().map(Description::as_str))
                }
                ActivityField::CancellationReason => optional_text(
                    activity
                        .state()?
                        .cancellation_reason
                        .as_ref()
                        .map(Description::as_str),
                ),
                ActivityField::Version => Value::from(activity.version()),
                ActivityField::Partners(fields) => Value::List(
                    activity
                        .state()?
                        .partners
                        .iter()
                        .map(|row| {
                            try_object(fields, |field| {
                                Some(match field {
                                    PartnerField::Typename => {
                                        Value::String("ActivityPartner".to_owned())
                                    }
                                    PartnerField::Role => {
                                        ActivityPartnerRole::from(row.role).to_value()
                                    }
                                    PartnerField::Organisation(fields) => organisation(
                                        self.organisations.get(&row.organisation_id)?,
                                        fields,
                                    ),
                                })
                            })
                        })
                        .collect::<Option<_>>()?,
                ),
            })
        })
    }

    /// The organisations of the partners of `pages`' activities, when selected.
    async fn read_partners(
        &mut self,
        loaders: &Loaders,
        pages: &ActivityPages,
        connection: &Connection<ActivityField>,
    ) -> Option<()> {
        let wanted_by_selection = node_selections(connection).flatten().any(|(_, field)| {
            matches!(field, ActivityField::Partners(partner) if partner
                .iter()
                .any(|(_, field)| matches!(field, PartnerField::Organisation(_))))
        });
        if !wanted_by_selection {
            return Some(());
        }
        let ActivityRows::States(states) = &pages.pages else {
            // Partners are read from the kept state: a selection with them reads states.
            return None;
        };
        let mut wanted: Vec<Uuid> = states
            .values()
            .flatten()
            .flat_map(|activity| activity.item.partners.iter())
            .map(|partner| partner.organisation_id)
            .filter(|id| !self.organisations.contains_key(id))
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        if !wanted.is_empty() {
            let read = loaders.organisations.load_many(wanted).await.ok()?;
            self.organisations.extend(read);
        }
        Some(())
    }

    fn project<P: ProjectView>(
        &self,
        project: &P,
        fields: &[(Name, ProjectField)],
    ) -> Option<Value> {
        try_object(fields, |field| {
            Some(match field {
                ProjectField::Typename => Value::String("Project".to_owned()),
                ProjectField::Id => id(project.id()),
                ProjectField::IatiIdentifier => text(project.iati_identifier()),
                ProjectField::Title => text(project.title()),
                ProjectField::Description => text(project.description()?),
                ProjectField::Objectives => optional_text(project.objectives()?),
                ProjectField::Status => ProjectStatus::from(project.status()).to_value(),
                ProjectField::StatusCode => text(project.status().code()),
                ProjectField::PlannedStart => date(project.planned_start()),
                ProjectField::PlannedEnd => date(project.planned_end()),
                ProjectField::ActualStart => project.actual_start().map_or(Value::Null, date),
                ProjectField::ActualEnd => project.actual_end().map_or(Value::Null, date),
                ProjectField::Version => Value::from(project.version()),
                ProjectField::ParticipatingOrganisations(fields) => Value::List(
                    project
                        .participating_organisations()
                        .iter()
                        .map(|row| {
                            try_object(fields, |field| {
                                Some(match field {
                                    ParticipationField::Typename => {
                                        Value::String("ParticipatingOrganisation".to_owned())
                                    }
                                    ParticipationField::Role => {
                                        OrganisationRole::from(row.role).to_value()
                                    }
                                    ParticipationField::RoleCode => text(row.role.code()),
                                    ParticipationField::Organisation(fields) => organisation(
                                        self.organisations.get(&row.organisation_id)?,
                                        fields,
                                    ),
                                })
                            })
                        })
                        .collect::<Option<_>>()?,
                ),
                ProjectField::Activities(filtered, args, connection) => {
                    let (_, pages) = self
                        .activities
                        .iter()
                        .find(|((query, read), _)| query == filtered && read == args)?;
                    let total = pages.totals.get(&project.id()).copied().unwrap_or(0);
                    match &pages.pages {
                        ActivityRows::States(states) => {
                            let read = Read {
                                page: pages
                                    .request
                                    .page(states.get(&project.id()).cloned().unwrap_or_default()),
                                order: pages.order.clone(),
                                total,
                            };
                            connection_value(&read, connection, |activity, fields| {
                                self.activity(activity, fields)
                            })?
                        }
                        ActivityRows::Summaries(summaries) => {
                            let read = Read {
                                page: pages.request.page(
                                    summaries.get(&project.id()).cloned().unwrap_or_default(),
                                ),
                                order: pages.order.clone(),
                                total,
                            };
                            connection_value(&read, connection, |activity, fields| {
                                self.activity(activity, fields)
                            })?
                        }
                    }
                }
                ProjectField::Transactions(args, connection) => {
                    let (_, pages) = self.transactions.iter().find(|(read, _)| read == args)?;
                    paged_value(pages.get(&project.id())?, connection, |row, fields| {
                        Some(transaction(row, fields))
                    })?
                }
                ProjectField::Budgets(fields) => Value::List(
                    project
                        .state()?
                        .budgets
                        .iter()
                        .map(|row| budget(&Budget::from(*row), fields))
                        .collect(),
                ),
                ProjectField::Documents(fields) => Value::List(
                    project
                        .state()?
                        .documents
                        .iter()
                        .map(|row| document(&Document::from(row), fields))
                        .collect(),
                ),
                ProjectField::Sectors(fields) => Value::List(
                    project
                        .state()?
                        .sectors
                        .iter()
                        .map(|row| sector(&SectorShare::from(*row), fields))
                        .collect(),
                ),
                ProjectField::RecipientCountries(fields) => Value::List(
                    project
                        .state()?
                        .recipient_countries
                        .iter()
                        .map(|row| country_share(&RecipientCountry::from(*row), fields))
                        .collect(),
                ),
            })
        })
    }
}

fn organisation(organisation: &OrganisationState, fields: &[(Name, OrganisationField)]) -> Value {
    object(fields, |field| match field {
        OrganisationField::Typename => Value::String("Organisation".to_owned()),
        OrganisationField::Id => id(organisation.id),
        OrganisationField::Ref => optional_text(organisation.org_ref.as_ref().map(OrgRef::as_str)),
        OrganisationField::Name => text(organisation.name.as_str()),
        OrganisationField::Acronym => {
            optional_text(organisation.acronym.as_ref().map(Acronym::as_str))
        }
        OrganisationField::Type => {
            OrganisationType::from(organisation.organisation_type).to_value()
        }
        OrganisationField::TypeCode => text(organisation.organisation_type.code()),
        OrganisationField::Website => {
            optional_text(organisation.website.as_ref().map(WebUrl::as_str))
        }
        OrganisationField::Deactivated => Value::Boolean(organisation.deactivated),
        OrganisationField::Version => Value::from(organisation.version),
    })
}

fn money(money: &Money, fields: &[(Name, MoneyField)]) -> Value {
    object(fields, |field| match field {
        MoneyField::Typename => Value::String("Money".to_owned()),
        MoneyField::MinorUnits => ScalarType::to_value(&money.minor_units),
        MoneyField::Currency => text(&money.currency),
        MoneyField::Decimal => text(&money.decimal),
    })
}

fn budget(budget: &Budget, fields: &[(Name, BudgetField)]) -> Value {
    object(fields, |field| match field {
        BudgetField::Typename => Value::String("Budget".to_owned()),
        BudgetField::Type => budget.budget_type.to_value(),
        BudgetField::Status => budget.status.to_value(),
        BudgetField::PeriodStart => ScalarType::to_value(&budget.period_start),
        BudgetField::PeriodEnd => ScalarType::to_value(&budget.period_end),
        BudgetField::Value(fields) => money(&budget.value, fields),
        BudgetField::ValueDate => ScalarType::to_value(&budget.value_date),
    })
}

fn transaction(row: &TransactionRow, fields: &[(Name, TransactionField)]) -> Value {
    object(fields, |field| match field {
        TransactionField::Typename => Value::String("Transaction".to_owned()),
        TransactionField::Id => id(row.id),
        TransactionField::Type => TransactionType::from(row.transaction_type).to_value(),
        TransactionField::TypeCode => text(row.transaction_type.code()),
        TransactionField::Date => date(row.date),
        TransactionField::Value(fields) => money(&Money::from(row.value), fields),
        TransactionField::ValueDate => date(row.value_date),
        TransactionField::Description => {
            optional_text(row.description.as_ref().map(Description::as_str))
        }
        TransactionField::Ref => optional_text(row.reference.as_ref().map(TransactionRef::as_str)),
    })
}

fn document(document: &Document, fields: &[(Name, DocumentField)]) -> Value {
    object(fields, |field| match field {
        DocumentField::Typename => Value::String("Document".to_owned()),
        DocumentField::Url => text(&document.url),
        DocumentField::Title => text(&document.title),
        DocumentField::CategoryCode => text(&document.category_code),
        DocumentField::Format => text(&document.format),
        DocumentField::Date => document
            .date
            .as_ref()
            .map_or(Value::Null, ScalarType::to_value),
    })
}

fn sector(sector: &SectorShare, fields: &[(Name, SectorField)]) -> Value {
    object(fields, |field| match field {
        SectorField::Typename => Value::String("SectorShare".to_owned()),
        SectorField::Code => text(&sector.code),
        SectorField::Name => text(&sector.name),
        SectorField::Percentage => ScalarType::to_value(&sector.percentage),
    })
}

fn country_share(share: &RecipientCountry, fields: &[(Name, CountryShareField)]) -> Value {
    object(fields, |field| match field {
        CountryShareField::Typename => Value::String("RecipientCountry".to_owned()),
        CountryShareField::Percentage => ScalarType::to_value(&share.percentage),
        CountryShareField::Country(fields) => object(fields, |field| match field {
            CountryField::Typename => Value::String("Country".to_owned()),
            CountryField::Code => text(&share.country.code),
            CountryField::Name => text(&share.country.name),
        }),
    })
}

/// The span async-graphql's path opens for a root field ([`Traced`]) that returns `returns`.
fn resolve_span(key: &Name, returns: &str) -> tracing::Span {
    tracing::info_span!(
        "graphql.resolve",
        graphql.field.path = key.as_str(),
        graphql.field.parent_type = "Query",
        graphql.field.type = returns,
    )
}

/// The object a selection asks for: each field under its response key, its value by `value`.
fn object<F>(fields: &[(Name, F)], mut value: impl FnMut(&F) -> Value) -> Value {
    let mut object = Object::with_capacity(fields.len());
    for (key, field) in fields {
        object.insert(key.clone(), value(field));
    }
    Value::Object(object)
}

/// [`object`], when a value may be missing (the plan steps aside).
fn try_object<F>(
    fields: &[(Name, F)],
    mut value: impl FnMut(&F) -> Option<Value>,
) -> Option<Value> {
    let mut object = Object::with_capacity(fields.len());
    for (key, field) in fields {
        object.insert(key.clone(), value(field)?);
    }
    Some(Value::Object(object))
}

fn id(id: Uuid) -> Value {
    Value::String(id.to_string())
}

fn text(text: &str) -> Value {
    Value::String(text.to_owned())
}

fn optional_text(text: Option<&str>) -> Value {
    text.map_or(Value::Null, self::text)
}

fn date(date: NaiveDate) -> Value {
    ScalarType::to_value(&Date::from(date))
}
