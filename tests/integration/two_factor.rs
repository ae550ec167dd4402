//! Two-factor sign-in end to end: enrolment, codes at sign-in computed by
//! the test's own RFC 6238 implementation (with the clock window's edges),
//! replay, recovery codes, the lockout, and disabling.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use incident_tracker::audit::PLATFORM_CHAIN;
use incident_tracker_client::types::{
    PasswordForgotRequest, PasswordResetRequest, TotpConfirmRequest, TotpEnrolRequest,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::browser::Browser;
use crate::common::{TestApp, TestDatabase, audit_actions, delivered_mails, scratch_dir, wait_for_mail_where};

const PASSWORD: &str = "correct horse battery staple";
const NEW_PASSWORD: &str = "tangerine submarine orchestra";
const STEP: u64 = 30;

/// RFC 6238 with RFC 4226's dynamic truncation: HMAC-SHA-1 of the step
/// number, six digits. Written here from the RFCs rather than taken from
/// the server's crate, so the two check each other.
fn code_at(secret: &[u8], step: u64) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret).unwrap();
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let number = u32::from_be_bytes(digest[offset..offset + 4].try_into().unwrap()) & 0x7fff_ffff;
    format!("{:06}", number % 1_000_000)
}

fn unix_seconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// The current time step, waited for until at least 10 s remain in it, so a
/// code meant for "one step from now" is still that when the server checks.
async fn steady_step() -> u64 {
    while unix_seconds() % STEP >= STEP - 10 {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    unix_seconds() / STEP
}

fn base32_decode(encoded: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut value, mut bytes) = (0u32, 0u32, Vec::new());
    for c in encoded.trim_end_matches('=').bytes() {
        value = (value << 5) | ALPHABET.iter().position(|&a| a == c).expect("base32") as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            bytes.push((value >> bits) as u8);
        }
    }
    bytes
}

/// The alerts of wrong codes delivered to `dir`, once `expected` arrived
/// (or 10 s passed), and a moment more for any beyond them.
async fn alert_mails(dir: &std::path::Path, expected: usize) -> Vec<String> {
    let read = || {
        let mails = delivered_mails(dir).into_iter();
        mails.filter(|mail| mail.contains("wrong code from your authenticator app")).collect::<Vec<_>>()
    };
    for _ in 0..200 {
        if read().len() >= expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    read()
}

struct Account<'a> {
    app: &'a TestApp,
    email: &'a str,
    /// Each sign-in comes from an address of its own, so the per-address
    /// limit on sign-ins stays out of the way of what is tested.
    next_address: std::cell::Cell<u8>,
}

impl Account<'_> {
    /// The password step: answers the challenge of `401 AUTH_MFA_REQUIRED`,
    /// or the error code otherwise.
    async fn password_step(&self, browser: &Browser, password: &str) -> Result<String, String> {
        let address = self.next_address.get();
        self.next_address.set(address + 1);
        let response = browser
            .http()
            .post(self.app.url("/v1/auth/login"))
            .header("x-forwarded-for", format!("198.51.100.{address}"))
            .json(&json!({ "email": self.email, "password": password }))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        match body["code"].as_str() {
            Some("AUTH_MFA_REQUIRED") => {
                assert_eq!(status, StatusCode::UNAUTHORIZED);
                assert_eq!(body["details"]["expiresInSeconds"], 300);
                Ok(body["details"]["challenge"].as_str().unwrap().to_string())
            }
            Some(code) => Err(code.to_string()),
            None => Err(format!("signed in without a code: {status}")),
        }
    }
}

/// Answers a challenge; `Ok` with the signed-in user's email, or the error.
async fn code_step(
    app: &TestApp,
    browser: &mut Browser,
    challenge: &str,
    code: &str,
) -> Result<String, (StatusCode, String)> {
    let body = json!({ "challenge": challenge, "code": code });
    let response = browser.http().post(app.url("/v1/auth/login/mfa")).json(&body).send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    if status.is_success() {
        browser.me().await;
        return Ok(body["user"]["email"].as_str().unwrap().to_string());
    }
    Err((status, body["code"].as_str().unwrap().to_string()))
}

