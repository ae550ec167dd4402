-- GET /v1/incidents/{id} with a session: the member's role and the row, sent
-- behind BEGIN and the scope.
\startpipeline
BEGIN READ ONLY;
\ir session_scope.sql
SELECT id, number, title, summary, severity, status, commander_id, labels, created_by_type, created_by_id,
       created_at, updated_at, acknowledged_at, mitigated_at, resolved_at, closed_at, reopen_count, version
FROM incidents WHERE tenant_id = :tenant AND id = :incident LIMIT 1;
\endpipeline
COMMIT;
