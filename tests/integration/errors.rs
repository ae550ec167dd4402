//! Every error answers `{ code, message, traceId, details }` with `traceId`
//! equal to the `x-request-id` header; the router's own 404/405 keep the
//! header.
//!
//! The foundation's endpoints take no body or parameters, so bad bodies,
//! paths and queries are sent to a probe API built from the same extractors,
//! error type and server settings as the real one.

use std::sync::atomic::{AtomicUsize, Ordering};

use dropshot::{ApiDescription, HttpResponseUpdatedNoContent, RequestContext, endpoint};
use incident_tracker::api::ApiError;
use incident_tracker::api::extract::{JsonBody, PathParams, QueryParams};
use incident_tracker::error::Error;
use incident_tracker::http::error::api_error;
use incident_tracker::server::start_http;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::common::{TestApp, base_url, config, request_id};

const BODY_LIMIT: usize = 1024;

#[derive(Default)]
struct Probe {
    writes: AtomicUsize,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ProbeBody {
    #[allow(dead_code)]
    name: String,
}

#[derive(Deserialize, JsonSchema)]
struct ProbePath {
    #[allow(dead_code)]
    probe_id: uuid::Uuid,
}

#[derive(Deserialize, JsonSchema)]
struct ProbeQuery {
    #[allow(dead_code)]
    limit: u32,
}

#[endpoint { method = POST, path = "/probes/{probe_id}" }]
async fn probe_write(
    rqctx: RequestContext<Probe>,
    _path: PathParams<ProbePath>,
    _query: QueryParams<ProbeQuery>,
    _body: JsonBody<ProbeBody>,
) -> Result<HttpResponseUpdatedNoContent, ApiError> {
    rqctx.context().writes.fetch_add(1, Ordering::SeqCst);
    Ok(HttpResponseUpdatedNoContent())
}

#[endpoint { method = GET, path = "/failure" }]
async fn probe_failure(rqctx: RequestContext<Probe>) -> Result<HttpResponseUpdatedNoContent, ApiError> {
    Err(api_error(
        Error::Internal(anyhow::anyhow!("connection to 10.0.0.7 refused: password authentication failed")),
        &rqctx.request_id,
    ))
}

struct ProbeServer {
    server: dropshot::HttpServer<Probe>,
    http: reqwest::Client,
}

impl ProbeServer {
    fn start() -> ProbeServer {
        let mut api = ApiDescription::new();
        api.register(probe_write).unwrap();
        api.register(probe_failure).unwrap();
        let limit = BODY_LIMIT.to_string();
        let server = start_http(api, Probe::default(), &config(&[("REQUEST_BODY_MAX_BYTES", &limit)])).unwrap();
        ProbeServer { server, http: reqwest::Client::new() }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", base_url(self.server.local_addr()))
    }

    fn writes(&self) -> usize {
        self.server.app_private().writes.load(Ordering::SeqCst)
    }

    async fn post(&self, path: &str, content_type: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.http.post(self.url(path)).header("content-type", content_type).body(body).send().await.unwrap()
    }
}

const GOOD_PATH: &str = "/probes/6a3c1a8e-2f4b-4c1e-9a57-3f0d2b9c8e11?limit=5";

/// Asserts the documented error body and that its trace id is the
/// response's request id; returns the body.
async fn assert_error(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status);
    let header = request_id(&response);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["traceId"], header.as_str(), "traceId must equal x-request-id: {body}");
    assert!(body["message"].as_str().is_some_and(|message| !message.is_empty()), "{body}");
    assert!(body["details"].is_object(), "{body}");
    body
}

#[tokio::test]
async fn a_valid_probe_request_is_accepted() {
    let probe = ProbeServer::start();
    let response = probe.post(GOOD_PATH, "application/json", json!({ "name": "ok" }).to_string()).await;
    assert_eq!(response.status().as_u16(), 204);
    assert_eq!(probe.writes(), 1);
}

#[tokio::test]
async fn malformed_json_is_a_validation_failure_that_changes_nothing() {
    let probe = ProbeServer::start();
    assert_error(probe.post(GOOD_PATH, "application/json", "{\"name\": ").await, 400, "VALIDATION_FAILED").await;
    assert_eq!(probe.writes(), 0);
}

#[tokio::test]
async fn unknown_fields_are_rejected() {
    let probe = ProbeServer::start();
    let body = json!({ "name": "ok", "admin": true }).to_string();
    let error = assert_error(probe.post(GOOD_PATH, "application/json", body).await, 400, "VALIDATION_FAILED").await;
    assert!(error["message"].as_str().unwrap().contains("admin"), "{error}");
    assert_eq!(probe.writes(), 0);
}

#[tokio::test]
async fn a_wrong_content_type_is_a_validation_failure() {
    let probe = ProbeServer::start();
    let body = json!({ "name": "ok" }).to_string();
    assert_error(probe.post(GOOD_PATH, "text/plain", body).await, 400, "VALIDATION_FAILED").await;
    assert_eq!(probe.writes(), 0);
}

#[tokio::test]
async fn bad_path_and_query_parameters_are_validation_failures() {
    let probe = ProbeServer::start();
    let body = json!({ "name": "ok" }).to_string();
    let bad_path = "/probes/not-a-uuid?limit=5";
    assert_error(probe.post(bad_path, "application/json", body.clone()).await, 400, "VALIDATION_FAILED").await;
    let bad_query = "/probes/6a3c1a8e-2f4b-4c1e-9a57-3f0d2b9c8e11?limit=many";
    assert_error(probe.post(bad_query, "application/json", body).await, 400, "VALIDATION_FAILED").await;
    assert_eq!(probe.writes(), 0);
}

#[tokio::test]
async fn an_oversized_body_is_413() {
    let probe = ProbeServer::start();
    let body = json!({ "name": "x".repeat(BODY_LIMIT * 4) }).to_string();
    assert_error(probe.post(GOOD_PATH, "application/json", body).await, 413, "PAYLOAD_TOO_LARGE").await;
    assert_eq!(probe.writes(), 0);
}

#[tokio::test]
async fn an_internal_error_says_nothing_internal() {
    let probe = ProbeServer::start();
    let response = probe.http.get(probe.url("/failure")).send().await.unwrap();
    let body = assert_error(response, 500, "INTERNAL_ERROR").await;
    let text = body.to_string();
    assert!(!text.contains("10.0.0.7") && !text.contains("password"), "internal detail leaked: {text}");
}

/// The router answers unknown routes and methods before any handler runs,
/// in dropshot's own body, which still carries the request id.
#[tokio::test(flavor = "multi_thread")]
async fn the_routers_404_and_405_keep_the_request_id() {
    let app = TestApp::spawn().await;
    let http = reqwest::Client::new();
    for (response, status) in [
        (http.get(app.url("/no/such/route")).send().await.unwrap(), 404),
        (http.delete(app.url("/health")).send().await.unwrap(), 405),
    ] {
        assert_eq!(response.status().as_u16(), status);
        let header = request_id(&response);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["request_id"], header.as_str(), "{body}");
    }
}
