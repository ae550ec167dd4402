ALTER TABLE webhook_deliveries DROP COLUMN event_id;
COMMENT ON COLUMN webhooks.event_types IS NULL;
DROP FUNCTION deleted_webhooks_purge();
DROP POLICY deleted_purge ON webhooks;
REVOKE SELECT, DELETE ON webhooks FROM incident_tracker_lookup;
