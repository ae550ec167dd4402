//! The mail outbox: mail is queued in the transaction of the change that
//! causes it and taken out by the delivery worker.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::mail_outbox;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = mail_outbox)]
pub struct QueuedMail {
    pub id: Uuid,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub attempts: i32,
}

pub async fn enqueue(conn: &mut AsyncPgConnection, recipient: &str, subject: &str, body: &str) -> QueryResult<()> {
    diesel::insert_into(mail_outbox::table)
        .values((
            mail_outbox::id.eq(Uuid::new_v4()),
            mail_outbox::recipient.eq(recipient),
            mail_outbox::subject.eq(subject),
            mail_outbox::body.eq(body),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Mail due for delivery, locked for this transaction; rows another worker
/// holds are skipped, so instances never send the same mail at once.
pub async fn lock_due(conn: &mut AsyncPgConnection, limit: i64) -> QueryResult<Vec<QueuedMail>> {
    mail_outbox::table
        .filter(mail_outbox::failed_at.is_null())
        .filter(mail_outbox::next_attempt_at.le(Utc::now()))
        .order(mail_outbox::next_attempt_at)
        .limit(limit)
        .for_update()
        .skip_locked()
        .select(QueuedMail::as_select())
        .load(conn)
        .await
}

pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
    diesel::delete(mail_outbox::table.find(id)).execute(conn).await.map(drop)
}

/// Records a failed attempt: retried at `retry_at`, or never again when
/// `retry_at` is `None`.
pub async fn record_failure(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> QueryResult<()> {
    let now = Utc::now();
    diesel::update(mail_outbox::table.find(id))
        .set((
            mail_outbox::attempts.eq(mail_outbox::attempts + 1),
            mail_outbox::last_error.eq(error),
            mail_outbox::next_attempt_at.eq(retry_at.unwrap_or(now)),
            mail_outbox::failed_at.eq(retry_at.is_none().then_some(now)),
        ))
        .execute(conn)
        .await
        .map(drop)
}
