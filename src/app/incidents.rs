//! Incidents: their lifecycle, timeline, tasks and status updates, and the
//! metrics over them. Every use case acts in the caller's active tenant (a
//! key's own) through the one tenant operation; each change writes its
//! timeline events and audit events in the same transaction.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use futures::StreamExt;
use futures::stream::BoxStream;
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::operation::{self, Change, ChangeKind, Done, IdempotencyKey, Write, Written};
use super::{Actor, AppState, Error, OpContext, Page, Problem, validate_line};
use crate::audit::{NewEvent, Target};
use crate::db::incidents::{
    self as queries, Creator, Incident, IncidentChange, IncidentCursor, IncidentFilter, IncidentOrder, MetricsRow,
    NewStatusUpdate, NewTimelineEvent, StatusUpdate, Task, TaskChange, TimelineEvent,
};
use crate::db::tenants;
use crate::policy::Action;

named_variants! {
    /// Where an incident stands; see [`IncidentStatus::allowed_moves`].
    IncidentStatus {
        Triage => "triage",
        Investigating => "investigating",
        Mitigated => "mitigated",
        Resolved => "resolved",
        Closed => "closed",
        Declined => "declined",
    }
}

named_variants! {
    /// How bad an incident is: sev1 is the most severe.
    Severity { Sev1 => "sev1", Sev2 => "sev2", Sev3 => "sev3", Sev4 => "sev4" }
}

named_variants! {
    TaskStatus { Open => "open", InProgress => "in_progress", Done => "done", WontDo => "wont_do" }
}

named_variants! {
    /// Who a status update is written for.
    Audience { Internal => "internal", Public => "public" }
}

impl IncidentStatus {
    /// The status machine: where an incident may go from here.
    pub fn allowed_moves(self) -> &'static [IncidentStatus] {
        use IncidentStatus::*;
        match self {
            Triage => &[Investigating, Mitigated, Resolved, Declined],
            Investigating => &[Mitigated, Resolved],
            Mitigated => &[Investigating, Resolved],
            Resolved => &[Investigating, Closed],
            Closed => &[Investigating],
            Declined => &[],
        }
    }
}

impl TaskStatus {
    fn is_finished(self) -> bool {
        matches!(self, TaskStatus::Done | TaskStatus::WontDo)
    }
}

const MAX_TITLE_CHARS: usize = 200;
const MAX_SUMMARY_CHARS: usize = 20_000;
const MAX_BODY_CHARS: usize = 10_000;
const MAX_LABELS: usize = 20;
const MAX_LABEL_CHARS: usize = 64;
/// How far ahead of the server's clock a note's `occurredAt` may lie.
const MAX_CLOCK_AHEAD: chrono::Duration = chrono::Duration::minutes(1);
/// The longest range metrics are computed over.
const MAX_METRICS_DAYS: i64 = 366;

#[derive(Debug, Serialize)]
pub struct NewIncident {
    pub title: String,
    pub summary: String,
    pub severity: Severity,
    pub commander_id: Option<Uuid>,
    pub labels: Vec<String>,
}

/// The fields a `PATCH` sets; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct IncidentPatch {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub severity: Option<Severity>,
    /// `Some(None)` removes the commander.
    pub commander_id: Option<Option<Uuid>>,
    pub labels: Option<Vec<String>>,
    pub status: Option<IncidentStatus>,
}

#[derive(Debug, Serialize)]
pub struct NewNote {
    pub body: String,
    pub occurred_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize)]
pub struct NewTask {
    pub title: String,
    pub description: String,
    pub assignee_id: Option<Uuid>,
    pub due_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Default)]
pub struct TaskPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub status: Option<TaskStatus>,
    /// `Some(None)` unassigns the task.
    pub assignee_id: Option<Option<Uuid>>,
    /// `Some(None)` removes the due date.
    pub due_at: Option<Option<DateTime<Utc>>>,
}

#[derive(Debug, Serialize)]
pub struct NewStatusUpdateRequest {
    pub body: String,
    pub audience: Audience,
    pub status: Option<IncidentStatus>,
    pub severity: Option<Severity>,
}

/// The versions an `If-Match` accepts; `None` when the request sent none
/// (or `*`), and the write applies whatever the version.
pub type Expected = Option<Vec<i64>>;

/// A page of incidents: the filter, the order, and where it resumes.
#[derive(Clone, Debug)]
pub struct IncidentQuery {
    pub filter: IncidentFilter,
    pub order: IncidentOrder,
    pub after: Option<IncidentCursor>,
    pub limit: i64,
}

