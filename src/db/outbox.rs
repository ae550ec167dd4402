//! The mail outbox: mail is queued in the transaction of the change that
//! causes it and taken out by the delivery worker.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Interval;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::mail_outbox;

#[derive(Clone, Debug, QueryableByName)]
#[diesel(table_name = mail_outbox)]
pub struct QueuedMail {
    pub id: Uuid,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub attempts: i32,
}

pub struct NewMail<'a> {
    pub recipient: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    /// When the mail stops being worth sending, e.g. its link expires.
    pub discard_after: Option<DateTime<Utc>>,
}

pub async fn enqueue(conn: &mut AsyncPgConnection, mail: NewMail<'_>) -> QueryResult<()> {
    diesel::insert_into(mail_outbox::table)
        .values((
            mail_outbox::id.eq(Uuid::new_v4()),
            mail_outbox::recipient.eq(mail.recipient),
            mail_outbox::subject.eq(mail.subject),
            mail_outbox::body.eq(mail.body),
            mail_outbox::discard_after.eq(mail.discard_after),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Mail waiting to be sent, failed mail aside.
pub async fn outbox_depth(conn: &mut AsyncPgConnection) -> QueryResult<u64> {
    let waiting: i64 = mail_outbox::table.filter(mail_outbox::failed_at.is_null()).count().get_result(conn).await?;
    Ok(u64::try_from(waiting).unwrap_or_default())
}

/// Deletes unsent mail past its `discard_after`; answers how many.
pub async fn discard_expired(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    diesel::delete(mail_outbox::table.filter(mail_outbox::discard_after.le(Utc::now()))).execute(conn).await
}

/// Claims the next due mail for `lease`, counting the attempt: it is not
/// due again until then, so the worker sends it outside any transaction and
/// other instances skip it. A worker that dies mid-send leaves the claim to
/// expire, and the mail goes out again later rather than never; a mail that
/// keeps killing workers still runs out of attempts.
pub async fn claim_next(conn: &mut AsyncPgConnection, lease: Duration) -> QueryResult<Option<QueuedMail>> {
    super::prepared(
        diesel::sql_query(
            "UPDATE mail_outbox SET next_attempt_at = now() + $1, attempts = attempts + 1 \
         WHERE id = (SELECT id FROM mail_outbox \
                     WHERE failed_at IS NULL AND next_attempt_at <= now() \
                       AND (discard_after IS NULL OR discard_after > now()) \
                     ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED) \
         RETURNING id, recipient, subject, body, attempts",
        )
        .bind::<Interval, _>(diesel::data_types::PgInterval::from_microseconds(lease.as_micros() as i64)),
    )
    .get_result(conn)
    .await
    .optional()
}

pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
    diesel::delete(mail_outbox::table.find(id)).execute(conn).await.map(drop)
}

/// Records why the claimed attempt failed: retried at `retry_at`, or never
/// again when `retry_at` is `None`, and then the body is dropped.
pub async fn record_failure(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> QueryResult<()> {
    let now = Utc::now();
    let target = mail_outbox::table.find(id);
    let counted = (mail_outbox::attempts.eq(mail_outbox::attempts + 1), mail_outbox::last_error.eq(error));
    match retry_at {
        Some(retry_at) => {
            diesel::update(target).set((counted, mail_outbox::next_attempt_at.eq(retry_at))).execute(conn)
        }
        None => diesel::update(target)
            .set((counted, mail_outbox::failed_at.eq(now), mail_outbox::body.eq("")))
            .execute(conn),
    }
    .await
    .map(drop)
}
