//! Wiring: the database (embedded or external), the session store and the
//! HTTP server, started and stopped together.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, bail};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use dropshot::{ApiDescription, ConfigDropshot, HandlerTaskMode, HttpServer, ServerBuilder, ServerContext};
use uuid::Uuid;

use crate::actor::{Actor, Origin};
use crate::audit::{self, NewEvent, Target};
use crate::error::Error;

use crate::app::attachments::{Attachments, ScanSweeper};
use crate::app::auth::ResetRequests;
use crate::app::auth::password::Passwords;
use crate::app::retention::{self, Purger};
use crate::app::turns::TenantTurns;
use crate::app::usage::{UsageFlusher, UsageMeter};
use crate::app::webhooks::{DeliveryWorker, TargetPolicy};
use crate::app::{AppState, Limits, RateLimit};
use crate::config::{Config, DatabaseSource, Environment, Secret};
use crate::crypto::Signer;
use crate::db::{self, embedded::EmbeddedPostgres, migrations};
use crate::http::caller::SessionCookie;
use crate::http::{ApiContext, Handlers, ServedContract};
use crate::mail::{MailQueued, MailWorker, Transport};
use crate::scanner::Scanner;
use crate::sessions::{SessionStore, SessionTimeouts, StoreKind};
use crate::storage::ObjectStorage;
use crate::{crypto, telemetry};

/// The database the embedded default serves from.
const EMBEDDED_DATABASE: &str = "incident_tracker";

pub struct Server {
    http: HttpServer<ApiContext>,
    workers: Workers,
    embedded_postgres: Option<EmbeddedPostgres>,
}

/// The background work of a running server.
struct Workers {
    mail: MailWorker,
    usage: UsageFlusher,
    /// Without a scanner, none.
    scans: Option<ScanSweeper>,
    purger: Purger,
    webhooks: DeliveryWorker,
}

impl Workers {
    async fn stop(self) {
        self.mail.stop().await;
        self.usage.stop().await;
        if let Some(scans) = self.scans {
            scans.stop().await;
        }
        self.purger.stop().await;
        self.webhooks.stop().await;
    }
}

impl Server {
    pub async fn start(config: &Config) -> anyhow::Result<Server> {
        let DatabaseSource::External { url, .. } = &config.database else {
            let (postgres, applied) = start_embedded_postgres(config).await?;
            if !applied.is_empty() {
                tracing::info!(?applied, "applied migrations");
            }
            return match serve(config, &postgres.server_url(EMBEDDED_DATABASE)).await {
                Ok((http, workers)) => Ok(Server { http, workers, embedded_postgres: Some(postgres) }),
                Err(error) => Err(stop_after_failure(postgres, error).await),
            };
        };
        let (http, workers) = serve(config, url.expose()).await?;
        Ok(Server { http, workers, embedded_postgres: None })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.http.local_addr()
    }

    /// Stops accepting connections, lets in-flight requests and the mail
    /// being sent finish, writes the read counts, then stops the embedded
    /// database if this server started it. Mail still queued stays in the
    /// outbox for the next start.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let closed = self.http.close().await.map_err(|error| anyhow::anyhow!("stopping the HTTP server: {error}"));
        self.workers.stop().await;
        if let Some(postgres) = self.embedded_postgres {
            postgres.stop().await?;
        }
        closed
    }
}

/// Connects to the database and the session store, starts the background
/// workers and serves the API.
async fn serve(config: &Config, database_url: &str) -> anyhow::Result<(HttpServer<ApiContext>, Workers)> {
    let api = crate::api::incident_tracker_api_mod::api_description::<Handlers>()
        .map_err(|error| anyhow::anyhow!("invalid API description: {error}"))?;
    let pool = db::connect(database_url, config.database_pool_size).await?;
    db::ensure_role_is_bound_by_rls(&pool).await?;
    // Production requires SESSION_SECRET; without it, a key of this process
    // alone means sessions in Redis and signed URLs do not outlive a restart.
    let secret = match &config.session_secret {
        Some(secret) => secret.expose().as_bytes().to_vec(),
        None => crypto::random_token().into_bytes(),
    };
    let sessions = connect_session_store(config, &secret).await?;
    let attachments = attachments(config, &secret)?;
    let transport = Transport::new(config.smtp_url.as_ref().map(Secret::expose), config.data_dir.join("mail"))?;
    if let Transport::Files(dir) = &transport {
        tracing::warn!(dir = %dir.display(), "SMTP_URL is not set: mail is written as .eml files");
    }
    let passwords = Passwords::start().context("starting the password hashing threads")?;
    let mail_queued = MailQueued::default();
    let mail = MailWorker::start(pool.clone(), transport, &config.mail_from, mail_queued.clone())?;
    let usage = UsageMeter::default();
    let usage_flusher = UsageFlusher::start(usage.clone(), pool.clone());
    let (count, window) = config.write_rate_limit;
    let limits =
        Limits { write_rate: RateLimit { count, window }, daily_write_quota: i64::from(config.daily_write_quota) };
    let app = Arc::new(AppState {
        db: pool,
        sessions,
        passwords,
        mail_queued,
        public_base_url: config.public_base_url.clone(),
        limits,
        usage,
        write_turns: TenantTurns::default(),
        attachments,
        webhook_targets: TargetPolicy {
            https_only: config.environment == Environment::Production,
            allow_private: config.webhook_allow_private_targets,
        },
        reset_requests: ResetRequests::default(),
        retention: config.retention,
    });
    let workers = Workers {
        mail,
        usage: usage_flusher,
        scans: ScanSweeper::start(app.clone()),
        purger: Purger::start(app.clone()),
        webhooks: DeliveryWorker::start(app.clone(), crate::http::event_payload),
    };
    let document = crate::api::contract::openapi_3_0()?;
    let context = ApiContext {
        app,
        session_cookie: match config.environment {
            Environment::Production => SessionCookie::PRODUCTION,
            Environment::Development => SessionCookie::DEVELOPMENT,
        },
        trusted_proxies: config.trusted_proxies.clone(),
        routes: crate::api::contract::operation_routes(&document)?
            .into_iter()
            .map(|(operation_id, name)| (operation_id, crate::http::Route::new(name)))
            .collect(),
        public_host: public_host(&config.public_base_url),
        contract: ServedContract::render(document)?,
    };
    match start_http(api, context, config) {
        Ok(http) => Ok((http, workers)),
        Err(error) => {
            workers.stop().await;
            Err(error)
        }
    }
}

