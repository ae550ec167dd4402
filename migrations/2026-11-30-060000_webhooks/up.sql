-- Webhook subscriptions and their deliveries: a transactional outbox. A
-- delivery row is written with its change event, in the change's
-- transaction, for every enabled subscription that wants its type.
CREATE TABLE webhooks (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    url text NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
    -- NULL: every type.
    event_types text[],
    enabled boolean NOT NULL,
    description text NOT NULL CHECK (length(description) <= 500),
    -- Signing keys (`whsec_…`); after a rotation the previous one keeps
    -- signing beside the new one until it expires.
    secret text NOT NULL,
    previous_secret text,
    previous_secret_expires_at timestamptz,
    -- Since when every delivery has failed; NULL after any success.
    failing_since timestamptz,
    -- Deleted subscriptions are kept, without their secrets, so a delete
    -- never waits on the deliveries that changes are queuing for it.
    deleted_at timestamptz,
    CHECK (deleted_at IS NULL OR (NOT enabled AND secret = '' AND previous_secret IS NULL)),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    UNIQUE (tenant_id, id)
);
SELECT enable_tenant_isolation('webhooks');

CREATE TABLE webhook_deliveries (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    webhook_id uuid NOT NULL,
    event_seq bigint NOT NULL,
    incident_id uuid,
    status text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL,
    -- A worker's claim on an attempt, and the token it records the outcome
    -- with; another worker may take the attempt over once the claim lapses.
    claimed_until timestamptz,
    claim uuid,
    last_status_code integer,
    last_error text,
    last_latency_ms integer,
    created_at timestamptz NOT NULL,
    delivered_at timestamptz,
    FOREIGN KEY (tenant_id, webhook_id) REFERENCES webhooks (tenant_id, id) ON DELETE CASCADE,
    -- Deliveries go with their event after 30 days.
    FOREIGN KEY (tenant_id, event_seq) REFERENCES change_events (tenant_id, seq) ON DELETE CASCADE
);
SELECT enable_tenant_isolation('webhook_deliveries');
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (tenant_id, webhook_id, event_seq);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (tenant_id, webhook_id, incident_id, event_seq)
    WHERE status = 'pending';

GRANT SELECT, INSERT, UPDATE, DELETE ON webhooks TO incident_tracker_app;
GRANT SELECT, INSERT, UPDATE ON webhook_deliveries TO incident_tracker_app;

-- The workers find due deliveries across tenants through the lookup role,
-- which sees pending deliveries and nothing else. One is due only when no
-- earlier delivery of its subscription and incident is still pending: per
-- incident, in order.
GRANT SELECT ON webhook_deliveries TO incident_tracker_lookup;
CREATE POLICY delivery_lookup ON webhook_deliveries FOR SELECT TO incident_tracker_lookup
    USING (status = 'pending');
CREATE FUNCTION webhook_deliveries_due(due_by timestamptz, most bigint)
    RETURNS TABLE (tenant_id uuid, id uuid)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    RETURN QUERY
        SELECT d.tenant_id, d.id FROM public.webhook_deliveries d
        WHERE d.status = 'pending' AND d.next_attempt_at <= due_by
          AND (d.claimed_until IS NULL OR d.claimed_until < due_by)
          AND NOT EXISTS (
              SELECT 1 FROM public.webhook_deliveries e
              WHERE e.status = 'pending' AND e.tenant_id = d.tenant_id AND e.webhook_id = d.webhook_id
                AND e.incident_id IS NOT DISTINCT FROM d.incident_id AND e.event_seq < d.event_seq
          )
        ORDER BY d.next_attempt_at LIMIT most;
END
$$;

GRANT incident_tracker_lookup TO CURRENT_USER;
GRANT CREATE ON SCHEMA public TO incident_tracker_lookup;
ALTER FUNCTION webhook_deliveries_due(timestamptz, bigint) OWNER TO incident_tracker_lookup;
REVOKE EXECUTE ON FUNCTION webhook_deliveries_due(timestamptz, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION webhook_deliveries_due(timestamptz, bigint) TO incident_tracker_app;
REVOKE CREATE ON SCHEMA public FROM incident_tracker_lookup;
REVOKE incident_tracker_lookup FROM CURRENT_USER;
