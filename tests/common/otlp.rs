//! A real OTLP/HTTP receiver: what the server exports over protobuf,
//! decoded with the OpenTelemetry protocol's own types.

// The receiver takes raw bodies; the API's extractor rules are for the API.
#![allow(clippy::disallowed_types)]

use std::sync::{Arc, Mutex};

use dropshot::{ApiDescription, Body, ConfigDropshot, HttpError, RequestContext, ServerBuilder, UntypedBody, endpoint};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::Metric;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

#[derive(Default)]
struct Received {
    traces: Mutex<Vec<ExportTraceServiceRequest>>,
    metrics: Mutex<Vec<ExportMetricsServiceRequest>>,
}

pub struct OtlpReceiver {
    server: dropshot::HttpServer<Arc<Received>>,
    received: Arc<Received>,
}

fn accepted() -> http::Response<Body> {
    http::Response::builder().header("content-type", "application/x-protobuf").body(Body::empty()).unwrap()
}

fn malformed(error: prost::DecodeError) -> HttpError {
    HttpError::for_bad_request(None, error.to_string())
}

#[endpoint { method = POST, path = "/v1/traces" }]
async fn receive_traces(
    rqctx: RequestContext<Arc<Received>>,
    body: UntypedBody,
) -> Result<http::Response<Body>, HttpError> {
    let request = ExportTraceServiceRequest::decode(body.as_bytes()).map_err(malformed)?;
    rqctx.context().traces.lock().unwrap().push(request);
    Ok(accepted())
}

#[endpoint { method = POST, path = "/v1/metrics" }]
async fn receive_metrics(
    rqctx: RequestContext<Arc<Received>>,
    body: UntypedBody,
) -> Result<http::Response<Body>, HttpError> {
    let request = ExportMetricsServiceRequest::decode(body.as_bytes()).map_err(malformed)?;
    rqctx.context().metrics.lock().unwrap().push(request);
    Ok(accepted())
}

impl OtlpReceiver {
    pub async fn start() -> OtlpReceiver {
        let mut api = ApiDescription::new();
        api.register(receive_traces).unwrap();
        api.register(receive_metrics).unwrap();
        let received = Arc::new(Received::default());
        let config = ConfigDropshot {
            bind_address: "127.0.0.1:0".parse().unwrap(),
            default_request_body_max_bytes: 16 * 1024 * 1024,
            ..ConfigDropshot::default()
        };
        let log = slog::Logger::root(slog::Discard, slog::o!());
        let server = ServerBuilder::new(api, received.clone(), log).config(config).start().unwrap();
        OtlpReceiver { server, received }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.server.local_addr())
    }

    /// Every span received, with its resource's attributes.
    pub fn spans(&self) -> Vec<(Vec<KeyValue>, Span)> {
        let traces = self.received.traces.lock().unwrap();
        let mut spans = Vec::new();
        for request in traces.iter() {
            for resource in &request.resource_spans {
                let attributes = resource.resource.as_ref().map(|r| r.attributes.clone()).unwrap_or_default();
                for scope in &resource.scope_spans {
                    spans.extend(scope.spans.iter().map(|span| (attributes.clone(), span.clone())));
                }
            }
        }
        spans
    }

    /// Every metric received.
    pub fn metrics(&self) -> Vec<Metric> {
        let metrics = self.received.metrics.lock().unwrap();
        let resources = metrics.iter().flat_map(|request| request.resource_metrics.iter());
        resources.flat_map(|resource| resource.scope_metrics.iter()).flat_map(|scope| scope.metrics.clone()).collect()
    }
}

/// An attribute's value as text, whatever its type.
pub fn text(value: &Option<AnyValue>) -> String {
    match value.as_ref().and_then(|value| value.value.as_ref()) {
        Some(any_value::Value::StringValue(text)) => text.clone(),
        Some(any_value::Value::IntValue(number)) => number.to_string(),
        Some(any_value::Value::BoolValue(flag)) => flag.to_string(),
        Some(any_value::Value::DoubleValue(number)) => number.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

/// The attribute `key` among `attributes`, as text.
pub fn attribute(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes.iter().find(|attribute| attribute.key == key).map(|attribute| text(&attribute.value))
}
