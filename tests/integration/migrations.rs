use diesel::sql_query;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use incident_tracker::db::migrations;

use crate::common::TestDatabase;

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// Objects the migrations create in `public`: tables, functions, policies.
async fn schema_objects(conn: &mut AsyncPgConnection) -> i64 {
    let objects: Count = sql_query(
        "SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace \
                   AND relname <> '__diesel_schema_migrations' AND relname NOT LIKE '__diesel_schema_migrations_%') \
              + (SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace) \
              + (SELECT count(*) FROM pg_policy) AS count",
    )
    .get_result(conn)
    .await
    .unwrap();
    objects.count
}

#[tokio::test(flavor = "multi_thread")]
async fn every_migration_goes_up_down_and_up_again() {
    let database = TestDatabase::empty().await;
    let mut conn = database.owner_connection().await;
    assert_eq!(schema_objects(&mut conn).await, 0);

    let applied = migrations::run_pending(&database.owner_url).await.unwrap();
    assert!(!applied.is_empty());
    let migrated = schema_objects(&mut conn).await;
    assert!(migrated > 0);

    let mut reverted = migrations::revert_all(&database.owner_url).await.unwrap();
    reverted.reverse();
    assert_eq!(reverted, applied, "every applied migration is reverted, newest first");
    assert_eq!(schema_objects(&mut conn).await, 0, "the downs leave nothing behind");

    assert_eq!(migrations::run_pending(&database.owner_url).await.unwrap(), applied);
    assert_eq!(schema_objects(&mut conn).await, migrated);
    assert!(migrations::run_pending(&database.owner_url).await.unwrap().is_empty(), "nothing left to apply");
}

/// Managed PostgreSQL has no superuser to spare: the migrations run as an
/// owner that only has CREATEROLE, and leave it bound by row-level security
/// rather than a member of the role that reads across tenants.
#[tokio::test(flavor = "multi_thread")]
async fn migrations_run_as_an_owner_that_is_not_a_superuser() {
    #[derive(diesel::QueryableByName)]
    struct Facts {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        superuser: bool,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        reads_across_tenants: bool,
        #[diesel(sql_type = BigInt)]
        visible_tenants: i64,
    }
    let database = TestDatabase::empty().await;
    let mut admin = database.owner_connection().await;
    let role = format!("migrator_{}", uuid::Uuid::new_v4().simple());
    let (_, host_and_database) = database.owner_url.split_once('@').unwrap();
    let database_name = host_and_database.rsplit('/').next().unwrap();
    for statement in [
        format!("CREATE ROLE {role} LOGIN CREATEROLE PASSWORD 'migrator-password'"),
        format!("ALTER DATABASE {database_name} OWNER TO {role}"),
    ] {
        sql_query(statement).execute(&mut admin).await.unwrap();
    }
    let migrator_url = format!("postgres://{role}:migrator-password@{host_and_database}");
    assert!(!migrations::run_pending(&migrator_url).await.unwrap().is_empty());

    sql_query("INSERT INTO tenants (id, name) VALUES (gen_random_uuid(), 'Acme')").execute(&mut admin).await.unwrap();
    let mut migrator = <AsyncPgConnection as diesel_async::AsyncConnection>::establish(&migrator_url).await.unwrap();
    let facts: Facts = sql_query(
        "SELECT rolsuper AS superuser, pg_has_role(current_user, 'incident_tracker_lookup', 'USAGE') \
                AS reads_across_tenants, (SELECT count(*) FROM tenants) AS visible_tenants \
         FROM pg_roles WHERE rolname = current_user",
    )
    .get_result(&mut migrator)
    .await
    .unwrap();
    assert!(!facts.superuser && !facts.reads_across_tenants);
    assert_eq!(facts.visible_tenants, 0, "forced row-level security binds the owner too");

    // Only the server's role may call the cross-tenant lookups.
    #[derive(diesel::QueryableByName, Debug, PartialEq)]
    struct Callers {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        public: bool,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        server: bool,
    }
    for function in
        ["user_memberships(uuid)", "usable_invitation(bytea)", "attachments_awaiting_scan(timestamptz, bigint)"]
    {
        let callers: Callers = sql_query(
            "SELECT has_function_privilege('public', $1, 'EXECUTE') AS public, \
                    has_function_privilege('incident_tracker_app', $1, 'EXECUTE') AS server",
        )
        .bind::<diesel::sql_types::Text, _>(function)
        .get_result(&mut migrator)
        .await
        .unwrap();
        assert_eq!(callers, Callers { public: false, server: true }, "{function}");
    }
}
