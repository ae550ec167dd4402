//! The implementation of the API trait: thin handlers that extract the
//! caller, call one `app/` function and turn its result into a view.

use dropshot::{HttpResponseOk, RequestContext};

use crate::api::platform::{Health, HealthStatus, Liveness, SessionStoreKind};
use crate::api::{ApiError, IncidentTrackerApi};
use crate::app::{self, AppState};
use crate::sessions::SessionStore;

pub enum Handlers {}

impl IncidentTrackerApi for Handlers {
    type Context = AppState;

    async fn health_view(rqctx: RequestContext<AppState>) -> Result<HttpResponseOk<Health>, ApiError> {
        let state = rqctx.context();
        app::platform::check_dependencies(state).await.map_err(|error| error.into_api_error(&rqctx.request_id))?;
        let session_store = match state.sessions {
            SessionStore::Memory => SessionStoreKind::Memory,
            SessionStore::Redis(_) => SessionStoreKind::Redis,
        };
        Ok(HttpResponseOk(Health {
            status: HealthStatus::Ok,
            version: env!("CARGO_PKG_VERSION").to_string(),
            session_store,
        }))
    }

    async fn health_live_view(_rqctx: RequestContext<AppState>) -> Result<HttpResponseOk<Liveness>, ApiError> {
        Ok(HttpResponseOk(Liveness { status: HealthStatus::Ok }))
    }
}
