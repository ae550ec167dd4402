//! The change feed's events. Appending runs in the change's own transaction,
//! scoped to the tenant; see the migration for why `seq` follows commit order.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Jsonb, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use super::prepared;
use super::schema::{change_event_counters, change_events};

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = change_events)]
pub struct ChangeEvent {
    pub seq: i64,
    pub id: Uuid,
    #[diesel(column_name = type_)]
    pub kind: String,
    pub incident_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    pub data: Value,
}

/// Numbers the event from the tenant's counter, whose row stays locked
/// until the transaction ends, stores it, and queues a delivery for every
/// enabled webhook that wants its type: one that names it, or one that
/// names none when it is a change in an incident. Tenant-level changes
/// carry members' emails and other subscriptions' URLs, so they leave the
/// tenant only where an admin asked for them by name. It is stamped with
/// the clock once the counter is held, so the stamps rise with the numbers
/// and purging by age removes a prefix of the feed.
pub async fn change_event_append(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    kind: &str,
    incident_id: Option<Uuid>,
    data: &Value,
) -> QueryResult<()> {
    let append = diesel::sql_query(
        "WITH counter AS (
             INSERT INTO change_event_counters AS c (tenant_id, last_seq) VALUES ($1, 1)
             ON CONFLICT (tenant_id) DO UPDATE SET last_seq = c.last_seq + 1
             RETURNING last_seq
         ), event AS (
             INSERT INTO change_events (tenant_id, seq, id, type, incident_id, occurred_at, data)
             SELECT $1, last_seq, $2, $3, $4, clock_timestamp(), $5 FROM counter
             RETURNING seq, occurred_at
         )
         INSERT INTO webhook_deliveries (id, tenant_id, webhook_id, event_seq, event_id, incident_id, status,
                                         next_attempt_at, created_at)
         SELECT gen_random_uuid(), $1, w.id, event.seq, $2, $4, 'pending', event.occurred_at, event.occurred_at
         FROM event, webhooks w
         WHERE w.tenant_id = $1 AND w.enabled AND w.deleted_at IS NULL
           AND ((w.event_types IS NULL AND $4 IS NOT NULL) OR $3 = ANY (w.event_types))",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(Uuid::now_v7())
    .bind::<Text, _>(kind)
    .bind::<Nullable<SqlUuid>, _>(incident_id)
    .bind::<Jsonb, _>(data);
    prepared(append).execute(conn).await.map(drop)
}

/// Up to `limit` events after `after`, oldest first; only of `kinds` when
/// given.
pub async fn change_event_list(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    after: i64,
    kinds: Option<&[&str]>,
    limit: i64,
) -> QueryResult<Vec<ChangeEvent>> {
    let mut query = change_events::table
        .filter(change_events::tenant_id.eq(tenant_id))
        .filter(change_events::seq.gt(after))
        .order(change_events::seq.asc())
        .limit(limit)
        .select(ChangeEvent::as_select())
        .into_boxed();
    if let Some(kinds) = kinds {
        query = query.filter(change_events::type_.eq_any(kinds));
    }
    query.load(conn).await
}

/// The feed's extent: the oldest event still kept (`None` when none is)
/// and the last number given out (0 before the first event).
pub async fn change_event_bounds(conn: &mut AsyncPgConnection, tenant_id: Uuid) -> QueryResult<(Option<i64>, i64)> {
    let oldest = change_events::table
        .filter(change_events::tenant_id.eq(tenant_id))
        .select(diesel::dsl::min(change_events::seq))
        .get_result::<Option<i64>>(conn)
        .await?;
    let last = change_event_counters::table
        .filter(change_event_counters::tenant_id.eq(tenant_id))
        .select(change_event_counters::last_seq)
        .get_result::<i64>(conn)
        .await
        .optional()?;
    Ok((oldest, last.unwrap_or(0)))
}
