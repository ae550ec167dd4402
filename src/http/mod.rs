//! The implementation of the API trait: thin handlers that extract the
//! caller, call one `app/` function and turn its result into a view. Each
//! area's handlers live in their own module; this impl only routes to them.

mod auth;
pub mod caller;

use dropshot::{
    HttpResponseAccepted, HttpResponseCreated, HttpResponseHeaders, HttpResponseOk, HttpResponseUpdatedNoContent,
    RequestContext,
};
use ipnet::IpNet;

use crate::api::auth::{
    LoginRequest, Me, PasswordForgotRequest, PasswordResetRequest, PasswordResetRequested, SignupRequest,
};
use crate::api::extract::JsonBody;
use crate::api::platform::{Health, HealthStatus, Liveness, SessionStoreKind};
use crate::api::{ApiError, IncidentTrackerApi, Reply};
use crate::app::{self, AppState};
use crate::sessions::StoreKind;

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
}
