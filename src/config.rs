//! Every setting, read from the environment (and `.env`), validated at start-up.
//!
//! Validation collects every problem before failing, so an operator fixes a
//! broken deployment in one pass instead of one restart per variable.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use ipnet::IpNet;

use crate::scanner::ClamdAddress;

/// Shortest accepted `SESSION_SECRET`, in bytes: enough for a 256-bit key.
const MIN_SESSION_SECRET_LEN: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines for a terminal.
    Pretty,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Where the PostgreSQL database comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseSource {
    /// A server the operator runs. `url` is the application role the server
    /// connects as; `migration_url` is the owner role migrations run as.
    External { url: Secret, migration_url: Option<Secret> },
    /// A PostgreSQL cluster started from the machine's own binaries, with
    /// its data under [`Config::data_dir`].
    Embedded,
}

/// A value that may hold a password, so never shows up in `Debug` output
/// or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub environment: Environment,
    pub bind_address: SocketAddr,
    pub database: DatabaseSource,
    pub database_pool_size: u32,
    pub redis_url: Option<Secret>,
    pub session_secret: Option<Secret>,
    pub data_dir: PathBuf,
    /// Where PostgreSQL's binaries are, when they are not found by looking.
    pub pg_bin: Option<PathBuf>,
    pub request_body_max_bytes: usize,
    pub log_format: LogFormat,
    /// Where users reach the product, e.g. `https://incidents.example.com`:
    /// links in mail are built from it, never from a request's Host header.
    pub public_base_url: String,
    /// The SMTP server mail goes through; without it, mail is written as
    /// `.eml` files under `data_dir/mail`.
    pub smtp_url: Option<Secret>,
    pub mail_from: String,
    /// Proxies whose `X-Forwarded-For` names the client; any other peer is
    /// the client itself.
    pub trusted_proxies: Vec<IpNet>,
    pub session_idle_timeout: Duration,
    pub session_absolute_timeout: Duration,
    /// Tenant-scoped writes per principal (user or API key) in a sliding window.
    pub write_rate_limit: (u32, Duration),
    /// Writes per tenant and UTC day, unless the tenant has its own quota.
    pub daily_write_quota: u32,
    pub retention: Retention,
    /// Lets webhooks reach loopback and private addresses: development and
    /// tests only (refused in production). Metadata addresses never.
    pub webhook_allow_private_targets: bool,
    /// Where traces and metrics go over OTLP/HTTP (`/v1/traces` and
    /// `/v1/metrics` are appended); without it nothing is exported.
    pub otlp_endpoint: Option<String>,
    /// clamd, which scans every attachment; required in production.
    pub clamd: Option<ClamdAddress>,
    /// An S3-compatible store for attachments; `None`: `DATA_DIR/objects`.
    pub object_store: Option<S3Store>,
}

/// How long each class of data is kept once it is done with, before the
/// purge deletes it (see `app::retention`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Mail the worker gave up on: `RETENTION_MAIL_DAYS`, 30.
    pub mail: Duration,
    /// Reset tokens, sign-in challenges and attachment URLs after their
    /// expiry: `RETENTION_TOKENS_DAYS`, 7.
    pub tokens: Duration,
    /// Invites after their revocation or expiry, unaccepted:
    /// `RETENTION_INVITES_DAYS`, 30.
    pub invites: Duration,
    /// Daily usage counts, from their day: `RETENTION_USAGE_DAYS`, 400, at
    /// least 366 (`app::usage::MAX_REPORT_DAYS`).
    pub usage: Duration,
    /// The personal data of audit events (client address, an invitee's
    /// email), from the event: `RETENTION_AUDIT_ADDRESSES_DAYS`, 180.
    pub audit_addresses: Duration,
}

/// An S3-compatible bucket and how to reach it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Store {
    /// `s3://bucket`.
    pub url: String,
    /// Another store than AWS: MinIO, Ceph, R2…
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
}

