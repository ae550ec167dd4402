-- GET /v1/audit-logs with a session: the member's role, sent behind BEGIN and
-- the scope; then, since not every member may read the log, only once the
-- role allows it, a page of 100 and the page's personal data.
\startpipeline
BEGIN READ ONLY;
\ir session_scope.sql
\endpipeline
SELECT tenant_id, seq, action, actor_type, actor_id, target_type, target_id, request_id, client_ip, occurred_at,
       metadata, prev_hash, hash, address_digest, email_digest
FROM audit_events WHERE tenant_id = :tenant ORDER BY seq DESC LIMIT 100;
-- The page's personal data. The server sends the page's seqs as an array
-- and their range, which pgbench cannot take from the page: the newest 100
-- by range instead, found from the chain's head (one more single-row read
-- than the server's).
SELECT seq - 99 AS oldest, seq AS newest FROM audit_chain_heads WHERE tenant_id = :tenant \gset
SELECT tenant_id, seq, occurred_at, actor_id, target_id, client_ip, client_ip_salt, email, email_salt
FROM audit_personal_data WHERE tenant_id = :tenant AND seq BETWEEN :oldest AND :newest;
COMMIT;
