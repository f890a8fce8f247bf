//! What the benchmark examples share: deterministic ids and event payloads shaped like the
//! domain's events (real event names, camelCase members, dates as `YYYY-MM-DD`, money as integer
//! minor units, no floats), so that the leaf bytes have a realistic size and structure.

use amanah_domain::aggregate::StreamKind;
use amanah_domain::ports::Actor;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

const COUNTRIES: [&str; 10] = ["ID", "MY", "PH", "SG", "TH", "VN", "KH", "LA", "MM", "BN"];

/// A UUIDv7-shaped value (version 7, RFC 9562 variant) that is a pure function of its inputs:
/// `kind` separates events, streams, organisations and requests.
pub fn uuid(kind: u64, n: u64) -> Uuid {
    Uuid::from_u64_pair(
        0x0190_0000_0000_7000 | (kind << 16) | ((n >> 48) & 0x0fff),
        0x8000_0000_0000_0000 | (n & 0x0000_ffff_ffff_ffff),
    )
}

/// The aggregate type of stream number `stream`: the three kinds in turn.
pub fn stream_kind(stream: u64) -> StreamKind {
    match stream % 3 {
        0 => StreamKind::Organisation,
        1 => StreamKind::Project,
        _ => StreamKind::Activity,
    }
}

/// The actor of the `n`th request: one of 97 editors of one of 13 organisations.
pub fn actor(n: u64) -> Actor {
    Actor {
        sub: format!("user-{}", n % 97),
        roles: vec!["editor".to_owned()],
        org: Some(uuid(3, n % 13)),
    }
}

fn date(days: u64) -> String {
    let offset = Duration::days(i64::try_from(20_000 + days % 2_000).unwrap_or(20_000));
    (DateTime::<Utc>::UNIX_EPOCH + offset)
        .format("%Y-%m-%d")
        .to_string()
}

/// The event type and payload of version `version` of stream number `stream` (`n` varies the
/// content): a creation event at version 1, then revisions, transactions or reschedulings.
pub fn payload(stream: u64, version: u64, n: u64) -> (&'static str, Value) {
    let country = COUNTRIES[(stream % 10) as usize];
    match (stream_kind(stream), version) {
        (StreamKind::Organisation, 1) => (
            "OrganisationRegistered",
            json!({
                "id": uuid(2, stream).to_string(),
                "ref": format!("XM-ASEAN-{stream:05}"),
                "name": format!("Supreme Audit Institution {stream}"),
                "acronym": format!("SAI{}", stream % 1000),
                "type": "10",
                "country": country,
                "website": format!("https://sai{stream}.example.org/"),
            }),
        ),
        (StreamKind::Organisation, _) => (
            "OrganisationRevised",
            json!({
                "ref": format!("XM-ASEAN-{stream:05}"),
                "name": format!("Supreme Audit Institution {stream}, revision {version}"),
                "acronym": format!("SAI{}", stream % 1000),
                "type": "10",
                "country": country,
                "website": format!("https://sai{stream}.example.org/"),
            }),
        ),
        (StreamKind::Project, 1) => (
            "ProjectRegistered",
            json!({
                "id": uuid(2, stream).to_string(),
                "iatiIdentifier": format!("XM-ASEAN-PRJ-{stream:05}"),
                "title": format!("Strengthening public sector audit capacity, phase {}", stream % 7 + 1),
                "description": "Technical assistance to the member states' supreme audit \
                                institutions on performance and compliance audits.",
                "status": "PIPELINE",
                "recipientCountries": [country],
                "plannedStart": date(stream),
                "plannedEnd": date(stream + 700),
            }),
        ),
        (StreamKind::Project, _) => (
            "TransactionRecorded",
            json!({
                "id": uuid(4, n).to_string(),
                "transactionType": "DISBURSEMENT",
                "date": date(n),
                "value": {"minorUnits": n * 1000 % 9_999_991 * 100, "currency": "USD"},
                "valueDate": date(n),
                "description": "Tranche for the regional workshop on performance audit guidelines.",
                "providerOrganisationId": uuid(2, stream / 3 * 3).to_string(),
                "receiverOrganisationId": uuid(2, stream / 3 * 3 + 3).to_string(),
                "reference": format!("TX-{n:09}"),
            }),
        ),
        (StreamKind::Activity, 1) => (
            "ActivityPlanned",
            json!({
                "id": uuid(2, stream).to_string(),
                "projectId": uuid(2, stream / 3 * 3 + 1).to_string(),
                "title": format!("Capacity development for performance audits, workstream {}", stream % 41),
                "description": "Regional workshop with the participating supreme audit institutions.",
                "kind": "WORKSHOP",
                "uncacChapters": ["PREVENTIVE_MEASURES"],
                "auditType": "PERFORMANCE",
                "partners": [],
                "location": {"country": country, "city": "Jakarta"},
                "plannedStart": date(stream),
                "plannedEnd": date(stream + 3),
            }),
        ),
        (StreamKind::Activity, _) => (
            "ActivityRescheduled",
            json!({
                "plannedStart": date(n),
                "plannedEnd": date(n + 3),
            }),
        ),
    }
}
