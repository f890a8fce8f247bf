//! The append request of the `n`th event, shared by `build_log` and `append_bench` (included by
//! path beside [`super::common`]).

use amanah_domain::ports::AppendRequest;
use amanah_infra::testing::{event, organisation_append};

use super::common;

/// One single-event request: event `n` of the benchmark, as version `expected_version + 1` of
/// stream number `stream`. (The snapshot is an organisation's whatever the stream: the benchmarks
/// append the log alone, without a read model.)
pub fn request(stream: u64, expected_version: u64, n: u64) -> AppendRequest {
    let (event_type, data) = common::payload(stream, expected_version + 1, n);
    AppendRequest {
        stream: common::stream_kind(stream),
        ..organisation_append(
            common::uuid(2, stream),
            expected_version,
            vec![event(event_type, data)],
            common::actor(n),
            Some(common::uuid(5, n).to_string()),
        )
    }
}
