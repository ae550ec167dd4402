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
    /// At most 254 characters once lower-cased.
    #[schemars(email, length(min = 5, max = 254), regex = "crate::text::EMAIL_PATTERN")]
    pub email: String,
    /// 15 to 128 characters, counted in its NFKC form (the form it is
    /// checked and hashed in); not a commonly breached password and not
    /// containing the email's local part.
    #[schemars(length(min = 15, max = 128), regex = "crate::text::STORABLE_PATTERN")]
    pub password: String,
    /// Trimmed; 1 to 100 characters.
    #[schemars(length(min = 1, max = 100), regex = "crate::text::LINE_PATTERN")]
    pub name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginRequest {
    /// At most 254 characters once lower-cased.
    #[schemars(email, length(min = 5, max = 254), regex = "crate::text::EMAIL_PATTERN")]
    pub email: String,
    #[schemars(length(max = 128), regex = "crate::text::STORABLE_PATTERN")]
    pub password: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordForgotRequest {
    /// At most 254 characters once lower-cased.
    #[schemars(email, length(min = 5, max = 254), regex = "crate::text::EMAIL_PATTERN")]
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
    #[schemars(length(min = 43, max = 43), regex(pattern = "^[A-Za-z0-9_-]{43}$"))]
    pub token: String,
    #[schemars(length(min = 15, max = 128), regex = "crate::text::STORABLE_PATTERN")]
    pub password: String,
}
