//! In-process tests of the portfolio's schema: `schema.execute(…)` against a real, migrated SQLite
//! database, with the state built exactly as the server builds it ([`crate::startup::state`],
//! [`super::schema`]).
//!
//! Every domain rule broken through GraphQL is checked three ways: `extensions.code`,
//! `extensions.field`, and that the audit log did not grow. Requests run as an admin (who may do
//! everything); who may do what is tested in `access_tests`.

use std::sync::Arc;

use amanah_audit::note::SigningKey;
use amanah_infra::testing::TestDatabase;
use async_graphql::{Request, Response, Variables};
use serde_json::{Value as Json, json};

use super::{AmanahSchema, schema};
use crate::config::Config;
use crate::error::ErrorCode;
use crate::state::ApiState;

/// The API's state built as the server builds it ([`crate::startup::state`]) over a fresh SQLite
/// database, with a data directory of its own (tests run concurrently): what the GraphQL tests of
/// this module and its siblings run against. Both are removed when it is dropped.
pub(super) struct TestState {
    pub(super) state: ApiState,
    _database: TestDatabase,
    _data_dir: tempfile::TempDir,
}

impl TestState {
    /// The defaults adjusted by `configure`; checkpoints signed with `signer` when given.
    pub(super) async fn new(
        configure: impl FnOnce(&mut Config),
        signer: Option<Arc<SigningKey>>,
    ) -> Self {
        let database = TestDatabase::sqlite().await;
        let data_dir = tempfile::tempdir().unwrap_or_else(|error| panic!("a data dir: {error}"));
        let mut config = Config::defaults_in(data_dir.path());
        configure(&mut config);
        let state = crate::startup::state(
            config,
            database.connection().clone(),
            crate::auth::test_verifier(),
            signer,
            Default::default(),
        );
        Self {
            state,
            _database: database,
            _data_dir: data_dir,
        }
    }
}

/// A schema over a fresh database.
struct Harness {
    schema: AmanahSchema,
    state: ApiState,
    _backing: TestState,
}

/// A GraphQL error as the tests look at it.
#[derive(Debug, PartialEq, Eq)]
struct Failure {
    code: Option<ErrorCode>,
    field: Option<String>,
    message: String,
}

impl Harness {
    async fn new() -> Self {
        let backing = TestState::new(|_| {}, None).await;
        let state = backing.state.clone();
        Self {
            schema: schema(state.clone()),
            state,
            _backing: backing,
        }
    }

    async fn execute(&self, query: &str, variables: Json) -> Response {
        let request = Request::new(query)
            .variables(Variables::from_json(variables))
            .data(crate::auth::test_identity(
                "portfolio-tests",
                &[amanah_infra::auth::Role::Admin],
                None,
            ));
        self.schema.execute(request).await
    }

    /// The data of a request that must succeed.
    async fn ok(&self, query: &str, variables: Json) -> Json {
        let response = self.execute(query, variables).await;
        assert!(
            response.errors.is_empty(),
            "unexpected errors: {:?}",
            response.errors
        );
        response.data.into_json().unwrap_or_default()
    }

    /// The one error of a request that must fail.
    async fn fail(&self, query: &str, variables: Json) -> Failure {
        let response = self.execute(query, variables).await;
        assert_eq!(response.errors.len(), 1, "{:?}", response.errors);
        let error = &response.errors[0];
        let field = error
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.get("field"))
            .map(|field| match field {
                async_graphql::Value::String(text) => text.clone(),
                other => other.to_string(),
            });
        Failure {
            code: ErrorCode::of(error),
            field,
            message: error.message.clone(),
        }
    }

    /// A mutation that must be refused with `code` naming `field`, appending nothing.
    async fn refused(&self, query: &str, variables: Json, code: ErrorCode, field: Option<&str>) {
        let before = self.log_size().await;
        let failure = self.fail(query, variables).await;
        assert_eq!(failure.code, Some(code), "{failure:?}");
        assert_eq!(failure.field.as_deref(), field, "{failure:?}");
        assert_eq!(self.log_size().await, before, "the log grew: {failure:?}");
    }

    async fn log_size(&self) -> u64 {
        self.state
            .commands
            .store()
            .size()
            .await
            .unwrap_or_else(|error| panic!("the log's size: {error}"))
    }

    /// Registers an organisation and returns its id.
    async fn organisation(&self, name: &str, org_ref: Option<&str>, org_type: &str) -> String {
        let data = self
            .ok(
                REGISTER_ORGANISATION,
                json!({ "input": {
                    "ref": org_ref, "name": name, "type": org_type, "country": "DE",
                } }),
            )
            .await;
        text(&data["registerOrganisation"]["organisation"]["id"])
    }

    /// Registers the usual cast and a project: AA (funding, reporting), GIZ (implementing), ASEC
    /// (accountable), KPK (no role yet).
    async fn portfolio(&self) -> Portfolio {
        let aa = self
            .organisation("Federal Foreign Office", Some("XM-DAC-5-7"), "GOVERNMENT")
            .await;
        let giz = self
            .organisation(
                "Deutsche Gesellschaft für Internationale Zusammenarbeit",
                Some("XM-DAC-5-52"),
                "GOVERNMENT",
            )
            .await;
        let asec = self
            .organisation("ASEAN Secretariat", None, "MULTILATERAL")
            .await;
        let kpk = self
            .organisation("Corruption Eradication Commission", None, "GOVERNMENT")
            .await;
        let data = self
            .ok(
                REGISTER_PROJECT,
                json!({ "input": project_input(&aa, &giz, &asec) }),
            )
            .await;
        let project = text(&data["registerProject"]["project"]["id"]);
        Portfolio {
            aa,
            giz,
            asec,
            kpk,
            project,
        }
    }

    /// Plans a conference under `project`, organised by `organiser`; returns its id.
    async fn activity(&self, project: &str, organiser: &str, host: &str) -> String {
        let data = self
            .ok(
                PLAN_ACTIVITY,
                json!({ "input": activity_input(project, organiser, host) }),
            )
            .await;
        text(&data["planActivity"]["activity"]["id"])
    }
}

struct Portfolio {
    aa: String,
    giz: String,
    asec: String,
    kpk: String,
    project: String,
}

fn text(value: &Json) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

const REGISTER_ORGANISATION: &str = "mutation($input: RegisterOrganisationInput!) {
    registerOrganisation(input: $input) { organisation { id name ref version } auditIndex }
}";

const REGISTER_PROJECT: &str = "mutation($input: RegisterProjectInput!) {
    registerProject(input: $input) { project { id iatiIdentifier version status statusCode } auditIndex }
}";

const PLAN_ACTIVITY: &str = "mutation($input: PlanActivityInput!) {
    planActivity(input: $input) { activity { id version status } auditIndex }
}";

fn project_input(aa: &str, giz: &str, asec: &str) -> Json {
    json!({
        "iatiIdentifier": "XM-DAC-5-7-2015-1234",
        "reportingOrganisationId": aa,
        "title": "ASEAN Secretariat post-2015 (ASEC Post 2015)",
        "description": "Institutional strengthening and capacity development.",
        "plannedStart": "2016-01-01",
        "plannedEnd": "2018-12-31",
        "participatingOrganisations": [
            { "organisationId": aa, "role": "FUNDING" },
            { "organisationId": asec, "role": "ACCOUNTABLE" },
            { "organisationId": giz, "role": "IMPLEMENTING" },
        ],
        "recipientCountries": [
            { "country": "ID", "percentage": "50" },
            { "country": "MY", "percentage": "50.00" },
        ],
        "sectors": [
            { "code": "15110", "percentage": "33.33" },
            { "code": "15113", "percentage": "66.67" },
        ],
    })
}

fn activity_input(project: &str, organiser: &str, host: &str) -> Json {
    json!({
        "projectId": project,
        "title": "Preventing corruption in public procurement",
        "description": "A regional conference with the KPK.",
        "kind": "CONFERENCE",
        "uncacChapters": ["PREVENTION"],
        "partners": [
            { "organisationId": organiser, "role": "ORGANISER" },
            { "organisationId": host, "role": "HOST" },
        ],
        "location": { "country": "ID", "city": "Jakarta" },
        "plannedStart": "2017-03-01",
        "plannedEnd": "2017-03-02",
    })
}

