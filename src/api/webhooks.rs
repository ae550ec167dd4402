//! Wire types of webhook subscriptions and their deliveries.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::events::EventType;

/// A subscription to the change feed, delivered to `url`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub id: Uuid,
    pub url: String,
    /// The types delivered; `null` for every type of change to incidents.
    /// Changes to the tenant's members, invites, keys and webhooks are
    /// delivered only when named.
    pub event_types: Option<Vec<EventType>>,
    pub enabled: bool,
    pub description: String,
    /// Since when every delivery has failed; after 5 days of that the
    /// subscription is disabled.
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A subscription and its signing secret, shown this once.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookWithSecret {
    pub webhook: Webhook,
    /// `whsec_…`: verify each delivery's `webhook-signature` with it.
    pub secret: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookCreateRequest {
    /// `https` (in development also `http`), resolving to public
    /// addresses only; otherwise `400 WEBHOOK_URL_FORBIDDEN`.
    #[schemars(length(min = 1, max = 2000), regex(pattern = "^[hH][tT][tT][pP][sS]?://[^\\u0000-\\u0020]+$"))]
    pub url: String,
    /// The types to deliver; absent or `null` for every type of change to
    /// incidents. Changes to the tenant's members, invites, keys and
    /// webhooks are delivered only when named.
    #[serde(default)]
    #[schemars(length(min = 1, max = 20))]
    pub event_types: Option<Vec<EventType>>,
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// At most 500 characters, none of them control or formatting
    /// characters.
    #[serde(default)]
    #[schemars(length(max = 500), regex = "crate::text::NO_HIDDEN_PATTERN")]
    pub description: String,
}

fn enabled() -> bool {
    true
}

/// The fields to change; absent ones stay as they are.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookUpdateRequest {
    #[schemars(length(min = 1, max = 2000), regex(pattern = "^[hH][tT][tT][pP][sS]?://[^\\u0000-\\u0020]+$"))]
    pub url: Option<String>,
    /// `null` for every type of change to incidents.
    #[serde(default, deserialize_with = "super::fields::present")]
    #[schemars(length(min = 1, max = 20))]
    pub event_types: Option<Option<Vec<EventType>>>,
    pub enabled: Option<bool>,
    #[schemars(length(max = 500), regex = "crate::text::NO_HIDDEN_PATTERN")]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookPath {
    pub webhook_id: Uuid,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryPath {
    pub webhook_id: Uuid,
    pub delivery_id: Uuid,
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// A 2xx within 10 seconds.
    Delivered,
    /// Retried for 24 hours without success.
    Failed,
}

/// One event's delivery to a subscription. Kept 30 days, as events are.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDelivery {
    pub id: Uuid,
    /// The event delivered: its `id` on the feed, sent as `webhook-id`.
    pub event_id: Uuid,
    pub status: DeliveryStatus,
    pub attempts: i32,
    /// When the next attempt is due, while `pending`.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The receiver's answer to the last attempt, if it answered.
    pub last_status_code: Option<i32>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    pub last_latency_ms: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookList {
    pub items: Vec<Webhook>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDeliveryList {
    /// The latest 100, newest first.
    pub items: Vec<WebhookDelivery>,
}
