//! Tenants and memberships. Everything here runs inside a tenant-scoped
//! transaction, except what goes through the `user_memberships` lookup,
//! which answers for the user across tenants.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::schema::{memberships, tenants, users};
use crate::policy::Role;

/// A tenant as one of its members sees it.
#[derive(Clone, Debug, QueryableByName)]
pub struct TenantMembership {
    #[diesel(sql_type = SqlUuid)]
    pub tenant_id: Uuid,
    #[diesel(sql_type = Text)]
    pub tenant_name: String,
    #[diesel(sql_type = Text, deserialize_as = RoleColumn)]
    pub role: Role,
    #[diesel(sql_type = Timestamptz)]
    pub tenant_created_at: DateTime<Utc>,
}

/// A member and their account.
#[derive(Clone, Debug, Queryable, Serialize, Deserialize)]
pub struct Member {
    pub user_id: Uuid,
    pub email: String,
    pub name: String,
    #[diesel(deserialize_as = RoleColumn)]
    pub role: Role,
    pub joined_at: DateTime<Utc>,
}

type MemberColumns = (users::id, users::email, users::name, memberships::role, memberships::created_at);

const MEMBER_COLUMNS: MemberColumns =
    (users::id, users::email, users::name, memberships::role, memberships::created_at);

/// A role as stored: its name, which the table's CHECK keeps to the four.
#[derive(diesel::deserialize::FromSqlRow)]
pub struct RoleColumn(Role);

impl From<RoleColumn> for Role {
    fn from(column: RoleColumn) -> Role {
        column.0
    }
}

impl diesel::deserialize::FromSql<Text, diesel::pg::Pg> for RoleColumn {
    fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<RoleColumn> {
        let name = <String as diesel::deserialize::FromSql<Text, diesel::pg::Pg>>::from_sql(bytes)?;
        Ok(RoleColumn(name.parse::<Role>()?))
    }
}

/// Creates the tenant, inside a transaction scoped to `id`.
pub async fn tenant_create(conn: &mut AsyncPgConnection, id: Uuid, name: &str) -> QueryResult<DateTime<Utc>> {
    diesel::insert_into(tenants::table)
        .values((tenants::id.eq(id), tenants::name.eq(name)))
        .returning(tenants::created_at)
        .get_result(conn)
        .await
}

pub async fn tenant_name(conn: &mut AsyncPgConnection, tenant_id: Uuid) -> QueryResult<String> {
    tenants::table.find(tenant_id).select(tenants::name).first(conn).await
}

