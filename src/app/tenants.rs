//! Tenants, their members and invitations.
//!
//! Every use case works in one transaction scoped to the tenant, where it
//! first reads the caller's membership: not a member is `NotFound`, as if
//! the tenant did not exist; a member whose role does not allow the action
//! is `Forbidden`. The audit event is written in the same transaction.

use std::time::Duration;

use chrono::Utc;
use diesel_async::AsyncPgConnection;
use serde_json::json;
use uuid::Uuid;

use super::auth::{CurrentSession, SessionView, normalize_email};
use super::{AppState, Error, SignedIn, validate_name};
use crate::audit::{self, Actor, NewEvent, Target};
use crate::crypto;
use crate::db::invites::{self, Invite, NewInvite};
use crate::db::tenants::{self, Member, TenantMembership};
use crate::db::{self, BoxFuture, TenantScope, outbox::NewMail, users};
use crate::policy::{Action, Context, MembershipChange, Resource, Role, authorize};

pub const INVITE_VALIDITY: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Where a page of a list starts: after this id, which the previous page
/// ended with.
#[derive(Clone, Copy, Debug)]
pub struct Page {
    pub after: Option<Uuid>,
    pub limit: i64,
}

/// Runs `work` in one transaction scoped to `tenant_id`, with the caller's
/// role there as read in that transaction; `NotFound` if not a member.
pub(crate) async fn as_member<R, F>(state: &AppState, who: &SignedIn, tenant_id: Uuid, work: F) -> Result<R, Error>
where
    R: Send + 'static,
    F: for<'c> FnOnce(&'c mut AsyncPgConnection, Context) -> BoxFuture<'c, Result<R, Error>> + Send + 'static,
{
    let user_id = who.user_id;
    db::in_tenant(&state.db, TenantScope { tenant_id, actor_id: user_id }, move |conn| {
        Box::pin(async move {
            let role = tenants::role_of(conn, tenant_id, user_id).await?.ok_or(Error::NotFound)?;
            work(conn, Context { role }).await
        })
    })
    .await
}

/// What a member may not read does not exist for them: `NotFound`, not
/// `Forbidden`.
fn may_see(action: Action, ctx: Context) -> Result<(), Error> {
    authorize(action, Resource::Tenant, ctx).map_err(|_| Error::NotFound)
}

pub async fn list(state: &AppState, who: &SignedIn, page: Page) -> Result<Vec<TenantMembership>, Error> {
    let mut conn = db::checkout(&state.db).await?;
    Ok(tenants::memberships_of_user(&mut conn, who.user_id, page.after, page.limit).await?)
}

/// Creates a tenant with the caller as its owner.
pub async fn create(state: &AppState, who: &SignedIn, name: &str) -> Result<TenantMembership, Error> {
    let name = validate_name(name)?;
    let tenant_id = Uuid::now_v7();
    let (user_id, caller) = (who.user_id, who.caller.clone());
    db::in_tenant(&state.db, TenantScope { tenant_id, actor_id: user_id }, move |conn| {
        Box::pin(async move {
            let created_at = tenants::insert_tenant(conn, tenant_id, &name).await?;
            tenants::insert_membership(conn, tenant_id, user_id, Role::Owner).await?;
            let event = NewEvent::new("tenant.created", Actor::User(user_id), Some(Target::tenant(tenant_id)))
                .with_metadata(json!({ "name": name }));
            audit::append(conn, tenant_id, &caller, event).await?;
            Ok(TenantMembership { tenant_id, tenant_name: name, role: Role::Owner, tenant_created_at: created_at })
        })
    })
    .await
}

/// Makes `tenant_id` the session's active tenant.
pub async fn switch(
    state: &AppState,
    who: &SignedIn,
    mut current: CurrentSession,
    tenant_id: Uuid,
) -> Result<SessionView, Error> {
    as_member(state, who, tenant_id, |_, ctx| Box::pin(async move { may_see(Action::TenantRead, ctx) })).await?;
    current.session.active_tenant_id = Some(tenant_id);
    if !state.sessions.update(&current.id, &current.session).await? {
        // Signed out (or reset) while switching.
        return Err(Error::AuthRequired);
    }
    let user = users::find(&mut *db::checkout(&state.db).await?, who.user_id).await?;
    Ok(SessionView { current, user, started: false })
}

pub async fn members(state: &AppState, who: &SignedIn, tenant_id: Uuid, page: Page) -> Result<Vec<Member>, Error> {
    as_member(state, who, tenant_id, move |conn, ctx| {
        Box::pin(async move {
            may_see(Action::MembersRead, ctx)?;
            Ok(tenants::members(conn, tenant_id, page.after, page.limit).await?)
        })
    })
    .await
}

