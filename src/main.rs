use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use incident_tracker::artifacts;
use incident_tracker::config::Config;
use incident_tracker::db::schema_artifacts;
use incident_tracker::server::{self, Server};
use incident_tracker::{api, telemetry};

#[derive(Parser)]
#[command(version, about = "Multi-tenant incident tracker HTTP API")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (on an embedded PostgreSQL when DATABASE_URL is unset).
    Serve,
    /// Apply pending database migrations as the owner role.
    Migrate,
    /// Write or check the OpenAPI contract files, or compare the contract
    /// with an earlier one.
    Openapi(OpenapiArgs),
    /// Write or check `schema/` (needs the diesel CLI and PostgreSQL's binaries).
    Schema(ArtifactArgs),
    /// Set a tenant's own daily write quota, or return it to DAILY_WRITE_QUOTA.
    TenantQuota(TenantQuotaArgs),
    /// Delete what is past its retention (RETENTION_*_DAYS) now, as a running
    /// server does every hour; prints the rows deleted per data class.
    Purge,
}

#[derive(clap::Args)]
struct TenantQuotaArgs {
    tenant_id: uuid::Uuid,
    #[command(flatten)]
    quota: QuotaChoice,
}

#[derive(clap::Args)]
#[group(required = true, multiple = false)]
struct QuotaChoice {
    /// Writes per UTC day for this tenant.
    #[arg(long)]
    daily_writes: Option<u32>,
    /// Use DAILY_WRITE_QUOTA again.
    #[arg(long)]
    default: bool,
}

#[derive(clap::Args)]
#[group(required = true, multiple = false)]
struct ArtifactArgs {
    /// Regenerate the files.
    #[arg(long)]
    write: bool,
    /// Fail with a diff when the committed files are stale.
    #[arg(long)]
    check: bool,
}

#[derive(clap::Args)]
#[group(required = true, multiple = false)]
struct OpenapiArgs {
    /// Regenerate the files.
    #[arg(long)]
    write: bool,
    /// Fail with a diff when the committed files are stale.
    #[arg(long)]
    check: bool,
    /// List every change since BASE (a file, or a git revision's committed
    /// contract) as compatible or breaking; fail on a breaking change
    /// without a new major `info.version`.
    #[arg(long, value_name = "BASE")]
    diff: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve => serve().await,
        Command::Migrate => migrate().await,
        Command::Openapi(OpenapiArgs { diff: Some(base), .. }) => contract_diff(&base),
        Command::Openapi(OpenapiArgs { write, check, .. }) => {
            let regenerate = "cargo run -- openapi --write";
            api::contract::artifacts().and_then(|files| apply(ArtifactArgs { write, check }, &files, regenerate))
        }
        Command::Schema(args) => schema(args).await,
        Command::TenantQuota(args) => tenant_quota(args).await,
        Command::Purge => purge().await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn load_config() -> anyhow::Result<Config> {
    Ok(Config::from_env()?)
}

async fn serve() -> anyhow::Result<()> {
    let config = load_config()?;
    let telemetry = telemetry::init(config.log_format, config.environment, config.otlp_endpoint.as_deref())?;
    // Listening before start-up, so a signal during it (initdb, migrations)
    // still ends in a clean shutdown rather than an orphaned database.
    let shutdown = shutdown_signal()?;
    let server = Server::start(&config).await?;
    println!("Incident Tracker API listening on http://{}", server.local_addr());
    shutdown.await;
    tracing::info!("shutting down: finishing in-flight requests");
    let stopped = server.shutdown().await;
    // Exporting what is buffered blocks on the network.
    tokio::task::spawn_blocking(move || telemetry.shutdown()).await?;
    stopped
}

async fn migrate() -> anyhow::Result<()> {
    let config = load_config()?;
    let _logs = telemetry::init(config.log_format, config.environment, None)?;
    let applied = server::migrate(&config).await?;
    if applied.is_empty() {
        println!("the database is up to date");
    }
    for version in applied {
        println!("applied {version}");
    }
    Ok(())
}

async fn purge() -> anyhow::Result<()> {
    let config = load_config()?;
    let _logs = telemetry::init(config.log_format, config.environment, None)?;
    let purged = server::purge(&config).await?;
    println!("{}", serde_json::to_string(&purged)?);
    Ok(())
}

async fn tenant_quota(args: TenantQuotaArgs) -> anyhow::Result<()> {
    let config = load_config()?;
    let _logs = telemetry::init(config.log_format, config.environment, None)?;
    let quota = match args.quota.daily_writes {
        Some(writes) => Some(i32::try_from(writes).map_err(|_| anyhow::anyhow!("at most {} writes a day", i32::MAX))?),
        None => None,
    };
    server::tenant_quota_set(&config, args.tenant_id, quota).await?;
    match quota {
        Some(writes) => println!("tenant {} may make {writes} writes per UTC day", args.tenant_id),
        None => println!("tenant {} uses DAILY_WRITE_QUOTA ({})", args.tenant_id, config.daily_write_quota),
    }
    Ok(())
}

async fn schema(args: ArtifactArgs) -> anyhow::Result<()> {
    let config = load_config()?;
    let files = schema_artifacts::render(config.pg_bin.as_deref()).await?;
    apply(args, &files, "cargo run -- schema --write")
}

fn contract_diff(base: &str) -> anyhow::Result<()> {
    let old = api::compatibility::base_contract(base)?;
    let report = api::compatibility::Report::new(&old, &api::contract::openapi_3_0()?)?;
    println!("{report}");
    if !report.allowed() {
        anyhow::bail!("the contract changed incompatibly since {base}");
    }
    Ok(())
}

fn apply(args: ArtifactArgs, files: &[artifacts::Artifact], regenerate: &str) -> anyhow::Result<()> {
    let repo_root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if args.check {
        return artifacts::check_all(&repo_root, files, regenerate);
    }
    for path in artifacts::write_all(&repo_root, files)? {
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// Resolves at the first SIGINT or SIGTERM; the handlers are installed
/// when this is called, not when it is awaited.
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}
