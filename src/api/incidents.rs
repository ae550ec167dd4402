//! Wire types of incidents, their timeline, tasks and status updates, and
//! incident metrics.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::fields::comma_separated_names;

/// Where an incident stands. Allowed moves:
///
/// | from | to |
/// | --- | --- |
/// | `triage` | `investigating`, `mitigated`, `resolved`, `declined` |
/// | `investigating` | `mitigated`, `resolved` |
/// | `mitigated` | `investigating`, `resolved` |
/// | `resolved` | `investigating` (reopen), `closed` |
/// | `closed` | `investigating` (reopen) |
///
/// `declined` is final.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    Triage,
    Investigating,
    Mitigated,
    Resolved,
    Closed,
    Declined,
}

/// The `status` filter: names of [`IncidentStatus`], separated by commas.
static STATUS_FILTER_PATTERN: LazyLock<String> = LazyLock::new(comma_separated_names::<IncidentStatus>);

/// How bad it is: `sev1` is the most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Sev1,
    Sev2,
    Sev3,
    Sev4,
}

/// Who made something.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedBy {
    /// `user` or `service_account`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Uuid,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Incident {
    pub id: Uuid,
    /// Per tenant, unique and increasing.
    pub number: i64,
    /// How people name it: `INC-42`.
    pub reference: String,
    pub title: String,
    /// Markdown, as written.
    pub summary: String,
    /// `summary` rendered and sanitized: safe to put in a page.
    pub summary_html: String,
    pub severity: Severity,
    pub status: IncidentStatus,
    pub commander_id: Option<Uuid>,
    pub labels: Vec<String>,
    pub created_by: CreatedBy,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When it first left `triage` for any stage but `declined`.
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// When it first entered `mitigated`, or `resolved` if it skipped `mitigated`.
    pub mitigated_at: Option<DateTime<Utc>>,
    /// When it entered `resolved`; cleared by a reopen.
    pub resolved_at: Option<DateTime<Utc>>,
    /// When it entered `closed`; cleared by a reopen.
    pub closed_at: Option<DateTime<Utc>>,
    pub reopen_count: i32,
    /// Moves on with every change; the `ETag` is derived from it.
    pub version: i64,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IncidentCreateRequest {
    /// Trimmed; 1 to 200 characters.
    #[schemars(length(min = 1, max = 200), regex = "crate::text::LINE_PATTERN")]
    pub title: String,
    /// Markdown; at most 20,000 characters.
    #[serde(default)]
    #[schemars(length(max = 20000), regex = "crate::text::STORABLE_PATTERN")]
    pub summary: String,
    pub severity: Severity,
    /// A member of the tenant.
    pub commander_id: Option<Uuid>,
    /// At most 20, each 1 to 64 characters; duplicates are dropped.
    #[serde(default)]
    #[schemars(length(max = 20), inner(length(min = 1, max = 64), regex = "crate::text::LINE_PATTERN"))]
    pub labels: Vec<String>,
}

/// The fields to change; absent ones stay as they are.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IncidentUpdateRequest {
    #[schemars(length(min = 1, max = 200), regex = "crate::text::LINE_PATTERN")]
    pub title: Option<String>,
    #[schemars(length(max = 20000), regex = "crate::text::STORABLE_PATTERN")]
    pub summary: Option<String>,
    pub severity: Option<Severity>,
    /// A member of the tenant; `null` removes the commander.
    #[serde(default, deserialize_with = "super::fields::present")]
    pub commander_id: Option<Option<Uuid>>,
    /// At most 20, each 1 to 64 characters; duplicates are dropped.
    #[schemars(length(max = 20), inner(length(min = 1, max = 64), regex = "crate::text::LINE_PATTERN"))]
    pub labels: Option<Vec<String>>,
    /// A move under the status machine; see `IncidentStatus`.
    pub status: Option<IncidentStatus>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncidentPath {
    pub incident_id: Uuid,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskPath {
    pub incident_id: Uuid,
    pub task_id: Uuid,
}

/// How a list of incidents is ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IncidentSort {
    /// By `createdAt`, newest first.
    #[default]
    Created,
    /// By `updatedAt`, oldest change first: page to the end, then come back
    /// later with `updatedAfter`.
    Updated,
}

