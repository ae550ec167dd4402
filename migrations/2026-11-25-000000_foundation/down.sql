DROP FUNCTION enable_tenant_isolation(regclass);
DROP FUNCTION current_tenant_id();
REVOKE USAGE ON SCHEMA public FROM incident_tracker_app;
-- The role itself stays: roles are global to the cluster and other databases
-- (and the server's login role) may still depend on it.
