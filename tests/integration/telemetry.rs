//! Structured security events: one log event per refusal that matters,
//! with a stable name, the request id, the client address and the actor
//! when known, and never a secret, an email address or a name.

use std::collections::BTreeSet;
use std::time::Duration;

use incident_tracker_client::types::{IncidentCreateRequest, Severity};
use reqwest::StatusCode;

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
    let app = TestApp::spawn_on(&database, &[("DAILY_WRITE_QUOTA", "1"), ("TRUSTED_PROXIES", "127.0.0.1/32")]).await;
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

    // Ten failures from ten addresses lock the viewer's account; the next
    // attempt is refused while it is locked. Reset mail past its limit is
    // not sent, and says so only in the log.
    let anonymous = Browser::open(&app.url("")).await;
    for n in 1..=11 {
        let attempt =
            anonymous.http().post(app.url("/v1/auth/login")).header("x-forwarded-for", format!("203.0.113.{n}"));
        let body = serde_json::json!({ "email": "viewer@example.com", "password": "wrong password entirely" });
        attempt.json(&body).send().await.unwrap();
    }
    for _ in 0..4 {
        // Worked on after the answer, four at a time: a 503 is asked again.
        loop {
            let forgot = anonymous.http().post(app.url("/v1/auth/password/forgot"));
            let answer = forgot.json(&serde_json::json!({ "email": "viewer@example.com" })).send().await.unwrap();
            if answer.status() != StatusCode::SERVICE_UNAVAILABLE {
                assert_eq!(answer.status(), StatusCode::ACCEPTED);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    for _ in 0..100 {
        if !events(&logs.contents(), "auth.password_reset_throttled").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let logs = logs.contents();
    assert_eq!(events(&logs, "auth.login_failed").len(), 5 + 10);
    assert_eq!(events(&logs, "auth.account_locked").len(), 1);
    let locked_out = events(&logs, "auth.locked_out");
    assert_eq!(locked_out.len(), 1);
    assert!(locked_out[0].contains("client_ip=203.0.113.11"), "the client's own address: {}", locked_out[0]);
    assert_eq!(events(&logs, "auth.password_reset_throttled").len(), 1);
    assert_eq!(events(&logs, "rate_limit.denied").len(), 1);
    let csrf = events(&logs, "csrf.refused");
    assert_eq!(csrf.len(), 1);
    assert!(csrf[0].contains(&csrf_request), "the request id joins the event to the answer: {}", csrf[0]);
    assert!(csrf[0].contains("client_ip=127.0.0.1"), "{}", csrf[0]);
    let refused = logs.lines().find(|line| line.contains("request refused") && line.contains(&csrf_request));
    assert!(refused.is_some_and(|line| line.contains("code=\"CSRF_TOKEN_INVALID\"")), "each refusal logs its code");
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

/// Sign-up, a tenant, an invite and an incident, exported over OTLP to a
/// real receiver: the span tree, its attributes, the caller's trace
/// continued, the request id shared with the answer, metrics, and no secret
/// anywhere.
#[tokio::test(flavor = "multi_thread")]
async fn a_flow_is_traced_and_metered_over_otlp_without_secrets() {
    use incident_tracker::config::{Environment, LogFormat};

    use crate::common::otlp::{OtlpReceiver, attribute, text};
    use crate::common::redis::RedisServer;

    let receiver = OtlpReceiver::start().await;
    let telemetry =
        incident_tracker::telemetry::init(LogFormat::Json, Environment::Development, Some(&receiver.url())).unwrap();
    let redis = RedisServer::start().await;
    let database = crate::common::TestDatabase::migrated().await;
    let app = TestApp::spawn_on(&database, &[("REDIS_URL", redis.url().as_str())]).await;
    let (owner, _) = user(&app, "owner").await;
    let tenant = owner.create_tenant("Acme").await;
    owner.api().tenant_switch(&tenant).await.unwrap();
    owner.invite(tenant, "invitee@example.com", incident_tracker_client::types::Role::Viewer).await;

    let (trace_id, caller_span) = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    let created = owner
        .http()
        .post(app.url("/v1/incidents"))
        .header("traceparent", format!("00-{trace_id}-{caller_span}-01"))
        .json(&serde_json::json!({ "title": "Traced", "severity": "sev2" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let create_request = request_id(&created);
    let secrets = [PASSWORD.to_string(), owner.csrf_token().to_string(), owner.session_cookie().unwrap()];
    app.server.shutdown().await.unwrap();
    tokio::task::spawn_blocking(move || telemetry.shutdown()).await.unwrap();

    let spans = receiver.spans();
    let (resource, server) =
        spans.iter().find(|(_, span)| span.name == "POST /v1/incidents").expect("a server span named by the route");
    assert_eq!(attribute(resource, "service.name").as_deref(), Some("incident-tracker"));
    assert_eq!(hex(&server.trace_id), trace_id, "the caller's trace is continued");
    assert_eq!(hex(&server.parent_span_id), caller_span);
    assert_eq!(server.kind, 2, "a server span");
    assert_eq!(attribute(&server.attributes, "http.request.method").as_deref(), Some("POST"));
    assert_eq!(attribute(&server.attributes, "http.route").as_deref(), Some("/v1/incidents"));
    assert_eq!(attribute(&server.attributes, "http.response.status_code").as_deref(), Some("201"));
    assert_eq!(attribute(&server.attributes, "request_id"), Some(create_request), "one id joins answer and trace");

    let transaction = spans
        .iter()
        .map(|(_, span)| span)
        .find(|span| span.parent_span_id == server.span_id && span.name == "db.transaction")
        .expect("the request's transaction is its child");
    let statements: Vec<String> = spans
        .iter()
        .filter(|(_, span)| span.parent_span_id == transaction.span_id)
        .filter_map(|(_, span)| attribute(&span.attributes, "db.query.text"))
        .collect();
    let insert = statements.iter().find(|sql| sql.contains("INSERT INTO \"incidents\"")).expect("the insert's span");
    assert!(insert.contains("$1") && !insert.contains("Traced"), "placeholders, never the values: {insert}");
    let names: BTreeSet<&str> = spans.iter().map(|(_, span)| span.name.as_str()).collect();
    for expected in ["POST /v1/auth/signup", "password.hash", "count_attempt", "INSERT", "mail.deliver"] {
        assert!(names.contains(expected), "no {expected} span among {names:?}");
    }

    let mut everything = String::new();
    for (_, span) in &spans {
        everything.push_str(&span.name);
        for attribute in span.attributes.iter().chain(span.events.iter().flat_map(|event| event.attributes.iter())) {
            everything.push_str(&format!(" {}={}", attribute.key, text(&attribute.value)));
        }
    }
    let metrics = receiver.metrics();
    for metric in &metrics {
        everything.push_str(&format!(" {metric:?}"));
    }
    for secret in secrets.iter().map(String::as_str).chain(["owner@example.com", "invitee@example.com"]) {
        assert!(!everything.contains(secret), "exported telemetry holds {secret:?}");
    }

    let metric_names: BTreeSet<&str> = metrics.iter().map(|metric| metric.name.as_str()).collect();
    for expected in [
        "http.server.request.duration",
        "http.server.active_requests",
        "db.client.connection.wait_time",
        "db.client.connection.count",
        "session_store.operation.duration",
        "rate_limit.decisions",
        "audit.events.appended",
    ] {
        assert!(metric_names.contains(expected), "no {expected} among {metric_names:?}");
    }
    let durations = metrics.iter().filter(|metric| metric.name == "http.server.request.duration");
    let points = durations.filter_map(|metric| match &metric.data {
        Some(opentelemetry_proto::tonic::metrics::v1::metric::Data::Histogram(histogram)) => {
            Some(histogram.data_points.clone())
        }
        _ => None,
    });
    let create = points.flatten().find(|point| {
        attribute(&point.attributes, "http.route").as_deref() == Some("/v1/incidents")
            && attribute(&point.attributes, "http.request.method").as_deref() == Some("POST")
    });
    let create = create.expect("the create's duration, by route and method");
    assert_eq!(attribute(&create.attributes, "http.response.status_code").as_deref(), Some("201"));
    assert_eq!(create.count, 1);

    // Log events stay out of the export: an error's detail may quote input.
    assert!(spans.iter().all(|(_, span)| span.events.is_empty()), "spans carry no log events");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
