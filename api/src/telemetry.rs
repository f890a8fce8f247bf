//! Logs and traces.
//!
//! [`get_subscriber`] composes the `tracing` subscriber from its parts, with the writer injected
//! (stdout in production; `std::io::sink` in tests unless `TEST_LOG` is set), and
//! [`init_subscriber`] installs it once per process:
//!
//! * an env-filter from `RUST_LOG` (default `info`);
//! * a formatter, `pretty` (human-readable) or `json` (one object per line, with the request's span
//!   fields such as `request_id`) as `AMANAH_LOG_FORMAT` says;
//! * when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, an OpenTelemetry layer exporting spans over OTLP
//!   (HTTP/protobuf; the standard `OTEL_*` variables apply). Resolver spans come from
//!   [`crate::graphql::spans`], request spans from [`crate::middleware`].
//!
//! Keep the returned [`TelemetryGuard`] alive until exit: dropping it flushes spans not yet sent.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithHttpConfig as _;
use opentelemetry_sdk::{Resource, trace::SdkTracerProvider};
use tracing::Subscriber;
use tracing_subscriber::{
    EnvFilter, Layer, Registry, filter::filter_fn, fmt::MakeWriter, layer::SubscriberExt as _,
    util::SubscriberInitExt as _,
};

use crate::config::LogFormat;

/// Settings of [`get_subscriber`].
#[derive(Debug, Clone)]
pub struct TelemetrySettings {
    /// The service name on spans.
    pub service_name: String,
    /// An env-filter directive such as `info` or `amanah_api=debug,info`.
    pub filter: String,
    pub format: LogFormat,
    /// Export spans over OTLP (set when `OTEL_EXPORTER_OTLP_ENDPOINT` is).
    pub otlp: bool,
    /// Colour the `pretty` format (when writing to a terminal).
    pub ansi: bool,
}

impl TelemetrySettings {
    /// The settings of the `amanah` binary: `RUST_LOG` (default `info`), the configured format,
    /// OTLP when the standard variable is set.
    #[must_use]
    pub fn for_binary(format: LogFormat) -> Self {
        Self {
            service_name: "amanah".to_owned(),
            filter: std::env::var("RUST_LOG")
                .ok()
                .filter(|f| !f.trim().is_empty())
                .unwrap_or_else(|| "info".to_owned()),
            format,
            otlp: std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some_and(|v| !v.is_empty()),
            ansi: std::io::IsTerminal::is_terminal(&std::io::stdout()),
        }
    }
}

/// Why telemetry could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error(
        "could not set up the OTLP span exporter ({0}); check the OTEL_EXPORTER_OTLP_* variables"
    )]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    #[error("could not start the OTLP HTTP client")]
    HttpClient,
    #[error(
        "the log filter `{0}` is not valid; fix RUST_LOG (for example `info` or `amanah_api=debug`)"
    )]
    Filter(String),
    #[error("a global tracing subscriber is already installed")]
    AlreadyInstalled,
}

/// Flushes and stops span export when dropped.
#[derive(Debug, Default)]
#[must_use = "dropping the guard stops span export"]
pub struct TelemetryGuard {
    tracer_provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.tracer_provider.take()
            && let Err(error) = provider.shutdown()
        {
            eprintln!("warning: spans may not all have been exported: {error}");
        }
    }
}

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// The name of the span of an HTTP request ([`crate::middleware`]), with its request id.
pub const REQUEST_SPAN: &str = "http_request";

/// The spans whose fields log lines carry: the HTTP request's (its request id, route and
/// status) and the append batch's (its size, for the batch's own warnings).
const LOGGED_SPANS: [&str; 2] = [REQUEST_SPAN, "append_batch"];

