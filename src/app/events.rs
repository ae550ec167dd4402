//! The change feed: events every change to an incident or to the tenant's
//! members, invites, keys and webhooks announces (see
//! [`super::operation::Change`]), read back in commit order, and purged
//! after 30 days (by [`super::retention`]). A caller sees the events of
//! what it may read.

use super::operation::{self, ChangeKind};
use super::{AppState, Error, OpContext, Problem};
use crate::db::change_events as queries;
use crate::policy::{Action, Context, Resource, authorize};

pub use queries::ChangeEvent;

/// A page of the feed, and where the next one starts.
pub struct EventPage {
    pub events: Vec<ChangeEvent>,
    pub next_cursor: i64,
}

/// Up to `limit` events after `after` (from the oldest kept when `None`),
/// of `kinds` only when given, and only of kinds the caller may read.
/// `Gone` when events after `after` were purged already: the client missed
/// them.
pub async fn event_list(
    state: &AppState,
    op: &OpContext,
    after: Option<i64>,
    kinds: Option<Vec<ChangeKind>>,
    limit: i64,
) -> Result<EventPage, Error> {
    let tenant_id = op.active_tenant()?;
    operation::tenant_read_in_context(state, op, tenant_id, Action::IncidentsRead, move |conn, ctx| {
        Box::pin(async move {
            let kinds: Option<Vec<&str>> = match kinds {
                None if ChangeKind::ALL.iter().all(|kind| shown_to(*kind, ctx)) => None,
                asked => {
                    let asked = asked.as_deref().unwrap_or(ChangeKind::ALL);
                    Some(asked.iter().filter(|kind| shown_to(**kind, ctx)).map(|kind| kind.as_str()).collect())
                }
            };
            // Everything up to `counted` had committed before the page was
            // read, so a page that is not full has seen (or filtered out)
            // all of it. The bounds are read after the page: a purge
            // between the two then shows, and the page is refused rather
            // than silently missing what the purge took.
            let (_, counted) = queries::change_event_bounds(conn, tenant_id).await?;
            let events =
                queries::change_event_list(conn, tenant_id, after.unwrap_or(0), kinds.as_deref(), limit).await?;
            let (oldest, last) = queries::change_event_bounds(conn, tenant_id).await?;
            if let Some(after) = after {
                if after > last {
                    return Err(Error::invalid_field("after", "This cursor is not one this feed handed out."));
                }
                if after < oldest.unwrap_or(last + 1) - 1 {
                    return Err(cursor_expired());
                }
            }
            let last_returned = events.last().map(|event| event.seq);
            let next_cursor = match last_returned {
                Some(seq) if events.len() as i64 == limit => seq,
                _ => counted.max(last_returned.unwrap_or(0)).max(after.unwrap_or(0)),
            };
            Ok(EventPage { events, next_cursor })
        })
    })
    .await
}

/// Whether `ctx` may read the object an event of `kind` carries: what the
/// object's own list endpoint asks for.
fn shown_to(kind: ChangeKind, ctx: Context) -> bool {
    use ChangeKind::*;
    let action = match kind {
        IncidentCreated
        | IncidentUpdated
        | IncidentStatusChanged
        | TaskCreated
        | TaskUpdated
        | StatusUpdatePosted
        | TimelineNoteCreated => Action::IncidentsRead,
        MemberJoined | MemberRoleChanged | MemberRemoved => Action::MembersRead,
        // Invites are listed to members, never to keys.
        InviteCreated | InviteRevoked if matches!(ctx, Context::ApiKey(_)) => return false,
        InviteCreated | InviteRevoked => Action::MembersRead,
        ServiceAccountCreated | ApiKeyCreated | ApiKeyRevoked => Action::ApiKeysManage,
        WebhookCreated | WebhookUpdated | WebhookDeleted | WebhookSecretRotated => Action::WebhooksManage,
    };
    authorize(action, Resource::Tenant, ctx).is_ok()
}

fn cursor_expired() -> Error {
    Error::Gone(Problem::new(
        "CURSOR_EXPIRED",
        "Events after this cursor are older than 30 days and no longer kept; start again without `after`.",
    ))
}
