//! Invitations to join a tenant. All but [`usable_invite`] run inside a
//! tenant-scoped transaction; that one answers for a token before its tenant
//! is known, through the narrow `usable_invitation` lookup.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bytea, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::schema::invitations;
use super::tenants::RoleColumn;
use crate::policy::Role;

#[derive(Clone, Debug, Queryable, Serialize, Deserialize)]
pub struct Invite {
    pub id: Uuid,
    pub email: String,
    #[diesel(deserialize_as = RoleColumn)]
    pub role: Role,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

type InviteColumns =
    (invitations::id, invitations::email, invitations::role, invitations::expires_at, invitations::created_at);

const INVITE_COLUMNS: InviteColumns =
    (invitations::id, invitations::email, invitations::role, invitations::expires_at, invitations::created_at);

pub struct NewInvite<'a> {
    pub tenant_id: Uuid,
    pub email: &'a str,
    pub role: Role,
    pub token_digest: &'a [u8],
    pub invited_by: Uuid,
    pub expires_at: DateTime<Utc>,
}

pub async fn invite_create(conn: &mut AsyncPgConnection, invite: NewInvite<'_>) -> QueryResult<Invite> {
    diesel::insert_into(invitations::table)
        .values((
            invitations::id.eq(Uuid::now_v7()),
            invitations::tenant_id.eq(invite.tenant_id),
            invitations::email.eq(invite.email),
            invitations::role.eq(invite.role.as_str()),
            invitations::token_hash.eq(invite.token_digest),
            invitations::invited_by.eq(invite.invited_by),
            invitations::expires_at.eq(invite.expires_at),
        ))
        .returning(INVITE_COLUMNS)
        .get_result(conn)
        .await
}

/// Conditions of an invitation that can still be accepted.
macro_rules! usable {
    () => {
        invitations::accepted_at
            .is_null()
            .and(invitations::revoked_at.is_null())
            .and(invitations::expires_at.gt(Utc::now()))
    };
}

/// The tenant's invitations that can still be accepted, ordered by id
/// (time-ordered: oldest first), after the cursor `after`.
pub async fn invite_list(
    mut conn: &AsyncPgConnection,
    tenant_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<Invite>> {
    let mut query = invitations::table
        .filter(invitations::tenant_id.eq(tenant_id))
        .filter(usable!())
        .select(INVITE_COLUMNS)
        .order(invitations::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(invitations::id.gt(after));
    }
    query.load(&mut conn).await
}

pub async fn find_pending(mut conn: &AsyncPgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<Invite>> {
    invitations::table
        .filter(invitations::tenant_id.eq(tenant_id))
        .filter(invitations::id.eq(id))
        .filter(usable!())
        .select(INVITE_COLUMNS)
        .first(&mut conn)
        .await
        .optional()
}

/// Revokes the invitations of `email` in the tenant that were neither
/// accepted nor revoked, expired ones included (the database holds at most
/// one such per email); answers them as they were.
pub async fn invite_revoke_unanswered(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    email: &str,
) -> QueryResult<Vec<Invite>> {
    diesel::update(
        invitations::table
            .filter(invitations::tenant_id.eq(tenant_id))
            .filter(invitations::email.eq(email))
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::revoked_at.is_null()),
    )
    .set(invitations::revoked_at.eq(Utc::now()))
    .returning(INVITE_COLUMNS)
    .get_results(conn)
    .await
}

/// Revokes one pending invitation; `false` if it was no longer pending.
pub async fn invite_revoke(conn: &mut AsyncPgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<bool> {
    let revoked = diesel::update(
        invitations::table
            .filter(invitations::tenant_id.eq(tenant_id))
            .filter(invitations::id.eq(id))
            .filter(usable!()),
    )
    .set(invitations::revoked_at.eq(Utc::now()))
    .execute(conn)
    .await?;
    Ok(revoked == 1)
}

/// An invitation claimed for acceptance.
pub struct Claimed {
    pub role: Role,
    pub invited_by: Uuid,
}

/// Marks the invitation accepted by `user_id`, in the same statement that
/// checks it is still pending, so it is used at most once; `None` when it
/// was no longer pending.
pub async fn invite_accept(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    id: Uuid,
    user_id: Uuid,
) -> QueryResult<Option<Claimed>> {
    let claimed: Option<(RoleColumn, Uuid)> = diesel::update(
        invitations::table
            .filter(invitations::tenant_id.eq(tenant_id))
            .filter(invitations::id.eq(id))
            .filter(usable!()),
    )
    .set((invitations::accepted_at.eq(Utc::now()), invitations::accepted_by.eq(user_id)))
    .returning((invitations::role, invitations::invited_by))
    .get_result(conn)
    .await
    .optional()?;
    Ok(claimed.map(|(role, invited_by)| Claimed { role: role.into(), invited_by }))
}

/// What a token's invitation is for, before its tenant is known.
#[derive(Clone, Debug, QueryableByName)]
pub struct UsableInvite {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub tenant_id: Uuid,
    #[diesel(sql_type = Text)]
    pub email: String,
}

/// The pending invitation whose token has this SHA-256, in any tenant.
pub async fn usable_invite(conn: &mut AsyncPgConnection, token_digest: &[u8]) -> QueryResult<Option<UsableInvite>> {
    super::prepared(
        diesel::sql_query("SELECT id, tenant_id, email FROM usable_invitation($1)").bind::<Bytea, _>(token_digest),
    )
    .get_result(conn)
    .await
    .optional()
}
