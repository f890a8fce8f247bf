//! A small Prometheus registry for the HTTP server, rendered at `GET /metrics`.
//!
//! Two HTTP families: `amanah_http_requests_total` (a counter by method, route and status) and
//! `amanah_http_request_duration_seconds` (a histogram by method and route); and three gauges of
//! the in-memory copy of the audit tree (`amanah_audit_tree_cache_*`: nodes, lowest level,
//! checkpoints held), so that operators see what it costs.
//!
//! Every label has a bounded set of values, so no client can grow the registry (each series
//! costs memory, and a scrape renders them all while requests wait for the lock): routes are the
//! registered patterns (`/graphql`), never raw paths, and unmatched paths share `unmatched`;
//! methods are the nine of HTTP/1.1 and PATCH, any other (a client may send any token as a
//! method) is `OTHER`; statuses are three digits.
//!
//! One registry per [`crate::startup::Application`], not a global, so tests that run several
//! servers in one process count separately. Written by hand because two families do not justify a
//! dependency; if the families multiply, the `prometheus` crate is the next step.

use amanah_infra::audit::tree_cache::TreeCacheStats;
use amanah_infra::store::event_store::AppendStats;
use amanah_infra::store::statements::StatementCounts;

use crate::state::ApiState;

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    sync::{Mutex, PoisonError},
    time::Duration,
};

/// Upper bounds of the duration buckets, in seconds (Prometheus client defaults).
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug)]
struct Histogram {
    bounds: &'static [f64],
    /// Non-cumulative counts per bucket; the last slot is `+Inf`.
    buckets: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            buckets: vec![0; bounds.len() + 1],
            sum: 0.0,
            count: 0,
        }
    }

    fn observe(&mut self, value: f64) {
        let slot = self
            .bounds
            .iter()
            .position(|bound| value <= *bound)
            .unwrap_or(self.bounds.len());
        self.buckets[slot] += 1;
        self.sum += value;
        self.count += 1;
    }

    /// The histogram's lines for `name` with `labels` (`key="value",…`).
    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (bound, count) in self.bounds.iter().zip(self.buckets.iter()) {
            cumulative += count;
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

/// Upper bounds of the buckets of SQL statements per request.
const STATEMENT_BUCKETS: [f64; 9] = [0.0, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0];

#[derive(Debug, Default)]
struct Families {
    /// (method, route, status) → count
    requests: BTreeMap<(String, String, u16), u64>,
    /// (method, route) → durations
    durations: BTreeMap<(String, String), Histogram>,
    /// route → SQL statements per request (requests that finished within the deadline)
    statements: BTreeMap<String, Histogram>,
}

/// The HTTP metrics of one server.
#[derive(Debug, Default)]
pub struct HttpMetrics {
    families: Mutex<Families>,
}

/// The name of a standard method (the nine of HTTP/1.1 and PATCH); `None` for any other token a
/// client sent as its method.
#[must_use]
pub fn standard_method(method: &str) -> Option<&'static str> {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
    ];
    KNOWN.into_iter().find(|known| *known == method)
}

impl HttpMetrics {
    /// Records one finished request with the SQL statements it sent (`None`: abandoned at the
    /// deadline). `method` may be anything the client sent; `route` must be a registered pattern
    /// or `unmatched`.
    pub fn record(
        &self,
        method: &str,
        route: &str,
        status: u16,
        elapsed: Duration,
        statements: Option<u64>,
    ) {
        let method = standard_method(method).unwrap_or("OTHER");
        // A panic while holding the lock cannot leave the maps half-updated in a way that matters
        // for counters, so a poisoned lock is still used.
        let mut families = self.families.lock().unwrap_or_else(PoisonError::into_inner);
        *families
            .requests
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default() += 1;
        families
            .durations
            .entry((method.to_owned(), route.to_owned()))
            .or_insert_with(|| Histogram::new(&BUCKETS))
            .observe(elapsed.as_secs_f64());
        if let Some(statements) = statements {
            #[expect(
                clippy::cast_precision_loss,
                reason = "statement counts are far below 2^52"
            )]
            let statements = statements as f64;
            families
                .statements
                .entry(route.to_owned())
                .or_insert_with(|| Histogram::new(&STATEMENT_BUCKETS))
                .observe(statements);
        }
    }

    /// The registry in the Prometheus text exposition format (version 0.0.4).
    #[must_use]
    pub fn render(&self) -> String {
        let families = self.families.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = String::new();
        out.push_str(
            "# HELP amanah_http_requests_total HTTP requests answered, by method, route and status.\n\
             # TYPE amanah_http_requests_total counter\n",
        );
        for ((method, route, status), count) in &families.requests {
            let _ = writeln!(
                out,
                "amanah_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {count}",
                escape(method),
                escape(route)
            );
        }
        out.push_str(
            "# HELP amanah_http_request_duration_seconds Time to answer HTTP requests, by method and route.\n\
             # TYPE amanah_http_request_duration_seconds histogram\n",
        );
        for ((method, route), histogram) in &families.durations {
            let labels = format!("method=\"{}\",route=\"{}\"", escape(method), escape(route));
            histogram.render(&mut out, "amanah_http_request_duration_seconds", &labels);
        }
        out.push_str(
            "# HELP amanah_http_request_sql_statements SQL statements sent per request, by route.\n\
             # TYPE amanah_http_request_sql_statements histogram\n",
        );
        for (route, histogram) in &families.statements {
            let labels = format!("route=\"{}\"", escape(route));
            histogram.render(&mut out, "amanah_http_request_sql_statements", &labels);
        }
        out
    }
}

