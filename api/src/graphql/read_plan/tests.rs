//! Plans answer as async-graphql does: random selections over the covered types, run both ways
//! on the demo portfolio, must give the same bytes; what a plan does not cover, or may not answer,
//! async-graphql answers.

use amanah_infra::auth::Role;
use async_graphql::parser::parse_query;
use async_graphql::{Request, Response, Variables};
use serde_json::{Value as Json, json};

use super::ReadPlans;
use crate::graphql::portfolio_tests::TestState;
use crate::graphql::{AmanahSchema, schema};
use crate::state::ApiState;

struct Portfolio {
    state: ApiState,
    /// Every query executed by async-graphql.
    reference: AmanahSchema,
    _backing: TestState,
}

impl Portfolio {
    async fn demo() -> Self {
        Self::demo_with(|_| {}).await
    }

    async fn demo_with(configure: impl FnOnce(&mut crate::config::Config)) -> Self {
        let backing = TestState::new(configure, None).await;
        let state = backing.state.clone();
        crate::demo::load(&state.commands)
            .await
            .unwrap_or_else(|error| panic!("the demo portfolio: {error}"));
        Self {
            reference: schema(state.clone()).without_read_plans(),
            state,
            _backing: backing,
        }
    }

    fn request(query: &str, variables: &Json, roles: &[Role]) -> Request {
        let request = Request::new(query).variables(Variables::from_json(variables.clone()));
        if roles.is_empty() {
            request
        } else {
            request.data(crate::auth::test_identity("plan-tests", roles, None))
        }
    }

    /// async-graphql's response.
    async fn reference(&self, query: &str, variables: &Json, roles: &[Role]) -> Response {
        self.reference
            .execute(Self::request(query, variables, roles))
            .await
    }

    /// A plan's response, the document recorded as executed first; `None` when no plan answers.
    async fn planned(&self, query: &str, variables: &Json, roles: &[Role]) -> Option<Response> {
        let plans = ReadPlans::new(self.state.clone());
        let request = Self::request(query, variables, roles);
        plans.executed(None, query.to_owned());
        let document = parse_query(query).unwrap_or_else(|error| panic!("{query}: {error}"));
        plans.answer(&request, &document).await
    }

    /// Both ways, the same bytes; the plan must answer.
    async fn same(&self, query: &str, variables: &Json) {
        let reference = self.reference(query, variables, &[Role::Editor]).await;
        assert!(
            reference.errors.is_empty(),
            "{query}: async-graphql failed: {:?}",
            reference.errors
        );
        self.answers_as(query, variables, &reference).await;
    }

    /// A request async-graphql answered with `reference`: a plan answers the same bytes, or, when
    /// async-graphql refused it, no plan answers. Whether it answered.
    async fn agrees(&self, query: &str, variables: &Json) -> bool {
        let reference = self.reference(query, variables, &[Role::Editor]).await;
        if reference.errors.is_empty() {
            self.answers_as(query, variables, &reference).await;
            true
        } else {
            assert!(
                self.planned(query, variables, &[Role::Editor])
                    .await
                    .is_none(),
                "a plan answered {query}, which async-graphql refused: {:?}",
                reference.errors
            );
            false
        }
    }

    async fn answers_as(&self, query: &str, variables: &Json, reference: &Response) {
        let planned = self
            .planned(query, variables, &[Role::Editor])
            .await
            .unwrap_or_else(|| panic!("no plan answered {query} with {variables}"));
        assert_eq!(
            json_text(&planned),
            json_text(reference),
            "{query} with {variables}"
        );
    }
}

fn json_text(response: &Response) -> String {
    serde_json::to_string(response).unwrap_or_else(|error| panic!("a response: {error}"))
}

/// The frontend's list page (the benchmark's R1) with every covered field besides.
const LIST_PAGE: &str = "{ projects(first: 20) { edges { node { title status \
    participatingOrganisations { role organisation { name } } activities(first: 5) { edges { \
    node { title kind status } } } } } } }";

