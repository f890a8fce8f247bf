//! Lists read by keyset: cursors that stay put while the list changes, `totalCount` only when
//! asked for, and a number of SQL statements per request that does not grow with page sizes.

use amanah_infra::auth::Role;
use serde_json::{Value, json};

use crate::test_app::TestApp;

const REGISTER_PROJECT: &str =
    "mutation($input: RegisterProjectInput!) { registerProject(input: $input) { project { id } } }";
const PLAN_ACTIVITY: &str =
    "mutation($input: PlanActivityInput!) { planActivity(input: $input) { activity { id } } }";

/// `projects` projects with `activities` activities each; returns nothing, the app holds them.
async fn portfolio(app: &TestApp, projects: usize, activities: usize) {
    let editor = app.token("editor", &[Role::Editor], None);
    let (reporting, _) = app
        .register_organisation(&editor, "Federal Foreign Office", Some("XM-DAC-5-7"))
        .await;
    for p in 0..projects {
        let response = app
            .graphql_as(
                &editor,
                REGISTER_PROJECT,
                json!({ "input": {
                    "iatiIdentifier": format!("XM-DAC-5-7-PAGE-{p:02}"),
                    "reportingOrganisationId": reporting,
                    "title": format!("Project {p}"), "description": "Paged.",
                    "plannedStart": "2020-01-01", "plannedEnd": "2022-12-31",
                    "recipientCountries": [{ "country": "ID", "percentage": "100" }],
                    "sectors": [{ "code": "15113", "percentage": "100" }],
                    "participatingOrganisations": [{ "organisationId": reporting, "role": "FUNDING" }],
                } }),
            )
            .await;
        response.assert_no_errors();
        let project = response.body["data"]["registerProject"]["project"]["id"].clone();
        for a in 0..activities {
            app.graphql_as(
                &editor,
                PLAN_ACTIVITY,
                json!({ "input": {
                    "projectId": project, "title": format!("Workshop {a}"),
                    "description": "A workshop.", "kind": "TRAINING",
                    "uncacChapters": ["PREVENTION"],
                    "partners": [{ "organisationId": reporting, "role": "ORGANISER" }],
                    "location": { "online": true },
                    "plannedStart": format!("2021-0{}-01", 1 + a % 9),
                    "plannedEnd": "2021-12-31",
                } }),
            )
            .await
            .assert_no_errors();
        }
    }
}

/// The list page of the benchmarks (R1), with page sizes as given.
fn list_page(projects: u32, activities: u32) -> String {
    format!(
        "{{ projects(first: {projects}) {{ edges {{ node {{ title status \
         participatingOrganisations {{ role organisation {{ name }} }} \
         activities(first: {activities}) {{ edges {{ node {{ title kind status }} }} }} }} }} }} }}"
    )
}

/// The SQL statements of `/graphql` requests so far, as `/metrics` counts them per request
/// (background work, such as the audit tree's refresh, counts for no request).
async fn graphql_statements(app: &TestApp) -> u64 {
    let text = app
        .get("/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| {
            line.strip_prefix("amanah_http_request_sql_statements_sum{route=\"/graphql\"} ")
        })
        .map_or(0, |sum| sum.parse().unwrap())
}

/// The statements one request sends, counted by the server.
async fn statements_of(app: &TestApp, query: &str) -> (u64, Value) {
    let before = graphql_statements(app).await;
    let response = app.graphql(query, Value::Null).await;
    response.assert_no_errors();
    (graphql_statements(app).await - before, response.body)
}

