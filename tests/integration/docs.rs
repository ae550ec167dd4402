//! The contract, served, and its reference page rendered in a real headless
//! Chromium (Debian's): every tag listed and a request schema shown, from
//! assets the server itself serves.

use std::path::Path;
use std::process::Stdio;

use crate::common::TestApp;

/// The committed contract, as CI checks it against the code.
fn committed_contract() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.yaml")).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_contract_is_served_as_yaml_and_json() {
    let app = TestApp::spawn().await;
    let yaml = reqwest::get(app.url("/openapi.yaml")).await.unwrap();
    assert_eq!(yaml.headers()["content-type"], "application/yaml");
    assert_eq!(yaml.text().await.unwrap(), committed_contract());
    let json = reqwest::get(app.url("/openapi.json")).await.unwrap();
    assert_eq!(json.headers()["content-type"], "application/json");
    let served: serde_json::Value = json.json().await.unwrap();
    let committed: serde_json::Value = serde_norway::from_str(&committed_contract()).unwrap();
    assert_eq!(served, committed);
    assert_eq!(served["openapi"], "3.1.0");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reference_page_renders_every_tag_and_a_request_schema_from_its_own_assets() {
    let app = TestApp::spawn().await;
    let page = reqwest::get(app.url("/docs")).await.unwrap();
    let policy = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(policy.starts_with("default-src 'none'; script-src 'self';"), "{policy}");
    assert!(!page.text().await.unwrap().contains("://"), "the page names no other origin");

    // Debian's Chromium, or Chrome where that is what the machine has
    // (GitHub's Ubuntu runners).
    let chromium = ["chromium", "google-chrome"]
        .into_iter()
        .find(|name| {
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).any(|dir| dir.join(name).is_file())
        })
        .expect("chromium or google-chrome on PATH (scripts/test installs chromium)");
    let profile = crate::common::scratch_dir("chromium");
    let output = tokio::process::Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"])
        .args(["--enable-logging=stderr", "--v=0", "--virtual-time-budget=30000"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--dump-dom", &app.url("/docs")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .await
        .expect("running chromium (scripts/test installs it)");
    std::fs::remove_dir_all(&profile).ok();
    let dom = String::from_utf8_lossy(&output.stdout);
    let console = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{console}");
    // The bundle's one request elsewhere, Redocly's logo, is refused by the
    // page's policy, as it should be; nothing else may be.
    let violations: Vec<_> = console
        .lines()
        .filter(|line| line.contains("Content Security Policy"))
        .filter(|line| !line.contains("'https://cdn.redoc.ly/redoc/logo-mini.svg'"))
        .collect();
    assert!(violations.is_empty(), "the page broke its own policy:\n{violations:#?}");

    let contract: serde_json::Value = serde_norway::from_str(&committed_contract()).unwrap();
    for tag in contract["tags"].as_array().unwrap() {
        let name = tag["name"].as_str().unwrap();
        assert!(dom.contains(&format!("tag/{name}")), "the tag {name} is not listed");
    }
    // An operation, and its request body's fields.
    assert!(dom.contains("operation/attachment_create"), "{dom:.2000}");
    for field in ["fileName", "contentType", "sizeBytes"] {
        assert!(dom.contains(field), "the request schema's {field} is not shown");
    }
}
