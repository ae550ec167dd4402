//! Webhooks: subscriptions to the change feed, delivered signed (the
//! Standard Webhooks scheme) at least once and in order per incident, from
//! the outbox rows every change event queues (see `db::change_events`).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use tokio::sync::{Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};
use uuid::Uuid;

use super::events::ChangeEvent;
use super::operation::{self, Change, ChangeKind, Done, Write};
use super::{AppState, Error, OpContext, Origin, Problem};
use crate::actor::Actor;
use crate::audit::{NewEvent, Target};
use crate::db::webhooks::SigningKeys;
use crate::db::{self, webhooks as queries};
use crate::policy::Action;

pub use queries::{Delivery, Webhook};

/// How long a receiver has to answer with a 2xx.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long resolving a receiver's host may take. With the answer's time it
/// stays well inside a claim's 30 seconds.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);
/// Subscriptions per tenant: each turns every change into one more request.
const MAX_WEBHOOKS: i64 = 20;
/// Deliveries in flight per tenant and server, so one tenant's slow
/// receivers cannot take every slot.
const IN_FLIGHT_PER_TENANT: usize = 4;
/// How long a delivery is retried after it was queued.
const RETRY_FOR: chrono::Duration = chrono::Duration::hours(24);
/// A subscription whose deliveries have all failed this long is disabled.
const DISABLE_AFTER: chrono::Duration = chrono::Duration::days(5);
/// How long the previous secret keeps signing after a rotation.
const PREVIOUS_SECRET_FOR: chrono::Duration = chrono::Duration::hours(24);
/// How often each server looks for due deliveries.
const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// Deliveries in flight per server; a slow receiver holds one slot, not
/// the others.
const IN_FLIGHT: usize = 16;
const MAX_URL_CHARS: usize = 2000;
const MAX_DESCRIPTION_CHARS: usize = 500;
const DELIVERIES_LISTED: i64 = 100;

/// Where deliveries may go.
#[derive(Clone, Copy, Debug)]
pub struct TargetPolicy {
    /// Production: `https` only.
    pub https_only: bool,
    /// Development and tests only: loopback and private addresses too.
    /// Cloud metadata addresses stay refused.
    pub allow_private: bool,
}

/// What a subscription's owner sets; `event_types: None` is every type.
pub struct WebhookFields {
    pub url: String,
    pub event_types: Option<Vec<String>>,
    pub enabled: bool,
    pub description: String,
}

/// A subscription with the secret that signs its deliveries, which only
/// its creation and a rotation show.
pub struct WithSecret {
    pub webhook: Webhook,
    pub secret: String,
}

pub async fn webhook_list(state: &AppState, op: &OpContext) -> Result<Vec<Webhook>, Error> {
    let tenant_id = op.active_tenant()?;
    operation::tenant_read(state, op, tenant_id, Action::WebhooksManage, move |conn| {
        Box::pin(async move { Ok(queries::webhook_list(conn, tenant_id).await?) })
    })
    .await
}

pub async fn webhook_view(state: &AppState, op: &OpContext, webhook_id: Uuid) -> Result<Webhook, Error> {
    let tenant_id = op.active_tenant()?;
    operation::tenant_read(state, op, tenant_id, Action::WebhooksManage, move |conn| {
        Box::pin(async move { queries::webhook_view(conn, tenant_id, webhook_id).await?.ok_or(Error::NotFound) })
    })
    .await
}

