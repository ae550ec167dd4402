--
-- PostgreSQL database dump
--




--
-- Name: btree_gin; Type: EXTENSION; Schema: -; Owner: -
--

CREATE EXTENSION IF NOT EXISTS btree_gin WITH SCHEMA public;


--
-- Name: account_erase(uuid); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.account_erase(account uuid) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
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


--
-- Name: api_key_by_prefix(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.api_key_by_prefix(key_prefix text) RETURNS TABLE(id uuid, tenant_id uuid, service_account_id uuid, scopes text[], secret_hash bytea, expires_at timestamp with time zone, revoked_at timestamp with time zone, last_used_at timestamp with time zone)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    RETURN QUERY
        SELECT k.id, k.tenant_id, k.service_account_id, k.scopes, k.secret_hash, k.expires_at, k.revoked_at,
               k.last_used_at
        FROM public.api_keys k WHERE k.prefix = key_prefix;
END
$$;


--
-- Name: attachments_awaiting_scan(timestamp with time zone, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.attachments_awaiting_scan(due_by timestamp with time zone, most bigint) RETURNS TABLE(tenant_id uuid, id uuid)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    RETURN QUERY
        SELECT a.tenant_id, a.id FROM public.attachments a
        WHERE a.status = 'scanning' AND a.next_scan_at <= due_by
        ORDER BY a.next_scan_at LIMIT most;
END
$$;


--
-- Name: change_events_purge(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.change_events_purge() RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    purged bigint;
BEGIN
    DELETE FROM public.change_events WHERE occurred_at < now() - interval '30 days';
    GET DIAGNOSTICS purged = ROW_COUNT;
    RETURN purged;
END
$$;


--
-- Name: current_tenant_id(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.current_tenant_id() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;


--
-- Name: deleted_webhooks_purge(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.deleted_webhooks_purge() RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    purged bigint;
BEGIN
    DELETE FROM public.webhooks WHERE deleted_at < now() - interval '30 days';
    GET DIAGNOSTICS purged = ROW_COUNT;
    RETURN purged;
END
$$;


--
-- Name: enable_tenant_isolation(regclass); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.enable_tenant_isolation(target regclass) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', target);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', target);
    EXECUTE format(
        'CREATE POLICY tenant_isolation ON %s USING (tenant_id = current_tenant_id()) '
        'WITH CHECK (tenant_id = current_tenant_id())',
        target
    );
END
$$;


--
-- Name: guard_audit_chain_head(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.guard_audit_chain_head() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
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


--
-- Name: refuse_audit_change(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.refuse_audit_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;


--
-- Name: retention_purge_attachment_urls(timestamp with time zone); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.retention_purge_attachment_urls(finished_before timestamp with time zone) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    purged bigint;
BEGIN
    DELETE FROM public.attachment_urls WHERE expires_at < least(finished_before, now());
    GET DIAGNOSTICS purged = ROW_COUNT;
    RETURN purged;
END
$$;


--
-- Name: retention_purge_audit_personal_data(timestamp with time zone); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.retention_purge_audit_personal_data(recorded_before timestamp with time zone) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    purged bigint;
BEGIN
    DELETE FROM public.audit_personal_data WHERE occurred_at < least(recorded_before, now() - interval '1 day');
    GET DIAGNOSTICS purged = ROW_COUNT;
    RETURN purged;
END
$$;


--
-- Name: retention_purge_invitations(timestamp with time zone); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.retention_purge_invitations(finished_before timestamp with time zone) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    purged bigint;
BEGIN
    DELETE FROM public.invitations
        WHERE accepted_at IS NULL AND (revoked_at IS NOT NULL OR expires_at < now())
          AND coalesce(revoked_at, expires_at) < least(finished_before, now());
    GET DIAGNOSTICS purged = ROW_COUNT;
    RETURN purged;
END
$$;


--
-- Name: retention_purge_usage(date); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.retention_purge_usage(first_kept date) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET "TimeZone" TO 'UTC'
    AS $$
DECLARE
    counts bigint;
    days bigint;
BEGIN
    DELETE FROM public.usage_counts WHERE day < least(first_kept, current_date);
    GET DIAGNOSTICS counts = ROW_COUNT;
    DELETE FROM public.usage_write_days WHERE day < least(first_kept, current_date);
    GET DIAGNOSTICS days = ROW_COUNT;
    RETURN counts + days;
END
$$;


--
-- Name: usable_invitation(bytea); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.usable_invitation(digest bytea) RETURNS TABLE(id uuid, tenant_id uuid, email text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    RETURN QUERY
        SELECT i.id, i.tenant_id, i.email FROM public.invitations i
        WHERE i.token_hash = digest AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now();
END
$$;


--
-- Name: user_memberships(uuid); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.user_memberships(member uuid) RETURNS TABLE(tenant_id uuid, tenant_name text, role text, tenant_created_at timestamp with time zone)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    RETURN QUERY
        SELECT m.tenant_id, t.name, m.role, t.created_at
        FROM public.memberships m JOIN public.tenants t ON t.id = m.tenant_id
        WHERE m.user_id = member;
END
$$;


--
-- Name: webhook_deliveries_due(timestamp with time zone, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.webhook_deliveries_due(due_by timestamp with time zone, most bigint) RETURNS TABLE(tenant_id uuid, id uuid)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    RETURN QUERY
        SELECT d.tenant_id, d.id FROM public.webhook_deliveries d
        WHERE d.status = 'pending' AND d.next_attempt_at <= due_by
          AND (d.claimed_until IS NULL OR d.claimed_until < due_by)
          AND NOT EXISTS (
              SELECT 1 FROM public.webhook_deliveries e
              WHERE e.status = 'pending' AND e.tenant_id = d.tenant_id AND e.webhook_id = d.webhook_id
                AND e.incident_id IS NOT DISTINCT FROM d.incident_id AND e.event_seq < d.event_seq
          )
        ORDER BY d.next_attempt_at LIMIT most;
END
$$;




--
-- Name: __diesel_schema_migrations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.__diesel_schema_migrations (
    version character varying(50) NOT NULL,
    run_on timestamp without time zone DEFAULT CURRENT_TIMESTAMP NOT NULL
);


--
-- Name: api_keys; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.api_keys (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    service_account_id uuid NOT NULL,
    name text NOT NULL,
    scopes text[] NOT NULL,
    prefix text NOT NULL,
    secret_hash bytea NOT NULL,
    created_by uuid NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone,
    last_used_at timestamp with time zone,
    revoked_at timestamp with time zone,
    CONSTRAINT api_keys_name_check CHECK (((length(name) >= 1) AND (length(name) <= 100))),
    CONSTRAINT api_keys_prefix_check CHECK ((prefix ~ '^itk_[a-z0-9]{12}$'::text)),
    CONSTRAINT api_keys_scopes_check CHECK (((scopes = '{read}'::text[]) OR (scopes = '{read,write}'::text[]))),
    CONSTRAINT api_keys_secret_hash_check CHECK ((length(secret_hash) = 32))
);

ALTER TABLE ONLY public.api_keys FORCE ROW LEVEL SECURITY;


--
-- Name: attachment_urls; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.attachment_urls (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    attachment_id uuid NOT NULL,
    purpose text NOT NULL,
    issued_to_type text NOT NULL,
    issued_to_id uuid NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    used_at timestamp with time zone,
    CONSTRAINT attachment_urls_issued_to_type_check CHECK ((issued_to_type = ANY (ARRAY['user'::text, 'service_account'::text]))),
    CONSTRAINT attachment_urls_purpose_check CHECK ((purpose = ANY (ARRAY['upload'::text, 'download'::text])))
);

ALTER TABLE ONLY public.attachment_urls FORCE ROW LEVEL SECURITY;


--
-- Name: attachments; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.attachments (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    incident_id uuid NOT NULL,
    file_name text NOT NULL,
    content_type text NOT NULL,
    size_bytes bigint NOT NULL,
    status text NOT NULL,
    object_key text,
    sha256 bytea,
    threat text,
    created_by_type text NOT NULL,
    created_by_id uuid NOT NULL,
    created_at timestamp with time zone NOT NULL,
    uploaded_at timestamp with time zone,
    scanned_at timestamp with time zone,
    scan_attempts integer DEFAULT 0 NOT NULL,
    next_scan_at timestamp with time zone,
    CONSTRAINT attachments_check CHECK (((status = 'pending'::text) = (object_key IS NULL))),
    CONSTRAINT attachments_check1 CHECK (((status = 'pending'::text) = (sha256 IS NULL))),
    CONSTRAINT attachments_content_type_check CHECK ((content_type = ANY (ARRAY['image/png'::text, 'image/jpeg'::text, 'application/pdf'::text, 'text/plain'::text]))),
    CONSTRAINT attachments_created_by_type_check CHECK ((created_by_type = ANY (ARRAY['user'::text, 'service_account'::text]))),
    CONSTRAINT attachments_file_name_check CHECK (((length(file_name) >= 1) AND (length(file_name) <= 255))),
    CONSTRAINT attachments_scan_attempts_check CHECK ((scan_attempts >= 0)),
    CONSTRAINT attachments_sha256_check CHECK ((length(sha256) = 32)),
    CONSTRAINT attachments_size_bytes_check CHECK (((size_bytes >= 1) AND (size_bytes <= 10485760))),
    CONSTRAINT attachments_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'scanning'::text, 'clean'::text, 'infected'::text, 'failed'::text, 'unscanned'::text])))
);

ALTER TABLE ONLY public.attachments FORCE ROW LEVEL SECURITY;


--
-- Name: audit_chain_heads; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_chain_heads (
    tenant_id uuid NOT NULL,
    seq bigint NOT NULL,
    hash bytea NOT NULL,
    CONSTRAINT audit_chain_heads_hash_check CHECK ((length(hash) = 32)),
    CONSTRAINT audit_chain_heads_seq_check CHECK ((seq >= 0))
);

ALTER TABLE ONLY public.audit_chain_heads FORCE ROW LEVEL SECURITY;


--
-- Name: audit_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_events (
    tenant_id uuid NOT NULL,
    seq bigint NOT NULL,
    action text NOT NULL,
    actor_type text NOT NULL,
    actor_id uuid,
    target_type text,
    target_id uuid,
    request_id text,
    client_ip text,
    occurred_at timestamp with time zone NOT NULL,
    metadata jsonb NOT NULL,
    prev_hash bytea NOT NULL,
    hash bytea NOT NULL,
    address_digest bytea,
    email_digest bytea,
    CONSTRAINT audit_events_address_digest_check CHECK ((length(address_digest) = 32)),
    CONSTRAINT audit_events_email_digest_check CHECK ((length(email_digest) = 32)),
    CONSTRAINT audit_events_hash_check CHECK ((length(hash) = 32)),
    CONSTRAINT audit_events_prev_hash_check CHECK ((length(prev_hash) = 32)),
    CONSTRAINT audit_events_seq_check CHECK ((seq > 0))
);

ALTER TABLE ONLY public.audit_events FORCE ROW LEVEL SECURITY;


--
-- Name: audit_personal_data; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_personal_data (
    tenant_id uuid NOT NULL,
    seq bigint NOT NULL,
    occurred_at timestamp with time zone NOT NULL,
    actor_id uuid,
    target_id uuid,
    client_ip text,
    client_ip_salt bytea,
    email text,
    email_salt bytea,
    CONSTRAINT audit_personal_data_check CHECK ((((client_ip IS NULL) = (client_ip_salt IS NULL)) AND ((email IS NULL) = (email_salt IS NULL)))),
    CONSTRAINT audit_personal_data_client_ip_salt_check CHECK ((length(client_ip_salt) = 16)),
    CONSTRAINT audit_personal_data_email_salt_check CHECK ((length(email_salt) = 16))
);

ALTER TABLE ONLY public.audit_personal_data FORCE ROW LEVEL SECURITY;


--
-- Name: change_event_counters; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.change_event_counters (
    tenant_id uuid NOT NULL,
    last_seq bigint NOT NULL,
    CONSTRAINT change_event_counters_last_seq_check CHECK ((last_seq >= 0))
);

ALTER TABLE ONLY public.change_event_counters FORCE ROW LEVEL SECURITY;


--
-- Name: change_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.change_events (
    tenant_id uuid NOT NULL,
    seq bigint NOT NULL,
    id uuid NOT NULL,
    type text NOT NULL,
    incident_id uuid,
    occurred_at timestamp with time zone NOT NULL,
    data jsonb NOT NULL,
    CONSTRAINT change_events_seq_check CHECK ((seq > 0)),
    CONSTRAINT change_events_type_check CHECK ((type ~ '^[a-z_]+\.[a-z_]+$'::text))
);

ALTER TABLE ONLY public.change_events FORCE ROW LEVEL SECURITY;


--
-- Name: idempotency_keys; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.idempotency_keys (
    tenant_id uuid NOT NULL,
    principal_type text NOT NULL,
    principal_id uuid NOT NULL,
    operation text NOT NULL,
    key text NOT NULL,
    request_digest bytea NOT NULL,
    response jsonb NOT NULL,
    created_at timestamp with time zone NOT NULL,
    CONSTRAINT idempotency_keys_key_check CHECK (((length(key) >= 1) AND (length(key) <= 255))),
    CONSTRAINT idempotency_keys_principal_type_check CHECK ((principal_type = ANY (ARRAY['user'::text, 'api_key'::text]))),
    CONSTRAINT idempotency_keys_request_digest_check CHECK ((length(request_digest) = 32))
);

ALTER TABLE ONLY public.idempotency_keys FORCE ROW LEVEL SECURITY;


--
-- Name: incident_numbers; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.incident_numbers (
    tenant_id uuid NOT NULL,
    last_number bigint NOT NULL,
    CONSTRAINT incident_numbers_last_number_check CHECK ((last_number > 0))
);

ALTER TABLE ONLY public.incident_numbers FORCE ROW LEVEL SECURITY;


--
-- Name: incident_tasks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.incident_tasks (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    incident_id uuid NOT NULL,
    title text NOT NULL,
    description text NOT NULL,
    status text NOT NULL,
    assignee_id uuid,
    due_at timestamp with time zone,
    completed_at timestamp with time zone,
    created_by_type text NOT NULL,
    created_by_id uuid NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    version bigint NOT NULL,
    CONSTRAINT incident_tasks_created_by_type_check CHECK ((created_by_type = ANY (ARRAY['user'::text, 'service_account'::text]))),
    CONSTRAINT incident_tasks_description_check CHECK ((length(description) <= 10000)),
    CONSTRAINT incident_tasks_status_check CHECK ((status = ANY (ARRAY['open'::text, 'in_progress'::text, 'done'::text, 'wont_do'::text]))),
    CONSTRAINT incident_tasks_title_check CHECK (((length(title) >= 1) AND (length(title) <= 200))),
    CONSTRAINT incident_tasks_version_check CHECK ((version > 0))
);

ALTER TABLE ONLY public.incident_tasks FORCE ROW LEVEL SECURITY;


--
-- Name: incidents; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.incidents (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    number bigint NOT NULL,
    title text NOT NULL,
    summary text NOT NULL,
    severity text NOT NULL,
    status text NOT NULL,
    commander_id uuid,
    labels text[] NOT NULL,
    created_by_type text NOT NULL,
    created_by_id uuid NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    acknowledged_at timestamp with time zone,
    mitigated_at timestamp with time zone,
    resolved_at timestamp with time zone,
    closed_at timestamp with time zone,
    reopen_count integer DEFAULT 0 NOT NULL,
    version bigint NOT NULL,
    search tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, ((title || ' '::text) || summary))) STORED NOT NULL,
    CONSTRAINT incidents_created_by_type_check CHECK ((created_by_type = ANY (ARRAY['user'::text, 'service_account'::text]))),
    CONSTRAINT incidents_labels_check CHECK ((cardinality(labels) <= 20)),
    CONSTRAINT incidents_number_check CHECK ((number > 0)),
    CONSTRAINT incidents_reopen_count_check CHECK ((reopen_count >= 0)),
    CONSTRAINT incidents_severity_check CHECK ((severity = ANY (ARRAY['sev1'::text, 'sev2'::text, 'sev3'::text, 'sev4'::text]))),
    CONSTRAINT incidents_status_check CHECK ((status = ANY (ARRAY['triage'::text, 'investigating'::text, 'mitigated'::text, 'resolved'::text, 'closed'::text, 'declined'::text]))),
    CONSTRAINT incidents_summary_check CHECK ((length(summary) <= 20000)),
    CONSTRAINT incidents_title_check CHECK (((length(title) >= 1) AND (length(title) <= 200))),
    CONSTRAINT incidents_version_check CHECK ((version > 0))
);

ALTER TABLE ONLY public.incidents FORCE ROW LEVEL SECURITY;


--
-- Name: invitations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.invitations (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    email text NOT NULL,
    role text NOT NULL,
    token_hash bytea NOT NULL,
    invited_by uuid NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    accepted_at timestamp with time zone,
    accepted_by uuid,
    revoked_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT invitations_email_check CHECK (((email = lower(btrim(email))) AND ((length(email) >= 3) AND (length(email) <= 254)))),
    CONSTRAINT invitations_role_check CHECK ((role = ANY (ARRAY['owner'::text, 'admin'::text, 'responder'::text, 'viewer'::text]))),
    CONSTRAINT invitations_token_hash_check CHECK ((length(token_hash) = 32))
);

ALTER TABLE ONLY public.invitations FORCE ROW LEVEL SECURITY;


--
-- Name: mail_outbox; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.mail_outbox (
    id uuid NOT NULL,
    recipient text NOT NULL,
    subject text NOT NULL,
    body text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone DEFAULT now() NOT NULL,
    discard_after timestamp with time zone,
    last_error text,
    failed_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);


--
-- Name: memberships; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.memberships (
    tenant_id uuid NOT NULL,
    user_id uuid NOT NULL,
    role text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT memberships_role_check CHECK ((role = ANY (ARRAY['owner'::text, 'admin'::text, 'responder'::text, 'viewer'::text])))
);

ALTER TABLE ONLY public.memberships FORCE ROW LEVEL SECURITY;


--
-- Name: mfa_challenges; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.mfa_challenges (
    token_hash bytea NOT NULL,
    user_id uuid NOT NULL,
    password_version integer NOT NULL,
    failed_codes integer DEFAULT 0 NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    used_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT mfa_challenges_token_hash_check CHECK ((length(token_hash) = 32))
);


--
-- Name: password_reset_tokens; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.password_reset_tokens (
    id uuid NOT NULL,
    user_id uuid NOT NULL,
    token_hash bytea NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    used_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT password_reset_tokens_token_hash_check CHECK ((length(token_hash) = 32))
);


--
-- Name: recovery_codes; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.recovery_codes (
    user_id uuid NOT NULL,
    code_hash bytea NOT NULL,
    used_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT recovery_codes_code_hash_check CHECK ((length(code_hash) = 32))
);


--
-- Name: service_accounts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.service_accounts (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    name text NOT NULL,
    created_by uuid NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT service_accounts_name_check CHECK (((length(name) >= 1) AND (length(name) <= 100)))
);

ALTER TABLE ONLY public.service_accounts FORCE ROW LEVEL SECURITY;


--
-- Name: status_updates; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.status_updates (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    incident_id uuid NOT NULL,
    body text NOT NULL,
    audience text NOT NULL,
    status text NOT NULL,
    severity text NOT NULL,
    changed_status boolean NOT NULL,
    changed_severity boolean NOT NULL,
    created_by_type text NOT NULL,
    created_by_id uuid NOT NULL,
    created_at timestamp with time zone NOT NULL,
    CONSTRAINT status_updates_audience_check CHECK ((audience = ANY (ARRAY['internal'::text, 'public'::text]))),
    CONSTRAINT status_updates_body_check CHECK (((length(body) >= 1) AND (length(body) <= 10000))),
    CONSTRAINT status_updates_created_by_type_check CHECK ((created_by_type = ANY (ARRAY['user'::text, 'service_account'::text])))
);

ALTER TABLE ONLY public.status_updates FORCE ROW LEVEL SECURITY;


--
-- Name: tenants; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.tenants (
    id uuid NOT NULL,
    name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    daily_write_quota integer,
    CONSTRAINT tenants_daily_write_quota_check CHECK ((daily_write_quota >= 0)),
    CONSTRAINT tenants_name_check CHECK (((length(name) >= 1) AND (length(name) <= 100)))
);

ALTER TABLE ONLY public.tenants FORCE ROW LEVEL SECURITY;


--
-- Name: timeline_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.timeline_events (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    incident_id uuid NOT NULL,
    kind text NOT NULL,
    body text,
    data jsonb NOT NULL,
    actor_type text NOT NULL,
    actor_id uuid NOT NULL,
    occurred_at timestamp with time zone NOT NULL,
    recorded_at timestamp with time zone NOT NULL,
    CONSTRAINT timeline_events_actor_type_check CHECK ((actor_type = ANY (ARRAY['user'::text, 'service_account'::text]))),
    CONSTRAINT timeline_events_body_check CHECK ((length(body) <= 10000)),
    CONSTRAINT timeline_events_kind_check CHECK ((kind = ANY (ARRAY['note'::text, 'incident_created'::text, 'status_changed'::text, 'severity_changed'::text, 'commander_changed'::text, 'field_changed'::text, 'task_created'::text, 'task_status_changed'::text, 'status_update_posted'::text])))
);

ALTER TABLE ONLY public.timeline_events FORCE ROW LEVEL SECURITY;


--
-- Name: totp_factors; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.totp_factors (
    user_id uuid NOT NULL,
    secret bytea NOT NULL,
    confirmed_at timestamp with time zone,
    last_used_step bigint DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT totp_factors_secret_check CHECK ((length(secret) = 20))
);


--
-- Name: usage_counts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.usage_counts (
    tenant_id uuid NOT NULL,
    day date NOT NULL,
    principal_type text NOT NULL,
    principal_id uuid NOT NULL,
    reads bigint DEFAULT 0 NOT NULL,
    writes bigint DEFAULT 0 NOT NULL,
    CONSTRAINT usage_counts_principal_type_check CHECK ((principal_type = ANY (ARRAY['user'::text, 'api_key'::text]))),
    CONSTRAINT usage_counts_reads_check CHECK ((reads >= 0)),
    CONSTRAINT usage_counts_writes_check CHECK ((writes >= 0))
);

ALTER TABLE ONLY public.usage_counts FORCE ROW LEVEL SECURITY;


--
-- Name: usage_write_days; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.usage_write_days (
    tenant_id uuid NOT NULL,
    day date NOT NULL,
    writes bigint NOT NULL,
    write_quota bigint NOT NULL,
    CONSTRAINT usage_write_days_write_quota_check CHECK ((write_quota >= 0)),
    CONSTRAINT usage_write_days_writes_check CHECK ((writes >= 0))
);

ALTER TABLE ONLY public.usage_write_days FORCE ROW LEVEL SECURITY;


--
-- Name: users; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.users (
    id uuid NOT NULL,
    email text NOT NULL,
    name text NOT NULL,
    password_hash text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    password_normalized boolean DEFAULT false NOT NULL,
    password_version integer DEFAULT 0 NOT NULL,
    deleted_at timestamp with time zone,
    CONSTRAINT users_email_check CHECK (((email = lower(btrim(email))) AND ((length(email) >= 3) AND (length(email) <= 254)))),
    CONSTRAINT users_name_check CHECK (((length(name) >= 1) AND (length(name) <= 100)))
);


--
-- Name: webhook_deliveries; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.webhook_deliveries (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    webhook_id uuid NOT NULL,
    event_seq bigint NOT NULL,
    incident_id uuid,
    status text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone NOT NULL,
    claimed_until timestamp with time zone,
    claim uuid,
    last_status_code integer,
    last_error text,
    last_latency_ms integer,
    created_at timestamp with time zone NOT NULL,
    delivered_at timestamp with time zone,
    event_id uuid NOT NULL,
    CONSTRAINT webhook_deliveries_attempts_check CHECK ((attempts >= 0)),
    CONSTRAINT webhook_deliveries_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'delivered'::text, 'failed'::text])))
);