#[tokio::test]
async fn the_list_page_is_answered_by_a_plan_as_by_async_graphql() {
    let portfolio = Portfolio::demo().await;
    portfolio.same(LIST_PAGE, &json!({})).await;
    let everything = "query Everything($n: Int = 3, $after: String) {
        __typename
        page: projects(first: $n, after: $after) {
            __typename totalCount
            pageInfo { __typename hasNextPage hasPreviousPage startCursor endCursor }
            edges { __typename cursor node {
                __typename id iatiIdentifier title description objectives status statusCode
                plannedStart plannedEnd actualStart actualEnd version
                participatingOrganisations { __typename role roleCode organisation {
                    __typename id ref name acronym type typeCode website deactivated version } }
                activities(first: 2) { __typename totalCount
                    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
                    edges { cursor node { __typename id title description kind status
                        plannedStart plannedEnd actualStart actualEnd outcome cancellationReason
                        version } } }
            } }
        }
    }";
    portfolio.same(everything, &json!({})).await;
    // The next page, after the first page's end; and backwards from its start.
    let first = portfolio
        .reference(everything, &json!({ "n": 2 }), &[Role::Editor])
        .await
        .data
        .into_json()
        .unwrap_or_default();
    let end = first["page"]["pageInfo"]["endCursor"].clone();
    assert!(end.is_string(), "{first}");
    portfolio
        .same(everything, &json!({ "n": 2, "after": end }))
        .await;
    let backwards = "query($before: String) { projects(last: 1, before: $before) {
        pageInfo { hasNextPage hasPreviousPage endCursor } edges { node { title } } } }";
    portfolio.same(backwards, &json!({ "before": end })).await;
}

/// The frontend's project page (the benchmark's R2), every project of the demo portfolio, and
/// a project that does not exist (null).
#[tokio::test]
async fn the_project_page_is_answered_by_a_plan_as_by_async_graphql() {
    let portfolio = Portfolio::demo().await;
    let ids = portfolio
        .reference(
            "{ projects { edges { node { id } } } }",
            &json!({}),
            &[Role::Editor],
        )
        .await
        .data
        .into_json()
        .unwrap_or_default();
    let ids: Vec<Json> = ids["projects"]["edges"]
        .as_array()
        .map(|edges| {
            edges
                .iter()
                .map(|edge| edge["node"]["id"].clone())
                .collect()
        })
        .unwrap_or_default();
    assert!(ids.len() >= 3, "{ids:?}");
    let page = "query($id: ID!) { project(id: $id) { __typename iatiIdentifier title description
        status plannedStart plannedEnd
        budgets { __typename type status periodStart periodEnd value { __typename minorUnits
            currency decimal } valueDate }
        transactions(first: 20) { __typename totalCount pageInfo { hasNextPage endCursor }
            edges { cursor node { __typename id type typeCode date value { minorUnits currency }
            valueDate description ref } } }
        documents { __typename url title categoryCode format date }
        sectors { __typename code name percentage }
        recipientCountries { __typename country { __typename code name } percentage }
        participatingOrganisations { role organisation { name acronym } }
        activities(first: 20) { edges { node { title kind status plannedStart
            partners { __typename role organisation { name } } } } } } }";
    let mut with_transactions = 0;
    for id in &ids {
        portfolio.same(page, &json!({ "id": id })).await;
        let data = portfolio
            .reference(page, &json!({ "id": id }), &[Role::Editor])
            .await
            .data
            .into_json()
            .unwrap_or_default();
        if data["project"]["transactions"]["totalCount"].as_u64() > Some(0) {
            with_transactions += 1;
        }
    }
    assert!(
        with_transactions > 0,
        "the demo has a project with transactions"
    );
    portfolio
        .same(
            page,
            &json!({ "id": "0190f3c2-8a4e-7b1c-9d2e-3f4a5b6c7d8e" }),
        )
        .await;
    // The last transaction, backwards.
    let backwards = "query($id: ID!) { project(id: $id) { transactions(last: 1) {
        pageInfo { hasPreviousPage startCursor } edges { node { typeCode } } } } }";
    for id in &ids {
        portfolio.same(backwards, &json!({ "id": id })).await;
    }
    // An id that is not a UUID, and `asOf`: async-graphql answers.
    for (query, variables) in [
        (page, json!({ "id": "project-7" })),
        (
            "query($id: ID!) { project(id: $id, asOf: 3) { title } }",
            json!({ "id": ids[0] }),
        ),
    ] {
        assert!(
            portfolio
                .planned(query, &variables, &[Role::Editor])
                .await
                .is_none(),
            "{query} {variables}"
        );
    }
}