pub async fn webhook_create(state: &AppState, op: &OpContext, fields: WebhookFields) -> Result<WithSecret, Error> {
    let tenant_id = op.active_tenant()?;
    let change = validate(state, fields).await?;
    let secret = new_secret();
    operation::tenant_write(state, op, tenant_id, Write::new(Action::WebhooksManage), move |conn, _| {
        Box::pin(async move {
            if queries::webhook_count(conn, tenant_id).await? >= MAX_WEBHOOKS {
                return Err(Error::Conflict(
                    Problem::new("WEBHOOK_LIMIT_REACHED", "A tenant has at most 20 webhooks; delete one first.")
                        .with_detail("limit", MAX_WEBHOOKS),
                ));
            }
            let webhook = queries::webhook_create(conn, tenant_id, Uuid::now_v7(), &secret, &change).await?;
            let event = NewEvent::new("webhook.created", Some(Target::webhook(webhook.id)))
                .with_metadata(json!({ "url": webhook.url, "eventTypes": change.event_types }));
            let created = Change::in_tenant(ChangeKind::WebhookCreated, &webhook)?;
            Ok(Done::new(WithSecret { webhook, secret }).audited(event).announced(created))
        })
    })
    .await
}

/// Changes what is given; absent fields stay as they are.
pub struct WebhookPatch {
    pub url: Option<String>,
    pub event_types: Option<Option<Vec<String>>>,
    pub enabled: Option<bool>,
    pub description: Option<String>,
}

pub async fn webhook_update(
    state: &AppState,
    op: &OpContext,
    webhook_id: Uuid,
    patch: WebhookPatch,
) -> Result<Webhook, Error> {
    let tenant_id = op.active_tenant()?;
    // The URL is checked (and resolved) before the transaction, not in it.
    let url = match patch.url {
        Some(url) => Some(validate_url(state, &url).await?),
        None => None,
    };
    if let Some(description) = &patch.description {
        validate_description(description)?;
    }
    operation::tenant_write(state, op, tenant_id, Write::new(Action::WebhooksManage), move |conn, _| {
        Box::pin(async move {
            let current = queries::webhook_lock(conn, tenant_id, webhook_id).await?.ok_or(Error::NotFound)?;
            let change = queries::WebhookChange {
                url: url.unwrap_or(current.url),
                event_types: patch.event_types.map_or(current.event_types, stored_types),
                enabled: patch.enabled.unwrap_or(current.enabled),
                description: patch.description.unwrap_or(current.description),
                updated_at: Utc::now(),
            };
            let reenabled = change.enabled && !current.enabled;
            let updated = queries::webhook_update(conn, tenant_id, webhook_id, &change, reenabled).await?;
            let event = NewEvent::new("webhook.updated", Some(Target::webhook(webhook_id))).with_metadata(
                json!({ "url": updated.url, "eventTypes": updated.event_types, "enabled": updated.enabled }),
            );
            let change = Change::in_tenant(ChangeKind::WebhookUpdated, &updated)?;
            Ok(Done::new(updated).audited(event).announced(change))
        })
    })
    .await
}

pub async fn webhook_delete(state: &AppState, op: &OpContext, webhook_id: Uuid) -> Result<(), Error> {
    let tenant_id = op.active_tenant()?;
    let write = Write::new(Action::WebhooksManage).exempt_from_quota();
    operation::tenant_write(state, op, tenant_id, write, move |conn, _| {
        Box::pin(async move {
            let deleted = queries::webhook_delete(conn, tenant_id, webhook_id).await?.ok_or(Error::NotFound)?;
            let event = NewEvent::new("webhook.deleted", Some(Target::webhook(webhook_id)));
            let change = Change::in_tenant(ChangeKind::WebhookDeleted, &deleted)?;
            Ok(Done::new(()).audited(event).announced(change))
        })
    })
    .await
}

pub async fn webhook_secret_rotate(state: &AppState, op: &OpContext, webhook_id: Uuid) -> Result<WithSecret, Error> {
    let tenant_id = op.active_tenant()?;
    let secret = new_secret();
    operation::tenant_write(state, op, tenant_id, Write::new(Action::WebhooksManage), move |conn, _| {
        Box::pin(async move {
            let previous_until = Utc::now() + PREVIOUS_SECRET_FOR;
            let webhook = queries::webhook_rotate_secret(conn, tenant_id, webhook_id, &secret, previous_until)
                .await?
                .ok_or(Error::NotFound)?;
            let event = NewEvent::new("webhook.secret_rotated", Some(Target::webhook(webhook_id)));
            let change = Change::in_tenant(ChangeKind::WebhookSecretRotated, &webhook)?;
            Ok(Done::new(WithSecret { webhook, secret }).audited(event).announced(change))
        })
    })
    .await
}

