use std::time::Duration;

use super::{AppState, Error};
use crate::db;

/// How long the health check waits for the database.
const DATABASE_PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Succeeds when the database and the session store both answer; otherwise
/// names every one that did not.
pub async fn health_view(state: &AppState) -> Result<(), Error> {
    let database = tokio::time::timeout(DATABASE_PING_TIMEOUT, db::ping(&state.db));
    let (database_ok, sessions_ok) = tokio::join!(database, state.sessions.ping());
    let mut dependencies = Vec::new();
    if !matches!(database_ok, Ok(true)) {
        dependencies.push("database");
    }
    if !sessions_ok {
        dependencies.push("sessionStore");
    }
    if dependencies.is_empty() { Ok(()) } else { Err(Error::Unavailable { dependencies }) }
}