/// The subscriber and the guard that keeps its exporter running.
///
/// # Errors
/// [`TelemetryError`] when OTLP export is asked for and cannot be set up.
pub fn get_subscriber<Sink>(
    settings: &TelemetrySettings,
    sink: Sink,
) -> Result<(impl Subscriber + Send + Sync + use<Sink>, TelemetryGuard), TelemetryError>
where
    Sink: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(&settings.filter)
        .map_err(|_| TelemetryError::Filter(settings.filter.clone()))?;
    let mut layers: Vec<BoxedLayer> = Vec::new();
    // Log lines carry the spans of `LOGGED_SPANS` only: the formatter formats every span it is
    // given when the span opens, logged or not, and the others (a request's phases, resolvers,
    // SQL statements) are for traces. Without OTLP they are then not even created.
    let logged_spans =
        filter_fn(|metadata| !metadata.is_span() || LOGGED_SPANS.contains(&metadata.name()));
    layers.push(match settings.format {
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_writer(sink)
            .with_ansi(settings.ansi)
            .with_target(false)
            .with_filter(logged_spans)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .with_writer(sink)
            .with_filter(logged_spans)
            .boxed(),
    });
    let mut guard = TelemetryGuard::default();
    if settings.otlp {
        let provider = otlp_tracer_provider(&settings.service_name)?;
        let tracer = provider.tracer(settings.service_name.clone());
        layers.push(tracing_opentelemetry::layer().with_tracer(tracer).boxed());
        guard.tracer_provider = Some(provider);
    }
    // The filter applies to every layer, the OTLP one included.
    let subscriber = Registry::default().with(layers.with_filter(filter));
    Ok((subscriber, guard))
}

fn otlp_tracer_provider(service_name: &str) -> Result<SdkTracerProvider, TelemetryError> {
    // The batch processor exports from its own thread, without a Tokio reactor, so the exporter
    // uses the blocking client. Building that client inside an async context panics, hence the
    // short-lived thread.
    let client = std::thread::spawn(reqwest::blocking::Client::new)
        .join()
        .map_err(|_| TelemetryError::HttpClient)?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(client)
        .build()?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(service_name.to_owned())
                .build(),
        )
        .build())
}

/// Installs `subscriber` as the global default and routes `log` records into it.
///
/// # Errors
/// [`TelemetryError::AlreadyInstalled`] when called twice in a process.
pub fn init_subscriber(
    subscriber: impl Subscriber + Send + Sync + 'static,
) -> Result<(), TelemetryError> {
    subscriber
        .try_init()
        .map_err(|_| TelemetryError::AlreadyInstalled)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn settings(format: LogFormat) -> TelemetrySettings {
        TelemetrySettings {
            service_name: "amanah-test".to_owned(),
            filter: "info".to_owned(),
            format,
            otlp: false,
            ansi: false,
        }
    }

    /// The first line the JSON formatter writes while `log` runs.
    fn first_json_line(log: impl FnOnce()) -> serde_json::Value {
        let captured = Captured::default();
        let sink = captured.clone();
        let (subscriber, _guard) =
            get_subscriber(&settings(LogFormat::Json), move || sink.clone()).unwrap();
        tracing::subscriber::with_default(subscriber, log);
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        serde_json::from_str(text.lines().next().unwrap()).unwrap()
    }

    #[test]
    fn json_lines_carry_the_span_fields() {
        let line = first_json_line(|| {
            let span = tracing::info_span!(REQUEST_SPAN, request_id = "req-7");
            span.in_scope(|| tracing::info!(status = 200, "request finished"));
        });
        assert_eq!(line["message"], "request finished");
        assert_eq!(line["status"], 200);
        assert_eq!(line["spans"][0]["request_id"], "req-7");
    }

    #[test]
    fn lines_carry_the_request_span_not_the_spans_within_it() {
        let line = first_json_line(|| {
            let span = tracing::info_span!(REQUEST_SPAN, request_id = "req-8");
            span.in_scope(|| {
                let inner = tracing::info_span!("graphql.request", phase = "inner");
                inner.in_scope(|| tracing::warn!("inside"));
            });
        });
        assert_eq!(line["message"], "inside");
        assert_eq!(line["spans"].as_array().unwrap().len(), 1, "{line}");
        assert_eq!(line["spans"][0]["name"], REQUEST_SPAN);
        assert_eq!(line["spans"][0]["request_id"], "req-8");
    }

    #[test]
    fn the_sink_receives_pretty_lines() {
        let captured = Captured::default();
        let sink = captured.clone();
        let (subscriber, _guard) =
            get_subscriber(&settings(LogFormat::Pretty), move || sink.clone()).unwrap();
        tracing::subscriber::with_default(subscriber, || tracing::info!("hello from the test"));
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("hello from the test"), "{text}");
    }
}
