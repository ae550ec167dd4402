//! Wire types of the audit log.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Filters of an audit log listing; all given ones must match.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEventFilter {
    /// Only events with this action, e.g. `member.role_changed`.
    #[schemars(length(min = 1, max = 100), regex(pattern = "^[a-z0-9._]+$"))]
    pub action: Option<String>,
    /// Only events by this user.
    pub actor_id: Option<Uuid>,
    /// Only events at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only events before this time.
    pub until: Option<DateTime<Utc>>,
}

/// Where the next page of an audit log listing starts.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEventPage {
    pub filter: AuditEventFilter,
    /// The oldest event's `seq` on the previous page.
    pub before_seq: i64,
}

/// One event of a tenant's audit log, with its place in the hash chain.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    /// Position in the tenant's chain, from 1.
    pub seq: i64,
    /// What happened: `tenant.created`, `member.invited`, `auth.login_failed`, ...
    pub action: String,
    pub actor: AuditActor,
    pub target: Option<AuditTarget>,
    pub request_id: Option<String>,
    /// Absent once retention or an account's deletion erased it.
    pub client_ip: Option<String>,
    pub occurred_at: DateTime<Utc>,
    /// Details of the event; never secrets. An invitee's `email` is shown
    /// here until erased, but hashed only through `emailDigest`.
    pub metadata: serde_json::Value,
    /// SHA-256 over a random salt and the client address, hex: the address
    /// is kept beside the event, so erasing it leaves `hash` intact. Absent
    /// in events recorded before 0.3.2, which hash their address directly.
    pub address_digest: Option<String>,
    /// The same for an invite event's email.
    pub email_digest: Option<String>,
    /// The previous event's `hash`, hex; zeros for the first.
    pub prev_hash: String,
    /// SHA-256 over this event's canonical encoding and `prevHash`, hex.
    pub hash: String,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditActor {
    /// `user`, or `anonymous` for someone not signed in.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Option<Uuid>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditTarget {
    /// `tenant`, `user` or `invite`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Uuid,
}

/// The outcome of recomputing the tenant's hash chain.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditChainVerification {
    /// Every event is present, in order, unaltered, up to the head.
    pub valid: bool,
    /// Events found intact before any break.
    pub checked_events: u64,
    /// The chain's last `seq`; 0 when it has no events.
    pub head_seq: i64,
    /// The last event's `hash`, hex. Keep it somewhere else: a chain
    /// rewritten from scratch would end in another.
    pub head_hash: Option<String>,
    /// The first `seq` that is missing, altered or out of place.
    pub first_invalid_seq: Option<i64>,
}
