//! One walk over every operation in the contract, by every kind of caller:
//! nobody, a session without its CSRF token, each role, a read key and a
//! write key of the tenant, and another tenant's owner using this tenant's
//! ids. One table holds every expected answer; an operation without a row
//! fails the walk.

use std::collections::BTreeSet;
use std::path::Path;

use incident_tracker_client::Client;
use incident_tracker_client::types::{
    AccountDeleteRequest, ApiKeyCreateRequest, ApiKeyScope, IncidentUpdateRequest, InviteCreateRequest,
    LoginMfaRequest, LoginRequest, MemberUpdateRequest, NoteKind, PasswordForgotRequest, PasswordResetRequest, Role,
    ServiceAccountCreateRequest, SignupRequest, TaskUpdateRequest, TenantCreateRequest, TimelineEventCreateRequest,
    TotpConfirmRequest, TotpDisableRequest, TotpEnrolRequest, WebhookUpdateRequest,
};
use uuid::Uuid;

use crate::attachments::{PNG, declared, upload};
use crate::common::browser::{Browser, with_api_key};
use crate::common::{TestApp, TestDatabase};
use crate::incidents::{new_incident, new_task, status_update};
use crate::tenants::{PASSWORD, accept, add_member, status, user};
use crate::webhooks::subscription;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Nobody,
    /// The owner's cookie, without the CSRF token.
    NoCsrf,
    Owner,
    Admin,
    Responder,
    Viewer,
    /// The owner of another tenant, with this tenant's ids.
    Outsider,
    ReadKey,
    WriteKey,
}

/// Every operation of the contract, in the order the walk calls them:
/// sign-out last, since it ends the caller's session.
const OPERATIONS: [&str; 59] = [
    "health_view",
    "health_live_view",
    "me_view",
    "auth_signup",
    "auth_login",
    "auth_login_mfa",
    "password_forgot",
    "password_reset",
    "tenant_list",
    "tenant_create",
    "tenant_switch",
    "member_list",
    "member_update",
    "member_remove",
    "invite_create",
    "invite_list",
    "invite_revoke",
    "invite_accept",
    "service_account_list",
    "service_account_create",
    "api_key_list",
    "api_key_create",
    "api_key_revoke",
    "incident_list",
    "incident_create",
    "incident_view",
    "incident_update",
    "timeline_event_list",
    "timeline_event_create",
    "task_list",
    "task_create",
    "task_update",
    "status_update_list",
    "status_update_create",
    "incident_metrics_view",
    "event_list",
    "webhook_list",
    "webhook_create",
    "webhook_view",
    "webhook_update",
    "webhook_delete",
    "webhook_secret_rotate",
    "webhook_delivery_list",
    "webhook_redeliver",
    "incident_export",
    "attachment_create",
    "attachment_list",
    "attachment_view",
    "attachment_download_url_create",
    "attachment_upload",
    "attachment_download",
    "usage_view",
    "audit_event_list",
    "audit_chain_verify",
    "totp_enrol",
    "totp_confirm",
    "totp_disable",
    "account_delete",
    "auth_logout",
];

