//! Handlers of incidents, their timeline, tasks and status updates.

use bytes::Bytes;
use dropshot::{
    EmptyScanParams, FreeformBody, HttpResponseCreated, HttpResponseHeaders, HttpResponseOk, PaginationParams,
    RequestContext, ResultsPage, WhichPage,
};
use futures::StreamExt;

use super::caller::refuse_cross_site;
use super::entry::{handle, handle_with_headers};
use super::files::file_response;
use super::{ApiContext, IdPages, id_page, id_results, page_limit, paging_error};
use crate::api::incidents::{
    self as wire, CreatedBy, CreatedHeaders, ETagHeader, ExportFormat, IdempotencyKeyHeader, IfMatchHeader, Incident,
    IncidentCreateRequest, IncidentExportQuery, IncidentFilter, IncidentMetrics, IncidentMetricsQuery, IncidentPage,
    IncidentPath, IncidentSort, IncidentUpdateRequest, Percentiles, SeverityMetrics, StatusUpdate,
    StatusUpdateCreateRequest, Task, TaskCreateRequest, TaskPath, TaskUpdateRequest, TimelineEvent,
    TimelineEventCreateRequest, TimelineEventPage,
};
use crate::api::reply::FileHeaders;
use crate::api::{ApiError, Reply};
use crate::app::Error;
use crate::app::incidents::{
    self as incidents, Audience, Expected, IncidentPatch, IncidentQuery, IncidentStatus, NewIncident, NewNote,
    NewStatusUpdateRequest, NewTask, Severity, TaskPatch, TaskStatus,
};
use crate::app::operation::Written;
use crate::db;
use crate::db::incidents::{IncidentCursor, IncidentOrder, MetricsRow};
use crate::markdown::to_safe_html;

type Created<T> = Result<Reply<HttpResponseCreated<T>, CreatedHeaders>, ApiError>;
type Versioned<T> = Result<Reply<HttpResponseOk<T>, ETagHeader>, ApiError>;

pub async fn incident_list(
    rqctx: RequestContext<ApiContext>,
    query: PaginationParams<IncidentFilter, IncidentPage>,
) -> Result<Reply<HttpResponseOk<ResultsPage<Incident>>>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        let limit = page_limit(&rqctx, &query)?;
        let (filter, after) = match &query.page {
            WhichPage::First(filter) => (filter.clone(), None),
            WhichPage::Next(page) => (page.filter.clone(), Some(IncidentCursor { at: page.at, id: page.id })),
        };
        check_token_room(&filter)?;
        let sort = filter.sort.unwrap_or_default();
        let order = order_of(sort);
        let request = IncidentQuery { filter: incident_filter(&filter), order, after, limit };
        let found = incidents::incident_list(app, op, request).await?;
        let items = found.into_iter().map(incident).collect::<Result<Vec<_>, _>>()?;
        ResultsPage::new(items, &filter, |item: &Incident, filter| IncidentPage {
            filter: filter.clone(),
            at: if sort == IncidentSort::Updated { item.updated_at } else { item.created_at },
            id: item.id,
        })
        .map(HttpResponseOk)
        .map_err(paging_error)
    })
    .await
}

pub async fn incident_export(
    rqctx: RequestContext<ApiContext>,
    query: IncidentExportQuery,
) -> Result<Reply<HttpResponseOk<FreeformBody>, FileHeaders>, ApiError> {
    handle_with_headers(&rqctx, async |_, op, _| {
        refuse_cross_site(&rqctx)?;
        let (filter, order) = (incident_filter(&query.filter), order_of(query.filter.sort.unwrap_or_default()));
        let (content_type, extension, format) = match query.format {
            ExportFormat::Csv => ("text/csv; charset=utf-8", "csv", "csv"),
            ExportFormat::Ndjson => ("application/x-ndjson", "ndjson", "ndjson"),
        };
        let app = rqctx.context().app.clone();
        let export = incidents::incident_export(app, op, filter, order, format).await?;
        let header = (query.format == ExportFormat::Csv).then(|| Ok(Bytes::from_static(CSV_HEADER)));
        let rows = export.pages.map(move |page| encode_export_page(query.format, page?));
        let bytes = futures::stream::iter(header).chain(rows).boxed();
        let file_name = format!("incidents-{}.{extension}", chrono::Utc::now().format("%Y-%m-%d"));
        file_response(bytes, content_type, &file_name, None)
    })
    .await
}

