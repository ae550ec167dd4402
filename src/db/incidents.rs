//! Incidents, their timeline, tasks and status updates. Everything here runs
//! inside a transaction scoped to the tenant, and filters on `tenant_id`
//! too.

use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Double, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::schema::{incident_numbers, incident_tasks, incidents, status_updates, timeline_events};

/// Who made something: `user` or `service_account`, and its id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Creator {
    pub kind: &'static str,
    pub id: Uuid,
}

#[derive(Clone, Debug, Queryable, Selectable, Serialize, Deserialize)]
#[diesel(table_name = incidents)]
pub struct Incident {
    pub id: Uuid,
    pub number: i64,
    pub title: String,
    pub summary: String,
    pub severity: String,
    pub status: String,
    pub commander_id: Option<Uuid>,
    pub labels: Vec<Option<String>>,
    pub created_by_type: String,
    pub created_by_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub mitigated_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub reopen_count: i32,
    pub version: i64,
}

/// What an incident's writable fields and lifecycle are after a change.
#[derive(Clone, Debug, AsChangeset, Insertable)]
#[diesel(table_name = incidents, treat_none_as_null = true)]
pub struct IncidentChange {
    pub title: String,
    pub summary: String,
    pub severity: String,
    pub status: String,
    pub commander_id: Option<Uuid>,
    pub labels: Vec<Option<String>>,
    pub updated_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub mitigated_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub reopen_count: i32,
}

impl Incident {
    /// The incident as it stands, to change.
    pub fn change(&self, now: DateTime<Utc>) -> IncidentChange {
        IncidentChange {
            title: self.title.clone(),
            summary: self.summary.clone(),
            severity: self.severity.clone(),
            status: self.status.clone(),
            commander_id: self.commander_id,
            labels: self.labels.clone(),
            updated_at: now,
            acknowledged_at: self.acknowledged_at,
            mitigated_at: self.mitigated_at,
            resolved_at: self.resolved_at,
            closed_at: self.closed_at,
            reopen_count: self.reopen_count,
        }
    }
}

/// The next incident number of the tenant. Its counter stays locked until
/// the transaction ends, so numbers increase in the order creates commit.
pub async fn incident_number_next(conn: &mut AsyncPgConnection, tenant_id: Uuid) -> QueryResult<i64> {
    super::prepared(
        diesel::insert_into(incident_numbers::table)
            .values((incident_numbers::tenant_id.eq(tenant_id), incident_numbers::last_number.eq(1)))
            .on_conflict(incident_numbers::tenant_id)
            .do_update()
            .set(incident_numbers::last_number.eq(incident_numbers::last_number + 1))
            .returning(incident_numbers::last_number),
    )
    .get_result(conn)
    .await
}

pub async fn incident_create(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    number: i64,
    creator: Creator,
    fields: &IncidentChange,
) -> QueryResult<Incident> {
    super::prepared(
        diesel::insert_into(incidents::table)
            .values((
                incidents::id.eq(Uuid::now_v7()),
                incidents::tenant_id.eq(tenant_id),
                incidents::number.eq(number),
                incidents::created_by_type.eq(creator.kind),
                incidents::created_by_id.eq(creator.id),
                incidents::created_at.eq(fields.updated_at),
                incidents::version.eq(1),
                fields,
            ))
            .returning(Incident::as_returning()),
    )
    .get_result(conn)
    .await
}

