//! The one tenant operation every tenant-scoped use case runs through.
//!
//! In one transaction scoped to the tenant it loads what the caller holds
//! there (a member's role, or an API key's scopes), applies the 404/403
//! rule through [`policy::authorize`], does the use case's work, counts the
//! write against the daily quota and appends its audit events; then
//! commits, or on any error rolls all of it back. A use case says what it
//! does, never how the transaction is plumbed. (A read that every member
//! may make, in the tenant the caller works in, sends its work before the
//! answer to the role's lookup is in: see [`tenant_read`].)

use chrono::Utc;
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::turns::Turn;
use super::usage::{QuotaStanding, utc_day};
use super::{AppState, Error, OpContext, Origin, Problem};
use crate::actor::{Actor, KeyHolder, Principal};
use crate::audit::{self, NewEvent};
use crate::db::idempotency::{KeyScope, idempotency_find, idempotency_store, idempotency_try_lock};
use crate::db::{self, Access, BoxFuture, TenantScope, tenants, usage::WriteCount};
use crate::policy::{Action, Context, Resource, authorize};

/// What a tenant-scoped write needs beyond its work.
#[derive(Clone, Copy, Debug)]
pub struct Write {
    action: Action,
    enforce_quota: bool,
    work_locks_memberships: bool,
}

impl Write {
    /// A write the caller needs `action` on the tenant for, refused once the
    /// tenant's daily quota is used up.
    pub fn new(action: Action) -> Write {
        Write { action, enforce_quota: true, work_locks_memberships: false }
    }

    /// Counted, but never refused by the quota: a write that takes access
    /// away (revoking a key or an invite, removing a member), so an admin
    /// can always stop a client that is using the quota up.
    pub fn exempt_from_quota(self) -> Write {
        Write { enforce_quota: false, ..self }
    }

    /// The work locks the memberships it decides on itself, all in one
    /// order. Otherwise the caller's membership is locked against changes
    /// up front, so a demotion cannot slip in between check and write.
    pub fn locking_memberships_itself(self) -> Write {
        Write { work_locks_memberships: true, ..self }
    }
}

/// A write's result, the audit events that record it, and the change
/// events it announces on the change feed.
pub struct Done<R> {
    value: R,
    events: Vec<NewEvent>,
    changes: Vec<Change>,
}

named_variants! {
    /// What a change-feed event announces: a change to an incident or to
    /// something in it, or to the tenant's members, invites, service
    /// accounts, keys or webhooks.
    ChangeKind {
        IncidentCreated => "incident.created",
        IncidentUpdated => "incident.updated",
        IncidentStatusChanged => "incident.status_changed",
        TaskCreated => "task.created",
        TaskUpdated => "task.updated",
        StatusUpdatePosted => "status_update.posted",
        TimelineNoteCreated => "timeline.note_created",
        MemberJoined => "member.joined",
        MemberRoleChanged => "member.role_changed",
        MemberRemoved => "member.removed",
        InviteCreated => "invite.created",
        InviteRevoked => "invite.revoked",
        ServiceAccountCreated => "service_account.created",
        ApiKeyCreated => "api_key.created",
        ApiKeyRevoked => "api_key.revoked",
        WebhookCreated => "webhook.created",
        WebhookUpdated => "webhook.updated",
        WebhookDeleted => "webhook.deleted",
        WebhookSecretRotated => "webhook.secret_rotated",
    }
}

/// One event of the change feed: what happened, the incident it happened
/// in (none for a tenant-level change), and the changed object as stored.
pub struct Change {
    kind: ChangeKind,
    incident_id: Option<Uuid>,
    object: Value,
}

impl Change {
    pub fn in_incident(kind: ChangeKind, incident_id: Uuid, object: &impl Serialize) -> Result<Change, Error> {
        Ok(Change { incident_id: Some(incident_id), ..Change::in_tenant(kind, object)? })
    }

    pub fn in_tenant(kind: ChangeKind, object: &impl Serialize) -> Result<Change, Error> {
        let object = serde_json::to_value(object).map_err(anyhow::Error::from)?;
        Ok(Change { kind, incident_id: None, object })
    }
}

impl<R> Done<R> {
    pub fn new(value: R) -> Done<R> {
        Done { value, events: Vec::new(), changes: Vec::new() }
    }

    pub fn audited(mut self, event: NewEvent) -> Done<R> {
        self.events.push(event);
        self
    }

    pub fn announced(mut self, change: Change) -> Done<R> {
        self.changes.push(change);
        self
    }

