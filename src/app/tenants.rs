//! Tenants, their members and invitations.

use std::time::Duration;

use chrono::Utc;
use diesel_async::AsyncPgConnection;
use serde_json::json;
use uuid::Uuid;

use super::auth::{CurrentSession, SessionView, normalize_email};
use super::operation::{self, Change, ChangeKind, Done, Write, check_write_rate};
use super::{AppState, Error, OpContext, Page, Problem, validate_name};
use crate::audit::{self, NewEvent, Target};
use crate::crypto;
use crate::db::invites::{self, Invite, NewInvite};
use crate::db::tenants::{self, Member, TenantMembership};
use crate::db::{self, TenantScope, outbox::NewMail, users};
use crate::policy::{Action, Context, MembershipChange, Resource, Role, authorize};
use crate::sessions::SessionStore;

pub const INVITE_VALIDITY: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// Invite mails one person may send, and one address may receive, per
/// [`INVITE_MAIL_WINDOW`]: nobody can use invites to flood a mailbox.
pub const INVITE_MAILS_PER_INVITER: u32 = 20;
pub const INVITE_MAILS_PER_RECIPIENT: u32 = 5;
pub const INVITE_MAIL_WINDOW: Duration = Duration::from_secs(60 * 60);

fn invite_invalid() -> Error {
    Error::Invalid(Problem::new(
        "INVITE_INVALID",
        "This invite is invalid, used, expired, revoked or for another email address.",
    ))
}

fn owner_required() -> Error {
    Error::Conflict(Problem::new(
        "TENANT_OWNER_REQUIRED",
        "A tenant always keeps an owner: make someone else owner first.",
    ))
}

/// The tenants the signed-in user belongs to, oldest first.
pub async fn tenant_list(state: &AppState, op: &OpContext, page: Page) -> Result<Vec<TenantMembership>, Error> {
    let user_id = op.user_id()?;
    let mut conn = db::checkout(&state.db).await?;
    Ok(tenants::tenant_list(&mut conn, user_id, page.after, page.limit).await?)
}

/// Creates a tenant with the caller as its owner.
pub async fn tenant_create(state: &AppState, op: &OpContext, name: &str) -> Result<TenantMembership, Error> {
    let user_id = op.user_id()?;
    let name = validate_name(name)?;
    check_write_rate(state, op.actor.principal().ok_or_else(Error::auth_required)?).await?;
    let tenant_id = Uuid::now_v7();
    let (actor, origin) = (op.actor.clone(), op.origin.clone());
    db::in_tenant(&state.db, TenantScope { tenant_id, actor_id: user_id }, move |conn| {
        Box::pin(async move {
            let created_at = tenants::tenant_create(conn, tenant_id, &name).await?;
            if !tenants::insert_membership(conn, tenant_id, user_id, Role::Owner).await? {
                return Err(Error::auth_required());
            }
            let event =
                NewEvent::new("tenant.created", Some(Target::tenant(tenant_id))).with_metadata(json!({ "name": name }));
            audit::append(conn, tenant_id, &actor, &origin, event).await?;
            Ok(TenantMembership { tenant_id, tenant_name: name, role: Role::Owner, tenant_created_at: created_at })
        })
    })
    .await
}

/// Makes `tenant_id` the session's active tenant.
pub async fn tenant_switch(
    state: &AppState,
    op: &OpContext,
    mut current: CurrentSession,
    tenant_id: Uuid,
) -> Result<SessionView, Error> {
    op.user_id()?;
    operation::tenant_read(state, op, tenant_id, Action::TenantRead, |_| Box::pin(async { Ok(()) })).await?;
    current.session.active_tenant_id = Some(tenant_id);
    if !state.sessions.update(&current.id, &current.session).await? {
        // Signed out (or reset) while switching.
        return Err(Error::auth_required());
    }
    super::auth::me_view(state, Some(current)).await
}

pub async fn member_list(state: &AppState, op: &OpContext, tenant_id: Uuid, page: Page) -> Result<Vec<Member>, Error> {
    operation::tenant_read(state, op, tenant_id, Action::MembersRead, move |conn| {
        Box::pin(async move { Ok(tenants::member_list(conn, tenant_id, page.after, page.limit).await?) })
    })
    .await
}

