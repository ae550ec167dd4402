-- Retention: the purge deletes, per data class, what is past the retention
-- the operator set. Platform-wide tables the server deletes from itself.
-- Tenant-scoped ones are purged across tenants, so through functions run
-- as the lookup role, whose policies let it delete only rows that are done
-- with (never a pending invite, a usable URL or today's usage); the cutoff
-- is the function's argument.
GRANT DELETE ON password_reset_tokens TO incident_tracker_app;

GRANT DELETE ON invitations TO incident_tracker_lookup;
GRANT SELECT, DELETE ON attachment_urls, usage_counts, usage_write_days TO incident_tracker_lookup;
CREATE POLICY retention_purge ON invitations FOR DELETE TO incident_tracker_lookup
    USING (accepted_at IS NULL AND (revoked_at IS NOT NULL OR expires_at < now()));
CREATE POLICY retention_purge ON attachment_urls FOR ALL TO incident_tracker_lookup
    USING (used_at IS NOT NULL OR expires_at < now());
CREATE POLICY retention_purge ON usage_counts FOR ALL TO incident_tracker_lookup
    USING (day < current_date);
CREATE POLICY retention_purge ON usage_write_days FOR ALL TO incident_tracker_lookup
    USING (day < current_date);

-- Invites never accepted, revoked or expired before `finished_before`.
CREATE FUNCTION retention_purge_invitations(finished_before timestamptz) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    purged bigint;
BEGIN
    DELETE FROM public.invitations
        WHERE accepted_at IS NULL AND coalesce(revoked_at, expires_at) < finished_before;
    GET DIAGNOSTICS purged = ROW_COUNT;
    RETURN purged;
END
$$;

-- Attachment URLs used, or expired unused, before `finished_before`.
CREATE FUNCTION retention_purge_attachment_urls(finished_before timestamptz) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    purged bigint;
BEGIN
    DELETE FROM public.attachment_urls WHERE coalesce(used_at, expires_at) < finished_before;
    GET DIAGNOSTICS purged = ROW_COUNT;
    RETURN purged;
END
$$;

-- Usage counted on days before `first_kept`, per principal and per tenant.
CREATE FUNCTION retention_purge_usage(first_kept date) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    counts bigint;
    days bigint;
BEGIN
    DELETE FROM public.usage_counts WHERE day < first_kept;
    GET DIAGNOSTICS counts = ROW_COUNT;
    DELETE FROM public.usage_write_days WHERE day < first_kept;
    GET DIAGNOSTICS days = ROW_COUNT;
    RETURN counts + days;
END
$$;

GRANT incident_tracker_lookup TO CURRENT_USER;
GRANT CREATE ON SCHEMA public TO incident_tracker_lookup;
ALTER FUNCTION retention_purge_invitations(timestamptz) OWNER TO incident_tracker_lookup;
ALTER FUNCTION retention_purge_attachment_urls(timestamptz) OWNER TO incident_tracker_lookup;
ALTER FUNCTION retention_purge_usage(date) OWNER TO incident_tracker_lookup;
REVOKE EXECUTE ON FUNCTION retention_purge_invitations(timestamptz), retention_purge_attachment_urls(timestamptz),
    retention_purge_usage(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION retention_purge_invitations(timestamptz), retention_purge_attachment_urls(timestamptz),
    retention_purge_usage(date) TO incident_tracker_app;
REVOKE CREATE ON SCHEMA public FROM incident_tracker_lookup;
REVOKE incident_tracker_lookup FROM CURRENT_USER;
