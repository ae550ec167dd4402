//! The test harness.
//!
//! One PostgreSQL cluster serves the whole test run: nextest runs every test
//! in its own process, so the first process to take the lock file starts it
//! and the others attach. A template database is migrated once per set of
//! migrations; every test gets its own database cloned from it, and its own
//! server on 127.0.0.1:0, reached through the generated client.

pub mod browser;
pub mod clamd;
pub mod otlp;
pub mod receiver;
pub mod redis;
pub mod s3;
pub mod smtp;

use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use diesel::sql_query;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use incident_tracker::config::Config;
use incident_tracker::db::embedded::{EmbeddedPostgres, quote_identifier};
use incident_tracker::server::Server;
use incident_tracker_client::Client;
use nix::fcntl::{Flock, FlockArg};
use tokio::sync::OnceCell;

/// Where the shared test cluster lives: `INCIDENT_TRACKER_TEST_ROOT`, which
/// `scripts/test` makes afresh for each run and removes after it, or else a
/// directory under the system's temporary directory that stays up between
/// runs while iterating. Never inside the checkout, which the unprivileged
/// user PostgreSQL runs as may not be able to reach.
pub fn shared_cluster_root() -> PathBuf {
    std::env::var_os("INCIDENT_TRACKER_TEST_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("incident-tracker-tests"))
}

/// The run's shared cluster and this checkout's migrated template.
pub struct SharedPostgres {
    pub postgres: EmbeddedPostgres,
    template: String,
}

static SHARED: OnceCell<SharedPostgres> = OnceCell::const_new();

pub async fn shared_postgres() -> &'static SharedPostgres {
    SHARED.get_or_init(|| async { start_shared().await.expect("starting the shared test PostgreSQL") }).await
}

async fn start_shared() -> anyhow::Result<SharedPostgres> {
    let root = shared_cluster_root();
    std::fs::create_dir_all(&root)?;
    let lock_file = std::fs::File::create(root.join("lock"))?;
    let _lock = tokio::task::spawn_blocking(move || Flock::lock(lock_file, FlockArg::LockExclusive))
        .await?
        .map_err(|(_, errno)| anyhow::anyhow!("locking the test cluster: {errno}"))?;

    let postgres = EmbeddedPostgres::start(&root.join("postgres"), None).await?;
    let template = format!("template_{:016x}", migrations_fingerprint()?);
    if !postgres.database_exists(&template).await? {
        // Built under another name and renamed when complete, so a run that
        // dies halfway never leaves a half-migrated template behind.
        let partial = format!("{template}_partial");
        let mut admin = AsyncPgConnection::establish(&postgres.owner_url("postgres")).await?;
        sql_query(format!("DROP DATABASE IF EXISTS {}", quote_identifier(&partial))).execute(&mut admin).await?;
        postgres.migrate_database(&partial).await?;
        sql_query(format!("ALTER DATABASE {} RENAME TO {}", quote_identifier(&partial), quote_identifier(&template)))
            .execute(&mut admin)
            .await?;
    }
    Ok(SharedPostgres { postgres, template })
}

/// Changes whenever a migration does, so an edited migration gets a new
/// template instead of a stale one.
fn migrations_fingerprint() -> anyhow::Result<u64> {
    let mut files = Vec::new();
    collect_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations"), &mut files)?;
    files.sort();
    let mut hasher = DefaultHasher::new();
    for file in files {
        file.hash(&mut hasher);
        std::fs::read(&file)?.hash(&mut hasher);
    }
    Ok(hasher.finish())
}

/// Every file below `dir`, at any depth.
pub fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() { collect_files(&path, files)? } else { files.push(path) }
    }
    Ok(())
}

/// A loopback port nothing listens on, for a server the test starts; the
/// probe listener is dropped before the server binds it.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port()
}

/// A fresh directory under the system's temporary directory, which the
/// unprivileged user PostgreSQL runs as can reach.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("incident-tracker-{name}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A database of this test's own, on the shared cluster.
pub struct TestDatabase {
    pub owner_url: String,
    pub server_url: String,
}

impl TestDatabase {
    /// A clone of the migrated template.
    pub async fn migrated() -> TestDatabase {
        let shared = shared_postgres().await;
        TestDatabase::create(&format!("TEMPLATE {}", quote_identifier(&shared.template))).await
    }

    /// An empty database, for tests that run the migrations themselves.
    pub async fn empty() -> TestDatabase {
        TestDatabase::create("TEMPLATE template0").await
    }

