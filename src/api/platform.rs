//! Wire types of the platform endpoints (health).

use schemars::JsonSchema;
use serde::Serialize;

/// Every dependency answered.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// Always `ok`; failures are answered with an error instead.
    pub status: HealthStatus,
    /// The server's version.
    pub version: String,
    /// Which session store this instance uses.
    pub session_store: SessionStoreKind,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Liveness {
    /// Always `ok`.
    pub status: HealthStatus,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    Ok,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionStoreKind {
    /// In this process's memory: one instance only.
    Memory,
    /// Redis, shared by every instance.
    Redis,
}
