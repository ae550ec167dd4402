//! Accounts and sessions: sign-up, sign-in, sign-out and password reset.
//!
//! Security events go to the audit log under stable `auth.*` names, never
//! with an email, a password or a token. Refused attempts (rate limits,
//! lockouts) are only logged, under target `audit`.

pub mod password;
pub mod two_factor;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use diesel_async::AsyncConnection;
use tokio::sync::Semaphore;
use uuid::Uuid;

use super::{Actor, AppState, Error, OpContext, Origin, Problem};
use crate::audit::{self, NewEvent, Target};
use crate::crypto;
use crate::db::{self, outbox::NewMail, users::User};
use crate::sessions::{Attempt, Lockout, Session, SessionId};
use password::{Rejection, StoredHash};

/// Login attempts allowed per client address and email in [`LOGIN_WINDOW`].
const LOGIN_ATTEMPTS: u32 = 5;
const LOGIN_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Consecutive failures, from any address, that lock an account.
const LOCKOUT_FAILURES: u32 = 10;
const LOCKOUT: Duration = Duration::from_secs(15 * 60);
/// Reset mails per email per [`RESET_MAIL_WINDOW`]; more are dropped quietly,
/// so nobody can flood a mailbox through us.
const RESET_MAILS: u32 = 3;
const RESET_MAIL_WINDOW: Duration = Duration::from_secs(60 * 60);
/// Reset-link requests per client address in [`RESET_REQUEST_WINDOW`],
/// whatever the email: counted before anything else, so the limit says
/// nothing about accounts.
const RESET_REQUESTS: u32 = 10;
const RESET_REQUEST_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Reset-link requests worked on at once, after their answer: fewer than
/// the pool's connections, so a flood of them cannot take the pool.
const RESET_REQUESTS_AT_ONCE: usize = 4;
pub const RESET_LINK_VALIDITY: Duration = Duration::from_secs(30 * 60);
const MAX_EMAIL_CHARS: usize = 254;

/// A session and its id.
#[derive(Clone, Debug)]
pub struct CurrentSession {
    pub id: SessionId,
    pub session: Session,
}

/// A session as the caller sees it.
#[derive(Debug)]
pub struct SessionView {
    pub current: CurrentSession,
    pub user: Option<User>,
    /// Signing in as the user asks for a second factor.
    pub two_factor: bool,
    /// The session is new: the caller needs its cookie.
    pub started: bool,
}

pub struct Signup {
    pub email: String,
    pub password: String,
    pub name: String,
}

/// The caller's session, starting an anonymous one when there is none.
/// Anonymous sessions are not stored (see [`SessionStore::anonymous`]), so
/// visitors who never sign in cost nothing.
///
/// [`SessionStore::anonymous`]: crate::sessions::SessionStore::anonymous
pub async fn me_view(state: &AppState, current: Option<CurrentSession>) -> Result<SessionView, Error> {
    let Some(current) = current else {
        return Ok(SessionView { current: new_anonymous_session(state), user: None, two_factor: false, started: true });
    };
    let found = match current.session.user_id {
        Some(user_id) => db::two_factor::user_with_two_factor(&mut *db::checkout(&state.db).await?, user_id).await?,
        None => None,
    };
    let (user, two_factor) = found.map_or((None, false), |(user, two_factor)| (Some(user), two_factor));
    Ok(SessionView { current, user, two_factor, started: false })
}

