-- Retention: the purge deletes, per data class, what is past the retention
-- the operator set. Platform-wide tables the server deletes from itself.
-- Tenant-scoped ones are purged across tenants, so through functions run
-- as the lookup role, whose policies let it delete only rows that are done
-- with. The functions check that too, and never take a cutoff later than
-- now, so whatever they are called with, and in whichever tenant's scope,
-- a pending invite, a usable URL or today's usage stays.
GRANT DELETE ON password_reset_tokens TO incident_tracker_app;

GRANT DELETE ON invitations TO incident_tracker_lookup;
GRANT SELECT, DELETE ON attachment_urls, usage_counts, usage_write_days TO incident_tracker_lookup;
CREATE POLICY retention_purge ON invitations FOR DELETE TO incident_tracker_lookup
    USING (accepted_at IS NULL AND (revoked_at IS NOT NULL OR expires_at < now()));
CREATE POLICY retention_purge ON attachment_urls FOR ALL TO incident_tracker_lookup
    USING (expires_at < now());
CREATE POLICY retention_purge ON usage_counts FOR ALL TO incident_tracker_lookup
    USING (day < current_date);
CREATE POLICY retention_purge ON usage_write_days FOR ALL TO incident_tracker_lookup
    USING (day < current_date);

-- What each class's purge looks for, without reading whole tables.
CREATE INDEX mail_outbox_failed ON mail_outbox (failed_at) WHERE failed_at IS NOT NULL;
CREATE INDEX password_reset_tokens_expires_at ON password_reset_tokens (expires_at);
CREATE INDEX mfa_challenges_expires_at ON mfa_challenges (expires_at);
CREATE INDEX attachment_urls_expires_at ON attachment_urls (expires_at);
CREATE INDEX invitations_unaccepted_expires_at ON invitations (expires_at) WHERE accepted_at IS NULL;
CREATE INDEX usage_counts_day ON usage_counts (day);
CREATE INDEX usage_write_days_day ON usage_write_days (day);

-- Invites never accepted, revoked or expired before `finished_before`.
CREATE FUNCTION retention_purge_invitations(finished_before timestamptz) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    purged bigint;
BEGIN
    DELETE FROM public.invitations
        WHERE accepted_at IS NULL AND (revoked_at IS NOT NULL OR expires_at < now())
          AND coalesce(revoked_at, expires_at) < least(finished_before, now());
    GET DIAGNOSTICS purged = ROW_COUNT;
    RETURN purged;
END
$$;

-- Attachment URLs expired before `finished_before` (a used one was done
-- with sooner, but is never used after its expiry either).
CREATE FUNCTION retention_purge_attachment_urls(finished_before timestamptz) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    purged bigint;
BEGIN
    DELETE FROM public.attachment_urls WHERE expires_at < least(finished_before, now());
    GET DIAGNOSTICS purged = ROW_COUNT;
    RETURN purged;
END
$$;

-- Usage counted on days before `first_kept`, per principal and per tenant.
CREATE FUNCTION retention_purge_usage(first_kept date) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET TimeZone = 'UTC'
    AS $$
DECLARE
    counts bigint;
    days bigint;
BEGIN
    DELETE FROM public.usage_counts WHERE day < least(first_kept, current_date);
    GET DIAGNOSTICS counts = ROW_COUNT;
    DELETE FROM public.usage_write_days WHERE day < least(first_kept, current_date);
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
