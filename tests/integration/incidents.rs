//! Incidents through the generated client, against real PostgreSQL and
//! Redis: the status machine and its timestamps, ETags under races,
//! idempotent creates, keyset pagination under filters, full-text search,
//! sanitized markdown, keys, metrics and the audit chain.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use diesel::sql_query;
use diesel::sql_types::Uuid as SqlUuid;
use diesel_async::RunQueryDsl;
use futures::future::join_all;
use incident_tracker_client::Client;
use incident_tracker_client::types::{
    Audience, Incident, IncidentCreateRequest, IncidentSort, IncidentStatus, IncidentUpdateRequest, NoteKind, Severity,
    StatusUpdateCreateRequest, TaskCreateRequest, TaskStatus, TaskUpdateRequest, TimelineEventCreateRequest,
    TimelineEventKind,
};
use uuid::Uuid;

use crate::common::browser::{Browser, with_api_key};
use crate::common::redis::RedisServer;
use crate::common::{TestApp, TestDatabase};
use crate::hardening::assert_validation_failed;
use crate::tenants::{add_member, error_code, status, user};

/// A server on its own database and a real Redis, with room for the many
/// writes these tests make; an owner switched to a new tenant.
pub(crate) struct Setting {
    pub app: TestApp,
    pub database: TestDatabase,
    pub owner: Browser,
    pub owner_id: Uuid,
    pub tenant: Uuid,
    _redis: RedisServer,
}

pub(crate) async fn setting() -> Setting {
    let redis = RedisServer::start().await;
    let database = TestDatabase::migrated().await;
    let app =
        TestApp::spawn_on(&database, &[("REDIS_URL", redis.url().as_str()), ("WRITE_RATE_LIMIT", "100000/600")]).await;
    let (owner, owner_id) = user(&app, "owner").await;
    let tenant = owner.create_tenant("Acme").await;
    owner.api().tenant_switch(&tenant).await.unwrap();
    Setting { app, database, owner, owner_id, tenant, _redis: redis }
}

pub(crate) fn new_incident(title: &str) -> IncidentCreateRequest {
    IncidentCreateRequest {
        title: title.parse().unwrap(),
        summary: Default::default(),
        severity: Severity::Sev2,
        commander_id: None,
        labels: Vec::new(),
    }
}

fn no_change() -> IncidentUpdateRequest {
    IncidentUpdateRequest { status: None, title: None, summary: None, severity: None, commander_id: None, labels: None }
}

fn moving_to(status: IncidentStatus) -> IncidentUpdateRequest {
    IncidentUpdateRequest { status: Some(status), ..no_change() }
}

pub(crate) fn note(body: &str) -> TimelineEventCreateRequest {
    TimelineEventCreateRequest { kind: NoteKind::Note, body: body.parse().unwrap(), occurred_at: None }
}

pub(crate) fn retitled(title: &str) -> IncidentUpdateRequest {
    IncidentUpdateRequest { title: Some(title.parse().unwrap()), ..no_change() }
}

const ALL_STATUSES: [IncidentStatus; 6] = [
    IncidentStatus::Triage,
    IncidentStatus::Investigating,
    IncidentStatus::Mitigated,
    IncidentStatus::Resolved,
    IncidentStatus::Closed,
    IncidentStatus::Declined,
];

/// The machine as the issue states it.
fn allowed(from: IncidentStatus) -> Vec<IncidentStatus> {
    use IncidentStatus::*;
    match from {
        Triage => vec![Investigating, Mitigated, Resolved, Declined],
        Investigating => vec![Mitigated, Resolved],
        Mitigated => vec![Investigating, Resolved],
        Resolved => vec![Investigating, Closed],
        Closed => vec![Investigating],
        Declined => vec![],
    }
}