/// Changes a member's role. Granting, changing or removing an owner is an
/// owner's decision, and the tenant always keeps one.
pub async fn member_update(
    state: &AppState,
    op: &OpContext,
    tenant_id: Uuid,
    member_id: Uuid,
    new_role: Role,
) -> Result<Member, Error> {
    let caller_id = op.user_id()?;
    let write = Write::new(Action::MembersManage).locking_memberships_itself();
    operation::tenant_write(state, op, tenant_id, write, move |conn, _| {
        Box::pin(async move {
            let change = MembershipChange::Role(new_role);
            let member = member_to_change(conn, tenant_id, caller_id, member_id, change).await?;
            if member.role == new_role {
                return Ok(Done::new(member));
            }
            tenants::member_update(conn, tenant_id, member_id, new_role).await?;
            let event = NewEvent::new("member.role_changed", Some(Target::user(member_id)))
                .with_metadata(json!({ "from": member.role.as_str(), "to": new_role.as_str() }));
            let updated = Member { role: new_role, ..member };
            let change = Change::in_tenant(ChangeKind::MemberRoleChanged, &updated)?;
            Ok(Done::new(updated).audited(event).announced(change))
        })
    })
    .await
}

/// Removes a member; members may also remove themselves (leave).
pub async fn member_remove(state: &AppState, op: &OpContext, tenant_id: Uuid, member_id: Uuid) -> Result<(), Error> {
    let caller_id = op.user_id()?;
    let write = Write::new(Action::TenantRead).exempt_from_quota().locking_memberships_itself();
    operation::tenant_write(state, op, tenant_id, write, move |conn, _| {
        Box::pin(async move {
            let member = member_to_change(conn, tenant_id, caller_id, member_id, MembershipChange::Removal).await?;
            tenants::member_remove(conn, tenant_id, member_id).await?;
            let action = if member_id == caller_id { "member.left" } else { "member.removed" };
            let event = NewEvent::new(action, Some(Target::user(member_id)))
                .with_metadata(json!({ "role": member.role.as_str() }));
            Ok(Done::new(()).audited(event).announced(Change::in_tenant(ChangeKind::MemberRemoved, &member)?))
        })
    })
    .await
}

/// The member `change` is aimed at, once the caller may make it and an
/// owner would remain. Decided on the caller's, the member's and the
/// owners' memberships locked until the transaction ends, so a concurrent
/// change cannot make the decision stale before it is carried out.
pub(crate) async fn member_to_change(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    caller_id: Uuid,
    member_id: Uuid,
    change: MembershipChange,
) -> Result<Member, Error> {
    let locked = tenants::lock_for_change(conn, tenant_id, caller_id, member_id).await?;
    let role_of = |id: Uuid| locked.iter().find(|(user_id, _)| *user_id == id).map(|(_, role)| *role);
    let ctx = Context::Member(role_of(caller_id).ok_or(Error::NotFound)?);
    let member = tenants::member(conn, tenant_id, member_id).await?.ok_or(Error::NotFound)?;
    let resource = Resource::Membership { role: member.role, change, is_caller: member_id == caller_id };
    authorize(Action::MembersManage, resource, ctx)?;
    let stays_owner = change == MembershipChange::Role(Role::Owner);
    let another_owner = locked.iter().any(|(user_id, role)| *role == Role::Owner && *user_id != member_id);
    if member.role == Role::Owner && !stays_owner && !another_owner {
        return Err(owner_required());
    }
    Ok(member)
}

