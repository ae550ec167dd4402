DROP TABLE idempotency_keys;
DROP TABLE status_updates;
DROP TABLE incident_tasks;
DROP TABLE timeline_events;
DROP TABLE incidents;
DROP TABLE incident_numbers;
DROP EXTENSION IF EXISTS btree_gin;
