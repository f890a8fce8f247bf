//! The pusher against a scripted witness (`docs/witness.md` §3, §5): what it sends, and what it
//! does with each answer. The real witness is run against a real log in
//! `tests/witnessed_log.rs`; here each answer is chosen, so that the rare ones are met too: a
//! stale size (409, then a push from the size the witness holds), a witness ahead of the log or
//! holding a size the log never signed (an alert, no retry), a 200 without a valid line, 422, 404
//! and 503 with its back-off.
#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amanah_audit::cosignature::Cosigner;
use amanah_audit::note::{SigningKey, parse_note};
use amanah_audit::policy::Policy;
use amanah_audit::witness::AddCheckpoint;
use amanah_domain::ports::{Actor, AuditLog, EventStore};
use amanah_infra::audit::cosignatures::Cosignatures;
use amanah_infra::audit::log::SqlAuditLog;
use amanah_infra::audit::tree_cache::TreeCache;
use amanah_infra::testing::{TestDatabase, event, organisation_append};

use crate::witnessing::{Failure, Pusher, Witnessing};

type Answer = (u16, &'static str, String);

/// A witness that answers each request with `script(n, request)`, and keeps the requests.
struct Scripted {
    url: String,
    requests: Arc<Mutex<Vec<AddCheckpoint>>>,
}

impl Scripted {
    fn start(script: impl Fn(usize, &AddCheckpoint) -> Answer + Send + 'static) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let mut stream = stream.unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    if line == "\r\n" || line.is_empty() {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':')
                        && name.eq_ignore_ascii_case("content-length")
                    {
                        length = value.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let request = AddCheckpoint::parse(&body).unwrap();
                let n = {
                    let mut kept = kept.lock().unwrap();
                    kept.push(request.clone());
                    kept.len() - 1
                };
                let (status, content_type, text) = script(n, &request);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
            }
        });
        Self { url, requests }
    }

    fn requests(&self) -> Vec<AddCheckpoint> {
        self.requests.lock().unwrap().clone()
    }
}

fn witness_key() -> Cosigner {
    Cosigner::from_seed("w1.example/witness", &[9; 32]).unwrap()
}

/// A 200 with the witness's cosignature of the request's checkpoint.
fn cosigned(request: &AddCheckpoint) -> Answer {
    let text = parse_note(request.checkpoint.as_bytes())
        .unwrap()
        .text
        .to_owned();
    (
        200,
        "text/plain",
        witness_key().cosign(&text, 1_700_000_000),
    )
}

fn size(text: &str) -> Answer {
    (409, "text/x.tlog.size", format!("{text}\n"))
}

/// A log signed at sizes 2, 4 and 6 (three batches of two events), a policy with the scripted
/// witness alone as its quorum, and the pusher.
struct Setup {
    database: TestDatabase,
    pusher: Pusher,
    witnessing: Witnessing,
    cosignatures: Cosignatures,
    vkey: String,
}

async fn setup(witness: &Scripted) -> Setup {
    let database = TestDatabase::sqlite().await;
    let key = Arc::new(SigningKey::from_seed("amanah.test/audit", &[5; 32]).unwrap());
    let store = database.signed_store(Arc::clone(&key));
    let id = uuid::Uuid::now_v7();
    for batch in 0..3_u64 {
        let events = (0..2)
            .map(|i| event("OrganisationRevised", serde_json::json!({ "n": i })))
            .collect();
        store
            .append(organisation_append(
                id,
                batch * 2,
                events,
                Actor::system("system:test"),
                None,
            ))
            .await
            .unwrap();
    }
    let vkey = witness_key().verifier().to_string();
    let policy = Policy::parse(&format!(
        "log {}\nwitness w1 {vkey} {}\nquorum w1\n",
        key.verifier_key(),
        witness.url
    ))
    .unwrap();
    let db = database.connection().clone();
    let log: Arc<dyn AuditLog> =
        Arc::new(SqlAuditLog::new(db.clone(), Arc::new(TreeCache::new(0))));
    let cosignatures = Cosignatures::new(db);
    let witnessing = Witnessing::new(policy, cosignatures.clone(), Arc::clone(&log));
    let pusher = Pusher::new(
        witnessing.clone(),
        cosignatures.clone(),
        log,
        Duration::from_secs(3600),
    )
    .unwrap();
    Setup {
        database,
        pusher,
        witnessing,
        cosignatures,
        vkey,
    }
}

