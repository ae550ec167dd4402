-- The role the server's privileges are granted to. The server logs in as a
-- member of it (see README), never as the owner that runs these migrations,
-- so row-level security binds every query it makes. Roles are global to the
-- cluster, so another database may already have created it.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'incident_tracker_app') THEN
        CREATE ROLE incident_tracker_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO incident_tracker_app;

-- The tenant of the current transaction, as set by the server with
-- set_config('app.tenant_id', ..., true). NULL when none is set, which no
-- tenant_id equals: with no tenant, no row is visible.
CREATE FUNCTION current_tenant_id() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;

-- Puts a tenant-scoped table under row-level security: enabled and forced
-- (so the owner is bound too), visible and writable only for the current
-- tenant. Every migration that creates a table with tenant_id calls this.
CREATE FUNCTION enable_tenant_isolation(target regclass) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', target);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', target);
    EXECUTE format(
        'CREATE POLICY tenant_isolation ON %s USING (tenant_id = current_tenant_id()) '
        'WITH CHECK (tenant_id = current_tenant_id())',
        target
    );
END
$$;

-- Functions are executable by PUBLIC by default; only migrations use this one.
REVOKE EXECUTE ON FUNCTION enable_tenant_isolation(regclass) FROM PUBLIC;
