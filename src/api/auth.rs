//! Wire types of the account and session endpoints.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The caller's session: who is signed in, and the CSRF token every
/// mutating request of this session must send as `x-csrf-token`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    /// The signed-in user; `null` for an anonymous session.
    pub user: Option<User>,
    /// The tenant tenant-scoped endpoints act on for this session.
    pub active_tenant_id: Option<Uuid>,
    pub csrf_token: String,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: Uuid,
    /// Normalized: trimmed and lower-case.
    pub email: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignupRequest {
    #[schemars(length(max = 254))]
    pub email: String,
    /// 15 to 128 characters; not a commonly breached password and not
    /// containing the email's local part.
    #[schemars(length(min = 15, max = 128))]
    pub password: String,
    #[schemars(length(min = 1, max = 100))]
    pub name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginRequest {
    #[schemars(length(max = 254))]
    pub email: String,
    #[schemars(length(max = 128))]
    pub password: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordForgotRequest {
    #[schemars(length(max = 254))]
    pub email: String,
}

/// The same answer whether or not an account uses the email.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasswordResetRequested {
    /// How long the mailed link works, if an account uses the email.
    pub link_valid_for_seconds: u32,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordResetRequest {
    /// The token from the mailed link.
    #[schemars(length(max = 64))]
    pub token: String,
    #[schemars(length(min = 15, max = 128))]
    pub password: String,
}
