-- POST /v1/incidents/{id}/timeline-events (a note) with an API key.
\ir api_key_lookup.sql
\startpipeline
BEGIN;
\ir api_key_scope.sql
\endpipeline
SELECT id, version FROM incidents WHERE tenant_id = :tenant AND id = :incident LIMIT 1;
INSERT INTO timeline_events (id, tenant_id, incident_id, kind, body, data, actor_type, actor_id, occurred_at, recorded_at)
VALUES (gen_random_uuid(), :tenant, :incident, 'note', 'Rolled back **v2.3.1**', '{}',
        'service_account', :service_account, now(), now());
\ir count_and_audit.sql
COMMIT;
