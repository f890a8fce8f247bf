//! The portfolio as IATI 2.03 XML (`docs/iati.md`). Publishing: `GET /iati/activities.xml`,
//! `GET /iati/organisations.xml` and `amanah iati export`, all three written by [`Publisher`].
//! Importing: `amanah iati import` ([`import`]).
//!
//! A file is streamed page by page ([`PROJECTS_PER_PAGE`] projects, their activities and the
//! organisations they name), so its memory does not grow with the portfolio. With `asOf`, every
//! project, activity and organisation is folded from the audit log's first `asOf` events, as
//! `project(id:, asOf:)` does, so the file says what the portfolio said at that log size.

pub mod import;

use std::collections::{HashMap, HashSet};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use amanah_domain::activity::Activity;
use amanah_domain::aggregate::{Aggregate, StreamKind};
use amanah_domain::organisation::Organisation;
use amanah_domain::ports::StoreError;
use amanah_domain::project::{Project, Transactions};
use amanah_domain::query::{
    ActivityQuery, OrganisationQuery, Position, ProjectQuery, Range, ReadModel,
};
use amanah_domain::service::{CommandError, CommandService};
use amanah_domain::values::OrgRef;
use amanah_infra::SqlEventStore;
use amanah_infra::iati::publish::{self, ActivityRecord, OrganisationRecord};
use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt as _};
use serde::Deserialize;
use uuid::Uuid;

use crate::error::ErrorCode;
use crate::graphql::access::{self, Action, Denial};
use crate::graphql_http::{Rejection, caller};
use crate::state::{ApiState, PortfolioReadModel};

/// Projects read, folded and written at a time.
pub const PROJECTS_PER_PAGE: u64 = 50;
/// Organisations read at a time for the organisation file.
const ORGANISATIONS_PER_PAGE: u64 = 200;
/// Activities of one project read at a time.
const ACTIVITIES_PER_PAGE: u64 = 500;

/// Which projects an activity file covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Only the projects this organisation (by its IATI `ref`) reports.
    pub reporting_org: Option<String>,
    /// As the log's first `as_of` events left the portfolio.
    pub as_of: Option<u64>,
}

/// Why a file cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("no organisation has the IATI ref {0:?}")]
    UnknownReportingOrg(String),
    #[error("asOf {as_of} is beyond the audit log, which holds {size} events")]
    BeyondTheLog { as_of: u64, size: u64 },
    /// An IATI file holds at least one activity (or organisation): there is nothing to write.
    #[error("{0}")]
    NothingToPublish(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<CommandError> for PublishError {
    fn from(error: CommandError) -> Self {
        match error {
            CommandError::Store(error) => Self::Store(error),
            other => Self::Store(StoreError::internal_from(
                "cannot fold a stream for the IATI file",
                other,
            )),
        }
    }
}

/// A file as it is written: its pieces, in order. A piece that fails ends the file early.
pub type XmlPieces = BoxStream<'static, Result<String, PublishError>>;

/// Writes the IATI files from the read model (which projects, activities and organisations
/// exist) and the log (their states at `asOf`, and when each last changed).
#[derive(Debug, Clone)]
pub struct Publisher {
    read_model: PortfolioReadModel,
    commands: CommandService<SqlEventStore>,
}

/// What a file lists, page by page.
enum Listing {
    /// The projects `query` selects, as `as_of` left them.
    Activities {
        query: ProjectQuery,
        as_of: Option<u64>,
    },
    /// The organisations `query` selects that report a project.
    Organisations(OrganisationQuery),
}

impl Listing {
    /// Why a file of nothing is refused.
    const fn nothing(&self) -> &'static str {
        match self {
            Self::Activities { .. } => {
                "no project matches: an IATI activity file holds at least one activity"
            }
            Self::Organisations(_) => {
                "no organisation reports a project: an IATI organisation file holds at least one \
                 organisation"
            }
        }
    }

    /// The file's closing tag.
    const fn end(&self) -> &'static str {
        match self {
            Self::Activities { .. } => publish::ACTIVITIES_END,
            Self::Organisations(_) => publish::ORGANISATIONS_END,
        }
    }
}

/// One page of a file: its XML, how many records it holds, and where the next page starts.
struct Page {
    xml: String,
    published: usize,
    /// Where the next page starts; `None` after the last.
    next: Option<Position>,
}

impl Publisher {
    #[must_use]
    pub fn new(read_model: PortfolioReadModel, commands: CommandService<SqlEventStore>) -> Self {
        Self {
            read_model,
            commands,
        }
    }

