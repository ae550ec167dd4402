//! The implementation of the API trait. Every handler goes through
//! [`entry::handle`], which authenticates the request by the operation's
//! entry in `api::authentication`; the handler itself only translates: wire
//! types in, one `app/` call, a view out. Each area's handlers live in their
//! own module, named as the operations are; this impl only routes to them.

/// The wire's and the application's names of the same variants, both ways.
macro_rules! same_variants {
    ($wire:ident, $domain:ident, [$($variant:ident),+ $(,)?]) => {
        impl From<wire::$wire> for $domain {
            fn from(value: wire::$wire) -> $domain {
                match value { $(wire::$wire::$variant => $domain::$variant),+ }
            }
        }

        impl From<$domain> for wire::$wire {
            fn from(value: $domain) -> wire::$wire {
                match value { $($domain::$variant => wire::$wire::$variant),+ }
            }
        }
    };
}

mod api_keys;
mod attachments;
mod audit;
mod auth;
pub mod caller;
pub mod entry;
pub mod error;
mod events;
mod files;
mod incidents;
mod platform;
mod tenants;
mod usage;
mod webhooks;

pub use events::event_payload;

use dropshot::{
    EmptyScanParams, FreeformBody, HttpResponseAccepted, HttpResponseCreated, HttpResponseDeleted, HttpResponseOk,
    HttpResponseUpdatedNoContent, PaginationParams, RequestContext, ResultsPage, StreamingBody, WhichPage,
};
use ipnet::IpNet;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::api::api_keys::{
    ApiKey, ApiKeyCreateRequest, ApiKeyCreated, ApiKeyPath, ServiceAccount, ServiceAccountCreateRequest,
};
use crate::api::attachments::{
    Attachment, AttachmentCreateRequest, AttachmentCreated, AttachmentDownloadUrl, AttachmentPath, SignedUrlQuery,
    TransferPath,
};
use crate::api::audit::{AuditChainVerification, AuditEvent, AuditEventFilter, AuditEventPage};
use crate::api::auth::{
    AccountDeleteRequest, LoginMfaRequest, LoginRequest, Me, PasswordForgotRequest, PasswordResetRequest,
    PasswordResetRequested, RecoveryCodes, SignupRequest, TotpConfirmRequest, TotpDisableRequest, TotpEnrolRequest,
    TotpEnrolment,
};
use crate::api::events::{EventPage, EventQuery};
use crate::api::extract::{HeaderParams, JsonBody, PathParams, QueryParams};
use crate::api::incidents::{
    CreatedHeaders, ETagHeader, IdempotencyKeyHeader, IfMatchHeader, Incident, IncidentCreateRequest,
    IncidentExportQuery, IncidentFilter, IncidentMetrics, IncidentMetricsQuery, IncidentPage, IncidentPath,
    IncidentUpdateRequest, StatusUpdate, StatusUpdateCreateRequest, Task, TaskCreateRequest, TaskPath,
    TaskUpdateRequest, TimelineEvent, TimelineEventCreateRequest, TimelineEventPage,
};
use crate::api::platform::{Health, Liveness};
use crate::api::reply::FileHeaders;
use crate::api::tenants::{
    AfterId, Invite, InviteAcceptRequest, InviteAccepted, InviteCreateRequest, InvitePath, Member, MemberPath,
    MemberUpdateRequest, Tenant, TenantCreateRequest, TenantPath,
};
use crate::api::usage::{UsageQuery, UsageReport};
use crate::api::webhooks::{
    DeliveryPath, Webhook, WebhookCreateRequest, WebhookDelivery, WebhookDeliveryList, WebhookList, WebhookPath,
    WebhookUpdateRequest, WebhookWithSecret,
};
use crate::api::{ApiError, IncidentTrackerApi, Reply};
use crate::app::{AppState, Error, Page, Problem};

/// The most items one page of a list holds, whatever `limit` asks for.
const MAX_PAGE_ITEMS: i64 = 100;