    /// Appends the events to the tenant's audit chain, as done by `actor`
    /// from `origin`, and the changes to its feed, in the work's
    /// transaction; then the value.
    pub async fn record(
        self,
        conn: &mut AsyncPgConnection,
        tenant_id: Uuid,
        actor: &Actor,
        origin: &Origin,
    ) -> Result<R, Error> {
        for event in self.events {
            audit::append(conn, tenant_id, actor, origin, event).await?;
        }
        for change in self.changes {
            let kind = change.kind.as_str();
            db::change_events::change_event_append(conn, tenant_id, kind, change.incident_id, &change.object).await?;
        }
        Ok(self.value)
    }
}

/// Reads in the tenant: `NotFound` unless the caller belongs to it,
/// `Forbidden` without `action` there. A key is authorized before anything
/// is sent. A session's read that every member may make, in its active
/// tenant (which it switched into as a member), goes out right behind the
/// lookup of the member's role, in the same round trip, and its answer is
/// used only once the role authorizes it: so it runs, and is then refused,
/// only for someone removed since. Any other read is authorized first. The
/// transaction is read-only: PostgreSQL refuses it writes to tables (the
/// work must not change settings or take locks either).
pub async fn tenant_read<R, F>(
    state: &AppState,
    op: &OpContext,
    tenant_id: Uuid,
    action: Action,
    work: F,
) -> Result<R, Error>
where
    R: Send + 'static,
    F: for<'c> FnOnce(&'c AsyncPgConnection) -> BoxFuture<'c, Result<R, Error>> + Send + 'static,
{
    let actor = op.actor.clone();
    if let Actor::ServiceAccount(key) = &actor {
        // A key's standing takes no lookup: checked before anything is sent
        // (and again, alike, below).
        authorize(action, Resource::Tenant, key_standing(key, tenant_id).ok_or(Error::NotFound)?)?;
    } else if op.active_tenant != Some(tenant_id) || !action.is_member_read() {
        return read_after_authorizing(state, op, tenant_id, action, Access::Read, without_context(work)).await;
    }
    let opening = beside_standing(standing(actor.clone(), tenant_id, false), work);
    let value =
        db::in_tenant_opened(&state.db, scope(&actor, tenant_id), Access::Read, opening, move |_, (ctx, value)| {
            Box::pin(async move {
                authorize(action, Resource::Tenant, ctx.ok_or(Error::NotFound)?)?;
                value
            })
        })
        .await?;
    count_read(state, op, tenant_id);
    Ok(value)
}

/// A [`tenant_read`] work in the shape [`read_after_authorizing`] runs,
/// which hands it the connection once the caller is authorized.
fn without_context<R, F>(
    work: F,
) -> impl for<'c> FnOnce(&'c mut AsyncPgConnection, Context) -> BoxFuture<'c, Result<R, Error>> + Send + 'static
where
    F: for<'c> FnOnce(&'c AsyncPgConnection) -> BoxFuture<'c, Result<R, Error>> + Send + 'static,
{
    move |conn, _| work(conn)
}

/// [`tenant_read`] for a read whose statements depend on what the caller
/// holds in the tenant: they are sent once it is authorized, a round trip
/// later.
pub async fn tenant_read_in_context<R, F>(
    state: &AppState,
    op: &OpContext,
    tenant_id: Uuid,
    action: Action,
    work: F,
) -> Result<R, Error>
where
    R: Send + 'static,
    F: for<'c> FnOnce(&'c mut AsyncPgConnection, Context) -> BoxFuture<'c, Result<R, Error>> + Send + 'static,
{
    read_after_authorizing(state, op, tenant_id, action, Access::Read, work).await
}

/// [`tenant_read`] for a read that locks rows, which a read-only
/// transaction may not: sent once the caller is authorized.
pub async fn tenant_read_locking<R, F>(
    state: &AppState,
    op: &OpContext,
    tenant_id: Uuid,
    action: Action,
    work: F,
) -> Result<R, Error>
where
    R: Send + 'static,
    F: for<'c> FnOnce(&'c mut AsyncPgConnection) -> BoxFuture<'c, Result<R, Error>> + Send + 'static,
{
    read_after_authorizing(state, op, tenant_id, action, Access::Write, move |conn, _| work(conn)).await
}

