// @generated automatically by Diesel CLI.

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
    service_accounts (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        name -> Text,
        created_by -> Uuid,
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
    }
}

diesel::joinable!(api_keys -> users (created_by));
diesel::joinable!(invitations -> tenants (tenant_id));
diesel::joinable!(memberships -> tenants (tenant_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(password_reset_tokens -> users (user_id));
diesel::joinable!(service_accounts -> tenants (tenant_id));
diesel::joinable!(service_accounts -> users (created_by));
diesel::joinable!(usage_counts -> tenants (tenant_id));
diesel::joinable!(usage_write_days -> tenants (tenant_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_keys,
    audit_chain_heads,
    audit_events,
    invitations,
    mail_outbox,
    memberships,
    password_reset_tokens,
    service_accounts,
    tenants,
    usage_counts,
    usage_write_days,
    users,
);
