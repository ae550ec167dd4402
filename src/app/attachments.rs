//! Files attached to incidents. A member (or write key) declares a file and
//! gets a signed, single-use upload URL valid for five minutes; the bytes go
//! to it by `PUT`, are checked against the declaration while they stream
//! into quarantine, and are scanned by clamd. Only a clean file leaves
//! quarantine, and only a clean one can be downloaded, through a download
//! URL of the same kind.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Duration, Utc};
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::incidents::{creator, require_incident};
use super::operation::{self, Done, Write};
use super::{Actor, AppState, Error, OpContext, Origin, Page, Problem, validate_line};
use crate::audit::{NewEvent, Target};
use crate::crypto::Signer;
use crate::db;
use crate::db::attachments::{self as queries, Attachment, AttachmentUrl, NewAttachment, NewAttachmentUrl, Uploaded};
use crate::db::incidents::Creator;
use crate::policy::Action;
use crate::scanner::{ScanError, Scanner, Verdict};
use crate::storage::{self, ObjectStorage, ObjectWriter};

/// The largest file accepted.
const MAX_ATTACHMENT_BYTES: i64 = 10 * 1024 * 1024;
/// How long an upload or download URL stays valid.
const URL_LIFETIME: Duration = Duration::minutes(5);
const MAX_FILE_NAME_CHARS: usize = 255;
/// Enough of a file's start to recognise every accepted type by its magic
/// bytes.
const HEAD_BYTES: usize = 16;
/// How long an upload may take once started: 10 MiB at 35 KB/s. A slower
/// one is refused, so no client holds a connection and a staged file open
/// indefinitely.
const UPLOAD_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// The accepted types: file name extensions and the content type each
/// must be declared, and found, as.
const ALLOWED_TYPES: [(&[&str], &str); 4] = [
    (&["png"], "image/png"),
    (&["jpg", "jpeg"], "image/jpeg"),
    (&["pdf"], "application/pdf"),
    (&["txt"], "text/plain"),
];

/// What attachments need beyond the database.
#[derive(Clone, Debug)]
pub struct Attachments {
    pub storage: ObjectStorage,
    /// `None` only in development: files are then `unscanned`.
    pub scanner: Option<Scanner>,
    pub signer: Signer,
}

/// A file as declared before its upload.
#[derive(Debug)]
pub struct NewFile {
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
}

/// A signed URL handed out for one transfer.
#[derive(Debug)]
pub struct IssuedUrl {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// A URL's parts as it came back: what was signed, and the signature.
#[derive(Debug)]
pub struct SignedUrl {
    pub url_id: Uuid,
    pub tenant_id: Uuid,
    pub attachment_id: Uuid,
    /// Unix seconds.
    pub expires: i64,
    pub signature: String,
}

/// An attachment's bytes, as they are read from the store.
pub struct Download {
    pub attachment: Attachment,
    pub bytes: BoxStream<'static, anyhow::Result<Bytes>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Purpose {
    Upload,
    Download,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Upload => "upload",
            Purpose::Download => "download",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Purpose::Upload => "attachment-uploads",
            Purpose::Download => "attachment-downloads",
        }
    }
}

pub async fn attachment_create(
    state: &AppState,
    op: &OpContext,
    incident_id: Uuid,
    file: NewFile,
) -> Result<(Attachment, IssuedUrl), Error> {
    let tenant_id = op.active_tenant()?;
    let file = validate_file(file)?;
    let creator = creator(&op.actor)?;
    let expires_at = url_expiry();
    let write = Write::new(Action::IncidentsWrite);
    let (attachment, url_id) = operation::tenant_write(state, op, tenant_id, write, move |conn, _| {
        Box::pin(async move {
            require_incident(conn, tenant_id, incident_id).await?;
            let new = NewAttachment {
                incident_id,
                file_name: &file.file_name,
                content_type: &file.content_type,
                size_bytes: file.size_bytes,
                creator,
                created_at: Utc::now(),
            };
            let attachment = queries::attachment_create(conn, tenant_id, new).await?;
            let url_id = issue(conn, tenant_id, attachment.id, Purpose::Upload, creator, expires_at).await?;
            let event =
                NewEvent::new("attachment.created", Some(Target::attachment(attachment.id))).with_metadata(json!({
                    "incidentId": incident_id,
                    "contentType": attachment.content_type,
                    "sizeBytes": attachment.size_bytes,
                }));
            Ok(Done::new((attachment, url_id)).audited(event))
        })
    })
    .await?;
    let url = signed_url(state, Purpose::Upload, url_id, tenant_id, attachment.id, expires_at);
    Ok((attachment, url))
}

