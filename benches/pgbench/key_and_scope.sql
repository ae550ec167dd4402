-- Every request with an API key: the key's lookup, then BEGIN and the
-- tenant scope in one round trip, as the server sends them (in text, as
-- `SET LOCAL`; pgbench cannot bind a parameter into `SET`, and runs the
-- equivalent `set_config`).
SELECT id, tenant_id, service_account_id, scopes, secret_hash, expires_at, revoked_at, last_used_at
FROM api_key_by_prefix(:key_prefix);
\startpipeline
BEGIN;
SELECT set_config('app.tenant_id', :tenant, true), set_config('app.actor_id', :service_account, true);
\endpipeline
