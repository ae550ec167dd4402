//! Deleting an account, on its owner's request, with the password again.
//!
//! The account leaves every tenant (refused while it is a tenant's last
//! owner), its sessions end, and its email and name are erased wherever
//! they are kept: the account's row, invitations to it, change events that
//! name it, and the personal data of its audit events. What it did in
//! tenants stays attributed to its id, which nothing maps to a person any
//! more. Audit events stay as they were hashed: personal data was never in
//! them (see `audit`), so every chain still verifies.

use diesel_async::AsyncConnection;
use serde_json::json;

use super::auth::{guarded, password_matches, signed_in_user};
use super::operation::{Change, ChangeKind, Done};
use super::tenants::member_to_change;
use super::{AppState, Error, OpContext};
use crate::audit::{self, NewEvent, Target};
use crate::db::{self, TenantScope};
use crate::policy::MembershipChange;

pub async fn account_delete(state: &AppState, op: &OpContext, password: String) -> Result<(), Error> {
    let user = signed_in_user(state, op).await?;
    guarded(state, op, &user, async || Ok(password_matches(state, &user, password).await?.then_some(()))).await?;
    let mut conn = db::checkout(&state.db).await?;
    conn.transaction(async |conn| {
        // First, so that no membership is added meanwhile, and a second
        // deletion at the same moment finds nothing to delete.
        if !db::users::account_mark_deleted(conn, user.id).await? {
            return Err(Error::auth_required());
        }
        let tenant_ids = db::tenants::tenant_ids_of_user(conn, user.id).await?;
        for &tenant_id in &tenant_ids {
            db::enter_tenant(conn, TenantScope { tenant_id, actor_id: user.id }).await?;
            let member = member_to_change(conn, tenant_id, user.id, user.id, MembershipChange::Removal)
                .await
                .map_err(|error| in_tenant(error, tenant_id))?;
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
        db::users::account_erase(conn, &user).await?;
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

/// Names the tenant a refusal is about: the caller may belong to several.
fn in_tenant(error: Error, tenant_id: uuid::Uuid) -> Error {
    match error {
        Error::Conflict(problem) => Error::Conflict(problem.with_detail("tenantId", tenant_id.to_string())),
        other => other,
    }
}