    /// The activity file of `selection`, generated at `generated`.
    ///
    /// # Errors
    /// An unknown reporting organisation, an `asOf` beyond the log, no project to publish, or a
    /// store failure before the first piece; a failure later ends the stream with it.
    pub async fn activities(
        self,
        selection: &Selection,
        generated: DateTime<Utc>,
    ) -> Result<XmlPieces, PublishError> {
        let as_of = selection.as_of;
        if let Some(as_of) = as_of {
            let size = self.commands.store().size().await?;
            if as_of > size {
                return Err(PublishError::BeyondTheLog { as_of, size });
            }
        }
        let reporting_organisation = match &selection.reporting_org {
            Some(reference) => Some(self.organisation_by_ref(reference).await?),
            None => None,
        };
        let listing = Listing::Activities {
            query: ProjectQuery {
                reporting_organisation,
                ..ProjectQuery::default()
            },
            as_of,
        };
        self.file(listing, publish::activities_start(generated))
            .await
    }

    /// The organisation file: every organisation with an IATI `ref` that reports a project.
    ///
    /// # Errors
    /// No reporting organisation, or a store failure before the first piece; a failure later
    /// ends the stream with it.
    pub async fn organisations(self, generated: DateTime<Utc>) -> Result<XmlPieces, PublishError> {
        let listing = Listing::Organisations(OrganisationQuery {
            include_deactivated: true,
            ..OrganisationQuery::default()
        });
        self.file(listing, publish::organisations_start(generated))
            .await
    }

    /// A file of `listing`: `start`, its pages, its end. The pages up to the first that
    /// publishes something are read before the file starts (with `asOf`, a page may hold only
    /// projects registered later), so that an empty file is an error, not a schema violation.
    async fn file(self, listing: Listing, start: String) -> Result<XmlPieces, PublishError> {
        let mut first = self.page(&listing, None).await?;
        let mut leading = start + &first.xml;
        while first.published == 0 {
            let Some(after) = first.next else {
                return Err(PublishError::NothingToPublish(listing.nothing()));
            };
            first = self.page(&listing, Some(after)).await?;
            leading.push_str(&first.xml);
        }
        let end = listing.end();
        let rest = stream::try_unfold(
            (self, listing, first.next),
            |(publisher, listing, after)| async move {
                let Some(after) = after else {
                    return Ok(None);
                };
                let page = publisher.page(&listing, Some(after)).await?;
                Ok(Some((page.xml, (publisher, listing, page.next))))
            },
        );
        Ok(stream::once(async move { Ok(leading) })
            .chain(rest)
            .chain(stream::once(async move { Ok(end.to_owned()) }))
            .boxed())
    }

    async fn page(&self, listing: &Listing, after: Option<Position>) -> Result<Page, PublishError> {
        match listing {
            Listing::Activities { query, as_of } => self.activity_page(query, after, *as_of).await,
            Listing::Organisations(query) => self.organisation_page(query, after).await,
        }
    }

    async fn organisation_by_ref(&self, reference: &str) -> Result<Uuid, PublishError> {
        let unknown = || PublishError::UnknownReportingOrg(reference.to_owned());
        let org_ref = OrgRef::parse(reference).map_err(|_| unknown())?;
        match self.read_model.organisation_by_ref(&org_ref).await? {
            Some(organisation) => Ok(organisation.id),
            None => Err(unknown()),
        }
    }

    async fn activity_page(
        &self,
        query: &ProjectQuery,
        after: Option<Position>,
        as_of: Option<u64>,
    ) -> Result<Page, PublishError> {
        let page = self
            .read_model
            .projects(query, &page_after(after, PROJECTS_PER_PAGE))
            .await?;
        let next = (page.len() as u64 == PROJECTS_PER_PAGE)
            .then(|| page.last().map(|last| last.position.clone()))
            .flatten();
        let mut projects = Vec::with_capacity(page.len());
        let mut transactions = HashMap::new();
        for positioned in page {
            match as_of {
                None => projects.push(positioned.item),
                // The project and its transactions from one read of its stream.
                Some(size) => {
                    if let Some((project, its)) = self
                        .commands
                        .project_as_of(positioned.item.id, size)
                        .await?
                    {
                        transactions.insert(project.id, its);
                        projects.push(project);
                    }
                }
            }
        }
        let ids: Vec<Uuid> = projects.iter().map(|project| project.id).collect();
        let mut activities = self.activities_of(&ids, as_of).await?;
        if as_of.is_none() {
            transactions = self.read_model.transactions_of_projects(&ids).await?;
        }
        let named: HashSet<Uuid> = projects
            .iter()
            .flat_map(named_organisations)
            .chain(transactions.values().flat_map(|transactions| {
                transactions.as_slice().iter().flat_map(|t| {
                    t.provider_organisation_id
                        .into_iter()
                        .chain(t.receiver_organisation_id)
                })
            }))
            .chain(activities.values().flatten().flat_map(|activity| {
                activity
                    .partners
                    .iter()
                    .map(|partner| partner.organisation_id)
            }))
            .collect();
        let organisations = self.organisations_by_id(named, as_of).await?;
        let last_changed = self
            .read_model
            .last_changed(StreamKind::Project, &ids, as_of)
            .await?;
        let mut xml = String::new();
        for project in &projects {
            let activities = activities.remove(&project.id).unwrap_or_default();
            let transactions = transactions.get(&project.id);
            xml.push_str(&publish::activity(&ActivityRecord {
                project,
                transactions: transactions.map_or(&[], Transactions::as_slice),
                activities: &activities,
                organisations: &organisations,
                last_updated: last_changed.get(&project.id).copied(),
            }));
        }
        Ok(Page {
            xml,
            published: projects.len(),
            next,
        })
    }

