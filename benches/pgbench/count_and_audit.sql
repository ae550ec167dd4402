-- The end of every write: the quota count, then the audit chain's next link. The chain's
-- head exists (the tenant's creation was its first event), so it is only locked, as the server
-- does for every event after a chain's first.
WITH quota AS (
    SELECT coalesce((SELECT daily_write_quota::bigint FROM tenants WHERE id = :tenant), 4000000000) AS q
), counted AS (
    INSERT INTO usage_write_days AS u (tenant_id, day, writes, write_quota)
    SELECT :tenant, current_date, 1, q FROM quota
    ON CONFLICT (tenant_id, day) DO UPDATE SET writes = u.writes + 1, write_quota = EXCLUDED.write_quota
    RETURNING writes, write_quota
), by_principal AS (
    INSERT INTO usage_counts AS c (tenant_id, day, principal_type, principal_id, writes)
    SELECT :tenant, current_date, 'api_key', :api_key, 1 FROM counted
    ON CONFLICT (tenant_id, day, principal_type, principal_id) DO UPDATE SET writes = c.writes + 1
)
SELECT writes, write_quota FROM counted;
SELECT seq + 1 AS next_seq, hash AS prev_hash FROM audit_chain_heads WHERE tenant_id = :tenant FOR UPDATE \gset
INSERT INTO audit_events (tenant_id, seq, action, actor_type, actor_id, target_type, target_id, request_id, client_ip,
                          occurred_at, metadata, prev_hash, hash, address_digest, email_digest)
VALUES (:tenant, :next_seq, 'bench.write', 'service_account', :service_account, 'incident', gen_random_uuid(),
        gen_random_uuid()::text, NULL, now(), '{}', :prev_hash, sha256(:prev_hash::bytea || :next_seq),
        sha256(:next_seq::text::bytea), NULL);
INSERT INTO audit_personal_data (tenant_id, seq, occurred_at, actor_id, target_id, client_ip, client_ip_salt, email,
                                 email_salt)
VALUES (:tenant, :next_seq, now(), :service_account, gen_random_uuid(), '127.0.0.1',
        substring(sha256(:next_seq::text::bytea) FROM 1 FOR 16), NULL, NULL);
UPDATE audit_chain_heads SET seq = :next_seq, hash = sha256(:prev_hash::bytea || :next_seq) WHERE tenant_id = :tenant;
