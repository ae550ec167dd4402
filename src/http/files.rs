//! Answers that are files rather than JSON: an attachment's bytes and an
//! export, streamed as they are read; the contract and its reference page,
//! held whole.

use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use dropshot::{Body, FreeformBody, HttpResponseHeaders, HttpResponseOk};
use futures::StreamExt;
use futures::stream::BoxStream;
use http::HeaderValue;
use http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};

use crate::api::reply::FileHeaders;
use crate::app::Error;

pub type FileResponse = HttpResponseHeaders<HttpResponseOk<FreeformBody>, FileHeaders>;

/// A file to save as `file_name`, of `content_type`, with its length when
/// known up front.
pub fn file_response(
    bytes: BoxStream<'static, anyhow::Result<Bytes>>,
    content_type: &str,
    file_name: &str,
    length: Option<u64>,
) -> Result<FileResponse, Error> {
    let headers = FileHeaders { content_disposition: content_disposition(file_name) };
    let body = Body::wrap(FileBody(Mutex::new(bytes)));
    let mut response = HttpResponseHeaders::new(HttpResponseOk(FreeformBody(body)), headers);
    let response_headers = response.headers_mut();
    response_headers.insert(CONTENT_TYPE, HeaderValue::try_from(content_type).map_err(anyhow::Error::from)?);
    if let Some(length) = length {
        response_headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
    }
    response_headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// A document the server holds whole: the contract, the reference page.
pub fn document_response(
    body: impl Into<Bytes>,
    content_type: &'static str,
) -> Result<HttpResponseHeaders<HttpResponseOk<FreeformBody>>, Error> {
    let mut response = HttpResponseHeaders::new_unnamed(HttpResponseOk(FreeformBody(Body::from(body.into()))));
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(response)
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
