-- Service accounts and their API keys, usage counters and the daily write
-- quota. Every table here is tenant-scoped.

CREATE TABLE service_accounts (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    created_by uuid NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    -- The target of api_keys' foreign key, which keeps a key in its
    -- service account's tenant.
    UNIQUE (tenant_id, id)
);
SELECT enable_tenant_isolation('service_accounts');

-- A key is `itk_<prefix>_<secret>`; only the SHA-256 of the whole key is
-- stored. The prefix is random too, unique, and finds the key in one
-- indexed lookup before its tenant is known.
CREATE TABLE api_keys (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    service_account_id uuid NOT NULL,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    scopes text[] NOT NULL CHECK (scopes IN ('{read}', '{read,write}')),
    prefix text NOT NULL UNIQUE CHECK (prefix ~ '^itk_[a-z0-9]{12}$'),
    secret_hash bytea NOT NULL CHECK (length(secret_hash) = 32),
    created_by uuid NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    last_used_at timestamptz,
    revoked_at timestamptz,
    FOREIGN KEY (tenant_id, service_account_id) REFERENCES service_accounts (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX api_keys_tenant_id ON api_keys (tenant_id, id);
SELECT enable_tenant_isolation('api_keys');

-- A tenant's daily write quota, when it differs from DAILY_WRITE_QUOTA.
-- Set by the `incident-tracker tenant-quota` command, never by the API.
ALTER TABLE tenants ADD COLUMN daily_write_quota integer CHECK (daily_write_quota >= 0);

-- Reads and writes per tenant, UTC day and principal (a user or an API key).
CREATE TABLE usage_counts (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    day date NOT NULL,
    principal_type text NOT NULL CHECK (principal_type IN ('user', 'api_key')),
    principal_id uuid NOT NULL,
    reads bigint NOT NULL DEFAULT 0 CHECK (reads >= 0),
    writes bigint NOT NULL DEFAULT 0 CHECK (writes >= 0),
    PRIMARY KEY (tenant_id, day, principal_type, principal_id)
);
SELECT enable_tenant_isolation('usage_counts');

-- Writes per tenant and UTC day, against the quota in force when they were
-- counted. Counting locks the row until the write commits, so concurrent
-- writes of one tenant are counted one after another and never pass it.
CREATE TABLE usage_write_days (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    day date NOT NULL,
    writes bigint NOT NULL CHECK (writes >= 0),
    write_quota bigint NOT NULL CHECK (write_quota >= 0),
    PRIMARY KEY (tenant_id, day)
);
SELECT enable_tenant_isolation('usage_write_days');

GRANT SELECT, INSERT ON service_accounts TO incident_tracker_app;
GRANT SELECT, INSERT, UPDATE ON api_keys TO incident_tracker_app;
GRANT SELECT, INSERT, UPDATE ON usage_counts, usage_write_days TO incident_tracker_app;

-- The key with this prefix, in any tenant, with what checking it needs and
-- nothing more: no name, no creator.
GRANT SELECT ON api_keys TO incident_tracker_lookup;
CREATE POLICY cross_tenant_lookup ON api_keys FOR SELECT TO incident_tracker_lookup USING (true);
CREATE FUNCTION api_key_by_prefix(key_prefix text)
    RETURNS TABLE (
        id uuid, tenant_id uuid, service_account_id uuid, scopes text[], secret_hash bytea,
        expires_at timestamptz, revoked_at timestamptz, last_used_at timestamptz
    )
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
        SELECT k.id, k.tenant_id, k.service_account_id, k.scopes, k.secret_hash, k.expires_at, k.revoked_at,
               k.last_used_at
        FROM public.api_keys k WHERE k.prefix = key_prefix
    $$;

-- As in the tenancy migration: the owner acts as the lookup role only long
-- enough to hand the function over.
GRANT incident_tracker_lookup TO CURRENT_USER;
GRANT CREATE ON SCHEMA public TO incident_tracker_lookup;
ALTER FUNCTION api_key_by_prefix(text) OWNER TO incident_tracker_lookup;
REVOKE EXECUTE ON FUNCTION api_key_by_prefix(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api_key_by_prefix(text) TO incident_tracker_app;
REVOKE CREATE ON SCHEMA public FROM incident_tracker_lookup;
REVOKE incident_tracker_lookup FROM CURRENT_USER;
