//! Handlers of attachments, and of the signed URLs their bytes go through.

use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use dropshot::{
    Body, FreeformBody, HttpResponseCreated, HttpResponseHeaders, HttpResponseOk, RequestContext, ResultsPage,
    StreamingBody,
};
use futures::StreamExt;
use futures::stream::BoxStream;
use http::HeaderValue;
use http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};

use super::entry::{handle, handle_with_headers};
use super::{ApiContext, IdPages, id_page, id_results};
use crate::api::attachments::{
    self as wire, AttachmentCreateRequest, AttachmentCreated, AttachmentDownloadUrl, AttachmentPath, DownloadHeaders,
    SignedUrlQuery, TransferPath,
};
use crate::api::incidents::{CreatedBy, IncidentPath};
use crate::api::{ApiError, Reply};
use crate::app::attachments::{self as attachments, NewFile, SignedUrl};
use crate::app::{Error, Problem};
use crate::crypto::hex;
use crate::db::attachments::Attachment;

pub async fn attachment_create(
    rqctx: RequestContext<ApiContext>,
    path: IncidentPath,
    body: AttachmentCreateRequest,
) -> Result<Reply<HttpResponseCreated<AttachmentCreated>>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        let file = NewFile { file_name: body.file_name, content_type: body.content_type, size_bytes: body.size_bytes };
        let (attachment, upload) = attachments::attachment_create(app, op, path.incident_id, file).await?;
        Ok(HttpResponseCreated(AttachmentCreated {
            attachment: view(attachment)?,
            upload_url: upload.url,
            upload_expires_at: upload.expires_at,
        }))
    })
    .await
}

pub async fn attachment_list(
    rqctx: RequestContext<ApiContext>,
    path: IncidentPath,
    query: IdPages,
) -> Result<Reply<HttpResponseOk<ResultsPage<wire::Attachment>>>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        let found = attachments::attachment_list(app, op, path.incident_id, id_page(&rqctx, &query)?).await?;
        id_results(found.into_iter().map(view).collect::<Result<Vec<_>, _>>()?, |attachment| attachment.id)
    })
    .await
}

pub async fn attachment_view(
    rqctx: RequestContext<ApiContext>,
    path: AttachmentPath,
) -> Result<Reply<HttpResponseOk<wire::Attachment>>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        let found = attachments::attachment_view(app, op, path.incident_id, path.attachment_id).await?;
        Ok(HttpResponseOk(view(found)?))
    })
    .await
}

pub async fn attachment_download_url_create(
    rqctx: RequestContext<ApiContext>,
    path: AttachmentPath,
) -> Result<Reply<HttpResponseCreated<AttachmentDownloadUrl>>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        let issued = attachments::attachment_download_url_create(app, op, path.incident_id, path.attachment_id).await?;
        Ok(HttpResponseCreated(AttachmentDownloadUrl {
            download_url: issued.url,
            download_expires_at: issued.expires_at,
        }))
    })
    .await
}

pub async fn attachment_upload(
    rqctx: RequestContext<ApiContext>,
    path: TransferPath,
    query: SignedUrlQuery,
    body: StreamingBody,
) -> Result<Reply<HttpResponseOk<wire::Attachment>>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        let content_type = rqctx.request.headers().get(CONTENT_TYPE).and_then(|value| value.to_str().ok());
        let bytes = body.into_stream().map(|chunk| chunk.map_err(upload_interrupted));
        let uploaded =
            attachments::attachment_upload(app, op, signed_url(path, query), content_type, Box::pin(bytes)).await?;
        Ok(HttpResponseOk(view(uploaded)?))
    })
    .await
}

