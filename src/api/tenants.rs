//! Wire types of tenants, memberships and invites.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A member's role in a tenant.
///
/// - `owner`: everything, including making and removing owners.
/// - `admin`: everything else: settings, members, invites, API keys.
/// - `responder`: reads everything and works on incidents.
/// - `viewer`: reads everything.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    Responder,
    Viewer,
}

/// A tenant the caller belongs to.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    pub id: Uuid,
    pub name: String,
    /// The caller's role in it.
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantCreateRequest {
    /// Trimmed; 1 to 100 characters.
    #[schemars(length(min = 1, max = 100), regex = "crate::text::LINE_PATTERN")]
    pub name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantPath {
    pub tenant_id: Uuid,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberPath {
    pub tenant_id: Uuid,
    pub user_id: Uuid,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitePath {
    pub tenant_id: Uuid,
    pub invite_id: Uuid,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    pub user_id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MemberUpdateRequest {
    pub role: Role,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InviteCreateRequest {
    /// At most 254 characters once lower-cased.
    #[schemars(email, length(min = 5, max = 254), regex = "crate::text::EMAIL_PATTERN")]
    pub email: String,
    /// At most the inviter's own role.
    pub role: Role,
}

/// A pending invite. Its token went to the invitee by mail and is never
/// shown again.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Invite {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InviteAcceptRequest {
    /// The token from the mailed link.
    #[schemars(length(min = 43, max = 43), regex(pattern = "^[A-Za-z0-9_-]{43}$"))]
    pub token: String,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InviteAccepted {
    pub tenant_id: Uuid,
    /// The caller's role in the tenant now.
    pub role: Role,
}

/// Where the next page of a list ordered by id starts.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AfterId {
    pub after: Uuid,
}