async fn read_after_authorizing<R, F>(
    state: &AppState,
    op: &OpContext,
    tenant_id: Uuid,
    action: Action,
    access: Access,
    work: F,
) -> Result<R, Error>
where
    R: Send + 'static,
    F: for<'c> FnOnce(&'c mut AsyncPgConnection, Context) -> BoxFuture<'c, Result<R, Error>> + Send + 'static,
{
    let actor = op.actor.clone();
    let opening = standing(actor.clone(), tenant_id, false);
    let value = db::in_tenant_opened(&state.db, scope(&actor, tenant_id), access, opening, move |conn, ctx| {
        Box::pin(async move {
            let ctx = ctx.ok_or(Error::NotFound)?;
            authorize(action, Resource::Tenant, ctx)?;
            work(conn, ctx).await
        })
    })
    .await?;
    count_read(state, op, tenant_id);
    Ok(value)
}

fn count_read(state: &AppState, op: &OpContext, tenant_id: Uuid) {
    if let Some(principal) = op.actor.principal() {
        state.usage.count_read(tenant_id, principal);
    }
}

/// What the caller holds in the tenant, if anything, and a read's answer.
type StandingAndAnswer<R> = (Option<Context>, Result<R, Error>);

/// An opening that looks up what the caller holds and sends `work` right
/// behind it; both answers are kept for after the caller is authorized.
fn beside_standing<R, S, F>(
    standing: S,
    work: F,
) -> impl for<'c> FnOnce(&'c AsyncPgConnection) -> BoxFuture<'c, QueryResult<StandingAndAnswer<R>>> + Send
where
    R: Send + 'static,
    S: for<'c> FnOnce(&'c AsyncPgConnection) -> BoxFuture<'c, QueryResult<Option<Context>>> + Send + 'static,
    F: for<'c> FnOnce(&'c AsyncPgConnection) -> BoxFuture<'c, Result<R, Error>> + Send + 'static,
{
    move |conn| {
        Box::pin(async move {
            let (ctx, value) = futures::future::join(standing(conn), work(conn)).await;
            Ok((ctx?, value))
        })
    }
}

/// [`tenant_read`] for a read that leaves a trace in the audit log (an
/// export, a download URL): its events are appended in the read's
/// transaction. Since it writes to the log, it is limited per principal
/// as writes are; it is metered as a read, never against the write quota.
pub async fn tenant_read_audited<R, F>(
    state: &AppState,
    op: &OpContext,
    tenant_id: Uuid,
    action: Action,
    work: F,
) -> Result<R, Error>
where
    R: Send + 'static,
    F: for<'c> FnOnce(&'c mut AsyncPgConnection, Context) -> BoxFuture<'c, Result<Done<R>, Error>> + Send + 'static,
{
    let (_, _turn) = turn_to_write(state, op, tenant_id).await?;
    let (actor, origin) = (op.actor.clone(), op.origin.clone());
    read_after_authorizing(state, op, tenant_id, action, Access::Write, move |conn, ctx| {
        Box::pin(async move { work(conn, ctx).await?.record(conn, tenant_id, &actor, &origin).await })
    })
    .await
}

/// Writes in the tenant: limited per principal, then all of
/// [`tenant_read`]'s checks, the quota, the work and its audit events in
/// one transaction.
pub async fn tenant_write<R, F>(
    state: &AppState,
    op: &OpContext,
    tenant_id: Uuid,
    write: Write,
    work: F,
) -> Result<R, Error>
where
    R: Send + 'static,
    F: for<'c> FnOnce(&'c mut AsyncPgConnection, Context) -> BoxFuture<'c, Result<Done<R>, Error>> + Send + 'static,
{
    Ok(write_in_tenant(state, op, tenant_id, write, None, work).await?.value)
}

/// Work in the tenant that no role authorizes, because its actor holds
/// none: a transfer through a signed URL (whose signature the use case has
/// checked, and which stands for the member it was handed to), joining
/// through an invite (which the use case has checked), or the system's own
/// follow-up to a write (a virus scan's verdict). Its audit events name
/// `actor`; nothing is metered.
pub async fn tenant_write_granted<R, F>(
    state: &AppState,
    actor: Actor,
    origin: &Origin,
    tenant_id: Uuid,
    work: F,
) -> Result<R, Error>
where
    R: Send + 'static,
    F: for<'c> FnOnce(&'c mut AsyncPgConnection) -> BoxFuture<'c, Result<Done<R>, Error>> + Send + 'static,
{
    let origin = origin.clone();
    db::in_tenant(&state.db, scope(&actor, tenant_id), move |conn| {
        Box::pin(async move { work(conn).await?.record(conn, tenant_id, &actor, &origin).await })
    })
    .await
}

/// How long a create's answer is kept for a retry with its key.
const IDEMPOTENCY_WINDOW: chrono::Duration = chrono::Duration::hours(24);
const MAX_IDEMPOTENCY_KEY_CHARS: usize = 255;