/// What handlers reach: the application, and the settings only HTTP needs.
pub struct ApiContext {
    /// Shared with streamed answers (exports), which outlive their handler.
    pub app: std::sync::Arc<AppState>,
    pub session_cookie: caller::SessionCookie,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<IpNet>,
    /// Each operation's route, by operation id: what a request's span and
    /// metrics are named by.
    pub routes: std::collections::HashMap<String, Route>,
    /// The host of `PUBLIC_BASE_URL`, which spans name as `server.address`.
    pub public_host: String,
    /// The contract as served: OpenAPI 3.1, rendered from the code at start
    /// (CI checks that the committed `openapi.yaml` is the same).
    pub contract: ServedContract,
}

pub struct ServedContract {
    pub yaml: bytes::Bytes,
    pub json: bytes::Bytes,
}

impl ServedContract {
    /// From dropshot's 3.0 document, as `openapi --write` converts it.
    pub fn render(document: serde_json::Value) -> anyhow::Result<ServedContract> {
        let document = crate::api::contract::to_openapi_3_1(document)?;
        Ok(ServedContract {
            yaml: serde_norway::to_string(&document)?.into(),
            json: serde_json::to_vec(&document)?.into(),
        })
    }
}

/// An operation's route as telemetry names it.
pub struct Route {
    /// `GET /v1/incidents/{incidentId}`: the server span's name.
    pub name: String,
    /// `/v1/incidents/{incidentId}`: `http.route`.
    pub template: std::sync::Arc<str>,
}

impl Route {
    /// From `METHOD /path/template`.
    pub fn new(name: String) -> Route {
        let template = name.split_once(' ').map_or(name.as_str(), |(_, path)| path).into();
        Route { name, template }
    }
}

type IdPages = PaginationParams<EmptyScanParams, AfterId>;

pub enum Handlers {}

impl IncidentTrackerApi for Handlers {
    type Context = ApiContext;

    async fn health_view(rqctx: RequestContext<ApiContext>) -> Result<Reply<HttpResponseOk<Health>>, ApiError> {
        platform::health_view(rqctx).await
    }

    async fn health_live_view(rqctx: RequestContext<ApiContext>) -> Result<Reply<HttpResponseOk<Liveness>>, ApiError> {
        platform::health_live_view(rqctx).await
    }

    async fn contract_yaml_view(
        rqctx: RequestContext<ApiContext>,
    ) -> Result<Reply<HttpResponseOk<FreeformBody>>, ApiError> {
        platform::contract_yaml_view(rqctx).await
    }

    async fn contract_json_view(
        rqctx: RequestContext<ApiContext>,
    ) -> Result<Reply<HttpResponseOk<FreeformBody>>, ApiError> {
        platform::contract_json_view(rqctx).await
    }

    async fn docs_view(rqctx: RequestContext<ApiContext>) -> Result<Reply<HttpResponseOk<FreeformBody>>, ApiError> {
        platform::docs_view(rqctx).await
    }

    async fn docs_script_view(
        rqctx: RequestContext<ApiContext>,
    ) -> Result<Reply<HttpResponseOk<FreeformBody>>, ApiError> {
        platform::docs_script_view(rqctx).await
    }

    async fn me_view(rqctx: RequestContext<ApiContext>) -> Result<Reply<HttpResponseOk<Me>>, ApiError> {
        auth::me_view(rqctx).await
    }

    async fn auth_signup(
        rqctx: RequestContext<ApiContext>,
        body: JsonBody<SignupRequest>,
    ) -> Result<Reply<HttpResponseCreated<Me>>, ApiError> {
        auth::auth_signup(rqctx, body.0).await
    }

    async fn auth_login(
        rqctx: RequestContext<ApiContext>,
        body: JsonBody<LoginRequest>,
    ) -> Result<Reply<HttpResponseOk<Me>>, ApiError> {
        auth::auth_login(rqctx, body.0).await
    }

    async fn auth_login_mfa(
        rqctx: RequestContext<ApiContext>,
        body: JsonBody<LoginMfaRequest>,
    ) -> Result<Reply<HttpResponseOk<Me>>, ApiError> {
        auth::auth_login_mfa(rqctx, body.0).await
    }

