//! An embedded PostgreSQL server: the machine's own PostgreSQL binaries,
//! run on a free loopback port with the data in a directory of ours.
//!
//! This is what `serve` uses without `DATABASE_URL`, and what the test
//! harness shares between test processes. PostgreSQL refuses to run as root,
//! so as root its processes run as the `postgres` user (or `nobody`).

use std::ffi::OsString;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use diesel::sql_types::{Bool, Text};
use diesel::{QueryableByName, sql_query};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use nix::fcntl::{Flock, FlockArg};
use nix::unistd::{Uid, User};
use serde::{Deserialize, Serialize};
use tokio::process::Command;

use super::{APP_ROLE, migrations};

/// The bootstrap superuser; owns the schema and runs the migrations.
pub const OWNER_ROLE: &str = "incident_tracker_owner";
/// The login role the server connects as: a member of [`APP_ROLE`].
pub const SERVER_ROLE: &str = "incident_tracker_server";

/// Passwords generated when the cluster is created, kept beside it (0600).
#[derive(Serialize, Deserialize)]
struct Credentials {
    owner_password: String,
    server_password: String,
}

pub struct EmbeddedPostgres {
    cluster_dir: PathBuf,
    bin_dir: PathBuf,
    run_as: Option<User>,
    port: u16,
    /// Whether this handle started the postmaster, rather than finding it
    /// running; only then does [`EmbeddedPostgres::stop`] stop it.
    launched: bool,
    credentials: Credentials,
}