/// Filters and orders, from literals and from variables; an activity filter naming a project
/// matches only under that project, as the resolver has it.
#[tokio::test]
async fn filters_and_orders_are_planned_as_async_graphql_applies_them() {
    let portfolio = Portfolio::demo().await;
    let query = "query($filter: ProjectFilter, $order: ProjectOrder, $activities: ActivityFilter) {
        projects(first: 3, filter: $filter, orderBy: $order) { totalCount edges { cursor node {
            id title status activities(first: 3, filter: $activities) { totalCount edges { node {
            title kind status } } } } } } }";
    let first = portfolio
        .reference(query, &json!({}), &[Role::Editor])
        .await
        .data
        .into_json()
        .unwrap_or_default();
    let project = first["projects"]["edges"][0]["node"]["id"].clone();
    assert!(project.is_string(), "{first}");
    for variables in [
        json!({}),
        json!({ "order": { "field": "TITLE", "direction": "DESC" } }),
        json!({ "filter": { "status": ["IMPLEMENTATION"] }, "order": { "field": "PLANNED_START", "direction": "ASC" } }),
        json!({ "filter": { "participatingRole": "IMPLEMENTING" } }),
        json!({ "activities": { "projectId": project } }),
        json!({ "activities": { "kind": ["TRAINING", "CONFERENCE"], "status": ["PLANNED", "COMPLETED"] } }),
    ] {
        portfolio.same(query, &variables).await;
    }
    // A filter async-graphql refuses: no plan answers.
    for variables in [
        json!({ "filter": { "status": ["NOT_A_STATUS"] } }),
        json!({ "filter": { "recipientCountry": ["XX"] } }),
        json!({ "activities": { "projectId": "not-an-id" } }),
    ] {
        assert!(
            portfolio
                .planned(query, &variables, &[Role::Editor])
                .await
                .is_none(),
            "{variables}"
        );
    }
}

/// Fragments, aliases, merged leaves and `@skip`/`@include` with variables.
#[tokio::test]
async fn fragments_aliases_and_directives_follow_graphql() {
    let portfolio = Portfolio::demo().await;
    let query = "query($all: Boolean!, $none: Boolean = false) {
        projects(first: 4) { edges { node { ...Card ... on Project { name: title title }
            code: statusCode @include(if: $all) status @skip(if: $all)
            ... @include(if: $none) { version } } } }
    }
    fragment Card on Project { title id participatingOrganisations { org: organisation { name } } }";
    portfolio.same(query, &json!({ "all": true })).await;
    portfolio
        .same(query, &json!({ "all": false, "none": true }))
        .await;
}

/// A tiny deterministic generator (xorshift), so that a failing case can be run again.
struct Cases(u64);

impl Cases {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// Some of `fields` (at least one), each maybe aliased.
    fn pick(&mut self, fields: &[&str]) -> String {
        let mut picked: Vec<String> = Vec::new();
        for (i, field) in fields.iter().enumerate() {
            if self.chance(40) {
                if self.chance(15) {
                    picked.push(format!("a{i}: {field}"));
                } else {
                    picked.push((*field).to_owned());
                }
            }
        }
        if picked.is_empty() {
            picked.push(
                fields[usize::try_from(self.below(fields.len() as u64)).unwrap_or(0)].to_owned(),
            );
        }
        picked.join(" ")
    }

    fn page_args(&mut self, cursor_from: Option<&str>) -> String {
        let mut args = Vec::new();
        match self.below(4) {
            0 => {}
            1 => args.push(format!("last: {}", self.below(5))),
            _ => args.push(format!("first: {}", self.below(6))),
        }
        if let Some(cursor) = cursor_from
            && self.chance(30)
        {
            args.push(format!("after: \"{cursor}\""));
        }
        if args.is_empty() {
            String::new()
        } else {
            format!("({})", args.join(", "))
        }
    }

