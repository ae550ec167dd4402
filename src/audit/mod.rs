//! The append-only, hash-chained audit log.
//!
//! Each tenant has one chain of events, numbered by `seq` from 1; events
//! that belong to no tenant go to the platform's chain ([`PLATFORM_CHAIN`]).
//! An event is appended in the same transaction as the change it records,
//! so either both happen or neither does. The database refuses updates and
//! deletes of events (grants and a trigger); [`verify`] recomputes a chain
//! to show whether anyone went around that.
//!
//! Personal data (the client address, an invitee's email) is kept beside
//! the event, in `audit_personal_data`, which retention and account
//! deletion erase; the event hashes a salted digest of each datum (see
//! [`chain`]).

pub mod chain;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use crate::actor::{Actor, Origin};
use crate::db::schema::{audit_chain_heads, audit_events, audit_personal_data};
use crate::db::{self, TenantScope};
use crate::error::Error;
use chain::Datum;

/// The chain of events that belong to no tenant.
pub const PLATFORM_CHAIN: Uuid = Uuid::nil();

/// Events read per query while verifying, so a long chain is checked in
/// bounded memory.
const VERIFY_BATCH: i64 = 1000;

/// What it was done to.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    pub kind: &'static str,
    pub id: Uuid,
}

impl Target {
    pub fn user(id: Uuid) -> Target {
        Target { kind: "user", id }
    }

    pub fn tenant(id: Uuid) -> Target {
        Target { kind: "tenant", id }
    }

    pub fn invite(id: Uuid) -> Target {
        Target { kind: "invite", id }
    }

    pub fn service_account(id: Uuid) -> Target {
        Target { kind: "service_account", id }
    }

    pub fn api_key(id: Uuid) -> Target {
        Target { kind: "api_key", id }
    }

    pub fn incident(id: Uuid) -> Target {
        Target { kind: "incident", id }
    }

    pub fn task(id: Uuid) -> Target {
        Target { kind: "task", id }
    }

    pub fn webhook(id: Uuid) -> Target {
        Target { kind: "webhook", id }
    }

    pub fn status_update(id: Uuid) -> Target {
        Target { kind: "status_update", id }
    }

    pub fn timeline_event(id: Uuid) -> Target {
        Target { kind: "timeline_event", id }
    }

    pub fn attachment(id: Uuid) -> Target {
        Target { kind: "attachment", id }
    }
}

/// What happened, to record with who did it and from where. Metadata must
/// never hold a secret, nor personal data: that goes in `email`.
#[derive(Clone, Debug)]
pub struct NewEvent {
    /// A stable name, `area.what_happened`: `tenant.created`, `member.role_changed`.
    pub action: &'static str,
    pub target: Option<Target>,
    pub metadata: Value,
    /// The email of the person the event is about, when only the email
    /// names them (an invitee); shown as the metadata's `email`.
    pub email: Option<String>,
}

impl NewEvent {
    pub fn new(action: &'static str, target: Option<Target>) -> NewEvent {
        NewEvent { action, target, metadata: Value::Object(Default::default()), email: None }
    }

    pub fn with_metadata(mut self, metadata: Value) -> NewEvent {
        self.metadata = metadata;
        self
    }

    pub fn with_email(mut self, email: &str) -> NewEvent {
        self.email = Some(email.to_string());
        self
    }
}

/// An event as stored.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
pub struct EventRecord {
    pub tenant_id: Uuid,
    pub seq: i64,
    pub action: String,
    pub actor_type: String,
    pub actor_id: Option<Uuid>,
    pub target_type: Option<String>,
    pub target_id: Option<Uuid>,
    pub request_id: Option<String>,
    /// Only in version 1 events; later ones keep it in [`PersonalRecord`].
    pub client_ip: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub metadata: Value,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
    /// [`chain::datum_digest`] of the client address in the event's
    /// [`PersonalRecord`]; `None` in version 1 events.
    pub address_digest: Option<Vec<u8>>,
    /// Of the email, for an event that names one.
    pub email_digest: Option<Vec<u8>>,
}

/// An event's personal data: each datum with its salt, until retention or
/// the deletion of the account it belongs to erases them. The fields are
/// in the table's column order.
#[derive(Clone, Debug, Queryable, Insertable)]
#[diesel(table_name = audit_personal_data)]
pub struct PersonalRecord {
    pub tenant_id: Uuid,
    pub seq: i64,
    /// The event's, which retention counts from.
    pub occurred_at: DateTime<Utc>,
    /// The event's actor and target, which deletion finds the data by.
    pub actor_id: Option<Uuid>,
    pub target_id: Option<Uuid>,
    pub client_ip: Option<String>,
    pub client_ip_salt: Option<Vec<u8>>,
    pub email: Option<String>,
    pub email_salt: Option<Vec<u8>>,
}

