-- Account deletion, and personal data kept beside the audit log.
--
-- An audit event's hash may not change, so what deletion and retention must
-- be able to erase (the client address, an invitee's email) is not hashed
-- into it. Each datum sits in audit_personal_data with a random salt of its
-- own, and the event hashes only the datum's salted digest (see
-- src/audit/chain.rs). Erasing a datum (and its salt) leaves the chain
-- verifying and nothing to guess it back from, and erasing one leaves the
-- other checkable. Events recorded before this have no digests and keep
-- their client address in the event itself.
ALTER TABLE audit_events
    ADD COLUMN address_digest bytea CHECK (length(address_digest) = 32),
    ADD COLUMN email_digest bytea CHECK (length(email_digest) = 32);

-- actor_id and target_id are the event's, which erasure finds rows by.
CREATE TABLE audit_personal_data (
    tenant_id uuid NOT NULL,
    seq bigint NOT NULL,
    occurred_at timestamptz NOT NULL,
    actor_id uuid,
    target_id uuid,
    client_ip text,
    client_ip_salt bytea CHECK (length(client_ip_salt) = 16),
    email text,
    email_salt bytea CHECK (length(email_salt) = 16),
    PRIMARY KEY (tenant_id, seq),
    CHECK ((client_ip IS NULL) = (client_ip_salt IS NULL) AND (email IS NULL) = (email_salt IS NULL))
);
SELECT enable_tenant_isolation('audit_personal_data');
GRANT SELECT, INSERT ON audit_personal_data TO incident_tracker_app;
CREATE INDEX audit_personal_data_occurred_at ON audit_personal_data (occurred_at);
CREATE INDEX audit_personal_data_actor_id ON audit_personal_data (actor_id);
CREATE INDEX audit_personal_data_target_id ON audit_personal_data (target_id);

-- A deleted account keeps its row, under its id, so what it did in tenants
-- stays attributed to the same pseudonym; the row holds nothing else: its
-- email becomes `deleted:<id>`, which no sign-in or sign-up accepts.
--
-- The email stays unique among live accounts through a partial index,
-- which PostgreSQL does not count as a key: changing the email then takes
-- no lock that a row referencing the account (a reset token, an accepted
-- invite) holds against it, so erasing cannot deadlock with their writers.
ALTER TABLE users ADD COLUMN deleted_at timestamptz;
ALTER TABLE users DROP CONSTRAINT users_email_key;
CREATE UNIQUE INDEX users_email ON users (email) WHERE deleted_at IS NULL;
CREATE INDEX invitations_accepted_by ON invitations (accepted_by) WHERE accepted_by IS NOT NULL;
CREATE INDEX invitations_email ON invitations (email);
-- Member and invite events are the ones that carry an email.
CREATE INDEX change_events_email ON change_events ((data ->> 'email')) WHERE data ? 'email';
CREATE INDEX change_events_user_id ON change_events ((data ->> 'user_id')) WHERE data ? 'email';
CREATE INDEX audit_personal_data_email ON audit_personal_data (email) WHERE email IS NOT NULL;

-- Erasing crosses tenants: a deleted account's traces are in every tenant it
-- was in. It runs as the lookup role, whose policies admit only rows that
-- name an account marked deleted, by id or email. Sign-up proves no email,
-- so `account_erase` finds rows by the account's id, and by its email only
-- once it proved it holds the mailbox: by accepting an invite, whose token
-- was mailed there.
GRANT SELECT, UPDATE (email, name, password_hash, password_version, updated_at) ON users
    TO incident_tracker_lookup;
GRANT SELECT, DELETE, UPDATE (client_ip, client_ip_salt, email, email_salt) ON audit_personal_data
    TO incident_tracker_lookup;
GRANT UPDATE (data) ON change_events TO incident_tracker_lookup;
CREATE POLICY account_erasure ON invitations FOR DELETE TO incident_tracker_lookup
    USING (email IN (SELECT u.email FROM users u WHERE u.deleted_at IS NOT NULL));
-- An updated row must stay readable to the role: the pseudonym is
-- admitted as well as the email.
CREATE POLICY account_erasure_reads ON change_events FOR SELECT TO incident_tracker_lookup
    USING (data ->> 'user_id' IN (SELECT u.id::text FROM users u WHERE u.deleted_at IS NOT NULL)
           OR data ->> 'email' IN (SELECT u.email FROM users u WHERE u.deleted_at IS NOT NULL)
           OR data ->> 'email' IN (SELECT 'deleted:' || u.id FROM users u WHERE u.deleted_at IS NOT NULL));
