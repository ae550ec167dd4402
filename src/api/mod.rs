//! The interface: the dropshot API trait and the wire types, one module per
//! area. The trait's signatures are the contract; `openapi.yaml` is generated
//! from them and the integration tests' client is generated from that.

pub mod api_keys;
pub mod attachments;
pub mod audit;
pub mod auth;
pub mod compatibility;
pub mod contract;
pub mod error;
pub mod events;
pub mod extract;
mod fields;
pub mod incidents;
pub mod platform;
pub mod reply;
pub mod tenants;
pub mod usage;
pub mod webhooks;

use dropshot::{
    EmptyScanParams, HttpResponseAccepted, HttpResponseCreated, HttpResponseDeleted, HttpResponseOk,
    HttpResponseUpdatedNoContent, PaginationParams, RequestContext, ResultsPage,
};

use crate::policy::Scope;
pub use error::ApiError;
use extract::{HeaderParams, JsonBody, PathParams, QueryParams};
pub use reply::Reply;

/// Every endpoint has exactly one tag, one per area; it groups operations in
/// the documentation and generated SDKs.
#[dropshot::api_description {
    tag_config = {
        allow_other_tags = false,
        policy = dropshot::EndpointTagPolicy::ExactlyOne,
        tags = {
            api_keys = { description = "Service accounts and their API keys, for automation." },
            attachments = { description = "Files attached to incidents: upload and download through signed single-use URLs, virus-scanned." },
            audit = { description = "The tenant's append-only, hash-chained audit log." },
            events = { description = "The change feed: every change to incidents, in commit order." },
            auth = { description = "Accounts and browser sessions: sign-up, sign-in, password reset." },
            incidents = { description = "Incidents, their timeline, tasks and status updates, and metrics over them." },
            platform = { description = "Health checks for load balancers and orchestrators." },
            tenants = { description = "Tenants, their members and invites." },
            usage = { description = "The tenant's metered reads and writes, and its daily write quota." },
            webhooks = { description = "Signed deliveries of the change feed's events to your endpoints." },
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
    async fn health_view(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<platform::Health>>, ApiError>;

    /// Liveness: whether the process is running.
    ///
    /// Checks nothing beyond the process itself, so an orchestrator does not
    /// restart instances because a shared dependency is down.
    #[endpoint { method = GET, path = "/health/live", tags = ["platform"], operation_id = "health_live_view" }]
    async fn health_live_view(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<platform::Liveness>>, ApiError>;

    /// The contract, OpenAPI 3.1, as YAML: the document this API is built
    /// and checked against.
    #[endpoint {
        method = GET, path = "/openapi.yaml", tags = ["platform"], operation_id = "contract_yaml_view",
        unpublished = true
    }]
    async fn contract_yaml_view(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<dropshot::FreeformBody>>, ApiError>;

    /// The contract, OpenAPI 3.1, as JSON.
    #[endpoint {
        method = GET, path = "/openapi.json", tags = ["platform"], operation_id = "contract_json_view",
        unpublished = true
    }]
    async fn contract_json_view(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<dropshot::FreeformBody>>, ApiError>;

    /// The API reference, a page rendered from the contract in the browser.
    #[endpoint {
        method = GET, path = "/docs", tags = ["platform"], operation_id = "docs_view", unpublished = true
    }]
    async fn docs_view(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<dropshot::FreeformBody>>, ApiError>;

    /// The reference page's script, served from the binary.
    #[endpoint {
        method = GET, path = "/docs/redoc.standalone.js", tags = ["platform"], operation_id = "docs_script_view",
        unpublished = true
    }]
    async fn docs_script_view(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<dropshot::FreeformBody>>, ApiError>;

    /// The caller's session and its CSRF token.
    ///
    /// Without a session cookie this starts an anonymous session and sets
    /// the cookie: call it first to get the `csrfToken` that every mutating
    /// request must send as `x-csrf-token`.
    #[endpoint { method = GET, path = "/v1/auth/me", tags = ["auth"], operation_id = "me_view" }]
    async fn me_view(rqctx: RequestContext<Self::Context>) -> Result<Reply<HttpResponseOk<auth::Me>>, ApiError>;

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
    ) -> Result<Reply<HttpResponseCreated<auth::Me>>, ApiError>;

    /// Sign in with email and password.
    ///
    /// Starts a new session (new cookie, new CSRF token). A wrong email and
    /// a wrong password both give `401 AUTH_INVALID_CREDENTIALS`. Five
    /// attempts per 15 minutes per client address and email, then `429
    /// RATE_LIMITED`; ten consecutive failures lock the account for 15
    /// minutes, `429 AUTH_ACCOUNT_LOCKED` (until a password reset). Both
    /// 429s carry `Retry-After`. A password over 512 characters, which no
    /// account can have even before NFKC normalization, is `400
    /// AUTH_PASSWORD_REJECTED` and counts as no attempt.
    ///
    /// For an account with two-factor sign-in, the right password is `401
    /// AUTH_MFA_REQUIRED`, with `details.challenge` to send with a code to
    /// `auth_login_mfa` and `details.expiresInSeconds`. The attempt counts
    /// toward the lockout until a code completes it.
    #[endpoint { method = POST, path = "/v1/auth/login", tags = ["auth"], operation_id = "auth_login" }]
    async fn auth_login(
        rqctx: RequestContext<Self::Context>,
        body: JsonBody<auth::LoginRequest>,
    ) -> Result<Reply<HttpResponseOk<auth::Me>>, ApiError>;

    /// Sign in, second step: a code for an account with two-factor sign-in.
    ///
    /// Answers the challenge of the password step's `401 AUTH_MFA_REQUIRED`
    /// (valid for 5 minutes) with a code from the authenticator app, or with
    /// a recovery code, each accepted once. Starts a new session, like
    /// `auth_login`. A wrong code is `401 AUTH_MFA_CODE_INVALID` and counts
    /// toward the account's lockout. An expired, answered or unknown
    /// challenge, one that took 3 wrong codes, or one from before a password
    /// change, is `401 AUTH_MFA_CHALLENGE_INVALID`: sign in with the
    /// password again.
    #[endpoint { method = POST, path = "/v1/auth/login/mfa", tags = ["auth"], operation_id = "auth_login_mfa" }]
    async fn auth_login_mfa(
        rqctx: RequestContext<Self::Context>,
        body: JsonBody<auth::LoginMfaRequest>,
    ) -> Result<Reply<HttpResponseOk<auth::Me>>, ApiError>;

    /// Start enrolling an authenticator app for two-factor sign-in.
    ///
    /// Takes the password again (`403 AUTH_REAUTHENTICATION_FAILED` when
    /// wrong; it counts toward the lockout). Answers a new secret, which
    /// asks nothing at sign-in until `totp_confirm` proves the app has it;
    /// enrolling again replaces an unconfirmed secret. `409
    /// AUTH_MFA_ALREADY_ENABLED` once confirmed.
    #[endpoint { method = POST, path = "/v1/auth/totp", tags = ["auth"], operation_id = "totp_enrol" }]
    async fn totp_enrol(
        rqctx: RequestContext<Self::Context>,
        body: JsonBody<auth::TotpEnrolRequest>,
    ) -> Result<Reply<HttpResponseCreated<auth::TotpEnrolment>>, ApiError>;

    /// Confirm the enrolment with a code: two-factor sign-in is on.
    ///
    /// Answers 10 recovery codes, shown this once. Every other session of
    /// the account ends; this one goes on under a new cookie and CSRF token
    /// (call `me_view` for it). `400
    /// AUTH_MFA_CODE_INVALID` for a wrong code, which counts toward the
    /// lockout; `409 AUTH_MFA_NOT_ENROLLING` without an enrolment to
    /// confirm, or one started over 10 minutes ago.
    #[endpoint { method = POST, path = "/v1/auth/totp/confirm", tags = ["auth"], operation_id = "totp_confirm" }]
    async fn totp_confirm(
        rqctx: RequestContext<Self::Context>,
        body: JsonBody<auth::TotpConfirmRequest>,
    ) -> Result<Reply<HttpResponseOk<auth::RecoveryCodes>>, ApiError>;

    /// Turn two-factor sign-in off.
    ///
    /// Takes the password and a code (or a recovery code); either wrong is
    /// `403 AUTH_REAUTHENTICATION_FAILED` and counts toward the lockout.
    /// The secret and the recovery codes are deleted. `409
    /// AUTH_MFA_NOT_ENABLED` when it is off.
    #[endpoint { method = POST, path = "/v1/auth/totp/disable", tags = ["auth"], operation_id = "totp_disable" }]
    async fn totp_disable(
        rqctx: RequestContext<Self::Context>,
        body: JsonBody<auth::TotpDisableRequest>,
    ) -> Result<Reply<HttpResponseUpdatedNoContent>, ApiError>;

    /// Delete the signed-in account.
    ///
    /// Takes the password again, and with two-factor sign-in on a code too
    /// (`400 VALIDATION_FAILED` without one): a wrong one is `403
    /// AUTH_REAUTHENTICATION_FAILED` and counts toward the lockout. The
    /// account leaves every tenant, which is `409 TENANT_OWNER_REQUIRED`
    /// (with `details.tenantId`) while it is a tenant's last owner; every
    /// session ends and the cookie is cleared. Its email, name and client
    /// addresses are erased where they are its own (not in audit events
    /// recorded before 0.3.2, which hash them), so it can never sign in
    /// again, and the email is free for a new account. Records in tenants
    /// keep its id, which no longer leads to a person. Writes
    /// `account.deleted`.
    #[endpoint { method = POST, path = "/v1/auth/account/delete", tags = ["auth"], operation_id = "account_delete" }]
    async fn account_delete(
        rqctx: RequestContext<Self::Context>,
        body: JsonBody<auth::AccountDeleteRequest>,
    ) -> Result<Reply<HttpResponseUpdatedNoContent>, ApiError>;

    /// Sign out: the session ends on the server and the cookie is cleared.
    #[endpoint { method = POST, path = "/v1/auth/logout", tags = ["auth"], operation_id = "auth_logout" }]
    async fn auth_logout(rqctx: RequestContext<Self::Context>)
    -> Result<Reply<HttpResponseUpdatedNoContent>, ApiError>;

    /// Ask for a password reset link by mail.
    ///
    /// Always `202`, whether or not an account uses the email, so the
    /// answer reveals nothing.
    #[endpoint { method = POST, path = "/v1/auth/password/forgot", tags = ["auth"], operation_id = "password_forgot" }]
    async fn password_forgot(
        rqctx: RequestContext<Self::Context>,
        body: JsonBody<auth::PasswordForgotRequest>,
    ) -> Result<Reply<HttpResponseAccepted<auth::PasswordResetRequested>>, ApiError>;

    /// Set a new password with the token from a reset link.
    ///
    /// Ends every session of the account, and starts a new anonymous one for
    /// the caller; sign in again with the new password. `400
    /// AUTH_RESET_TOKEN_INVALID` for a bad, used or expired token.
    #[endpoint { method = POST, path = "/v1/auth/password/reset", tags = ["auth"], operation_id = "password_reset" }]
    async fn password_reset(
        rqctx: RequestContext<Self::Context>,
        body: JsonBody<auth::PasswordResetRequest>,
    ) -> Result<Reply<HttpResponseUpdatedNoContent>, ApiError>;

    /// The tenants the caller belongs to, with the caller's role in each,
    /// oldest first; at most 100 per page.
    #[endpoint { method = GET, path = "/v1/tenants", tags = ["tenants"], operation_id = "tenant_list" }]
    async fn tenant_list(
        rqctx: RequestContext<Self::Context>,
        query: QueryParams<PaginationParams<EmptyScanParams, tenants::AfterId>>,
    ) -> Result<Reply<HttpResponseOk<ResultsPage<tenants::Tenant>>>, ApiError>;

    /// Create a tenant; the caller becomes its owner.
    #[endpoint { method = POST, path = "/v1/tenants", tags = ["tenants"], operation_id = "tenant_create" }]
    async fn tenant_create(
        rqctx: RequestContext<Self::Context>,
        body: JsonBody<tenants::TenantCreateRequest>,
    ) -> Result<Reply<HttpResponseCreated<tenants::Tenant>>, ApiError>;

    /// Make this tenant the session's active tenant: the one every
    /// tenant-scoped endpoint without a tenant in its path (incidents, the
    /// audit log) acts on. `404` unless the caller is a member.
    #[endpoint {
        method = POST, path = "/v1/tenants/{tenantId}/switch", tags = ["tenants"], operation_id = "tenant_switch"
    }]
    async fn tenant_switch(
        rqctx: RequestContext<Self::Context>,
        path: PathParams<tenants::TenantPath>,
    ) -> Result<Reply<HttpResponseOk<auth::Me>>, ApiError>;

    /// The tenant's members; at most 100 per page.
    #[endpoint {
        method = GET, path = "/v1/tenants/{tenantId}/members", tags = ["tenants"], operation_id = "member_list"
    }]
    async fn member_list(
        rqctx: RequestContext<Self::Context>,
        path: PathParams<tenants::TenantPath>,
        query: QueryParams<PaginationParams<EmptyScanParams, tenants::AfterId>>,
    ) -> Result<Reply<HttpResponseOk<ResultsPage<tenants::Member>>>, ApiError>;

    /// Change a member's role (`members.manage`).
    ///
    /// Only an owner makes, changes or removes owners, and a tenant always
    /// keeps one: demoting the last is `409 TENANT_OWNER_REQUIRED`. The new
    /// role counts from the member's next request.
    #[endpoint {
        method = PATCH, path = "/v1/tenants/{tenantId}/members/{userId}", tags = ["tenants"],
        operation_id = "member_update"
    }]
    async fn member_update(
        rqctx: RequestContext<Self::Context>,
        path: PathParams<tenants::MemberPath>,
        body: JsonBody<tenants::MemberUpdateRequest>,
    ) -> Result<Reply<HttpResponseOk<tenants::Member>>, ApiError>;

    /// Remove a member (`members.manage`), or leave, with one's own user id.
    ///
    /// The last owner cannot go: `409 TENANT_OWNER_REQUIRED`.
    #[endpoint {
        method = DELETE, path = "/v1/tenants/{tenantId}/members/{userId}", tags = ["tenants"],
        operation_id = "member_remove"
    }]
    async fn member_remove(
        rqctx: RequestContext<Self::Context>,
        path: PathParams<tenants::MemberPath>,
    ) -> Result<Reply<HttpResponseDeleted>, ApiError>;

    /// Invite someone by email (`members.invite`), at most to the inviter's
    /// own role.
    ///
    /// The link goes only by mail and works for 7 days, once, for an account
    /// with that email. A pending invite of the same email is replaced.
    /// `409 MEMBER_EXISTS` if they are already a member.
    #[endpoint {
        method = POST, path = "/v1/tenants/{tenantId}/invites", tags = ["tenants"], operation_id = "invite_create"
    }]
    async fn invite_create(
        rqctx: RequestContext<Self::Context>,
        path: PathParams<tenants::TenantPath>,
        body: JsonBody<tenants::InviteCreateRequest>,
    ) -> Result<Reply<HttpResponseCreated<tenants::Invite>>, ApiError>;

    /// The tenant's pending invites, oldest first; at most 100 per page.
    #[endpoint {
        method = GET, path = "/v1/tenants/{tenantId}/invites", tags = ["tenants"], operation_id = "invite_list"
    }]
    async fn invite_list(
        rqctx: RequestContext<Self::Context>,
        path: PathParams<tenants::TenantPath>,
        query: QueryParams<PaginationParams<EmptyScanParams, tenants::AfterId>>,
    ) -> Result<Reply<HttpResponseOk<ResultsPage<tenants::Invite>>>, ApiError>;

    /// Revoke a pending invite (`members.invite`): its link stops working.
    #[endpoint {
        method = POST, path = "/v1/tenants/{tenantId}/invites/{inviteId}/revoke", tags = ["tenants"],
        operation_id = "invite_revoke"
    }]
    async fn invite_revoke(
        rqctx: RequestContext<Self::Context>,
        path: PathParams<tenants::InvitePath>,
    ) -> Result<Reply<HttpResponseUpdatedNoContent>, ApiError>;

    /// Accept an invite with the token from its mail, as the signed-in user
    /// it was sent to.
    ///
    /// `400 INVITE_INVALID` for a bad, used, expired or revoked token, or
    /// one sent to another email address.
    #[endpoint { method = POST, path = "/v1/invites/accept", tags = ["tenants"], operation_id = "invite_accept" }]
    async fn invite_accept(
        rqctx: RequestContext<Self::Context>,
        body: JsonBody<tenants::InviteAcceptRequest>,
    ) -> Result<Reply<HttpResponseOk<tenants::InviteAccepted>>, ApiError>;

    /// The tenant's service accounts (`api_keys.manage`), oldest first; at
    /// most 100 per page.
    #[endpoint {
        method = GET, path = "/v1/tenants/{tenantId}/service-accounts", tags = ["api_keys"],
        operation_id = "service_account_list"
    }]
    async fn service_account_list(
        rqctx: RequestContext<Self::Context>,
        path: PathParams<tenants::TenantPath>,
        query: QueryParams<PaginationParams<EmptyScanParams, tenants::AfterId>>,
    ) -> Result<Reply<HttpResponseOk<ResultsPage<api_keys::ServiceAccount>>>, ApiError>;

    /// Create a service account (`api_keys.manage`): an identity for
    /// automation in this tenant, which acts through its API keys.
    #[endpoint {
        method = POST, path = "/v1/tenants/{tenantId}/service-accounts", tags = ["api_keys"],
        operation_id = "service_account_create"
    }]
    async fn service_account_create(
        rqctx: RequestContext<Self::Context>,
        path: PathParams<tenants::TenantPath>,
        body: JsonBody<api_keys::ServiceAccountCreateRequest>,
    ) -> Result<Reply<HttpResponseCreated<api_keys::ServiceAccount>>, ApiError>;

    /// The tenant's API keys (`api_keys.manage`), revoked and expired ones
    /// included, oldest first; at most 100 per page. Never their secrets.
    #[endpoint {
        method = GET, path = "/v1/tenants/{tenantId}/api-keys", tags = ["api_keys"], operation_id = "api_key_list"
    }]
    async fn api_key_list(
        rqctx: RequestContext<Self::Context>,
        path: PathParams<tenants::TenantPath>,
        query: QueryParams<PaginationParams<EmptyScanParams, tenants::AfterId>>,
    ) -> Result<Reply<HttpResponseOk<ResultsPage<api_keys::ApiKey>>>, ApiError>;

    /// Create an API key for a service account (`api_keys.manage`).
    ///
    /// The answer holds the key's `secret`, which is shown this once: send
    /// it as `x-api-key`. `scopes` is `["read"]` or `["read", "write"]`;
    /// `expiresAt`, if given, lies at most a year ahead.
    #[endpoint {
        method = POST, path = "/v1/tenants/{tenantId}/api-keys", tags = ["api_keys"], operation_id = "api_key_create"
    }]
    async fn api_key_create(
        rqctx: RequestContext<Self::Context>,
        path: PathParams<tenants::TenantPath>,
        body: JsonBody<api_keys::ApiKeyCreateRequest>,
    ) -> Result<Reply<HttpResponseCreated<api_keys::ApiKeyCreated>>, ApiError>;

    /// Revoke an API key (`api_keys.manage`): refused from the next request
    /// on. Revoking a revoked key changes nothing.
    #[endpoint {
        method = POST, path = "/v1/tenants/{tenantId}/api-keys/{apiKeyId}/revoke", tags = ["api_keys"],
        operation_id = "api_key_revoke"
    }]
    async fn api_key_revoke(
        rqctx: RequestContext<Self::Context>,
        path: PathParams<api_keys::ApiKeyPath>,
    ) -> Result<Reply<HttpResponseUpdatedNoContent>, ApiError>;

    /// The active tenant's incidents (`incidents.read`); at most 100 per
    /// page.
    ///
    /// Newest first by default; `sort=updated` lists by `updatedAt`, oldest
    /// change first, for clients that sync (with `updatedAfter`). Filters
    /// combine; `status` takes several, comma-separated.
    #[endpoint { method = GET, path = "/v1/incidents", tags = ["incidents"], operation_id = "incident_list" }]
    async fn incident_list(
        rqctx: RequestContext<Self::Context>,
        query: QueryParams<PaginationParams<incidents::IncidentFilter, incidents::IncidentPage>>,
    ) -> Result<Reply<HttpResponseOk<ResultsPage<incidents::Incident>>>, ApiError>;

    /// Declare an incident (`incidents.write`) in the active tenant. It
    /// starts in `triage` with the tenant's next number.
    ///
    /// Safe to retry with an `Idempotency-Key`. `400 VALIDATION_FAILED` with
    /// `details.field` for invalid input, including a `commanderId` that is
    /// not a member.
    #[endpoint { method = POST, path = "/v1/incidents", tags = ["incidents"], operation_id = "incident_create" }]
    async fn incident_create(
        rqctx: RequestContext<Self::Context>,
        headers: HeaderParams<incidents::IdempotencyKeyHeader>,
        body: JsonBody<incidents::IncidentCreateRequest>,
    ) -> Result<Reply<HttpResponseCreated<incidents::Incident>, incidents::CreatedHeaders>, ApiError>;

    /// One incident (`incidents.read`), with its `ETag`.
    #[endpoint {
        method = GET, path = "/v1/incidents/{incidentId}", tags = ["incidents"], operation_id = "incident_view"
    }]
    async fn incident_view(
        rqctx: RequestContext<Self::Context>,
        path: PathParams<incidents::IncidentPath>,
    ) -> Result<Reply<HttpResponseOk<incidents::Incident>, incidents::ETagHeader>, ApiError>;

    /// Change an incident (`incidents.write`): its fields, and its status by
    /// a move under the status machine.
    ///
    /// `409 INCIDENT_TRANSITION_INVALID` with `details.allowedTransitions`
    /// for a move the machine does not allow; `412 PRECONDITION_FAILED` when
    /// `If-Match` names another version. Each change is written to the
    /// timeline.
    #[endpoint {
        method = PATCH, path = "/v1/incidents/{incidentId}", tags = ["incidents"], operation_id = "incident_update"
    }]
    async fn incident_update(
        rqctx: RequestContext<Self::Context>,
        path: PathParams<incidents::IncidentPath>,
        headers: HeaderParams<incidents::IfMatchHeader>,
        body: JsonBody<incidents::IncidentUpdateRequest>,
    ) -> Result<Reply<HttpResponseOk<incidents::Incident>, incidents::ETagHeader>, ApiError>;

    /// The incident's timeline (`incidents.read`) by `occurredAt`, oldest
    /// first; at most 100 per page.
    #[endpoint {
        method = GET, path = "/v1/incidents/{incidentId}/timeline-events", tags = ["incidents"],
        operation_id = "timeline_event_list"
    }]
    async fn timeline_event_list(
        rqctx: RequestContext<Self::Context>,
        path: PathParams<incidents::IncidentPath>,
        query: QueryParams<PaginationParams<EmptyScanParams, incidents::TimelineEventPage>>,
    ) -> Result<Reply<HttpResponseOk<ResultsPage<incidents::TimelineEvent>>>, ApiError>;

    /// Add a note to the incident's timeline (`incidents.write`).
    ///
    /// Only `kind: note`: every other kind is written by the change it
    /// records. Safe to retry with an `Idempotency-Key`.
    #[endpoint {
        method = POST, path = "/v1/incidents/{incidentId}/timeline-events", tags = ["incidents"],
        operation_id = "timeline_event_create"
    }]
    async fn timeline_event_create(
        rqctx: RequestContext<Self::Context>,
        path: PathParams<incidents::IncidentPath>,
        headers: HeaderParams<incidents::IdempotencyKeyHeader>,
        body: JsonBody<incidents::TimelineEventCreateRequest>,
    ) -> Result<Reply<HttpResponseCreated<incidents::TimelineEvent>, incidents::CreatedHeaders>, ApiError>;

    /// The incident's tasks (`incidents.read`), oldest first; at most 100
    /// per page.
    #[endpoint {
        method = GET, path = "/v1/incidents/{incidentId}/tasks", tags = ["incidents"], operation_id = "task_list"
    }]
    async fn task_list(
        rqctx: RequestContext<Self::Context>,
        path: PathParams<incidents::IncidentPath>,
        query: QueryParams<PaginationParams<EmptyScanParams, tenants::AfterId>>,
    ) -> Result<Reply<HttpResponseOk<ResultsPage<incidents::Task>>>, ApiError>;

    /// Add a task to the incident (`incidents.write`); it starts `open`.
    ///
    /// `400 VALIDATION_FAILED` with `details.field = "assigneeId"` for an
    /// assignee who is not a member. Safe to retry with an `Idempotency-Key`.
    #[endpoint {
        method = POST, path = "/v1/incidents/{incidentId}/tasks", tags = ["incidents"], operation_id = "task_create"
    }]
    async fn task_create(
        rqctx: RequestContext<Self::Context>,
        path: PathParams<incidents::IncidentPath>,
        headers: HeaderParams<incidents::IdempotencyKeyHeader>,
        body: JsonBody<incidents::TaskCreateRequest>,
    ) -> Result<Reply<HttpResponseCreated<incidents::Task>, incidents::CreatedHeaders>, ApiError>;

    /// Change a task (`incidents.write`).
    ///
    /// `412 PRECONDITION_FAILED` when `If-Match` names another version.
    #[endpoint {
        method = PATCH, path = "/v1/incidents/{incidentId}/tasks/{taskId}", tags = ["incidents"],
        operation_id = "task_update"
    }]
    async fn task_update(
        rqctx: RequestContext<Self::Context>,
        path: PathParams<incidents::TaskPath>,
        headers: HeaderParams<incidents::IfMatchHeader>,
        body: JsonBody<incidents::TaskUpdateRequest>,
    ) -> Result<Reply<HttpResponseOk<incidents::Task>, incidents::ETagHeader>, ApiError>;

    /// The incident's status updates (`incidents.read`), oldest first; at
    /// most 100 per page.
    #[endpoint {
        method = GET, path = "/v1/incidents/{incidentId}/status-updates", tags = ["incidents"],
        operation_id = "status_update_list"
    }]
    async fn status_update_list(
        rqctx: RequestContext<Self::Context>,
        path: PathParams<incidents::IncidentPath>,
        query: QueryParams<PaginationParams<EmptyScanParams, tenants::AfterId>>,
    ) -> Result<Reply<HttpResponseOk<ResultsPage<incidents::StatusUpdate>>>, ApiError>;

    /// Post a status update (`incidents.write`).
    ///
    /// Its `status` and `severity`, when given, become the incident's in
    /// the same transaction, under the status machine: a `409` rejects the
    /// whole update. Safe to retry with an `Idempotency-Key`.
    #[endpoint {
        method = POST, path = "/v1/incidents/{incidentId}/status-updates", tags = ["incidents"],
        operation_id = "status_update_create"
    }]
    async fn status_update_create(
        rqctx: RequestContext<Self::Context>,
        path: PathParams<incidents::IncidentPath>,
        headers: HeaderParams<incidents::IdempotencyKeyHeader>,
        body: JsonBody<incidents::StatusUpdateCreateRequest>,
    ) -> Result<Reply<HttpResponseCreated<incidents::StatusUpdate>, incidents::CreatedHeaders>, ApiError>;

    /// Every incident of the active tenant that the filters match, as one
    /// file (`incidents.export`: owners and admins; no API key).
    ///
    /// Takes the filters and `sort` of `GET /v1/incidents`. The file is
    /// streamed as it is read, page by page, so an export of any size
    /// holds little memory; each page checks the caller's role again. The
    /// export is audited as `incident.exported` with its filters and the
    /// number of incidents that matched when it started. `403
    /// CROSS_SITE_REQUEST` when a browser says another site started it.
    #[endpoint {
        method = GET, path = "/v1/incident-exports", tags = ["incidents"], operation_id = "incident_export"
    }]
    async fn incident_export(
        rqctx: RequestContext<Self::Context>,
        query: QueryParams<incidents::IncidentExportQuery>,
    ) -> Result<Reply<HttpResponseOk<dropshot::FreeformBody>, reply::FileHeaders>, ApiError>;

    /// Response-time metrics (`incidents.read`) over the active tenant's
    /// incidents created in [`from`, `to`), in seconds.
    ///
    /// MTTA is `acknowledgedAt - createdAt` and MTTR `resolvedAt -
    /// createdAt`, each over the incidents that have the stamp; p50 and p90
    /// are interpolated percentiles.
    #[endpoint {
        method = GET, path = "/v1/incident-metrics", tags = ["incidents"], operation_id = "incident_metrics_view"
    }]
    async fn incident_metrics_view(
        rqctx: RequestContext<Self::Context>,
        query: QueryParams<incidents::IncidentMetricsQuery>,
    ) -> Result<Reply<HttpResponseOk<incidents::IncidentMetrics>>, ApiError>;

    /// Declare a file to attach to the incident (`incidents.write`), and get
    /// the URL to upload it to.
    ///
    /// png, jpg, pdf and txt up to 10 MiB. `415 ATTACHMENT_TYPE_NOT_ALLOWED`
    /// for any other type; `415 ATTACHMENT_TYPE_MISMATCH` when the file
    /// name's extension and `contentType` disagree; `413
    /// ATTACHMENT_TOO_LARGE` over the limit.
    #[endpoint {
        method = POST, path = "/v1/incidents/{incidentId}/attachments", tags = ["attachments"],
        operation_id = "attachment_create"
    }]
    async fn attachment_create(
        rqctx: RequestContext<Self::Context>,
        path: PathParams<incidents::IncidentPath>,
        body: JsonBody<attachments::AttachmentCreateRequest>,
    ) -> Result<Reply<HttpResponseCreated<attachments::AttachmentCreated>>, ApiError>;

    /// The incident's attachments (`incidents.read`), oldest first; at most
    /// 100 per page.
    #[endpoint {
        method = GET, path = "/v1/incidents/{incidentId}/attachments", tags = ["attachments"],
        operation_id = "attachment_list"
    }]
    async fn attachment_list(
        rqctx: RequestContext<Self::Context>,
        path: PathParams<incidents::IncidentPath>,
        query: QueryParams<PaginationParams<EmptyScanParams, tenants::AfterId>>,
    ) -> Result<Reply<HttpResponseOk<ResultsPage<attachments::Attachment>>>, ApiError>;

    /// One attachment (`incidents.read`): its metadata and scan status.
    #[endpoint {
        method = GET, path = "/v1/incidents/{incidentId}/attachments/{attachmentId}", tags = ["attachments"],
        operation_id = "attachment_view"
    }]
    async fn attachment_view(
        rqctx: RequestContext<Self::Context>,
        path: PathParams<attachments::AttachmentPath>,
    ) -> Result<Reply<HttpResponseOk<attachments::Attachment>>, ApiError>;

    /// A URL to download the file from (`incidents.read`): it works once,
    /// within five minutes.
    ///
    /// `409 ATTACHMENT_NOT_DOWNLOADABLE` with `details.status` unless the
    /// file scanned `clean` (or is `unscanned`, on a development server).
    #[endpoint {
        method = POST, path = "/v1/incidents/{incidentId}/attachments/{attachmentId}/download-url",
        tags = ["attachments"], operation_id = "attachment_download_url_create"
    }]
    async fn attachment_download_url_create(
        rqctx: RequestContext<Self::Context>,
        path: PathParams<attachments::AttachmentPath>,
    ) -> Result<Reply<HttpResponseCreated<attachments::AttachmentDownloadUrl>>, ApiError>;

    /// Upload a file's bytes to the URL `attachment_create` gave.
    ///
    /// The URL is the credential: it works once, within five minutes. Send
    /// exactly the declared size, as the declared `Content-Type` or as
    /// `application/octet-stream`; the bytes
    /// must start as the type does (magic bytes). The file is scanned
    /// before this answers, with its status. Nothing is stored on a refusal:
    /// `403 URL_SIGNATURE_INVALID` or `URL_EXPIRED`, `409 URL_ALREADY_USED`,
    /// `415 ATTACHMENT_TYPE_MISMATCH`, `413 ATTACHMENT_TOO_LARGE` (at the
    /// first byte over the declared size), `400 ATTACHMENT_SIZE_MISMATCH`.
    #[endpoint {
        method = PUT, path = "/v1/attachment-uploads/{urlId}", tags = ["attachments"],
        operation_id = "attachment_upload", request_body_max_bytes = attachments::MAX_UPLOAD_BODY_BYTES
    }]
    async fn attachment_upload(
        rqctx: RequestContext<Self::Context>,
        path: PathParams<attachments::TransferPath>,
        query: QueryParams<attachments::SignedUrlQuery>,
        body: dropshot::StreamingBody,
    ) -> Result<Reply<HttpResponseOk<attachments::Attachment>>, ApiError>;

    /// Download a file from the URL `attachment_download_url_create` gave.
    ///
    /// The URL is the credential: it works once, within five minutes. `403
    /// URL_SIGNATURE_INVALID` or `URL_EXPIRED`, `409 URL_ALREADY_USED`.
    #[endpoint {
        method = GET, path = "/v1/attachment-downloads/{urlId}", tags = ["attachments"],
        operation_id = "attachment_download"
    }]
    async fn attachment_download(
        rqctx: RequestContext<Self::Context>,
        path: PathParams<attachments::TransferPath>,
        query: QueryParams<attachments::SignedUrlQuery>,
    ) -> Result<Reply<HttpResponseOk<dropshot::FreeformBody>, reply::FileHeaders>, ApiError>;

    /// The active tenant's reads and writes per UTC day (`billing.read`),
    /// with the write quota each day was counted against.
    ///
    /// `from` and `to` are dates, both included: by default the last 30
    /// days, at most 366. `byPrincipal=true` adds each user's and API
    /// key's share.
    #[endpoint { method = GET, path = "/v1/usage", tags = ["usage"], operation_id = "usage_view" }]
    async fn usage_view(
        rqctx: RequestContext<Self::Context>,
        query: QueryParams<usage::UsageQuery>,
    ) -> Result<Reply<HttpResponseOk<usage::UsageReport>>, ApiError>;

    /// The active tenant's change feed (`incidents.read`): every change to
    /// an incident, its tasks, status updates and timeline notes, oldest
    /// first, in the order the changes committed.
    ///
    /// Store each page's `nextCursor` and pass it as `after`: every event
    /// arrives exactly once, and an event committed later never appears
    /// before one already read. Events are kept 30 days; `410
    /// CURSOR_EXPIRED` when events after `after` are no longer kept (start
    /// again without it).
    #[endpoint { method = GET, path = "/v1/events", tags = ["events"], operation_id = "event_list" }]
    async fn event_list(
        rqctx: RequestContext<Self::Context>,
        query: QueryParams<events::EventQuery>,
    ) -> Result<Reply<HttpResponseOk<events::EventPage>>, ApiError>;

    /// The active tenant's webhook subscriptions (`webhooks.manage`: owners
    /// and admins).
    #[endpoint { method = GET, path = "/v1/webhooks", tags = ["webhooks"], operation_id = "webhook_list" }]
    async fn webhook_list(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<webhooks::WebhookList>>, ApiError>;

    /// Subscribe `url` to the change feed's events (`webhooks.manage`).
    ///
    /// The answer holds the signing secret, shown this once. `400
    /// WEBHOOK_URL_FORBIDDEN` when the URL is not `https` (in production),
    /// holds credentials, or its host resolves to a loopback, private,
    /// link-local, multicast or cloud metadata address. `409
    /// WEBHOOK_LIMIT_REACHED` beyond 20 per tenant. Audited as
    /// `webhook.created`.
    #[endpoint { method = POST, path = "/v1/webhooks", tags = ["webhooks"], operation_id = "webhook_create" }]
    async fn webhook_create(
        rqctx: RequestContext<Self::Context>,
        body: JsonBody<webhooks::WebhookCreateRequest>,
    ) -> Result<Reply<HttpResponseCreated<webhooks::WebhookWithSecret>>, ApiError>;

    /// A webhook subscription (`webhooks.manage`).
    #[endpoint {
        method = GET, path = "/v1/webhooks/{webhookId}", tags = ["webhooks"], operation_id = "webhook_view"
    }]
    async fn webhook_view(
        rqctx: RequestContext<Self::Context>,
        path: PathParams<webhooks::WebhookPath>,
    ) -> Result<Reply<HttpResponseOk<webhooks::Webhook>>, ApiError>;

    /// Change a webhook subscription (`webhooks.manage`); audited as
    /// `webhook.updated`. `400 WEBHOOK_URL_FORBIDDEN` as for a new one.
    #[endpoint {
        method = PATCH, path = "/v1/webhooks/{webhookId}", tags = ["webhooks"], operation_id = "webhook_update"
    }]
    async fn webhook_update(
        rqctx: RequestContext<Self::Context>,
        path: PathParams<webhooks::WebhookPath>,
        body: JsonBody<webhooks::WebhookUpdateRequest>,
    ) -> Result<Reply<HttpResponseOk<webhooks::Webhook>>, ApiError>;

    /// Delete a webhook subscription and its pending deliveries
    /// (`webhooks.manage`); audited as `webhook.deleted`.
    #[endpoint {
        method = DELETE, path = "/v1/webhooks/{webhookId}", tags = ["webhooks"], operation_id = "webhook_delete"
    }]
    async fn webhook_delete(
        rqctx: RequestContext<Self::Context>,
        path: PathParams<webhooks::WebhookPath>,
    ) -> Result<Reply<HttpResponseDeleted>, ApiError>;

    /// A new signing secret, shown this once (`webhooks.manage`). For 24
    /// hours the previous one signs too: `webhook-signature` then carries
    /// both. Audited as `webhook.secret_rotated`.
    #[endpoint {
        method = POST, path = "/v1/webhooks/{webhookId}/rotate-secret", tags = ["webhooks"],
        operation_id = "webhook_secret_rotate"
    }]
    async fn webhook_secret_rotate(
        rqctx: RequestContext<Self::Context>,
        path: PathParams<webhooks::WebhookPath>,
    ) -> Result<Reply<HttpResponseOk<webhooks::WebhookWithSecret>>, ApiError>;

    /// The subscription's latest deliveries (`webhooks.manage`): attempts,
    /// status codes, latency and errors.
    #[endpoint {
        method = GET, path = "/v1/webhooks/{webhookId}/deliveries", tags = ["webhooks"],
        operation_id = "webhook_delivery_list"
    }]
    async fn webhook_delivery_list(
        rqctx: RequestContext<Self::Context>,
        path: PathParams<webhooks::WebhookPath>,
    ) -> Result<Reply<HttpResponseOk<webhooks::WebhookDeliveryList>>, ApiError>;

    /// Send a delivery again, now (`webhooks.manage`); audited as
    /// `webhook.redelivered`. `409 DELIVERY_IN_PROGRESS` while it is being
    /// sent.
    #[endpoint {
        method = POST, path = "/v1/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver", tags = ["webhooks"],
        operation_id = "webhook_redeliver"
    }]
    async fn webhook_redeliver(
        rqctx: RequestContext<Self::Context>,
        path: PathParams<webhooks::DeliveryPath>,
    ) -> Result<Reply<HttpResponseAccepted<webhooks::WebhookDelivery>>, ApiError>;

    /// The active tenant's audit log (`audit_log.read`), newest first; at
    /// most 100 per page.
    ///
    /// `400 TENANT_NOT_SELECTED` before switching to a tenant.
    #[endpoint { method = GET, path = "/v1/audit-logs", tags = ["audit"], operation_id = "audit_event_list" }]
    async fn audit_event_list(
        rqctx: RequestContext<Self::Context>,
        query: QueryParams<PaginationParams<audit::AuditEventFilter, audit::AuditEventPage>>,
    ) -> Result<Reply<HttpResponseOk<ResultsPage<audit::AuditEvent>>>, ApiError>;

    /// Recompute the active tenant's hash chain (`audit_log.read`).
    ///
    /// `valid` is false when an event was altered, removed or reordered;
    /// `firstInvalidSeq` says where.
    #[endpoint {
        method = GET, path = "/v1/audit-logs/verify", tags = ["audit"], operation_id = "audit_chain_verify"
    }]
    async fn audit_chain_verify(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<audit::AuditChainVerification>>, ApiError>;
}