#[tokio::test]
async fn an_organisation_a_project_and_an_activity_read_back_with_their_references() {
    let h = Harness::new().await;
    let p = h.portfolio().await;
    let activity = h.activity(&p.project, &p.asec, &p.kpk).await;

    let data = h
        .ok(
            "query($id: ID!) { project(id: $id) {
                id iatiIdentifier title status statusCode plannedStart plannedEnd actualStart version
                reportingOrganisation { name ref typeCode type country { code name } }
                participatingOrganisations { organisation { id name } role roleCode }
                recipientCountries { country { code name } percentage }
                sectors { code name percentage }
                activities { totalCount edges { node {
                    id title kind uncacChapters auditType status
                    project { id }
                    partners { organisation { name } role }
                    location { country { code name } city online }
                } } }
            } }",
            json!({ "id": p.project }),
        )
        .await;
    let project = &data["project"];
    assert_eq!(project["iatiIdentifier"], "XM-DAC-5-7-2015-1234");
    assert_eq!(project["status"], "PIPELINE");
    assert_eq!(project["statusCode"], "1");
    assert_eq!(project["plannedStart"], "2016-01-01");
    assert_eq!(project["actualStart"], Json::Null);
    assert_eq!(project["version"], 1);
    assert_eq!(
        project["reportingOrganisation"],
        json!({ "name": "Federal Foreign Office", "ref": "XM-DAC-5-7", "typeCode": "10",
                "type": "GOVERNMENT", "country": { "code": "DE", "name": "Germany" } })
    );
    assert_eq!(
        project["participatingOrganisations"],
        json!([
            { "organisation": { "id": p.aa, "name": "Federal Foreign Office" }, "role": "FUNDING", "roleCode": "1" },
            { "organisation": { "id": p.asec, "name": "ASEAN Secretariat" }, "role": "ACCOUNTABLE", "roleCode": "2" },
            { "organisation": { "id": p.giz, "name": "Deutsche Gesellschaft für Internationale Zusammenarbeit" },
              "role": "IMPLEMENTING", "roleCode": "4" },
        ])
    );
    assert_eq!(
        project["recipientCountries"],
        json!([
            { "country": { "code": "ID", "name": "Indonesia" }, "percentage": "50.00" },
            { "country": { "code": "MY", "name": "Malaysia" }, "percentage": "50.00" },
        ])
    );
    assert_eq!(project["sectors"][1]["code"], "15113");
    assert_eq!(
        project["sectors"][1]["name"],
        "Anti-corruption organisations and institutions"
    );
    assert_eq!(project["sectors"][0]["percentage"], "33.33");
    assert_eq!(project["activities"]["totalCount"], 1);
    let node = &project["activities"]["edges"][0]["node"];
    assert_eq!(node["id"], Json::String(activity.clone()));
    assert_eq!(node["kind"], "CONFERENCE");
    assert_eq!(node["uncacChapters"], json!(["PREVENTION"]));
    assert_eq!(node["auditType"], Json::Null);
    assert_eq!(node["status"], "PLANNED");
    assert_eq!(node["project"]["id"], Json::String(p.project.clone()));
    assert_eq!(
        node["partners"],
        json!([
            { "organisation": { "name": "ASEAN Secretariat" }, "role": "ORGANISER" },
            { "organisation": { "name": "Corruption Eradication Commission" }, "role": "HOST" },
        ])
    );
    assert_eq!(
        node["location"],
        json!({ "country": { "code": "ID", "name": "Indonesia" }, "city": "Jakarta", "online": false })
    );

    let data = h
        .ok(
            "query($id: ID!) { activity(id: $id) { title project { iatiIdentifier } } }",
            json!({ "id": activity }),
        )
        .await;
    assert_eq!(
        data["activity"]["project"]["iatiIdentifier"],
        "XM-DAC-5-7-2015-1234"
    );
}

#[tokio::test]
async fn payloads_carry_the_entity_and_where_its_event_landed() {
    let h = Harness::new().await;
    let data = h
        .ok(
            REGISTER_ORGANISATION,
            json!({ "input": { "name": "ASEAN Supreme Audit Institutions", "acronym": "ASEANSAI",
                               "type": "MULTILATERAL", "country": "ID", "website": "https://aseansai.org/" } }),
        )
        .await;
    assert_eq!(data["registerOrganisation"]["auditIndex"], 0);
    assert_eq!(data["registerOrganisation"]["organisation"]["version"], 1);
    assert_eq!(
        data["registerOrganisation"]["organisation"]["ref"],
        Json::Null
    );
    let id = text(&data["registerOrganisation"]["organisation"]["id"]);
    let data = h
        .ok(
            "mutation($input: ReviseOrganisationInput!) { reviseOrganisation(input: $input) {
                organisation { name acronym website version ref } auditIndex } }",
            json!({ "input": { "id": id, "expectedVersion": 1, "acronym": null, "ref": "XI-IATI-ASEANSAI" } }),
        )
        .await;
    assert_eq!(
        data["reviseOrganisation"],
        json!({ "organisation": { "name": "ASEAN Supreme Audit Institutions", "acronym": null,
                                  "website": "https://aseansai.org/", "version": 2, "ref": "XI-IATI-ASEANSAI" },
                "auditIndex": 1 })
    );
    assert_eq!(h.log_size().await, 2);
}

// ---- every domain rule broken at least once through GraphQL ----

#[tokio::test]
async fn a_malformed_iati_identifier_is_refused() {
    let h = Harness::new().await;
    let p = h.portfolio().await;
    let mut input = project_input(&p.aa, &p.giz, &p.asec);
    input["iatiIdentifier"] = json!("XM-DAC-5-7/2015");
    h.refused(
        REGISTER_PROJECT,
        json!({ "input": input }),
        ErrorCode::BadUserInput,
        Some("iatiIdentifier"),
    )
    .await;
    // Well-formed, but not under the reporting organisation's ref.
    input["iatiIdentifier"] = json!("XM-DAC-5-52-2015-1");
    h.refused(
        REGISTER_PROJECT,
        json!({ "input": input }),
        ErrorCode::BadUserInput,
        Some("iatiIdentifier"),
    )
    .await;
}

#[tokio::test]
async fn a_taken_iati_identifier_or_ref_is_refused() {
    let h = Harness::new().await;
    let p = h.portfolio().await;
    h.refused(
        REGISTER_PROJECT,
        json!({ "input": project_input(&p.aa, &p.giz, &p.asec) }),
        ErrorCode::BadUserInput,
        Some("iatiIdentifier"),
    )
    .await;
    h.refused(
        REGISTER_ORGANISATION,
        json!({ "input": { "ref": "XM-DAC-5-7", "name": "Impostor", "type": "OTHER" } }),
        ErrorCode::BadUserInput,
        Some("ref"),
    )
    .await;
}

#[tokio::test]
async fn percentages_must_add_up_to_100_and_have_two_places() {
    let h = Harness::new().await;
    let p = h.portfolio().await;
    let mut input = project_input(&p.aa, &p.giz, &p.asec);
    input["iatiIdentifier"] = json!("XM-DAC-5-7-2015-2");
    input["recipientCountries"] = json!([
        { "country": "ID", "percentage": "50" },
        { "country": "MY", "percentage": "40" },
    ]);
    h.refused(
        REGISTER_PROJECT,
        json!({ "input": input }),
        ErrorCode::BadUserInput,
        Some("recipientCountries"),
    )
    .await;
    input["recipientCountries"] = json!([
        { "country": "ID", "percentage": "66.667" },
        { "country": "MY", "percentage": "33.333" },
    ]);
    h.refused(
        REGISTER_PROJECT,
        json!({ "input": input }),
        ErrorCode::BadUserInput,
        Some("recipientCountries[0].percentage"),
    )
    .await;
    input["recipientCountries"] = json!([{ "country": "ID", "percentage": "100" }]);
    input["sectors"] = json!([
        { "code": "15113", "percentage": "60" },
        { "code": "15120", "percentage": "40" },
    ]);
    h.refused(
        REGISTER_PROJECT,
        json!({ "input": input }),
        ErrorCode::BadUserInput,
        Some("sectors[1].code"),
    )
    .await;
    h.refused(
        "mutation($input: ReviseProjectInput!) { reviseProject(input: $input) { project { id } } }",
        json!({ "input": { "id": p.project, "expectedVersion": 1,
                           "sectors": [{ "code": "15113", "percentage": "99.99" }] } }),
        ErrorCode::BadUserInput,
        Some("sectors"),
    )
    .await;
}

#[tokio::test]
async fn a_budget_period_is_at_most_one_year() {
    let h = Harness::new().await;
    let p = h.portfolio().await;
    let budget = |end: &str| {
        json!({ "input": { "projectId": p.project, "expectedVersion": 1, "budgets": [
            { "type": "ORIGINAL", "status": "COMMITTED", "periodStart": "2016-01-01", "periodEnd": "2016-12-31",
              "value": { "minorUnits": "125000000", "currency": "EUR" }, "valueDate": "2016-01-01" },
            { "type": "ORIGINAL", "status": "INDICATIVE", "periodStart": "2017-01-01", "periodEnd": end,
              "value": { "minorUnits": 90000000, "currency": "EUR" }, "valueDate": "2017-01-01" },
        ] } })
    };
    let set_budget = "mutation($input: SetBudgetInput!) { setBudget(input: $input) {
        project { version budgets { type status periodStart periodEnd valueDate value { minorUnits currency decimal } } } } }";
    h.refused(
        set_budget,
        budget("2018-01-02"),
        ErrorCode::BadUserInput,
        Some("budgets[1].periodEnd"),
    )
    .await;
    let mut bad_currency = budget("2017-12-31");
    bad_currency["input"]["budgets"][0]["value"]["currency"] = json!("XEU");
    h.refused(
        set_budget,
        bad_currency,
        ErrorCode::BadUserInput,
        Some("budgets[0].value.currency"),
    )
    .await;
    let data = h.ok(set_budget, budget("2017-12-31")).await;
    assert_eq!(
        data["setBudget"]["project"]["budgets"][0],
        json!({ "type": "ORIGINAL", "status": "COMMITTED", "periodStart": "2016-01-01",
                "periodEnd": "2016-12-31", "valueDate": "2016-01-01",
                "value": { "minorUnits": "125000000", "currency": "EUR", "decimal": "1250000.00" } })
    );
}

#[tokio::test]
async fn status_transitions_follow_the_iati_life_cycle() {
    let h = Harness::new().await;
    let p = h.portfolio().await;
    let change =
        "mutation($input: ChangeProjectStatusInput!) { changeProjectStatus(input: $input) {
        project { status statusCode actualStart version } } }";
    h.refused(
        change,
        json!({ "input": { "id": p.project, "expectedVersion": 1, "status": "CLOSED" } }),
        ErrorCode::BadUserInput,
        Some("input"),
    )
    .await;
    h.refused(
        change,
        json!({ "input": { "id": p.project, "expectedVersion": 1, "status": "IMPLEMENTATION" } }),
        ErrorCode::BadUserInput,
        Some("actualStart"),
    )
    .await;
    let data = h
        .ok(
            change,
            json!({ "input": { "id": p.project, "expectedVersion": 1, "status": "IMPLEMENTATION",
                               "actualStart": "2016-02-01" } }),
        )
        .await;
    assert_eq!(
        data["changeProjectStatus"]["project"],
        json!({ "status": "IMPLEMENTATION", "statusCode": "2", "actualStart": "2016-02-01", "version": 2 })
    );
}

