-- The change feed: one event per change to an incident, its timeline, tasks
-- or status updates, written in the change's own transaction.
--
-- Commit order: a tenant's events are numbered from its counter row, whose
-- lock the writing transaction holds until it commits. A later number can
-- therefore only commit after every earlier one of the tenant has, and a
-- reader that has passed `seq` never sees a smaller one appear.
CREATE TABLE change_event_counters (
    tenant_id uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    last_seq bigint NOT NULL CHECK (last_seq >= 0)
);
SELECT enable_tenant_isolation('change_event_counters');

CREATE TABLE change_events (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    seq bigint NOT NULL CHECK (seq > 0),
    id uuid NOT NULL UNIQUE,
    type text NOT NULL CHECK (type ~ '^[a-z_]+\.[a-z_]+$'),
    incident_id uuid,
    occurred_at timestamptz NOT NULL,
    -- The changed object as stored; the API renders it as it serves it.
    data jsonb NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
SELECT enable_tenant_isolation('change_events');
CREATE INDEX change_events_by_age ON change_events (occurred_at);

GRANT SELECT, INSERT, UPDATE ON change_event_counters TO incident_tracker_app;
GRANT SELECT, INSERT ON change_events TO incident_tracker_app;

-- Events are kept 30 days. Purging crosses tenants, so it runs as the lookup
-- role, whose policies let it see and delete expired events and nothing else.
GRANT SELECT, DELETE ON change_events TO incident_tracker_lookup;
CREATE POLICY retention_purge ON change_events FOR ALL TO incident_tracker_lookup
    USING (occurred_at < now() - interval '30 days');
CREATE FUNCTION change_events_purge() RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    purged bigint;
BEGIN
    DELETE FROM public.change_events WHERE occurred_at < now() - interval '30 days';
    GET DIAGNOSTICS purged = ROW_COUNT;
    RETURN purged;
END
$$;

GRANT incident_tracker_lookup TO CURRENT_USER;
GRANT CREATE ON SCHEMA public TO incident_tracker_lookup;
ALTER FUNCTION change_events_purge() OWNER TO incident_tracker_lookup;
REVOKE EXECUTE ON FUNCTION change_events_purge() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION change_events_purge() TO incident_tracker_app;
REVOKE CREATE ON SCHEMA public FROM incident_tracker_lookup;
REVOKE incident_tracker_lookup FROM CURRENT_USER;