/// Filters and order of an incident listing; all given filters must match.
/// Page tokens carry them, so absent ones are left out of the token.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncidentFilter {
    /// Statuses, comma-separated: `status=triage,investigating`.
    #[schemars(length(max = 100), regex = "STATUS_FILTER_PATTERN")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commander_id: Option<Uuid>,
    /// Only incidents with this label.
    #[schemars(length(min = 1, max = 64), regex = "crate::text::LINE_PATTERN")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Created at or after this time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_after: Option<DateTime<Utc>>,
    /// Created before this time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_before: Option<DateTime<Utc>>,
    /// Changed after this time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_after: Option<DateTime<Utc>>,
    /// Full-text search over title and summary (English stemming; `"quoted
    /// phrases"`, `or` and `-excluded` words work as in web search). With
    /// the other filters it must fit in a page token (512 characters), which
    /// long text of multi-byte characters or quotes may not.
    #[schemars(length(min = 1, max = 200), regex = "crate::text::LINE_PATTERN")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort: Option<IncidentSort>,
}

/// What an export is written as.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// `text/csv`, a header row first. A cell that begins with `=`, `+`,
    /// `-`, `@`, a tab or a carriage return gets a leading `'`, so no
    /// spreadsheet runs it as a formula.
    #[default]
    Csv,
    /// `application/x-ndjson`: one incident per line, as the API shows it.
    Ndjson,
}

/// An export's format, and the filters and order of `GET /v1/incidents`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncidentExportQuery {
    #[serde(default)]
    pub format: ExportFormat,
    #[serde(flatten)]
    pub filter: IncidentFilter,
}

/// Where the next page of an incident listing starts.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncidentPage {
    pub filter: IncidentFilter,
    /// The last incident's `createdAt` (or `updatedAt`, sorted by it).
    pub at: DateTime<Utc>,
    pub id: Uuid,
}

/// What a timeline entry records. Clients post `note`; every other kind is
/// written by the change it records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimelineEventKind {
    Note,
    IncidentCreated,
    /// `data`: `{from, to}`.
    StatusChanged,
    /// `data`: `{from, to}`.
    SeverityChanged,
    /// `data`: `{from, to}`, user ids or null.
    CommanderChanged,
    /// `data`: `{field}` (`title`, `summary` or `labels`), with `from` and
    /// `to` for title and labels.
    FieldChanged,
    /// `data`: `{taskId, title}`.
    TaskCreated,
    /// `data`: `{taskId, from, to}`.
    TaskStatusChanged,
    /// `data`: `{statusUpdateId, audience}`.
    StatusUpdatePosted,
}

/// The one kind clients may post.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    Note,
}

/// An entry of an incident's timeline. Never changed once written.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEvent {
    pub id: Uuid,
    pub incident_id: Uuid,
    pub kind: TimelineEventKind,
    /// A note's markdown, as written.
    pub body: Option<String>,
    /// `body` rendered and sanitized.
    pub body_html: Option<String>,
    /// What a system event records; see `TimelineEventKind`.
    pub data: Map<String, Value>,
    pub actor: CreatedBy,
    /// When it happened; a note may be backdated.
    pub occurred_at: DateTime<Utc>,
    /// When the server wrote it down.
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TimelineEventCreateRequest {
    pub kind: NoteKind,
    /// Markdown; 1 to 10,000 characters, not all of them whitespace.
    #[schemars(length(min = 1, max = 10000), regex = "crate::text::NON_BLANK_PATTERN")]
    pub body: String,
    /// When it happened, if not now: any time in the past, at most a minute ahead.
    pub occurred_at: Option<DateTime<Utc>>,
}

/// Where the next page of a timeline starts.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEventPage {
    pub occurred_at: DateTime<Utc>,
    pub id: Uuid,
}

/// Where a task stands. `done` and `wont_do` may be reopened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Open,
    InProgress,
    Done,
    WontDo,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub id: Uuid,
    pub incident_id: Uuid,
    pub title: String,
    /// Markdown, as written.
    pub description: String,
    /// `description` rendered and sanitized.
    pub description_html: String,
    pub status: TaskStatus,
    pub assignee_id: Option<Uuid>,
    pub due_at: Option<DateTime<Utc>>,
    /// When it was last finished (`done` or `wont_do`); cleared by a reopen.
    pub completed_at: Option<DateTime<Utc>>,
    pub created_by: CreatedBy,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskCreateRequest {
    #[schemars(length(min = 1, max = 200), regex = "crate::text::LINE_PATTERN")]
    pub title: String,
    /// Markdown; at most 10,000 characters.
    #[serde(default)]
    #[schemars(length(max = 10000), regex = "crate::text::STORABLE_PATTERN")]
    pub description: String,
    /// A member of the tenant.
    pub assignee_id: Option<Uuid>,
    pub due_at: Option<DateTime<Utc>>,
}

