//! Handlers of the health checks.

use dropshot::{HttpResponseOk, RequestContext};

use super::ApiContext;
use super::entry::handle;
use crate::api::platform::{Health, HealthStatus, Liveness, SessionStoreKind};
use crate::api::{ApiError, Reply};
use crate::app::platform;
use crate::sessions::StoreKind;

pub async fn health_view(rqctx: RequestContext<ApiContext>) -> Result<Reply<HttpResponseOk<Health>>, ApiError> {
    handle(&rqctx, async |app, _, _| {
        platform::health_view(app).await?;
        let session_store = match app.sessions.kind() {
            StoreKind::Memory => SessionStoreKind::Memory,
            StoreKind::Redis => SessionStoreKind::Redis,
        };
        let version = env!("CARGO_PKG_VERSION").to_string();
        Ok(HttpResponseOk(Health { status: HealthStatus::Ok, version, session_store }))
    })
    .await
}

pub async fn health_live_view(rqctx: RequestContext<ApiContext>) -> Result<Reply<HttpResponseOk<Liveness>>, ApiError> {
    handle(&rqctx, async |_, _, _| Ok(HttpResponseOk(Liveness { status: HealthStatus::Ok }))).await
}
