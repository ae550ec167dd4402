-- Incidents, their timeline, tasks and status updates, and the idempotency
-- keys of the writes that create them. Every table here is tenant-scoped.
-- Rows carry the application's clock throughout (no DEFAULT now()), so the
-- lifecycle's durations never mix two clocks.

-- Lets one GIN index lead with tenant_id, so a search or a label filter
-- looks only at the tenant's own incidents. Trusted: the database's owner
-- may create it without being a superuser.
CREATE EXTENSION IF NOT EXISTS btree_gin;

-- The last incident number handed out per tenant. Taking the next one locks
-- the row until the creating write ends, so numbers are unique and increase;
-- a write that rolls back leaves a gap.
CREATE TABLE incident_numbers (
    tenant_id uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    last_number bigint NOT NULL CHECK (last_number > 0)
);
SELECT enable_tenant_isolation('incident_numbers');

CREATE TABLE incidents (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    number bigint NOT NULL CHECK (number > 0),
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    summary text NOT NULL CHECK (length(summary) <= 20000),
    severity text NOT NULL CHECK (severity IN ('sev1', 'sev2', 'sev3', 'sev4')),
    status text NOT NULL
        CHECK (status IN ('triage', 'investigating', 'mitigated', 'resolved', 'closed', 'declined')),
    commander_id uuid REFERENCES users (id),
    labels text[] NOT NULL CHECK (cardinality(labels) <= 20),
    created_by_type text NOT NULL CHECK (created_by_type IN ('user', 'service_account')),
    created_by_id uuid NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    acknowledged_at timestamptz,
    mitigated_at timestamptz,
    resolved_at timestamptz,
    closed_at timestamptz,
    reopen_count integer NOT NULL DEFAULT 0 CHECK (reopen_count >= 0),
    version bigint NOT NULL CHECK (version > 0),
    search tsvector NOT NULL GENERATED ALWAYS AS (to_tsvector('english'::regconfig, title || ' ' || summary)) STORED,
    UNIQUE (tenant_id, number),
    -- The target of the foreign keys that keep children in their incident's tenant.
    UNIQUE (tenant_id, id)
);
SELECT enable_tenant_isolation('incidents');
-- One index per offered order and filter, each ending in the order's keys,
-- so a page after a cursor starts where the cursor points.
CREATE INDEX incidents_by_created ON incidents (tenant_id, created_at DESC, id DESC);
CREATE INDEX incidents_by_updated ON incidents (tenant_id, updated_at, id);
CREATE INDEX incidents_by_status ON incidents (tenant_id, status, created_at DESC, id DESC);
CREATE INDEX incidents_by_severity ON incidents (tenant_id, severity, created_at DESC, id DESC);
CREATE INDEX incidents_by_commander ON incidents (tenant_id, commander_id, created_at DESC, id DESC);
CREATE INDEX incidents_by_label ON incidents USING gin (tenant_id, labels);
CREATE INDEX incidents_by_text ON incidents USING gin (tenant_id, search);

-- The timeline: system events written with each change, and notes. Never
-- changed or removed once written.
CREATE TABLE timeline_events (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    incident_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN (
        'note', 'incident_created', 'status_changed', 'severity_changed', 'commander_changed', 'field_changed',
        'task_created', 'task_status_changed', 'status_update_posted'
    )),
    body text CHECK (length(body) <= 10000),
    data jsonb NOT NULL,
    actor_type text NOT NULL CHECK (actor_type IN ('user', 'service_account')),
    actor_id uuid NOT NULL,
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL,
    FOREIGN KEY (tenant_id, incident_id) REFERENCES incidents (tenant_id, id) ON DELETE CASCADE
);
SELECT enable_tenant_isolation('timeline_events');
CREATE INDEX timeline_events_by_occurred ON timeline_events (tenant_id, incident_id, occurred_at, id);

CREATE TABLE incident_tasks (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    incident_id uuid NOT NULL,
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description text NOT NULL CHECK (length(description) <= 10000),
    status text NOT NULL CHECK (status IN ('open', 'in_progress', 'done', 'wont_do')),
    assignee_id uuid REFERENCES users (id),
    due_at timestamptz,
    completed_at timestamptz,
    created_by_type text NOT NULL CHECK (created_by_type IN ('user', 'service_account')),
    created_by_id uuid NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL CHECK (version > 0),
    FOREIGN KEY (tenant_id, incident_id) REFERENCES incidents (tenant_id, id) ON DELETE CASCADE
);
SELECT enable_tenant_isolation('incident_tasks');
CREATE INDEX incident_tasks_by_incident ON incident_tasks (tenant_id, incident_id, id);

-- Never changed or removed once posted.
CREATE TABLE status_updates (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    incident_id uuid NOT NULL,
    body text NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
    audience text NOT NULL CHECK (audience IN ('internal', 'public')),
    -- The incident's status and severity as they stood after the update.
    status text NOT NULL,
    severity text NOT NULL,
    -- What the update changed, if anything.
    changed_status boolean NOT NULL,
    changed_severity boolean NOT NULL,
    created_by_type text NOT NULL CHECK (created_by_type IN ('user', 'service_account')),
    created_by_id uuid NOT NULL,
    created_at timestamptz NOT NULL,
    FOREIGN KEY (tenant_id, incident_id) REFERENCES incidents (tenant_id, id) ON DELETE CASCADE
);
SELECT enable_tenant_isolation('status_updates');
CREATE INDEX status_updates_by_incident ON status_updates (tenant_id, incident_id, id);

-- The first answer to a create sent with an Idempotency-Key, kept 24 hours.
-- Stored in the create's own transaction: a create that fails stores nothing.
CREATE TABLE idempotency_keys (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    principal_type text NOT NULL CHECK (principal_type IN ('user', 'api_key')),
    principal_id uuid NOT NULL,
    operation text NOT NULL,
    key text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_digest bytea NOT NULL CHECK (length(request_digest) = 32),
    response jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, principal_type, principal_id, operation, key)
);
SELECT enable_tenant_isolation('idempotency_keys');
-- Finds a principal's expired keys, which its next idempotent create removes.
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (tenant_id, principal_type, principal_id, created_at);

GRANT SELECT, INSERT, UPDATE ON incident_numbers, incidents, incident_tasks TO incident_tracker_app;
GRANT SELECT, INSERT ON timeline_events, status_updates TO incident_tracker_app;
GRANT SELECT, INSERT, DELETE ON idempotency_keys TO incident_tracker_app;