pub async fn attachment_list(
    state: &AppState,
    op: &OpContext,
    incident_id: Uuid,
    page: Page,
) -> Result<Vec<Attachment>, Error> {
    let tenant_id = op.active_tenant()?;
    operation::tenant_read(state, op, tenant_id, Action::IncidentsRead, move |conn| {
        Box::pin(async move {
            require_incident(conn, tenant_id, incident_id).await?;
            Ok(queries::attachment_list(conn, tenant_id, incident_id, page.after, page.limit).await?)
        })
    })
    .await
}

pub async fn attachment_view(
    state: &AppState,
    op: &OpContext,
    incident_id: Uuid,
    attachment_id: Uuid,
) -> Result<Attachment, Error> {
    let tenant_id = op.active_tenant()?;
    operation::tenant_read(state, op, tenant_id, Action::IncidentsRead, move |conn| {
        Box::pin(async move {
            queries::attachment_view(conn, tenant_id, incident_id, attachment_id).await?.ok_or(Error::NotFound)
        })
    })
    .await
}

/// A single-use download URL, for a file that may be served: `clean`, or
/// `unscanned` on a development server without a scanner.
pub async fn attachment_download_url_create(
    state: &AppState,
    op: &OpContext,
    incident_id: Uuid,
    attachment_id: Uuid,
) -> Result<IssuedUrl, Error> {
    let tenant_id = op.active_tenant()?;
    let issued_to = creator(&op.actor)?;
    let expires_at = url_expiry();
    let url_id = operation::tenant_read_audited(state, op, tenant_id, Action::IncidentsRead, move |conn, _| {
        Box::pin(async move {
            let attachment =
                queries::attachment_view(conn, tenant_id, incident_id, attachment_id).await?.ok_or(Error::NotFound)?;
            require_downloadable(&attachment)?;
            let url_id = issue(conn, tenant_id, attachment_id, Purpose::Download, issued_to, expires_at).await?;
            let event = NewEvent::new("attachment.download_url_created", Some(Target::attachment(attachment_id)))
                .with_metadata(json!({ "incidentId": incident_id }));
            Ok(Done::new(url_id).audited(event))
        })
    })
    .await?;
    Ok(signed_url(state, Purpose::Download, url_id, tenant_id, attachment_id, expires_at))
}

