//! The append request of the `n`th event, shared by `build_log` and `append_bench` (included by
//! path beside [`super::common`]).

use amanah_domain::codelists::OrganisationType;
use amanah_domain::organisation::Organisation;
use amanah_domain::ports::{AppendRequest, EventMetadata, NewEvent, Snapshot};
use amanah_domain::values::Name;
use chrono::Utc;

use super::common;

/// One single-event request: event `n` of the benchmark, as version `expected_version + 1` of
/// stream number `stream`.
pub fn request(
    stream: u64,
    expected_version: u64,
    n: u64,
) -> Result<AppendRequest, Box<dyn std::error::Error>> {
    let (event_type, data) = common::payload(stream, expected_version + 1, n);
    let stream_id = common::uuid(2, stream);
    Ok(AppendRequest {
        stream: common::stream_kind(stream),
        stream_id,
        expected_version,
        reads: Vec::new(),
        events: vec![NewEvent {
            event_type: event_type.to_owned(),
            data,
        }],
        metadata: EventMetadata {
            actor: common::actor(n),
            request_id: Some(common::uuid(5, n).to_string()),
            occurred_at: Utc::now(),
        },
        // The log alone (NoProjection): the snapshot is not read.
        snapshot: Snapshot::Organisation(Box::new(Organisation {
            id: stream_id,
            org_ref: None,
            name: Name::parse("Benchmark organisation")?,
            acronym: None,
            organisation_type: OrganisationType::Government,
            country: None,
            website: None,
            deactivated: false,
            version: expected_version + 1,
        })),
    })
}
