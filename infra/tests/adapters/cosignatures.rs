//! The witnesses' cosignatures as the log keeps them (`witness.md` §3), on SQLite and
//! PostgreSQL: the lines are append-only, the size each witness holds moves, and the checkpoint
//! served is the newest whose cosignatures meet the policy's quorum, with each witness's newest
//! line in policy order.
#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

use std::sync::Arc;

use amanah_audit::cosignature::Cosigner;
use amanah_audit::note::{SigningKey, parse_note};
use amanah_audit::policy::{Policy, verify_cosigned};
use amanah_domain::ports::{Actor, AuditLog, EventStore};
use amanah_infra::audit::cosignatures::{Cosignatures, WitnessedCheckpoints};
use amanah_infra::audit::log::SqlAuditLog;
use amanah_infra::audit::tree_cache::TreeCache;
use amanah_infra::testing::{TestDatabase, event, organisation_append};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;
use uuid::Uuid;

amanah_infra::on_both_engines!(
    cosignatures_are_append_only_and_a_witness_size_moves,
    the_served_checkpoint_is_the_newest_that_meets_the_quorum,
);

const ORIGIN: &str = "amanah.test/audit";

fn witness(n: u8) -> Cosigner {
    Cosigner::from_seed(&format!("w{n}.example/witness"), &[n; 32]).unwrap()
}

async fn cosignatures_are_append_only_and_a_witness_size_moves(database: &TestDatabase) {
    let db = database.connection();
    let store = Cosignatures::new(db.clone());
    let vkey = witness(1).verifier().to_string();
    assert_eq!(store.last_size(&vkey).await.unwrap(), 0);
    store.set_last_size(&vkey, 7).await.unwrap();
    store.set_last_size(&vkey, 9).await.unwrap();
    assert_eq!(store.last_size(&vkey).await.unwrap(), 9);

    let lines = vec![
        (100, "— a line\n".to_owned()),
        (101, "— b line\n".to_owned()),
    ];
    store.record(9, &vkey, &lines).await.unwrap();
    // The same line again is kept once.
    store.record(9, &vkey, &lines[..1]).await.unwrap();
    let kept = store.at(9).await.unwrap();
    assert_eq!(
        kept.iter()
            .map(|c| (c.time, c.line.as_str()))
            .collect::<Vec<_>>(),
        [(100, "— a line\n"), (101, "— b line\n")]
    );
    assert!(store.at(8).await.unwrap().is_empty());

    for sql in [
        "UPDATE audit_cosignature SET line = 'forged'",
        "DELETE FROM audit_cosignature",
    ] {
        let error = db
            .execute_raw(Statement::from_string(db.get_database_backend(), sql))
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains("cosignatures are append-only"),
            "{sql}: {error}"
        );
    }
    assert_eq!(store.at(9).await.unwrap().len(), 2);
}