/// Receives a file's bytes through its upload URL. They must be sent as
/// the declared content type (or as octet-stream), start with that type's
/// magic bytes, and be exactly the declared size; the upload is
/// aborted at the first byte over it. Nothing is stored unless all of that
/// holds. The file is then scanned before this answers.
pub async fn attachment_upload(
    state: &AppState,
    op: &OpContext,
    url: SignedUrl,
    content_type: Option<&str>,
    body: impl Stream<Item = Result<Bytes, Error>> + Send + Unpin,
) -> Result<Attachment, Error> {
    verify(state, &url, Purpose::Upload)?;
    let (tenant_id, attachment_id, url_id) = (url.tenant_id, url.attachment_id, url.url_id);
    let declared = operation::tenant_write_granted(state, Actor::Anonymous, &op.origin, tenant_id, move |conn| {
        Box::pin(async move {
            let (_, attachment) = redeemable(conn, tenant_id, url_id, attachment_id, Purpose::Upload).await?;
            Ok(Done::new(attachment))
        })
    })
    .await?;
    // Generic clients (the generated SDK among them) send every body as
    // octet-stream; any other type must be the declared one.
    let sent = content_type.map(media_type).filter(|sent| sent != "application/octet-stream");
    if sent.is_some_and(|sent| sent != declared.content_type) {
        return Err(type_mismatch(&format!("Send the file as {}, as declared.", declared.content_type)));
    }
    let storage = &state.attachments.storage;
    let key = storage::quarantine_key(tenant_id, attachment_id, Uuid::new_v4());
    let sha256 = receive(storage, &key, &declared, body).await?;
    let (status, next_scan) = match state.attachments.scanner {
        // This upload's scan is the first attempt.
        Some(_) => ("scanning", Some(next_scan_at(Utc::now(), 1))),
        None => ("unscanned", None),
    };
    let recorded = {
        let key = key.clone();
        operation::tenant_write_granted(state, Actor::Anonymous, &op.origin, tenant_id, move |conn| {
            Box::pin(async move {
                let (url, _) = redeemable(conn, tenant_id, url_id, attachment_id, Purpose::Upload).await?;
                let now = Utc::now();
                queries::attachment_url_spend(conn, tenant_id, url_id, now).await?;
                let uploaded = queries::attachment_uploaded(
                    conn,
                    tenant_id,
                    attachment_id,
                    Uploaded { status, object_key: &key, sha256: &sha256, at: now, next_scan_at: next_scan },
                )
                .await?;
                let event = NewEvent::new("attachment.uploaded", Some(Target::attachment(attachment_id)))
                    .with_metadata(json!({
                        "incidentId": uploaded.incident_id,
                        "uploader": issued_to(&url),
                        "sizeBytes": uploaded.size_bytes,
                        "sha256": crate::crypto::hex(&sha256),
                    }));
                Ok(Done::new(uploaded).audited(event))
            })
        })
        .await
    };
    let uploaded = match recorded {
        Ok(uploaded) => uploaded,
        Err(error) => {
            discard(storage, &key).await;
            return Err(error);
        }
    };
    match &state.attachments.scanner {
        Some(scanner) => scan(state, &op.origin, scanner, tenant_id, uploaded).await,
        None => Ok(uploaded),
    }
}

/// Serves a file through its download URL, once.
pub async fn attachment_download(state: &AppState, op: &OpContext, url: SignedUrl) -> Result<Download, Error> {
    verify(state, &url, Purpose::Download)?;
    let (tenant_id, attachment_id, url_id) = (url.tenant_id, url.attachment_id, url.url_id);
    let storage = state.attachments.storage.clone();
    operation::tenant_write_granted(state, Actor::Anonymous, &op.origin, tenant_id, move |conn| {
        Box::pin(async move {
            let (url, attachment) = redeemable(conn, tenant_id, url_id, attachment_id, Purpose::Download).await?;
            require_downloadable(&attachment)?;
            let key = attachment.object_key.as_deref().ok_or_else(|| anyhow::anyhow!("a served file has a key"))?;
            // Opened before the URL is spent: a file the store cannot read
            // leaves the URL usable.
            let bytes = storage.read(key).await?;
            queries::attachment_url_spend(conn, tenant_id, url_id, Utc::now()).await?;
            let event = NewEvent::new("attachment.downloaded", Some(Target::attachment(attachment_id)))
                .with_metadata(json!({ "incidentId": attachment.incident_id, "requestedBy": issued_to(&url) }));
            Ok(Done::new(Download { attachment, bytes }).audited(event))
        })
    })
    .await
}

