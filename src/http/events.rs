//! Handlers of the change feed.

use dropshot::{HttpResponseOk, RequestContext};
use serde::de::DeserializeOwned;

use super::ApiContext;
use super::api_keys::{api_key, service_account};
use super::entry::handle;
use super::incidents::{incident, status_update, task, timeline_event};
use super::tenants::{invite, member};
use super::webhooks::webhook;
use crate::api::events::{self as wire, Event, EventData, EventPage, EventQuery};
use crate::api::{ApiError, Reply};
use crate::app::events::{self, ChangeEvent};
use crate::app::operation::ChangeKind;
use crate::error::Error;

const DEFAULT_PAGE_EVENTS: u32 = 100;

pub async fn event_list(
    rqctx: RequestContext<ApiContext>,
    query: EventQuery,
) -> Result<Reply<HttpResponseOk<EventPage>>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        let tenant_id = op.active_tenant()?;
        let after = query.after.as_deref().map(cursor).transpose()?;
        let kinds = query.types.as_deref().map(change_kinds).transpose()?;
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

/// The `types` filter's names.
fn change_kinds(names: &str) -> Result<Vec<ChangeKind>, Error> {
    names
        .split(',')
        .map(|name| {
            let name = name.trim();
            ChangeKind::named(name).ok_or_else(|| {
                Error::invalid_field("types", "Event types are names this API documents, separated by commas.")
            })
        })
        .collect()
}

fn cursor(raw: &str) -> Result<i64, Error> {
    raw.parse().map_err(|_| Error::invalid_field("after", "A cursor is a `nextCursor` this feed handed out."))
}

/// The event as the API shows it: its object rendered as the object's own
/// endpoints render it now.
fn event(tenant_id: uuid::Uuid, found: ChangeEvent) -> Result<Event, Error> {
    use ChangeKind::*;
    let kind = ChangeKind::from_stored(&found.kind)?;
    let data = match kind {
        IncidentCreated | IncidentUpdated | IncidentStatusChanged => {
            EventData::Incident(incident(stored(found.data)?)?)
        }
        TaskCreated | TaskUpdated => EventData::Task(task(stored(found.data)?)?),
        StatusUpdatePosted => EventData::StatusUpdate(status_update(stored(found.data)?)?),
        TimelineNoteCreated => EventData::TimelineEvent(timeline_event(stored(found.data)?)?),
        MemberJoined | MemberRoleChanged | MemberRemoved => EventData::Member(member(stored(found.data)?)),
        InviteCreated | InviteRevoked => EventData::Invite(invite(stored(found.data)?)),
        ServiceAccountCreated => EventData::ServiceAccount(service_account(stored(found.data)?)),
        ApiKeyCreated | ApiKeyRevoked => EventData::ApiKey(api_key(stored(found.data)?)),
        WebhookCreated | WebhookUpdated | WebhookDeleted | WebhookSecretRotated => {
            EventData::Webhook(webhook(stored(found.data)?)?)
        }
    };
    let (id, occurred_at, incident_id) = (found.id, found.occurred_at, found.incident_id);
    Ok(Event { id, kind: kind.into(), occurred_at, tenant_id, incident_id, data })
}

fn stored<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, Error> {
    serde_json::from_value(value).map_err(|error| Error::Internal(anyhow::anyhow!("a stored change event: {error}")))
}

same_variants!(
    EventType,
    ChangeKind,
    [
        IncidentCreated,
        IncidentUpdated,
        IncidentStatusChanged,
        TaskCreated,
        TaskUpdated,
        StatusUpdatePosted,
        TimelineNoteCreated,
        MemberJoined,
        MemberRoleChanged,
        MemberRemoved,
        InviteCreated,
        InviteRevoked,
        ServiceAccountCreated,
        ApiKeyCreated,
        ApiKeyRevoked,
        WebhookCreated,
        WebhookUpdated,
        WebhookDeleted,
        WebhookSecretRotated,
    ]
);
