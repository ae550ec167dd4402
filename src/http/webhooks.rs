//! Handlers of webhook subscriptions.

use dropshot::{HttpResponseAccepted, HttpResponseCreated, HttpResponseDeleted, HttpResponseOk, RequestContext};

use super::ApiContext;
use super::entry::handle;
use crate::api::events::EventType;
use crate::api::webhooks::{
    DeliveryPath, DeliveryStatus, Webhook, WebhookCreateRequest, WebhookDelivery, WebhookDeliveryList, WebhookList,
    WebhookPath, WebhookUpdateRequest, WebhookWithSecret,
};
use crate::api::{ApiError, Reply};
use crate::app::operation::ChangeKind;
use crate::app::webhooks::{self, WebhookFields, WebhookPatch, WithSecret};
use crate::error::Error;

pub async fn webhook_list(rqctx: RequestContext<ApiContext>) -> Result<Reply<HttpResponseOk<WebhookList>>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        let found = webhooks::webhook_list(app, op).await?;
        Ok(HttpResponseOk(WebhookList { items: found.into_iter().map(webhook).collect::<Result<_, _>>()? }))
    })
    .await
}

pub async fn webhook_create(
    rqctx: RequestContext<ApiContext>,
    body: WebhookCreateRequest,
) -> Result<Reply<HttpResponseCreated<WebhookWithSecret>>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        let fields = WebhookFields {
            url: body.url,
            event_types: body.event_types.map(type_names),
            enabled: body.enabled,
            description: body.description,
        };
        Ok(HttpResponseCreated(with_secret(webhooks::webhook_create(app, op, fields).await?)?))
    })
    .await
}

pub async fn webhook_view(
    rqctx: RequestContext<ApiContext>,
    path: WebhookPath,
) -> Result<Reply<HttpResponseOk<Webhook>>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        Ok(HttpResponseOk(webhook(webhooks::webhook_view(app, op, path.webhook_id).await?)?))
    })
    .await
}

pub async fn webhook_update(
    rqctx: RequestContext<ApiContext>,
    path: WebhookPath,
    body: WebhookUpdateRequest,
) -> Result<Reply<HttpResponseOk<Webhook>>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        let patch = WebhookPatch {
            url: body.url,
            event_types: body.event_types.map(|types| types.map(type_names)),
            enabled: body.enabled,
            description: body.description,
        };
        Ok(HttpResponseOk(webhook(webhooks::webhook_update(app, op, path.webhook_id, patch).await?)?))
    })
    .await
}

pub async fn webhook_delete(
    rqctx: RequestContext<ApiContext>,
    path: WebhookPath,
) -> Result<Reply<HttpResponseDeleted>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        webhooks::webhook_delete(app, op, path.webhook_id).await?;
        Ok(HttpResponseDeleted())
    })
    .await
}

pub async fn webhook_secret_rotate(
    rqctx: RequestContext<ApiContext>,
    path: WebhookPath,
) -> Result<Reply<HttpResponseOk<WebhookWithSecret>>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        Ok(HttpResponseOk(with_secret(webhooks::webhook_secret_rotate(app, op, path.webhook_id).await?)?))
    })
    .await
}

pub async fn webhook_delivery_list(
    rqctx: RequestContext<ApiContext>,
    path: WebhookPath,
) -> Result<Reply<HttpResponseOk<WebhookDeliveryList>>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        let found = webhooks::webhook_delivery_list(app, op, path.webhook_id).await?;
        Ok(HttpResponseOk(WebhookDeliveryList { items: found.into_iter().map(delivery).collect::<Result<_, _>>()? }))
    })
    .await
}

pub async fn webhook_redeliver(
    rqctx: RequestContext<ApiContext>,
    path: DeliveryPath,
) -> Result<Reply<HttpResponseAccepted<WebhookDelivery>>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        let found = webhooks::webhook_redeliver(app, op, path.webhook_id, path.delivery_id).await?;
        Ok(HttpResponseAccepted(delivery(found)?))
    })
    .await
}

fn type_names(types: Vec<EventType>) -> Vec<String> {
    types.into_iter().map(|kind| ChangeKind::from(kind).as_str().to_string()).collect()
}

fn with_secret(created: WithSecret) -> Result<WebhookWithSecret, Error> {
    Ok(WebhookWithSecret { webhook: webhook(created.webhook)?, secret: created.secret })
}

pub(super) fn webhook(found: webhooks::Webhook) -> Result<Webhook, Error> {
    let event_types = found
        .event_types
        .map(|types| types.iter().flatten().map(|kind| ChangeKind::from_stored(kind).map(EventType::from)).collect())
        .transpose()?;
    Ok(Webhook {
        id: found.id,
        url: found.url,
        event_types,
        enabled: found.enabled,
        description: found.description,
        failing_since: found.failing_since,
        created_at: found.created_at,
        updated_at: found.updated_at,
    })
}

fn delivery(found: webhooks::Delivery) -> Result<WebhookDelivery, Error> {
    let status = match found.status.as_str() {
        "pending" => DeliveryStatus::Pending,
        "delivered" => DeliveryStatus::Delivered,
        "failed" => DeliveryStatus::Failed,
        other => return Err(Error::Internal(anyhow::anyhow!("a stored delivery status {other:?}"))),
    };
    Ok(WebhookDelivery {
        id: found.id,
        event_id: found.event_id,
        status,
        attempts: found.attempts,
        next_attempt_at: (status == DeliveryStatus::Pending).then_some(found.next_attempt_at),
        last_status_code: found.last_status_code,
        last_error: found.last_error,
        last_latency_ms: found.last_latency_ms,
        created_at: found.created_at,
        delivered_at: found.delivered_at,
    })
}
