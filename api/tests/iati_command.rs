//! `amanah iati export --out DIR`, run as the binary on a data directory holding the demo
//! portfolio: it writes the files `GET /iati/…` serves, valid against the IATI 2.03 schemas, and
//! names what is wrong when the selection is.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on an unexpected error"
)]

use std::path::Path;
use std::process::{Command, Output};

use amanah_domain::service::CommandService;
use amanah_infra::testing::{IatiSchema, xmllint};
use amanah_infra::{SqlEventStore, StoreConfig};

fn amanah(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_amanah"))
        .args(args)
        .env_clear()
        .env("AMANAH_DATA_DIR", data_dir)
        .current_dir(data_dir)
        .output()
        .expect("amanah runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// A data directory whose database (the default `amanah.db`) holds the demo portfolio.
async fn demo_data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/amanah.db?mode=rwc", dir.path().display());
    let db = amanah_infra::store::database::connect(&url).await.unwrap();
    amanah_infra::store::database::migrate(&db).await.unwrap();
    let store = SqlEventStore::start(
        db.clone(),
        StoreConfig::default(),
        amanah_infra::read_model::SqlProjector,
    );
    amanah_api::demo::load(&CommandService::new(store))
        .await
        .unwrap();
    db.close().await.unwrap();
    dir
}

/// The demo's data directory after `amanah iati export --out <it>/iati`, which must succeed;
/// with the export's output.
async fn exported_demo() -> (tempfile::TempDir, std::path::PathBuf, Output) {
    let data = demo_data_dir().await;
    let out = data.path().join("iati");
    let output = amanah(
        data.path(),
        &["iati", "export", "--out", out.to_str().unwrap()],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    (data, out, output)
}

#[tokio::test]
async fn export_writes_both_files_valid_against_the_schemas() {
    let (data, out, output) = exported_demo().await;
    let activities = std::fs::read_to_string(out.join("activities.xml")).unwrap();
    let organisations = std::fs::read_to_string(out.join("organisations.xml")).unwrap();
    xmllint(IatiSchema::Activities, activities.as_bytes()).unwrap();
    xmllint(IatiSchema::Organisations, organisations.as_bytes()).unwrap();
    assert_eq!(activities.matches("<iati-activity ").count(), 5);
    assert!(text(&output.stdout).contains("activities.xml"));
    assert!(
        std::fs::read_dir(&out).unwrap().all(|entry| !entry
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".partial")),
        "no partial file is left behind"
    );

    let output = amanah(
        data.path(),
        &[
            "iati",
            "export",
            "--out",
            out.to_str().unwrap(),
            "--reporting-org",
            "DE-1",
        ],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let de = std::fs::read_to_string(out.join("activities.xml")).unwrap();
    assert_eq!(de.matches("<iati-activity ").count(), 2);
    xmllint(IatiSchema::Activities, de.as_bytes()).unwrap();

    let output = amanah(
        data.path(),
        &[
            "iati",
            "export",
            "--out",
            out.to_str().unwrap(),
            "--reporting-org",
            "XX-NOBODY",
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("XX-NOBODY"),
        "{}",
        text(&output.stderr)
    );
}

/// `amanah iati import FILE`: the demo's export into an empty data directory, the report on
/// stdout and as JSON lines, the exit codes (0 imported, 1 an activity refused, 2 the file
/// refused), a dry run that appends nothing, and a second import that appends nothing.
#[tokio::test]
async fn import_reports_each_activity_and_exits_with_what_happened() {
    let (_demo, out, _) = exported_demo().await;
    let file = out.join("activities.xml");
    let file = file.to_str().unwrap();

    let empty = tempfile::tempdir().unwrap();
    let dry = amanah(empty.path(), &["iati", "import", file, "--dry-run"]);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    let report = text(&dry.stdout);
    assert!(report.contains("dry run: 5 created"), "{report}");
    let nothing = amanah(
        empty.path(),
        &[
            "iati",
            "export",
            "--out",
            empty.path().join("x").to_str().unwrap(),
        ],
    );
    assert_eq!(
        nothing.status.code(),
        Some(2),
        "a dry run leaves the portfolio empty: {}",
        text(&nothing.stderr)
    );

    let json = empty.path().join("report.jsonl");
    let imported = amanah(
        empty.path(),
        &["iati", "import", file, "--json", json.to_str().unwrap()],
    );
    assert!(imported.status.success(), "{}", text(&imported.stderr));
    let report = text(&imported.stdout);
    assert!(
        report.contains("5 created, 0 updated, 0 unchanged, 0 refused"),
        "{report}"
    );
    assert!(
        report.contains("created   DE-1-DEMO-ANTI-CORRUPTION"),
        "{report}"
    );
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&json)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let summary = lines.last().unwrap();
    assert_eq!(summary["created"], 5);
    assert!(
        lines[..lines.len() - 1]
            .iter()
            .all(|line| line["outcome"] == "created" || line["outcome"] == "updated"),
        "{lines:?}"
    );

    let again = amanah(empty.path(), &["iati", "import", file]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(
        text(&again.stdout).contains("0 created, 0 updated, 5 unchanged, 0 refused; 0 events"),
        "{}",
        text(&again.stdout)
    );

    // An activity the domain refuses: exit 1, its reason on stdout.
    let exported = std::fs::read_to_string(out.join("activities.xml")).unwrap();
    let bad = exported.replacen(
        "<iati-identifier>DE-1-DEMO-ANTI-CORRUPTION</iati-identifier>",
        "<iati-identifier>DE-1-DEMO-OTHER</iati-identifier>",
        1,
    );
    let bad = bad.replacen("code=\"15113\"", "code=\"99999\"", 1);
    let bad_file = empty.path().join("bad.xml");
    std::fs::write(&bad_file, bad).unwrap();
    let refused = amanah(
        empty.path(),
        &["iati", "import", bad_file.to_str().unwrap()],
    );
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stdout));
    assert!(
        text(&refused.stdout).contains("99999"),
        "{}",
        text(&refused.stdout)
    );

    // A file the schema refuses: exit 2, the line named, nothing appended.
    let invalid = empty.path().join("invalid.xml");
    std::fs::write(
        &invalid,
        "<?xml version=\"1.0\"?>\n<iati-activities version=\"2.03\">\n<iati-activity>\n\
         <unknown/>\n</iati-activity>\n</iati-activities>\n",
    )
    .unwrap();
    let whole = amanah(empty.path(), &["iati", "import", invalid.to_str().unwrap()]);
    assert_eq!(whole.status.code(), Some(2));
    assert!(
        text(&whole.stderr).contains("line 4"),
        "{}",
        text(&whole.stderr)
    );
}
