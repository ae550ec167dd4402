"""What scripts/schemathesis adjusts or excuses, each with its reason.

The contract states every constraint the server checks that JSON Schema can
say. What it cannot say is below: values that only the server hands out
(page tokens, mailed tokens, ETags), values that must name existing things
(members), and rules between fields. Requests are adjusted where a valid
value is known; otherwise a refusal is excused only when it carries the
documented error code and message of that rule, so any other refusal still
fails.
Adjusting alone would not do: the coverage phase sends its requests as
generated.
"""

import os

import requests
import schemathesis
from schemathesis.openapi.checks import RejectedPositiveData

BASE_URL = os.environ["SCHEMATHESIS_BASE_URL"]
# The signed-in user, a member of the run's tenant, and its session.
MEMBER_ID = os.environ["SCHEMATHESIS_MEMBER_ID"]
MEMBER_SESSION = os.environ["SCHEMATHESIS_MEMBER_SESSION"]
MEMBER_CSRF_TOKEN = os.environ["SCHEMATHESIS_MEMBER_CSRF_TOKEN"]

# Operations that end or replace the session they are sent with.
ACCOUNT_OPERATIONS = ["auth_signup", "auth_login", "auth_logout", "password_forgot", "password_reset"]

# Fields that must name a member of the tenant.
MEMBER_FIELDS = ("commanderId", "assigneeId")

# (operation id or "*", error code, part of its message, why): refusals the
# contract documents but JSON Schema cannot express. The message part names
# the one rule, so any other refusal with the same code still fails.
EXCUSED = [
    ("*", "VALIDATION_FAILED", "failed to parse pagination token", "page tokens are opaque: only the server's are valid"),
    ("*", "VALIDATION_FAILED", "query parameters may not contain NUL", "only page tokens can hold one; see above"),
    ("*", "VALIDATION_FAILED", "lies in years 1 to 9999", "`date-time` cannot say that a time lies in years 1 to 9999"),
    ("audit_event_list", "VALIDATION_FAILED", "between the years 1 and 9999", "as above"),
    ("event_list", "VALIDATION_FAILED", "not one this feed handed out", "cursors are the feed's own, like page tokens"),
    ("event_list", "CURSOR_EXPIRED", "", "a cursor behind events no longer kept"),
    ("incident_list", "VALIDATION_FAILED", "too long to page through", "the filters must fit in a page token"),
    ("incident_create", "VALIDATION_FAILED", "names no member", "must name a member of the tenant"),
    ("incident_update", "VALIDATION_FAILED", "names no member", "must name a member of the tenant"),
    ("task_create", "VALIDATION_FAILED", "names no member", "must name a member of the tenant"),
    ("task_update", "VALIDATION_FAILED", "names no member", "must name a member of the tenant"),
    ("incident_update", "PRECONDITION_FAILED", "", "If-Match must be the current ETag, which only a read returns"),
    ("task_update", "PRECONDITION_FAILED", "", "If-Match must be the current ETag, which only a read returns"),
    ("password_reset", "AUTH_RESET_TOKEN_INVALID", "", "reset tokens exist only in mailed links"),
    ("invite_accept", "INVITE_INVALID", "", "invite tokens exist only in mailed links"),
    ("auth_signup", "AUTH_PASSWORD_REJECTED", "breached passwords", "the breached-password list is outside the schema"),
    ("password_reset", "AUTH_PASSWORD_REJECTED", "breached passwords", "the breached-password list is outside the schema"),
    ("auth_signup", "AUTH_PASSWORD_REJECTED", "must not contain your email", "a rule between two fields"),
    ("attachment_create", "ATTACHMENT_TYPE_MISMATCH", "", "the extension and the content type must name one type"),
    ("*", "IDEMPOTENCY_KEY_REUSED", "", "a key belongs to the request first sent with it"),
    ("api_key_create", "VALIDATION_FAILED", "Scopes are", "scopes must hold `read`; OpenAPI 3.0 has no `contains`"),
    ("api_key_create", "VALIDATION_FAILED", "An expiry lies in the future", "an expiry lies between now and a year ahead"),
    ("timeline_event_create", "VALIDATION_FAILED", "at most a minute in the future", "a note cannot lie in the future"),
    ("webhook_create", "WEBHOOK_URL_FORBIDDEN", "", "where a URL's host resolves to is outside the schema"),
    ("webhook_update", "WEBHOOK_URL_FORBIDDEN", "", "where a URL's host resolves to is outside the schema"),
    ("webhook_create", "VALIDATION_FAILED", "absolute http(s) URL", "URL syntax is more than a pattern says"),
    ("webhook_update", "VALIDATION_FAILED", "absolute http(s) URL", "URL syntax is more than a pattern says"),
    ("password_forgot", "RATE_LIMITED", "", "ten reset-link requests per client address in 15 minutes"),
    ("password_forgot", "SERVICE_UNAVAILABLE", "", "four reset-link requests are worked on at once"),
    ("usage_view", "VALIDATION_FAILED", "must not be after `to`", "`from` precedes `to` by at most 366 days"),
    ("incident_metrics_view", "VALIDATION_FAILED", "from lies before to", "`from` precedes `to` by at most 366 days"),
]


def send_session(case, session, csrf_token):
    case.headers = {**(case.headers or {}), "Cookie": f"session={session}", "x-csrf-token": csrf_token}


@schemathesis.auth().skip_for(operation_id=ACCOUNT_OPERATIONS)
class Member:
    """The signed-in member, with the run's tenant active."""

    def get(self, case, context):
        return MEMBER_SESSION, MEMBER_CSRF_TOKEN

    def set(self, case, data, context):
        send_session(case, *data)


@schemathesis.auth(refresh_interval=None).apply_to(operation_id=ACCOUNT_OPERATIONS)
class Visitor:
    """A new signed-out session for each request, as a browser has: signing
    up, in or out replaces the session it is sent with."""

    def get(self, case, context):
        response = requests.get(f"{BASE_URL}/v1/auth/me", timeout=10)
        response.raise_for_status()
        return response.cookies["session"], response.json()["csrfToken"]

    def set(self, case, data, context):
        send_session(case, *data)


@schemathesis.hook
def map_body(context, body):
    """Names the run's own member where a member must be named."""
    if isinstance(body, dict):
        for field in MEMBER_FIELDS:
            if body.get(field) is not None:
                body[field] = MEMBER_ID
    return body


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """Keeps a failure unless it is an excused refusal."""
    if not isinstance(failure, RejectedPositiveData):
        return True
    # Page tokens are opaque: only ones the server handed out are valid.
    try:
        error = response.json()
    except ValueError:
        return True
    code = error.get("code", "")
    message = error.get("message", "")
    operation_id = case.operation.definition.raw.get("operationId")
    return not any(
        operation in ("*", operation_id) and code == excused_code and part in message
        for operation, excused_code, part, _reason in EXCUSED
    )
