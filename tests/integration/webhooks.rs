//! Webhooks: signed deliveries of the change feed, retried, in order per
//! incident, never to addresses inside the network.

use std::time::Duration;

use diesel_async::RunQueryDsl;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures::future::join_all;
use hmac::{Hmac, Mac};
use incident_tracker_client::Client;
use incident_tracker_client::types::{
    DeliveryStatus, Event, EventData, EventType, WebhookCreateRequest, WebhookDelivery, WebhookUpdateRequest,
    WebhookWithSecret,
};
use sha2::Sha256;
use uuid::Uuid;

use crate::common::receiver::{Received, WebhookReceiver};
use crate::common::redis::RedisServer;
use crate::common::{TestApp, TestDatabase, audit_actions, mail_to, scratch_dir};
use crate::incidents::{new_incident, note};
use crate::tenants::{add_member, error_code, status, user};

/// A Standard Webhooks verifier written from the specification, sharing no
/// code with the server's signer: the signed content is
/// `{webhook-id}.{webhook-timestamp}.{body}`, the key the base64 after
/// `whsec_`, and the header a space-separated list of `v1,<base64>`.
fn verified(secret: &str, received: &Received) -> bool {
    let key = STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(received.id.as_bytes());
    mac.update(b".");
    mac.update(received.timestamp.as_bytes());
    mac.update(b".");
    mac.update(&received.body);
    let expected = mac.finalize().into_bytes();
    received
        .signature
        .split(' ')
        .filter_map(|signature| signature.strip_prefix("v1,"))
        .any(|signature| STANDARD.decode(signature).is_ok_and(|decoded| decoded.as_slice() == expected.as_slice()))
}

struct Setting {
    app: TestApp,
    /// Where the server writes mail, having no SMTP server.
    mail_dir: std::path::PathBuf,
    database: TestDatabase,
    api: Client,
    tenant: Uuid,
    _redis: RedisServer,
}

async fn setting(allow_private_targets: bool) -> (Setting, crate::common::browser::Browser) {
    let redis = RedisServer::start().await;
    let database = TestDatabase::migrated().await;
    let data_dir = scratch_dir("webhooks");
    let vars = [
        ("REDIS_URL", redis.url()),
        ("DATA_DIR", data_dir.to_string_lossy().into_owned()),
        ("WRITE_RATE_LIMIT", "100000/600".to_string()),
        ("WEBHOOK_ALLOW_PRIVATE_TARGETS", allow_private_targets.to_string()),
    ];
    let vars: Vec<(&str, &str)> = vars.iter().map(|(name, value)| (*name, value.as_str())).collect();
    let app = TestApp::spawn_on(&database, &vars).await;
    let (owner, _) = user(&app, "owner").await;
    let tenant = owner.create_tenant("Acme").await;
    owner.api().tenant_switch(&tenant).await.unwrap();
    let api = owner.api();
    (Setting { app, mail_dir: data_dir.join("mail"), database, api, tenant, _redis: redis }, owner)
}

/// A subscription to the events of incidents, which are ordered per
/// incident; the tenant's own changes would be a second ordered stream.
pub(crate) fn subscription(url: &str) -> WebhookCreateRequest {
    use EventType::*;
    let incident_events =
        vec![IncidentCreated, IncidentUpdated, IncidentStatusChanged, TaskCreated, TaskUpdated, StatusUpdatePosted];
    WebhookCreateRequest {
        url: url.parse().unwrap(),
        event_types: Some([incident_events, vec![TimelineNoteCreated]].concat()),
        enabled: true,
        description: Default::default(),
    }
}