/// Changes a member's role. Granting, changing or removing an owner is an
/// owner's decision, and the tenant always keeps one.
pub async fn change_role(
    state: &AppState,
    who: &SignedIn,
    tenant_id: Uuid,
    member_id: Uuid,
    new_role: Role,
) -> Result<Member, Error> {
    let (user_id, caller) = (who.user_id, who.caller.clone());
    as_member(state, who, tenant_id, move |conn, _| {
        Box::pin(async move {
            let change = MembershipChange::Role(new_role);
            let member = member_to_change(conn, tenant_id, user_id, member_id, change).await?;
            if member.role == new_role {
                return Ok(member);
            }
            tenants::set_role(conn, tenant_id, member_id, new_role).await?;
            let event = NewEvent::new("member.role_changed", Actor::User(user_id), Some(Target::user(member_id)))
                .with_metadata(json!({ "from": member.role.as_str(), "to": new_role.as_str() }));
            audit::append(conn, tenant_id, &caller, event).await?;
            Ok(Member { role: new_role, ..member })
        })
    })
    .await
}

/// Removes a member; members may also remove themselves (leave).
pub async fn remove_member(state: &AppState, who: &SignedIn, tenant_id: Uuid, member_id: Uuid) -> Result<(), Error> {
    let (user_id, caller) = (who.user_id, who.caller.clone());
    as_member(state, who, tenant_id, move |conn, _| {
        Box::pin(async move {
            let member = member_to_change(conn, tenant_id, user_id, member_id, MembershipChange::Removal).await?;
            tenants::delete_membership(conn, tenant_id, member_id).await?;
            let action = if member_id == user_id { "member.left" } else { "member.removed" };
            let event = NewEvent::new(action, Actor::User(user_id), Some(Target::user(member_id)))
                .with_metadata(json!({ "role": member.role.as_str() }));
            audit::append(conn, tenant_id, &caller, event).await?;
            Ok(())
        })
    })
    .await
}

/// The member `change` is aimed at, once the caller may make it and an
/// owner would remain. Decided on the caller's, the member's and the
/// owners' memberships locked until the transaction ends, so a concurrent
/// change cannot make the decision stale before it is carried out.
async fn member_to_change(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    caller_id: Uuid,
    member_id: Uuid,
    change: MembershipChange,
) -> Result<Member, Error> {
    let locked = tenants::lock_for_change(conn, tenant_id, caller_id, member_id).await?;
    let role_of = |id: Uuid| locked.iter().find(|(user_id, _)| *user_id == id).map(|(_, role)| *role);
    let ctx = Context { role: role_of(caller_id).ok_or(Error::NotFound)? };
    may_see(Action::MembersRead, ctx)?;
    let member = tenants::member(conn, tenant_id, member_id).await?.ok_or(Error::NotFound)?;
    let resource = Resource::Membership { role: member.role, change, is_caller: member_id == caller_id };
    authorize(Action::MembersManage, resource, ctx)?;
    let stays_owner = change == MembershipChange::Role(Role::Owner);
    let another_owner = locked.iter().any(|(user_id, role)| *role == Role::Owner && *user_id != member_id);
    if member.role == Role::Owner && !stays_owner && !another_owner {
        return Err(Error::OwnerRequired);
    }
    Ok(member)
}

/// Invites `email` to join as `role`, mailing them a single-use link; a
/// pending invite of the same email is replaced.
pub async fn invite(
    state: &AppState,
    who: &SignedIn,
    tenant_id: Uuid,
    email: &str,
    role: Role,
) -> Result<Invite, Error> {
    let email = normalize_email(email)?;
    let (user_id, caller) = (who.user_id, who.caller.clone());
    let token = crypto::random_token();
    let expires_at = Utc::now() + INVITE_VALIDITY;
    let link = format!("{}/accept-invite?token={token}", state.public_base_url);
    let invite = as_member(state, who, tenant_id, move |conn, ctx| {
        Box::pin(async move {
            authorize(Action::MembersInvite, Resource::Invitation { role }, ctx)?;
            if let Some(invitee) = users::find_by_email(conn, &email).await?
                && tenants::role_of(conn, tenant_id, invitee.id).await?.is_some()
            {
                return Err(Error::AlreadyMember);
            }
            let replaced = invites::revoke_pending_for_email(conn, tenant_id, &email).await?;
            let new_invite = NewInvite {
                tenant_id,
                email: &email,
                role,
                token_digest: &crypto::token_digest(&token),
                invited_by: user_id,
                expires_at,
            };
            let invite = invites::insert(conn, new_invite).await?;
            let tenant_name = tenants::tenant_name(conn, tenant_id).await?;
            let inviter = users::find(conn, user_id).await?.map(|user| user.name).unwrap_or_default();
            let body = format!(
                "{inviter} invited you to join {tenant_name} on Incident Tracker as {role}.\n\n\
                 Sign in (or sign up) with this email address, then accept within {days} days:\n{link}\n\n\
                 If you do not know why you got this, ignore it: nothing happens unless you accept.\n",
                days = INVITE_VALIDITY.as_secs() / 86_400,
            );
            let subject = format!("You are invited to {tenant_name} on Incident Tracker");
            let mail = NewMail { recipient: &email, subject: &subject, body: &body, discard_after: Some(expires_at) };
            db::outbox::enqueue(conn, mail).await?;
            let event = NewEvent::new("member.invited", Actor::User(user_id), Some(Target::invite(invite.id)))
                .with_metadata(json!({ "email": email, "role": role.as_str(), "replaced": replaced }));
            audit::append(conn, tenant_id, &caller, event).await?;
            Ok(invite)
        })
    })
    .await?;
    state.mail_queued.notify();
    Ok(invite)
}