    async fn create(template_clause: &str) -> TestDatabase {
        let postgres = &shared_postgres().await.postgres;
        let name = format!("test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = AsyncPgConnection::establish(&postgres.owner_url("postgres")).await.unwrap();
        sql_query(format!("CREATE DATABASE {} {template_clause}", quote_identifier(&name)))
            .execute(&mut admin)
            .await
            .unwrap();
        TestDatabase { owner_url: postgres.owner_url(&name), server_url: postgres.server_url(&name) }
    }

    /// A connection as the owner, for arranging and inspecting what the
    /// server's role may not touch.
    pub async fn owner_connection(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(&self.owner_url).await.unwrap()
    }
}

/// Settings as the server reads them, for a server on a free loopback port;
/// the test's own settings win.
pub fn config(vars: &[(&str, &str)]) -> Config {
    // A data directory of its own under the run's root, unless the test
    // names one: mail a test sends never lands in the checkout's `.data/`.
    let data_dir = shared_cluster_root().join("data").join(uuid::Uuid::new_v4().simple().to_string());
    let mut all = vec![
        ("BIND_ADDRESS".to_string(), "127.0.0.1:0".to_string()),
        ("DATA_DIR".to_string(), data_dir.to_string_lossy().into_owned()),
    ];
    all.extend(vars.iter().map(|(name, value)| (name.to_string(), value.to_string())));
    Config::from_vars(all).expect("valid test configuration")
}

/// A running server on its own database, and a client for it.
pub struct TestApp {
    pub server: Server,
    pub client: Client,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(&[]).await
    }

    /// With extra settings, e.g. `REDIS_URL`.
    pub async fn spawn_with(vars: &[(&str, &str)]) -> TestApp {
        TestApp::spawn_on(&TestDatabase::migrated().await, vars).await
    }

    /// On a database the test also inspects as the owner.
    pub async fn spawn_on(database: &TestDatabase, vars: &[(&str, &str)]) -> TestApp {
        log_to_suite_file();
        let mut all = vec![("DATABASE_URL", database.server_url.as_str())];
        all.extend_from_slice(vars);
        let server = Server::start(&config(&all)).await.expect("starting the server");
        let client = Client::new(&base_url(server.local_addr()));
        TestApp { server, client }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", base_url(self.server.local_addr()))
    }
}

/// A mail with quoted-printable soft breaks and `=` escapes undone.
pub fn readable(raw_mail: &str) -> String {
    raw_mail.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=")
}

/// The complete mails in `dir` (the `.eml` files of the embedded default,
/// or an SMTP sink's Maildir), readable. Names starting with a dot are still
/// being written.
pub fn delivered_mails(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.file_name().is_some_and(|name| !name.to_string_lossy().starts_with('.')))
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .map(|mail| readable(&mail))
        .collect()
}

/// Waits for a complete mail in `dir` that `wanted` accepts, and returns it
/// readable.
pub async fn wait_for_mail_where(dir: &Path, wanted: impl Fn(&str) -> bool) -> String {
    for _ in 0..200 {
        if let Some(mail) = delivered_mails(dir).into_iter().find(|mail| wanted(mail)) {
            return mail;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the awaited mail did not arrive in {}", dir.display());
}

/// The first complete mail to arrive in `dir`.
pub async fn wait_for_mail(dir: &Path) -> String {
    wait_for_mail_where(dir, |_| true).await
}

/// A complete mail to `recipient` in `dir`.
pub async fn mail_to(dir: &Path, recipient: &str) -> String {
    let to = format!("To: {recipient}");
    wait_for_mail_where(dir, |mail| mail.lines().any(|line| line.eq_ignore_ascii_case(&to))).await
}

/// The one number a `SELECT count(*) AS count ...` answers.
pub async fn count(conn: &mut AsyncPgConnection, query: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
    }
    sql_query(query).get_result::<Count>(conn).await.unwrap().count
}

/// The actions of a tenant's audit chain, oldest first, as stored.
pub async fn audit_actions(owner: &mut AsyncPgConnection, tenant_id: uuid::Uuid) -> Vec<String> {
    use diesel::{ExpressionMethods, QueryDsl};
    use incident_tracker::db::schema::audit_events;

    audit_events::table
        .filter(audit_events::tenant_id.eq(tenant_id))
        .order(audit_events::seq)
        .select(audit_events::action)
        .load(owner)
        .await
        .unwrap()
}

pub fn base_url(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

/// The `x-request-id` header, which every response carries.
pub fn request_id(response: &reqwest::Response) -> String {
    response.headers().get("x-request-id").expect("every response carries x-request-id").to_str().unwrap().to_string()
}

/// What the server logs at debug level, to a file of this test process
/// under the run's root, unless the test installed a subscriber of its own
/// first ([`capture_logs`], or telemetry export). `scripts/test` searches
/// all of them for the tests' secrets once the suite has run.
fn log_to_suite_file() {
    let dir = shared_cluster_root().join("logs");
    let Ok(file) = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::File::create(dir.join(format!("{}.log", std::process::id()))))
    else {
        return;
    };
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            incident_tracker::telemetry::log_filter("debug")
                .add_directive("cookie_store=off".parse().unwrap())
                .add_directive("reqwest=off".parse().unwrap()),
        )
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
}

/// Everything this test process logs from now on, through the server's own
/// filter at debug level: nextest runs each test in a process of its own.
pub fn capture_logs() -> CapturedLogs {
    let captured = CapturedLogs::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_env_filter(
            incident_tracker::telemetry::log_filter("debug")
                // The test's own HTTP client logs the cookies it stores;
                // only what the server logs is under test.
                .add_directive("cookie_store=off".parse().unwrap())
                .add_directive("reqwest=off".parse().unwrap()),
        )
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .try_init()
        .expect("the first subscriber of this test process");
    captured
}

#[derive(Clone, Default)]
pub struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLogs {
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
