//! The application's error type and its one mapping to the wire error.
//!
//! `app/` code returns [`Error`] and knows nothing of HTTP; handlers turn it
//! into an [`ApiError`] with [`Error::into_api_error`]. Internal detail is
//! logged under the request id and never reaches the response body.

use dropshot::ErrorStatusCode;

use crate::api::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
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

impl Error {
    pub fn into_api_error(self, request_id: &str) -> ApiError {
        match self {
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
