// @generated automatically by Diesel CLI.

pub mod sql_types {
    #[derive(diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "tsvector", schema = "pg_catalog"))]
    pub struct Tsvector;
}

diesel::table! {
    api_keys (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        service_account_id -> Uuid,
        name -> Text,
        scopes -> Array<Nullable<Text>>,
        prefix -> Text,
        secret_hash -> Bytea,
        created_by -> Uuid,
        created_at -> Timestamptz,
        expires_at -> Nullable<Timestamptz>,
        last_used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    attachment_urls (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        attachment_id -> Uuid,
        purpose -> Text,
        issued_to_type -> Text,
        issued_to_id -> Uuid,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    attachments (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        incident_id -> Uuid,
        file_name -> Text,
        content_type -> Text,
        size_bytes -> Int8,
        status -> Text,
        object_key -> Nullable<Text>,
        sha256 -> Nullable<Bytea>,
        threat -> Nullable<Text>,
        created_by_type -> Text,
        created_by_id -> Uuid,
        created_at -> Timestamptz,
        uploaded_at -> Nullable<Timestamptz>,
        scanned_at -> Nullable<Timestamptz>,
        scan_attempts -> Int4,
        next_scan_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    audit_chain_heads (tenant_id) {
        tenant_id -> Uuid,
        seq -> Int8,
        hash -> Bytea,
    }
}

diesel::table! {
    audit_events (tenant_id, seq) {
        tenant_id -> Uuid,
        seq -> Int8,
        action -> Text,
        actor_type -> Text,
        actor_id -> Nullable<Uuid>,
        target_type -> Nullable<Text>,
        target_id -> Nullable<Uuid>,
        request_id -> Nullable<Text>,
        client_ip -> Nullable<Text>,
        occurred_at -> Timestamptz,
        metadata -> Jsonb,
        prev_hash -> Bytea,
        hash -> Bytea,
        address_digest -> Nullable<Bytea>,
        email_digest -> Nullable<Bytea>,
    }
}

diesel::table! {
    audit_personal_data (tenant_id, seq) {
        tenant_id -> Uuid,
        seq -> Int8,
        occurred_at -> Timestamptz,
        actor_id -> Nullable<Uuid>,
        target_id -> Nullable<Uuid>,
        client_ip -> Nullable<Text>,
        client_ip_salt -> Nullable<Bytea>,
        email -> Nullable<Text>,
        email_salt -> Nullable<Bytea>,
    }
}

diesel::table! {
    change_event_counters (tenant_id) {
        tenant_id -> Uuid,
        last_seq -> Int8,
    }
}

diesel::table! {
    change_events (tenant_id, seq) {
        tenant_id -> Uuid,
        seq -> Int8,
        id -> Uuid,
        #[sql_name = "type"]
        type_ -> Text,
        incident_id -> Nullable<Uuid>,
        occurred_at -> Timestamptz,
        data -> Jsonb,
    }
}

diesel::table! {
    idempotency_keys (tenant_id, principal_type, principal_id, operation, key) {
        tenant_id -> Uuid,
        principal_type -> Text,
        principal_id -> Uuid,
        operation -> Text,
        key -> Text,
        request_digest -> Bytea,
        response -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    incident_numbers (tenant_id) {
        tenant_id -> Uuid,
        last_number -> Int8,
    }
}

diesel::table! {
    incident_tasks (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        incident_id -> Uuid,
        title -> Text,
        description -> Text,
        status -> Text,
        assignee_id -> Nullable<Uuid>,
        due_at -> Nullable<Timestamptz>,
        completed_at -> Nullable<Timestamptz>,
        created_by_type -> Text,
        created_by_id -> Uuid,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int8,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Tsvector;

    incidents (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        number -> Int8,
        title -> Text,
        summary -> Text,
        severity -> Text,
        status -> Text,
        commander_id -> Nullable<Uuid>,
        labels -> Array<Nullable<Text>>,
        created_by_type -> Text,
        created_by_id -> Uuid,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        acknowledged_at -> Nullable<Timestamptz>,
        mitigated_at -> Nullable<Timestamptz>,
        resolved_at -> Nullable<Timestamptz>,
        closed_at -> Nullable<Timestamptz>,
        reopen_count -> Int4,
        version -> Int8,
        search -> Tsvector,
    }
}

diesel::table! {
    invitations (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        email -> Text,
        role -> Text,
        token_hash -> Bytea,
        invited_by -> Uuid,
        expires_at -> Timestamptz,
        accepted_at -> Nullable<Timestamptz>,
        accepted_by -> Nullable<Uuid>,
        revoked_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    mail_outbox (id) {
        id -> Uuid,
        recipient -> Text,
        subject -> Text,
        body -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        discard_after -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        failed_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    memberships (tenant_id, user_id) {
        tenant_id -> Uuid,
        user_id -> Uuid,
        role -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    mfa_challenges (token_hash) {
        token_hash -> Bytea,
        user_id -> Uuid,
        password_version -> Int4,
        failed_codes -> Int4,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    password_reset_tokens (id) {
        id -> Uuid,
        user_id -> Uuid,
        token_hash -> Bytea,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    recovery_codes (user_id, code_hash) {
        user_id -> Uuid,
        code_hash -> Bytea,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    service_accounts (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        name -> Text,
        created_by -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    status_updates (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        incident_id -> Uuid,
        body -> Text,
        audience -> Text,
        status -> Text,
        severity -> Text,
        changed_status -> Bool,
        changed_severity -> Bool,
        created_by_type -> Text,
        created_by_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    tenants (id) {
        id -> Uuid,
        name -> Text,
        created_at -> Timestamptz,
        daily_write_quota -> Nullable<Int4>,
    }
}

diesel::table! {
    timeline_events (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        incident_id -> Uuid,
        kind -> Text,
        body -> Nullable<Text>,
        data -> Jsonb,
        actor_type -> Text,
        actor_id -> Uuid,
        occurred_at -> Timestamptz,
        recorded_at -> Timestamptz,
    }
}

diesel::table! {
    totp_factors (user_id) {
        user_id -> Uuid,
        secret -> Bytea,
        confirmed_at -> Nullable<Timestamptz>,
        last_used_step -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    usage_counts (tenant_id, day, principal_type, principal_id) {
        tenant_id -> Uuid,
        day -> Date,
        principal_type -> Text,
        principal_id -> Uuid,
        reads -> Int8,
        writes -> Int8,
    }
}

diesel::table! {
    usage_write_days (tenant_id, day) {
        tenant_id -> Uuid,
        day -> Date,
        writes -> Int8,
        write_quota -> Int8,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        email -> Text,
        name -> Text,
        password_hash -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        password_normalized -> Bool,
        password_version -> Int4,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        webhook_id -> Uuid,
        event_seq -> Int8,
        incident_id -> Nullable<Uuid>,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        claimed_until -> Nullable<Timestamptz>,
        claim -> Nullable<Uuid>,
        last_status_code -> Nullable<Int4>,
        last_error -> Nullable<Text>,
        last_latency_ms -> Nullable<Int4>,
        created_at -> Timestamptz,
        delivered_at -> Nullable<Timestamptz>,
        event_id -> Uuid,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        url -> Text,
        event_types -> Nullable<Array<Nullable<Text>>>,
        enabled -> Bool,
        description -> Text,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_expires_at -> Nullable<Timestamptz>,
        failing_since -> Nullable<Timestamptz>,
        deleted_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(api_keys -> users (created_by));
diesel::joinable!(change_event_counters -> tenants (tenant_id));
diesel::joinable!(change_events -> tenants (tenant_id));
diesel::joinable!(idempotency_keys -> tenants (tenant_id));
diesel::joinable!(incident_numbers -> tenants (tenant_id));
diesel::joinable!(incident_tasks -> users (assignee_id));
diesel::joinable!(incidents -> tenants (tenant_id));
diesel::joinable!(incidents -> users (commander_id));
diesel::joinable!(invitations -> tenants (tenant_id));
diesel::joinable!(memberships -> tenants (tenant_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(mfa_challenges -> users (user_id));
diesel::joinable!(password_reset_tokens -> users (user_id));
diesel::joinable!(recovery_codes -> users (user_id));
diesel::joinable!(service_accounts -> tenants (tenant_id));
diesel::joinable!(service_accounts -> users (created_by));
diesel::joinable!(totp_factors -> users (user_id));
diesel::joinable!(usage_counts -> tenants (tenant_id));
diesel::joinable!(usage_write_days -> tenants (tenant_id));
diesel::joinable!(webhooks -> tenants (tenant_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_keys,
    attachment_urls,
    attachments,
    audit_chain_heads,
    audit_events,
    audit_personal_data,
    change_event_counters,
    change_events,
    idempotency_keys,
    incident_numbers,
    incident_tasks,
    incidents,
    invitations,
    mail_outbox,
    memberships,
    mfa_challenges,
    password_reset_tokens,
    recovery_codes,
    service_accounts,
    status_updates,
    tenants,
    timeline_events,
    totp_factors,
    usage_counts,
    usage_write_days,
    users,
    webhook_deliveries,
    webhooks,
);
