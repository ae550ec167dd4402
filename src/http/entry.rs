//! The one way into the application for every handler: [`handle`]
//! authenticates the request exactly as the operation's entry in
//! [`api::authentication`] says (the table the contract's `security` is
//! generated from), runs the handler's work with the resulting
//! [`OpContext`], and turns the outcome into the response, errors included.
//! A handler has no way to choose a weaker check.

use std::time::Instant;

use dropshot::{HttpCodedResponse, HttpResponse, HttpResponseHeaders, RequestContext};
use http::HeaderValue;
use opentelemetry::global;
use opentelemetry_http::HeaderExtractor;
use schemars::JsonSchema;
use serde::Serialize;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::caller::{csrf_token_matches, current_session, origin};
use super::error::api_error;
use super::{ApiContext, Route};
use crate::api::{self, ApiError, Authentication, Reply};
use crate::app::auth::CurrentSession;
use crate::app::usage::QuotaStanding;
use crate::app::{Actor, AppState, Error, OpContext, Origin, Problem, api_keys};
use crate::telemetry::{self, METRICS, attribute};

pub const API_KEY_HEADER: &str = "x-api-key";

/// Authenticates the request, runs `work` and answers its result.
pub async fn handle<T, F>(rqctx: &RequestContext<ApiContext>, work: F) -> Result<Reply<T>, ApiError>
where
    T: HttpCodedResponse,
    F: AsyncFnOnce(&AppState, &OpContext, Option<CurrentSession>) -> Result<T, Error>,
{
    handle_with_headers(rqctx, async |app, op, session| {
        work(app, op, session).await.map(HttpResponseHeaders::new_unnamed)
    })
    .await
}

/// [`handle`], for work that sets response headers of its own: cookies,
/// or typed headers the contract documents (`H`).
pub async fn handle_with_headers<T, H, F>(rqctx: &RequestContext<ApiContext>, work: F) -> Result<Reply<T, H>, ApiError>
where
    T: HttpCodedResponse,
    H: JsonSchema + Serialize + Send + Sync + 'static,
    F: AsyncFnOnce(&AppState, &OpContext, Option<CurrentSession>) -> Result<HttpResponseHeaders<T, H>, Error>,
{
    let operation_id = rqctx.endpoint.operation_id.as_str();
    let route = rqctx.context().routes.get(operation_id);
    let span = request_span(rqctx, route);
    let mut meter = RequestMeter::start(rqctx.request.method(), route);
    let reply = answer(rqctx, work).instrument(span.clone()).await;
    let status = reply.status_code().as_u16();
    span.record("http.response.status_code", status);
    if status >= 500 {
        span.record("otel.status_code", "error");
    }
    meter.status = status;
    Ok(reply)
}

/// A request in flight, counted until it is dropped, which records its
/// duration: a handler that panics is still counted out, as a 500. Its
/// attributes are shared, not built per request.
struct RequestMeter {
    started: Instant,
    method: opentelemetry::Value,
    template: opentelemetry::Value,
    status: u16,
}

impl RequestMeter {
    fn start(method: &http::Method, route: Option<&Route>) -> RequestMeter {
        METRICS.active_requests.add(1, &[]);
        let method = match *method {
            http::Method::GET => "GET".into(),
            http::Method::POST => "POST".into(),
            http::Method::PATCH => "PATCH".into(),
            http::Method::PUT => "PUT".into(),
            http::Method::DELETE => "DELETE".into(),
            ref other => other.to_string().into(),
        };
        let template = route.map_or_else(|| "".into(), |route| route.template.clone().into());
        RequestMeter { started: Instant::now(), method, template, status: 500 }
    }
}

impl Drop for RequestMeter {
    fn drop(&mut self) {
        METRICS.active_requests.add(-1, &[]);
        let attributes = [
            attribute("http.request.method", self.method.clone()),
            attribute("http.route", self.template.clone()),
            attribute("http.response.status_code", i64::from(self.status)),
        ];
        METRICS.request_duration.record(self.started.elapsed().as_secs_f64(), &attributes);
    }
}

/// The request's server span, named by its route and continuing the
/// caller's trace when it sends `traceparent`. It carries no query string,
/// body, cookie or credential: only the method, the route, the server's
/// public host (not the client's `Host` header), the status and the request
/// id, which is how a `traceId` from an error body finds its trace.
fn request_span(rqctx: &RequestContext<ApiContext>, route: Option<&Route>) -> tracing::Span {
    let request = &rqctx.request;
    let host = rqctx.context().public_host.as_str();
    let (name, template) =
        route.map_or((rqctx.endpoint.operation_id.as_str(), ""), |route| (route.name.as_str(), &*route.template));
    let span = tracing::info_span!(
        "request",
        otel.name = name,
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        http.request.method = request.method().as_str(),
        http.route = template,
        http.response.status_code = tracing::field::Empty,
        server.address = host,
        request_id = rqctx.request_id.as_str(),
    );
    let parent = global::get_text_map_propagator(|propagator| propagator.extract(&HeaderExtractor(request.headers())));
    let _ = span.set_parent(parent);
    span
}

