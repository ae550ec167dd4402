DROP FUNCTION retention_purge_audit_personal_data(timestamptz);
DROP FUNCTION account_erase(uuid);
DROP POLICY account_erasure ON change_events;
DROP POLICY account_erasure ON invitations;
REVOKE UPDATE (data) ON change_events FROM incident_tracker_lookup;
DROP TABLE audit_personal_data;
REVOKE SELECT, UPDATE (email, name, password_hash, password_version, updated_at) ON users FROM incident_tracker_lookup;
ALTER TABLE users DROP COLUMN deleted_at;
ALTER TABLE audit_events DROP COLUMN personal_digest;
