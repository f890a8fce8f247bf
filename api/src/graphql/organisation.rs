//! Organisations: the `Organisation` type, its inputs, and the organisation mutations' parsing.

use std::sync::Arc;

use amanah_domain::organisation::{
    Organisation as OrganisationState, OrganisationCommand, RegisterOrganisation,
    ReviseOrganisation,
};
use amanah_domain::query::{OrganisationQuery, ProjectQuery, ReadModel as _};
use amanah_domain::values::{Acronym, CountryCode, Name, OrgRef, WebUrl};
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use uuid::Uuid;

use super::ContextExt as _;
use super::command::{self, Expected, invalid, optional, patch};
use super::connection::{
    PageArgs, ProjectConnection, connection_cost, paginate_keyset, wants_total,
};
use super::enums::{
    OrderDirection, OrganisationOrderField, OrganisationRole, OrganisationType, all,
};
use super::ids::to_id;
use super::project::Project;
use super::reference_data::{Country, parse_countries, search_text};
use crate::error::ApiError;

/// A partner organisation (current, or as of a log size: it has no references to follow).
#[derive(Debug, Clone)]
pub struct Organisation {
    state: Arc<OrganisationState>,
}

impl Organisation {
    #[must_use]
    pub fn new(state: Arc<OrganisationState>) -> Self {
        Self { state }
    }

    /// The organisation's id.
    #[must_use]
    pub fn uuid(&self) -> Uuid {
        self.state.id
    }
}

impl From<OrganisationState> for Organisation {
    fn from(state: OrganisationState) -> Self {
        Self::new(Arc::new(state))
    }
}

/// An organisation that funds, steers or carries out projects and activities. Organisations are
/// never deleted; they can be deactivated.
#[Object]
impl Organisation {
    pub async fn id(&self) -> ID {
        to_id(self.state.id)
    }

    /// IATI organisation identifier, e.g. XM-DAC-5-7.
    #[graphql(name = "ref")]
    async fn org_ref(&self) -> Option<&str> {
        self.state.org_ref.as_ref().map(OrgRef::as_str)
    }

    async fn name(&self) -> &str {
        self.state.name.as_str()
    }

    async fn acronym(&self) -> Option<&str> {
        self.state.acronym.as_ref().map(Acronym::as_str)
    }

    #[graphql(name = "type")]
    async fn organisation_type(&self) -> OrganisationType {
        self.state.organisation_type.into()
    }

    /// IATI OrganisationType code, e.g. "10".
    async fn type_code(&self) -> &'static str {
        self.state.organisation_type.code()
    }

    /// The country of the organisation's seat.
    async fn country(&self) -> Option<Country> {
        self.state.country.map(Country::from)
    }

    async fn website(&self) -> Option<&str> {
        self.state.website.as_ref().map(WebUrl::as_str)
    }

    async fn deactivated(&self) -> bool {
        self.state.deactivated
    }

    /// The number of events in the organisation's stream: pass it as `expectedVersion`.
    async fn version(&self) -> u64 {
        self.state.version
    }

    /// Projects this organisation takes part in, optionally in one role. Always the current
    /// projects, also when the organisation was read with `asOf`.
    #[graphql(complexity = "connection_cost(first, None, child_complexity)")]
    async fn projects(
        &self,
        ctx: &Context<'_>,
        role: Option<OrganisationRole>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<ProjectConnection, ApiError> {
        let state = ctx.portfolio()?;
        let query = ProjectQuery {
            participating_organisation: Some(self.state.id),
            participating_role: role.map(Into::into),
            ..ProjectQuery::default()
        };
        let args = PageArgs::forward(first, after);
        let query = &query;
        let connection = paginate_keyset(
            &args,
            state.config.limits.page_size,
            &format!("projects {:?}", query.order),
            |range| async move { Ok(state.read_model.projects(query, &range).await?) },
            wants_total(ctx)
                .then_some(|| async move { Ok(state.read_model.count_projects(query).await?) }),
        )
        .await?;
        Ok(connection.map(Project::from).into())
    }
}

/// Which organisations to list.
#[derive(InputObject, Clone, Debug, Default)]
pub struct OrganisationFilter {
    /// Any of these types.
    #[graphql(name = "type")]
    pub organisation_type: Option<Vec<OrganisationType>>,
    /// Seated in any of these countries (ISO 3166-1 alpha-2).
    pub country: Option<Vec<String>>,
    /// A case-insensitive part of the name, acronym or ref.
    pub text: Option<String>,
    /// Include deactivated organisations (default false).
    pub include_deactivated: Option<bool>,
}

/// How to order organisations.
#[derive(InputObject, Debug, Clone, Copy)]
pub struct OrganisationOrder {
    pub field: OrganisationOrderField,
    pub direction: OrderDirection,
}

/// The read model's query for `organisations(filter, orderBy)`.
///
/// # Errors
/// `BAD_USER_INPUT` naming `filter.country[i]` for an unknown country.
pub fn organisation_query(
    filter: Option<OrganisationFilter>,
    order: Option<OrganisationOrder>,
) -> Result<OrganisationQuery, ApiError> {
    let filter = filter.unwrap_or_default();
    let mut query = OrganisationQuery {
        types: all(filter.organisation_type),
        countries: parse_countries(filter.country.as_deref(), "filter.country")?,
        text: search_text(filter.text, "filter.text")?,
        include_deactivated: filter.include_deactivated.unwrap_or(false),
        ..OrganisationQuery::default()
    };
    if let Some(order) = order {
        query.order = (order.field.into(), order.direction.into());
    }
    Ok(query)
}

