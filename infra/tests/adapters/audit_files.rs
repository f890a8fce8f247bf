//! The audit log on disk: the signing key file, export, offline verification and `verify-db`,
//! including tampering behind the triggers' back.
#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

use std::sync::Arc;

use amanah_audit::export_verify::{Reason, VerificationError};
use amanah_audit::files::{CHECKPOINT_FILE, EVENTS_FILE, VKEY_FILE, VerifyError, verify_dir};
use amanah_audit::note::SigningKey;
use amanah_domain::ports::{Actor, AppendRequest, EventStore};
use amanah_infra::SqlEventStore;
use amanah_infra::audit::files::{
    ExportError, SigningKeyError, VerifyDbError, export, load_or_create_signing_key, verify_db,
};
use amanah_infra::testing::{TestDatabase, event, organisation_append};
use sea_orm::ConnectionTrait;
use serde_json::json;
use uuid::Uuid;

const ORIGIN: &str = "amanah.test/audit";

fn request(stream_id: Uuid, expected_version: u64) -> AppendRequest {
    organisation_append(
        stream_id,
        expected_version,
        vec![event("OrganisationRevised", json!({ "note": "ünïcode" }))],
        Actor::system("system:test"),
        None,
    )
}

async fn filled_store(database: &TestDatabase, key: &Arc<SigningKey>) -> SqlEventStore {
    let store = database.signed_store(Arc::clone(key));
    for _ in 0..5 {
        let id = Uuid::now_v7();
        for version in 0..4 {
            store.append(request(id, version)).await.unwrap();
        }
    }
    store
}

#[test]
fn the_signing_key_is_created_private_and_reloaded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys/audit-signing.key");
    let (created, was_created) = load_or_create_signing_key(&path, ORIGIN).unwrap();
    assert!(was_created);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (loaded, was_created) = load_or_create_signing_key(&path, ORIGIN).unwrap();
    assert!(!was_created);
    assert_eq!(
        loaded.verifier_key().to_string(),
        created.verifier_key().to_string()
    );
    let error = load_or_create_signing_key(&path, "other.example/log").unwrap_err();
    assert!(
        matches!(error, SigningKeyError::OtherOrigin { .. }),
        "{error}"
    );
    #[cfg(unix)]
    {
        use amanah_infra::audit::files::load_signing_key;
        use amanah_infra::private_file::PrivateFileError;
        use std::os::unix::fs::PermissionsExt as _;
        let set_mode = |mode| {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        set_mode(0o644);
        for error in [
            load_or_create_signing_key(&path, ORIGIN).unwrap_err(),
            load_signing_key(&path, ORIGIN).unwrap_err(),
        ] {
            assert!(
                matches!(
                    error,
                    SigningKeyError::File(PrivateFileError::Exposed { mode: 0o644, .. })
                ),
                "{error}"
            );
            assert!(
                error
                    .to_string()
                    .contains(&format!("chmod 600 {}", path.display())),
                "{error}"
            );
        }
        set_mode(0o600);
        assert_eq!(
            load_signing_key(&path, ORIGIN).unwrap().verifier_key(),
            created.verifier_key()
        );
    }
    std::fs::write(&path, "not a key\n").unwrap();
    let error = load_or_create_signing_key(&path, ORIGIN).unwrap_err();
    assert!(matches!(error, SigningKeyError::Invalid { .. }), "{error}");
}

