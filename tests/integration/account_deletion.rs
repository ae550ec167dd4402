//! Deleting an account: it leaves its tenants (not as a last owner), its
//! sessions end, it can no longer sign in, what it did keeps its id, every
//! audit chain still verifies, and a dump of the whole database no longer
//! holds its email, name or client address. What others hold under its
//! email, which sign-up never proved, stays theirs.

use incident_tracker::audit::{self, PLATFORM_CHAIN};
use incident_tracker_client::types::{AccountDeleteRequest, EventData, InviteCreateRequest, Role};
use incident_tracker_client::{Client, Error as ClientError};
use uuid::Uuid;

use crate::common::browser::Browser;
use crate::common::{TestApp, TestDatabase, audit_actions, mail_to, scratch_dir, shared_postgres};
use crate::incidents::new_incident;
use crate::tenants::{PASSWORD, accept, error_code, invite_token, status, user};
use crate::two_factor::enable_two_factor;

const EMAIL: &str = "dora.departing@example.com";
const NAME: &str = "Dora Departing";
const DORAS_ADDRESS: &str = "203.0.113.77";
const OLGAS_ADDRESS: &str = "198.51.100.10";

fn delete_request(password: &str, code: Option<&str>) -> AccountDeleteRequest {
    AccountDeleteRequest { password: password.parse().unwrap(), code: code.map(|code| code.parse().unwrap()) }
}

/// Invites `email` to `tenant` as `role`; answers the mailed token.
async fn invited(inviter: &Client, mail_dir: &std::path::Path, tenant: Uuid, email: &str, role: Role) -> String {
    let request = InviteCreateRequest { email: email.parse().unwrap(), role };
    inviter.invite_create(&tenant, &request).await.unwrap();
    invite_token(&mail_to(mail_dir, email).await)
}

/// The whole database as text, as its superuser dumps it.
async fn database_dump(database: &TestDatabase) -> String {
    let pg_dump = shared_postgres().await.postgres.bin_dir().join("pg_dump");
    let output = tokio::process::Command::new(pg_dump)
        .args(["--data-only", "--dbname", &database.owner_url])
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().to_lowercase()
}