pub async fn incident_view(mut conn: &AsyncPgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<Incident>> {
    incidents::table
        .filter(incidents::tenant_id.eq(tenant_id))
        .filter(incidents::id.eq(id))
        .select(Incident::as_select())
        .first(&mut conn)
        .await
        .optional()
}

/// The incident, locked against other writes until the transaction ends:
/// a concurrent change waits, then sees this one's version. (`NO KEY`: its
/// tasks and notes may still be added meanwhile.)
pub async fn incident_lock(conn: &mut AsyncPgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<Incident>> {
    incidents::table
        .filter(incidents::tenant_id.eq(tenant_id))
        .filter(incidents::id.eq(id))
        .select(Incident::as_select())
        .for_no_key_update()
        .first(conn)
        .await
        .optional()
}

/// Writes `change` over the incident and moves its version on by one.
pub async fn incident_update(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    id: Uuid,
    change: &IncidentChange,
) -> QueryResult<Incident> {
    diesel::update(incidents::table.filter(incidents::tenant_id.eq(tenant_id)).filter(incidents::id.eq(id)))
        .set((change, incidents::version.eq(incidents::version + 1)))
        .returning(Incident::as_returning())
        .get_result(conn)
        .await
}

/// How a list of incidents is ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IncidentOrder {
    /// Newest first.
    CreatedDescending,
    /// Least recently changed first, for clients that sync.
    UpdatedAscending,
}

/// Which incidents a list holds; every given filter must match.
#[derive(Clone, Debug, Default)]
pub struct IncidentFilter {
    pub statuses: Vec<String>,
    pub severity: Option<String>,
    pub commander_id: Option<Uuid>,
    pub label: Option<String>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    pub updated_after: Option<DateTime<Utc>>,
    /// Changed at or before this time: what an export sorted by change
    /// reads, so an incident changed during it is not read twice.
    pub updated_not_after: Option<DateTime<Utc>>,
    pub text: Option<String>,
}

impl IncidentFilter {
    /// The filters given, by the names the API takes them by, for the
    /// audit log.
    pub fn describe(&self) -> Value {
        let mut given = serde_json::Map::new();
        if !self.statuses.is_empty() {
            given.insert("status".to_string(), self.statuses.join(",").into());
        }
        let fields = [
            ("severity", self.severity.clone().map(Value::from)),
            ("commanderId", self.commander_id.map(|id| id.to_string().into())),
            ("label", self.label.clone().map(Value::from)),
            ("createdAfter", self.created_after.map(|at| at.to_rfc3339().into())),
            ("createdBefore", self.created_before.map(|at| at.to_rfc3339().into())),
            ("updatedAfter", self.updated_after.map(|at| at.to_rfc3339().into())),
            ("q", self.text.clone().map(Value::from)),
        ];
        for (name, value) in fields {
            if let Some(value) = value {
                given.insert(name.to_string(), value);
            }
        }
        Value::Object(given)
    }
}

/// Where a page resumes: the order's time and the id of the previous page's
/// last incident.
#[derive(Clone, Copy, Debug)]
pub struct IncidentCursor {
    pub at: DateTime<Utc>,
    pub id: Uuid,
}

/// The tenant's incidents that `filter` matches, in no order.
fn matching(tenant_id: Uuid, filter: &IncidentFilter) -> incidents::BoxedQuery<'static, Pg> {
    let mut query = incidents::table.filter(incidents::tenant_id.eq(tenant_id)).into_boxed();
    if !filter.statuses.is_empty() {
        query = query.filter(incidents::status.eq_any(filter.statuses.clone()));
    }
    if let Some(severity) = &filter.severity {
        query = query.filter(incidents::severity.eq(severity.clone()));
    }
    if let Some(commander_id) = filter.commander_id {
        query = query.filter(incidents::commander_id.eq(commander_id));
    }
    if let Some(label) = &filter.label {
        query = query.filter(incidents::labels.contains(vec![Some(label.clone())]));
    }
    if let Some(created_after) = filter.created_after {
        query = query.filter(incidents::created_at.ge(created_after));
    }
    if let Some(created_before) = filter.created_before {
        query = query.filter(incidents::created_at.lt(created_before));
    }
    if let Some(updated_after) = filter.updated_after {
        query = query.filter(incidents::updated_at.gt(updated_after));
    }
    if let Some(updated_not_after) = filter.updated_not_after {
        query = query.filter(incidents::updated_at.le(updated_not_after));
    }
    if let Some(text) = &filter.text {
        query = query.filter(
            sql::<Bool>("incidents.search @@ websearch_to_tsquery('english'::regconfig, ")
                .bind::<Text, _>(text.clone())
                .sql(")"),
        );
    }
    query
}