async fn connect_session_store(config: &Config, secret: &[u8]) -> anyhow::Result<SessionStore> {
    let timeouts = SessionTimeouts { idle: config.session_idle_timeout, absolute: config.session_absolute_timeout };
    let sessions = SessionStore::connect(config.redis_url.as_ref().map(Secret::expose), secret, timeouts)
        .await
        .context("connecting to Redis (REDIS_URL)")?;
    if sessions.kind() == StoreKind::Memory {
        tracing::warn!("REDIS_URL is not set: sessions and rate limits live in this process; run one instance only");
    } else if config.session_secret.is_none() {
        tracing::warn!("SESSION_SECRET is not set: sessions end when this process restarts");
    }
    Ok(sessions)
}

/// Where attachments are stored (`OBJECT_STORE_URL`, or `DATA_DIR/objects`)
/// and scanned.
fn attachments(config: &Config, secret: &[u8]) -> anyhow::Result<Attachments> {
    let storage = match &config.object_store {
        Some(s3) => ObjectStorage::s3(s3).context("configuring the object store (OBJECT_STORE_URL)")?,
        None => ObjectStorage::local(&config.data_dir.join("objects")).context("opening the object store")?,
    };
    if config.clamd.is_none() {
        tracing::warn!("CLAMD_URL is not set: attachments are not scanned, and are served as `unscanned`");
    }
    Ok(Attachments {
        storage,
        scanner: config.clamd.clone().map(Scanner::new),
        signer: Signer::new(secret, "attachment urls"),
    })
}

/// `https://incidents.example.com:8443` → `incidents.example.com`.
fn public_host(public_base_url: &str) -> String {
    let authority = public_base_url.split_once("://").map_or(public_base_url, |(_, rest)| rest);
    let authority = authority.split('/').next().unwrap_or_default();
    match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default().to_string(),
        None => authority.split(':').next().unwrap_or_default().to_string(),
    }
}

/// Serves `api` with the server's settings: body size limit, handlers that
/// finish even when the client goes away (so shutdown can wait for them),
/// and dropshot's log routed into ours.
pub fn start_http<C: ServerContext>(
    api: ApiDescription<C>,
    context: C,
    config: &Config,
) -> anyhow::Result<HttpServer<C>> {
    let dropshot_config = ConfigDropshot {
        bind_address: config.bind_address,
        default_request_body_max_bytes: config.request_body_max_bytes,
        default_handler_task_mode: HandlerTaskMode::Detached,
        ..ConfigDropshot::default()
    };
    ServerBuilder::new(api, context, telemetry::dropshot_logger())
        .config(dropshot_config)
        .start()
        .map_err(|error| anyhow::anyhow!("starting the HTTP server on {}: {error}", config.bind_address))
}

/// Applies pending migrations as the owner role: `MIGRATION_DATABASE_URL`
/// with an external database, the embedded database's owner otherwise.
pub async fn migrate(config: &Config) -> anyhow::Result<Vec<String>> {
    match &config.database {
        DatabaseSource::External { migration_url: Some(owner_url), .. } => {
            migrations::run_pending(owner_url.expose()).await
        }
        DatabaseSource::External { migration_url: None, .. } => bail!(
            "set MIGRATION_DATABASE_URL to the role that owns the schema: the server's DATABASE_URL \
             role may not create tables, and must not own them"
        ),
        DatabaseSource::Embedded => {
            let (postgres, applied) = start_embedded_postgres(config).await?;
            postgres.stop().await?;
            Ok(applied)
        }
    }
}

