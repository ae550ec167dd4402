//! The interface: the dropshot API trait and the wire types, one module per
//! area. The trait's signatures are the contract; `openapi.yaml` is generated
//! from them and the integration tests' client is generated from that.

pub mod auth;
pub mod contract;
pub mod error;
pub mod extract;
pub mod platform;
pub mod reply;

use dropshot::{
    HttpResponseAccepted, HttpResponseCreated, HttpResponseHeaders, HttpResponseOk, HttpResponseUpdatedNoContent,
    RequestContext,
};

pub use error::ApiError;
use extract::JsonBody;
pub use reply::Reply;

/// Every endpoint has exactly one tag, one per area; it groups operations in
/// the documentation and generated SDKs.
#[dropshot::api_description {
    tag_config = {
        allow_other_tags = false,
        policy = dropshot::EndpointTagPolicy::ExactlyOne,
        tags = {
            auth = { description = "Accounts and browser sessions: sign-up, sign-in, password reset." },
            platform = { description = "Health checks for load balancers and orchestrators." },
        }
    }
}]
pub trait IncidentTrackerApi {
    type Context;

    /// Readiness: whether this instance can serve requests.
    ///
    /// Answers 200 when the database and the session store both respond, and
    /// 503 naming the failing dependencies when one does not. Load balancers
    /// should route on this.
    #[endpoint { method = GET, path = "/health", tags = ["platform"], operation_id = "health_view" }]
    async fn health_view(rqctx: RequestContext<Self::Context>) -> Result<HttpResponseOk<platform::Health>, ApiError>;

    /// Liveness: whether the process is running.
    ///
    /// Checks nothing beyond the process itself, so an orchestrator does not
    /// restart instances because a shared dependency is down.
    #[endpoint { method = GET, path = "/health/live", tags = ["platform"], operation_id = "health_live_view" }]
    async fn health_live_view(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<HttpResponseOk<platform::Liveness>, ApiError>;

    /// The caller's session and its CSRF token.
    ///
    /// Without a session cookie this starts an anonymous session and sets
    /// the cookie: call it first to get the `csrfToken` that every mutating
    /// request must send as `x-csrf-token`.
    #[endpoint { method = GET, path = "/v1/auth/me", tags = ["auth"], operation_id = "me_view" }]
    async fn me_view(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<HttpResponseHeaders<HttpResponseOk<auth::Me>>, ApiError>;

    /// Create an account and sign in.
    ///
    /// Starts a new session (new cookie, new CSRF token). `409
    /// AUTH_EMAIL_TAKEN` when the email has an account; `400
    /// AUTH_PASSWORD_REJECTED` with `details.reason` for a password the
    /// policy refuses.
    #[endpoint { method = POST, path = "/v1/auth/signup", tags = ["auth"], operation_id = "auth_signup" }]
    async fn auth_signup(
        rqctx: RequestContext<Self::Context>,
        body: JsonBody<auth::SignupRequest>,
    ) -> Result<HttpResponseHeaders<HttpResponseCreated<auth::Me>>, ApiError>;

    /// Sign in with email and password.
    ///
    /// Starts a new session (new cookie, new CSRF token). A wrong email and
    /// a wrong password both give `401 AUTH_INVALID_CREDENTIALS`. Five
    /// attempts per 15 minutes per client address and email, then `429
    /// RATE_LIMITED`; ten consecutive failures lock the account for 15
    /// minutes, `429 AUTH_ACCOUNT_LOCKED`. Both 429s carry `Retry-After`. A
    /// password over 128 characters, which no account can have, is `400
    /// AUTH_PASSWORD_REJECTED` and counts as no attempt.
    #[endpoint { method = POST, path = "/v1/auth/login", tags = ["auth"], operation_id = "auth_login" }]
    async fn auth_login(
        rqctx: RequestContext<Self::Context>,
        body: JsonBody<auth::LoginRequest>,
    ) -> Result<Reply<HttpResponseOk<auth::Me>>, ApiError>;

    /// Sign out: the session ends on the server and the cookie is cleared.
    #[endpoint { method = POST, path = "/v1/auth/logout", tags = ["auth"], operation_id = "auth_logout" }]
    async fn auth_logout(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<HttpResponseHeaders<HttpResponseUpdatedNoContent>, ApiError>;

    /// Ask for a password reset link by mail.
    ///
    /// Always `202`, whether or not an account uses the email, so the
    /// answer reveals nothing.
    #[endpoint { method = POST, path = "/v1/auth/password/forgot", tags = ["auth"], operation_id = "password_forgot" }]
    async fn password_forgot(
        rqctx: RequestContext<Self::Context>,
        body: JsonBody<auth::PasswordForgotRequest>,
    ) -> Result<HttpResponseAccepted<auth::PasswordResetRequested>, ApiError>;

    /// Set a new password with the token from a reset link.
    ///
    /// Ends every session of the account, and starts a new anonymous one for
    /// the caller; sign in again with the new password. `400
    /// AUTH_RESET_TOKEN_INVALID` for a bad, used or expired token.
    #[endpoint { method = POST, path = "/v1/auth/password/reset", tags = ["auth"], operation_id = "password_reset" }]
    async fn password_reset(
        rqctx: RequestContext<Self::Context>,
        body: JsonBody<auth::PasswordResetRequest>,
    ) -> Result<HttpResponseHeaders<HttpResponseUpdatedNoContent>, ApiError>;
}

/// How an operation authenticates its caller, as documented in the contract's
/// `security` requirements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Authentication {
    /// Anyone may call it.
    Public,
    /// A browser session if there is one; an anonymous one is started
    /// when there is not.
    AnySession,
    /// A browser session and its CSRF token in `x-csrf-token`.
    SessionWithCsrf,
}

/// Every operation's authentication, by operation id. Adding an endpoint
/// without an entry here makes contract generation fail, so no operation is
/// published with undocumented security.
pub fn authentication(operation_id: &str) -> Option<Authentication> {
    match operation_id {
        "health_view" | "health_live_view" => Some(Authentication::Public),
        "me_view" => Some(Authentication::AnySession),
        "auth_signup" | "auth_login" | "auth_logout" | "password_forgot" | "password_reset" => {
            Some(Authentication::SessionWithCsrf)
        }
        _ => None,
    }
}