#[test]
fn replicas_starting_together_all_get_the_one_signing_key() {
    // Each round: 16 threads race to load-or-create the key in an empty directory. A reader must
    // never see the file before the key is in it.
    for _ in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit-signing.key");
        let loaded: Vec<_> = amanah_infra::testing::all_at_once(16, || {
            load_or_create_signing_key(&path, ORIGIN).unwrap()
        });
        assert_eq!(loaded.iter().filter(|(_, created)| *created).count(), 1);
        for (key, _) in &loaded {
            assert_eq!(key.verifier_key(), loaded[0].0.verifier_key());
        }
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            ["audit-signing.key"],
            "no temporary file is left behind"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_verifies_offline_and_tampering_is_named() {
    let database = TestDatabase::sqlite().await;
    let key = Arc::new(SigningKey::from_seed(ORIGIN, &[3; 32]).unwrap());
    let store = filled_store(&database, &key).await;
    let dir = tempfile::tempdir().unwrap();
    let summary = export(&store, &key.verifier_key(), dir.path(), None, None)
        .await
        .unwrap();
    assert_eq!(summary.size, 20);
    let verified = verify_dir(dir.path(), None, None).unwrap();
    assert_eq!(verified.size, 20);

    // An auditor keeps this checkpoint; the log grows; the old one must be a prefix.
    let kept = dir.path().join("kept-checkpoint");
    std::fs::copy(dir.path().join(CHECKPOINT_FILE), &kept).unwrap();
    store.append(request(Uuid::now_v7(), 0)).await.unwrap();
    let later = tempfile::tempdir().unwrap();
    export(&store, &key.verifier_key(), later.path(), None, None)
        .await
        .unwrap();
    let verified = verify_dir(later.path(), None, Some(&kept)).unwrap();
    assert_eq!(verified.size, 21);
    // An export of an earlier signed size holds the events up to it, and verifies.
    let earlier = tempfile::tempdir().unwrap();
    let summary = export(&store, &key.verifier_key(), earlier.path(), Some(20), None)
        .await
        .unwrap();
    assert_eq!(summary.size, 20);
    assert_eq!(verify_dir(earlier.path(), None, None).unwrap().size, 20);
    let unsigned = export(&store, &key.verifier_key(), earlier.path(), Some(99), None).await;
    assert!(
        matches!(unsigned, Err(ExportError::NotSigned(99))),
        "{unsigned:?}"
    );

    // Another key's verifier refuses the checkpoint.
    let other = SigningKey::from_seed(ORIGIN, &[4; 32]).unwrap();
    let other_vkey = dir.path().join("other.vkey");
    std::fs::write(&other_vkey, format!("{}\n", other.verifier_key())).unwrap();
    let error = verify_dir(dir.path(), Some(&other_vkey), None).unwrap_err();
    assert!(error.is_verification_failure(), "{error}");

    // One byte changed in event 7.
    let events_path = dir.path().join(EVENTS_FILE);
    let original = std::fs::read(&events_path).unwrap();
    let text = String::from_utf8(original.clone()).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let tampered = lines[7].replace("ünïcode", "unicode");
    lines[7] = &tampered;
    std::fs::write(&events_path, format!("{}\n", lines.join("\n"))).unwrap();
    // The line is still a well-formed event, so the recomputed root is what gives it away.
    match verify_dir(dir.path(), None, None).unwrap_err() {
        VerifyError::Failed(failure) => {
            assert!(
                matches!(failure.reason, Reason::RootMismatch { .. }),
                "{failure}"
            );
        }
        other => panic!("{other}"),
    }
    // A line swapped for a non-canonical spelling of the same event is named by its index.
    let respaced = lines[7].replacen("\"v\":1", "\"v\": 1", 1);
    lines[7] = &respaced;
    std::fs::write(&events_path, format!("{}\n", lines.join("\n"))).unwrap();
    match verify_dir(dir.path(), None, None).unwrap_err() {
        VerifyError::Failed(failure) => assert_eq!(failure.index, Some(7), "{failure}"),
        other => panic!("{other}"),
    }
    // Truncated: the last line is gone.
    std::fs::write(
        &events_path,
        &original[..original.len() - 1 - text.lines().last().unwrap().len()],
    )
    .unwrap();
    let error = verify_dir(dir.path(), None, None).unwrap_err();
    assert!(error.is_verification_failure(), "{error}");
    database.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exports_own_key_must_be_the_trusted_one() {
    let database = TestDatabase::sqlite().await;
    let key = Arc::new(SigningKey::from_seed(ORIGIN, &[7; 32]).unwrap());
    let store = filled_store(&database, &key).await;
    let dir = tempfile::tempdir().unwrap();
    export(&store, &key.verifier_key(), dir.path(), None, None)
        .await
        .unwrap();
    database.cleanup().await;
    let trusted = dir.path().join("trusted.vkey");
    std::fs::write(&trusted, format!("{}\n", key.verifier_key())).unwrap();
    assert_eq!(
        verify_dir(dir.path(), Some(&trusted), None).unwrap().size,
        20
    );

    // Only log.vkey replaced: the checkpoint still verifies with the trusted key, but the export
    // names another key, which is a failure that says so.
    let other = SigningKey::from_seed(ORIGIN, &[8; 32]).unwrap();
    std::fs::write(
        dir.path().join(VKEY_FILE),
        format!("{}\n", other.verifier_key()),
    )
    .unwrap();
    let error = verify_dir(dir.path(), Some(&trusted), None).unwrap_err();
    assert!(matches!(error, VerifyError::KeyMismatch { .. }), "{error}");
    assert!(error.is_verification_failure(), "{error}");
    let message = error.to_string();
    assert!(
        message.contains(&other.verifier_key().to_string()),
        "{message}"
    );
    assert!(
        message.contains(&key.verifier_key().to_string()),
        "{message}"
    );

    std::fs::write(dir.path().join(VKEY_FILE), "garbage\n").unwrap();
    let error = verify_dir(dir.path(), Some(&trusted), None).unwrap_err();
    assert!(matches!(error, VerifyError::KeyMismatch { .. }), "{error}");

    // An export without log.vkey is verified with the trusted key alone.
    std::fs::remove_file(dir.path().join(VKEY_FILE)).unwrap();
    assert_eq!(
        verify_dir(dir.path(), Some(&trusted), None).unwrap().size,
        20
    );

    let missing = dir.path().join("missing");
    let error = verify_dir(&missing, None, None).unwrap_err();
    assert!(
        matches!(error, VerifyError::MissingDirectory { .. }),
        "{error}"
    );
    assert!(!error.is_verification_failure());
    assert!(!error.to_string().contains(VKEY_FILE), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_db_catches_an_event_edited_behind_the_triggers_back() {
    let database = TestDatabase::sqlite().await;
    let key = Arc::new(SigningKey::from_seed(ORIGIN, &[5; 32]).unwrap());
    let store = filled_store(&database, &key).await;
    let scratch = tempfile::tempdir().unwrap();
    let verified = verify_db(&store, &key.verifier_key(), scratch.path())
        .await
        .unwrap();
    assert_eq!(verified.size, 20);

    let db = database.connection();
    db.execute_unprepared("DROP TRIGGER events_reject_update")
        .await
        .unwrap();
    db.execute_unprepared(
        "UPDATE events SET canonical = CAST(REPLACE(CAST(canonical AS TEXT), 'system:test', \
         'system:evil') AS BLOB) WHERE idx = 11",
    )
    .await
    .unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let error = verify_db(&store, &key.verifier_key(), scratch.path())
        .await
        .unwrap_err();
    assert!(error.is_verification_failure(), "{error}");
    assert!(error.to_string().contains("root"), "{error}");
    database.cleanup().await;
}

/// Why `verify_db` finds the log of `store` (signed with `key`) not to verify.
async fn verification_failure(store: &SqlEventStore, key: &SigningKey) -> VerificationError {
    let scratch = tempfile::tempdir().unwrap();
    match verify_db(store, &key.verifier_key(), scratch.path())
        .await
        .unwrap_err()
    {
        VerifyDbError::Verify(failure) => failure,
        other => panic!("{other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_db_catches_deleted_and_reordered_rows() {
    let database = TestDatabase::sqlite().await;
    let key = Arc::new(SigningKey::from_seed(ORIGIN, &[6; 32]).unwrap());
    let store = filled_store(&database, &key).await;
    let db = database.connection();
    for trigger in ["events_reject_update", "events_reject_delete"] {
        db.execute_unprepared(&format!("DROP TRIGGER {trigger}"))
            .await
            .unwrap();
    }

    // Row 4 overwritten with the leaf bytes of row 9 (an event moved): order breaks at 4.
    db.execute_unprepared(
        "UPDATE events SET canonical = (SELECT canonical FROM events WHERE idx = 9) WHERE idx = 4",
    )
    .await
    .unwrap();
    let failure = verification_failure(&store, &key).await;
    assert_eq!(failure.index, Some(4), "{failure}");

    database.cleanup().await;

    // One row deleted: the log is one short and the gap is named.
    let database = TestDatabase::sqlite().await;
    let store = filled_store(&database, &key).await;
    let db = database.connection();
    db.execute_unprepared("DROP TRIGGER events_reject_delete")
        .await
        .unwrap();
    db.execute_unprepared("DELETE FROM events WHERE idx = 13")
        .await
        .unwrap();
    let failure = verification_failure(&store, &key).await;
    assert_eq!(failure.index, Some(13), "{failure}");
    // An export of that table is refused rather than written one short.
    let out = tempfile::tempdir().unwrap();
    match export(&store, &key.verifier_key(), out.path(), None, None).await {
        Err(ExportError::Incomplete {
            missing: 13,
            size: 20,
        }) => {}
        other => panic!("expected the export to name index 13 missing, got {other:?}"),
    }
    database.cleanup().await;
}
