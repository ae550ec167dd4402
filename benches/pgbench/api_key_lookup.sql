-- Every request with an API key starts with the key's lookup, a round trip
-- of its own: the tenant it scopes the transaction to comes from the key.
SELECT id, tenant_id, service_account_id, scopes, secret_hash, expires_at, revoked_at, last_used_at
FROM api_key_by_prefix(:key_prefix);