/// The moves that bring a new incident to `status`.
fn path_to(status: IncidentStatus) -> Vec<IncidentStatus> {
    use IncidentStatus::*;
    match status {
        Triage => vec![],
        Closed => vec![Resolved, Closed],
        other => vec![other],
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_move_of_the_status_machine_is_allowed_or_refused_with_the_allowed_list() {
    let setting = setting().await;
    let api = setting.owner.api();
    let mut wrong = Vec::new();
    for from in ALL_STATUSES {
        for to in ALL_STATUSES.into_iter().filter(|to| *to != from) {
            let mut incident = api.incident_create(None, &new_incident("Matrix")).await.unwrap().into_inner();
            for step in path_to(from) {
                incident = api.incident_update(&incident.id, None, &moving_to(step)).await.unwrap().into_inner();
            }
            let before = incident;
            let answer = api.incident_update(&before.id, None, &moving_to(to)).await;
            if !allowed(from).contains(&to) {
                match answer {
                    Err(incident_tracker_client::Error::ErrorResponse(error)) if error.status() == 409 => {
                        let error = error.into_inner();
                        assert_eq!(error.code, "INCIDENT_TRANSITION_INVALID");
                        let listed: Vec<String> =
                            serde_json::from_value(error.details["allowedTransitions"].clone()).unwrap();
                        let expected: Vec<String> = allowed(from).iter().map(|s| s.to_string()).collect();
                        assert_eq!(listed, expected, "{from} -> {to}");
                    }
                    other => wrong.push(format!("{from} -> {to}: expected 409, got {:?}", other.map(|r| r.status()))),
                }
                let unchanged = api.incident_view(&before.id).await.unwrap().into_inner();
                assert_eq!(unchanged.version, before.version, "a refused move changes nothing");
                continue;
            }
            let after = match answer {
                Ok(after) => after.into_inner(),
                Err(error) => {
                    wrong.push(format!("{from} -> {to}: expected 200, got {error}"));
                    continue;
                }
            };
            assert_eq!(after.status, to);
            check_stamps(&before, &after);
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");

    // Reopen, then resolve again: the first acknowledgement stands.
    let incident = api.incident_create(None, &new_incident("Flapping")).await.unwrap().into_inner();
    let acknowledged =
        api.incident_update(&incident.id, None, &moving_to(IncidentStatus::Investigating)).await.unwrap();
    let first_ack = acknowledged.acknowledged_at.unwrap();
    let resolved = api.incident_update(&incident.id, None, &moving_to(IncidentStatus::Resolved)).await.unwrap();
    let closed = api.incident_update(&incident.id, None, &moving_to(IncidentStatus::Closed)).await.unwrap();
    assert!(closed.resolved_at == resolved.resolved_at && closed.closed_at.is_some());
    let reopened = api.incident_update(&incident.id, None, &moving_to(IncidentStatus::Investigating)).await.unwrap();
    assert_eq!((reopened.resolved_at, reopened.closed_at, reopened.reopen_count), (None, None, 1));
    let again = api.incident_update(&incident.id, None, &moving_to(IncidentStatus::Resolved)).await.unwrap();
    assert_eq!(again.acknowledged_at, Some(first_ack));
    assert_eq!(again.mitigated_at, resolved.mitigated_at, "mitigatedAt is never overwritten");
    assert!(again.resolved_at.unwrap() > resolved.resolved_at.unwrap());
    let kinds = timeline_kinds(&api, incident.id).await;
    assert_eq!(kinds[0], TimelineEventKind::IncidentCreated);
    assert_eq!(kinds.iter().filter(|kind| **kind == TimelineEventKind::StatusChanged).count(), 5);
}

/// The kinds of the incident's timeline, in order.
async fn timeline_kinds(api: &Client, incident: Uuid) -> Vec<TimelineEventKind> {
    let events = api.timeline_event_list(&incident, None, None).await.unwrap().into_inner().items;
    events.into_iter().map(|event| event.kind).collect()
}

/// The lifecycle stamps after one allowed move from `before` to `after`.
fn check_stamps(before: &Incident, after: &Incident) {
    use IncidentStatus::*;
    let (from, to, now) = (before.status, after.status, after.updated_at);
    let context = format!("{from} -> {to}");
    let first = |was: Option<DateTime<Utc>>| was.or(Some(now));
    let expected_ack = if to == Declined { before.acknowledged_at } else { first(before.acknowledged_at) };
    assert_eq!(after.acknowledged_at, expected_ack, "acknowledgedAt, {context}");
    let expected_mitigated =
        if matches!(to, Mitigated | Resolved) { first(before.mitigated_at) } else { before.mitigated_at };
    assert_eq!(after.mitigated_at, expected_mitigated, "mitigatedAt, {context}");
    let reopen = matches!(from, Resolved | Closed) && to == Investigating;
    let expected_resolved = match to {
        Resolved => Some(now),
        _ if reopen => None,
        _ => before.resolved_at,
    };
    assert_eq!(after.resolved_at, expected_resolved, "resolvedAt, {context}");
    let expected_closed = match to {
        Closed => Some(now),
        _ if reopen => None,
        _ => before.closed_at,
    };
    assert_eq!(after.closed_at, expected_closed, "closedAt, {context}");
    assert_eq!(after.reopen_count, before.reopen_count + i32::from(reopen), "reopenCount, {context}");
    assert_eq!(after.version, before.version + 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn of_two_patches_with_the_same_if_match_one_applies_and_one_gets_412() {
    let setting = setting().await;
    let api = setting.owner.api();
    for round in 0..10 {
        let created = api.incident_create(None, &new_incident("Race")).await.unwrap();
        let etag = created.headers()["etag"].to_str().unwrap().to_string();
        assert_eq!(etag, format!("\"{}\"", created.version));
        let (first, second) = (retitled("First"), retitled("Second"));
        let (a, b) = tokio::join!(
            api.incident_update(&created.id, Some(&etag), &first),
            api.incident_update(&created.id, Some(&etag), &second),
        );
        let mut answers = vec![status(a), status(b)];
        answers.sort();
        assert_eq!(answers, [200, 412], "round {round}");
        let now = api.incident_view(&created.id).await.unwrap();
        assert_eq!(now.version, 2, "exactly one write applied");
        assert_eq!(now.headers()["etag"].to_str().unwrap(), "\"2\"");
    }

    // A stale ETag changes nothing; without If-Match the write applies.
    let incident = api.incident_create(None, &new_incident("Stale")).await.unwrap().into_inner();
    api.incident_update(&incident.id, None, &retitled("Moved on")).await.unwrap();
    let refused = api.incident_update(&incident.id, Some("\"1\""), &retitled("Lost update")).await;
    assert_eq!(error_code(refused), "PRECONDITION_FAILED");
    let current = api.incident_view(&incident.id).await.unwrap();
    assert_eq!((current.title.as_str(), current.version), ("Moved on", 2));
    assert_eq!(status(api.incident_update(&incident.id, Some("W/\"2\""), &retitled("Weak")).await), 412);
    assert_eq!(status(api.incident_update(&incident.id, Some("*"), &retitled("Any")).await), 200);

    // Tasks carry their own ETag.
    let task = api.task_create(&incident.id, None, &new_task("Roll back", None)).await.unwrap();
    let task_etag = task.headers()["etag"].to_str().unwrap().to_string();
    let done = TaskUpdateRequest {
        status: Some(TaskStatus::Done),
        title: None,
        description: None,
        assignee_id: None,
        due_at: None,
    };
    let updated = api.task_update(&incident.id, &task.id, Some(&task_etag), &done).await.unwrap();
    assert_eq!(updated.headers()["etag"].to_str().unwrap(), "\"2\"");
    assert!(updated.completed_at.is_some());
    assert_eq!(
        error_code(api.task_update(&incident.id, &task.id, Some(&task_etag), &done).await),
        "PRECONDITION_FAILED"
    );
}

pub(crate) fn new_task(title: &str, assignee: Option<Uuid>) -> TaskCreateRequest {
    TaskCreateRequest {
        title: title.parse().unwrap(),
        description: Default::default(),
        assignee_id: assignee,
        due_at: None,
    }
}

async fn incident_count(database: &TestDatabase, tenant: Uuid) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
    }
    let found: Count = sql_query("SELECT count(*) AS count FROM incidents WHERE tenant_id = $1")
        .bind::<SqlUuid, _>(tenant)
        .get_result(&mut database.owner_connection().await)
        .await
        .unwrap();
    found.count
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_retried_with_its_idempotency_key_is_written_once() {
    let setting = setting().await;
    let api = setting.owner.api();

    let first = api.incident_create(Some(&"retry-1".parse().unwrap()), &new_incident("Once")).await.unwrap();
    assert!(first.headers().get("idempotent-replayed").is_none());
    let replay = api.incident_create(Some(&"retry-1".parse().unwrap()), &new_incident("Once")).await.unwrap();
    assert_eq!(replay.status(), 201);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(serde_json::to_value(&*replay).unwrap(), serde_json::to_value(&*first).unwrap());
    assert_eq!(incident_count(&setting.database, setting.tenant).await, 1);

    let reused = api.incident_create(Some(&"retry-1".parse().unwrap()), &new_incident("Something else")).await;
    assert_eq!(status_and_code(reused), (422, "IDEMPOTENCY_KEY_REUSED".to_string()));

    // A create that fails stores nothing: the key is free for the next try.
    let mut invalid = new_incident("Commanded");
    invalid.commander_id = Some(Uuid::new_v4());
    let refused = api.incident_create(Some(&"retry-2".parse().unwrap()), &invalid).await;
    assert_eq!(status_and_code(refused), (400, "VALIDATION_FAILED".to_string()));
    assert_eq!(status(api.incident_create(Some(&"retry-2".parse().unwrap()), &new_incident("Commanded")).await), 201);

    // Keys are the principal's: another member's same key is a new create.
    let (other, other_id) = user(&setting.app, "responder").await;
    add_member(&setting.database, setting.tenant, other_id, "responder").await;
    other.api().tenant_switch(&setting.tenant).await.unwrap();
    let theirs = other.api().incident_create(Some(&"retry-1".parse().unwrap()), &new_incident("Once")).await.unwrap();
    assert_ne!(theirs.id, first.id);

    // Sent at once: one write; the others wait their turn or are replayed.
    for round in 0..5 {
        let key = format!("burst-{round}").parse().unwrap();
        let before = incident_count(&setting.database, setting.tenant).await;
        let burst = new_incident("Burst");
        let answers = join_all((0..8).map(|_| api.incident_create(Some(&key), &burst))).await;
        let mut ids = BTreeSet::new();
        for answer in answers {
            match answer {
                Ok(created) => {
                    ids.insert(created.id);
                }
                Err(incident_tracker_client::Error::ErrorResponse(error)) => {
                    assert_eq!(
                        (error.status().as_u16(), error.into_inner().code.as_str()),
                        (409, "IDEMPOTENCY_KEY_IN_USE")
                    );
                }
                Err(error) => panic!("{error}"),
            }
        }
        assert_eq!(ids.len(), 1, "every success is the same incident");
        assert_eq!(incident_count(&setting.database, setting.tenant).await, before + 1, "round {round}");
    }

    // Notes, tasks and status updates take keys too.
    let incident = first.id;
    let a =
        api.timeline_event_create(&incident, Some(&"note-1".parse().unwrap()), &note("Paged the DBA")).await.unwrap();
    let b =
        api.timeline_event_create(&incident, Some(&"note-1".parse().unwrap()), &note("Paged the DBA")).await.unwrap();
    assert_eq!((a.id, b.headers()["idempotent-replayed"].to_str().unwrap()), (b.id, "true"));
    let update = status_update("We are on it", Some(IncidentStatus::Investigating));
    let a = api.status_update_create(&incident, Some(&"update-1".parse().unwrap()), &update).await.unwrap();
    let b = api.status_update_create(&incident, Some(&"update-1".parse().unwrap()), &update).await.unwrap();
    assert_eq!(a.id, b.id);
    let listed = api.status_update_list(&incident, None, None).await.unwrap().into_inner().items;
    assert_eq!(listed.len(), 1);
    // The client refuses a key the contract does not allow; so does the server.
    let long_key = "k".repeat(256);
    assert!(long_key.parse::<incident_tracker_client::types::IncidentCreateIdempotencyKey>().is_err());
    let response = setting
        .owner
        .http()
        .post(setting.app.url("/v1/incidents"))
        .header("idempotency-key", long_key)
        .header("x-csrf-token", setting.owner.csrf_token())
        .json(&new_incident("Long key"))
        .send()
        .await
        .unwrap();
    assert_validation_failed(response, "a 256-character key").await;
}

fn status_and_code<T: std::fmt::Debug>(
    result: Result<
        incident_tracker_client::ResponseValue<T>,
        incident_tracker_client::Error<incident_tracker_client::types::Error>,
    >,
) -> (u16, String) {
    match result {
        Err(incident_tracker_client::Error::ErrorResponse(error)) => (error.status().as_u16(), error.into_inner().code),
        other => panic!("expected an error response, got {other:?}"),
    }
}

pub(crate) fn status_update(body: &str, status: Option<IncidentStatus>) -> StatusUpdateCreateRequest {
    StatusUpdateCreateRequest { body: body.parse().unwrap(), audience: Audience::Internal, status, severity: None }
}

#[tokio::test(flavor = "multi_thread")]
async fn status_updates_move_the_incident_or_are_refused_whole() {
    let setting = setting().await;
    let api = setting.owner.api();
    let incident = api.incident_create(None, &new_incident("Latency")).await.unwrap().into_inner();

    let mut update = status_update("Mitigated by failover", Some(IncidentStatus::Mitigated));
    update.severity = Some(Severity::Sev1);
    let posted = api.status_update_create(&incident.id, None, &update).await.unwrap().into_inner();
    assert_eq!(
        (posted.status, posted.severity, posted.changed_status),
        (IncidentStatus::Mitigated, Severity::Sev1, true)
    );
    let now = api.incident_view(&incident.id).await.unwrap().into_inner();
    assert_eq!((now.status, now.severity, now.version), (IncidentStatus::Mitigated, Severity::Sev1, 2));
    assert!(now.mitigated_at.is_some() && now.acknowledged_at.is_some());

    let refused =
        api.status_update_create(&incident.id, None, &status_update("Back", Some(IncidentStatus::Triage))).await;
    assert_eq!(error_code(refused), "INCIDENT_TRANSITION_INVALID");
    assert_eq!(api.status_update_list(&incident.id, None, None).await.unwrap().items.len(), 1);
    assert_eq!(api.incident_view(&incident.id).await.unwrap().version, 2);

    let plain = api.status_update_create(&incident.id, None, &status_update("Still mitigated", None)).await.unwrap();
    assert_eq!(
        (plain.status, plain.severity, plain.changed_status),
        (IncidentStatus::Mitigated, Severity::Sev1, false)
    );
    let kinds = timeline_kinds(&api, incident.id).await;
    use TimelineEventKind::*;
    assert_eq!(kinds, [IncidentCreated, StatusChanged, SeverityChanged, StatusUpdatePosted, StatusUpdatePosted]);
}

#[tokio::test(flavor = "multi_thread")]
async fn members_only_as_commanders_and_assignees_and_ids_stay_in_their_place() {
    let setting = setting().await;
    let api = setting.owner.api();
    let (_, stranger) = user(&setting.app, "stranger").await;
    let mut commanded = new_incident("Commanded");
    commanded.commander_id = Some(stranger);
    let refused = api.incident_create(None, &commanded).await;
    match refused {
        Err(incident_tracker_client::Error::ErrorResponse(error)) => {
            let error = error.into_inner();
            assert_eq!(
                (error.code.as_str(), &error.details["field"]),
                ("VALIDATION_FAILED", &serde_json::json!("commanderId"))
            );
        }
        other => panic!("{other:?}"),
    }
    commanded.commander_id = Some(setting.owner_id);
    let incident = api.incident_create(None, &commanded).await.unwrap().into_inner();
    assert_eq!(incident.commander_id, Some(setting.owner_id));

    match api.task_create(&incident.id, None, &new_task("Page", Some(stranger))).await {
        Err(incident_tracker_client::Error::ErrorResponse(error)) => {
            assert_eq!(error.into_inner().details["field"], "assigneeId");
        }
        other => panic!("{other:?}"),
    }
    let task = api.task_create(&incident.id, None, &new_task("Page", Some(setting.owner_id))).await.unwrap();

    // A task under another incident is not found there.
    let other = api.incident_create(None, &new_incident("Other")).await.unwrap();
    let touch = TaskUpdateRequest {
        title: Some("Moved".parse().unwrap()),
        status: None,
        description: None,
        assignee_id: None,
        due_at: None,
    };
    assert_eq!(status(api.task_update(&other.id, &task.id, None, &touch).await), 404);
    assert_eq!(status(api.task_update(&incident.id, &task.id, None, &touch).await), 200);
    assert_eq!(status(api.incident_view(&Uuid::new_v4()).await), 404);

    // A note may be backdated, but not dated ahead.
    let mut early = note("Alert fired");
    early.occurred_at = Some(Utc::now() - Duration::hours(2));
    let backdated = api.timeline_event_create(&incident.id, None, &early).await.unwrap().into_inner();
    assert!(backdated.recorded_at > backdated.occurred_at);
    let timeline = api.timeline_event_list(&incident.id, None, None).await.unwrap().into_inner().items;
    assert_eq!(timeline[0].id, backdated.id, "listed by occurredAt");
    let mut late = note("From the future");
    late.occurred_at = Some(Utc::now() + Duration::minutes(5));
    assert_eq!(status(api.timeline_event_create(&incident.id, None, &late).await), 400);

    // Clients cannot post a system kind.
    let forged = setting
        .owner
        .http()
        .post(setting.app.url(&format!("/v1/incidents/{}/timeline-events", incident.id)))
        .json(&serde_json::json!({ "kind": "status_changed", "body": "forged" }))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn markdown_is_served_sanitized_and_every_answer_forbids_active_content() {
    let setting = setting().await;
    let api = setting.owner.api();
    let payloads = [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<svg onload=alert(1)>",
        "<iframe src=\"https://evil.example\"></iframe>",
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](  javascript:alert(1))",
        "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
        "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>",
        "<a href=\"vbscript:msgbox(1)\">x</a>",
        "<div style=\"background:url(javascript:alert(1))\">x</div>",
        "<body onload=alert(1)>",
        "<form action=\"javascript:alert(1)\"><input type=submit></form>",
        "<object data=\"javascript:alert(1)\"></object>",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
        "<a href=\"https://example.com\" onclick=\"alert(1)\">x</a>",
        "![x](javascript:alert(1))",
        "<details open ontoggle=alert(1)>",
        "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    ];
    let banned = [
        "<script",
        "javascript:",
        "vbscript:",
        "data:text",
        "onerror",
        "onload",
        "onclick",
        "ontoggle",
        "<iframe",
        "<object",
        "<form",
        "<style",
        "style=",
        "<meta",
        "<svg",
        "<body",
    ];
    let check = |field: &str, html: &str| {
        let lowered = html.to_ascii_lowercase();
        for word in banned {
            assert!(!lowered.contains(word), "{field} kept {word:?}: {html}");
        }
    };
    for payload in payloads {
        let mut request = new_incident("XSS");
        request.summary = payload.parse().unwrap();
        let incident = api.incident_create(None, &request).await.unwrap().into_inner();
        check("summaryHtml", &incident.summary_html);
        let event = api.timeline_event_create(&incident.id, None, &note(payload)).await.unwrap().into_inner();
        check("bodyHtml", event.body_html.as_deref().unwrap());
        let mut task = new_task("XSS", None);
        task.description = payload.parse().unwrap();
        let task = api.task_create(&incident.id, None, &task).await.unwrap().into_inner();
        check("descriptionHtml", &task.description_html);
        let update = api.status_update_create(&incident.id, None, &status_update(payload, None)).await.unwrap();
        check("bodyHtml", &update.body_html);
        assert_eq!(incident.summary, payload, "markdown is stored as written");
    }
    let mut request = new_incident("Links");
    request.summary = "See [the runbook](https://example.com/runbook).".parse().unwrap();
    let incident = api.incident_create(None, &request).await.unwrap().into_inner();
    assert!(incident.summary_html.contains("rel=\"noopener noreferrer nofollow\""), "{}", incident.summary_html);

    let http = setting.owner.http();
    for url in [setting.app.url("/v1/incidents"), setting.app.url(&format!("/v1/incidents/{}", Uuid::new_v4()))] {
        let response = http.get(url).send().await.unwrap();
        assert_eq!(response.headers()["content-security-policy"], "default-src 'none'; frame-ancestors 'none'");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn read_keys_read_write_keys_write_and_neither_sees_another_tenant() {
    let setting = setting().await;
    let api = setting.owner.api();
    let account = api
        .service_account_create(
            &setting.tenant,
            &incident_tracker_client::types::ServiceAccountCreateRequest { name: "Pager".parse().unwrap() },
        )
        .await
        .unwrap();
    let key = |scopes| incident_tracker_client::types::ApiKeyCreateRequest {
        service_account_id: account.id,
        name: "key".parse().unwrap(),
        scopes,
        expires_at: None,
    };
    use incident_tracker_client::types::ApiKeyScope::{Read, Write};
    let read = api.api_key_create(&setting.tenant, &key(vec![Read])).await.unwrap().into_inner().secret;
    let write = api.api_key_create(&setting.tenant, &key(vec![Read, Write])).await.unwrap().into_inner().secret;
    let reader = with_api_key(&setting.app.url(""), &read);
    let writer = with_api_key(&setting.app.url(""), &write);

    let created = writer.incident_create(None, &new_incident("From automation")).await.unwrap().into_inner();
    assert_eq!((created.created_by.type_.as_str(), created.created_by.id), ("service_account", account.id));
    assert_eq!(created.reference, format!("INC-{}", created.number));
    assert_eq!(reader.incident_view(&created.id).await.unwrap().id, created.id);
    assert_eq!(error_code(reader.incident_create(None, &new_incident("Nope")).await), "FORBIDDEN");
    assert_eq!(status(reader.timeline_event_create(&created.id, None, &note("Nope")).await), 403);

    let (stranger, _) = user(&setting.app, "stranger").await;
    let elsewhere = stranger.create_tenant("Globex").await;
    stranger.api().tenant_switch(&elsewhere).await.unwrap();
    let theirs = stranger.api().incident_create(None, &new_incident("Theirs")).await.unwrap().into_inner();
    assert_eq!(theirs.number, 1, "numbers are per tenant");
    for client in [&reader, &writer, &api] {
        assert_eq!(status(client.incident_view(&theirs.id).await), 404);
        assert_eq!(status(client.timeline_event_list(&theirs.id, None, None).await), 404);
    }
    for client in [&writer, &api] {
        assert_eq!(status(client.incident_update(&theirs.id, None, &retitled("Mine")).await), 404);
    }
    let listed = writer.incident_list(None, None, None, None, None, None, None, None, None, None, None).await.unwrap();
    assert!(listed.items.iter().all(|incident| incident.id != theirs.id));
}

/// Inserts `count` incidents straight into the database: statuses,
/// severities and labels in a fixed rotation, creation times in bursts that
/// share an instant (so ties are broken by id), summaries that mention an
/// outage every seventh time.
async fn insert_incidents(database: &TestDatabase, tenant: Uuid, creator: Uuid, count: i64) {
    sql_query(
        "INSERT INTO incidents (id, tenant_id, number, title, summary, severity, status, labels, created_by_type,
                                created_by_id, created_at, updated_at, version)
         SELECT gen_random_uuid(), $1, n, 'Incident ' || n,
                CASE WHEN n % 7 = 0 THEN 'The database had outages' ELSE 'Quiet' END,
                (ARRAY['sev1','sev2','sev3','sev4'])[1 + n % 4],
                (ARRAY['triage','investigating','mitigated','resolved','closed','declined'])[1 + n % 6],
                CASE WHEN n % 3 = 0 THEN ARRAY['db','api'] ELSE ARRAY['api'] END,
                'user', $2,
                timestamptz '2026-01-01' + ((n / 10) || ' minutes')::interval,
                timestamptz '2026-06-01' - ((n / 5) || ' minutes')::interval,
                1
         FROM generate_series(1, $3) AS n",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<SqlUuid, _>(creator)
    .bind::<diesel::sql_types::BigInt, _>(count)
    .execute(&mut database.owner_connection().await)
    .await
    .unwrap();
}

#[derive(Default)]
struct ListQuery {
    status: Option<String>,
    severity: Option<Severity>,
    label: Option<String>,
    q: Option<String>,
    sort: Option<IncidentSort>,
    created_after: Option<DateTime<Utc>>,
    created_before: Option<DateTime<Utc>>,
}

/// Every page of a listing, 37 at a time.
async fn list_all(api: &Client, query: &ListQuery) -> Vec<Incident> {
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    let limit = std::num::NonZeroU32::new(37);
    loop {
        let page = match &token {
            None => {
                api.incident_list(
                    None,
                    query.created_after.as_ref(),
                    query.created_before.as_ref(),
                    query.label.as_ref().map(|label| label.parse().unwrap()).as_ref(),
                    limit,
                    None,
                    query.q.as_ref().map(|q| q.parse().unwrap()).as_ref(),
                    query.severity,
                    query.sort,
                    query.status.as_ref().map(|status| status.parse().unwrap()).as_ref(),
                    None,
                )
                .await
            }
            Some(token) => {
                api.incident_list(None, None, None, None, limit, Some(token), None, None, None, None, None).await
            }
        }
        .unwrap()
        .into_inner();
        all.extend(page.items);
        match page.next_page {
            Some(next) => token = Some(next),
            None => return all,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_incidents_page_by_page_each_listed_exactly_once_under_every_filter() {
    let setting = setting().await;
    insert_incidents(&setting.database, setting.tenant, setting.owner_id, 1000).await;
    let api = setting.owner.api();
    let all = list_all(&api, &ListQuery::default()).await;
    let numbers = |incidents: &[Incident]| incidents.iter().map(|incident| incident.number).collect::<Vec<_>>();
    let once = |incidents: &[Incident]| {
        let distinct: BTreeSet<_> = incidents.iter().map(|incident| incident.id).collect();
        assert_eq!(distinct.len(), incidents.len(), "an incident was listed twice");
    };
    assert_eq!(all.len(), 1000);
    once(&all);
    assert!(
        all.windows(2).all(|pair| (pair[0].created_at, pair[0].id) > (pair[1].created_at, pair[1].id)),
        "newest first"
    );

    let expect = |keep: &dyn Fn(i64) -> bool| (1..=1000).filter(|n| keep(*n)).collect::<BTreeSet<i64>>();
    let cases: Vec<(ListQuery, BTreeSet<i64>)> = vec![
        (
            ListQuery { status: Some("triage,resolved".into()), ..Default::default() },
            expect(&|n| n % 6 == 0 || n % 6 == 3),
        ),
        (ListQuery { severity: Some(Severity::Sev3), ..Default::default() }, expect(&|n| n % 4 == 2)),
        (ListQuery { label: Some("db".into()), ..Default::default() }, expect(&|n| n % 3 == 0)),
        (ListQuery { q: Some("outage".into()), ..Default::default() }, expect(&|n| n % 7 == 0)),
        (
            ListQuery {
                created_after: Some("2026-01-01T00:10:00Z".parse().unwrap()),
                created_before: Some("2026-01-01T00:50:00Z".parse().unwrap()),
                ..Default::default()
            },
            expect(&|n| (100..500).contains(&n)),
        ),
        (
            ListQuery { status: Some("mitigated".into()), label: Some("db".into()), ..Default::default() },
            expect(&|n| n % 6 == 2 && n % 3 == 0),
        ),
    ];
    for (query, expected) in cases {
        let listed = list_all(&api, &query).await;
        once(&listed);
        assert_eq!(numbers(&listed).into_iter().collect::<BTreeSet<_>>(), expected);
    }

    let synced = list_all(&api, &ListQuery { sort: Some(IncidentSort::Updated), ..Default::default() }).await;
    once(&synced);
    assert_eq!(synced.len(), 1000);
    assert!(synced.windows(2).all(|pair| (pair[0].updated_at, pair[0].id) < (pair[1].updated_at, pair[1].id)));

    assert!("triage,bogus".parse::<incident_tracker_client::types::IncidentListStatus>().is_err());
    let bad = setting.owner.http().get(setting.app.url("/v1/incidents?status=triage,bogus")).send().await.unwrap();
    assert_validation_failed(bad, "an unknown status").await;
}

/// Inserts an incident created at `created` with stamps that many seconds later.
async fn insert_timed(
    setting: &Setting,
    number: i64,
    severity: &str,
    created: DateTime<Utc>,
    tta: Option<i64>,
    ttr: Option<i64>,
) {
    let later = |seconds: Option<i64>| seconds.map(|seconds| created + Duration::seconds(seconds));
    sql_query(
        "INSERT INTO incidents (id, tenant_id, number, title, summary, severity, status, labels, created_by_type,
                                created_by_id, created_at, updated_at, acknowledged_at, resolved_at, version)
         VALUES (gen_random_uuid(), $1, $2, 'Timed', '', $3, 'investigating', '{}', 'user', $4, $5, $5, $6, $7, 1)",
    )
    .bind::<SqlUuid, _>(setting.tenant)
    .bind::<diesel::sql_types::BigInt, _>(number)
    .bind::<diesel::sql_types::Text, _>(severity)
    .bind::<SqlUuid, _>(setting.owner_id)
    .bind::<diesel::sql_types::Timestamptz, _>(created)
    .bind::<diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>, _>(later(tta))
    .bind::<diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>, _>(later(ttr))
    .execute(&mut setting.database.owner_connection().await)
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_match_figures_worked_out_by_hand() {
    let setting = setting().await;
    let base: DateTime<Utc> = "2026-03-01T00:00:00Z".parse().unwrap();
    let fixtures = [
        ("sev1", Some(60), Some(600)),
        ("sev1", Some(120), Some(1200)),
        ("sev1", Some(300), None),
        ("sev2", Some(30), Some(3600)),
        ("sev2", None, None),
    ];
    for (n, (severity, tta, ttr)) in fixtures.into_iter().enumerate() {
        let created = base + Duration::hours(n as i64);
        insert_timed(&setting, n as i64 + 1, severity, created, tta, ttr).await;
    }
    // Outside the range: counts nowhere.
    insert_timed(&setting, 99, "sev1", base - Duration::days(2), Some(9), Some(9)).await;

    let api = setting.owner.api();
    let (from, to) = (base, base + Duration::days(1));
    let metrics = api.incident_metrics_view(Some(&from), None, Some(&to)).await.unwrap().into_inner();
    assert_eq!(metrics.count, 5);
    // MTTA samples 30, 60, 120, 300: p50 = 60 + 0.5 * 60 = 90; p90 at
    // position 2.7 = 120 + 0.7 * 180 = 246.
    assert_eq!((metrics.mtta.p50, metrics.mtta.p90), (Some(90.0), Some(246.0)));
    // MTTR samples 600, 1200, 3600: p50 = 1200; p90 at 1.8 = 1200 + 0.8 * 2400 = 3120.
    assert_eq!((metrics.mttr.p50, metrics.mttr.p90), (Some(1200.0), Some(3120.0)));
    let by: BTreeMap<String, _> = metrics
        .by_severity
        .iter()
        .map(|row| (row.severity.to_string(), (row.count, row.mtta.p50, row.mttr.p90)))
        .collect();
    // sev1: MTTA 60, 120, 300 (p50 120); MTTR 600, 1200 (p90 at 0.9 = 1140).
    assert_eq!(by["sev1"], (3, Some(120.0), Some(1140.0)));
    assert_eq!(by["sev2"], (2, Some(30.0), Some(3600.0)));
    assert_eq!(by["sev3"], (0, None, None));

    let only_sev2 = api.incident_metrics_view(Some(&from), Some(Severity::Sev2), Some(&to)).await.unwrap();
    assert_eq!((only_sev2.count, only_sev2.mttr.p50), (2, Some(3600.0)));
    let backwards = api.incident_metrics_view(Some(&to), None, Some(&from)).await;
    assert_eq!(status_and_code(backwards), (400, "VALIDATION_FAILED".to_string()));
}

#[tokio::test(flavor = "multi_thread")]
async fn after_500_mixed_incident_writes_the_audit_chain_verifies() {
    let setting = setting().await;
    let api = setting.owner.api();
    let mut incidents = Vec::new();
    let mut writes = 0;
    while writes < 500 {
        match writes % 5 {
            0 => {
                incidents.push(api.incident_create(None, &new_incident("Chained")).await.unwrap().into_inner().id);
            }
            1 => {
                let id = incidents[incidents.len() - 1];
                api.incident_update(&id, None, &moving_to(IncidentStatus::Investigating)).await.unwrap();
            }
            2 => {
                let id = incidents[incidents.len() - 1];
                api.timeline_event_create(&id, None, &note("Looking")).await.unwrap();
            }
            3 => {
                let id = incidents[incidents.len() - 1];
                api.task_create(&id, None, &new_task("Check", None)).await.unwrap();
            }
            _ => {
                let id = incidents[incidents.len() - 1];
                api.status_update_create(&id, None, &status_update("Resolved", Some(IncidentStatus::Resolved)))
                    .await
                    .unwrap();
            }
        }
        writes += 1;
    }
    let verification = api.audit_chain_verify().await.unwrap().into_inner();
    assert!(verification.valid);
    assert!(verification.checked_events >= 500, "{}", verification.checked_events);
    let actions: BTreeSet<String> =
        crate::common::audit_actions(&mut setting.database.owner_connection().await, setting.tenant)
            .await
            .into_iter()
            .collect();
    for action in
        ["incident.created", "incident.status_changed", "timeline_note.created", "task.created", "status_update.posted"]
    {
        assert!(actions.contains(action), "{action} missing from {actions:?}");
    }
}

/// A page token as dropshot writes one, around any selector the client likes.
fn forged_token(page_start: serde_json::Value) -> String {
    use base64::Engine;
    let json = serde_json::json!({ "v": "v1", "page_start": page_start });
    base64::engine::general_purpose::URL_SAFE.encode(serde_json::to_vec(&json).unwrap())
}

/// Review findings: what no store, clock or page token can hold is a 400,
/// never a 500 or a dropped connection, and changes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn out_of_range_times_forged_tokens_and_oversized_filters_are_validation_failures() {
    let setting = setting().await;
    let http = setting.owner.http();
    let api = setting.owner.api();
    for query in ["to=-262143-01-15T00:00:00Z", "from=+262142-01-01T00:00:00Z", "from=-5000-01-01T00:00:00Z"] {
        let response = http.get(setting.app.url(&format!("/v1/incident-metrics?{query}"))).send().await.unwrap();
        assert_validation_failed(response, query).await;
    }

    let incident = api.incident_create(None, &new_incident("Tokens")).await.unwrap().into_inner();
    let id = Uuid::new_v4();
    for (what, selector) in [
        ("NUL in q", serde_json::json!({ "filter": { "q": "a\u{0}" }, "at": "2026-01-01T00:00:00Z", "id": id })),
        ("NUL in label", serde_json::json!({ "filter": { "label": "\u{0}" }, "at": "2026-01-01T00:00:00Z", "id": id })),
        ("cursor year", serde_json::json!({ "filter": {}, "at": "+200000-01-01T00:00:00Z", "id": id })),
        ("status", serde_json::json!({ "filter": { "status": "triage,," }, "at": "2026-01-01T00:00:00Z", "id": id })),
    ] {
        let url = setting.app.url(&format!("/v1/incidents?page_token={}", forged_token(selector)));
        assert_validation_failed(http.get(url).send().await.unwrap(), what).await;
    }
    let timeline_cursor = forged_token(serde_json::json!({ "occurredAt": "+200000-01-01T00:00:00Z", "id": id }));
    let url = setting.app.url(&format!("/v1/incidents/{}/timeline-events?page_token={timeline_cursor}", incident.id));
    assert_validation_failed(http.get(url).send().await.unwrap(), "timeline cursor year").await;

    // Every filter at its longest cannot be carried in a page token: refused
    // before the first page rather than failing on it.
    let everything = format!(
        "/v1/incidents?status=triage,investigating,mitigated,resolved,closed,declined&severity=sev1&commanderId={id}\
         &label={}&createdAfter=2026-01-01T00:00:00.123456789Z&createdBefore=2026-12-01T00:00:00.123456789Z\
         &updatedAfter=2026-01-01T00:00:00.123456789Z&q={}",
        "l".repeat(64),
        "q".repeat(200)
    );
    assert_validation_failed(http.get(setting.app.url(&everything)).send().await.unwrap(), "every filter").await;

    let many = serde_json::json!({ "title": "Labels", "severity": "sev3", "labels": (0..30_000).map(|n| n.to_string()).collect::<Vec<_>>() });
    let response = http.post(setting.app.url("/v1/incidents")).json(&many).send().await.unwrap();
    assert_validation_failed(response, "30,000 labels").await;
    let mut twenty_one = new_incident("Labels");
    twenty_one.labels = (0..21).map(|n| n.to_string().parse().unwrap()).collect();
    assert_eq!(error_code(api.incident_create(None, &twenty_one).await), "VALIDATION_FAILED");
    assert_eq!(incident_count(&setting.database, setting.tenant).await, 1, "nothing was created");
}

/// Review finding: naming a member as commander while that member's role
/// changes never deadlocks. The member's id is the smaller one, so a role
/// change locks the member's row before the owner's, the reverse of the
/// order a write that locked its caller first would take.
#[tokio::test(flavor = "multi_thread")]
async fn naming_a_commander_while_their_role_changes_never_fails() {
    use incident_tracker_client::types::{MemberUpdateRequest, Role};
    let setting = setting().await;
    let (first, first_id) = user(&setting.app, "first").await;
    let (second, second_id) = user(&setting.app, "second").await;
    let ((_, member), (owner, _)) = if first_id < second_id {
        ((first, first_id), (second, second_id))
    } else {
        ((second, second_id), (first, first_id))
    };
    let tenant = owner.create_tenant("Ordered").await;
    owner.api().tenant_switch(&tenant).await.unwrap();
    add_member(&setting.database, tenant, member, "responder").await;
    let api = owner.api();
    let incident = api.incident_create(None, &new_incident("Command")).await.unwrap().into_inner();
    for round in 0..30 {
        let role = if round % 2 == 0 { Role::Viewer } else { Role::Responder };
        let mut commanded = new_incident("Commanded");
        commanded.commander_id = Some(member);
        let reassign = IncidentUpdateRequest { commander_id: Some(member), ..no_change() };
        let change = MemberUpdateRequest { role };
        let (created, updated, changed) = tokio::join!(
            api.incident_create(None, &commanded),
            api.incident_update(&incident.id, None, &reassign),
            api.member_update(&tenant, &member, &change),
        );
        assert_eq!((status(created), status(updated), status(changed)), (201, 200, 200), "round {round}");
    }
}
