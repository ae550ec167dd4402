//! Does a login flood slow everyone else down? Measures `GET /v1/auth/me`
//! latency against a running server, first idle, then while 20 clients
//! (by default) sign in as fast as they can. Every login hashes: the emails
//! are unknown, so the server verifies against its decoy hash, which costs
//! what a real account does.
//!
//! Run it with `scripts/bench-login-flood`, which starts a release server;
//! or against any server: `cargo bench --bench login_flood -- URL`.

use std::time::{Duration, Instant};

const DEFAULT_URL: &str = "http://127.0.0.1:8080";
const PHASE: Duration = Duration::from_secs(10);
const FLOODERS: usize = 20;

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; anything else is the server's URL.
    let url = std::env::args().skip(1).find(|arg| !arg.starts_with("--")).unwrap_or_else(|| DEFAULT_URL.to_string());

    let prober = Session::open(&url).await;
    prober.me().await; // warm up the connection
    let idle = prober.sample_me(PHASE).await;

    let stop = Instant::now() + PHASE + Duration::from_secs(1);
    let mut flood = tokio::task::JoinSet::new();
    for _ in 0..FLOODERS {
        let url = url.clone();
        flood.spawn(async move {
            let flooder = Session::open(&url).await;
            let mut logins = 0u32;
            while Instant::now() < stop {
                flooder.login_as_nobody().await;
                logins += 1;
            }
            logins
        });
    }
    // Let every flooder reach the server before measuring.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let flooded = prober.sample_me(PHASE).await;
    let logins: u32 = flood.join_all().await.into_iter().sum();

    println!("GET /v1/auth/me latency, {} s per phase", PHASE.as_secs());
    println!("{:<22}{:>10}{:>10}{:>10}{:>10}", "", "requests", "p50 ms", "p99 ms", "max ms");
    idle.print("idle");
    flooded.print(&format!("{FLOODERS} clients logging in"));
    println!("logins completed during the flood: {logins} ({:.1}/s)", f64::from(logins) / PHASE.as_secs_f64());
    let ratio = flooded.percentile(99.0).as_secs_f64() / idle.percentile(99.0).as_secs_f64();
    let verdict = if ratio <= 2.0 { "met" } else { "MISSED" };
    println!("p99 under flood / idle p99 = {ratio:.2} (target: at most 2.00) -> {verdict}");
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
        let email = format!("nobody-{}@flood.example.com", uuid::Uuid::new_v4().simple());
        let body = serde_json::json!({ "email": email, "password": "not anybody's password at all" });
        let response = self.http.post(format!("{}/v1/auth/login", self.url)).json(&body).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 401, "a login for an unknown email");
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
