//! Where session data lives: Redis when `REDIS_URL` is set, so any number of
//! instances share it; this process's memory otherwise.

use std::time::Duration;

use redis::aio::ConnectionManager;

/// How long a health check waits for Redis before calling it down.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub enum SessionStore {
    Memory,
    Redis(ConnectionManager),
}

impl SessionStore {
    /// Connects to Redis when a URL is given. The connection manager
    /// reconnects by itself after Redis restarts.
    pub async fn connect(redis_url: Option<&str>) -> anyhow::Result<SessionStore> {
        match redis_url {
            None => Ok(SessionStore::Memory),
            Some(url) => {
                let client = redis::Client::open(url)?;
                Ok(SessionStore::Redis(ConnectionManager::new(client).await?))
            }
        }
    }

    /// Whether the store answers.
    pub async fn ping(&self) -> bool {
        match self {
            SessionStore::Memory => true,
            SessionStore::Redis(connection) => {
                let mut connection = connection.clone();
                let ping = redis::cmd("PING");
                let reply = tokio::time::timeout(PING_TIMEOUT, ping.query_async::<String>(&mut connection)).await;
                matches!(reply, Ok(Ok(_)))
            }
        }
    }
}
