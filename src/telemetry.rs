//! Logs, traces and metrics.
//!
//! - Logs: tracing for our own events, with dropshot's slog records routed
//!   into the same output so every line has one format, and the structured
//!   security events operators alert on.
//! - Traces: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, tracing's spans (a
//!   server span per request, database transactions and statements, Redis,
//!   password hashing, mail) are exported over OTLP/HTTP. Without it no
//!   exporter exists, and at the production log level (`warn`) the spans
//!   are disabled: they cost a check each.
//! - Metrics: the instruments in [`Metrics`], exported the same way.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::metrics::{Counter, Histogram, Meter, UpDownCounter};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{KeyValue, global};
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use slog::{KV, Key, OwnedKVList, Record, Serializer};
use tracing::Level;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};
use uuid::Uuid;

use crate::config::{Environment, LogFormat};

/// The service name when `OTEL_SERVICE_NAME` does not give one.
const SERVICE_NAME: &str = "incident-tracker";

/// The exporters of this process, flushed by [`Telemetry::shutdown`].
#[must_use = "flush it with shutdown() before the process ends"]
pub struct Telemetry {
    exporters: Option<(SdkTracerProvider, SdkMeterProvider)>,
}

impl Telemetry {
    /// Exports what is still buffered and stops the exporters.
    pub fn shutdown(self) {
        if let Some((traces, metrics)) = self.exporters {
            if let Err(error) = traces.shutdown() {
                eprintln!("flushing traces: {error}");
            }
            if let Err(error) = metrics.shutdown() {
                eprintln!("flushing metrics: {error}");
            }
        }
    }
}