    async fn totp_enrol(
        rqctx: RequestContext<ApiContext>,
        body: JsonBody<TotpEnrolRequest>,
    ) -> Result<Reply<HttpResponseCreated<TotpEnrolment>>, ApiError> {
        auth::totp_enrol(rqctx, body.0).await
    }

    async fn totp_confirm(
        rqctx: RequestContext<ApiContext>,
        body: JsonBody<TotpConfirmRequest>,
    ) -> Result<Reply<HttpResponseOk<RecoveryCodes>>, ApiError> {
        auth::totp_confirm(rqctx, body.0).await
    }

    async fn totp_disable(
        rqctx: RequestContext<ApiContext>,
        body: JsonBody<TotpDisableRequest>,
    ) -> Result<Reply<HttpResponseUpdatedNoContent>, ApiError> {
        auth::totp_disable(rqctx, body.0).await
    }

    async fn auth_logout(rqctx: RequestContext<ApiContext>) -> Result<Reply<HttpResponseUpdatedNoContent>, ApiError> {
        auth::auth_logout(rqctx).await
    }

    async fn account_delete(
        rqctx: RequestContext<ApiContext>,
        body: JsonBody<AccountDeleteRequest>,
    ) -> Result<Reply<HttpResponseUpdatedNoContent>, ApiError> {
        auth::account_delete(rqctx, body.0).await
    }

    async fn password_forgot(
        rqctx: RequestContext<ApiContext>,
        body: JsonBody<PasswordForgotRequest>,
    ) -> Result<Reply<HttpResponseAccepted<PasswordResetRequested>>, ApiError> {
        auth::password_forgot(rqctx, body.0).await
    }

    async fn password_reset(
        rqctx: RequestContext<ApiContext>,
        body: JsonBody<PasswordResetRequest>,
    ) -> Result<Reply<HttpResponseUpdatedNoContent>, ApiError> {
        auth::password_reset(rqctx, body.0).await
    }

    async fn tenant_list(
        rqctx: RequestContext<ApiContext>,
        query: QueryParams<IdPages>,
    ) -> Result<Reply<HttpResponseOk<ResultsPage<Tenant>>>, ApiError> {
        tenants::tenant_list(rqctx, query.0).await
    }

    async fn tenant_create(
        rqctx: RequestContext<ApiContext>,
        body: JsonBody<TenantCreateRequest>,
    ) -> Result<Reply<HttpResponseCreated<Tenant>>, ApiError> {
        tenants::tenant_create(rqctx, body.0).await
    }

    async fn tenant_switch(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<TenantPath>,
    ) -> Result<Reply<HttpResponseOk<Me>>, ApiError> {
        tenants::tenant_switch(rqctx, path.0).await
    }

    async fn member_list(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<TenantPath>,
        query: QueryParams<IdPages>,
    ) -> Result<Reply<HttpResponseOk<ResultsPage<Member>>>, ApiError> {
        tenants::member_list(rqctx, path.0, query.0).await
    }

    async fn member_update(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<MemberPath>,
        body: JsonBody<MemberUpdateRequest>,
    ) -> Result<Reply<HttpResponseOk<Member>>, ApiError> {
        tenants::member_update(rqctx, path.0, body.0).await
    }

    async fn member_remove(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<MemberPath>,
    ) -> Result<Reply<HttpResponseDeleted>, ApiError> {
        tenants::member_remove(rqctx, path.0).await
    }

    async fn invite_create(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<TenantPath>,
        body: JsonBody<InviteCreateRequest>,
    ) -> Result<Reply<HttpResponseCreated<Invite>>, ApiError> {
        tenants::invite_create(rqctx, path.0, body.0).await
    }

    async fn invite_list(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<TenantPath>,
        query: QueryParams<IdPages>,
    ) -> Result<Reply<HttpResponseOk<ResultsPage<Invite>>>, ApiError> {
        tenants::invite_list(rqctx, path.0, query.0).await
    }

    async fn invite_revoke(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<InvitePath>,
    ) -> Result<Reply<HttpResponseUpdatedNoContent>, ApiError> {
        tenants::invite_revoke(rqctx, path.0).await
    }

