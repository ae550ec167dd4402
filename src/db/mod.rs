//! PostgreSQL: the connection pool, tenant-scoped transactions, migrations
//! and the embedded server for running without one.

pub mod api_keys;
pub mod attachments;
pub mod change_events;
pub mod embedded;
pub mod idempotency;
pub mod incidents;
pub mod invites;
pub mod migrations;
pub mod outbox;
pub mod retention;
pub mod schema_artifacts;
pub mod tenants;
pub mod two_factor;
pub mod usage;
pub mod users;
pub mod webhooks;

#[path = "../../schema/schema.rs"]
pub mod schema;

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use diesel::connection::TransactionDepthChange;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::result::DatabaseErrorKind;
use diesel::sql_types::{Bool, Text};
use diesel::{QueryResult, QueryableByName, sql_query};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, PoolableConnection, RecyclingMethod,
};
use diesel_async::{
    AnsiTransactionManager, AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection, TransactionManager,
};
use tracing::Instrument;
use uuid::Uuid;

use crate::error::Error;
use crate::telemetry::{METRICS, attribute};

pub type Pool = diesel_async::pooled_connection::bb8::Pool<AsyncPgConnection>;

/// The role migrations grant the server's privileges to. The server logs in
/// as a member of it; it is created by the first migration.
pub const APP_ROLE: &str = "incident_tracker_app";

/// How long a request waits for a pooled connection before the database
/// counts as unavailable.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(5);

pub async fn connect(url: &str, max_size: u32) -> anyhow::Result<Pool> {
    // A checkout costs no round trip: a connection is handed out unless its
    // socket has closed (a database restart closes them all, and they are
    // replaced), rather than after a `SELECT 1`, which was a fifth of a
    // simple read's round trips.
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::CustomFunction(Box::new(|conn: &mut AsyncPgConnection| {
        let broken = conn.is_broken();
        Box::pin(async move {
            if broken {
                let closed = Box::new("the database closed the connection".to_string());
                Err(diesel::result::Error::DatabaseError(DatabaseErrorKind::ClosedConnection, closed))
            } else {
                Ok(())
            }
        })
    }));
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
    Ok(Pool::builder().max_size(max_size).connection_timeout(CHECKOUT_TIMEOUT).build(manager).await?)
}

/// Fails unless `pool` logs in as a role that row-level security binds: not
/// a superuser, not BYPASSRLS and not the owner of any table, directly or
/// through a role it can act as (an owner may turn row-level security off).
/// Otherwise tenant isolation would silently rest on the code alone.
pub async fn ensure_role_is_bound_by_rls(pool: &Pool) -> anyhow::Result<()> {
    #[derive(QueryableByName)]
    struct RoleFacts {
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Bool)]
        superuser: bool,
        #[diesel(sql_type = Bool)]
        bypass_rls: bool,
        #[diesel(sql_type = Bool)]
        owns_tables: bool,
        #[diesel(sql_type = Bool)]
        reads_across_tenants: bool,
    }
    let mut conn = pool.get().await.context("connecting to the database")?;
    let facts: RoleFacts = sql_query(
        "SELECT r.rolname::text AS name, r.rolsuper AS superuser, r.rolbypassrls AS bypass_rls, \
                EXISTS (SELECT 1 FROM pg_class c WHERE pg_has_role(r.oid, c.relowner, 'MEMBER') \
                        AND c.relnamespace = 'public'::regnamespace) AS owns_tables, \
                EXISTS (SELECT 1 FROM pg_roles l WHERE l.rolname = 'incident_tracker_lookup' \
                        AND pg_has_role(r.oid, l.oid, 'MEMBER')) AS reads_across_tenants \
         FROM pg_roles r WHERE r.rolname = current_user",
    )
    .get_result(&mut conn)
    .await?;
    let mut reasons = Vec::new();
    if facts.superuser {
        reasons.push("is a superuser");
    }
    if facts.bypass_rls {
        reasons.push("has BYPASSRLS");
    }
    if facts.owns_tables {
        reasons.push("owns tables (it ran the migrations)");
    }
    if facts.reads_across_tenants {
        reasons.push("can act as incident_tracker_lookup, which reads every tenant");
    }
    if !reasons.is_empty() {
        bail!(
            "DATABASE_URL logs in as role `{}`, which {}: row-level security would not apply to it. \
             Connect as a login role that is a member of `{APP_ROLE}` and run migrations with \
             MIGRATION_DATABASE_URL (see README).",
            facts.name,
            reasons.join(" and ")
        );
    }
    Ok(())
}

/// A pooled connection, or `Unavailable` when the database does not answer
/// within the checkout timeout. Records the wait and the pool's use.
pub async fn checkout(pool: &Pool) -> Result<PooledConnection<'_>, Error> {
    let started = Instant::now();
    let conn = pool.get().await.map_err(|_| Error::Unavailable { dependencies: vec!["database"] });
    // Fresh for each use, so a span a cancelled query left open ends here,
    // not in the next request's trace.
    let conn = conn.map(|mut conn| {
        conn.set_instrumentation(StatementSpans::default());
        conn
    });
    METRICS.connection_wait.record(started.elapsed().as_secs_f64(), &[]);
    let state = pool.state();
    let used = u64::from(state.connections - state.idle_connections);
    METRICS.connections.record(used, &[attribute("db.client.connection.state", "used")]);
    METRICS.connections.record(u64::from(state.idle_connections), &[attribute("db.client.connection.state", "idle")]);
    conn
}

