//! Two-factor sign-in with TOTP (RFC 6238: HMAC-SHA-1, six digits, 30-second
//! steps, one step of clock drift either way), and recovery codes for a lost
//! authenticator.
//!
//! Enrolling and disabling take the password again, so a borrowed session
//! can neither lock its owner out nor take the second factor away. Wrong
//! passwords and codes count toward the account's lockout like wrong
//! passwords at sign-in, and a code is accepted once: only for a time step
//! later than the last one accepted.

use std::fmt::Write;
use std::time::Duration;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use qrcodegen::{QrCode, QrCodeEcc};
use totp_rs::{Builder, Totp};

use super::{
    CurrentSession, Guess, SessionView, finish_sign_in, guarded, password_matches, signed_in_user, start_user_session,
};
use crate::app::{Actor, AppState, Error, OpContext, Problem};
use crate::audit::{self, NewEvent, Target};
use crate::crypto;
use crate::db::{self, outbox::NewMail, two_factor::TotpFactor, users::User};
use crate::sessions::Attempt;

/// The name authenticator apps list the account under.
const ISSUER: &str = "Incident Tracker";
/// 160 bits, as RFC 4226 recommends.
const SECRET_BYTES: usize = 20;
const RECOVERY_CODES: usize = 10;
/// Lower-case RFC 4648 base32: no 0/O or 1/l to confuse when typed.
const RECOVERY_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
/// 80 bits: 16 letters of [`RECOVERY_ALPHABET`], shown in groups of four.
const RECOVERY_CODE_CHARS: usize = 16;
pub const CHALLENGE_VALIDITY: Duration = Duration::from_secs(5 * 60);
/// Wrong codes a challenge takes; then the password step starts again.
const CHALLENGE_FAILED_CODES: i32 = 3;
/// How long an enrolment waits for its confirming code: a session left
/// signed in cannot be used to guess it later.
const ENROLMENT_VALIDITY: Duration = Duration::from_secs(10 * 60);
/// Alerts of wrong codes mailed per account per [`ALERT_MAIL_WINDOW`].
const ALERT_MAILS: u32 = 3;
const ALERT_MAIL_WINDOW: Duration = Duration::from_secs(60 * 60);

/// What an authenticator app needs to start producing codes.
pub struct TotpEnrolment {
    /// The secret in base32, for typing in by hand.
    pub secret: String,
    pub otpauth_uri: String,
    pub qr_code_svg: String,
}

/// What the caller typed as a second factor.
enum SecondFactor {
    Code(String),
    /// Canonical: lower-case, without separators.
    RecoveryCode(String),
}

/// Starts (or restarts) an enrolment: a new secret, which asks nothing at
/// sign-in until [`totp_confirm`] proves the app has it.
pub async fn totp_enrol(state: &AppState, op: &OpContext, password: String) -> Result<TotpEnrolment, Error> {
    let user = signed_in_user(state, op).await?;
    // Before the password is checked: a right one would clear the
    // account's failures, and must not when nothing is going to change.
    if db::two_factor::is_enabled(&mut *db::checkout(&state.db).await?, user.id).await? {
        return Err(already_enabled());
    }
    guarded(state, op, &user, async || Ok(password_matches(state, &user, password).await?.then_some(()))).await?;
    let mut secret = [0u8; SECRET_BYTES];
    OsRng.fill_bytes(&mut secret);
    let totp = totp(&secret, &user.email)?;
    let mut conn = db::checkout(&state.db).await?;
    conn.transaction(async |conn| {
        if !db::two_factor::totp_enrol(conn, user.id, &secret).await? {
            return Err(already_enabled());
        }
        audit_event(conn, op, &user, "auth.mfa_enrolment_started").await
    })
    .await?;
    let otpauth_uri = totp.to_url().map_err(|error| anyhow::anyhow!("otpauth URI: {error}"))?;
    Ok(TotpEnrolment { secret: totp.secret().to_base32(), qr_code_svg: qr_code_svg(&otpauth_uri)?, otpauth_uri })
}