CREATE POLICY account_erasure ON change_events FOR UPDATE TO incident_tracker_lookup
    USING (data ->> 'user_id' IN (SELECT u.id::text FROM users u WHERE u.deleted_at IS NOT NULL)
           OR data ->> 'email' IN (SELECT u.email FROM users u WHERE u.deleted_at IS NOT NULL))
    WITH CHECK (data ->> 'email' LIKE 'deleted:%');
-- What the role may change is limited; what it reads is not, since an
-- updated row must stay readable and an erased email no longer names the
-- account. Its functions return none of it.
CREATE POLICY account_erasure_reads ON audit_personal_data FOR SELECT TO incident_tracker_lookup USING (true);
CREATE POLICY account_erasure ON audit_personal_data FOR UPDATE TO incident_tracker_lookup
    USING (actor_id IN (SELECT u.id FROM users u WHERE u.deleted_at IS NOT NULL)
           OR target_id IN (SELECT u.id FROM users u WHERE u.deleted_at IS NOT NULL)
           OR email IN (SELECT u.email FROM users u WHERE u.deleted_at IS NOT NULL))
    WITH CHECK (true);
-- Retention never takes a day-old record: no setting is shorter.
CREATE POLICY retention_purge ON audit_personal_data FOR DELETE TO incident_tracker_lookup
    USING (occurred_at < now() - interval '1 day');

-- Erases, across tenants, what holds a deleted account's email, name or
-- client addresses:
-- - the addresses of audit events it did, or that nobody signed in did to
--   it (its sign-ins, its password resets); an admin's address, in an event
--   about the account, is the admin's and stays;
-- - its email and name in change events about it as a member;
-- - once it proved it holds its email: the invites to the email, and the
--   email in audit events and change events about them;
-- then anonymizes its row, with no password. Refuses an account not marked
-- deleted, or erased already.
CREATE FUNCTION account_erase(account uuid) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    pseudonym text := 'deleted:' || account;
    address text;
BEGIN
    SELECT u.email INTO address FROM public.users u
        WHERE u.id = account AND u.deleted_at IS NOT NULL AND u.email <> pseudonym;
    IF address IS NULL THEN
        RAISE EXCEPTION 'only an account marked deleted is erased' USING ERRCODE = 'insufficient_privilege';
    END IF;
    UPDATE public.audit_personal_data SET client_ip = NULL, client_ip_salt = NULL
        WHERE client_ip IS NOT NULL AND (actor_id = account OR (actor_id IS NULL AND target_id = account));
    UPDATE public.change_events SET data = data || jsonb_build_object('email', pseudonym, 'name', 'Deleted user')
        WHERE data ? 'email' AND data ->> 'user_id' = account::text;
    -- Accepting an invite takes its email to be the account's.
    IF EXISTS (SELECT 1 FROM public.invitations i WHERE i.accepted_by = account) THEN
        UPDATE public.audit_personal_data SET email = NULL, email_salt = NULL WHERE email = address;
        UPDATE public.change_events SET data = data || jsonb_build_object('email', pseudonym)
            WHERE data ? 'email' AND data ->> 'email' = address;
        DELETE FROM public.invitations WHERE email = address;
    END IF;
    UPDATE public.users
        SET email = pseudonym, name = 'Deleted user', password_hash = '', password_version = password_version + 1,
            updated_at = now()
        WHERE id = account;
END
$$;

-- The personal data of audit events recorded before `recorded_before`.
CREATE FUNCTION retention_purge_audit_personal_data(recorded_before timestamptz) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    purged bigint;
BEGIN
    DELETE FROM public.audit_personal_data WHERE occurred_at < least(recorded_before, now() - interval '1 day');
    GET DIAGNOSTICS purged = ROW_COUNT;
    RETURN purged;
END
$$;

GRANT incident_tracker_lookup TO CURRENT_USER;
GRANT CREATE ON SCHEMA public TO incident_tracker_lookup;
ALTER FUNCTION account_erase(uuid) OWNER TO incident_tracker_lookup;
ALTER FUNCTION retention_purge_audit_personal_data(timestamptz) OWNER TO incident_tracker_lookup;
REVOKE EXECUTE ON FUNCTION account_erase(uuid), retention_purge_audit_personal_data(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION account_erase(uuid), retention_purge_audit_personal_data(timestamptz)
    TO incident_tracker_app;
REVOKE CREATE ON SCHEMA public FROM incident_tracker_lookup;
REVOKE incident_tracker_lookup FROM CURRENT_USER;
