//! Use cases, one module per area: plain Rust, no HTTP types. Each takes
//! the request's [`OpContext`]; tenant-scoped ones run through the one
//! tenant operation in [`operation`].

/// Names stored as text, and their variants.
macro_rules! named_variants {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &[$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn named(name: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|value| value.as_str() == name)
            }

            /// A name as stored, which the table's CHECK constraint keeps valid.
            pub fn from_stored(stored: &str) -> Result<$name, $crate::error::Error> {
                $name::named(stored).ok_or_else(|| {
                    $crate::error::Error::Internal(::anyhow::anyhow!(concat!("unknown ", stringify!($name), " {:?}"), stored))
                })
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    };
}

pub mod account;
pub mod api_keys;
pub mod attachments;
pub mod audit_log;
pub mod auth;
pub mod events;
pub mod incidents;
pub mod operation;
pub mod platform;
pub mod retention;
pub mod tenants;
pub mod turns;
pub mod usage;
pub mod webhooks;

use std::sync::OnceLock;
use std::time::Duration;

use uuid::Uuid;

pub use crate::actor::{Actor, Origin};
use crate::db::Pool;
pub use crate::error::{Error, Problem};
use crate::mail::MailQueued;
use crate::sessions::SessionStore;
use auth::password::Passwords;
use usage::{QuotaStanding, UsageMeter};

/// What every use case may reach: shared by all requests of a server.
pub struct AppState {
    pub db: Pool,
    pub sessions: SessionStore,
    pub passwords: Passwords,
    /// Wakes the mail worker after mail is queued.
    pub mail_queued: MailQueued,
    /// Where links in mail point; see `Config::public_base_url`.
    pub public_base_url: String,
    pub limits: Limits,
    /// Reads counted here, written to the database now and then.
    pub usage: UsageMeter,
    /// Where a tenant's writes wait for their turn, before a connection.
    pub write_turns: turns::TenantTurns,
    pub attachments: attachments::Attachments,
    pub webhook_targets: webhooks::TargetPolicy,
    /// Reset-link requests still being worked on after their answer.
    pub reset_requests: auth::ResetRequests,
    pub retention: crate::config::Retention,
}

/// Limits on tenant-scoped writes.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Writes per principal in a sliding window.
    pub write_rate: RateLimit,
    /// Writes per tenant and UTC day, unless the tenant has its own quota.
    pub daily_write_quota: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub count: u32,
    pub window: Duration,
}

/// One request as the application sees it: who, from where, and in which
/// tenant. Built by the HTTP layer's one authentication point.
#[derive(Debug)]
pub struct OpContext {
    pub actor: Actor,
    pub origin: Origin,
    /// The session's active tenant, or an API key's own tenant.
    pub active_tenant: Option<Uuid>,
    /// The tenant's quota after this request's write, for the response's
    /// RateLimit headers.
    pub quota: OnceLock<QuotaStanding>,
}

impl OpContext {
    pub fn new(actor: Actor, origin: Origin, active_tenant: Option<Uuid>) -> OpContext {
        OpContext { actor, origin, active_tenant, quota: OnceLock::new() }
    }

    /// The signed-in user: `401` for anyone else.
    pub fn user_id(&self) -> Result<Uuid, Error> {
        match self.actor {
            Actor::User(id) => Ok(id),
            _ => Err(Error::auth_required()),
        }
    }

    /// The tenant of endpoints without one in their path.
    pub fn active_tenant(&self) -> Result<Uuid, Error> {
        self.active_tenant.ok_or_else(|| {
            Error::Invalid(Problem::new(
                "TENANT_NOT_SELECTED",
                "Choose a tenant first: POST /v1/tenants/{tenantId}/switch.",
            ))
        })
    }
}

/// Where a page of a list starts: after this id, which the previous page
/// ended with.
#[derive(Clone, Copy, Debug)]
pub struct Page {
    pub after: Option<Uuid>,
    pub limit: i64,
}

const MAX_NAME_CHARS: usize = 100;

/// A person's, a tenant's, a service account's or a key's name: trimmed, 1
/// to 100 characters, none of them control or invisible formatting
/// characters (which could make one name pass for another).
pub(crate) fn validate_name(raw: &str) -> Result<String, Error> {
    validate_line("name", "A name", raw, MAX_NAME_CHARS)
}

/// One line of text people read (a name, a title, a label): trimmed, 1 to
/// `max` characters, none of them control or formatting characters. `what`
/// names it in the error message ("A title"); `field` in `details.field`.
pub(crate) fn validate_line(field: &'static str, what: &str, raw: &str, max: usize) -> Result<String, Error> {
    let line = raw.trim();
    let chars = line.chars().count();
    if chars == 0 || chars > max || line.chars().any(crate::text::is_hidden) {
        return Err(Error::invalid_field(
            field,
            format!("{what} has 1 to {max} characters, none of them control or formatting characters."),
        ));
    }
    Ok(line.to_string())
}