    async fn invite_accept(
        rqctx: RequestContext<ApiContext>,
        body: JsonBody<InviteAcceptRequest>,
    ) -> Result<Reply<HttpResponseOk<InviteAccepted>>, ApiError> {
        tenants::invite_accept(rqctx, body.0).await
    }

    async fn service_account_list(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<TenantPath>,
        query: QueryParams<IdPages>,
    ) -> Result<Reply<HttpResponseOk<ResultsPage<ServiceAccount>>>, ApiError> {
        api_keys::service_account_list(rqctx, path.0, query.0).await
    }

    async fn service_account_create(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<TenantPath>,
        body: JsonBody<ServiceAccountCreateRequest>,
    ) -> Result<Reply<HttpResponseCreated<ServiceAccount>>, ApiError> {
        api_keys::service_account_create(rqctx, path.0, body.0).await
    }

    async fn api_key_list(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<TenantPath>,
        query: QueryParams<IdPages>,
    ) -> Result<Reply<HttpResponseOk<ResultsPage<ApiKey>>>, ApiError> {
        api_keys::api_key_list(rqctx, path.0, query.0).await
    }

    async fn api_key_create(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<TenantPath>,
        body: JsonBody<ApiKeyCreateRequest>,
    ) -> Result<Reply<HttpResponseCreated<ApiKeyCreated>>, ApiError> {
        api_keys::api_key_create(rqctx, path.0, body.0).await
    }

    async fn api_key_revoke(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<ApiKeyPath>,
    ) -> Result<Reply<HttpResponseUpdatedNoContent>, ApiError> {
        api_keys::api_key_revoke(rqctx, path.0).await
    }

    async fn incident_list(
        rqctx: RequestContext<ApiContext>,
        query: QueryParams<PaginationParams<IncidentFilter, IncidentPage>>,
    ) -> Result<Reply<HttpResponseOk<ResultsPage<Incident>>>, ApiError> {
        incidents::incident_list(rqctx, query.0).await
    }

    async fn incident_create(
        rqctx: RequestContext<ApiContext>,
        headers: HeaderParams<IdempotencyKeyHeader>,
        body: JsonBody<IncidentCreateRequest>,
    ) -> Result<Reply<HttpResponseCreated<Incident>, CreatedHeaders>, ApiError> {
        incidents::incident_create(rqctx, headers.0, body.0).await
    }

    async fn incident_view(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<IncidentPath>,
    ) -> Result<Reply<HttpResponseOk<Incident>, ETagHeader>, ApiError> {
        incidents::incident_view(rqctx, path.0).await
    }

    async fn incident_update(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<IncidentPath>,
        headers: HeaderParams<IfMatchHeader>,
        body: JsonBody<IncidentUpdateRequest>,
    ) -> Result<Reply<HttpResponseOk<Incident>, ETagHeader>, ApiError> {
        incidents::incident_update(rqctx, path.0, headers.0, body.0).await
    }

    async fn timeline_event_list(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<IncidentPath>,
        query: QueryParams<PaginationParams<EmptyScanParams, TimelineEventPage>>,
    ) -> Result<Reply<HttpResponseOk<ResultsPage<TimelineEvent>>>, ApiError> {
        incidents::timeline_event_list(rqctx, path.0, query.0).await
    }

    async fn timeline_event_create(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<IncidentPath>,
        headers: HeaderParams<IdempotencyKeyHeader>,
        body: JsonBody<TimelineEventCreateRequest>,
    ) -> Result<Reply<HttpResponseCreated<TimelineEvent>, CreatedHeaders>, ApiError> {
        incidents::timeline_event_create(rqctx, path.0, headers.0, body.0).await
    }

    async fn task_list(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<IncidentPath>,
        query: QueryParams<IdPages>,
    ) -> Result<Reply<HttpResponseOk<ResultsPage<Task>>>, ApiError> {
        incidents::task_list(rqctx, path.0, query.0).await
    }