/// `registerOrganisation`.
#[derive(InputObject, Clone, Debug)]
pub struct RegisterOrganisationInput {
    /// IATI organisation identifier, e.g. XM-DAC-5-7 (required to report projects).
    #[graphql(name = "ref")]
    pub org_ref: Option<String>,
    pub name: String,
    pub acronym: Option<String>,
    #[graphql(name = "type")]
    pub organisation_type: OrganisationType,
    /// ISO 3166-1 alpha-2 code of the country of the seat.
    pub country: Option<String>,
    /// An absolute http(s) URL.
    pub website: Option<String>,
}

/// `reviseOrganisation`: omitted fields stay as they are; `null` clears an optional field.
#[derive(InputObject, Clone, Debug)]
pub struct ReviseOrganisationInput {
    pub id: ID,
    pub expected_version: i64,
    /// May be set once; a ref cannot be changed or removed (project identifiers derive from it).
    #[graphql(name = "ref")]
    pub org_ref: MaybeUndefined<String>,
    pub name: Option<String>,
    pub acronym: MaybeUndefined<String>,
    #[graphql(name = "type")]
    pub organisation_type: Option<OrganisationType>,
    pub country: MaybeUndefined<String>,
    pub website: MaybeUndefined<String>,
}

/// An aggregate's id and the version the client read.
#[derive(InputObject, Clone, Debug)]
pub struct VersionedIdInput {
    pub id: ID,
    pub expected_version: i64,
}

/// What an organisation mutation returns.
#[derive(SimpleObject)]
pub struct OrganisationPayload {
    pub organisation: Organisation,
    #[graphql(flatten)]
    pub appended: super::audit::Appended,
}

async fn payload(
    ctx: &Context<'_>,
    id: Uuid,
    expected: Expected,
    command: OrganisationCommand,
) -> Result<OrganisationPayload, ApiError> {
    let committed =
        command::execute::<OrganisationState>(ctx, id, expected, command, Vec::new()).await?;
    Ok(OrganisationPayload {
        appended: (&committed).into(),
        organisation: committed.state.into(),
    })
}

/// Parses and runs `registerOrganisation`.
///
/// # Errors
/// `BAD_USER_INPUT` naming the field; a taken `ref`; store failures.
pub async fn register(
    ctx: &Context<'_>,
    input: RegisterOrganisationInput,
) -> Result<OrganisationPayload, ApiError> {
    let id = Uuid::now_v7();
    let command = OrganisationCommand::Register(RegisterOrganisation {
        id,
        org_ref: optional(input.org_ref.as_deref(), "ref", OrgRef::parse)?,
        name: Name::parse(&input.name).map_err(invalid("name"))?,
        acronym: optional(input.acronym.as_deref(), "acronym", Acronym::parse)?,
        organisation_type: input.organisation_type.into(),
        country: optional(input.country.as_deref(), "country", CountryCode::parse)?,
        website: optional(input.website.as_deref(), "website", WebUrl::parse)?,
    });
    payload(ctx, id, Expected::Minted, command).await
}

/// Parses and runs `reviseOrganisation`.
///
/// # Errors
/// `BAD_USER_INPUT` naming the field, `NOT_FOUND`, `CONFLICT`; store failures.
pub async fn revise(
    ctx: &Context<'_>,
    input: ReviseOrganisationInput,
) -> Result<OrganisationPayload, ApiError> {
    let (id, expected) = command::target(&input.id, "id", input.expected_version)?;
    let org_ref = match &input.org_ref {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => {
            return Err(ApiError::bad_user_input(
                "ref",
                "ref cannot be removed, because project identifiers are derived from it; omit it to keep it",
            ));
        }
        MaybeUndefined::Value(raw) => Some(OrgRef::parse(raw).map_err(invalid("ref"))?),
    };
    let command = OrganisationCommand::Revise(ReviseOrganisation {
        id,
        org_ref,
        name: optional(input.name.as_deref(), "name", Name::parse)?,
        acronym: patch(&input.acronym, "acronym", Acronym::parse)?,
        organisation_type: input.organisation_type.map(Into::into),
        country: patch(&input.country, "country", CountryCode::parse)?,
        website: patch(&input.website, "website", WebUrl::parse)?,
    });
    payload(ctx, id, expected, command).await
}

/// Parses and runs `deactivateOrganisation` (`deactivate = true`) or `reactivateOrganisation`.
///
/// # Errors
/// `BAD_USER_INPUT`, `NOT_FOUND`, `CONFLICT`; store failures.
pub async fn set_deactivated(
    ctx: &Context<'_>,
    input: VersionedIdInput,
    deactivate: bool,
) -> Result<OrganisationPayload, ApiError> {
    let (id, expected) = command::target(&input.id, "id", input.expected_version)?;
    let command = if deactivate {
        OrganisationCommand::Deactivate { id }
    } else {
        OrganisationCommand::Reactivate { id }
    };
    payload(ctx, id, expected, command).await
}