ALTER TABLE ONLY public.webhook_deliveries FORCE ROW LEVEL SECURITY;


--
-- Name: webhooks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.webhooks (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    url text NOT NULL,
    event_types text[],
    enabled boolean NOT NULL,
    description text NOT NULL,
    secret text NOT NULL,
    previous_secret text,
    previous_secret_expires_at timestamp with time zone,
    failing_since timestamp with time zone,
    deleted_at timestamp with time zone,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    CONSTRAINT webhooks_check CHECK (((deleted_at IS NULL) OR ((NOT enabled) AND (secret = ''::text) AND (previous_secret IS NULL)))),
    CONSTRAINT webhooks_description_check CHECK ((length(description) <= 500)),
    CONSTRAINT webhooks_url_check CHECK (((length(url) >= 1) AND (length(url) <= 2000)))
);

ALTER TABLE ONLY public.webhooks FORCE ROW LEVEL SECURITY;


--
-- Name: __diesel_schema_migrations __diesel_schema_migrations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.__diesel_schema_migrations
    ADD CONSTRAINT __diesel_schema_migrations_pkey PRIMARY KEY (version);


--
-- Name: api_keys api_keys_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_pkey PRIMARY KEY (id);


--
-- Name: api_keys api_keys_prefix_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_prefix_key UNIQUE (prefix);