    fn project_filters() -> Vec<String> {
        let mut filters = Vec::new();
        for field in ["IATI_IDENTIFIER", "TITLE", "PLANNED_START", "STATUS"] {
            for direction in ["ASC", "DESC"] {
                filters.push(format!(
                    "orderBy: {{ field: {field}, direction: {direction} }}"
                ));
            }
        }
        filters.extend(
            [
                "filter: { status: [IMPLEMENTATION, PIPELINE] }",
                "filter: { recipientCountry: [\"VN\", \"ID\"] }",
                "filter: { text: \"a\" }",
                "filter: { participatingRole: FUNDING }",
                "filter: { activeOn: \"2026-06-01\" }",
            ]
            .map(str::to_owned),
        );
        filters
    }

    fn activity_filters() -> Vec<String> {
        [
            "filter: { kind: [TRAINING, AUDIT] }",
            "filter: { status: [PLANNED] }",
            "filter: { from: \"2026-01-01\" }",
            "filter: { country: [\"ID\"] }",
        ]
        .map(str::to_owned)
        .to_vec()
    }

    /// `args` (`(…)` or empty) with one of `filters` added, sometimes.
    fn with_filters(&mut self, args: String, filters: &[String]) -> String {
        if !self.chance(35) {
            return args;
        }
        let filter = &filters[usize::try_from(self.below(filters.len() as u64)).unwrap_or(0)];
        match args.strip_suffix(')') {
            Some(open) => format!("{open}, {filter})"),
            None => format!("({filter})"),
        }
    }

    fn connection(&mut self, node: &str) -> String {
        let mut parts = Vec::new();
        if self.chance(30) {
            parts.push("totalCount".to_owned());
        }
        if self.chance(40) {
            parts.push(format!(
                "pageInfo {{ {} }}",
                self.pick(&[
                    "hasNextPage",
                    "hasPreviousPage",
                    "startCursor",
                    "endCursor",
                    "__typename"
                ])
            ));
        }
        if self.chance(15) {
            parts.push("__typename".to_owned());
        }
        let edge = if self.chance(30) {
            format!("cursor node {{ {node} }}")
        } else {
            format!("node {{ {node} }}")
        };
        parts.push(format!("edges {{ {edge} }}"));
        parts.join(" ")
    }

    fn query(&mut self, cursor: Option<&str>) -> String {
        let organisation = self.pick(&[
            "id",
            "ref",
            "name",
            "acronym",
            "type",
            "typeCode",
            "website",
            "deactivated",
            "version",
            "__typename",
        ]);
        let activity = self.pick(&[
            "id",
            "title",
            "description",
            "kind",
            "status",
            "plannedStart",
            "plannedEnd",
            "actualStart",
            "actualEnd",
            "outcome",
            "cancellationReason",
            "version",
            "__typename",
        ]);
        let mut project = self.pick(&[
            "id",
            "iatiIdentifier",
            "title",
            "description",
            "objectives",
            "status",
            "statusCode",
            "plannedStart",
            "plannedEnd",
            "actualStart",
            "actualEnd",
            "version",
            "__typename",
        ]);
        if self.chance(60) {
            project.push_str(&format!(
                " participatingOrganisations {{ {} organisation {{ {organisation} }} }}",
                self.pick(&["role", "roleCode", "__typename"])
            ));
        }
        if self.chance(60) {
            let args = self.page_args(None);
            let args = self.with_filters(args, &Self::activity_filters());
            let mut activity = activity;
            if self.chance(40) {
                activity.push_str(&format!(
                    " partners {{ {} }}",
                    self.pick(&["role", "__typename", "organisation { name }"])
                ));
            }
            let activities = self.connection(&activity);
            project.push_str(&format!(" activities{args} {{ {activities} }}"));
        }
        if self.chance(30) {
            let money = "value { minorUnits currency decimal __typename }";
            let parts = [
                format!(
                    "budgets {{ {} }}",
                    self.pick(&[
                        "type",
                        "status",
                        "periodStart",
                        "periodEnd",
                        money,
                        "valueDate"
                    ])
                ),
                format!(
                    "documents {{ {} }}",
                    self.pick(&[
                        "url",
                        "title",
                        "categoryCode",
                        "format",
                        "date",
                        "__typename"
                    ])
                ),
                format!(
                    "sectors {{ {} }}",
                    self.pick(&["code", "name", "percentage", "__typename"])
                ),
                format!(
                    "recipientCountries {{ {} }}",
                    self.pick(&[
                        "percentage",
                        "country { code name __typename }",
                        "__typename"
                    ])
                ),
            ];
            project.push(' ');
            project.push_str(&self.pick(&parts.iter().map(String::as_str).collect::<Vec<_>>()));
        }
        if self.chance(25) {
            let args = self.page_args(None);
            let transaction = self.pick(&[
                "id",
                "type",
                "typeCode",
                "date",
                "value { minorUnits currency }",
                "valueDate",
                "description",
                "ref",
                "__typename",
            ]);
            let transactions = self.connection(&transaction);
            project.push_str(&format!(" transactions{args} {{ {transactions} }}"));
        }
        let args = self.page_args(cursor);
        let args = self.with_filters(args, &Self::project_filters());
        let projects = self.connection(&project);
        format!("{{ projects{args} {{ {projects} }} }}")
    }
}

