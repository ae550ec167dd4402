-- Account deletion, and personal data kept beside the audit log.
--
-- An audit event's hash may not change, so what deletion and retention must
-- be able to erase (the client address, an invitee's email) is not hashed
-- into it. It sits in audit_personal_data, salted, and the event hashes only
-- a digest of it (`personal_digest`; see src/audit/chain.rs). Erasing the row
-- leaves the chain verifying, and the salt, erased with it, leaves nothing to
-- guess the data back from. Events recorded before this have no digest and
-- keep their client address in the event itself.
ALTER TABLE audit_events ADD COLUMN personal_digest bytea CHECK (length(personal_digest) = 32);

CREATE TABLE audit_personal_data (
    tenant_id uuid NOT NULL,
    seq bigint NOT NULL,
    actor_id uuid,
    occurred_at timestamptz NOT NULL,
    salt bytea NOT NULL CHECK (length(salt) = 16),
    client_ip text,
    email text,
    PRIMARY KEY (tenant_id, seq)
);
SELECT enable_tenant_isolation('audit_personal_data');
GRANT SELECT, INSERT ON audit_personal_data TO incident_tracker_app;
CREATE INDEX audit_personal_data_occurred_at ON audit_personal_data (occurred_at);
CREATE INDEX audit_personal_data_actor_id ON audit_personal_data (actor_id);
CREATE INDEX audit_personal_data_email ON audit_personal_data (email) WHERE email IS NOT NULL;

-- A deleted account keeps its row, under its id, so what it did in tenants
-- stays attributed to the same pseudonym; the row holds nothing else: its
-- email becomes `deleted:<id>`, which no sign-in or sign-up accepts.
ALTER TABLE users ADD COLUMN deleted_at timestamptz;

-- Erasing crosses tenants: a deleted account's email sits in invitations and
-- change events of tenants it may never have joined. It runs as the lookup
-- role, whose policies admit only rows of an account marked deleted.
GRANT SELECT, UPDATE (email, name, password_hash, password_version, updated_at) ON users TO incident_tracker_lookup;
GRANT SELECT, DELETE ON audit_personal_data TO incident_tracker_lookup;
GRANT UPDATE (data) ON change_events TO incident_tracker_lookup;
CREATE POLICY account_erasure ON invitations FOR DELETE TO incident_tracker_lookup
    USING (email IN (SELECT u.email FROM users u WHERE u.deleted_at IS NOT NULL));
-- An updated row must stay visible to the role, so the pseudonym is
-- admitted as well as the email.
CREATE POLICY account_erasure ON change_events FOR ALL TO incident_tracker_lookup
    USING (data ->> 'email' IN (SELECT u.email FROM users u WHERE u.deleted_at IS NOT NULL)
           OR data ->> 'email' IN (SELECT 'deleted:' || u.id FROM users u WHERE u.deleted_at IS NOT NULL)
           OR data ->> 'user_id' IN (SELECT u.id::text FROM users u WHERE u.deleted_at IS NOT NULL))
    WITH CHECK (data ->> 'email' LIKE 'deleted:%');
CREATE POLICY account_erasure ON audit_personal_data FOR ALL TO incident_tracker_lookup
    USING (actor_id IN (SELECT u.id FROM users u WHERE u.deleted_at IS NOT NULL)
           OR email IN (SELECT u.email FROM users u WHERE u.deleted_at IS NOT NULL));
-- Retention never takes a day-old record: no setting is shorter.
CREATE POLICY retention_purge ON audit_personal_data FOR ALL TO incident_tracker_lookup
    USING (occurred_at < now() - interval '1 day');

-- Erases, across tenants, the email and name of an account marked deleted
-- (whose row still holds them): invitations to the email go, change events
-- naming the account show the pseudonym, and the personal data of audit
-- events it did or that name it goes. Then the row itself is anonymized,
-- with no password. Refuses an account not marked deleted, or done already.
CREATE FUNCTION account_erase(account uuid) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    address text;
    pseudonym text := 'deleted:' || account;
BEGIN
    SELECT u.email INTO address FROM public.users u
        WHERE u.id = account AND u.deleted_at IS NOT NULL AND u.email <> pseudonym;
    IF address IS NULL THEN
        RAISE EXCEPTION 'only an account marked deleted is erased' USING ERRCODE = 'insufficient_privilege';
    END IF;
    DELETE FROM public.invitations WHERE email = address;
    UPDATE public.change_events SET data = data || jsonb_build_object('email', pseudonym, 'name', 'Deleted user')
        WHERE data ->> 'user_id' = account::text AND data ? 'email';
    UPDATE public.change_events SET data = data || jsonb_build_object('email', pseudonym)
        WHERE data ->> 'email' = address;
    DELETE FROM public.audit_personal_data WHERE actor_id = account OR email = address;
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
