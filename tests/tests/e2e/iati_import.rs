//! `amanah iati import`: IATI 2.03 activity files into the portfolio through the ordinary
//! commands. The demo and random portfolios survive export → import → export unchanged; a file
//! imported twice appends nothing the second time; every file the schema's own tests call
//! invalid is refused whole, naming the line; hostile files (entities, external references,
//! depth) are refused before anything reads them; and each activity is all or nothing, with its
//! reasons in the report.

use std::path::{Path, PathBuf};

use amanah_api::iati::import::{ActivityReport, ImportError, Importer, Outcome, Summary};
use amanah_domain::ports::Actor;
use amanah_infra::auth::Role;
use amanah_infra::iati::read::ReadError;
use amanah_infra::testing::IatiSchema;

use crate::iati::{random_portfolio, valid_file};
use crate::test_app::TestApp;

/// Imports the file at `path` into `app` as the actor `test-import`.
async fn import_path(
    app: &TestApp,
    path: &Path,
    dry_run: bool,
) -> Result<(Summary, Vec<ActivityReport>), ImportError> {
    let mut importer = Importer::new(
        app.state.commands.clone(),
        app.state.read_model.clone(),
        Actor::system("test-import"),
        dry_run,
    );
    let mut reports = Vec::new();
    let summary = importer
        .import_file(path, |report| reports.push(report.clone()))
        .await?;
    Ok((summary, reports))
}

/// Imports `xml` into `app`.
async fn import(
    app: &TestApp,
    xml: &str,
    dry_run: bool,
) -> Result<(Summary, Vec<ActivityReport>), ImportError> {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), xml).unwrap();
    import_path(app, file.path(), dry_run).await
}

/// `xml` without the attributes Amanah sets itself when it writes a file: when the file was
/// generated, and when each project last changed in this instance's log.
fn comparable(xml: &str) -> String {
    let mut out = xml.to_owned();
    for attribute in [" generated-datetime=\"", " last-updated-datetime=\""] {
        while let Some(start) = out.find(attribute) {
            let value = start + attribute.len();
            let end = value + out[value..].find('"').unwrap();
            out.replace_range(start..=end, "");
        }
    }
    out
}

/// Exports `from`, imports the file into the empty `into` and exports again: the two files
/// must say the same, nothing of the first may be reported as not kept, and importing the
/// same file again must append nothing.
async fn round_trip(from: &TestApp, into: &TestApp) {
    let first = valid_file(from, "/iati/activities.xml", IatiSchema::Activities).await;
    let (summary, reports) = import(into, &first, false).await.unwrap();
    let projects = first.matches("<iati-activity ").count();
    assert_eq!(summary.created, projects, "{reports:#?}");
    assert_eq!(summary.refused, 0, "{reports:#?}");
    for report in &reports {
        assert_eq!(report.not_kept, Vec::new(), "{report:#?}");
        assert_eq!(report.problems, Vec::new(), "{report:#?}");
    }
    assert_eq!(summary.not_kept, Vec::new());
    assert_eq!(summary.unresolved_relations, Vec::<String>::new());
    assert_eq!(
        summary.events as u64,
        into.log_size().await,
        "every change went through the log"
    );

    let second = valid_file(into, "/iati/activities.xml", IatiSchema::Activities).await;
    assert_eq!(comparable(&first), comparable(&second));
    let first_orgs = valid_file(from, "/iati/organisations.xml", IatiSchema::Organisations).await;
    let second_orgs = valid_file(into, "/iati/organisations.xml", IatiSchema::Organisations).await;
    assert_eq!(comparable(&first_orgs), comparable(&second_orgs));

    let size = into.log_size().await;
    let (again, reports) = import(into, &first, false).await.unwrap();
    assert_eq!(again.unchanged, projects, "{reports:#?}");
    assert_eq!(again.events, 0);
    assert_eq!(
        into.log_size().await,
        size,
        "an unchanged file appends nothing"
    );
}