pub async fn auth_signup(
    state: &AppState,
    op: &OpContext,
    current: CurrentSession,
    signup: Signup,
) -> Result<SessionView, Error> {
    let email = normalize_email(&signup.email)?;
    let name = super::validate_name(&signup.name)?;
    password::check_policy(&signup.password, &email).map_err(password_rejected)?;
    let password_hash = state.passwords.hash(signup.password).await?;
    let user = User {
        id: Uuid::new_v4(),
        email,
        name,
        password_hash,
        password_normalized: true,
        password_version: 0,
        created_at: Utc::now(),
    };
    let mut conn = db::checkout(&state.db).await?;
    conn.transaction(async |conn| {
        match db::users::insert(conn, &user).await {
            Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
                return Err(Error::Conflict(Problem::new(
                    "AUTH_EMAIL_TAKEN",
                    "An account with this email already exists.",
                )));
            }
            result => result?,
        }
        let event = account_event("auth.signup", Some(user.id));
        audit::record_account_event(conn, Some(user.id), &Actor::User(user.id), &op.origin, event).await
    })
    .await?;
    start_user_session(state, current, user, false).await
}

pub async fn auth_login(
    state: &AppState,
    op: &OpContext,
    current: CurrentSession,
    email: &str,
    password: String,
) -> Result<SessionView, Error> {
    // No password this long can match (sign-up refuses them), and no
    // account has a malformed email: refused before anything is counted
    // or hashed.
    if password::too_long_to_read(&password) {
        return Err(password_rejected(Rejection::TooLong));
    }
    let email = normalize_email(email)?;
    let caller = &op.origin;
    let attempt_subject = format!("{}|{email}", rate_limit_address(caller.client_ip));
    state.sessions.count_attempt("login", &attempt_subject, LOGIN_ATTEMPTS, LOGIN_WINDOW).await?.or_rate_limited()?;
    let failures = begin_guarded_attempt(state, &email).await?;
    let user = match check_password(state, &email, password.clone()).await {
        Ok((Some(user), true)) => user,
        // Counted as a failure up front, but nothing was checked: the
        // store, the database or the hashing queue failed. Not the caller's
        // failure, so it must not bring the lockout closer.
        Err(error) => {
            state.sessions.forget_attempt(&email).await?;
            return Err(error);
        }
        Ok((user, _)) => {
            let guess = FailedGuess { action: "auth.login_failed", actor: Actor::Anonymous, email: &email, failures };
            guess.count(state, user.map(|user| user.id), caller).await?;
            return Err(invalid_credentials());
        }
    };
    upgrade_hash(state, &user, password).await;
    // With a second factor the attempt is not over: it stays counted as a
    // failure until a code completes it, so a known password does not
    // clear the failures of guessed codes.
    if db::two_factor::is_enabled(&mut *db::checkout(&state.db).await?, user.id).await? {
        return Err(two_factor::challenge(state, op, &user).await?);
    }
    state.sessions.clear_failures(&email).await?;
    finish_sign_in(state, op, current, user, false).await
}

/// Starts the session of a user who has proved who they are, unless their
/// password changed meanwhile.
async fn finish_sign_in(
    state: &AppState,
    op: &OpContext,
    current: CurrentSession,
    user: User,
    two_factor: bool,
) -> Result<SessionView, Error> {
    let (user_id, verified_version) = (user.id, user.password_version);
    let view = start_user_session(state, current, user.clone(), two_factor).await?;
    let (changed, two_factor_since) = {
        let mut conn = db::checkout(&state.db).await?;
        let now = db::users::find(&mut conn, user_id).await?;
        let changed = now.is_none_or(|now| now.password_version != verified_version);
        (changed, !two_factor && db::two_factor::is_enabled(&mut conn, user_id).await?)
    };
    // A password reset that committed while this sign-in checked the old
    // password has ended the user's sessions, perhaps before this one
    // began: it must not outlive the reset. Nor may one that two-factor
    // sign-in, turned on meanwhile, would have asked a code for.
    if changed || two_factor_since {
        state.sessions.delete(&view.current.id, &view.current.session).await?;
        return Err(if changed { invalid_credentials() } else { two_factor::challenge(state, op, &user).await? });
    }
    record(state, "auth.login_succeeded", Actor::User(user_id), Some(user_id), &op.origin).await?;
    Ok(view)
}

