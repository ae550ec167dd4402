//! Retention: `incident-tracker purge` deletes, per data class, what is past
//! its retention and nothing else, records what it deleted in the audit log,
//! and leaves the chain verifiable.

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use incident_tracker::actor::{Actor, Origin};
use incident_tracker::audit::{self, NewEvent, PLATFORM_CHAIN};
use serde_json::{Value, json};

use crate::cli::incident_tracker;
use crate::common::{TestDatabase, audit_actions, count, scratch_dir};

/// Rows on both sides of each class's default retention, in two tenants;
/// those meant to go say `old` in their name.
const FIXTURES: &str = r#"
INSERT INTO users (id, email, name, password_hash) VALUES
    ('00000000-0000-0000-0000-0000000000a1', 'ada@example.com', 'Ada', 'not a hash');
INSERT INTO tenants (id, name) VALUES
    ('00000000-0000-0000-0000-0000000000b1', 'One'), ('00000000-0000-0000-0000-0000000000b2', 'Two');
INSERT INTO invitations (id, tenant_id, email, role, token_hash, invited_by, expires_at, revoked_at, accepted_at)
SELECT gen_random_uuid(), tenant_id::uuid, email, 'viewer', sha256(convert_to(email || tenant_id, 'UTF8')),
       '00000000-0000-0000-0000-0000000000a1', expires_at, revoked_at, accepted_at
FROM (VALUES
    ('00000000-0000-0000-0000-0000000000b1', 'expired-old@example.com', now() - interval '31 days', NULL::timestamptz, NULL::timestamptz),
    ('00000000-0000-0000-0000-0000000000b2', 'revoked-old@example.com', now() + interval '1 day', now() - interval '31 days', NULL),
    ('00000000-0000-0000-0000-0000000000b1', 'expired@example.com', now() - interval '29 days', NULL, NULL),
    ('00000000-0000-0000-0000-0000000000b2', 'accepted@example.com', now() - interval '90 days', NULL, now() - interval '91 days'),
    ('00000000-0000-0000-0000-0000000000b1', 'pending@example.com', now() + interval '7 days', NULL, NULL)
) AS invites (tenant_id, email, expires_at, revoked_at, accepted_at);
INSERT INTO password_reset_tokens (id, user_id, token_hash, expires_at, used_at)
SELECT gen_random_uuid(), '00000000-0000-0000-0000-0000000000a1', sha256(convert_to(name, 'UTF8')), expires_at, used_at
FROM (VALUES
    ('used-old', now() - interval '8 days', now() - interval '8 days'),
    ('expired-old', now() - interval '8 days', NULL),
    ('used', now() - interval '6 days' + interval '20 minutes', now() - interval '6 days'),
    ('usable', now() + interval '10 minutes', NULL)
) AS tokens (name, expires_at, used_at);
INSERT INTO mfa_challenges (token_hash, user_id, password_version, expires_at)
SELECT sha256(convert_to(name, 'UTF8')), '00000000-0000-0000-0000-0000000000a1', 0, expires_at
FROM (VALUES ('challenge-old', now() - interval '8 days'), ('challenge', now() - interval '1 hour'))
    AS challenges (name, expires_at);
INSERT INTO mail_outbox (id, recipient, subject, body, failed_at, created_at)
SELECT gen_random_uuid(), 'ada@example.com', subject, '', failed_at, now() - interval '40 days'
FROM (VALUES ('failed-old', now() - interval '31 days'), ('failed', now() - interval '29 days'), ('pending', NULL))
    AS mail (subject, failed_at);
INSERT INTO usage_counts (tenant_id, day, principal_type, principal_id, reads)
SELECT tenant_id::uuid, current_date - age, 'user', '00000000-0000-0000-0000-0000000000a1', 1
FROM (VALUES ('00000000-0000-0000-0000-0000000000b1', 401), ('00000000-0000-0000-0000-0000000000b2', 401),
             ('00000000-0000-0000-0000-0000000000b1', 399)) AS usage (tenant_id, age);
INSERT INTO usage_write_days (tenant_id, day, writes, write_quota) VALUES
    ('00000000-0000-0000-0000-0000000000b2', current_date - 401, 1, 10),
    ('00000000-0000-0000-0000-0000000000b2', current_date, 1, 10);
"#;

