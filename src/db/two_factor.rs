//! Second factors: a user's TOTP secret, recovery codes, and the challenges
//! of sign-ins waiting for a code. Platform-wide, like accounts.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{mfa_challenges, recovery_codes, totp_factors, users};
use super::users::User;

#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = totp_factors)]
pub struct TotpFactor {
    pub secret: Vec<u8>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for TotpFactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpFactor").field("confirmed_at", &self.confirmed_at).finish_non_exhaustive()
    }
}

pub async fn totp_factor(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<Option<TotpFactor>> {
    totp_factors::table.find(user_id).select(TotpFactor::as_select()).first(conn).await.optional()
}

/// The user, and whether sign-in asks them for a code, in one query.
pub async fn user_with_two_factor(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<Option<(User, bool)>> {
    let found: Option<(User, Option<DateTime<Utc>>)> = users::table
        .left_join(totp_factors::table)
        .filter(users::id.eq(user_id))
        .filter(users::deleted_at.is_null())
        .select((User::as_select(), totp_factors::confirmed_at.nullable()))
        .first(conn)
        .await
        .optional()?;
    Ok(found.map(|(user, confirmed_at)| (user, confirmed_at.is_some())))
}

/// Whether sign-in asks `user_id` for a code.
pub async fn is_enabled(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<bool> {
    let confirmed = totp_factors::table.find(user_id).filter(totp_factors::confirmed_at.is_not_null());
    diesel::select(diesel::dsl::exists(confirmed)).get_result(conn).await
}

/// Starts an enrolment with `secret`, replacing an unconfirmed one; `false`
/// when a confirmed factor is in place, which stays as it is. One statement,
/// so of two concurrent enrolments the later one replaces the earlier.
pub async fn totp_enrol(conn: &mut AsyncPgConnection, user_id: Uuid, secret: &[u8]) -> QueryResult<bool> {
    let started = diesel::sql_query(
        "INSERT INTO totp_factors (user_id, secret) VALUES ($1, $2) \
         ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created_at = now() \
         WHERE totp_factors.confirmed_at IS NULL",
    )
    .bind::<diesel::sql_types::Uuid, _>(user_id)
    .bind::<diesel::sql_types::Bytea, _>(secret)
    .execute(conn)
    .await?;
    Ok(started == 1)
}

/// Confirms the enrolment of `secret` begun after `started_after`, the code
/// of `step` having proved it; `false` when it was replaced or confirmed
/// meanwhile, or began earlier.
pub async fn totp_confirm(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    secret: &[u8],
    started_after: DateTime<Utc>,
    step: i64,
) -> QueryResult<bool> {
    let pending = totp_factors::table
        .find(user_id)
        .filter(totp_factors::confirmed_at.is_null())
        .filter(totp_factors::secret.eq(secret))
        .filter(totp_factors::created_at.gt(started_after));
    let confirmed = diesel::update(pending)
        .set((totp_factors::confirmed_at.eq(Utc::now()), totp_factors::last_used_step.eq(step)))
        .execute(conn)
        .await?;
    Ok(confirmed == 1)
}

/// Accepts a code of `step` if no code of it or of a later step was
/// accepted before: the claim is one statement, so of two concurrent uses
/// of a code only one succeeds.
pub async fn totp_claim_step(conn: &mut AsyncPgConnection, user_id: Uuid, step: i64) -> QueryResult<bool> {
    let unused = totp_factors::table
        .find(user_id)
        .filter(totp_factors::confirmed_at.is_not_null())
        .filter(totp_factors::last_used_step.lt(step));
    let claimed = diesel::update(unused).set(totp_factors::last_used_step.eq(step)).execute(conn).await?;
    Ok(claimed == 1)
}

/// Locks the user's second factor until the transaction ends, before the
/// codes that prove it are used, as a deletion of the account locks it
/// before them; `false` when there is none.
pub async fn totp_factor_lock(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<bool> {
    let factor = totp_factors::table.find(user_id).select(totp_factors::user_id).for_update();
    Ok(factor.first::<Uuid>(conn).await.optional()?.is_some())
}

/// Removes the second factor with its recovery codes and waiting sign-ins;
/// `false` when there was none.
pub async fn totp_disable(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<bool> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id))).execute(conn).await?;
    diesel::delete(mfa_challenges::table.filter(mfa_challenges::user_id.eq(user_id))).execute(conn).await?;
    let removed = diesel::delete(totp_factors::table.find(user_id)).execute(conn).await?;
    Ok(removed == 1)
}

/// Replaces the user's recovery codes with these digests.
pub async fn recovery_codes_replace(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    code_digests: &[Vec<u8>],
) -> QueryResult<()> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id))).execute(conn).await?;
    let rows: Vec<_> = code_digests
        .iter()
        .map(|digest| (recovery_codes::user_id.eq(user_id), recovery_codes::code_hash.eq(digest)))
        .collect();
    diesel::insert_into(recovery_codes::table).values(rows).execute(conn).await.map(drop)
}