/// Confirms the enrolment with a code from the app; answers the recovery
/// codes, shown this once. Wrong codes count toward the lockout. Every
/// session of the account ends, whoever began it with the password alone;
/// the caller goes on in a new one, or signed out (`None`) when the session
/// store failed after the commit: the codes are shown either way.
pub async fn totp_confirm(
    state: &AppState,
    op: &OpContext,
    current: CurrentSession,
    code: &str,
) -> Result<(Vec<String>, Option<SessionView>), Error> {
    let user = signed_in_user(state, op).await?;
    let mut conn = db::checkout(&state.db).await?;
    let started_after = Utc::now() - ENROLMENT_VALIDITY;
    let factor = db::two_factor::totp_factor(&mut conn, user.id).await?;
    let Some(factor) = factor.filter(|factor| factor.confirmed_at.is_none() && factor.created_at > started_after)
    else {
        return Err(Error::Conflict(Problem::new(
            "AUTH_MFA_NOT_ENROLLING",
            "There is no enrolment to confirm, or it has expired: start one.",
        )));
    };
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code()).collect();
    let digests: Vec<Vec<u8>> = codes.iter().map(|code| recovery_code_digest(code)).collect();
    let attempt = async || {
        let Some(step) = totp(&factor.secret, &user.email)?.check_current(code.trim()) else { return Ok(None) };
        conn.transaction(async |conn| {
            let step = step_number(step);
            if !db::two_factor::totp_confirm(conn, user.id, &factor.secret, started_after, step).await? {
                return Ok(None);
            }
            db::two_factor::recovery_codes_replace(conn, user.id, &digests).await?;
            // Before the commit, so that with the session store down the
            // second factor stays off rather than leave those sessions on;
            // and before the audit event, which locks the audit chains of
            // all the user's tenants and must not wait on the store.
            state.sessions.delete_all_of_user(user.id).await?;
            audit_event(conn, op, &user, "auth.mfa_enabled").await.map(Some)
        })
        .await
    };
    let guess = Guess { failed: "auth.mfa_failed", actor: Actor::User(user.id), refusal: code_invalid };
    guess.check(state, op, &user, attempt).await?;
    // And again after it, for a password-only sign-in that checked before
    // the commit and began its session after the first round (`auth_login`
    // ends such a session itself, when it sees the factor on). Two-factor is
    // on now: failing the request would only lose the recovery codes.
    let restarted = async {
        state.sessions.delete_all_of_user(user.id).await?;
        start_user_session(state, current, user, true).await
    };
    let view = match restarted.await {
        Ok(view) => Some(view),
        Err(error) => {
            tracing::error!(request_id = %op.origin.request_id, %error, "restarting the session after enabling two-factor sign-in failed");
            None
        }
    };
    Ok((codes, view))
}

/// Removes the second factor; takes the password and a code (or a recovery
/// code).
pub async fn totp_disable(state: &AppState, op: &OpContext, password: String, code: &str) -> Result<(), Error> {
    let user = signed_in_user(state, op).await?;
    let second_factor = parse_second_factor(code)?;
    let mut conn = db::checkout(&state.db).await?;
    let factor = db::two_factor::totp_factor(&mut conn, user.id).await?;
    let Some(factor) = factor.filter(|factor| factor.confirmed_at.is_some()) else {
        return Err(not_enabled());
    };
    guarded(state, op, &user, async || {
        if !password_matches(state, &user, password).await? {
            return Ok(None);
        }
        conn.transaction(async |conn| {
            if !db::two_factor::totp_factor_lock(conn, user.id).await? {
                return Err(not_enabled());
            }
            if !second_factor_accepted(conn, &user, &factor, &second_factor).await? {
                return Ok(None);
            }
            db::two_factor::totp_disable(conn, user.id).await?;
            audit_event(conn, op, &user, "auth.mfa_disabled").await.map(Some)
        })
        .await
    })
    .await
}