--
-- Name: attachment_urls attachment_urls_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.attachment_urls
    ADD CONSTRAINT attachment_urls_pkey PRIMARY KEY (id);


--
-- Name: attachments attachments_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.attachments
    ADD CONSTRAINT attachments_pkey PRIMARY KEY (id);


--
-- Name: attachments attachments_tenant_id_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.attachments
    ADD CONSTRAINT attachments_tenant_id_id_key UNIQUE (tenant_id, id);


--
-- Name: audit_chain_heads audit_chain_heads_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_chain_heads
    ADD CONSTRAINT audit_chain_heads_pkey PRIMARY KEY (tenant_id);


--
-- Name: audit_events audit_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_events
    ADD CONSTRAINT audit_events_pkey PRIMARY KEY (tenant_id, seq);


--
-- Name: audit_personal_data audit_personal_data_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_personal_data
    ADD CONSTRAINT audit_personal_data_pkey PRIMARY KEY (tenant_id, seq);


--
-- Name: change_event_counters change_event_counters_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.change_event_counters
    ADD CONSTRAINT change_event_counters_pkey PRIMARY KEY (tenant_id);


--
-- Name: change_events change_events_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.change_events
    ADD CONSTRAINT change_events_id_key UNIQUE (id);


--
-- Name: change_events change_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.change_events
    ADD CONSTRAINT change_events_pkey PRIMARY KEY (tenant_id, seq);