impl PersonalRecord {
    fn new(event: &EventRecord, client_ip: String, email: Option<String>) -> PersonalRecord {
        let salt = || crate::crypto::random_bytes::<16>().to_vec();
        PersonalRecord {
            tenant_id: event.tenant_id,
            seq: event.seq,
            occurred_at: event.occurred_at,
            actor_id: event.actor_id,
            target_id: event.target_id,
            client_ip: Some(client_ip),
            client_ip_salt: Some(salt()),
            email_salt: email.as_ref().map(|_| salt()),
            email,
        }
    }

    fn digest(value: &Option<String>, salt: &Option<Vec<u8>>, datum: Datum) -> Option<Vec<u8>> {
        Some(chain::datum_digest(datum, salt.as_deref()?, value.as_deref()?).to_vec())
    }

    fn address_digest(&self) -> Option<Vec<u8>> {
        PersonalRecord::digest(&self.client_ip, &self.client_ip_salt, Datum::ClientIp)
    }

    fn email_digest(&self) -> Option<Vec<u8>> {
        PersonalRecord::digest(&self.email, &self.email_salt, Datum::Email)
    }
}

/// An event as listed: with its personal data, unless that was erased.
#[derive(Clone, Debug)]
pub struct LoggedEvent {
    pub record: EventRecord,
    pub personal: Option<PersonalRecord>,
}

impl LoggedEvent {
    pub fn client_ip(&self) -> Option<&str> {
        self.record.client_ip.as_deref().or(self.personal.as_ref().and_then(|personal| personal.client_ip.as_deref()))
    }

    /// The metadata, with the email the event names in it while that is
    /// kept.
    pub fn metadata(&self) -> Value {
        let mut metadata = self.record.metadata.clone();
        if let (Some(email), Value::Object(fields)) =
            (self.personal.as_ref().and_then(|personal| personal.email.as_ref()), &mut metadata)
        {
            fields.insert("email".to_string(), Value::String(email.clone()));
        }
        metadata
    }

    /// Whether each datum kept beside the event is what it hashed (an
    /// erased one is not checked), and the event's fields copied beside it,
    /// which erasure and retention find the data by, are the event's.
    fn personal_data_intact(&self) -> bool {
        let Some(personal) = &self.personal else { return true };
        let event = &self.record;
        let intact = |kept: Option<Vec<u8>>, hashed: &Option<Vec<u8>>| kept.is_none() || kept == *hashed;
        intact(personal.address_digest(), &event.address_digest)
            && intact(personal.email_digest(), &event.email_digest)
            && (personal.occurred_at, personal.actor_id, personal.target_id)
                == (event.occurred_at, event.actor_id, event.target_id)
    }
}

/// Appends `event` to `tenant_id`'s chain, inside the caller's transaction,
/// which must be scoped to that tenant. The chain's head row is locked until
/// that transaction ends, so concurrent writers of one tenant append one
/// after another and the chain never forks.
pub async fn append(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    origin: &Origin,
    event: NewEvent,
) -> Result<EventRecord, Error> {
    crate::telemetry::METRICS.audit_events.add(1, &[]);
    // Locked first, and created only for the tenant's first event: every
    // other event takes one statement, not two.
    let (head_seq, head_hash) = match lock_chain_head(conn, tenant_id).await? {
        Some(head) => head,
        None => {
            diesel::insert_into(audit_chain_heads::table)
                .values((
                    audit_chain_heads::tenant_id.eq(tenant_id),
                    audit_chain_heads::seq.eq(0),
                    audit_chain_heads::hash.eq(chain::GENESIS.to_vec()),
                ))
                .on_conflict_do_nothing()
                .execute(conn)
                .await?;
            lock_chain_head(conn, tenant_id).await?.ok_or(diesel::result::Error::NotFound)?
        }
    };
    let mut record = EventRecord {
        tenant_id,
        seq: head_seq + 1,
        action: event.action.to_string(),
        actor_type: actor.kind().to_string(),
        actor_id: actor.id(),
        target_type: event.target.map(|target| target.kind.to_string()),
        target_id: event.target.map(|target| target.id),
        request_id: Some(origin.request_id.clone()),
        client_ip: None,
        occurred_at: chain::stored_precision(Utc::now()),
        metadata: event.metadata,
        prev_hash: head_hash,
        hash: Vec::new(),
        address_digest: None,
        email_digest: None,
    };
    let personal = PersonalRecord::new(&record, origin.client_ip.to_string(), event.email);
    (record.address_digest, record.email_digest) = (personal.address_digest(), personal.email_digest());
    record.hash = chain::event_hash(&record).to_vec();
    db::prepared(diesel::insert_into(audit_events::table).values(&record)).execute(conn).await?;
    db::prepared(diesel::insert_into(audit_personal_data::table).values(&personal)).execute(conn).await?;
    db::prepared(
        diesel::update(audit_chain_heads::table.find(tenant_id))
            .set((audit_chain_heads::seq.eq(record.seq), audit_chain_heads::hash.eq(&record.hash))),
    )
    .execute(conn)
    .await?;
    Ok(record)
}