    async fn organisation_page(
        &self,
        query: &OrganisationQuery,
        after: Option<Position>,
    ) -> Result<Page, PublishError> {
        let page = self
            .read_model
            .organisations(query, &page_after(after, ORGANISATIONS_PER_PAGE))
            .await?;
        let next = (page.len() as u64 == ORGANISATIONS_PER_PAGE)
            .then(|| page.last().map(|last| last.position.clone()))
            .flatten();
        // One count per organisation with a ref: a few hundred small statements for a whole
        // file, which is read rarely; a page of organisations needs no index of its own for it.
        let mut reporting = Vec::new();
        for positioned in page {
            let org = positioned.item;
            if org.org_ref.is_none() {
                continue;
            }
            let reports = ProjectQuery {
                reporting_organisation: Some(org.id),
                ..ProjectQuery::default()
            };
            if self.read_model.count_projects(&reports).await? > 0 {
                reporting.push(org);
            }
        }
        let ids: Vec<Uuid> = reporting.iter().map(|org| org.id).collect();
        let last_changed = self
            .read_model
            .last_changed(StreamKind::Organisation, &ids, None)
            .await?;
        let mut xml = String::new();
        for organisation in &reporting {
            if let Some(identifier) = &organisation.org_ref {
                xml.push_str(&publish::organisation(&OrganisationRecord {
                    organisation,
                    identifier: identifier.as_str(),
                    last_updated: last_changed.get(&organisation.id).copied(),
                }));
            }
        }
        Ok(Page {
            xml,
            published: reporting.len(),
            next,
        })
    }

    /// The activities of `projects`, each project's in its order; at `as_of`, those that
    /// existed then, as they were.
    async fn activities_of(
        &self,
        projects: &[Uuid],
        as_of: Option<u64>,
    ) -> Result<HashMap<Uuid, Vec<Activity>>, PublishError> {
        let query = ActivityQuery::default();
        let mut pages = self
            .read_model
            .activities_of_projects(projects, &query, &Range::first(ACTIVITIES_PER_PAGE))
            .await?;
        let mut all = HashMap::with_capacity(pages.len());
        for project in projects {
            let Some(mut page) = pages.remove(project) else {
                continue;
            };
            let mut activities = Vec::new();
            loop {
                let full = page.len() as u64 == ACTIVITIES_PER_PAGE;
                let after = page.last().map(|last| last.position.clone());
                for positioned in page {
                    let activity = match as_of {
                        None => Some(positioned.item),
                        Some(size) => self.at::<Activity>(positioned.item.id, size).await?,
                    };
                    activities.extend(activity);
                }
                let (true, Some(after)) = (full, after) else {
                    break;
                };
                let more = ActivityQuery {
                    project: Some(*project),
                    ..ActivityQuery::default()
                };
                page = self
                    .read_model
                    .activities(&more, &page_after(Some(after), ACTIVITIES_PER_PAGE))
                    .await?;
            }
            all.insert(*project, activities);
        }
        Ok(all)
    }

    async fn organisations_by_id(
        &self,
        ids: HashSet<Uuid>,
        as_of: Option<u64>,
    ) -> Result<HashMap<Uuid, Organisation>, PublishError> {
        let ids: Vec<Uuid> = ids.into_iter().collect();
        let mut found = HashMap::with_capacity(ids.len());
        match as_of {
            None => {
                for org in self.read_model.organisations_by_id(&ids).await? {
                    found.insert(org.id, org);
                }
            }
            Some(size) => {
                for id in ids {
                    if let Some(org) = self.at::<Organisation>(id, size).await? {
                        found.insert(id, org);
                    }
                }
            }
        }
        Ok(found)
    }

    async fn at<A: Aggregate>(&self, id: Uuid, size: u64) -> Result<Option<A>, PublishError> {
        Ok(self.commands.load::<A>(id, Some(size)).await?)
    }
}