    async fn task_create(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<IncidentPath>,
        headers: HeaderParams<IdempotencyKeyHeader>,
        body: JsonBody<TaskCreateRequest>,
    ) -> Result<Reply<HttpResponseCreated<Task>, CreatedHeaders>, ApiError> {
        incidents::task_create(rqctx, path.0, headers.0, body.0).await
    }

    async fn task_update(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<TaskPath>,
        headers: HeaderParams<IfMatchHeader>,
        body: JsonBody<TaskUpdateRequest>,
    ) -> Result<Reply<HttpResponseOk<Task>, ETagHeader>, ApiError> {
        incidents::task_update(rqctx, path.0, headers.0, body.0).await
    }

    async fn status_update_list(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<IncidentPath>,
        query: QueryParams<IdPages>,
    ) -> Result<Reply<HttpResponseOk<ResultsPage<StatusUpdate>>>, ApiError> {
        incidents::status_update_list(rqctx, path.0, query.0).await
    }

    async fn status_update_create(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<IncidentPath>,
        headers: HeaderParams<IdempotencyKeyHeader>,
        body: JsonBody<StatusUpdateCreateRequest>,
    ) -> Result<Reply<HttpResponseCreated<StatusUpdate>, CreatedHeaders>, ApiError> {
        incidents::status_update_create(rqctx, path.0, headers.0, body.0).await
    }

    async fn incident_export(
        rqctx: RequestContext<ApiContext>,
        query: QueryParams<IncidentExportQuery>,
    ) -> Result<Reply<HttpResponseOk<FreeformBody>, FileHeaders>, ApiError> {
        incidents::incident_export(rqctx, query.0).await
    }

    async fn incident_metrics_view(
        rqctx: RequestContext<ApiContext>,
        query: QueryParams<IncidentMetricsQuery>,
    ) -> Result<Reply<HttpResponseOk<IncidentMetrics>>, ApiError> {
        incidents::incident_metrics_view(rqctx, query.0).await
    }

    async fn attachment_create(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<IncidentPath>,
        body: JsonBody<AttachmentCreateRequest>,
    ) -> Result<Reply<HttpResponseCreated<AttachmentCreated>>, ApiError> {
        attachments::attachment_create(rqctx, path.0, body.0).await
    }

    async fn attachment_list(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<IncidentPath>,
        query: QueryParams<IdPages>,
    ) -> Result<Reply<HttpResponseOk<ResultsPage<Attachment>>>, ApiError> {
        attachments::attachment_list(rqctx, path.0, query.0).await
    }

    async fn attachment_view(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<AttachmentPath>,
    ) -> Result<Reply<HttpResponseOk<Attachment>>, ApiError> {
        attachments::attachment_view(rqctx, path.0).await
    }

    async fn attachment_download_url_create(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<AttachmentPath>,
    ) -> Result<Reply<HttpResponseCreated<AttachmentDownloadUrl>>, ApiError> {
        attachments::attachment_download_url_create(rqctx, path.0).await
    }

    async fn attachment_upload(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<TransferPath>,
        query: QueryParams<SignedUrlQuery>,
        body: StreamingBody,
    ) -> Result<Reply<HttpResponseOk<Attachment>>, ApiError> {
        attachments::attachment_upload(rqctx, path.0, query.0, body).await
    }

    async fn attachment_download(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<TransferPath>,
        query: QueryParams<SignedUrlQuery>,
    ) -> Result<Reply<HttpResponseOk<FreeformBody>, FileHeaders>, ApiError> {
        attachments::attachment_download(rqctx, path.0, query.0).await
    }

    async fn usage_view(
        rqctx: RequestContext<ApiContext>,
        query: QueryParams<UsageQuery>,
    ) -> Result<Reply<HttpResponseOk<UsageReport>>, ApiError> {
        usage::usage_view(rqctx, query.0).await
    }

    async fn event_list(
        rqctx: RequestContext<ApiContext>,
        query: QueryParams<EventQuery>,
    ) -> Result<Reply<HttpResponseOk<EventPage>>, ApiError> {
        events::event_list(rqctx, query.0).await
    }