#[tokio::test]
async fn an_audit_needs_its_audit_type() {
    let h = Harness::new().await;
    let p = h.portfolio().await;
    let mut input = activity_input(&p.project, &p.asec, &p.kpk);
    input["kind"] = json!("AUDIT");
    h.refused(
        PLAN_ACTIVITY,
        json!({ "input": input }),
        ErrorCode::BadUserInput,
        Some("auditType"),
    )
    .await;
    input["auditType"] = json!("COMPLIANCE");
    let data = h.ok(PLAN_ACTIVITY, json!({ "input": input })).await;
    assert_eq!(data["planActivity"]["activity"]["status"], "PLANNED");
    let mut input = activity_input(&p.project, &p.kpk, &p.asec);
    input["partners"] = json!([{ "organisationId": p.kpk, "role": "HOST" }]);
    h.refused(
        PLAN_ACTIVITY,
        json!({ "input": input }),
        ErrorCode::BadUserInput,
        Some("partners"),
    )
    .await;
    let mut input = activity_input(&p.project, &p.kpk, &p.asec);
    input["location"] = json!({ "country": "ID", "online": true });
    h.refused(
        PLAN_ACTIVITY,
        json!({ "input": input }),
        ErrorCode::BadUserInput,
        Some("location.country"),
    )
    .await;
}

#[tokio::test]
async fn participants_must_add_up() {
    let h = Harness::new().await;
    let p = h.portfolio().await;
    let activity = h.activity(&p.project, &p.asec, &p.kpk).await;
    let complete = "mutation($input: CompleteActivityInput!) { completeActivity(input: $input) {
        activity { status actualStart actualEnd outcome version
                   participants { total female male undisclosed byCountry { country { code } count } } } } }";
    let input = |total: i64, by_country: Json| {
        json!({ "input": { "id": activity, "expectedVersion": 1, "actualStart": "2017-03-01",
            "actualEnd": "2017-03-02", "outcome": "Ten agencies agreed on a common checklist.",
            "participants": { "total": total, "female": 20, "male": 18, "undisclosed": 2, "byCountry": by_country } } })
    };
    h.refused(
        complete,
        input(41, json!(null)),
        ErrorCode::BadUserInput,
        Some("participants.total"),
    )
    .await;
    h.refused(
        complete,
        input(
            40,
            json!([{ "country": "ID", "count": 30 }, { "country": "MY", "count": 5 }]),
        ),
        ErrorCode::BadUserInput,
        Some("participants.byCountry"),
    )
    .await;
    h.refused(
        complete,
        input(-1, json!(null)),
        ErrorCode::BadUserInput,
        Some("participants.total"),
    )
    .await;
    // The rows are the domain's own constructor's (Participants::parse), named by index.
    h.refused(
        complete,
        input(
            40,
            json!([{ "country": "ID", "count": 30 }, { "country": "XX", "count": 10 }]),
        ),
        ErrorCode::BadUserInput,
        Some("participants.byCountry[1].country"),
    )
    .await;
    h.refused(
        complete,
        input(40, json!([{ "country": "ID", "count": -3 }])),
        ErrorCode::BadUserInput,
        Some("participants.byCountry[0].count"),
    )
    .await;
    let data = h
        .ok(
            complete,
            input(
                40,
                json!([{ "country": "ID", "count": 30 }, { "country": "MY", "count": 10 }]),
            ),
        )
        .await;
    assert_eq!(
        data["completeActivity"]["activity"],
        json!({ "status": "COMPLETED", "actualStart": "2017-03-01", "actualEnd": "2017-03-02",
                "outcome": "Ten agencies agreed on a common checklist.", "version": 2,
                "participants": { "total": 40, "female": 20, "male": 18, "undisclosed": 2,
                    "byCountry": [{ "country": { "code": "ID" }, "count": 30 },
                                  { "country": { "code": "MY" }, "count": 10 }] } })
    );
    // Only a PLANNED activity changes.
    h.refused(
        "mutation($input: CancelActivityInput!) { cancelActivity(input: $input) { activity { id } } }",
        json!({ "input": { "id": activity, "expectedVersion": 2, "reason": "too late" } }),
        ErrorCode::BadUserInput,
        Some("input"),
    )
    .await;
}

#[tokio::test]
async fn unknown_references_name_their_id_field() {
    let h = Harness::new().await;
    let p = h.portfolio().await;
    let nobody = uuid::Uuid::now_v7().to_string();
    let mut input = project_input(&p.aa, &p.giz, &p.asec);
    input["iatiIdentifier"] = json!("XM-DAC-5-7-2015-3");
    input["participatingOrganisations"][1]["organisationId"] = json!(nobody);
    h.refused(
        REGISTER_PROJECT,
        json!({ "input": input }),
        ErrorCode::BadUserInput,
        Some("participatingOrganisations[1].organisationId"),
    )
    .await;
    input["participatingOrganisations"][1]["organisationId"] = json!("not-a-uuid");
    h.refused(
        REGISTER_PROJECT,
        json!({ "input": input }),
        ErrorCode::BadUserInput,
        Some("participatingOrganisations[1].organisationId"),
    )
    .await;
    h.refused(
        PLAN_ACTIVITY,
        json!({ "input": activity_input(&nobody, &p.asec, &p.kpk) }),
        ErrorCode::BadUserInput,
        Some("projectId"),
    )
    .await;
    h.refused(
        PLAN_ACTIVITY,
        json!({ "input": activity_input(&p.project, &p.asec, &nobody) }),
        ErrorCode::BadUserInput,
        Some("partners[1].organisationId"),
    )
    .await;
    h.refused(
        "mutation($input: AddRelatedProjectInput!) { addRelatedProject(input: $input) { project { id } } }",
        json!({ "input": { "projectId": p.project, "expectedVersion": 1, "relatedProjectId": nobody,
                           "type": "SIBLING" } }),
        ErrorCode::BadUserInput,
        Some("relatedProjectId"),
    )
    .await;
}

#[tokio::test]
async fn a_stale_expected_version_is_a_conflict_with_the_current_version() {
    let h = Harness::new().await;
    let p = h.portfolio().await;
    let revise = "mutation($input: ReviseProjectInput!) { reviseProject(input: $input) { project { title version } } }";
    h.ok(
        revise,
        json!({ "input": { "id": p.project, "expectedVersion": 1, "title": "ASEC Post 2015" } }),
    )
    .await;
    let before = h.log_size().await;
    let response = h
        .execute(
            revise,
            json!({ "input": { "id": p.project, "expectedVersion": 1, "title": "Late edit" } }),
        )
        .await;
    assert_eq!(response.errors.len(), 1);
    let error = &response.errors[0];
    assert_eq!(ErrorCode::of(error), Some(ErrorCode::Conflict));
    let current = error
        .extensions
        .as_ref()
        .and_then(|extensions| extensions.get("currentVersion"))
        .cloned();
    assert_eq!(current, Some(async_graphql::Value::from(2)));
    assert_eq!(h.log_size().await, before);
    h.refused(
        revise,
        json!({ "input": { "id": p.project, "expectedVersion": -1, "title": "x" } }),
        ErrorCode::BadUserInput,
        Some("expectedVersion"),
    )
    .await;
}

#[tokio::test]
async fn changing_what_does_not_exist_is_not_found() {
    let h = Harness::new().await;
    h.refused(
        "mutation($input: VersionedIdInput!) { deactivateOrganisation(input: $input) { organisation { id } } }",
        json!({ "input": { "id": uuid::Uuid::now_v7().to_string(), "expectedVersion": 0 } }),
        ErrorCode::NotFound,
        None,
    )
    .await;
}

#[tokio::test]
async fn raw_values_that_do_not_parse_name_their_field() {
    let h = Harness::new().await;
    let p = h.portfolio().await;
    let mut input = project_input(&p.aa, &p.giz, &p.asec);
    input["iatiIdentifier"] = json!("XM-DAC-5-7-2015-4");
    input["plannedStart"] = json!("2016-02-30");
    h.refused(
        REGISTER_PROJECT,
        json!({ "input": input }),
        ErrorCode::BadUserInput,
        Some("plannedStart"),
    )
    .await;
    h.refused(
        REGISTER_ORGANISATION,
        json!({ "input": { "name": "  ", "type": "OTHER" } }),
        ErrorCode::BadUserInput,
        Some("name"),
    )
    .await;
    h.refused(
        REGISTER_ORGANISATION,
        json!({ "input": { "name": "A", "type": "OTHER", "website": "ftp://example.org" } }),
        ErrorCode::BadUserInput,
        Some("website"),
    )
    .await;
    h.refused(
        "mutation($input: RecordTransactionInput!) { recordTransaction(input: $input) { project { id } } }",
        json!({ "input": { "projectId": p.project, "expectedVersion": 1, "type": "DISBURSEMENT",
                           "date": "2016-05-01", "valueDate": "2016-05-01",
                           "value": { "minorUnits": "12.50", "currency": "EUR" } } }),
        ErrorCode::BadUserInput,
        Some("value.minorUnits"),
    )
    .await;
}

// ---- queries ----