/// Sets a tenant's own daily write quota, or with `None` returns it to
/// `DAILY_WRITE_QUOTA`, as the owner role (the server's role may not), and
/// records `tenant.quota_changed` by the system in the tenant's audit log.
pub async fn tenant_quota_set(config: &Config, tenant_id: Uuid, quota: Option<i32>) -> anyhow::Result<()> {
    let owner = CommandRole::Owner { needed_for: "quotas are changed as the role that owns the schema" };
    on_one_connection(config, owner, async |conn| {
        let origin = Origin::internal("cli");
        conn.transaction(async |conn| {
            db::enter_tenant(conn, db::TenantScope { tenant_id, actor_id: Uuid::nil() }).await?;
            if db::usage::tenant_write_quota_set(conn, tenant_id, quota).await? == 0 {
                return Err(Error::NotFound);
            }
            let event = NewEvent::new("tenant.quota_changed", Some(Target::tenant(tenant_id)))
                .with_metadata(serde_json::json!({ "dailyWriteQuota": quota }));
            audit::append(conn, tenant_id, &Actor::System, &origin, event).await.map(drop)
        })
        .await
        .map_err(|error| match error {
            Error::NotFound => anyhow::anyhow!("there is no tenant {tenant_id}"),
            error => anyhow::anyhow!("{error:#}"),
        })
    })
    .await
}

/// Purges what is past retention once, as the server's role, as a running
/// server does every hour; answers what it deleted.
pub async fn purge(config: &Config) -> anyhow::Result<retention::Purged> {
    on_one_connection(config, CommandRole::Server, async |conn| {
        retention::purge(conn, &config.retention, &Origin::internal("purge"))
            .await
            .map_err(|error| anyhow::anyhow!("{error:#}"))
    })
    .await
}

/// The role a one-off command connects as.
enum CommandRole {
    /// The schema's owner: with an external database,
    /// `MIGRATION_DATABASE_URL`, which the command needs for `needed_for`.
    Owner { needed_for: &'static str },
    /// The server's own role, `DATABASE_URL`.
    Server,
}

/// Runs a one-off command's `work` on one connection as `role`: to the
/// external database, or to the embedded one, started for it and stopped
/// after.
async fn on_one_connection<T>(
    config: &Config,
    role: CommandRole,
    work: impl AsyncFnOnce(&mut AsyncPgConnection) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let (url, embedded) = match (&config.database, &role) {
        (DatabaseSource::External { migration_url: Some(owner_url), .. }, CommandRole::Owner { .. }) => {
            (owner_url.expose().to_string(), None)
        }
        (DatabaseSource::External { migration_url: None, .. }, CommandRole::Owner { needed_for }) => {
            bail!("set MIGRATION_DATABASE_URL: {needed_for}")
        }
        (DatabaseSource::External { url, .. }, CommandRole::Server) => (url.expose().to_string(), None),
        (DatabaseSource::Embedded, _) => {
            let (postgres, _) = start_embedded_postgres(config).await?;
            let url = match role {
                CommandRole::Owner { .. } => postgres.owner_url(EMBEDDED_DATABASE),
                CommandRole::Server => postgres.server_url(EMBEDDED_DATABASE),
            };
            (url, Some(postgres))
        }
    };
    let connecting = match role {
        CommandRole::Owner { .. } => "connecting as the owner role",
        CommandRole::Server => "connecting as the server's role",
    };
    let result = async { work(&mut AsyncPgConnection::establish(&url).await.context(connecting)?).await }.await;
    if let Some(postgres) = embedded {
        postgres.stop().await?;
    }
    result
}

/// Starts the embedded PostgreSQL and brings its database up to date;
/// returns it with the migrations applied. Stops it again on failure.
async fn start_embedded_postgres(config: &Config) -> anyhow::Result<(EmbeddedPostgres, Vec<String>)> {
    let root = embedded_root(config);
    let postgres = EmbeddedPostgres::start(&root, config.pg_bin.as_deref())
        .await
        .with_context(|| format!("starting the embedded PostgreSQL in {}", root.display()))?;
    tracing::info!(port = postgres.port(), data = %root.display(), "embedded PostgreSQL is running");
    match postgres.migrate_database(EMBEDDED_DATABASE).await {
        Ok(applied) => Ok((postgres, applied)),
        Err(error) => Err(stop_after_failure(postgres, error).await),
    }
}

/// Leaves nothing running behind a start-up that failed.
async fn stop_after_failure(postgres: EmbeddedPostgres, error: anyhow::Error) -> anyhow::Error {
    if let Err(stop_error) = postgres.stop().await {
        tracing::warn!(error = format!("{stop_error:#}"), "stopping the embedded PostgreSQL");
    }
    error
}

fn embedded_root(config: &Config) -> std::path::PathBuf {
    config.data_dir.join("postgres")
}

#[cfg(test)]
mod tests {
    use super::public_host;

    #[test]
    fn the_public_host_is_the_base_urls_host_alone() {
        assert_eq!(public_host("https://incidents.example.com:8443/app"), "incidents.example.com");
        assert_eq!(public_host("http://127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(public_host("http://[::1]:8080"), "::1");
    }
}