async fn post_status(browser: &Browser, url: &str, body: Value) -> (StatusCode, Value) {
    let response = browser.http().post(url).json(&body).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Signs up and turns two-factor sign-in on; answers the secret and the
/// recovery codes.
pub(crate) async fn enable_two_factor(browser: &mut Browser, email: &str) -> (Vec<u8>, Vec<String>) {
    browser.signup(email, PASSWORD, "Grace").await;
    let enrol = TotpEnrolRequest { password: PASSWORD.parse().unwrap() };
    let enrolment = browser.api().totp_enrol(&enrol).await.unwrap().into_inner();
    let secret = base32_decode(&enrolment.secret);
    let step = steady_step().await;
    let confirm = TotpConfirmRequest { code: code_at(&secret, step).parse().unwrap() };
    let recovery_codes = browser.api().totp_confirm(&confirm).await.unwrap().into_inner().recovery_codes;
    assert!(browser.me().await.user.unwrap().two_factor_enabled);
    (secret, recovery_codes)
}

#[tokio::test(flavor = "multi_thread")]
async fn enrolment_gives_an_authenticator_what_it_needs_and_confirming_it_turns_codes_on() {
    let database = TestDatabase::migrated().await;
    let app = TestApp::spawn_on(&database, &[("TRUSTED_PROXIES", "127.0.0.1")]).await;
    let mut browser = Browser::open(&app.url("")).await;
    browser.signup("grace@example.com", PASSWORD, "Grace").await;
    let enrol_url = app.url("/v1/auth/totp");

    let (status, body) = post_status(&browser, &enrol_url, json!({ "password": "not the password at all" })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("AUTH_REAUTHENTICATION_FAILED")));

    let enrol = TotpEnrolRequest { password: PASSWORD.parse().unwrap() };
    let first = browser.api().totp_enrol(&enrol).await.unwrap().into_inner();
    // An enrolment left unconfirmed for 10 minutes can no longer be.
    let mut owner_db = database.owner_connection().await;
    let aged = diesel::sql_query("UPDATE totp_factors SET created_at = now() - interval '11 minutes'");
    diesel_async::RunQueryDsl::execute(aged, &mut owner_db).await.unwrap();
    let late = json!({ "code": code_at(&base32_decode(&first.secret), steady_step().await) });
    let (status, body) = post_status(&browser, &app.url("/v1/auth/totp/confirm"), late).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("AUTH_MFA_NOT_ENROLLING")));
    let enrolment = browser.api().totp_enrol(&enrol).await.unwrap().into_inner();
    assert_ne!(first.secret, enrolment.secret, "enrolling again replaces an unconfirmed secret");
    let secret = base32_decode(&enrolment.secret);
    assert_eq!(secret.len(), 20);
    let uri = &enrolment.otpauth_uri;
    assert!(uri.starts_with("otpauth://totp/Incident%20Tracker:grace%40example.com?"), "{uri}");
    // SHA-1, six digits and 30-second steps are the defaults the URI leaves out.
    for parameter in [format!("secret={}", enrolment.secret), "issuer=Incident%20Tracker".into()] {
        assert!(uri.contains(&parameter), "{uri} lacks {parameter}");
    }
    assert!(enrolment.qr_code_svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));

    let account = Account { app: &app, email: "grace@example.com", next_address: 1.into() };
    let other = Browser::open(&app.url("")).await;
    assert_eq!(
        account.password_step(&other, PASSWORD).await,
        Err("signed in without a code: 200 OK".into()),
        "an unconfirmed enrolment asks nothing at sign-in"
    );

    let step = steady_step().await;
    let confirm_url = app.url("/v1/auth/totp/confirm");
    let stale = code_at(&base32_decode(&first.secret), step);
    let (status, body) = post_status(&browser, &confirm_url, json!({ "code": stale })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("AUTH_MFA_CODE_INVALID")));
    let mut elsewhere = Browser::open(&app.url("")).await;
    elsewhere.login("grace@example.com", PASSWORD).await.unwrap();
    let confirm = TotpConfirmRequest { code: code_at(&secret, step).parse().unwrap() };
    let codes = browser.api().totp_confirm(&confirm).await.unwrap().into_inner().recovery_codes;
    assert!(elsewhere.me().await.user.is_none(), "turning two-factor on ends the account's other sessions");
    assert!(browser.me().await.user.is_some(), "the confirming browser goes on in a new session");
    assert_eq!(codes.len(), 10);
    assert_eq!(codes.iter().collect::<std::collections::HashSet<_>>().len(), 10);
    assert!(codes.iter().all(|code| code.len() == 19 && code.matches('-').count() == 3), "{codes:?}");
    assert!(browser.me().await.user.unwrap().two_factor_enabled);

    let (status, body) = post_status(&browser, &enrol_url, json!({ "password": PASSWORD })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("AUTH_MFA_ALREADY_ENABLED")));

    // The code that confirmed the enrolment is used: it signs nobody in.
    let mut other = Browser::open(&app.url("")).await;
    let challenge = account.password_step(&other, PASSWORD).await.unwrap();
    let replayed = code_step(&app, &mut other, &challenge, &code_at(&secret, step)).await;
    assert_eq!(replayed, Err((StatusCode::UNAUTHORIZED, "AUTH_MFA_CODE_INVALID".into())));
    assert!(other.me().await.user.is_none(), "the password alone started no session");
}

