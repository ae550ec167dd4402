//! Handlers of the change feed.

use dropshot::{HttpResponseOk, RequestContext};
use serde::de::DeserializeOwned;

use super::ApiContext;
use super::entry::handle;
use super::incidents::{incident, status_update, task, timeline_event};
use crate::api::events::{Event, EventData, EventPage, EventQuery, EventType};
use crate::api::{ApiError, Reply};
use crate::app::events::{self, ChangeEvent};
use crate::error::Error;

const DEFAULT_PAGE_EVENTS: u32 = 100;

pub async fn event_list(
    rqctx: RequestContext<ApiContext>,
    query: EventQuery,
) -> Result<Reply<HttpResponseOk<EventPage>>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        let tenant_id = op.active_tenant()?;
        let after = query.after.as_deref().map(cursor).transpose()?;
        let kinds = query.types.map(|types| types.split(',').map(|kind| kind.trim().to_string()).collect());
        let limit = query.limit.unwrap_or(DEFAULT_PAGE_EVENTS).clamp(1, 1000);
        let page = events::event_list(app, op, after, kinds, limit.into()).await?;
        let items = page.events.into_iter().map(|found| event(tenant_id, found)).collect::<Result<_, _>>()?;
        Ok(HttpResponseOk(EventPage { items, next_cursor: page.next_cursor.to_string() }))
    })
    .await
}

/// A webhook delivery's body: the event as the feed shows it.
pub fn event_payload(tenant_id: uuid::Uuid, found: ChangeEvent) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(&event(tenant_id, found)?).map_err(|error| Error::Internal(error.into()))
}

fn cursor(raw: &str) -> Result<i64, Error> {
    raw.parse().map_err(|_| Error::invalid_field("after", "A cursor is a `nextCursor` this feed handed out."))
}

/// The event as the API shows it: its object rendered as the object's own
/// endpoints render it now.
fn event(tenant_id: uuid::Uuid, found: ChangeEvent) -> Result<Event, Error> {
    let kind: EventType = stored(serde_json::Value::String(found.kind.clone()))?;
    let data = match kind {
        EventType::IncidentCreated | EventType::IncidentUpdated | EventType::IncidentStatusChanged => {
            EventData::Incident(incident(stored(found.data)?)?)
        }
        EventType::TaskCreated | EventType::TaskUpdated => EventData::Task(task(stored(found.data)?)?),
        EventType::StatusUpdatePosted => EventData::StatusUpdate(status_update(stored(found.data)?)?),
        EventType::TimelineNoteCreated => EventData::TimelineEvent(timeline_event(stored(found.data)?)?),
    };
    let incident_id = found.incident_id.ok_or_else(|| anyhow::anyhow!("event {} names no incident", found.id))?;
    Ok(Event { id: found.id, kind, occurred_at: found.occurred_at, tenant_id, incident_id, data })
}

fn stored<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, Error> {
    serde_json::from_value(value).map_err(|error| Error::Internal(anyhow::anyhow!("a stored change event: {error}")))
}
