//! Does a login flood slow everyone else down? Measures `GET /v1/auth/me`
//! latency against a running server, first idle, then while 20 clients
//! sign in as fast as they can. Every login hashes: the emails are unknown,
//! so the server verifies against its decoy hash.
//!
//! First it checks that the decoy costs what a real account does: a wrong
//! password and an unknown email must take about the same time, or the
//! answer's timing tells which emails have accounts.
//!
//! Run it with `scripts/bench-login-flood`, which starts a release server;
//! or against any server: `cargo bench --bench login_flood -- URL`. With
//! `--flood-seconds=N` it only floods, for N seconds, while another load
//! generator measures (`scripts/bench`).

use std::time::{Duration, Instant};

const DEFAULT_URL: &str = "http://127.0.0.1:8080";
const PHASE: Duration = Duration::from_secs(10);
const FLOODERS: usize = 20;

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; anything else is the server's URL.
    let url = std::env::args().skip(1).find(|arg| !arg.starts_with("--")).unwrap_or_else(|| DEFAULT_URL.to_string());
    let flood_only = std::env::args().find_map(|arg| arg.strip_prefix("--flood-seconds=")?.parse().ok());
    if let Some(seconds) = flood_only {
        let phase = Duration::from_secs(seconds);
        let logins = flood(url, Instant::now() + phase).await;
        println!("{:.1} sign-ins/s", f64::from(logins) / phase.as_secs_f64());
        return;
    }

    compare_failed_sign_ins(&url).await;

    let prober = Session::open(&url).await;
    prober.me().await; // warm up the connection
    let idle = prober.sample_me(PHASE).await;

    let stop = Instant::now() + PHASE + Duration::from_secs(1);
    let flood = tokio::spawn(flood(url.clone(), stop));
    // Let every flooder reach the server before measuring.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let flooded = prober.sample_me(PHASE).await;
    let logins = flood.await.unwrap();

    println!("GET /v1/auth/me latency, {} s per phase", PHASE.as_secs());
    println!("{:<22}{:>10}{:>10}{:>10}{:>10}", "", "requests", "p50 ms", "p99 ms", "max ms");
    idle.print("idle");
    flooded.print(&format!("{FLOODERS} clients logging in"));
    println!("logins completed during the flood: {logins} ({:.1}/s)", f64::from(logins) / PHASE.as_secs_f64());
    let ratio = flooded.percentile(99.0).as_secs_f64() / idle.percentile(99.0).as_secs_f64();
    let verdict = if ratio <= 2.0 { "met" } else { "MISSED" };
    println!("p99 under flood / idle p99 = {ratio:.2} (target: at most 2.00) -> {verdict}");
}

/// FLOODERS clients each signing in as fast as they can until `stop`; the
/// number of sign-ins.
async fn flood(url: String, stop: Instant) -> u32 {
    let mut flooders = tokio::task::JoinSet::new();
    for _ in 0..FLOODERS {
        let url = url.clone();
        flooders.spawn(async move {
            let flooder = Session::open(&url).await;
            let mut logins = 0u32;
            while Instant::now() < stop {
                flooder.login_as_nobody().await;
                logins += 1;
            }
            logins
        });
    }
    flooders.join_all().await.into_iter().sum()
}

/// Wrong passwords for real accounts against unknown emails, interleaved,
/// kept under the rate limit (5 per address and email) and the lockout.
async fn compare_failed_sign_ins(url: &str) {
    const ACCOUNTS: usize = 6;
    const TRIES_PER_ACCOUNT: usize = 5;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let mut accounts = Vec::new();
    for account in 0..ACCOUNTS {
        let email = format!("timing-{account}-{run}@bench.example.com");
        Session::open(url).await.sign_up(&email).await;
        accounts.push(email);
    }
    let session = Session::open(url).await;
    let (mut wrong_password, mut unknown_email) = (Vec::new(), Vec::new());
    for email in accounts.iter().flat_map(|email| std::iter::repeat_n(email, TRIES_PER_ACCOUNT)) {
        wrong_password.push(session.failed_login(email).await);
        unknown_email.push(session.failed_login(&format!("nobody-{}@bench.example.com", uuid::Uuid::new_v4())).await);
    }
    wrong_password.sort();
    unknown_email.sort();
    let (wrong_password, unknown_email) = (Latencies(wrong_password), Latencies(unknown_email));
    println!("failed sign-ins, {} each", wrong_password.0.len());
    println!("{:<22}{:>10}{:>10}{:>10}{:>10}", "", "requests", "p50 ms", "p99 ms", "max ms");
    wrong_password.print("wrong password");
    unknown_email.print("unknown email");
    println!();
}

struct Session {
    url: String,
    http: reqwest::Client,
}

impl Session {
    /// A cookie-jar client with its session's CSRF token on every request.
    async fn open(url: &str) -> Session {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let http = reqwest::Client::builder().cookie_provider(jar.clone()).build().unwrap();
        let me: serde_json::Value = http.get(format!("{url}/v1/auth/me")).send().await.unwrap().json().await.unwrap();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-csrf-token", me["csrfToken"].as_str().unwrap().parse().unwrap());
        let http = reqwest::Client::builder().cookie_provider(jar).default_headers(headers).build().unwrap();
        Session { url: url.to_string(), http }
    }

    async fn me(&self) -> Duration {
        let started = Instant::now();
        let response = self.http.get(format!("{}/v1/auth/me", self.url)).send().await.unwrap();
        assert!(response.status().is_success(), "GET /v1/auth/me: {}", response.status());
        response.bytes().await.unwrap();
        started.elapsed()
    }

    async fn sample_me(&self, phase: Duration) -> Latencies {
        let end = Instant::now() + phase;
        let mut samples = Vec::new();
        while Instant::now() < end {
            samples.push(self.me().await);
        }
        samples.sort();
        Latencies(samples)
    }

    async fn login_as_nobody(&self) {
        self.failed_login(&format!("nobody-{}@flood.example.com", uuid::Uuid::new_v4().simple())).await;
    }

    async fn failed_login(&self, email: &str) -> Duration {
        let body = serde_json::json!({ "email": email, "password": "not anybody's password at all" });
        let started = Instant::now();
        let response = self.http.post(format!("{}/v1/auth/login", self.url)).json(&body).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 401, "a failed login");
        response.bytes().await.unwrap();
        started.elapsed()
    }

    async fn sign_up(&self, email: &str) {
        let body = serde_json::json!({ "email": email, "password": "a benchmark's long passphrase", "name": "Bench" });
        let response = self.http.post(format!("{}/v1/auth/signup", self.url)).json(&body).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 201, "sign-up");
    }
}

struct Latencies(Vec<Duration>);

impl Latencies {
    fn percentile(&self, percent: f64) -> Duration {
        let index = ((self.0.len() as f64 * percent / 100.0).ceil() as usize).clamp(1, self.0.len()) - 1;
        self.0[index]
    }

    fn print(&self, label: &str) {
        let ms = |duration: Duration| duration.as_secs_f64() * 1000.0;
        let max = self.0.last().copied().unwrap_or_default();
        println!(
            "{label:<22}{:>10}{:>10.2}{:>10.2}{:>10.2}",
            self.0.len(),
            ms(self.percentile(50.0)),
            ms(self.percentile(99.0)),
            ms(max)
        );
    }
}