/// Counts and time-to-acknowledge and time-to-resolve percentiles, in
/// seconds, over the incidents created in a range.
#[derive(Debug)]
pub struct Metrics {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub overall: MetricsRow,
    /// One row per severity, sev1 first, zeros included.
    pub by_severity: Vec<(Severity, MetricsRow)>,
}

pub async fn incident_list(state: &AppState, op: &OpContext, query: IncidentQuery) -> Result<Vec<Incident>, Error> {
    validate_filter(&query.filter)?;
    if let Some(cursor) = query.after {
        validate_time("page_token", cursor.at)?;
    }
    let tenant_id = op.active_tenant()?;
    operation::tenant_read(state, op, tenant_id, Action::IncidentsRead, move |conn| {
        Box::pin(async move {
            Ok(queries::incident_list(conn, tenant_id, &query.filter, query.order, query.after, query.limit).await?)
        })
    })
    .await
}

/// Incidents an export reads per transaction: what one export holds in
/// memory at a time, however many it sends.
const EXPORT_PAGE_ITEMS: i64 = 100;

/// An export: how many incidents matched when it started, and the pages
/// of them, each read only when the one before has been sent.
pub struct IncidentExport {
    pub rows: i64,
    pub pages: BoxStream<'static, Result<Vec<Incident>, Error>>,
}

/// Every incident of the active tenant that the filter matches, in the
/// list's order (`incidents.export`). The export is audited, with its
/// filter and row count, before the first page is read; each page is read
/// in a transaction of its own, and checks the caller's role again.
pub async fn incident_export(
    state: Arc<AppState>,
    op: &OpContext,
    filter: IncidentFilter,
    order: IncidentOrder,
    format: &'static str,
) -> Result<IncidentExport, Error> {
    validate_filter(&filter)?;
    let tenant_id = op.active_tenant()?;
    // In change order, an incident changed during the export would move
    // past the cursor and be read again: the export reads the changes
    // made before it started.
    let filter = match order {
        IncidentOrder::UpdatedAscending => IncidentFilter { updated_not_after: Some(Utc::now()), ..filter },
        IncidentOrder::CreatedDescending => filter,
    };
    let audited_filter = filter.clone();
    let rows = operation::tenant_read_audited(&state, op, tenant_id, Action::IncidentsExport, move |conn, _| {
        Box::pin(async move {
            let rows = queries::incident_count(conn, tenant_id, &audited_filter).await?;
            let event = NewEvent::new("incident.exported", None)
                .with_metadata(json!({ "format": format, "filter": audited_filter.describe(), "rows": rows }));
            Ok(Done::new(rows).audited(event))
        })
    })
    .await?;
    let op = Arc::new(OpContext::new(op.actor.clone(), op.origin.clone(), op.active_tenant));
    let filter = Arc::new(filter);
    // `Some(cursor)` while pages remain: `Some(None)` before the first.
    let pages = futures::stream::try_unfold(Some(None), move |next: Option<Option<IncidentCursor>>| {
        let (state, op, filter) = (state.clone(), op.clone(), filter.clone());
        async move {
            let Some(after) = next else { return Ok(None) };
            let page = operation::tenant_read(&state, &op, tenant_id, Action::IncidentsExport, move |conn| {
                Box::pin(async move {
                    Ok(queries::incident_list(conn, tenant_id, &filter, order, after, EXPORT_PAGE_ITEMS).await?)
                })
            })
            .await
            .inspect_err(|error| {
                // The answer started as a 200: the refusal is only logged.
                if matches!(error, Error::Forbidden(_) | Error::NotFound) {
                    let origin = &op.origin;
                    crate::telemetry::security_event(
                        "permission.denied",
                        error.code(),
                        &origin.request_id,
                        origin.client_ip,
                        op.actor.id(),
                    );
                }
            })?;
            let more = page.len() as i64 == EXPORT_PAGE_ITEMS;
            let cursor = page.last().filter(|_| more).map(|last| IncidentCursor {
                at: match order {
                    IncidentOrder::CreatedDescending => last.created_at,
                    IncidentOrder::UpdatedAscending => last.updated_at,
                },
                id: last.id,
            });
            Ok(Some((page, cursor.map(Some))))
        }
    });
    Ok(IncidentExport { rows, pages: pages.boxed() })
}