/// Whether `code` is a right, unused code of the account's second factor,
/// using it up if so; `true` for an account without one. A check of its
/// own, for a change to the account that asks for both factors again.
pub(crate) async fn second_factor_confirmed(state: &AppState, user: &User, code: Option<&str>) -> Result<bool, Error> {
    let mut conn = db::checkout(&state.db).await?;
    let factor = db::two_factor::totp_factor(&mut conn, user.id).await?;
    let Some(factor) = factor.filter(|factor| factor.confirmed_at.is_some()) else { return Ok(true) };
    let Some(code) = code else {
        return Err(Error::invalid_field(
            "code",
            "This account signs in with two factors: send a code from the authenticator app, or a recovery code.",
        ));
    };
    let second_factor = parse_second_factor(code)?;
    second_factor_accepted(&mut conn, user, &factor, &second_factor).await
}

/// The answer to a right password for an account with a second factor:
/// `401 AUTH_MFA_REQUIRED`, with a challenge that [`auth_login_mfa`] answers
/// with a code.
pub(super) async fn challenge(state: &AppState, op: &OpContext, user: &User) -> Result<Error, Error> {
    let token = crypto::random_token();
    let mut conn = db::checkout(&state.db).await?;
    conn.transaction(async |conn| {
        let expires_at = Utc::now() + CHALLENGE_VALIDITY;
        db::two_factor::mfa_challenge_insert(conn, &crypto::token_digest(&token), user, expires_at).await?;
        let event = NewEvent::new("auth.mfa_challenged", Some(Target::user(user.id)));
        audit::record_account_event(conn, Some(user.id), &Actor::Anonymous, &op.origin, event).await
    })
    .await?;
    let problem = Problem::new("AUTH_MFA_REQUIRED", "Enter a code from your authenticator app, or a recovery code.")
        .with_detail("challenge", token)
        .with_detail("expiresInSeconds", CHALLENGE_VALIDITY.as_secs());
    Ok(Error::Unauthenticated(problem))
}

/// The second step of signing in: a code (or a recovery code) for the
/// challenge the password step answered with.
pub async fn auth_login_mfa(
    state: &AppState,
    op: &OpContext,
    current: CurrentSession,
    challenge: &str,
    code: &str,
) -> Result<SessionView, Error> {
    if !crypto::is_random_token(challenge) {
        return Err(challenge_invalid());
    }
    let second_factor = parse_second_factor(code)?;
    let digest = crypto::token_digest(challenge);
    let mut conn = db::checkout(&state.db).await?;
    let user = db::two_factor::mfa_challenge_user(&mut conn, &digest, CHALLENGE_FAILED_CODES).await?;
    let user = user.ok_or_else(challenge_invalid)?;
    let factor = db::two_factor::totp_factor(&mut conn, user.id).await?;
    let factor = factor.filter(|factor| factor.confirmed_at.is_some()).ok_or_else(challenge_invalid)?;
    let attempt = async || {
        conn.transaction(async |conn| {
            if !second_factor_accepted(conn, &user, &factor, &second_factor).await? {
                if db::two_factor::mfa_challenge_failed(conn, &digest).await? == 1 {
                    alert_of_wrong_code(state, conn, &user).await?;
                }
                return Ok(None);
            }
            if !db::two_factor::mfa_challenge_use(conn, &digest, &user).await? {
                return Err(challenge_invalid());
            }
            if let SecondFactor::RecoveryCode(_) = second_factor {
                let left = db::two_factor::recovery_codes_left(conn, user.id).await?;
                let event = NewEvent::new("auth.recovery_code_used", Some(Target::user(user.id)))
                    .with_metadata(serde_json::json!({ "recoveryCodesLeft": left }));
                audit::record_account_event(conn, Some(user.id), &Actor::User(user.id), &op.origin, event).await?;
            }
            Ok(Some(()))
        })
        .await
    };
    let guess = Guess { failed: "auth.mfa_failed", actor: Actor::Anonymous, refusal: code_refused };
    let checked = guess.check(state, op, &user, attempt).await;
    if checked.is_err() {
        // A wrong code may have queued its alert.
        state.mail_queued.notify();
    }
    checked?;
    finish_sign_in(state, op, current, user, true).await
}

