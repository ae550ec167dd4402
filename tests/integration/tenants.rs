//! Tenants, memberships and invites through the generated client: two users,
//! two tenants; invite, accept, switch; roles that change under open
//! sessions; and every tenancy endpoint tried by every kind of caller.

use std::collections::BTreeSet;

use diesel::sql_query;
use diesel::sql_types::{Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use incident_tracker_client::types::{InviteAcceptRequest, InviteCreateRequest, MemberUpdateRequest, Role};
use incident_tracker_client::{Error as ClientError, ResponseValue};
use uuid::Uuid;

use crate::common::browser::Browser;
use crate::common::{TestApp, TestDatabase, audit_actions, mail_to, scratch_dir};

pub(crate) const PASSWORD: &str = "correct horse battery staple";

/// The HTTP status of a call through the generated client.
pub(crate) fn status<T>(result: Result<ResponseValue<T>, ClientError<incident_tracker_client::types::Error>>) -> u16 {
    match result {
        Ok(response) => response.status().as_u16(),
        Err(ClientError::ErrorResponse(error)) => error.status().as_u16(),
        Err(error) => panic!("request failed: {error}"),
    }
}

/// The error code of a call that must fail.
pub(crate) fn error_code<T: std::fmt::Debug>(
    result: Result<ResponseValue<T>, ClientError<incident_tracker_client::types::Error>>,
) -> String {
    match result {
        Err(ClientError::ErrorResponse(error)) => error.into_inner().code,
        other => panic!("expected an error response, got {other:?}"),
    }
}

/// A signed-up user's browser and id.
pub(crate) async fn user(app: &TestApp, name: &str) -> (Browser, Uuid) {
    let mut browser = Browser::open(&app.url("")).await;
    let me = browser.signup(&format!("{name}@example.com"), PASSWORD, name).await;
    (browser, me.user.unwrap().id)
}

pub(crate) fn invite_token(mail: &str) -> String {
    let start = mail.find("/accept-invite?token=").expect("the mail holds an invite link") + 21;
    mail[start..start + 43].to_string()
}

pub(crate) fn accept(token: &str) -> InviteAcceptRequest {
    InviteAcceptRequest { token: token.parse().unwrap() }
}

/// Makes `user_id` a member directly in the database, as the owner role.
pub(crate) async fn add_member(database: &TestDatabase, tenant_id: Uuid, user_id: Uuid, role: &str) {
    sql_query("INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, $3)")
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<SqlUuid, _>(user_id)
        .bind::<Text, _>(role)
        .execute(&mut database.owner_connection().await)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn invite_accept_switch_and_role_changes_count_on_open_sessions() {
    let data_dir = scratch_dir("tenants-flow");
    let database = TestDatabase::migrated().await;
    let app = TestApp::spawn_on(&database, &[("DATA_DIR", data_dir.to_str().unwrap())]).await;
    let mail_dir = data_dir.join("mail");
    let (mut ada, ada_id) = user(&app, "ada").await;
    let (mut grace, grace_id) = user(&app, "grace").await;
    let (mallory, _) = user(&app, "mallory").await;

    let acme = ada.create_tenant("Acme").await;
    let globex = grace.create_tenant("Globex").await;
    let ada_tenants = ada.api().tenant_list(None, None).await.unwrap().into_inner().items;
    assert_eq!(ada_tenants.len(), 1);
    assert_eq!((ada_tenants[0].id, ada_tenants[0].name.as_str(), ada_tenants[0].role), (acme, "Acme", Role::Owner));

    ada.invite(acme, "Grace@Example.com", Role::Viewer).await;
    let token = invite_token(&mail_to(&mail_dir, "grace@example.com").await);
    let pending = ada.api().invite_list(&acme, None, None).await.unwrap().into_inner().items;
    assert_eq!(pending.iter().map(|invite| invite.email.as_str()).collect::<Vec<_>>(), ["grace@example.com"]);

    // Only the invited email may use the link, and only once.
    assert_eq!(error_code(mallory.api().invite_accept(&accept(&token)).await), "INVITE_INVALID");
    let accepted = grace.api().invite_accept(&accept(&token)).await.unwrap().into_inner();
    assert_eq!((accepted.tenant_id, accepted.role), (acme, Role::Viewer));
    assert_eq!(error_code(grace.api().invite_accept(&accept(&token)).await), "INVITE_INVALID");
    assert!(ada.api().invite_list(&acme, None, None).await.unwrap().into_inner().items.is_empty());

    let grace_tenants: BTreeSet<_> = grace
        .api()
        .tenant_list(None, None)
        .await
        .unwrap()
        .into_inner()
        .items
        .into_iter()
        .map(|tenant| (tenant.id, tenant.role))
        .collect();
    assert_eq!(grace_tenants, BTreeSet::from([(acme, Role::Viewer), (globex, Role::Owner)]));

    // The audit log needs an active tenant, and shows only that tenant's.
    assert_eq!(
        error_code(grace.api().audit_event_list(None, None, None, None, None, None).await),
        "TENANT_NOT_SELECTED"
    );
    let me = grace.api().tenant_switch(&acme).await.unwrap().into_inner();
    assert_eq!(me.active_tenant_id, Some(acme));
    assert_eq!(grace.me().await.active_tenant_id, Some(acme), "the switch lasts for the session");
    // The audit log is for owners and admins: a viewer may not read it.
    assert_eq!(error_code(grace.api().audit_event_list(None, None, None, None, None, None).await), "FORBIDDEN");
    ada.api().tenant_switch(&acme).await.unwrap();
    let events = ada.api().audit_event_list(None, None, None, None, None, None).await.unwrap().into_inner().items;
    let actions: Vec<_> = events.iter().map(|event| event.action.as_str()).collect();
    assert_eq!(actions, ["member.joined", "member.invited", "tenant.created"], "newest first, Acme's only");
    assert!(events.iter().all(|event| event.target.as_ref().is_none_or(|target| target.id != globex)));

    // A viewer may not invite; promoted, the same open session may.
    let to_linus = |role| InviteCreateRequest { email: "linus@example.com".parse().unwrap(), role };
    assert_eq!(error_code(grace.api().invite_create(&acme, &to_linus(Role::Viewer)).await), "FORBIDDEN");
    let promoted = ada.api().member_update(&acme, &grace_id, &MemberUpdateRequest { role: Role::Admin }).await;
    assert_eq!(promoted.unwrap().into_inner().role, Role::Admin);
    grace.invite(acme, "linus@example.com", Role::Responder).await;
    // Nobody invites above their own role.
    assert_eq!(error_code(grace.api().invite_create(&acme, &to_linus(Role::Owner)).await), "FORBIDDEN");

    // Removed, the open session loses the tenant at once.
    assert_eq!(status(ada.api().member_remove(&acme, &grace_id).await), 204);
    assert_eq!(error_code(grace.api().member_list(&acme, None, None).await), "NOT_FOUND");
    assert_eq!(error_code(grace.api().audit_event_list(None, None, None, None, None, None).await), "NOT_FOUND");
    assert_eq!(error_code(grace.api().tenant_switch(&acme).await), "NOT_FOUND");

    ada.api().tenant_switch(&acme).await.unwrap();
    ada.me().await;
    let actions = audit_actions(&mut database.owner_connection().await, acme).await;
    assert_eq!(
        actions,
        [
            "tenant.created",
            "member.invited",
            "member.joined",
            "member.role_changed",
            "member.invited",
            "member.removed",
        ]
    );
    let by_ada = ada.api().audit_event_list(None, Some(&ada_id), None, None, None, None).await.unwrap().into_inner();
    assert_eq!(by_ada.items.len(), 4, "created, invited, promoted, removed");
    let verified = ada.api().audit_chain_verify().await.unwrap().into_inner();
    assert!(verified.valid);
    assert_eq!((verified.checked_events, verified.head_seq, verified.first_invalid_seq), (6, 6, None));
    std::fs::remove_dir_all(&data_dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_expired_revoked_and_outranked_invites_are_invalid_and_change_nothing() {
    let data_dir = scratch_dir("tenants-invites");
    let database = TestDatabase::migrated().await;
    let app = TestApp::spawn_on(&database, &[("DATA_DIR", data_dir.to_str().unwrap())]).await;
    let mail_dir = data_dir.join("mail");
    let (ada, _) = user(&app, "ada").await;
    let (grace, _) = user(&app, "grace").await;
    let acme = ada.create_tenant("Acme").await;

    assert_eq!(error_code(grace.api().invite_accept(&accept(&"A".repeat(43))).await), "INVITE_INVALID");
    // The contract states a token's form, so the typed client refuses a
    // malformed one before sending; the server answers it as any bad token.
    assert!("not a token".parse::<incident_tracker_client::types::InviteAcceptRequestToken>().is_err());
    let malformed = grace
        .http()
        .post(app.url("/v1/invites/accept"))
        .header("x-csrf-token", grace.csrf_token())
        .json(&serde_json::json!({ "token": "not a token" }))
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    assert_eq!(malformed.json::<serde_json::Value>().await.unwrap()["code"], "INVITE_INVALID");

    let revoked = ada.invite(acme, "grace@example.com", Role::Responder).await;
    let token = invite_token(&mail_to(&mail_dir, "grace@example.com").await);
    assert_eq!(status(ada.api().invite_revoke(&acme, &revoked).await), 204);
    assert_eq!(error_code(ada.api().invite_revoke(&acme, &revoked).await), "NOT_FOUND");
    assert_eq!(error_code(grace.api().invite_accept(&accept(&token)).await), "INVITE_INVALID");

    std::fs::remove_dir_all(&mail_dir).ok();
    ada.invite(acme, "grace@example.com", Role::Responder).await;
    let token = invite_token(&mail_to(&mail_dir, "grace@example.com").await);
    sql_query("UPDATE invitations SET expires_at = now() - interval '1 second'")
        .execute(&mut database.owner_connection().await)
        .await
        .unwrap();
    assert_eq!(error_code(grace.api().invite_accept(&accept(&token)).await), "INVITE_INVALID");
    assert!(grace.api().tenant_list(None, None).await.unwrap().into_inner().items.is_empty(), "not a member");

    // An admin's invite stops working once the admin is demoted below it.
    let (linus, linus_id) = user(&app, "linus").await;
    add_member(&database, acme, linus_id, "admin").await;
    std::fs::remove_dir_all(&mail_dir).ok();
    linus.invite(acme, "grace@example.com", Role::Admin).await;
    let token = invite_token(&mail_to(&mail_dir, "grace@example.com").await);
    ada.api().member_update(&acme, &linus_id, &MemberUpdateRequest { role: Role::Viewer }).await.unwrap();
    assert_eq!(error_code(grace.api().invite_accept(&accept(&token)).await), "INVITE_INVALID");
    assert!(grace.api().tenant_list(None, None).await.unwrap().into_inner().items.is_empty(), "not a member");
    std::fs::remove_dir_all(&data_dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_always_keeps_an_owner() {
    let database = TestDatabase::migrated().await;
    let app = TestApp::spawn_on(&database, &[]).await;
    let (ada, ada_id) = user(&app, "ada").await;
    let (grace, grace_id) = user(&app, "grace").await;
    let (linus, linus_id) = user(&app, "linus").await;
    let acme = ada.create_tenant("Acme").await;
    add_member(&database, acme, grace_id, "owner").await;
    add_member(&database, acme, linus_id, "admin").await;
    let demote = MemberUpdateRequest { role: Role::Viewer };

    // An admin neither makes nor unmakes owners.
    let promote = MemberUpdateRequest { role: Role::Owner };
    assert_eq!(error_code(linus.api().member_update(&acme, &linus_id, &promote).await), "FORBIDDEN");
    assert_eq!(error_code(linus.api().member_update(&acme, &ada_id, &demote).await), "FORBIDDEN");
    assert_eq!(error_code(linus.api().member_remove(&acme, &grace_id).await), "FORBIDDEN");
    let owner_invite = ada.invite(acme, "new.owner@example.com", Role::Owner).await;
    assert_eq!(error_code(linus.api().invite_revoke(&acme, &owner_invite).await), "FORBIDDEN");

    // Two owners demoting each other at once: one of them stays owner.
    let (ada_api, grace_api) = (ada.api(), grace.api());
    let (first, second) = tokio::join!(
        ada_api.member_update(&acme, &grace_id, &demote),
        grace_api.member_update(&acme, &ada_id, &demote),
    );
    // The changes take turns on the locked memberships: the second finds
    // its caller no longer an owner (403), or, had it locked first, the
    // other would have been refused as the last owner (409).
    let mut statuses = [status(first), status(second)];
    statuses.sort();
    assert!(matches!(statuses, [200, 403 | 409]), "{statuses:?}");
    let members = ada.api().member_list(&acme, None, None).await.unwrap().into_inner().items;
    assert_eq!(members.iter().filter(|member| member.role == Role::Owner).count(), 1);
    let owner = members.iter().find(|member| member.role == Role::Owner).unwrap().user_id;
    let owner_browser = if owner == ada_id { &ada } else { &grace };

    assert_eq!(error_code(owner_browser.api().member_update(&acme, &owner, &demote).await), "TENANT_OWNER_REQUIRED");
    assert_eq!(error_code(owner_browser.api().member_remove(&acme, &owner).await), "TENANT_OWNER_REQUIRED");
    // Anyone else may leave.
    assert_eq!(status(linus.api().member_remove(&acme, &linus_id).await), 204);
    assert_eq!(error_code(linus.api().member_list(&acme, None, None).await), "NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_page_with_a_cursor() {
    let app = TestApp::spawn().await;
    let (ada, _) = user(&app, "ada").await;
    let mut created = Vec::new();
    for index in 0..5 {
        created.push(ada.create_tenant(&format!("Tenant {index}")).await);
    }
    let limit = std::num::NonZeroU32::new(2);
    let mut seen = Vec::new();
    let mut page_token: Option<String> = None;
    loop {
        let page = ada.api().tenant_list(limit, page_token.as_deref()).await.unwrap().into_inner();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.iter().map(|tenant| tenant.id));
        match page.next_page {
            Some(next) if !page.items.is_empty() => page_token = Some(next),
            _ => break,
        }
    }
    assert_eq!(seen, created, "every tenant once, oldest first");
}