/// A create sent with an `Idempotency-Key`: the key, the create it belongs
/// to, and a digest of the request, which a retry must repeat.
pub struct IdempotencyKey {
    operation: &'static str,
    key: String,
    request_digest: [u8; 32],
}

impl IdempotencyKey {
    /// The key the client sent with `request` to `operation`, if any: 1 to
    /// 255 visible ASCII characters.
    pub fn new(
        key: Option<String>,
        operation: &'static str,
        request: &impl Serialize,
    ) -> Result<Option<IdempotencyKey>, Error> {
        let Some(key) = key else { return Ok(None) };
        if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY_CHARS || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::invalid_field(
                "Idempotency-Key",
                "An Idempotency-Key has 1 to 255 visible ASCII characters.",
            ));
        }
        let encoded = serde_json::to_vec(request).map_err(anyhow::Error::from)?;
        Ok(Some(IdempotencyKey { operation, key, request_digest: Sha256::digest(encoded).into() }))
    }

    fn scope(&self, tenant_id: Uuid, principal: Principal) -> KeyScope<'_> {
        KeyScope { tenant_id, principal, operation: self.operation, key: &self.key }
    }
}

/// A write's value, and whether it is the stored answer to an earlier
/// request with the same idempotency key.
pub struct Written<R> {
    pub value: R,
    pub replayed: bool,
}

/// [`tenant_write`] for a create that may carry an idempotency key. With
/// one, the first request's answer is stored in its own transaction; a
/// retry within 24 hours with the same body gets that answer back and
/// writes, counts and audits nothing. The same key with another body is
/// `422 IDEMPOTENCY_KEY_REUSED`; while the first request is in flight, `409
/// IDEMPOTENCY_KEY_IN_USE`.
pub async fn tenant_write_once<R, F>(
    state: &AppState,
    op: &OpContext,
    tenant_id: Uuid,
    write: Write,
    key: Option<IdempotencyKey>,
    work: F,
) -> Result<Written<R>, Error>
where
    R: Serialize + DeserializeOwned + Send + 'static,
    F: for<'c> FnOnce(&'c mut AsyncPgConnection, Context) -> BoxFuture<'c, Result<Done<R>, Error>> + Send + 'static,
{
    let once = key.map(|key| Once { key, encode: |value| serde_json::to_value(value), decode: serde_json::from_value });
    write_in_tenant(state, op, tenant_id, write, once, work).await
}

/// An idempotency key, and how its answer is stored and read back.
struct Once<R> {
    key: IdempotencyKey,
    encode: fn(&R) -> serde_json::Result<Value>,
    decode: fn(Value) -> serde_json::Result<R>,
}

async fn write_in_tenant<R, F>(
    state: &AppState,
    op: &OpContext,
    tenant_id: Uuid,
    write: Write,
    once: Option<Once<R>>,
    work: F,
) -> Result<Written<R>, Error>
where
    R: Send + 'static,
    F: for<'c> FnOnce(&'c mut AsyncPgConnection, Context) -> BoxFuture<'c, Result<Done<R>, Error>> + Send + 'static,
{
    let (principal, _turn) = turn_to_write(state, op, tenant_id).await?;
    let (actor, origin) = (op.actor.clone(), op.origin.clone());
    let default_quota = state.limits.daily_write_quota;
    let now = Utc::now();
    let (day, resets_at) = utc_day(now);
    let opening = standing(actor.clone(), tenant_id, !write.work_locks_memberships);
    let (written, count) =
        db::in_tenant_opened(&state.db, scope(&actor, tenant_id), Access::Write, opening, move |conn, ctx| {
            Box::pin(async move {
                let ctx = ctx.ok_or(Error::NotFound)?;
                authorize(write.action, Resource::Tenant, ctx)?;
                let once = match once {
                    None => None,
                    Some(once) => {
                        if let Some(answer) = replay(conn, once.key.scope(tenant_id, principal), &once, now).await? {
                            return Ok((Written { value: answer, replayed: true }, None));
                        }
                        Some(once)
                    }
                };
                let done = work(conn, ctx).await?;
                // Every write takes its locks in one order: memberships (above,
                // or in the work), then the tenant's count for the day, then its
                // audit chain. Counting first would deadlock against a
                // membership change, which counts after locking memberships.
                let count =
                    db::usage::usage_count_write(conn, tenant_id, day, principal, default_quota, write.enforce_quota)
                        .await?
                        .map_err(|full| quota_exceeded(full, resets_at))?;
                let value = done.record(conn, tenant_id, &actor, &origin).await?;
                if let Some(once) = once {
                    let key_scope = once.key.scope(tenant_id, principal);
                    let answer = (once.encode)(&value).map_err(anyhow::Error::from)?;
                    let not_before = now - IDEMPOTENCY_WINDOW;
                    idempotency_store(conn, key_scope, &once.key.request_digest, &answer, now, not_before).await?;
                }
                Ok((Written { value, replayed: false }, Some(count)))
            })
        })
        .await?;
    if let Some(count) = count {
        let _ = op.quota.set(QuotaStanding { limit: count.write_quota, used: count.writes, resets_at });
    }
    Ok(written)
}