pub async fn incident_create(
    state: &AppState,
    op: &OpContext,
    new: NewIncident,
    key: Option<String>,
) -> Result<Written<Incident>, Error> {
    let tenant_id = op.active_tenant()?;
    let new = NewIncident {
        title: validate_title(&new.title)?,
        summary: validate_markdown("summary", new.summary, MAX_SUMMARY_CHARS)?,
        labels: validate_labels(new.labels)?,
        ..new
    };
    let key = IdempotencyKey::new(key, "incident_create", &new)?;
    let creator = creator(&op.actor)?;
    let write = Write::new(Action::IncidentsWrite);
    operation::tenant_write_once(state, op, tenant_id, write, key, move |conn, _| {
        Box::pin(async move {
            if let Some(commander_id) = new.commander_id {
                require_member(conn, tenant_id, commander_id, "commanderId").await?;
            }
            let now = Utc::now();
            let number = queries::incident_number_next(conn, tenant_id).await?;
            let fields = IncidentChange {
                title: new.title,
                summary: new.summary,
                severity: new.severity.as_str().to_string(),
                status: IncidentStatus::Triage.as_str().to_string(),
                commander_id: new.commander_id,
                labels: new.labels.into_iter().map(Some).collect(),
                updated_at: now,
                acknowledged_at: None,
                mitigated_at: None,
                resolved_at: None,
                closed_at: None,
                reopen_count: 0,
            };
            let incident = queries::incident_create(conn, tenant_id, number, creator, &fields).await?;
            let data = json!({ "number": number, "severity": incident.severity });
            record(conn, tenant_id, incident.id, creator, "incident_created", data, now).await?;
            let event = NewEvent::new("incident.created", Some(Target::incident(incident.id)))
                .with_metadata(json!({ "number": number, "severity": incident.severity }));
            let change = Change::in_incident(ChangeKind::IncidentCreated, incident.id, &incident)?;
            Ok(Done::new(incident).audited(event).announced(change))
        })
    })
    .await
}

pub async fn incident_view(state: &AppState, op: &OpContext, incident_id: Uuid) -> Result<Incident, Error> {
    let tenant_id = op.active_tenant()?;
    operation::tenant_read(state, op, tenant_id, Action::IncidentsRead, move |conn| {
        Box::pin(async move { queries::incident_view(conn, tenant_id, incident_id).await?.ok_or(Error::NotFound) })
    })
    .await
}

pub async fn incident_update(
    state: &AppState,
    op: &OpContext,
    incident_id: Uuid,
    patch: IncidentPatch,
    expected: Expected,
) -> Result<Incident, Error> {
    let tenant_id = op.active_tenant()?;
    let patch = IncidentPatch {
        title: patch.title.as_deref().map(validate_title).transpose()?,
        summary: patch.summary.map(|summary| validate_markdown("summary", summary, MAX_SUMMARY_CHARS)).transpose()?,
        labels: patch.labels.map(validate_labels).transpose()?,
        ..patch
    };
    let creator = creator(&op.actor)?;
    operation::tenant_write(state, op, tenant_id, Write::new(Action::IncidentsWrite), move |conn, _| {
        Box::pin(async move {
            let incident = queries::incident_lock(conn, tenant_id, incident_id).await?.ok_or(Error::NotFound)?;
            check_version(&expected, incident.version)?;
            if let Some(Some(commander_id)) = patch.commander_id.filter(|new| *new != incident.commander_id) {
                require_member(conn, tenant_id, commander_id, "commanderId").await?;
            }
            let now = Utc::now();
            let mut change = incident.change(now);
            let mut timeline = Vec::new();
            let mut fields = Vec::new();
            if let Some(title) = patch.title.filter(|title| *title != incident.title) {
                timeline.push(("field_changed", json!({ "field": "title", "from": incident.title, "to": title })));
                fields.push("title");
                change.title = title;
            }
            if let Some(summary) = patch.summary.filter(|summary| *summary != incident.summary) {
                timeline.push(("field_changed", json!({ "field": "summary" })));
                fields.push("summary");
                change.summary = summary;
            }
            let labels = patch.labels.map(|labels| labels.into_iter().map(Some).collect::<Vec<_>>());
            if let Some(labels) = labels.filter(|labels| *labels != incident.labels) {
                timeline.push(("field_changed", json!({ "field": "labels", "from": incident.labels, "to": labels })));
                fields.push("labels");
                change.labels = labels;
            }
            if let Some(severity) =
                patch.severity.map(Severity::as_str).filter(|severity| *severity != incident.severity)
            {
                timeline.push(("severity_changed", json!({ "from": incident.severity, "to": severity })));
                fields.push("severity");
                change.severity = severity.to_string();
            }
            if let Some(commander_id) = patch.commander_id.filter(|commander_id| *commander_id != incident.commander_id)
            {
                timeline.push(("commander_changed", json!({ "from": incident.commander_id, "to": commander_id })));
                fields.push("commanderId");
                change.commander_id = commander_id;
            }
            let from = IncidentStatus::from_stored(&incident.status)?;
            let status_moved = patch.status.filter(|to| *to != from);
            if let Some(to) = status_moved {
                move_status(&mut change, from, to, now)?;
                timeline.push(("status_changed", json!({ "from": from, "to": to })));
            }
            if timeline.is_empty() {
                return Ok(Done::new(incident));
            }
            let updated = queries::incident_update(conn, tenant_id, incident_id, &change).await?;
            for (kind, data) in timeline {
                record(conn, tenant_id, incident_id, creator, kind, data, now).await?;
            }
            let mut done = Done::new(updated.clone());
            if !fields.is_empty() {
                let event = NewEvent::new("incident.updated", Some(Target::incident(incident_id)))
                    .with_metadata(json!({ "fields": fields }));
                done = done.audited(event).announced(Change::in_incident(
                    ChangeKind::IncidentUpdated,
                    incident_id,
                    &updated,
                )?);
            }
            if let Some(to) = status_moved {
                done = done.audited(status_changed_event(incident_id, from, to)).announced(Change::in_incident(
                    ChangeKind::IncidentStatusChanged,
                    incident_id,
                    &updated,
                )?);
            }
            Ok(done)
        })
    })
    .await
}

