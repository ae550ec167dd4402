//! Deleting what is past its retention, per data class. Platform-wide tables
//! are deleted from directly; tenant-scoped ones through the lookup role's
//! functions, since the purge crosses tenants.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Date, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::{mail_outbox, mfa_challenges, password_reset_tokens};

/// The purge's advisory lock: the bytes of "retn" as a number.
const PURGE_LOCK: i64 = 1_919_251_566;

/// Takes the purge's lock for the rest of the transaction; `false` when
/// another transaction holds it.
pub async fn purge_lock(conn: &mut AsyncPgConnection) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Locked {
        #[diesel(sql_type = Bool)]
        locked: bool,
    }
    let query = diesel::sql_query("SELECT pg_try_advisory_xact_lock($1) AS locked").bind::<BigInt, _>(PURGE_LOCK);
    Ok(query.get_result::<Locked>(conn).await?.locked)
}

/// Waits for a running purge and keeps the next from starting until the
/// transaction ends: for work that deletes across tenants what a purge
/// also deletes, in another order (an account's erasure).
pub async fn purge_hold(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock($1)").bind::<BigInt, _>(PURGE_LOCK).execute(conn).await.map(drop)
}

/// Every tenant's change events older than 30 days, and with them their
/// deliveries.
pub async fn change_events_purge(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    Ok(diesel::sql_query("SELECT change_events_purge() AS purged").get_result::<Purged>(conn).await?.purged)
}

/// Every tenant's webhooks deleted more than 30 days ago, whose events have
/// gone.
pub async fn deleted_webhooks_purge(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    Ok(diesel::sql_query("SELECT deleted_webhooks_purge() AS purged").get_result::<Purged>(conn).await?.purged)
}

/// Mail the worker gave up on before `failed_before` (delivered mail is
/// deleted when it is sent).
pub async fn mail_purge(conn: &mut AsyncPgConnection, failed_before: DateTime<Utc>) -> QueryResult<i64> {
    let failed = mail_outbox::table.filter(mail_outbox::failed_at.lt(failed_before));
    Ok(diesel::delete(failed).execute(conn).await? as i64)
}

/// Reset tokens, sign-in challenges and attachment URLs that expired before
/// `expired_before`: each is used, if at all, before it expires.
pub async fn tokens_purge(conn: &mut AsyncPgConnection, expired_before: DateTime<Utc>) -> QueryResult<i64> {
    let reset_tokens = password_reset_tokens::table.filter(password_reset_tokens::expires_at.lt(expired_before));
    let reset_tokens = diesel::delete(reset_tokens).execute(conn).await? as i64;
    let challenges = mfa_challenges::table.filter(mfa_challenges::expires_at.lt(expired_before));
    let challenges = diesel::delete(challenges).execute(conn).await? as i64;
    let urls = diesel::sql_query("SELECT retention_purge_attachment_urls($1) AS purged")
        .bind::<Timestamptz, _>(expired_before)
        .get_result::<Purged>(conn)
        .await?;
    Ok(reset_tokens + challenges + urls.purged)
}

/// Invites never accepted, revoked or expired before `finished_before`.
pub async fn invitations_purge(conn: &mut AsyncPgConnection, finished_before: DateTime<Utc>) -> QueryResult<i64> {
    let query =
        diesel::sql_query("SELECT retention_purge_invitations($1) AS purged").bind::<Timestamptz, _>(finished_before);
    Ok(query.get_result::<Purged>(conn).await?.purged)
}

/// Usage counted on days before `first_kept`.
pub async fn usage_purge(conn: &mut AsyncPgConnection, first_kept: NaiveDate) -> QueryResult<i64> {
    let query = diesel::sql_query("SELECT retention_purge_usage($1) AS purged").bind::<Date, _>(first_kept);
    Ok(query.get_result::<Purged>(conn).await?.purged)
}

/// The personal data of audit events recorded before `recorded_before`;
/// the events stay, and their chains verify without it.
pub async fn audit_personal_data_purge(
    conn: &mut AsyncPgConnection,
    recorded_before: DateTime<Utc>,
) -> QueryResult<i64> {
    let query = diesel::sql_query("SELECT retention_purge_audit_personal_data($1) AS purged")
        .bind::<Timestamptz, _>(recorded_before);
    Ok(query.get_result::<Purged>(conn).await?.purged)
}

/// What each purge function answers: the rows it deleted.
#[derive(QueryableByName)]
struct Purged {
    #[diesel(sql_type = BigInt)]
    purged: i64,
}