/// The sequence number and hash of `tenant_id`'s newest event, locked until
/// the transaction ends; none before its first.
async fn lock_chain_head(conn: &mut AsyncPgConnection, tenant_id: Uuid) -> QueryResult<Option<(i64, Vec<u8>)>> {
    audit_chain_heads::table
        .find(tenant_id)
        .select((audit_chain_heads::seq, audit_chain_heads::hash))
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Records an event about a user's account (sign-in, password reset) in the
/// chain of every tenant the user belongs to, or in the platform's chain
/// when there is no such user or tenant. `conn` must be in a transaction:
/// the change the event records, if it is in the database, belongs in it.
pub async fn record_account_event(
    conn: &mut AsyncPgConnection,
    user_id: Option<Uuid>,
    actor: &Actor,
    origin: &Origin,
    event: NewEvent,
) -> Result<(), Error> {
    let mut chains = match user_id {
        Some(user_id) => db::tenants::tenant_ids_of_user(conn, user_id).await?,
        None => Vec::new(),
    };
    if chains.is_empty() {
        chains.push(PLATFORM_CHAIN);
    }
    for tenant_id in chains {
        db::enter_tenant(conn, TenantScope { tenant_id, actor_id: user_id.unwrap_or(Uuid::nil()) }).await?;
        append(conn, tenant_id, actor, origin, event.clone()).await?;
    }
    Ok(())
}

/// Records an event that belongs to no tenant, the server's own, in the
/// platform's chain; `conn` must be in a transaction.
pub async fn record_platform_event(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    origin: &Origin,
    event: NewEvent,
) -> Result<(), Error> {
    db::enter_tenant(conn, TenantScope { tenant_id: PLATFORM_CHAIN, actor_id: Uuid::nil() }).await?;
    append(conn, PLATFORM_CHAIN, actor, origin, event).await.map(drop)
}

/// Which events to list; all given conditions must hold.
#[derive(Debug)]
pub struct EventFilter {
    pub action: Option<String>,
    pub actor_id: Option<Uuid>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Only events older than this one: the cursor.
    pub before_seq: Option<i64>,
}

/// The tenant's events matching `filter`, newest first.
pub async fn list(
    mut conn: &AsyncPgConnection,
    tenant_id: Uuid,
    filter: &EventFilter,
    limit: i64,
) -> QueryResult<Vec<LoggedEvent>> {
    let mut query = audit_events::table.filter(audit_events::tenant_id.eq(tenant_id)).into_boxed();
    if let Some(action) = &filter.action {
        query = query.filter(audit_events::action.eq(action.clone()));
    }
    if let Some(actor_id) = filter.actor_id {
        query = query.filter(audit_events::actor_id.eq(actor_id));
    }
    if let Some(since) = filter.since {
        query = query.filter(audit_events::occurred_at.ge(since));
    }
    if let Some(until) = filter.until {
        query = query.filter(audit_events::occurred_at.lt(until));
    }
    if let Some(before_seq) = filter.before_seq {
        query = query.filter(audit_events::seq.lt(before_seq));
    }
    let records =
        query.order(audit_events::seq.desc()).limit(limit).select(EventRecord::as_select()).load(&mut conn).await?;
    with_personal_data(conn, tenant_id, records).await
}

/// The events, each with its personal data while that is kept. Read by a
/// statement of its own rather than a join: the filtered listing is planned
/// afresh on every call (its shape varies), and a join cost that planning
/// three times over. The range bounds the index scan: a plan kept for the
/// statement cannot know the array, and without them scanned every record
/// of the tenant's log to test each against it.
async fn with_personal_data(
    mut conn: &AsyncPgConnection,
    tenant_id: Uuid,
    records: Vec<EventRecord>,
) -> QueryResult<Vec<LoggedEvent>> {
    let seqs: Vec<i64> = records.iter().map(|record| record.seq).collect();
    let (Some(&oldest), Some(&newest)) = (seqs.iter().min(), seqs.iter().max()) else {
        return Ok(Vec::new());
    };
    let kept: Vec<PersonalRecord> = audit_personal_data::table
        .filter(audit_personal_data::tenant_id.eq(tenant_id))
        .filter(audit_personal_data::seq.between(oldest, newest))
        .filter(audit_personal_data::seq.eq_any(seqs))
        .load(&mut conn)
        .await?;
    let mut kept: std::collections::HashMap<i64, PersonalRecord> =
        kept.into_iter().map(|personal| (personal.seq, personal)).collect();
    Ok(records.into_iter().map(|record| LoggedEvent { personal: kept.remove(&record.seq), record }).collect())
}

/// The outcome of recomputing a chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verification {
    pub valid: bool,
    /// Events found intact, from the first on, before any break.
    pub checked_events: u64,
    /// The chain's recorded end; `head_hash` is `None` for an empty chain.
    pub head_seq: i64,
    pub head_hash: Option<Vec<u8>>,
    /// The first `seq` whose event is missing, altered or out of place.
    pub first_invalid_seq: Option<i64>,
}