#[tokio::test(flavor = "multi_thread")]
async fn codes_are_accepted_one_step_either_side_of_now_once_each_and_recovery_codes_once() {
    let database = TestDatabase::migrated().await;
    let app = TestApp::spawn_on(&database, &[("TRUSTED_PROXIES", "127.0.0.1")]).await;
    let mut owner = Browser::open(&app.url("")).await;
    let (secret, recovery_codes) = enable_two_factor(&mut owner, "grace@example.com").await;
    // As if the enrolment were confirmed long ago: its code's step is
    // behind the window, which the edges below start from.
    let mut owner_db = database.owner_connection().await;
    diesel_async::RunQueryDsl::execute(diesel::sql_query("UPDATE totp_factors SET last_used_step = 0"), &mut owner_db)
        .await
        .unwrap();
    let account = Account { app: &app, email: "grace@example.com", next_address: 1.into() };
    let refused = || Err((StatusCode::UNAUTHORIZED, "AUTH_MFA_CODE_INVALID".to_string()));
    let signed_in = || Ok("grace@example.com".to_string());

    // The window: one step either side of now.
    let mut browser = Browser::open(&app.url("")).await;
    let challenge = account.password_step(&browser, PASSWORD).await.unwrap();
    let now = steady_step().await;
    assert_eq!(code_step(&app, &mut browser, &challenge, &code_at(&secret, now - 2)).await, refused());
    assert_eq!(code_step(&app, &mut browser, &challenge, &code_at(&secret, now + 2)).await, refused());
    let edge_code = code_at(&secret, now - 1);
    assert_eq!(code_step(&app, &mut browser, &challenge, &edge_code).await, signed_in());
    assert!(browser.me().await.user.unwrap().two_factor_enabled);
    let answered = code_step(&app, &mut Browser::open(&app.url("")).await, &challenge, &code_at(&secret, now)).await;
    assert_eq!(answered, Err((StatusCode::UNAUTHORIZED, "AUTH_MFA_CHALLENGE_INVALID".into())), "one use per challenge");

    // A code is accepted once.
    let mut browser = Browser::open(&app.url("")).await;
    let challenge = account.password_step(&browser, PASSWORD).await.unwrap();
    assert_eq!(code_step(&app, &mut browser, &challenge, &edge_code).await, refused(), "replayed");
    assert_eq!(unix_seconds() / STEP, now, "still inside the window the replayed code was accepted in");

    // Two sign-ins racing with the same fresh code: one gets in.
    let mut racers = [Browser::open(&app.url("")).await, Browser::open(&app.url("")).await];
    let challenges = [
        account.password_step(&racers[0], PASSWORD).await.unwrap(),
        account.password_step(&racers[1], PASSWORD).await.unwrap(),
    ];
    let code = code_at(&secret, steady_step().await);
    let [first, second] = &mut racers;
    let (a, b) =
        tokio::join!(code_step(&app, first, &challenges[0], &code), code_step(&app, second, &challenges[1], &code));
    assert_eq!([a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(), 1, "{a:?} {b:?}");

    // Inside the window, a code older than the last accepted one is
    // refused; one a step ahead is accepted.
    let mut browser = Browser::open(&app.url("")).await;
    let challenge = account.password_step(&browser, PASSWORD).await.unwrap();
    let now = steady_step().await;
    assert_eq!(code_step(&app, &mut browser, &challenge, &code_at(&secret, now - 1)).await, refused());
    assert_eq!(code_step(&app, &mut browser, &challenge, &code_at(&secret, now + 1)).await, signed_in());

    // Recovery codes: any case and grouping, each once.
    let mut browser = Browser::open(&app.url("")).await;
    let challenge = account.password_step(&browser, PASSWORD).await.unwrap();
    let typed = recovery_codes[0].to_uppercase().replace('-', " ");
    assert_eq!(code_step(&app, &mut browser, &challenge, &typed).await, signed_in());
    let mut browser = Browser::open(&app.url("")).await;
    let challenge = account.password_step(&browser, PASSWORD).await.unwrap();
    assert_eq!(code_step(&app, &mut browser, &challenge, &recovery_codes[0]).await, refused(), "used");
    assert_eq!(code_step(&app, &mut browser, &challenge, &recovery_codes[1]).await, signed_in());

    // Disabling takes the password and a code.
    let disable_url = app.url("/v1/auth/totp/disable");
    let wrong_code = json!({ "password": PASSWORD, "code": recovery_codes[0] });
    let (status, body) = post_status(&browser, &disable_url, wrong_code).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("AUTH_REAUTHENTICATION_FAILED")));
    let wrong_password = json!({ "password": NEW_PASSWORD, "code": recovery_codes[2] });
    let (status, _) = post_status(&browser, &disable_url, wrong_password).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) =
        post_status(&browser, &disable_url, json!({ "password": PASSWORD, "code": recovery_codes[2] })).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(!browser.me().await.user.unwrap().two_factor_enabled);
    let (status, body) = post_status(&browser, &disable_url, json!({ "password": PASSWORD, "code": "123456" })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("AUTH_MFA_NOT_ENABLED")));
    let mut plain = Browser::open(&app.url("")).await;
    assert_eq!(account.password_step(&plain, PASSWORD).await, Err("signed in without a code: 200 OK".into()));
    assert!(plain.me().await.user.is_some());

    let actions = audit_actions(&mut owner_db, PLATFORM_CHAIN).await;
    let count = |wanted: &str| actions.iter().filter(|action| *action == wanted).count();
    assert_eq!(count("auth.mfa_enrolment_started"), 1);
    assert_eq!(count("auth.mfa_enabled"), 1);
    assert_eq!(count("auth.mfa_challenged"), 7, "{actions:?}");
    assert_eq!(count("auth.mfa_failed"), 6, "{actions:?}");
    assert_eq!(count("auth.recovery_code_used"), 2);
    assert_eq!(count("auth.reauthentication_failed"), 2);
    assert_eq!(count("auth.mfa_disabled"), 1);
}