/// Begins an attempt at the account of `email` that the lockout guards,
/// counted as a failed one until it succeeds; answers how many failed in a
/// row, counting this one.
async fn begin_guarded_attempt(state: &AppState, email: &str) -> Result<u32, Error> {
    match state.sessions.begin_guarded_attempt(email, LOCKOUT_FAILURES, LOCKOUT).await? {
        Lockout::Open { failures } => Ok(failures),
        Lockout::Locked { retry_after } => Err(Error::Limited {
            problem: Problem::new(
                "AUTH_ACCOUNT_LOCKED",
                "Too many failed sign-ins: this account is locked for a while.",
            ),
            retry_after,
        }),
    }
}

/// A guarded attempt that failed: a wrong password or code.
struct FailedGuess<'a> {
    /// What the audit log calls it.
    action: &'static str,
    actor: Actor,
    email: &'a str,
    /// From [`begin_guarded_attempt`].
    failures: u32,
}

impl FailedGuess<'_> {
    /// Audits the failure and locks the account at the threshold.
    async fn count(self, state: &AppState, user_id: Option<Uuid>, caller: &Origin) -> Result<(), Error> {
        record(state, self.action, self.actor, user_id, caller).await?;
        if state.sessions.confirm_failure(self.email, self.failures, LOCKOUT_FAILURES, LOCKOUT).await? {
            record(state, "auth.account_locked", Actor::Anonymous, user_id, caller).await?;
            log_refusal("auth.account_locked", "AUTH_ACCOUNT_LOCKED", caller);
        }
        Ok(())
    }
}

/// A check of credentials the lockout guards.
pub(super) struct Guess {
    /// What the audit log calls a failed one.
    pub(super) failed: &'static str,
    pub(super) actor: Actor,
    pub(super) refusal: fn() -> Error,
}

impl Guess {
    /// Runs `attempt`, which answers `None` for wrong credentials, counted
    /// as a failure until it succeeds; one that could not be checked (an
    /// error) does not count.
    pub(super) async fn check<T>(
        self,
        state: &AppState,
        op: &OpContext,
        user: &User,
        attempt: impl AsyncFnOnce() -> Result<Option<T>, Error>,
    ) -> Result<T, Error> {
        let failures = begin_guarded_attempt(state, &user.email).await?;
        match attempt().await {
            Ok(Some(checked)) => {
                // What the attempt did is done: a store that fails now only
                // leaves the failures to expire by themselves.
                if let Err(error) = state.sessions.clear_failures(&user.email).await {
                    tracing::warn!(request_id = %op.origin.request_id, %error, "clearing sign-in failures failed");
                }
                Ok(checked)
            }
            Ok(None) => {
                let guess = FailedGuess { action: self.failed, actor: self.actor, email: &user.email, failures };
                guess.count(state, Some(user.id), &op.origin).await?;
                Err((self.refusal)())
            }
            Err(error) => {
                state.sessions.forget_attempt(&user.email).await?;
                Err(error)
            }
        }
    }
}

/// A signed-in user proving it is them again, for a change to how they
/// sign in or to their account.
pub(crate) async fn guarded<T>(
    state: &AppState,
    op: &OpContext,
    user: &User,
    attempt: impl AsyncFnOnce() -> Result<Option<T>, Error>,
) -> Result<T, Error> {
    let guess =
        Guess { failed: "auth.reauthentication_failed", actor: Actor::User(user.id), refusal: reauthentication_failed };
    guess.check(state, op, user, attempt).await
}

pub(crate) async fn signed_in_user(state: &AppState, op: &OpContext) -> Result<User, Error> {
    let user_id = op.user_id()?;
    db::users::find(&mut *db::checkout(&state.db).await?, user_id).await?.ok_or_else(Error::auth_required)
}

pub(crate) async fn password_matches(state: &AppState, user: &User, password: String) -> Result<bool, Error> {
    if password::too_long_to_read(&password) {
        return Ok(false);
    }
    state.passwords.verify(password, Some(StoredHash::of(user))).await
}