impl EmbeddedPostgres {
    /// Starts the cluster under `root`, creating it on first use, or attaches
    /// to the one already running there. Processes starting the same cluster
    /// at once take turns, so only one creates or launches it.
    pub async fn start(root: &Path, pg_bin: Option<&Path>) -> anyhow::Result<EmbeddedPostgres> {
        let bin_dir = find_bin_dir(pg_bin)?;
        std::fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
        let root = root.canonicalize()?;
        let run_as = unprivileged_user()?;
        if let Some(user) = &run_as {
            ensure_reachable_by(user, &root).await?;
        }
        let lock_file = std::fs::File::create(root.join("lock"))?;
        let _lock = tokio::task::spawn_blocking(move || Flock::lock(lock_file, FlockArg::LockExclusive))
            .await?
            .map_err(|(_, errno)| anyhow::anyhow!("locking {}: {errno}", root.display()))?;
        let cluster_dir = root.join("cluster");
        let credentials_path = root.join("credentials.json");
        let initialized = cluster_dir.join("PG_VERSION").exists();

        let credentials = if initialized {
            let raw = std::fs::read_to_string(&credentials_path).with_context(|| {
                format!(
                    "{} is missing: the cluster in {} cannot be used without it (delete the directory to start afresh)",
                    credentials_path.display(),
                    root.display()
                )
            })?;
            serde_json::from_str(&raw)?
        } else {
            let credentials = Credentials { owner_password: random_secret(), server_password: random_secret() };
            write_private(&credentials_path, &serde_json::to_string(&credentials)?, None)?;
            credentials
        };

        let mut postgres = EmbeddedPostgres { cluster_dir, bin_dir, run_as, port: 0, launched: false, credentials };
        if !initialized {
            postgres.init(&root).await?;
        }
        match postgres.running_port().await {
            Some(port) => postgres.port = port,
            None => {
                postgres.port = postgres.launch().await?;
                postgres.launched = true;
            }
        }
        Ok(postgres)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Where the PostgreSQL binaries in use live; client tools such as
    /// `pg_dump` must come from the same version.
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    pub fn owner_password(&self) -> &str {
        &self.credentials.owner_password
    }

    /// A URL for `database` as the owner: for migrations and administration.
    pub fn owner_url(&self, database: &str) -> String {
        format!("postgres://{OWNER_ROLE}:{}@127.0.0.1:{}/{database}", self.credentials.owner_password, self.port)
    }

    /// A URL for `database` as the server's login role, which row-level
    /// security binds.
    pub fn server_url(&self, database: &str) -> String {
        format!("postgres://{SERVER_ROLE}:{}@127.0.0.1:{}/{database}", self.credentials.server_password, self.port)
    }

    pub async fn database_exists(&self, name: &str) -> anyhow::Result<bool> {
        #[derive(QueryableByName)]
        struct Exists {
            #[diesel(sql_type = Bool)]
            exists: bool,
        }
        let mut conn = AsyncPgConnection::establish(&self.owner_url("postgres")).await?;
        let found: Exists = sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
            .bind::<Text, _>(name)
            .get_result(&mut conn)
            .await?;
        Ok(found.exists)
    }

    /// Makes `name` ready for the server: created if missing, migrated, and
    /// with the server's login role in place. Returns the migrations applied.
    pub async fn migrate_database(&self, name: &str) -> anyhow::Result<Vec<String>> {
        if !self.database_exists(name).await? {
            let mut conn = AsyncPgConnection::establish(&self.owner_url("postgres")).await?;
            sql_query(format!("CREATE DATABASE {}", quote_identifier(name))).execute(&mut conn).await?;
        }
        let applied = migrations::run_pending(&self.owner_url(name)).await?;
        self.ensure_server_role(name).await?;
        Ok(applied)
    }

    /// Creates the server's login role, with the password generated with the
    /// cluster, as a member of [`APP_ROLE`], which the migrations create.
    async fn ensure_server_role(&self, migrated_database: &str) -> anyhow::Result<()> {
        let mut conn = AsyncPgConnection::establish(&self.owner_url(migrated_database)).await?;
        let password = quote_literal(&self.credentials.server_password);
        sql_query(format!(
            "DO $$ BEGIN \
               IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{SERVER_ROLE}') THEN \
                 CREATE ROLE {SERVER_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS IN ROLE {APP_ROLE} PASSWORD {password}; \
               END IF; \
             END $$"
        ))
        .execute(&mut conn)
        .await?;
        Ok(())
    }

    /// Stops the server, letting open transactions roll back, if this handle
    /// launched it; one that was already running belongs to whoever started
    /// it (another `serve`, say) and is left alone.
    pub async fn stop(&self) -> anyhow::Result<()> {
        if self.launched {
            self.pg_ctl(&["stop", "-m", "fast", "-w"]).await?;
            tracing::info!(cluster = %self.cluster_dir.display(), "embedded PostgreSQL stopped");
        }
        Ok(())
    }

    async fn init(&self, root: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.cluster_dir)?;
        std::fs::set_permissions(&self.cluster_dir, std::fs::Permissions::from_mode(0o700))?;
        let password_file = root.join(".initdb-password");
        write_private(&password_file, &self.credentials.owner_password, self.run_as.as_ref())?;
        if let Some(user) = &self.run_as {
            nix::unistd::chown(&self.cluster_dir, Some(user.uid), Some(user.gid))?;
        }
        let result = self
            .run(
                "initdb",
                &[
                    "-D".into(),
                    self.cluster_dir.clone().into(),
                    "-U".into(),
                    OWNER_ROLE.into(),
                    "--auth=scram-sha-256".into(),
                    format!("--pwfile={}", password_file.display()).into(),
                    "--encoding=UTF8".into(),
                    "--no-locale".into(),
                ],
            )
            .await;
        std::fs::remove_file(&password_file)?;
        result.map(drop)
    }

    /// Starts the postmaster on a loopback port, TCP only: the port it had
    /// last time when that is free, so clients and pooled connections find
    /// it again after a restart.
    async fn launch(&self) -> anyhow::Result<u16> {
        let port_file = self.cluster_dir.with_file_name("port");
        let previous = std::fs::read_to_string(&port_file).ok().and_then(|port| port.trim().parse().ok());
        let port = match previous {
            Some(port) if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() => port,
            _ => TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port(),
        };
        std::fs::write(&port_file, port.to_string())?;
        let log_file = self.cluster_dir.join("server.log");
        let options = format!("-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''");
        let started =
            self.pg_ctl(&["start", "-w", "-t", "60", "-l", &log_file.to_string_lossy(), "-o", &options]).await;
        if let Err(error) = started {
            let log = std::fs::read_to_string(&log_file).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(10).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            bail!("{error:#}\nlast lines of {}:\n{}", log_file.display(), tail.join("\n"));
        }
        Ok(port)
    }

    /// The port of a postmaster already serving this cluster, if any (for
    /// instance one left behind by a process that was killed).
    async fn running_port(&self) -> Option<u16> {
        self.pg_ctl(&["status"]).await.ok()?;
        let pid_file = std::fs::read_to_string(self.cluster_dir.join("postmaster.pid")).ok()?;
        // postmaster.pid's fourth line is the port.
        pid_file.lines().nth(3)?.trim().parse().ok()
    }

