-- GET /v1/incidents: the first page of 100, newest first.
\ir api_key_lookup.sql
\startpipeline
BEGIN READ ONLY;
\ir api_key_scope.sql
SELECT id, number, title, summary, severity, status, commander_id, labels, created_by_type, created_by_id,
       created_at, updated_at, acknowledged_at, mitigated_at, resolved_at, closed_at, reopen_count, version
FROM incidents WHERE tenant_id = :tenant ORDER BY created_at DESC, id DESC LIMIT 100;
\endpipeline
COMMIT;