    async fn webhook_list(rqctx: RequestContext<ApiContext>) -> Result<Reply<HttpResponseOk<WebhookList>>, ApiError> {
        webhooks::webhook_list(rqctx).await
    }

    async fn webhook_create(
        rqctx: RequestContext<ApiContext>,
        body: JsonBody<WebhookCreateRequest>,
    ) -> Result<Reply<HttpResponseCreated<WebhookWithSecret>>, ApiError> {
        webhooks::webhook_create(rqctx, body.0).await
    }

    async fn webhook_view(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<WebhookPath>,
    ) -> Result<Reply<HttpResponseOk<Webhook>>, ApiError> {
        webhooks::webhook_view(rqctx, path.0).await
    }

    async fn webhook_update(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<WebhookPath>,
        body: JsonBody<WebhookUpdateRequest>,
    ) -> Result<Reply<HttpResponseOk<Webhook>>, ApiError> {
        webhooks::webhook_update(rqctx, path.0, body.0).await
    }

    async fn webhook_delete(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<WebhookPath>,
    ) -> Result<Reply<HttpResponseDeleted>, ApiError> {
        webhooks::webhook_delete(rqctx, path.0).await
    }

    async fn webhook_secret_rotate(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<WebhookPath>,
    ) -> Result<Reply<HttpResponseOk<WebhookWithSecret>>, ApiError> {
        webhooks::webhook_secret_rotate(rqctx, path.0).await
    }

    async fn webhook_delivery_list(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<WebhookPath>,
    ) -> Result<Reply<HttpResponseOk<WebhookDeliveryList>>, ApiError> {
        webhooks::webhook_delivery_list(rqctx, path.0).await
    }

    async fn webhook_redeliver(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<DeliveryPath>,
    ) -> Result<Reply<HttpResponseAccepted<WebhookDelivery>>, ApiError> {
        webhooks::webhook_redeliver(rqctx, path.0).await
    }

    async fn audit_event_list(
        rqctx: RequestContext<ApiContext>,
        query: QueryParams<PaginationParams<AuditEventFilter, AuditEventPage>>,
    ) -> Result<Reply<HttpResponseOk<ResultsPage<AuditEvent>>>, ApiError> {
        audit::audit_event_list(rqctx, query.0).await
    }

    async fn audit_chain_verify(
        rqctx: RequestContext<ApiContext>,
    ) -> Result<Reply<HttpResponseOk<AuditChainVerification>>, ApiError> {
        audit::audit_chain_verify(rqctx).await
    }
}

/// How many items a page of a list holds: what the caller asked for, at
/// most [`MAX_PAGE_ITEMS`].
fn page_limit<S: DeserializeOwned, P: DeserializeOwned + Serialize>(
    rqctx: &RequestContext<ApiContext>,
    query: &PaginationParams<S, P>,
) -> Result<i64, Error> {
    let asked = rqctx
        .page_limit(query)
        .map_err(|error| Error::Invalid(Problem::new("VALIDATION_FAILED", error.external_message)))?;
    Ok(i64::from(asked.get()).min(MAX_PAGE_ITEMS))
}

/// Where a list ordered by id resumes.
fn id_page(rqctx: &RequestContext<ApiContext>, query: &IdPages) -> Result<Page, Error> {
    let after = match &query.page {
        WhichPage::First(_) => None,
        WhichPage::Next(AfterId { after }) => Some(*after),
    };
    Ok(Page { after, limit: page_limit(rqctx, query)? })
}

/// A page of a list ordered by id, with the token of the next.
fn id_results<T: Serialize + schemars::JsonSchema + Send + Sync + 'static>(
    items: Vec<T>,
    id: impl Fn(&T) -> Uuid,
) -> Result<HttpResponseOk<ResultsPage<T>>, Error> {
    ResultsPage::new(items, &EmptyScanParams {}, |item, _| AfterId { after: id(item) })
        .map(HttpResponseOk)
        .map_err(paging_error)
}

/// A page token that could not be written: a bug, never the caller's fault.
fn paging_error(error: dropshot::HttpError) -> Error {
    Error::Internal(anyhow::anyhow!("paging: {}", error.internal_message))
}