/// The account of `email` and whether `password` is its password; an
/// unknown email costs the same effort as a known one.
async fn check_password(state: &AppState, email: &str, password: String) -> Result<(Option<User>, bool), Error> {
    let user = db::users::find_by_email(&mut *db::checkout(&state.db).await?, email).await?;
    let stored = user.as_ref().map(StoredHash::of);
    let verified = state.passwords.verify(password, stored).await?;
    Ok((user, verified))
}

/// After a sign-in with `password`, rehashes a hash of the password as
/// typed in the normalized form. A failed rehash fails no sign-in: the next
/// one tries again.
async fn upgrade_hash(state: &AppState, user: &User, password: String) {
    if user.password_normalized {
        return;
    }
    let upgrade = async {
        let rehashed = state.passwords.hash(password).await?;
        let mut conn = db::checkout(&state.db).await?;
        Ok::<_, Error>(db::users::upgrade_password_hash(&mut conn, user.id, &user.password_hash, &rehashed).await?)
    };
    if let Err(error) = upgrade.await {
        tracing::warn!(user_id = %user.id, error = format!("{error:#}"), "rehashing a password failed");
    }
}

pub async fn auth_logout(state: &AppState, op: &OpContext, current: CurrentSession) -> Result<(), Error> {
    let user_id = op.user_id()?;
    state.sessions.delete(&current.id, &current.session).await?;
    record(state, "auth.logout", Actor::User(user_id), Some(user_id), &op.origin).await
}

/// The reset-link requests being worked on after their answer.
pub struct ResetRequests {
    slots: Arc<Semaphore>,
}

impl Default for ResetRequests {
    fn default() -> ResetRequests {
        ResetRequests { slots: Arc::new(Semaphore::new(RESET_REQUESTS_AT_ONCE)) }
    }
}

/// Mails a reset link if an account uses `email`. Answers at once, the
/// same either way: looking the account up and mailing happen after the
/// answer, so its timing cannot tell whether the account exists. A failure
/// then is logged; the user asks again. Limited per client address, and
/// `503` while [`RESET_REQUESTS_AT_ONCE`] are being worked on: decided
/// before any lookup, so neither tells anything about the account.
pub async fn password_forgot(state: Arc<AppState>, op: &OpContext, email: &str) -> Result<(), Error> {
    let email = normalize_email(email)?;
    let caller = op.origin.clone();
    let address = rate_limit_address(caller.client_ip);
    let attempt = state.sessions.count_attempt("password-forgot", &address, RESET_REQUESTS, RESET_REQUEST_WINDOW);
    attempt.await?.or_rate_limited()?;
    let slot = state.reset_requests.slots.clone().try_acquire_owned();
    let slot = slot.map_err(|_| Error::Unavailable { dependencies: vec!["passwordReset"] })?;
    tokio::spawn(async move {
        if let Err(error) = mail_reset_link(&state, &caller, &email).await {
            let request_id = &caller.request_id;
            tracing::error!(%request_id, error = format!("{error:#}"), "mailing a password reset link failed");
        }
        drop(slot);
    });
    Ok(())
}

async fn mail_reset_link(state: &AppState, caller: &Origin, email: &str) -> Result<(), Error> {
    let mut conn = db::checkout(&state.db).await?;
    let Some(user) = db::users::find_by_email(&mut conn, email).await? else { return Ok(()) };
    if let Attempt::Refused { .. } =
        state.sessions.count_attempt("password-reset-mail", email, RESET_MAILS, RESET_MAIL_WINDOW).await?
    {
        log_refusal("auth.password_reset_throttled", "RATE_LIMITED", caller);
        return Ok(());
    }
    let token = crypto::random_token();
    let expires_at = Utc::now() + RESET_LINK_VALIDITY;
    let body = format!(
        "Someone, hopefully you, asked to reset the password of your Incident Tracker account.\n\n\
         Choose a new password within {minutes} minutes:\n{base}/reset-password?token={token}\n\n\
         If it was not you, ignore this mail: your password stays as it is.\n",
        minutes = RESET_LINK_VALIDITY.as_secs() / 60,
        base = state.public_base_url,
    );
    conn.transaction(async |conn| {
        db::users::insert_reset_token(conn, user.id, &crypto::token_digest(&token), expires_at).await?;
        let mail = NewMail {
            recipient: &user.email,
            subject: "Reset your Incident Tracker password",
            body: &body,
            discard_after: Some(expires_at),
        };
        db::outbox::enqueue(conn, mail).await?;
        let event = account_event("auth.password_reset_requested", Some(user.id));
        audit::record_account_event(conn, Some(user.id), &Actor::Anonymous, caller, event).await
    })
    .await?;
    state.mail_queued.notify();
    Ok(())
}

