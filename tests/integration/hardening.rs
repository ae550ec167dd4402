//! What a black-box probe found, one test per finding: invite abuse, input
//! the database cannot store, races around invites, mail files, anonymous
//! sessions, invisible characters and trailing bytes.

use std::os::unix::fs::PermissionsExt;

use diesel::sql_query;
use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use incident_tracker_client::types::{InviteCreateRequest, MemberUpdateRequest, Role, TenantCreateRequestName};
use reqwest::StatusCode;
use uuid::Uuid;

use crate::common::browser::Browser;
use crate::common::redis::RedisServer;
use crate::common::{TestApp, TestDatabase, mail_to, scratch_dir};
use crate::tenants::{PASSWORD, add_member, error_code, status, user};

fn invite_request(email: &str, role: Role) -> InviteCreateRequest {
    InviteCreateRequest { email: email.parse().unwrap(), role }
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

async fn pending_invites(database: &TestDatabase, tenant: Uuid, email: &str) -> i64 {
    sql_query(
        "SELECT count(*) AS count FROM invitations WHERE tenant_id = $1 AND email = $2 \
         AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<Text, _>(email)
    .get_result::<Count>(&mut database.owner_connection().await)
    .await
    .unwrap()
    .count
}

/// Item 1: invite mail is limited per recipient, and a tenant's name in it
/// is marked as chosen by its members and carries no link.
#[tokio::test(flavor = "multi_thread")]
async fn invite_mail_is_limited_and_carries_no_user_chosen_links() {
    let data_dir = scratch_dir("hardening-invite-mail");
    let app = TestApp::spawn_with(&[("DATA_DIR", data_dir.to_str().unwrap())]).await;
    let (owner, _) = user(&app, "owner").await;
    let tenant = owner.create_tenant("Suspended - verify at https://evil.example.com").await;
    for _ in 0..5 {
        owner.invite(tenant, "victim@example.com", Role::Viewer).await;
    }
    let sixth = owner.api().invite_create(&tenant, &invite_request("victim@example.com", Role::Viewer)).await;
    assert_eq!(error_code(sixth), "RATE_LIMITED");
    // Invites that are refused spend nobody's budget.
    let (outsider, _) = user(&app, "outsider").await;
    for _ in 0..6 {
        let refused = outsider.api().invite_create(&tenant, &invite_request("friend@example.com", Role::Viewer)).await;
        assert_eq!(error_code(refused), "NOT_FOUND");
    }
    owner.invite(tenant, "friend@example.com", Role::Viewer).await;
    let mail = mail_to(&data_dir.join("mail"), "victim@example.com").await;
    assert!(!mail.contains("https://evil") && !mail.contains("evil.example.com"), "{mail}");
    assert!(mail.contains("https[:]//evil[.]example[.]com") && mail.contains("as its members chose it"), "{mail}");
    assert!(mail.contains("Subject: You are invited to a tenant on Incident Tracker"), "{mail}");
    std::fs::remove_dir_all(&data_dir).ok();
}

/// Items 2 and 3: replacing a pending invite takes what revoking it takes,
/// is audited as a revoke, and concurrent invites leave one pending.
#[tokio::test(flavor = "multi_thread")]
async fn invites_are_replaced_only_with_the_right_to_revoke_and_one_stays_pending_under_races() {
    let database = TestDatabase::migrated().await;
    let app = TestApp::spawn_on(&database, &[]).await;
    let (owner, _) = user(&app, "owner").await;
    let tenant = owner.create_tenant("Acme").await;
    let (admin, admin_id) = user(&app, "admin").await;
    add_member(&database, tenant, admin_id, "admin").await;
    let owner_invite = owner.invite(tenant, "heir@example.com", Role::Owner).await;
    let replaced = admin.api().invite_create(&tenant, &invite_request("heir@example.com", Role::Viewer)).await;
    assert_eq!(error_code(replaced), "FORBIDDEN");
    let pending = owner.api().invite_list(&tenant, None, None).await.unwrap().into_inner().items;
    assert_eq!(pending.iter().map(|invite| invite.id).collect::<Vec<_>>(), [owner_invite]);
    owner.invite(tenant, "heir@example.com", Role::Viewer).await;
    let actions = crate::common::audit_actions(&mut database.owner_connection().await, tenant).await;
    assert_eq!(actions[actions.len() - 2..], ["member.invite_revoked", "member.invited"]);

    for round in 0..10 {
        // An inviter of each round's own, each well within the invite mail limits.
        let (inviter, inviter_id) = user(&app, &format!("inviter{round}")).await;
        add_member(&database, tenant, inviter_id, "admin").await;
        let email = format!("race{round}@example.com");
        let mut invites = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let (api, request) = (inviter.api(), invite_request(&email, Role::Viewer));
            invites.spawn(async move { status(api.invite_create(&tenant, &request).await) });
        }
        for answer in invites.join_all().await {
            assert!([201, 409, 429].contains(&answer), "round {round}: {answer}");
        }
        assert_eq!(pending_invites(&database, tenant, &email).await, 1, "round {round}");
    }
}

/// Item 4: an invite decided on a role that a concurrent demotion took away
/// never commits after that demotion.
#[tokio::test(flavor = "multi_thread")]
async fn an_invite_racing_its_inviters_demotion_never_commits_after_it() {
    let database = TestDatabase::migrated().await;
    let app = TestApp::spawn_on(&database, &[("WRITE_RATE_LIMIT", "1000/600")]).await;
    let (owner, _) = user(&app, "owner").await;
    let tenant = owner.create_tenant("Acme").await;
    let (admin, admin_id) = user(&app, "admin").await;
    for round in 0..10 {
        sql_query("DELETE FROM memberships WHERE user_id = $1")
            .bind::<SqlUuid, _>(admin_id)
            .execute(&mut database.owner_connection().await)
            .await
            .unwrap();
        add_member(&database, tenant, admin_id, "admin").await;
        let (owner_api, admin_api) = (owner.api(), admin.api());
        let email = format!("raced{round}@example.com");
        let (demote, invite) = (MemberUpdateRequest { role: Role::Viewer }, invite_request(&email, Role::Admin));
        let (_, invited) = tokio::join!(
            owner_api.member_update(&tenant, &admin_id, &demote),
            admin_api.invite_create(&tenant, &invite),
        );
        if invited.is_ok() {
            let actions = crate::common::audit_actions(&mut database.owner_connection().await, tenant).await;
            let invited_at = actions.iter().rposition(|action| action == "member.invited").unwrap();
            let demoted_at = actions.iter().rposition(|action| action == "member.role_changed").unwrap();
            assert!(invited_at < demoted_at, "round {round}: the invite committed after the demotion");
        } else {
            assert_eq!(error_code(invited), "FORBIDDEN", "round {round}");
        }
    }
}

pub(crate) async fn assert_validation_failed(response: reqwest::Response, what: &str) {
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{what}");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "VALIDATION_FAILED", "{what}: {body}");
}

/// Items 5, 8 and 9: what the database cannot store, invisible characters
/// and trailing bytes are 400s that change nothing.
#[tokio::test(flavor = "multi_thread")]
async fn unstorable_invisible_and_trailing_input_is_a_validation_failure() {
    let database = TestDatabase::migrated().await;
    let app = TestApp::spawn_on(&database, &[]).await;
    let (owner, _) = user(&app, "owner").await;
    let tenant = owner.create_tenant("Acme").await;
    owner.api().tenant_switch(&tenant).await.unwrap();
    let http = owner.http();
    for query in ["action=a%00b", "since=-5000-01-01T00:00:00Z", "until=+10000-01-01T00:00:00Z", "action=A%20B"] {
        assert_validation_failed(http.get(app.url(&format!("/v1/audit-logs?{query}"))).send().await.unwrap(), query)
            .await;
    }
    for query in ["to=-262143-01-15", "from=-100000-01-01&to=-100000-01-10", "from=2026-01-02&to=2026-01-01"] {
        assert_validation_failed(http.get(app.url(&format!("/v1/usage?{query}"))).send().await.unwrap(), query).await;
    }
    let anonymous = Browser::open(&app.url("")).await;
    let long_email = format!("{}@example.com", "a".repeat(200 * 1024));
    for email in ["a\\u0000@example.com", "admin\\u200b@example.com", long_email.as_str()] {
        let body = format!(r#"{{"email":"{email}","password":"{PASSWORD}"}}"#);
        let response = anonymous.http().post(app.url("/v1/auth/login")).header("content-type", "application/json");
        assert_validation_failed(response.body(body).send().await.unwrap(), "sign-in email").await;
    }
    let body = format!(r#"{{"email":"admin\u200b@example.com","password":"{PASSWORD}","name":"Admin"}}"#);
    let signup = anonymous.http().post(app.url("/v1/auth/signup")).header("content-type", "application/json");
    assert_validation_failed(signup.body(body).send().await.unwrap(), "sign-up email").await;
    let hidden = [r#"{"name":"Evil\u202ecod.exe"}"#, r#"{"name":"Zero\u200bWidth"}"#, r#"{"name":"a\u0000"}"#];
    for body in hidden.into_iter().chain([r#"{"name":"a"}garbage"#]) {
        let create = http.post(app.url("/v1/tenants")).header("content-type", "application/json");
        assert_validation_failed(create.body(body).send().await.unwrap(), body).await;
    }
    // The contract's pattern says so too: the typed client refuses them before sending.
    for name in ["Evil\u{202e}cod.exe", "Zero\u{200b}Width", "a\u{0}"] {
        assert!(name.parse::<TenantCreateRequestName>().is_err(), "{name:?}");
    }
    let tenants = owner.api().tenant_list(None, None).await.unwrap().into_inner().items;
    assert_eq!(tenants.len(), 1, "nothing was created");
}

/// Item 6: mail files hold live links, so only the server's user reads them.
#[tokio::test(flavor = "multi_thread")]
async fn mail_files_are_private_to_the_servers_user() {
    let scratch = scratch_dir("hardening-mail-files");
    // Made by the server: only its mail directory may be closed, not the
    // data directory the embedded PostgreSQL's user must pass through.
    let data_dir = scratch.join("data");
    let app = TestApp::spawn_with(&[("DATA_DIR", data_dir.to_str().unwrap())]).await;
    let (owner, _) = user(&app, "owner").await;
    let tenant = owner.create_tenant("Acme").await;
    owner.invite(tenant, "invitee@example.com", Role::Viewer).await;
    let mail_dir = data_dir.join("mail");
    mail_to(&mail_dir, "invitee@example.com").await;
    assert_eq!(std::fs::metadata(&mail_dir).unwrap().permissions().mode() & 0o777, 0o700);
    let data_mode = std::fs::metadata(&data_dir).unwrap().permissions().mode();
    assert_ne!(data_mode & 0o001, 0, "others may pass through the data directory: {data_mode:o}");
    for entry in std::fs::read_dir(&mail_dir).unwrap() {
        let mode = entry.unwrap().metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    std::fs::remove_dir_all(&scratch).ok();
}

/// Item 7: anonymous visitors are not stored; their CSRF token still works
/// for signing up, on any instance sharing the secret.
#[tokio::test(flavor = "multi_thread")]
async fn anonymous_sessions_take_no_room_in_the_store() {
    let redis = RedisServer::start().await;
    let url = redis.url();
    let app = TestApp::spawn_with(&[("REDIS_URL", &url), ("SESSION_SECRET", &"s".repeat(32))]).await;
    let plain = reqwest::Client::new();
    for _ in 0..500 {
        assert_eq!(plain.get(app.url("/v1/auth/me")).send().await.unwrap().status(), StatusCode::OK);
    }
    let mut connection = redis::Client::open(url).unwrap().get_multiplexed_async_connection().await.unwrap();
    let keys: i64 = redis::cmd("DBSIZE").query_async(&mut connection).await.unwrap();
    assert_eq!(keys, 0, "500 anonymous visits stored {keys} keys");
    let mut browser = Browser::open(&app.url("")).await;
    let me = browser.signup("ada@example.com", PASSWORD, "Ada").await;
    assert!(me.user.is_some());
    let keys: i64 = redis::cmd("DBSIZE").query_async(&mut connection).await.unwrap();
    assert!(keys >= 1, "a signed-in session is stored");
}