async fn the_demo_portfolio_survives_a_round_trip(from: TestApp, into: TestApp) {
    amanah_api::demo::load(&from.state.commands).await.unwrap();
    round_trip(&from, &into).await;

    // The changes are the importer's, in the audit log.
    let auditor = into.token("auditor", &[Role::Auditor], None);
    let trail = into
        .graphql_as(
            &auditor,
            "{ auditEvents(first: 3) { edges { node { actor { sub } } } } }",
            serde_json::json!({}),
        )
        .await;
    trail.assert_no_errors();
    let actors: Vec<&str> = trail.body["data"]["auditEvents"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["actor"]["sub"].as_str().unwrap())
        .collect();
    assert_eq!(actors, ["test-import"; 3]);
}

#[tokio::test]
async fn the_demo_portfolio_survives_a_round_trip_sqlite() {
    the_demo_portfolio_survives_a_round_trip(
        TestApp::spawn_sqlite().await,
        TestApp::spawn_sqlite().await,
    )
    .await;
}

amanah_infra::postgres_test! {
    #[tokio::test]
    async fn the_demo_portfolio_survives_a_round_trip_postgres() {
        the_demo_portfolio_survives_a_round_trip(
            TestApp::spawn_postgres().await,
            TestApp::spawn_postgres().await,
        )
        .await;
    }
}

/// Any portfolio recorded through the API survives the round trip, not only the demo.
#[tokio::test]
async fn random_portfolios_survive_a_round_trip() {
    for seed in [0x1e0a_0001_u64, 0x1e0a_0002] {
        let from = TestApp::spawn_sqlite().await;
        random_portfolio(&from, seed, 3, 3).await;
        round_trip(&from, &TestApp::spawn_sqlite().await).await;
    }
}

fn schema_tests(kind: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, files);
            } else if path.extension().is_some_and(|e| e == "xml") {
                files.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("iati/schema-tests")
        .join(kind);
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    files
}

/// Every file the schema's own tests call invalid is refused whole, with the schema's message
/// and the line it names, and nothing is appended.
#[tokio::test]
async fn every_file_the_schema_tests_call_invalid_is_refused_naming_the_line() {
    let app = TestApp::spawn_sqlite().await;
    let files = schema_tests("should-fail");
    assert!(
        files.len() > 100,
        "the vendored should-fail files are there"
    );
    for file in &files {
        match import_path(&app, file, false).await {
            Err(ImportError::Schema(messages)) => {
                assert!(
                    messages.iter().any(|message| message.line.is_some()),
                    "{}: {messages:?}",
                    file.display()
                );
                let printed = ImportError::Schema(messages).to_string();
                assert!(printed.contains("line "), "{printed}");
            }
            other => panic!("{}: {other:?}", file.display()),
        }
    }
    assert_eq!(app.log_size().await, 0);
}

/// Every file the schema's own tests call valid is read without failing: its activities are
/// imported, or refused one by one with their reasons (most of these files are fragments that
/// lack what a project needs, such as its planned dates).
#[tokio::test]
async fn every_file_the_schema_tests_call_valid_is_read() {
    let app = TestApp::spawn_sqlite().await;
    let files = schema_tests("should-pass");
    assert!(files.len() > 40);
    let mut outcomes = std::collections::BTreeMap::new();
    for file in &files {
        let (summary, reports) = import_path(&app, file, false)
            .await
            .unwrap_or_else(|error| panic!("{}: {error}", file.display()));
        for report in &reports {
            *outcomes.entry(report.outcome.as_str()).or_insert(0) += 1;
            if report.outcome == Outcome::Refused {
                assert!(!report.problems.is_empty(), "{report:#?}");
            }
        }
        let count = |outcome| reports.iter().filter(|r| r.outcome == outcome).count();
        assert_eq!(summary.created, count(Outcome::Created));
        assert_eq!(summary.refused, count(Outcome::Refused));
    }
    assert!(
        outcomes.get("refused").is_some_and(|n| *n > 0),
        "{outcomes:?}"
    );
}

const DOCTYPE_REFUSED: &str = "declares a document type";