#[tokio::test]
async fn random_selections_are_answered_as_async_graphql_answers_them() {
    let portfolio = Portfolio::demo().await;
    let first = portfolio
        .reference(
            "{ projects(first: 2) { pageInfo { endCursor } } }",
            &json!({}),
            &[Role::Editor],
        )
        .await
        .data
        .into_json()
        .unwrap_or_default();
    let cursor = first["projects"]["pageInfo"]["endCursor"]
        .as_str()
        .map(str::to_owned);
    assert!(cursor.is_some(), "{first}");
    let mut cases = Cases(0x9E37_79B9_7F4A_7C15);
    let mut planned = 0;
    for _ in 0..150 {
        let query = cases.query(cursor.as_deref());
        if portfolio.agrees(&query, &json!({})).await {
            planned += 1;
        }
    }
    // Most cases are within the limits (the others check that no plan answers them).
    assert!(planned > 100, "only {planned} of 150 cases planned");
}

#[tokio::test]
async fn what_a_plan_does_not_cover_is_left_to_async_graphql() {
    let portfolio = Portfolio::demo().await;
    let none = json!({});
    for query in [
        // A time-travelling read, a field outside the plans, an interface fragment.
        "{ project(id: \"0190f3c2-8a4e-7b1c-9d2e-3f4a5b6c7d8e\", asOf: 2) { title } }",
        "{ projects(first: 2) { edges { node { reportingOrganisation { name } } } } }",
        "{ projects(first: 2) { edges { node { ... on Node { id } } } } }",
        // Another root field beside a covered one.
        "{ projects(first: 1) { totalCount } memberStates { code } }",
        // The same key selected twice with different selections.
        "{ projects(first: 1) { edges { node { title } } } projects(first: 1) { totalCount } }",
        // Arguments the checks refuse: async-graphql names them.
        "{ projects(first: 500) { totalCount } }",
        "{ projects(first: 1, after: \"nonsense\") { totalCount } }",
        // Two operations in one document.
        "query A { projects(first: 1) { totalCount } } query B { __typename }",
    ] {
        assert!(
            portfolio
                .planned(query, &none, &[Role::Editor])
                .await
                .is_none(),
            "a plan answered {query}"
        );
    }
    // A variable of another type than the argument's.
    let query = "query($n: Int) { projects(first: $n) { totalCount } }";
    assert!(
        portfolio
            .planned(query, &json!({ "n": "2" }), &[Role::Editor])
            .await
            .is_none()
    );
    // A document async-graphql has not executed (and so not validated) yet.
    let plans = ReadPlans::new(portfolio.state.clone());
    let request = Portfolio::request(LIST_PAGE, &none, &[Role::Editor]);
    let document = parse_query(LIST_PAGE).unwrap_or_else(|error| panic!("{error}"));
    assert!(plans.answer(&request, &document).await.is_none());
    plans.executed(Some("Other".to_owned()), LIST_PAGE.to_owned());
    assert!(
        plans.answer(&request, &document).await.is_none(),
        "recorded under another operation name"
    );
    plans.executed(None, LIST_PAGE.to_owned());
    assert!(plans.answer(&request, &document).await.is_some());
    assert_eq!(plans.answered(), 1);
    // A document longer than the bound is never remembered, so never planned.
    let long = format!("{LIST_PAGE}{}", " ".repeat(super::MAX_DOCUMENT_BYTES));
    plans.executed(None, long.clone());
    let request = Portfolio::request(&long, &none, &[Role::Editor]);
    let document = parse_query(&long).unwrap_or_else(|error| panic!("{error}"));
    assert!(plans.answer(&request, &document).await.is_none());
}

