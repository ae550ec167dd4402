-- GET /v1/audit-logs with a session: the member's role, then a page of 100.
\ir session_scope.sql
SELECT tenant_id, seq, action, actor_type, actor_id, target_type, target_id, request_id, client_ip, occurred_at,
       metadata, prev_hash, hash
FROM audit_events WHERE tenant_id = :tenant ORDER BY seq DESC LIMIT 100;
COMMIT;
