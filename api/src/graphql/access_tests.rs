//! The access table, tested through the schema: every mutation and every protected query × every
//! kind of caller, with identities injected as the HTTP layer injects them. An allowed mutation
//! must append, and every event it appends must carry the caller as its actor and the request's
//! id; a refused one must answer `FORBIDDEN` or `UNAUTHENTICATED` and append nothing.
//!
//! The expected outcomes are written out here by hand from `docs/api.md`, independently
//! of [`super::access::decide`].
#![expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

use amanah_domain::service::{Expected, Given};
use amanah_infra::auth::{Identity, Role};
use async_graphql::{Request, Response, Variables};
use serde_json::{Value as Json, json};
use uuid::Uuid;

use super::portfolio_tests::TestState;
use super::{AmanahSchema, schema};
use crate::auth::{actor_of, test_identity};
use crate::error::ErrorCode;
use crate::request_id::RequestId;
use crate::state::ApiState;

/// Who calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    /// A token without roles.
    Roleless,
    Viewer,
    Editor,
    /// An integrator whose organisation participates in the project.
    IntegratorOwn,
    /// An integrator whose organisation does not.
    IntegratorOther,
    Auditor,
    Admin,
}

const CALLERS: [Caller; 8] = [
    Caller::Anonymous,
    Caller::Roleless,
    Caller::Viewer,
    Caller::Editor,
    Caller::IntegratorOwn,
    Caller::IntegratorOther,
    Caller::Auditor,
    Caller::Admin,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Allowed,
    Forbidden,
    Unauthenticated,
}

/// The rows of the access table that mutations fall under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Row {
    Organisations,
    Projects,
    ActivitiesAndTransactions,
    /// `importIatiActivities`: editors and admins; an integrator for its organisation's projects.
    Import,
}

