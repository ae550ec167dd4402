//! The schema migrations, embedded in the binary. They run as the owner
//! role; the server itself never runs them.

use anyhow::anyhow;
use diesel::Connection;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

type MigrationConnection = AsyncConnectionWrapper<AsyncPgConnection>;

/// Applies every pending migration; returns the versions applied.
pub async fn run_pending(owner_url: &str) -> anyhow::Result<Vec<String>> {
    with_connection(owner_url, |conn| {
        let applied = conn.run_pending_migrations(MIGRATIONS).map_err(|error| anyhow!(error))?;
        Ok(applied.iter().map(ToString::to_string).collect())
    })
    .await
}

/// Reverts every applied migration, newest first; returns the versions
/// reverted.
pub async fn revert_all(owner_url: &str) -> anyhow::Result<Vec<String>> {
    with_connection(owner_url, |conn| {
        let reverted = conn.revert_all_migrations(MIGRATIONS).map_err(|error| anyhow!(error))?;
        Ok(reverted.iter().map(ToString::to_string).collect())
    })
    .await
}

/// diesel_migrations is synchronous; it runs on a blocking thread through
/// diesel-async's wrapper so no libpq is needed.
async fn with_connection<T: Send + 'static>(
    url: &str,
    work: impl FnOnce(&mut MigrationConnection) -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    let url = url.to_string();
    tokio::task::spawn_blocking(move || {
        let mut conn = MigrationConnection::establish(&url)?;
        work(&mut conn)
    })
    .await?
}