/// Every organisation a project's state names: its reporting organisation, participants, and
/// the providers and receivers of its planned disbursements.
fn named_organisations(project: &Project) -> impl Iterator<Item = Uuid> + '_ {
    std::iter::once(project.reporting_organisation_id)
        .chain(
            project
                .participating_organisations
                .iter()
                .map(|p| p.organisation_id),
        )
        .chain(project.planned_disbursements.iter().flat_map(|p| {
            p.provider_organisation_id
                .into_iter()
                .chain(p.receiver_organisation_id)
        }))
}

fn page_after(after: Option<Position>, limit: u64) -> Range {
    Range {
        after,
        ..Range::first(limit)
    }
}

/// The query string of `GET /iati/activities.xml`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActivitiesParams {
    reporting_org: Option<String>,
    as_of: Option<String>,
}

/// `GET /iati/activities.xml[?reportingOrg=REF][&asOf=SIZE]`.
pub async fn activities_xml(req: HttpRequest, state: web::Data<ApiState>) -> HttpResponse {
    let params = match web::Query::<ActivitiesParams>::from_query(req.query_string()) {
        Ok(params) => params.into_inner(),
        Err(error) => return bad_request("query", format!("{error}")),
    };
    let as_of = match params.as_of.as_deref().map(str::parse::<u64>).transpose() {
        Ok(as_of) => as_of,
        Err(_) => {
            return bad_request(
                "asOf",
                "asOf is a size of the audit log: a whole number, 0 or more".to_owned(),
            );
        }
    };
    if let Err(response) = admit(&req, &state).await {
        return response;
    }
    let selection = Selection {
        reporting_org: params.reporting_org,
        as_of,
    };
    let publisher = Publisher::new(state.read_model.clone(), state.commands.clone());
    respond(publisher.activities(&selection, Utc::now()).await)
}

/// `GET /iati/organisations.xml`.
pub async fn organisations_xml(req: HttpRequest, state: web::Data<ApiState>) -> HttpResponse {
    if !req.query_string().is_empty() {
        return bad_request("query", "organisations.xml takes no parameters".to_owned());
    }
    if let Err(response) = admit(&req, &state).await {
        return response;
    }
    let publisher = Publisher::new(state.read_model.clone(), state.commands.clone());
    respond(publisher.organisations(Utc::now()).await)
}

/// Whoever may read the portfolio may read its IATI files.
async fn admit(req: &HttpRequest, state: &ApiState) -> Result<(), HttpResponse> {
    let identity = caller(req, state)
        .await
        .map_err(|rejection| rejection.into_response(None))?;
    access::decide(
        identity.as_ref(),
        state.config.public_read,
        Action::ReadPortfolio,
    )
    .map_err(|denial| {
        let status = match denial {
            Denial::Unauthenticated => StatusCode::UNAUTHORIZED,
            Denial::Forbidden => StatusCode::FORBIDDEN,
        };
        let code = match denial {
            Denial::Unauthenticated => ErrorCode::Unauthenticated,
            Denial::Forbidden => ErrorCode::Forbidden,
        };
        Rejection::new(status, code, None, denial.message(Action::ReadPortfolio))
            .into_response(None)
    })
}

fn bad_request(field: &'static str, message: String) -> HttpResponse {
    Rejection::new(
        StatusCode::BAD_REQUEST,
        ErrorCode::BadUserInput,
        Some(field),
        message,
    )
    .into_response(None)
}

/// The file as a streamed `application/xml` response, or the error that prevented its start.
fn respond(file: Result<XmlPieces, PublishError>) -> HttpResponse {
    match file {
        Ok(pieces) => HttpResponse::Ok()
            .content_type("application/xml; charset=utf-8")
            .insert_header(("cache-control", "no-cache"))
            .streaming(pieces.map(|piece| match piece {
                Ok(xml) => Ok(web::Bytes::from(xml)),
                Err(error) => {
                    // The status is sent: ending the body early is how the client learns.
                    tracing::error!(error = %amanah_domain::errors::Chain(&error), "an IATI file failed while streaming");
                    Err(std::io::Error::other(error.to_string()))
                }
            })),
        Err(PublishError::UnknownReportingOrg(reference)) => bad_request(
            "reportingOrg",
            format!("no organisation has the IATI ref {reference:?}"),
        ),
        Err(error @ PublishError::BeyondTheLog { .. }) => bad_request("asOf", error.to_string()),
        Err(PublishError::NothingToPublish(message)) => Rejection::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            None,
            message.to_owned(),
        )
        .into_response(None),
        Err(PublishError::Store(error)) => {
            tracing::error!(error = %amanah_domain::errors::Chain(&error), "cannot start an IATI file");
            Rejection::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::InternalServerError,
                None,
                "the IATI file cannot be read now; try again later".to_owned(),
            )
            .into_response(None)
        }
    }
}