/// How many of the tenant's incidents `filter` matches.
pub async fn incident_count(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    filter: &IncidentFilter,
) -> QueryResult<i64> {
    matching(tenant_id, filter).count().get_result(conn).await
}

pub async fn incident_list(
    mut conn: &AsyncPgConnection,
    tenant_id: Uuid,
    filter: &IncidentFilter,
    order: IncidentOrder,
    after: Option<IncidentCursor>,
    limit: i64,
) -> QueryResult<Vec<Incident>> {
    let mut query = matching(tenant_id, filter).select(Incident::as_select());
    // Row comparisons, which an index on (time, id) serves directly.
    query = match order {
        IncidentOrder::CreatedDescending => {
            if let Some(cursor) = after {
                query = query.filter(row_beyond("(incidents.created_at, incidents.id) < (", cursor.at, cursor.id));
            }
            query.order((incidents::created_at.desc(), incidents::id.desc()))
        }
        IncidentOrder::UpdatedAscending => {
            if let Some(cursor) = after {
                query = query.filter(row_beyond("(incidents.updated_at, incidents.id) > (", cursor.at, cursor.id));
            }
            query.order((incidents::updated_at.asc(), incidents::id.asc()))
        }
    };
    query.limit(limit).load(&mut conn).await
}

/// A keyset cursor's condition: `comparison` opens a row comparison of a
/// time and an id (`"(t.created_at, t.id) < ("`), which an index on those
/// two columns serves directly; the cursor's values close it.
fn row_beyond(
    comparison: &'static str,
    at: DateTime<Utc>,
    id: Uuid,
) -> diesel::expression::SqlLiteral<Bool, impl diesel::query_builder::QueryFragment<diesel::pg::Pg> + Send> {
    sql::<Bool>(comparison).bind::<Timestamptz, _>(at).sql(", ").bind::<SqlUuid, _>(id).sql(")")
}

#[derive(Clone, Debug, Queryable, Selectable, Serialize, Deserialize)]
#[diesel(table_name = timeline_events)]
pub struct TimelineEvent {
    pub id: Uuid,
    pub incident_id: Uuid,
    pub kind: String,
    pub body: Option<String>,
    pub data: Value,
    pub actor_type: String,
    pub actor_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
}

pub struct NewTimelineEvent<'a> {
    pub incident_id: Uuid,
    pub kind: &'a str,
    pub body: Option<&'a str>,
    pub data: Value,
    pub actor: Creator,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
}

pub async fn timeline_event_create(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    event: NewTimelineEvent<'_>,
) -> QueryResult<TimelineEvent> {
    diesel::insert_into(timeline_events::table)
        .values((
            timeline_events::id.eq(Uuid::now_v7()),
            timeline_events::tenant_id.eq(tenant_id),
            timeline_events::incident_id.eq(event.incident_id),
            timeline_events::kind.eq(event.kind),
            timeline_events::body.eq(event.body),
            timeline_events::data.eq(event.data),
            timeline_events::actor_type.eq(event.actor.kind),
            timeline_events::actor_id.eq(event.actor.id),
            timeline_events::occurred_at.eq(event.occurred_at),
            timeline_events::recorded_at.eq(event.recorded_at),
        ))
        .returning(TimelineEvent::as_returning())
        .get_result(conn)
        .await
}