--
-- Name: idempotency_keys idempotency_keys_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.idempotency_keys
    ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY (tenant_id, principal_type, principal_id, operation, key);


--
-- Name: incident_numbers incident_numbers_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.incident_numbers
    ADD CONSTRAINT incident_numbers_pkey PRIMARY KEY (tenant_id);


--
-- Name: incident_tasks incident_tasks_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.incident_tasks
    ADD CONSTRAINT incident_tasks_pkey PRIMARY KEY (id);


--
-- Name: incidents incidents_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.incidents
    ADD CONSTRAINT incidents_pkey PRIMARY KEY (id);


--
-- Name: incidents incidents_tenant_id_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.incidents
    ADD CONSTRAINT incidents_tenant_id_id_key UNIQUE (tenant_id, id);


--
-- Name: incidents incidents_tenant_id_number_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.incidents
    ADD CONSTRAINT incidents_tenant_id_number_key UNIQUE (tenant_id, number);


--
-- Name: invitations invitations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.invitations
    ADD CONSTRAINT invitations_pkey PRIMARY KEY (id);


--
-- Name: invitations invitations_token_hash_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.invitations
    ADD CONSTRAINT invitations_token_hash_key UNIQUE (token_hash);


--
-- Name: mail_outbox mail_outbox_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.mail_outbox
    ADD CONSTRAINT mail_outbox_pkey PRIMARY KEY (id);


--
-- Name: memberships memberships_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.memberships
    ADD CONSTRAINT memberships_pkey PRIMARY KEY (tenant_id, user_id);


--
-- Name: mfa_challenges mfa_challenges_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.mfa_challenges
    ADD CONSTRAINT mfa_challenges_pkey PRIMARY KEY (token_hash);


--
-- Name: password_reset_tokens password_reset_tokens_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.password_reset_tokens
    ADD CONSTRAINT password_reset_tokens_pkey PRIMARY KEY (id);


--
-- Name: password_reset_tokens password_reset_tokens_token_hash_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.password_reset_tokens
    ADD CONSTRAINT password_reset_tokens_token_hash_key UNIQUE (token_hash);


--
-- Name: recovery_codes recovery_codes_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.recovery_codes
    ADD CONSTRAINT recovery_codes_pkey PRIMARY KEY (user_id, code_hash);


--
-- Name: service_accounts service_accounts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.service_accounts
    ADD CONSTRAINT service_accounts_pkey PRIMARY KEY (id);


--
-- Name: service_accounts service_accounts_tenant_id_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.service_accounts
    ADD CONSTRAINT service_accounts_tenant_id_id_key UNIQUE (tenant_id, id);


--
-- Name: status_updates status_updates_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.status_updates
    ADD CONSTRAINT status_updates_pkey PRIMARY KEY (id);


