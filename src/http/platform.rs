//! Handlers of the health checks, and of the contract and its reference
//! page.

use dropshot::{FreeformBody, HttpResponseOk, RequestContext};
use http::HeaderValue;
use http::header::CONTENT_SECURITY_POLICY;

use super::ApiContext;
use super::entry::{handle, handle_with_headers};
use super::files::document_response;
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

type Document = Result<Reply<HttpResponseOk<FreeformBody>>, ApiError>;

/// The API reference: Redoc, from the binary, rendering `/openapi.json`.
const DOCS_PAGE: &str = "<!DOCTYPE html>
<html lang=\"en\">
<head>
<meta charset=\"utf-8\">
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">
<title>Incident Tracker API reference</title>
</head>
<body>
<redoc spec-url=\"/openapi.json\"></redoc>
<script src=\"/docs/redoc.standalone.js\"></script>
</body>
</html>
";

/// Redoc's standalone bundle, pinned by `scripts/redoc`.
const DOCS_SCRIPT: &[u8] = include_bytes!("../../generated/redoc/redoc.standalone.js");

/// What the reference page may load: its own script and the contract, from
/// this server only. Redoc styles itself with inline `<style>` elements
/// and runs its search in a worker it makes from a `blob:` URL.
const DOCS_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src blob:; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

pub async fn contract_yaml_view(rqctx: RequestContext<ApiContext>) -> Document {
    let yaml = rqctx.context().contract.yaml.clone();
    handle_with_headers(&rqctx, async |_, _, _| document_response(yaml, "application/yaml")).await
}

pub async fn contract_json_view(rqctx: RequestContext<ApiContext>) -> Document {
    let json = rqctx.context().contract.json.clone();
    handle_with_headers(&rqctx, async |_, _, _| document_response(json, "application/json")).await
}

pub async fn docs_view(rqctx: RequestContext<ApiContext>) -> Document {
    handle_with_headers(&rqctx, async |_, _, _| {
        let mut response = document_response(DOCS_PAGE, "text/html; charset=utf-8")?;
        let policy = HeaderValue::from_static(DOCS_CONTENT_SECURITY_POLICY);
        response.headers_mut().insert(CONTENT_SECURITY_POLICY, policy);
        Ok(response)
    })
    .await
}

pub async fn docs_script_view(rqctx: RequestContext<ApiContext>) -> Document {
    handle_with_headers(&rqctx, async |_, _, _| document_response(DOCS_SCRIPT, "text/javascript; charset=utf-8")).await
}