/// Files built to attack an XML reader are refused before any tool reads them.
#[tokio::test]
async fn hostile_files_are_refused_and_nothing_outside_the_file_is_read() {
    let app = TestApp::spawn_sqlite().await;
    let laughs = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n\
        <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n\
        <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n\
        <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n]>\n\
        <iati-activities version=\"2.03\"><iati-activity><iati-identifier>&lol4;\
        </iati-identifier></iati-activity></iati-activities>\n";
    let error = import(&app, laughs, false).await.unwrap_err();
    assert!(
        matches!(error, ImportError::Read(ReadError::DocumentType)),
        "{error}"
    );
    assert!(error.to_string().contains(DOCTYPE_REFUSED));

    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), "TOP-SECRET-CONTENT").unwrap();
    let external = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY secret SYSTEM \"file://{}\">]>\n\
         <iati-activities version=\"2.03\"><iati-activity><iati-identifier>&secret;\
         </iati-identifier></iati-activity></iati-activities>\n",
        secret.path().display()
    );
    let error = import(&app, &external, false).await.unwrap_err();
    assert!(
        matches!(error, ImportError::Read(ReadError::DocumentType)),
        "{error}"
    );
    assert!(!error.to_string().contains("TOP-SECRET"));

    // Deeper than any XML reader should follow: the schema check refuses it, naming the line.
    let deep = format!(
        "<iati-activities version=\"2.03\">{}{}</iati-activities>",
        "<a>".repeat(5_000),
        "</a>".repeat(5_000)
    );
    let error = import(&app, &deep, false).await.unwrap_err();
    assert!(matches!(error, ImportError::Schema(_)), "{error}");

    // A 1 GiB file (sparse: it costs no disk) whose content turns into NUL bytes after the
    // third line: refused at its first bad byte, with the line, without reading the rest.
    let big = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        big.path(),
        "<?xml version=\"1.0\"?>\n<iati-activities version=\"2.03\">\n<iati-activity>\n",
    )
    .unwrap();
    big.as_file().set_len(1 << 30).unwrap();
    match import_path(&app, big.path(), false).await {
        Err(ImportError::Schema(messages)) => {
            assert_eq!(messages[0].line, Some(4), "{messages:?}");
            assert!(messages[0].message.contains("0x0"), "{messages:?}");
        }
        other => panic!("{other:?}"),
    }
    // Not well-formed: the parser's message and line, not the schema's.
    let error = import(
        &app,
        "<?xml version=\"1.0\"?>\n<iati-activities version=\"2.03\">\n<iati-activity>\n\
         <iati-identifier>X</iati-identifier>\n",
        false,
    )
    .await
    .unwrap_err();
    match &error {
        ImportError::Schema(messages) => {
            assert!(messages.iter().all(|m| m.line.is_some()), "{messages:?}");
        }
        other => panic!("{other:?}"),
    }

    // Valid for the schema (extensions may nest), too deep for the reader.
    let nested = format!(
        "<iati-activities version=\"2.03\" xmlns:x=\"urn:x\">\n{}\n</iati-activities>\n",
        activity_xml(
            "XM-DAC-5-7-DEEP",
            "XM-DAC-5-7",
            SECTOR,
            &format!("{}{}", "<x:deep>".repeat(100), "</x:deep>".repeat(100))
        )
    );
    let error = import(&app, &nested, false).await.unwrap_err();
    assert!(
        matches!(error, ImportError::Read(ReadError::TooDeep { .. })),
        "{error}"
    );

    // Well-formed XML that is not IATI, and an IATI 1.05 file.
    let error = import(
        &app,
        "<?xml version=\"1.0\"?>\n<catalogue><book/></catalogue>\n",
        false,
    )
    .await
    .unwrap_err();
    assert!(matches!(error, ImportError::Schema(_)), "{error}");
    let version_1 = "<?xml version=\"1.0\"?>\n<iati-activities version=\"1.05\">\
        <iati-activity><iati-identifier>XM-DAC-5-7-OLD</iati-identifier>\
        <reporting-org ref=\"XM-DAC-5-7\" type=\"10\">Old style</reporting-org>\
        <title>An old activity</title></iati-activity></iati-activities>\n";
    let error = import(&app, version_1, false).await.unwrap_err();
    assert!(
        matches!(error, ImportError::Schema(_) | ImportError::Version(_)),
        "{error}"
    );
    // A file that says it is IATI 1.x is refused even when it passes the 2.03 schema.
    let declared_1 = activities_file(&[activity_xml("XM-DAC-5-7-V1", "XM-DAC-5-7", SECTOR, "")])
        .replace("version=\"2.03\"", "version=\"1.05\"");
    let error = import(&app, &declared_1, false).await.unwrap_err();
    assert!(
        matches!(&error, ImportError::Version(version) if version == "1.05"),
        "{error}"
    );
    assert_eq!(app.log_size().await, 0, "nothing was appended");
}

