//! Accounts and sessions end to end, through a cookie-jar client: sign-up,
//! sign-in, sign-out, password reset by mail, CSRF, rate limits, lockout,
//! cookie flags and what reaches the logs.

use std::path::Path;
use std::time::{Duration, Instant};

use incident_tracker_client::types::{PasswordForgotRequest, PasswordResetRequest};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::browser::Browser;
use crate::common::free_port;
use crate::common::redis::RedisServer;
use crate::common::smtp::SmtpSink;
use crate::common::{TestApp, TestDatabase, audit_actions, readable, scratch_dir, wait_for_mail};
use incident_tracker::audit::PLATFORM_CHAIN;

const PASSWORD: &str = "correct horse battery staple";
const NEW_PASSWORD: &str = "tangerine submarine orchestra";

/// Waits up to `within` for the outbox to empty; answers the rows left.
async fn outbox_rows_left(owner: &mut diesel_async::AsyncPgConnection, within: Duration) -> i64 {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use incident_tracker::db::schema::mail_outbox;

    let deadline = Instant::now() + within;
    loop {
        let left = mail_outbox::table.select(diesel::dsl::count_star()).get_result(owner).await.unwrap();
        if left == 0 || Instant::now() > deadline {
            return left;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn reset_token(mail: &str) -> String {
    let start = mail.find("/reset-password?token=").expect("the mail holds a reset link") + 22;
    mail[start..start + 43].to_string()
}

async fn error_code(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    (status, body["code"].as_str().unwrap_or_default().to_string())
}

/// Sign up, sign out, sign in, forget the password, reset it from the mail:
/// every session of the account ends, and only the new password works.
async fn account_lifecycle(app: &TestApp, inbox: &Path) {
    let base = app.url("");
    let mut browser = Browser::open(&base).await;
    let anonymous_cookie = browser.session_cookie().expect("GET /v1/auth/me sets the session cookie");

    let me = browser.signup(" Ada@Example.com ", PASSWORD, "Ada Lovelace").await;
    let user = me.user.expect("signed in after sign-up");
    assert_eq!(user.email, "ada@example.com");
    assert_eq!(user.name, "Ada Lovelace");
    let signed_in_cookie = browser.session_cookie().unwrap();
    assert_ne!(signed_in_cookie, anonymous_cookie, "sign-up starts a new session id");
    assert_eq!(browser.me().await.user.unwrap().id, user.id);

    let taken = browser.http().post(app.url("/v1/auth/signup")).json(&json!({
        "email": "ADA@example.com", "password": PASSWORD, "name": "Impostor"
    }));
    assert_eq!(error_code(taken.send().await.unwrap()).await, (StatusCode::CONFLICT, "AUTH_EMAIL_TAKEN".into()));

    browser.api().auth_logout().await.unwrap();
    assert!(browser.me().await.user.is_none(), "signed out");
    let stale = Browser::open(&base).await;
    stale.set_session_cookie(&signed_in_cookie);
    let mut stale = stale;
    assert!(stale.me().await.user.is_none(), "the old session ended on the server, not just in the browser");

    assert_eq!(
        browser.login("ada@example.com", "wrong password, long enough").await.err().as_deref(),
        Some("AUTH_INVALID_CREDENTIALS")
    );
    assert_eq!(browser.login("ADA@example.com", PASSWORD).await.unwrap().user.unwrap().id, user.id);
    let mut second_device = Browser::open(&base).await;
    second_device.login("ada@example.com", PASSWORD).await.unwrap();

    let mut forgetful = Browser::open(&base).await;
    let request = PasswordForgotRequest { email: "ada@example.com".parse().unwrap() };
    forgetful.api().password_forgot(&request).await.unwrap();
    let token = reset_token(&wait_for_mail(inbox).await);
    let reset = PasswordResetRequest { token: token.parse().unwrap(), password: NEW_PASSWORD.parse().unwrap() };
    forgetful.api().password_reset(&reset).await.unwrap();
    forgetful.me().await; // the reset started a new session, with a new CSRF token

    assert!(browser.me().await.user.is_none(), "a reset ends every session of the account");
    assert!(second_device.me().await.user.is_none(), "a reset ends every session of the account");
    assert_eq!(forgetful.login("ada@example.com", PASSWORD).await.err().as_deref(), Some("AUTH_INVALID_CREDENTIALS"));
    assert_eq!(forgetful.login("ada@example.com", NEW_PASSWORD).await.unwrap().user.unwrap().id, user.id);

    let reused = json!({ "token": token, "password": "yet another long passphrase" });
    let response = forgetful.http().post(app.url("/v1/auth/password/reset")).json(&reused).send().await.unwrap();
    assert_eq!(error_code(response).await, (StatusCode::BAD_REQUEST, "AUTH_RESET_TOKEN_INVALID".into()));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_account_lifecycle_works_on_the_in_memory_store_with_mail_as_files() {
    let data_dir = scratch_dir("auth-memory");
    let app = TestApp::spawn_with(&[("DATA_DIR", data_dir.to_str().unwrap())]).await;
    account_lifecycle(&app, &data_dir.join("mail")).await;
    std::fs::remove_dir_all(&data_dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_account_lifecycle_works_on_redis_with_mail_over_smtp() {
    let redis = RedisServer::start().await;
    let smtp = SmtpSink::start().await;
    let app = TestApp::spawn_with(&[("REDIS_URL", &redis.url()), ("SMTP_URL", &smtp.url())]).await;
    account_lifecycle(&app, &smtp.inbox()).await;
}

/// Every mutating auth endpoint refuses a request without this session's
/// token, and the refused request changes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn mutating_auth_endpoints_need_the_sessions_csrf_token() {
    let data_dir = scratch_dir("auth-csrf");
    let database = crate::common::TestDatabase::migrated().await;
    let app = TestApp::spawn_on(&database, &[("DATA_DIR", data_dir.to_str().unwrap())]).await;
    let base = app.url("");
    let mut victim = Browser::open(&base).await;
    victim.signup("grace@example.com", PASSWORD, "Grace Hopper").await;
    victim.api().password_forgot(&PasswordForgotRequest { email: "grace@example.com".parse().unwrap() }).await.unwrap();
    let mail_dir = data_dir.join("mail");
    let reset_token = reset_token(&wait_for_mail(&mail_dir).await);
    let other = Browser::open(&base).await;

    let requests: [(&str, Value); 5] = [
        ("/v1/auth/signup", json!({ "email": "mallory@example.com", "password": PASSWORD, "name": "Mallory" })),
        ("/v1/auth/login", json!({ "email": "grace@example.com", "password": PASSWORD })),
        ("/v1/auth/logout", Value::Null),
        ("/v1/auth/password/forgot", json!({ "email": "grace@example.com" })),
        ("/v1/auth/password/reset", json!({ "token": reset_token, "password": NEW_PASSWORD })),
    ];
    let cookie = format!("session={}", victim.session_cookie().unwrap());
    for (path, body) in &requests {
        for token in [None, Some("not-the-token"), Some(other.csrf_token())] {
            let mut request = reqwest::Client::new().post(app.url(path)).header("cookie", &cookie);
            if let Some(token) = token {
                request = request.header("x-csrf-token", token);
            }
            if !body.is_null() {
                request = request.json(body);
            }
            let (status, code) = error_code(request.send().await.unwrap()).await;
            assert_eq!((status, code.as_str()), (StatusCode::FORBIDDEN, "CSRF_TOKEN_INVALID"), "{path} with {token:?}");
        }
    }
    // Without any session there is no token to match either.
    let (path, body) = &requests[1];
    let response = reqwest::Client::new().post(app.url(path)).json(body).send().await.unwrap();
    assert_eq!(error_code(response).await, (StatusCode::FORBIDDEN, "CSRF_TOKEN_INVALID".into()));

    // Nothing happened: no account, no sign-in, no sign-out, no mail, no reset.
    let mut mallory = Browser::open(&base).await;
    assert_eq!(mallory.login("mallory@example.com", PASSWORD).await.err().as_deref(), Some("AUTH_INVALID_CREDENTIALS"));
    assert!(other.api().me_view().await.unwrap().into_inner().user.is_none(), "the other session is still anonymous");
    assert!(victim.me().await.user.is_some(), "still signed in: logout was refused");
    let reset_tokens: i64 = {
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        use incident_tracker::db::schema::password_reset_tokens;
        let query = password_reset_tokens::table.select(diesel::dsl::count_star());
        query.get_result(&mut database.owner_connection().await).await.unwrap()
    };
    assert_eq!(reset_tokens, 1, "only the first reset was requested");
    let reset = PasswordResetRequest { token: reset_token.parse().unwrap(), password: NEW_PASSWORD.parse().unwrap() };
    victim.api().password_reset(&reset).await.expect("the reset token is still unused");
    std::fs::remove_dir_all(&data_dir).ok();
}

/// The real endpoints answer malformed requests in the documented format,
/// and create nothing.
#[tokio::test(flavor = "multi_thread")]
async fn malformed_auth_requests_are_400_and_create_nothing() {
    let app = TestApp::spawn().await;
    let mut browser = Browser::open(&app.url("")).await;
    let signup = app.url("/v1/auth/signup");
    let valid = json!({ "email": "barbara@example.com", "password": PASSWORD, "name": "Barbara" });
    let mut with_extra_field = valid.clone();
    with_extra_field["role"] = json!("admin");
    let mut without_name = valid.clone();
    without_name.as_object_mut().unwrap().remove("name");
    for request in [
        browser.http().post(&signup).json(&with_extra_field),
        browser.http().post(&signup).json(&without_name),
        browser.http().post(&signup).header("content-type", "application/json").body("{\"email\": "),
        browser.http().post(&signup).header("content-type", "text/plain").body(valid.to_string()),
    ] {
        let response = request.send().await.unwrap();
        let header = crate::common::request_id(&response);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "VALIDATION_FAILED", "{body}");
        assert_eq!(body["traceId"], header.as_str());
    }
    let me = browser.signup("barbara@example.com", PASSWORD, "Barbara").await;
    assert_eq!(me.user.unwrap().email, "barbara@example.com", "none of the malformed sign-ups created the account");
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_out_needs_a_signed_in_session() {
    let app = TestApp::spawn().await;
    let browser = Browser::open(&app.url("")).await;
    let response = browser.http().post(app.url("/v1/auth/logout")).send().await.unwrap();
    assert_eq!(error_code(response).await, (StatusCode::UNAUTHORIZED, "AUTH_REQUIRED".into()));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_session_cookie_is_http_only_lax_and_a_secure_host_cookie_in_production() {
    let app = TestApp::spawn().await;
    let response = reqwest::get(app.url("/v1/auth/me")).await.unwrap();
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_string();
    let id = cookie.strip_prefix("session=").unwrap().split(';').next().unwrap();
    assert!(id.len() >= 22, "at least 128 bits: {id}");
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain-HTTP development keeps the cookie usable: {cookie}");

    let redis = RedisServer::start().await;
    let production = TestApp::spawn_with(&[
        ("APP_ENV", "production"),
        ("REDIS_URL", &redis.url()),
        ("SESSION_SECRET", &"s".repeat(32)),
        ("PUBLIC_BASE_URL", "https://incidents.example.com"),
        ("SMTP_URL", "smtp://127.0.0.1:9"),
        ("CLAMD_URL", "tcp://127.0.0.1:9"),
    ])
    .await;
    let response = reqwest::get(production.url("/v1/auth/me")).await.unwrap();
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("__Host-session=") && cookie.contains("; Secure"), "{cookie}");
    assert!(cookie.contains("; Path=/") && !cookie.contains("Domain"), "{cookie}");

    // Only its own name is read: a `session` cookie a sibling subdomain
    // planted names no session here, and the server starts a new one.
    let id = cookie.strip_prefix("__Host-session=").unwrap().split(';').next().unwrap();
    let http = reqwest::Client::new();
    let planted = http.get(production.url("/v1/auth/me")).header("cookie", format!("session={id}")).send().await;
    let planted = planted.unwrap().headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(!planted.contains(id), "{planted}");
    let own = http.get(production.url("/v1/auth/me")).header("cookie", format!("__Host-session={id}")).send().await;
    assert!(own.unwrap().headers().get("set-cookie").is_none(), "the cookie's own name is the session");
}

async fn attempt_login(http: &reqwest::Client, url: &str, password: &str) -> reqwest::Response {
    http.post(url).json(&json!({ "email": "linus@example.com", "password": password })).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sixth_login_attempt_in_fifteen_minutes_is_rate_limited() {
    let app = TestApp::spawn().await;
    let mut browser = Browser::open(&app.url("")).await;
    browser.signup("linus@example.com", PASSWORD, "Linus").await;
    let url = app.url("/v1/auth/login");
    let http = browser.http();
    for _ in 0..5 {
        let (status, _) = error_code(attempt_login(&http, &url, "not my password at all").await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let response = attempt_login(&http, &url, PASSWORD).await;
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    assert_eq!(error_code(response).await, (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED".into()));
}

/// Twenty wrong passwords at once, through two instances sharing Redis: the
/// limit is counted atomically, so no more than five get checked.
#[tokio::test(flavor = "multi_thread")]
async fn parallel_attempts_on_two_instances_never_exceed_the_limit() {
    let redis = RedisServer::start().await;
    let secret = "k".repeat(32);
    let vars = [("REDIS_URL", redis.url()), ("SESSION_SECRET", secret)];
    let vars: Vec<(&str, &str)> = vars.iter().map(|(name, value)| (*name, value.as_str())).collect();
    let (first, second) = (TestApp::spawn_with(&vars).await, TestApp::spawn_with(&vars).await);
    let browser = Browser::open(&first.url("")).await;
    let http = browser.http();
    let mut attempts = tokio::task::JoinSet::new();
    for i in 0..20 {
        let url = if i % 2 == 0 { first.url("/v1/auth/login") } else { second.url("/v1/auth/login") };
        let http = http.clone();
        attempts.spawn(async move { attempt_login(&http, &url, "not my password at all").await.status() });
    }
    let statuses = attempts.join_all().await;
    let checked = statuses.iter().filter(|status| **status == StatusCode::UNAUTHORIZED).count();
    let limited = statuses.iter().filter(|status| **status == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((checked, limited), (5, 15), "{statuses:?}");
}

/// Ten failures from any addresses lock the account, even for the right
/// password, and a success in between starts the count again; the lock
/// says when to come back.
async fn lockout(vars: &[(&str, &str)]) {
    let data_dir = scratch_dir("lockout");
    let mut all = vec![("TRUSTED_PROXIES", "127.0.0.1"), ("DATA_DIR", data_dir.to_str().unwrap())];
    all.extend_from_slice(vars);
    let database = TestDatabase::migrated().await;
    let app = TestApp::spawn_on(&database, &all).await;
    let mut browser = Browser::open(&app.url("")).await;
    browser.signup("linus@example.com", PASSWORD, "Linus").await;
    let (http, url) = (browser.http(), app.url("/v1/auth/login"));
    let from = |client: u8, password: &str| {
        http.post(&url)
            .header("x-forwarded-for", format!("198.51.100.{client}"))
            .json(&json!({ "email": "linus@example.com", "password": password }))
            .send()
    };
    let mut client = 0;
    for failures in [9, 10] {
        for attempt in 0..failures {
            client += 1;
            let (status, code) = error_code(from(client, "not my password at all").await.unwrap()).await;
            assert_eq!((status, code.as_str()), (StatusCode::UNAUTHORIZED, "AUTH_INVALID_CREDENTIALS"), "{attempt}");
        }
        if failures == 9 {
            let mut owner = Browser::open(&app.url("")).await;
            assert!(owner.login("linus@example.com", PASSWORD).await.is_ok(), "nine failures do not lock");
        }
    }
    let response = from(200, PASSWORD).await.unwrap();
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((800..=900).contains(&retry_after), "{retry_after}");
    assert_eq!(error_code(response).await, (StatusCode::TOO_MANY_REQUESTS, "AUTH_ACCOUNT_LOCKED".into()));
    let actions = audit_actions(&mut database.owner_connection().await, PLATFORM_CHAIN).await;
    let locked = actions.iter().filter(|action| *action == "auth.account_locked").count();
    assert_eq!(locked, 1, "the tenth failure locked the account: {actions:?}");
    assert_eq!(actions.iter().filter(|action| *action == "auth.login_failed").count(), 19);

    // Whoever resets the password holds the mailbox: that lifts the lock.
    let request = PasswordForgotRequest { email: "linus@example.com".parse().unwrap() };
    browser.api().password_forgot(&request).await.unwrap();
    let token = reset_token(&wait_for_mail(&data_dir.join("mail")).await);
    let reset = PasswordResetRequest { token: token.parse().unwrap(), password: NEW_PASSWORD.parse().unwrap() };
    browser.api().password_reset(&reset).await.unwrap();
    let mut after_reset = Browser::open(&app.url("")).await;
    assert!(after_reset.login("linus@example.com", NEW_PASSWORD).await.is_ok(), "a reset lifts the lockout");
}

#[tokio::test(flavor = "multi_thread")]
async fn any_compatible_form_of_a_password_signs_in_and_old_hashes_are_upgraded_at_sign_in() {
    use argon2::PasswordHasher;
    use diesel_async::{RunQueryDsl, SimpleAsyncConnection};

    let database = TestDatabase::migrated().await;
    let app = TestApp::spawn_on(&database, &[]).await;
    // A ligature, a full-width letter and a decomposed accent; and what
    // NFKC makes of them.
    let typed = "\u{FB01}ve \u{FF21}pples cafe\u{301} au lait";
    let plain = "five Apples caf\u{E9} au lait";
    let mut browser = Browser::open(&app.url("")).await;
    browser.signup("nora@example.com", typed, "Nora").await;
    let mut elsewhere = Browser::open(&app.url("")).await;
    assert!(elsewhere.login("nora@example.com", plain).await.is_ok(), "the plain form is the same password");

    // As an account from before normalization: a hash of the typed form.
    let salt = argon2::password_hash::SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    let old = argon2::Argon2::default().hash_password(typed.as_bytes(), &salt).unwrap().to_string();
    let mut owner = database.owner_connection().await;
    owner
        .batch_execute(&format!(
            "UPDATE users SET password_hash = '{old}', password_normalized = false WHERE email = 'nora@example.com'"
        ))
        .await
        .unwrap();
    assert_eq!(elsewhere.login("nora@example.com", plain).await.err().as_deref(), Some("AUTH_INVALID_CREDENTIALS"));
    assert!(elsewhere.login("nora@example.com", typed).await.is_ok(), "an old hash keeps working");
    #[derive(diesel::QueryableByName)]
    struct Stored {
        #[diesel(sql_type = diesel::sql_types::Text)]
        password_hash: String,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        password_normalized: bool,
    }
    let stored: Stored =
        diesel::sql_query("SELECT password_hash, password_normalized FROM users WHERE email = 'nora@example.com'")
            .get_result(&mut owner)
            .await
            .unwrap();
    assert!(stored.password_normalized && stored.password_hash != old, "rehashed at that sign-in");
    assert!(elsewhere.login("nora@example.com", plain).await.is_ok(), "and now in its normalized form");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reset_link_request_is_answered_before_any_account_is_looked_up() {
    use diesel_async::SimpleAsyncConnection;

    let data_dir = scratch_dir("forgot");
    let database = TestDatabase::migrated().await;
    let app = TestApp::spawn_on(&database, &[("DATA_DIR", data_dir.to_str().unwrap())]).await;
    let mut browser = Browser::open(&app.url("")).await;
    browser.signup("known@example.com", PASSWORD, "Known").await;
    let http = browser.http();
    let forgot = |email: &str| {
        let asked = http.post(app.url("/v1/auth/password/forgot")).json(&json!({ "email": email })).send();
        async { tokio::time::timeout(Duration::from_secs(10), asked).await.expect("answered").unwrap().status() }
    };

    // While the accounts cannot be read, the answer still comes, the same
    // for an account and for none: nothing in it waits on the lookup. Four
    // are worked on at once; a fifth is turned away before any lookup.
    let mut owner = database.owner_connection().await;
    owner.batch_execute("BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE").await.unwrap();
    for email in ["known@example.com", "nobody@example.com", "noone@example.com", "none@example.com"] {
        assert_eq!(forgot(email).await, StatusCode::ACCEPTED, "{email}");
    }
    assert_eq!(forgot("known@example.com").await, StatusCode::SERVICE_UNAVAILABLE);
    owner.batch_execute("COMMIT").await.unwrap();
    let mail = readable(&wait_for_mail(&data_dir.join("mail")).await);
    assert!(mail.contains("To: known@example.com"), "{mail}");

    // Ten requests per client address in 15 minutes, whatever the email.
    for _ in 5..10 {
        let answered = forgot("nobody@example.com").await;
        assert!([StatusCode::ACCEPTED, StatusCode::SERVICE_UNAVAILABLE].contains(&answered), "{answered}");
    }
    assert_eq!(forgot("known@example.com").await, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_consecutive_failures_lock_the_account_in_memory() {
    lockout(&[]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_consecutive_failures_lock_the_account_on_redis() {
    let redis = RedisServer::start().await;
    lockout(&[("REDIS_URL", &redis.url())]).await;
}

/// Twenty guesses at once from twenty addresses, through two instances:
/// exactly ten are checked before the lock holds, so a right guess among
/// the rest would not get in either.
#[tokio::test(flavor = "multi_thread")]
async fn parallel_guesses_from_many_addresses_never_pass_the_lockout() {
    let redis = RedisServer::start().await;
    let secret = "k".repeat(32);
    let vars = [("REDIS_URL", redis.url()), ("SESSION_SECRET", secret), ("TRUSTED_PROXIES", "127.0.0.1".into())];
    let vars: Vec<(&str, &str)> = vars.iter().map(|(name, value)| (*name, value.as_str())).collect();
    let (first, second) = (TestApp::spawn_with(&vars).await, TestApp::spawn_with(&vars).await);
    let mut browser = Browser::open(&first.url("")).await;
    browser.signup("linus@example.com", PASSWORD, "Linus").await;
    let http = browser.http();
    let mut guesses = tokio::task::JoinSet::new();
    for client in 0..20 {
        let url = if client % 2 == 0 { first.url("/v1/auth/login") } else { second.url("/v1/auth/login") };
        let request = http
            .post(url)
            .header("x-forwarded-for", format!("198.51.100.{client}"))
            .json(&json!({ "email": "linus@example.com", "password": "not my password at all" }));
        guesses.spawn(async move { error_code(request.send().await.unwrap()).await });
    }
    let outcomes = guesses.join_all().await;
    let count = |code: &str| outcomes.iter().filter(|(_, outcome)| outcome == code).count();
    assert_eq!((count("AUTH_INVALID_CREDENTIALS"), count("AUTH_ACCOUNT_LOCKED")), (10, 10), "{outcomes:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn passwords_are_checked_against_the_policy_and_huge_ones_refused_unread() {
    let app = TestApp::spawn().await;
    let browser = Browser::open(&app.url("")).await;
    let signup = |password: String| {
        let body = json!({ "email": "mary@example.com", "password": password, "name": "Mary" });
        browser.http().post(app.url("/v1/auth/signup")).json(&body).send()
    };
    for (password, reason) in [
        ("too short".to_string(), "too_short"),
        ("x".repeat(129), "too_long"),
        ("passwordpassword".to_string(), "common"),
        ("mary's own long passphrase".to_string(), "contains_email"),
    ] {
        let response = signup(password).await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            (body["code"].as_str(), body["details"]["reason"].as_str()),
            (Some("AUTH_PASSWORD_REJECTED"), Some(reason))
        );
    }
    // At sign-in only what no password can be, even before normalizing, is
    // refused unread.
    let login = json!({ "email": "mary@example.com", "password": "x".repeat(513) });
    let response = browser.http().post(app.url("/v1/auth/login")).json(&login).send().await.unwrap();
    assert_eq!(error_code(response).await, (StatusCode::BAD_REQUEST, "AUTH_PASSWORD_REJECTED".into()));
    let login = json!({ "email": "mary@example.com", "password": "e\u{301}".repeat(100) });
    let response = browser.http().post(app.url("/v1/auth/login")).json(&login).send().await.unwrap();
    assert_eq!(error_code(response).await, (StatusCode::UNAUTHORIZED, "AUTH_INVALID_CREDENTIALS".into()));
    let (status, code) = error_code(signup("x".repeat(1024 * 1024)).await.unwrap()).await;
    assert_eq!((status, code.as_str()), (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE"));
    let login = json!({ "email": "mary@example.com", "password": "x".repeat(1024 * 1024) });
    let response = browser.http().post(app.url("/v1/auth/login")).json(&login).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let malformed = json!({ "email": "not an email", "password": PASSWORD, "name": "Mary" });
    let response = browser.http().post(app.url("/v1/auth/signup")).json(&malformed).send().await.unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!((body["code"].as_str(), body["details"]["field"].as_str()), (Some("VALIDATION_FAILED"), Some("email")));
}

#[tokio::test(flavor = "multi_thread")]
async fn forgot_password_answers_the_same_for_unknown_emails_and_mails_nobody() {
    let data_dir = scratch_dir("auth-forgot");
    let app = TestApp::spawn_with(&[("DATA_DIR", data_dir.to_str().unwrap())]).await;
    let browser = Browser::open(&app.url("")).await;
    let response =
        browser.http().post(app.url("/v1/auth/password/forgot")).json(&json!({ "email": "nobody@example.com" }));
    let response = response.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({ "linkValidForSeconds": 1800 }));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!data_dir.join("mail").exists());
    std::fs::remove_dir_all(&data_dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_reset_token_is_refused_and_leaves_the_password_alone() {
    use diesel_async::RunQueryDsl;
    let data_dir = scratch_dir("auth-expired");
    let database = crate::common::TestDatabase::migrated().await;
    let app = TestApp::spawn_on(&database, &[("DATA_DIR", data_dir.to_str().unwrap())]).await;
    let mut browser = Browser::open(&app.url("")).await;
    browser.signup("alan@example.com", PASSWORD, "Alan").await;
    browser.api().password_forgot(&PasswordForgotRequest { email: "alan@example.com".parse().unwrap() }).await.unwrap();
    let token = reset_token(&wait_for_mail(&data_dir.join("mail")).await);
    diesel::sql_query("UPDATE password_reset_tokens SET expires_at = now() - interval '1 second'")
        .execute(&mut database.owner_connection().await)
        .await
        .unwrap();
    let reset = json!({ "token": token, "password": NEW_PASSWORD });
    let response = browser.http().post(app.url("/v1/auth/password/reset")).json(&reset).send().await.unwrap();
    assert_eq!(error_code(response).await, (StatusCode::BAD_REQUEST, "AUTH_RESET_TOKEN_INVALID".into()));
    assert!(browser.me().await.user.is_some(), "a refused reset ends no session");
    std::fs::remove_dir_all(&data_dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_end_after_the_idle_and_the_absolute_timeout() {
    let (idle_timeout, absolute_timeout) = (Duration::from_secs(2), Duration::from_secs(6));
    let app =
        TestApp::spawn_with(&[("SESSION_IDLE_TIMEOUT_SECONDS", "2"), ("SESSION_ABSOLUTE_TIMEOUT_SECONDS", "6")]).await;
    let mut idle = Browser::open(&app.url("")).await;
    idle.signup("idle@example.com", PASSWORD, "Idle").await;
    let idle_since = Instant::now();
    let mut busy = Browser::open(&app.url("")).await;
    let signed_in = Instant::now();
    busy.signup("busy@example.com", PASSWORD, "Busy").await;
    // Margins of a second or more either side, for slow machines.
    while signed_in.elapsed() < absolute_timeout - Duration::from_secs(2) {
        tokio::time::sleep(idle_timeout / 4).await;
        assert!(busy.me().await.user.is_some(), "activity keeps a session alive until the absolute timeout");
    }
    assert!(idle_since.elapsed() > idle_timeout + Duration::from_secs(1));
    assert!(idle.me().await.user.is_none(), "unused for longer than the idle timeout");
    tokio::time::sleep((absolute_timeout + Duration::from_secs(1)).saturating_sub(signed_in.elapsed())).await;
    assert!(busy.me().await.user.is_none(), "past the absolute timeout, however busy");
}

/// Account events reach the audit log (the platform's chain, for a user
/// in no tenant), and none of the secrets or emails the flows used reach
/// the log.
#[tokio::test(flavor = "multi_thread")]
async fn account_events_are_audited_and_no_secrets_or_emails_are_logged() {
    let log = crate::common::capture_logs();
    let data_dir = scratch_dir("auth-logs");
    let database = TestDatabase::migrated().await;
    let app = TestApp::spawn_on(&database, &[("DATA_DIR", data_dir.to_str().unwrap())]).await;
    let mut browser = Browser::open(&app.url("")).await;
    browser.signup("secret.agent@example.com", PASSWORD, "Agent").await;
    let cookie = browser.session_cookie().unwrap();
    let csrf_token = browser.csrf_token().to_string();
    assert!(browser.login("secret.agent@example.com", "a wrong guess of a password").await.is_err());
    browser
        .api()
        .password_forgot(&PasswordForgotRequest { email: "secret.agent@example.com".parse().unwrap() })
        .await
        .unwrap();
    let token = reset_token(&wait_for_mail(&data_dir.join("mail")).await);
    let reset = PasswordResetRequest { token: token.parse().unwrap(), password: NEW_PASSWORD.parse().unwrap() };
    browser.api().password_reset(&reset).await.unwrap();
    browser.me().await;
    assert!(browser.login("secret.agent@example.com", NEW_PASSWORD).await.is_ok());
    app.server.shutdown().await.unwrap();

    let actions = audit_actions(&mut database.owner_connection().await, PLATFORM_CHAIN).await;
    assert_eq!(
        actions,
        [
            "auth.signup",
            "auth.login_failed",
            "auth.password_reset_requested",
            "auth.password_reset_completed",
            "auth.login_succeeded"
        ]
    );
    let log = log.contents();
    for secret in [PASSWORD, NEW_PASSWORD, "a wrong guess", &token, &cookie, &csrf_token, "secret.agent"] {
        assert!(!log.contains(secret), "the log contains {secret:?}:\n{log}");
    }
    std::fs::remove_dir_all(&data_dir).ok();
}

/// Mail queued while the SMTP server is down is retried, not lost.
#[tokio::test(flavor = "multi_thread")]
async fn mail_is_retried_until_the_smtp_server_is_back() {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use incident_tracker::db::schema::mail_outbox;

    let port = free_port();
    let database = crate::common::TestDatabase::migrated().await;
    let app = TestApp::spawn_on(&database, &[("SMTP_URL", &format!("smtp://127.0.0.1:{port}"))]).await;
    let mut browser = Browser::open(&app.url("")).await;
    browser.signup("claude@example.com", PASSWORD, "Claude").await;
    browser
        .api()
        .password_forgot(&PasswordForgotRequest { email: "claude@example.com".parse().unwrap() })
        .await
        .unwrap();

    let mut owner = database.owner_connection().await;
    let mut failed_attempts = 0;
    for _ in 0..100 {
        let attempts: Vec<i32> = mail_outbox::table.select(mail_outbox::attempts).load(&mut owner).await.unwrap();
        failed_attempts = attempts.iter().sum();
        if failed_attempts > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(failed_attempts > 0, "the first delivery failed and was recorded");

    let smtp = SmtpSink::start_on(port).await;
    let mail = wait_for_mail(&smtp.inbox()).await;
    assert!(mail.contains("/reset-password?token="));
    // The SMTP server has the mail; the worker deletes the row right after.
    assert_eq!(outbox_rows_left(&mut owner, Duration::from_secs(5)).await, 0, "delivered mail leaves the outbox");
}

/// With Redis down, session requests fail clearly and recover with it.
#[tokio::test(flavor = "multi_thread")]
async fn session_requests_answer_503_while_redis_is_down_and_recover_after() {
    let mut redis = RedisServer::start().await;
    let app = TestApp::spawn_with(&[("REDIS_URL", &redis.url())]).await;
    let mut browser = Browser::open(&app.url("")).await;
    browser.signup("edsger@example.com", PASSWORD, "Edsger").await;

    redis.kill();
    for request in [
        browser.http().get(app.url("/v1/auth/me")),
        browser
            .http()
            .post(app.url("/v1/auth/login"))
            .json(&json!({ "email": "edsger@example.com", "password": PASSWORD })),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            (&body["code"], &body["details"]),
            (&json!("SERVICE_UNAVAILABLE"), &json!({ "dependencies": ["sessionStore"] }))
        );
    }

    let _redis = RedisServer::start_on(redis.port).await;
    let mut fresh = Browser::open(&app.url("")).await;
    assert!(fresh.login("edsger@example.com", PASSWORD).await.is_ok(), "sign-in works again once Redis is back");
}

/// The link points at PUBLIC_BASE_URL, whatever Host the request named, and
/// using one link voids every other the account was sent.
#[tokio::test(flavor = "multi_thread")]
async fn reset_links_use_the_public_base_url_and_one_use_voids_the_others() {
    let data_dir = scratch_dir("auth-links");
    let app = TestApp::spawn_with(&[
        ("DATA_DIR", data_dir.to_str().unwrap()),
        ("PUBLIC_BASE_URL", "https://incidents.example.com/"),
    ])
    .await;
    let mut browser = Browser::open(&app.url("")).await;
    browser.signup("katherine@example.com", PASSWORD, "Katherine").await;
    let mail_dir = data_dir.join("mail");
    let mut tokens = Vec::new();
    for expected_mails in 1..=2 {
        let forgot = browser.http().post(app.url("/v1/auth/password/forgot")).header("host", "evil.example.net");
        let response = forgot.json(&json!({ "email": "katherine@example.com" })).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        // Names starting with a dot are still being written.
        let complete = || {
            std::fs::read_dir(&mail_dir)
                .into_iter()
                .flatten()
                .flatten()
                .filter(|entry| !entry.file_name().to_string_lossy().starts_with('.'))
                .collect::<Vec<_>>()
        };
        for _ in 0..200 {
            if complete().len() == expected_mails {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let newest = complete().into_iter().max_by_key(|entry| entry.metadata().unwrap().modified().unwrap());
        let mail = readable(&std::fs::read_to_string(newest.unwrap().path()).unwrap());
        assert!(mail.contains("https://incidents.example.com/reset-password?token="), "{mail}");
        tokens.push(reset_token(&mail));
    }
    assert_ne!(tokens[0], tokens[1]);
    let reset = |browser: &Browser, token: &str, password: &str| {
        let body = json!({ "token": token, "password": password });
        browser.http().post(app.url("/v1/auth/password/reset")).json(&body).send()
    };
    assert_eq!(reset(&browser, &tokens[1], NEW_PASSWORD).await.unwrap().status(), StatusCode::NO_CONTENT);
    browser.me().await;
    let (status, code) = error_code(reset(&browser, &tokens[0], "one more long passphrase").await.unwrap()).await;
    assert_eq!((status, code.as_str()), (StatusCode::BAD_REQUEST, "AUTH_RESET_TOKEN_INVALID"));
    std::fs::remove_dir_all(&data_dir).ok();
}

/// A reset mail still undelivered when its link expires is dropped unsent.
#[tokio::test(flavor = "multi_thread")]
async fn undelivered_reset_mail_is_discarded_once_its_link_expires() {
    use diesel::dsl::count_star;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use incident_tracker::db::schema::mail_outbox;

    let database = crate::common::TestDatabase::migrated().await;
    let app = TestApp::spawn_on(&database, &[("SMTP_URL", &format!("smtp://127.0.0.1:{}", free_port()))]).await;
    let mut browser = Browser::open(&app.url("")).await;
    browser.signup("hedy@example.com", PASSWORD, "Hedy").await;
    browser.api().password_forgot(&PasswordForgotRequest { email: "hedy@example.com".parse().unwrap() }).await.unwrap();
    // Queued after the answer, in the background.
    let mut owner = database.owner_connection().await;
    let mut queued: i64 = 0;
    for _ in 0..100 {
        queued = mail_outbox::table.select(count_star()).get_result(&mut owner).await.unwrap();
        if queued > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(queued, 1);
    diesel::update(mail_outbox::table)
        .set(mail_outbox::discard_after.eq(chrono::Utc::now() - chrono::Duration::seconds(1)))
        .execute(&mut owner)
        .await
        .unwrap();
    let left = outbox_rows_left(&mut owner, Duration::from_secs(15)).await;
    assert_eq!(left, 0, "the expired mail left the outbox");
}