/// Scans an uploaded file, copies it out of quarantine when clean, and
/// records the verdict. When clamd cannot be reached the file stays
/// `scanning`, for [`ScanSweeper`] to scan again later; a file clamd refuses
/// to scan, whose bytes are gone, or that no attempt could scan becomes
/// `failed`. Neither is ever served.
async fn scan(
    state: &AppState,
    origin: &Origin,
    scanner: &Scanner,
    tenant_id: Uuid,
    uploaded: Attachment,
) -> Result<Attachment, Error> {
    let storage = &state.attachments.storage;
    let attachment_id = uploaded.id;
    let quarantined = uploaded.object_key.clone().ok_or_else(|| anyhow::anyhow!("an uploaded file has a key"))?;
    let verdict = match storage.read(&quarantined).await {
        Ok(bytes) => scanner.scan(bytes).await,
        Err(error) if storage::is_missing(&error) => Err(ScanError::Refused("its bytes are missing".to_string())),
        Err(error) => Err(ScanError::Unavailable(error)),
    };
    let (status, key, threat) = match verdict {
        Ok(Verdict::Clean) => {
            let clean = storage::clean_key(tenant_id, attachment_id);
            match storage.copy(&quarantined, &clean).await {
                Ok(()) => ("clean", clean, None),
                Err(error) => return scan_later(uploaded, error),
            }
        }
        Ok(Verdict::Infected(threat)) => ("infected", quarantined.clone(), Some(threat)),
        Err(ScanError::Refused(reason)) => {
            tracing::error!(%attachment_id, reason, "an attachment cannot be scanned; it is marked failed");
            ("failed", quarantined.clone(), None)
        }
        Err(ScanError::Unavailable(error)) if uploaded.scan_attempts < MAX_SCAN_ATTEMPTS => {
            return scan_later(uploaded, error);
        }
        Err(ScanError::Unavailable(error)) => {
            tracing::error!(%attachment_id, error = format!("{error:#}"), "no scan of an attachment could complete; it is marked failed");
            ("failed", quarantined.clone(), None)
        }
    };
    let recorded_threat = threat.clone();
    let (scanned, recorded) = operation::tenant_write_granted(state, Actor::System, origin, tenant_id, move |conn| {
        Box::pin(async move {
            let now = Utc::now();
            match queries::attachment_scanned(conn, tenant_id, attachment_id, status, &key, threat.as_deref(), now)
                .await?
            {
                Some(scanned) => {
                    let event = NewEvent::new("attachment.scanned", Some(Target::attachment(attachment_id)))
                        .with_metadata(
                            json!({ "incidentId": scanned.incident_id, "result": status, "threat": threat }),
                        );
                    Ok(Done::new((scanned, true)).audited(event))
                }
                // Another scan of the file recorded its verdict first.
                None => {
                    let current = queries::attachment_lock(conn, tenant_id, attachment_id).await?;
                    Ok(Done::new((current.ok_or(Error::NotFound)?, false)))
                }
            }
        })
    })
    .await?;
    if !recorded {
        if status != scanned.status {
            tracing::warn!(%attachment_id, recorded = scanned.status, found = status, "two scans of an attachment disagreed; the first verdict stands");
        }
        return Ok(scanned);
    }
    if status == "clean" {
        discard(storage, &quarantined).await;
    }
    // Every verdict is a security event; a threat's name goes to the log
    // beside it.
    let (event, code) = match status {
        "clean" => ("attachment.scanned", "ATTACHMENT_CLEAN"),
        "infected" => ("attachment.infected", "ATTACHMENT_INFECTED"),
        _ => ("attachment.scan_failed", "ATTACHMENT_SCAN_FAILED"),
    };
    if let Some(threat) = recorded_threat {
        tracing::warn!(%attachment_id, threat, "an uploaded attachment is infected");
    }
    crate::telemetry::security_event(event, code, &origin.request_id, origin.client_ip, None);
    Ok(scanned)
}

/// Leaves the file `scanning`, for a later attempt.
fn scan_later(uploaded: Attachment, error: anyhow::Error) -> Result<Attachment, Error> {
    let attachment_id = uploaded.id;
    tracing::warn!(%attachment_id, error = format!("{error:#}"), "scanning an attachment failed; it will be scanned again");
    Ok(uploaded)
}

/// How long after an attempt a file still `scanning` is due for the next:
/// longer than a scan may wait for its turn and take. Each attempt doubles
/// it, up to an hour.
const SCAN_RETRY_AFTER: Duration = Duration::minutes(3);
const MAX_SCAN_RETRY_AFTER: Duration = Duration::hours(1);
/// Attempts before a file is given up as `failed`: about five hours.
const MAX_SCAN_ATTEMPTS: i32 = 8;
const SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);
/// Files one sweep scans again, at most; the most overdue first.
const SWEEP_FILES: i64 = 100;

/// When a file whose `attempts`-th scan starts `now` is next due, if that
/// one does not finish.
fn next_scan_at(now: DateTime<Utc>, attempts: i32) -> DateTime<Utc> {
    let doublings = attempts.clamp(1, 16) - 1;
    now + (SCAN_RETRY_AFTER * 2i32.pow(doublings as u32)).min(MAX_SCAN_RETRY_AFTER)
}

