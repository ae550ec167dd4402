//! Deleting an account: it leaves its tenants (not as a last owner), its
//! sessions end, it can no longer sign in, what it did keeps its id, every
//! audit chain still verifies, and a dump of the whole database no longer
//! holds its email or name.

use incident_tracker::audit::{self, PLATFORM_CHAIN};
use incident_tracker_client::types::{AccountDeleteRequest, EventData, InviteCreateRequest, Role};
use incident_tracker_client::{Client, Error as ClientError};
use uuid::Uuid;

use crate::common::browser::Browser;
use crate::common::{TestApp, TestDatabase, audit_actions, mail_to, scratch_dir, shared_postgres};
use crate::incidents::new_incident;
use crate::tenants::{PASSWORD, accept, error_code, invite_token, user};

const EMAIL: &str = "dora.departing@example.com";
const NAME: &str = "Dora Departing";

fn delete_request(password: &str) -> AccountDeleteRequest {
    AccountDeleteRequest { password: password.parse().unwrap() }
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
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_account_is_gone_from_every_row_while_its_records_keep_its_id() {
    let data_dir = scratch_dir("account-deletion");
    let database = TestDatabase::migrated().await;
    let app = TestApp::spawn_on(&database, &[("DATA_DIR", data_dir.to_str().unwrap())]).await;
    let mail_dir = data_dir.join("mail");
    let (olga, olga_id) = user(&app, "olga").await;
    let acme = olga.create_tenant("Acme").await;
    olga.api().tenant_switch(&acme).await.unwrap();
    let token = invited(&olga.api(), &mail_dir, acme, EMAIL, Role::Responder).await;
    // A tenant Dora never joins still holds an invite to her.
    let initech = olga.create_tenant("Initech").await;
    invited(&olga.api(), &mail_dir, initech, EMAIL, Role::Viewer).await;

    let mut dora = Browser::open(&app.url("")).await;
    let dora_id = dora.signup(EMAIL, PASSWORD, NAME).await.user.unwrap().id;
    dora.api().invite_accept(&accept(&token)).await.unwrap();
    dora.api().tenant_switch(&acme).await.unwrap();
    let incident = dora.api().incident_create(None, &new_incident("Dora's incident")).await.unwrap().into_inner();
    let doras_own = dora.create_tenant("Dora's").await;
    let mut other_browser = Browser::open(&app.url("")).await;
    other_browser.login(EMAIL, PASSWORD).await.unwrap();

    // Refused, changing nothing: a wrong password, and then being the last
    // owner of a tenant, which the answer names.
    let wrong = dora.api().account_delete(&delete_request("not the password")).await;
    assert_eq!(error_code(wrong), "AUTH_REAUTHENTICATION_FAILED");
    match dora.api().account_delete(&delete_request(PASSWORD)).await {
        Err(ClientError::ErrorResponse(error)) => {
            assert_eq!((error.status().as_u16(), error.code.as_str()), (409, "TENANT_OWNER_REQUIRED"));
            assert_eq!(error.details["tenantId"], doras_own.to_string());
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(dora.api().tenant_list(None, None).await.unwrap().into_inner().items.len(), 2);
    let olga_joins = invited(&dora.api(), &mail_dir, doras_own, "olga@example.com", Role::Owner).await;
    olga.api().invite_accept(&accept(&olga_joins)).await.unwrap();

    dora.api().account_delete(&delete_request(PASSWORD)).await.unwrap();
    assert!(dora.me().await.user.is_none(), "the deleting browser is signed out");
    assert!(other_browser.me().await.user.is_none(), "every other session ended");
    let mut again = Browser::open(&app.url("")).await;
    let refused = again.login(EMAIL, PASSWORD).await.unwrap_err();
    assert_eq!(refused, "AUTH_INVALID_CREDENTIALS");

    // What other members see: no Dora among the members, her incident and
    // her events under her id, the feed's removal under the pseudonym.
    for tenant in [acme, doras_own] {
        olga.api().tenant_switch(&tenant).await.unwrap();
        let members = olga.api().member_list(&tenant, None, None).await.unwrap().into_inner().items;
        assert_eq!(members.iter().map(|member| member.user_id).collect::<Vec<_>>(), [olga_id]);
        let verified = olga.api().audit_chain_verify().await.unwrap().into_inner();
        assert!(verified.valid, "{verified:?}");
        let events = olga.api().audit_event_list(None, None, None, None, None, None).await.unwrap().into_inner().items;
        let deleted = &events[0];
        assert_eq!((deleted.action.as_str(), deleted.actor.id), ("account.deleted", Some(dora_id)));
        let by_dora: Vec<_> = events.iter().filter(|event| event.actor.id == Some(dora_id)).collect();
        assert!(by_dora.len() >= 2 && by_dora.iter().all(|event| event.client_ip.is_none()));
        let feed = olga.api().event_list(None, None, None).await.unwrap().into_inner().items;
        match &feed.last().unwrap().data {
            EventData::Member(removed) => {
                let pseudonym = format!("deleted:{dora_id}");
                assert_eq!(
                    (removed.user_id, removed.email.as_str(), removed.name.as_str()),
                    (dora_id, pseudonym.as_str(), "Deleted user")
                );
            }
            other => panic!("expected the member's removal, got {other:?}"),
        }
    }
    olga.api().tenant_switch(&acme).await.unwrap();
    let kept = olga.api().incident_view(&incident.id).await.unwrap().into_inner();
    assert_eq!(kept.created_by.id, dora_id);

    // The email is free for a new account, which can go the same way
    // without ever joining a tenant.
    let mut newcomer = Browser::open(&app.url("")).await;
    newcomer.signup(EMAIL, PASSWORD, NAME).await;
    newcomer.api().account_delete(&delete_request(PASSWORD)).await.unwrap();
    let mut owner = database.owner_connection().await;
    assert_eq!(audit_actions(&mut owner, PLATFORM_CHAIN).await.last().map(String::as_str), Some("account.deleted"));
    assert!(audit::verify(&mut owner, PLATFORM_CHAIN).await.unwrap().valid);

    let dump = database_dump(&database).await.to_lowercase();
    for personal in [EMAIL, NAME] {
        assert!(!dump.contains(&personal.to_lowercase()), "the dump still holds {personal:?}");
    }
    assert!(dump.contains("olga@example.com"), "the dump holds the data of accounts that stay");
    std::fs::remove_dir_all(&data_dir).ok();
}
