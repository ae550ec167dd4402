//! Wire types of attachments and their upload and download URLs.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::de::{Error as _, Unexpected};
use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use super::incidents::CreatedBy;
use crate::text::{is_hidden, regex_class};

/// The largest upload body dropshot lets through: above the largest file,
/// so an upload over its declared size is refused by the upload's own
/// check, which names the limit, at the first byte too many.
pub const MAX_UPLOAD_BODY_BYTES: usize = 11 * 1024 * 1024;

/// Where a file stands:
///
/// - `pending`: declared; waiting for its bytes at the upload URL;
/// - `scanning`: uploaded, in quarantine, being scanned;
/// - `clean`: scanned clean; it can be downloaded;
/// - `infected`: the scanner found malware (`threat` names it); it stays
///   in quarantine and is never served;
/// - `failed`: the scan could not complete; never served;
/// - `unscanned`: stored by a development server without a scanner; it can
///   be downloaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentStatus {
    Pending,
    Scanning,
    Clean,
    Infected,
    Failed,
    Unscanned,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    pub id: Uuid,
    pub incident_id: Uuid,
    pub file_name: String,
    /// `image/png`, `image/jpeg`, `application/pdf` or `text/plain`.
    pub content_type: String,
    pub size_bytes: i64,
    pub status: AttachmentStatus,
    /// The SHA-256 of the bytes as the server received them, in hex; set
    /// once uploaded.
    pub sha256: Option<String>,
    /// The signature the scanner found, for an `infected` file.
    pub threat: Option<String>,
    pub created_by: CreatedBy,
    pub created_at: DateTime<Utc>,
    pub uploaded_at: Option<DateTime<Utc>>,
    pub scanned_at: Option<DateTime<Utc>>,
}

/// A file name without a path, with an accepted type's extension.
static FILE_NAME_PATTERN: LazyLock<String> = LazyLock::new(|| {
    let named = regex_class(|c| c == '/' || c == '\\' || is_hidden(c));
    format!("^[^{named}]*\\.(?:[pP][nN][gG]|[jJ][pP][eE]?[gG]|[pP][dD][fF]|[tT][xX][tT])$")
});

/// The file about to be uploaded. The extension, the content type and
/// the bytes must all name the same type: png, jpg (or jpeg), pdf or txt.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AttachmentCreateRequest {
    /// A plain file name (no path), 1 to 255 characters, ending in `.png`,
    /// `.jpg`, `.jpeg`, `.pdf` or `.txt` (in any case).
    #[schemars(length(min = 1, max = 255), regex = "FILE_NAME_PATTERN")]
    pub file_name: String,
    /// `image/png`, `image/jpeg`, `application/pdf` or `text/plain`, in any
    /// case, parameters allowed: the one the extension names.
    #[schemars(
        length(min = 1, max = 255),
        regex(
            pattern = "^(?:[iI][mM][aA][gG][eE]/(?:[pP][nN][gG]|[jJ][pP][eE][gG])|[aA][pP][pP][lL][iI][cC][aA][tT][iI][oO][nN]/[pP][dD][fF]|[tT][eE][xX][tT]/[pP][lL][aA][iI][nN])(?:;.*)?$"
        )
    )]
    pub content_type: String,
    /// The exact size of the upload, at most 10 MiB.
    #[serde(deserialize_with = "whole_number")]
    #[schemars(range(min = 1, max = 10485760))]
    pub size_bytes: i64,
}

/// A number without a fraction: to JSON Schema, and so to the contract,
/// `1.0` is as much an integer as `1`.
fn whole_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let number = serde_json::Number::deserialize(deserializer)?;
    if let Some(whole) = number.as_i64() {
        return Ok(whole);
    }
    let float = number.as_f64().unwrap_or(f64::NAN);
    let in_range = (i64::MIN as f64..i64::MAX as f64).contains(&float);
    if float.fract() == 0.0 && in_range {
        Ok(float as i64)
    } else {
        Err(D::Error::invalid_value(Unexpected::Float(float), &"a whole number"))
    }
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentCreated {
    pub attachment: Attachment,
    /// `PUT` the file's bytes here. It
    /// works once, within five minutes, and needs no other credentials:
    /// keep it as secret as a password until it is used.
    pub upload_url: String,
    pub upload_expires_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentDownloadUrl {
    /// `GET` the file here. It works once, within five minutes, and needs
    /// no other credentials.
    pub download_url: String,
    pub download_expires_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentPath {
    pub incident_id: Uuid,
    pub attachment_id: Uuid,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransferPath {
    pub url_id: Uuid,
}

/// The rest of a signed URL, as it was handed out: change nothing.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignedUrlQuery {
    pub tenant_id: Uuid,
    pub attachment_id: Uuid,
    /// Unix seconds.
    pub expires: i64,
    #[schemars(length(min = 43, max = 43), regex(pattern = "^[A-Za-z0-9_-]{43}$"))]
    pub signature: String,
}