/// Runs `incident-tracker purge` against the database; answers its counts.
async fn purge(database: &TestDatabase, vars: &[(&str, &str)]) -> Value {
    let dir = scratch_dir("purge");
    let mut command = incident_tracker(&dir);
    command.arg("purge").env("DATABASE_URL", &database.server_url).envs(vars.iter().copied());
    let output = command.output().await.unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_purge_deletes_only_what_is_past_retention_and_audits_what_it_deleted() {
    let database = TestDatabase::migrated().await;
    let mut owner = database.owner_connection().await;
    owner.batch_execute(FIXTURES).await.unwrap();
    // Three audit events by a user, from an address, recorded (as far as
    // their personal data says) 181 days ago, 179 days ago and now.
    let origin = Origin { request_id: "fixture".into(), client_ip: [198, 51, 100, 7].into() };
    for _ in 0..3 {
        let event = NewEvent::new("fixture.recorded", None).with_email("invitee@example.com");
        let actor = Actor::User(uuid::Uuid::from_u128(0xa1));
        owner.transaction(async |conn| audit::record_platform_event(conn, &actor, &origin, event).await).await.unwrap();
    }
    owner
        .batch_execute(
            "UPDATE audit_personal_data SET occurred_at = now() - interval '181 days' WHERE seq = 1;
             UPDATE audit_personal_data SET occurred_at = now() - interval '179 days' WHERE seq = 2;",
        )
        .await
        .unwrap();

    let purged = purge(&database, &[]).await;
    let expected = json!({
        "changeEvents": 0, "deletedWebhooks": 0, "mail": 1, "tokens": 3, "invites": 2, "usageRows": 3,
        "auditAddresses": 1
    });
    assert_eq!(purged, expected);
    let left = [
        ("SELECT count(*) AS count FROM invitations WHERE email NOT LIKE '%-old@%'", 3),
        ("SELECT count(*) AS count FROM invitations", 3),
        ("SELECT count(*) AS count FROM password_reset_tokens", 2),
        ("SELECT count(*) AS count FROM mfa_challenges", 1),
        ("SELECT count(*) AS count FROM mail_outbox WHERE subject IN ('failed', 'pending')", 2),
        ("SELECT count(*) AS count FROM mail_outbox", 2),
        ("SELECT count(*) AS count FROM usage_counts WHERE day = current_date - 399", 1),
        ("SELECT count(*) AS count FROM usage_counts", 1),
        ("SELECT count(*) AS count FROM usage_write_days", 1),
        ("SELECT count(*) AS count FROM audit_personal_data WHERE seq = 1", 0),
        ("SELECT count(*) AS count FROM audit_personal_data WHERE seq IN (2, 3)", 2),
    ];
    for (query, rows) in left {
        assert_eq!(count(&mut owner, query).await, rows, "{query}");
    }
    let filter = audit::EventFilter { action: None, actor_id: None, since: None, until: None, before_seq: None };
    let fixtures = audit::list(&owner, PLATFORM_CHAIN, &filter, 10).await.unwrap();
    let shown: Vec<_> =
        fixtures[1..].iter().map(|event| (event.client_ip(), event.metadata().get("email").cloned())).collect();
    let kept = (Some("198.51.100.7"), Some(json!("invitee@example.com")));
    assert_eq!(shown, [kept.clone(), kept, (None, None)], "newest first: the oldest event's address and email went");

    // Retention is per class and configurable: a shorter one for tokens
    // takes the token that expired 6 days ago, and nothing else.
    let purged = purge(&database, &[("RETENTION_TOKENS_DAYS", "5")]).await;
    let expected = json!({
        "changeEvents": 0, "deletedWebhooks": 0, "mail": 0, "tokens": 1, "invites": 0, "usageRows": 0,
        "auditAddresses": 0
    });
    assert_eq!(purged, expected);
    assert_eq!(count(&mut owner, "SELECT count(*) AS count FROM password_reset_tokens").await, 1);

    // Called with any cutoff, in a tenant's scope, the purge functions take
    // nothing that is not done with: no pending or accepted invite, and not
    // today's usage.
    let mut server = AsyncPgConnection::establish(&database.server_url).await.unwrap();
    for tenant in ["00000000-0000-0000-0000-0000000000b1", "00000000-0000-0000-0000-0000000000b2"] {
        let greedy = format!(
            "BEGIN;
            SELECT set_config('app.tenant_id', '{tenant}', true);
            SELECT retention_purge_invitations('infinity');
            SELECT retention_purge_attachment_urls('infinity');
            SELECT retention_purge_usage('infinity');
            SELECT retention_purge_audit_personal_data('infinity');
            COMMIT;"
        );
        server.batch_execute(&greedy).await.unwrap();
    }
    let left = [
        ("SELECT count(*) AS count FROM audit_personal_data WHERE occurred_at > now() - interval '1 day'", 3),
        ("SELECT count(*) AS count FROM invitations WHERE email IN ('pending@example.com', 'accepted@example.com')", 2),
        ("SELECT count(*) AS count FROM usage_write_days WHERE day = current_date", 1),
    ];
    for (query, rows) in left {
        assert_eq!(count(&mut owner, query).await, rows, "{query}");
    }

    // Each purge that deleted something is one audit event, with its counts;
    // one that deleted nothing records nothing. The chain still verifies.
    purge(&database, &[]).await;
    let actions = audit_actions(&mut owner, PLATFORM_CHAIN).await;
    assert_eq!(
        actions,
        ["fixture.recorded", "fixture.recorded", "fixture.recorded", "retention.purged", "retention.purged"]
    );
    let events = audit::list(&owner, PLATFORM_CHAIN, &filter, 10).await.unwrap();
    assert_eq!(events[0].record.metadata["tokens"], 1);
    assert_eq!(events[1].record.metadata["usageRows"], 3);
    assert_eq!(events[1].record.actor_type, "system");
    assert!(audit::verify(&mut owner, PLATFORM_CHAIN).await.unwrap().valid);
}
