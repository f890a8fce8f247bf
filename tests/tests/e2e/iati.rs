//! `GET /iati/activities.xml` and `GET /iati/organisations.xml`: the demo portfolio published as
//! IATI 2.03, valid against the official schemas (xmllint), selected by reporting organisation
//! and by log size, refused with a named field when the selection is wrong.

use amanah_domain::aggregate::StreamKind;
use amanah_infra::auth::Role;
use amanah_infra::testing::{IatiSchema, xmllint};
use reqwest::StatusCode;
use serde_json::Value;

use crate::test_app::TestApp;

/// What the IATI Standard's ruleset (`infra/iati/rulesets/standard.json`) finds wrong with `xml`,
/// as `tests/iati/ruleset_check.py` reports it: one JSON object per failed case, and whether a
/// case of severity `error` failed. Evaluated as of `today`.
fn ruleset_failures(xml: &str, today: &str) -> (Vec<Value>, bool) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), xml).unwrap();
    let output = std::process::Command::new("python3")
        .arg(root.join("iati/ruleset_check.py"))
        .arg(root.join("../infra/iati/rulesets/standard.json"))
        .arg(file.path())
        .args(["--today", today])
        .output()
        .expect("python3 runs (the IATI ruleset check needs it, with lxml)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "the ruleset check did not run (pip install lxml?): {stderr}"
    );
    let failures = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    (failures, output.status.code() == Some(1))
}

fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