fn expected(row: Row, caller: Caller) -> Outcome {
    use Outcome::{Allowed, Forbidden, Unauthenticated};
    match (caller, row) {
        (Caller::Anonymous, _) => Unauthenticated,
        (Caller::Editor | Caller::Admin, _) => Allowed,
        (Caller::IntegratorOwn, Row::ActivitiesAndTransactions | Row::Import) => Allowed,
        _ => Forbidden,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mutation {
    RegisterOrganisation,
    ReviseOrganisation,
    DeactivateOrganisation,
    ReactivateOrganisation,
    RegisterProject,
    ReviseProject,
    ChangeProjectStatus,
    AddParticipatingOrganisation,
    RemoveParticipatingOrganisation,
    SetBudget,
    AddDocument,
    AddRelatedProject,
    AddOtherIdentifier,
    RemoveDocument,
    RemoveRelatedProject,
    RemoveOtherIdentifier,
    SetProjectDefaults,
    SetPolicyMarkers,
    SetContacts,
    SetPlannedDisbursements,
    SetLocations,
    SetResults,
    RecordTransaction,
    ReverseTransaction,
    PlanActivity,
    ReviseActivity,
    RescheduleActivity,
    CompleteActivity,
    CancelActivity,
    ImportIatiActivities,
}

const MUTATIONS: [Mutation; 30] = [
    Mutation::RegisterOrganisation,
    Mutation::ReviseOrganisation,
    Mutation::DeactivateOrganisation,
    Mutation::ReactivateOrganisation,
    Mutation::RegisterProject,
    Mutation::ReviseProject,
    Mutation::ChangeProjectStatus,
    Mutation::AddParticipatingOrganisation,
    Mutation::RemoveParticipatingOrganisation,
    Mutation::SetBudget,
    Mutation::AddDocument,
    Mutation::AddRelatedProject,
    Mutation::AddOtherIdentifier,
    Mutation::RemoveDocument,
    Mutation::RemoveRelatedProject,
    Mutation::RemoveOtherIdentifier,
    Mutation::SetProjectDefaults,
    Mutation::SetPolicyMarkers,
    Mutation::SetContacts,
    Mutation::SetPlannedDisbursements,
    Mutation::SetLocations,
    Mutation::SetResults,
    Mutation::RecordTransaction,
    Mutation::ReverseTransaction,
    Mutation::PlanActivity,
    Mutation::ReviseActivity,
    Mutation::RescheduleActivity,
    Mutation::CompleteActivity,
    Mutation::CancelActivity,
    Mutation::ImportIatiActivities,
];

impl Mutation {
    /// The GraphQL field and its input type.
    fn field(self) -> (&'static str, &'static str) {
        match self {
            Self::RegisterOrganisation => ("registerOrganisation", "RegisterOrganisationInput"),
            Self::ReviseOrganisation => ("reviseOrganisation", "ReviseOrganisationInput"),
            Self::DeactivateOrganisation => ("deactivateOrganisation", "VersionedIdInput"),
            Self::ReactivateOrganisation => ("reactivateOrganisation", "VersionedIdInput"),
            Self::RegisterProject => ("registerProject", "RegisterProjectInput"),
            Self::ReviseProject => ("reviseProject", "ReviseProjectInput"),
            Self::ChangeProjectStatus => ("changeProjectStatus", "ChangeProjectStatusInput"),
            Self::AddParticipatingOrganisation => (
                "addParticipatingOrganisation",
                "ParticipatingOrganisationChangeInput",
            ),
            Self::RemoveParticipatingOrganisation => (
                "removeParticipatingOrganisation",
                "ParticipatingOrganisationChangeInput",
            ),
            Self::SetBudget => ("setBudget", "SetBudgetInput"),
            Self::AddDocument => ("addDocument", "AddDocumentInput"),
            Self::AddRelatedProject => ("addRelatedProject", "AddRelatedProjectInput"),
            Self::AddOtherIdentifier => ("addOtherIdentifier", "AddOtherIdentifierInput"),
            Self::RemoveDocument => ("removeDocument", "RemoveDocumentInput"),
            Self::RemoveRelatedProject => ("removeRelatedProject", "RemoveRelatedProjectInput"),
            Self::RemoveOtherIdentifier => ("removeOtherIdentifier", "RemoveOtherIdentifierInput"),
            Self::SetProjectDefaults => ("setProjectDefaults", "SetProjectDefaultsInput"),
            Self::SetPolicyMarkers => ("setPolicyMarkers", "SetPolicyMarkersInput"),
            Self::SetContacts => ("setContacts", "SetContactsInput"),
            Self::SetLocations => ("setLocations", "SetLocationsInput"),
            Self::SetResults => ("setResults", "SetResultsInput"),
            Self::SetPlannedDisbursements => {
                ("setPlannedDisbursements", "SetPlannedDisbursementsInput")
            }
            Self::RecordTransaction => ("recordTransaction", "RecordTransactionInput"),
            Self::ReverseTransaction => ("reverseTransaction", "ReverseTransactionInput"),
            Self::PlanActivity => ("planActivity", "PlanActivityInput"),
            Self::ReviseActivity => ("reviseActivity", "ReviseActivityInput"),
            Self::RescheduleActivity => ("rescheduleActivity", "RescheduleActivityInput"),
            Self::CompleteActivity => ("completeActivity", "CompleteActivityInput"),
            Self::CancelActivity => ("cancelActivity", "CancelActivityInput"),
            Self::ImportIatiActivities => ("importIatiActivities", "ImportIatiActivitiesInput"),
        }
    }

    fn row(self) -> Row {
        match self {
            Self::RegisterOrganisation
            | Self::ReviseOrganisation
            | Self::DeactivateOrganisation
            | Self::ReactivateOrganisation => Row::Organisations,
            Self::RegisterProject
            | Self::ReviseProject
            | Self::ChangeProjectStatus
            | Self::AddParticipatingOrganisation
            | Self::RemoveParticipatingOrganisation
            | Self::SetBudget
            | Self::AddDocument
            | Self::AddRelatedProject
            | Self::AddOtherIdentifier
            | Self::RemoveDocument
            | Self::RemoveRelatedProject
            | Self::RemoveOtherIdentifier
            | Self::SetProjectDefaults
            | Self::SetPolicyMarkers
            | Self::SetContacts
            | Self::SetPlannedDisbursements
            | Self::SetLocations
            | Self::SetResults => Row::Projects,
            Self::RecordTransaction
            | Self::ReverseTransaction
            | Self::PlanActivity
            | Self::ReviseActivity
            | Self::RescheduleActivity
            | Self::CompleteActivity
            | Self::CancelActivity => Row::ActivitiesAndTransactions,
            Self::ImportIatiActivities => Row::Import,
        }
    }

    fn document(self) -> String {
        let (field, input_type) = self.field();
        format!("mutation($input: {input_type}!) {{ {field}(input: $input) {{ auditIndex }} }}")
    }
}

/// A schema over a fresh database with three organisations and a project: `own` participates in
/// it, `other` does not.
struct Harness {
    schema: AmanahSchema,
    state: ApiState,
    reporting: String,
    own: String,
    other: String,
    project: String,
    projects_registered: std::sync::atomic::AtomicU32,
    _backing: TestState,
}

impl Harness {
    async fn new(public_read: bool) -> Self {
        let backing = TestState::new(|config| config.public_read = public_read, None).await;
        let state = backing.state.clone();
        let mut harness = Self {
            schema: schema(state.clone()),
            state,
            reporting: String::new(),
            own: String::new(),
            other: String::new(),
            project: String::new(),
            projects_registered: std::sync::atomic::AtomicU32::new(0),
            _backing: backing,
        };
        harness.reporting = harness
            .organisation("Federal Foreign Office", Some("XM-DAC-5-7"))
            .await;
        harness.own = harness.organisation("Implementing agency", None).await;
        harness.other = harness.organisation("Outside agency", None).await;
        harness.project = harness.project().await;
        harness
    }

    fn identity(&self, caller: Caller) -> Option<Identity> {
        let org = |id: &str| Uuid::parse_str(id).ok();
        match caller {
            Caller::Anonymous => None,
            // With an `org`: `me { organisation }` must not open the portfolio to it.
            Caller::Roleless => Some(test_identity("roleless", &[], org(&self.own))),
            Caller::Viewer => Some(test_identity("viewer", &[Role::Viewer], None)),
            Caller::Editor => Some(test_identity("editor", &[Role::Editor], None)),
            Caller::IntegratorOwn => Some(test_identity(
                "integrator-own",
                &[Role::Integrator],
                org(&self.own),
            )),
            Caller::IntegratorOther => Some(test_identity(
                "integrator-other",
                &[Role::Integrator],
                org(&self.other),
            )),
            Caller::Auditor => Some(test_identity("auditor", &[Role::Auditor], None)),
            Caller::Admin => Some(test_identity("admin", &[Role::Admin], None)),
        }
    }

    async fn execute_as(
        &self,
        identity: Option<Identity>,
        request_id: &str,
        query: &str,
        variables: Json,
    ) -> Response {
        let mut request = Request::new(query)
            .variables(Variables::from_json(variables))
            .data(RequestId::parse(request_id).unwrap_or_else(RequestId::generate));
        if let Some(identity) = identity {
            request = request.data(identity);
        }
        self.schema.execute(request).await
    }

    /// Runs a set-up step as an admin; it must succeed.
    async fn setup(&self, query: &str, variables: Json) -> Json {
        let admin = test_identity("setup", &[Role::Admin], None);
        let response = self
            .execute_as(Some(admin), "setup", query, variables)
            .await;
        assert!(
            response.errors.is_empty(),
            "set-up failed: {:?}",
            response.errors
        );
        response.data.into_json().unwrap_or_default()
    }

    async fn log_size(&self) -> u64 {
        self.state.commands.store().size().await.unwrap()
    }

    async fn organisation(&self, name: &str, org_ref: Option<&str>) -> String {
        let data = self
            .setup(
                &Mutation::RegisterOrganisation
                    .document()
                    .replace("auditIndex", "organisation { id }"),
                json!({ "input": { "ref": org_ref, "name": name, "type": "GOVERNMENT" } }),
            )
            .await;
        text(&data["registerOrganisation"]["organisation"]["id"])
    }

    fn project_input(&self) -> Json {
        let n = self
            .projects_registered
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        json!({
            "iatiIdentifier": format!("XM-DAC-5-7-ACCESS-{n}"),
            "reportingOrganisationId": self.reporting,
            "title": "Access matrix project",
            "description": "A project the access matrix changes.",
            "plannedStart": "2016-01-01",
            "plannedEnd": "2018-12-31",
            "recipientCountries": [{ "country": "ID", "percentage": "100" }],
            "sectors": [{ "code": "15113", "percentage": "100" }],
            "participatingOrganisations": [
                { "organisationId": self.reporting, "role": "FUNDING" },
                { "organisationId": self.own, "role": "IMPLEMENTING" },
            ],
        })
    }

    /// An IATI activity file with one new project, in which `own` (named, it has no ref)
    /// implements.
    fn activity_file(&self) -> String {
        let n = self
            .projects_registered
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!(
            "<iati-activities version=\"2.03\"><iati-activity>\
             <iati-identifier>XM-DAC-5-7-IMPORT-{n}</iati-identifier>\
             <reporting-org ref=\"XM-DAC-5-7\" type=\"10\">\
             <narrative>Federal Foreign Office</narrative></reporting-org>\
             <title><narrative>Imported project</narrative></title>\
             <description type=\"1\"><narrative>A project the matrix imports.</narrative>\
             </description>\
             <participating-org ref=\"XM-DAC-5-7\" role=\"1\" type=\"10\">\
             <narrative>Federal Foreign Office</narrative></participating-org>\
             <participating-org role=\"4\" type=\"90\">\
             <narrative>Implementing agency</narrative></participating-org>\
             <activity-status code=\"1\"/>\
             <activity-date iso-date=\"2016-01-01\" type=\"1\"/>\
             <activity-date iso-date=\"2018-12-31\" type=\"3\"/>\
             <recipient-country code=\"ID\" percentage=\"100\"/>\
             <sector vocabulary=\"1\" code=\"15113\" percentage=\"100\"/>\
             </iati-activity></iati-activities>"
        )
    }

    /// A fresh project (version 1) in which `own` participates.
    async fn project(&self) -> String {
        let data = self
            .setup(
                &Mutation::RegisterProject
                    .document()
                    .replace("auditIndex", "project { id }"),
                json!({ "input": self.project_input() }),
            )
            .await;
        text(&data["registerProject"]["project"]["id"])
    }

    /// A fresh PLANNED activity (version 1) under the shared project.
    async fn activity(&self) -> String {
        let data = self
            .setup(
                &Mutation::PlanActivity
                    .document()
                    .replace("auditIndex", "activity { id }"),
                json!({ "input": self.activity_input() }),
            )
            .await;
        text(&data["planActivity"]["activity"]["id"])
    }

    fn activity_input(&self) -> Json {
        json!({
            "projectId": self.project,
            "title": "Procurement integrity workshop",
            "description": "A workshop for procurement officers.",
            "kind": "TRAINING",
            "uncacChapters": ["PREVENTION"],
            "partners": [{ "organisationId": self.own, "role": "ORGANISER" }],
            "location": { "online": true },
            "plannedStart": "2017-03-01",
            "plannedEnd": "2017-03-02",
        })
    }

    /// The input with which `add` (an `Add*` mutation) adds to `project`, at version 1.
    fn addition(&self, add: Mutation, project: String) -> Json {
        match add {
            Mutation::AddDocument => json!({
                "projectId": project, "expectedVersion": 1,
                "url": "https://example.org/report.pdf", "title": "Report", "categoryCode": "A02",
                "format": "application/pdf",
            }),
            Mutation::AddRelatedProject => json!({
                "projectId": project, "expectedVersion": 1,
                "relatedProjectId": self.project, "type": "SIBLING",
            }),
            Mutation::AddOtherIdentifier => json!({
                "projectId": project, "expectedVersion": 1,
                "ref": "XM-DAC-5-7-OLD-1", "typeCode": "A3",
            }),
            other => panic!("{other:?} is not an Add mutation"),
        }
    }

    /// Runs `add` on a fresh project, and returns the input that removes what it added (at
    /// version 2): the addition's `keys`.
    async fn removal(&self, add: Mutation, keys: &[&str]) -> Json {
        let addition = self.addition(add, self.project().await);
        self.setup(&add.document(), json!({ "input": addition }))
            .await;
        let mut removal = json!({ "projectId": addition["projectId"], "expectedVersion": 2 });
        for key in keys {
            removal[*key] = addition[*key].clone();
        }
        removal
    }

    /// Sets up what `mutation` changes and returns its variables.
    async fn prepare(&self, mutation: Mutation) -> Json {
        let input = match mutation {
            Mutation::RegisterOrganisation => json!({ "name": "New agency", "type": "OTHER" }),
            Mutation::ReviseOrganisation => {
                let id = self.organisation("To revise", None).await;
                json!({ "id": id, "expectedVersion": 1, "name": "Revised" })
            }
            Mutation::DeactivateOrganisation => {
                let id = self.organisation("To deactivate", None).await;
                json!({ "id": id, "expectedVersion": 1 })
            }
            Mutation::ReactivateOrganisation => {
                let id = self.organisation("To reactivate", None).await;
                self.setup(
                    &Mutation::DeactivateOrganisation.document(),
                    json!({ "input": { "id": id, "expectedVersion": 1 } }),
                )
                .await;
                json!({ "id": id, "expectedVersion": 2 })
            }
            Mutation::RegisterProject => self.project_input(),
            Mutation::ImportIatiActivities => json!({ "xml": self.activity_file() }),
            Mutation::ReviseProject => {
                json!({ "id": self.project().await, "expectedVersion": 1, "title": "Revised" })
            }
            Mutation::ChangeProjectStatus => json!({
                "id": self.project().await, "expectedVersion": 1, "status": "IMPLEMENTATION",
                "actualStart": "2016-02-01",
            }),
            Mutation::AddParticipatingOrganisation => json!({
                "projectId": self.project().await, "expectedVersion": 1,
                "organisationId": self.other, "role": "EXTENDING",
            }),
            Mutation::RemoveParticipatingOrganisation => json!({
                "projectId": self.project().await, "expectedVersion": 1,
                "organisationId": self.reporting, "role": "FUNDING",
            }),
            Mutation::SetBudget => json!({
                "projectId": self.project().await, "expectedVersion": 1, "budgets": [{
                    "type": "ORIGINAL", "status": "COMMITTED", "periodStart": "2016-01-01",
                    "periodEnd": "2016-12-31", "valueDate": "2016-01-01",
                    "value": { "minorUnits": "125000000", "currency": "EUR" },
                }],
            }),
            Mutation::AddDocument | Mutation::AddRelatedProject | Mutation::AddOtherIdentifier => {
                self.addition(mutation, self.project().await)
            }
            Mutation::RemoveDocument => self.removal(Mutation::AddDocument, &["url"]).await,
            Mutation::RemoveRelatedProject => {
                self.removal(Mutation::AddRelatedProject, &["relatedProjectId", "type"])
                    .await
            }
            Mutation::RemoveOtherIdentifier => {
                self.removal(Mutation::AddOtherIdentifier, &["ref", "typeCode"])
                    .await
            }
            Mutation::SetPlannedDisbursements => json!({
                "projectId": self.project().await, "expectedVersion": 1,
                "plannedDisbursements": [{
                    "type": "ORIGINAL", "periodStart": "2016-01-01", "periodEnd": "2016-03-31",
                    "valueDate": "2016-01-01", "value": { "minorUnits": "100", "currency": "EUR" },
                }],
            }),
            Mutation::SetLocations => json!({
                "projectId": self.project().await, "expectedVersion": 1,
                "locations": [{ "name": "Jakarta" }],
            }),
            Mutation::SetContacts => json!({
                "projectId": self.project().await, "expectedVersion": 1,
                "contacts": [{ "typeCode": "1", "email": "info@example.org" }],
            }),
            Mutation::SetResults => json!({
                "projectId": self.project().await, "expectedVersion": 1,
                "results": [{ "type": "1", "title": "Auditors trained", "indicators": [{
                    "measure": "1", "title": "Auditors certified",
                    "baseline": { "year": 2016, "value": "0" },
                    "periods": [{ "periodStart": "2016-01-01", "periodEnd": "2016-12-31",
                                  "target": { "value": "40" }, "actual": { "value": "38" } }],
                }] }],
            }),
            Mutation::SetPolicyMarkers => json!({
                "projectId": self.project().await, "expectedVersion": 1,
                "policyMarkers": [{ "code": "3", "significance": "2" }],
            }),
            Mutation::SetProjectDefaults => json!({
                "projectId": self.project().await, "expectedVersion": 1,
                "currency": "EUR", "flowTypeCode": "10",
            }),
            Mutation::RecordTransaction => json!({
                "projectId": self.project().await, "expectedVersion": 1, "type": "DISBURSEMENT",
                "date": "2016-05-01", "valueDate": "2016-05-01",
                "value": { "minorUnits": "500000", "currency": "EUR" },
            }),
            Mutation::ReverseTransaction => {
                let project = self.project().await;
                let data = self
                    .setup(
                        &Mutation::RecordTransaction.document().replace(
                            "auditIndex",
                            "project { transactions { edges { node { id } } } }",
                        ),
                        json!({ "input": {
                            "projectId": project, "expectedVersion": 1, "type": "DISBURSEMENT",
                            "date": "2016-05-01", "valueDate": "2016-05-01",
                            "value": { "minorUnits": "500000", "currency": "EUR" },
                        } }),
                    )
                    .await;
                let transaction = text(
                    &data["recordTransaction"]["project"]["transactions"]["edges"][0]["node"]["id"],
                );
                json!({ "projectId": project, "expectedVersion": 2, "transactionId": transaction,
                        "reason": "Booked twice." })
            }
            Mutation::PlanActivity => self.activity_input(),
            Mutation::ReviseActivity => json!({
                "id": self.activity().await, "expectedVersion": 1, "title": "Corrected title",
                "location": { "country": "ID", "city": "Jakarta" },
            }),
            Mutation::RescheduleActivity => json!({
                "id": self.activity().await, "expectedVersion": 1,
                "plannedStart": "2017-04-01", "plannedEnd": "2017-04-02",
            }),
            Mutation::CompleteActivity => json!({
                "id": self.activity().await, "expectedVersion": 1,
                "actualStart": "2017-03-01", "actualEnd": "2017-03-02",
                "participants": { "total": 3, "female": 2, "male": 1, "undisclosed": 0 },
            }),
            Mutation::CancelActivity => json!({
                "id": self.activity().await, "expectedVersion": 1, "reason": "Postponed.",
            }),
        };
        json!({ "input": input })
    }
}

fn text(value: &Json) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

fn codes(response: &Response) -> Vec<Option<ErrorCode>> {
    response.errors.iter().map(ErrorCode::of).collect()
}

#[tokio::test]
async fn every_mutation_for_every_caller() {
    let h = Harness::new(true).await;
    let mut checked = 0;
    for mutation in MUTATIONS {
        for caller in CALLERS {
            let case = format!("{mutation:?} as {caller:?}");
            let variables = h.prepare(mutation).await;
            let identity = h.identity(caller);
            let request_id = format!("matrix-{checked}");
            let before = h.log_size().await;
            let response = h
                .execute_as(
                    identity.clone(),
                    &request_id,
                    &mutation.document(),
                    variables,
                )
                .await;
            let after = h.log_size().await;
            match expected(mutation.row(), caller) {
                Outcome::Allowed => {
                    assert!(response.errors.is_empty(), "{case}: {:?}", response.errors);
                    assert!(after > before, "{case}: nothing was appended");
                    let identity = identity.as_ref().unwrap_or_else(|| panic!("{case}"));
                    let events = h
                        .state
                        .commands
                        .store()
                        .read_range(before, after - before)
                        .await
                        .unwrap_or_else(|e| panic!("{case}: {e}"));
                    assert_eq!(events.len() as u64, after - before, "{case}");
                    for event in events {
                        assert_eq!(event.actor, actor_of(identity), "{case}");
                        assert_eq!(event.request_id.as_deref(), Some(&*request_id), "{case}");
                        // The actor is part of the Merkle leaf: the canonical envelope.
                        let leaf: Json = serde_json::from_slice(&event.canonical)
                            .unwrap_or_else(|e| panic!("{case}: {e}"));
                        assert_eq!(leaf["actor"]["sub"], json!(identity.sub), "{case}");
                    }
                }
                refused => {
                    let code = if refused == Outcome::Forbidden {
                        ErrorCode::Forbidden
                    } else {
                        ErrorCode::Unauthenticated
                    };
                    assert_eq!(codes(&response), [Some(code)], "{case}");
                    assert_eq!(after, before, "{case}: the log grew");
                    let (field, _) = mutation.field();
                    assert_eq!(
                        response.data.into_json().unwrap_or_default(),
                        Json::Null,
                        "{case}: {field} must not resolve"
                    );
                }
            }
            checked += 1;
        }
    }
}

#[tokio::test]
async fn an_integrator_cannot_reach_another_organisations_project_through_an_activity() {
    let h = Harness::new(true).await;
    // A project without `own`: its activities are out of the own integrator's reach, while the
    // other integrator, once its organisation joins, may change them.
    let mut input = h.project_input();
    input["participatingOrganisations"] =
        json!([{ "organisationId": h.other, "role": "IMPLEMENTING" }]);
    let data = h
        .setup(
            &Mutation::RegisterProject
                .document()
                .replace("auditIndex", "project { id }"),
            json!({ "input": input }),
        )
        .await;
    let project = text(&data["registerProject"]["project"]["id"]);
    let mut plan = h.activity_input();
    plan["projectId"] = json!(project);
    let data = h
        .setup(
            &Mutation::PlanActivity
                .document()
                .replace("auditIndex", "activity { id }"),
            json!({ "input": plan }),
        )
        .await;
    let activity = text(&data["planActivity"]["activity"]["id"]);
    let cancel = json!({ "input": { "id": activity, "expectedVersion": 1, "reason": "No." } });
    let before = h.log_size().await;
    let response = h
        .execute_as(
            h.identity(Caller::IntegratorOwn),
            "own",
            &Mutation::CancelActivity.document(),
            cancel.clone(),
        )
        .await;
    assert_eq!(codes(&response), [Some(ErrorCode::Forbidden)]);
    assert_eq!(h.log_size().await, before);
    let response = h
        .execute_as(
            h.identity(Caller::IntegratorOther),
            "other",
            &Mutation::CancelActivity.document(),
            cancel,
        )
        .await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);

    // Unknown projects and activities have no participants.
    for (mutation, input) in [
        (
            Mutation::RecordTransaction,
            json!({ "projectId": Uuid::now_v7().to_string(), "expectedVersion": 1,
                    "type": "DISBURSEMENT", "date": "2016-05-01", "valueDate": "2016-05-01",
                    "value": { "minorUnits": "1", "currency": "EUR" } }),
        ),
        (
            Mutation::CancelActivity,
            json!({ "id": Uuid::now_v7().to_string(), "expectedVersion": 1, "reason": "No." }),
        ),
    ] {
        let response = h
            .execute_as(
                h.identity(Caller::IntegratorOwn),
                "unknown",
                &mutation.document(),
                json!({ "input": input }),
            )
            .await;
        assert_eq!(
            codes(&response),
            [Some(ErrorCode::Forbidden)],
            "{mutation:?}"
        );
    }
}

/// Every path into portfolio data: each protected root field, the nested connections and
/// references below them, `node` for each kind, and `me { organisation }` — the one open root
/// field that leads into the portfolio. Each is (the root field, a JSON pointer to what it
/// reads, the query).
const QUERIES: [(&str, &str, &str); 14] = [
    ("node", "/node", "query($id: ID!) { node(id: $id) { id } }"),
    (
        "node",
        "/node",
        "query($act: ID!) { node(id: $act) { id } }",
    ),
    (
        "node",
        "/node",
        "query($org: ID!) { node(id: $org) { id } }",
    ),
    (
        "organisation",
        "/organisation/projects",
        "query($org: ID!) { organisation(id: $org) { id projects(first: 1) { totalCount } } }",
    ),
    (
        "organisations",
        "/organisations",
        "{ organisations(first: 1) { totalCount } }",
    ),
    (
        "project",
        "/project/activities",
        "query($id: ID!) { project(id: $id) { id participatingOrganisations { organisation { id } } \
         activities(first: 1) { totalCount } transactions(first: 1) { totalCount } } }",
    ),
    (
        "projects",
        "/projects",
        "{ projects(first: 1) { totalCount } }",
    ),
    (
        "projectByIatiIdentifier",
        "/projectByIatiIdentifier",
        "{ projectByIatiIdentifier(iatiIdentifier: \"XM-DAC-5-7-ACCESS-0\") { id } }",
    ),
    (
        "activity",
        "/activity/project",
        "query($act: ID!) { activity(id: $act) { id project { id } } }",
    ),
    (
        "activities",
        "/activities",
        "{ activities(first: 1) { totalCount } }",
    ),
    (
        "memberStates",
        "/memberStates",
        "{ memberStates { joinedOn } }",
    ),
    (
        "me",
        "/me/organisation",
        "{ me { sub organisation { id } } }",
    ),
    (
        "me",
        "/me/organisation/projects",
        "{ me { organisation { projects(first: 1) { totalCount } } } }",
    ),
    (
        "organisation",
        "/organisation",
        "query($org: ID!) { organisation(id: $org, asOf: 3) { id } }",
    ),
];

async fn check_reads(public_read: bool, expected: impl Fn(Caller) -> Outcome) {
    let h = Harness::new(public_read).await;
    let activity = h.activity().await;
    for caller in CALLERS {
        for (name, pointer, query) in QUERIES {
            let case = format!("{query} as {caller:?} (public read {public_read})");
            let mut variables = serde_json::Map::new();
            for (variable, value) in [("$id", &h.project), ("$org", &h.own), ("$act", &activity)] {
                if query.contains(variable) {
                    variables.insert(variable[1..].to_owned(), json!(value));
                }
            }
            let variables = Json::Object(variables);
            let response = h
                .execute_as(h.identity(caller), "read", query, variables)
                .await;
            let outcome = match (name, caller) {
                // `me` is open: anonymous callers get `null` and read nothing through it.
                ("me", Caller::Anonymous) => {
                    assert!(response.errors.is_empty(), "{case}: {:?}", response.errors);
                    let data = response.data.into_json().unwrap_or_default();
                    assert_eq!(data, json!({ "me": null }), "{case}");
                    continue;
                }
                // Callers whose token names no organisation have none to read through `me`.
                ("me", caller) if h.identity(caller).and_then(|i| i.org).is_none() => continue,
                _ => expected(caller),
            };
            match outcome {
                Outcome::Allowed => {
                    assert!(response.errors.is_empty(), "{case}: {:?}", response.errors);
                    let data = response.data.into_json().unwrap_or_default();
                    let read = data.pointer(pointer).unwrap_or(&Json::Null);
                    assert_ne!(*read, Json::Null, "{case}: {data}");
                }
                Outcome::Forbidden => {
                    assert_eq!(codes(&response), [Some(ErrorCode::Forbidden)], "{case}");
                }
                Outcome::Unauthenticated => {
                    assert_eq!(
                        codes(&response),
                        [Some(ErrorCode::Unauthenticated)],
                        "{case}"
                    );
                }
            }
        }
        // Reference data and the service's own fields stay open.
        let response = h
            .execute_as(
                h.identity(caller),
                "read",
                "{ apiVersion codelist(name: COUNTRY) { code } }",
                json!({}),
            )
            .await;
        assert!(
            response.errors.is_empty(),
            "{caller:?}: {:?}",
            response.errors
        );
    }
}

#[tokio::test]
async fn with_public_read_everyone_reads() {
    check_reads(true, |_| Outcome::Allowed).await;
}

#[tokio::test]
async fn without_public_read_reading_needs_a_role() {
    check_reads(false, |caller| match caller {
        Caller::Anonymous => Outcome::Unauthenticated,
        Caller::Roleless => Outcome::Forbidden,
        _ => Outcome::Allowed,
    })
    .await;
}

#[tokio::test]
async fn me_is_the_callers_token_and_null_when_anonymous() {
    let h = Harness::new(false).await;
    let query = "{ me { sub roles organisation { id } } }";
    let response = h.execute_as(None, "me", query, json!({})).await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    assert_eq!(
        response.data.into_json().unwrap_or_default(),
        json!({ "me": null })
    );
    let integrator = test_identity(
        "partner",
        &[Role::Integrator, Role::Viewer],
        Uuid::parse_str(&h.own).ok(),
    );
    let response = h.execute_as(Some(integrator), "me", query, json!({})).await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    assert_eq!(
        response.data.into_json().unwrap_or_default(),
        json!({ "me": { "sub": "partner", "roles": ["INTEGRATOR", "VIEWER"],
                        "organisation": { "id": h.own } } })
    );
    let unknown_org = test_identity("ghost", &[Role::Integrator], Some(Uuid::now_v7()));
    let response = h
        .execute_as(Some(unknown_org), "me", query, json!({}))
        .await;
    assert_eq!(
        response.data.into_json().unwrap_or_default(),
        json!({ "me": { "sub": "ghost", "roles": ["INTEGRATOR"], "organisation": null } })
    );
}

/// The fields of a root type, by introspection.
async fn root_fields(h: &Harness, name: &str) -> Vec<String> {
    let response = h
        .execute_as(
            None,
            "introspection",
            "query($name: String!) { __type(name: $name) { fields { name } } }",
            json!({ "name": name }),
        )
        .await;
    let data = response.data.into_json().unwrap_or_default();
    let mut fields: Vec<String> = data["__type"]["fields"]
        .as_array()
        .map(|fields| fields.iter().map(|f| text(&f["name"])).collect())
        .unwrap_or_default();
    fields.sort();
    fields
}

/// A field added to `Query` or `Mutation` must be placed in the access table (and so in this
/// file's lists) before this test passes again.
#[tokio::test]
async fn every_root_field_is_in_the_matrix() {
    let h = Harness::new(true).await;
    let public = ["apiVersion", "codelist", "me"];
    let queries: Vec<String> = root_fields(&h, "Query")
        .await
        .into_iter()
        // The audit log's fields are guarded by `access::ReadAudit` in `audit.rs`.
        .filter(|field| !field.starts_with("audit"))
        .filter(|field| !public.contains(&field.as_str()))
        .collect();
    let mut protected: Vec<String> = QUERIES
        .iter()
        .map(|(name, _, _)| (*name).to_owned())
        .filter(|name| !public.contains(&name.as_str()))
        .collect();
    protected.sort();
    protected.dedup();
    assert_eq!(queries, protected);

    let mut tested: Vec<String> = MUTATIONS
        .iter()
        .map(|mutation| mutation.field().0.to_owned())
        .collect();
    tested.sort();
    assert_eq!(root_fields(&h, "Mutation").await, tested);
}

/// The integrator rule holds at the moment of the append, not only when it was checked: while an
/// integrator changes many activities of a project at once, an admin removes its organisation
/// from the project. No event of the integrator may land after the removal; each of its requests
/// either landed before it or was refused (`FORBIDDEN` when checked after it, `CONFLICT` when
/// checked before it but appended after), and the refused ones appended nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_integrator_removed_from_a_project_mid_flight_appends_nothing_after_the_removal() {
    const ACTIVITIES: usize = 60;
    let h = std::sync::Arc::new(Harness::new(true).await);
    let mut activities = Vec::with_capacity(ACTIVITIES);
    for _ in 0..ACTIVITIES {
        activities.push(h.activity().await);
    }
    let start = h.log_size().await;

    let mut integrator_requests = Vec::new();
    let mut removal = None;
    for (n, activity) in activities.into_iter().enumerate() {
        if n == ACTIVITIES / 3 {
            let h = std::sync::Arc::clone(&h);
            removal = Some(tokio::spawn(async move {
                h.setup(
                    &Mutation::RemoveParticipatingOrganisation.document(),
                    json!({ "input": { "projectId": h.project, "expectedVersion": 1,
                                       "organisationId": h.own, "role": "IMPLEMENTING" } }),
                )
                .await["removeParticipatingOrganisation"]["auditIndex"]
                    .as_u64()
                    .unwrap_or(u64::MAX)
            }));
        }
        let h = std::sync::Arc::clone(&h);
        integrator_requests.push(tokio::spawn(async move {
            h.execute_as(
                h.identity(Caller::IntegratorOwn),
                &format!("reschedule-{n}"),
                &Mutation::RescheduleActivity.document(),
                json!({ "input": { "id": activity, "expectedVersion": 1,
                                   "plannedStart": "2017-04-01", "plannedEnd": "2017-04-02" } }),
            )
            .await
        }));
    }
    let removed_at = removal.unwrap().await.unwrap();
    let mut landed = Vec::new();
    for request in integrator_requests {
        let response = request.await.unwrap();
        match codes(&response).as_slice() {
            [] => landed.push(
                response.data.into_json().unwrap()["rescheduleActivity"]["auditIndex"]
                    .as_u64()
                    .unwrap(),
            ),
            [Some(ErrorCode::Forbidden | ErrorCode::Conflict)] => {}
            other => panic!("unexpected answer {other:?}: {:?}", response.errors),
        }
    }
    assert!(
        landed.iter().all(|index| *index < removed_at),
        "integrator events at {landed:?} after the removal at {removed_at}"
    );

    // The log agrees: every integrator event is before the removal, and is one that was answered.
    let events = h
        .state
        .commands
        .store()
        .read_range(start, 1_000)
        .await
        .unwrap();
    let mut by_integrator: Vec<u64> = events
        .iter()
        .filter(|event| event.actor.sub == "integrator-own")
        .map(|event| event.index)
        .collect();
    by_integrator.sort_unstable();
    landed.sort_unstable();
    assert_eq!(by_integrator, landed);
    assert_eq!(
        events.len(),
        landed.len() + 1,
        "the removal and the landed requests"
    );

    // Afterwards the integrator is simply refused.
    let response = h
        .execute_as(
            h.identity(Caller::IntegratorOwn),
            "after",
            &Mutation::CancelActivity.document(),
            json!({ "input": { "id": h.activity().await, "expectedVersion": 1, "reason": "No." } }),
        )
        .await;
    assert_eq!(codes(&response), [Some(ErrorCode::Forbidden)]);
}

