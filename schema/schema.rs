// @generated automatically by Diesel CLI.

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
    users (id) {
        id -> Uuid,
        email -> Text,
        name -> Text,
        password_hash -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(password_reset_tokens -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(mail_outbox, password_reset_tokens, users,);
