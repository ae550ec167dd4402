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

pub(crate) fn tag_with_request_id(mut error: HttpError, request_id: &str) -> HttpError {
    if let Ok(value) = http::HeaderValue::from_str(request_id) {
        error.headers.get_or_insert_with(Default::default).insert(dropshot::HEADER_REQUEST_ID, value);
    }
    error
}

#[async_trait]
impl<T: DeserializeOwned + JsonSchema + Send + Sync + 'static> ExclusiveExtractor for JsonBody<T> {
    async fn from_request<C: ServerContext>(
        rqctx: &RequestContext<C>,
        request: http::Request<dropshot::Body>,
    ) -> Result<Self, HttpError> {
        dropshot::TypedBody::<T>::from_request(rqctx, request)
            .await
            .map(|body| JsonBody(body.into_inner()))
            .map_err(|error| tag_with_request_id(error, &rqctx.request_id))
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
impl<T: DeserializeOwned + JsonSchema + Send + Sync + 'static> SharedExtractor for QueryParams<T> {
    async fn from_request<C: ServerContext>(rqctx: &RequestContext<C>) -> Result<Self, HttpError> {
        <dropshot::Query<T> as SharedExtractor>::from_request(rqctx)
            .await
            .map(|query| QueryParams(query.into_inner()))
            .map_err(|error| tag_with_request_id(error, &rqctx.request_id))
    }

    fn metadata(content_type: ApiEndpointBodyContentType) -> ExtractorMetadata {
        <dropshot::Query<T> as SharedExtractor>::metadata(content_type)
    }
}
