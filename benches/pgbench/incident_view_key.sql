-- GET /v1/incidents/{id} with an API key: the key, then the row.
SELECT id, tenant_id, service_account_id, scopes, secret_hash, expires_at, revoked_at, last_used_at
FROM api_key_by_prefix(:key_prefix);
\startpipeline
BEGIN;
SELECT set_config('app.tenant_id', :tenant, true), set_config('app.actor_id', :service_account, true);
\endpipeline
SELECT id, number, title, summary, severity, status, commander_id, labels, created_by_type, created_by_id,
       created_at, updated_at, acknowledged_at, mitigated_at, resolved_at, closed_at, reopen_count, version
FROM incidents WHERE tenant_id = :tenant AND id = :incident LIMIT 1;
COMMIT;
