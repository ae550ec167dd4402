//! Responses that carry headers: cookies on success, `Retry-After` on a
//! refusal. Dropshot's error path cannot set headers on a custom error type,
//! so a refusal that must say when to retry travels through the success
//! path, with the same body as any other error.

use dropshot::{ApiEndpointResponse, HttpCodedResponse, HttpError, HttpResponse, HttpResponseHeaders};
use http::StatusCode;
use http::header::{CONTENT_TYPE, RETRY_AFTER};

use super::ApiError;

pub enum Reply<T: HttpCodedResponse> {
    Done(HttpResponseHeaders<T>),
    /// An error with `retry_after` set: 429s from rate limits and lockouts.
    RetryLater(ApiError),
}

impl<T: HttpCodedResponse> Reply<T> {
    /// Routes an error to the path that can carry its headers.
    pub fn refuse(error: ApiError) -> Result<Reply<T>, ApiError> {
        if error.retry_after().is_some() { Ok(Reply::RetryLater(error)) } else { Err(error) }
    }
}

impl<T: HttpCodedResponse> HttpResponse for Reply<T> {
    fn to_result(self) -> Result<http::Response<dropshot::Body>, HttpError> {
        match self {
            Reply::Done(response) => response.to_result(),
            Reply::RetryLater(error) => {
                // Whole seconds, rounded up: retrying early is refused again.
                let retry_after = error.retry_after().unwrap_or_default();
                let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                let body = serde_json::to_string(&error).map_err(|e| HttpError::for_internal_error(e.to_string()))?;
                Ok(http::Response::builder()
                    .status(error.status().as_status())
                    .header(CONTENT_TYPE, dropshot::CONTENT_TYPE_JSON)
                    .header(RETRY_AFTER, seconds.max(1))
                    .body(body.into())?)
            }
        }
    }

    fn response_metadata() -> ApiEndpointResponse {
        HttpResponseHeaders::<T>::response_metadata()
    }

    fn status_code(&self) -> StatusCode {
        match self {
            Reply::Done(_) => T::STATUS_CODE,
            Reply::RetryLater(error) => error.status().as_status(),
        }
    }
}