/// How an operation authenticates its caller, as documented in the contract's
/// `security` requirements and enforced, for every request, by the HTTP
/// layer's one authentication point. A request with `x-api-key` is
/// authenticated by the key alone; on an operation that takes no keys a
/// valid one is `403`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Authentication {
    /// Anyone may call it.
    Public,
    /// A browser session if there is one; an anonymous one is started
    /// when there is not.
    AnySession,
    /// A browser session, anonymous or signed in, and its CSRF token in
    /// `x-csrf-token`.
    AnySessionWithCsrf,
    /// A signed-in browser session.
    Session,
    /// A signed-in browser session and its CSRF token.
    SessionWithCsrf,
    /// A signed-in browser session, or an API key with this scope.
    SessionOrApiKey(Scope),
    /// A signed-in browser session and its CSRF token, or an API key with
    /// this scope.
    SessionWithCsrfOrApiKey(Scope),
}

impl Authentication {
    /// The scope an API key needs here; `None` where keys are refused.
    pub fn api_key_scope(self) -> Option<Scope> {
        match self {
            Authentication::SessionOrApiKey(scope) | Authentication::SessionWithCsrfOrApiKey(scope) => Some(scope),
            _ => None,
        }
    }
}

/// Every operation's authentication, by operation id. Adding an endpoint
/// without an entry here makes contract generation fail, so no operation is
/// published with undocumented security, and the server refuses every
/// request to it.
pub fn authentication(operation_id: &str) -> Option<Authentication> {
    use Authentication::*;
    Some(match operation_id {
        // A signed URL is the credential; see `app::attachments`.
        "health_view" | "health_live_view" | "attachment_upload" | "attachment_download" => Public,
        "contract_yaml_view" | "contract_json_view" | "docs_view" | "docs_script_view" => Public,
        "me_view" => AnySession,
        "auth_signup" | "auth_login" | "auth_login_mfa" | "password_forgot" | "password_reset" => AnySessionWithCsrf,
        "member_list"
        | "incident_list"
        | "incident_view"
        | "timeline_event_list"
        | "task_list"
        | "status_update_list"
        | "incident_metrics_view"
        | "event_list"
        | "attachment_list"
        | "attachment_view" => SessionOrApiKey(Scope::Read),
        // A browser's request for a URL is a mutation: it needs the CSRF token.
        "attachment_download_url_create" => SessionWithCsrfOrApiKey(Scope::Read),
        "incident_create"
        | "incident_update"
        | "timeline_event_create"
        | "task_create"
        | "task_update"
        | "status_update_create"
        | "attachment_create" => SessionWithCsrfOrApiKey(Scope::Write),
        "tenant_list"
        | "incident_export"
        | "invite_list"
        | "service_account_list"
        | "api_key_list"
        | "audit_event_list"
        | "audit_chain_verify"
        | "usage_view"
        | "webhook_list"
        | "webhook_view"
        | "webhook_delivery_list" => Session,
        "auth_logout"
        | "account_delete"
        | "totp_enrol"
        | "totp_confirm"
        | "totp_disable"
        | "tenant_create"
        | "tenant_switch"
        | "member_update"
        | "member_remove"
        | "invite_create"
        | "invite_revoke"
        | "invite_accept"
        | "service_account_create"
        | "api_key_create"
        | "api_key_revoke"
        | "webhook_create"
        | "webhook_update"
        | "webhook_delete"
        | "webhook_secret_rotate"
        | "webhook_redeliver" => SessionWithCsrf,
        _ => return None,
    })
}
