//! The auditors' GraphQL surface, in process against real SQLite with a signing key: events with
//! their leaf bytes and actors, checkpoints that open under the verifier key, proofs and receipts
//! that verify with the RFC 9162 verifier, refusals for sizes never signed, and the role guard.
#![expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

use std::sync::Arc;

use amanah_audit::checkpoint::Checkpoint;
use amanah_audit::merkle::{verify_consistency, verify_inclusion};
use amanah_audit::note::SigningKey;
use amanah_infra::auth::{Identity, Role};
use async_graphql::{Request, Variables};
use base64::Engine as _;
use serde_json::{Value as Json, json};

use super::portfolio_tests::TestState;
use super::{AmanahSchema, schema};
use crate::auth::test_identity;
use crate::request_id::RequestId;

const ORIGIN: &str = "amanah.test/audit";

fn b64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

fn hashes(value: &Json) -> Vec<Vec<u8>> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|h| b64(h.as_str().unwrap()))
        .collect()
}

struct Harness {
    schema: AmanahSchema,
    key: Arc<SigningKey>,
    _backing: TestState,
}

impl Harness {
    async fn new() -> Self {
        let key = Arc::new(SigningKey::from_seed(ORIGIN, &[9; 32]).unwrap());
        let backing = TestState::new(|_| {}, Some(Arc::clone(&key))).await;
        Self {
            schema: schema(backing.state.clone()),
            key,
            _backing: backing,
        }
    }

    async fn run(
        &self,
        identity: Option<Identity>,
        query: &str,
        variables: Json,
    ) -> async_graphql::Response {
        let mut request = Request::new(query)
            .variables(Variables::from_json(variables))
            .data(RequestId::parse("audit-test").unwrap_or_else(RequestId::generate));
        if let Some(identity) = identity {
            request = request.data(identity);
        }
        self.schema.execute(request).await
    }

    async fn ok(&self, identity: Identity, query: &str, variables: Json) -> Json {
        let response = self.run(Some(identity), query, variables).await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        response.data.into_json().unwrap()
    }
}

fn editor() -> Identity {
    test_identity("alice", &[Role::Editor], None)
}

fn auditor() -> Identity {
    test_identity("sai-auditor", &[Role::Auditor], None)
}

