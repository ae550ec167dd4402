-- POST /v1/incidents with an API key: the key, then one transaction that
-- numbers and inserts the incident, records its timeline event, counts the
-- write against the quota and appends the audit event.
\ir api_key_lookup.sql
\startpipeline
BEGIN;
\ir api_key_scope.sql
\endpipeline
INSERT INTO incident_numbers (tenant_id, last_number) VALUES (:tenant, 1)
ON CONFLICT (tenant_id) DO UPDATE SET last_number = incident_numbers.last_number + 1
RETURNING last_number AS number \gset
INSERT INTO incidents (id, tenant_id, number, created_by_type, created_by_id, created_at, version, title, summary,
                       severity, status, labels, updated_at, reopen_count)
VALUES (gen_random_uuid(), :tenant, :number, 'service_account', :service_account, now(), 1, 'Checkout errors', '',
        'sev2', 'triage', '{payments}', now(), 0)
RETURNING id AS incident_id \gset
INSERT INTO timeline_events (id, tenant_id, incident_id, kind, body, data, actor_type, actor_id, occurred_at, recorded_at)
VALUES (gen_random_uuid(), :tenant, :incident_id, 'incident_created', NULL, '{"number": 1, "severity": "sev2"}',
        'service_account', :service_account, now(), now());
\ir count_and_audit.sql
COMMIT;
