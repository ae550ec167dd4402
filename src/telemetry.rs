//! Logging: tracing for our own events, with dropshot's slog records routed
//! into the same output so every line has one format, and the structured
//! security events operators alert on.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use slog::{KV, Key, OwnedKVList, Record, Serializer};
use tracing_subscriber::EnvFilter;
use uuid::Uuid;

use crate::config::{Environment, LogFormat};

/// Installs the global subscriber, filtered by [`log_filter`]: by default
/// `warn` in production (security events and failures, not a line per
/// request), `info` elsewhere.
pub fn init(format: LogFormat, environment: Environment) {
    let default = match environment {
        Environment::Production => "warn",
        Environment::Development => "info",
    };
    let builder = tracing_subscriber::fmt().with_env_filter(log_filter(default)).with_writer(std::io::stderr);
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
