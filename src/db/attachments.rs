//! Attachments and the single-use URLs their bytes travel through. Everything
//! here runs inside a transaction scoped to the tenant, and filters on
//! `tenant_id` too.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::incidents::Creator;
use super::schema::{attachment_urls, attachments};

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = attachments)]
pub struct Attachment {
    pub id: Uuid,
    pub incident_id: Uuid,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub status: String,
    pub object_key: Option<String>,
    pub sha256: Option<Vec<u8>>,
    pub threat: Option<String>,
    pub created_by_type: String,
    pub created_by_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub uploaded_at: Option<DateTime<Utc>>,
    pub scanned_at: Option<DateTime<Utc>>,
    pub scan_attempts: i32,
}

/// Where an upload's bytes are, and what becomes of the file.
pub struct Uploaded<'a> {
    /// `scanning`, or `unscanned` without a scanner.
    pub status: &'a str,
    pub object_key: &'a str,
    pub sha256: &'a [u8],
    pub at: DateTime<Utc>,
    /// When the file is due for another scan if this one does not finish.
    pub next_scan_at: Option<DateTime<Utc>>,
}

pub struct NewAttachment<'a> {
    pub incident_id: Uuid,
    pub file_name: &'a str,
    pub content_type: &'a str,
    pub size_bytes: i64,
    pub creator: Creator,
    pub created_at: DateTime<Utc>,
}

/// A URL handed out for one transfer of an attachment's bytes.
#[derive(Clone, Copy, Debug)]
pub struct NewAttachmentUrl {
    pub id: Uuid,
    pub attachment_id: Uuid,
    /// `upload` or `download`.
    pub purpose: &'static str,
    pub issued_to: Creator,
    pub expires_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = attachment_urls)]
pub struct AttachmentUrl {
    pub attachment_id: Uuid,
    pub purpose: String,
    pub issued_to_type: String,
    pub issued_to_id: Uuid,
    pub used_at: Option<DateTime<Utc>>,
}

pub async fn attachment_create(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    new: NewAttachment<'_>,
) -> QueryResult<Attachment> {
    diesel::insert_into(attachments::table)
        .values((
            attachments::id.eq(Uuid::now_v7()),
            attachments::tenant_id.eq(tenant_id),
            attachments::incident_id.eq(new.incident_id),
            attachments::file_name.eq(new.file_name),
            attachments::content_type.eq(new.content_type),
            attachments::size_bytes.eq(new.size_bytes),
            attachments::status.eq("pending"),
            attachments::created_by_type.eq(new.creator.kind),
            attachments::created_by_id.eq(new.creator.id),
            attachments::created_at.eq(new.created_at),
        ))
        .returning(Attachment::as_returning())
        .get_result(conn)
        .await
}