const REGISTER: &str = "mutation($name: String!) { registerOrganisation(input: {name: $name, type: GOVERNMENT}) { auditIndex organisation { id } receipt { index leafHash inclusionProof checkpoint { treeSize rootHash note } } } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auditors_read_events_checkpoints_and_proofs_that_verify() {
    let harness = Harness::new().await;
    let vkey = harness.key.verifier_key();
    let mut receipts = Vec::new();
    for name in [
        "Audit Board",
        "Court of Audit",
        "Comptroller",
        "Inspectorate",
        "Ombudsman",
    ] {
        let data = harness
            .ok(editor(), REGISTER, json!({ "name": name }))
            .await;
        receipts.push(data["registerOrganisation"].clone());
    }

    // Every receipt verifies on its own: leaf in the signed checkpoint it carries.
    for payload in &receipts {
        let receipt = &payload["receipt"];
        let index = receipt["index"].as_u64().unwrap();
        assert_eq!(index, payload["auditIndex"].as_u64().unwrap());
        let checkpoint =
            Checkpoint::open(receipt["checkpoint"]["note"].as_str().unwrap(), &vkey).unwrap();
        verify_inclusion(
            index,
            checkpoint.size,
            &b64(receipt["leafHash"].as_str().unwrap()),
            &hashes(&receipt["inclusionProof"]),
            &checkpoint.root,
        )
        .unwrap();
    }

    let events = harness
        .ok(
            auditor(),
            "query($f: AuditEventFilter) { auditEvents(first: 10, filter: $f) { totalCount edges { node { index type stream actor { sub roles } requestId canonical leafHash data } } } }",
            json!({ "f": { "actor": "alice", "indexFrom": 1, "indexTo": 3 } }),
        )
        .await;
    let connection = &events["auditEvents"];
    assert_eq!(connection["totalCount"], 3);
    let first = &connection["edges"][0]["node"];
    assert_eq!(first["index"], 1);
    assert_eq!(first["type"], "OrganisationRegistered");
    assert_eq!(first["actor"]["sub"], "alice");
    assert_eq!(first["actor"]["roles"], json!(["editor"]));
    assert_eq!(first["requestId"], "audit-test");
    assert_eq!(first["data"]["name"], "Court of Audit");
    let canonical = first["canonical"].as_str().unwrap();
    assert_eq!(
        b64(first["leafHash"].as_str().unwrap()),
        amanah_audit::merkle::leaf_hash(canonical.as_bytes()).to_vec()
    );

    let latest = harness
        .ok(
            auditor(),
            "{ auditCheckpoint { origin treeSize rootHash note } }",
            json!({}),
        )
        .await;
    let latest = &latest["auditCheckpoint"];
    assert_eq!(latest["origin"], ORIGIN);
    assert_eq!(latest["treeSize"], 5);
    let opened = Checkpoint::open(latest["note"].as_str().unwrap(), &vkey).unwrap();
    assert_eq!(
        opened.root.to_vec(),
        b64(latest["rootHash"].as_str().unwrap())
    );

    let proof = harness
        .ok(
            auditor(),
            "{ auditInclusionProof(index: 2, treeSize: 3) { leafIndex treeSize leafHash hashes checkpoint { note } } }",
            json!({}),
        )
        .await;
    let proof = &proof["auditInclusionProof"];
    let at_three = Checkpoint::open(proof["checkpoint"]["note"].as_str().unwrap(), &vkey).unwrap();
    assert_eq!(at_three.size, 3);
    verify_inclusion(
        2,
        3,
        &b64(proof["leafHash"].as_str().unwrap()),
        &hashes(&proof["hashes"]),
        &at_three.root,
    )
    .unwrap();

    let consistency = harness
        .ok(
            auditor(),
            "{ auditConsistencyProof(fromSize: 2) { fromSize toSize hashes fromCheckpoint { note } toCheckpoint { note } } }",
            json!({}),
        )
        .await;
    let consistency = &consistency["auditConsistencyProof"];
    let old = Checkpoint::open(
        consistency["fromCheckpoint"]["note"].as_str().unwrap(),
        &vkey,
    )
    .unwrap();
    let new =
        Checkpoint::open(consistency["toCheckpoint"]["note"].as_str().unwrap(), &vkey).unwrap();
    assert_eq!((old.size, new.size), (2, 5));
    verify_consistency(2, 5, &hashes(&consistency["hashes"]), &old.root, &new.root).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_proof_requests_are_refused_naming_the_argument_and_roles_are_enforced() {
    let harness = Harness::new().await;
    harness
        .ok(editor(), REGISTER, json!({ "name": "Audit Board" }))
        .await;
    harness
        .ok(editor(), REGISTER, json!({ "name": "Court of Audit" }))
        .await;

    for (query, field) in [
        (
            "{ auditInclusionProof(index: 0, treeSize: 7) { treeSize } }",
            "treeSize",
        ),
        ("{ auditInclusionProof(index: 5) { treeSize } }", "index"),
        ("{ auditInclusionProof(index: -1) { treeSize } }", "index"),
        ("{ auditCheckpoint(treeSize: -3) { treeSize } }", "treeSize"),
        (
            "{ auditConsistencyProof(fromSize: 0) { toSize } }",
            "fromSize",
        ),
        (
            "{ auditConsistencyProof(fromSize: 2, toSize: 1) { toSize } }",
            "fromSize",
        ),
        (
            "{ auditEvents(filter: {stream: \"budget\"}) { totalCount } }",
            "filter.stream",
        ),
    ] {
        let response = harness.run(Some(auditor()), query, json!({})).await;
        let error = response
            .errors
            .first()
            .unwrap_or_else(|| panic!("{query} must fail"));
        let extensions = serde_json::to_value(&error.extensions).unwrap();
        assert_eq!(extensions["code"], "BAD_USER_INPUT", "{query}: {error:?}");
        assert_eq!(extensions["field"], field, "{query}");
    }

    for (identity, code) in [
        (None, "UNAUTHENTICATED"),
        (Some(editor()), "FORBIDDEN"),
        (Some(test_identity("v", &[Role::Viewer], None)), "FORBIDDEN"),
    ] {
        for query in [
            "{ auditEvents { totalCount } }",
            "{ auditCheckpoint { treeSize } }",
            "{ auditInclusionProof(index: 0) { treeSize } }",
            "{ auditConsistencyProof(fromSize: 1) { toSize } }",
        ] {
            let response = harness.run(identity.clone(), query, json!({})).await;
            let error = response
                .errors
                .first()
                .unwrap_or_else(|| panic!("{query} must be refused"));
            let extensions = serde_json::to_value(&error.extensions).unwrap();
            assert_eq!(extensions["code"], code, "{query}");
        }
    }
    let admin = test_identity("root", &[Role::Admin], None);
    let data = harness
        .ok(admin, "{ auditEvents { totalCount } }", json!({}))
        .await;
    assert_eq!(data["auditEvents"]["totalCount"], 2);
}
