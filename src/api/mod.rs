//! The interface: the dropshot API trait and the wire types, one module per
//! area. The trait's signatures are the contract; `openapi.yaml` is generated
//! from them and the integration tests' client is generated from that.

pub mod contract;
pub mod error;
pub mod extract;
pub mod platform;

use dropshot::{HttpResponseOk, RequestContext};

pub use error::ApiError;

/// Every endpoint has exactly one tag, one per area; it groups operations in
/// the documentation and generated SDKs.
#[dropshot::api_description {
    tag_config = {
        allow_other_tags = false,
        policy = dropshot::EndpointTagPolicy::ExactlyOne,
        tags = {
            platform = { description = "Health checks for load balancers and orchestrators." },
        }
    }
}]
pub trait IncidentTrackerApi {
    type Context;

    /// Readiness: whether this instance can serve requests.
    ///
    /// Answers 200 when the database and the session store both respond, and
    /// 503 naming the failing dependencies when one does not. Load balancers
    /// should route on this.
    #[endpoint { method = GET, path = "/health", tags = ["platform"], operation_id = "health_view" }]
    async fn health_view(rqctx: RequestContext<Self::Context>) -> Result<HttpResponseOk<platform::Health>, ApiError>;

    /// Liveness: whether the process is running.
    ///
    /// Checks nothing beyond the process itself, so an orchestrator does not
    /// restart instances because a shared dependency is down.
    #[endpoint { method = GET, path = "/health/live", tags = ["platform"], operation_id = "health_live_view" }]
    async fn health_live_view(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<HttpResponseOk<platform::Liveness>, ApiError>;
}

/// How an operation authenticates its caller, as documented in the contract's
/// `security` requirements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Authentication {
    /// Anyone may call it.
    Public,
}

/// Every operation's authentication, by operation id. Adding an endpoint
/// without an entry here makes contract generation fail, so no operation is
/// published with undocumented security.
pub fn authentication(operation_id: &str) -> Option<Authentication> {
    match operation_id {
        "health_view" | "health_live_view" => Some(Authentication::Public),
        _ => None,
    }
}