/// The basis of an access decision travels with the append: a change decided while the project
/// was at one version is refused once the project moved on, and appends nothing.
#[tokio::test]
async fn a_change_decided_on_an_older_project_version_is_refused() {
    use amanah_domain::activity::{Activity as ActivityState, ActivityCommand, CancelActivity};
    use amanah_domain::aggregate::StreamKind;
    use amanah_domain::ports::{EventMetadata, StreamRead};
    use amanah_domain::service::CommandError;
    use amanah_domain::values::Description;

    let h = Harness::new(true).await;
    let activity = Uuid::parse_str(&h.activity().await).unwrap();
    let project = Uuid::parse_str(&h.project).unwrap();
    // The integrator's participation was checked at project version 1 …
    let basis = vec![StreamRead {
        stream: StreamKind::Project,
        stream_id: project,
        version: 1,
    }];
    // … then the project changed.
    h.setup(
        &Mutation::RemoveParticipatingOrganisation.document(),
        json!({ "input": { "projectId": h.project, "expectedVersion": 1,
                           "organisationId": h.own, "role": "IMPLEMENTING" } }),
    )
    .await;
    let before = h.log_size().await;
    let integrator = h.identity(Caller::IntegratorOwn).unwrap();
    let cancel = || {
        ActivityCommand::Cancel(CancelActivity {
            id: activity,
            reason: Description::parse("Decided on stale participants.").unwrap(),
        })
    };
    let metadata = || EventMetadata {
        actor: actor_of(&integrator),
        request_id: None,
        occurred_at: chrono::Utc::now(),
    };
    let refused = h
        .state
        .commands
        .execute::<ActivityState>(
            activity,
            Expected::Version(1),
            cancel(),
            metadata(),
            Given {
                reads: basis,
                ..Given::NOTHING
            },
        )
        .await;
    assert!(
        matches!(
            refused,
            Err(CommandError::Store(amanah_domain::ports::StoreError::StaleRead { read, current: 2 })) if read.stream_id == project
        ),
        "{refused:?}"
    );
    assert_eq!(h.log_size().await, before);
    assert!(
        crate::error::ApiError::from(refused.unwrap_err()).code() == ErrorCode::Conflict,
        "a stale basis is a CONFLICT"
    );
    // Decided on the current version, the same change goes through.
    let current = vec![StreamRead {
        stream: StreamKind::Project,
        stream_id: project,
        version: 2,
    }];
    h.state
        .commands
        .execute::<ActivityState>(
            activity,
            Expected::Version(1),
            cancel(),
            metadata(),
            Given {
                reads: current,
                ..Given::NOTHING
            },
        )
        .await
        .unwrap();
    assert_eq!(h.log_size().await, before + 1);
}

