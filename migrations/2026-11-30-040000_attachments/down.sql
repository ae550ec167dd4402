DROP FUNCTION attachments_awaiting_scan(timestamptz, bigint);
REVOKE SELECT ON attachments FROM incident_tracker_lookup;
DROP TABLE attachment_urls;
DROP TABLE attachments;
