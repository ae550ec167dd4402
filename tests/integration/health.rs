use incident_tracker::db::embedded::EmbeddedPostgres;
use incident_tracker::server::Server;
use incident_tracker_client::types::{HealthStatus, SessionStoreKind};
use serde_json::{Value, json};

use crate::common::redis::RedisServer;
use crate::common::{TestApp, config, request_id, scratch_dir};

#[tokio::test(flavor = "multi_thread")]
async fn health_is_ok_when_the_database_and_session_store_answer() {
    let app = TestApp::spawn().await;
    let health = app.client.health_view().await.unwrap().into_inner();
    assert_eq!(health.status, HealthStatus::Ok);
    assert_eq!(health.session_store, SessionStoreKind::Memory);
    let live = app.client.health_live_view().await.unwrap().into_inner();
    assert_eq!(live.status, HealthStatus::Ok);
}

/// Asserts a 503 in the documented format naming exactly `dependencies`.
async fn assert_unavailable(url: &str, dependencies: &[&str]) {
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status().as_u16(), 503);
    let header = request_id(&response);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "SERVICE_UNAVAILABLE", "{body}");
    assert_eq!(body["traceId"], header.as_str());
    assert_eq!(body["details"], json!({ "dependencies": dependencies }));
}

/// A database restart is a clear 503 while it is down, and the server
/// recovers by itself once it is back: pooled connections are checked
/// before use and replaced.
#[tokio::test(flavor = "multi_thread")]
async fn health_is_503_naming_the_database_while_it_is_down_and_recovers_after() {
    // A cluster of this test's own: the shared one must keep running.
    let root = scratch_dir("health-database-stops");
    let postgres = EmbeddedPostgres::start(&root, None).await.unwrap();
    postgres.migrate_database("health").await.unwrap();
    let server = Server::start(&config(&[("DATABASE_URL", &postgres.server_url("health"))])).await.unwrap();
    let url = format!("http://{}/health", server.local_addr());
    assert_eq!(reqwest::get(&url).await.unwrap().status().as_u16(), 200);

    postgres.stop().await.unwrap();
    assert_unavailable(&url, &["database"]).await;
    let live = reqwest::get(format!("http://{}/health/live", server.local_addr())).await.unwrap();
    assert_eq!(live.status().as_u16(), 200, "liveness does not depend on the database");

    let restarted = EmbeddedPostgres::start(&root, None).await.unwrap();
    assert_eq!(restarted.port(), postgres.port(), "the embedded database comes back on its port");
    assert_eq!(reqwest::get(&url).await.unwrap().status().as_u16(), 200);
    server.shutdown().await.unwrap();
    restarted.stop().await.unwrap();
    std::fs::remove_dir_all(&root).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn health_reports_redis_503_while_it_is_down_and_recovers_after() {
    let mut redis = RedisServer::start().await;
    let app = TestApp::spawn_with(&[("REDIS_URL", &redis.url())]).await;
    let health = app.client.health_view().await.unwrap().into_inner();
    assert_eq!(health.session_store, SessionStoreKind::Redis);

    redis.kill();
    assert_unavailable(&app.url("/health"), &["sessionStore"]).await;

    let _restarted = RedisServer::start_on(redis.port).await;
    // The connection manager reconnects in the background, with backoff.
    let mut recovered = false;
    for _ in 0..50 {
        if app.client.health_view().await.is_ok() {
            recovered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(recovered, "health stayed 503 after Redis came back");
}