/// The incident's attachments by id (oldest first), after the cursor.
pub async fn attachment_list(
    mut conn: &AsyncPgConnection,
    tenant_id: Uuid,
    incident_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<Attachment>> {
    let mut query = attachments::table
        .filter(attachments::tenant_id.eq(tenant_id))
        .filter(attachments::incident_id.eq(incident_id))
        .select(Attachment::as_select())
        .order(attachments::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(attachments::id.gt(after));
    }
    query.load(&mut conn).await
}

/// The attachment, when it belongs to the incident.
pub async fn attachment_view(
    mut conn: &AsyncPgConnection,
    tenant_id: Uuid,
    incident_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<Attachment>> {
    attachments::table
        .filter(attachments::tenant_id.eq(tenant_id))
        .filter(attachments::incident_id.eq(incident_id))
        .filter(attachments::id.eq(id))
        .select(Attachment::as_select())
        .first(&mut conn)
        .await
        .optional()
}

/// The attachment, locked against other writes until the transaction ends.
pub async fn attachment_lock(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<Attachment>> {
    attachments::table
        .filter(attachments::tenant_id.eq(tenant_id))
        .filter(attachments::id.eq(id))
        .select(Attachment::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

pub async fn attachment_uploaded(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    id: Uuid,
    uploaded: Uploaded<'_>,
) -> QueryResult<Attachment> {
    let scan_attempts = i32::from(uploaded.next_scan_at.is_some());
    diesel::update(attachments::table)
        .filter(attachments::tenant_id.eq(tenant_id))
        .filter(attachments::id.eq(id))
        .set((
            attachments::status.eq(uploaded.status),
            attachments::object_key.eq(uploaded.object_key),
            attachments::sha256.eq(uploaded.sha256),
            attachments::uploaded_at.eq(uploaded.at),
            attachments::scan_attempts.eq(scan_attempts),
            attachments::next_scan_at.eq(uploaded.next_scan_at),
        ))
        .returning(Attachment::as_returning())
        .get_result(conn)
        .await
}

/// Claims a file due for another scan: counts the attempt and sets when
/// the next is due (`next(attempts)`). `None` when it is not due, or no
/// longer `scanning`: another server claimed or finished it.
pub async fn attachment_scan_claim(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
    next: impl FnOnce(i32) -> DateTime<Utc>,
) -> QueryResult<Option<Attachment>> {
    let Some(attachment) = attachments::table
        .filter(attachments::tenant_id.eq(tenant_id))
        .filter(attachments::id.eq(id))
        .filter(attachments::status.eq("scanning"))
        .filter(attachments::next_scan_at.le(now))
        .select(Attachment::as_select())
        .for_update()
        .skip_locked()
        .first(conn)
        .await
        .optional()?
    else {
        return Ok(None);
    };
    let attempts = attachment.scan_attempts + 1;
    diesel::update(attachments::table)
        .filter(attachments::tenant_id.eq(tenant_id))
        .filter(attachments::id.eq(id))
        .set((attachments::scan_attempts.eq(attempts), attachments::next_scan_at.eq(next(attempts))))
        .returning(Attachment::as_returning())
        .get_result(conn)
        .await
        .map(Some)
}

/// The scan's outcome: `clean` (with the key the bytes were copied to),
/// `infected` (with the signature) or `failed`. `None` when the file is no
/// longer `scanning`: another scan of it has recorded its outcome first.
pub async fn attachment_scanned(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    id: Uuid,
    status: &str,
    object_key: &str,
    threat: Option<&str>,
    at: DateTime<Utc>,
) -> QueryResult<Option<Attachment>> {
    diesel::update(attachments::table)
        .filter(attachments::tenant_id.eq(tenant_id))
        .filter(attachments::id.eq(id))
        .filter(attachments::status.eq("scanning"))
        .set((
            attachments::status.eq(status),
            attachments::object_key.eq(object_key),
            attachments::threat.eq(threat),
            attachments::scanned_at.eq(at),
            attachments::next_scan_at.eq(None::<DateTime<Utc>>),
        ))
        .returning(Attachment::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// Up to `most` files of any tenant still `scanning` that are due for
/// another scan by `due_by`, the most overdue first.
pub async fn attachments_awaiting_scan(
    conn: &mut AsyncPgConnection,
    due_by: DateTime<Utc>,
    most: i64,
) -> QueryResult<Vec<AwaitingScan>> {
    diesel::sql_query("SELECT tenant_id, id FROM attachments_awaiting_scan($1, $2)")
        .bind::<Timestamptz, _>(due_by)
        .bind::<BigInt, _>(most)
        .load(conn)
        .await
}

#[derive(Clone, Copy, Debug, QueryableByName)]
pub struct AwaitingScan {
    #[diesel(sql_type = SqlUuid)]
    pub tenant_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
}

pub async fn attachment_url_create(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    url: NewAttachmentUrl,
) -> QueryResult<()> {
    diesel::insert_into(attachment_urls::table)
        .values((
            attachment_urls::id.eq(url.id),
            attachment_urls::tenant_id.eq(tenant_id),
            attachment_urls::attachment_id.eq(url.attachment_id),
            attachment_urls::purpose.eq(url.purpose),
            attachment_urls::issued_to_type.eq(url.issued_to.kind),
            attachment_urls::issued_to_id.eq(url.issued_to.id),
            attachment_urls::expires_at.eq(url.expires_at),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// The URL, locked until the transaction ends, so two uses of it at once
/// are decided one after the other.
pub async fn attachment_url_lock(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<AttachmentUrl>> {
    attachment_urls::table
        .filter(attachment_urls::tenant_id.eq(tenant_id))
        .filter(attachment_urls::id.eq(id))
        .select(AttachmentUrl::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

pub async fn attachment_url_spend(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    id: Uuid,
    at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(attachment_urls::table)
        .filter(attachment_urls::tenant_id.eq(tenant_id))
        .filter(attachment_urls::id.eq(id))
        .set(attachment_urls::used_at.eq(at))
        .execute(conn)
        .await?;
    Ok(())
}
