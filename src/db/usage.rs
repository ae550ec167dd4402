//! Usage counters and the daily write quota. Everything here runs inside a
//! transaction scoped to the tenant.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Date, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{usage_counts, usage_write_days};
use crate::actor::Principal;

/// The tenant's writes on a day, against its quota.
#[derive(Clone, Copy, Debug, PartialEq, Eq, QueryableByName)]
pub struct WriteCount {
    #[diesel(sql_type = BigInt)]
    pub writes: i64,
    #[diesel(sql_type = BigInt)]
    pub write_quota: i64,
}

/// Counts one write of `principal` on `day`, if the tenant's quota (its
/// own, or `default_quota`) allows one more or `enforce` is false: `Ok`
/// with the count including it, or `Err` with the count that left no room. The tenant's row for the
/// day stays locked until the transaction ends, so concurrent writes are
/// counted one after another, and a write that rolls back was never counted.
pub async fn usage_count_write(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    day: NaiveDate,
    principal: Principal,
    default_quota: i64,
    enforce: bool,
) -> QueryResult<Result<WriteCount, WriteCount>> {
    let counted: Option<WriteCount> = super::prepared(
        diesel::sql_query(
            "WITH quota AS (
             SELECT coalesce((SELECT daily_write_quota::bigint FROM tenants WHERE id = $1), $3) AS q
         ), counted AS (
             INSERT INTO usage_write_days AS u (tenant_id, day, writes, write_quota)
             SELECT $1, $2, 1, q FROM quota WHERE q > 0 OR NOT $6
             ON CONFLICT (tenant_id, day) DO UPDATE
                 SET writes = u.writes + 1, write_quota = EXCLUDED.write_quota
                 WHERE u.writes < EXCLUDED.write_quota OR NOT $6
             RETURNING writes, write_quota
         ), by_principal AS (
             INSERT INTO usage_counts AS c (tenant_id, day, principal_type, principal_id, writes)
             SELECT $1, $2, $4, $5, 1 FROM counted
             ON CONFLICT (tenant_id, day, principal_type, principal_id) DO UPDATE SET writes = c.writes + 1
         )
         SELECT writes, write_quota FROM counted",
        )
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<Date, _>(day)
        .bind::<BigInt, _>(default_quota)
        .bind::<Text, _>(principal.kind)
        .bind::<SqlUuid, _>(principal.id)
        .bind::<Bool, _>(enforce),
    )
    .get_result(conn)
    .await
    .optional()?;
    if let Some(counted) = counted {
        return Ok(Ok(counted));
    }
    let full: WriteCount = super::prepared(
        diesel::sql_query(
            "SELECT coalesce((SELECT writes FROM usage_write_days WHERE tenant_id = $1 AND day = $2), 0) AS writes,
                coalesce((SELECT daily_write_quota::bigint FROM tenants WHERE id = $1), $3) AS write_quota",
        )
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<Date, _>(day)
        .bind::<BigInt, _>(default_quota),
    )
    .get_result(conn)
    .await?;
    Ok(Err(full))
}

/// Adds `reads` to `principal`'s count on `day`.
pub async fn usage_count_reads(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    day: NaiveDate,
    principal: Principal,
    reads: i64,
) -> QueryResult<()> {
    diesel::insert_into(usage_counts::table)
        .values((
            usage_counts::tenant_id.eq(tenant_id),
            usage_counts::day.eq(day),
            usage_counts::principal_type.eq(principal.kind),
            usage_counts::principal_id.eq(principal.id),
            usage_counts::reads.eq(reads),
        ))
        .on_conflict((
            usage_counts::tenant_id,
            usage_counts::day,
            usage_counts::principal_type,
            usage_counts::principal_id,
        ))
        .do_update()
        .set(usage_counts::reads.eq(usage_counts::reads + reads))
        .execute(conn)
        .await
        .map(drop)
}

/// One principal's counts on one day.
#[derive(Clone, Debug, Queryable)]
pub struct UsageRow {
    pub day: NaiveDate,
    pub principal_type: String,
    pub principal_id: Uuid,
    pub reads: i64,
    pub writes: i64,
}

/// Every principal's counts from `from` to `to`, both included, by day.
pub async fn usage_view(
    mut conn: &AsyncPgConnection,
    tenant_id: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<UsageRow>> {
    usage_counts::table
        .filter(usage_counts::tenant_id.eq(tenant_id))
        .filter(usage_counts::day.between(from, to))
        .order((usage_counts::day, usage_counts::principal_type, usage_counts::principal_id))
        .select((
            usage_counts::day,
            usage_counts::principal_type,
            usage_counts::principal_id,
            usage_counts::reads,
            usage_counts::writes,
        ))
        .load(&mut conn)
        .await
}

/// The quota each day from `from` to `to` was counted against, for the
/// days with writes.
pub async fn usage_write_quotas(
    mut conn: &AsyncPgConnection,
    tenant_id: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<(NaiveDate, i64)>> {
    usage_write_days::table
        .filter(usage_write_days::tenant_id.eq(tenant_id))
        .filter(usage_write_days::day.between(from, to))
        .select((usage_write_days::day, usage_write_days::write_quota))
        .load(&mut conn)
        .await
}

/// The tenant's own daily write quota, if it has one.
pub async fn tenant_write_quota(mut conn: &AsyncPgConnection, tenant_id: Uuid) -> QueryResult<Option<i32>> {
    use super::schema::tenants;
    tenants::table.find(tenant_id).select(tenants::daily_write_quota).first(&mut conn).await
}

/// Sets (or, with `None`, clears) the tenant's own daily write quota.
pub async fn tenant_write_quota_set(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    quota: Option<i32>,
) -> QueryResult<usize> {
    use super::schema::tenants;
    diesel::update(tenants::table.find(tenant_id)).set(tenants::daily_write_quota.eq(quota)).execute(conn).await
}