/// Sets a new password, ends every session of the account and gives the
/// caller a fresh anonymous session.
pub async fn password_reset(
    state: &AppState,
    op: &OpContext,
    current: CurrentSession,
    token: &str,
    password: String,
) -> Result<SessionView, Error> {
    let caller = &op.origin;
    if !crypto::is_random_token(token) {
        return Err(reset_token_invalid());
    }
    let digest = crypto::token_digest(token);
    let mut conn = db::checkout(&state.db).await?;
    let user = db::users::find_reset_token_user(&mut conn, &digest).await?.ok_or_else(reset_token_invalid)?;
    // Checked before the token is used, so a refused password leaves the
    // link working.
    password::check_policy(&password, &user.email).map_err(password_rejected)?;
    let password_hash = state.passwords.hash(password).await?;
    conn.transaction(async |conn| {
        // The token is claimed in the same statement that checks it, so two
        // concurrent resets cannot both use it.
        let user_id = db::users::consume_reset_tokens(conn, &digest).await?.ok_or_else(reset_token_invalid)?;
        if !db::users::set_password_hash(conn, user_id, &password_hash).await? {
            return Err(reset_token_invalid());
        }
        // Ended before the commit, so that with the session store down the
        // password stays as it was instead of changing behind live sessions.
        state.sessions.delete_all_of_user(user_id).await?;
        // Last: it locks the audit chains of all the user's tenants, which
        // must not wait on the session store.
        let event = account_event("auth.password_reset_completed", Some(user_id));
        audit::record_account_event(conn, Some(user_id), &Actor::Anonymous, caller, event).await
    })
    .await?;
    // And again after it, for sessions begun in between: a sign-in that
    // checks the password after the commit ends its own (see `login`). The
    // reset itself is done; failing it now would only make the caller's
    // retry fail on the used token.
    if let Err(error) = state.sessions.delete_all_of_user(user.id).await {
        tracing::error!(
            user_id = %user.id, request_id = %caller.request_id, %error,
            "ending sessions begun during a password reset failed"
        );
    }
    // Whoever reset the password holds the mailbox: a lockout, which only
    // guards against guessing, is lifted.
    if let Err(error) = state.sessions.lift_lockout(&user.email).await {
        tracing::error!(user_id = %user.id, request_id = %caller.request_id, %error, "lifting a lockout failed");
    }
    restart_session(state, current, None).await
}

async fn start_user_session(
    state: &AppState,
    current: CurrentSession,
    user: User,
    two_factor: bool,
) -> Result<SessionView, Error> {
    let mut view = restart_session(state, current, Some(user.id)).await?;
    view.user = Some(user);
    view.two_factor = two_factor;
    Ok(view)
}

/// Replaces the caller's session with a new one under a new id, so an id
/// planted before sign-in is worthless after it; anonymous without a user.
async fn restart_session(
    state: &AppState,
    current: CurrentSession,
    user_id: Option<Uuid>,
) -> Result<SessionView, Error> {
    state.sessions.delete(&current.id, &current.session).await?;
    let current = match user_id {
        Some(user_id) => {
            let session = Session::new(Some(user_id));
            let id = state.sessions.create(&session).await?;
            CurrentSession { id, session }
        }
        None => new_anonymous_session(state),
    };
    Ok(SessionView { current, user: None, two_factor: false, started: true })
}

