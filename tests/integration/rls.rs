//! Proof on the live database that tenants are isolated by PostgreSQL
//! itself, not only by the code.

use std::time::Duration;

use diesel::sql_types::{Bool, Text, Uuid as SqlUuid};
use diesel::{QueryResult, sql_query};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use incident_tracker::db::{self, Access, TenantScope};
use incident_tracker::error::Error;
use uuid::Uuid;

use crate::common::TestDatabase;

#[derive(diesel::QueryableByName)]
struct TenantTable {
    #[diesel(sql_type = Text)]
    name: String,
    /// Row-level security enabled and forced, with a policy.
    #[diesel(sql_type = Bool)]
    isolated: bool,
}

/// Every table in `public` with a `tenant_id` column.
async fn tenant_tables(conn: &mut AsyncPgConnection) -> Vec<TenantTable> {
    sql_query(
        "SELECT c.relname::text AS name, \
                (c.relrowsecurity AND c.relforcerowsecurity \
                 AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)) AS isolated \
         FROM pg_class c \
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped \
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') \
         ORDER BY 1",
    )
    .load(conn)
    .await
    .unwrap()
}

async fn unprotected_tenant_tables(conn: &mut AsyncPgConnection) -> Vec<String> {
    tenant_tables(conn).await.into_iter().filter(|table| !table.isolated).map(|table| table.name).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_tenant_table_has_row_level_security_enabled_and_forced() {
    let database = TestDatabase::migrated().await;
    let mut owner = database.owner_connection().await;
    assert_eq!(unprotected_tenant_tables(&mut owner).await, Vec::<String>::new());

    // The check itself catches a table that forgot the scaffold.
    sql_query("CREATE TABLE forgotten (id uuid PRIMARY KEY, tenant_id uuid NOT NULL)")
        .execute(&mut owner)
        .await
        .unwrap();
    assert_eq!(unprotected_tenant_tables(&mut owner).await, vec!["forgotten".to_string()]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_servers_role_is_bound_by_row_level_security() {
    #[derive(diesel::QueryableByName)]
    struct Facts {
        #[diesel(sql_type = Bool)]
        superuser: bool,
        #[diesel(sql_type = Bool)]
        bypass_rls: bool,
    }
    let database = TestDatabase::migrated().await;
    let mut server = AsyncPgConnection::establish(&database.server_url).await.unwrap();
    let facts: Facts = sql_query(
        "SELECT rolsuper AS superuser, rolbypassrls AS bypass_rls FROM pg_roles WHERE rolname = current_user",
    )
    .get_result(&mut server)
    .await
    .unwrap();
    assert!(!facts.superuser && !facts.bypass_rls);
    let pool = db::connect(&database.server_url, 2).await.unwrap();
    db::ensure_role_is_bound_by_rls(&pool).await.expect("the server's role passes the start-up check");

    let owner_pool = db::connect(&database.owner_url, 2).await.unwrap();
    let refused = db::ensure_role_is_bound_by_rls(&owner_pool).await.unwrap_err().to_string();
    assert!(refused.contains("superuser"), "{refused}");
}

#[derive(diesel::QueryableByName, Debug, PartialEq)]
struct Note {
    #[diesel(sql_type = SqlUuid)]
    tenant_id: Uuid,
    #[diesel(sql_type = Text)]
    body: String,
}

async fn insert_note(pool: &db::Pool, scope: TenantScope, tenant_id: Uuid, body: &str) -> Result<(), Error> {
    let body = body.to_string();
    db::in_tenant(pool, scope, move |conn| {
        Box::pin(async move {
            sql_query("INSERT INTO rls_probe (tenant_id, body) VALUES ($1, $2)")
                .bind::<SqlUuid, _>(tenant_id)
                .bind::<Text, _>(body)
                .execute(conn)
                .await?;
            Ok(())
        })
    })
    .await
}

async fn visible_notes(pool: &db::Pool, scope: Option<TenantScope>) -> Vec<Note> {
    let query = "SELECT tenant_id, body FROM rls_probe ORDER BY body";
    match scope {
        Some(scope) => {
            db::in_tenant(pool, scope, move |conn| Box::pin(async move { Ok(sql_query(query).load(conn).await?) }))
                .await
                .unwrap()
        }
        None => sql_query(query).load(&mut pool.get().await.unwrap()).await.unwrap(),
    }
}

/// A tenant-scoped table made with the migrations' scaffold: the server's
/// role, through `db::in_tenant`, sees and writes only the tenant set, and
/// nothing at all when no tenant is set.
#[tokio::test(flavor = "multi_thread")]
async fn the_servers_role_sees_only_the_tenant_it_set() {
    let database = TestDatabase::migrated().await;
    let mut owner = database.owner_connection().await;
    for statement in [
        "CREATE TABLE rls_probe (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), tenant_id uuid NOT NULL, body text NOT NULL)",
        "SELECT enable_tenant_isolation('rls_probe')",
        "GRANT SELECT, INSERT ON rls_probe TO incident_tracker_app",
    ] {
        sql_query(statement).execute(&mut owner).await.unwrap();
    }
    let tables = tenant_tables(&mut owner).await;
    assert!(tables.iter().any(|table| table.name == "rls_probe" && table.isolated));

    let pool = db::connect(&database.server_url, 2).await.unwrap();
    let (tenant_a, tenant_b) = (Uuid::new_v4(), Uuid::new_v4());
    let scope_a = TenantScope { tenant_id: tenant_a, actor_id: Uuid::new_v4() };
    let scope_b = TenantScope { tenant_id: tenant_b, actor_id: Uuid::new_v4() };
    insert_note(&pool, scope_a, tenant_a, "a1").await.unwrap();
    insert_note(&pool, scope_b, tenant_b, "b1").await.unwrap();

    assert_eq!(visible_notes(&pool, Some(scope_a)).await, vec![Note { tenant_id: tenant_a, body: "a1".into() }]);
    assert_eq!(visible_notes(&pool, Some(scope_b)).await, vec![Note { tenant_id: tenant_b, body: "b1".into() }]);
    assert_eq!(visible_notes(&pool, None).await, vec![], "no tenant set, no rows");

    let smuggled = insert_note(&pool, scope_a, tenant_b, "written into b from a").await;
    assert!(smuggled.is_err(), "WITH CHECK refuses rows of another tenant");
    assert_eq!(visible_notes(&pool, Some(scope_b)).await.len(), 1);

    // The tenant setting is transaction-local: a pooled connection reused
    // after a tenant transaction sees nothing.
    let pool_of_one = db::connect(&database.server_url, 1).await.unwrap();
    assert_eq!(visible_notes(&pool_of_one, Some(scope_a)).await.len(), 1);
    assert_eq!(visible_notes(&pool_of_one, None).await, vec![]);
}

/// The tenancy tables, filled through the API by two tenants, show the
/// server's role one tenant's rows in that tenant's scope, and none without.
#[tokio::test(flavor = "multi_thread")]
async fn tenancy_tables_show_only_the_scoped_tenants_rows() {
    use incident_tracker_client::types::Role;

    #[derive(diesel::QueryableByName)]
    struct Rows {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        ours: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        theirs: i64,
    }

    let database = TestDatabase::migrated().await;
    let app = crate::common::TestApp::spawn_on(&database, &[]).await;
    let mut tenants = Vec::new();
    for name in ["ada", "grace"] {
        let mut browser = crate::common::browser::Browser::open(&app.url("")).await;
        browser.signup(&format!("{name}@example.com"), "correct horse battery staple", name).await;
        let tenant = browser.create_tenant(name).await;
        browser.invite(tenant, "linus@example.com", Role::Viewer).await;
        tenants.push(tenant);
    }

    let pool = db::connect(&database.server_url, 1).await.unwrap();
    let tables = [
        ("tenants", "id"),
        ("memberships", "tenant_id"),
        ("invitations", "tenant_id"),
        ("audit_events", "tenant_id"),
        ("audit_chain_heads", "tenant_id"),
    ];
    for (table, tenant_column) in tables {
        let query = format!(
            "SELECT count(*) FILTER (WHERE {tenant_column} = $1) AS ours, \
                    count(*) FILTER (WHERE {tenant_column} <> $1) AS theirs FROM {table}"
        );
        let unscoped: Rows =
            sql_query(&query).bind::<SqlUuid, _>(tenants[0]).get_result(&mut pool.get().await.unwrap()).await.unwrap();
        assert_eq!((unscoped.ours, unscoped.theirs), (0, 0), "{table} without a tenant");
        let scope = TenantScope { tenant_id: tenants[0], actor_id: Uuid::nil() };
        let (query, tenant) = (query.clone(), tenants[0]);
        let scoped: Rows = db::in_tenant(&pool, scope, move |conn| {
            Box::pin(async move { Ok(sql_query(query).bind::<SqlUuid, _>(tenant).get_result(conn).await?) })
        })
        .await
        .unwrap();
        assert!(scoped.ours > 0 && scoped.theirs == 0, "{table}: {} ours, {} theirs", scoped.ours, scoped.theirs);
    }

    // The cross-tenant lookups read the real tables, not a temporary view
    // of the caller's standing in for one: through such a view they would
    // hand out every tenant's invitations with their own privileges.
    let mut server = pool.get().await.unwrap();
    for statement in [
        "CREATE TEMP VIEW memberships WITH (security_invoker = true) AS \
         SELECT tenant_id, invited_by AS user_id, email AS role FROM public.invitations",
        "CREATE TEMP VIEW tenants AS SELECT id, email AS name, created_at FROM public.invitations",
        "GRANT SELECT ON memberships, tenants TO incident_tracker_lookup",
    ] {
        sql_query(statement).execute(&mut server).await.unwrap();
    }
    #[derive(diesel::QueryableByName)]
    struct Membership {
        #[diesel(sql_type = Text)]
        role: String,
    }
    let inviter: Uuid = {
        use diesel::{ExpressionMethods, QueryDsl};
        use incident_tracker::db::schema::invitations;
        invitations::table
            .filter(invitations::tenant_id.eq(tenants[1]))
            .select(invitations::invited_by)
            .first(&mut database.owner_connection().await)
            .await
            .unwrap()
    };
    let found: Vec<Membership> =
        sql_query("SELECT role FROM user_memberships($1)").bind::<SqlUuid, _>(inviter).load(&mut server).await.unwrap();
    assert_eq!(found.iter().map(|m| m.role.as_str()).collect::<Vec<_>>(), ["owner"]);
}

/// A tenant transaction that fails while it is being opened (its `BEGIN`
/// has run, and the statements pipelined behind it fail) leaves no failed
/// transaction behind on the pooled connection: the next one on the same
/// pool works. Nor does one whose request is given up half way.
#[tokio::test(flavor = "multi_thread")]
async fn a_transaction_that_fails_while_opening_does_not_poison_the_pool() {
    let database = TestDatabase::migrated().await;
    let pool = db::connect(&database.server_url, 1).await.unwrap();
    let scope = TenantScope { tenant_id: Uuid::now_v7(), actor_id: Uuid::now_v7() };
    fn count_tenants(conn: &mut AsyncPgConnection, opened: usize) -> db::BoxFuture<'_, Result<usize, Error>> {
        Box::pin(async move { Ok(sql_query("SELECT 1 FROM tenants").execute(conn).await? + opened) })
    }
    fn run<'c>(mut conn: &'c AsyncPgConnection, statement: &'static str) -> db::BoxFuture<'c, QueryResult<usize>> {
        Box::pin(async move { sql_query(statement).execute(&mut conn).await })
    }

    #[derive(diesel::QueryableByName)]
    struct Backend {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    let backend = async || -> i32 {
        let mut conn = db::checkout(&pool).await.unwrap();
        let backend: Backend = sql_query("SELECT pg_backend_pid() AS pid").get_result(&mut *conn).await.unwrap();
        backend.pid
    };

    let before = backend().await;
    let failed =
        db::in_tenant_opened(&pool, scope, Access::Write, |conn| run(conn, "SELECT 1 / 0"), count_tenants).await;
    assert!(failed.is_err(), "the opening fails");
    let opened = db::in_tenant_opened(&pool, scope, Access::Write, |conn| run(conn, "SELECT 1"), count_tenants).await;
    assert_eq!(opened.unwrap(), 1_usize, "the pool's one connection is usable again, and sees no tenant's rows");
    assert_eq!(backend().await, before, "rolled back, the connection was kept");

    // What a read sends before its caller is authorized cannot write.
    let tenant_id = scope.tenant_id;
    fn insert(conn: &AsyncPgConnection) -> db::BoxFuture<'_, QueryResult<usize>> {
        run(conn, "INSERT INTO tenants (id, name) VALUES (current_setting('app.tenant_id')::uuid, 'Sneaked in')")
    }
    let written = db::in_tenant_opened(&pool, scope, Access::Read, insert, count_tenants).await;
    let refusal = written.expect_err("a read-only transaction refuses the insert");
    assert!(format!("{refusal:?}").contains("read-only transaction"), "{refusal:?}");
    let written = db::in_tenant_opened(&pool, scope, Access::Write, insert, count_tenants).await;
    assert_eq!(written.unwrap(), 2_usize, "the same insert in a transaction that may write, then its row: {tenant_id}");

    let given_up =
        db::in_tenant_opened(&pool, scope, Access::Write, |conn| run(conn, "SELECT pg_sleep(5)"), count_tenants);
    assert!(tokio::time::timeout(Duration::from_millis(200), given_up).await.is_err(), "still sleeping");
    #[derive(diesel::QueryableByName)]
    struct Setting {
        #[diesel(sql_type = Text)]
        tenant_id: String,
    }
    let mut conn = db::checkout(&pool).await.unwrap();
    let setting: Setting = sql_query("SELECT coalesce(current_setting('app.tenant_id', true), '') AS tenant_id")
        .get_result(&mut *conn)
        .await
        .unwrap();
    assert_eq!(setting.tenant_id, "", "no transaction, and no scope, is left behind for the next user");
}