/// Tells the account's owner that a sign-in got past their password and
/// failed at the code: whoever it was knows the password. Once per
/// challenge, and at most [`ALERT_MAILS`] an hour, so that guessing cannot
/// flood the mailbox.
async fn alert_of_wrong_code(state: &AppState, conn: &mut AsyncPgConnection, user: &User) -> Result<(), Error> {
    if let Attempt::Refused { .. } =
        state.sessions.count_attempt("mfa-alert-mail", &user.email, ALERT_MAILS, ALERT_MAIL_WINDOW).await?
    {
        return Ok(());
    }
    let body = format!(
        "Someone signed in to your Incident Tracker account with your password at {time} UTC, \
         then entered a wrong code from your authenticator app.\n\n\
         If it was you, there is nothing to do. If it was not, someone knows your password: \
         reset it now. A reset also voids the sign-in they started.\n",
        time = Utc::now().format("%Y-%m-%d %H:%M"),
    );
    let subject = "A sign-in to your Incident Tracker account failed at the code";
    let mail = NewMail { recipient: &user.email, subject, body: &body, discard_after: None };
    Ok(db::outbox::enqueue(conn, mail).await?)
}

/// Whether the code is right and unused, using it up if so.
async fn second_factor_accepted(
    conn: &mut AsyncPgConnection,
    user: &User,
    factor: &TotpFactor,
    second_factor: &SecondFactor,
) -> Result<bool, Error> {
    Ok(match second_factor {
        SecondFactor::Code(code) => match totp(&factor.secret, &user.email)?.check_current(code) {
            Some(step) => db::two_factor::totp_claim_step(conn, user.id, step_number(step)).await?,
            None => false,
        },
        SecondFactor::RecoveryCode(code) => {
            db::two_factor::recovery_code_use(conn, user.id, &recovery_code_digest(code)).await?
        }
    })
}

async fn audit_event(
    conn: &mut AsyncPgConnection,
    op: &OpContext,
    user: &User,
    action: &'static str,
) -> Result<(), Error> {
    let event = NewEvent::new(action, Some(Target::user(user.id)));
    audit::record_account_event(conn, Some(user.id), &op.actor, &op.origin, event).await
}

fn totp(secret: &[u8], email: &str) -> Result<Totp, Error> {
    // A colon separates issuer from account in the URI's label; it is only
    // a label, so one in an email's local part is dropped.
    let builder =
        Builder::new().with_secret(secret).with_issuer(Some(ISSUER)).with_account_name(email.replace(':', ""));
    builder.build().map_err(|error| Error::Internal(anyhow::anyhow!("TOTP parameters: {error}")))
}

/// Time steps since 1970 fit an `i64` for billions of years.
fn step_number(step: u64) -> i64 {
    i64::try_from(step).unwrap_or(i64::MAX)
}

fn parse_second_factor(raw: &str) -> Result<SecondFactor, Error> {
    let compact: String = raw.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_lowercase();
    if compact.len() == 6 && compact.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(SecondFactor::Code(compact));
    }
    if compact.len() == RECOVERY_CODE_CHARS && compact.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)) {
        return Ok(SecondFactor::RecoveryCode(compact));
    }
    Err(Error::invalid_field("code", "Expected a six-digit code or a recovery code like abcd-efgh-ijkl-mnop."))
}