pub async fn webhook_delivery_list(state: &AppState, op: &OpContext, webhook_id: Uuid) -> Result<Vec<Delivery>, Error> {
    let tenant_id = op.active_tenant()?;
    operation::tenant_read(state, op, tenant_id, Action::WebhooksManage, move |conn| {
        Box::pin(async move {
            queries::webhook_view(conn, tenant_id, webhook_id).await?.ok_or(Error::NotFound)?;
            Ok(queries::webhook_delivery_list(conn, tenant_id, webhook_id, DELIVERIES_LISTED).await?)
        })
    })
    .await
}

pub async fn webhook_redeliver(
    state: &AppState,
    op: &OpContext,
    webhook_id: Uuid,
    delivery_id: Uuid,
) -> Result<Delivery, Error> {
    let tenant_id = op.active_tenant()?;
    operation::tenant_write(state, op, tenant_id, Write::new(Action::WebhooksManage), move |conn, _| {
        Box::pin(async move {
            let Some(delivery) =
                queries::webhook_redeliver(conn, tenant_id, webhook_id, delivery_id, Utc::now()).await?
            else {
                if queries::webhook_delivery_exists(conn, tenant_id, webhook_id, delivery_id).await? {
                    return Err(Error::Conflict(Problem::new(
                        "DELIVERY_IN_PROGRESS",
                        "This delivery is being sent right now; ask again once it is done.",
                    )));
                }
                return Err(Error::NotFound);
            };
            let event = NewEvent::new("webhook.redelivered", Some(Target::webhook(webhook_id)))
                .with_metadata(json!({ "deliveryId": delivery_id }));
            Ok(Done::new(delivery).audited(event))
        })
    })
    .await
}

async fn validate(state: &AppState, fields: WebhookFields) -> Result<queries::WebhookChange, Error> {
    validate_description(&fields.description)?;
    Ok(queries::WebhookChange {
        url: validate_url(state, &fields.url).await?,
        event_types: stored_types(fields.event_types),
        enabled: fields.enabled,
        description: fields.description,
        updated_at: Utc::now(),
    })
}

fn validate_description(description: &str) -> Result<(), Error> {
    if description.chars().count() > MAX_DESCRIPTION_CHARS || description.chars().any(crate::text::is_hidden) {
        return Err(Error::invalid_field(
            "description",
            "A description has at most 500 characters, none of them control or formatting characters.",
        ));
    }
    Ok(())
}

fn stored_types(types: Option<Vec<String>>) -> Option<Vec<Option<String>>> {
    types.map(|types| {
        let mut types: Vec<Option<String>> = types.into_iter().map(Some).collect();
        types.sort();
        types.dedup();
        types
    })
}

/// The URL as stored, once its form and every address its host resolves
/// to are allowed.
async fn validate_url(state: &AppState, raw: &str) -> Result<String, Error> {
    let invalid = |message: &'static str| Error::invalid_field("url", message);
    if raw.chars().count() > MAX_URL_CHARS {
        return Err(invalid("A URL has at most 2000 characters."));
    }
    let url = reqwest::Url::parse(raw).map_err(|_| invalid("Expected an absolute http(s) URL."))?;
    resolve_target(&url, state.webhook_targets).await?;
    Ok(url.to_string())
}