/// What each caller must get.
fn expected(who: Who, operation: &str) -> u16 {
    use Who::*;
    let success = match operation {
        "tenant_create" | "invite_create" | "service_account_create" | "api_key_create" => 201,
        "incident_create" | "timeline_event_create" | "task_create" | "status_update_create" => 201,
        "attachment_create" | "attachment_download_url_create" => 201,
        "member_remove" | "invite_revoke" | "api_key_revoke" | "auth_logout" | "webhook_delete" => 204,
        "webhook_create" | "totp_enrol" => 201,
        "webhook_redeliver" => 202,
        "password_forgot" => 202,
        _ => 200,
    };
    let manages = ["member_update", "member_remove", "invite_create", "invite_revoke"]
        .into_iter()
        .chain(["service_account_list", "service_account_create", "api_key_list", "api_key_create", "api_key_revoke"])
        .chain(["usage_view", "audit_event_list", "audit_chain_verify", "incident_export"])
        .chain(["webhook_list", "webhook_create", "webhook_view", "webhook_update", "webhook_delete"])
        .chain(["webhook_secret_rotate", "webhook_delivery_list", "webhook_redeliver"]);
    let anonymous_with_csrf = ["auth_signup", "auth_login", "auth_login_mfa", "password_forgot", "password_reset"];
    let incident_reads = ["incident_list", "incident_view", "timeline_event_list", "task_list", "status_update_list"]
        .into_iter()
        .chain(["incident_metrics_view", "event_list", "attachment_list", "attachment_view"]);
    let incident_writes = ["incident_create", "incident_update", "timeline_event_create", "task_create"]
        .into_iter()
        .chain(["task_update", "status_update_create", "attachment_create"]);
    // Without an incident id in the path: they act in the caller's own tenant.
    let in_own_tenant = ["incident_list", "incident_create", "incident_metrics_view", "event_list", "incident_export"]
        .into_iter()
        .chain(["webhook_list", "webhook_create"]);
    match (who, operation) {
        (_, "health_view" | "health_live_view") => 200,
        // The signed URL is the only credential, and the walk's is forged.
        (_, "attachment_upload" | "attachment_download") => 403,
        // Asking for a download URL is a read, and a mutation for a browser.
        (ReadKey | WriteKey, "attachment_download_url_create") => success,
        // A valid key is authenticated, and refused wherever keys are.
        (ReadKey | WriteKey, "member_list") => 200,
        (ReadKey | WriteKey, op) if incident_reads.clone().any(|read| read == op) => 200,
        (WriteKey, op) if incident_writes.clone().any(|write| write == op) => success,
        (ReadKey | WriteKey, _) => 403,
        (Nobody | NoCsrf, "me_view") => 200,
        (Nobody | NoCsrf, op) if anonymous_with_csrf.contains(&op) => 403,
        (Nobody, _) => 401,
        (NoCsrf, "tenant_list" | "member_list" | "invite_list" | "service_account_list" | "api_key_list") => 200,
        (NoCsrf, "usage_view" | "audit_event_list" | "audit_chain_verify" | "incident_export") => 200,
        (NoCsrf, "webhook_list" | "webhook_view" | "webhook_delivery_list") => 200,
        (NoCsrf, op) if incident_reads.clone().any(|read| read == op) => 200,
        (NoCsrf, _) => 403,
        // An existing email; an unknown one; a well-formed token no reset has.
        (_, "auth_signup") => 409,
        (_, "auth_login") => 401,
        (_, "password_reset") => 400,
        // A well-formed challenge no sign-in has; the account's own second
        // factor: enrolled with the right password, a wrong code, not on.
        (_, "auth_login_mfa") => 401,
        (_, "totp_enrol") => success,
        (_, "totp_confirm") => 400,
        (_, "totp_disable") => 409,
        // A wrong password: the walk's callers must stay.
        (_, "account_delete") => 403,
        (_, "invite_accept") => 400,
        (_, "me_view" | "tenant_list" | "tenant_create" | "password_forgot" | "auth_logout") => success,
        // Their own active tenant's.
        (Outsider, "usage_view" | "audit_event_list" | "audit_chain_verify") => success,
        (Outsider, op) if in_own_tenant.clone().any(|own| own == op) => success,
        (Outsider, _) => 404,
        (Owner | Admin, _) => success,
        (Responder | Viewer, op) if manages.clone().any(|managing| managing == op) => 403,
        (Viewer, op) if incident_writes.clone().any(|write| write == op) => 403,
        (Responder | Viewer, _) => success,
    }
}