/// Uses up an unused recovery code; `false` when there is none with this
/// digest.
pub async fn recovery_code_use(conn: &mut AsyncPgConnection, user_id: Uuid, code_digest: &[u8]) -> QueryResult<bool> {
    let unused = recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id))
        .filter(recovery_codes::code_hash.eq(code_digest))
        .filter(recovery_codes::used_at.is_null());
    let used = diesel::update(unused).set(recovery_codes::used_at.eq(Utc::now())).execute(conn).await?;
    Ok(used == 1)
}

pub async fn recovery_codes_left(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<i64> {
    recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)
        .await
}

pub async fn mfa_challenge_insert(
    conn: &mut AsyncPgConnection,
    token_digest: &[u8],
    user: &User,
    expires_at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(mfa_challenges::table)
        .values((
            mfa_challenges::token_hash.eq(token_digest),
            mfa_challenges::user_id.eq(user.id),
            mfa_challenges::password_version.eq(user.password_version),
            mfa_challenges::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// The user an unused, unexpired challenge waits for, if the password it
/// proved is still theirs and fewer than `failed_codes_allowed` wrong codes
/// were tried on it.
pub async fn mfa_challenge_user(
    conn: &mut AsyncPgConnection,
    token_digest: &[u8],
    failed_codes_allowed: i32,
) -> QueryResult<Option<User>> {
    mfa_challenges::table
        .inner_join(users::table)
        .filter(mfa_challenges::token_hash.eq(token_digest))
        .filter(mfa_challenges::failed_codes.lt(failed_codes_allowed))
        .filter(mfa_challenges::used_at.is_null())
        .filter(mfa_challenges::expires_at.gt(Utc::now()))
        .filter(mfa_challenges::password_version.eq(users::password_version))
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

/// Marks the challenge answered; `false` when it no longer waits (answered
/// concurrently, expired, or voided by a password change).
pub async fn mfa_challenge_use(conn: &mut AsyncPgConnection, token_digest: &[u8], user: &User) -> QueryResult<bool> {
    let waiting = mfa_challenges::table
        .filter(mfa_challenges::token_hash.eq(token_digest))
        .filter(mfa_challenges::user_id.eq(user.id))
        .filter(mfa_challenges::password_version.eq(user.password_version))
        .filter(mfa_challenges::used_at.is_null())
        .filter(mfa_challenges::expires_at.gt(Utc::now()));
    let used = diesel::update(waiting).set(mfa_challenges::used_at.eq(Utc::now())).execute(conn).await?;
    Ok(used == 1)
}

/// Counts a wrong code tried on the challenge; answers how many it took.
pub async fn mfa_challenge_failed(conn: &mut AsyncPgConnection, token_digest: &[u8]) -> QueryResult<i32> {
    diesel::update(mfa_challenges::table.find(token_digest))
        .set(mfa_challenges::failed_codes.eq(mfa_challenges::failed_codes + 1))
        .returning(mfa_challenges::failed_codes)
        .get_result(conn)
        .await
}