/// The CSV export's columns, in order.
const CSV_HEADER: &[u8] = b"id,reference,title,status,severity,commanderId,labels,createdByType,createdById,\
createdAt,updatedAt,acknowledgedAt,mitigatedAt,resolvedAt,closedAt,reopenCount,version,summary\r\n";

fn encode_export_page(format: ExportFormat, page: Vec<db::incidents::Incident>) -> anyhow::Result<Bytes> {
    let mut encoded = Vec::new();
    match format {
        ExportFormat::Ndjson => {
            for found in page {
                serde_json::to_writer(&mut encoded, &incident(found)?)?;
                encoded.push(b'\n');
            }
        }
        ExportFormat::Csv => {
            let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(&mut encoded);
            let time = |at: Option<chrono::DateTime<chrono::Utc>>| at.map(|at| at.to_rfc3339()).unwrap_or_default();
            for found in page {
                let labels = found.labels.iter().flatten().cloned().collect::<Vec<_>>().join(",");
                let record = [
                    found.id.to_string(),
                    format!("INC-{}", found.number),
                    found.title,
                    found.status,
                    found.severity,
                    found.commander_id.map(|id| id.to_string()).unwrap_or_default(),
                    labels,
                    found.created_by_type,
                    found.created_by_id.to_string(),
                    time(Some(found.created_at)),
                    time(Some(found.updated_at)),
                    time(found.acknowledged_at),
                    time(found.mitigated_at),
                    time(found.resolved_at),
                    time(found.closed_at),
                    found.reopen_count.to_string(),
                    found.version.to_string(),
                    found.summary,
                ];
                writer.write_record(record.iter().map(|cell| inert_cell(cell)))?;
            }
            writer.flush()?;
        }
    }
    Ok(Bytes::from(encoded))
}

/// A cell no spreadsheet runs as a formula: one whose first character
/// other than spaces and controls (which spreadsheets skip) is `=`, `+`,
/// `-` or `@`, or their fullwidth forms, or that begins with a tab or a
/// line break, gets a leading `'` (OWASP's advice on CSV injection).
fn inert_cell(cell: &str) -> std::borrow::Cow<'_, [u8]> {
    let first = cell.trim_start_matches(|c: char| c.is_whitespace() || c.is_control()).chars().next();
    let formula = matches!(first, Some('=' | '+' | '-' | '@' | '\u{ff1d}' | '\u{ff0b}' | '\u{ff0d}' | '\u{ff20}'));
    if formula || cell.starts_with(['\t', '\r', '\n']) {
        format!("'{cell}").into_bytes().into()
    } else {
        cell.as_bytes().into()
    }
}

fn order_of(sort: IncidentSort) -> IncidentOrder {
    match sort {
        IncidentSort::Created => IncidentOrder::CreatedDescending,
        IncidentSort::Updated => IncidentOrder::UpdatedAscending,
    }
}

pub async fn incident_create(
    rqctx: RequestContext<ApiContext>,
    headers: IdempotencyKeyHeader,
    body: IncidentCreateRequest,
) -> Created<Incident> {
    handle_with_headers(&rqctx, async |app, op, _| {
        let new = NewIncident {
            title: body.title,
            summary: body.summary,
            severity: body.severity.into(),
            commander_id: body.commander_id,
            labels: body.labels,
        };
        let written = incidents::incident_create(app, op, new, headers.idempotency_key).await?;
        let etag = incidents::etag(written.value.version);
        created(written, incident, Some(etag))
    })
    .await
}

pub async fn incident_view(rqctx: RequestContext<ApiContext>, path: IncidentPath) -> Versioned<Incident> {
    handle_with_headers(&rqctx, async |app, op, _| {
        let found = incidents::incident_view(app, op, path.incident_id).await?;
        versioned(found.version, incident(found)?)
    })
    .await
}

pub async fn incident_update(
    rqctx: RequestContext<ApiContext>,
    path: IncidentPath,
    headers: IfMatchHeader,
    body: IncidentUpdateRequest,
) -> Versioned<Incident> {
    handle_with_headers(&rqctx, async |app, op, _| {
        let patch = IncidentPatch {
            title: body.title,
            summary: body.summary,
            severity: body.severity.map(Into::into),
            commander_id: body.commander_id,
            labels: body.labels,
            status: body.status.map(Into::into),
        };
        let expected = expected_versions(headers.if_match);
        let updated = incidents::incident_update(app, op, path.incident_id, patch, expected).await?;
        versioned(updated.version, incident(updated)?)
    })
    .await
}