struct Fixture {
    app: TestApp,
    database: TestDatabase,
    owner: Browser,
    tenant: Uuid,
    /// A responder whose membership the calls change.
    target: Uuid,
    service_account: Uuid,
    incident: Uuid,
    task: Uuid,
    /// Uploaded; `unscanned` (the walk's server has no scanner), so it
    /// may be downloaded.
    attachment: Uuid,
    webhook: Uuid,
    delivery: Uuid,
}

async fn call(api: &Client, operation: &str, fixture: &Fixture, round: usize) -> u16 {
    let tenant = &fixture.tenant;
    match operation {
        "health_view" => status(api.health_view().await),
        "health_live_view" => status(api.health_live_view().await),
        "me_view" => status(api.me_view().await),
        "auth_signup" => {
            let request = SignupRequest {
                email: "owner@example.com".parse().unwrap(),
                password: PASSWORD.parse().unwrap(),
                name: "Taken".parse().unwrap(),
            };
            status(api.auth_signup(&request).await)
        }
        "auth_login" => {
            let email = format!("nobody{round}@example.com");
            status(
                api.auth_login(&LoginRequest { email: email.parse().unwrap(), password: PASSWORD.parse().unwrap() })
                    .await,
            )
        }
        "auth_logout" => status(api.auth_logout().await),
        "auth_login_mfa" => {
            let request =
                LoginMfaRequest { challenge: "A".repeat(43).parse().unwrap(), code: "123456".parse().unwrap() };
            status(api.auth_login_mfa(&request).await)
        }
        "totp_enrol" => status(api.totp_enrol(&TotpEnrolRequest { password: PASSWORD.parse().unwrap() }).await),
        "totp_confirm" => status(api.totp_confirm(&TotpConfirmRequest { code: "000000".parse().unwrap() }).await),
        "totp_disable" => {
            let request = TotpDisableRequest { password: PASSWORD.parse().unwrap(), code: "123456".parse().unwrap() };
            status(api.totp_disable(&request).await)
        }
        "account_delete" => status(
            api.account_delete(&AccountDeleteRequest { password: "not the password".parse().unwrap(), code: None })
                .await,
        ),
        "password_forgot" => {
            status(api.password_forgot(&PasswordForgotRequest { email: "nobody@example.com".parse().unwrap() }).await)
        }
        "password_reset" => {
            let request =
                PasswordResetRequest { token: "A".repeat(43).parse().unwrap(), password: PASSWORD.parse().unwrap() };
            status(api.password_reset(&request).await)
        }
        "tenant_list" => status(api.tenant_list(None, None).await),
        "tenant_create" => status(api.tenant_create(&TenantCreateRequest { name: "Created".parse().unwrap() }).await),
        "tenant_switch" => status(api.tenant_switch(tenant).await),
        "member_list" => status(api.member_list(tenant, None, None).await),
        "member_update" => {
            // A real change every time, so the write and its audit run.
            let role = if round.is_multiple_of(2) { Role::Responder } else { Role::Viewer };
            status(api.member_update(tenant, &fixture.target, &MemberUpdateRequest { role }).await)
        }
        "member_remove" => {
            let answer = status(api.member_remove(tenant, &fixture.target).await);
            if answer == 204 {
                add_member(&fixture.database, fixture.tenant, fixture.target, "responder").await;
            }
            answer
        }
        "invite_create" => {
            let request = InviteCreateRequest {
                email: format!("invitee{round}@example.com").parse().unwrap(),
                role: Role::Viewer,
            };
            status(api.invite_create(tenant, &request).await)
        }
        "invite_list" => status(api.invite_list(tenant, None, None).await),
        "invite_revoke" => {
            let invite =
                fixture.owner.invite(fixture.tenant, &format!("revokable{round}@example.com"), Role::Viewer).await;
            status(api.invite_revoke(tenant, &invite).await)
        }
        "invite_accept" => status(api.invite_accept(&accept(&"A".repeat(43))).await),
        "service_account_list" => status(api.service_account_list(tenant, None, None).await),
        "service_account_create" => status(
            api.service_account_create(tenant, &ServiceAccountCreateRequest { name: "Robot".parse().unwrap() }).await,
        ),
        "api_key_list" => status(api.api_key_list(tenant, None, None).await),
        "api_key_create" => {
            status(api.api_key_create(tenant, &key_request(fixture.service_account, ApiKeyScope::Read)).await)
        }
        "api_key_revoke" => {
            let key = create_key(fixture, ApiKeyScope::Read).await;
            status(api.api_key_revoke(tenant, &key.0).await)
        }
        "incident_list" => {
            status(api.incident_list(None, None, None, None, None, None, None, None, None, None, None).await)
        }
        "incident_create" => status(api.incident_create(None, &new_incident("Walked")).await),
        "incident_view" => status(api.incident_view(&fixture.incident).await),
        "incident_update" => {
            let request = IncidentUpdateRequest {
                title: Some(format!("Walked {round}").parse().unwrap()),
                summary: None,
                severity: None,
                commander_id: None,
                labels: None,
                status: None,
            };
            status(api.incident_update(&fixture.incident, None, &request).await)
        }
        "timeline_event_list" => status(api.timeline_event_list(&fixture.incident, None, None).await),
        "timeline_event_create" => {
            let request =
                TimelineEventCreateRequest { kind: NoteKind::Note, body: "Walked".parse().unwrap(), occurred_at: None };
            status(api.timeline_event_create(&fixture.incident, None, &request).await)
        }
        "task_list" => status(api.task_list(&fixture.incident, None, None).await),
        "task_create" => status(api.task_create(&fixture.incident, None, &new_task("Walked", None)).await),
        "task_update" => {
            let request =
                TaskUpdateRequest { title: Some(format!("Walked {round}").parse().unwrap()), ..no_task_change() };
            status(api.task_update(&fixture.incident, &fixture.task, None, &request).await)
        }
        "status_update_list" => status(api.status_update_list(&fixture.incident, None, None).await),
        "status_update_create" => {
            status(api.status_update_create(&fixture.incident, None, &status_update("Walked", None)).await)
        }
        "incident_metrics_view" => status(api.incident_metrics_view(None, None, None).await),
        "event_list" => status(api.event_list(None, None, None).await),
        "webhook_list" => status(api.webhook_list().await),
        "webhook_create" => status(api.webhook_create(&subscription("http://127.0.0.1:9/created")).await),
        "webhook_view" => status(api.webhook_view(&fixture.webhook).await),
        "webhook_update" => {
            let change = WebhookUpdateRequest {
                description: Some(format!("Round {round}").parse().unwrap()),
                url: None,
                event_types: None,
                enabled: None,
            };
            status(api.webhook_update(&fixture.webhook, &change).await)
        }
        "webhook_delete" => {
            // One of its own each time, so there is always one to delete.
            let doomed = fixture.owner.api().webhook_create(&subscription("http://127.0.0.1:9/doomed")).await.unwrap();
            status(api.webhook_delete(&doomed.webhook.id).await)
        }
        "webhook_secret_rotate" => status(api.webhook_secret_rotate(&fixture.webhook).await),
        "webhook_delivery_list" => status(api.webhook_delivery_list(&fixture.webhook).await),
        "webhook_redeliver" => status(api.webhook_redeliver(&fixture.webhook, &fixture.delivery).await),
        "incident_export" => {
            status(api.incident_export(None, None, None, None, None, None, None, None, None, None).await)
        }
        "attachment_create" => {
            status(api.attachment_create(&fixture.incident, &declared("walked.png", "image/png", PNG.len())).await)
        }
        "attachment_list" => status(api.attachment_list(&fixture.incident, None, None).await),
        "attachment_view" => status(api.attachment_view(&fixture.incident, &fixture.attachment).await),
        "attachment_download_url_create" => {
            status(api.attachment_download_url_create(&fixture.incident, &fixture.attachment).await)
        }
        "attachment_upload" => {
            let (url_id, signature) = (Uuid::new_v4(), "A".repeat(43).parse().unwrap());
            status(api.attachment_upload(&url_id, &fixture.attachment, i64::MAX, &signature, tenant, PNG).await)
        }
        "attachment_download" => {
            let (url_id, signature) = (Uuid::new_v4(), "A".repeat(43).parse().unwrap());
            status(api.attachment_download(&url_id, &fixture.attachment, i64::MAX, &signature, tenant).await)
        }
        "usage_view" => status(api.usage_view(None, None, None).await),
        "audit_event_list" => status(api.audit_event_list(None, None, None, None, None, None).await),
        "audit_chain_verify" => status(api.audit_chain_verify().await),
        unknown => panic!("the walk has no call for `{unknown}`"),
    }
}