const SECTOR: &str = "<sector vocabulary=\"1\" code=\"15113\" percentage=\"100\"/>";

/// One `iati-activity` that Amanah can hold, with `sectors` and `extra` (elements that come after
/// the sectors in the schema's order) spliced in.
fn activity_xml(identifier: &str, reporting: &str, sectors: &str, extra: &str) -> String {
    format!(
        "<iati-activity default-currency=\"EUR\" xml:lang=\"en\">\n\
         <iati-identifier>{identifier}</iati-identifier>\n\
         <reporting-org ref=\"{reporting}\" type=\"10\"><narrative>Org {reporting}</narrative>\
         </reporting-org>\n\
         <title><narrative>Title of {identifier}</narrative>\
         <narrative xml:lang=\"fr\">Titre</narrative></title>\n\
         <description type=\"1\"><narrative>What {identifier} does</narrative></description>\n\
         <description type=\"3\"><narrative>Target groups</narrative></description>\n\
         <participating-org ref=\"{reporting}\" role=\"1\" type=\"10\">\
         <narrative>Org {reporting}</narrative></participating-org>\n\
         <activity-status code=\"1\"/>\n\
         <activity-date iso-date=\"2025-01-01\" type=\"1\"/>\n\
         <activity-date iso-date=\"2026-12-31\" type=\"3\"/>\n\
         <recipient-country code=\"ID\" percentage=\"100\"/>\n\
         {sectors}\n{extra}\n\
         </iati-activity>"
    )
}

fn activities_file(activities: &[String]) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <iati-activities version=\"2.03\" generated-datetime=\"2026-01-01T00:00:00Z\" \
         xmlns:x=\"urn:x\">\n{}\n</iati-activities>\n",
        activities.join("\n")
    )
}

fn report<'a>(reports: &'a [ActivityReport], identifier: &str) -> Vec<&'a ActivityReport> {
    reports
        .iter()
        .filter(|report| report.identifier.as_deref() == Some(identifier))
        .collect()
}

