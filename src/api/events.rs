//! Wire types of the change feed.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::api_keys::{ApiKey, ServiceAccount};
use super::fields::comma_separated_names;
use super::incidents::{Incident, StatusUpdate, Task, TimelineEvent};
use super::tenants::{Invite, Member};
use super::webhooks::Webhook;

/// What changed. `data` is the changed object, named by the type's first
/// part: an `Incident` for `incident.*`, a `Task`, a `StatusUpdate`, a
/// `TimelineEvent` for `timeline.*`, a `Member`, an `Invite`, a
/// `ServiceAccount`, an `ApiKey` or a `Webhook`. A removed member, a
/// revoked invite and a deleted webhook are shown as they were last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum EventType {
    #[serde(rename = "incident.created")]
    IncidentCreated,
    /// Its title, summary, labels, severity or commander changed.
    #[serde(rename = "incident.updated")]
    IncidentUpdated,
    #[serde(rename = "incident.status_changed")]
    IncidentStatusChanged,
    #[serde(rename = "task.created")]
    TaskCreated,
    #[serde(rename = "task.updated")]
    TaskUpdated,
    #[serde(rename = "status_update.posted")]
    StatusUpdatePosted,
    #[serde(rename = "timeline.note_created")]
    TimelineNoteCreated,
    /// Joined through an invite.
    #[serde(rename = "member.joined")]
    MemberJoined,
    #[serde(rename = "member.role_changed")]
    MemberRoleChanged,
    /// Removed, or left.
    #[serde(rename = "member.removed")]
    MemberRemoved,
    #[serde(rename = "invite.created")]
    InviteCreated,
    /// Revoked, or replaced by a new invite to the same email.
    #[serde(rename = "invite.revoked")]
    InviteRevoked,
    #[serde(rename = "service_account.created")]
    ServiceAccountCreated,
    #[serde(rename = "api_key.created")]
    ApiKeyCreated,
    #[serde(rename = "api_key.revoked")]
    ApiKeyRevoked,
    #[serde(rename = "webhook.created")]
    WebhookCreated,
    /// Changed by an admin, or disabled after 5 days of failed deliveries.
    #[serde(rename = "webhook.updated")]
    WebhookUpdated,
    #[serde(rename = "webhook.deleted")]
    WebhookDeleted,
    #[serde(rename = "webhook.secret_rotated")]
    WebhookSecretRotated,
}

/// The changed object, as its own endpoints return it.
///
/// A generated client reads it by trying these in order, so none may come
/// before one whose fields include all it requires (a `ServiceAccount`
/// would pass for an `ApiKey`); a unit test keeps the order right.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum EventData {
    Incident(Incident),
    Task(Task),
    StatusUpdate(StatusUpdate),
    TimelineEvent(TimelineEvent),
    Member(Member),
    Invite(Invite),
    ApiKey(ApiKey),
    ServiceAccount(ServiceAccount),
    Webhook(Webhook),
}

/// One change, as the feed and webhooks carry it.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Stable: the same event always has the same id.
    pub id: Uuid,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub occurred_at: DateTime<Utc>,
    pub tenant_id: Uuid,
    /// The incident the change was made in; absent for a change to the
    /// tenant's members, invites, keys or webhooks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<Uuid>,
    pub data: EventData,
}

/// The `types` filter: names of [`EventType`], separated by commas.
static EVENT_TYPES_PATTERN: LazyLock<String> = LazyLock::new(comma_separated_names::<EventType>);

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventQuery {
    /// The `nextCursor` of the page before; from the oldest event kept
    /// (30 days) when absent.
    #[schemars(length(min = 1, max = 19), regex(pattern = "^[0-9]+$"))]
    pub after: Option<String>,
    /// Only events of these types, comma-separated:
    /// `types=incident.created,incident.status_changed`.
    #[schemars(length(max = 1000), regex = "EVENT_TYPES_PATTERN")]
    pub types: Option<String>,
    /// Events per page: 1 to 1000, 100 by default.
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<u32>,
}

/// A page of the feed, oldest first.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventPage {
    pub items: Vec<Event>,
    /// Where the next page starts: pass it as `after`. Always present, so a
    /// client that stores it after each page gets every event exactly once.
    pub next_cursor: String,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::*;

    #[test]
    fn no_kind_of_data_passes_for_a_later_one_when_tried_in_order() {
        let schema = serde_json::to_value(schemars::schema_for!(EventData)).unwrap();
        let names = |value: &Value| -> BTreeSet<String> {
            match value {
                Value::Object(map) => map.keys().cloned().collect(),
                Value::Array(items) => items.iter().filter_map(|item| item.as_str().map(str::to_string)).collect(),
                _ => BTreeSet::new(),
            }
        };
        let kinds: Vec<(String, BTreeSet<String>, BTreeSet<String>)> = schema["anyOf"]
            .as_array()
            .unwrap()
            .iter()
            .map(|kind| {
                let name = kind["$ref"].as_str().unwrap().trim_start_matches("#/definitions/").to_string();
                let definition = &schema["definitions"][&name];
                (name, names(&definition["required"]), names(&definition["properties"]))
            })
            .collect();
        assert_eq!(kinds.len(), 9);
        for (index, (earlier, required, _)) in kinds.iter().enumerate() {
            for (later, _, properties) in &kinds[index + 1..] {
                assert!(!required.is_subset(properties), "a {later} would be read as a {earlier}");
            }
        }
    }

    #[test]
    fn the_types_filter_pattern_lists_every_type() {
        let filter = regress::Regex::new(&EVENT_TYPES_PATTERN).unwrap();
        let every = "incident.created,incident.updated,incident.status_changed,task.created,task.updated,\
                     status_update.posted,timeline.note_created,member.joined,member.role_changed,member.removed,\
                     invite.created,invite.revoked,service_account.created,api_key.created,api_key.revoked,\
                     webhook.created,webhook.updated,webhook.deleted,webhook.secret_rotated";
        assert!(filter.find(every).is_some(), "{}", *EVENT_TYPES_PATTERN);
        for refused in ["", "incident.created,", "incident", "incidentXcreated"] {
            assert!(filter.find(refused).is_none(), "{refused:?}");
        }
    }
}
