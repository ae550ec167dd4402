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