/// Scans again, every minute, the files whose scan did not finish: the
/// server stopped mid-scan, or clamd could not be reached. Each server runs
/// one; a file is claimed by one of them per attempt.
pub struct ScanSweeper {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl ScanSweeper {
    /// `None` without a scanner: nothing is ever `scanning` then.
    pub fn start(state: Arc<AppState>) -> Option<ScanSweeper> {
        let scanner = state.attachments.scanner.clone()?;
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            loop {
                if let Err(error) = attachment_scan_due(&state, &scanner, &stopped).await {
                    tracing::warn!(error = format!("{error:#}"), "finding attachments due for a scan failed");
                }
                tokio::select! {
                    _ = tokio::time::sleep(SWEEP_INTERVAL) => {}
                    _ = stopped.changed() => return,
                }
            }
        });
        Some(ScanSweeper { stop, task })
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Scans the files of any tenant that are due for another attempt, until
/// `stopped`. A file that fails is logged and left for its next attempt.
async fn attachment_scan_due(
    state: &AppState,
    scanner: &Scanner,
    stopped: &watch::Receiver<bool>,
) -> Result<(), Error> {
    let due = {
        let mut conn = db::checkout(&state.db).await?;
        queries::attachments_awaiting_scan(&mut conn, Utc::now(), SWEEP_FILES).await?
    };
    for file in due {
        if *stopped.borrow() {
            break;
        }
        let origin = Origin::internal("scan");
        let (tenant_id, attachment_id) = (file.tenant_id, file.id);
        let claimed = operation::tenant_write_granted(state, Actor::System, &origin, tenant_id, move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let claimed = queries::attachment_scan_claim(conn, tenant_id, attachment_id, now, |attempts| {
                    next_scan_at(now, attempts)
                })
                .await?;
                Ok(Done::new(claimed))
            })
        })
        .await;
        let outcome = match claimed {
            // Another server claimed it first.
            Ok(None) => continue,
            Ok(Some(attachment)) => scan(state, &origin, scanner, tenant_id, attachment).await.map(drop),
            Err(error) => Err(error),
        };
        if let Err(error) = outcome {
            tracing::warn!(%attachment_id, error = format!("{error:#}"), "scanning an attachment again failed");
        }
    }
    Ok(())
}

/// Streams the body into a new object at `key`, checking it against the
/// declaration as it goes, and returns its SHA-256. On any refusal or
/// failure the partial object is thrown away.
async fn receive(
    storage: &ObjectStorage,
    key: &str,
    declared: &Attachment,
    mut body: impl Stream<Item = Result<Bytes, Error>> + Send + Unpin,
) -> Result<Vec<u8>, Error> {
    let mut upload = Upload {
        declared,
        received: 0,
        head: BytesMut::new(),
        text: Utf8Check::default(),
        sha256: Sha256::new(),
        writer: None,
    };
    let receiving = async {
        while let Some(chunk) = body.next().await {
            upload.take(storage, key, chunk?).await?;
        }
        upload.finish(storage, key).await
    };
    let outcome = tokio::time::timeout(UPLOAD_TIME_LIMIT, receiving).await.unwrap_or_else(|_| {
        Err(Error::Invalid(Problem::new(
            "UPLOAD_TOO_SLOW",
            "The upload took more than 5 minutes; nothing was stored. Retry with the same URL while it is valid.",
        )))
    });
    match (outcome, upload.writer) {
        (Ok(sha256), Some(writer)) => {
            writer.finish().await?;
            Ok(sha256)
        }
        (Ok(_), None) => Err(anyhow::anyhow!("a complete upload has been written").into()),
        (Err(error), writer) => {
            if let Some(writer) = writer
                && let Err(abort_error) = writer.abort().await
            {
                tracing::warn!(error = format!("{abort_error:#}"), "discarding a refused upload failed");
            }
            Err(error)
        }
    }
}

/// An upload in progress. Nothing is written until the file's start has
/// shown the declared type.
struct Upload<'a> {
    declared: &'a Attachment,
    received: i64,
    head: BytesMut,
    text: Utf8Check,
    sha256: Sha256,
    writer: Option<ObjectWriter>,
}