/// Wrong codes count toward the lockout like wrong passwords, and the
/// right password does not clear them; a reset lifts the lock, voids
/// waiting challenges and leaves the second factor on.
#[tokio::test(flavor = "multi_thread")]
async fn wrong_codes_lock_the_account_and_a_reset_voids_waiting_challenges() {
    let data_dir = scratch_dir("two-factor-lockout");
    let vars = [("TRUSTED_PROXIES", "127.0.0.1"), ("DATA_DIR", data_dir.to_str().unwrap())];
    let app = TestApp::spawn_with(&vars).await;
    let mut owner = Browser::open(&app.url("")).await;
    let (secret, _) = enable_two_factor(&mut owner, "hedy@example.com").await;
    let account = Account { app: &app, email: "hedy@example.com", next_address: 1.into() };

    let mut browser = Browser::open(&app.url("")).await;
    let waiting = account.password_step(&browser, PASSWORD).await.unwrap();
    // Three wrong codes void a challenge: guessing on goes back through the
    // password step.
    let challenge = account.password_step(&browser, PASSWORD).await.unwrap();
    for _ in 0..3 {
        let wrong = code_step(&app, &mut browser, &challenge, "000000").await;
        assert_eq!(wrong, Err((StatusCode::UNAUTHORIZED, "AUTH_MFA_CODE_INVALID".into())));
    }
    let now = steady_step().await;
    let voided = code_step(&app, &mut browser, &challenge, &code_at(&secret, now + 1)).await;
    assert_eq!(voided, Err((StatusCode::UNAUTHORIZED, "AUTH_MFA_CHALLENGE_INVALID".into())));
    // Each round counts twice: the password step, which only a code
    // completes, and the wrong code.
    for round in 0..2 {
        let challenge = account.password_step(&browser, PASSWORD).await.unwrap();
        let wrong = code_step(&app, &mut browser, &challenge, "000000").await;
        assert_eq!(wrong, Err((StatusCode::UNAUTHORIZED, "AUTH_MFA_CODE_INVALID".into())), "round {round}");
    }
    let tenth = code_step(&app, &mut browser, &waiting, "000000").await;
    assert_eq!(tenth, Err((StatusCode::UNAUTHORIZED, "AUTH_MFA_CODE_INVALID".into())));
    let now = steady_step().await;
    let locked = code_step(&app, &mut browser, &waiting, &code_at(&secret, now + 1)).await;
    assert_eq!(locked, Err((StatusCode::TOO_MANY_REQUESTS, "AUTH_ACCOUNT_LOCKED".into())), "even the right code");
    assert_eq!(account.password_step(&browser, PASSWORD).await, Err("AUTH_ACCOUNT_LOCKED".into()));

    // Whoever got this far knows the password: the owner is told at each
    // challenge's first wrong code, in at most 3 mails an hour.
    let alerts = alert_mails(&data_dir.join("mail"), 3).await;
    assert_eq!(alerts.len(), 3, "four challenges took wrong codes");
    assert!(alerts[0].contains("hedy@example.com") && alerts[0].contains("reset it now"), "{}", alerts[0]);

    let request = PasswordForgotRequest { email: "hedy@example.com".parse().unwrap() };
    browser.api().password_forgot(&request).await.unwrap();
    let mail = wait_for_mail_where(&data_dir.join("mail"), |mail| mail.contains("/reset-password?token=")).await;
    let start = mail.find("/reset-password?token=").unwrap() + 22;
    let reset = PasswordResetRequest {
        token: mail[start..start + 43].parse().unwrap(),
        password: NEW_PASSWORD.parse().unwrap(),
    };
    browser.api().password_reset(&reset).await.unwrap();
    browser.me().await;

    let now = steady_step().await;
    let voided = code_step(&app, &mut browser, &waiting, &code_at(&secret, now + 1)).await;
    assert_eq!(voided, Err((StatusCode::UNAUTHORIZED, "AUTH_MFA_CHALLENGE_INVALID".into())));
    let challenge = account.password_step(&browser, NEW_PASSWORD).await.expect("the second factor stays on");
    let code = code_at(&secret, now + 1);
    assert_eq!(code_step(&app, &mut browser, &challenge, &code).await, Ok("hedy@example.com".into()));
    std::fs::remove_dir_all(&data_dir).ok();
}