pub async fn timeline_event_list(
    rqctx: RequestContext<ApiContext>,
    path: IncidentPath,
    query: PaginationParams<EmptyScanParams, TimelineEventPage>,
) -> Result<Reply<HttpResponseOk<ResultsPage<TimelineEvent>>>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        let limit = page_limit(&rqctx, &query)?;
        let after = match &query.page {
            WhichPage::First(_) => None,
            WhichPage::Next(page) => Some((page.occurred_at, page.id)),
        };
        let found = incidents::timeline_event_list(app, op, path.incident_id, after, limit).await?;
        let items = found.into_iter().map(timeline_event).collect::<Result<Vec<_>, _>>()?;
        ResultsPage::new(items, &EmptyScanParams {}, |item: &TimelineEvent, _| TimelineEventPage {
            occurred_at: item.occurred_at,
            id: item.id,
        })
        .map(HttpResponseOk)
        .map_err(paging_error)
    })
    .await
}

pub async fn timeline_event_create(
    rqctx: RequestContext<ApiContext>,
    path: IncidentPath,
    headers: IdempotencyKeyHeader,
    body: TimelineEventCreateRequest,
) -> Created<TimelineEvent> {
    handle_with_headers(&rqctx, async |app, op, _| {
        let note = NewNote { body: body.body, occurred_at: body.occurred_at };
        let written =
            incidents::timeline_event_create(app, op, path.incident_id, note, headers.idempotency_key).await?;
        created(written, timeline_event, None)
    })
    .await
}

pub async fn task_list(
    rqctx: RequestContext<ApiContext>,
    path: IncidentPath,
    query: IdPages,
) -> Result<Reply<HttpResponseOk<ResultsPage<Task>>>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        let found = incidents::task_list(app, op, path.incident_id, id_page(&rqctx, &query)?).await?;
        id_results(found.into_iter().map(task).collect::<Result<Vec<_>, _>>()?, |task| task.id)
    })
    .await
}

pub async fn task_create(
    rqctx: RequestContext<ApiContext>,
    path: IncidentPath,
    headers: IdempotencyKeyHeader,
    body: TaskCreateRequest,
) -> Created<Task> {
    handle_with_headers(&rqctx, async |app, op, _| {
        let new = NewTask {
            title: body.title,
            description: body.description,
            assignee_id: body.assignee_id,
            due_at: body.due_at,
        };
        let written = incidents::task_create(app, op, path.incident_id, new, headers.idempotency_key).await?;
        let etag = incidents::etag(written.value.version);
        created(written, task, Some(etag))
    })
    .await
}

pub async fn task_update(
    rqctx: RequestContext<ApiContext>,
    path: TaskPath,
    headers: IfMatchHeader,
    body: TaskUpdateRequest,
) -> Versioned<Task> {
    handle_with_headers(&rqctx, async |app, op, _| {
        let patch = TaskPatch {
            title: body.title,
            description: body.description,
            status: body.status.map(Into::into),
            assignee_id: body.assignee_id,
            due_at: body.due_at,
        };
        let expected = expected_versions(headers.if_match);
        let updated = incidents::task_update(app, op, path.incident_id, path.task_id, patch, expected).await?;
        versioned(updated.version, task(updated)?)
    })
    .await
}

pub async fn status_update_list(
    rqctx: RequestContext<ApiContext>,
    path: IncidentPath,
    query: IdPages,
) -> Result<Reply<HttpResponseOk<ResultsPage<StatusUpdate>>>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        let found = incidents::status_update_list(app, op, path.incident_id, id_page(&rqctx, &query)?).await?;
        id_results(found.into_iter().map(status_update).collect::<Result<Vec<_>, _>>()?, |update| update.id)
    })
    .await
}

pub async fn status_update_create(
    rqctx: RequestContext<ApiContext>,
    path: IncidentPath,
    headers: IdempotencyKeyHeader,
    body: StatusUpdateCreateRequest,
) -> Created<StatusUpdate> {
    handle_with_headers(&rqctx, async |app, op, _| {
        let new = NewStatusUpdateRequest {
            body: body.body,
            audience: body.audience.into(),
            status: body.status.map(Into::into),
            severity: body.severity.map(Into::into),
        };
        let written = incidents::status_update_create(app, op, path.incident_id, new, headers.idempotency_key).await?;
        created(written, status_update, None)
    })
    .await
}

