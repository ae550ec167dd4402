DROP FUNCTION retention_purge_usage(date);
DROP FUNCTION retention_purge_attachment_urls(timestamptz);
DROP FUNCTION retention_purge_invitations(timestamptz);
DROP INDEX usage_write_days_day, usage_counts_day, invitations_unaccepted_expires_at, attachment_urls_expires_at,
    mfa_challenges_expires_at, password_reset_tokens_expires_at, mail_outbox_failed;
DROP POLICY retention_purge ON usage_write_days;
DROP POLICY retention_purge ON usage_counts;
DROP POLICY retention_purge ON attachment_urls;
DROP POLICY retention_purge ON invitations;
REVOKE SELECT, DELETE ON attachment_urls, usage_counts, usage_write_days FROM incident_tracker_lookup;
REVOKE DELETE ON invitations FROM incident_tracker_lookup;
REVOKE DELETE ON password_reset_tokens FROM incident_tracker_app;