/// Invites `email` to join as `role`, mailing them a single-use link. A
/// pending invite of the same email is replaced, which takes what revoking
/// it takes, and is audited as a revoke.
pub async fn invite_create(
    state: &AppState,
    op: &OpContext,
    tenant_id: Uuid,
    email: &str,
    role: Role,
) -> Result<Invite, Error> {
    let email = normalize_email(email)?;
    let inviter_id = op.user_id()?;
    let sessions = state.sessions.clone();
    let token = crypto::random_token();
    let expires_at = Utc::now() + INVITE_VALIDITY;
    let link = format!("{}/accept-invite?token={token}", state.public_base_url);
    let invite = operation::tenant_write(state, op, tenant_id, Write::new(Action::MembersInvite), move |conn, ctx| {
        Box::pin(async move {
            authorize(Action::MembersInvite, Resource::Invitation { role }, ctx)?;
            if let Some(invitee) = users::find_by_email(conn, &email).await?
                && tenants::role_of(conn, tenant_id, invitee.id).await?.is_some()
            {
                return Err(Error::Conflict(Problem::new("MEMBER_EXISTS", "This person is already a member.")));
            }
            let replaced = invites::invite_revoke_unanswered(conn, tenant_id, &email).await?;
            // An expired invite is dead already: replacing it takes nothing from anyone.
            for pending in replaced.iter().filter(|pending| pending.expires_at > Utc::now()) {
                authorize(Action::MembersInvite, Resource::Invitation { role: pending.role }, ctx)?;
            }
            // Counted only for an invite that is allowed, so nobody can spend
            // an address's budget with invites that are refused anyway.
            check_invite_mail_limits(&sessions, inviter_id, &email).await?;
            let new_invite = NewInvite {
                tenant_id,
                email: &email,
                role,
                token_digest: &crypto::token_digest(&token),
                invited_by: inviter_id,
                expires_at,
            };
            let invite = match invites::invite_create(conn, new_invite).await {
                Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
                    return Err(Error::Conflict(Problem::new(
                        "INVITE_CONFLICT",
                        "Another invite to this email was being made at the same moment; try again.",
                    )));
                }
                result => result?,
            };
            let tenant_name = tenants::tenant_name(conn, tenant_id).await?;
            let inviter = users::find(conn, inviter_id).await?.map(|user| user.name).unwrap_or_default();
            let body = format!(
                "{inviter} invited you to join a tenant on Incident Tracker as {role}.\n\n\
                 The tenant's name, as its members chose it (not checked by Incident Tracker):\n\
                 \"{tenant_name}\"\n\n\
                 Sign in (or sign up) with this email address, then accept within {days} days:\n{link}\n\n\
                 If you do not know why you got this, ignore it: nothing happens unless you accept.\n",
                inviter = mail_safe(&inviter),
                tenant_name = mail_safe(&tenant_name),
                days = INVITE_VALIDITY.as_secs() / 86_400,
            );
            let mail = NewMail {
                recipient: &email,
                subject: "You are invited to a tenant on Incident Tracker",
                body: &body,
                discard_after: Some(expires_at),
            };
            db::outbox::enqueue(conn, mail).await?;
            let mut done = Done::new(invite.clone());
            for pending in &replaced {
                done = done
                    .audited(
                        NewEvent::new("member.invite_revoked", Some(Target::invite(pending.id)))
                            .with_metadata(json!({ "role": pending.role.as_str(), "replacedBy": invite.id }))
                            .with_email(&pending.email),
                    )
                    .announced(Change::in_tenant(ChangeKind::InviteRevoked, pending)?);
            }
            let replaced_ids: Vec<Uuid> = replaced.iter().map(|pending| pending.id).collect();
            let event = NewEvent::new("member.invited", Some(Target::invite(invite.id)))
                .with_metadata(json!({ "role": role.as_str(), "replaced": replaced_ids }))
                .with_email(&email);
            Ok(done.audited(event).announced(Change::in_tenant(ChangeKind::InviteCreated, &invite)?))
        })
    })
    .await?;
    state.mail_queued.notify();
    Ok(invite)
}

/// Counts an invite mail against the inviter's and the recipient's limits.
async fn check_invite_mail_limits(sessions: &SessionStore, inviter_id: Uuid, email: &str) -> Result<(), Error> {
    let limits = [
        ("invite-mail-inviter", inviter_id.to_string(), INVITE_MAILS_PER_INVITER),
        ("invite-mail-recipient", email.to_string(), INVITE_MAILS_PER_RECIPIENT),
    ];
    for (action, subject, limit) in limits {
        sessions.count_attempt(action, &subject, limit, INVITE_MAIL_WINDOW).await?.or_rate_limited()?;
    }
    Ok(())
}

/// User-chosen text as it goes into a plain-text mail: nothing a mail
/// reader would turn into a link (`example.com` becomes `example[.]com`,
/// `https://` becomes `https[:]//`).
pub(crate) fn mail_safe(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut safe = String::with_capacity(text.len());
    for (index, c) in chars.iter().enumerate() {
        let between_words = index > 0
            && chars[index - 1].is_alphanumeric()
            && chars.get(index + 1).is_some_and(|next| next.is_alphanumeric());
        match c {
            '.' if between_words => safe.push_str("[.]"),
            ':' if chars.get(index + 1) == Some(&'/') => safe.push_str("[:]"),
            '@' => safe.push_str("[at]"),
            c => safe.push(*c),
        }
    }
    safe
}