impl Upload<'_> {
    async fn take(&mut self, storage: &ObjectStorage, key: &str, chunk: Bytes) -> Result<(), Error> {
        self.received = self.received.saturating_add(chunk.len() as i64);
        if self.received > self.declared.size_bytes {
            return Err(too_large(&format!(
                "The upload is larger than the declared {} bytes.",
                self.declared.size_bytes
            )));
        }
        if self.declared.content_type == "text/plain" && !self.text.take(&chunk) {
            return Err(type_mismatch("A text/plain file is UTF-8 text, without NUL bytes."));
        }
        self.sha256.update(&chunk);
        match &mut self.writer {
            Some(writer) => Ok(writer.write(chunk).await?),
            None => {
                self.head.extend_from_slice(&chunk);
                if self.head.len() >= HEAD_BYTES {
                    self.start(storage, key).await?;
                }
                Ok(())
            }
        }
    }

    async fn finish(&mut self, storage: &ObjectStorage, key: &str) -> Result<Vec<u8>, Error> {
        if self.declared.content_type == "text/plain" && !self.text.is_complete() {
            return Err(type_mismatch("A text/plain file is UTF-8 text, without NUL bytes."));
        }
        if self.received != self.declared.size_bytes {
            return Err(Error::Invalid(
                Problem::new(
                    "ATTACHMENT_SIZE_MISMATCH",
                    format!("The upload has {} bytes; {} were declared.", self.received, self.declared.size_bytes),
                )
                .with_detail("sizeBytes", self.declared.size_bytes)
                .with_detail("receivedBytes", self.received),
            ));
        }
        if self.writer.is_none() {
            self.start(storage, key).await?;
        }
        Ok(std::mem::take(&mut self.sha256).finalize().to_vec())
    }

    /// Checks the file's start against the declared type and, if it
    /// matches, starts the object with it.
    async fn start(&mut self, storage: &ObjectStorage, key: &str) -> Result<(), Error> {
        let expected = self.declared.content_type.as_str();
        // Text has no magic bytes; it is checked as it streams, by Utf8Check.
        let matches = expected == "text/plain" || infer::get(&self.head).map(|kind| kind.mime_type()) == Some(expected);
        if !matches {
            return Err(type_mismatch(&format!("The file's content is not {expected}.")));
        }
        let mut writer = storage.create(key).await?;
        writer.write(std::mem::take(&mut self.head).freeze()).await?;
        self.writer = Some(writer);
        Ok(())
    }
}

/// Whether a stream of chunks is UTF-8 text without NUL, checked chunk by
/// chunk: a character split between chunks is carried over.
#[derive(Default)]
struct Utf8Check {
    carried: Vec<u8>,
}

impl Utf8Check {
    /// False at the first byte that cannot be such text.
    fn take(&mut self, chunk: &[u8]) -> bool {
        if chunk.contains(&0) {
            return false;
        }
        let mut bytes = std::mem::take(&mut self.carried);
        bytes.extend_from_slice(chunk);
        match std::str::from_utf8(&bytes) {
            Ok(_) => true,
            // Cut short at the end: the rest of the character comes next.
            Err(error) if error.error_len().is_none() => {
                self.carried = bytes[error.valid_up_to()..].to_vec();
                true
            }
            Err(_) => false,
        }
    }

    /// No character was left unfinished.
    fn is_complete(&self) -> bool {
        self.carried.is_empty()
    }
}

/// The URL row and its attachment, when the URL can still be used: the
/// URL locked, unspent, for this attachment and purpose; for an upload,
/// the attachment still waiting for its bytes.
async fn redeemable(
    conn: &mut diesel_async::AsyncPgConnection,
    tenant_id: Uuid,
    url_id: Uuid,
    attachment_id: Uuid,
    purpose: Purpose,
) -> Result<(AttachmentUrl, Attachment), Error> {
    let url = queries::attachment_url_lock(conn, tenant_id, url_id)
        .await?
        .filter(|url| url.attachment_id == attachment_id && url.purpose == purpose.as_str())
        .ok_or(Error::NotFound)?;
    let attachment = queries::attachment_lock(conn, tenant_id, attachment_id).await?.ok_or(Error::NotFound)?;
    if url.used_at.is_some() || (purpose == Purpose::Upload && attachment.status != "pending") {
        return Err(Error::Conflict(Problem::new(
            "URL_ALREADY_USED",
            "This URL has been used; each works once. Ask for a new one.",
        )));
    }
    Ok((url, attachment))
}

