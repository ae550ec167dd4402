//! Use cases, one module per area: plain Rust, no HTTP types.

pub mod audit_log;
pub mod auth;
pub mod platform;
pub mod tenants;

use std::net::IpAddr;

use uuid::Uuid;

use crate::db::Pool;
use crate::mail::MailQueued;
use crate::sessions::SessionStore;
use auth::password::Passwords;

pub use crate::error::Error;

/// What every use case may reach: shared by all requests of a server.
pub struct AppState {
    pub db: Pool,
    pub sessions: SessionStore,
    pub passwords: Passwords,
    /// Wakes the mail worker after mail is queued.
    pub mail_queued: MailQueued,
    /// Where links in mail point; see `Config::public_base_url`.
    pub public_base_url: String,
}

/// Where a request comes from, for rate limits and the audit trail.
#[derive(Clone, Debug)]
pub struct Caller {
    pub request_id: String,
    pub client_ip: IpAddr,
}

/// A signed-in user making a request. What they may do is decided per
/// request from their memberships, never from the session.
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub user_id: Uuid,
    pub caller: Caller,
}

const MAX_NAME_CHARS: usize = 100;

/// A person's or a tenant's name: trimmed, 1 to 100 characters, no control
/// characters.
pub(crate) fn validate_name(raw: &str) -> Result<String, Error> {
    let name = raw.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(Error::Invalid {
            field: "name",
            message: format!("A name has 1 to {MAX_NAME_CHARS} characters, none of them control characters."),
        });
    }
    Ok(name.to_string())
}