/// Subscriptions are a path into the portfolio too: `projectChanged` follows the read rule.
#[tokio::test]
async fn without_public_read_following_a_project_needs_a_role() {
    use futures::StreamExt as _;

    let h = Harness::new(false).await;
    for caller in CALLERS {
        let mut request = Request::new("subscription($id: ID!) { projectChanged(id: $id) { id } }")
            .variables(Variables::from_json(json!({ "id": h.project })));
        if let Some(identity) = h.identity(caller) {
            request = request.data(identity);
        }
        let first = h.schema.execute_stream(request, None).next().await.unwrap();
        let expected = match caller {
            Caller::Anonymous => Outcome::Unauthenticated,
            Caller::Roleless => Outcome::Forbidden,
            _ => Outcome::Allowed,
        };
        match expected {
            Outcome::Allowed => {
                assert!(first.errors.is_empty(), "{caller:?}: {:?}", first.errors);
                let data = first.data.into_json().unwrap();
                assert_eq!(data["projectChanged"]["id"], json!(h.project), "{caller:?}");
            }
            Outcome::Forbidden => {
                assert_eq!(codes(&first), [Some(ErrorCode::Forbidden)], "{caller:?}");
            }
            Outcome::Unauthenticated => {
                assert_eq!(
                    codes(&first),
                    [Some(ErrorCode::Unauthenticated)],
                    "{caller:?}"
                );
            }
        }
    }
}
