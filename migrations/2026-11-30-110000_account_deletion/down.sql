-- Events recorded since hash their digests: without them no chain would
-- verify again, so going down is refused once there are any. The owner is
-- bound by forced row-level security, lifted for this transaction to look.
ALTER TABLE audit_events NO FORCE ROW LEVEL SECURITY;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM audit_events WHERE address_digest IS NOT NULL OR email_digest IS NOT NULL) THEN
        RAISE EXCEPTION 'audit events hash personal data digests: reverting would break their chains';
    END IF;
END
$$;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
DROP FUNCTION retention_purge_audit_personal_data(timestamptz);
DROP FUNCTION account_erase(uuid);
DROP POLICY account_erasure ON change_events;
DROP POLICY account_erasure_reads ON change_events;
DROP POLICY account_erasure ON invitations;
REVOKE UPDATE (data) ON change_events FROM incident_tracker_lookup;
DROP TABLE audit_personal_data;
REVOKE SELECT, UPDATE (email, name, password_hash, password_version, updated_at) ON users FROM incident_tracker_lookup;
DROP INDEX change_events_user_id, change_events_email, invitations_email, invitations_accepted_by, users_email;
ALTER TABLE users DROP COLUMN deleted_at;
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);
ALTER TABLE audit_events DROP COLUMN address_digest, DROP COLUMN email_digest;
