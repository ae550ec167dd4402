//! Attachments through the generated client, against real PostgreSQL,
//! Redis and clamd: uploads checked while they stream, scanning and
//! quarantine, single-use signed URLs, and tenant isolation.

use std::path::{Path, PathBuf};

use diesel::sql_query;
use diesel::sql_types::Uuid as SqlUuid;
use diesel_async::RunQueryDsl;
use futures::StreamExt;
use incident_tracker::crypto::{Signer, hex};
use incident_tracker_client::types::{
    ApiKeyCreateRequest, ApiKeyScope, Attachment, AttachmentCreateRequest, AttachmentCreateRequestContentType,
    AttachmentCreateRequestFileName, AttachmentCreated, AttachmentStatus, ServiceAccountCreateRequest,
};
use incident_tracker_client::{Client, Error as ClientError, ResponseValue};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::common::audit_actions;
use crate::common::browser::{Browser, with_api_key};
use crate::common::clamd::{ClamdServer, EICAR, EICAR_SIGNATURE};
use crate::common::redis::RedisServer;
use crate::common::s3::{ACCESS_KEY_ID, BUCKET, S3Server, SECRET_ACCESS_KEY};
use crate::common::{TestApp, TestDatabase, collect_files, scratch_dir};
use crate::incidents::new_incident;
use crate::tenants::{error_code, status, user};

/// The smallest valid PNG: one transparent pixel.
pub(crate) const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00,
    0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];
const SESSION_SECRET: &str = "attachments-test-secret-of-at-least-32-characters";
const MAX_BYTES: i64 = 10 * 1024 * 1024;

struct Setting {
    app: TestApp,
    owner: Browser,
    tenant: Uuid,
    incident: Uuid,
    data_dir: PathBuf,
    /// The server's settings, for another server on the same data.
    vars: Vec<(&'static str, String)>,
    database: TestDatabase,
    _redis: RedisServer,
}

/// A server with its data under a directory the test reads, scanning with
/// `clamd` when given; an owner with a tenant and an incident.
async fn setting(clamd: Option<&ClamdServer>) -> Setting {
    setting_on(clamd, None).await
}

/// [`setting`], storing attachments in `s3` when given.
async fn setting_on(clamd: Option<&ClamdServer>, s3: Option<&S3Server>) -> Setting {
    let redis = RedisServer::start().await;
    let database = TestDatabase::migrated().await;
    let data_dir = scratch_dir("attachments");
    let clamd_url = clamd.map(ClamdServer::url).unwrap_or_default();
    let vars = vec![
        ("REDIS_URL", redis.url()),
        ("DATA_DIR", data_dir.to_string_lossy().into_owned()),
        ("SESSION_SECRET", SESSION_SECRET.to_string()),
        ("CLAMD_URL", clamd_url),
        ("OBJECT_STORE_URL", s3.map(|_| format!("s3://{BUCKET}")).unwrap_or_default()),
        ("AWS_ENDPOINT_URL", s3.map(S3Server::endpoint).unwrap_or_default()),
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID.to_string()),
        ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY.to_string()),
    ];
    let app = spawn(&database, &vars).await;
    let (owner, _) = user(&app, "owner").await;
    let tenant = owner.create_tenant("Acme").await;
    owner.api().tenant_switch(&tenant).await.unwrap();
    let incident = owner.api().incident_create(None, &new_incident("Disk full")).await.unwrap().id;
    Setting { app, owner, tenant, incident, data_dir, vars, database, _redis: redis }
}

