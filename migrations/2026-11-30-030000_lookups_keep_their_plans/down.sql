-- Back to SQL functions, as the earlier migrations created them.

-- Replacing a function takes its owner; the migrating role is one only
-- for the length of this migration, as when the functions were created.
GRANT incident_tracker_lookup TO CURRENT_USER;

CREATE OR REPLACE FUNCTION api_key_by_prefix(key_prefix text)
    RETURNS TABLE (
        id uuid, tenant_id uuid, service_account_id uuid, scopes text[], secret_hash bytea,
        expires_at timestamptz, revoked_at timestamptz, last_used_at timestamptz
    )
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
        SELECT k.id, k.tenant_id, k.service_account_id, k.scopes, k.secret_hash, k.expires_at, k.revoked_at,
               k.last_used_at
        FROM public.api_keys k WHERE k.prefix = key_prefix
    $$;

CREATE OR REPLACE FUNCTION user_memberships(member uuid)
    RETURNS TABLE (tenant_id uuid, tenant_name text, role text, tenant_created_at timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
        SELECT m.tenant_id, t.name, m.role, t.created_at
        FROM public.memberships m JOIN public.tenants t ON t.id = m.tenant_id
        WHERE m.user_id = member
    $$;

CREATE OR REPLACE FUNCTION usable_invitation(digest bytea)
    RETURNS TABLE (id uuid, tenant_id uuid, email text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
        SELECT i.id, i.tenant_id, i.email FROM public.invitations i
        WHERE i.token_hash = digest AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now()
    $$;

REVOKE incident_tracker_lookup FROM CURRENT_USER;