/// Recomputes `tenant_id`'s chain up to its recorded head: every `seq` from
/// 1 must be present, link to its predecessor's hash and hash to what it
/// says, and the last must be the head. Events appended while this runs lie
/// past the head it read, so they are not counted.
pub async fn verify(conn: &mut AsyncPgConnection, tenant_id: Uuid) -> QueryResult<Verification> {
    let head: Option<(i64, Vec<u8>)> = audit_chain_heads::table
        .find(tenant_id)
        .select((audit_chain_heads::seq, audit_chain_heads::hash))
        .first(conn)
        .await
        .optional()?;
    let (head_seq, head_hash) = head.unwrap_or((0, chain::GENESIS.to_vec()));
    let mut expected_seq = 1;
    let mut prev_hash = chain::GENESIS.to_vec();
    let mut first_invalid_seq = None;
    'batches: while expected_seq <= head_seq {
        let records: Vec<EventRecord> = audit_events::table
            .filter(audit_events::tenant_id.eq(tenant_id))
            .filter(audit_events::seq.ge(expected_seq))
            .filter(audit_events::seq.le(head_seq))
            .order(audit_events::seq.asc())
            .limit(VERIFY_BATCH)
            .select(EventRecord::as_select())
            .load(conn)
            .await?;
        if records.is_empty() {
            break;
        }
        for event in with_personal_data(conn, tenant_id, records).await? {
            let intact = event.personal_data_intact() && {
                let event = &event.record;
                event.seq == expected_seq
                    && event.prev_hash == prev_hash
                    && chain::event_hash(event).as_slice() == event.hash.as_slice()
            };
            let event = event.record;
            if !intact {
                first_invalid_seq = Some(expected_seq);
                break 'batches;
            }
            prev_hash = event.hash;
            expected_seq += 1;
        }
    }
    if first_invalid_seq.is_none() && (expected_seq - 1 != head_seq || prev_hash != head_hash) {
        // The newest events are gone, or the head was rewritten.
        first_invalid_seq = Some(expected_seq.min(head_seq.max(1)));
    }
    if first_invalid_seq.is_none() && events_past_head(conn, tenant_id).await? {
        first_invalid_seq = Some(head_seq + 1);
    }
    Ok(Verification {
        valid: first_invalid_seq.is_none(),
        checked_events: (expected_seq - 1) as u64,
        head_seq,
        head_hash: (head_seq > 0).then_some(head_hash),
        first_invalid_seq,
    })
}

/// Whether events lie past the chain's head: the head was moved back (or
/// lost) to hide them. Appends in flight are waited for, so they are not
/// mistaken for that.
async fn events_past_head(conn: &mut AsyncPgConnection, tenant_id: Uuid) -> QueryResult<bool> {
    let head: Option<i64> = audit_chain_heads::table
        .find(tenant_id)
        .select(audit_chain_heads::seq)
        .for_share()
        .first(conn)
        .await
        .optional()?;
    let past = audit_events::table
        .filter(audit_events::tenant_id.eq(tenant_id))
        .filter(audit_events::seq.gt(head.unwrap_or(0)));
    diesel::select(diesel::dsl::exists(past)).get_result(conn).await
}
