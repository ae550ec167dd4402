//! Deleting an account, on its owner's request, with its credentials again.
//!
//! The account leaves every tenant (refused while it is a tenant's last
//! owner), its sessions end, and its email, name and client addresses are
//! erased where they are its own: the account's row, change events that
//! name it, and the client addresses of audit events it did. What it did in
//! tenants stays attributed to its id, which nothing maps to a person any
//! more. Audit events stay as they were hashed: personal data was never in
//! them (see `audit`), so every chain still verifies.
//!
//! Sign-up proves no email, so what others hold under the account's email
//! (invites to it) is its to erase only once it accepted one, whose token
//! was mailed there: until then anyone could have signed up with it.

use diesel_async::AsyncConnection;
use serde_json::json;

use super::auth::two_factor::second_factor_confirmed;
use super::auth::{guarded, password_matches, signed_in_user};
use super::operation::{Change, ChangeKind, Done};
use super::tenants::member_to_change;
use super::{AppState, Error, OpContext};
use crate::audit::{self, NewEvent, Target};
use crate::db::{self, TenantScope};
use crate::policy::MembershipChange;

/// `code` is needed when the account signs in with two factors.
pub async fn account_delete(
    state: &AppState,
    op: &OpContext,
    password: String,
    code: Option<&str>,
) -> Result<(), Error> {
    let user = signed_in_user(state, op).await?;
    guarded(state, op, &user, async || {
        let confirmed =
            password_matches(state, &user, password).await? && second_factor_confirmed(state, &user, code).await?;
        Ok(confirmed.then_some(()))
    })
    .await?;
    let mut conn = db::checkout(&state.db).await?;
    conn.transaction(async |conn| {
        db::retention::purge_hold(conn).await?;
        db::users::account_credentials_delete(conn, user.id).await?;
        // Before the memberships are read, so that none is added meanwhile;
        // refused when a concurrent deletion or password reset came first.
        if !db::users::account_mark_deleted(conn, &user).await? {
            return Err(Error::auth_required());
        }
        let tenant_ids = db::tenants::tenant_ids_of_user(conn, user.id).await?;
        for &tenant_id in &tenant_ids {
            db::enter_tenant(conn, TenantScope { tenant_id, actor_id: user.id }).await?;
            let member = match member_to_change(conn, tenant_id, user.id, user.id, MembershipChange::Removal).await {
                Ok(member) => member,
                // Removed by an admin since its tenants were read.
                Err(Error::NotFound) => continue,
                Err(Error::Conflict(problem)) => {
                    return Err(Error::Conflict(problem.with_detail("tenantId", tenant_id.to_string())));
                }
                Err(error) => return Err(error),
            };
            db::tenants::member_remove(conn, tenant_id, user.id).await?;
            // Announced as the member was; `account_erase` below replaces
            // the email and name in it, as everywhere else.
            let event = NewEvent::new("account.deleted", Some(Target::user(user.id)))
                .with_metadata(json!({ "role": member.role.as_str() }));
            let change = Change::in_tenant(ChangeKind::MemberRemoved, &member)?;
            Done::new(()).audited(event).announced(change).record(conn, tenant_id, &op.actor, &op.origin).await?;
        }
        if tenant_ids.is_empty() {
            let event = NewEvent::new("account.deleted", Some(Target::user(user.id)));
            audit::record_platform_event(conn, &op.actor, &op.origin, event).await?;
        }
        db::users::account_erase(conn, user.id).await?;
        // Ended before the commit, so that with the session store down the
        // account stays as it was instead of vanishing behind live sessions.
        state.sessions.delete_all_of_user(user.id).await
    })
    .await?;
    // And again after it, for a session begun in between (a sign-in that
    // finishes after the commit finds no account and ends its own). The
    // account is gone either way: failing now would only confuse the caller.
    if let Err(error) = state.sessions.delete_all_of_user(user.id).await {
        tracing::error!(user_id = %user.id, request_id = %op.origin.request_id, %error, "ending the sessions of a deleted account failed");
    }
    Ok(())
}
