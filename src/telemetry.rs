//! Logging: tracing for our own events, with dropshot's slog records routed
//! into the same output so every line has one format.

use std::collections::BTreeMap;
use std::fmt;

use slog::{KV, Key, OwnedKVList, Record, Serializer};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber, filtered by [`log_filter`].
pub fn init(format: LogFormat) {
    let builder = tracing_subscriber::fmt().with_env_filter(log_filter("info")).with_writer(std::io::stderr);
    // A second initialization (tests start many servers in one process) is
    // harmless: the first subscriber stays.
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
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
        let mut fields = Fields::default();
        // Serialization into a map cannot fail; a failure would only lose fields.
        let _ = logger_values.serialize(record, &mut fields);
        let _ = record.kv().serialize(record, &mut fields);
        let message = record.msg().to_string();
        if message == "request completed" {
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
    // For our endpoints this is the error code (see `ApiError`'s Display);
    // for the router's 404/405 it is dropshot's fixed text.
    let error = field("error_message_internal");
    if status >= 500 {
        tracing::error!(target: "http", request_id, method, path, status, latency_us, remote_addr, error, "request completed");
    } else {
        tracing::info!(target: "http", request_id, method, path, status, latency_us, remote_addr, error, "request completed");
    }
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
