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
    /// Signing in asks for a code from an authenticator app as well.
    pub two_factor_enabled: bool,
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

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountDeleteRequest {
    #[schemars(length(max = 128), regex = "crate::text::STORABLE_PATTERN")]
    pub password: String,
    /// With two-factor sign-in on: a code from the authenticator app, or an
    /// unused recovery code.
    #[schemars(length(min = 6, max = 40), regex = "SECOND_FACTOR_PATTERN")]
    pub code: Option<String>,
}

/// Six digits, or a recovery code's 16 letters and digits 2 to 7, with
/// any spaces and hyphens between them.
const SECOND_FACTOR_PATTERN: &str = "^(?:[ -]*[0-9]){6}[ -]*$|^(?:[ -]*[A-Za-z2-7]){16}[ -]*$";

/// The second step of signing in to an account with two-factor sign-in.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginMfaRequest {
    /// `details.challenge` of the password step's `401 AUTH_MFA_REQUIRED`.
    #[schemars(length(min = 43, max = 43), regex(pattern = "^[A-Za-z0-9_-]{43}$"))]
    pub challenge: String,
    /// The six-digit code the authenticator app shows, or an unused
    /// recovery code (any case; hyphens and spaces are ignored).
    #[schemars(length(min = 6, max = 40), regex = "SECOND_FACTOR_PATTERN")]
    pub code: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TotpEnrolRequest {
    /// The account's password, asked again for a change to how it signs in.
    #[schemars(length(max = 128), regex = "crate::text::STORABLE_PATTERN")]
    pub password: String,
}

/// A new TOTP secret, for an authenticator app: scan the QR code or type
/// the secret, then confirm with a code.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TotpEnrolment {
    /// Base32 (RFC 4648), without padding.
    pub secret: String,
    /// `otpauth://totp/...`: SHA-1, six digits, 30-second steps.
    pub otpauth_uri: String,
    /// The URI as a QR code, an SVG image.
    pub qr_code_svg: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TotpConfirmRequest {
    /// The code the authenticator app shows now.
    #[schemars(length(min = 6, max = 6), regex(pattern = "^[0-9]{6}$"))]
    pub code: String,
}

/// Codes that each stand in for an authenticator code once. Shown only
/// now: only their digests are kept.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TotpDisableRequest {
    #[schemars(length(max = 128), regex = "crate::text::STORABLE_PATTERN")]
    pub password: String,
    /// A code from the authenticator app, or an unused recovery code.
    #[schemars(length(min = 6, max = 40), regex = "SECOND_FACTOR_PATTERN")]
    pub code: String,
}
