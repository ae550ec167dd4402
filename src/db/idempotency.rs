//! Idempotency keys: the first answer to a create, kept for a day, found
//! again by the key the client sent with it. Runs inside the create's
//! tenant-scoped transaction.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use super::schema::idempotency_keys;
use crate::actor::Principal;

/// Which create a key belongs to: keys are scoped to the tenant, the
/// principal and the operation.
#[derive(Clone, Copy, Debug)]
pub struct KeyScope<'a> {
    pub tenant_id: Uuid,
    pub principal: Principal,
    pub operation: &'a str,
    pub key: &'a str,
}

/// A create already answered under the key.
#[derive(Debug, Queryable)]
pub struct StoredAnswer {
    pub request_digest: Vec<u8>,
    pub response: Value,
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

/// Takes the key for this transaction, if no other transaction holds it:
/// `false` while another create under the same key is in flight. Held
/// until the transaction ends, which is when that create's answer becomes
/// visible.
pub async fn idempotency_try_lock(conn: &mut AsyncPgConnection, scope: KeyScope<'_>) -> QueryResult<bool> {
    // Two different keys may hash alike; the cost is a needless 409 once
    // in 2^64 concurrent pairs.
    let named = format!(
        "idempotency/{}/{}/{}/{}/{}",
        scope.tenant_id, scope.principal.kind, scope.principal.id, scope.operation, scope.key
    );
    let locked: Locked = super::prepared(
        diesel::sql_query("SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS locked").bind::<Text, _>(named),
    )
    .get_result(conn)
    .await?;
    Ok(locked.locked)
}

/// The answer stored under the key since `not_before`, if any.
pub async fn idempotency_find(
    conn: &mut AsyncPgConnection,
    scope: KeyScope<'_>,
    not_before: DateTime<Utc>,
) -> QueryResult<Option<StoredAnswer>> {
    idempotency_keys::table
        .find((scope.tenant_id, scope.principal.kind, scope.principal.id, scope.operation, scope.key))
        .filter(idempotency_keys::created_at.ge(not_before))
        .select((idempotency_keys::request_digest, idempotency_keys::response))
        .first(conn)
        .await
        .optional()
}

/// Stores the answer under the key, replacing an expired one, and drops the
/// principal's other keys that expired: each principal keeps at most a
/// day's worth (the same key's expired answer among them).
pub async fn idempotency_store(
    conn: &mut AsyncPgConnection,
    scope: KeyScope<'_>,
    request_digest: &[u8],
    response: &Value,
    now: DateTime<Utc>,
    not_before: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::delete(
        idempotency_keys::table
            .filter(idempotency_keys::tenant_id.eq(scope.tenant_id))
            .filter(idempotency_keys::principal_type.eq(scope.principal.kind))
            .filter(idempotency_keys::principal_id.eq(scope.principal.id))
            .filter(idempotency_keys::created_at.lt(not_before)),
    )
    .execute(conn)
    .await?;
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::tenant_id.eq(scope.tenant_id),
            idempotency_keys::principal_type.eq(scope.principal.kind),
            idempotency_keys::principal_id.eq(scope.principal.id),
            idempotency_keys::operation.eq(scope.operation),
            idempotency_keys::key.eq(scope.key),
            idempotency_keys::request_digest.eq(request_digest),
            idempotency_keys::response.eq(response),
            idempotency_keys::created_at.eq(now),
        ))
        .execute(conn)
        .await
        .map(drop)
}
