DROP FUNCTION api_key_by_prefix(text);
DROP POLICY cross_tenant_lookup ON api_keys;
DROP TABLE usage_write_days;
DROP TABLE usage_counts;
ALTER TABLE tenants DROP COLUMN daily_write_quota;
DROP TABLE api_keys;
DROP TABLE service_accounts;
