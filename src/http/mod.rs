//! The implementation of the API trait: thin handlers that extract the
//! caller, call one `app/` function and turn its result into a view. Each
//! area's handlers live in their own module; this impl only routes to them.

mod audit;
mod auth;
pub mod caller;
mod tenants;

use dropshot::{
    EmptyScanParams, HttpError, HttpResponseAccepted, HttpResponseCreated, HttpResponseDeleted, HttpResponseHeaders,
    HttpResponseOk, HttpResponseUpdatedNoContent, PaginationParams, RequestContext, ResultsPage,
};
use ipnet::IpNet;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::audit::{AuditChainVerification, AuditEvent, AuditEventFilter, AuditEventPage};
use crate::api::auth::{
    LoginRequest, Me, PasswordForgotRequest, PasswordResetRequest, PasswordResetRequested, SignupRequest,
};
use crate::api::extract::{self, JsonBody, PathParams, QueryParams};
use crate::api::platform::{Health, HealthStatus, Liveness, SessionStoreKind};
use crate::api::tenants::{
    AfterId, Invite, InviteAcceptRequest, InviteAccepted, InviteCreateRequest, InvitePath, Member, MemberPath,
    MemberUpdateRequest, Tenant, TenantCreateRequest, TenantPath,
};
use crate::api::{ApiError, IncidentTrackerApi, Reply};
use crate::app::{self, AppState};
use crate::sessions::StoreKind;

/// The most items one page of a list holds, whatever `limit` asks for.
const MAX_PAGE_ITEMS: i64 = 100;

/// What handlers reach: the application, and the settings only HTTP needs.
pub struct ApiContext {
    pub app: AppState,
    /// Cookies carry `Secure` (production, behind HTTPS).
    pub secure_cookies: bool,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<IpNet>,
}

pub enum Handlers {}

impl IncidentTrackerApi for Handlers {
    type Context = ApiContext;

    async fn health_view(rqctx: RequestContext<ApiContext>) -> Result<HttpResponseOk<Health>, ApiError> {
        let state = &rqctx.context().app;
        app::platform::check_dependencies(state).await.map_err(|error| error.into_api_error(&rqctx.request_id))?;
        let session_store = match state.sessions.kind() {
            StoreKind::Memory => SessionStoreKind::Memory,
            StoreKind::Redis => SessionStoreKind::Redis,
        };
        Ok(HttpResponseOk(Health {
            status: HealthStatus::Ok,
            version: env!("CARGO_PKG_VERSION").to_string(),
            session_store,
        }))
    }

    async fn health_live_view(_rqctx: RequestContext<ApiContext>) -> Result<HttpResponseOk<Liveness>, ApiError> {
        Ok(HttpResponseOk(Liveness { status: HealthStatus::Ok }))
    }

    async fn me_view(rqctx: RequestContext<ApiContext>) -> Result<HttpResponseHeaders<HttpResponseOk<Me>>, ApiError> {
        auth::me_view(rqctx).await
    }

    async fn auth_signup(
        rqctx: RequestContext<ApiContext>,
        body: JsonBody<SignupRequest>,
    ) -> Result<HttpResponseHeaders<HttpResponseCreated<Me>>, ApiError> {
        auth::signup(rqctx, body.0).await
    }

    async fn auth_login(
        rqctx: RequestContext<ApiContext>,
        body: JsonBody<LoginRequest>,
    ) -> Result<Reply<HttpResponseOk<Me>>, ApiError> {
        auth::login(rqctx, body.0).await
    }

    async fn auth_logout(
        rqctx: RequestContext<ApiContext>,
    ) -> Result<HttpResponseHeaders<HttpResponseUpdatedNoContent>, ApiError> {
        auth::logout(rqctx).await
    }

    async fn password_forgot(
        rqctx: RequestContext<ApiContext>,
        body: JsonBody<PasswordForgotRequest>,
    ) -> Result<HttpResponseAccepted<PasswordResetRequested>, ApiError> {
        auth::password_forgot(rqctx, body.0).await
    }

