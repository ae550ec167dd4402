DROP FUNCTION webhook_deliveries_due(timestamptz, bigint);
REVOKE SELECT ON webhook_deliveries FROM incident_tracker_lookup;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
