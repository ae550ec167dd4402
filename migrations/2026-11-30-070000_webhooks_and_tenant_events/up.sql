-- A deleted subscription is kept (without its secrets) while deliveries
-- still name it, then purged with the feed's 30 days: by then its last
-- event, and with it every delivery, is gone. Purging crosses tenants, so
-- it runs as the lookup role, whose policy lets it see and delete those
-- subscriptions and nothing else.
GRANT SELECT, DELETE ON webhooks TO incident_tracker_lookup;
CREATE POLICY deleted_purge ON webhooks FOR ALL TO incident_tracker_lookup
    USING (deleted_at < now() - interval '30 days');
CREATE FUNCTION deleted_webhooks_purge() RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    purged bigint;
BEGIN
    DELETE FROM public.webhooks WHERE deleted_at < now() - interval '30 days';
    GET DIAGNOSTICS purged = ROW_COUNT;
    RETURN purged;
END
$$;

GRANT incident_tracker_lookup TO CURRENT_USER;
GRANT CREATE ON SCHEMA public TO incident_tracker_lookup;
ALTER FUNCTION deleted_webhooks_purge() OWNER TO incident_tracker_lookup;
REVOKE EXECUTE ON FUNCTION deleted_webhooks_purge() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION deleted_webhooks_purge() TO incident_tracker_app;
REVOKE CREATE ON SCHEMA public FROM incident_tracker_lookup;
REVOKE incident_tracker_lookup FROM CURRENT_USER;

COMMENT ON COLUMN webhooks.event_types IS
    'The event types delivered. NULL: every type of change in an incident; tenant-level types only when named.';

-- A delivery names its event by the id its receiver sees (`webhook-id`),
-- beside the number it is ordered by. The owner is bound by the tables'
-- row-level security too, and the backfill crosses tenants: it is lifted
-- for this migration's transaction only.
ALTER TABLE webhook_deliveries ADD COLUMN event_id uuid;
ALTER TABLE webhook_deliveries NO FORCE ROW LEVEL SECURITY;
ALTER TABLE change_events NO FORCE ROW LEVEL SECURITY;
UPDATE webhook_deliveries d SET event_id = e.id
    FROM change_events e WHERE e.tenant_id = d.tenant_id AND e.seq = d.event_seq;
ALTER TABLE change_events FORCE ROW LEVEL SECURITY;
ALTER TABLE webhook_deliveries FORCE ROW LEVEL SECURITY;
ALTER TABLE webhook_deliveries ALTER COLUMN event_id SET NOT NULL;