pub async fn incident_metrics_view(
    rqctx: RequestContext<ApiContext>,
    query: IncidentMetricsQuery,
) -> Result<Reply<HttpResponseOk<IncidentMetrics>>, ApiError> {
    handle(&rqctx, async |app, op, _| {
        let metrics =
            incidents::incident_metrics_view(app, op, query.from, query.to, query.severity.map(Into::into)).await?;
        let by_severity = metrics
            .by_severity
            .into_iter()
            .map(|(severity, row)| SeverityMetrics {
                severity: severity.into(),
                count: row.count,
                mtta: mtta(&row),
                mttr: mttr(&row),
            })
            .collect();
        let overall = &metrics.overall;
        Ok(HttpResponseOk(IncidentMetrics {
            from: metrics.from,
            to: metrics.to,
            count: overall.count,
            mtta: mtta(overall),
            mttr: mttr(overall),
            by_severity,
        }))
    })
    .await
}

fn mtta(row: &MetricsRow) -> Percentiles {
    Percentiles { p50: row.mtta_p50, p90: row.mtta_p90 }
}

fn mttr(row: &MetricsRow) -> Percentiles {
    Percentiles { p50: row.mttr_p50, p90: row.mttr_p90 }
}

/// A create's answer: the view, its version's `ETag` where it has one, and
/// whether it is a replay.
fn created<R, T: serde::Serialize + schemars::JsonSchema + Send + Sync + 'static>(
    written: Written<R>,
    view: impl FnOnce(R) -> Result<T, Error>,
    etag: Option<String>,
) -> Result<HttpResponseHeaders<HttpResponseCreated<T>, CreatedHeaders>, Error> {
    let idempotent_replayed = written.replayed.then(|| "true".to_string());
    Ok(HttpResponseHeaders::new(
        HttpResponseCreated(view(written.value)?),
        CreatedHeaders { etag, idempotent_replayed },
    ))
}

fn versioned<T: serde::Serialize + schemars::JsonSchema + Send + Sync + 'static>(
    version: i64,
    view: T,
) -> Result<HttpResponseHeaders<HttpResponseOk<T>, ETagHeader>, Error> {
    Ok(HttpResponseHeaders::new(HttpResponseOk(view), ETagHeader { etag: incidents::etag(version) }))
}

/// Dropshot writes a page token of at most 512 characters, and an incident
/// listing's token carries its filter. A filter too long for that is
/// refused before the first page, not after it.
fn check_token_room(filter: &IncidentFilter) -> Result<(), Error> {
    const MAX_TOKEN_CHARS: usize = 512;
    let widest = IncidentPage {
        filter: filter.clone(),
        at: "9999-12-31T23:59:59.999999999Z".parse().expect("a valid time"),
        id: uuid::Uuid::max(),
    };
    // The envelope dropshot wraps a page selector in, then base64.
    let json = serde_json::to_vec(&serde_json::json!({ "v": "v1", "page_start": widest }))
        .map_err(|error| Error::Internal(error.into()))?;
    if json.len().div_ceil(3) * 4 > MAX_TOKEN_CHARS {
        return Err(Error::invalid_field("q", "The search and label filters together are too long to page through."));
    }
    Ok(())
}

/// The versions `If-Match` names. `*` (or no header) accepts any; a weak
/// or malformed tag matches none, as strong comparison requires.
fn expected_versions(if_match: Option<String>) -> Expected {
    let header = if_match?;
    if header.trim() == "*" {
        return None;
    }
    let tags = header.split(',').map(str::trim);
    Some(tags.filter_map(|tag| tag.strip_prefix('"')?.strip_suffix('"')?.parse().ok()).collect())
}

fn incident_filter(filter: &IncidentFilter) -> db::incidents::IncidentFilter {
    let statuses = filter.status.as_deref().map(|statuses| statuses.split(',').map(|s| s.trim().to_string()).collect());
    db::incidents::IncidentFilter {
        statuses: statuses.unwrap_or_default(),
        severity: filter.severity.map(|severity| Severity::from(severity).as_str().to_string()),
        commander_id: filter.commander_id,
        // Trimmed, as stored labels and every other line are.
        label: filter.label.as_deref().map(|label| label.trim().to_string()),
        created_after: filter.created_after,
        created_before: filter.created_before,
        updated_after: filter.updated_after,
        updated_not_after: None,
        text: filter.q.as_deref().map(|text| text.trim().to_string()),
    }
}

fn created_by(kind: String, id: uuid::Uuid) -> CreatedBy {
    CreatedBy { kind, id }
}