#[tokio::test]
async fn a_caller_who_may_not_read_gets_async_graphqls_refusal() {
    let portfolio = Portfolio::demo_with(|config| config.public_read = false).await;
    let none = json!({});
    assert!(portfolio.planned(LIST_PAGE, &none, &[]).await.is_none());
    assert!(
        portfolio
            .planned(LIST_PAGE, &none, &[Role::Auditor])
            .await
            .is_some()
    );
    // Through the schema: the refusal comes from async-graphql, however often it is asked.
    let planned = schema(portfolio.state.clone());
    for _ in 0..2 {
        let response = planned
            .execute(Portfolio::request(LIST_PAGE, &none, &[]))
            .await;
        assert_eq!(
            crate::error::ErrorCode::of(&response.errors[0]),
            Some(crate::error::ErrorCode::Unauthenticated)
        );
    }
}

/// The schema answers a document's first request with async-graphql and the next with a plan,
/// the same bytes each time.
#[tokio::test]
async fn the_schema_plans_a_query_once_async_graphql_ran_it() {
    let portfolio = Portfolio::demo().await;
    let planned = schema(portfolio.state.clone());
    let plans = || planned.read_plans().map_or(0, ReadPlans::answered);
    let request = || Portfolio::request(LIST_PAGE, &json!({}), &[Role::Editor]);
    let first = planned.execute(request()).await;
    assert_eq!(plans(), 0);
    let second = planned.execute(request()).await;
    assert_eq!(plans(), 1);
    assert!(first.errors.is_empty(), "{:?}", first.errors);
    assert_eq!(json_text(&first), json_text(&second));
    // A refused request is never recorded: it stays with async-graphql.
    let invalid = "{ projects(first: 1) { nonsense } }";
    for _ in 0..2 {
        let response = planned
            .execute(Portfolio::request(invalid, &json!({}), &[Role::Editor]))
            .await;
        assert_eq!(response.errors.len(), 1);
    }
    assert_eq!(plans(), 1);
}