--
-- Name: tenants tenants_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tenants
    ADD CONSTRAINT tenants_pkey PRIMARY KEY (id);


--
-- Name: timeline_events timeline_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.timeline_events
    ADD CONSTRAINT timeline_events_pkey PRIMARY KEY (id);


--
-- Name: totp_factors totp_factors_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.totp_factors
    ADD CONSTRAINT totp_factors_pkey PRIMARY KEY (user_id);


--
-- Name: usage_counts usage_counts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.usage_counts
    ADD CONSTRAINT usage_counts_pkey PRIMARY KEY (tenant_id, day, principal_type, principal_id);


--
-- Name: usage_write_days usage_write_days_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.usage_write_days
    ADD CONSTRAINT usage_write_days_pkey PRIMARY KEY (tenant_id, day);


--
-- Name: users users_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);


--
-- Name: webhook_deliveries webhook_deliveries_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id);


--
-- Name: webhooks webhooks_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhooks
    ADD CONSTRAINT webhooks_pkey PRIMARY KEY (id);


--
-- Name: webhooks webhooks_tenant_id_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhooks
    ADD CONSTRAINT webhooks_tenant_id_id_key UNIQUE (tenant_id, id);


--
-- Name: api_keys_tenant_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX api_keys_tenant_id ON public.api_keys USING btree (tenant_id, id);


--
-- Name: attachment_urls_by_attachment; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX attachment_urls_by_attachment ON public.attachment_urls USING btree (tenant_id, attachment_id);


--
-- Name: attachment_urls_expires_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX attachment_urls_expires_at ON public.attachment_urls USING btree (expires_at);


--
-- Name: attachments_awaiting_scan; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX attachments_awaiting_scan ON public.attachments USING btree (next_scan_at) WHERE (status = 'scanning'::text);


--
-- Name: attachments_by_incident; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX attachments_by_incident ON public.attachments USING btree (tenant_id, incident_id, id);


--
-- Name: audit_personal_data_actor_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_personal_data_actor_id ON public.audit_personal_data USING btree (actor_id);


--
-- Name: audit_personal_data_email; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_personal_data_email ON public.audit_personal_data USING btree (email) WHERE (email IS NOT NULL);


--
-- Name: audit_personal_data_occurred_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_personal_data_occurred_at ON public.audit_personal_data USING btree (occurred_at);


--
-- Name: audit_personal_data_target_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_personal_data_target_id ON public.audit_personal_data USING btree (target_id);


--
-- Name: change_events_by_age; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX change_events_by_age ON public.change_events USING btree (occurred_at);


--
-- Name: change_events_email; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX change_events_email ON public.change_events USING btree (((data ->> 'email'::text))) WHERE (data ? 'email'::text);


--
-- Name: change_events_user_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX change_events_user_id ON public.change_events USING btree (((data ->> 'user_id'::text))) WHERE (data ? 'email'::text);


--
-- Name: idempotency_keys_by_age; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idempotency_keys_by_age ON public.idempotency_keys USING btree (tenant_id, principal_type, principal_id, created_at);


--
-- Name: incident_tasks_by_incident; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX incident_tasks_by_incident ON public.incident_tasks USING btree (tenant_id, incident_id, id);


--
-- Name: incidents_by_commander; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX incidents_by_commander ON public.incidents USING btree (tenant_id, commander_id, created_at DESC, id DESC);


--
-- Name: incidents_by_created; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX incidents_by_created ON public.incidents USING btree (tenant_id, created_at DESC, id DESC);


--
-- Name: incidents_by_label; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX incidents_by_label ON public.incidents USING gin (tenant_id, labels);


--
-- Name: incidents_by_severity; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX incidents_by_severity ON public.incidents USING btree (tenant_id, severity, created_at DESC, id DESC);


--
-- Name: incidents_by_status; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX incidents_by_status ON public.incidents USING btree (tenant_id, status, created_at DESC, id DESC);


--
-- Name: incidents_by_text; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX incidents_by_text ON public.incidents USING gin (tenant_id, search);


--
-- Name: incidents_by_updated; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX incidents_by_updated ON public.incidents USING btree (tenant_id, updated_at, id);


--
-- Name: invitations_accepted_by; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX invitations_accepted_by ON public.invitations USING btree (accepted_by) WHERE (accepted_by IS NOT NULL);


--
-- Name: invitations_email; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX invitations_email ON public.invitations USING btree (email);


--
-- Name: invitations_one_unanswered; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX invitations_one_unanswered ON public.invitations USING btree (tenant_id, email) WHERE ((accepted_at IS NULL) AND (revoked_at IS NULL));


--
-- Name: invitations_tenant_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX invitations_tenant_id ON public.invitations USING btree (tenant_id, id);


--
-- Name: invitations_unaccepted_expires_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX invitations_unaccepted_expires_at ON public.invitations USING btree (expires_at) WHERE (accepted_at IS NULL);


--
-- Name: mail_outbox_due; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mail_outbox_due ON public.mail_outbox USING btree (next_attempt_at) WHERE (failed_at IS NULL);


--
-- Name: mail_outbox_failed; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mail_outbox_failed ON public.mail_outbox USING btree (failed_at) WHERE (failed_at IS NOT NULL);


--
-- Name: memberships_user_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX memberships_user_id ON public.memberships USING btree (user_id);


--
-- Name: mfa_challenges_expires_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mfa_challenges_expires_at ON public.mfa_challenges USING btree (expires_at);


--
-- Name: mfa_challenges_user_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mfa_challenges_user_id ON public.mfa_challenges USING btree (user_id);


--
-- Name: password_reset_tokens_expires_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX password_reset_tokens_expires_at ON public.password_reset_tokens USING btree (expires_at);


--
-- Name: password_reset_tokens_user_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX password_reset_tokens_user_id ON public.password_reset_tokens USING btree (user_id);


--
-- Name: status_updates_by_incident; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX status_updates_by_incident ON public.status_updates USING btree (tenant_id, incident_id, id);


--
-- Name: timeline_events_by_occurred; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX timeline_events_by_occurred ON public.timeline_events USING btree (tenant_id, incident_id, occurred_at, id);


--
-- Name: usage_counts_day; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX usage_counts_day ON public.usage_counts USING btree (day);


--
-- Name: usage_write_days_day; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX usage_write_days_day ON public.usage_write_days USING btree (day);


--
-- Name: users_email; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX users_email ON public.users USING btree (email) WHERE (deleted_at IS NULL);


--
-- Name: webhook_deliveries_by_webhook; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX webhook_deliveries_by_webhook ON public.webhook_deliveries USING btree (tenant_id, webhook_id, event_seq);


--
-- Name: webhook_deliveries_due; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX webhook_deliveries_due ON public.webhook_deliveries USING btree (next_attempt_at) WHERE (status = 'pending'::text);


--
-- Name: webhook_deliveries_pending; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX webhook_deliveries_pending ON public.webhook_deliveries USING btree (tenant_id, webhook_id, incident_id, event_seq) WHERE (status = 'pending'::text);


--
-- Name: audit_chain_heads audit_chain_heads_advance_only; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_chain_heads_advance_only BEFORE INSERT OR UPDATE ON public.audit_chain_heads FOR EACH ROW EXECUTE FUNCTION public.guard_audit_chain_head();


--
-- Name: audit_events audit_events_append_only; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_events_append_only BEFORE DELETE OR UPDATE ON public.audit_events FOR EACH ROW EXECUTE FUNCTION public.refuse_audit_change();


--
-- Name: audit_events audit_events_no_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON public.audit_events FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_audit_change();