async fn answer<T, H, F>(rqctx: &RequestContext<ApiContext>, work: F) -> Reply<T, H>
where
    T: HttpCodedResponse,
    H: JsonSchema + Serialize + Send + Sync + 'static,
    F: AsyncFnOnce(&AppState, &OpContext, Option<CurrentSession>) -> Result<HttpResponseHeaders<T, H>, Error>,
{
    let app: &AppState = &rqctx.context().app;
    let origin = origin(rqctx);
    let (outcome, actor_id) = match authenticate(rqctx, origin.clone()).await {
        Ok((op, session)) => {
            let outcome = work(app, &op, session).await.map(|mut response| {
                if let Some(quota) = op.quota.get() {
                    add_quota_headers(&mut response, quota);
                }
                response
            });
            (outcome, op.actor.id())
        }
        Err(error) => (Err(error), None),
    };
    match outcome {
        Ok(response) => Reply::Done(response),
        Err(error) => {
            tracing::info!(target: "http", request_id = rqctx.request_id.as_str(), code = error.code(), "request refused");
            if let Some(event) = security_event_of(error.code()) {
                telemetry::security_event(event, error.code(), &rqctx.request_id, origin.client_ip, actor_id);
            }
            Reply::Refused(api_error(error, &rqctx.request_id))
        }
    }
}

/// The security event a refusal is logged as, by its code.
fn security_event_of(code: &str) -> Option<&'static str> {
    Some(match code {
        "AUTH_INVALID_CREDENTIALS" => "auth.login_failed",
        "AUTH_ACCOUNT_LOCKED" => "auth.locked_out",
        "AUTH_MFA_CODE_INVALID" => "auth.mfa_failed",
        "AUTH_REAUTHENTICATION_FAILED" => "auth.reauthentication_failed",
        "CSRF_TOKEN_INVALID" | "CROSS_SITE_REQUEST" => "csrf.refused",
        "RATE_LIMITED" => "rate_limit.denied",
        "QUOTA_EXCEEDED" => "quota.denied",
        "API_KEY_INVALID" => "api_key.refused",
        "FORBIDDEN" => "permission.denied",
        "URL_SIGNATURE_INVALID" | "URL_EXPIRED" | "URL_ALREADY_USED" => "attachment_url.refused",
        _ => return None,
    })
}

/// Who is calling, as the operation's authentication entry requires.
async fn authenticate(
    rqctx: &RequestContext<ApiContext>,
    origin: Origin,
) -> Result<(OpContext, Option<CurrentSession>), Error> {
    let operation_id = rqctx.endpoint.operation_id.as_str();
    let required = api::authentication(operation_id).ok_or_else(|| {
        Error::Internal(anyhow::anyhow!("operation `{operation_id}` has no entry in api::authentication"))
    })?;
    if required == Authentication::Public {
        return Ok((OpContext::new(Actor::Anonymous, origin, None), None));
    }
    // A key alone authenticates its request: cookies are ignored, so a
    // browser's session cannot lend a key's request anything, or the reverse.
    if let Some(presented) = rqctx.request.headers().get(API_KEY_HEADER) {
        let key = api_keys::api_key_authenticate(&rqctx.context().app, presented.to_str().unwrap_or_default()).await?;
        if !required.api_key_scope().is_some_and(|scope| key.scopes.contains(scope)) {
            return Err(Error::forbidden());
        }
        return Ok((OpContext::new(Actor::ServiceAccount(key), origin, Some(key.tenant_id)), None));
    }
    let session = current_session(rqctx).await?;
    let (needs_user, needs_csrf) = match required {
        Authentication::Public | Authentication::AnySession => (false, false),
        Authentication::AnySessionWithCsrf => (false, true),
        Authentication::Session | Authentication::SessionOrApiKey(_) => (true, false),
        Authentication::SessionWithCsrf | Authentication::SessionWithCsrfOrApiKey(_) => (true, true),
    };
    let user_id = session.as_ref().and_then(|current| current.session.user_id);
    if needs_user && user_id.is_none() {
        return Err(Error::auth_required());
    }
    if needs_csrf && !session.as_ref().is_some_and(|current| csrf_token_matches(rqctx, current)) {
        return Err(Error::Forbidden(Problem::new(
            "CSRF_TOKEN_INVALID",
            "Send the csrfToken of this session (from GET /v1/auth/me) in the x-csrf-token header.",
        )));
    }
    let active_tenant = session.as_ref().and_then(|current| current.session.active_tenant_id);
    let actor = user_id.map_or(Actor::Anonymous, Actor::User);
    Ok((OpContext::new(actor, origin, active_tenant), session))
}

/// The daily write quota as IETF RateLimit headers
/// (draft-ietf-httpapi-ratelimit-headers): the policy, and what remains of
/// it until the next UTC midnight.
fn add_quota_headers<T: HttpCodedResponse, H: JsonSchema + Serialize + Send + Sync + 'static>(
    response: &mut HttpResponseHeaders<T, H>,
    quota: &QuotaStanding,
) {
    let resets_in = (quota.resets_at - chrono::Utc::now()).num_seconds().max(0);
    let headers = response.headers_mut();
    let policy = format!("\"daily-writes\";q={};w=86400", quota.limit);
    let standing = format!("\"daily-writes\";r={};t={resets_in}", quota.remaining());
    for (name, value) in [("ratelimit-policy", policy), ("ratelimit", standing)] {
        headers.insert(name, HeaderValue::from_str(&value).expect("digits and quotes are header-safe"));
    }
}
