//! The application's error type and its one mapping to the wire error.
//!
//! `app/` code returns [`Error`] and knows nothing of HTTP; handlers turn it
//! into an [`ApiError`] with [`Error::into_api_error`]. Internal detail is
//! logged under the request id and never reaches the response body.

use std::time::Duration;

use dropshot::ErrorStatusCode;

use crate::api::ApiError;
use crate::app::auth::password::Rejection;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field of the request is malformed.
    #[error("invalid {field}")]
    Invalid { field: &'static str, message: String },
    #[error("password rejected")]
    PasswordRejected(Rejection),
    #[error("email taken")]
    EmailTaken,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("authentication required")]
    AuthRequired,
    /// A request authenticated by a session without that session's token.
    #[error("CSRF token invalid")]
    CsrfTokenInvalid,
    #[error("rate limited")]
    RateLimited { retry_after: Duration },
    #[error("account locked")]
    AccountLocked { retry_after: Duration },
    #[error("reset token invalid")]
    ResetTokenInvalid,
    /// Missing, or in a tenant the caller cannot see: the two are answered
    /// alike, so the answer reveals nothing.
    #[error("not found")]
    NotFound,
    /// The caller can see the object but may not do this to it.
    #[error("forbidden")]
    Forbidden,
    /// A tenant-scoped request from a session that has not switched to a tenant.
    #[error("no active tenant")]
    NoActiveTenant,
    #[error("invite invalid")]
    InviteInvalid,
    /// The change would leave the tenant without an owner.
    #[error("owner required")]
    OwnerRequired,
    #[error("already a member")]
    AlreadyMember,
    /// Dependencies this instance needs did not answer.
    #[error("unavailable: {}", .dependencies.join(", "))]
    Unavailable { dependencies: Vec<&'static str> },
    /// A bug or an unexpected fault; the caller learns nothing more.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for Error {
    fn from(error: diesel::result::Error) -> Error {
        Error::Internal(error.into())
    }
}

impl From<crate::policy::Denied> for Error {
    fn from(_: crate::policy::Denied) -> Error {
        Error::Forbidden
    }
}

impl Error {
    pub fn into_api_error(self, request_id: &str) -> ApiError {
        let client_error = |status, code, message: &str| ApiError::new(status, code, message, request_id);
        match self {
            Error::Invalid { field, message } => {
                client_error(ErrorStatusCode::BAD_REQUEST, "VALIDATION_FAILED", &message).with_detail("field", field)
            }
            Error::PasswordRejected(rejection) => {
                client_error(ErrorStatusCode::BAD_REQUEST, "AUTH_PASSWORD_REJECTED", &rejection.message())
                    .with_detail("reason", rejection.reason())
            }
            Error::EmailTaken => client_error(
                ErrorStatusCode::CONFLICT,
                "AUTH_EMAIL_TAKEN",
                "An account with this email already exists.",
            ),
            Error::InvalidCredentials => {
                client_error(ErrorStatusCode::UNAUTHORIZED, "AUTH_INVALID_CREDENTIALS", "Wrong email or password.")
            }
            Error::AuthRequired => client_error(ErrorStatusCode::UNAUTHORIZED, "AUTH_REQUIRED", "Sign in first."),
            Error::CsrfTokenInvalid => client_error(
                ErrorStatusCode::FORBIDDEN,
                "CSRF_TOKEN_INVALID",
                "Send the csrfToken of this session (from GET /v1/auth/me) in the x-csrf-token header.",
            ),
            Error::RateLimited { retry_after } => {
                client_error(ErrorStatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED", "Too many attempts; try again later.")
                    .with_retry_after(retry_after)
            }
            Error::AccountLocked { retry_after } => client_error(
                ErrorStatusCode::TOO_MANY_REQUESTS,
                "AUTH_ACCOUNT_LOCKED",
                "Too many failed sign-ins: this account is locked for a while.",
            )
            .with_retry_after(retry_after),
            Error::ResetTokenInvalid => client_error(
                ErrorStatusCode::BAD_REQUEST,
                "AUTH_RESET_TOKEN_INVALID",
                "This reset link is invalid, used or expired; ask for a new one.",
            ),
            Error::NotFound => client_error(ErrorStatusCode::NOT_FOUND, "NOT_FOUND", "Not found."),
            Error::Forbidden => {
                client_error(ErrorStatusCode::FORBIDDEN, "FORBIDDEN", "Your role in this tenant does not allow this.")
            }
            Error::NoActiveTenant => client_error(
                ErrorStatusCode::BAD_REQUEST,
                "TENANT_NOT_SELECTED",
                "Choose a tenant first: POST /v1/tenants/{tenantId}/switch.",
            ),
            Error::InviteInvalid => client_error(
                ErrorStatusCode::BAD_REQUEST,
                "INVITE_INVALID",
                "This invite is invalid, used, expired, revoked or for another email address.",
            ),
            Error::OwnerRequired => client_error(
                ErrorStatusCode::CONFLICT,
                "TENANT_OWNER_REQUIRED",
                "A tenant always keeps an owner: make someone else owner first.",
            ),
            Error::AlreadyMember => {
                client_error(ErrorStatusCode::CONFLICT, "MEMBER_EXISTS", "This person is already a member.")
            }
            Error::Unavailable { dependencies } => ApiError::new(
                ErrorStatusCode::SERVICE_UNAVAILABLE,
                "SERVICE_UNAVAILABLE",
                format!("Unavailable: {} did not respond.", dependencies.join(", ")),
                request_id,
            )
            .with_detail("dependencies", dependencies),
            Error::Internal(error) => {
                tracing::error!(request_id, error = format!("{error:#}"), "internal error");
                ApiError::new(
                    ErrorStatusCode::INTERNAL_SERVER_ERROR,
                    "INTERNAL_ERROR",
                    "Internal server error.",
                    request_id,
                )
            }
        }
    }
}
