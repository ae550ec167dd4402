//! Service accounts and API keys, the write rate limit, usage metering and
//! the daily write quota.

use diesel::sql_query;
use diesel::sql_types::Uuid as SqlUuid;
use diesel_async::RunQueryDsl;
use incident_tracker_client::Client;
use incident_tracker_client::types::{ApiKeyCreateRequest, ApiKeyScope, ServiceAccountCreateRequest};
use uuid::Uuid;

use crate::common::browser::{Browser, with_api_key};
use crate::common::redis::RedisServer;
use crate::common::{TestApp, TestDatabase, audit_actions, capture_logs};
use crate::tenants::{error_code, status, user};

/// The owner's browser, switched to a new tenant, and a service account in it.
async fn tenant_with_service_account(app: &TestApp) -> (Browser, Uuid, Uuid) {
    let (owner, _) = user(app, "owner").await;
    let tenant = owner.create_tenant("Acme").await;
    owner.api().tenant_switch(&tenant).await.unwrap();
    let account = owner.api().service_account_create(&tenant, &robot()).await.unwrap().into_inner();
    (owner, tenant, account.id)
}

fn robot() -> ServiceAccountCreateRequest {
    ServiceAccountCreateRequest { name: "Deploy robot".parse().unwrap() }
}

fn read_key(service_account: Uuid) -> ApiKeyCreateRequest {
    ApiKeyCreateRequest {
        service_account_id: service_account,
        name: "CI".parse().unwrap(),
        scopes: vec![ApiKeyScope::Read],
        expires_at: Some(chrono::Utc::now() + chrono::Duration::days(30)),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_reads_until_it_is_revoked_or_expires_and_its_secret_is_never_logged() {
    let logs = capture_logs();
    let database = TestDatabase::migrated().await;
    let app = TestApp::spawn_on(&database, &[]).await;
    let (owner, tenant, account) = tenant_with_service_account(&app).await;
    let created = owner.api().api_key_create(&tenant, &read_key(account)).await.unwrap().into_inner();
    assert!(created.secret.starts_with(&format!("{}_", created.prefix)), "the prefix is the key's start");
    assert!(created.secret.starts_with("itk_") && created.secret.len() >= 4 + 12 + 1 + 43);
    let key = with_api_key(&app.url(""), &created.secret);

    let members = key.member_list(&tenant, None, None).await.unwrap().into_inner().items;
    assert_eq!(members.len(), 1, "the key reads what a viewer reads");
    let listed = owner.api().api_key_list(&tenant, None, None).await.unwrap().into_inner().items;
    assert_eq!(listed.len(), 1);
    assert!(listed[0].last_used_at.is_some(), "use is recorded");
    assert!(!serde_json::to_string(&listed[0]).unwrap().contains(&created.secret[17..]), "lists never show secrets");

    // Keys manage nothing, and read neither the audit log nor usage.
    assert_eq!(error_code(key.service_account_create(&tenant, &robot()).await), "FORBIDDEN");
    assert_eq!(error_code(key.api_key_create(&tenant, &read_key(account)).await), "FORBIDDEN");
    assert_eq!(error_code(key.audit_event_list(None, None, None, None, None, None).await), "FORBIDDEN");
    assert_eq!(error_code(key.usage_view(None, None, None).await), "FORBIDDEN");

    assert_eq!(status(owner.api().api_key_revoke(&tenant, &created.id).await), 204);
    assert_eq!(error_code(key.member_list(&tenant, None, None).await), "API_KEY_INVALID");
    assert_eq!(status(owner.api().api_key_revoke(&tenant, &created.id).await), 204, "revoking twice changes nothing");

    let expiring = owner.api().api_key_create(&tenant, &read_key(account)).await.unwrap().into_inner();
    let expiring_key = with_api_key(&app.url(""), &expiring.secret);
    assert_eq!(status(expiring_key.member_list(&tenant, None, None).await), 200);
    sql_query("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1")
        .bind::<SqlUuid, _>(expiring.id)
        .execute(&mut database.owner_connection().await)
        .await
        .unwrap();
    // Expired, revoked, unknown and malformed keys get one answer.
    let unknown = format!("{}_{}", &expiring.secret[..16], "B".repeat(43));
    for presented in [expiring.secret.as_str(), created.secret.as_str(), unknown.as_str(), "itk_nonsense"] {
        let response = with_api_key(&app.url(""), presented).member_list(&tenant, None, None).await;
        match response {
            Err(incident_tracker_client::Error::ErrorResponse(error)) => {
                assert_eq!(error.status().as_u16(), 401);
                assert_eq!(error.code, "API_KEY_INVALID");
                assert_eq!(
                    error.message,
                    "The x-api-key header does not hold a valid, unexpired and unrevoked API key."
                );
            }
            other => panic!("{presented}: {other:?}"),
        }
    }
    // An expiry in the past or beyond a year is refused.
    let mut too_late = read_key(account);
    too_late.expires_at = Some(chrono::Utc::now() + chrono::Duration::days(400));
    assert_eq!(error_code(owner.api().api_key_create(&tenant, &too_late).await), "VALIDATION_FAILED");

    let actions = audit_actions(&mut database.owner_connection().await, tenant).await;
    assert_eq!(
        actions,
        ["tenant.created", "service_account.created", "api_key.created", "api_key.revoked", "api_key.created"]
    );
    let secrets = [&created.secret, &expiring.secret];
    let logged = logs.contents();
    let audited: Vec<String> = sql_query("SELECT metadata::text AS text FROM audit_events")
        .load::<Text>(&mut database.owner_connection().await)
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.text)
        .collect();
    for secret in secrets {
        let random_part = &secret[17..];
        assert!(!logged.contains(random_part), "a key's secret reached the log");
        assert!(audited.iter().all(|metadata| !metadata.contains(random_part)), "a key's secret reached the audit log");
    }
}

#[derive(diesel::QueryableByName)]
struct Text {
    #[diesel(sql_type = diesel::sql_types::Text)]
    text: String,
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_over_the_rate_limit_are_429_with_retry_after() {
    let app = TestApp::spawn_with(&[("WRITE_RATE_LIMIT", "3/600")]).await;
    let (owner, _) = user(&app, "owner").await;
    let tenant = owner.create_tenant("Acme").await;
    for _ in 0..2 {
        owner.api().service_account_create(&tenant, &robot()).await.unwrap();
    }
    match owner.api().service_account_create(&tenant, &robot()).await {
        Err(incident_tracker_client::Error::ErrorResponse(error)) => {
            assert_eq!((error.status().as_u16(), error.code.as_str()), (429, "RATE_LIMITED"));
            let retry_after: u64 = error.headers()["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((590..=600).contains(&retry_after), "{retry_after}");
        }
        other => panic!("the fourth write must be limited: {other:?}"),
    }
}

/// Quota N, N + 20 concurrent writes through two instances sharing one
/// Redis and one database: exactly N succeed, and the count says N.
#[tokio::test(flavor = "multi_thread")]
async fn the_daily_write_quota_is_exact_under_concurrency_and_resets_with_the_day() {
    const QUOTA: usize = 10;
    let redis = RedisServer::start().await;
    let database = TestDatabase::migrated().await;
    // Instances share sessions through Redis and SESSION_SECRET.
    let vars = [
        ("REDIS_URL", redis.url()),
        ("SESSION_SECRET", "s".repeat(32)),
        ("DAILY_WRITE_QUOTA", QUOTA.to_string()),
        ("WRITE_RATE_LIMIT", "1000/600".into()),
    ];
    let vars: Vec<(&str, &str)> = vars.iter().map(|(name, value)| (*name, value.as_str())).collect();
    let first = TestApp::spawn_on(&database, &vars).await;
    let second = TestApp::spawn_on(&database, &vars).await;
    let (owner, _) = user(&first, "owner").await;
    let tenant = owner.create_tenant("Acme").await;
    owner.api().tenant_switch(&tenant).await.unwrap();
    let clients = [owner.api(), Client::new_with_client(&second.url(""), owner.http())];

    let mut writes = tokio::task::JoinSet::new();
    for index in 0..QUOTA + 20 {
        let api = clients[index % 2].clone();
        writes.spawn(async move { api.service_account_create(&tenant, &robot()).await });
    }
    let (mut created, mut refused) = (0, 0);
    for outcome in writes.join_all().await {
        match outcome {
            Ok(response) => {
                assert_eq!(response.status().as_u16(), 201);
                let policy = response.headers()["ratelimit-policy"].to_str().unwrap();
                assert_eq!(policy, format!("\"daily-writes\";q={QUOTA};w=86400"));
                created += 1;
            }
            Err(incident_tracker_client::Error::ErrorResponse(error)) => {
                assert_eq!((error.status().as_u16(), error.code.as_str()), (429, "QUOTA_EXCEEDED"));
                assert_eq!(error.details["limit"], QUOTA);
                assert_eq!(error.details["used"], QUOTA);
                let resets_at: chrono::DateTime<chrono::Utc> =
                    error.details["resetsAt"].as_str().unwrap().parse().unwrap();
                let retry_after: i64 = error.headers()["retry-after"].to_str().unwrap().parse().unwrap();
                assert!((retry_after - (resets_at - chrono::Utc::now()).num_seconds()).abs() <= 2, "{retry_after}");
                refused += 1;
            }
            Err(error) => panic!("{error}"),
        }
    }
    println!("quota {QUOTA}, {} concurrent writes on two instances: {created} created, {refused} refused", QUOTA + 20);
    assert_eq!((created, refused), (QUOTA, 20));
    let accounts = owner.api().service_account_list(&tenant, None, None).await.unwrap().into_inner().items;
    assert_eq!(accounts.len(), QUOTA, "refused writes left nothing behind");
    let today = owner.api().usage_view(None, None, None).await.unwrap().into_inner().days.pop().unwrap();
    assert_eq!((today.writes, today.write_quota), (QUOTA as i64, QUOTA as i64));

    // The day ends: the stored counts move to yesterday, and today starts
    // afresh, against the tenant's own quota once it has one.
    let mut owner_db = database.owner_connection().await;
    for table in ["usage_write_days", "usage_counts"] {
        sql_query(format!("UPDATE {table} SET day = day - 1")).execute(&mut owner_db).await.unwrap();
    }
    sql_query("UPDATE tenants SET daily_write_quota = 1").execute(&mut owner_db).await.unwrap();
    assert_eq!(status(owner.api().service_account_create(&tenant, &robot()).await), 201);
    assert_eq!(error_code(owner.api().service_account_create(&tenant, &robot()).await), "QUOTA_EXCEEDED");
    let report = owner.api().usage_view(Some(true), None, None).await.unwrap().into_inner();
    assert_eq!(report.days.len(), 30);
    let (yesterday, today) = (&report.days[28], &report.days[29]);
    assert_eq!((yesterday.writes, yesterday.write_quota), (QUOTA as i64, QUOTA as i64));
    assert_eq!((today.writes, today.write_quota), (1, 1));
    let principals = today.principals.as_ref().unwrap();
    assert_eq!((principals.len(), principals[0].type_.as_str(), principals[0].writes), (1, "user", 1));
}