/// `GET path`: the status, the content type and the body.
pub(crate) async fn fetch(app: &TestApp, path: &str) -> (StatusCode, String, String) {
    let response = app.get(path).send().await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

/// The file at `path`, which must be served and valid against `schema`.
pub(crate) async fn valid_file(app: &TestApp, path: &str, schema: IatiSchema) -> String {
    let (status, content_type, body) = fetch(app, path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    assert_eq!(content_type, "application/xml; charset=utf-8");
    if let Err(report) = xmllint(schema, body.as_bytes()) {
        panic!("{path} is not valid IATI 2.03:\n{report}\n{body}");
    }
    body
}

/// The `extensions.field` and code of a refused request.
async fn refused(app: &TestApp, path: &str) -> (StatusCode, String, Option<String>) {
    let (status, _, body) = fetch(app, path).await;
    let body: Value = serde_json::from_str(&body).unwrap();
    let error = &body["errors"][0];
    (
        status,
        error["extensions"]["code"].as_str().unwrap().to_owned(),
        error["extensions"]["field"].as_str().map(str::to_owned),
    )
}

fn identifiers(xml: &str) -> Vec<&str> {
    xml.split("<iati-identifier>")
        .skip(1)
        .filter_map(|rest| rest.split("</iati-identifier>").next())
        .collect()
}

async fn the_demo_portfolio_publishes_valid_iati_files(app: TestApp) {
    let (status, _, _) = fetch(&app, "/iati/activities.xml").await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "an empty portfolio has no file"
    );

    let demo = amanah_api::demo::load(&app.state.commands).await.unwrap();
    let activities = valid_file(&app, "/iati/activities.xml", IatiSchema::Activities).await;
    assert_eq!(identifiers(&activities).len(), demo.projects);
    assert_eq!(
        activities.matches("<amanah:activity ").count(),
        demo.activities,
        "every anti-corruption activity, in Amanah's namespace"
    );
    let mut sorted = identifiers(&activities);
    sorted.sort_unstable();
    assert_eq!(identifiers(&activities), sorted, "in identifier order");
    assert_eq!(
        activities.matches("last-updated-datetime=").count(),
        demo.projects,
        "each activity says when the log last changed it"
    );

    // ASEC Post 2015's defaults (`setProjectDefaults`), where the schema puts them.
    let asec = activities
        .split("<iati-activity ")
        .find(|activity| activity.contains("XM-DAC-5-7-DEMO-ASEC-POST-2015"))
        .unwrap();
    assert!(asec.contains("default-currency=\"EUR\""), "{asec}");
    for element in [
        "<collaboration-type code=\"1\"/>",
        "<default-flow-type code=\"10\"/>",
        "<default-finance-type code=\"110\"/>",
        "<default-aid-type code=\"C01\" vocabulary=\"1\"/>",
        "<default-tied-status code=\"5\"/>",
        "<policy-marker vocabulary=\"1\" code=\"3\" significance=\"2\"/>",
        "<policy-marker vocabulary=\"1\" code=\"1\" significance=\"1\"/>",
        "<contact-info type=\"2\">",
        "<email>asec-programme@example.org</email>",
        "<planned-disbursement type=\"1\">",
        "<administrative vocabulary=\"A4\" level=\"1\" code=\"ID-JK\"/>",
        "<pos>-6.237760 106.800270</pos>",
    ] {
        assert!(asec.contains(element), "{element} in {asec}");
    }

    let organisations =
        valid_file(&app, "/iati/organisations.xml", IatiSchema::Organisations).await;
    let mut reporting: Vec<&str> = activities
        .split("<reporting-org ref=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    reporting.sort_unstable();
    reporting.dedup();
    let mut published: Vec<&str> = organisations
        .split("<organisation-identifier>")
        .skip(1)
        .filter_map(|rest| rest.split("</organisation-identifier>").next())
        .collect();
    published.sort_unstable();
    assert_eq!(published, reporting, "exactly the reporting organisations");

    // The Standard's rules beyond the schema: nothing fails, not even a warning.
    for file in [&activities, &organisations] {
        let (failures, errors) = ruleset_failures(file, &today());
        assert_eq!(failures, Vec::<Value>::new());
        assert!(!errors);
    }

    // One reporting organisation's projects.
    let de = valid_file(
        &app,
        "/iati/activities.xml?reportingOrg=DE-1",
        IatiSchema::Activities,
    )
    .await;
    assert_eq!(
        identifiers(&de),
        ["DE-1-DEMO-ANTI-CORRUPTION", "DE-1-DEMO-ASEANSAI"]
    );
    assert!(!de.contains("<reporting-org ref=\"XM-DAC-5-7\""));
    assert_eq!(
        refused(&app, "/iati/activities.xml?reportingOrg=XX-NOBODY").await,
        (
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT".into(),
            Some("reportingOrg".into())
        )
    );

    // What the portfolio said when the log held the first project's registration.
    let size = app.log_size().await;
    let events = app
        .state
        .commands
        .store()
        .read_range(0, size)
        .await
        .unwrap();
    let first = events
        .iter()
        .find(|event| event.stream == StreamKind::Project)
        .unwrap();
    let path = format!("/iati/activities.xml?asOf={}", first.index + 1);
    let then = valid_file(&app, &path, IatiSchema::Activities).await;
    assert_eq!(identifiers(&then).len(), 1, "{then}");
    assert!(
        !then.contains("<amanah:activity "),
        "no activity was planned yet"
    );
    assert!(
        then.contains(&format!(
            "last-updated-datetime=\"{}\"",
            first.occurred_at.format("%Y-%m-%dT%H:%M:%SZ")
        )),
        "{then}"
    );
    let (status, _, _) = fetch(&app, &format!("/iati/activities.xml?asOf={}", first.index)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "before the first project");
    // A project's transactions as of a log size: those its events had recorded by then.
    let recorded = events
        .iter()
        .find(|event| event.event_type == "TransactionRecorded")
        .unwrap();
    for (size, expected) in [(recorded.index, 0), (recorded.index + 1, 1)] {
        let path = format!("/iati/activities.xml?asOf={size}");
        let then = valid_file(&app, &path, IatiSchema::Activities).await;
        assert_eq!(
            then.matches("<transaction>").count() + then.matches("<transaction ").count(),
            expected,
            "{then}"
        );
    }
    assert_eq!(
        refused(&app, &format!("/iati/activities.xml?asOf={}", size + 1)).await,
        (
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT".into(),
            Some("asOf".into())
        )
    );
    assert_eq!(
        refused(&app, "/iati/activities.xml?asOf=-1")
            .await
            .2
            .as_deref(),
        Some("asOf")
    );
    assert_eq!(
        refused(&app, "/iati/activities.xml?reporting=DE-1")
            .await
            .2
            .as_deref(),
        Some("query"),
        "an unknown parameter is refused, not ignored"
    );
    // Reading a file appends nothing.
    assert_eq!(app.log_size().await, size);
}

#[tokio::test]
async fn the_demo_portfolio_publishes_valid_iati_files_sqlite() {
    the_demo_portfolio_publishes_valid_iati_files(TestApp::spawn_sqlite().await).await;
}

amanah_infra::postgres_test! {
    #[tokio::test]
    async fn the_demo_portfolio_publishes_valid_iati_files_postgres() {
        the_demo_portfolio_publishes_valid_iati_files(TestApp::spawn_postgres().await).await;
    }
}

/// The files are portfolio data: without public read, a token with a role is needed.
#[tokio::test]
async fn the_files_need_what_reading_the_portfolio_needs() {
    let app = TestApp::spawn_sqlite_with(|config| config.public_read = false).await;
    amanah_api::demo::load(&app.state.commands).await.unwrap();
    for path in ["/iati/activities.xml", "/iati/organisations.xml"] {
        let (status, code, _) = refused(&app, path).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED")
        );
        let token = app.token("viewer", &[Role::Viewer], None);
        let response = app.get(path).bearer_auth(token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}

/// The ruleset check can fail: a file that breaks the Standard's rules is reported rule by rule.
#[test]
fn the_ruleset_check_reports_what_the_rules_forbid() {
    let activity = |identifier: &str, body: &str| {
        format!(
            "<iati-activity xml:lang=\"en\" last-updated-datetime=\"2030-01-01T00:00:00Z\">\
             <iati-identifier>{identifier}</iati-identifier>\
             <reporting-org ref=\"XM-DAC-5-7\" type=\"10\"><narrative>AA</narrative></reporting-org>\
             <title><narrative>T</narrative></title>\
             <participating-org role=\"1\" ref=\"XM-DAC-5-7\"/>\
             <activity-status code=\"2\"/>\
             <activity-date iso-date=\"2020-01-01\" type=\"1\"/>{body}</iati-activity>"
        )
    };
    let xml = format!(
        "<iati-activities version=\"2.03\">{}{}{}</iati-activities>",
        // No sector, no geography.
        activity("XM-DAC-5-7-A", ""),
        // Percentages that do not add up, a transaction dated after `today`.
        activity(
            "XM-DAC-5-7-B",
            "<recipient-country code=\"ID\" percentage=\"60\"/>\
             <recipient-country code=\"MY\" percentage=\"30\"/>\
             <sector vocabulary=\"1\" code=\"15113\" percentage=\"100\"/>\
             <transaction><transaction-type code=\"3\"/>\
             <transaction-date iso-date=\"2027-01-01\"/>\
             <value currency=\"EUR\" value-date=\"2020-01-01\">1</value></transaction>"
        ),
        // An identifier not under the reporting organisation's ref, given twice.
        activity(
            "OTHER-1",
            "<recipient-region code=\"789\" percentage=\"100\"/>\
                  <sector vocabulary=\"1\" code=\"15113\" percentage=\"100\"/>"
        ) + &activity(
            "OTHER-1",
            "<recipient-region code=\"789\" percentage=\"100\"/>\
                  <sector vocabulary=\"1\" code=\"15113\" percentage=\"100\"/>"
        ),
    );
    let (failures, errors) = ruleset_failures(&xml, "2026-12-07");
    assert!(errors);
    let mut found: Vec<(String, String)> = failures
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_owned(),
                f["context"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    found.sort();
    found.dedup();
    for expected in [
        ("6.2.2", "XM-DAC-5-7-A"),  // each activity has a sector
        ("3.7.1", "XM-DAC-5-7-A"),  // and a recipient country or region
        ("3.1.2", "XM-DAC-5-7-B"),  // country percentages add up to 100
        ("11.2.1", "XM-DAC-5-7-B"), // no transaction in the future
        ("11.1.1", "XM-DAC-5-7-B"), // nor a last-updated-datetime
        ("1.1.21", "OTHER-1"),      // the identifier starts with the reporting org's ref
        ("1.1.3", "OTHER-1"),       // and is unique
    ] {
        assert!(
            found.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} not in {found:?}"
        );
    }
}

/// A small deterministic generator for the random portfolios (xorshift64*).
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[usize::try_from(self.below(items.len() as u64)).unwrap()]
    }

    /// `parts` percentages with two places that add up to exactly 100.00.
    fn shares(&mut self, parts: u64) -> Vec<String> {
        let mut cuts: Vec<u64> = (1..parts).map(|_| 1 + self.below(9_999)).collect();
        cuts.sort_unstable();
        cuts.dedup();
        let mut bounds = vec![0];
        bounds.extend(cuts);
        bounds.push(10_000);
        bounds
            .windows(2)
            .map(|w| format!("{}.{:02}", (w[1] - w[0]) / 100, (w[1] - w[0]) % 100))
            .collect()
    }
}

/// A portfolio recorded through GraphQL by an editor: three organisations with refs, then
/// `least + below(spread)` random projects ([`random_project`]). Returns how many projects.
pub(crate) async fn random_portfolio(app: &TestApp, seed: u64, least: u64, spread: u64) -> u64 {
    let editor = app.token("editor", &[Role::Editor], None);
    let mut dice = Dice(seed);
    let mut orgs = Vec::new();
    for (name, reference) in [
        ("AA", "XM-DAC-5-7"),
        ("BMZ", "DE-1"),
        ("GIZ", "XM-DAC-5-52"),
    ] {
        let (id, _) = app
            .register_organisation(&editor, name, Some(reference))
            .await;
        orgs.push((id, reference.to_owned()));
    }
    let projects = least + dice.below(spread);
    for n in 0..projects {
        random_project(app, &editor, &mut dice, &orgs, n).await;
    }
    projects
}

/// A project recorded through GraphQL with random, valid parts; returns nothing, the app holds it.
async fn random_project(
    app: &TestApp,
    token: &str,
    dice: &mut Dice,
    orgs: &[(String, String)],
    n: u64,
) {
    let (reporting, reporting_ref) = &orgs[usize::try_from(dice.below(orgs.len() as u64)).unwrap()];
    let countries = ["ID", "MY", "TH", "PH", "VN", "SG", "KH", "LA", "MM", "BN"];
    let count = 1 + dice.below(4);
    let mut chosen: Vec<&str> = Vec::new();
    while (chosen.len() as u64) < count {
        let country = dice.pick(&countries);
        if !chosen.contains(&country) {
            chosen.push(country);
        }
    }
    let shares = dice.shares(chosen.len() as u64);
    let geography: Vec<Value> = chosen
        .iter()
        .zip(&shares)
        .map(|(country, share)| serde_json::json!({ "country": country, "percentage": share }))
        .collect();
    let (countries_input, regions_input) = if dice.below(4) == 0 {
        (
            serde_json::json!([]),
            serde_json::json!([{ "code": "789", "percentage": "100" }]),
        )
    } else {
        (Value::Array(geography), serde_json::json!([]))
    };
    let sectors = ["15110", "15113", "15130", "15150", "15152"];
    let sector_count = 1 + dice.below(2);
    let sector_shares = dice.shares(sector_count);
    let sector_rows: Vec<Value> = sector_shares
        .iter()
        .enumerate()
        .map(|(i, share)| serde_json::json!({ "code": sectors[i], "percentage": share }))
        .collect();
    let year = 2012 + dice.below(10);
    let register = app
        .graphql_as(
            token,
            "mutation($input: RegisterProjectInput!) { registerProject(input: $input) {
                project { id version } } }",
            serde_json::json!({ "input": {
                "iatiIdentifier": format!("{reporting_ref}-RANDOM-{n}"),
                "reportingOrganisationId": reporting,
                "title": format!("Random project {n} & <friends>"),
                "description": "Recorded through the API with random parts.",
                "plannedStart": format!("{year}-01-01"), "plannedEnd": format!("{}-12-31", year + 2),
                "participatingOrganisations": [
                    { "organisationId": reporting, "role": "FUNDING" },
                    { "organisationId": orgs[0].0, "role": "IMPLEMENTING" },
                ],
                "recipientCountries": countries_input, "recipientRegions": regions_input,
                "sectors": sector_rows,
            } }),
        )
        .await;
    register.assert_no_errors();
    let id = register.body["data"]["registerProject"]["project"]["id"].clone();
    let mut version = 1;
    let mut steps = vec![
        (
            "setBudget(input: $input)",
            serde_json::json!({ "budgets": [{ "type": "ORIGINAL", "status": "COMMITTED",
                "periodStart": format!("{year}-01-01"), "periodEnd": format!("{year}-12-31"),
                "valueDate": format!("{year}-01-01"),
                "value": { "minorUnits": format!("{}", 1 + dice.below(1_000_000_000)), "currency": "EUR" } }] }),
        ),
        (
            "recordTransaction(input: $input)",
            serde_json::json!({ "type": "DISBURSEMENT", "date": format!("{year}-03-01"),
                "valueDate": format!("{year}-03-01"),
                "value": { "minorUnits": format!("{}", 1 + dice.below(1_000_000)), "currency": "JPY" } }),
        ),
    ];
    if dice.below(2) == 0 {
        steps.push((
            "setProjectDefaults(input: $input)",
            serde_json::json!({ "currency": "EUR", "language": dice.pick(&["en", "id", "fr"]),
                "flowTypeCode": "10", "aidTypeCode": dice.pick(&["C01", "B03", "D02"]) }),
        ));
    }
    if dice.below(2) == 0 {
        steps.push((
            "setPolicyMarkers(input: $input)",
            serde_json::json!({ "policyMarkers": [{ "code": "3", "significance": dice.pick(&["0", "1", "2"]) }] }),
        ));
    }
    if dice.below(2) == 0 {
        steps.push((
            "setLocations(input: $input)",
            serde_json::json!({ "locations": [{ "name": "Jakarta",
                "point": { "latitude": "-6.2", "longitude": "106.8" },
                "administrative": { "vocabularyCode": "A4", "level": 1, "code": "ID-JK" } }] }),
        ));
    }
    if dice.below(2) == 0 {
        steps.push((
            "setContacts(input: $input)",
            serde_json::json!({ "contacts": [{ "typeCode": "1", "email": "info@example.org" }] }),
        ));
    }
    if dice.below(2) == 0 {
        steps.push((
            "setPlannedDisbursements(input: $input)",
            serde_json::json!({ "plannedDisbursements": [{ "type": "ORIGINAL",
                "providerOrganisationId": orgs[usize::try_from(dice.below(orgs.len() as u64)).unwrap()].0,
                "receiverOrganisationId": orgs[0].0,
                "periodStart": format!("{year}-01-01"), "periodEnd": format!("{year}-06-30"),
                "valueDate": format!("{year}-01-01"),
                "value": { "minorUnits": "100000", "currency": "EUR" } }] }),
        ));
    }
    if dice.below(2) == 0 {
        let qualitative = dice.below(3) == 0;
        let value = |v: &str| {
            if qualitative {
                serde_json::Value::Null
            } else {
                serde_json::json!(v)
            }
        };
        steps.push((
            "setResults(input: $input)",
            serde_json::json!({ "results": [{ "type": dice.pick(&["1", "2", "3"]),
                "title": "Stronger audit institutions", "indicators": [{
                "measure": if qualitative { "5" } else { dice.pick(&["1", "2", "3", "4"]) },
                "ascending": true, "title": "Auditors certified",
                "baseline": { "year": year, "value": value("0"), "comment": "Before & after" },
                "periods": [{ "periodStart": format!("{year}-01-01"),
                              "periodEnd": format!("{year}-12-31"),
                              "target": { "value": value("40.5") },
                              "actual": { "value": value("-3"), "comment": "<counted>" } }] }] }] }),
        ));
    }
    for (field, mut input) in steps {
        input["projectId"] = id.clone();
        input["expectedVersion"] = serde_json::json!(version);
        let name = field.split('(').next().unwrap();
        let input_type = format!("{}{}Input", name[..1].to_uppercase(), &name[1..]);
        let response = app
            .graphql_as(
                token,
                &format!(
                    "mutation($input: {input_type}!) {{ {field} {{ project {{ version }} }} }}"
                ),
                serde_json::json!({ "input": input }),
            )
            .await;
        response.assert_no_errors();
        version = response.body["data"][name]["project"]["version"]
            .as_u64()
            .unwrap();
    }
}

