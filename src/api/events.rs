//! Wire types of the change feed.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::fields::comma_separated_names;
use super::incidents::{Incident, StatusUpdate, Task, TimelineEvent};

/// What changed. `data` is the changed object: an `Incident` for
/// `incident.*`, a `Task` for `task.*`, a `StatusUpdate` for
/// `status_update.*` and a `TimelineEvent` for `timeline.*`.
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
}

/// The changed object, as its own endpoints return it.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum EventData {
    Incident(Incident),
    Task(Task),
    StatusUpdate(StatusUpdate),
    TimelineEvent(TimelineEvent),
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
    pub incident_id: Uuid,
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
    use super::*;

    #[test]
    fn the_types_filter_pattern_lists_every_type() {
        let filter = regress::Regex::new(&EVENT_TYPES_PATTERN).unwrap();
        let every = "incident.created,incident.updated,incident.status_changed,task.created,task.updated,\
                     status_update.posted,timeline.note_created";
        assert!(filter.find(every).is_some(), "{}", *EVENT_TYPES_PATTERN);
        for refused in ["", "incident.created,", "incident", "incidentXcreated"] {
            assert!(filter.find(refused).is_none(), "{refused:?}");
        }
    }
}