/// The stored answer to an earlier request with the key, if there is one;
/// otherwise the key is this transaction's until it ends.
async fn replay<R>(
    conn: &mut AsyncPgConnection,
    key_scope: KeyScope<'_>,
    once: &Once<R>,
    now: chrono::DateTime<Utc>,
) -> Result<Option<R>, Error> {
    if !idempotency_try_lock(conn, key_scope).await? {
        return Err(Error::Conflict(Problem::new(
            "IDEMPOTENCY_KEY_IN_USE",
            "A request with this Idempotency-Key is still in progress; retry once it has finished.",
        )));
    }
    let Some(stored) = idempotency_find(conn, key_scope, now - IDEMPOTENCY_WINDOW).await? else {
        return Ok(None);
    };
    if stored.request_digest != once.key.request_digest {
        return Err(Error::Unprocessable(Problem::new(
            "IDEMPOTENCY_KEY_REUSED",
            "This Idempotency-Key was used with a different request; use a new key for a new request.",
        )));
    }
    Ok(Some((once.decode)(stored.response).map_err(anyhow::Error::from)?))
}

/// What every write to the tenant does first: it counts against its
/// principal's write rate, then waits for its turn in the tenant, held
/// until dropped (see [`super::turns`]).
async fn turn_to_write<'s>(
    state: &'s AppState,
    op: &OpContext,
    tenant_id: Uuid,
) -> Result<(Principal, Turn<'s>), Error> {
    let principal = op.actor.principal().ok_or_else(Error::auth_required)?;
    check_write_rate(state, principal).await?;
    Ok((principal, state.write_turns.take(tenant_id).await))
}

/// Counts a write of `principal` against the write rate limit.
pub(crate) async fn check_write_rate(state: &AppState, principal: Principal) -> Result<(), Error> {
    let limit = state.limits.write_rate;
    let subject = format!("{}:{}", principal.kind, principal.id);
    state.sessions.count_attempt("write", &subject, limit.count, limit.window).await?.or_rate_limited()
}

fn scope(actor: &Actor, tenant_id: Uuid) -> TenantScope {
    TenantScope { tenant_id, actor_id: actor.id().unwrap_or(Uuid::nil()) }
}

/// What an API key holds in the tenant: its scopes, in its own tenant only.
fn key_standing(key: &KeyHolder, tenant_id: Uuid) -> Option<Context> {
    (key.tenant_id == tenant_id).then_some(Context::ApiKey(key.scopes))
}

/// A transaction's opening that reads what the actor holds in the tenant:
/// a member's role (locked against changes until the transaction ends,
/// when `lock`), or the key's scopes when it is the key's own tenant.
/// Nothing (`NotFound` to the caller) otherwise.
fn standing(
    actor: Actor,
    tenant_id: Uuid,
    lock: bool,
) -> impl for<'c> FnOnce(&'c AsyncPgConnection) -> BoxFuture<'c, QueryResult<Option<Context>>> + Send {
    move |conn| {
        Box::pin(async move {
            match actor {
                Actor::User(user_id) => {
                    let role = if lock {
                        tenants::lock_role_of(conn, tenant_id, user_id).await?
                    } else {
                        tenants::role_of(conn, tenant_id, user_id).await?
                    };
                    Ok(role.map(Context::Member))
                }
                Actor::ServiceAccount(key) => Ok(key_standing(&key, tenant_id)),
                _ => Ok(None),
            }
        })
    }
}

fn quota_exceeded(full: WriteCount, resets_at: chrono::DateTime<Utc>) -> Error {
    crate::telemetry::METRICS.quota_rejections.add(1, &[]);
    let retry_after = (resets_at - Utc::now()).to_std().unwrap_or_default();
    Error::Limited {
        problem: Problem::new(
            "QUOTA_EXCEEDED",
            "The tenant's daily write quota is used up; it resets at midnight UTC.",
        )
        .with_detail("limit", full.write_quota)
        .with_detail("used", full.writes)
        .with_detail("resetsAt", resets_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        retry_after,
    }
}