/// Any portfolio recorded through the API, not only the demo, publishes files that are valid
/// against the schema and pass every rule of the Standard's ruleset.
#[tokio::test]
async fn random_portfolios_recorded_through_the_api_pass_the_schema_and_the_ruleset() {
    let optional = [
        "<recipient-region ",
        "<recipient-country ",
        "<policy-marker ",
        "<location>",
        "<contact-info ",
        "<planned-disbursement ",
        "<result ",
        "default-currency=",
    ];
    let mut seen: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    for seed in [0x5eed_0001_u64, 0x5eed_0002, 0x5eed_0003] {
        let app = TestApp::spawn_sqlite().await;
        let projects = random_portfolio(&app, seed, 3, 4).await;
        let activities = valid_file(&app, "/iati/activities.xml", IatiSchema::Activities).await;
        assert_eq!(
            activities.matches("<iati-activity ").count() as u64,
            projects
        );
        seen.extend(
            optional
                .iter()
                .copied()
                .filter(|part| activities.contains(part)),
        );
        let organisations =
            valid_file(&app, "/iati/organisations.xml", IatiSchema::Organisations).await;
        for file in [&activities, &organisations] {
            let (failures, _) = ruleset_failures(file, &today());
            assert_eq!(failures, Vec::<Value>::new(), "seed {seed:#x}:\n{file}");
        }
    }
    assert_eq!(
        seen.len(),
        optional.len(),
        "every optional part appears in some portfolio: {seen:?}"
    );
}
