//! Service accounts and their API keys. All but [`api_key_by_prefix`] run
//! inside a tenant-scoped transaction; that one finds a presented key before
//! its tenant is known, through the narrow `api_key_by_prefix` lookup.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Bytea, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::schema::{api_keys, service_accounts};

#[derive(Clone, Debug, Queryable, Selectable, Serialize, Deserialize)]
#[diesel(table_name = service_accounts)]
pub struct ServiceAccount {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Queryable, Selectable, Serialize, Deserialize)]
#[diesel(table_name = api_keys)]
pub struct ApiKey {
    pub id: Uuid,
    pub service_account_id: Uuid,
    pub name: String,
    pub scopes: Vec<Option<String>>,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub async fn service_account_create(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    name: &str,
    created_by: Uuid,
) -> QueryResult<ServiceAccount> {
    diesel::insert_into(service_accounts::table)
        .values((
            service_accounts::id.eq(Uuid::now_v7()),
            service_accounts::tenant_id.eq(tenant_id),
            service_accounts::name.eq(name),
            service_accounts::created_by.eq(created_by),
        ))
        .returning(ServiceAccount::as_returning())
        .get_result(conn)
        .await
}

/// The tenant's service accounts, ordered by id (time-ordered: oldest
/// first), after the cursor `after`.
pub async fn service_account_list(
    mut conn: &AsyncPgConnection,
    tenant_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<ServiceAccount>> {
    let mut query = service_accounts::table
        .filter(service_accounts::tenant_id.eq(tenant_id))
        .select(ServiceAccount::as_select())
        .order(service_accounts::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(service_accounts::id.gt(after));
    }
    query.load(&mut conn).await
}

pub async fn service_account_exists(conn: &mut AsyncPgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<bool> {
    let found =
        service_accounts::table.filter(service_accounts::tenant_id.eq(tenant_id)).filter(service_accounts::id.eq(id));
    diesel::select(diesel::dsl::exists(found)).get_result(conn).await
}

pub struct NewApiKey<'a> {
    pub tenant_id: Uuid,
    pub service_account_id: Uuid,
    pub name: &'a str,
    pub scopes: &'a [&'a str],
    pub prefix: &'a str,
    pub secret_digest: &'a [u8],
    pub created_by: Uuid,
    pub expires_at: Option<DateTime<Utc>>,
}

pub async fn api_key_create(conn: &mut AsyncPgConnection, key: NewApiKey<'_>) -> QueryResult<ApiKey> {
    diesel::insert_into(api_keys::table)
        .values((
            api_keys::id.eq(Uuid::now_v7()),
            api_keys::tenant_id.eq(key.tenant_id),
            api_keys::service_account_id.eq(key.service_account_id),
            api_keys::name.eq(key.name),
            api_keys::scopes.eq(key.scopes.iter().map(|scope| Some(scope.to_string())).collect::<Vec<_>>()),
            api_keys::prefix.eq(key.prefix),
            api_keys::secret_hash.eq(key.secret_digest),
            api_keys::created_by.eq(key.created_by),
            api_keys::expires_at.eq(key.expires_at),
        ))
        .returning(ApiKey::as_returning())
        .get_result(conn)
        .await
}

/// The tenant's keys, revoked and expired ones included, ordered by id,
/// after the cursor `after`.
pub async fn api_key_list(
    mut conn: &AsyncPgConnection,
    tenant_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<ApiKey>> {
    let mut query = api_keys::table
        .filter(api_keys::tenant_id.eq(tenant_id))
        .select(ApiKey::as_select())
        .order(api_keys::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(api_keys::id.gt(after));
    }
    query.load(&mut conn).await
}

/// Revokes the key unless it already is; answers the key as it now stands
/// and whether this call revoked it, or `None` when the tenant has no such key.
pub async fn api_key_revoke(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<(ApiKey, bool)>> {
    let key = api_keys::table.filter(api_keys::tenant_id.eq(tenant_id)).filter(api_keys::id.eq(id));
    let revoked: Option<ApiKey> = diesel::update(key.filter(api_keys::revoked_at.is_null()))
        .set(api_keys::revoked_at.eq(Utc::now()))
        .returning(ApiKey::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    if let Some(revoked) = revoked {
        return Ok(Some((revoked, true)));
    }
    Ok(key.select(ApiKey::as_select()).first(conn).await.optional()?.map(|key| (key, false)))
}

/// What checking a presented key needs, found by its prefix in any tenant.
#[derive(Clone, Debug, QueryableByName)]
pub struct KeyRecord {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub tenant_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub service_account_id: Uuid,
    #[diesel(sql_type = Array<Nullable<Text>>)]
    pub scopes: Vec<Option<String>>,
    #[diesel(sql_type = Bytea)]
    pub secret_hash: Vec<u8>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub expires_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub revoked_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_used_at: Option<DateTime<Utc>>,
}

pub async fn api_key_by_prefix(conn: &mut AsyncPgConnection, prefix: &str) -> QueryResult<Option<KeyRecord>> {
    super::prepared(
        diesel::sql_query(
            "SELECT id, tenant_id, service_account_id, scopes, secret_hash, expires_at, revoked_at, last_used_at \
         FROM api_key_by_prefix($1)",
        )
        .bind::<Text, _>(prefix),
    )
    .get_result(conn)
    .await
    .optional()
}

/// Records that the key was used, unless that was recorded less than
/// `interval` ago: concurrent requests write it once.
pub async fn api_key_touch(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
    interval: chrono::Duration,
) -> QueryResult<()> {
    diesel::update(
        api_keys::table
            .filter(api_keys::tenant_id.eq(tenant_id))
            .filter(api_keys::id.eq(id))
            .filter(api_keys::last_used_at.is_null().or(api_keys::last_used_at.lt(now - interval))),
    )
    .set(api_keys::last_used_at.eq(now))
    .execute(conn)
    .await
    .map(drop)
}
