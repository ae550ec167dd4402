//! Use cases, one module per area: plain Rust, no HTTP types.

pub mod platform;

use crate::db::Pool;
use crate::sessions::SessionStore;

pub use crate::error::Error;

/// What every use case may reach: shared by all requests of a server.
pub struct AppState {
    pub db: Pool,
    pub sessions: SessionStore,
}