/// Spans for the database work of a connection: `db.transaction` from the
/// outermost `BEGIN` to its `COMMIT` or `ROLLBACK`, and a span per statement
/// within it (or within the request's span outside one), named by its verb
/// and holding its SQL text, which diesel reports without parameters when a
/// statement finishes. Statements outside any span (the workers' polling)
/// make no trace of their own. [`in_tenant_opened`] opens its transaction
/// span itself, since it sends its `BEGIN` pipelined, around diesel.
#[derive(Default)]
struct StatementSpans {
    transaction: Option<tracing::Span>,
    /// Pipelined statements are in flight together, each with its SQL text,
    /// by which its end is told from the others'.
    statements: VecDeque<(String, tracing::Span)>,
}

impl diesel::connection::Instrumentation for StatementSpans {
    fn on_connection_event(&mut self, event: diesel::connection::InstrumentationEvent<'_>) {
        use diesel::connection::InstrumentationEvent;
        if !tracing::span_enabled!(tracing::Level::INFO) {
            return;
        }
        match event {
            InstrumentationEvent::BeginTransaction { depth, .. } if depth.get() == 1 => {
                let current = tracing::Span::current();
                self.transaction = (!current.is_none()).then(|| transaction_span(&current));
            }
            InstrumentationEvent::CommitTransaction { depth, .. }
            | InstrumentationEvent::RollbackTransaction { depth, .. }
                if depth.get() == 1 =>
            {
                self.transaction = None;
                // Those of statements given up on (a failed pipeline's rest).
                self.statements.clear();
            }
            InstrumentationEvent::StartQuery { query, .. } => {
                let parent = self.transaction.clone().unwrap_or_else(tracing::Span::current);
                if parent.is_none() {
                    return;
                }
                let statement = tracing::info_span!(
                    parent: &parent,
                    "db.statement",
                    otel.name = tracing::field::Empty,
                    otel.kind = "client",
                    otel.status_code = tracing::field::Empty,
                    db.system.name = "postgresql",
                    db.operation.name = tracing::field::Empty,
                    db.query.text = tracing::field::Empty,
                );
                self.statements.push_back((statement_text(&query.to_string()).to_owned(), statement));
            }
            InstrumentationEvent::FinishQuery { query, error, .. } => {
                let text = query.to_string();
                let sql = statement_text(&text);
                let Some(position) = self.statements.iter().position(|(started, _)| started == sql) else { return };
                let Some((_, statement)) = self.statements.remove(position) else { return };
                let verb = sql.split_whitespace().next().unwrap_or_default();
                let operation = verb.trim_end_matches(';').to_ascii_uppercase();
                statement.record("otel.name", operation.as_str());
                statement.record("db.operation.name", operation.as_str());
                statement.record("db.query.text", sql);
                if error.is_some() {
                    statement.record("otel.status_code", "error");
                }
            }
            _ => {}
        }
    }
}

/// A transaction's span, a child of `parent`; none outside any span.
fn transaction_span(parent: &tracing::Span) -> tracing::Span {
    if parent.is_none() {
        return tracing::Span::none();
    }
    tracing::info_span!(parent: parent, "db.transaction", otel.kind = "client", db.system.name = "postgresql")
}

/// A statement as diesel prints it, without the `-- binds: [...]` a
/// statement's debug form appends: parameters hold emails, password hashes
/// and token digests.
fn statement_text(printed: &str) -> &str {
    printed.split(" -- binds:").next().unwrap_or_default().trim()
}

pub type PooledConnection<'a> = bb8::PooledConnection<'a, AsyncDieselConnectionManager<AsyncPgConnection>>;

/// A statement each connection prepares once and then reuses, as it does
/// most statements built with diesel's DSL. Diesel prepares and plans afresh,
/// on every use, any statement whose text could vary from call to call:
/// `sql_query`, `UPDATE`, `ON CONFLICT DO UPDATE` and inserts with optional
/// values; that costs a round trip and a plan each time. Wrapped, it is
/// cached by its text, so wrap only statements whose text takes few forms.
pub fn prepared<Q>(query: Q) -> Prepared<Q> {
    Prepared(query)
}

#[derive(Debug)]
pub struct Prepared<Q>(Q);

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Prepared<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    // Cached by its SQL text and bind types (it has no static query id).
    fn is_safe_to_cache_prepared(&self, _backend: &Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}

/// Whether the database answers a trivial query.
pub async fn ping(pool: &Pool) -> bool {
    let Ok(mut conn) = pool.get().await else { return false };
    sql_query("SELECT 1").execute(&mut conn).await.is_ok()
}

