//! Use cases, one module per area: plain Rust, no HTTP types.

pub mod auth;
pub mod platform;

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