/// The fields to change; absent ones stay as they are.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskUpdateRequest {
    #[schemars(length(min = 1, max = 200), regex = "crate::text::LINE_PATTERN")]
    pub title: Option<String>,
    #[schemars(length(max = 10000), regex = "crate::text::STORABLE_PATTERN")]
    pub description: Option<String>,
    pub status: Option<TaskStatus>,
    /// A member of the tenant; `null` unassigns.
    #[serde(default, deserialize_with = "super::fields::present")]
    pub assignee_id: Option<Option<Uuid>>,
    /// `null` removes the due date.
    #[serde(default, deserialize_with = "super::fields::present")]
    pub due_at: Option<Option<DateTime<Utc>>>,
}

/// Who a status update is written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    Internal,
    Public,
}

/// A status update. Never changed once posted.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusUpdate {
    pub id: Uuid,
    pub incident_id: Uuid,
    /// Markdown, as written.
    pub body: String,
    /// `body` rendered and sanitized.
    pub body_html: String,
    pub audience: Audience,
    /// The incident's status after this update.
    pub status: IncidentStatus,
    /// The incident's severity after this update.
    pub severity: Severity,
    /// Whether this update moved the status.
    pub changed_status: bool,
    /// Whether this update changed the severity.
    pub changed_severity: bool,
    pub created_by: CreatedBy,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusUpdateCreateRequest {
    /// Markdown; 1 to 10,000 characters, not all of them whitespace.
    #[schemars(length(min = 1, max = 10000), regex = "crate::text::NON_BLANK_PATTERN")]
    pub body: String,
    pub audience: Audience,
    /// Moves the incident here, under the status machine.
    pub status: Option<IncidentStatus>,
    /// Sets the incident's severity.
    pub severity: Option<Severity>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncidentMetricsQuery {
    /// Incidents created at or after this time; by default 30 days before `to`.
    pub from: Option<DateTime<Utc>>,
    /// Incidents created before this time; by default now. At most 366 days after `from`.
    pub to: Option<DateTime<Utc>>,
    pub severity: Option<Severity>,
}

/// Percentiles of a duration, in seconds; `null` without any sample.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Percentiles {
    pub p50: Option<f64>,
    pub p90: Option<f64>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeverityMetrics {
    pub severity: Severity,
    pub count: i64,
    pub mtta: Percentiles,
    pub mttr: Percentiles,
}

/// Over the incidents created in [`from`, `to`). MTTA is `acknowledgedAt -
/// createdAt`, MTTR `resolvedAt - createdAt`, over the incidents that have
/// the stamp; percentiles are interpolated.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncidentMetrics {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub count: i64,
    pub mtta: Percentiles,
    pub mttr: Percentiles,
    /// Every severity, `sev1` first, zeros included.
    pub by_severity: Vec<SeverityMetrics>,
}

/// `If-Match`: the `ETag` of the copy the change is based on.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct IfMatchHeader {
    /// The change applies only if the object still has this `ETag`;
    /// otherwise `412 PRECONDITION_FAILED`. Without it, the change applies.
    #[serde(rename = "If-Match")]
    pub if_match: Option<String>,
}

/// `Idempotency-Key`: makes a create safe to retry.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct IdempotencyKeyHeader {
    /// 1 to 255 visible ASCII characters, e.g. a UUID. A retry with the same
    /// key and body within 24 hours gets the first answer again, with
    /// `Idempotent-Replayed: true`, and writes nothing.
    #[serde(rename = "Idempotency-Key")]
    #[schemars(length(min = 1, max = 255), regex(pattern = "^[!-~]+$"))]
    pub idempotency_key: Option<String>,
}

/// The version an answer shows.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ETagHeader {
    /// Send it back as `If-Match` to change this version and no other.
    #[serde(rename = "ETag")]
    pub etag: String,
}

/// What a create answers with.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CreatedHeaders {
    /// The created object's version, where it has one.
    #[serde(rename = "ETag")]
    pub etag: Option<String>,
    /// `true` when this is the stored answer to an earlier request with the
    /// same `Idempotency-Key`.
    #[serde(rename = "Idempotent-Replayed")]
    pub idempotent_replayed: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_filter_pattern_lists_every_status() {
        let filter = regress::Regex::new(&STATUS_FILTER_PATTERN).unwrap();
        let every = "triage,investigating,mitigated,resolved,closed,declined";
        assert!(filter.find(every).is_some(), "{}", *STATUS_FILTER_PATTERN);
        for refused in ["", "triage,", ",triage", "open", "triage;closed"] {
            assert!(filter.find(refused).is_none(), "{refused:?}");
        }
    }
}