/// Waits until `enough` holds of what the receiver got.
async fn received_until(receiver: &WebhookReceiver, enough: impl Fn(&[Received]) -> bool) -> Vec<Received> {
    for _ in 0..300 {
        let received = receiver.received();
        if enough(&received) {
            return received;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the receiver got {:?}", receiver.received());
}

async fn deliveries(api: &Client, webhook: Uuid) -> Vec<WebhookDelivery> {
    api.webhook_delivery_list(&webhook).await.unwrap().into_inner().items
}

/// The deliveries, once the newest has `status` or 10 s have passed.
async fn deliveries_once_newest_is(api: &Client, webhook: Uuid, status: DeliveryStatus) -> Vec<WebhookDelivery> {
    let mut listed = deliveries(api, webhook).await;
    for _ in 0..100 {
        if listed[0].status == status {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        listed = deliveries(api, webhook).await;
    }
    listed
}

#[tokio::test(flavor = "multi_thread")]
async fn deliveries_are_signed_retried_after_failures_and_redelivered() {
    let (setting, owner) = setting(true).await;
    let receiver = WebhookReceiver::start(&[500, 500]).await;
    let WebhookWithSecret { webhook, secret } =
        setting.api.webhook_create(&subscription(&receiver.url())).await.unwrap().into_inner();
    assert!(secret.starts_with("whsec_"));
    // The answer that shows the secret is kept by no cache. Rotated before
    // any event, so every delivery below is signed with the new secret.
    let shown = owner.http().post(setting.app.url(&format!("/v1/webhooks/{}/rotate-secret", webhook.id)));
    let shown = shown.header("x-csrf-token", owner.csrf_token()).send().await.unwrap();
    assert_eq!(shown.headers()["cache-control"], "no-store");
    let secret = shown.json::<serde_json::Value>().await.unwrap()["secret"].as_str().unwrap().to_string();
    let incident = setting.api.incident_create(None, &new_incident("Checkout down")).await.unwrap().into_inner();

    let received = received_until(&receiver, |received| received.len() >= 3).await;
    assert!(received.iter().all(|attempt| verified(&secret, attempt)), "{received:?}");
    assert!(received.iter().all(|attempt| attempt.id == received[0].id), "one event, one id");
    let event: serde_json::Value = serde_json::from_slice(&received[2].body).unwrap();
    assert_eq!(event["type"], "incident.created");
    assert_eq!(event["data"]["id"], incident.id.to_string());
    assert_eq!(event["tenantId"], setting.tenant.to_string());
    let mut forged = received[2].clone();
    forged.body = br#"{"type":"incident.created"}"#.to_vec();
    assert!(!verified(&secret, &forged), "the verifier refuses an altered body");

    let listed = deliveries_once_newest_is(&setting.api, webhook.id, DeliveryStatus::Delivered).await;
    assert_eq!(
        (listed[0].status, listed[0].attempts, listed[0].last_status_code),
        (DeliveryStatus::Delivered, 3, Some(200))
    );
    assert_eq!(listed[0].event_id.to_string(), received[0].id, "a delivery names its event as its receiver sees it");

    // Redelivered on request; after a rotation both secrets sign.
    let rotated = setting.api.webhook_secret_rotate(&webhook.id).await.unwrap().into_inner().secret;
    setting.api.webhook_redeliver(&webhook.id, &listed[0].id).await.unwrap();
    let received = received_until(&receiver, |received| received.len() >= 4).await;
    assert_eq!(received[3].id, received[0].id);
    assert!(verified(&rotated, &received[3]) && verified(&secret, &received[3]));

    let mut owner = setting.database.owner_connection().await;
    let actions = audit_actions(&mut owner, setting.tenant).await;
    for action in ["webhook.created", "webhook.secret_rotated", "webhook.redelivered"] {
        assert!(actions.iter().any(|logged| logged == action), "{action} in {actions:?}");
    }
    setting.api.webhook_delete(&webhook.id).await.unwrap();
    assert!(audit_actions(&mut owner, setting.tenant).await.contains(&"webhook.deleted".to_string()));
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_changes_arrive_in_order_per_incident() {
    let (setting, _owner) = setting(true).await;
    // Failures on the way keep later events of the incident waiting.
    let receiver = WebhookReceiver::start(&[503, 500, 503]).await;
    setting.api.webhook_create(&subscription(&receiver.url())).await.unwrap();
    let incident = setting.api.incident_create(None, &new_incident("Busy")).await.unwrap().into_inner();
    let notes = (0..50).map(|n| {
        let api = setting.api.clone();
        async move { api.timeline_event_create(&incident.id, None, &note(&format!("Note {n}"))).await.map(drop) }
    });
    for written in join_all(notes).await {
        written.unwrap();
    }
    let delivered = |received: &[Received]| {
        let mut ids: Vec<String> = Vec::new();
        for attempt in received {
            if ids.last() != Some(&attempt.id) {
                ids.push(attempt.id.clone());
            }
        }
        ids
    };
    let received = received_until(&receiver, |received| delivered(received).len() >= 51).await;
    let feed = setting
        .api
        .event_list(None, 1000.try_into().ok(), Some(&"incident.created,timeline.note_created".parse().unwrap()))
        .await
        .unwrap()
        .into_inner()
        .items;
    let feed_ids: Vec<String> = feed.iter().map(|event| event.id.to_string()).collect();
    assert_eq!(delivered(&received), feed_ids, "each event once it succeeds, in the feed's order");
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_to_webhooks_are_events_without_their_secrets_for_admins_only() {
    use EventType::*;
    let (setting, _owner) = setting(true).await;
    let (unnamed, named) = (WebhookReceiver::start(&[]).await, WebhookReceiver::start(&[]).await);
    let every_incident_event = WebhookCreateRequest { event_types: None, ..subscription(&unnamed.url()) };
    let unnamed_webhook = setting.api.webhook_create(&every_incident_event).await.unwrap().into_inner().webhook;
    let webhook_events = vec![WebhookCreated, WebhookUpdated, WebhookSecretRotated, WebhookDeleted];
    let webhook_events = WebhookCreateRequest { event_types: Some(webhook_events), ..subscription(&named.url()) };
    setting.api.webhook_create(&webhook_events).await.unwrap();
    let created = setting.api.webhook_create(&subscription("http://127.0.0.1:9/hook")).await.unwrap().into_inner();
    let webhook = created.webhook.id;
    let off = WebhookUpdateRequest { enabled: Some(false), url: None, event_types: None, description: None };
    setting.api.webhook_update(&webhook, &off).await.unwrap();
    let rotated = setting.api.webhook_secret_rotate(&webhook).await.unwrap().into_inner().secret;
    setting.api.webhook_delete(&webhook).await.unwrap();
    setting.api.incident_create(None, &new_incident("Seen by both")).await.unwrap();

    let feed = setting.api.event_list(None, None, None).await.unwrap().into_inner().items;
    let kinds: Vec<EventType> = feed.iter().map(|event| event.type_).collect();
    assert_eq!(
        kinds,
        [
            WebhookCreated,
            WebhookCreated,
            WebhookCreated,
            WebhookUpdated,
            WebhookSecretRotated,
            WebhookDeleted,
            IncidentCreated
        ]
    );
    let ids = |events: &[Event]| events.iter().map(|event| event.id.to_string()).collect::<Vec<_>>();
    // Tenant-level changes go where they are named, starting with the
    // naming subscription's own creation; `null` means changes in incidents.
    let received = received_until(&named, |received| received.len() >= 5).await;
    assert_eq!(received.iter().map(|attempt| attempt.id.clone()).collect::<Vec<_>>(), ids(&feed[1..6]));
    let received = received_until(&unnamed, |received| !received.is_empty()).await;
    assert_eq!(received[0].id, ids(&feed[6..])[0]);
    assert_eq!(deliveries(&setting.api, unnamed_webhook.id).await.len(), 1, "no delivery of a tenant-level change");
    match (&feed[2].data, &feed[3].data) {
        (EventData::Webhook(first), EventData::Webhook(disabled)) => {
            assert_eq!((first.id, first.enabled, disabled.enabled), (webhook, true, false));
        }
        other => panic!("{other:?}"),
    }
    for secret in [created.secret, rotated] {
        let key = secret.strip_prefix("whsec_").unwrap();
        let mut owner = setting.database.owner_connection().await;
        let stored: i64 =
            diesel::sql_query("SELECT count(*) AS stored FROM change_events WHERE strpos(data::text, $1) > 0")
                .bind::<diesel::sql_types::Text, _>(key)
                .get_result::<Stored>(&mut owner)
                .await
                .unwrap()
                .stored;
        assert_eq!(stored, 0, "a secret in a stored event");
    }

    let (responder, responder_id) = user(&setting.app, "responder").await;
    add_member(&setting.database, setting.tenant, responder_id, "responder").await;
    responder.api().tenant_switch(&setting.tenant).await.unwrap();
    let seen = responder.api().event_list(None, None, None).await.unwrap().into_inner().items;
    assert_eq!(ids(&seen), ids(&feed[6..]), "a responder sees the incident's event, none of the webhooks'");

    // A deleted subscription's row goes 30 days after: every server purges
    // when it starts, then hourly.
    let mut owner = setting.database.owner_connection().await;
    let kept = |deleted: bool| {
        let condition = if deleted { "deleted_at IS NOT NULL" } else { "deleted_at IS NULL" };
        diesel::sql_query(format!("SELECT count(*) AS stored FROM webhooks WHERE {condition}"))
    };
    diesel::sql_query("UPDATE webhooks SET deleted_at = now() - interval '31 days' WHERE deleted_at IS NOT NULL")
        .execute(&mut owner)
        .await
        .unwrap();
    let _purging = TestApp::spawn_on(&setting.database, &[]).await;
    let mut deleted = 1;
    for _ in 0..100 {
        deleted = kept(true).get_result::<Stored>(&mut owner).await.unwrap().stored;
        if deleted == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(deleted, 0);
    assert_eq!(kept(false).get_result::<Stored>(&mut owner).await.unwrap().stored, 2, "the live ones stay");
}

#[derive(diesel::QueryableByName)]
struct Stored {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    stored: i64,
}

#[tokio::test(flavor = "multi_thread")]
async fn urls_inside_the_network_are_refused_when_saved() {
    let (setting, _owner) = setting(false).await;
    for url in ["http://127.0.0.1:9/hook", "http://localhost:9/hook", "http://10.0.0.1/hook", "http://[::1]/hook"] {
        let refused = setting.api.webhook_create(&subscription(url)).await;
        assert_eq!(error_code(refused), "WEBHOOK_URL_FORBIDDEN", "{url}");
    }
    let (allowed, _owner) = self::setting(true).await;
    let metadata = allowed.api.webhook_create(&subscription("http://169.254.169.254/latest/meta-data")).await;
    assert_eq!(error_code(metadata), "WEBHOOK_URL_FORBIDDEN", "metadata, even with private targets allowed");
    let created = allowed.api.webhook_create(&subscription("http://127.0.0.1:9/hook")).await.unwrap().into_inner();
    let moved = WebhookUpdateRequest {
        url: Some("http://[fd00:ec2::254]/".parse().unwrap()),
        event_types: None,
        enabled: None,
        description: None,
    };
    assert_eq!(error_code(allowed.api.webhook_update(&created.webhook.id, &moved).await), "WEBHOOK_URL_FORBIDDEN");
    assert_eq!(status(setting.api.webhook_list().await), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn other_tenants_and_responders_cannot_see_webhooks() {
    let (setting, _owner) = setting(true).await;
    let receiver = WebhookReceiver::start(&[]).await;
    let webhook = setting.api.webhook_create(&subscription(&receiver.url())).await.unwrap().into_inner().webhook;
    setting.api.incident_create(None, &new_incident("Seen")).await.unwrap();
    received_until(&receiver, |received| !received.is_empty()).await;
    let delivery = deliveries(&setting.api, webhook.id).await[0].id;

    let (outsider, _) = user(&setting.app, "outsider").await;
    let theirs = outsider.create_tenant("Elsewhere").await;
    outsider.api().tenant_switch(&theirs).await.unwrap();
    let api = outsider.api();
    assert_eq!(status(api.webhook_view(&webhook.id).await), 404);
    assert_eq!(status(api.webhook_delivery_list(&webhook.id).await), 404);
    assert_eq!(status(api.webhook_redeliver(&webhook.id, &delivery).await), 404);
    assert_eq!(status(api.webhook_delete(&webhook.id).await), 404);
    assert!(api.webhook_list().await.unwrap().into_inner().items.is_empty());

    let (responder, responder_id) = user(&setting.app, "responder").await;
    add_member(&setting.database, setting.tenant, responder_id, "responder").await;
    responder.api().tenant_switch(&setting.tenant).await.unwrap();
    assert_eq!(status(responder.api().webhook_list().await), 403);
    assert_eq!(status(responder.api().webhook_view(&webhook.id).await), 403);
}

#[tokio::test(flavor = "multi_thread")]
async fn disabled_and_deleted_webhooks_get_nothing_more_and_changes_never_wait_on_them() {
    let (setting, _owner) = setting(true).await;
    // Failing for good: every attempt is retried until the subscription stops.
    let receiver = WebhookReceiver::start(&[500; 100]).await;
    let webhook = setting.api.webhook_create(&subscription(&receiver.url())).await.unwrap().into_inner().webhook;
    let incident = setting.api.incident_create(None, &new_incident("Failing")).await.unwrap().into_inner();
    received_until(&receiver, |received| !received.is_empty()).await;
    let off = WebhookUpdateRequest { enabled: Some(false), url: None, event_types: None, description: None };
    setting.api.webhook_update(&webhook.id, &off).await.unwrap();
    let listed = deliveries_once_newest_is(&setting.api, webhook.id, DeliveryStatus::Failed).await;
    assert_eq!(listed[0].status, DeliveryStatus::Failed, "a disabled subscription's pending delivery is given up");
    let attempts = receiver.received().len();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(receiver.received().len(), attempts, "nothing more was sent");

    // Deleting one while changes queue deliveries for it fails none of them.
    let live = setting.api.webhook_create(&subscription(&receiver.url())).await.unwrap().into_inner().webhook;
    let notes = (0..20).map(|n| {
        let api = setting.api.clone();
        async move { api.timeline_event_create(&incident.id, None, &note(&format!("Note {n}"))).await.map(drop) }
    });
    let (written, deleted) = tokio::join!(join_all(notes), setting.api.webhook_delete(&live.id));
    deleted.unwrap();
    assert!(written.into_iter().all(|note| note.is_ok()));
    assert_eq!(status(setting.api.webhook_view(&live.id).await), 404);

    // At most 20 per tenant.
    for _ in 1..20 {
        setting.api.webhook_create(&subscription(&receiver.url())).await.unwrap();
    }
    let refused = setting.api.webhook_create(&subscription(&receiver.url())).await;
    assert_eq!(error_code(refused), "WEBHOOK_LIMIT_REACHED");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_failing_for_five_days_is_disabled_and_its_owners_are_mailed() {
    let (setting, _owner) = setting(true).await;
    let receiver = WebhookReceiver::start(&[500; 100]).await;
    let webhook = setting.api.webhook_create(&subscription(&receiver.url())).await.unwrap().into_inner().webhook;
    setting.api.incident_create(None, &new_incident("Unheard")).await.unwrap();
    received_until(&receiver, |received| !received.is_empty()).await;
    // As if the first failure had been six days ago.
    let mut owner = setting.database.owner_connection().await;
    diesel::sql_query("UPDATE webhooks SET failing_since = now() - interval '6 days'")
        .execute(&mut owner)
        .await
        .unwrap();

    let mail = mail_to(&setting.mail_dir, "owner@example.com").await;
    assert!(mail.contains("A webhook was disabled"), "{mail}");
    assert!(mail.contains(&webhook.id.to_string()), "{mail}");
    let now = setting.api.webhook_view(&webhook.id).await.unwrap().into_inner();
    assert!(!now.enabled);
    assert!(audit_actions(&mut owner, setting.tenant).await.contains(&"webhook.disabled".to_string()));
}
