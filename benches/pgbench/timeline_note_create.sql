-- POST /v1/incidents/{id}/timeline-events (a note) with an API key.
SELECT id, tenant_id, service_account_id, scopes, secret_hash, expires_at, revoked_at, last_used_at
FROM api_key_by_prefix(:key_prefix);
\startpipeline
BEGIN;
SELECT set_config('app.tenant_id', :tenant, true), set_config('app.actor_id', :service_account, true);
\endpipeline
SELECT id, version FROM incidents WHERE tenant_id = :tenant AND id = :incident LIMIT 1;
INSERT INTO timeline_events (id, tenant_id, incident_id, kind, body, data, actor_type, actor_id, occurred_at, recorded_at)
VALUES (gen_random_uuid(), :tenant, :incident, 'note', 'Rolled back **v2.3.1**', '{}',
        'service_account', :service_account, now(), now());
\ir count_and_audit.sql
COMMIT;