/// A server that takes `X-Forwarded-For` from the loopback, so each
/// browser has an address of its own.
async fn app_behind_proxy(database: &TestDatabase, data_dir: &std::path::Path) -> TestApp {
    TestApp::spawn_on(database, &[("DATA_DIR", data_dir.to_str().unwrap()), ("TRUSTED_PROXIES", "127.0.0.1")]).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_account_is_gone_from_every_row_while_its_records_keep_its_id() {
    let data_dir = scratch_dir("account-deletion");
    let database = TestDatabase::migrated().await;
    let app = app_behind_proxy(&database, &data_dir).await;
    let mail_dir = data_dir.join("mail");
    let mut olga = Browser::open_from(&app.url(""), OLGAS_ADDRESS).await;
    let olga_id = olga.signup("olga@example.com", PASSWORD, "Olga").await.user.unwrap().id;
    let acme = olga.create_tenant("Acme").await;
    olga.api().tenant_switch(&acme).await.unwrap();
    let token = invited(&olga.api(), &mail_dir, acme, EMAIL, Role::Responder).await;
    // A tenant Dora never joins holds an invite to her too: once she has
    // accepted one, with its mailed token, the email is proven hers.
    let initech = olga.create_tenant("Initech").await;
    invited(&olga.api(), &mail_dir, initech, EMAIL, Role::Viewer).await;

    let mut dora = Browser::open_from(&app.url(""), DORAS_ADDRESS).await;
    let dora_id = dora.signup(EMAIL, PASSWORD, NAME).await.user.unwrap().id;
    dora.api().invite_accept(&accept(&token)).await.unwrap();
    dora.api().tenant_switch(&acme).await.unwrap();
    let incident = dora.api().incident_create(None, &new_incident("Dora's incident")).await.unwrap().into_inner();
    let doras_own = dora.create_tenant("Dora's").await;
    let mut other_browser = Browser::open_from(&app.url(""), DORAS_ADDRESS).await;
    other_browser.login(EMAIL, PASSWORD).await.unwrap();
    // An attempt at her account by nobody signed in, from her address.
    let mut stranger = Browser::open_from(&app.url(""), DORAS_ADDRESS).await;
    stranger.login(EMAIL, "a wrong password, once").await.unwrap_err();

    // Refused, changing nothing: a wrong password, and then being the last
    // owner of a tenant, which the answer names.
    let wrong = dora.api().account_delete(&delete_request("not the password", None)).await;
    assert_eq!(error_code(wrong), "AUTH_REAUTHENTICATION_FAILED");
    match dora.api().account_delete(&delete_request(PASSWORD, None)).await {
        Err(ClientError::ErrorResponse(error)) => {
            assert_eq!((error.status().as_u16(), error.code.as_str()), (409, "TENANT_OWNER_REQUIRED"));
            assert_eq!(error.details["tenantId"], doras_own.to_string());
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(dora.api().tenant_list(None, None).await.unwrap().into_inner().items.len(), 2);
    let olga_joins = invited(&dora.api(), &mail_dir, doras_own, "olga@example.com", Role::Owner).await;
    olga.api().invite_accept(&accept(&olga_joins)).await.unwrap();

    dora.api().account_delete(&delete_request(PASSWORD, None)).await.unwrap();
    assert!(dora.me().await.user.is_none(), "the deleting browser is signed out");
    assert!(other_browser.me().await.user.is_none(), "every other session ended");
    let mut again = Browser::open(&app.url("")).await;
    assert_eq!(again.login(EMAIL, PASSWORD).await.unwrap_err(), "AUTH_INVALID_CREDENTIALS");

    // What other members see: no Dora among the members, her incident and
    // her events under her id without her address, the feed's removal under
    // the pseudonym, and Olga's own address where Olga acted.
    for tenant in [acme, doras_own] {
        olga.api().tenant_switch(&tenant).await.unwrap();
        let members = olga.api().member_list(&tenant, None, None).await.unwrap().into_inner().items;
        assert_eq!(members.iter().map(|member| member.user_id).collect::<Vec<_>>(), [olga_id]);
        let verified = olga.api().audit_chain_verify().await.unwrap().into_inner();
        assert!(verified.valid, "{verified:?}");
        let events = olga.api().audit_event_list(None, None, None, None, None, None).await.unwrap().into_inner().items;
        let deleted = events.iter().find(|event| event.action == "account.deleted").unwrap();
        assert_eq!(deleted.actor.id, Some(dora_id));
        let by_dora: Vec<_> = events.iter().filter(|event| event.actor.id == Some(dora_id)).collect();
        assert!(by_dora.len() >= 2 && by_dora.iter().all(|event| event.client_ip.is_none()));
        let by_olga = events.iter().filter(|event| event.actor.id == Some(olga_id));
        assert!(
            by_olga.clone().count() >= 1
                && by_olga.clone().all(|event| event.client_ip.as_deref() == Some(OLGAS_ADDRESS))
        );
        let feed = olga.api().event_list(None, None, None).await.unwrap().into_inner().items;
        match &feed.last().unwrap().data {
            EventData::Member(removed) => {
                let pseudonym = format!("deleted:{dora_id}");
                let shown = (removed.user_id, removed.email.as_str(), removed.name.as_str());
                assert_eq!(shown, (dora_id, pseudonym.as_str(), "Deleted user"));
            }
            other => panic!("expected the member's removal, got {other:?}"),
        }
    }
    let initechs_invites = olga.api().invite_list(&initech, None, None).await.unwrap().into_inner().items;
    assert!(initechs_invites.is_empty(), "{initechs_invites:?}");
    olga.api().tenant_switch(&initech).await.unwrap();
    assert!(olga.api().audit_chain_verify().await.unwrap().into_inner().valid);
    olga.api().tenant_switch(&acme).await.unwrap();
    let kept = olga.api().incident_view(&incident.id).await.unwrap().into_inner();
    assert_eq!(kept.created_by.id, dora_id);

    // The email is free for a new account, which can go the same way
    // without ever joining a tenant.
    let mut newcomer = Browser::open_from(&app.url(""), DORAS_ADDRESS).await;
    newcomer.signup(EMAIL, PASSWORD, NAME).await;
    newcomer.api().account_delete(&delete_request(PASSWORD, None)).await.unwrap();
    let mut owner = database.owner_connection().await;
    assert_eq!(audit_actions(&mut owner, PLATFORM_CHAIN).await.last().map(String::as_str), Some("account.deleted"));
    assert!(audit::verify(&mut owner, PLATFORM_CHAIN).await.unwrap().valid);

    let dump = database_dump(&database).await;
    for personal in [EMAIL, NAME, DORAS_ADDRESS] {
        assert!(!dump.contains(&personal.to_lowercase()), "the dump still holds {personal:?}");
    }
    for kept in ["olga@example.com", OLGAS_ADDRESS] {
        assert!(dump.contains(kept), "the dump lost {kept:?}, which is not Dora's");
    }
    std::fs::remove_dir_all(&data_dir).ok();
}

/// Anyone can sign up with an email they do not hold: deleting that
/// account must not erase what a tenant holds under the email. It also
/// takes both factors when the account has two.
#[tokio::test(flavor = "multi_thread")]
async fn deleting_an_account_erases_nothing_others_hold_under_its_unproved_email() {
    let data_dir = scratch_dir("account-deletion-unproved");
    let database = TestDatabase::migrated().await;
    let app = app_behind_proxy(&database, &data_dir).await;
    let mail_dir = data_dir.join("mail");
    let (admin, _) = user(&app, "admin").await;
    let initech = admin.create_tenant("Initech").await;
    admin.api().tenant_switch(&initech).await.unwrap();
    invited(&admin.api(), &mail_dir, initech, EMAIL, Role::Viewer).await;

    let mut impostor = Browser::open_from(&app.url(""), DORAS_ADDRESS).await;
    let (_, recovery_codes) = enable_two_factor(&mut impostor, EMAIL).await;
    let without_code = impostor.api().account_delete(&delete_request(PASSWORD, None)).await;
    assert_eq!(error_code(without_code), "VALIDATION_FAILED");
    let wrong_code = impostor.api().account_delete(&delete_request(PASSWORD, Some("abcd-efgh-ijkl-mnop"))).await;
    assert_eq!(error_code(wrong_code), "AUTH_REAUTHENTICATION_FAILED");
    let deleted = impostor.api().account_delete(&delete_request(PASSWORD, Some(&recovery_codes[0]))).await;
    assert_eq!(status(deleted), 204);

    let invites = admin.api().invite_list(&initech, None, None).await.unwrap().into_inner().items;
    assert_eq!(invites.iter().map(|invite| invite.email.as_str()).collect::<Vec<_>>(), [EMAIL]);
    let feed = admin.api().event_list(None, None, None).await.unwrap().into_inner().items;
    assert!(matches!(&feed[0].data, EventData::Invite(invite) if invite.email == EMAIL), "{feed:?}");
    let events = admin.api().audit_event_list(None, None, None, None, None, None).await.unwrap().into_inner().items;
    let invited = events.iter().find(|event| event.action == "member.invited").unwrap();
    assert_eq!((invited.metadata["email"].as_str(), invited.client_ip.as_deref()), (Some(EMAIL), Some("127.0.0.1")));
    assert!(admin.api().audit_chain_verify().await.unwrap().into_inner().valid);
    std::fs::remove_dir_all(&data_dir).ok();
}
