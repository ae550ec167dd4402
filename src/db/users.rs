//! Accounts and password reset tokens. Both are platform-wide, not
//! tenant-scoped, so they are read outside tenant transactions. A deleted
//! account's row stays, anonymized, and no lookup here finds it.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{mfa_challenges, password_reset_tokens, recovery_codes, totp_factors, users};

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    /// The hash is of the password's NFKC form; see `app::auth::password`.
    pub password_normalized: bool,
    /// Goes up with every change of the password, not with a rehash.
    pub password_version: i32,
    pub created_at: DateTime<Utc>,
}

pub async fn insert(conn: &mut AsyncPgConnection, user: &User) -> QueryResult<()> {
    diesel::insert_into(users::table).values(user).execute(conn).await.map(drop)
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<User>> {
    let account = users::table.find(id).filter(users::deleted_at.is_null());
    account.select(User::as_select()).first(conn).await.optional()
}

pub async fn find_by_email(conn: &mut AsyncPgConnection, normalized_email: &str) -> QueryResult<Option<User>> {
    let account = users::table.filter(users::email.eq(normalized_email)).filter(users::deleted_at.is_null());
    account.select(User::as_select()).first(conn).await.optional()
}

/// Deletes what signs the account in besides its password: its second
/// factor and recovery codes, sign-in challenges and reset tokens. In the
/// order a code's sign-in or a reset locks them, and before the account's
/// row, which a reset locks after its token: first.
pub async fn account_credentials_delete(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
    diesel::delete(totp_factors::table.filter(totp_factors::user_id.eq(id))).execute(conn).await?;
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(id))).execute(conn).await?;
    diesel::delete(mfa_challenges::table.filter(mfa_challenges::user_id.eq(id))).execute(conn).await?;
    diesel::delete(password_reset_tokens::table.filter(password_reset_tokens::user_id.eq(id)))
        .execute(conn)
        .await
        .map(drop)
}

/// Share-locks a live account's row until the transaction ends, so that it
/// is not deleted meanwhile; `false` for a deleted one. Taken before the
/// rows of the account's that a deletion deletes.
pub async fn account_hold(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
    let account = users::table.find(id).filter(users::deleted_at.is_null()).select(users::id).for_share();
    Ok(account.first::<Uuid>(conn).await.optional()?.is_some())
}

/// Marks the account deleted, locking its row until the transaction ends;
/// `false` when it was already, or its password changed since `user` was
/// read. No membership is added to it from then on (see
/// `tenants::insert_membership`).
pub async fn account_mark_deleted(conn: &mut AsyncPgConnection, user: &User) -> QueryResult<bool> {
    let account = users::table
        .find(user.id)
        .filter(users::deleted_at.is_null())
        .filter(users::password_version.eq(user.password_version));
    Ok(diesel::update(account).set(users::deleted_at.eq(Utc::now())).execute(conn).await? == 1)
}

/// Erases a marked account, whose memberships are gone, across tenants,
/// and anonymizes its row (see the migration's `account_erase`).
pub async fn account_erase(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
    diesel::sql_query("SELECT account_erase($1)").bind::<diesel::sql_types::Uuid, _>(id).execute(conn).await.map(drop)
}

/// Sets a new password, hashed in its normalized form; `false` for an
/// account deleted meanwhile.
pub async fn set_password_hash(conn: &mut AsyncPgConnection, id: Uuid, password_hash: &str) -> QueryResult<bool> {
    let updated = diesel::update(users::table.find(id).filter(users::deleted_at.is_null()))
        .set((
            users::password_hash.eq(password_hash),
            users::password_normalized.eq(true),
            users::password_version.eq(users::password_version + 1),
            users::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await?;
    Ok(updated == 1)
}

/// Replaces a hash of the password as typed with one of its normalized
/// form, unless the password changed or was rehashed meanwhile.
pub async fn upgrade_password_hash(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    verified_hash: &str,
    normalized_hash: &str,
) -> QueryResult<()> {
    let unchanged = users::table.find(id).filter(users::password_hash.eq(verified_hash));
    diesel::update(unchanged)
        .set((users::password_hash.eq(normalized_hash), users::password_normalized.eq(true)))
        .execute(conn)
        .await
        .map(drop)
}

pub async fn insert_reset_token(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    token_digest: &[u8],
    expires_at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(password_reset_tokens::table)
        .values((
            password_reset_tokens::id.eq(Uuid::new_v4()),
            password_reset_tokens::user_id.eq(user_id),
            password_reset_tokens::token_hash.eq(token_digest),
            password_reset_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// The user an unused, unexpired reset token belongs to.
pub async fn find_reset_token_user(conn: &mut AsyncPgConnection, token_digest: &[u8]) -> QueryResult<Option<User>> {
    password_reset_tokens::table
        .inner_join(users::table)
        .filter(users::deleted_at.is_null())
        .filter(password_reset_tokens::token_hash.eq(token_digest))
        .filter(password_reset_tokens::used_at.is_null())
        .filter(password_reset_tokens::expires_at.gt(Utc::now()))
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

/// Marks the token used, and with it every other outstanding token of its
/// user; `None` when it was no longer usable (a concurrent reset won).
pub async fn consume_reset_tokens(conn: &mut AsyncPgConnection, token_digest: &[u8]) -> QueryResult<Option<Uuid>> {
    let now = Utc::now();
    let user_id: Option<Uuid> = diesel::update(
        password_reset_tokens::table
            .filter(password_reset_tokens::token_hash.eq(token_digest))
            .filter(password_reset_tokens::used_at.is_null())
            .filter(password_reset_tokens::expires_at.gt(now)),
    )
    .set(password_reset_tokens::used_at.eq(now))
    .returning(password_reset_tokens::user_id)
    .get_result(conn)
    .await
    .optional()?;
    if let Some(user_id) = user_id {
        diesel::update(
            password_reset_tokens::table
                .filter(password_reset_tokens::user_id.eq(user_id))
                .filter(password_reset_tokens::used_at.is_null()),
        )
        .set(password_reset_tokens::used_at.eq(now))
        .execute(conn)
        .await?;
    }
    Ok(user_id)
}