#[tokio::test]
async fn relay_pagination_walks_forwards_and_backwards() {
    let h = Harness::new().await;
    for name in ["Alpha", "Bravo", "Charlie", "Delta", "Echo"] {
        h.organisation(name, None, "OTHER").await;
    }
    let page = "query($first: Int, $after: String, $last: Int, $before: String) {
        organisations(first: $first, after: $after, last: $last, before: $before) {
            totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
            edges { cursor node { name } } } }";
    let names = |data: &Json| -> Vec<String> {
        data["organisations"]["edges"]
            .as_array()
            .map(|edges| edges.iter().map(|e| text(&e["node"]["name"])).collect())
            .unwrap_or_default()
    };
    let first = h.ok(page, json!({ "first": 2 })).await;
    assert_eq!(names(&first), ["Alpha", "Bravo"]);
    assert_eq!(first["organisations"]["totalCount"], 5);
    assert_eq!(first["organisations"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(first["organisations"]["pageInfo"]["hasPreviousPage"], false);
    let after = first["organisations"]["pageInfo"]["endCursor"].clone();
    let second = h.ok(page, json!({ "first": 2, "after": after })).await;
    assert_eq!(names(&second), ["Charlie", "Delta"]);
    assert_eq!(second["organisations"]["pageInfo"]["hasPreviousPage"], true);
    let after = second["organisations"]["pageInfo"]["endCursor"].clone();
    let third = h.ok(page, json!({ "first": 2, "after": after })).await;
    assert_eq!(names(&third), ["Echo"]);
    assert_eq!(third["organisations"]["pageInfo"]["hasNextPage"], false);

    let tail = h.ok(page, json!({ "last": 2 })).await;
    assert_eq!(names(&tail), ["Delta", "Echo"]);
    assert_eq!(tail["organisations"]["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(tail["organisations"]["pageInfo"]["hasNextPage"], false);
    let before = tail["organisations"]["pageInfo"]["startCursor"].clone();
    let earlier = h.ok(page, json!({ "last": 2, "before": before })).await;
    assert_eq!(names(&earlier), ["Bravo", "Charlie"]);
    assert_eq!(earlier["organisations"]["pageInfo"]["hasNextPage"], true);

    let sorted = h
        .ok(
            "{ organisations(first: 1, orderBy: { field: NAME, direction: DESC }) { edges { node { name } } } }",
            json!({}),
        )
        .await;
    assert_eq!(sorted["organisations"]["edges"][0]["node"]["name"], "Echo");

    let failure = h.fail(page, json!({ "first": 101 })).await;
    assert_eq!(failure.code, Some(ErrorCode::BadUserInput));
    assert_eq!(failure.field.as_deref(), Some("first"));
    let failure = h
        .fail(page, json!({ "first": 1, "after": "bm90IGEgY3Vyc29y" }))
        .await;
    assert_eq!(failure.code, Some(ErrorCode::BadUserInput));
    assert_eq!(failure.field.as_deref(), Some("after"));
}

#[tokio::test]
async fn node_resolves_every_kind_of_entity() {
    let h = Harness::new().await;
    let p = h.portfolio().await;
    let activity = h.activity(&p.project, &p.asec, &p.kpk).await;
    let record = "mutation($input: RecordTransactionInput!) { recordTransaction(input: $input) {
        project { version transactions { edges { node { id } } } } } }";
    let data = h
        .ok(
            record,
            json!({ "input": { "projectId": p.project, "expectedVersion": 1, "type": "DISBURSEMENT",
                "date": "2016-05-01", "valueDate": "2016-05-01", "value": { "minorUnits": "500000", "currency": "EUR" },
                "providerOrganisationId": p.aa, "receiverOrganisationId": p.giz, "ref": "TX-1" } }),
        )
        .await;
    let transaction =
        text(&data["recordTransaction"]["project"]["transactions"]["edges"][0]["node"]["id"]);
    let data = h
        .ok(
            "mutation($input: ReverseTransactionInput!) { reverseTransaction(input: $input) {
                project { transactions { totalCount edges { node { id value { minorUnits decimal } description
                    reverses { id } reversedBy { id } } } } } } }",
            json!({ "input": { "projectId": p.project, "expectedVersion": 2, "transactionId": transaction,
                               "reason": "Booked twice." } }),
        )
        .await;
    let edges = &data["reverseTransaction"]["project"]["transactions"]["edges"];
    assert_eq!(
        data["reverseTransaction"]["project"]["transactions"]["totalCount"],
        2
    );
    let reversal = text(&edges[1]["node"]["id"]);
    assert_eq!(
        edges[0]["node"]["reversedBy"]["id"],
        Json::String(reversal.clone())
    );
    assert_eq!(
        edges[1]["node"]["reverses"]["id"],
        Json::String(transaction.clone())
    );
    assert_eq!(
        edges[1]["node"]["value"],
        json!({ "minorUnits": "-500000", "decimal": "-5000.00" })
    );
    assert_eq!(edges[1]["node"]["description"], "Booked twice.");

    let node = "query($id: ID!) { node(id: $id) { __typename id
        ... on Organisation { name }
        ... on Project { iatiIdentifier }
        ... on Activity { title }
        ... on Transaction { typeCode ref providerOrganisation { name } receiverOrganisation { acronym name } reversedBy { id } }
    } }";
    let data = h.ok(node, json!({ "id": p.aa })).await;
    assert_eq!(
        data["node"],
        json!({ "__typename": "Organisation", "id": p.aa, "name": "Federal Foreign Office" })
    );
    let data = h.ok(node, json!({ "id": p.project })).await;
    assert_eq!(data["node"]["__typename"], "Project");
    assert_eq!(data["node"]["iatiIdentifier"], "XM-DAC-5-7-2015-1234");
    let data = h.ok(node, json!({ "id": activity })).await;
    assert_eq!(data["node"]["__typename"], "Activity");
    let data = h.ok(node, json!({ "id": transaction })).await;
    assert_eq!(
        data["node"],
        json!({ "__typename": "Transaction", "id": transaction, "typeCode": "3", "ref": "TX-1",
                "providerOrganisation": { "name": "Federal Foreign Office" },
                "receiverOrganisation": { "acronym": null,
                    "name": "Deutsche Gesellschaft für Internationale Zusammenarbeit" },
                "reversedBy": { "id": reversal } })
    );
    let data = h
        .ok(node, json!({ "id": uuid::Uuid::now_v7().to_string() }))
        .await;
    assert_eq!(data["node"], Json::Null);
}

/// Records a disbursement of `units` euro cents on `project` at `version`; returns its id.
async fn record_transaction(h: &Harness, project: &str, version: u64, units: i64) -> String {
    let data = h
        .ok(
            "mutation($input: RecordTransactionInput!) { recordTransaction(input: $input) {
                project { transactions(last: 1) { edges { node { id } } } } } }",
            json!({ "input": { "projectId": project, "expectedVersion": version,
                "type": "DISBURSEMENT", "date": "2016-05-01", "valueDate": "2016-05-01",
                "value": { "minorUnits": units.to_string(), "currency": "EUR" } } }),
        )
        .await;
    text(&data["recordTransaction"]["project"]["transactions"]["edges"][0]["node"]["id"])
}

/// A project's transactions are rows beside its state: as of a log size, they are those its
/// events had recorded by then, the reversal that came later not yet marked on its original.
#[tokio::test]
async fn as_of_reads_the_transactions_the_log_had_recorded_by_then() {
    let h = Harness::new().await;
    let p = h.portfolio().await;
    let first = record_transaction(&h, &p.project, 1, 500_000).await;
    let second = record_transaction(&h, &p.project, 2, 250_000).await;
    let recorded = h.log_size().await;
    h.ok(
        "mutation($input: ReverseTransactionInput!) { reverseTransaction(input: $input) {
            project { id } } }",
        json!({ "input": { "projectId": p.project, "expectedVersion": 3, "transactionId": first,
                           "reason": "Booked twice." } }),
    )
    .await;
    let read = "query($id: ID!, $asOf: BigInt) { project(id: $id, asOf: $asOf) {
        transactions { totalCount edges { node { id reversedBy { id } value { minorUnits } } } } } }";
    let then = h
        .ok(read, json!({ "id": p.project, "asOf": recorded }))
        .await;
    assert_eq!(
        then["project"]["transactions"],
        json!({ "totalCount": 2, "edges": [
            { "node": { "id": first, "reversedBy": null, "value": { "minorUnits": "500000" } } },
            { "node": { "id": second, "reversedBy": null, "value": { "minorUnits": "250000" } } },
        ] })
    );
    let now = h.ok(read, json!({ "id": p.project, "asOf": null })).await;
    let edges = &now["project"]["transactions"]["edges"];
    assert_eq!(now["project"]["transactions"]["totalCount"], 3);
    assert_eq!(edges[0]["node"]["reversedBy"]["id"], edges[2]["node"]["id"]);
    assert_eq!(edges[2]["node"]["value"]["minorUnits"], "-500000");
}

/// A reversal carries its transaction as looked up at some version of the project: decided on
/// the project at another version, it is refused as a stale read, and appends nothing.
#[tokio::test]
async fn a_reversal_looked_up_before_the_project_moved_on_is_a_stale_read() {
    use amanah_domain::ports::{Actor, EventMetadata, StoreError};
    use amanah_domain::project::{Project, ProjectCommand, ReverseTransaction};
    use amanah_domain::service::{CommandError, Expected, Given};
    use amanah_domain::values::Description;

    let h = Harness::new().await;
    let p = h.portfolio().await;
    let project = uuid::Uuid::parse_str(&p.project).unwrap_or_default();
    let first = record_transaction(&h, &p.project, 1, 500_000).await;
    let first = uuid::Uuid::parse_str(&first).unwrap_or_default();
    let known = h
        .state
        .commands
        .known_transaction(project, first)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(known.version, 2);
    assert_eq!(known.row.as_ref().map(|row| row.id), Some(first));
    assert_eq!(
        h.state
            .commands
            .known_transaction(project, uuid::Uuid::now_v7())
            .await
            .unwrap_or_else(|error| panic!("{error}"))
            .row,
        None
    );
    record_transaction(&h, &p.project, 2, 250_000).await;
    let before = h.log_size().await;
    let reverse = ProjectCommand::ReverseTransaction(ReverseTransaction {
        project_id: project,
        transaction: known,
        reversal_id: uuid::Uuid::now_v7(),
        reason: Description::parse("Booked twice.").unwrap_or_else(|error| panic!("{error}")),
    });
    let refused = h
        .state
        .commands
        .execute::<Project>(
            project,
            Expected::Version(3),
            reverse,
            EventMetadata {
                actor: Actor::system("portfolio-tests"),
                request_id: None,
                occurred_at: chrono::Utc::now(),
            },
            Given::NOTHING,
        )
        .await;
    assert!(
        matches!(
            refused,
            Err(CommandError::Store(StoreError::StaleRead { read, current: 3 }))
                if read.stream_id == project && read.version == 2
        ),
        "{refused:?}"
    );
    assert_eq!(h.log_size().await, before);
}