/// The signature and the expiry, checked before anything is read.
fn verify(state: &AppState, url: &SignedUrl, purpose: Purpose) -> Result<(), Error> {
    let message = url_message(purpose, url.url_id, url.tenant_id, url.attachment_id, url.expires);
    if !state.attachments.signer.verify(&message, &url.signature) {
        return Err(Error::Forbidden(Problem::new(
            "URL_SIGNATURE_INVALID",
            "This URL has been altered or was not issued by this server.",
        )));
    }
    if Utc::now().timestamp() >= url.expires {
        return Err(Error::Forbidden(Problem::new(
            "URL_EXPIRED",
            "This URL has expired; URLs are valid for 5 minutes. Ask for a new one.",
        )));
    }
    Ok(())
}

async fn issue(
    conn: &mut diesel_async::AsyncPgConnection,
    tenant_id: Uuid,
    attachment_id: Uuid,
    purpose: Purpose,
    issued_to: Creator,
    expires_at: DateTime<Utc>,
) -> Result<Uuid, Error> {
    let url = NewAttachmentUrl { id: Uuid::new_v4(), attachment_id, purpose: purpose.as_str(), issued_to, expires_at };
    queries::attachment_url_create(conn, tenant_id, url).await?;
    Ok(url.id)
}

fn signed_url(
    state: &AppState,
    purpose: Purpose,
    url_id: Uuid,
    tenant_id: Uuid,
    attachment_id: Uuid,
    expires_at: DateTime<Utc>,
) -> IssuedUrl {
    let expires = expires_at.timestamp();
    let signature = state.attachments.signer.sign(&url_message(purpose, url_id, tenant_id, attachment_id, expires));
    let url = format!(
        "{}/v1/{}/{url_id}?tenantId={tenant_id}&attachmentId={attachment_id}&expires={expires}&signature={signature}",
        state.public_base_url.trim_end_matches('/'),
        purpose.path(),
    );
    IssuedUrl { url, expires_at }
}

/// What a URL's signature covers: everything in it that names what it
/// grants.
fn url_message(purpose: Purpose, url_id: Uuid, tenant_id: Uuid, attachment_id: Uuid, expires: i64) -> String {
    format!("{}\n{url_id}\n{tenant_id}\n{attachment_id}\n{expires}", purpose.as_str())
}

/// Whole seconds from now, as the URL carries them.
fn url_expiry() -> DateTime<Utc> {
    let expires = Utc::now() + URL_LIFETIME;
    DateTime::from_timestamp(expires.timestamp(), 0).unwrap_or(expires)
}

fn issued_to(url: &AttachmentUrl) -> serde_json::Value {
    json!({ "type": url.issued_to_type, "id": url.issued_to_id })
}

fn require_downloadable(attachment: &Attachment) -> Result<(), Error> {
    if matches!(attachment.status.as_str(), "clean" | "unscanned") {
        return Ok(());
    }
    Err(Error::Conflict(
        Problem::new(
            "ATTACHMENT_NOT_DOWNLOADABLE",
            "Only a file that scanned clean can be downloaded; see its status.",
        )
        .with_detail("status", attachment.status.clone()),
    ))
}

async fn discard(storage: &ObjectStorage, key: &str) {
    if let Err(error) = storage.delete(key).await {
        tracing::warn!(error = format!("{error:#}"), "discarding an unrecorded upload failed");
    }
}

/// The declared file, checked: a plain file name whose extension, and the
/// declared content type, name the same accepted type, and a size up to
/// the limit.
fn validate_file(file: NewFile) -> Result<NewFile, Error> {
    let file_name = validate_line("fileName", "A file name", &file.file_name, MAX_FILE_NAME_CHARS)?;
    if file_name.contains(['/', '\\']) {
        return Err(Error::invalid_field("fileName", "A file name has no path: no / or \\."));
    }
    let extension = file_name.rsplit_once('.').map(|(_, extension)| extension.to_ascii_lowercase());
    let by_extension = ALLOWED_TYPES
        .iter()
        .find(|(extensions, _)| extension.as_deref().is_some_and(|extension| extensions.contains(&extension)));
    let content_type = media_type(&file.content_type);
    let Some((_, expected)) =
        by_extension.filter(|_| ALLOWED_TYPES.iter().any(|(_, allowed)| *allowed == content_type))
    else {
        return Err(Error::UnsupportedType(
            Problem::new("ATTACHMENT_TYPE_NOT_ALLOWED", "Only png, jpg, pdf and txt files can be attached.")
                .with_detail("allowed", json!(["image/png", "image/jpeg", "application/pdf", "text/plain"])),
        ));
    };
    if content_type != *expected {
        return Err(type_mismatch(&format!("A file named .{} is {expected}.", extension.unwrap_or_default())));
    }
    if file.size_bytes > MAX_ATTACHMENT_BYTES {
        return Err(too_large(&format!("Files are at most {MAX_ATTACHMENT_BYTES} bytes.")));
    }
    if file.size_bytes < 1 {
        return Err(Error::invalid_field("sizeBytes", "A file has at least one byte."));
    }
    Ok(NewFile { file_name, content_type, size_bytes: file.size_bytes })
}

