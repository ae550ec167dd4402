//! Webhook subscriptions and their deliveries. Everything but
//! [`webhook_deliveries_due`] runs inside a transaction scoped to the
//! tenant, and filters on `tenant_id` too.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::change_events::ChangeEvent;
use super::schema::{change_events, webhook_deliveries, webhooks};

/// A subscription, without its secrets (see [`SigningKeys`]), so that it
/// can go into a change event or a log.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, Deserialize)]
#[diesel(table_name = webhooks)]
pub struct Webhook {
    pub id: Uuid,
    pub url: String,
    pub event_types: Option<Vec<Option<String>>>,
    pub enabled: bool,
    pub description: String,
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What signs a subscription's deliveries: its secret, and after a
/// rotation the previous one until it expires. Read only to sign.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = webhooks)]
pub struct SigningKeys {
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
}

/// Without the secrets, which must never reach a log.
impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeys").finish_non_exhaustive()
    }
}

/// What a subscription's owner sets.
#[derive(Clone, Debug, AsChangeset)]
#[diesel(table_name = webhooks, treat_none_as_null = true)]
pub struct WebhookChange {
    pub url: String,
    pub event_types: Option<Vec<Option<String>>>,
    pub enabled: bool,
    pub description: String,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub struct Delivery {
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub event_seq: i64,
    pub event_id: Uuid,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub last_latency_ms: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

pub async fn webhook_create(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    id: Uuid,
    secret: &str,
    fields: &WebhookChange,
) -> QueryResult<Webhook> {
    diesel::insert_into(webhooks::table)
        .values((
            webhooks::id.eq(id),
            webhooks::tenant_id.eq(tenant_id),
            webhooks::url.eq(&fields.url),
            webhooks::event_types.eq(&fields.event_types),
            webhooks::enabled.eq(fields.enabled),
            webhooks::description.eq(&fields.description),
            webhooks::secret.eq(secret),
            webhooks::created_at.eq(fields.updated_at),
            webhooks::updated_at.eq(fields.updated_at),
        ))
        .returning(Webhook::as_returning())
        .get_result(conn)
        .await
}

/// A tenant's subscriptions, deleted ones aside.
fn live(tenant_id: Uuid) -> webhooks::BoxedQuery<'static, diesel::pg::Pg> {
    webhooks::table.filter(webhooks::tenant_id.eq(tenant_id)).filter(webhooks::deleted_at.is_null()).into_boxed()
}

pub async fn webhook_count(mut conn: &AsyncPgConnection, tenant_id: Uuid) -> QueryResult<i64> {
    live(tenant_id).count().get_result(&mut conn).await
}

pub async fn webhook_list(mut conn: &AsyncPgConnection, tenant_id: Uuid) -> QueryResult<Vec<Webhook>> {
    live(tenant_id).order(webhooks::created_at.asc()).select(Webhook::as_select()).load(&mut conn).await
}

/// The subscription, locked against concurrent changes until the
/// transaction ends.
pub async fn webhook_lock(conn: &mut AsyncPgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<Webhook>> {
    webhooks::table
        .filter(webhooks::tenant_id.eq(tenant_id).and(webhooks::id.eq(id)))
        .filter(webhooks::deleted_at.is_null())
        .select(Webhook::as_select())
        .for_no_key_update()
        .first(conn)
        .await
        .optional()
}

pub async fn webhook_view(mut conn: &AsyncPgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<Webhook>> {
    live(tenant_id).filter(webhooks::id.eq(id)).select(Webhook::as_select()).first(&mut conn).await.optional()
}

/// Applies the change; `reenabled` also forgets how long it had been
/// failing, so it gets a fresh 5 days.
pub async fn webhook_update(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    id: Uuid,
    change: &WebhookChange,
    reenabled: bool,
) -> QueryResult<Webhook> {
    let subscription = webhooks::table.filter(webhooks::tenant_id.eq(tenant_id).and(webhooks::id.eq(id)));
    if reenabled {
        diesel::update(subscription).set(webhooks::failing_since.eq(None::<DateTime<Utc>>)).execute(conn).await?;
    }
    diesel::update(subscription).set(change).returning(Webhook::as_returning()).get_result(conn).await
}

/// Marks the subscription deleted and drops its secrets. An update, not a
/// delete: a change queuing a delivery for it holds a key-share lock on the
/// row, which an update of other columns does not wait for.
pub async fn webhook_delete(conn: &mut AsyncPgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<Webhook>> {
    let now = Utc::now();
    diesel::update(
        webhooks::table
            .filter(webhooks::tenant_id.eq(tenant_id).and(webhooks::id.eq(id)).and(webhooks::deleted_at.is_null())),
    )
    .set((
        webhooks::deleted_at.eq(now),
        webhooks::enabled.eq(false),
        webhooks::secret.eq(""),
        webhooks::previous_secret.eq(None::<String>),
        webhooks::updated_at.eq(now),
    ))
    .returning(Webhook::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// The new secret signs from now on; the current one keeps signing beside
/// it until `previous_until`.
pub async fn webhook_rotate_secret(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    id: Uuid,
    secret: &str,
    previous_until: DateTime<Utc>,
) -> QueryResult<Option<Webhook>> {
    diesel::update(
        webhooks::table
            .filter(webhooks::tenant_id.eq(tenant_id).and(webhooks::id.eq(id)).and(webhooks::deleted_at.is_null())),
    )
    .set((
        webhooks::previous_secret.eq(webhooks::secret.nullable()),
        webhooks::previous_secret_expires_at.eq(previous_until),
        webhooks::secret.eq(secret),
        webhooks::updated_at.eq(Utc::now()),
    ))
    .returning(Webhook::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// The subscription's latest deliveries, newest first.
pub async fn webhook_delivery_list(
    mut conn: &AsyncPgConnection,
    tenant_id: Uuid,
    webhook_id: Uuid,
    limit: i64,
) -> QueryResult<Vec<Delivery>> {
    webhook_deliveries::table
        .filter(webhook_deliveries::tenant_id.eq(tenant_id).and(webhook_deliveries::webhook_id.eq(webhook_id)))
        .order(webhook_deliveries::event_seq.desc())
        .limit(limit)
        .select(Delivery::as_select())
        .load(&mut conn)
        .await
}

pub async fn webhook_delivery_exists(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    webhook_id: Uuid,
    id: Uuid,
) -> QueryResult<bool> {
    let delivery = webhook_deliveries::tenant_id
        .eq(tenant_id)
        .and(webhook_deliveries::webhook_id.eq(webhook_id))
        .and(webhook_deliveries::id.eq(id));
    diesel::select(diesel::dsl::exists(webhook_deliveries::table.filter(delivery))).get_result(conn).await
}

/// Sends the delivery again, from now: it is pending once more. `None`
/// when there is no such delivery, or a worker is sending it right now.
pub async fn webhook_redeliver(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    webhook_id: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<Option<Delivery>> {
    let unclaimed =
        webhook_deliveries::claimed_until.is_null().or(webhook_deliveries::claimed_until.lt(diesel::dsl::now));
    let delivery = webhook_deliveries::tenant_id
        .eq(tenant_id)
        .and(webhook_deliveries::webhook_id.eq(webhook_id))
        .and(webhook_deliveries::id.eq(id));
    diesel::update(webhook_deliveries::table.filter(delivery.and(unclaimed)))
        .set((
            webhook_deliveries::status.eq("pending"),
            webhook_deliveries::next_attempt_at.eq(now),
            webhook_deliveries::created_at.eq(now),
        ))
        .returning(Delivery::as_returning())
        .get_result(conn)
        .await
        .optional()
}

#[derive(Debug, QueryableByName)]
pub struct DueDelivery {
    #[diesel(sql_type = SqlUuid)]
    pub tenant_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
}

/// Up to `most` deliveries of any tenant due by `due_by`, each the oldest
/// pending one of its subscription and incident.
pub async fn webhook_deliveries_due(
    conn: &mut AsyncPgConnection,
    due_by: DateTime<Utc>,
    most: i64,
) -> QueryResult<Vec<DueDelivery>> {
    diesel::sql_query("SELECT tenant_id, id FROM webhook_deliveries_due($1, $2)")
        .bind::<Timestamptz, _>(due_by)
        .bind::<BigInt, _>(most)
        .load(conn)
        .await
}

/// Claims a due attempt for 30 seconds by the database's clock, under
/// `token`, counting it: `None` when another worker holds it or it is no
/// longer pending. A delivery whose subscription was disabled or deleted
/// meanwhile is marked failed instead. With it come the subscription, its
/// signing keys and the event.
pub async fn webhook_delivery_claim(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    id: Uuid,
    token: Uuid,
) -> QueryResult<Option<(Delivery, Webhook, SigningKeys, ChangeEvent)>> {
    use diesel::dsl::{now, sql};
    let claimed = diesel::update(
        webhook_deliveries::table.filter(
            webhook_deliveries::tenant_id
                .eq(tenant_id)
                .and(webhook_deliveries::id.eq(id))
                .and(webhook_deliveries::status.eq("pending"))
                .and(webhook_deliveries::claimed_until.is_null().or(webhook_deliveries::claimed_until.lt(now))),
        ),
    )
    .set((
        webhook_deliveries::claimed_until.eq(sql::<Nullable<Timestamptz>>("now() + interval '30 seconds'")),
        webhook_deliveries::claim.eq(token),
        webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
    ))
    .returning(Delivery::as_returning())
    .get_result(conn)
    .await
    .optional()?;
    let Some(delivery) = claimed else { return Ok(None) };
    let (webhook, keys) = webhooks::table
        .filter(webhooks::tenant_id.eq(tenant_id).and(webhooks::id.eq(delivery.webhook_id)))
        .select((Webhook::as_select(), SigningKeys::as_select()))
        .first(conn)
        .await?;
    if !webhook.enabled {
        diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq(delivery.id)))
            .set((
                webhook_deliveries::status.eq("failed"),
                webhook_deliveries::last_error.eq("the subscription is disabled or deleted"),
                webhook_deliveries::claimed_until.eq(None::<DateTime<Utc>>),
                webhook_deliveries::claim.eq(None::<Uuid>),
            ))
            .execute(conn)
            .await?;
        return Ok(None);
    }
    let event = change_events::table
        .filter(change_events::tenant_id.eq(tenant_id).and(change_events::seq.eq(delivery.event_seq)))
        .select(ChangeEvent::as_select())
        .first(conn)
        .await?;
    Ok(Some((delivery, webhook, keys, event)))
}

/// How an attempt went.
pub struct Attempted<'a> {
    pub status_code: Option<i32>,
    pub error: Option<&'a str>,
    pub latency_ms: i32,
    pub at: DateTime<Utc>,
    /// `Some(next)` to try again then; `None` when it is over.
    pub retry_at: Option<DateTime<Utc>>,
    pub delivered: bool,
}

/// Records the attempt on the delivery, if `token` still holds its claim,
/// and on its subscription: a success ends its failing, a failure starts
/// it unless it has begun already. `false` when the claim was lost (it
/// lapsed and another worker took the attempt over): nothing is recorded.
pub async fn webhook_delivery_record(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    delivery: &Delivery,
    token: Uuid,
    attempted: &Attempted<'_>,
) -> QueryResult<bool> {
    let status = match (attempted.delivered, attempted.retry_at) {
        (true, _) => "delivered",
        (false, Some(_)) => "pending",
        (false, None) => "failed",
    };
    let claimed = webhook_deliveries::tenant_id
        .eq(tenant_id)
        .and(webhook_deliveries::id.eq(delivery.id))
        .and(webhook_deliveries::claim.eq(token));
    let recorded = diesel::update(webhook_deliveries::table.filter(claimed))
        .set((
            webhook_deliveries::status.eq(status),
            webhook_deliveries::next_attempt_at.eq(attempted.retry_at.unwrap_or(attempted.at)),
            webhook_deliveries::claimed_until.eq(None::<DateTime<Utc>>),
            webhook_deliveries::claim.eq(None::<Uuid>),
            webhook_deliveries::last_status_code.eq(attempted.status_code),
            webhook_deliveries::last_error.eq(attempted.error),
            webhook_deliveries::last_latency_ms.eq(attempted.latency_ms),
            webhook_deliveries::delivered_at.eq(attempted.delivered.then_some(attempted.at)),
        ))
        .execute(conn)
        .await?;
    if recorded == 0 {
        return Ok(false);
    }
    let subscription =
        webhooks::table.filter(webhooks::tenant_id.eq(tenant_id).and(webhooks::id.eq(delivery.webhook_id)));
    if attempted.delivered {
        diesel::update(subscription).set(webhooks::failing_since.eq(None::<DateTime<Utc>>)).execute(conn).await?;
    } else {
        diesel::update(subscription.filter(webhooks::failing_since.is_null()))
            .set(webhooks::failing_since.eq(attempted.at))
            .execute(conn)
            .await?;
    }
    Ok(true)
}

/// The pending delivery that follows `delivery` for its subscription and
/// incident, if it is due: what a worker sends next after a success.
pub async fn webhook_delivery_following(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    delivery: &Delivery,
    incident_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> QueryResult<Option<Uuid>> {
    let pending = webhook_deliveries::table
        .filter(webhook_deliveries::tenant_id.eq(tenant_id))
        .filter(webhook_deliveries::webhook_id.eq(delivery.webhook_id))
        .filter(webhook_deliveries::status.eq("pending"))
        .filter(webhook_deliveries::event_seq.gt(delivery.event_seq))
        .filter(webhook_deliveries::next_attempt_at.le(now))
        .into_boxed();
    let pending = match incident_id {
        Some(incident_id) => pending.filter(webhook_deliveries::incident_id.eq(incident_id)),
        None => pending.filter(webhook_deliveries::incident_id.is_null()),
    };
    pending.order(webhook_deliveries::event_seq.asc()).select(webhook_deliveries::id).first(conn).await.optional()
}

/// Stops deliveries to a subscription that has failed too long; `None`
/// when it was disabled or deleted meanwhile.
pub async fn webhook_disable(conn: &mut AsyncPgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<Webhook>> {
    let enabled = webhooks::tenant_id.eq(tenant_id).and(webhooks::id.eq(id)).and(webhooks::enabled);
    diesel::update(webhooks::table.filter(enabled.and(webhooks::deleted_at.is_null())))
        .set((webhooks::enabled.eq(false), webhooks::updated_at.eq(Utc::now())))
        .returning(Webhook::as_returning())
        .get_result(conn)
        .await
        .optional()
}
