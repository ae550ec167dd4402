//! The one error body every endpoint answers with.

use dropshot::{ErrorStatusCode, HttpError, HttpResponseError};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};
use std::fmt;
use std::time::Duration;

/// An error response: `{ code, message, traceId, details }`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "Error")]
pub struct ApiError {
    /// Stable, machine-readable code in SCREAMING_SNAKE_CASE, e.g.
    /// `VALIDATION_FAILED`. Clients branch on this, never on `message`.
    pub code: String,
    /// Human-readable explanation; wording may change.
    pub message: String,
    /// The request id, also sent as the `x-request-id` header. Quote it when
    /// reporting a problem: the server's log has the full story under it.
    pub trace_id: String,
    /// Structured context, specific to `code`.
    pub details: Map<String, Value>,
    #[serde(skip)]
    status: ErrorStatusCode,
    /// Sent as `Retry-After` by [`super::Reply`]: dropshot's error path
    /// cannot set headers.
    #[serde(skip)]
    retry_after: Option<Duration>,
}

impl ApiError {
    pub fn new(status: ErrorStatusCode, code: &str, message: impl Into<String>, trace_id: &str) -> ApiError {
        ApiError {
            code: code.to_string(),
            message: message.into(),
            trace_id: trace_id.to_string(),
            details: Map::new(),
            status,
            retry_after: None,
        }
    }

    pub fn with_retry_after(mut self, retry_after: Duration) -> ApiError {
        self.retry_after = Some(retry_after);
        self
    }

    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    pub fn status(&self) -> ErrorStatusCode {
        self.status
    }

    pub fn with_detail(mut self, key: &str, value: impl Into<Value>) -> ApiError {
        self.details.insert(key.to_string(), value.into());
        self
    }
}

/// What dropshot logs for the error: the code alone. The message may quote
/// the request (serde's parse errors do), and the request may hold secrets;
/// internal errors log their detail themselves.
impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code)
    }
}

impl HttpResponseError for ApiError {
    fn status_code(&self) -> ErrorStatusCode {
        self.status
    }
}

/// Dropshot reports an oversized body as a plain 400 with this message; it
/// is the only way to tell it apart from other malformed bodies.
const BODY_TOO_LARGE_PREFIX: &str = "request body exceeded maximum size";

/// Errors raised by dropshot itself: extractor failures (bad JSON, wrong
/// content type, bad path or query parameters, oversized bodies). The request
/// id arrives in the error's headers, put there by the extractors in
/// [`super::extract`]. Only a failure to serialize a response arrives
/// without one; its `traceId` stays empty while the header still has the id.
impl From<HttpError> for ApiError {
    fn from(error: HttpError) -> ApiError {
        let trace_id = error
            .headers
            .as_ref()
            .and_then(|headers| headers.get(dropshot::HEADER_REQUEST_ID))
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let status = error.status_code.as_status();
        if error.external_message.starts_with(BODY_TOO_LARGE_PREFIX) {
            return ApiError::new(
                ErrorStatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                error.external_message,
                &trace_id,
            );
        }
        match status.as_u16() {
            400 => ApiError::new(error.status_code, "VALIDATION_FAILED", error.external_message, &trace_id),
            code if code >= 500 => {
                tracing::error!(trace_id, error = %error.internal_message, "internal error in request handling");
                ApiError::new(
                    ErrorStatusCode::INTERNAL_SERVER_ERROR,
                    "INTERNAL_ERROR",
                    "Internal server error.",
                    &trace_id,
                )
            }
            _ => ApiError::new(error.status_code, "REQUEST_REJECTED", error.external_message, &trace_id),
        }
    }
}