/// Installs the global subscriber: logs filtered by [`log_filter`] (by
/// default `warn` in production: security events and failures, not a line
/// per request; `info` elsewhere), and, with an OTLP endpoint, our spans
/// and metrics exported to it. Honours `OTEL_SERVICE_NAME`,
/// `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER` and
/// `OTEL_TRACES_SAMPLER_ARG`. A second call in one process (tests start many
/// servers) leaves the first subscriber in place.
pub fn init(format: LogFormat, environment: Environment, otlp_endpoint: Option<&str>) -> anyhow::Result<Telemetry> {
    let default = match environment {
        Environment::Production => "warn",
        Environment::Development => "info",
    };
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let logs = match format {
        LogFormat::Json => logs.json().flatten_event(true).with_filter(log_filter(default)).boxed(),
        LogFormat::Pretty => logs.with_filter(log_filter(default)).boxed(),
    };
    let disabled = std::env::var("OTEL_SDK_DISABLED").is_ok_and(|value| value.trim().eq_ignore_ascii_case("true"));
    let Some(endpoint) = otlp_endpoint.filter(|_| !disabled) else {
        let _ = tracing_subscriber::registry().with(logs).try_init();
        return Ok(Telemetry { exporters: None });
    };
    let endpoint = endpoint.trim_end_matches('/');
    // A signal's own variable wins over the shared endpoint, as the
    // specification says.
    let signal_endpoint = |variable: &str, path: &str| {
        std::env::var(variable).ok().filter(|url| !url.trim().is_empty()).unwrap_or(format!("{endpoint}{path}"))
    };
    let mut resource = Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name(SERVICE_NAME);
    }
    let resource = resource.build();
    let spans = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(signal_endpoint("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "/v1/traces"))
        .build()?;
    let traces = SdkTracerProvider::builder().with_batch_exporter(spans).with_resource(resource.clone()).build();
    let metric_exporter = opentelemetry_otlp::MetricExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(signal_endpoint("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "/v1/metrics"))
        .build()?;
    let metrics = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(metric_exporter).build())
        .with_resource(resource)
        .build();
    global::set_text_map_propagator(TraceContextPropagator::new());
    global::set_tracer_provider(traces.clone());
    global::set_meter_provider(metrics.clone());
    // Our own spans only, whatever the log filter keeps, and no log events:
    // an error's detail may quote what a request held.
    let spans =
        tracing_opentelemetry::layer().with_tracer(traces.tracer(SERVICE_NAME)).with_filter(filter_fn(|metadata| {
            metadata.is_span() && metadata.target().starts_with("incident_tracker") && *metadata.level() <= Level::INFO
        }));
    let _ = tracing_subscriber::registry().with(logs).with(spans).try_init();
    EXPORTING.store(true, Ordering::Relaxed);
    Ok(Telemetry { exporters: Some((traces, metrics)) })
}

static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Whether traces and metrics are exported: work done only to measure
/// (a count query) is skipped when they are not.
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// `RUST_LOG`, or `default` without it; either way PostgreSQL's driver stays
/// at `info`: its debug records print query parameters, which hold emails,
/// password hashes and the links of queued mail.
pub fn log_filter(default: &str) -> EnvFilter {
    let directives = std::env::var("RUST_LOG").ok().filter(|directives| !directives.trim().is_empty());
    let filter = EnvFilter::try_new(directives.as_deref().unwrap_or(default)).unwrap_or_else(|error| {
        eprintln!("RUST_LOG is not a valid filter ({error}); logging at {default}");
        EnvFilter::new(default)
    });
    filter.add_directive("tokio_postgres=info".parse().expect("a valid directive"))
}

/// A refusal that matters to security, as one structured event at `warn`: a
/// stable `event` name (`auth.login_failed`, `csrf.refused`), the error code,
/// the request id, the client address and the actor when known. Callers pass
/// nothing else, so no password, token, cookie, key, email or name can ride
/// along.
pub fn security_event(event: &'static str, code: &str, request_id: &str, client_ip: IpAddr, actor_id: Option<Uuid>) {
    tracing::warn!(
        target: "security",
        event,
        code,
        request_id,
        client_ip = %client_ip,
        actor_id = actor_id.map(tracing::field::display),
        "security event"
    );
    METRICS.security_events.add(1, &[attribute("event", event)]);
}

/// The instruments every part of the server records into. They are made
/// from the global meter on first use, after [`init`]; without an exporter
/// they record nothing.
pub struct Metrics {
    /// `http.server.request.duration`, by route, method and status.
    pub request_duration: Histogram<f64>,
    /// `http.server.active_requests`.
    pub active_requests: UpDownCounter<i64>,
    /// `db.client.connection.wait_time`: waiting for a pooled connection.
    pub connection_wait: Histogram<f64>,
    /// `db.client.connection.count`, by state (`used`, `idle`), as of the
    /// last checkout.
    pub connections: opentelemetry::metrics::Gauge<u64>,
    /// `session_store.operation.duration`, by operation (Redis round trips).
    pub session_store_duration: Histogram<f64>,
    /// `rate_limit.decisions`, by policy and outcome.
    pub rate_limit_decisions: Counter<u64>,
    /// `quota.rejections`.
    pub quota_rejections: Counter<u64>,
    /// `security.events`, by event: sign-in failures and lockouts by kind,
    /// CSRF, key and permission refusals.
    pub security_events: Counter<u64>,
    /// `mail.outbox.depth`: mail waiting, as of the worker's last round.
    pub outbox_depth: opentelemetry::metrics::Gauge<u64>,
    /// `mail.delivery.failures`.
    pub mail_failures: Counter<u64>,
    /// `audit.events.appended`, counted as they are appended: an event whose
    /// transaction then rolls back counts too.
    pub audit_events: Counter<u64>,
}

pub static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let meter = meter();
    Metrics {
        request_duration: meter
            .f64_histogram("http.server.request.duration")
            .with_unit("s")
            .with_description("Time to answer a request")
            .build(),
        active_requests: meter
            .i64_up_down_counter("http.server.active_requests")
            .with_description("Requests being answered")
            .build(),
        connection_wait: meter
            .f64_histogram("db.client.connection.wait_time")
            .with_unit("s")
            .with_description("Time waiting for a pooled database connection")
            .build(),
        connections: meter.u64_gauge("db.client.connection.count").build(),
        session_store_duration: meter
            .f64_histogram("session_store.operation.duration")
            .with_unit("s")
            .with_description("Time of a session store round trip")
            .build(),
        rate_limit_decisions: meter.u64_counter("rate_limit.decisions").build(),
        quota_rejections: meter.u64_counter("quota.rejections").build(),
        security_events: meter.u64_counter("security.events").build(),
        outbox_depth: meter.u64_gauge("mail.outbox.depth").build(),
        mail_failures: meter.u64_counter("mail.delivery.failures").build(),
        audit_events: meter.u64_counter("audit.events.appended").build(),
    }
});

/// The meter of this service, for instruments observed by callbacks (the
/// connection pool's gauges).
pub fn meter() -> Meter {
    global::meter(SERVICE_NAME)
}

/// One attribute, as instruments take them.
pub fn attribute(key: &'static str, value: impl Into<opentelemetry::Value>) -> KeyValue {
    KeyValue::new(key, value)
}

/// Dropshot's logger, forwarding every record to tracing.
pub fn dropshot_logger() -> slog::Logger {
    slog::Logger::root(DropshotToTracing, slog::o!())
}