/// Each activity is all or nothing: bad ones are refused with their reasons and append nothing,
/// good ones are imported; what Amanah does not keep is reported; a dry run decides the same
/// and appends nothing.
#[tokio::test]
async fn each_activity_is_all_or_nothing_with_its_reasons() {
    let app = TestApp::spawn_sqlite().await;
    // A project of another reporting organisation, imported first.
    let owned = activities_file(&[activity_xml("DE-1-OWNED", "DE-1", SECTOR, "")]);
    let (summary, _) = import(&app, &owned, false).await.unwrap();
    assert_eq!(summary.created, 1);

    let file = activities_file(&[
        activity_xml(
            "XM-DAC-5-7-GOOD",
            "XM-DAC-5-7",
            SECTOR,
            "<capital-spend percentage=\"10\"/>\n<x:note>kept elsewhere</x:note>",
        ),
        activity_xml(
            "XM-DAC-5-7-UNKNOWN-CODE",
            "XM-DAC-5-7",
            "<sector vocabulary=\"1\" code=\"99999\" percentage=\"100\"/>",
            "",
        ),
        activity_xml(
            "XM-DAC-5-7-WITHDRAWN-CODE",
            "XM-DAC-5-7",
            "<sector vocabulary=\"1\" code=\"15120\" percentage=\"100\"/>",
            "",
        ),
        activity_xml(
            "XM-DAC-5-7-PERCENTAGES",
            "XM-DAC-5-7",
            "<sector vocabulary=\"1\" code=\"15113\" percentage=\"50\"/>\n\
             <sector vocabulary=\"1\" code=\"15150\" percentage=\"30\"/>",
            "",
        ),
        activity_xml("XM-DAC-5-7-GOOD", "XM-DAC-5-7", SECTOR, ""),
        activity_xml("DE-1-OWNED", "XM-DAC-5-7", SECTOR, ""),
    ]);
    let before = app.log_size().await;
    let (dry, dry_reports) = import(&app, &file, true).await.unwrap();
    assert_eq!(app.log_size().await, before, "a dry run appends nothing");
    let (summary, reports) = import(&app, &file, false).await.unwrap();
    assert_eq!((summary.created, summary.refused), (1, 5), "{reports:#?}");
    assert_eq!(
        dry_reports
            .iter()
            .map(|r| (r.outcome, r.problems.clone()))
            .collect::<Vec<_>>(),
        reports
            .iter()
            .map(|r| (r.outcome, r.problems.clone()))
            .collect::<Vec<_>>(),
        "the dry run decides what the import does"
    );
    assert_eq!(dry.events, summary.events);
    assert_eq!(
        app.log_size().await - before,
        summary.events as u64,
        "the refused activities appended nothing"
    );

    let field = |identifier: &str| {
        let found = report(&reports, identifier);
        let refused = found
            .iter()
            .find(|report| report.outcome == Outcome::Refused)
            .unwrap_or_else(|| panic!("{identifier} refused: {found:#?}"));
        refused.problems[0].clone()
    };
    let unknown = field("XM-DAC-5-7-UNKNOWN-CODE");
    assert_eq!(
        unknown.field.as_deref(),
        Some("iati-activity/sector[1]/@code")
    );
    assert!(unknown.message.contains("99999"), "{unknown:?}");
    let withdrawn = field("XM-DAC-5-7-WITHDRAWN-CODE");
    assert_eq!(
        withdrawn.field.as_deref(),
        Some("iati-activity/sector[1]/@code")
    );
    assert!(withdrawn.message.contains("withdrawn"), "{withdrawn:?}");
    let percentages = field("XM-DAC-5-7-PERCENTAGES");
    assert_eq!(
        percentages.field.as_deref(),
        Some("sectors"),
        "{percentages:?}"
    );
    let duplicate = field("XM-DAC-5-7-GOOD");
    assert!(duplicate.message.contains("appears twice"), "{duplicate:?}");
    let foreign = field("DE-1-OWNED");
    assert_eq!(
        foreign.field.as_deref(),
        Some("iati-activity/reporting-org/@ref")
    );
    assert!(foreign.message.contains("DE-1"), "{foreign:?}");

    let good = report(&reports, "XM-DAC-5-7-GOOD")[0];
    assert_eq!(good.outcome, Outcome::Created);
    let not_kept: Vec<(&str, usize, usize)> = good
        .not_kept
        .iter()
        .map(|n| (n.path.as_str(), n.count, n.of))
        .collect();
    for expected in [
        ("iati-activity/capital-spend", 1, 1),
        ("iati-activity/x:note", 1, 1),
        ("iati-activity/description", 1, 2),
        ("iati-activity/title/narrative", 1, 2),
        ("iati-activity/title/narrative/@xml:lang", 1, 1),
    ] {
        assert!(not_kept.contains(&expected), "{expected:?} in {not_kept:?}");
    }
    assert!(
        !not_kept
            .iter()
            .any(|(path, _, _)| path.starts_with("iati-activity/capital-spend/")),
        "what is inside an element not kept at all is not listed again: {not_kept:?}"
    );
    assert_eq!(
        summary.not_kept,
        Vec::new(),
        "the file's own attributes and the namespace declaration are not data"
    );
}

const IMPORT: &str = "mutation($input: ImportIatiActivitiesInput!) { importIatiActivities(input: \
    $input) { dryRun created updated unchanged refused events auditIndex \
    activities { iatiIdentifier outcome events auditIndex problems { field message } } } }";