/// The gauges of the audit tree's in-memory copy.
#[must_use]
pub fn render_tree_cache(stats: TreeCacheStats) -> String {
    format!(
        "# HELP amanah_audit_tree_cache_nodes Merkle tree nodes held in memory (32 bytes each).\n\
         # TYPE amanah_audit_tree_cache_nodes gauge\n\
         amanah_audit_tree_cache_nodes {}\n\
         # HELP amanah_audit_tree_cache_floor Lowest tree level held in memory (0: the whole tree).\n\
         # TYPE amanah_audit_tree_cache_floor gauge\n\
         amanah_audit_tree_cache_floor {}\n\
         # HELP amanah_audit_tree_cache_checkpoints Signed checkpoints held in memory.\n\
         # TYPE amanah_audit_tree_cache_checkpoints gauge\n\
         amanah_audit_tree_cache_checkpoints {}\n",
        stats.nodes, stats.floor, stats.checkpoints
    )
}

/// The witnesses of the log (`docs/witness.md` §3), one series per witness of the policy, and
/// the checkpoint that meets the quorum. `deploy/alerts.yaml` alerts on them.
#[must_use]
pub fn render_witnesses(status: &crate::witnessing::WitnessStatus) -> String {
    use crate::witnessing::Failure;
    let reports = status.reports();
    let mut out = String::new();
    type Gauge = fn(&crate::witnessing::WitnessReport) -> u64;
    let gauges: [(&str, &str, Gauge); 4] = [
        (
            "amanah_witness_up",
            "1 when the last push to the witness got a cosignature.",
            |r| u64::from(r.up),
        ),
        (
            "amanah_witness_cosigned_size",
            "The largest tree size the witness cosigned for this process.",
            |r| r.cosigned_size,
        ),
        (
            "amanah_witness_cosigned_timestamp_seconds",
            "The time T of the newest cosignature this process got from the witness (POSIX \
             seconds; 0: never).",
            |r| r.cosigned_at,
        ),
        (
            "amanah_witness_lag_entries",
            "Entries of the newest checkpoint the witness has not cosigned, as of the last round.",
            |r| r.lag,
        ),
    ];
    for (name, help, value) in gauges {
        let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n");
        for report in &reports {
            let _ = writeln!(
                out,
                "{name}{{witness=\"{}\"}} {}",
                escape(&report.name),
                value(report)
            );
        }
    }
    let name = "amanah_witness_push_failures_total";
    let _ = write!(
        out,
        "# HELP {name} Pushes to the witness that got no cosignature, by reason: unreachable \
         (no answer, 429, 5xx), rejected (422: the witness refuses the log's consistency), \
         misconfigured (404, 403), unknown_checkpoint (it holds a checkpoint this log never \
         signed).\n# TYPE {name} counter\n"
    );
    for report in &reports {
        for (failure, count) in Failure::ALL.iter().zip(report.failures) {
            let _ = writeln!(
                out,
                "{name}{{witness=\"{}\",reason=\"{}\"}} {count}",
                escape(&report.name),
                failure.label()
            );
        }
    }
    let (quorum, newest) = status.quorum();
    let _ = write!(
        out,
        "# HELP amanah_audit_quorum_met 1 when some checkpoint's cosignatures meet the witness \
         policy's quorum.\n# TYPE amanah_audit_quorum_met gauge\namanah_audit_quorum_met {}\n\
         # HELP amanah_audit_quorum_lag_entries Entries signed since the newest checkpoint that \
         meets the quorum (all of them while none does).\n\
         # TYPE amanah_audit_quorum_lag_entries gauge\namanah_audit_quorum_lag_entries {}\n",
        u64::from(quorum.is_some()),
        newest.saturating_sub(quorum.unwrap_or(0))
    );
    out
}

