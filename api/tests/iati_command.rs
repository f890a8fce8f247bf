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

#[tokio::test]
async fn export_writes_both_files_valid_against_the_schemas() {
    let data = demo_data_dir().await;
    let out = data.path().join("iati");
    let output = amanah(
        data.path(),
        &["iati", "export", "--out", out.to_str().unwrap()],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
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