pub async fn invite_list(state: &AppState, op: &OpContext, tenant_id: Uuid, page: Page) -> Result<Vec<Invite>, Error> {
    operation::tenant_read(state, op, tenant_id, Action::MembersRead, move |conn| {
        Box::pin(async move { Ok(invites::invite_list(conn, tenant_id, page.after, page.limit).await?) })
    })
    .await
}

/// Revokes a pending invite: its link stops working.
pub async fn invite_revoke(state: &AppState, op: &OpContext, tenant_id: Uuid, invite_id: Uuid) -> Result<(), Error> {
    let write = Write::new(Action::MembersInvite).exempt_from_quota();
    operation::tenant_write(state, op, tenant_id, write, move |conn, ctx| {
        Box::pin(async move {
            let invite = invites::find_pending(conn, tenant_id, invite_id).await?.ok_or(Error::NotFound)?;
            authorize(Action::MembersInvite, Resource::Invitation { role: invite.role }, ctx)?;
            if !invites::invite_revoke(conn, tenant_id, invite_id).await? {
                return Err(Error::NotFound);
            }
            let event = NewEvent::new("member.invite_revoked", Some(Target::invite(invite_id)))
                .with_metadata(json!({ "role": invite.role.as_str() }))
                .with_email(&invite.email);
            Ok(Done::new(()).audited(event).announced(Change::in_tenant(ChangeKind::InviteRevoked, &invite)?))
        })
    })
    .await
}

/// Joins the tenant an invite is for. The signed-in user's email must be the
/// invite's; the invite works once, and only while its inviter could still
/// make it. Someone who is already a member keeps their role, and joins no
/// second time.
pub async fn invite_accept(state: &AppState, op: &OpContext, token: &str) -> Result<(Uuid, Role), Error> {
    let user_id = op.user_id()?;
    if !crypto::is_random_token(token) {
        return Err(invite_invalid());
    }
    check_write_rate(state, op.actor.principal().ok_or_else(Error::auth_required)?).await?;
    let digest = crypto::token_digest(token);
    let (found, user) = {
        let mut conn = db::checkout(&state.db).await?;
        let found = invites::usable_invite(&mut conn, &digest).await?.ok_or_else(invite_invalid)?;
        (found, users::find(&mut conn, user_id).await?.ok_or_else(Error::auth_required)?)
    };
    if user.email != found.email {
        return Err(invite_invalid());
    }
    let tenant_id = found.tenant_id;
    operation::tenant_write_granted(state, op.actor.clone(), &op.origin, tenant_id, move |conn| {
        Box::pin(async move {
            // Before the invite is claimed: a deletion of the account holds
            // its row, then deletes invites to its email.
            if !users::account_hold(conn, user_id).await? {
                return Err(Error::auth_required());
            }
            let claimed =
                invites::invite_accept(conn, tenant_id, found.id, user_id).await?.ok_or_else(invite_invalid)?;
            // An invite is only as good as its inviter's standing: one from
            // someone since removed, or demoted below the role it grants, no
            // longer works.
            let inviter =
                tenants::lock_role_of(conn, tenant_id, claimed.invited_by).await?.ok_or_else(invite_invalid)?;
            let invite = Resource::Invitation { role: claimed.role };
            authorize(Action::MembersInvite, invite, Context::Member(inviter)).map_err(|_| invite_invalid())?;
            if let Some(role) = tenants::lock_role_of(conn, tenant_id, user_id).await? {
                return Ok(Done::new((tenant_id, role)));
            }
            if !tenants::insert_membership(conn, tenant_id, user_id, claimed.role).await? {
                return Err(Error::auth_required());
            }
            let member = tenants::member(conn, tenant_id, user_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("the membership just inserted is not there"))?;
            let event = NewEvent::new("member.joined", Some(Target::user(user_id)))
                .with_metadata(json!({ "inviteId": found.id, "role": claimed.role.as_str() }));
            let change = Change::in_tenant(ChangeKind::MemberJoined, &member)?;
            Ok(Done::new((tenant_id, claimed.role)).audited(event).announced(change))
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_chosen_text_in_mail_carries_no_links() {
        assert_eq!(mail_safe("Acme Inc."), "Acme Inc.");
        assert_eq!(
            mail_safe("Suspended - verify at https://evil.example.com/login"),
            "Suspended - verify at https[:]//evil[.]example[.]com/login"
        );
        assert_eq!(mail_safe("www.evil.com"), "www[.]evil[.]com");
        assert_eq!(mail_safe("mail admin@evil.com"), "mail admin[at]evil[.]com");
    }
}