#[tokio::test]
async fn a_mutation_decided_on_facts_another_process_changed_is_decided_once_more() {
    use amanah_domain::ports::{Actor, EventMetadata};
    use amanah_domain::project::{Project, ProjectCommand, ReviseProject};
    use amanah_domain::service::{CommandService, Expected, Given};
    use amanah_domain::values::Title;

    let h = Harness::new().await;
    let p = h.portfolio().await;
    let project = uuid::Uuid::parse_str(&p.project).unwrap_or_default();
    // Planning an activity keeps the project's state here (at version 1).
    h.activity(&p.project, &p.asec, &p.kpk).await;
    // Another process on the same database (its own service, its own kept states) revises the
    // project: this server's kept state is now behind.
    let elsewhere = CommandService::new(h.state.commands.store().clone());
    elsewhere
        .execute::<Project>(
            project,
            Expected::Version(1),
            ProjectCommand::Revise(ReviseProject {
                id: project,
                title: Some(Title::parse("Revised elsewhere").unwrap_or_else(|e| panic!("{e}"))),
                ..ReviseProject::default()
            }),
            EventMetadata {
                actor: Actor::system("another-process"),
                request_id: None,
                occurred_at: chrono::Utc::now(),
            },
            Given::NOTHING,
        )
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let kept = h
        .state
        .commands
        .project_facts(project)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(kept.map(|facts| facts.version), Some(1), "still kept here");
    // The next activity is decided on the kept project, which the append finds stale; the server
    // decides it once more on the project read afresh, and the client sees it planned.
    let before = h.log_size().await;
    h.activity(&p.project, &p.asec, &p.kpk).await;
    assert_eq!(h.log_size().await, before + 1, "one activity planned, once");
    let fresh = h
        .state
        .commands
        .project_facts(project)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(fresh.map(|facts| facts.version), Some(2));
}

#[tokio::test]
async fn as_of_returns_an_older_state() {
    let h = Harness::new().await;
    let p = h.portfolio().await;
    // The project was registered by the fifth event: as of a log of 5 it exists, as of 4 not yet.
    let size_after_registration = h.log_size().await;
    h.ok(
        "mutation($input: ReviseProjectInput!) { reviseProject(input: $input) { project { id } } }",
        json!({ "input": { "id": p.project, "expectedVersion": 1, "title": "Renamed" } }),
    )
    .await;
    h.ok(
        "mutation($input: ReviseOrganisationInput!) { reviseOrganisation(input: $input) { organisation { id } } }",
        json!({ "input": { "id": p.aa, "expectedVersion": 1, "name": "Auswärtiges Amt" } }),
    )
    .await;
    let query = "query($id: ID!, $asOf: Int) { project(id: $id, asOf: $asOf) {
        title version reportingOrganisation { name } } }";
    let now = h.ok(query, json!({ "id": p.project })).await;
    assert_eq!(
        now["project"],
        json!({ "title": "Renamed", "version": 2, "reportingOrganisation": { "name": "Auswärtiges Amt" } })
    );
    let then = h
        .ok(
            query,
            json!({ "id": p.project, "asOf": size_after_registration }),
        )
        .await;
    assert_eq!(
        then["project"],
        json!({ "title": "ASEAN Secretariat post-2015 (ASEC Post 2015)", "version": 1,
                "reportingOrganisation": { "name": "Federal Foreign Office" } })
    );
    let before = h
        .ok(
            query,
            json!({ "id": p.project, "asOf": size_after_registration - 1 }),
        )
        .await;
    assert_eq!(before["project"], Json::Null);
    let failure = h.fail(query, json!({ "id": p.project, "asOf": -1 })).await;
    assert_eq!(failure.code, Some(ErrorCode::BadUserInput));
    assert_eq!(failure.field.as_deref(), Some("asOf"));
    let organisation = h
        .ok(
            "query($id: ID!) { organisation(id: $id, asOf: 1) { name version } }",
            json!({ "id": p.aa }),
        )
        .await;
    assert_eq!(
        organisation["organisation"],
        json!({ "name": "Federal Foreign Office", "version": 1 })
    );
}

#[tokio::test]
async fn projects_filter_and_look_up_by_iati_identifier() {
    let h = Harness::new().await;
    let p = h.portfolio().await;
    let projects = "query($filter: ProjectFilter) { projects(filter: $filter) { totalCount edges { node { id } } } }";
    let count = |data: &Json| data["projects"]["totalCount"].as_u64().unwrap_or(u64::MAX);
    assert_eq!(
        count(
            &h.ok(projects, json!({ "filter": { "status": ["PIPELINE"] } }))
                .await
        ),
        1
    );
    assert_eq!(
        count(
            &h.ok(projects, json!({ "filter": { "status": ["CLOSED"] } }))
                .await
        ),
        0
    );
    assert_eq!(
        count(
            &h.ok(
                projects,
                json!({ "filter": { "recipientCountry": ["MY"] } })
            )
            .await
        ),
        1
    );
    assert_eq!(
        count(
            &h.ok(
                projects,
                json!({ "filter": { "recipientCountry": ["TH"] } })
            )
            .await
        ),
        0
    );
    assert_eq!(
        count(
            &h.ok(projects, json!({ "filter": { "sector": ["15113"] } }))
                .await
        ),
        1
    );
    assert_eq!(
        count(
            &h.ok(
                projects,
                json!({ "filter": { "participatingOrganisationId": p.giz,
                                                   "participatingRole": "IMPLEMENTING" } })
            )
            .await
        ),
        1
    );
    assert_eq!(
        count(
            &h.ok(projects, json!({ "filter": { "text": "post-2015" } }))
                .await
        ),
        1
    );
    let failure = h
        .fail(
            projects,
            json!({ "filter": { "recipientCountry": ["ID", "ZZ"] } }),
        )
        .await;
    assert_eq!(failure.field.as_deref(), Some("filter.recipientCountry[1]"));

    let data = h
        .ok(
            "{ projectByIatiIdentifier(iatiIdentifier: \"XM-DAC-5-7-2015-1234\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["projectByIatiIdentifier"]["id"],
        Json::String(p.project.clone())
    );

    let data = h
        .ok(
            "query($id: ID!) { organisation(id: $id) { projects(role: FUNDING) { totalCount }
                                                      implementing: projects(role: IMPLEMENTING) { totalCount } } }",
            json!({ "id": p.aa }),
        )
        .await;
    assert_eq!(data["organisation"]["projects"]["totalCount"], 1);
    assert_eq!(data["organisation"]["implementing"]["totalCount"], 0);
}

#[tokio::test]
async fn activities_are_listed_and_filtered() {
    let h = Harness::new().await;
    let p = h.portfolio().await;
    h.activity(&p.project, &p.asec, &p.kpk).await;
    let mut audit = activity_input(&p.project, &p.asec, &p.kpk);
    audit["kind"] = json!("AUDIT");
    audit["auditType"] = json!("COMPLIANCE");
    audit["title"] = json!("Cooperative compliance audit");
    audit["plannedStart"] = json!("2018-01-01");
    audit["plannedEnd"] = json!("2018-06-30");
    h.ok(PLAN_ACTIVITY, json!({ "input": audit })).await;
    let activities = "query($filter: ActivityFilter, $orderBy: ActivityOrder) {
        activities(filter: $filter, orderBy: $orderBy) { totalCount edges { node { title } } } }";
    let data = h
        .ok(
            activities,
            json!({ "orderBy": { "field": "PLANNED_START", "direction": "DESC" } }),
        )
        .await;
    assert_eq!(data["activities"]["totalCount"], 2);
    assert_eq!(
        data["activities"]["edges"][0]["node"]["title"],
        "Cooperative compliance audit"
    );
    let data = h
        .ok(
            activities,
            json!({ "filter": { "auditType": ["COMPLIANCE"] } }),
        )
        .await;
    assert_eq!(data["activities"]["totalCount"], 1);
    let data = h
        .ok(
            activities,
            json!({ "filter": { "projectId": p.project, "kind": ["CONFERENCE"] } }),
        )
        .await;
    assert_eq!(data["activities"]["totalCount"], 1);
}

#[tokio::test]
async fn reference_data_answers_from_the_code_lists() {
    let h = Harness::new().await;
    let data = h
        .ok(
            "{ before: memberStates(asOf: \"2025-10-25\") { country { code } }
               after: memberStates(asOf: \"2025-10-26\") { country { code name } joinedOn }
               sectors: codelist(name: SECTOR) { code name withdrawn } }",
            json!({}),
        )
        .await;
    assert_eq!(data["before"].as_array().map(Vec::len), Some(10));
    assert_eq!(data["after"].as_array().map(Vec::len), Some(11));
    let timor_leste = data["after"]
        .as_array()
        .and_then(|states| states.iter().find(|s| s["country"]["code"] == "TL"))
        .cloned();
    assert_eq!(
        timor_leste,
        Some(
            json!({ "country": { "code": "TL", "name": "Timor-Leste" }, "joinedOn": "2025-10-26" })
        )
    );
    assert!(
        data["sectors"]
            .as_array()
            .is_some_and(|sectors| sectors.contains(&json!({ "code": "15120",
                "name": "Public sector financial management", "withdrawn": true })))
    );
    let failure = h
        .fail(
            "{ memberStates(asOf: \"26.10.2025\") { joinedOn } }",
            json!({}),
        )
        .await;
    assert_eq!(failure.field.as_deref(), Some("asOf"));
}