/// A plan refuses what the complexity limit refuses: its cost is async-graphql's, also when
/// `first` comes from a variable.
#[tokio::test]
async fn a_plan_counts_complexity_as_async_graphql_does() {
    let mut cases = Cases(0x2545_F491_4F6C_DD1D);
    for _ in 0..20 {
        let query = cases.query(None);
        let document = parse_query(&query).unwrap_or_else(|error| panic!("{error}"));
        let async_graphql::parser::types::DocumentOperations::Single(operation) =
            &document.operations
        else {
            panic!("one operation");
        };
        let variables = Variables::default();
        let cost = (1..100_000)
            .find(|limit| super::compile(&document, &operation.node, &variables, *limit).is_some())
            .unwrap_or_else(|| panic!("no plan for {query}"));
        // async-graphql's own limit, without the server's document bounds in front of it (they
        // refuse by the number of fields, which a plan never sees beyond).
        for (limit, passes) in [(cost - 1, false), (cost, true)] {
            let limits = crate::config::Limits {
                complexity: limit,
                ..crate::config::Limits::default()
            };
            let response = crate::graphql::builder(&limits)
                .finish()
                .execute(Request::new(query.as_str()))
                .await;
            let too_complex = response
                .errors
                .iter()
                .any(|error| error.message == "Query is too complex.");
            assert_eq!(
                !too_complex, passes,
                "{query} at complexity limit {limit} (the plan's cost {cost}): {:?}",
                response.errors
            );
        }
    }
    let query = "query($n: Int) { projects(first: $n) { edges { node { activities(first: $n) { \
                 edges { node { title } } } } } } }";
    let document = parse_query(query).unwrap_or_else(|error| panic!("{error}"));
    let async_graphql::parser::types::DocumentOperations::Single(operation) = &document.operations
    else {
        panic!("one operation");
    };
    let cost = |n: i32| {
        let variables = Variables::from_json(json!({ "n": n }));
        (1..100_000)
            .find(|limit| super::compile(&document, &operation.node, &variables, *limit).is_some())
    };
    // projects = 1 + 2·edges, edges = 1 + node, node = 1 + activities, activities = 1 + 2·edges',
    // edges' = 1 + node', node' = 1 + title.
    assert_eq!(cost(2), Some(1 + 2 * (1 + 1 + (1 + 2 * (1 + 1 + 1)))));
    assert!(cost(10) > cost(2));
}

/// A page with the projects' ids, for revising one.
const TITLES: &str = "{ projects(first: 3) { edges { node { id title } } } }";

/// A plan's answer to `query` from `plans`, the document recorded as executed.
async fn answer_from(plans: &ReadPlans, query: &str, roles: &[Role]) -> Option<Json> {
    plans.executed(None, query.to_owned());
    let document = parse_query(query).unwrap_or_else(|error| panic!("{query}: {error}"));
    let response = plans
        .answer(&Portfolio::request(query, &json!({}), roles), &document)
        .await?;
    Some(serde_json::to_value(&response.data).unwrap_or_else(|error| panic!("{error}")))
}

/// An answer is kept while the log has not grown, and no longer: a title revised through another
/// replica on the same database (its own sequencer, nothing shared in memory) is in the next
/// answer, which is async-graphql's.
#[tokio::test]
async fn an_answer_is_kept_until_the_log_grows_whoever_appends() {
    let portfolio = Portfolio::demo().await;
    let plans = ReadPlans::new(portfolio.state.clone());
    let counts = || plans.cache().map(super::ResponseCache::counts);
    let first = answer_from(&plans, TITLES, &[Role::Editor])
        .await
        .unwrap_or_else(|| panic!("no plan answered"));
    assert_eq!(counts(), Some((0, 1)));
    assert_eq!(
        answer_from(&plans, TITLES, &[Role::Editor])
            .await
            .unwrap_or_else(|| panic!("no plan answered")),
        first
    );
    assert_eq!(counts(), Some((1, 1)));

    let data_dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let replica = crate::startup::state(
        crate::config::Config::defaults_in(data_dir.path()),
        portfolio.state.db.connection().clone(),
        crate::auth::test_verifier(),
        None,
        Default::default(),
    );
    let other = schema(replica);
    let id = first["projects"]["edges"][0]["node"]["id"].clone();
    let revise =
        "mutation($input: ReviseProjectInput!) { reviseProject(input: $input) { auditIndex } }";
    let conflict = other
        .execute(Portfolio::request(
            revise,
            &json!({ "input": { "id": id, "expectedVersion": 0, "title": "Renamed elsewhere" } }),
            &[Role::Editor],
        ))
        .await;
    let current = conflict.errors[0]
        .extensions
        .as_ref()
        .and_then(|extensions| extensions.get("currentVersion"))
        .cloned()
        .unwrap_or_else(|| panic!("{:?}", conflict.errors));
    let current = serde_json::to_value(current).unwrap_or_else(|error| panic!("{error}"));
    let revised = other
        .execute(Portfolio::request(
            revise,
            &json!({ "input": { "id": id, "expectedVersion": current, "title": "Renamed elsewhere" } }),
            &[Role::Editor],
        ))
        .await;
    assert!(revised.errors.is_empty(), "{:?}", revised.errors);

    let after = answer_from(&plans, TITLES, &[Role::Editor])
        .await
        .unwrap_or_else(|| panic!("no plan answered"));
    assert_eq!(counts(), Some((1, 2)));
    assert_ne!(after, first);
    let reference = portfolio
        .reference(TITLES, &json!({}), &[Role::Editor])
        .await;
    assert_eq!(
        serde_json::to_value(&reference.data).unwrap_or_else(|error| panic!("{error}")),
        after
    );
    assert!(
        after["projects"]["edges"]
            .as_array()
            .is_some_and(|edges| edges
                .iter()
                .any(|e| e["node"]["title"] == "Renamed elsewhere")),
        "{after}"
    );
}