/// Dropshot's "request completed" record becomes the one log line per
/// request, with its fields as structured fields; other records keep their
/// key-values as one `context` field, and routine ones drop to debug.
struct DropshotToTracing;

impl slog::Drain for DropshotToTracing {
    type Ok = ();
    type Err = slog::Never;

    fn log(&self, record: &Record<'_>, logger_values: &OwnedKVList) -> Result<(), slog::Never> {
        let message = record.msg().as_str().map_or_else(|| record.msg().to_string().into(), Cow::Borrowed);
        let completed = message == "request completed";
        // Most records end below the log level. Building their fields first
        // cost a simple read 7% of its instructions.
        let wanted = match record.level() {
            slog::Level::Critical | slog::Level::Error | slog::Level::Warning => true,
            _ if completed => tracing::enabled!(target: "http", Level::INFO) || status_of(record) >= 500,
            _ => tracing::enabled!(target: "dropshot", Level::DEBUG),
        };
        if !wanted {
            return Ok(());
        }
        let mut fields = Fields::default();
        // Serialization into a map cannot fail; a failure would only lose fields.
        let _ = logger_values.serialize(record, &mut fields);
        let _ = record.kv().serialize(record, &mut fields);
        if completed {
            log_request(&fields.0);
            return Ok(());
        }
        let context = fields.to_string();
        match record.level() {
            slog::Level::Critical | slog::Level::Error => {
                tracing::error!(target: "dropshot", context, "{message}")
            }
            slog::Level::Warning => tracing::warn!(target: "dropshot", context, "{message}"),
            _ => tracing::debug!(target: "dropshot", context, "{message}"),
        }
        Ok(())
    }
}

fn log_request(fields: &BTreeMap<String, String>) {
    let field = |key: &str| fields.get(key).map(String::as_str).unwrap_or_default();
    let status: u16 = field("response_code").parse().unwrap_or_default();
    let latency_us: u64 = field("latency_us").parse().unwrap_or_default();
    // The path without the query string, which could carry a token.
    let path = field("uri").split('?').next().unwrap_or_default();
    let (request_id, method, remote_addr) = (field("req_id"), field("method"), field("remote_addr"));
    // Dropshot's own refusals (the router's 404/405, extractor failures)
    // give their code or text here; our handlers answer refusals as
    // responses and log their code themselves ("request refused").
    let error = field("error_message_internal");
    if status >= 500 {
        tracing::error!(target: "http", request_id, method, path, status, latency_us, remote_addr, error, "request completed");
    } else {
        tracing::info!(target: "http", request_id, method, path, status, latency_us, remote_addr, error, "request completed");
    }
}

/// The status code of dropshot's "request completed" record.
fn status_of(record: &Record<'_>) -> u16 {
    struct Status(u16);
    impl Serializer for Status {
        fn emit_arguments(&mut self, key: Key, value: &fmt::Arguments<'_>) -> slog::Result {
            if key == "response_code" {
                self.0 = value.to_string().parse().unwrap_or_default();
            }
            Ok(())
        }
    }
    let mut status = Status(0);
    let _ = record.kv().serialize(record, &mut status);
    status.0
}

#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl Serializer for Fields {
    fn emit_arguments(&mut self, key: Key, value: &fmt::Arguments<'_>) -> slog::Result {
        self.0.insert(key.to_string(), value.to_string());
        Ok(())
    }
}

impl fmt::Display for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, (key, value)) in self.0.iter().enumerate() {
            let separator = if index == 0 { "" } else { " " };
            write!(f, "{separator}{key}={value}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt;

    /// The level and target of every event that passes the filter.
    struct Recorder(Arc<Mutex<Vec<(tracing::Level, String)>>>);

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Recorder {
        fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
            let metadata = event.metadata();
            self.0.lock().unwrap().push((*metadata.level(), metadata.target().to_string()));
        }
    }

    #[test]
    fn at_warn_a_completed_request_is_logged_only_when_the_server_failed() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::filter::LevelFilter::WARN)
            .with(Recorder(seen.clone()));
        tracing::subscriber::with_default(subscriber, || {
            let log = super::dropshot_logger();
            slog::info!(log, "request completed"; "response_code" => 200u16, "uri" => "/v1/incidents");
            slog::info!(log, "request completed"; "response_code" => 503u16, "uri" => "/v1/incidents");
            slog::debug!(log, "accepted connection"; "remote_addr" => "127.0.0.1:5000");
        });
        assert_eq!(*seen.lock().unwrap(), [(tracing::Level::ERROR, "http".to_string())]);
    }
}
