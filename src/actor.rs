//! Who makes a request, and from where. Authentication establishes it once
//! per request; authorization, the audit log, rate limits and metering all
//! read the same value.

use std::net::IpAddr;

use uuid::Uuid;

use crate::policy::Scopes;

/// Whoever a request, or a background job, acts for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in person. What they may do is decided per request from
    /// their memberships, never from the session.
    User(Uuid),
    /// Automation, through one of a service account's API keys.
    ServiceAccount(KeyHolder),
    /// Someone not signed in, e.g. a failed sign-in.
    Anonymous,
    /// The operator, through an administrative command.
    System,
}

/// A service account acting through an API key: bound to one tenant, with
/// the key's scopes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyHolder {
    pub service_account_id: Uuid,
    pub api_key_id: Uuid,
    pub tenant_id: Uuid,
    pub scopes: Scopes,
}

impl Actor {
    /// The actor type the audit log records.
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::User(_) => "user",
            Actor::ServiceAccount(_) => "service_account",
            Actor::Anonymous => "anonymous",
            Actor::System => "system",
        }
    }

    /// The user's or the service account's id.
    pub fn id(&self) -> Option<Uuid> {
        match self {
            Actor::User(id) => Some(*id),
            Actor::ServiceAccount(key) => Some(key.service_account_id),
            Actor::Anonymous | Actor::System => None,
        }
    }

    /// Who write limits count against: a person, or one API key (a service
    /// account's keys are limited one by one).
    pub fn principal(&self) -> Option<Principal> {
        match self {
            Actor::User(id) => Some(Principal { kind: "user", id: *id }),
            Actor::ServiceAccount(key) => Some(Principal { kind: "api_key", id: key.api_key_id }),
            Actor::Anonymous | Actor::System => None,
        }
    }
}

/// What usage is metered by and write limits count against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Principal {
    /// `user` or `api_key`.
    pub kind: &'static str,
    pub id: Uuid,
}

/// Where a request comes from, for rate limits and the audit trail.
#[derive(Clone, Debug)]
pub struct Origin {
    pub request_id: String,
    pub client_ip: IpAddr,
}

impl Origin {
    /// The server's own work, not a request's: `what` names it in the
    /// request id (`scan-…`, `purge-…`), and it comes from the loopback.
    pub fn internal(what: &str) -> Origin {
        Origin { request_id: format!("{what}-{}", Uuid::new_v4()), client_ip: IpAddr::from([127, 0, 0, 1]) }
    }
}