    async fn pg_ctl(&self, args: &[&str]) -> anyhow::Result<String> {
        let mut full: Vec<OsString> = vec!["-D".into(), self.cluster_dir.clone().into()];
        full.extend(args.iter().map(OsString::from));
        self.run("pg_ctl", &full).await
    }

    async fn run(&self, program: &str, args: &[OsString]) -> anyhow::Result<String> {
        let mut command = Command::new(self.bin_dir.join(program));
        command.args(args).current_dir(&self.cluster_dir).kill_on_drop(false);
        if let Some(user) = &self.run_as {
            command.uid(user.uid.as_raw()).gid(user.gid.as_raw()).env("HOME", &self.cluster_dir);
        }
        let output = command.output().await.with_context(|| format!("running {program}"))?;
        if !output.status.success() {
            bail!(
                "{program} failed: {}\n{}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout).trim(),
                String::from_utf8_lossy(&output.stderr).trim(),
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

/// PostgreSQL's binaries: `PG_BIN`, else `pg_config --bindir`, else the
/// directory of `initdb` on PATH, else the newest `/usr/lib/postgresql/*/bin`.
fn find_bin_dir(pg_bin: Option<&Path>) -> anyhow::Result<PathBuf> {
    let has_binaries = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = pg_bin {
        if has_binaries(dir) {
            return Ok(dir.to_path_buf());
        }
        bail!("PG_BIN={} does not contain initdb and pg_ctl", dir.display());
    }
    let from_pg_config = std::process::Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()));
    let from_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("initdb"))
            .find(|initdb| initdb.is_file())
            .and_then(|initdb| initdb.canonicalize().ok())
            .and_then(|initdb| initdb.parent().map(Path::to_path_buf))
    });
    let mut versioned: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| entries.filter_map(|entry| entry.ok()).map(|entry| entry.path().join("bin")).collect())
        .unwrap_or_default();
    versioned.sort_by_key(|dir| {
        dir.parent()
            .and_then(|version| version.file_name())
            .and_then(|name| name.to_str())
            .and_then(|name| name.parse::<u32>().ok())
    });
    from_pg_config
        .into_iter()
        .chain(from_path)
        .chain(versioned.into_iter().rev())
        .find(|dir| has_binaries(dir))
        .context(
            "no PostgreSQL server binaries found (looked at pg_config, PATH and /usr/lib/postgresql); \
             install PostgreSQL, set PG_BIN, or set DATABASE_URL",
        )
}

/// As root, the user PostgreSQL's processes run as.
fn unprivileged_user() -> anyhow::Result<Option<User>> {
    if !Uid::effective().is_root() {
        return Ok(None);
    }
    for name in ["postgres", "nobody"] {
        if let Some(user) = User::from_name(name)? {
            return Ok(Some(user));
        }
    }
    bail!("running as root, but there is neither a `postgres` nor a `nobody` user for PostgreSQL to run as")
}

/// Fails with the fix spelled out when `user` cannot enter `dir`, as when
/// the checkout lies under root's private home directory: otherwise initdb
/// would fail later with a less helpful message.
async fn ensure_reachable_by(user: &User, dir: &Path) -> anyhow::Result<()> {
    // Spawned the way PostgreSQL's processes are, so the answer is theirs.
    let reachable = Command::new("test")
        .arg("-x")
        .arg(dir)
        .uid(user.uid.as_raw())
        .gid(user.gid.as_raw())
        .status()
        .await
        .with_context(|| format!("checking that user `{}` can reach {}", user.name, dir.display()))?
        .success();
    if !reachable {
        bail!(
            "PostgreSQL runs as user `{}` (it refuses to run as root), and that user cannot reach {}: \
             a directory above it is closed to other users. Set DATA_DIR to a directory it can reach, \
             e.g. DATA_DIR=/var/lib/incident-tracker",
            user.name,
            dir.display()
        );
    }
    Ok(())
}

fn random_secret() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

fn write_private(path: &Path, contents: &str, owner: Option<&User>) -> anyhow::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    if let Some(user) = owner {
        nix::unistd::chown(path, Some(user.uid), Some(user.gid))?;
    }
    Ok(())
}

pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}
