-- Accounts are platform-wide, not tenant-scoped: one person signs in once
-- and may belong to many tenants. Emails are stored normalized (trimmed,
-- lower-case), so the unique constraint is the lookup.
CREATE TABLE users (
    id uuid PRIMARY KEY,
    email text NOT NULL UNIQUE CHECK (email = lower(btrim(email)) AND length(email) BETWEEN 3 AND 254),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    password_hash text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Only the SHA-256 of a reset token is stored: a copy of this table does
-- not let anyone reset a password.
CREATE TABLE password_reset_tokens (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX password_reset_tokens_user_id ON password_reset_tokens (user_id);

-- Mail is written here in the same transaction as the change that causes
-- it, and delivered by a background worker: a rolled-back change sends
-- nothing, and a committed one is never lost to a mail server outage.
-- Bodies may hold links with tokens, so they do not outlive their use: a
-- delivered row is deleted, an undeliverable one keeps only its metadata,
-- and one whose link has expired (discard_after) is deleted unsent.
CREATE TABLE mail_outbox (
    id uuid PRIMARY KEY,
    recipient text NOT NULL,
    subject text NOT NULL,
    body text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    discard_after timestamptz,
    last_error text,
    failed_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE failed_at IS NULL;

GRANT SELECT, INSERT, UPDATE ON users TO incident_tracker_app;
GRANT SELECT, INSERT, UPDATE ON password_reset_tokens TO incident_tracker_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON mail_outbox TO incident_tracker_app;