/// A new recovery code, as shown: `abcd-efgh-ijkl-mnop`.
fn recovery_code() -> String {
    let mut bytes = [0u8; RECOVERY_CODE_CHARS];
    OsRng.fill_bytes(&mut bytes);
    let mut code = String::with_capacity(RECOVERY_CODE_CHARS + 3);
    for (i, byte) in bytes.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            code.push('-');
        }
        // 256 is a multiple of 32, so every letter is equally likely.
        code.push(RECOVERY_ALPHABET[usize::from(byte % 32)] as char);
    }
    code
}

/// The stored form of a recovery code, shown or typed in any grouping.
fn recovery_code_digest(code: &str) -> Vec<u8> {
    crypto::token_digest(&code.replace('-', ""))
}

/// The QR code of `text` as an SVG image: one square path per dark module,
/// inside the four-module quiet zone scanners need.
fn qr_code_svg(text: &str) -> Result<String, Error> {
    const QUIET_ZONE: i32 = 4;
    let qr = QrCode::encode_text(text, QrCodeEcc::Medium)
        .map_err(|error| Error::Internal(anyhow::anyhow!("QR code: {error:?}")))?;
    let side = qr.size() + 2 * QUIET_ZONE;
    let mut path = String::new();
    for y in 0..qr.size() {
        for x in 0..qr.size() {
            if qr.get_module(x, y) {
                write!(path, "M{},{}h1v1h-1z", x + QUIET_ZONE, y + QUIET_ZONE).expect("writing to a String");
            }
        }
    }
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" shape-rendering=\"crispEdges\">\
         <rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    ))
}

fn already_enabled() -> Error {
    Error::Conflict(Problem::new("AUTH_MFA_ALREADY_ENABLED", "Two-factor sign-in is already enabled."))
}

/// A wrong code while enrolling, from a signed-in caller.
fn not_enabled() -> Error {
    Error::Conflict(Problem::new("AUTH_MFA_NOT_ENABLED", "Two-factor sign-in is not enabled."))
}

fn code_invalid() -> Error {
    Error::Invalid(code_wrong())
}

/// A wrong code at sign-in: the sign-in is refused.
fn code_refused() -> Error {
    Error::Unauthenticated(code_wrong())
}

fn code_wrong() -> Problem {
    Problem::new("AUTH_MFA_CODE_INVALID", "This code is wrong or used; enter the current one.")
}

fn challenge_invalid() -> Error {
    Error::Unauthenticated(Problem::new(
        "AUTH_MFA_CHALLENGE_INVALID",
        "This sign-in has expired or was completed: sign in with your password again.",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_read_in_any_case_and_grouping_and_other_input_is_refused() {
        let code = recovery_code();
        assert_eq!(code.len(), 19);
        let SecondFactor::RecoveryCode(canonical) =
            parse_second_factor(&code.to_uppercase().replace('-', " ")).unwrap()
        else {
            panic!("{code} read as a TOTP code");
        };
        assert_eq!(recovery_code_digest(&canonical), recovery_code_digest(&code));
        assert!(matches!(parse_second_factor(" 123 456 "), Ok(SecondFactor::Code(code)) if code == "123456"));
        for malformed in ["", "12345", "1234567", "abcd-efgh-ijkl-mno1", "abcd-efgh-ijkl-mnopq"] {
            assert!(parse_second_factor(malformed).is_err(), "{malformed:?} was accepted");
        }
    }

    #[test]
    fn the_qr_code_is_an_svg_with_a_quiet_zone() {
        let svg = qr_code_svg("otpauth://totp/Incident%20Tracker:ada%40example.com?secret=JBSWY3DPEHPK3PXP").unwrap();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 "), "{svg}");
        let finder_top_row = (4..=10).map(|x| format!("M{x},4h1v1h-1z")).collect::<String>();
        assert!(svg.contains(&finder_top_row), "the finder pattern's top row starts after the quiet zone");
        assert!(!svg.contains("M3,") && !svg.contains(",3h"), "nothing is drawn in the quiet zone");
    }
}