--
-- Name: api_keys api_keys_created_by_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_created_by_fkey FOREIGN KEY (created_by) REFERENCES public.users(id);


--
-- Name: api_keys api_keys_tenant_id_service_account_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_tenant_id_service_account_id_fkey FOREIGN KEY (tenant_id, service_account_id) REFERENCES public.service_accounts(tenant_id, id) ON DELETE CASCADE;


--
-- Name: attachment_urls attachment_urls_tenant_id_attachment_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.attachment_urls
    ADD CONSTRAINT attachment_urls_tenant_id_attachment_id_fkey FOREIGN KEY (tenant_id, attachment_id) REFERENCES public.attachments(tenant_id, id) ON DELETE CASCADE;


--
-- Name: attachments attachments_tenant_id_incident_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.attachments
    ADD CONSTRAINT attachments_tenant_id_incident_id_fkey FOREIGN KEY (tenant_id, incident_id) REFERENCES public.incidents(tenant_id, id) ON DELETE CASCADE;


--
-- Name: change_event_counters change_event_counters_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.change_event_counters
    ADD CONSTRAINT change_event_counters_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;


--
-- Name: change_events change_events_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.change_events
    ADD CONSTRAINT change_events_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;


--
-- Name: idempotency_keys idempotency_keys_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.idempotency_keys
    ADD CONSTRAINT idempotency_keys_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;


--
-- Name: incident_numbers incident_numbers_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.incident_numbers
    ADD CONSTRAINT incident_numbers_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;


--
-- Name: incident_tasks incident_tasks_assignee_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.incident_tasks
    ADD CONSTRAINT incident_tasks_assignee_id_fkey FOREIGN KEY (assignee_id) REFERENCES public.users(id);


--
-- Name: incident_tasks incident_tasks_tenant_id_incident_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.incident_tasks
    ADD CONSTRAINT incident_tasks_tenant_id_incident_id_fkey FOREIGN KEY (tenant_id, incident_id) REFERENCES public.incidents(tenant_id, id) ON DELETE CASCADE;


--
-- Name: incidents incidents_commander_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.incidents
    ADD CONSTRAINT incidents_commander_id_fkey FOREIGN KEY (commander_id) REFERENCES public.users(id);


--
-- Name: incidents incidents_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.incidents
    ADD CONSTRAINT incidents_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;


--
-- Name: invitations invitations_accepted_by_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.invitations
    ADD CONSTRAINT invitations_accepted_by_fkey FOREIGN KEY (accepted_by) REFERENCES public.users(id);


--
-- Name: invitations invitations_invited_by_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.invitations
    ADD CONSTRAINT invitations_invited_by_fkey FOREIGN KEY (invited_by) REFERENCES public.users(id);


--
-- Name: invitations invitations_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.invitations
    ADD CONSTRAINT invitations_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;


--
-- Name: memberships memberships_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.memberships
    ADD CONSTRAINT memberships_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;


--
-- Name: memberships memberships_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.memberships
    ADD CONSTRAINT memberships_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;


--
-- Name: mfa_challenges mfa_challenges_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.mfa_challenges
    ADD CONSTRAINT mfa_challenges_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;


--
-- Name: password_reset_tokens password_reset_tokens_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.password_reset_tokens
    ADD CONSTRAINT password_reset_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;


--
-- Name: recovery_codes recovery_codes_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.recovery_codes
    ADD CONSTRAINT recovery_codes_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;


--
-- Name: service_accounts service_accounts_created_by_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.service_accounts
    ADD CONSTRAINT service_accounts_created_by_fkey FOREIGN KEY (created_by) REFERENCES public.users(id);


--
-- Name: service_accounts service_accounts_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.service_accounts
    ADD CONSTRAINT service_accounts_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;


--
-- Name: status_updates status_updates_tenant_id_incident_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.status_updates
    ADD CONSTRAINT status_updates_tenant_id_incident_id_fkey FOREIGN KEY (tenant_id, incident_id) REFERENCES public.incidents(tenant_id, id) ON DELETE CASCADE;


--
-- Name: timeline_events timeline_events_tenant_id_incident_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.timeline_events
    ADD CONSTRAINT timeline_events_tenant_id_incident_id_fkey FOREIGN KEY (tenant_id, incident_id) REFERENCES public.incidents(tenant_id, id) ON DELETE CASCADE;


--
-- Name: totp_factors totp_factors_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.totp_factors
    ADD CONSTRAINT totp_factors_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;


--
-- Name: usage_counts usage_counts_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.usage_counts
    ADD CONSTRAINT usage_counts_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;


--
-- Name: usage_write_days usage_write_days_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.usage_write_days
    ADD CONSTRAINT usage_write_days_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;


--
-- Name: webhook_deliveries webhook_deliveries_tenant_id_event_seq_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_tenant_id_event_seq_fkey FOREIGN KEY (tenant_id, event_seq) REFERENCES public.change_events(tenant_id, seq) ON DELETE CASCADE;


--
-- Name: webhook_deliveries webhook_deliveries_tenant_id_webhook_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_tenant_id_webhook_id_fkey FOREIGN KEY (tenant_id, webhook_id) REFERENCES public.webhooks(tenant_id, id) ON DELETE CASCADE;


--
-- Name: webhooks webhooks_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhooks
    ADD CONSTRAINT webhooks_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id) ON DELETE CASCADE;


--
-- Name: audit_personal_data account_erasure; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY account_erasure ON public.audit_personal_data FOR UPDATE TO incident_tracker_lookup USING (((actor_id IN ( SELECT u.id
   FROM public.users u
  WHERE (u.deleted_at IS NOT NULL))) OR (target_id IN ( SELECT u.id
   FROM public.users u
  WHERE (u.deleted_at IS NOT NULL))) OR (email IN ( SELECT u.email
   FROM public.users u
  WHERE (u.deleted_at IS NOT NULL))))) WITH CHECK (true);


--
-- Name: change_events account_erasure; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY account_erasure ON public.change_events FOR UPDATE TO incident_tracker_lookup USING ((((data ->> 'user_id'::text) IN ( SELECT (u.id)::text AS id
   FROM public.users u
  WHERE (u.deleted_at IS NOT NULL))) OR ((data ->> 'email'::text) IN ( SELECT u.email
   FROM public.users u
  WHERE (u.deleted_at IS NOT NULL))))) WITH CHECK (((data ->> 'email'::text) ~~ 'deleted:%'::text));


--
-- Name: invitations account_erasure; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY account_erasure ON public.invitations FOR DELETE TO incident_tracker_lookup USING ((email IN ( SELECT u.email
   FROM public.users u
  WHERE (u.deleted_at IS NOT NULL))));


--
-- Name: audit_personal_data account_erasure_reads; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY account_erasure_reads ON public.audit_personal_data FOR SELECT TO incident_tracker_lookup USING (true);


--
-- Name: change_events account_erasure_reads; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY account_erasure_reads ON public.change_events FOR SELECT TO incident_tracker_lookup USING ((((data ->> 'user_id'::text) IN ( SELECT (u.id)::text AS id
   FROM public.users u
  WHERE (u.deleted_at IS NOT NULL))) OR ((data ->> 'email'::text) IN ( SELECT u.email
   FROM public.users u
  WHERE (u.deleted_at IS NOT NULL))) OR ((data ->> 'email'::text) IN ( SELECT ('deleted:'::text || u.id)
   FROM public.users u
  WHERE (u.deleted_at IS NOT NULL)))));