pub async fn attachment_download(
    rqctx: RequestContext<ApiContext>,
    path: TransferPath,
    query: SignedUrlQuery,
) -> Result<Reply<HttpResponseOk<FreeformBody>, DownloadHeaders>, ApiError> {
    handle_with_headers(&rqctx, async |app, op, _| {
        let download = attachments::attachment_download(app, op, signed_url(path, query)).await?;
        let file = &download.attachment;
        let headers = DownloadHeaders { content_disposition: content_disposition(&file.file_name) };
        let (content_type, size) = (HeaderValue::try_from(&file.content_type), HeaderValue::from(file.size_bytes));
        let body = Body::wrap(FileBody(Mutex::new(download.bytes)));
        let mut response = HttpResponseHeaders::new(HttpResponseOk(FreeformBody(body)), headers);
        let response_headers = response.headers_mut();
        response_headers.insert(CONTENT_TYPE, content_type.map_err(anyhow::Error::from)?);
        response_headers.insert(CONTENT_LENGTH, size);
        response_headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Ok(response)
    })
    .await
}

fn signed_url(path: TransferPath, query: SignedUrlQuery) -> SignedUrl {
    SignedUrl {
        url_id: path.url_id,
        tenant_id: query.tenant_id,
        attachment_id: query.attachment_id,
        expires: query.expires,
        signature: query.signature,
    }
}

/// The body stopped short: the client went away, or sent more than the
/// server takes.
fn upload_interrupted(error: dropshot::HttpError) -> Error {
    Error::Invalid(Problem::new(
        "UPLOAD_INTERRUPTED",
        format!("The upload did not complete: {}", error.external_message),
    ))
}

/// `attachment` with the file's name: as typed where it is plain ASCII,
/// and in full, percent-encoded, for clients that read RFC 6266's
/// `filename*`.
fn content_disposition(file_name: &str) -> String {
    let plain: String = file_name
        .chars()
        .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' })
        .collect();
    let mut encoded = String::new();
    for byte in file_name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{plain}\"; filename*=UTF-8''{encoded}")
}

/// A file's bytes as a response body. Hyper may move a body between
/// threads, so it must be `Sync`; a stream is only ever polled through
/// `&mut`, so the mutex is never contended.
struct FileBody(Mutex<BoxStream<'static, anyhow::Result<Bytes>>>);

impl http_body::Body for FileBody {
    type Data = Bytes;
    type Error = anyhow::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<anyhow::Result<http_body::Frame<Bytes>>>> {
        let stream = self.get_mut().0.get_mut().unwrap_or_else(PoisonError::into_inner);
        stream.poll_next_unpin(cx).map(|chunk| chunk.map(|chunk| chunk.map(http_body::Frame::data)))
    }
}

fn view(attachment: Attachment) -> Result<wire::Attachment, Error> {
    let status = match attachment.status.as_str() {
        "pending" => wire::AttachmentStatus::Pending,
        "scanning" => wire::AttachmentStatus::Scanning,
        "clean" => wire::AttachmentStatus::Clean,
        "infected" => wire::AttachmentStatus::Infected,
        "failed" => wire::AttachmentStatus::Failed,
        "unscanned" => wire::AttachmentStatus::Unscanned,
        other => return Err(anyhow::anyhow!("unknown attachment status {other:?}").into()),
    };
    Ok(wire::Attachment {
        id: attachment.id,
        incident_id: attachment.incident_id,
        file_name: attachment.file_name,
        content_type: attachment.content_type,
        size_bytes: attachment.size_bytes,
        status,
        sha256: attachment.sha256.as_deref().map(hex),
        threat: attachment.threat,
        created_by: CreatedBy { kind: attachment.created_by_type, id: attachment.created_by_id },
        created_at: attachment.created_at,
        uploaded_at: attachment.uploaded_at,
        scanned_at: attachment.scanned_at,
    })
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn file_names_cannot_break_out_of_content_disposition() {
        assert_eq!(
            content_disposition("report 1.pdf"),
            "attachment; filename=\"report 1.pdf\"; filename*=UTF-8''report%201.pdf"
        );
        assert_eq!(
            content_disposition("a\"b\\c\r\nSet-Cookie: x.txt"),
            "attachment; filename=\"a_b_c__Set-Cookie: x.txt\"; \
             filename*=UTF-8''a%22b%5Cc%0D%0ASet-Cookie%3A%20x.txt"
        );
        assert_eq!(
            content_disposition("Übersicht.png"),
            "attachment; filename=\"_bersicht.png\"; filename*=UTF-8''%C3%9Cbersicht.png"
        );
    }
}
