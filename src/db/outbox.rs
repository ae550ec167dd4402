//! The mail outbox: mail is queued in the transaction of the change that
//! causes it and taken out by the delivery worker.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Interval};
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

/// Deletes unsent mail past its `discard_after`; answers how many.
pub async fn discard_expired(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    diesel::delete(mail_outbox::table.filter(mail_outbox::discard_after.le(Utc::now()))).execute(conn).await
}

/// Claims up to `limit` due mails for `lease`: they are not due again
/// until then, so the worker sends them outside any transaction, and other
/// instances skip them. A worker that dies mid-send leaves its claims to
/// expire, and the mail goes out again later rather than never.
pub async fn claim_due(conn: &mut AsyncPgConnection, limit: i64, lease: Duration) -> QueryResult<Vec<QueuedMail>> {
    diesel::sql_query(
        "UPDATE mail_outbox SET next_attempt_at = now() + $2 \
         WHERE id IN (SELECT id FROM mail_outbox \
                      WHERE failed_at IS NULL AND next_attempt_at <= now() \
                      ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) \
         RETURNING id, recipient, subject, body, attempts",
    )
    .bind::<BigInt, _>(limit)
    .bind::<Interval, _>(diesel::data_types::PgInterval::from_microseconds(lease.as_micros() as i64))
    .load(conn)
    .await
}

pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
    diesel::delete(mail_outbox::table.find(id)).execute(conn).await.map(drop)
}

/// Records a failed attempt: retried at `retry_at`, or never again when
/// `retry_at` is `None`, and then the body is dropped.
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