async fn the_served_checkpoint_is_the_newest_that_meets_the_quorum(database: &TestDatabase) {
    let key = Arc::new(SigningKey::from_seed(ORIGIN, &[3; 32]).unwrap());
    let store = database.signed_store(Arc::clone(&key));
    let id = Uuid::now_v7();
    // Forty batches: forty signed checkpoints, sizes 1 to 40.
    for version in 0..40 {
        let request = organisation_append(
            id,
            version,
            vec![event("OrganisationRevised", json!({ "v": version }))],
            Actor::system("system:test"),
            None,
        );
        store.append(request).await.unwrap();
    }
    let db = database.connection();
    let log: Arc<dyn AuditLog> =
        Arc::new(SqlAuditLog::new(db.clone(), Arc::new(TreeCache::new(0))));
    let witnesses = [witness(1), witness(2), witness(3)];
    let policy_text = |quorum: &str| {
        let mut text = format!("log {}\n", key.verifier_key());
        for (n, w) in witnesses.iter().enumerate() {
            text.push_str(&format!("witness w{} {}\n", n + 1, w.verifier()));
        }
        text.push_str(&format!("group sais 2 w1 w2 w3\n{quorum}\n"));
        Policy::parse(&text).unwrap()
    };
    let cosignatures = Cosignatures::new(db.clone());
    let served = WitnessedCheckpoints::new(
        Arc::new(policy_text("quorum sais")),
        cosignatures.clone(),
        Arc::clone(&log),
    );

    // Before any cosignature: the newest checkpoint, as the log signed it.
    let newest = log.signed_checkpoint(None).await.unwrap();
    assert_eq!(newest.size, 40);
    assert_eq!(served.checkpoint(None).await.unwrap(), newest);
    assert_eq!(served.newest_quorum().await.unwrap(), None);

    let cosign = |witness: &Cosigner, size: u64, time: u64| {
        let log = Arc::clone(&log);
        let witness = witness.clone();
        async move {
            let checkpoint = log.signed_checkpoint(Some(size)).await.unwrap();
            let text = parse_note(checkpoint.note.as_bytes())
                .unwrap()
                .text
                .to_owned();
            (time, witness.cosign(&text, time))
        }
    };
    let vkey = |n: usize| witnesses[n].verifier().to_string();
    // w1 cosigned every size; w2 and w3 only sizes 3 and 5: the quorum is met at 5 (and 3), and
    // finding it means reading past the first 32 cosigned sizes.
    for size in 1..=40 {
        let line = cosign(&witnesses[0], size, 1_000 + size).await;
        cosignatures.record(size, &vkey(0), &[line]).await.unwrap();
    }
    let older = cosign(&witnesses[0], 5, 900).await;
    cosignatures.record(5, &vkey(0), &[older]).await.unwrap();
    for size in [3, 5] {
        let line = cosign(&witnesses[1], size, 2_000 + size).await;
        cosignatures.record(size, &vkey(1), &[line]).await.unwrap();
    }
    let line = cosign(&witnesses[2], 5, 3_005).await;
    cosignatures.record(5, &vkey(2), &[line]).await.unwrap();

    // A request reads only the newest 32 cosigned sizes (40 to 9): none meets the quorum, and
    // none is known to, so the newest checkpoint is served. The pusher's refresh reads them all.
    assert_eq!(served.checkpoint(None).await.unwrap().size, 40);
    assert_eq!(served.refresh().await.unwrap(), Some(5));
    let quorum = served.checkpoint(None).await.unwrap();
    assert_eq!(quorum.size, 5);
    let at_five = log.signed_checkpoint(Some(5)).await.unwrap();
    let text = parse_note(at_five.note.as_bytes()).unwrap().text.to_owned();
    // The log's note, then one line per witness, its newest, in policy order.
    let expected = format!(
        "{}{}{}{}",
        at_five.note,
        witnesses[0].cosign(&text, 1_005),
        witnesses[1].cosign(&text, 2_005),
        witnesses[2].cosign(&text, 3_005)
    );
    assert_eq!(quorum.note, expected);
    let checked = verify_cosigned(quorum.note.as_bytes(), served.policy(), 4_000).unwrap();
    assert_eq!(checked.checkpoint.size, 5);
    assert_eq!(checked.witnesses.len(), 3);
    assert_eq!(served.newest_quorum().await.unwrap(), Some(quorum));

    // A newer size that meets the quorum is found by a request alone, within the newest 32.
    let line = cosign(&witnesses[2], 39, 3_039).await;
    cosignatures.record(39, &vkey(2), &[line]).await.unwrap();
    assert_eq!(served.checkpoint(None).await.unwrap().size, 39);
    // And what is known stays known: a clone (another request) with nothing newer serves 39.
    assert_eq!(
        served.clone().newest_quorum().await.unwrap().unwrap().size,
        39
    );
    assert_eq!(served.refresh().await.unwrap(), Some(39));

    // A size asked for: that checkpoint with what it has, here w1's line alone.
    let at_forty = served.checkpoint(Some(40)).await.unwrap();
    assert_eq!(at_forty.size, 40);
    assert_eq!(
        at_forty.note.lines().filter(|l| l.starts_with('—')).count(),
        2
    );
    assert!(verify_cosigned(at_forty.note.as_bytes(), served.policy(), 4_000).is_err());

    // Under `quorum none`, the newest checkpoint is served, with its lines.
    let none = WitnessedCheckpoints::new(
        Arc::new(policy_text("quorum none")),
        cosignatures.clone(),
        Arc::clone(&log),
    );
    assert_eq!(none.checkpoint(None).await.unwrap(), at_forty);
    assert_eq!(none.refresh().await.unwrap(), Some(40));
}
