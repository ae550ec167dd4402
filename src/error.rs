//! The one error type below the HTTP layer: a few generic kinds, each
//! carrying its stable code (`AUTH_EMAIL_TAKEN`, `INVITE_INVALID`) as data.
//!
//! Nothing here knows HTTP: `http::error` maps each kind to a status and the
//! wire body. A new domain error is a new code on an existing kind; a kind is
//! added only for an answer no existing kind means. Internal detail is
//! logged under the request id by that mapping and never reaches the
//! response body.

use std::borrow::Cow;
use std::time::Duration;

use serde_json::{Map, Value};

/// What went wrong, as the caller is told: a stable code, a message for
/// people, and structured details.
#[derive(Debug)]
pub struct Problem {
    pub code: &'static str,
    pub message: Cow<'static, str>,
    pub details: Map<String, Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed or asks for something impossible (400).
    #[error("invalid: {}", .0.code)]
    Invalid(Problem),
    /// The caller must (re-)authenticate (401).
    #[error("unauthenticated: {}", .0.code)]
    Unauthenticated(Problem),
    /// The caller can see the object but may not do this to it (403).
    #[error("forbidden: {}", .0.code)]
    Forbidden(Problem),
    /// Missing, or in a tenant the caller cannot see: the two are answered
    /// alike, so the answer reveals nothing (404).
    #[error("not found")]
    NotFound,
    /// The request conflicts with the current state (409).
    #[error("conflict: {}", .0.code)]
    Conflict(Problem),
    /// What the request names is no longer kept (410).
    #[error("gone: {}", .0.code)]
    Gone(Problem),
    /// The request's body is larger than allowed (413).
    #[error("too large: {}", .0.code)]
    TooLarge(Problem),
    /// The request's content is of a type this does not take (415).
    #[error("unsupported type: {}", .0.code)]
    UnsupportedType(Problem),
    /// The caller's copy is out of date: the object changed since the
    /// version the request names (412).
    #[error("precondition failed: {}", .0.code)]
    PreconditionFailed(Problem),
    /// Well-formed, but it contradicts an earlier request it claims to
    /// repeat (422).
    #[error("unprocessable: {}", .0.code)]
    Unprocessable(Problem),
    /// Over a rate limit or quota; retry after the given time (429).
    #[error("limited: {}", .problem.code)]
    Limited { problem: Problem, retry_after: Duration },
    /// Dependencies this instance needs did not answer (503).
    #[error("unavailable: {}", .dependencies.join(", "))]
    Unavailable { dependencies: Vec<&'static str> },
    /// A bug or an unexpected fault; the caller learns nothing more (500).
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Problem {
    pub fn new(code: &'static str, message: impl Into<Cow<'static, str>>) -> Problem {
        Problem { code, message: message.into(), details: Map::new() }
    }

    pub fn with_detail(mut self, key: &str, value: impl Into<Value>) -> Problem {
        self.details.insert(key.to_string(), value.into());
        self
    }
}

impl Error {
    /// A malformed field: `400 VALIDATION_FAILED` with `details.field`.
    pub fn invalid_field(field: &'static str, message: impl Into<Cow<'static, str>>) -> Error {
        Error::Invalid(Problem::new("VALIDATION_FAILED", message).with_detail("field", field))
    }

    pub fn auth_required() -> Error {
        Error::Unauthenticated(Problem::new("AUTH_REQUIRED", "Sign in first."))
    }

    /// The generic refusal of a caller who may see the object.
    pub fn forbidden() -> Error {
        Error::Forbidden(Problem::new("FORBIDDEN", "Your role or key scopes in this tenant do not allow this."))
    }

    pub fn rate_limited(retry_after: Duration) -> Error {
        Error::Limited { problem: Problem::new("RATE_LIMITED", "Too many requests; try again later."), retry_after }
    }

    pub fn database_unavailable() -> Error {
        Error::Unavailable { dependencies: vec!["database"] }
    }

    /// The stable code the caller will see.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Invalid(problem)
            | Error::Unauthenticated(problem)
            | Error::Forbidden(problem)
            | Error::Conflict(problem)
            | Error::Gone(problem)
            | Error::TooLarge(problem)
            | Error::UnsupportedType(problem)
            | Error::PreconditionFailed(problem)
            | Error::Unprocessable(problem)
            | Error::Limited { problem, .. } => problem.code,
            Error::NotFound => "NOT_FOUND",
            Error::Unavailable { .. } => "SERVICE_UNAVAILABLE",
            Error::Internal(_) => "INTERNAL_ERROR",
        }
    }
}

impl From<diesel::result::Error> for Error {
    fn from(error: diesel::result::Error) -> Error {
        Error::Internal(error.into())
    }
}

impl From<crate::policy::Denied> for Error {
    fn from(_: crate::policy::Denied) -> Error {
        Error::forbidden()
    }
}