fn no_task_change() -> TaskUpdateRequest {
    TaskUpdateRequest { title: None, description: None, status: None, assignee_id: None, due_at: None }
}

fn key_request(service_account: Uuid, scope: ApiKeyScope) -> ApiKeyCreateRequest {
    let scopes =
        if scope == ApiKeyScope::Read { vec![ApiKeyScope::Read] } else { vec![ApiKeyScope::Read, ApiKeyScope::Write] };
    ApiKeyCreateRequest { service_account_id: service_account, name: "key".parse().unwrap(), scopes, expires_at: None }
}

/// A key of the fixture's tenant: its id and secret.
async fn create_key(fixture: &Fixture, scope: ApiKeyScope) -> (Uuid, String) {
    let created = fixture
        .owner
        .api()
        .api_key_create(&fixture.tenant, &key_request(fixture.service_account, scope))
        .await
        .unwrap();
    (created.id, created.secret.clone())
}

/// The operation ids of the contract the tests' client was generated from.
fn operations_in_contract() -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("generated/openapi-3.0.json");
    let contract: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut operations = BTreeSet::new();
    for item in contract["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            operations.insert(operation["operationId"].as_str().unwrap().to_string());
        }
    }
    operations
}

#[tokio::test(flavor = "multi_thread")]
async fn every_operation_answers_every_kind_of_caller_by_the_rules() {
    let walked: BTreeSet<_> = OPERATIONS.iter().map(|name| name.to_string()).collect();
    assert_eq!(walked, operations_in_contract(), "every operation in the contract needs a row in the walk");

    let database = TestDatabase::migrated().await;
    // The owner makes every write there is, and more than the default
    // rate limit allows; the limit is not what this walk is about.
    let vars = [("WEBHOOK_ALLOW_PRIVATE_TARGETS", "true"), ("WRITE_RATE_LIMIT", "100000/600")];
    let app = TestApp::spawn_on(&database, &vars).await;
    let (owner, _) = user(&app, "owner").await;
    let tenant = owner.create_tenant("Acme").await;
    let (outsider, _) = user(&app, "outsider").await;
    let other_tenant = outsider.create_tenant("Globex").await;
    outsider.api().tenant_switch(&other_tenant).await.unwrap();
    let (_, target) = user(&app, "target").await;
    add_member(&database, tenant, target, "responder").await;
    owner.api().tenant_switch(&tenant).await.unwrap();
    let request = ServiceAccountCreateRequest { name: "Robot".parse().unwrap() };
    let service_account = owner.api().service_account_create(&tenant, &request).await.unwrap().id;
    let incident = owner.api().incident_create(None, &new_incident("Walked")).await.unwrap().id;
    let task = owner.api().task_create(&incident, None, &new_task("Walked", None)).await.unwrap().id;
    let file = declared("walked.png", "image/png", PNG.len());
    let created = owner.api().attachment_create(&incident, &file).await.unwrap().into_inner();
    let attachment = upload(&owner.api(), &created.upload_url, PNG.to_vec()).await.unwrap().id;
    // A subscription that was there for a change, so it has a delivery.
    let webhook =
        owner.api().webhook_create(&subscription("http://127.0.0.1:9/walk")).await.unwrap().into_inner().webhook.id;
    owner.api().incident_create(None, &new_incident("Delivered")).await.unwrap();
    let delivery = owner.api().webhook_delivery_list(&webhook).await.unwrap().into_inner().items[0].id;
    // Disabled, so no worker is ever sending it when the walk redelivers it.
    let off = WebhookUpdateRequest { enabled: Some(false), url: None, event_types: None, description: None };
    owner.api().webhook_update(&webhook, &off).await.unwrap();
    let fixture = Fixture {
        app,
        database,
        owner,
        tenant,
        target,
        service_account,
        incident,
        task,
        attachment,
        webhook,
        delivery,
    };

    let no_csrf = Client::new_with_client(&fixture.app.url(""), {
        let cookie = format!("session={}", fixture.owner.session_cookie().unwrap());
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("cookie", cookie.parse().unwrap());
        reqwest::Client::builder().default_headers(headers).build().unwrap()
    });
    let mut callers = vec![(Who::Nobody, Client::new(&fixture.app.url(""))), (Who::NoCsrf, no_csrf)];
    let mut browsers = Vec::new();
    for (who, role) in [(Who::Admin, "admin"), (Who::Responder, "responder"), (Who::Viewer, "viewer")] {
        let (browser, id) = user(&fixture.app, role).await;
        add_member(&fixture.database, tenant, id, role).await;
        browser.api().tenant_switch(&tenant).await.unwrap();
        callers.push((who, browser.api()));
        browsers.push(browser);
    }
    callers.push((Who::Outsider, outsider.api()));
    let (_, read_key) = create_key(&fixture, ApiKeyScope::Read).await;
    let (_, write_key) = create_key(&fixture, ApiKeyScope::Write).await;
    callers.push((Who::ReadKey, with_api_key(&fixture.app.url(""), &read_key)));
    callers.push((Who::WriteKey, with_api_key(&fixture.app.url(""), &write_key)));
    // Last: the walk signs the owner out.
    callers.push((Who::Owner, fixture.owner.api()));

    let mut round = 0;
    let mut wrong = Vec::new();
    for (who, api) in &callers {
        for operation in OPERATIONS {
            round += 1;
            let got = call(api, operation, &fixture, round).await;
            if got != expected(*who, operation) {
                wrong.push(format!("{who:?} {operation}: {got}, expected {}", expected(*who, operation)));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");

    // A key of one tenant finds nothing of another's.
    let (owner_again, _) = user(&fixture.app, "second-owner").await;
    let other = owner_again.create_tenant("Initech").await;
    owner_again.api().tenant_switch(&other).await.unwrap();
    let their_incident = owner_again.api().incident_create(None, &new_incident("Theirs")).await.unwrap().id;
    for key in [&read_key, &write_key] {
        let api = with_api_key(&fixture.app.url(""), key);
        assert_eq!(status(api.member_list(&other, None, None).await), 404);
        assert_eq!(status(api.incident_view(&their_incident).await), 404);
        assert_eq!(status(api.task_list(&their_incident, None, None).await), 404);
    }
    let write = with_api_key(&fixture.app.url(""), &write_key);
    assert_eq!(status(write.task_update(&their_incident, &fixture.task, None, &no_task_change()).await), 404);
    assert_eq!(status(write.status_update_create(&their_incident, None, &status_update("Theirs", None)).await), 404);
    let file = declared("theirs.png", "image/png", PNG.len());
    assert_eq!(status(write.attachment_create(&their_incident, &file).await), 404);
    assert_eq!(status(write.attachment_view(&their_incident, &fixture.attachment).await), 404);
    assert_eq!(status(write.attachment_download_url_create(&their_incident, &fixture.attachment).await), 404);
}