/// A planned activity can be corrected: only what is given changes, partners are replaced and
/// looked up like a plan's, and what does not parse names its field.
#[tokio::test]
async fn a_planned_activity_is_revised() {
    let h = Harness::new().await;
    let p = h.portfolio().await;
    let activity = h.activity(&p.project, &p.asec, &p.kpk).await;
    let revise = "mutation($input: ReviseActivityInput!) { reviseActivity(input: $input) {
        activity { title description version location { online country { code } }
                   partners { organisation { id } role } } } }";
    h.refused(
        revise,
        json!({ "input": { "id": activity, "expectedVersion": 1,
                           "partners": [{ "organisationId": p.project, "role": "ORGANISER" }] } }),
        ErrorCode::BadUserInput,
        Some("partners[0].organisationId"),
    )
    .await;
    h.refused(
        revise,
        json!({ "input": { "id": activity, "expectedVersion": 1, "title": " " } }),
        ErrorCode::BadUserInput,
        Some("title"),
    )
    .await;
    let data = h
        .ok(
            revise,
            json!({ "input": { "id": activity, "expectedVersion": 1, "title": "Corrected title",
                               "partners": [{ "organisationId": p.kpk, "role": "ORGANISER" }],
                               "location": { "online": true } } }),
        )
        .await;
    let revised = &data["reviseActivity"]["activity"];
    assert_eq!(revised["title"], json!("Corrected title"));
    assert_eq!(revised["version"], json!(2));
    assert_eq!(
        revised["location"],
        json!({ "online": true, "country": null })
    );
    assert_eq!(
        revised["partners"],
        json!([{ "organisation": { "id": p.kpk }, "role": "ORGANISER" }])
    );
    // The description was not given: it stays as planned.
    assert_eq!(
        revised["description"],
        activity_input(&p.project, &p.asec, &p.kpk)["description"]
    );
    // A stale version is a conflict.
    h.refused(
        revise,
        json!({ "input": { "id": activity, "expectedVersion": 1, "title": "Again" } }),
        ErrorCode::Conflict,
        None,
    )
    .await;
}

/// What an import must be able to correct: documents, relations and other identifiers can be
/// removed as well as added; the read model (what `project` and lists read) follows, and a
/// rebuild from the log gives the same tables.
#[tokio::test]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
async fn documents_relations_and_other_identifiers_can_be_removed() {
    let h = Harness::new().await;
    let p = h.portfolio().await;
    let project = |version: u64| json!({ "projectId": p.project, "expectedVersion": version });
    let with = |base: Json, extra: Json| {
        let mut input = base;
        for (key, value) in extra.as_object().into_iter().flatten() {
            input[key] = value.clone();
        }
        json!({ "input": input })
    };
    let mutate = |name: &str, input_type: &str| {
        format!(
            "mutation($input: {input_type}!) {{ {name}(input: $input) {{ project {{
                version documents {{ url }} relatedProjects {{ project {{ id }} type }}
                otherIdentifiers {{ ref typeCode }} }} }} }}"
        )
    };
    let version = h
        .ok(
            "query($id: ID!) { project(id: $id) { version } }",
            json!({ "id": p.project }),
        )
        .await["project"]["version"]
        .as_u64()
        .unwrap();
    let other = {
        let mut input = project_input(&p.aa, &p.giz, &p.asec);
        input["iatiIdentifier"] = json!("XM-DAC-5-7-2018-1");
        let data = h.ok(REGISTER_PROJECT, json!({ "input": input })).await;
        text(&data["registerProject"]["project"]["id"])
    };
    let url = json!({ "url": "https://asean.org/vision-2025.pdf" });
    h.ok(
        &mutate("addDocument", "AddDocumentInput"),
        with(
            project(version),
            json!({ "url": "https://asean.org/vision-2025.pdf", "title": "Vision",
                    "categoryCode": "A02", "format": "application/pdf" }),
        ),
    )
    .await;
    h.ok(
        &mutate("addRelatedProject", "AddRelatedProjectInput"),
        with(
            project(version + 1),
            json!({ "relatedProjectId": other, "type": "SIBLING" }),
        ),
    )
    .await;
    h.ok(
        &mutate("addOtherIdentifier", "AddOtherIdentifierInput"),
        with(
            project(version + 2),
            json!({ "ref": "XM-DAC-5-7-2010-1", "typeCode": "A3" }),
        ),
    )
    .await;

    let remove_document = mutate("removeDocument", "RemoveDocumentInput");
    let data = h
        .ok(&remove_document, with(project(version + 3), url.clone()))
        .await;
    assert_eq!(data["removeDocument"]["project"]["documents"], json!([]));
    h.refused(
        &remove_document,
        with(project(version + 4), url),
        ErrorCode::BadUserInput,
        Some("url"),
    )
    .await;
    let remove_related = mutate("removeRelatedProject", "RemoveRelatedProjectInput");
    h.refused(
        &remove_related,
        with(
            project(version + 4),
            json!({ "relatedProjectId": other, "type": "PARENT" }),
        ),
        ErrorCode::BadUserInput,
        Some("relatedProjectId"),
    )
    .await;
    let data = h
        .ok(
            &remove_related,
            with(
                project(version + 4),
                json!({ "relatedProjectId": other, "type": "SIBLING" }),
            ),
        )
        .await;
    assert_eq!(
        data["removeRelatedProject"]["project"]["relatedProjects"],
        json!([])
    );
    let data = h
        .ok(
            &mutate("removeOtherIdentifier", "RemoveOtherIdentifierInput"),
            with(
                project(version + 5),
                json!({ "ref": "XM-DAC-5-7-2010-1", "typeCode": "A3" }),
            ),
        )
        .await;
    assert_eq!(
        data["removeOtherIdentifier"]["project"],
        json!({ "version": version + 6, "documents": [], "relatedProjects": [],
                "otherIdentifiers": [] })
    );
    // The tables the projection kept are the tables a rebuild from the log gives.
    let differences = amanah_infra::read_model::check(h.state.commands.store())
        .await
        .unwrap();
    assert!(differences.is_empty(), "{differences:?}");
}

#[tokio::test]
async fn the_other_project_and_organisation_mutations_change_what_they_say() {
    let h = Harness::new().await;
    let p = h.portfolio().await;
    let other = {
        let mut input = project_input(&p.aa, &p.giz, &p.asec);
        input["iatiIdentifier"] = json!("XM-DAC-5-7-2018-1");
        input["title"] = json!("ASEAN Community Vision 2025");
        let data = h.ok(REGISTER_PROJECT, json!({ "input": input })).await;
        text(&data["registerProject"]["project"]["id"])
    };
    let mutate = |name: &str, input_type: &str| {
        format!(
            "mutation($input: {input_type}!) {{ {name}(input: $input) {{ auditIndex project {{
                version participatingOrganisations {{ organisation {{ id }} role }}
                documents {{ url title categoryCode format date }}
                relatedProjects {{ project {{ id }} type }}
                otherIdentifiers {{ ref typeCode }} }} }} }}"
        )
    };
    let add = mutate(
        "addParticipatingOrganisation",
        "ParticipatingOrganisationChangeInput",
    );
    let data = h
        .ok(
            &add,
            json!({ "input": { "projectId": other, "expectedVersion": 1,
                                      "organisationId": p.kpk, "role": "EXTENDING" } }),
        )
        .await;
    assert_eq!(
        data["addParticipatingOrganisation"]["project"]["version"],
        2
    );
    h.refused(
        &add,
        json!({ "input": { "projectId": other, "expectedVersion": 2, "organisationId": p.kpk, "role": "EXTENDING" } }),
        ErrorCode::BadUserInput,
        Some("role"),
    )
    .await;
    let remove = mutate(
        "removeParticipatingOrganisation",
        "ParticipatingOrganisationChangeInput",
    );
    let data = h
        .ok(
            &remove,
            json!({ "input": { "projectId": other, "expectedVersion": 2,
                                         "organisationId": p.kpk, "role": "EXTENDING" } }),
        )
        .await;
    assert_eq!(
        data["removeParticipatingOrganisation"]["project"]["participatingOrganisations"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    let data = h
        .ok(
            &mutate("addDocument", "AddDocumentInput"),
            json!({ "input": { "projectId": other, "expectedVersion": 3, "url": "https://asean.org/vision-2025.pdf",
                               "title": "ASEAN Community Vision 2025", "categoryCode": "A02",
                               "format": "application/PDF", "date": "2015-11-22" } }),
        )
        .await;
    assert_eq!(
        data["addDocument"]["project"]["documents"],
        json!([{ "url": "https://asean.org/vision-2025.pdf", "title": "ASEAN Community Vision 2025",
                 "categoryCode": "A02", "format": "application/pdf", "date": "2015-11-22" }])
    );
    let data = h
        .ok(
            &mutate("addRelatedProject", "AddRelatedProjectInput"),
            json!({ "input": { "projectId": other, "expectedVersion": 4, "relatedProjectId": p.project,
                               "type": "SIBLING" } }),
        )
        .await;
    assert_eq!(
        data["addRelatedProject"]["project"]["relatedProjects"],
        json!([{ "project": { "id": p.project }, "type": "SIBLING" }])
    );
    let other_identifier = mutate("addOtherIdentifier", "AddOtherIdentifierInput");
    h.refused(
        &other_identifier,
        json!({ "input": { "projectId": other, "expectedVersion": 5, "ref": "XM-DAC-5-7-2015-1234", "typeCode": "Z9" } }),
        ErrorCode::BadUserInput,
        Some("typeCode"),
    )
    .await;
    let data = h
        .ok(
            &other_identifier,
            json!({ "input": { "projectId": other, "expectedVersion": 5, "ref": "XM-DAC-5-7-2015-1234",
                               "typeCode": "A3" } }),
        )
        .await;
    assert_eq!(
        data["addOtherIdentifier"]["project"]["otherIdentifiers"],
        json!([{ "ref": "XM-DAC-5-7-2015-1234", "typeCode": "A3" }])
    );

    let status = "mutation($input: VersionedIdInput!) { deactivateOrganisation(input: $input) {
        organisation { deactivated version } } }";
    let data = h
        .ok(
            status,
            json!({ "input": { "id": p.kpk, "expectedVersion": 1 } }),
        )
        .await;
    assert_eq!(
        data["deactivateOrganisation"]["organisation"],
        json!({ "deactivated": true, "version": 2 })
    );
    // A deactivated organisation takes no new roles.
    h.refused(
        &add,
        json!({ "input": { "projectId": other, "expectedVersion": 6, "organisationId": p.kpk, "role": "EXTENDING" } }),
        ErrorCode::BadUserInput,
        Some("organisationId"),
    )
    .await;
    let data = h
        .ok(
            "mutation($input: VersionedIdInput!) { reactivateOrganisation(input: $input) {
                organisation { deactivated version } } }",
            json!({ "input": { "id": p.kpk, "expectedVersion": 2 } }),
        )
        .await;
    assert_eq!(
        data["reactivateOrganisation"]["organisation"],
        json!({ "deactivated": false, "version": 3 })
    );
}

