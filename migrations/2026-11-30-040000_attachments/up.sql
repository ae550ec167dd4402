-- Files attached to incidents, and the single-use URLs their bytes travel
-- through. The bytes live in the object store; these rows say where, what
-- they were declared to be, and what the virus scan found.

CREATE TABLE attachments (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    incident_id uuid NOT NULL,
    file_name text NOT NULL CHECK (length(file_name) BETWEEN 1 AND 255),
    content_type text NOT NULL CHECK (content_type IN ('image/png', 'image/jpeg', 'application/pdf', 'text/plain')),
    size_bytes bigint NOT NULL CHECK (size_bytes BETWEEN 1 AND 10485760),
    -- pending: waiting for its bytes; scanning; then clean, infected or
    -- failed. unscanned: stored by a development server without a scanner.
    status text NOT NULL CHECK (status IN ('pending', 'scanning', 'clean', 'infected', 'failed', 'unscanned')),
    -- Where the bytes are, once uploaded: under the quarantine prefix until
    -- a clean scan moves them.
    object_key text,
    sha256 bytea CHECK (length(sha256) = 32),
    -- The signature clamd named, for an infected file.
    threat text,
    created_by_type text NOT NULL CHECK (created_by_type IN ('user', 'service_account')),
    created_by_id uuid NOT NULL,
    created_at timestamptz NOT NULL,
    uploaded_at timestamptz,
    scanned_at timestamptz,
    -- Scans begun, and when a file still `scanning` is next due for one:
    -- each attempt pushes it further out, so files that keep failing wait
    -- their turn behind the others, and gives up after a number of them.
    scan_attempts integer NOT NULL DEFAULT 0 CHECK (scan_attempts >= 0),
    next_scan_at timestamptz,
    CHECK ((status = 'pending') = (object_key IS NULL)),
    CHECK ((status = 'pending') = (sha256 IS NULL)),
    FOREIGN KEY (tenant_id, incident_id) REFERENCES incidents (tenant_id, id) ON DELETE CASCADE,
    UNIQUE (tenant_id, id)
);
SELECT enable_tenant_isolation('attachments');
CREATE INDEX attachments_by_incident ON attachments (tenant_id, incident_id, id);

-- Every upload and download URL handed out. A URL is signed, so it cannot
-- be altered; this row makes it single-use: it is spent when its transfer
-- succeeds.
CREATE TABLE attachment_urls (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    attachment_id uuid NOT NULL,
    purpose text NOT NULL CHECK (purpose IN ('upload', 'download')),
    issued_to_type text NOT NULL CHECK (issued_to_type IN ('user', 'service_account')),
    issued_to_id uuid NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    FOREIGN KEY (tenant_id, attachment_id) REFERENCES attachments (tenant_id, id) ON DELETE CASCADE
);
SELECT enable_tenant_isolation('attachment_urls');
CREATE INDEX attachment_urls_by_attachment ON attachment_urls (tenant_id, attachment_id);

GRANT SELECT, INSERT, UPDATE ON attachments, attachment_urls TO incident_tracker_app;

-- Files whose scan has not finished (the server stopped mid-scan, or clamd
-- could not be reached), for the sweeper that scans them again. It works
-- across tenants, so its index does not lead with tenant_id; the index
-- holds only the few files in that state.
CREATE INDEX attachments_awaiting_scan ON attachments (next_scan_at) WHERE status = 'scanning';
GRANT SELECT ON attachments TO incident_tracker_lookup;
CREATE POLICY cross_tenant_lookup ON attachments FOR SELECT TO incident_tracker_lookup USING (true);
CREATE FUNCTION attachments_awaiting_scan(due_by timestamptz, most bigint)
    RETURNS TABLE (tenant_id uuid, id uuid)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    RETURN QUERY
        SELECT a.tenant_id, a.id FROM public.attachments a
        WHERE a.status = 'scanning' AND a.next_scan_at <= due_by
        ORDER BY a.next_scan_at LIMIT most;
END
$$;

-- As in the tenancy migration: the owner acts as the lookup role only long
-- enough to hand the function over.
GRANT incident_tracker_lookup TO CURRENT_USER;
GRANT CREATE ON SCHEMA public TO incident_tracker_lookup;
ALTER FUNCTION attachments_awaiting_scan(timestamptz, bigint) OWNER TO incident_tracker_lookup;
REVOKE EXECUTE ON FUNCTION attachments_awaiting_scan(timestamptz, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION attachments_awaiting_scan(timestamptz, bigint) TO incident_tracker_app;
REVOKE CREATE ON SCHEMA public FROM incident_tracker_lookup;
REVOKE incident_tracker_lookup FROM CURRENT_USER;
