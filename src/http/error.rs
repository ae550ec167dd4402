//! The one mapping from the application's [`Error`] to the wire error.

use dropshot::ErrorStatusCode;

use crate::api::ApiError;
use crate::error::{Error, Problem};

pub fn api_error(error: Error, request_id: &str) -> ApiError {
    let client_error = |status, problem: Problem| {
        let mut api_error = ApiError::new(status, problem.code, problem.message, request_id);
        api_error.details = problem.details;
        api_error
    };
    match error {
        Error::Invalid(problem) => client_error(ErrorStatusCode::BAD_REQUEST, problem),
        Error::Unauthenticated(problem) => client_error(ErrorStatusCode::UNAUTHORIZED, problem),
        Error::Forbidden(problem) => client_error(ErrorStatusCode::FORBIDDEN, problem),
        Error::NotFound => ApiError::new(ErrorStatusCode::NOT_FOUND, "NOT_FOUND", "Not found.", request_id),
        Error::Conflict(problem) => client_error(ErrorStatusCode::CONFLICT, problem),
        Error::Gone(problem) => client_error(ErrorStatusCode::GONE, problem),
        Error::TooLarge(problem) => client_error(ErrorStatusCode::PAYLOAD_TOO_LARGE, problem),
        Error::UnsupportedType(problem) => client_error(ErrorStatusCode::UNSUPPORTED_MEDIA_TYPE, problem),
        Error::PreconditionFailed(problem) => client_error(ErrorStatusCode::PRECONDITION_FAILED, problem),
        Error::Unprocessable(problem) => client_error(ErrorStatusCode::UNPROCESSABLE_ENTITY, problem),
        Error::Limited { problem, retry_after } => {
            client_error(ErrorStatusCode::TOO_MANY_REQUESTS, problem).with_retry_after(retry_after)
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
