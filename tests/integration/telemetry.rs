//! Structured security events: one log event per refusal that matters,
//! with a stable name, the request id, the client address and the actor
//! when known, and never a secret, an email address or a name.

use incident_tracker::client::types::{IncidentCreateRequest, Severity};

use crate::common::browser::{Browser, with_api_key};
use crate::common::{TestApp, capture_logs, request_id};
use crate::incidents::new_incident;
use crate::tenants::{PASSWORD, add_member, user};

/// The captured log lines of one security event.
fn events<'a>(logs: &'a str, event: &str) -> Vec<&'a str> {
    let wanted = format!("event=\"{event}\"");
    logs.lines().filter(|line| line.contains("security event") && line.contains(&wanted)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_refusal_that_matters_is_one_structured_event_without_secrets() {
    let logs = capture_logs();
    let database = crate::common::TestDatabase::migrated().await;
    let app = TestApp::spawn_on(&database, &[("DAILY_WRITE_QUOTA", "1")]).await;
    let (owner, owner_id) = user(&app, "owner").await;
    let tenant = owner.create_tenant("Acme").await;
    owner.api().tenant_switch(&tenant).await.unwrap();

    // Five wrong passwords, then the sign-in limit.
    let mut stranger = Browser::open(&app.url("")).await;
    for _ in 0..5 {
        assert!(stranger.login("owner@example.com", "wrong password entirely").await.is_err());
    }
    assert_eq!(stranger.login("owner@example.com", "wrong password entirely").await.unwrap_err(), "RATE_LIMITED");

    // A write without its CSRF token; an unknown key.
    let forged = owner.http().post(app.url("/v1/tenants")).header("x-csrf-token", "forged");
    let forged = forged.json(&serde_json::json!({ "name": "Forged" })).send().await.unwrap();
    assert_eq!(forged.status(), 403);
    let csrf_request = request_id(&forged);
    let bogus_key = format!("itk_{}_{}", "a".repeat(12), "B".repeat(43));
    let keyed = with_api_key(&app.url(""), &bogus_key);
    assert!(keyed.incident_list(None, None, None, None, None, None, None, None, None, None, None).await.is_err());

    // A viewer's write; a write over the daily quota.
    let (viewer, viewer_id) = user(&app, "viewer").await;
    add_member(&database, tenant, viewer_id, "viewer").await;
    viewer.api().tenant_switch(&tenant).await.unwrap();
    assert!(viewer.api().incident_create(None, &new_incident("Not mine")).await.is_err());
    owner.api().incident_create(None, &new_incident("First")).await.unwrap();
    let over = IncidentCreateRequest { severity: Severity::Sev1, ..new_incident("Second") };
    assert!(owner.api().incident_create(None, &over).await.is_err());

    let logs = logs.contents();
    assert_eq!(events(&logs, "auth.login_failed").len(), 5);
    assert_eq!(events(&logs, "rate_limit.denied").len(), 1);
    let csrf = events(&logs, "csrf.refused");
    assert_eq!(csrf.len(), 1);
    assert!(csrf[0].contains(&csrf_request), "the request id joins the event to the answer: {}", csrf[0]);
    assert!(csrf[0].contains("client_ip=127.0.0.1"), "{}", csrf[0]);
    assert_eq!(events(&logs, "api_key.refused").len(), 1);
    let denied = events(&logs, "permission.denied");
    assert_eq!(denied.len(), 1);
    assert!(denied[0].contains(&viewer_id.to_string()), "the actor is named when known: {}", denied[0]);
    let quota = events(&logs, "quota.denied");
    assert_eq!(quota.len(), 1);
    assert!(quota[0].contains(&owner_id.to_string()));
    for canary in [PASSWORD, "wrong password entirely", "owner@example.com", "viewer@example.com", &bogus_key[..20]] {
        assert!(!logs.contains(canary), "the log holds {canary:?}");
    }
    for line in logs.lines().filter(|line| line.contains("security event")) {
        assert!(line.contains(" WARN "), "security events are warnings, kept at the production level: {line}");
    }
}