/// The counters of the store's sequencer: its batches and what they wrote.
#[must_use]
pub fn render_appends(stats: AppendStats) -> String {
    let mut out = String::new();
    for (name, help, value) in [
        (
            "amanah_append_batches_total",
            "Append transactions the sequencer committed or tried (one per batch).",
            stats.batches,
        ),
        (
            "amanah_append_requests_total",
            "Append requests the sequencer handled, whatever their outcome.",
            stats.requests,
        ),
        (
            "amanah_append_committed_requests_total",
            "Append requests whose events were committed.",
            stats.appended_requests,
        ),
        (
            "amanah_append_events_total",
            "Events committed.",
            stats.events,
        ),
        (
            "amanah_append_failed_batches_total",
            "Append batches that failed as a whole.",
            stats.failed_batches,
        ),
        (
            "amanah_append_statements_total",
            "SQL statements the append batches sent (BEGIN, COMMIT and savepoints not counted).",
            stats.statements,
        ),
        (
            "amanah_append_batches_one_by_one_total",
            "Append batches written request by request after their set-based write failed.",
            stats.batches_one_by_one,
        ),
    ] {
        let _ = write!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n"
        );
    }
    out
}

/// The counters of SQL statements sent.
#[must_use]
pub fn render_statements(counts: StatementCounts) -> String {
    format!(
        "# HELP amanah_sql_statements_total SQL statements sent to the database.\n\
         # TYPE amanah_sql_statements_total counter\n\
         amanah_sql_statements_total {}\n\
         # HELP amanah_sql_statement_errors_total SQL statements that failed.\n\
         # TYPE amanah_sql_statement_errors_total counter\n\
         amanah_sql_statement_errors_total {}\n\
         # HELP amanah_sql_statement_seconds_total Time spent in SQL statements.\n\
         # TYPE amanah_sql_statement_seconds_total counter\n\
         amanah_sql_statement_seconds_total {}\n",
        counts.statements,
        counts.failed,
        Duration::from_micros(counts.micros).as_secs_f64()
    )
}

/// The process's resident memory, from `/proc/self/status` (Linux): the standard
/// `process_resident_memory_bytes`, and its two parts — the process's own memory (`RssAnon`) and
/// mapped files (`RssFile`: the SQLite database when memory-mapped, see the runbook).
#[must_use]
pub fn render_process(status: &str) -> String {
    let kilobytes = |field: &str| {
        status.lines().find_map(|line| {
            line.strip_prefix(field)?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse::<u64>()
                .ok()
        })
    };
    let mut out = String::new();
    for (field, name, help) in [
        (
            "VmRSS:",
            "process_resident_memory_bytes",
            "Resident memory size in bytes.",
        ),
        (
            "RssAnon:",
            "amanah_process_resident_anonymous_bytes",
            "Resident memory of the process's own (anonymous) pages.",
        ),
        (
            "RssFile:",
            "amanah_process_resident_file_bytes",
            "Resident memory of mapped files (the SQLite database when memory-mapped).",
        ),
    ] {
        if let Some(kb) = kilobytes(field) {
            let _ = write!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {}\n",
                kb * 1024
            );
        }
    }
    out
}

/// `GET /metrics`.
pub async fn render_metrics(
    metrics: actix_web::web::Data<HttpMetrics>,
    state: actix_web::web::Data<ApiState>,
    schema: actix_web::web::Data<crate::graphql::AmanahSchema>,
) -> actix_web::HttpResponse {
    let mut text = metrics.render();
    if let Some(plans) = schema.read_plans() {
        let _ = write!(
            text,
            "# HELP amanah_graphql_planned_total Queries answered by a read plan, without \
             async-graphql's executor.\n# TYPE amanah_graphql_planned_total counter\n\
             amanah_graphql_planned_total {}\n",
            plans.answered()
        );
        if let Some(cache) = plans.cache() {
            let (hits, misses) = cache.counts();
            let _ = write!(
                text,
                "# HELP amanah_graphql_response_cache_total Read-plan answers by whether they came \
                 from memory (hit: the same request at the same log size) or were read (miss).\n\
                 # TYPE amanah_graphql_response_cache_total counter\n\
                 amanah_graphql_response_cache_total{{result=\"hit\"}} {hits}\n\
                 amanah_graphql_response_cache_total{{result=\"miss\"}} {misses}\n"
            );
        }
    }
    text.push_str(&render_tree_cache(state.audit_tree.stats()));
    text.push_str(&render_statements(state.statements.read()));
    text.push_str(&render_appends(state.commands.store().stats()));
    if let Some(witnessing) = &state.witnessing {
        text.push_str(&render_witnesses(&witnessing.status));
    }
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        text.push_str(&render_process(&status));
    }
    actix_web::HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text)
}