/// The addresses a delivery to `url` may connect to: all of those its host
/// resolves to, each allowed, or `400 WEBHOOK_URL_FORBIDDEN`. Checked when
/// a subscription is saved and again before every delivery, so a name that
/// later resolves elsewhere (DNS rebinding) is caught; the delivery then
/// connects to exactly these addresses.
async fn resolve_target(url: &reqwest::Url, policy: TargetPolicy) -> Result<(String, Vec<SocketAddr>), Error> {
    let forbidden = |reason: &str| {
        Error::Invalid(
            Problem::new("WEBHOOK_URL_FORBIDDEN", format!("Webhooks cannot be delivered there: {reason}."))
                .with_detail("field", "url"),
        )
    };
    match url.scheme() {
        "https" => {}
        "http" if !policy.https_only => {}
        _ => return Err(forbidden("the URL must be https")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(forbidden("the URL must not hold credentials"));
    }
    let host = url.host_str().ok_or_else(|| forbidden("the URL has no host"))?.to_string();
    let port = url.port_or_known_default().ok_or_else(|| forbidden("the URL has no port"))?;
    let lookup = host.trim_start_matches('[').trim_end_matches(']').to_string();
    let addresses: Vec<SocketAddr> =
        tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((lookup.as_str(), port)))
            .await
            .map_err(|_| forbidden("its host did not resolve in time"))?
            .map_err(|_| forbidden("its host does not resolve"))?
            .collect();
    if addresses.is_empty() {
        return Err(forbidden("its host does not resolve"));
    }
    // Which address it was is not said: that would map internal names.
    if addresses.iter().any(|address| !allowed_address(address.ip(), policy.allow_private)) {
        return Err(forbidden("its host resolves to an address that is not public"));
    }
    Ok((host, addresses))
}

/// Public unicast addresses; with `allow_private`, loopback and private
/// ones too. Cloud metadata addresses never. An IPv6 address that carries
/// an IPv4 one (mapped, compatible, NAT64, 6to4) is judged by the IPv4
/// address it reaches; Teredo's, which hides it, is refused.
pub fn allowed_address(ip: IpAddr, allow_private: bool) -> bool {
    const METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);
    match ip {
        IpAddr::V4(v4) => allowed_v4(v4, allow_private),
        IpAddr::V6(v6) if v6 == METADATA_V6 => false,
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => allowed_v4(v4, allow_private),
            None => {
                let first = v6.segments()[0];
                let teredo = first == 0x2001 && v6.segments()[1] == 0;
                let local_nat64 = first == 0x64 && v6.segments()[1] == 0xff9b && v6.segments()[2] == 1;
                let never = v6.is_unspecified() || v6.is_multicast() || teredo;
                let unique_local = (first & 0xfe00) == 0xfc00;
                let link_local = (first & 0xffc0) == 0xfe80;
                let private = v6.is_loopback() || unique_local || link_local || local_nat64;
                !never && (!private || allow_private)
            }
        },
    }
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), -compatible
/// (`::a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`) or 6to4 (`2002:aabb:ccdd::`)
/// address.
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let segments = v6.segments();
    let low = Ipv4Addr::from(u32::from(segments[6]) << 16 | u32::from(segments[7]));
    match segments {
        [0, 0, 0, 0, 0, 0xffff, ..] => Some(low),
        // `::` and `::1` are IPv6's own.
        [0, 0, 0, 0, 0, 0, ..] if !v6.is_unspecified() && !v6.is_loopback() => Some(low),
        [0x64, 0xff9b, 0, 0, 0, 0, ..] => Some(low),
        [0x2002, high, low_half, ..] => Some(Ipv4Addr::from(u32::from(high) << 16 | u32::from(low_half))),
        _ => None,
    }
}

fn allowed_v4(v4: Ipv4Addr, allow_private: bool) -> bool {
    const METADATA: Ipv4Addr = Ipv4Addr::new(169, 254, 169, 254);
    let [first, second, third, _] = v4.octets();
    let shared = first == 100 && (second & 0xc0) == 64;
    let benchmarking = first == 198 && (second & 0xfe) == 18;
    let protocol_assignments = first == 192 && second == 0 && third == 0;
    let reserved = first >= 240;
    let never = v4 == METADATA
        || v4.is_unspecified()
        || v4.is_multicast()
        || v4.is_broadcast()
        || v4.is_documentation()
        || benchmarking
        || protocol_assignments
        || reserved;
    let private = v4.is_loopback() || v4.is_private() || v4.is_link_local() || shared || first == 0;
    !never && (!private || allow_private)
}