/// `Text/Plain; charset=utf-8` → `text/plain`.
fn media_type(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

fn type_mismatch(message: &str) -> Error {
    Error::UnsupportedType(Problem::new("ATTACHMENT_TYPE_MISMATCH", message.to_string()))
}

fn too_large(message: &str) -> Error {
    Error::TooLarge(
        Problem::new("ATTACHMENT_TOO_LARGE", message.to_string()).with_detail("maxBytes", MAX_ATTACHMENT_BYTES),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, content_type: &str, size_bytes: i64) -> Result<NewFile, Error> {
        validate_file(NewFile { file_name: name.to_string(), content_type: content_type.to_string(), size_bytes })
    }

    #[test]
    fn text_is_utf8_without_nul_even_split_between_chunks() {
        let text = |chunks: &[&[u8]]| {
            let mut check = Utf8Check::default();
            chunks.iter().all(|chunk| check.take(chunk)) && check.is_complete()
        };
        assert!(text(&[b"BMW fleet outage\n", b"MZ and ID3 and #! and <p> are words here"]));
        let euro = "€".as_bytes();
        assert!(text(&[&euro[..1], &euro[1..2], &euro[2..]]));
        assert!(!text(&[&euro[..2]]), "a character cut off at the end");
        assert!(!text(&[b"nul\0inside"]));
        assert!(!text(&[&[0xff, 0xfe]]), "not UTF-8");
        assert!(!text(&[b"ok", &[0xc3, 0x28]]), "an invalid sequence across chunks");
    }

    #[test]
    fn scans_are_retried_ever_later_up_to_an_hour_apart() {
        let now = Utc::now();
        let waits: Vec<_> =
            (1..=MAX_SCAN_ATTEMPTS).map(|attempt| (next_scan_at(now, attempt) - now).num_minutes()).collect();
        assert_eq!(waits, [3, 6, 12, 24, 48, 60, 60, 60]);
    }

    #[test]
    fn names_types_and_sizes_must_agree() {
        assert_eq!(file("Graph.PNG", "image/png", 10).unwrap().content_type, "image/png");
        assert_eq!(file("photo.jpeg", "Image/JPEG", 10).unwrap().content_type, "image/jpeg");
        assert_eq!(file("notes.txt", "text/plain; charset=utf-8", 10).unwrap().content_type, "text/plain");
        assert!(file("report.pdf", "application/pdf", MAX_ATTACHMENT_BYTES).is_ok());
        let code = |result: Result<NewFile, Error>| result.unwrap_err().code();
        assert_eq!(code(file("tool.exe", "application/octet-stream", 10)), "ATTACHMENT_TYPE_NOT_ALLOWED");
        assert_eq!(code(file("image.svg", "image/png", 10)), "ATTACHMENT_TYPE_NOT_ALLOWED");
        assert_eq!(code(file("noextension", "text/plain", 10)), "ATTACHMENT_TYPE_NOT_ALLOWED");
        assert_eq!(code(file("page.png", "text/html", 10)), "ATTACHMENT_TYPE_NOT_ALLOWED");
        assert_eq!(code(file("image.png", "application/pdf", 10)), "ATTACHMENT_TYPE_MISMATCH");
        assert_eq!(code(file("big.pdf", "application/pdf", MAX_ATTACHMENT_BYTES + 1)), "ATTACHMENT_TOO_LARGE");
        assert_eq!(code(file("empty.txt", "text/plain", 0)), "VALIDATION_FAILED");
        assert_eq!(code(file("../etc/passwd.txt", "text/plain", 10)), "VALIDATION_FAILED");
    }
}