/// Issue 10: `activities(first: 5)` ran one query per project (and a count each), so a page of
/// projects cost more statements the larger it was. Now the activities of every project of the
/// page are read in one statement, and nothing is counted unless `totalCount` is asked for.
#[tokio::test]
async fn the_list_page_costs_the_same_statements_for_any_page_size() {
    let app = TestApp::spawn_sqlite().await;
    portfolio(&app, 6, 4).await;
    let (small, small_body) = statements_of(&app, &list_page(2, 1)).await;
    let (large, large_body) = statements_of(&app, &list_page(50, 20)).await;
    assert_eq!(
        small_body["data"]["projects"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let edges = large_body["data"]["projects"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 6);
    assert!(edges.iter().all(|edge| {
        edge["node"]["activities"]["edges"]
            .as_array()
            .unwrap()
            .len()
            == 4
    }));
    assert_eq!(small, large, "statements for 2×1 and for 50×20");
    // The page, the activities of its projects, the participants' organisations.
    assert!(large <= 3, "{large} statements");
    // Counting is asked for, so it costs one statement more per list, not per project.
    let counted = list_page(50, 20).replace(
        "activities(first: 20) {",
        "activities(first: 20) { totalCount",
    );
    let counted = counted.replacen(
        "projects(first: 50) {",
        "projects(first: 50) { totalCount",
        1,
    );
    let (with_counts, body) = statements_of(&app, &counted).await;
    assert_eq!(with_counts, large + 2, "{body}");
    assert_eq!(body["data"]["projects"]["totalCount"], 6);
    assert_eq!(
        body["data"]["projects"]["edges"][0]["node"]["activities"]["totalCount"],
        4
    );
}

/// Issue 10: the list page asked again while the log has not grown is answered from memory, for
/// one statement (the log's size); after a write it is read again, and shows the write.
#[tokio::test]
async fn the_list_page_asked_again_costs_one_statement_until_the_log_grows() {
    let app = TestApp::spawn_sqlite().await;
    portfolio(&app, 3, 2).await;
    let page = list_page(20, 5);
    // async-graphql runs the document first; a plan answers it next, reading the rows.
    let (_, body) = statements_of(&app, &page).await;
    let (planned, planned_body) = statements_of(&app, &page).await;
    assert_eq!(planned_body, body);
    assert!(
        planned >= 2,
        "{planned} statements: the size, then the rows"
    );
    for _ in 0..3 {
        let (kept, kept_body) = statements_of(&app, &page).await;
        assert_eq!(kept, 1, "a kept answer reads the log's size alone");
        assert_eq!(kept_body, body);
    }
    let editor = app.token("editor", &[Role::Editor], None);
    let (reporting, _) = app
        .register_organisation(&editor, "Second Ministry", Some("XM-DAC-5-8"))
        .await;
    app.graphql_as(
        &editor,
        REGISTER_PROJECT,
        json!({ "input": {
            "iatiIdentifier": "XM-DAC-5-8-NEW", "reportingOrganisationId": reporting,
            "title": "A project after the page was kept", "description": "New.",
            "plannedStart": "2020-01-01", "plannedEnd": "2022-12-31",
            "recipientCountries": [{ "country": "ID", "percentage": "100" }],
            "sectors": [{ "code": "15113", "percentage": "100" }],
            "participatingOrganisations": [{ "organisationId": reporting, "role": "FUNDING" }],
        } }),
    )
    .await
    .assert_no_errors();
    let (after, after_body) = statements_of(&app, &page).await;
    assert!(after >= 2, "{after} statements: read again after the write");
    assert_eq!(
        after_body["data"]["projects"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

/// Issue 10: cursors were offsets, so registering an organisation that sorts first made the next
/// page repeat the last item of the previous one. A keyset cursor stays put when items are added
/// or removed before it.
#[tokio::test]
async fn a_cursor_stays_put_when_items_are_added_or_removed_before_it() {
    let app = TestApp::spawn_sqlite().await;
    let editor = app.token("editor", &[Role::Editor], None);
    let mut ids = Vec::new();
    for name in ["B one", "B two", "B three", "B four", "B five"] {
        ids.push(app.register_organisation(&editor, name, None).await.0);
    }
    let page = |after: Option<&str>| {
        let after = after.map_or_else(String::new, |cursor| format!(", after: \"{cursor}\""));
        format!(
            "{{ organisations(first: 2{after}) {{ edges {{ node {{ name }} }} \
             pageInfo {{ endCursor hasNextPage hasPreviousPage }} }} }}"
        )
    };
    let names = |body: &Value| -> Vec<String> {
        body["data"]["organisations"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|edge| edge["node"]["name"].as_str().unwrap().to_owned())
            .collect()
    };
    // By name: B five, B four, B one, B three, B two.
    let first = app.graphql(&page(None), Value::Null).await.body;
    assert_eq!(names(&first), ["B five", "B four"]);
    let cursor = first["data"]["organisations"]["pageInfo"]["endCursor"]
        .as_str()
        .unwrap()
        .to_owned();

    // One added before the cursor, one before it removed (deactivated organisations are not
    // listed).
    app.register_organisation(&editor, "AAA First Institute", None)
        .await;
    let deactivate = app
        .graphql_as(
            &editor,
            "mutation($input: VersionedIdInput!) { deactivateOrganisation(input: $input) { auditIndex } }",
            json!({ "input": { "id": ids[4], "expectedVersion": 1 } }),
        )
        .await;
    deactivate.assert_no_errors();

    let second = app.graphql(&page(Some(&cursor)), Value::Null).await.body;
    assert_eq!(names(&second), ["B one", "B three"], "{second}");
    assert_eq!(
        second["data"]["organisations"]["pageInfo"]["hasPreviousPage"],
        true
    );
    assert_eq!(
        second["data"]["organisations"]["pageInfo"]["hasNextPage"],
        true
    );
    let cursor = second["data"]["organisations"]["pageInfo"]["endCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let third = app.graphql(&page(Some(&cursor)), Value::Null).await.body;
    assert_eq!(names(&third), ["B two"]);
    assert_eq!(
        third["data"]["organisations"]["pageInfo"]["hasNextPage"],
        false
    );

    // A cursor of another order is refused, naming the argument.
    let response = app
        .graphql(
            &format!(
                "{{ organisations(first: 2, after: \"{cursor}\", orderBy: {{ field: REF, direction: ASC }}) \
                 {{ totalCount }} }}"
            ),
            Value::Null,
        )
        .await;
    assert_eq!(response.codes(), ["BAD_USER_INPUT"]);
    assert_eq!(response.body["errors"][0]["extensions"]["field"], "after");
}
