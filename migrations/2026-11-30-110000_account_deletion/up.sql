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
ALTER TABLE users ADD COLUMN deleted_at timestamptz;
CREATE INDEX invitations_accepted_by ON invitations (accepted_by) WHERE accepted_by IS NOT NULL;

-- Erasing crosses tenants: a deleted account's traces are in every tenant it
-- was in. It runs as the lookup role, whose policies admit only rows of an
-- account marked deleted. Sign-up proves no email, so rows are found by the
-- account's id, and by its email only where it proved it holds the mailbox:
-- the invites it accepted, with the mailed token.
GRANT SELECT, UPDATE (email, name, password_hash, password_version, updated_at) ON users
    TO incident_tracker_lookup;
GRANT SELECT, DELETE, UPDATE (client_ip, client_ip_salt, email, email_salt) ON audit_personal_data
    TO incident_tracker_lookup;
GRANT UPDATE (data) ON change_events TO incident_tracker_lookup;
CREATE POLICY account_erasure ON invitations FOR DELETE TO incident_tracker_lookup
    USING (accepted_by IN (SELECT u.id FROM users u WHERE u.deleted_at IS NOT NULL));
CREATE POLICY account_erasure ON change_events FOR ALL TO incident_tracker_lookup
    USING (data ->> 'user_id' IN (SELECT u.id::text FROM users u WHERE u.deleted_at IS NOT NULL)
           OR data ->> 'id' IN (SELECT i.id::text FROM invitations i JOIN users u ON u.id = i.accepted_by
                                WHERE u.deleted_at IS NOT NULL))
    WITH CHECK (data ->> 'email' LIKE 'deleted:%');
CREATE POLICY account_erasure ON audit_personal_data FOR ALL TO incident_tracker_lookup
    USING (actor_id IN (SELECT u.id FROM users u WHERE u.deleted_at IS NOT NULL)
           OR target_id IN (SELECT u.id FROM users u WHERE u.deleted_at IS NOT NULL)
           OR target_id IN (SELECT i.id FROM invitations i JOIN users u ON u.id = i.accepted_by
                            WHERE u.deleted_at IS NOT NULL));
-- Retention never takes a day-old record: no setting is shorter.
CREATE POLICY retention_purge ON audit_personal_data FOR ALL TO incident_tracker_lookup
    USING (occurred_at < now() - interval '1 day');

-- Erases, across tenants, what holds a deleted account's email, name or
-- client addresses:
-- - the addresses of audit events it did, or that nobody signed in did to
--   it (its sign-ins, its password resets); an admin's address, in an event
--   about the account, is the admin's and stays;
-- - the email in audit events and change events about invites it accepted,
--   and those invites;
-- - its email and name in change events about it as a member;
-- then anonymizes its row, with no password. Refuses an account not marked
-- deleted, or erased already.
CREATE FUNCTION account_erase(account uuid) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    pseudonym text := 'deleted:' || account;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM public.users u WHERE u.id = account AND u.deleted_at IS NOT NULL AND u.email <> pseudonym)
    THEN
        RAISE EXCEPTION 'only an account marked deleted is erased' USING ERRCODE = 'insufficient_privilege';
    END IF;
    UPDATE public.audit_personal_data SET client_ip = NULL, client_ip_salt = NULL
        WHERE client_ip IS NOT NULL AND (actor_id = account OR (actor_id IS NULL AND target_id = account));
    UPDATE public.audit_personal_data SET email = NULL, email_salt = NULL
        WHERE email IS NOT NULL AND target_id IN (SELECT i.id FROM public.invitations i WHERE i.accepted_by = account);
    UPDATE public.change_events SET data = data || jsonb_build_object('email', pseudonym)
        WHERE data ->> 'id' IN (SELECT i.id::text FROM public.invitations i WHERE i.accepted_by = account)
          AND data ? 'email';
    UPDATE public.change_events SET data = data || jsonb_build_object('email', pseudonym, 'name', 'Deleted user')
        WHERE data ->> 'user_id' = account::text AND data ? 'email';
    DELETE FROM public.invitations WHERE accepted_by = account;
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