/// The tenants `user_id` belongs to, ordered by id (ids are time-ordered, so
/// oldest first), after the cursor `after`.
pub async fn tenant_list(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<TenantMembership>> {
    super::prepared(
        diesel::sql_query(
            "SELECT tenant_id, tenant_name, role, tenant_created_at FROM user_memberships($1) \
         WHERE $2::uuid IS NULL OR tenant_id > $2 ORDER BY tenant_id LIMIT $3",
        )
        .bind::<SqlUuid, _>(user_id)
        .bind::<Nullable<SqlUuid>, _>(after)
        .bind::<BigInt, _>(limit),
    )
    .load(conn)
    .await
}

/// Every tenant `user_id` belongs to.
pub async fn tenant_ids_of_user(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<Vec<Uuid>> {
    Ok(tenant_list(conn, user_id, None, i64::MAX).await?.into_iter().map(|m| m.tenant_id).collect())
}

/// Makes `user_id` a member, unless the account is deleted: `false` then.
/// The account's row is share-locked until the transaction ends, so a
/// deletion either waits for this membership and removes it, or has marked
/// the account first and this waits, sees it, and inserts nothing.
pub async fn insert_membership(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    user_id: Uuid,
    role: Role,
) -> QueryResult<bool> {
    let insert = diesel::sql_query(
        "WITH account AS (SELECT id FROM users WHERE id = $2 AND deleted_at IS NULL FOR SHARE)
         INSERT INTO memberships (tenant_id, user_id, role) SELECT $1, id, $3 FROM account",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant_id)
    .bind::<diesel::sql_types::Uuid, _>(user_id)
    .bind::<diesel::sql_types::Text, _>(role.as_str());
    Ok(insert.execute(conn).await? == 1)
}

/// `user_id`'s role in the tenant, if a member.
pub async fn role_of(mut conn: &AsyncPgConnection, tenant_id: Uuid, user_id: Uuid) -> QueryResult<Option<Role>> {
    let role: Option<RoleColumn> = memberships::table
        .find((tenant_id, user_id))
        .select(memberships::role)
        .first::<RoleColumn>(&mut conn)
        .await
        .optional()?;
    Ok(role.map(Role::from))
}

/// `user_id`'s role in the tenant, if a member, with the membership locked
/// against changes until the transaction ends.
pub async fn lock_role_of(mut conn: &AsyncPgConnection, tenant_id: Uuid, user_id: Uuid) -> QueryResult<Option<Role>> {
    let role: Option<RoleColumn> = memberships::table
        .find((tenant_id, user_id))
        .select(memberships::role)
        .for_share()
        .first::<RoleColumn>(&mut conn)
        .await
        .optional()?;
    Ok(role.map(Role::from))
}

/// The tenant's members, ordered by user id, after the cursor `after`.
pub async fn member_list(
    mut conn: &AsyncPgConnection,
    tenant_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<Member>> {
    let mut query = memberships::table
        .inner_join(users::table)
        .filter(memberships::tenant_id.eq(tenant_id))
        .select(MEMBER_COLUMNS)
        .order(users::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(users::id.gt(after));
    }
    query.load(&mut conn).await
}

/// The email addresses of the tenant's owners.
pub async fn owner_emails(conn: &mut AsyncPgConnection, tenant_id: Uuid) -> QueryResult<Vec<String>> {
    memberships::table
        .inner_join(users::table)
        .filter(memberships::tenant_id.eq(tenant_id))
        .filter(memberships::role.eq(Role::Owner.as_str()))
        .select(users::email)
        .order(users::email)
        .load(conn)
        .await
}

pub async fn member(conn: &mut AsyncPgConnection, tenant_id: Uuid, user_id: Uuid) -> QueryResult<Option<Member>> {
    memberships::table
        .inner_join(users::table)
        .filter(memberships::tenant_id.eq(tenant_id))
        .filter(memberships::user_id.eq(user_id))
        .select(MEMBER_COLUMNS)
        .first(conn)
        .await
        .optional()
}

/// Locks, until the transaction ends, the memberships a change of
/// `member_id` by `caller_id` depends on: theirs and every owner's. One
/// statement takes them in user id order, so concurrent changes wait for
/// each other instead of deadlocking. Answers each locked member's current
/// role.
pub async fn lock_for_change(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    caller_id: Uuid,
    member_id: Uuid,
) -> QueryResult<Vec<(Uuid, Role)>> {
    let locked: Vec<(Uuid, RoleColumn)> = memberships::table
        .filter(memberships::tenant_id.eq(tenant_id))
        .filter(memberships::user_id.eq_any([caller_id, member_id]).or(memberships::role.eq(Role::Owner.as_str())))
        .order(memberships::user_id)
        .select((memberships::user_id, memberships::role))
        .for_update()
        .load(conn)
        .await?;
    Ok(locked.into_iter().map(|(user_id, role)| (user_id, role.into())).collect())
}

pub async fn member_update(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    user_id: Uuid,
    role: Role,
) -> QueryResult<()> {
    diesel::update(memberships::table.find((tenant_id, user_id)))
        .set((memberships::role.eq(role.as_str()), memberships::updated_at.eq(Utc::now())))
        .execute(conn)
        .await
        .map(drop)
}

pub async fn member_remove(conn: &mut AsyncPgConnection, tenant_id: Uuid, user_id: Uuid) -> QueryResult<()> {
    diesel::delete(memberships::table.find((tenant_id, user_id))).execute(conn).await.map(drop)
}
