//! Wire types of service accounts and API keys.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An identity for automation in one tenant; it acts through its API keys.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccount {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceAccountCreateRequest {
    /// Trimmed; 1 to 100 characters.
    #[schemars(length(min = 1, max = 100), regex = "crate::text::LINE_PATTERN")]
    pub name: String,
}

/// What a key may do: `read` what a viewer reads (not the audit log or
/// usage), `write` also change incidents. No key manages keys, members,
/// tenants or sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApiKeyScope {
    Read,
    Write,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiKeyCreateRequest {
    /// A service account of this tenant.
    pub service_account_id: Uuid,
    /// Trimmed; 1 to 100 characters.
    #[schemars(length(min = 1, max = 100), regex = "crate::text::LINE_PATTERN")]
    pub name: String,
    /// `["read"]` or `["read", "write"]`: a key that writes also reads.
    /// (JSON Schema's `contains` would say so, but OpenAPI 3.0, which
    /// dropshot writes, has no `contains`.)
    #[schemars(length(min = 1, max = 2))]
    pub scopes: Vec<ApiKeyScope>,
    /// When the key stops working; at most a year ahead. Never, if absent.
    pub expires_at: Option<DateTime<Utc>>,
}

/// An API key, without its secret.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub id: Uuid,
    pub service_account_id: Uuid,
    pub name: String,
    pub scopes: Vec<ApiKeyScope>,
    /// The key's first characters (`itk_` and 12 more), to tell keys apart.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Updated at most once a minute.
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new key and its secret, which is shown this once.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyCreated {
    #[serde(flatten)]
    pub key: ApiKey,
    /// The key to send as `x-api-key`. Store it now: it cannot be shown again.
    pub secret: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyPath {
    pub tenant_id: Uuid,
    pub api_key_id: Uuid,
}