fn new_anonymous_session(state: &AppState) -> CurrentSession {
    let id = SessionId::random();
    let session = state.sessions.anonymous(&id);
    CurrentSession { id, session }
}

/// The form emails are stored and compared in.
fn normalized(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The address rate limits count against: an IPv6 client controls its
/// whole /64, so that is what counts as one address.
fn rate_limit_address(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V6(ip) => format!("{}/64", std::net::Ipv6Addr::from_bits(ip.to_bits() & !((1 << 64) - 1))),
        ip => ip.to_string(),
    }
}

pub(crate) fn normalize_email(raw: &str) -> Result<String, Error> {
    let email = normalized(raw);
    let invalid = |message: &'static str| Error::invalid_field("email", message);
    if email.chars().count() > MAX_EMAIL_CHARS {
        return Err(invalid("An email address has at most 254 characters."));
    }
    let well_formed = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !email.chars().any(|c| c.is_whitespace() || crate::text::is_hidden(c))
        }
        None => false,
    };
    if !well_formed {
        return Err(invalid("Expected an email address like name@example.com."));
    }
    Ok(email)
}

/// Records an account event whose change is not in the database (it is in
/// the session store) in a transaction of its own.
async fn record(
    state: &AppState,
    action: &'static str,
    actor: Actor,
    user_id: Option<Uuid>,
    origin: &Origin,
) -> Result<(), Error> {
    let mut conn = db::checkout(&state.db).await?;
    conn.transaction(async |conn| {
        audit::record_account_event(conn, user_id, &actor, origin, account_event(action, user_id)).await
    })
    .await
}

fn account_event(action: &'static str, user_id: Option<Uuid>) -> NewEvent {
    NewEvent::new(action, user_id.map(Target::user))
}

fn invalid_credentials() -> Error {
    Error::Unauthenticated(Problem::new("AUTH_INVALID_CREDENTIALS", "Wrong email or password."))
}

fn reset_token_invalid() -> Error {
    Error::Invalid(Problem::new(
        "AUTH_RESET_TOKEN_INVALID",
        "This reset link is invalid, used or expired; ask for a new one.",
    ))
}

fn reauthentication_failed() -> Error {
    Error::Forbidden(Problem::new("AUTH_REAUTHENTICATION_FAILED", "Wrong password or code."))
}

fn password_rejected(rejection: Rejection) -> Error {
    Error::Invalid(
        Problem::new("AUTH_PASSWORD_REJECTED", rejection.message()).with_detail("reason", rejection.reason()),
    )
}

/// Logs a security event that no error answer shows: the caller learns
/// nothing of a throttled reset mail or of the lockout its failure began.
fn log_refusal(event: &'static str, code: &str, caller: &Origin) {
    crate::telemetry::security_event(event, code, &caller.request_id, caller.client_ip, None);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased_and_malformed_ones_refused() {
        assert_eq!(normalize_email("  Grace.Hopper@Example.COM ").unwrap(), "grace.hopper@example.com");
        for malformed in ["", "grace", "@example.com", "grace@", "grace@localhost", "grace hopper@example.com"] {
            assert!(normalize_email(malformed).is_err(), "{malformed:?} was accepted");
        }
        assert!(normalize_email(&format!("{}@example.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn rate_limits_count_an_ipv6_client_by_its_64_and_ipv4_as_itself() {
        let address = |raw: &str| rate_limit_address(raw.parse().unwrap());
        assert_eq!(address("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(address("2001:db8:1:2:bbbb::7"), "2001:db8:1:2::/64");
        assert_eq!(address("::ffff:198.51.100.7"), "198.51.100.7");
        assert_eq!(address("198.51.100.7"), "198.51.100.7");
    }
}