#[tokio::test]
async fn activities_can_be_rescheduled_and_cancelled() {
    let h = Harness::new().await;
    let p = h.portfolio().await;
    let activity = h.activity(&p.project, &p.asec, &p.kpk).await;
    let reschedule =
        "mutation($input: RescheduleActivityInput!) { rescheduleActivity(input: $input) {
        activity { plannedStart plannedEnd status version } } }";
    h.refused(
        reschedule,
        json!({ "input": { "id": activity, "expectedVersion": 1, "plannedStart": "2017-04-02",
                           "plannedEnd": "2017-04-01" } }),
        ErrorCode::BadUserInput,
        Some("plannedEnd"),
    )
    .await;
    let data = h
        .ok(
            reschedule,
            json!({ "input": { "id": activity, "expectedVersion": 1, "plannedStart": "2017-04-01",
                               "plannedEnd": "2017-04-02" } }),
        )
        .await;
    assert_eq!(
        data["rescheduleActivity"]["activity"],
        json!({ "plannedStart": "2017-04-01", "plannedEnd": "2017-04-02", "status": "PLANNED", "version": 2 })
    );
    let data = h
        .ok(
            "mutation($input: CancelActivityInput!) { cancelActivity(input: $input) {
                activity { status cancellationReason version } } }",
            json!({ "input": { "id": activity, "expectedVersion": 2, "reason": "The venue closed." } }),
        )
        .await;
    assert_eq!(
        data["cancelActivity"]["activity"],
        json!({ "status": "CANCELLED", "cancellationReason": "The venue closed.", "version": 3 })
    );
}

#[tokio::test]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
async fn project_defaults_are_set_read_back_cleared_and_checked() {
    let h = Harness::new().await;
    let p = h.portfolio().await;
    let set = "mutation($input: SetProjectDefaultsInput!) { setProjectDefaults(input: $input) {
        auditIndex project { version defaults { currency language { code name }
        collaborationType { code name } flowType { code } financeType { code } aidType { code }
        tiedStatus { code name } } } } }";
    let input = |version: i64, defaults: Json| {
        let mut input = json!({ "projectId": p.project, "expectedVersion": version });
        for (key, value) in defaults.as_object().unwrap() {
            input[key] = value.clone();
        }
        json!({ "input": input })
    };
    let before = h.log_size().await;
    let data = h
        .ok(
            set,
            input(
                1,
                json!({ "currency": "EUR", "language": "en", "collaborationTypeCode": "1",
                        "flowTypeCode": "10", "financeTypeCode": "110", "aidTypeCode": "C01",
                        "tiedStatusCode": "5" }),
            ),
        )
        .await;
    let payload = &data["setProjectDefaults"];
    assert_eq!(payload["auditIndex"], json!(before));
    assert_eq!(payload["project"]["version"], 2);
    assert_eq!(
        payload["project"]["defaults"],
        json!({
            "currency": "EUR",
            "language": { "code": "en", "name": "English" },
            "collaborationType": { "code": "1", "name": "Bilateral" },
            "flowType": { "code": "10" },
            "financeType": { "code": "110" },
            "aidType": { "code": "C01" },
            "tiedStatus": { "code": "5", "name": "Untied" },
        })
    );

    // Each wrong code is named, and nothing is appended.
    for (field, value) in [
        ("currency", "XXY"),
        ("language", "english"),
        ("collaborationTypeCode", "99"),
        ("flowTypeCode", "20"), // withdrawn at the end of 2015
        ("financeTypeCode", "0"),
        ("aidTypeCode", "Z01"),
        ("tiedStatusCode", "1"),
    ] {
        h.refused(
            set,
            input(2, json!({ field: value })),
            ErrorCode::BadUserInput,
            Some(field),
        )
        .await;
    }
    assert_eq!(h.log_size().await, before + 1);

    // What is left out is cleared; the same defaults again are refused as no change.
    let data = h.ok(set, input(2, json!({ "currency": "EUR" }))).await;
    assert_eq!(
        data["setProjectDefaults"]["project"]["defaults"],
        json!({ "currency": "EUR", "language": null, "collaborationType": null,
                "flowType": null, "financeType": null, "aidType": null, "tiedStatus": null })
    );
    h.refused(
        set,
        input(3, json!({ "currency": "EUR" })),
        ErrorCode::BadUserInput,
        Some("input"),
    )
    .await;
}

#[tokio::test]
async fn policy_markers_are_set_read_back_and_checked() {
    let h = Harness::new().await;
    let p = h.portfolio().await;
    let set = "mutation($input: SetPolicyMarkersInput!) { setPolicyMarkers(input: $input) {
        project { version policyMarkers { marker { code name } significance { code name } } } } }";
    let input = |version: i64, markers: Json| {
        json!({ "input": { "projectId": p.project, "expectedVersion": version,
                           "policyMarkers": markers } })
    };
    let data = h
        .ok(
            set,
            input(
                1,
                json!([{ "code": "3", "significance": "2" }, { "code": "1", "significance": "1" }]),
            ),
        )
        .await;
    assert_eq!(
        data["setPolicyMarkers"]["project"]["policyMarkers"],
        json!([
            { "marker": { "code": "3", "name": "Participatory Development/Good Governance" },
              "significance": { "code": "2", "name": "principal objective" } },
            { "marker": { "code": "1", "name": "Gender Equality" },
              "significance": { "code": "1", "name": "significant objective" } },
        ])
    );
    let before = h.log_size().await;
    for (markers, field) in [
        (
            json!([{ "code": "99", "significance": "1" }]),
            "policyMarkers[0].code",
        ),
        (
            json!([{ "code": "3", "significance": "1" }, { "code": "1", "significance": "7" }]),
            "policyMarkers[1].significance",
        ),
        (
            json!([{ "code": "1", "significance": "1" }, { "code": "1", "significance": "2" }]),
            "policyMarkers[1].code",
        ),
        (
            json!([{ "code": "3", "significance": "3" }]),
            "policyMarkers[0].significance",
        ),
    ] {
        h.refused(set, input(2, markers), ErrorCode::BadUserInput, Some(field))
            .await;
    }
    assert_eq!(h.log_size().await, before);
    let data = h.ok(set, input(2, json!([]))).await;
    assert_eq!(
        data["setPolicyMarkers"]["project"]["policyMarkers"],
        json!([])
    );
}

#[tokio::test]
async fn contacts_are_set_read_back_and_checked_part_by_part() {
    let h = Harness::new().await;
    let p = h.portfolio().await;
    let set = "mutation($input: SetContactsInput!) { setContacts(input: $input) {
        project { contacts { type { code name } organisation personName telephone email website
        mailingAddress } } } }";
    let input = |version: i64, contacts: Json| {
        json!({ "input": { "projectId": p.project, "expectedVersion": version,
                           "contacts": contacts } })
    };
    let data = h
        .ok(
            set,
            input(
                1,
                json!([{ "typeCode": "1", "organisation": "ASEAN Secretariat",
                         "telephone": "+62 21 7262991", "email": "public@example.org",
                         "website": "https://asean.org/", "mailingAddress": "Jl. Sisingamangaraja 70A\nJakarta" }]),
            ),
        )
        .await;
    assert_eq!(
        data["setContacts"]["project"]["contacts"],
        json!([{ "type": { "code": "1", "name": "General Enquiries" },
                 "organisation": "ASEAN Secretariat", "personName": null,
                 "telephone": "+62 21 7262991", "email": "public@example.org",
                 "website": "https://asean.org/",
                 "mailingAddress": "Jl. Sisingamangaraja 70A\nJakarta" }])
    );
    let before = h.log_size().await;
    for (contact, field) in [
        (
            json!({ "typeCode": "9", "email": "a@example.org" }),
            "contacts[0].typeCode",
        ),
        (json!({ "email": "not an address" }), "contacts[0].email"),
        (json!({ "telephone": "call me" }), "contacts[0].telephone"),
        (
            json!({ "website": "ftp://example.org" }),
            "contacts[0].website",
        ),
        (json!({ "personName": "  " }), "contacts[0].personName"),
        (json!({ "typeCode": "1" }), "contacts[0]"),
    ] {
        h.refused(
            set,
            input(2, json!([contact])),
            ErrorCode::BadUserInput,
            Some(field),
        )
        .await;
    }
    assert_eq!(h.log_size().await, before);
}