pub async fn invites(state: &AppState, who: &SignedIn, tenant_id: Uuid, page: Page) -> Result<Vec<Invite>, Error> {
    as_member(state, who, tenant_id, move |conn, ctx| {
        Box::pin(async move {
            may_see(Action::MembersRead, ctx)?;
            Ok(invites::pending(conn, tenant_id, page.after, page.limit).await?)
        })
    })
    .await
}

/// Revokes a pending invite: its link stops working.
pub async fn revoke_invite(state: &AppState, who: &SignedIn, tenant_id: Uuid, invite_id: Uuid) -> Result<(), Error> {
    let (user_id, caller) = (who.user_id, who.caller.clone());
    as_member(state, who, tenant_id, move |conn, ctx| {
        Box::pin(async move {
            may_see(Action::MembersRead, ctx)?;
            let invite = invites::find_pending(conn, tenant_id, invite_id).await?.ok_or(Error::NotFound)?;
            authorize(Action::MembersInvite, Resource::Invitation { role: invite.role }, ctx)?;
            if !invites::revoke(conn, tenant_id, invite_id).await? {
                return Err(Error::NotFound);
            }
            let event = NewEvent::new("member.invite_revoked", Actor::User(user_id), Some(Target::invite(invite_id)))
                .with_metadata(json!({ "email": invite.email, "role": invite.role.as_str() }));
            audit::append(conn, tenant_id, &caller, event).await?;
            Ok(())
        })
    })
    .await
}

/// Joins the tenant an invite is for. The signed-in user's email must be the
/// invite's; the invite works once, and only while its inviter could still
/// make it. Someone who is already a member keeps their role.
pub async fn accept_invite(state: &AppState, who: &SignedIn, token: &str) -> Result<(Uuid, Role), Error> {
    if !crypto::is_random_token(token) {
        return Err(Error::InviteInvalid);
    }
    let digest = crypto::token_digest(token);
    let (found, user) = {
        let mut conn = db::checkout(&state.db).await?;
        let found = invites::usable_invite(&mut conn, &digest).await?.ok_or(Error::InviteInvalid)?;
        (found, users::find(&mut conn, who.user_id).await?.ok_or(Error::AuthRequired)?)
    };
    if user.email != found.email {
        return Err(Error::InviteInvalid);
    }
    let (tenant_id, user_id, caller) = (found.tenant_id, user.id, who.caller.clone());
    db::in_tenant(&state.db, TenantScope { tenant_id, actor_id: user_id }, move |conn| {
        Box::pin(async move {
            let claimed = invites::claim(conn, tenant_id, found.id, user_id).await?.ok_or(Error::InviteInvalid)?;
            // An invite is only as good as its inviter's standing: one from
            // someone since removed, or demoted below the role it grants, no
            // longer works.
            let inviter =
                tenants::lock_role_of(conn, tenant_id, claimed.invited_by).await?.ok_or(Error::InviteInvalid)?;
            let invite = Resource::Invitation { role: claimed.role };
            authorize(Action::MembersInvite, invite, Context { role: inviter }).map_err(|_| Error::InviteInvalid)?;
            let invited_as = claimed.role;
            let role = match tenants::role_of(conn, tenant_id, user_id).await? {
                Some(role) => role,
                None => {
                    tenants::insert_membership(conn, tenant_id, user_id, invited_as).await?;
                    invited_as
                }
            };
            let event = NewEvent::new("member.joined", Actor::User(user_id), Some(Target::user(user_id)))
                .with_metadata(json!({ "inviteId": found.id, "role": role.as_str() }));
            audit::append(conn, tenant_id, &caller, event).await?;
            Ok((tenant_id, role))
        })
    })
    .await
}