/// Who a tenant-scoped transaction works for. Row-level security policies
/// read these through `current_setting('app.tenant_id')`.
#[derive(Clone, Copy, Debug)]
pub struct TenantScope {
    pub tenant_id: Uuid,
    pub actor_id: Uuid,
}

/// A boxed future borrowing the connection: what [`in_tenant`]'s work returns
/// (`|conn| Box::pin(async move { ... })`), since a closure's future cannot
/// yet be required to be `Send` without boxing.
pub type BoxFuture<'c, T> = Pin<Box<dyn Future<Output = T> + Send + 'c>>;

/// Runs `work` in one transaction that can see and write only `scope`'s
/// tenant: the settings are transaction-local (`SET LOCAL`), so they cannot
/// leak to the next user of the pooled connection.
pub async fn in_tenant<R, F>(pool: &Pool, scope: TenantScope, work: F) -> Result<R, Error>
where
    R: Send,
    F: for<'c> FnOnce(&'c mut AsyncPgConnection) -> BoxFuture<'c, Result<R, Error>> + Send,
{
    in_tenant_opened(pool, scope, Access::Write, |_| Box::pin(async { Ok(()) }), |conn, ()| work(conn)).await
}

/// Whether a transaction may write. PostgreSQL refuses a read-only one
/// writes to tables and row locks.
#[derive(Clone, Copy, Debug)]
pub enum Access {
    Read,
    Write,
}

/// [`in_tenant`], with `opening`'s statements sent right behind the `BEGIN`
/// and the scope, without waiting for their answer: once the statements are
/// prepared on the connection, all of them share one round trip. What
/// `opening` reads is handed to `work`.
pub async fn in_tenant_opened<T, R, O, F>(
    pool: &Pool,
    scope: TenantScope,
    access: Access,
    opening: O,
    work: F,
) -> Result<R, Error>
where
    T: Send,
    R: Send,
    O: for<'c> FnOnce(&'c AsyncPgConnection) -> BoxFuture<'c, QueryResult<T>> + Send,
    F: for<'c> FnOnce(&'c mut AsyncPgConnection, T) -> BoxFuture<'c, Result<R, Error>> + Send,
{
    let mut conn = checkout(pool).await?;
    let conn = &mut *conn;
    async move {
        // Counted as open before anything is sent: should the request be
        // cancelled half way, the pool discards the connection rather than
        // hand a transaction on.
        AnsiTransactionManager::transaction_manager_status_mut(conn)
            .transaction_state()?
            .change_transaction_depth(TransactionDepthChange::IncreaseDepth)?;
        // The simple query protocol carries the three statements in one
        // message, which the connection sends before any of `opening`'s: a
        // future sends when first polled, and `join` polls in order. What
        // goes into the text are formatted UUIDs, never anyone's input.
        let begin = match access {
            Access::Read => "BEGIN READ ONLY",
            Access::Write => "BEGIN",
        };
        let begin = format!(
            "{begin}; SET LOCAL app.tenant_id = '{}'; SET LOCAL app.actor_id = '{}'",
            scope.tenant_id, scope.actor_id
        );
        let shared: &AsyncPgConnection = conn;
        let (began, opened) = futures::future::join((&mut &*shared).batch_execute(&begin), opening(shared)).await;
        if let Err(error) = began {
            // The batch may have failed after its BEGIN, leaving the session
            // in a failed transaction diesel cannot account for: marked
            // broken, the connection is closed rather than handed on.
            AnsiTransactionManager::transaction_manager_status_mut(conn).set_in_error();
            return Err(error.into());
        }
        let opened = match opened {
            Ok(opened) => opened,
            Err(error) => return Err(rolled_back(conn, error.into()).await),
        };
        match work(conn, opened).await {
            Ok(value) => {
                AnsiTransactionManager::commit_transaction(conn).await?;
                Ok(value)
            }
            Err(error) => Err(rolled_back(conn, error).await),
        }
    }
    .instrument(transaction_span(&tracing::Span::current()))
    .await
}

/// Rolls the transaction back after `error`. As diesel's own `transaction`
/// does, `error` is the one to report, unless rolling back failed for a
/// reason of its own.
async fn rolled_back(conn: &mut AsyncPgConnection, error: Error) -> Error {
    match AnsiTransactionManager::rollback_transaction(conn).await {
        Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => error,
        Err(rollback) => rollback.into(),
    }
}

/// Scopes the rest of the current transaction to `scope`'s tenant. Only for
/// a transaction that works in several tenants one after another; anything
/// else uses [`in_tenant`].
pub async fn enter_tenant(conn: &mut AsyncPgConnection, scope: TenantScope) -> QueryResult<()> {
    prepared(
        sql_query("SELECT set_config('app.tenant_id', $1, true), set_config('app.actor_id', $2, true)")
            .bind::<Text, _>(scope.tenant_id.to_string())
            .bind::<Text, _>(scope.actor_id.to_string()),
    )
    .execute(conn)
    .await
    .map(drop)
}
