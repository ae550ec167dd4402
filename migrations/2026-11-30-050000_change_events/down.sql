DROP FUNCTION change_events_purge();
REVOKE SELECT, DELETE ON change_events FROM incident_tracker_lookup;
DROP TABLE change_events;
DROP TABLE change_event_counters;
