//! Traces leave the process: `amanah serve` with `OTEL_EXPORTER_OTLP_ENDPOINT` exports over
//! OTLP/HTTP (protobuf) to a receiver inside this test, which decodes the export requests with
//! `opentelemetry-proto` (the Collector cannot be installed here). One GraphQL request must make
//! one trace holding the HTTP span, the GraphQL spans (request, execute, a resolver) and the SQL
//! spans of its reads, the HTTP and GraphQL request spans carrying its request id.
#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

use std::collections::HashSet;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;

/// Not a speed target: how long the test waits for the exporter before it fails.
const HANG_GUARD: Duration = Duration::from_secs(30);

/// An OTLP/HTTP receiver: every span of every `POST /v1/traces` it was sent.
fn receiver() -> (String, Arc<Mutex<Vec<Span>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let spans = Arc::new(Mutex::new(Vec::new()));
    let received = Arc::clone(&spans);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let received = Arc::clone(&received);
            std::thread::spawn(move || {
                let mut writer = stream.try_clone().unwrap();
                let mut reader = BufReader::new(stream);
                // One request after another on a kept-alive connection.
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut length = 0;
                    loop {
                        let mut header = String::new();
                        reader.read_line(&mut header).unwrap();
                        let header = header.trim_end();
                        if header.is_empty() {
                            break;
                        }
                        if let Some((name, value)) = header.split_once(':')
                            && name.eq_ignore_ascii_case("content-length")
                        {
                            length = value.trim().parse().unwrap();
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    if line.starts_with("POST /v1/traces") {
                        let export = ExportTraceServiceRequest::decode(body.as_slice()).unwrap();
                        let mut spans = received.lock().unwrap();
                        for resource in export.resource_spans {
                            for scope in resource.scope_spans {
                                spans.extend(scope.spans);
                            }
                        }
                    }
                    writer
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                        .unwrap();
                }
            });
        }
    });
    (endpoint, spans)
}

fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    span.attributes
        .iter()
        .find(|attribute| attribute.key == key)
        .and_then(|attribute| attribute.value.as_ref()?.value.as_ref())
        .and_then(|value| match value {
            AnyValue::StringValue(text) => Some(text.as_str()),
            _ => None,
        })
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn one_graphql_request_is_one_trace_with_http_graphql_and_sql_spans() {
    let (endpoint, spans) = receiver();
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_amanah"))
            .args(["serve", "--demo"])
            .env_clear()
            .env("AMANAH_DATA_DIR", dir.path().join("data"))
            .env("AMANAH_LISTEN", format!("127.0.0.1:{port}"))
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
            .env("OTEL_BSP_SCHEDULE_DELAY", "100")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + HANG_GUARD;
    while !client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .is_ok_and(|response| response.status().is_success())
    {
        assert!(Instant::now() < deadline, "the server never became ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The document's first request runs through async-graphql, the second through a read plan
    // (which answers documents async-graphql has executed): both are one complete trace.
    for (request_id, executor) in [
        ("otlp-trace-test-1", "graphql.execute"),
        ("otlp-trace-test-2", "graphql.plan"),
    ] {
        let response = client
            .post(format!("{base}/graphql"))
            .header("x-request-id", request_id)
            .json(
                &serde_json::json!({ "query": "{ projects(first: 2) { edges { node { title \
                activities(first: 2) { edges { node { title } } } } } } }" }),
            )
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
        let trace = trace_of(&spans, request_id, executor, deadline).await;
        check_trace(&trace, request_id);
    }
}

/// The spans of the trace whose HTTP span carries `request_id`, once they hold every kind the
/// request must produce (the exporter sends them in batches, every 100 ms).
async fn trace_of(
    spans: &Mutex<Vec<Span>>,
    request_id: &str,
    executor: &str,
    deadline: Instant,
) -> Vec<Span> {
    let wanted = [
        "http_request",
        "graphql.request",
        executor,
        "graphql.resolve",
        "db.query",
    ];
    loop {
        let spans = spans.lock().unwrap().clone();
        let root = spans.iter().find(|span| {
            span.name == "http_request" && attribute(span, "request_id") == Some(request_id)
        });
        if let Some(root) = root {
            let trace: Vec<Span> = spans
                .iter()
                .filter(|span| span.trace_id == root.trace_id)
                .cloned()
                .collect();
            let names: HashSet<&str> = trace.iter().map(|span| span.name.as_str()).collect();
            if wanted.iter().all(|name| names.contains(name)) {
                return trace;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no complete trace for {request_id}; received: {:?}",
            spans.iter().map(|span| &span.name).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One trace: a single root (the HTTP span), every other span's parent in the trace, the request
/// id on the GraphQL span, the root field's resolver and the statements that read the page.
fn check_trace(trace: &[Span], request_id: &str) {
    let ids: HashSet<&[u8]> = trace.iter().map(|span| span.span_id.as_slice()).collect();
    let roots: Vec<&Span> = trace
        .iter()
        .filter(|span| span.parent_span_id.is_empty())
        .collect();
    assert_eq!(roots.len(), 1, "{trace:#?}");
    assert_eq!(roots[0].name, "http_request");
    assert!(
        trace
            .iter()
            .filter(|span| !span.parent_span_id.is_empty())
            .all(|span| ids.contains(span.parent_span_id.as_slice())),
        "every span's parent is in the trace"
    );
    let graphql = trace
        .iter()
        .find(|span| span.name == "graphql.request")
        .unwrap();
    assert_eq!(attribute(graphql, "request_id"), Some(request_id));
    let resolvers: Vec<&str> = trace
        .iter()
        .filter(|span| span.name == "graphql.resolve")
        .filter_map(|span| attribute(span, "graphql.field.path"))
        .collect();
    assert!(resolvers.contains(&"projects"), "{resolvers:?}");
    let statements: Vec<&str> = trace
        .iter()
        .filter(|span| span.name == "db.query")
        .filter_map(|span| attribute(span, "db.statement"))
        .collect();
    assert!(
        statements.iter().any(|sql| sql.contains("FROM projects")),
        "{statements:?}"
    );
    assert!(
        statements.iter().any(|sql| sql.contains("FROM activities")),
        "the batched activities read belongs to the request's trace: {statements:?}"
    );
}
