//! Handlers of attachments, and of the signed URLs their bytes go through.

use dropshot::{FreeformBody, HttpResponseCreated, HttpResponseOk, RequestContext, ResultsPage, StreamingBody};
use futures::StreamExt;
use http::header::CONTENT_TYPE;

use super::entry::{handle, handle_with_headers};
use super::files::file_response;
use super::{ApiContext, IdPages, id_page, id_results};
use crate::api::attachments::{
    self as wire, AttachmentCreateRequest, AttachmentCreated, AttachmentDownloadUrl, AttachmentPath, SignedUrlQuery,
    TransferPath,
};
use crate::api::incidents::{CreatedBy, IncidentPath};
use crate::api::reply::FileHeaders;
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
) -> Result<Reply<HttpResponseOk<FreeformBody>, FileHeaders>, ApiError> {
    handle_with_headers(&rqctx, async |app, op, _| {
        let download = attachments::attachment_download(app, op, signed_url(path, query)).await?;
        let file = &download.attachment;
        file_response(download.bytes, &file.content_type, &file.file_name, Some(file.size_bytes as u64))
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