/// The `iati-activity` of `identifier` in `file`, as a file of its own.
fn only(file: &str, identifier: &str) -> String {
    let activity = file
        .split("<iati-activity ")
        .skip(1)
        .find(|part| part.contains(&format!("<iati-identifier>{identifier}<")))
        .unwrap();
    let activity = &activity[..activity.find("</iati-activity>").unwrap()];
    format!(
        "<?xml version=\"1.0\"?>\n<iati-activities version=\"2.03\" \
         xmlns:amanah=\"urn:x-amanah:iati-extension:1\">\n<iati-activity {activity}\
         </iati-activity>\n</iati-activities>\n"
    )
}

/// `importIatiActivities`: editors import anything; an integrator imports only projects its
/// organisation takes part in, and a file that touches another is FORBIDDEN whole; a file the
/// schema refuses is BAD_USER_INPUT on `input.xml`.
#[tokio::test]
async fn the_mutation_imports_for_editors_and_only_own_projects_for_integrators() {
    use amanah_domain::query::ReadModel as _;

    let app = TestApp::spawn_sqlite().await;
    amanah_api::demo::load(&app.state.commands).await.unwrap();
    let file = valid_file(&app, "/iati/activities.xml", IatiSchema::Activities).await;
    let editor = app.token("editor", &[Role::Editor], None);
    let size = app.log_size().await;

    let same = app
        .graphql_as(
            &editor,
            IMPORT,
            serde_json::json!({ "input": { "xml": file } }),
        )
        .await;
    same.assert_no_errors();
    let payload = &same.body["data"]["importIatiActivities"];
    assert_eq!(payload["unchanged"], 5, "{payload}");
    assert_eq!(payload["auditIndex"], serde_json::Value::Null);
    assert_eq!(app.log_size().await, size);

    let invalid = app
        .graphql_as(
            &editor,
            IMPORT,
            serde_json::json!({ "input": { "xml": "<iati-activities version=\"2.03\">\n<x/>\n</iati-activities>" } }),
        )
        .await;
    assert_eq!(invalid.codes(), ["BAD_USER_INPUT"]);
    assert_eq!(
        invalid.body["errors"][0]["extensions"]["field"],
        "input.xml"
    );
    assert!(
        invalid.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("line 2"),
        "{}",
        invalid.body
    );

    // GIZ takes part in CD AIPA II (and others), not in ASEANSAI.
    let giz = app
        .state
        .read_model
        .organisation_by_ref(&amanah_domain::values::OrgRef::parse("XM-DAC-5-52").unwrap())
        .await
        .unwrap()
        .unwrap();
    let integrator = app.token("giz-system", &[Role::Integrator], Some(giz.id));
    let whole = app
        .graphql_as(
            &integrator,
            IMPORT,
            serde_json::json!({ "input": { "xml": file } }),
        )
        .await;
    assert_eq!(whole.codes(), ["FORBIDDEN"], "{}", whole.body);
    let message = whole.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("DE-1-DEMO-ASEANSAI"), "{message}");
    assert!(!message.contains("XM-DAC-5-7-DEMO-CD-AIPA-II"), "{message}");
    assert_eq!(app.log_size().await, size, "nothing was imported");

    let own = only(&file, "XM-DAC-5-7-DEMO-CD-AIPA-II").replacen(
        "<title>\n      <narrative>",
        "<title>\n      <narrative>Renamed: ",
        1,
    );
    assert!(own.contains("Renamed: "), "{own}");
    let renamed = app
        .graphql_as(
            &integrator,
            IMPORT,
            serde_json::json!({ "input": { "xml": own } }),
        )
        .await;
    renamed.assert_no_errors();
    let payload = &renamed.body["data"]["importIatiActivities"];
    assert_eq!(payload["updated"], 1, "{payload}");
    assert_eq!(payload["events"], 1, "one revision");
    assert_eq!(
        payload["auditIndex"].as_u64(),
        Some(app.log_size().await - 1),
        "{payload}"
    );
}