/// A kept answer is never given to a caller who may not read the portfolio, and without a budget
/// nothing is kept.
#[tokio::test]
async fn a_kept_answer_is_only_for_callers_who_may_read_and_a_zero_budget_keeps_none() {
    let portfolio = Portfolio::demo_with(|config| config.public_read = false).await;
    let plans = ReadPlans::new(portfolio.state.clone());
    assert!(
        answer_from(&plans, TITLES, &[Role::Auditor])
            .await
            .is_some()
    );
    assert!(answer_from(&plans, TITLES, &[]).await.is_none());
    assert_eq!(
        plans.cache().map(super::ResponseCache::counts),
        Some((0, 1))
    );

    let off = Portfolio::demo_with(|config| config.graphql.response_cache_mb = 0).await;
    let plans = ReadPlans::new(off.state.clone());
    assert!(plans.cache().is_none());
    let first = answer_from(&plans, TITLES, &[Role::Editor]).await;
    assert!(first.is_some());
    assert_eq!(answer_from(&plans, TITLES, &[Role::Editor]).await, first);
}

/// The shared size read: every request sees the writes committed before it asked, concurrent
/// requests share reads, and a request dropped while it reads for others does not leave them
/// waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_size_read_sees_earlier_writes_and_survives_a_dropped_reader() {
    use amanah_domain::ports::{Actor, EventStore as _};
    use std::sync::Arc;

    let database = amanah_infra::testing::TestDatabase::sqlite().await;
    let store = amanah_infra::SqlEventStore::start(
        database.connection().clone(),
        amanah_infra::StoreConfig::default(),
        amanah_infra::NoProjection,
    );
    let shared = Arc::new(super::SharedSize::new());
    let id = uuid::Uuid::now_v7();
    for version in 0..10_u64 {
        store
            .append(amanah_infra::testing::organisation_append(
                id,
                version,
                vec![amanah_infra::testing::event(
                    "OrganisationRevised",
                    json!({ "v": version }),
                )],
                Actor::system("system:test"),
                None,
            ))
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        // Committed: whoever asks now must see it.
        let readers: Vec<_> = (0..16)
            .map(|_| {
                let shared = Arc::clone(&shared);
                let store = store.clone();
                tokio::spawn(async move { shared.read(&store).await })
            })
            .collect();
        for reader in readers {
            let size = tokio::time::timeout(std::time::Duration::from_secs(10), reader)
                .await
                .unwrap_or_else(|_| panic!("a reader waits for ever"))
                .unwrap_or_else(|error| panic!("{error}"));
            assert_eq!(size, Some(version + 1));
        }
    }
    // A reader dropped while it reads for others: the first of them reads next.
    let mut leader = Box::pin(shared.read(&store));
    while futures::poll!(&mut leader).is_ready() {
        // It read before its first poll ended: again, until one is under way.
        leader = Box::pin(shared.read(&store));
    }
    let followers: Vec<_> = (0..4)
        .map(|_| {
            let shared = Arc::clone(&shared);
            let store = store.clone();
            tokio::spawn(async move { shared.read(&store).await })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    drop(leader);
    for follower in followers {
        let size = tokio::time::timeout(std::time::Duration::from_secs(10), follower)
            .await
            .unwrap_or_else(|_| panic!("a follower waits for ever"))
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(size, Some(10));
    }
    // And the shared read goes on serving.
    assert_eq!(shared.read(&store).await, Some(10));
    database.cleanup().await;
}