/// `whsec_` and 24 random bytes in base64, as Standard Webhooks writes keys.
fn new_secret() -> String {
    let mut bytes = [0u8; 24];
    OsRng.fill_bytes(&mut bytes);
    format!("whsec_{}", STANDARD.encode(bytes))
}

/// The `webhook-signature` header: `v1,<base64 HMAC-SHA256>` of
/// `{id}.{timestamp}.{body}` under each secret, space-separated.
pub fn signature_header(secrets: &[&str], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .filter_map(|secret| STANDARD.decode(secret.strip_prefix("whsec_").unwrap_or(secret)).ok())
        .map(|key| {
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
            mac.update(format!("{id}.{timestamp}.").as_bytes());
            mac.update(body);
            format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// How a stored event becomes a delivery's body: the event as the API
/// shows it, which only the HTTP layer knows how to render.
pub type RenderEvent = fn(Uuid, ChangeEvent) -> Result<Vec<u8>, Error>;

/// Delivers due webhooks. Each server runs one; a delivery is claimed by
/// one of them per attempt.
pub struct DeliveryWorker {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl DeliveryWorker {
    pub fn start(state: Arc<AppState>, render: RenderEvent) -> DeliveryWorker {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let slots = Arc::new(Semaphore::new(IN_FLIGHT));
            let per_tenant = Arc::new(Mutex::new(HashMap::new()));
            let mut in_flight = JoinSet::new();
            loop {
                while in_flight.try_join_next().is_some() {}
                let sending = Sending { slots: &slots, per_tenant: &per_tenant, in_flight: &mut in_flight };
                if let Err(error) = webhook_deliveries_due(&state, render, sending).await {
                    tracing::warn!(error = format!("{error:#}"), "finding due webhook deliveries failed");
                }
                tokio::select! {
                    _ = tokio::time::sleep(POLL_INTERVAL) => {}
                    _ = stopped.changed() => break,
                }
            }
            // A delivery cut short is claimed again once its claim lapses.
            in_flight.shutdown().await;
        });
        DeliveryWorker { stop, task }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// A worker's deliveries in flight: its slots, how many each tenant holds,
/// and the tasks.
struct Sending<'a> {
    slots: &'a Arc<Semaphore>,
    per_tenant: &'a Arc<Mutex<HashMap<Uuid, usize>>>,
    in_flight: &'a mut JoinSet<()>,
}

async fn webhook_deliveries_due(state: &Arc<AppState>, render: RenderEvent, sending: Sending<'_>) -> Result<(), Error> {
    let free = sending.slots.available_permits() as i64;
    if free == 0 {
        return Ok(());
    }
    let due = {
        let mut conn = db::checkout(&state.db).await?;
        queries::webhook_deliveries_due(&mut conn, Utc::now(), free).await?
    };
    for due in due {
        {
            let mut per_tenant = sending.per_tenant.lock().expect("the count is never left half-updated");
            let held = per_tenant.entry(due.tenant_id).or_insert(0);
            if *held >= IN_FLIGHT_PER_TENANT {
                continue;
            }
            *held += 1;
        }
        let Ok(slot) = sending.slots.clone().acquire_owned().await else { break };
        let (state, per_tenant) = (state.clone(), sending.per_tenant.clone());
        sending.in_flight.spawn(async move {
            // After a success the incident's next event goes at once, not
            // at the next poll: in order, without waiting between them.
            let mut next = Some(due.id);
            while let Some(delivery_id) = next {
                next = webhook_deliver(&state, render, due.tenant_id, delivery_id).await.unwrap_or_else(|error| {
                    tracing::warn!(%delivery_id, error = format!("{error:#}"), "a webhook delivery failed");
                    None
                });
            }
            // A tenant with nothing in flight leaves the map, so it does not
            // grow with every tenant ever served.
            let mut per_tenant = per_tenant.lock().expect("the count is never left half-updated");
            if let Some(held) = per_tenant.get_mut(&due.tenant_id) {
                *held -= 1;
                if *held == 0 {
                    per_tenant.remove(&due.tenant_id);
                }
            }
            drop(per_tenant);
            drop(slot);
        });
    }
    Ok(())
}

/// One attempt: claim it, send it, record how it went. After a success,
/// the delivery due next for the same subscription and incident.
async fn webhook_deliver(
    state: &AppState,
    render: RenderEvent,
    tenant_id: Uuid,
    delivery_id: Uuid,
) -> Result<Option<Uuid>, Error> {
    let origin = Origin::internal("webhook");
    let token = Uuid::new_v4();
    let claimed = operation::tenant_write_granted(state, Actor::System, &origin, tenant_id, move |conn| {
        Box::pin(
            async move { Ok(Done::new(queries::webhook_delivery_claim(conn, tenant_id, delivery_id, token).await?)) },
        )
    })
    .await?;
    // Another server claimed it first, or it is no longer pending.
    let Some((delivery, webhook, keys, event)) = claimed else { return Ok(None) };
    let (event_id, incident_id) = (event.id.to_string(), event.incident_id);
    let started = Instant::now();
    let outcome = send(state, render, tenant_id, &webhook, &keys, &event_id, event).await;
    let at = Utc::now();
    let latency_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
    let (status_code, error) = match &outcome {
        Ok(status) => (Some(i32::from(*status)), (!(200..300).contains(status)).then(|| format!("HTTP {status}"))),
        Err(error) => (None, Some(error.clone())),
    };
    let delivered = error.is_none();
    let retry_at =
        (!delivered).then(|| at + backoff(delivery.attempts)).filter(|next| *next < delivery.created_at + RETRY_FOR);
    let give_up = !delivered && webhook.failing_since.is_some_and(|since| at - since > DISABLE_AFTER);
    let error_text = error.clone();
    let following = operation::tenant_write_granted(state, Actor::System, &origin, tenant_id, move |conn| {
        Box::pin(async move {
            let attempted =
                queries::Attempted { status_code, error: error_text.as_deref(), latency_ms, at, retry_at, delivered };
            if !queries::webhook_delivery_record(conn, tenant_id, &delivery, token, &attempted).await? {
                tracing::warn!(%delivery_id, "a webhook attempt outlived its claim; another worker took it over");
                return Ok(Done::new(None));
            }
            let following = match delivered {
                true => queries::webhook_delivery_following(conn, tenant_id, &delivery, incident_id, at).await?,
                false => None,
            };
            let mut done = Done::new(following);
            // An admin may have disabled or deleted it meanwhile: then
            // nobody needs telling.
            let disabled = match give_up {
                true => queries::webhook_disable(conn, tenant_id, webhook.id).await?,
                false => None,
            };
            if let Some(disabled) = disabled {
                let body = format!(
                    "Every delivery to one of your tenant's webhooks has failed for 5 days, so it was disabled.\n\n\
                     Webhook: {id}\nURL (as its admins set it, not checked by Incident Tracker): {url}\n\n\
                     Fix the receiver, then enable the webhook again; its failed deliveries can be redelivered.\n",
                    id = webhook.id,
                    url = super::tenants::mail_safe(&webhook.url),
                );
                for owner in db::tenants::owner_emails(conn, tenant_id).await? {
                    let mail = db::outbox::NewMail {
                        recipient: &owner,
                        subject: "A webhook was disabled after 5 days of failed deliveries",
                        body: &body,
                        discard_after: None,
                    };
                    db::outbox::enqueue(conn, mail).await?;
                }
                done = done
                    .audited(
                        NewEvent::new("webhook.disabled", Some(Target::webhook(webhook.id)))
                            .with_metadata(json!({ "failingSince": webhook.failing_since })),
                    )
                    .announced(Change::in_tenant(ChangeKind::WebhookUpdated, &disabled)?);
            }
            Ok(done)
        })
    })
    .await;
    if give_up {
        state.mail_queued.notify();
    }
    following
}

/// Before attempt `attempts + 1`: 2 s doubling per attempt up to an hour,
/// with jitter (half of it random), so receivers that come back are not
/// hit by every sender at once.
fn backoff(attempts: i32) -> chrono::Duration {
    let full_ms = (2_000u64 << attempts.clamp(0, 20).saturating_sub(1) as u32).min(3_600_000);
    let jitter = OsRng.next_u64() % (full_ms / 2 + 1);
    chrono::Duration::milliseconds((full_ms / 2 + jitter) as i64)
}

/// Posts the event; the receiver's status code, or why there was none.
async fn send(
    state: &AppState,
    render: RenderEvent,
    tenant_id: Uuid,
    webhook: &Webhook,
    keys: &SigningKeys,
    event_id: &str,
    event: ChangeEvent,
) -> Result<u16, String> {
    let url = reqwest::Url::parse(&webhook.url).map_err(|error| format!("stored URL: {error}"))?;
    let (host, addresses) = resolve_target(&url, state.webhook_targets).await.map_err(|error| match error {
        Error::Invalid(problem) => problem.message.into_owned(),
        other => other.to_string(),
    })?;
    let body = render(tenant_id, event).map_err(|error| format!("rendering the event: {error}"))?;
    let timestamp = Utc::now().timestamp();
    let mut secrets = vec![keys.secret.as_str()];
    if let (Some(previous), Some(until)) = (&keys.previous_secret, keys.previous_secret_expires_at)
        && until > Utc::now()
    {
        secrets.push(previous);
    }
    // Exactly the addresses just checked, however the name resolves now.
    // No proxy either: one would resolve the name itself, past the check.
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(DELIVERY_TIMEOUT)
        .resolve_to_addrs(&host, &addresses)
        .build()
        .map_err(|error| error.to_string())?;
    let response =
        client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", event_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature_header(&secrets, event_id, timestamp, &body))
            .body(body)
            .send()
            .await
            .map_err(|error| {
                if error.is_timeout() { "no answer within 10 seconds".to_string() } else { format!("{error:#}") }
            })?;
    Ok(response.status().as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_and_metadata_addresses_are_refused() {
        for public in ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"] {
            assert!(allowed_address(public.parse().unwrap(), false), "{public}");
        }
        for private in ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.1.1", "100.64.0.1", "::1"] {
            assert!(!allowed_address(private.parse().unwrap(), false), "{private}");
            assert!(allowed_address(private.parse().unwrap(), true), "{private} with private targets allowed");
        }
        for never in ["169.254.169.254", "fd00:ec2::254", "::ffff:169.254.169.254", "0.0.0.0", "224.0.0.1"]
            .into_iter()
            .chain(["198.18.0.1", "192.0.0.8", "240.0.0.1", "2001:0:4136:e378::1", "64:ff9b::a9fe:a9fe"])
        {
            assert!(!allowed_address(never.parse().unwrap(), true), "{never}");
        }
        // IPv4 addresses carried inside IPv6 ones reach where the IPv4 one does.
        for inside in ["::ffff:127.0.0.1", "::10.0.0.1", "64:ff9b::10.0.0.1", "64:ff9b:1::1", "2002:a00:1::"] {
            assert!(!allowed_address(inside.parse().unwrap(), false), "{inside}");
        }
        assert!(allowed_address("64:ff9b::5db8:d822".parse().unwrap(), false), "NAT64 to a public address");
    }

    #[test]
    fn the_signature_is_standard_webhooks_own_example() {
        // The example in the Standard Webhooks specification.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        let header = signature_header(&[secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(header, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