/// Every problem found in the configuration, one line each.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "invalid configuration ({} problems):", self.problems.len())?;
        for problem in &self.problems {
            writeln!(f, "  - {problem}")?;
        }
        write!(f, "See .env.example for every setting and its format.")
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads `.env` (if present; real environment variables win) and then
    /// the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        let dotenv_problem = match dotenvy::dotenv() {
            Ok(_) => None,
            Err(error) if error.not_found() => None,
            Err(error) => Some(format!(".env: {error}")),
        };
        // Lossy, not `std::env::vars()`: a value that is not UTF-8 must be
        // reported as malformed, not panic.
        let vars = std::env::vars_os()
            .map(|(name, value)| (name.to_string_lossy().into_owned(), value.to_string_lossy().into_owned()));
        let result = Config::from_vars(vars);
        match (result, dotenv_problem) {
            (result, None) => result,
            (Ok(_), Some(problem)) => Err(ConfigError { problems: vec![problem] }),
            (Err(mut error), Some(problem)) => {
                error.problems.insert(0, problem);
                Err(error)
            }
        }
    }

    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars.into_iter().filter(|(_, value)| !value.is_empty()).collect();
        let mut reader = Reader { vars: &vars, problems: Vec::new() };

        let environment = reader.parse("APP_ENV", Environment::Development, |raw| match raw {
            "development" => Ok(Environment::Development),
            "production" => Ok(Environment::Production),
            _ => Err("expected `development` or `production`".to_string()),
        });
        let bind_address = reader.parse("BIND_ADDRESS", SocketAddr::from(([127, 0, 0, 1], 8080)), |raw| {
            SocketAddr::from_str(raw).map_err(|_| "expected an address like 127.0.0.1:8080".to_string())
        });
        let database_url = reader.parse_optional("DATABASE_URL", postgres_url);
        let migration_url = reader.parse_optional("MIGRATION_DATABASE_URL", postgres_url);
        // Near the requests an instance serves at once: fewer, and they
        // queue for a connection, which shows in the tail latency (see
        // docs/benchmarks.md, "The pool's size").
        let database_pool_size = reader.parse("DATABASE_POOL_SIZE", 24, |raw| {
            raw.parse::<u32>()
                .ok()
                .filter(|size| (1..=1000).contains(size))
                .ok_or_else(|| "expected a whole number from 1 to 1000".to_string())
        });
        let redis_url = reader.parse_optional("REDIS_URL", |raw| secret_url(raw, ["redis://", "rediss://"]));
        let session_secret = reader.parse_optional("SESSION_SECRET", |raw| {
            if raw.len() >= MIN_SESSION_SECRET_LEN {
                Ok(Secret(raw.to_string()))
            } else {
                Err(format!("must be at least {MIN_SESSION_SECRET_LEN} characters (e.g. `openssl rand -hex 32`)"))
            }
        });
        let data_dir = reader.parse("DATA_DIR", PathBuf::from(".data"), |raw| Ok(PathBuf::from(raw)));
        let pg_bin = reader.parse_optional("PG_BIN", |raw| Ok(PathBuf::from(raw)));
        let request_body_max_bytes = reader.parse("REQUEST_BODY_MAX_BYTES", 256 * 1024, |raw| {
            raw.parse::<usize>()
                .ok()
                .filter(|bytes| (1024..=64 * 1024 * 1024).contains(bytes))
                .ok_or_else(|| "expected a number of bytes from 1024 to 67108864".to_string())
        });
        let clamd = reader.parse_optional("CLAMD_URL", ClamdAddress::parse);
        let object_store_url = reader.parse_optional("OBJECT_STORE_URL", |raw| {
            let bucket = raw.strip_prefix("s3://").map(|rest| rest.trim_end_matches('/')).unwrap_or_default();
            if bucket.is_empty() || bucket.contains('/') {
                return Err("expected s3://bucket".to_string());
            }
            Ok(raw.trim_end_matches('/').to_string())
        });
        let s3_endpoint = reader.parse_optional("AWS_ENDPOINT_URL", |raw| {
            if raw.starts_with("https://") || raw.starts_with("http://") {
                Ok(raw.trim_end_matches('/').to_string())
            } else {
                Err("expected an http:// or https:// URL".to_string())
            }
        });
        let s3_region = reader.parse("AWS_REGION", "us-east-1".to_string(), |raw| Ok(raw.to_string()));
        let s3_access_key_id = reader.parse_optional("AWS_ACCESS_KEY_ID", |raw| Ok(raw.to_string()));
        let s3_secret_access_key = reader.parse_optional("AWS_SECRET_ACCESS_KEY", |raw| Ok(Secret(raw.to_string())));
        let default_log_format = match environment {
            Environment::Production => LogFormat::Json,
            Environment::Development => LogFormat::Pretty,
        };
        let log_format = reader.parse("LOG_FORMAT", default_log_format, |raw| match raw {
            "json" => Ok(LogFormat::Json),
            "pretty" => Ok(LogFormat::Pretty),
            _ => Err("expected `json` or `pretty`".to_string()),
        });

        let public_base_url = reader.parse("PUBLIC_BASE_URL", "http://localhost:8080".to_string(), |raw| {
            let well_formed = (raw.starts_with("https://") || raw.starts_with("http://")) && !raw.contains(['?', '#']);
            well_formed
                .then(|| raw.trim_end_matches('/').to_string())
                .ok_or_else(|| "expected an http(s) URL without query or fragment".to_string())
        });
        let smtp_url = reader.parse_optional("SMTP_URL", |raw| secret_url(raw, ["smtp://", "smtps://"]));
        let otlp_endpoint = reader.parse_optional("OTEL_EXPORTER_OTLP_ENDPOINT", |raw| {
            let well_formed = raw.starts_with("https://") || raw.starts_with("http://");
            well_formed.then(|| raw.to_string()).ok_or_else(|| "expected an http(s) URL".to_string())
        });
        let mail_from = reader.parse("MAIL_FROM", "Incident Tracker <no-reply@localhost>".to_string(), |raw| {
            lettre::message::Mailbox::from_str(raw)
                .map(|_| raw.to_string())
                .map_err(|_| "expected an address like `Incident Tracker <incidents@example.com>`".to_string())
        });
        let trusted_proxies = reader.parse("TRUSTED_PROXIES", Vec::new(), |raw| {
            raw.split(',')
                .map(str::trim)
                .filter(|entry| !entry.is_empty())
                .map(|entry| {
                    IpNet::from_str(entry)
                        .or_else(|_| std::net::IpAddr::from_str(entry).map(IpNet::from))
                        .map_err(|_| format!("`{entry}` is not an IP address or CIDR range"))
                })
                .collect()
        });
        let session_idle_timeout = reader.parse("SESSION_IDLE_TIMEOUT_SECONDS", Duration::from_secs(30 * 60), seconds);
        let session_absolute_timeout =
            reader.parse("SESSION_ABSOLUTE_TIMEOUT_SECONDS", Duration::from_secs(12 * 60 * 60), seconds);
        let write_rate_limit = reader.parse("WRITE_RATE_LIMIT", (60, Duration::from_secs(600)), |raw| {
            let parsed = raw.split_once('/').and_then(|(count, seconds)| {
                let count = count.trim().parse::<u32>().ok().filter(|count| *count >= 1)?;
                let seconds = seconds.trim().parse::<u64>().ok().filter(|seconds| (1..=86_400).contains(seconds))?;
                Some((count, Duration::from_secs(seconds)))
            });
            parsed.ok_or_else(|| {
                "expected WRITES/SECONDS, e.g. 60/600 (at least 1 write, 1 to 86400 seconds)".to_string()
            })
        });
        let daily_write_quota = reader.parse("DAILY_WRITE_QUOTA", 10_000, |raw| {
            raw.parse::<u32>().map_err(|_| "expected a whole number of writes, e.g. 10000".to_string())
        });
        let retention = Retention {
            mail: reader.parse("RETENTION_MAIL_DAYS", days_of(30), |raw| days(raw, 1)),
            tokens: reader.parse("RETENTION_TOKENS_DAYS", days_of(7), |raw| days(raw, 1)),
            invites: reader.parse("RETENTION_INVITES_DAYS", days_of(30), |raw| days(raw, 1)),
            // A usage report covers up to a year and a day: none may show
            // a purged day as a day without usage.
            usage: reader.parse("RETENTION_USAGE_DAYS", days_of(400), |raw| days(raw, 366)),
            audit_addresses: reader.parse("RETENTION_AUDIT_ADDRESSES_DAYS", days_of(180), |raw| days(raw, 1)),
        };
        let webhook_allow_private_targets = reader.parse("WEBHOOK_ALLOW_PRIVATE_TARGETS", false, |raw| match raw {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err("expected `true` or `false`".to_string()),
        });
        if environment == Environment::Production && webhook_allow_private_targets {
            reader.problems.push("WEBHOOK_ALLOW_PRIVATE_TARGETS: refused when APP_ENV=production".to_string());
        }
        if session_idle_timeout > session_absolute_timeout {
            reader
                .problems
                .push("SESSION_IDLE_TIMEOUT_SECONDS: must not exceed SESSION_ABSOLUTE_TIMEOUT_SECONDS".to_string());
        }

        if environment == Environment::Production {
            for (name, present) in [
                ("SESSION_SECRET", vars.contains_key("SESSION_SECRET")),
                ("DATABASE_URL", vars.contains_key("DATABASE_URL")),
                ("REDIS_URL", vars.contains_key("REDIS_URL")),
                ("PUBLIC_BASE_URL", vars.contains_key("PUBLIC_BASE_URL")),
                ("SMTP_URL", vars.contains_key("SMTP_URL")),
                ("CLAMD_URL", vars.contains_key("CLAMD_URL")),
            ] {
                if !present {
                    reader.problems.push(format!("{name}: required when APP_ENV=production"));
                }
            }
        }
        if environment == Environment::Production
            && s3_endpoint.as_deref().is_some_and(|url| url.starts_with("http://"))
        {
            reader.problems.push("AWS_ENDPOINT_URL: must be https:// when APP_ENV=production".to_string());
        }
        if vars.contains_key("MIGRATION_DATABASE_URL") && !vars.contains_key("DATABASE_URL") {
            reader.problems.push("MIGRATION_DATABASE_URL: only meaningful together with DATABASE_URL".to_string());
        }

        if !reader.problems.is_empty() {
            return Err(ConfigError { problems: reader.problems });
        }
        let database = match database_url {
            Some(url) => DatabaseSource::External { url, migration_url },
            None => DatabaseSource::Embedded,
        };
        Ok(Config {
            environment,
            bind_address,
            database,
            database_pool_size,
            redis_url,
            session_secret,
            data_dir,
            pg_bin,
            request_body_max_bytes,
            log_format,
            public_base_url,
            smtp_url,
            mail_from,
            trusted_proxies,
            session_idle_timeout,
            session_absolute_timeout,
            write_rate_limit,
            daily_write_quota,
            retention,
            webhook_allow_private_targets,
            otlp_endpoint,
            clamd,
            object_store: object_store_url.map(|url| S3Store {
                url,
                endpoint: s3_endpoint,
                region: s3_region,
                access_key_id: s3_access_key_id,
                secret_access_key: s3_secret_access_key,
            }),
        })
    }
}

