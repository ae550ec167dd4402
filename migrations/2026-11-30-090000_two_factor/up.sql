-- A user's TOTP second factor (RFC 6238). Its secret is stored as it is,
-- since every check recomputes codes from it. A row without confirmed_at is
-- an enrolment not yet proven by a code: it asks nothing at sign-in, and
-- can be confirmed only for a few minutes after created_at.
-- last_used_step is the newest time step a code was accepted for: a code is
-- accepted only for a later step, so none is accepted twice.
CREATE TABLE totp_factors (
    user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret bytea NOT NULL CHECK (length(secret) = 20),
    confirmed_at timestamptz,
    last_used_step bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- One-time codes for when the authenticator is lost. Only their SHA-256 is
-- stored: each holds 80 random bits, so the digest cannot be searched back.
CREATE TABLE recovery_codes (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash bytea NOT NULL CHECK (length(code_hash) = 32),
    used_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, code_hash)
);

-- A sign-in whose password was right, waiting for its second factor. The
-- token is handed out once and stored as its SHA-256; password_version ties
-- it to the password it proved, so a reset in between voids it. A few wrong
-- codes (failed_codes) void it too, so guessing goes back through the
-- password step, which counts toward the lockout.
CREATE TABLE mfa_challenges (
    token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    password_version integer NOT NULL,
    failed_codes integer NOT NULL DEFAULT 0,
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mfa_challenges_user_id ON mfa_challenges (user_id);

GRANT SELECT, INSERT, UPDATE, DELETE ON totp_factors, recovery_codes, mfa_challenges TO incident_tracker_app;