pub(super) fn incident(found: db::incidents::Incident) -> Result<Incident, Error> {
    Ok(Incident {
        id: found.id,
        number: found.number,
        reference: format!("INC-{}", found.number),
        summary_html: to_safe_html(&found.summary),
        title: found.title,
        summary: found.summary,
        severity: Severity::from_stored(&found.severity)?.into(),
        status: IncidentStatus::from_stored(&found.status)?.into(),
        commander_id: found.commander_id,
        labels: found.labels.into_iter().flatten().collect(),
        created_by: created_by(found.created_by_type, found.created_by_id),
        created_at: found.created_at,
        updated_at: found.updated_at,
        acknowledged_at: found.acknowledged_at,
        mitigated_at: found.mitigated_at,
        resolved_at: found.resolved_at,
        closed_at: found.closed_at,
        reopen_count: found.reopen_count,
        version: found.version,
    })
}

pub(super) fn timeline_event(found: db::incidents::TimelineEvent) -> Result<TimelineEvent, Error> {
    let kind = serde_json::from_value(serde_json::Value::String(found.kind))
        .map_err(|error| Error::Internal(anyhow::anyhow!("stored timeline kind: {error}")))?;
    let data = match found.data {
        serde_json::Value::Object(data) => data,
        _ => serde_json::Map::new(),
    };
    Ok(TimelineEvent {
        id: found.id,
        incident_id: found.incident_id,
        kind,
        body_html: found.body.as_deref().map(to_safe_html),
        body: found.body,
        data,
        actor: created_by(found.actor_type, found.actor_id),
        occurred_at: found.occurred_at,
        recorded_at: found.recorded_at,
    })
}

pub(super) fn task(found: db::incidents::Task) -> Result<Task, Error> {
    Ok(Task {
        id: found.id,
        incident_id: found.incident_id,
        title: found.title,
        description_html: to_safe_html(&found.description),
        description: found.description,
        status: TaskStatus::from_stored(&found.status)?.into(),
        assignee_id: found.assignee_id,
        due_at: found.due_at,
        completed_at: found.completed_at,
        created_by: created_by(found.created_by_type, found.created_by_id),
        created_at: found.created_at,
        updated_at: found.updated_at,
        version: found.version,
    })
}

pub(super) fn status_update(found: db::incidents::StatusUpdate) -> Result<StatusUpdate, Error> {
    Ok(StatusUpdate {
        id: found.id,
        incident_id: found.incident_id,
        body_html: to_safe_html(&found.body),
        body: found.body,
        audience: Audience::from_stored(&found.audience)?.into(),
        status: IncidentStatus::from_stored(&found.status)?.into(),
        severity: Severity::from_stored(&found.severity)?.into(),
        changed_status: found.changed_status,
        changed_severity: found.changed_severity,
        created_by: created_by(found.created_by_type, found.created_by_id),
        created_at: found.created_at,
    })
}

same_variants!(IncidentStatus, IncidentStatus, [Triage, Investigating, Mitigated, Resolved, Closed, Declined]);
same_variants!(Severity, Severity, [Sev1, Sev2, Sev3, Sev4]);
same_variants!(TaskStatus, TaskStatus, [Open, InProgress, Done, WontDo]);
same_variants!(Audience, Audience, [Internal, Public]);

#[cfg(test)]
mod tests {
    use super::{expected_versions, inert_cell};

    #[test]
    fn if_match_names_strong_tags_or_anything() {
        assert_eq!(expected_versions(None), None);
        assert_eq!(expected_versions(Some("*".into())), None);
        assert_eq!(expected_versions(Some("\"3\"".into())), Some(vec![3]));
        assert_eq!(expected_versions(Some("\"3\", \"4\"".into())), Some(vec![3, 4]));
        assert_eq!(expected_versions(Some("W/\"3\"".into())), Some(vec![]));
        assert_eq!(expected_versions(Some("3".into())), Some(vec![]));
    }

    #[test]
    fn formula_cells_are_made_inert_and_others_left_alone() {
        let inert = |cell: &str| String::from_utf8(inert_cell(cell).into_owned()).unwrap();
        let formulas =
            ["=1+1", "+1", "-1", "@SUM(A1)", "  =1", "\u{a0}=1", "\n=1", "\r\n+1", "\t1", "\u{ff1d}1", " \u{ff20}x"];
        for formula in formulas {
            assert_eq!(inert(formula), format!("'{formula}"), "{formula:?}");
        }
        for plain in ["Checkout errors", "2026-11-30T00:00:00Z", "a = b", "", "  spaced", "INC-42"] {
            assert_eq!(inert(plain), plain);
        }
    }
}