/// The incident's timeline by (`occurred_at`, `id`), after the cursor.
pub async fn timeline_event_list(
    mut conn: &AsyncPgConnection,
    tenant_id: Uuid,
    incident_id: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<TimelineEvent>> {
    let mut query = timeline_events::table
        .filter(timeline_events::tenant_id.eq(tenant_id))
        .filter(timeline_events::incident_id.eq(incident_id))
        .select(TimelineEvent::as_select())
        .order((timeline_events::occurred_at, timeline_events::id))
        .limit(limit)
        .into_boxed();
    if let Some((occurred_at, id)) = after {
        query = query.filter(row_beyond("(timeline_events.occurred_at, timeline_events.id) > (", occurred_at, id));
    }
    query.load(&mut conn).await
}

#[derive(Clone, Debug, Queryable, Selectable, Serialize, Deserialize)]
#[diesel(table_name = incident_tasks)]
pub struct Task {
    pub id: Uuid,
    pub incident_id: Uuid,
    pub title: String,
    pub description: String,
    pub status: String,
    pub assignee_id: Option<Uuid>,
    pub due_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub created_by_type: String,
    pub created_by_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

/// What a task's writable fields are after a change.
#[derive(Clone, Debug, AsChangeset, Insertable)]
#[diesel(table_name = incident_tasks, treat_none_as_null = true)]
pub struct TaskChange {
    pub title: String,
    pub description: String,
    pub status: String,
    pub assignee_id: Option<Uuid>,
    pub due_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl Task {
    /// The task as it stands, to change.
    pub fn change(&self, now: DateTime<Utc>) -> TaskChange {
        TaskChange {
            title: self.title.clone(),
            description: self.description.clone(),
            status: self.status.clone(),
            assignee_id: self.assignee_id,
            due_at: self.due_at,
            completed_at: self.completed_at,
            updated_at: now,
        }
    }
}

pub async fn task_create(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    incident_id: Uuid,
    creator: Creator,
    fields: &TaskChange,
) -> QueryResult<Task> {
    diesel::insert_into(incident_tasks::table)
        .values((
            incident_tasks::id.eq(Uuid::now_v7()),
            incident_tasks::tenant_id.eq(tenant_id),
            incident_tasks::incident_id.eq(incident_id),
            incident_tasks::created_by_type.eq(creator.kind),
            incident_tasks::created_by_id.eq(creator.id),
            incident_tasks::created_at.eq(fields.updated_at),
            incident_tasks::version.eq(1),
            fields,
        ))
        .returning(Task::as_returning())
        .get_result(conn)
        .await
}

/// The incident's tasks by id (oldest first), after the cursor.
pub async fn task_list(
    mut conn: &AsyncPgConnection,
    tenant_id: Uuid,
    incident_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<Task>> {
    let mut query = incident_tasks::table
        .filter(incident_tasks::tenant_id.eq(tenant_id))
        .filter(incident_tasks::incident_id.eq(incident_id))
        .select(Task::as_select())
        .order(incident_tasks::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(incident_tasks::id.gt(after));
    }
    query.load(&mut conn).await
}

/// The incident's task, locked against other writes until the transaction
/// ends. `None` for a task of another incident.
pub async fn task_lock(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    incident_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<Task>> {
    incident_tasks::table
        .filter(incident_tasks::tenant_id.eq(tenant_id))
        .filter(incident_tasks::incident_id.eq(incident_id))
        .filter(incident_tasks::id.eq(id))
        .select(Task::as_select())
        .for_no_key_update()
        .first(conn)
        .await
        .optional()
}

/// Writes `change` over the task and moves its version on by one.
pub async fn task_update(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    id: Uuid,
    change: &TaskChange,
) -> QueryResult<Task> {
    diesel::update(
        incident_tasks::table.filter(incident_tasks::tenant_id.eq(tenant_id)).filter(incident_tasks::id.eq(id)),
    )
    .set((change, incident_tasks::version.eq(incident_tasks::version + 1)))
    .returning(Task::as_returning())
    .get_result(conn)
    .await
}

#[derive(Clone, Debug, Queryable, Selectable, Serialize, Deserialize)]
#[diesel(table_name = status_updates)]
pub struct StatusUpdate {
    pub id: Uuid,
    pub incident_id: Uuid,
    pub body: String,
    pub audience: String,
    pub status: String,
    pub severity: String,
    pub changed_status: bool,
    pub changed_severity: bool,
    pub created_by_type: String,
    pub created_by_id: Uuid,
    pub created_at: DateTime<Utc>,
}

pub struct NewStatusUpdate<'a> {
    pub incident_id: Uuid,
    pub body: &'a str,
    pub audience: &'a str,
    pub status: &'a str,
    pub severity: &'a str,
    pub changed_status: bool,
    pub changed_severity: bool,
    pub creator: Creator,
    pub created_at: DateTime<Utc>,
}

pub async fn status_update_create(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    update: NewStatusUpdate<'_>,
) -> QueryResult<StatusUpdate> {
    diesel::insert_into(status_updates::table)
        .values((
            status_updates::id.eq(Uuid::now_v7()),
            status_updates::tenant_id.eq(tenant_id),
            status_updates::incident_id.eq(update.incident_id),
            status_updates::body.eq(update.body),
            status_updates::audience.eq(update.audience),
            status_updates::status.eq(update.status),
            status_updates::severity.eq(update.severity),
            status_updates::changed_status.eq(update.changed_status),
            status_updates::changed_severity.eq(update.changed_severity),
            status_updates::created_by_type.eq(update.creator.kind),
            status_updates::created_by_id.eq(update.creator.id),
            status_updates::created_at.eq(update.created_at),
        ))
        .returning(StatusUpdate::as_returning())
        .get_result(conn)
        .await
}

/// The incident's status updates by id (oldest first), after the cursor.
pub async fn status_update_list(
    mut conn: &AsyncPgConnection,
    tenant_id: Uuid,
    incident_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<StatusUpdate>> {
    let mut query = status_updates::table
        .filter(status_updates::tenant_id.eq(tenant_id))
        .filter(status_updates::incident_id.eq(incident_id))
        .select(StatusUpdate::as_select())
        .order(status_updates::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(status_updates::id.gt(after));
    }
    query.load(&mut conn).await
}

/// Counts and response-time percentiles of a group of incidents, in seconds.
#[derive(Clone, Debug, QueryableByName)]
pub struct MetricsRow {
    /// `None` for the row over all severities.
    #[diesel(sql_type = Nullable<Text>)]
    pub severity: Option<String>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub count: i64,
    #[diesel(sql_type = Nullable<Double>)]
    pub mtta_p50: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    pub mtta_p90: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    pub mttr_p50: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    pub mttr_p90: Option<f64>,
}

/// Over the incidents created in [`from`, `to`), of `severity` if given:
/// one row for all of them and one per severity that has any. Time to
/// acknowledge is `acknowledged_at - created_at`, time to resolve
/// `resolved_at - created_at`; incidents without the stamp count in
/// `count` but not in its percentiles (interpolated, `percentile_cont`,
/// to the millisecond).
pub async fn incident_metrics_view(
    mut conn: &AsyncPgConnection,
    tenant_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    severity: Option<&str>,
) -> QueryResult<Vec<MetricsRow>> {
    super::prepared(
        diesel::sql_query(
            "WITH chosen AS (
             SELECT severity,
                    extract(epoch FROM acknowledged_at - created_at)::float8 AS tta,
                    extract(epoch FROM resolved_at - created_at)::float8 AS ttr
             FROM incidents
             WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3 AND ($4::text IS NULL OR severity = $4)
         )
         SELECT CASE WHEN grouping(severity) = 1 THEN NULL ELSE severity END AS severity,
                count(*) AS count,
                round(percentile_cont(0.5) WITHIN GROUP (ORDER BY tta)::numeric, 3)::float8 AS mtta_p50,
                round(percentile_cont(0.9) WITHIN GROUP (ORDER BY tta)::numeric, 3)::float8 AS mtta_p90,
                round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ttr)::numeric, 3)::float8 AS mttr_p50,
                round(percentile_cont(0.9) WITHIN GROUP (ORDER BY ttr)::numeric, 3)::float8 AS mttr_p90
         FROM chosen
         GROUP BY GROUPING SETS ((), (severity))",
        )
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<Timestamptz, _>(from)
        .bind::<Timestamptz, _>(to)
        .bind::<Nullable<Text>, _>(severity),
    )
    .load(&mut conn)
    .await
}