fn failures(setup: &Setup, failure: Failure) -> u64 {
    setup.witnessing.status.reports()[0].failures[failure as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_size_is_corrected_by_the_witness_and_pushed_again_from_there() {
    // The log believes the witness holds 2; it holds 4.
    let witness = Scripted::start(|n, request| match n {
        0 => size("4"),
        _ => cosigned(request),
    });
    let setup = setup(&witness).await;
    setup
        .cosignatures
        .set_last_size(&setup.vkey, 2)
        .await
        .unwrap();
    setup.pusher.round().await;

    let requests = witness.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].old, 2);
    assert_eq!(requests[1].old, 4);
    // The second carries the RFC 9162 proof from 4 to 6 (one hash: the subtree of leaves 4–5).
    assert_eq!(requests[1].proof.len(), 1);
    assert!(requests[1].checkpoint.contains("\n6\n"));
    assert_eq!(setup.cosignatures.last_size(&setup.vkey).await.unwrap(), 6);
    assert_eq!(setup.cosignatures.at(6).await.unwrap().len(), 1);
    let report = &setup.witnessing.status.reports()[0];
    assert!(report.up);
    assert_eq!(
        (report.cosigned_size, report.cosigned_at),
        (6, 1_700_000_000)
    );
    assert_eq!(setup.witnessing.status.quorum(), (Some(6), 6));
    // The served checkpoint carries the line.
    let served = setup.witnessing.checkpoints.checkpoint(None).await.unwrap();
    assert_eq!(served.size, 6);
    assert!(served.note.ends_with(&cosigned(&requests[1]).2));

    // The log has not grown: the next round sends nothing (the next renewal is in 10 minutes).
    setup.pusher.round().await;
    assert_eq!(witness.requests().len(), 2);
    setup.database.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_witness_ahead_of_the_log_or_on_an_unsigned_size_raises_an_alert_and_is_not_retried() {
    for held in ["7", "3"] {
        let witness = Scripted::start(move |_, _| size(held));
        let setup = setup(&witness).await;
        setup.pusher.round().await;
        assert_eq!(witness.requests().len(), 1, "no retry from {held}");
        assert_eq!(failures(&setup, Failure::UnknownCheckpoint), 1, "{held}");
        assert_eq!(setup.cosignatures.last_size(&setup.vkey).await.unwrap(), 0);
        assert!(!setup.witnessing.status.reports()[0].up);
        assert_eq!(setup.witnessing.status.quorum(), (None, 6));
        setup.database.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_counted_by_reason_and_keep_nothing() {
    let cases: [(Answer, Failure); 5] = [
        (
            (422, "text/plain", "inconsistent\n".into()),
            Failure::Rejected,
        ),
        ((409, "text/plain", "conflict\n".into()), Failure::Rejected),
        (
            (200, "text/plain", "— w1.example/witness AAAA\n".into()),
            Failure::Rejected,
        ),
        (
            (404, "text/plain", "unknown log\n".into()),
            Failure::Misconfigured,
        ),
        ((503, "text/plain", "busy\n".into()), Failure::Unreachable),
    ];
    for (answer, failure) in cases {
        let shown = format!("{answer:?}");
        let witness = Scripted::start(move |_, _| answer.clone());
        let setup = setup(&witness).await;
        setup.pusher.round().await;
        assert_eq!(failures(&setup, failure), 1, "{shown}");
        assert!(
            setup.cosignatures.at(6).await.unwrap().is_empty(),
            "{shown}"
        );
        assert_eq!(setup.cosignatures.last_size(&setup.vkey).await.unwrap(), 0);
        // Backing off: the next round, at once, does not push.
        setup.pusher.round().await;
        assert_eq!(witness.requests().len(), 1, "{shown}");
        setup.database.cleanup().await;
    }
}