async fn spawn(database: &TestDatabase, vars: &[(&'static str, String)]) -> TestApp {
    let vars: Vec<(&str, &str)> = vars.iter().map(|(name, value)| (*name, value.as_str())).collect();
    TestApp::spawn_on(database, &vars).await
}

pub(crate) fn declared(file_name: &str, content_type: &str, size_bytes: usize) -> AttachmentCreateRequest {
    AttachmentCreateRequest {
        file_name: file_name.parse().unwrap(),
        content_type: content_type.parse().unwrap(),
        size_bytes: (size_bytes as u64).try_into().unwrap(),
    }
}

/// A signed URL's parts, as the typed client takes them.
pub(crate) struct Signed {
    pub url_id: Uuid,
    pub tenant_id: Uuid,
    pub attachment_id: Uuid,
    pub expires: i64,
    pub signature: String,
}

pub(crate) fn parse_signed(url: &str) -> Signed {
    let url = reqwest::Url::parse(url).unwrap();
    let url_id = url.path_segments().unwrap().next_back().unwrap().parse().unwrap();
    let query = |name: &str| url.query_pairs().find(|(key, _)| key == name).unwrap().1.into_owned();
    Signed {
        url_id,
        tenant_id: query("tenantId").parse().unwrap(),
        attachment_id: query("attachmentId").parse().unwrap(),
        expires: query("expires").parse().unwrap(),
        signature: query("signature"),
    }
}

/// `PUT`s `bytes` to an upload URL as the typed client does.
pub(crate) async fn upload(
    api: &Client,
    url: &str,
    bytes: Vec<u8>,
) -> Result<ResponseValue<Attachment>, ClientError<incident_tracker_client::types::Error>> {
    let signed = parse_signed(url);
    api.attachment_upload(
        &signed.url_id,
        &signed.attachment_id,
        signed.expires,
        &signed.signature.parse().unwrap(),
        &signed.tenant_id,
        bytes,
    )
    .await
}

/// Every file the object store holds, relative to its root (none when it
/// never stored anything there).
fn stored_files(data_dir: &Path) -> Vec<String> {
    let root = data_dir.join("objects");
    let mut files = Vec::new();
    if root.exists() {
        collect_files(&root, &mut files).unwrap();
    }
    files.iter().map(|file| file.strip_prefix(&root).unwrap().to_string_lossy().into_owned()).collect()
}

impl Setting {
    /// A URL the server handed out, pointed at this test's server (URLs
    /// start with `PUBLIC_BASE_URL`, and the server's port is only known
    /// once it listens).
    fn here(&self, url: &str) -> String {
        let url = reqwest::Url::parse(url).unwrap();
        self.app.url(&format!("{}?{}", url.path(), url.query().unwrap_or_default()))
    }
}

async fn create(setting: &Setting, request: &AttachmentCreateRequest) -> AttachmentCreated {
    setting.owner.api().attachment_create(&setting.incident, request).await.unwrap().into_inner()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clean_png_is_scanned_leaves_quarantine_and_downloads_once_with_its_bytes() {
    let clamd = ClamdServer::start().await;
    let setting = setting(Some(&clamd)).await;
    let api = setting.owner.api();
    let created = create(&setting, &declared("graph.png", "image/png", PNG.len())).await;
    assert_eq!(created.attachment.status, AttachmentStatus::Pending);
    assert!(created.upload_expires_at <= chrono::Utc::now() + chrono::Duration::minutes(5));

    // The URL is the credential: a client without cookies or keys uploads.
    let anonymous = Client::new(&setting.app.url(""));
    let uploaded = upload(&anonymous, &created.upload_url, PNG.to_vec()).await.unwrap().into_inner();
    assert_eq!(uploaded.status, AttachmentStatus::Clean);
    let sha256 = hex(&Sha256::digest(PNG));
    assert_eq!(uploaded.sha256.as_deref(), Some(sha256.as_str()));
    let attachment = created.attachment.id;
    assert_eq!(stored_files(&setting.data_dir), [format!("tenants/{}/attachments/{attachment}", setting.tenant)]);
    assert_eq!(error_code(upload(&anonymous, &created.upload_url, PNG.to_vec()).await), "URL_ALREADY_USED");

    let viewed = api.attachment_view(&setting.incident, &attachment).await.unwrap().into_inner();
    assert_eq!((viewed.status, viewed.size_bytes), (AttachmentStatus::Clean, PNG.len() as i64));
    let listed = api.attachment_list(&setting.incident, None, None).await.unwrap().into_inner();
    assert_eq!(listed.items.iter().map(|item| item.id).collect::<Vec<_>>(), [attachment]);

    let writes = async || api.usage_view(None, None, None).await.unwrap().into_inner().days.last().unwrap().writes;
    let writes_before = writes().await;
    let download = api.attachment_download_url_create(&setting.incident, &attachment).await.unwrap().into_inner();
    assert_eq!(writes().await, writes_before, "a download URL is not a write against the quota");
    let response = reqwest::get(setting.here(&download.download_url)).await.unwrap();
    assert_eq!(response.status(), 200);
    let header = |name: &str| response.headers().get(name).unwrap().to_str().unwrap().to_string();
    assert_eq!(header("content-type"), "image/png");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert!(header("content-disposition").starts_with("attachment; filename=\"graph.png\""));
    let bytes = response.bytes().await.unwrap();
    assert_eq!(&bytes[..], PNG);
    let again = reqwest::get(setting.here(&download.download_url)).await.unwrap();
    assert_eq!(again.status(), 409);
    assert_eq!(again.json::<serde_json::Value>().await.unwrap()["code"], "URL_ALREADY_USED");

    let actions = audit_actions(&mut setting.database.owner_connection().await, setting.tenant).await;
    let attachment_actions: Vec<_> = actions.iter().filter(|action| action.starts_with("attachment.")).collect();
    assert_eq!(
        attachment_actions,
        [
            "attachment.created",
            "attachment.uploaded",
            "attachment.scanned",
            "attachment.download_url_created",
            "attachment.downloaded"
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn on_s3_files_are_quarantined_scanned_and_served_and_refusals_store_nothing() {
    let clamd = ClamdServer::start().await;
    let s3 = S3Server::start().await;
    let setting = setting_on(Some(&clamd), Some(&s3)).await;
    let api = setting.owner.api();

    // Over one 5 MiB part: a multipart upload.
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.resize(6 << 20, b' ');
    let created = create(&setting, &declared("report.pdf", "application/pdf", pdf.len())).await;
    let uploaded = upload(&api, &created.upload_url, pdf.clone()).await.unwrap().into_inner();
    assert_eq!(uploaded.status, AttachmentStatus::Clean);
    let clean_key = format!("tenants/{}/attachments/{}", setting.tenant, created.attachment.id);
    assert_eq!(s3.keys().await, std::slice::from_ref(&clean_key), "out of quarantine, and nothing else");
    assert_eq!(s3.object(&clean_key).await.as_deref(), Some(pdf.as_slice()));
    let download = api.attachment_download_url_create(&setting.incident, &created.attachment.id).await.unwrap();
    assert_eq!(reqwest::get(setting.here(&download.download_url)).await.unwrap().bytes().await.unwrap(), pdf);

    let eicar = create(&setting, &declared("notes.txt", "text/plain", EICAR.len())).await;
    let infected = upload(&api, &eicar.upload_url, EICAR.to_vec()).await.unwrap().into_inner();
    assert_eq!(infected.status, AttachmentStatus::Infected);
    let quarantine = format!("tenants/{}/quarantine/{}/", setting.tenant, eicar.attachment.id);
    let keys = s3.keys().await;
    assert_eq!(keys.len(), 2);
    assert!(keys.iter().any(|key| key.starts_with(&quarantine)), "{keys:?}");

    let spoofed = create(&setting, &declared("graph.png", "image/png", 64)).await;
    assert_eq!(error_code(upload(&api, &spoofed.upload_url, vec![b'A'; 64]).await), "ATTACHMENT_TYPE_MISMATCH");
    assert_eq!(s3.keys().await.len(), 2, "a refused upload stored nothing");
    assert_eq!(stored_files(&setting.data_dir), Vec::<String>::new(), "nothing on the local disk");
}

#[tokio::test(flavor = "multi_thread")]
async fn eicar_is_infected_stays_in_quarantine_and_is_never_served() {
    let clamd = ClamdServer::start().await;
    let setting = setting(Some(&clamd)).await;
    let created = create(&setting, &declared("notes.txt", "text/plain", EICAR.len())).await;
    let uploaded = upload(&setting.owner.api(), &created.upload_url, EICAR.to_vec()).await.unwrap().into_inner();
    assert_eq!(uploaded.status, AttachmentStatus::Infected);
    assert_eq!(uploaded.threat.as_deref(), Some(format!("{EICAR_SIGNATURE}.UNOFFICIAL").as_str()));
    let files = stored_files(&setting.data_dir);
    assert_eq!(files.len(), 1);
    assert!(files[0].starts_with(&format!("tenants/{}/quarantine/{}/", setting.tenant, created.attachment.id)));
    let refused = setting.owner.api().attachment_download_url_create(&setting.incident, &created.attachment.id).await;
    assert_eq!(error_code(refused), "ATTACHMENT_NOT_DOWNLOADABLE");
}

#[tokio::test(flavor = "multi_thread")]
async fn lost_scans_are_retried_later_and_hopeless_ones_given_up() {
    let mut clamd = ClamdServer::start().await;
    let setting = setting(Some(&clamd)).await;
    let api = setting.owner.api();
    clamd.kill();
    let mut files = Vec::new();
    for name in ["retried.png", "bytes-lost.png", "hopeless.png"] {
        let created = create(&setting, &declared(name, "image/png", PNG.len())).await;
        let uploaded = upload(&api, &created.upload_url, PNG.to_vec()).await.unwrap().into_inner();
        assert_eq!(uploaded.status, AttachmentStatus::Scanning, "clamd is down: the scan waits");
        files.push(created.attachment.id);
    }
    let [retried, bytes_lost, hopeless] = files[..] else { unreachable!() };
    let refused = api.attachment_download_url_create(&setting.incident, &retried).await;
    assert_eq!(error_code(refused), "ATTACHMENT_NOT_DOWNLOADABLE");

    // Minutes later, with clamd still down: a file whose bytes are gone,
    // and one that used up its attempts, fail; the other waits longer.
    let quarantine = setting.data_dir.join(format!("objects/tenants/{}/quarantine/{bytes_lost}", setting.tenant));
    std::fs::remove_dir_all(quarantine).unwrap();
    let mut owner = setting.database.owner_connection().await;
    sql_query("UPDATE attachments SET scan_attempts = 8 WHERE id = $1")
        .bind::<SqlUuid, _>(hopeless)
        .execute(&mut owner)
        .await
        .unwrap();
    make_due(&mut owner).await;
    let _second = spawn(&setting.database, &setting.vars).await;
    assert_eq!(settled_status(&setting, bytes_lost).await, AttachmentStatus::Failed);
    assert_eq!(settled_status(&setting, hopeless).await, AttachmentStatus::Failed);
    let attempts = scan_attempts(&mut owner, retried).await;
    assert_eq!(attempts, 2, "the retried file was tried once more");
    assert_eq!(settled_status(&setting, retried).await, AttachmentStatus::Scanning);

    // clamd is back: the next attempt scans it clean.
    clamd.restart().await;
    make_due(&mut owner).await;
    let _third = spawn(&setting.database, &setting.vars).await;
    assert_eq!(settled_status(&setting, retried).await, AttachmentStatus::Clean);
    let download = api.attachment_download_url_create(&setting.incident, &retried).await.unwrap();
    assert_eq!(&reqwest::get(setting.here(&download.download_url)).await.unwrap().bytes().await.unwrap()[..], PNG);
}

/// Moves every waiting scan's next attempt into the past, as if its wait
/// were over.
async fn make_due(owner: &mut diesel_async::AsyncPgConnection) {
    sql_query("UPDATE attachments SET next_scan_at = now() - interval '1 second' WHERE status = 'scanning'")
        .execute(owner)
        .await
        .unwrap();
}

async fn scan_attempts(owner: &mut diesel_async::AsyncPgConnection, attachment: Uuid) -> i32 {
    #[derive(diesel::QueryableByName)]
    struct Attempts {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        scan_attempts: i32,
    }
    let row: Attempts = sql_query("SELECT scan_attempts FROM attachments WHERE id = $1")
        .bind::<SqlUuid, _>(attachment)
        .get_result(owner)
        .await
        .unwrap();
    row.scan_attempts
}

/// The attachment's status once the sweep a server runs at start has had
/// its turn: polled until it leaves `scanning` or its next attempt is set
/// in the future.
async fn settled_status(setting: &Setting, attachment: Uuid) -> AttachmentStatus {
    let mut owner = setting.database.owner_connection().await;
    for _ in 0..100 {
        #[derive(diesel::QueryableByName)]
        struct Due {
            #[diesel(sql_type = diesel::sql_types::Bool)]
            waiting: bool,
        }
        let due: Due =
            sql_query("SELECT status = 'scanning' AND next_scan_at <= now() AS waiting FROM attachments WHERE id = $1")
                .bind::<SqlUuid, _>(attachment)
                .get_result(&mut owner)
                .await
                .unwrap();
        if !due.waiting {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    setting.owner.api().attachment_view(&setting.incident, &attachment).await.unwrap().into_inner().status
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_clamd_refuses_to_scan_fails_and_is_never_served() {
    let clamd = ClamdServer::start_with("StreamMaxLength 1M").await;
    let setting = setting(Some(&clamd)).await;
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.resize(2 << 20, b' ');
    let created = create(&setting, &declared("report.pdf", "application/pdf", pdf.len())).await;
    let uploaded = upload(&setting.owner.api(), &created.upload_url, pdf).await.unwrap().into_inner();
    assert_eq!(uploaded.status, AttachmentStatus::Failed);
    let refused = setting.owner.api().attachment_download_url_create(&setting.incident, &created.attachment.id).await;
    assert_eq!(error_code(refused), "ATTACHMENT_NOT_DOWNLOADABLE");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_url_used_twice_at_once_stores_one_file() {
    let setting = setting(None).await;
    let api = setting.owner.api();
    let created = create(&setting, &declared("graph.png", "image/png", PNG.len())).await;
    let (first, second) =
        tokio::join!(upload(&api, &created.upload_url, PNG.to_vec()), upload(&api, &created.upload_url, PNG.to_vec()));
    let mut answers = [status(first), status(second)];
    answers.sort();
    assert_eq!(answers, [200, 409]);
    assert_eq!(stored_files(&setting.data_dir).len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_uploads_store_nothing_and_leave_the_url_for_a_correct_one() {
    let setting = setting(None).await;
    let api = setting.owner.api();
    // The contract names the accepted extensions and types, so the typed
    // client refuses the others before sending; the server refuses them too.
    assert!("tool.exe".parse::<AttachmentCreateRequestFileName>().is_err());
    assert!("text/html".parse::<AttachmentCreateRequestContentType>().is_err());
    for (file_name, content_type, code) in [
        ("tool.exe", "application/octet-stream", "ATTACHMENT_TYPE_NOT_ALLOWED"),
        ("page.html", "text/html", "ATTACHMENT_TYPE_NOT_ALLOWED"),
        ("graph.png", "application/pdf", "ATTACHMENT_TYPE_MISMATCH"),
    ] {
        let refused = setting
            .owner
            .http()
            .post(setting.app.url(&format!("/v1/incidents/{}/attachments", setting.incident)))
            .header("x-csrf-token", setting.owner.csrf_token())
            .json(&serde_json::json!({ "fileName": file_name, "contentType": content_type, "sizeBytes": 10 }))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 415, "{file_name}");
        let refused: serde_json::Value = refused.json().await.unwrap();
        assert_eq!(refused["code"], code, "{file_name}");
    }
    let too_big = api.attachment_create(&setting.incident, &declared("big.pdf", "application/pdf", 11 << 20)).await;
    assert_eq!(error_code(too_big), "ATTACHMENT_TOO_LARGE");

    // Spoofed magic bytes: a PDF, and an HTML page, declared as a PNG.
    let created = create(&setting, &declared("graph.png", "image/png", PNG.len())).await;
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.resize(PNG.len(), b' ');
    assert_eq!(error_code(upload(&api, &created.upload_url, pdf).await), "ATTACHMENT_TYPE_MISMATCH");
    let mut html = b"<html><script>alert(1)</script>".to_vec();
    html.resize(PNG.len(), b' ');
    assert_eq!(error_code(upload(&api, &created.upload_url, html).await), "ATTACHMENT_TYPE_MISMATCH");
    // Sent as another type than declared.
    let as_pdf = reqwest::Client::new()
        .put(setting.here(&created.upload_url))
        .header("content-type", "application/pdf")
        .body(PNG.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(as_pdf.status(), 415);
    // Short of the declared size.
    assert_eq!(error_code(upload(&api, &created.upload_url, PNG[..40].to_vec()).await), "ATTACHMENT_SIZE_MISMATCH");

    // 11 MiB streamed against 10 MiB declared, without a length up front:
    // refused at the limit.
    let created_big = create(&setting, &declared("big.pdf", "application/pdf", MAX_BYTES as usize)).await;
    let chunks = futures::stream::iter(0..176).map(|index| {
        let mut chunk = vec![b' '; 64 * 1024];
        if index == 0 {
            chunk[..9].copy_from_slice(b"%PDF-1.7\n");
        }
        Ok::<_, std::io::Error>(chunk)
    });
    let streamed = reqwest::Client::new()
        .put(setting.here(&created_big.upload_url))
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(streamed.status(), 413);
    assert_eq!(streamed.json::<serde_json::Value>().await.unwrap()["code"], "ATTACHMENT_TOO_LARGE");

    assert_eq!(stored_files(&setting.data_dir), Vec::<String>::new(), "a refused upload stored nothing");
    let pending = api.attachment_view(&setting.incident, &created.attachment.id).await.unwrap().into_inner();
    assert_eq!((pending.status, pending.sha256), (AttachmentStatus::Pending, None));

    // A refusal does not spend the URL. Without a scanner (development),
    // the file is `unscanned` and may be downloaded.
    let uploaded = upload(&api, &created.upload_url, PNG.to_vec()).await.unwrap().into_inner();
    assert_eq!(uploaded.status, AttachmentStatus::Unscanned);
    let download = api.attachment_download_url_create(&setting.incident, &uploaded.id).await.unwrap().into_inner();
    assert_eq!(&reqwest::get(setting.here(&download.download_url)).await.unwrap().bytes().await.unwrap()[..], PNG);

    // Text is any UTF-8 without NUL, even when it starts like another type.
    let text = b"BMW fleet outage: MZ, ID3 and #! are words here \xe2\x82\xac\n".to_vec();
    let notes = create(&setting, &declared("notes.txt", "text/plain", text.len())).await;
    let uploaded = upload(&api, &notes.upload_url, text).await.unwrap().into_inner();
    assert_eq!(uploaded.status, AttachmentStatus::Unscanned);
    let latin1 = create(&setting, &declared("latin1.txt", "text/plain", 4)).await;
    assert_eq!(error_code(upload(&api, &latin1.upload_url, b"caf\xe9".to_vec()).await), "ATTACHMENT_TYPE_MISMATCH");
}

#[tokio::test(flavor = "multi_thread")]
async fn tampered_expired_and_foreign_urls_are_refused() {
    let setting = setting(None).await;
    let api = setting.owner.api();
    let created = create(&setting, &declared("graph.png", "image/png", PNG.len())).await;
    let url = &setting.here(&created.upload_url);
    let signed = parse_signed(url);

    let flipped = if signed.signature.starts_with('A') { "B" } else { "A" };
    let tampered = [
        url.replace(&signed.signature, &format!("{flipped}{}", &signed.signature[1..])),
        url.replace(&signed.tenant_id.to_string(), &Uuid::new_v4().to_string()),
        url.replace(&signed.attachment_id.to_string(), &Uuid::new_v4().to_string()),
        url.replace(&format!("expires={}", signed.expires), &format!("expires={}", signed.expires + 3600)),
        url.replace("attachment-uploads", "attachment-downloads"),
    ];
    for tampered in tampered {
        let method = if tampered.contains("downloads") { reqwest::Method::GET } else { reqwest::Method::PUT };
        let response = reqwest::Client::new().request(method, &tampered).body(PNG.to_vec()).send().await.unwrap();
        assert_eq!(response.status(), 403, "{tampered}");
        assert_eq!(response.json::<serde_json::Value>().await.unwrap()["code"], "URL_SIGNATURE_INVALID");
    }

    // A URL signed as the server signs, but past its time. The message is
    // the one `app::attachments` signs.
    let expires = chrono::Utc::now().timestamp() - 1;
    let message = format!("upload\n{}\n{}\n{}\n{expires}", signed.url_id, signed.tenant_id, signed.attachment_id);
    let signature = Signer::new(SESSION_SECRET.as_bytes(), "attachment urls").sign(&message);
    let expired = api
        .attachment_upload(
            &signed.url_id,
            &signed.attachment_id,
            expires,
            &signature.parse().unwrap(),
            &signed.tenant_id,
            PNG.to_vec(),
        )
        .await;
    assert_eq!(error_code(expired), "URL_EXPIRED");
    assert_eq!(stored_files(&setting.data_dir), Vec::<String>::new());

    // Another tenant's owner and keys see none of it.
    let (outsider, _) = user(&setting.app, "outsider").await;
    let theirs = outsider.create_tenant("Globex").await;
    outsider.api().tenant_switch(&theirs).await.unwrap();
    let attachment = created.attachment.id;
    assert_eq!(status(outsider.api().attachment_view(&setting.incident, &attachment).await), 404);
    assert_eq!(status(outsider.api().attachment_list(&setting.incident, None, None).await), 404);
    let request = declared("x.png", "image/png", 10);
    assert_eq!(status(outsider.api().attachment_create(&setting.incident, &request).await), 404);
    let refused = outsider.api().attachment_download_url_create(&setting.incident, &attachment).await;
    assert_eq!(status(refused), 404);
    let service_account = outsider
        .api()
        .service_account_create(&theirs, &ServiceAccountCreateRequest { name: "Robot".parse().unwrap() })
        .await
        .unwrap()
        .id;
    let key = outsider
        .api()
        .api_key_create(
            &theirs,
            &ApiKeyCreateRequest {
                service_account_id: service_account,
                name: "key".parse().unwrap(),
                scopes: vec![ApiKeyScope::Read],
                expires_at: None,
            },
        )
        .await
        .unwrap()
        .into_inner()
        .secret;
    let keyed = with_api_key(&setting.app.url(""), &key);
    assert_eq!(status(keyed.attachment_view(&setting.incident, &attachment).await), 404);
}