#[tokio::test]
async fn planned_disbursements_are_set_read_back_and_checked() {
    let h = Harness::new().await;
    let p = h.portfolio().await;
    let set = "mutation($input: SetPlannedDisbursementsInput!) {
        setPlannedDisbursements(input: $input) { project { plannedDisbursements {
        type periodStart periodEnd value { minorUnits currency } valueDate } } } }";
    let row = |start: &str, end: Json, units: &str| {
        json!({ "type": "ORIGINAL", "periodStart": start, "periodEnd": end, "valueDate": start,
                "value": { "minorUnits": units, "currency": "EUR" } })
    };
    let input = |rows: Json| {
        json!({ "input": { "projectId": p.project, "expectedVersion": 1,
                           "plannedDisbursements": rows } })
    };
    let before = h.log_size().await;
    for (rows, field) in [
        (
            json!([row("2016-04-01", json!("2016-03-31"), "5")]),
            "plannedDisbursements[0].periodEnd",
        ),
        (
            json!([row("2016-04-01", json!(null), "-5")]),
            "plannedDisbursements[0].value.minorUnits",
        ),
        (
            json!([
                row("2016-04-01", json!(null), "5"),
                row("2016-13-01", json!(null), "5")
            ]),
            "plannedDisbursements[1].periodStart",
        ),
    ] {
        h.refused(set, input(rows), ErrorCode::BadUserInput, Some(field))
            .await;
    }
    assert_eq!(h.log_size().await, before);
    let unknown = uuid::Uuid::now_v7().to_string();
    let mut named = row("2016-04-01", json!(null), "5");
    named["providerOrganisationId"] = json!(unknown);
    h.refused(
        set,
        input(json!([named])),
        ErrorCode::BadUserInput,
        Some("plannedDisbursements[0].providerOrganisationId"),
    )
    .await;
    assert_eq!(h.log_size().await, before);
    let mut first = row("2016-01-01", json!("2016-06-30"), "50000000");
    first["providerOrganisationId"] = json!(p.aa);
    first["receiverOrganisationId"] = json!(p.giz);
    let parties = h
        .ok(
            "mutation($input: SetPlannedDisbursementsInput!) { setPlannedDisbursements(input: \
             $input) { project { version plannedDisbursements { providerOrganisation { name } \
             receiverOrganisation { name } } } } }",
            input(json!([first])),
        )
        .await;
    let project = &parties["setPlannedDisbursements"]["project"];
    assert_eq!(
        project["plannedDisbursements"][0]["providerOrganisation"]["name"],
        json!("Federal Foreign Office")
    );
    assert!(project["plannedDisbursements"][0]["receiverOrganisation"]["name"].is_string());
    let version = project["version"].as_u64().unwrap_or_default();
    let input = |rows: Json| {
        json!({ "input": { "projectId": p.project, "expectedVersion": version,
                           "plannedDisbursements": rows } })
    };
    let data = h
        .ok(
            set,
            input(json!([
                row("2016-01-01", json!("2016-06-30"), "50000000"),
                row("2016-07-01", json!(null), "125")
            ])),
        )
        .await;
    assert_eq!(
        data["setPlannedDisbursements"]["project"]["plannedDisbursements"],
        json!([
            { "type": "ORIGINAL", "periodStart": "2016-01-01", "periodEnd": "2016-06-30",
              "value": { "minorUnits": "50000000", "currency": "EUR" }, "valueDate": "2016-01-01" },
            { "type": "ORIGINAL", "periodStart": "2016-07-01", "periodEnd": null,
              "value": { "minorUnits": "125", "currency": "EUR" }, "valueDate": "2016-07-01" },
        ])
    );
}

#[tokio::test]
async fn locations_are_set_read_back_and_checked() {
    let h = Harness::new().await;
    let p = h.portfolio().await;
    let set = "mutation($input: SetLocationsInput!) { setLocations(input: $input) {
        project { locations { name description point { latitude longitude }
        administrative { vocabulary { code } level code } } } } }";
    let input = |locations: Json| json!({ "input": { "projectId": p.project, "expectedVersion": 1, "locations": locations } });
    let before = h.log_size().await;
    for (location, field) in [
        (json!({ "name": " " }), "locations[0].name"),
        (
            json!({ "name": "Jakarta", "point": { "latitude": "91", "longitude": "0" } }),
            "locations[0].point.latitude",
        ),
        (
            json!({ "name": "Jakarta", "point": { "latitude": "0", "longitude": "1.0000001" } }),
            "locations[0].point.longitude",
        ),
        (
            json!({ "name": "Jakarta", "administrative": { "vocabularyCode": "Z9", "code": "X" } }),
            "locations[0].administrative.vocabularyCode",
        ),
        (
            json!({ "name": "Jakarta",
                    "administrative": { "vocabularyCode": "A4", "level": -1, "code": "X" } }),
            "locations[0].administrative.level",
        ),
        (
            json!({ "name": "Jakarta",
                    "administrative": { "vocabularyCode": "A4", "code": "ID JK" } }),
            "locations[0].administrative.code",
        ),
    ] {
        h.refused(
            set,
            input(json!([location])),
            ErrorCode::BadUserInput,
            Some(field),
        )
        .await;
    }
    h.refused(
        set,
        input(json!([{ "name": "Jakarta" }, { "name": "Jakarta" }])),
        ErrorCode::BadUserInput,
        Some("locations[1].name"),
    )
    .await;
    assert_eq!(h.log_size().await, before);
    let data = h
        .ok(
            set,
            input(json!([{ "name": "Jakarta", "point": { "latitude": "-6.2", "longitude": "106.816666" },
                           "administrative": { "vocabularyCode": "A4", "level": 1, "code": "ID-JK" } },
                         { "name": "Online" }])),
        )
        .await;
    assert_eq!(
        data["setLocations"]["project"]["locations"],
        json!([
            { "name": "Jakarta", "description": null,
              "point": { "latitude": "-6.200000", "longitude": "106.816666" },
              "administrative": { "vocabulary": { "code": "A4" }, "level": 1, "code": "ID-JK" } },
            { "name": "Online", "description": null, "point": null, "administrative": null },
        ])
    );
}

#[tokio::test]
async fn results_are_set_read_back_updated_and_checked() {
    let h = Harness::new().await;
    let p = h.portfolio().await;
    let set = "mutation($input: SetResultsInput!) { setResults(input: $input) { project {
        version results { type { code } title description indicators { measure { code }
        ascending title baseline { year date value comment } periods { periodStart periodEnd
        target { value comment } actual { value comment } } } } } } }";
    let indicator = |measure: &str, value: Json, actual: Json| {
        json!({ "measure": measure, "ascending": true, "title": "Auditors certified",
                "baseline": { "year": 2016, "date": "2016-01-01", "value": value },
                "periods": [{ "periodStart": "2016-01-01", "periodEnd": "2016-12-31",
                              "target": { "value": value, "comment": "Planned" },
                              "actual": { "value": actual } }] })
    };
    let results = |indicators: Json| {
        json!([{ "type": "1", "title": "Stronger audit institutions",
                 "description": "Capacity", "indicators": indicators }])
    };
    let input = |version: u64, results: Json| {
        json!({ "input": { "projectId": p.project, "expectedVersion": version,
                           "results": results } })
    };
    let before = h.log_size().await;
    for (rows, field) in [
        (
            results(json!([indicator("1", json!("40"), json!("ten"))])),
            "results[0].indicators[0].periods[0].actual.value",
        ),
        (
            results(json!([indicator("7", json!("40"), json!("38"))])),
            "results[0].indicators[0].measure",
        ),
        (
            results(json!([indicator("1", json!(null), json!("38"))])),
            "results[0].indicators[0].baseline.value",
        ),
        (
            results(json!([indicator("5", json!(null), json!("38"))])),
            "results[0].indicators[0].periods[0].actual.value",
        ),
        (results(json!([])), "results[0].indicators"),
    ] {
        h.refused(set, input(1, rows), ErrorCode::BadUserInput, Some(field))
            .await;
    }
    assert_eq!(h.log_size().await, before);

    let data = h
        .ok(
            set,
            input(
                1,
                results(json!([indicator("1", json!("040.0"), json!("12"))])),
            ),
        )
        .await;
    let project = &data["setResults"]["project"];
    assert_eq!(
        project["results"],
        json!([{ "type": { "code": "1" }, "title": "Stronger audit institutions",
                 "description": "Capacity", "indicators": [{
                 "measure": { "code": "1" }, "ascending": true, "title": "Auditors certified",
                 "baseline": { "year": 2016, "date": "2016-01-01", "value": "40", "comment": null },
                 "periods": [{ "periodStart": "2016-01-01", "periodEnd": "2016-12-31",
                               "target": { "value": "40", "comment": "Planned" },
                               "actual": { "value": "12", "comment": null } }] }] }])
    );
    // Updated over time: the year's actual, reached later.
    let version = project["version"].as_u64().unwrap_or_default();
    let data = h
        .ok(
            set,
            input(
                version,
                results(json!([indicator("1", json!("40"), json!("38"))])),
            ),
        )
        .await;
    assert_eq!(
        data["setResults"]["project"]["results"][0]["indicators"][0]["periods"][0]["actual"]["value"],
        json!("38")
    );
    assert_eq!(h.log_size().await, before + 2);
}
