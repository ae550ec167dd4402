//! Request extractors for the API trait.
//!
//! They wrap dropshot's own and differ in one way: a failure carries the
//! request id, so [`super::ApiError`] can fill in `traceId`. Dropshot converts
//! extractor errors into the endpoint's error type without telling it which
//! request failed; every extractor in the API must come from here for the
//! error body and the `x-request-id` header to agree.

// The one place dropshot's own extractors may be named: they are wrapped here.
#![allow(clippy::disallowed_types)]

use async_trait::async_trait;
use dropshot::{
    ApiEndpointBodyContentType, ExclusiveExtractor, ExtractorMetadata, HttpError, RequestContext, ServerContext,
    SharedExtractor,
};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

/// A JSON request body.
pub struct JsonBody<T>(pub T);

/// The path's variables.
pub struct PathParams<T>(pub T);

/// The query string.
pub struct QueryParams<T>(pub T);

/// Request headers the contract documents.
pub struct HeaderParams<T>(pub T);

pub(crate) fn tag_with_request_id(mut error: HttpError, request_id: &str) -> HttpError {
    if let Ok(value) = http::HeaderValue::from_str(request_id) {
        error.headers.get_or_insert_with(Default::default).insert(dropshot::HEADER_REQUEST_ID, value);
    }
    error
}

/// Parsed with nothing after the value but whitespace, and refused when a
/// string holds NUL, which no text column can store. Dropshot's own JSON
/// body ignores trailing bytes.
#[async_trait]
impl<T: DeserializeOwned + JsonSchema + Send + Sync + 'static> ExclusiveExtractor for JsonBody<T> {
    async fn from_request<C: ServerContext>(
        rqctx: &RequestContext<C>,
        request: http::Request<dropshot::Body>,
    ) -> Result<Self, HttpError> {
        let invalid =
            |message: String| tag_with_request_id(HttpError::for_bad_request(None, message), &rqctx.request_id);
        let content_type = request.headers().get(http::header::CONTENT_TYPE).map(|value| value.to_str());
        let mime_type = match content_type {
            None => dropshot::CONTENT_TYPE_JSON.to_string(),
            Some(Ok(value)) => value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase(),
            Some(Err(_)) => String::new(),
        };
        if mime_type != dropshot::CONTENT_TYPE_JSON {
            return Err(invalid(format!("expected content type \"{}\"", dropshot::CONTENT_TYPE_JSON)));
        }
        let body = dropshot::UntypedBody::from_request(rqctx, request)
            .await
            .map_err(|error| tag_with_request_id(error, &rqctx.request_id))?;
        let bytes = body.as_bytes();
        if holds_nul_escape(bytes) {
            return Err(invalid("strings may not contain NUL (\\u0000)".to_string()));
        }
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        let value = serde_path_to_error::deserialize(&mut deserializer)
            .map_err(|error| invalid(format!("unable to parse JSON body: {error}")))?;
        deserializer.end().map_err(|error| invalid(format!("unable to parse JSON body: {error}")))?;
        Ok(JsonBody(value))
    }

    fn metadata(content_type: ApiEndpointBodyContentType) -> ExtractorMetadata {
        dropshot::TypedBody::<T>::metadata(content_type)
    }
}

#[async_trait]
impl<T: DeserializeOwned + JsonSchema + Send + Sync + 'static> SharedExtractor for PathParams<T> {
    async fn from_request<C: ServerContext>(rqctx: &RequestContext<C>) -> Result<Self, HttpError> {
        <dropshot::Path<T> as SharedExtractor>::from_request(rqctx)
            .await
            .map(|path| PathParams(path.into_inner()))
            .map_err(|error| tag_with_request_id(error, &rqctx.request_id))
    }

    fn metadata(content_type: ApiEndpointBodyContentType) -> ExtractorMetadata {
        <dropshot::Path<T> as SharedExtractor>::metadata(content_type)
    }
}

#[async_trait]
impl<T: DeserializeOwned + JsonSchema + Send + Sync + 'static> SharedExtractor for HeaderParams<T> {
    async fn from_request<C: ServerContext>(rqctx: &RequestContext<C>) -> Result<Self, HttpError> {
        <dropshot::Header<T> as SharedExtractor>::from_request(rqctx)
            .await
            .map(|headers| HeaderParams(headers.into_inner()))
            .map_err(|error| tag_with_request_id(error, &rqctx.request_id))
    }

    fn metadata(content_type: ApiEndpointBodyContentType) -> ExtractorMetadata {
        <dropshot::Header<T> as SharedExtractor>::metadata(content_type)
    }
}

/// Whether JSON text holds the escape `\u0000` (an escaped backslash
/// followed by `u0000` is not one). One pass, so a body of backslashes
/// costs no more than any other.
fn holds_nul_escape(json: &[u8]) -> bool {
    let mut escaped = false;
    for (at, byte) in json.iter().enumerate() {
        if escaped {
            if json[at..].len() >= 5 && json[at..at + 5].eq_ignore_ascii_case(b"u0000") {
                return true;
            }
            escaped = false;
        } else if *byte == b'\\' {
            escaped = true;
        }
    }
    false
}

/// Refused when a value holds NUL (`%00`), which no text column can store.
#[async_trait]
impl<T: DeserializeOwned + JsonSchema + Send + Sync + 'static> SharedExtractor for QueryParams<T> {
    async fn from_request<C: ServerContext>(rqctx: &RequestContext<C>) -> Result<Self, HttpError> {
        let query = rqctx.request.uri().query().unwrap_or_default();
        if query.as_bytes().windows(3).any(|window| window.eq_ignore_ascii_case(b"%00")) {
            let error = HttpError::for_bad_request(None, "query parameters may not contain NUL (%00)".to_string());
            return Err(tag_with_request_id(error, &rqctx.request_id));
        }
        <dropshot::Query<T> as SharedExtractor>::from_request(rqctx)
            .await
            .map(|query| QueryParams(query.into_inner()))
            .map_err(|error| tag_with_request_id(error, &rqctx.request_id))
    }

    fn metadata(content_type: ApiEndpointBodyContentType) -> ExtractorMetadata {
        <dropshot::Query<T> as SharedExtractor>::metadata(content_type)
    }
}

#[cfg(test)]
mod tests {
    use super::holds_nul_escape;

    #[test]
    fn nul_escapes_are_found_and_escaped_backslashes_are_not_them() {
        assert!(holds_nul_escape(br#"{"name":"a\u0000b"}"#));
        assert!(holds_nul_escape(br#"{"name":"\\\U0000"}"#));
        assert!(!holds_nul_escape(br#"{"name":"a\\u0000b"}"#));
        assert!(!holds_nul_escape(br#"{"name":"u0000"}"#));
    }
}
