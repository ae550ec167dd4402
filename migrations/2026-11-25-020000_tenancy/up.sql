-- Tenants, their members, invitations and the hash-chained audit log. Every
-- table here is tenant-scoped: row-level security is enabled and forced.

CREATE TABLE tenants (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    created_at timestamptz NOT NULL DEFAULT now()
);
-- A tenant's own row is its tenant_id: visible only inside its own scope.
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants
    USING (id = current_tenant_id()) WITH CHECK (id = current_tenant_id());

CREATE TABLE memberships (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role text NOT NULL CHECK (role IN ('owner', 'admin', 'responder', 'viewer')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX memberships_user_id ON memberships (user_id);
SELECT enable_tenant_isolation('memberships');

-- Only the SHA-256 of an invitation token is stored; the token itself goes
-- out by mail once.
CREATE TABLE invitations (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    email text NOT NULL CHECK (email = lower(btrim(email)) AND length(email) BETWEEN 3 AND 254),
    role text NOT NULL CHECK (role IN ('owner', 'admin', 'responder', 'viewer')),
    token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    invited_by uuid NOT NULL REFERENCES users (id),
    expires_at timestamptz NOT NULL,
    accepted_at timestamptz,
    accepted_by uuid REFERENCES users (id),
    revoked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX invitations_tenant_id ON invitations (tenant_id, id);
SELECT enable_tenant_isolation('invitations');

-- One hash chain per tenant; the nil UUID is the platform's chain, for
-- events that belong to no tenant (a failed sign-in of an unknown email).
-- hash = SHA-256 over the event's canonical encoding and prev_hash; see
-- src/audit/chain.rs.
CREATE TABLE audit_events (
    tenant_id uuid NOT NULL,
    seq bigint NOT NULL CHECK (seq > 0),
    action text NOT NULL,
    actor_type text NOT NULL,
    actor_id uuid,
    target_type text,
    target_id uuid,
    request_id text,
    client_ip text,
    occurred_at timestamptz NOT NULL,
    metadata jsonb NOT NULL,
    prev_hash bytea NOT NULL CHECK (length(prev_hash) = 32),
    hash bytea NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (tenant_id, seq)
);
SELECT enable_tenant_isolation('audit_events');

-- Append-only for everyone, the owner included: changing history takes
-- disabling this trigger on purpose, and the chain still shows it.
CREATE FUNCTION refuse_audit_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION refuse_audit_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_change();

-- The last event of each chain. Appending locks this row, so concurrent
-- writers of one tenant take turns and the chain never forks; the verifier
-- also compares against it, so dropping the newest events shows. A chain
-- starts at seq 0 with a hash of zeros.
CREATE TABLE audit_chain_heads (
    tenant_id uuid PRIMARY KEY,
    seq bigint NOT NULL CHECK (seq >= 0),
    hash bytea NOT NULL CHECK (length(hash) = 32)
);
SELECT enable_tenant_isolation('audit_chain_heads');

-- A head starts at zero and only ever moves to the event appended right
-- after it, so the server's role cannot point it back to hide newer events.
CREATE FUNCTION guard_audit_chain_head() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.seq = 0 AND NEW.hash = decode(repeat('00', 32), 'hex') THEN
            RETURN NEW;
        END IF;
    ELSIF NEW.tenant_id = OLD.tenant_id AND NEW.seq = OLD.seq + 1 AND EXISTS (
        SELECT 1 FROM public.audit_events e
        WHERE e.tenant_id = NEW.tenant_id AND e.seq = NEW.seq AND e.hash = NEW.hash AND e.prev_hash = OLD.hash
    ) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'an audit chain head only advances to the event appended after it'
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_chain_heads_advance_only BEFORE INSERT OR UPDATE ON audit_chain_heads
    FOR EACH ROW EXECUTE FUNCTION guard_audit_chain_head();

GRANT SELECT, INSERT ON tenants TO incident_tracker_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON memberships TO incident_tracker_app;
GRANT SELECT, INSERT, UPDATE ON invitations TO incident_tracker_app;
GRANT SELECT, INSERT ON audit_events TO incident_tracker_app;
GRANT SELECT, INSERT, UPDATE ON audit_chain_heads TO incident_tracker_app;

-- Two questions must be answered before a tenant is known: which tenants a
-- user belongs to, and which invitation a token is for. Functions owned by
-- this role answer them. It may only read, through policies of its own, and
-- only these functions run as it; no login role is a member (the server
-- refuses to start as one that is).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'incident_tracker_lookup') THEN
        CREATE ROLE incident_tracker_lookup NOLOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA public TO incident_tracker_lookup;
GRANT SELECT ON tenants, memberships, invitations TO incident_tracker_lookup;
CREATE POLICY cross_tenant_lookup ON tenants FOR SELECT TO incident_tracker_lookup USING (true);
CREATE POLICY cross_tenant_lookup ON memberships FOR SELECT TO incident_tracker_lookup USING (true);
CREATE POLICY cross_tenant_lookup ON invitations FOR SELECT TO incident_tracker_lookup USING (true);

-- Tables are schema-qualified and pg_temp is searched last, so a caller's
-- temporary table or view cannot stand in for them and be read with this
-- role's privileges.
CREATE FUNCTION user_memberships(member uuid)
    RETURNS TABLE (tenant_id uuid, tenant_name text, role text, tenant_created_at timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
        SELECT m.tenant_id, t.name, m.role, t.created_at
        FROM public.memberships m JOIN public.tenants t ON t.id = m.tenant_id
        WHERE m.user_id = member
    $$;

-- The usable invitation a token's SHA-256 belongs to: nothing for a used,
-- revoked, expired or unknown one.
CREATE FUNCTION usable_invitation(digest bytea)
    RETURNS TABLE (id uuid, tenant_id uuid, email text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
        SELECT i.id, i.tenant_id, i.email FROM public.invitations i
        WHERE i.token_hash = digest AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now()
    $$;

-- Handing the functions over takes, for an owner that is not a superuser,
-- being able to act as the new owner, which needs CREATE on the schema.
-- Both are taken back once the functions' privileges are set (which takes
-- acting as their owner): an owner that stayed a member would see every
-- tenant through the lookup policies.
GRANT incident_tracker_lookup TO CURRENT_USER;
GRANT CREATE ON SCHEMA public TO incident_tracker_lookup;
ALTER FUNCTION user_memberships(uuid) OWNER TO incident_tracker_lookup;
ALTER FUNCTION usable_invitation(bytea) OWNER TO incident_tracker_lookup;
REVOKE EXECUTE ON FUNCTION user_memberships(uuid), usable_invitation(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION user_memberships(uuid), usable_invitation(bytea) TO incident_tracker_app;
REVOKE CREATE ON SCHEMA public FROM incident_tracker_lookup;
REVOKE incident_tracker_lookup FROM CURRENT_USER;
REVOKE EXECUTE ON FUNCTION refuse_audit_change(), guard_audit_chain_head() FROM PUBLIC;