/// Label values escape `\`, `"` and newlines.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_requests_by_method_route_and_status() {
        let metrics = HttpMetrics::default();
        metrics.record("POST", "/graphql", 200, Duration::from_millis(3), Some(2));
        metrics.record("POST", "/graphql", 200, Duration::from_millis(30), Some(4));
        metrics.record("POST", "/graphql", 400, Duration::from_millis(1), None);
        let text = metrics.render();
        assert!(text.contains(
            "amanah_http_requests_total{method=\"POST\",route=\"/graphql\",status=\"200\"} 2\n"
        ));
        assert!(text.contains(
            "amanah_http_requests_total{method=\"POST\",route=\"/graphql\",status=\"400\"} 1\n"
        ));
    }

    #[test]
    fn the_histogram_is_cumulative_and_ends_with_inf() {
        let metrics = HttpMetrics::default();
        metrics.record("GET", "/healthz", 200, Duration::from_millis(3), Some(0));
        metrics.record("GET", "/healthz", 200, Duration::from_millis(30), Some(0));
        metrics.record("GET", "/healthz", 200, Duration::from_secs(60), None);
        let text = metrics.render();
        let labels = "method=\"GET\",route=\"/healthz\"";
        assert!(text.contains(&format!(
            "amanah_http_request_duration_seconds_bucket{{{labels},le=\"0.005\"}} 1\n"
        )));
        assert!(text.contains(&format!(
            "amanah_http_request_duration_seconds_bucket{{{labels},le=\"0.05\"}} 2\n"
        )));
        assert!(text.contains(&format!(
            "amanah_http_request_duration_seconds_bucket{{{labels},le=\"10\"}} 2\n"
        )));
        assert!(text.contains(&format!(
            "amanah_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} 3\n"
        )));
        assert!(text.contains(&format!(
            "amanah_http_request_duration_seconds_count{{{labels}}} 3\n"
        )));
    }

    #[test]
    fn sql_statements_per_request_are_a_histogram_by_route() {
        let metrics = HttpMetrics::default();
        metrics.record("POST", "/graphql", 200, Duration::from_millis(3), Some(3));
        metrics.record("POST", "/graphql", 200, Duration::from_millis(3), Some(7));
        metrics.record("GET", "/graphql", 200, Duration::from_millis(3), Some(1));
        metrics.record("POST", "/graphql", 503, Duration::from_secs(30), None);
        let text = metrics.render();
        for expected in [
            "# TYPE amanah_http_request_sql_statements histogram\n",
            "amanah_http_request_sql_statements_bucket{route=\"/graphql\",le=\"3\"} 2\n",
            "amanah_http_request_sql_statements_bucket{route=\"/graphql\",le=\"10\"} 3\n",
            "amanah_http_request_sql_statements_sum{route=\"/graphql\"} 11\n",
            "amanah_http_request_sql_statements_count{route=\"/graphql\"} 3\n",
        ] {
            assert!(text.contains(expected), "{expected} missing from\n{text}");
        }
    }

    #[test]
    fn resident_memory_comes_from_proc_status() {
        let status =
            "Name:\tamanah\nVmRSS:\t   2048 kB\nRssAnon:\t  1024 kB\nRssFile:\t   1000 kB\n";
        let text = render_process(status);
        assert!(
            text.contains("\nprocess_resident_memory_bytes 2097152\n"),
            "{text}"
        );
        assert!(
            text.contains("\namanah_process_resident_anonymous_bytes 1048576\n"),
            "{text}"
        );
        assert!(
            text.contains("\namanah_process_resident_file_bytes 1024000\n"),
            "{text}"
        );
        assert_eq!(render_process("nothing"), "");
    }

    #[test]
    fn the_tree_cache_gauges_are_rendered() {
        let text = render_tree_cache(TreeCacheStats {
            floor: 2,
            nodes: 1234,
            checkpoints: 7,
        });
        for expected in [
            "# TYPE amanah_audit_tree_cache_nodes gauge\namanah_audit_tree_cache_nodes 1234\n",
            "\namanah_audit_tree_cache_floor 2\n",
            "\namanah_audit_tree_cache_checkpoints 7\n",
        ] {
            assert!(text.contains(expected), "{expected} missing from\n{text}");
        }
    }

    #[test]
    fn made_up_methods_share_one_label() {
        let metrics = HttpMetrics::default();
        for method in ["X".repeat(4096), "FOO".to_owned(), "get".to_owned()] {
            metrics.record(&method, "/graphql", 405, Duration::from_millis(1), Some(0));
        }
        metrics.record("PATCH", "/graphql", 405, Duration::from_millis(1), Some(0));
        let text = metrics.render();
        assert!(
            text.contains(
                "amanah_http_requests_total{method=\"OTHER\",route=\"/graphql\",status=\"405\"} 3\n"
            ),
            "{text}"
        );
        assert!(text.contains("method=\"PATCH\""), "{text}");
        assert!(!text.contains("FOO") && !text.contains("XXXX"), "{text}");
        assert_eq!(text.matches("amanah_http_requests_total{").count(), 2);
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
