-- Every request with a session: BEGIN, the tenant scope and the member's
-- role in one round trip, as the server sends them. The server scopes by
-- `SET LOCAL` in text; pgbench cannot bind a parameter into `SET`, and runs
-- the equivalent `set_config`.
\startpipeline
BEGIN;
SELECT set_config('app.tenant_id', :tenant, true), set_config('app.actor_id', :user, true);
SELECT role FROM memberships WHERE tenant_id = :tenant AND user_id = :user LIMIT 1;
\endpipeline