    async fn password_reset(
        rqctx: RequestContext<ApiContext>,
        body: JsonBody<PasswordResetRequest>,
    ) -> Result<HttpResponseHeaders<HttpResponseUpdatedNoContent>, ApiError> {
        auth::password_reset(rqctx, body.0).await
    }

    async fn tenant_list(
        rqctx: RequestContext<ApiContext>,
        query: QueryParams<PaginationParams<EmptyScanParams, AfterId>>,
    ) -> Result<HttpResponseOk<ResultsPage<Tenant>>, ApiError> {
        tenants::tenant_list(rqctx, query.0).await
    }

    async fn tenant_create(
        rqctx: RequestContext<ApiContext>,
        body: JsonBody<TenantCreateRequest>,
    ) -> Result<HttpResponseCreated<Tenant>, ApiError> {
        tenants::tenant_create(rqctx, body.0).await
    }

    async fn tenant_switch(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<TenantPath>,
    ) -> Result<HttpResponseOk<Me>, ApiError> {
        tenants::tenant_switch(rqctx, path.0).await
    }

    async fn member_list(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<TenantPath>,
        query: QueryParams<PaginationParams<EmptyScanParams, AfterId>>,
    ) -> Result<HttpResponseOk<ResultsPage<Member>>, ApiError> {
        tenants::member_list(rqctx, path.0, query.0).await
    }

    async fn member_update(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<MemberPath>,
        body: JsonBody<MemberUpdateRequest>,
    ) -> Result<HttpResponseOk<Member>, ApiError> {
        tenants::member_update(rqctx, path.0, body.0).await
    }

    async fn member_remove(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<MemberPath>,
    ) -> Result<HttpResponseDeleted, ApiError> {
        tenants::member_remove(rqctx, path.0).await
    }

    async fn invite_create(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<TenantPath>,
        body: JsonBody<InviteCreateRequest>,
    ) -> Result<HttpResponseCreated<Invite>, ApiError> {
        tenants::invite_create(rqctx, path.0, body.0).await
    }

    async fn invite_list(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<TenantPath>,
        query: QueryParams<PaginationParams<EmptyScanParams, AfterId>>,
    ) -> Result<HttpResponseOk<ResultsPage<Invite>>, ApiError> {
        tenants::invite_list(rqctx, path.0, query.0).await
    }

    async fn invite_revoke(
        rqctx: RequestContext<ApiContext>,
        path: PathParams<InvitePath>,
    ) -> Result<HttpResponseUpdatedNoContent, ApiError> {
        tenants::invite_revoke(rqctx, path.0).await
    }

    async fn invite_accept(
        rqctx: RequestContext<ApiContext>,
        body: JsonBody<InviteAcceptRequest>,
    ) -> Result<HttpResponseOk<InviteAccepted>, ApiError> {
        tenants::invite_accept(rqctx, body.0).await
    }

    async fn audit_event_list(
        rqctx: RequestContext<ApiContext>,
        query: QueryParams<PaginationParams<AuditEventFilter, AuditEventPage>>,
    ) -> Result<HttpResponseOk<ResultsPage<AuditEvent>>, ApiError> {
        audit::audit_event_list(rqctx, query.0).await
    }

    async fn audit_chain_verify(
        rqctx: RequestContext<ApiContext>,
    ) -> Result<HttpResponseOk<AuditChainVerification>, ApiError> {
        audit::audit_chain_verify(rqctx).await
    }
}

/// How many items a page of a list holds: what the caller asked for, at
/// most [`MAX_PAGE_ITEMS`].
fn page_limit<S: DeserializeOwned, P: DeserializeOwned + Serialize>(
    rqctx: &RequestContext<ApiContext>,
    query: &PaginationParams<S, P>,
) -> Result<i64, ApiError> {
    let asked = rqctx.page_limit(query).map_err(|error| dropshot_error(rqctx, error))?;
    Ok(i64::from(asked.get()).min(MAX_PAGE_ITEMS))
}

/// An error dropshot raised while serving the request, as the wire error.
fn dropshot_error(rqctx: &RequestContext<ApiContext>, error: HttpError) -> ApiError {
    extract::tag_with_request_id(error, &rqctx.request_id).into()
}