--
-- Name: api_keys; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.api_keys ENABLE ROW LEVEL SECURITY;

--
-- Name: attachment_urls; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.attachment_urls ENABLE ROW LEVEL SECURITY;

--
-- Name: attachments; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.attachments ENABLE ROW LEVEL SECURITY;

--
-- Name: audit_chain_heads; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.audit_chain_heads ENABLE ROW LEVEL SECURITY;

--
-- Name: audit_events; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.audit_events ENABLE ROW LEVEL SECURITY;

--
-- Name: audit_personal_data; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.audit_personal_data ENABLE ROW LEVEL SECURITY;

--
-- Name: change_event_counters; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.change_event_counters ENABLE ROW LEVEL SECURITY;

--
-- Name: change_events; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.change_events ENABLE ROW LEVEL SECURITY;

--
-- Name: api_keys cross_tenant_lookup; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY cross_tenant_lookup ON public.api_keys FOR SELECT TO incident_tracker_lookup USING (true);


--
-- Name: attachments cross_tenant_lookup; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY cross_tenant_lookup ON public.attachments FOR SELECT TO incident_tracker_lookup USING (true);


--
-- Name: invitations cross_tenant_lookup; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY cross_tenant_lookup ON public.invitations FOR SELECT TO incident_tracker_lookup USING (true);


--
-- Name: memberships cross_tenant_lookup; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY cross_tenant_lookup ON public.memberships FOR SELECT TO incident_tracker_lookup USING (true);


--
-- Name: tenants cross_tenant_lookup; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY cross_tenant_lookup ON public.tenants FOR SELECT TO incident_tracker_lookup USING (true);


--
-- Name: webhooks deleted_purge; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY deleted_purge ON public.webhooks TO incident_tracker_lookup USING ((deleted_at < (now() - '30 days'::interval)));


--
-- Name: webhook_deliveries delivery_lookup; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY delivery_lookup ON public.webhook_deliveries FOR SELECT TO incident_tracker_lookup USING ((status = 'pending'::text));


--
-- Name: idempotency_keys; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.idempotency_keys ENABLE ROW LEVEL SECURITY;

--
-- Name: incident_numbers; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.incident_numbers ENABLE ROW LEVEL SECURITY;

--
-- Name: incident_tasks; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.incident_tasks ENABLE ROW LEVEL SECURITY;

--
-- Name: incidents; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.incidents ENABLE ROW LEVEL SECURITY;

--
-- Name: invitations; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.invitations ENABLE ROW LEVEL SECURITY;

--
-- Name: memberships; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.memberships ENABLE ROW LEVEL SECURITY;

--
-- Name: attachment_urls retention_purge; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY retention_purge ON public.attachment_urls TO incident_tracker_lookup USING ((expires_at < now()));


--
-- Name: audit_personal_data retention_purge; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY retention_purge ON public.audit_personal_data FOR DELETE TO incident_tracker_lookup USING ((occurred_at < (now() - '1 day'::interval)));


--
-- Name: change_events retention_purge; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY retention_purge ON public.change_events TO incident_tracker_lookup USING ((occurred_at < (now() - '30 days'::interval)));


--
-- Name: invitations retention_purge; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY retention_purge ON public.invitations FOR DELETE TO incident_tracker_lookup USING (((accepted_at IS NULL) AND ((revoked_at IS NOT NULL) OR (expires_at < now()))));


--
-- Name: usage_counts retention_purge; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY retention_purge ON public.usage_counts TO incident_tracker_lookup USING ((day < CURRENT_DATE));


--
-- Name: usage_write_days retention_purge; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY retention_purge ON public.usage_write_days TO incident_tracker_lookup USING ((day < CURRENT_DATE));


--
-- Name: service_accounts; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.service_accounts ENABLE ROW LEVEL SECURITY;

--
-- Name: status_updates; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.status_updates ENABLE ROW LEVEL SECURITY;

--
-- Name: api_keys tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.api_keys USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));


--
-- Name: attachment_urls tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.attachment_urls USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));


--
-- Name: attachments tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.attachments USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));


--
-- Name: audit_chain_heads tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.audit_chain_heads USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));


--
-- Name: audit_events tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.audit_events USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));


--
-- Name: audit_personal_data tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.audit_personal_data USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));


--
-- Name: change_event_counters tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.change_event_counters USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));


--
-- Name: change_events tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.change_events USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));


--
-- Name: idempotency_keys tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.idempotency_keys USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));


--
-- Name: incident_numbers tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.incident_numbers USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));


--
-- Name: incident_tasks tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.incident_tasks USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));


--
-- Name: incidents tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.incidents USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));


--
-- Name: invitations tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.invitations USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));


--
-- Name: memberships tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.memberships USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));


--
-- Name: service_accounts tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.service_accounts USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));


--
-- Name: status_updates tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.status_updates USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));


--
-- Name: tenants tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.tenants USING ((id = public.current_tenant_id())) WITH CHECK ((id = public.current_tenant_id()));


--
-- Name: timeline_events tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.timeline_events USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));


--
-- Name: usage_counts tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.usage_counts USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));


--
-- Name: usage_write_days tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.usage_write_days USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));


--
-- Name: webhook_deliveries tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.webhook_deliveries USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));


--
-- Name: webhooks tenant_isolation; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY tenant_isolation ON public.webhooks USING ((tenant_id = public.current_tenant_id())) WITH CHECK ((tenant_id = public.current_tenant_id()));


--
-- Name: tenants; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.tenants ENABLE ROW LEVEL SECURITY;

--
-- Name: timeline_events; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.timeline_events ENABLE ROW LEVEL SECURITY;

--
-- Name: usage_counts; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.usage_counts ENABLE ROW LEVEL SECURITY;

--
-- Name: usage_write_days; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.usage_write_days ENABLE ROW LEVEL SECURITY;

--
-- Name: webhook_deliveries; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.webhook_deliveries ENABLE ROW LEVEL SECURITY;

--
-- Name: webhooks; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.webhooks ENABLE ROW LEVEL SECURITY;

--
-- Name: SCHEMA public; Type: ACL; Schema: -; Owner: -
--

GRANT USAGE ON SCHEMA public TO incident_tracker_app;
GRANT USAGE ON SCHEMA public TO incident_tracker_lookup;


