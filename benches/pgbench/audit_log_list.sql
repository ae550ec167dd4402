-- GET /v1/audit-logs with a session: the member's role, then a page of 100.
\startpipeline
BEGIN;
SELECT set_config('app.tenant_id', :tenant, true), set_config('app.actor_id', :user, true);
\endpipeline
SELECT role FROM memberships WHERE tenant_id = :tenant AND user_id = :user LIMIT 1;
SELECT tenant_id, seq, action, actor_type, actor_id, target_type, target_id, request_id, client_ip, occurred_at,
       metadata, prev_hash, hash
FROM audit_events WHERE tenant_id = :tenant ORDER BY seq DESC LIMIT 100;
COMMIT;