pub async fn timeline_event_list(
    state: &AppState,
    op: &OpContext,
    incident_id: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<TimelineEvent>, Error> {
    let tenant_id = op.active_tenant()?;
    if let Some((occurred_at, _)) = after {
        validate_time("page_token", occurred_at)?;
    }
    operation::tenant_read(state, op, tenant_id, Action::IncidentsRead, move |conn| {
        Box::pin(async move {
            require_incident(conn, tenant_id, incident_id).await?;
            Ok(queries::timeline_event_list(conn, tenant_id, incident_id, after, limit).await?)
        })
    })
    .await
}

/// Adds a note to the timeline. Only notes come from clients: every other
/// kind is written by the change it records.
pub async fn timeline_event_create(
    state: &AppState,
    op: &OpContext,
    incident_id: Uuid,
    note: NewNote,
    key: Option<String>,
) -> Result<Written<TimelineEvent>, Error> {
    let tenant_id = op.active_tenant()?;
    let body = validate_markdown("body", note.body, MAX_BODY_CHARS)?;
    if body.trim().is_empty() {
        return Err(Error::invalid_field("body", "A note has a body."));
    }
    if let Some(occurred_at) = note.occurred_at {
        validate_time("occurredAt", occurred_at)?;
        if occurred_at > Utc::now() + MAX_CLOCK_AHEAD {
            return Err(Error::invalid_field("occurredAt", "occurredAt lies at most a minute in the future."));
        }
    }
    let note = NewNote { body, ..note };
    let key = IdempotencyKey::new(key, "timeline_event_create", &(incident_id, &note))?;
    let creator = creator(&op.actor)?;
    let write = Write::new(Action::IncidentsWrite);
    operation::tenant_write_once(state, op, tenant_id, write, key, move |conn, _| {
        Box::pin(async move {
            require_incident(conn, tenant_id, incident_id).await?;
            let now = Utc::now();
            let event = NewTimelineEvent {
                incident_id,
                kind: "note",
                body: Some(&note.body),
                data: json!({}),
                actor: creator,
                occurred_at: note.occurred_at.unwrap_or(now),
                recorded_at: now,
            };
            let created = queries::timeline_event_create(conn, tenant_id, event).await?;
            let audited = NewEvent::new("timeline_note.created", Some(Target::timeline_event(created.id)))
                .with_metadata(json!({ "incidentId": incident_id }));
            let change = Change::in_incident(ChangeKind::TimelineNoteCreated, incident_id, &created)?;
            Ok(Done::new(created).audited(audited).announced(change))
        })
    })
    .await
}

pub async fn task_list(state: &AppState, op: &OpContext, incident_id: Uuid, page: Page) -> Result<Vec<Task>, Error> {
    let tenant_id = op.active_tenant()?;
    operation::tenant_read(state, op, tenant_id, Action::IncidentsRead, move |conn| {
        Box::pin(async move {
            require_incident(conn, tenant_id, incident_id).await?;
            Ok(queries::task_list(conn, tenant_id, incident_id, page.after, page.limit).await?)
        })
    })
    .await
}

pub async fn task_create(
    state: &AppState,
    op: &OpContext,
    incident_id: Uuid,
    new: NewTask,
    key: Option<String>,
) -> Result<Written<Task>, Error> {
    let tenant_id = op.active_tenant()?;
    let new = NewTask {
        title: validate_title(&new.title)?,
        description: validate_markdown("description", new.description, MAX_BODY_CHARS)?,
        ..new
    };
    if let Some(due_at) = new.due_at {
        validate_time("dueAt", due_at)?;
    }
    let key = IdempotencyKey::new(key, "task_create", &(incident_id, &new))?;
    let creator = creator(&op.actor)?;
    let write = Write::new(Action::IncidentsWrite);
    operation::tenant_write_once(state, op, tenant_id, write, key, move |conn, _| {
        Box::pin(async move {
            if let Some(assignee_id) = new.assignee_id {
                require_member(conn, tenant_id, assignee_id, "assigneeId").await?;
            }
            require_incident(conn, tenant_id, incident_id).await?;
            let now = Utc::now();
            let fields = TaskChange {
                title: new.title,
                description: new.description,
                status: TaskStatus::Open.as_str().to_string(),
                assignee_id: new.assignee_id,
                due_at: new.due_at,
                completed_at: None,
                updated_at: now,
            };
            let task = queries::task_create(conn, tenant_id, incident_id, creator, &fields).await?;
            let data = json!({ "taskId": task.id, "title": task.title });
            record(conn, tenant_id, incident_id, creator, "task_created", data, now).await?;
            let event = NewEvent::new("task.created", Some(Target::task(task.id)))
                .with_metadata(json!({ "incidentId": incident_id }));
            let change = Change::in_incident(ChangeKind::TaskCreated, incident_id, &task)?;
            Ok(Done::new(task).audited(event).announced(change))
        })
    })
    .await
}

pub async fn task_update(
    state: &AppState,
    op: &OpContext,
    incident_id: Uuid,
    task_id: Uuid,
    patch: TaskPatch,
    expected: Expected,
) -> Result<Task, Error> {
    let tenant_id = op.active_tenant()?;
    let patch = TaskPatch {
        title: patch.title.as_deref().map(validate_title).transpose()?,
        description: patch
            .description
            .map(|description| validate_markdown("description", description, MAX_BODY_CHARS))
            .transpose()?,
        ..patch
    };
    if let Some(Some(due_at)) = patch.due_at {
        validate_time("dueAt", due_at)?;
    }
    let creator = creator(&op.actor)?;
    operation::tenant_write(state, op, tenant_id, Write::new(Action::IncidentsWrite), move |conn, _| {
        Box::pin(async move {
            let task = queries::task_lock(conn, tenant_id, incident_id, task_id).await?.ok_or(Error::NotFound)?;
            check_version(&expected, task.version)?;
            if let Some(Some(assignee_id)) = patch.assignee_id.filter(|new| *new != task.assignee_id) {
                require_member(conn, tenant_id, assignee_id, "assigneeId").await?;
            }
            let now = Utc::now();
            let mut change = task.change(now);
            let mut fields = Vec::new();
            if let Some(title) = patch.title.filter(|title| *title != task.title) {
                change.title = title;
                fields.push("title");
            }
            if let Some(description) = patch.description.filter(|description| *description != task.description) {
                change.description = description;
                fields.push("description");
            }
            if let Some(assignee_id) = patch.assignee_id.filter(|assignee_id| *assignee_id != task.assignee_id) {
                change.assignee_id = assignee_id;
                fields.push("assigneeId");
            }
            if let Some(due_at) = patch.due_at.filter(|due_at| *due_at != task.due_at) {
                change.due_at = due_at;
                fields.push("dueAt");
            }
            let from = TaskStatus::from_stored(&task.status)?;
            let status_moved = patch.status.filter(|to| *to != from);
            if let Some(to) = status_moved {
                change.status = to.as_str().to_string();
                change.completed_at = if to.is_finished() { task.completed_at.or(Some(now)) } else { None };
                fields.push("status");
            }
            if fields.is_empty() {
                return Ok(Done::new(task));
            }
            let updated = queries::task_update(conn, tenant_id, task_id, &change).await?;
            if let Some(to) = status_moved {
                let data = json!({ "taskId": task_id, "from": from, "to": to });
                record(conn, tenant_id, incident_id, creator, "task_status_changed", data, now).await?;
            }
            let event = NewEvent::new("task.updated", Some(Target::task(task_id)))
                .with_metadata(json!({ "incidentId": incident_id, "fields": fields }));
            let change = Change::in_incident(ChangeKind::TaskUpdated, incident_id, &updated)?;
            Ok(Done::new(updated).audited(event).announced(change))
        })
    })
    .await
}

pub async fn status_update_list(
    state: &AppState,
    op: &OpContext,
    incident_id: Uuid,
    page: Page,
) -> Result<Vec<StatusUpdate>, Error> {
    let tenant_id = op.active_tenant()?;
    operation::tenant_read(state, op, tenant_id, Action::IncidentsRead, move |conn| {
        Box::pin(async move {
            require_incident(conn, tenant_id, incident_id).await?;
            Ok(queries::status_update_list(conn, tenant_id, incident_id, page.after, page.limit).await?)
        })
    })
    .await
}

/// Posts a status update; its `status` and `severity`, when given, become
/// the incident's in the same transaction, under the status machine.
pub async fn status_update_create(
    state: &AppState,
    op: &OpContext,
    incident_id: Uuid,
    new: NewStatusUpdateRequest,
    key: Option<String>,
) -> Result<Written<StatusUpdate>, Error> {
    let tenant_id = op.active_tenant()?;
    let body = validate_markdown("body", new.body, MAX_BODY_CHARS)?;
    if body.trim().is_empty() {
        return Err(Error::invalid_field("body", "A status update has a body."));
    }
    let new = NewStatusUpdateRequest { body, ..new };
    let key = IdempotencyKey::new(key, "status_update_create", &(incident_id, &new))?;
    let creator = creator(&op.actor)?;
    let write = Write::new(Action::IncidentsWrite);
    operation::tenant_write_once(state, op, tenant_id, write, key, move |conn, _| {
        Box::pin(async move {
            let incident = queries::incident_lock(conn, tenant_id, incident_id).await?.ok_or(Error::NotFound)?;
            let now = Utc::now();
            let mut change = incident.change(now);
            let mut timeline = Vec::new();
            let from = IncidentStatus::from_stored(&incident.status)?;
            let status_moved = new.status.filter(|to| *to != from);
            if let Some(to) = status_moved {
                move_status(&mut change, from, to, now)?;
                timeline.push(("status_changed", json!({ "from": from, "to": to })));
            }
            let severity_changed = new.severity.map(Severity::as_str).filter(|to| *to != incident.severity);
            if let Some(to) = severity_changed {
                timeline.push(("severity_changed", json!({ "from": incident.severity, "to": to })));
                change.severity = to.to_string();
            }
            let updated = match timeline.is_empty() {
                true => None,
                false => Some(queries::incident_update(conn, tenant_id, incident_id, &change).await?),
            };
            let posted = NewStatusUpdate {
                incident_id,
                body: &new.body,
                audience: new.audience.as_str(),
                status: &change.status,
                severity: &change.severity,
                changed_status: status_moved.is_some(),
                changed_severity: severity_changed.is_some(),
                creator,
                created_at: now,
            };
            let update = queries::status_update_create(conn, tenant_id, posted).await?;
            timeline
                .push(("status_update_posted", json!({ "statusUpdateId": update.id, "audience": update.audience })));
            for (kind, data) in timeline {
                record(conn, tenant_id, incident_id, creator, kind, data, now).await?;
            }
            let event =
                NewEvent::new("status_update.posted", Some(Target::status_update(update.id))).with_metadata(json!({
                    "incidentId": incident_id,
                    "audience": update.audience,
                    "status": status_moved,
                    "severity": severity_changed,
                }));
            let posted = Change::in_incident(ChangeKind::StatusUpdatePosted, incident_id, &update)?;
            let mut done = Done::new(update).audited(event).announced(posted);
            if let (Some(to), Some(updated)) = (status_moved, &updated) {
                done = done.audited(status_changed_event(incident_id, from, to)).announced(Change::in_incident(
                    ChangeKind::IncidentStatusChanged,
                    incident_id,
                    updated,
                )?);
            }
            if let (Some(_), Some(updated)) = (severity_changed, &updated) {
                done = done.announced(Change::in_incident(ChangeKind::IncidentUpdated, incident_id, updated)?);
            }
            Ok(done)
        })
    })
    .await
}

/// Metrics over the incidents created in [`from`, `to`): by default the
/// last 30 days, at most 366.
pub async fn incident_metrics_view(
    state: &AppState,
    op: &OpContext,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    severity: Option<Severity>,
) -> Result<Metrics, Error> {
    let tenant_id = op.active_tenant()?;
    for (field, at) in [("from", from), ("to", to)] {
        if let Some(at) = at {
            validate_time(field, at)?;
        }
    }
    let to = to.unwrap_or_else(Utc::now);
    let from = from.unwrap_or(to - chrono::Duration::days(30));
    if from >= to || to - from > chrono::Duration::days(MAX_METRICS_DAYS) {
        return Err(Error::invalid_field("from", "from lies before to, at most 366 days earlier."));
    }
    let rows = operation::tenant_read(state, op, tenant_id, Action::IncidentsRead, move |conn| {
        Box::pin(async move {
            Ok(queries::incident_metrics_view(conn, tenant_id, from, to, severity.map(Severity::as_str)).await?)
        })
    })
    .await?;
    let row_of = |severity: Option<&str>| {
        rows.iter().find(|row| row.severity.as_deref() == severity).cloned().unwrap_or(MetricsRow {
            severity: severity.map(str::to_string),
            count: 0,
            mtta_p50: None,
            mtta_p90: None,
            mttr_p50: None,
            mttr_p90: None,
        })
    };
    Ok(Metrics {
        from,
        to,
        overall: row_of(None),
        by_severity: Severity::ALL.iter().map(|severity| (*severity, row_of(Some(severity.as_str())))).collect(),
    })
}

/// Moves the incident under the status machine and stamps its lifecycle:
/// each stamp on first entry only, a skipped stage with the same instant,
/// and a reopen clears `resolvedAt` and `closedAt`.
fn move_status(
    change: &mut IncidentChange,
    from: IncidentStatus,
    to: IncidentStatus,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    use IncidentStatus::*;
    let allowed = from.allowed_moves();
    if !allowed.contains(&to) {
        return Err(Error::Conflict(
            Problem::new(
                "INCIDENT_TRANSITION_INVALID",
                format!("An incident cannot move from {} to {}.", from.as_str(), to.as_str()),
            )
            .with_detail("from", from.as_str())
            .with_detail("to", to.as_str())
            .with_detail("allowedTransitions", allowed.iter().map(|status| status.as_str()).collect::<Vec<_>>()),
        ));
    }
    if matches!(from, Resolved | Closed) && to == Investigating {
        change.resolved_at = None;
        change.closed_at = None;
        change.reopen_count += 1;
    }
    if to != Declined {
        change.acknowledged_at.get_or_insert(now);
    }
    if matches!(to, Mitigated | Resolved) {
        change.mitigated_at.get_or_insert(now);
    }
    if to == Resolved {
        change.resolved_at.get_or_insert(now);
    }
    if to == Closed {
        change.closed_at.get_or_insert(now);
    }
    change.status = to.as_str().to_string();
    Ok(())
}

fn status_changed_event(incident_id: Uuid, from: IncidentStatus, to: IncidentStatus) -> NewEvent {
    NewEvent::new("incident.status_changed", Some(Target::incident(incident_id)))
        .with_metadata(json!({ "from": from, "to": to }))
}

/// A precondition that failed changes nothing: `412`.
fn check_version(expected: &Expected, version: i64) -> Result<(), Error> {
    match expected {
        Some(versions) if !versions.contains(&version) => Err(Error::PreconditionFailed(
            Problem::new(
                "PRECONDITION_FAILED",
                "It changed since the version named in If-Match; read it again and retry with its ETag.",
            )
            .with_detail("currentETag", etag(version)),
        )),
        _ => Ok(()),
    }
}

/// The entity tag of a version, as `ETag` sends it and `If-Match` names it.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// A system event on the incident's timeline.
async fn record(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    incident_id: Uuid,
    actor: Creator,
    kind: &str,
    data: Value,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let event = NewTimelineEvent { incident_id, kind, body: None, data, actor, occurred_at: now, recorded_at: now };
    queries::timeline_event_create(conn, tenant_id, event).await?;
    Ok(())
}

pub(crate) async fn require_incident(
    conn: &AsyncPgConnection,
    tenant_id: Uuid,
    incident_id: Uuid,
) -> Result<(), Error> {
    queries::incident_view(conn, tenant_id, incident_id).await?.map(drop).ok_or(Error::NotFound)
}

/// Someone a field names must be a member when it is set. The membership
/// is read, not locked: locking it after the caller's would take
/// memberships out of the one order membership changes lock them in, and
/// a member who leaves later stays named until someone changes the field.
async fn require_member(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    user_id: Uuid,
    field: &'static str,
) -> Result<(), Error> {
    match tenants::role_of(conn, tenant_id, user_id).await? {
        Some(_) => Ok(()),
        None => Err(Error::invalid_field(field, format!("{field} names no member of this tenant."))),
    }
}

pub(crate) fn creator(actor: &Actor) -> Result<Creator, Error> {
    match actor {
        Actor::User(id) => Ok(Creator { kind: "user", id: *id }),
        Actor::ServiceAccount(key) => Ok(Creator { kind: "service_account", id: key.service_account_id }),
        Actor::Anonymous | Actor::System => Err(Error::auth_required()),
    }
}

fn validate_title(raw: &str) -> Result<String, Error> {
    validate_line("title", "A title", raw, MAX_TITLE_CHARS)
}

/// Markdown, stored as written: at most `max` characters.
fn validate_markdown(field: &'static str, markdown: String, max: usize) -> Result<String, Error> {
    if markdown.chars().count() > max {
        return Err(Error::invalid_field(field, format!("{field} has at most {max} characters.")));
    }
    Ok(markdown)
}

/// At most 20 labels of 1 to 64 characters, trimmed, each once.
fn validate_labels(labels: Vec<String>) -> Result<Vec<String>, Error> {
    if labels.len() > MAX_LABELS {
        return Err(Error::invalid_field("labels", format!("An incident has at most {MAX_LABELS} labels.")));
    }
    let mut kept: Vec<String> = Vec::with_capacity(labels.len());
    for label in labels {
        let label = validate_line("labels", "A label", &label, MAX_LABEL_CHARS)?;
        if !kept.contains(&label) {
            kept.push(label);
        }
    }
    Ok(kept)
}

/// Times PostgreSQL stores: years 1 to 9999.
fn validate_time(field: &'static str, at: DateTime<Utc>) -> Result<(), Error> {
    use chrono::Datelike;
    if (1..=9999).contains(&at.year()) {
        Ok(())
    } else {
        Err(Error::invalid_field(field, format!("{field} lies in years 1 to 9999.")))
    }
}

/// The list's filters may come back in a page token the client could have
/// altered, so they are checked on every page.
fn validate_filter(filter: &IncidentFilter) -> Result<(), Error> {
    for status in &filter.statuses {
        IncidentStatus::from_stored(status).map_err(|_| Error::invalid_field("status", "Unknown status."))?;
    }
    if let Some(severity) = &filter.severity {
        Severity::from_stored(severity).map_err(|_| Error::invalid_field("severity", "Unknown severity."))?;
    }
    let bad_label = |label: &String| label.is_empty() || label.chars().count() > MAX_LABEL_CHARS;
    if filter.label.as_ref().is_some_and(|label| bad_label(label) || label.chars().any(crate::text::is_hidden)) {
        return Err(Error::invalid_field("label", "A label has 1 to 64 characters, none of them control characters."));
    }
    let bad_text = |text: &String| text.trim().is_empty() || text.chars().count() > MAX_TITLE_CHARS;
    if filter.text.as_ref().is_some_and(|text| bad_text(text) || text.chars().any(crate::text::is_hidden)) {
        return Err(Error::invalid_field("q", "A search has 1 to 200 characters, none of them control characters."));
    }
    for (field, at) in [
        ("createdAfter", filter.created_after),
        ("createdBefore", filter.created_before),
        ("updatedAfter", filter.updated_after),
    ] {
        if let Some(at) = at {
            validate_time(field, at)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn triage(now: DateTime<Utc>) -> IncidentChange {
        IncidentChange {
            title: "t".into(),
            summary: String::new(),
            severity: "sev2".into(),
            status: "triage".into(),
            commander_id: None,
            labels: Vec::new(),
            updated_at: now,
            acknowledged_at: None,
            mitigated_at: None,
            resolved_at: None,
            closed_at: None,
            reopen_count: 0,
        }
    }

    #[test]
    fn skipped_stages_share_the_instant_and_stamps_survive_a_reopen() {
        let t0 = Utc::now();
        let mut change = triage(t0);
        move_status(&mut change, IncidentStatus::Triage, IncidentStatus::Resolved, t0).unwrap();
        assert_eq!((change.acknowledged_at, change.mitigated_at, change.resolved_at), (Some(t0), Some(t0), Some(t0)));
        let t1 = t0 + chrono::Duration::minutes(5);
        move_status(&mut change, IncidentStatus::Resolved, IncidentStatus::Investigating, t1).unwrap();
        assert_eq!((change.resolved_at, change.closed_at, change.reopen_count), (None, None, 1));
        let t2 = t1 + chrono::Duration::minutes(5);
        move_status(&mut change, IncidentStatus::Investigating, IncidentStatus::Resolved, t2).unwrap();
        assert_eq!((change.acknowledged_at, change.mitigated_at, change.resolved_at), (Some(t0), Some(t0), Some(t2)));
    }

    #[test]
    fn declining_stamps_nothing_and_is_final() {
        let now = Utc::now();
        let mut change = triage(now);
        move_status(&mut change, IncidentStatus::Triage, IncidentStatus::Declined, now).unwrap();
        assert_eq!(change.acknowledged_at, None);
        for to in IncidentStatus::ALL {
            let refused = move_status(&mut change, IncidentStatus::Declined, *to, now).unwrap_err();
            assert_eq!(refused.code(), "INCIDENT_TRANSITION_INVALID");
        }
    }

    #[test]
    fn labels_are_trimmed_kept_once_and_bounded() {
        assert_eq!(validate_labels(vec![" db ".into(), "db".into(), "api".into()]).unwrap(), ["db", "api"]);
        assert!(validate_labels(vec![String::new()]).is_err());
        assert!(validate_labels((0..21).map(|n| n.to_string()).collect()).is_err());
        assert!(validate_labels(vec!["x".repeat(65)]).is_err());
    }
}