--
-- Name: FUNCTION account_erase(account uuid); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.account_erase(account uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION public.account_erase(account uuid) TO incident_tracker_app;


--
-- Name: FUNCTION api_key_by_prefix(key_prefix text); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.api_key_by_prefix(key_prefix text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.api_key_by_prefix(key_prefix text) TO incident_tracker_app;


--
-- Name: FUNCTION attachments_awaiting_scan(due_by timestamp with time zone, most bigint); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.attachments_awaiting_scan(due_by timestamp with time zone, most bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION public.attachments_awaiting_scan(due_by timestamp with time zone, most bigint) TO incident_tracker_app;


--
-- Name: FUNCTION change_events_purge(); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.change_events_purge() FROM PUBLIC;
GRANT ALL ON FUNCTION public.change_events_purge() TO incident_tracker_app;


--
-- Name: FUNCTION deleted_webhooks_purge(); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.deleted_webhooks_purge() FROM PUBLIC;
GRANT ALL ON FUNCTION public.deleted_webhooks_purge() TO incident_tracker_app;


--
-- Name: FUNCTION enable_tenant_isolation(target regclass); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.enable_tenant_isolation(target regclass) FROM PUBLIC;


--
-- Name: FUNCTION guard_audit_chain_head(); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.guard_audit_chain_head() FROM PUBLIC;


--
-- Name: FUNCTION refuse_audit_change(); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.refuse_audit_change() FROM PUBLIC;


--
-- Name: FUNCTION retention_purge_attachment_urls(finished_before timestamp with time zone); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.retention_purge_attachment_urls(finished_before timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION public.retention_purge_attachment_urls(finished_before timestamp with time zone) TO incident_tracker_app;


--
-- Name: FUNCTION retention_purge_audit_personal_data(recorded_before timestamp with time zone); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.retention_purge_audit_personal_data(recorded_before timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION public.retention_purge_audit_personal_data(recorded_before timestamp with time zone) TO incident_tracker_app;


--
-- Name: FUNCTION retention_purge_invitations(finished_before timestamp with time zone); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.retention_purge_invitations(finished_before timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION public.retention_purge_invitations(finished_before timestamp with time zone) TO incident_tracker_app;


--
-- Name: FUNCTION retention_purge_usage(first_kept date); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.retention_purge_usage(first_kept date) FROM PUBLIC;
GRANT ALL ON FUNCTION public.retention_purge_usage(first_kept date) TO incident_tracker_app;


--
-- Name: FUNCTION usable_invitation(digest bytea); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.usable_invitation(digest bytea) FROM PUBLIC;
GRANT ALL ON FUNCTION public.usable_invitation(digest bytea) TO incident_tracker_app;


--
-- Name: FUNCTION user_memberships(member uuid); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.user_memberships(member uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION public.user_memberships(member uuid) TO incident_tracker_app;


--
-- Name: FUNCTION webhook_deliveries_due(due_by timestamp with time zone, most bigint); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.webhook_deliveries_due(due_by timestamp with time zone, most bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION public.webhook_deliveries_due(due_by timestamp with time zone, most bigint) TO incident_tracker_app;


--
-- Name: TABLE api_keys; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,UPDATE ON TABLE public.api_keys TO incident_tracker_app;
GRANT SELECT ON TABLE public.api_keys TO incident_tracker_lookup;


--
-- Name: TABLE attachment_urls; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,UPDATE ON TABLE public.attachment_urls TO incident_tracker_app;
GRANT SELECT,DELETE ON TABLE public.attachment_urls TO incident_tracker_lookup;


--
-- Name: TABLE attachments; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,UPDATE ON TABLE public.attachments TO incident_tracker_app;
GRANT SELECT ON TABLE public.attachments TO incident_tracker_lookup;


--
-- Name: TABLE audit_chain_heads; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,UPDATE ON TABLE public.audit_chain_heads TO incident_tracker_app;


--
-- Name: TABLE audit_events; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT ON TABLE public.audit_events TO incident_tracker_app;


--
-- Name: TABLE audit_personal_data; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT ON TABLE public.audit_personal_data TO incident_tracker_app;
GRANT SELECT,DELETE ON TABLE public.audit_personal_data TO incident_tracker_lookup;


--
-- Name: COLUMN audit_personal_data.client_ip; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE(client_ip) ON TABLE public.audit_personal_data TO incident_tracker_lookup;


--
-- Name: COLUMN audit_personal_data.client_ip_salt; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE(client_ip_salt) ON TABLE public.audit_personal_data TO incident_tracker_lookup;


--
-- Name: COLUMN audit_personal_data.email; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE(email) ON TABLE public.audit_personal_data TO incident_tracker_lookup;


--
-- Name: COLUMN audit_personal_data.email_salt; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE(email_salt) ON TABLE public.audit_personal_data TO incident_tracker_lookup;


--
-- Name: TABLE change_event_counters; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,UPDATE ON TABLE public.change_event_counters TO incident_tracker_app;


--
-- Name: TABLE change_events; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT ON TABLE public.change_events TO incident_tracker_app;
GRANT SELECT,DELETE ON TABLE public.change_events TO incident_tracker_lookup;


--
-- Name: COLUMN change_events.data; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE(data) ON TABLE public.change_events TO incident_tracker_lookup;


--
-- Name: TABLE idempotency_keys; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,DELETE ON TABLE public.idempotency_keys TO incident_tracker_app;


--
-- Name: TABLE incident_numbers; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,UPDATE ON TABLE public.incident_numbers TO incident_tracker_app;


--
-- Name: TABLE incident_tasks; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,UPDATE ON TABLE public.incident_tasks TO incident_tracker_app;


--
-- Name: TABLE incidents; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,UPDATE ON TABLE public.incidents TO incident_tracker_app;


--
-- Name: TABLE invitations; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,UPDATE ON TABLE public.invitations TO incident_tracker_app;
GRANT SELECT,DELETE ON TABLE public.invitations TO incident_tracker_lookup;


--
-- Name: TABLE mail_outbox; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.mail_outbox TO incident_tracker_app;


--
-- Name: TABLE memberships; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.memberships TO incident_tracker_app;
GRANT SELECT ON TABLE public.memberships TO incident_tracker_lookup;


--
-- Name: TABLE mfa_challenges; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.mfa_challenges TO incident_tracker_app;


--
-- Name: TABLE password_reset_tokens; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.password_reset_tokens TO incident_tracker_app;


--
-- Name: TABLE recovery_codes; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.recovery_codes TO incident_tracker_app;


--
-- Name: TABLE service_accounts; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT ON TABLE public.service_accounts TO incident_tracker_app;


--
-- Name: TABLE status_updates; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT ON TABLE public.status_updates TO incident_tracker_app;


--
-- Name: TABLE tenants; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT ON TABLE public.tenants TO incident_tracker_app;
GRANT SELECT ON TABLE public.tenants TO incident_tracker_lookup;


--
-- Name: TABLE timeline_events; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT ON TABLE public.timeline_events TO incident_tracker_app;


--
-- Name: TABLE totp_factors; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.totp_factors TO incident_tracker_app;


--
-- Name: TABLE usage_counts; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,UPDATE ON TABLE public.usage_counts TO incident_tracker_app;
GRANT SELECT,DELETE ON TABLE public.usage_counts TO incident_tracker_lookup;


--
-- Name: TABLE usage_write_days; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,UPDATE ON TABLE public.usage_write_days TO incident_tracker_app;
GRANT SELECT,DELETE ON TABLE public.usage_write_days TO incident_tracker_lookup;


--
-- Name: TABLE users; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,UPDATE ON TABLE public.users TO incident_tracker_app;
GRANT SELECT ON TABLE public.users TO incident_tracker_lookup;


--
-- Name: COLUMN users.email; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE(email) ON TABLE public.users TO incident_tracker_lookup;


--
-- Name: COLUMN users.name; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE(name) ON TABLE public.users TO incident_tracker_lookup;


--
-- Name: COLUMN users.password_hash; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE(password_hash) ON TABLE public.users TO incident_tracker_lookup;


--
-- Name: COLUMN users.updated_at; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE(updated_at) ON TABLE public.users TO incident_tracker_lookup;


--
-- Name: COLUMN users.password_version; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE(password_version) ON TABLE public.users TO incident_tracker_lookup;


--
-- Name: TABLE webhook_deliveries; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,UPDATE ON TABLE public.webhook_deliveries TO incident_tracker_app;
GRANT SELECT ON TABLE public.webhook_deliveries TO incident_tracker_lookup;


--
-- Name: TABLE webhooks; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.webhooks TO incident_tracker_app;
GRANT SELECT,DELETE ON TABLE public.webhooks TO incident_tracker_lookup;


--
-- PostgreSQL database dump complete
--


