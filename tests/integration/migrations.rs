use diesel::sql_query;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use incident_tracker::db::migrations;

use crate::common::{TestDatabase, count};

/// Objects the migrations create in `public`: tables, functions, policies.
async fn schema_objects(conn: &mut AsyncPgConnection) -> i64 {
    count(
        conn,
        "SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace \
                   AND relname <> '__diesel_schema_migrations' AND relname NOT LIKE '__diesel_schema_migrations_%') \
              + (SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace) \
              + (SELECT count(*) FROM pg_policy) AS count",
    )
    .await
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

/// A role that owns `database` with no more than CREATEROLE, as on managed
/// PostgreSQL; its URL.
async fn owner_without_superuser(database: &TestDatabase) -> String {
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
    format!("postgres://{role}:migrator-password@{host_and_database}")
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
    let migrator_url = owner_without_superuser(&database).await;
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

/// Deliveries queued before they named their event are given its id when
/// the migration that adds it runs, across tenants, although the owner (no
/// superuser) is bound by row-level security.
#[tokio::test(flavor = "multi_thread")]
async fn deliveries_queued_before_an_upgrade_name_their_event_after_it() {
    use diesel::Connection;
    use diesel_async::SimpleAsyncConnection;
    use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
    use diesel_migrations::MigrationHarness;

    let database = TestDatabase::empty().await;
    let owner_url = owner_without_superuser(&database).await;
    migrations::run_pending(&owner_url).await.unwrap();
    let migrator_url = owner_url.clone();
    let reverted = tokio::task::spawn_blocking(move || {
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&owner_url).unwrap();
        let mut reverted = Vec::new();
        while !reverted.iter().any(|version: &String| version.contains("070000")) {
            reverted.push(conn.revert_last_migration(migrations::MIGRATIONS).unwrap().to_string());
        }
        reverted
    })
    .await
    .unwrap();
    assert!(reverted.len() >= 2, "{reverted:?}");

    let (tenant, event) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let mut owner = database.owner_connection().await;
    owner
        .batch_execute(&format!(
            "BEGIN;
             SELECT set_config('app.tenant_id', '{tenant}', true);
             INSERT INTO tenants (id, name) VALUES ('{tenant}', 'Acme');
             INSERT INTO change_events (tenant_id, seq, id, type, occurred_at, data)
                 VALUES ('{tenant}', 1, '{event}', 'incident.created', now(), '{{}}');
             INSERT INTO webhooks (id, tenant_id, url, enabled, description, secret, created_at, updated_at)
                 VALUES (gen_random_uuid(), '{tenant}', 'https://example.com/hook', true, '', 'whsec_x', now(), now());
             INSERT INTO webhook_deliveries (id, tenant_id, webhook_id, event_seq, status, next_attempt_at, created_at)
                 SELECT gen_random_uuid(), '{tenant}', id, 1, 'pending', now(), now() FROM webhooks;
             COMMIT;"
        ))
        .await
        .unwrap();

    migrations::run_pending(&migrator_url).await.unwrap();
    #[derive(diesel::QueryableByName)]
    struct Named {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        event_id: uuid::Uuid,
    }
    owner.batch_execute(&format!("BEGIN; SELECT set_config('app.tenant_id', '{tenant}', true)")).await.unwrap();
    let named: Vec<Named> = sql_query("SELECT event_id FROM webhook_deliveries").load(&mut owner).await.unwrap();
    owner.batch_execute("COMMIT").await.unwrap();
    assert_eq!(named.iter().map(|delivery| delivery.event_id).collect::<Vec<_>>(), [event]);
    let forced = count(
        &mut owner,
        "SELECT count(*) AS count FROM pg_class WHERE relname IN ('webhook_deliveries', 'change_events') \
           AND relforcerowsecurity",
    )
    .await;
    assert_eq!(forced, 2, "row-level security is forced again");
}

/// Going below the migration that moved audit events' personal data beside
/// them would drop the digests their hashes cover: refused once an event
/// has them, by an owner that row-level security would otherwise blind.
#[tokio::test(flavor = "multi_thread")]
async fn reverting_is_refused_once_audit_events_hash_personal_data_digests() {
    use diesel::Connection;
    use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
    use diesel_migrations::MigrationHarness;
    use incident_tracker::actor::{Actor, Origin};
    use incident_tracker::audit::{self, NewEvent};

    let database = TestDatabase::empty().await;
    let owner_url = owner_without_superuser(&database).await;
    migrations::run_pending(&owner_url).await.unwrap();
    let mut admin = database.owner_connection().await;
    let event = NewEvent::new("test.recorded", None);
    diesel_async::AsyncConnection::transaction(&mut admin, async |conn| {
        audit::record_platform_event(conn, &Actor::System, &Origin::internal("test"), event).await
    })
    .await
    .unwrap();

    let refused = tokio::task::spawn_blocking(move || {
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&owner_url).unwrap();
        conn.revert_last_migration(migrations::MIGRATIONS).unwrap_err().to_string()
    })
    .await
    .unwrap();
    assert!(refused.contains("reverting would break their chains"), "{refused}");
    let forced = count(
        &mut admin,
        "SELECT count(*) AS count FROM pg_class WHERE relname = 'audit_events' AND relforcerowsecurity",
    )
    .await;
    assert_eq!(forced, 1, "row-level security is still forced");
}