fn days(raw: &str, fewest: u64) -> Result<Duration, String> {
    raw.parse::<u64>()
        .ok()
        .filter(|days| (fewest..=3650).contains(days))
        .map(days_of)
        .ok_or_else(|| format!("expected a number of days from {fewest} to 3650"))
}

fn days_of(days: u64) -> Duration {
    Duration::from_secs(days * 24 * 60 * 60)
}

fn seconds(raw: &str) -> Result<Duration, String> {
    raw.parse::<u64>()
        .ok()
        .filter(|seconds| (1..=30 * 24 * 60 * 60).contains(seconds))
        .map(Duration::from_secs)
        .ok_or_else(|| "expected a number of seconds from 1 to 2592000 (30 days)".to_string())
}

fn postgres_url(raw: &str) -> Result<Secret, String> {
    secret_url(raw, ["postgres://", "postgresql://"])
}

/// A URL that may carry a password, with one of two schemes.
fn secret_url(raw: &str, [plain, alternative]: [&str; 2]) -> Result<Secret, String> {
    if raw.starts_with(plain) || raw.starts_with(alternative) {
        Ok(Secret(raw.to_string()))
    } else {
        Err(format!("expected a URL starting with {plain} or {alternative}"))
    }
}

struct Reader<'a> {
    vars: &'a HashMap<String, String>,
    problems: Vec<String>,
}

