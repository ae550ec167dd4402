DROP FUNCTION usable_invitation(bytea);
DROP FUNCTION user_memberships(uuid);
DROP TABLE audit_chain_heads;
DROP FUNCTION guard_audit_chain_head();
DROP TABLE audit_events;
DROP FUNCTION refuse_audit_change();
DROP TABLE invitations;
DROP TABLE memberships;
DROP TABLE tenants;
REVOKE USAGE ON SCHEMA public FROM incident_tracker_lookup;
-- The role itself stays, as incident_tracker_app does: roles are global to
-- the cluster and other databases may still use it.
