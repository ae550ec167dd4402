//! Handlers of the audit log.

use dropshot::{HttpResponseOk, PaginationParams, RequestContext, ResultsPage, WhichPage};

use super::entry::handle;
use super::{ApiContext, page_limit, paging_error};
use crate::api::audit::{
    AuditActor, AuditChainVerification, AuditEvent, AuditEventFilter, AuditEventPage, AuditTarget,
};
use crate::api::{ApiError, Reply};
use crate::app::audit_log;
use crate::audit::{EventFilter, LoggedEvent};
use crate::crypto::hex;

pub async fn audit_event_list(
    rqctx: RequestContext<ApiContext>,
    query: PaginationParams<AuditEventFilter, AuditEventPage>,
) -> Result<Reply<HttpResponseOk<ResultsPage<AuditEvent>>>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        let limit = page_limit(&rqctx, &query)?;
        let (filter, before_seq) = match query.page {
            WhichPage::First(filter) => (filter, None),
            WhichPage::Next(AuditEventPage { filter, before_seq }) => (filter, Some(before_seq)),
        };
        let events_filter = EventFilter {
            // Trimmed, as every filter of one line is.
            action: filter.action.as_deref().map(|action| action.trim().to_string()),
            actor_id: filter.actor_id,
            since: filter.since,
            until: filter.until,
            before_seq,
        };
        let events = audit_log::audit_event_list(app, op, events_filter, limit).await?;
        let events = events.into_iter().map(audit_event).collect();
        ResultsPage::new(events, &filter, |event: &AuditEvent, filter| AuditEventPage {
            filter: filter.clone(),
            before_seq: event.seq,
        })
        .map(HttpResponseOk)
        .map_err(paging_error)
    })
    .await
}

pub async fn audit_chain_verify(
    rqctx: RequestContext<ApiContext>,
) -> Result<Reply<HttpResponseOk<AuditChainVerification>>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        let verification = audit_log::audit_chain_verify(app, op).await?;
        Ok(HttpResponseOk(AuditChainVerification {
            valid: verification.valid,
            checked_events: verification.checked_events,
            head_seq: verification.head_seq,
            head_hash: verification.head_hash.as_deref().map(hex),
            first_invalid_seq: verification.first_invalid_seq,
        }))
    })
    .await
}

fn audit_event(logged: LoggedEvent) -> AuditEvent {
    let (client_ip, metadata) = (logged.client_ip().map(str::to_string), logged.metadata());
    let event = logged.record;
    AuditEvent {
        seq: event.seq,
        action: event.action,
        actor: AuditActor { kind: event.actor_type, id: event.actor_id },
        target: event.target_type.zip(event.target_id).map(|(kind, id)| AuditTarget { kind, id }),
        request_id: event.request_id,
        client_ip,
        occurred_at: event.occurred_at,
        metadata,
        address_digest: event.address_digest.as_deref().map(hex),
        email_digest: event.email_digest.as_deref().map(hex),
        prev_hash: hex(&event.prev_hash),
        hash: hex(&event.hash),
    }
}
