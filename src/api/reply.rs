//! Every response a handler gives, success or error: the headers every
//! answer carries (no sniffing, no framing, no active content, no caching),
//! cookies and
//! typed headers on success, `Retry-After` on a refusal. Dropshot's error
//! path cannot set headers on a custom error type, so handlers' errors
//! travel through the success path, with the same body as any other error.

use dropshot::{ApiEndpointResponse, HttpCodedResponse, HttpError, HttpResponse, HttpResponseHeaders, NoHeaders};
use http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, RETRY_AFTER, X_CONTENT_TYPE_OPTIONS};
use http::{HeaderMap, HeaderValue, StatusCode};
use schemars::JsonSchema;
use serde::Serialize;

use super::ApiError;

/// A JSON API's answers are data: never rendered, framed or sniffed as a
/// page, whatever a field holds.
const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'none'; frame-ancestors 'none'";

/// How a file answer (an attachment, an export) is to be saved.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FileHeaders {
    /// `attachment`, with the file's name.
    #[serde(rename = "Content-Disposition")]
    pub content_disposition: String,
}

pub enum Reply<T: HttpCodedResponse, H: JsonSchema + Serialize + Send + Sync + 'static = NoHeaders> {
    Done(HttpResponseHeaders<T, H>),
    Refused(ApiError),
}

impl<T: HttpCodedResponse, H: JsonSchema + Serialize + Send + Sync + 'static> HttpResponse for Reply<T, H> {
    fn to_result(self) -> Result<http::Response<dropshot::Body>, HttpError> {
        let mut response = match self {
            Reply::Done(response) => response.to_result()?,
            Reply::Refused(error) => {
                let body = serde_json::to_string(&error).map_err(|e| HttpError::for_internal_error(e.to_string()))?;
                let mut response = http::Response::builder()
                    .status(error.status().as_status())
                    .header(CONTENT_TYPE, dropshot::CONTENT_TYPE_JSON)
                    .body(body.into())?;
                if let Some(retry_after) = error.retry_after() {
                    // Whole seconds, rounded up: retrying early is refused again.
                    let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                    response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(seconds.max(1)));
                }
                response
            }
        };
        add_security_headers(response.headers_mut());
        Ok(response)
    }

    fn response_metadata() -> ApiEndpointResponse {
        HttpResponseHeaders::<T, H>::response_metadata()
    }

    fn status_code(&self) -> StatusCode {
        match self {
            Reply::Done(_) => T::STATUS_CODE,
            Reply::Refused(error) => error.status().as_status(),
        }
    }
}

/// A page's own policy (the API reference's) is kept; every other answer
/// allows nothing. Answers hold secrets shown once (a new key's or
/// webhook's), CSRF tokens and tenants' data: no cache keeps them, unless
/// the handler says otherwise.
fn add_security_headers(headers: &mut HeaderMap) {
    if !headers.contains_key(CONTENT_SECURITY_POLICY) {
        headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY_VALUE));
    }
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
}
