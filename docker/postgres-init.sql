-- Runs once, when the compose PostgreSQL is first created. The migrations
-- (run as the owner, POSTGRES_USER) grant their privileges to
-- incident_tracker_app; the server logs in as incident_tracker_server, a
-- member of it that row-level security binds.
CREATE ROLE incident_tracker_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
CREATE ROLE incident_tracker_server LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD 'server-dev-password'
    IN ROLE incident_tracker_app;