impl Reader<'_> {
    fn parse<T>(&mut self, name: &str, default: T, parse: impl FnOnce(&str) -> Result<T, String>) -> T {
        self.parse_optional(name, parse).unwrap_or(default)
    }

    fn parse_optional<T>(&mut self, name: &str, parse: impl FnOnce(&str) -> Result<T, String>) -> Option<T> {
        let raw = self.vars.get(name)?;
        match parse(raw.trim()) {
            Ok(value) => Some(value),
            Err(reason) => {
                // The value itself is left out: it may be a secret.
                self.problems.push(format!("{name}: {reason}"));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(vars.iter().map(|(name, value)| (name.to_string(), value.to_string())))
    }

    #[test]
    fn no_variables_mean_the_embedded_development_default() {
        let config = config(&[]).unwrap();
        assert_eq!(config.environment, Environment::Development);
        assert_eq!(config.bind_address.to_string(), "127.0.0.1:8080");
        assert_eq!(config.database, DatabaseSource::Embedded);
        assert_eq!(config.redis_url, None);
        assert_eq!(config.data_dir, PathBuf::from(".data"));
        assert_eq!(config.log_format, LogFormat::Pretty);
        assert_eq!(config.write_rate_limit, (60, Duration::from_secs(600)));
        assert_eq!(config.daily_write_quota, 10_000);
        assert_eq!(config.retention.tokens, Duration::from_secs(7 * 24 * 60 * 60));
        assert_eq!(config.retention.usage, Duration::from_secs(400 * 24 * 60 * 60));
        assert_eq!(config.retention.audit_addresses, Duration::from_secs(180 * 24 * 60 * 60));
    }

    #[test]
    fn production_lists_every_missing_requirement_at_once() {
        let error = config(&[("APP_ENV", "production")]).unwrap_err();
        assert_eq!(
            error.problems,
            vec![
                "SESSION_SECRET: required when APP_ENV=production",
                "DATABASE_URL: required when APP_ENV=production",
                "REDIS_URL: required when APP_ENV=production",
                "PUBLIC_BASE_URL: required when APP_ENV=production",
                "SMTP_URL: required when APP_ENV=production",
                "CLAMD_URL: required when APP_ENV=production",
            ]
        );
    }

    #[test]
    fn malformed_values_are_all_reported_without_echoing_them() {
        let error = config(&[
            ("BIND_ADDRESS", "localhost"),
            ("DATABASE_POOL_SIZE", "lots"),
            ("SESSION_SECRET", "hunter2"),
            ("REDIS_URL", "http://cache"),
            ("TRUSTED_PROXIES", "10.0.0.0/8, proxy"),
            ("SESSION_IDLE_TIMEOUT_SECONDS", "0"),
            ("WRITE_RATE_LIMIT", "60"),
            ("DAILY_WRITE_QUOTA", "-1"),
            ("RETENTION_USAGE_DAYS", "365"),
            ("CLAMD_URL", "clamd:3310"),
            ("OBJECT_STORE_URL", "https://bucket.example.com/path"),
            ("AWS_ENDPOINT_URL", "minio:9000"),
        ])
        .unwrap_err();
        assert_eq!(error.problems.len(), 12, "{error}");
        let message = error.to_string();
        for name in [
            "BIND_ADDRESS",
            "DATABASE_POOL_SIZE",
            "SESSION_SECRET",
            "REDIS_URL",
            "TRUSTED_PROXIES",
            "SESSION_IDLE",
            "WRITE_RATE_LIMIT",
            "DAILY_WRITE_QUOTA",
            "RETENTION_USAGE_DAYS",
            "CLAMD_URL",
            "OBJECT_STORE_URL",
            "AWS_ENDPOINT_URL",
        ] {
            assert!(message.contains(name), "{message}");
        }
        assert!(!message.contains("hunter2"), "a secret leaked into: {message}");
    }

    #[test]
    fn production_with_everything_set_uses_json_logs_and_the_external_database() {
        let config = config(&[
            ("APP_ENV", "production"),
            ("SESSION_SECRET", &"s".repeat(MIN_SESSION_SECRET_LEN)),
            ("DATABASE_URL", "postgres://app@db/incidents"),
            ("REDIS_URL", "redis://cache:6379"),
            ("PUBLIC_BASE_URL", "https://incidents.example.com/"),
            ("SMTP_URL", "smtps://mailer:secret@mail.example.com"),
            ("CLAMD_URL", "tcp://clamd:3310"),
        ])
        .unwrap();
        assert_eq!(config.public_base_url, "https://incidents.example.com");
        assert_eq!(config.clamd, Some(ClamdAddress::Tcp("clamd:3310".to_string())));
        assert_eq!(config.object_store, None, "attachments on the local disk unless OBJECT_STORE_URL is set");
        assert_eq!(config.log_format, LogFormat::Json);
        assert_eq!(
            config.database,
            DatabaseSource::External { url: Secret("postgres://app@db/incidents".to_string()), migration_url: None }
        );
    }

    #[test]
    fn production_reaches_its_bucket_over_https_only() {
        let mut vars = vec![
            ("APP_ENV", "production"),
            ("DATABASE_URL", "postgres://app@db/incidents"),
            ("REDIS_URL", "redis://cache:6379"),
            ("PUBLIC_BASE_URL", "https://incidents.example.com"),
            ("SMTP_URL", "smtps://mail.example.com"),
            ("CLAMD_URL", "tcp://clamd:3310"),
            ("OBJECT_STORE_URL", "s3://attachments"),
            ("AWS_ENDPOINT_URL", "http://minio:9000"),
        ];
        let secret = "s".repeat(MIN_SESSION_SECRET_LEN);
        vars.push(("SESSION_SECRET", &secret));
        assert_eq!(config(&vars).unwrap_err().problems, ["AWS_ENDPOINT_URL: must be https:// when APP_ENV=production"]);
        vars.retain(|(name, _)| *name != "AWS_ENDPOINT_URL");
        vars.push(("AWS_ENDPOINT_URL", "https://minio:9000"));
        assert!(config(&vars).is_ok());
    }

    #[test]
    fn an_s3_bucket_takes_the_aws_variables() {
        let config = config(&[("OBJECT_STORE_URL", "s3://attachments/"), ("AWS_SECRET_ACCESS_KEY", "s3cret")]).unwrap();
        let store = config.object_store.expect("an S3 store");
        assert_eq!((store.url.as_str(), store.region.as_str()), ("s3://attachments", "us-east-1"));
        assert_eq!(store.secret_access_key.map(|secret| secret.expose().to_string()), Some("s3cret".to_string()));
    }

    #[test]
    fn empty_values_count_as_unset() {
        let config = config(&[("DATABASE_URL", ""), ("REDIS_URL", "")]).unwrap();
        assert_eq!(config.database, DatabaseSource::Embedded);
        assert_eq!(config.redis_url, None);
    }
}
