-- Every request with a session: BEGIN and the tenant scope in one round
-- trip, as the server sends them, then the member's role.
\startpipeline
BEGIN;
SELECT set_config('app.tenant_id', :tenant, true), set_config('app.actor_id', :user, true);
\endpipeline
SELECT role FROM memberships WHERE tenant_id = :tenant AND user_id = :user LIMIT 1;
