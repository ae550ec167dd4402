//! The audit log's hash chain: it never forks under concurrent writers, the
//! verifier finds tampering, and the database keeps it append-only.

use diesel::sql_query;
use diesel::sql_types::Uuid as SqlUuid;
use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use incident_tracker::actor::{Actor, Origin};
use incident_tracker::audit::{self, PLATFORM_CHAIN};
use incident_tracker::db::schema::audit_events;
use incident_tracker::db::{self, TenantScope};
use incident_tracker_client::types::{AuditChainVerification, Role, ServiceAccountCreateRequest};
use uuid::Uuid;

use crate::common::browser::Browser;
use crate::common::{TestApp, TestDatabase, count, scratch_dir};

const PASSWORD: &str = "correct horse battery staple";

/// An owner's browser, switched to a new tenant with `invites` audited
/// invites after its `tenant.created`.
async fn tenant_with_events(app: &TestApp, invites: usize) -> (Browser, Uuid) {
    let mut owner = Browser::open(&app.url("")).await;
    owner.signup("owner@example.com", PASSWORD, "Owner").await;
    let tenant = owner.create_tenant("Acme").await;
    owner.api().tenant_switch(&tenant).await.unwrap();
    for index in 0..invites {
        owner.invite(tenant, &format!("invitee{index}@example.com"), Role::Viewer).await;
    }
    (owner, tenant)
}

async fn verify(owner: &Browser) -> AuditChainVerification {
    owner.api().audit_chain_verify().await.unwrap().into_inner()
}

async fn execute(conn: &mut AsyncPgConnection, statement: &str, tenant: Uuid) {
    sql_query(statement).bind::<SqlUuid, _>(tenant).execute(conn).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_concurrent_audited_writes_leave_a_chain_that_verifies() {
    let data_dir = scratch_dir("audit-concurrency");
    let app = TestApp::spawn_with(&[("DATA_DIR", data_dir.to_str().unwrap()), ("WRITE_RATE_LIMIT", "1000/600")]).await;
    let (owner, tenant) = tenant_with_events(&app, 0).await;
    let mut writes = tokio::task::JoinSet::new();
    for index in 0..200 {
        let api = owner.api();
        writes.spawn(async move {
            let request = ServiceAccountCreateRequest { name: format!("robot {index}").parse().unwrap() };
            api.service_account_create(&tenant, &request).await.map(|_| ())
        });
    }
    for write in writes.join_all().await {
        write.expect("every audited write succeeds");
    }
    let verified = verify(&owner).await;
    assert!(verified.valid, "{verified:?}");
    assert_eq!((verified.checked_events, verified.head_seq, verified.first_invalid_seq), (201, 201, None));
    let newest = owner.api().audit_event_list(None, None, None, None, None, None).await.unwrap().into_inner();
    assert_eq!(verified.head_hash.as_deref(), Some(newest.items[0].hash.as_str()));
    std::fs::remove_dir_all(&data_dir).ok();
}

/// A chain has no head before its first event. Of two first events at
/// once, the second waits for the head the first creates, then follows it.
#[tokio::test(flavor = "multi_thread")]
async fn two_first_events_at_once_start_one_chain() {
    let database = TestDatabase::migrated().await;
    let scope = TenantScope { tenant_id: PLATFORM_CHAIN, actor_id: Uuid::nil() };
    let event = || audit::NewEvent::new("test.first_event", None);
    let mut first = AsyncPgConnection::establish(&database.server_url).await.unwrap();
    first.batch_execute("BEGIN").await.unwrap();
    db::enter_tenant(&mut first, scope).await.unwrap();
    audit::append(&mut first, PLATFORM_CHAIN, &Actor::System, &Origin::internal("test"), event()).await.unwrap();

    let pool = db::connect(&database.server_url, 1).await.unwrap();
    let second = tokio::spawn(async move {
        db::in_tenant(&pool, scope, move |conn| {
            Box::pin(async move {
                audit::append(conn, PLATFORM_CHAIN, &Actor::System, &Origin::internal("test"), event()).await
            })
        })
        .await
    });
    let mut owner = database.owner_connection().await;
    let waiting = "SELECT count(*) AS count FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'";
    while count(&mut owner, waiting).await == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    first.batch_execute("COMMIT").await.unwrap();
    second.await.unwrap().expect("the second event follows the first");

    let links: Vec<(i64, Vec<u8>, Vec<u8>)> = audit_events::table
        .filter(audit_events::tenant_id.eq(PLATFORM_CHAIN))
        .order(audit_events::seq)
        .select((audit_events::seq, audit_events::prev_hash, audit_events::hash))
        .load(&mut owner)
        .await
        .unwrap();
    assert_eq!(links.iter().map(|(seq, _, _)| *seq).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(links[0].1, [0; 32]);
    assert_eq!(links[1].1, links[0].2, "the second event links to the first");
}

/// Tampering through SQL as the test cluster's owner (a superuser, so
/// row-level security does not hide the rows from it), with the append-only
/// trigger turned off on purpose: each kind is found, at the first bad
/// `seq`, and undoing it makes the chain whole again.
#[tokio::test(flavor = "multi_thread")]
async fn the_verifier_finds_changed_deleted_and_swapped_events() {
    let data_dir = scratch_dir("audit-tamper");
    let database = TestDatabase::migrated().await;
    let app = TestApp::spawn_on(&database, &[("DATA_DIR", data_dir.to_str().unwrap())]).await;
    let (owner, tenant) = tenant_with_events(&app, 4).await;
    assert!(verify(&owner).await.valid);
    let mut sql = database.owner_connection().await;
    sql_query("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only").execute(&mut sql).await.unwrap();
    sql_query("CREATE TEMP TABLE saved AS SELECT * FROM audit_events").execute(&mut sql).await.unwrap();
    let restore = [
        "DELETE FROM audit_events WHERE tenant_id = $1",
        "INSERT INTO audit_events SELECT * FROM saved WHERE tenant_id = $1",
    ];
    let tamperings: [(&str, &[&str], i64); 4] = [
        (
            "a changed row",
            &["UPDATE audit_events SET metadata = '{\"role\": \"owner\"}' WHERE tenant_id = $1 AND seq = 3"],
            3,
        ),
        ("a deleted row", &["DELETE FROM audit_events WHERE tenant_id = $1 AND seq = 4"], 4),
        (
            "two swapped rows",
            &[
                "UPDATE audit_events SET seq = 1000 WHERE tenant_id = $1 AND seq = 2",
                "UPDATE audit_events SET seq = 2 WHERE tenant_id = $1 AND seq = 3",
                "UPDATE audit_events SET seq = 3 WHERE tenant_id = $1 AND seq = 1000",
            ],
            2,
        ),
        ("the newest row deleted", &["DELETE FROM audit_events WHERE tenant_id = $1 AND seq = 5"], 5),
    ];
    for (what, tampering, first_bad) in tamperings {
        for statement in tampering {
            execute(&mut sql, statement, tenant).await;
        }
        let verified = verify(&owner).await;
        assert!(!verified.valid, "{what} went unnoticed");
        assert_eq!(verified.first_invalid_seq, Some(first_bad), "{what}");
        assert_eq!(verified.checked_events, first_bad as u64 - 1, "{what}");
        for statement in restore {
            execute(&mut sql, statement, tenant).await;
        }
        assert!(verify(&owner).await.valid, "undoing {what} restores the chain");
    }

    // Each datum kept beside an event is checked against its digest, and
    // can be erased alone, as retention and account deletion do; seq 2 and
    // 3 are invites, with an address and an email each.
    sql_query("CREATE TEMP TABLE saved_personal AS SELECT * FROM audit_personal_data").execute(&mut sql).await.unwrap();
    let tamperings = [
        "UPDATE audit_personal_data SET client_ip = '203.0.113.9' WHERE tenant_id = $1 AND seq = 3",
        "UPDATE audit_personal_data SET email = 'invitee9@example.com' WHERE tenant_id = $1 AND seq = 3",
        // The copy of the event's actor, which erasure finds the data by.
        "UPDATE audit_personal_data SET actor_id = NULL WHERE tenant_id = $1 AND seq = 3",
        // Another event's data, salts and all.
        "UPDATE audit_personal_data SET (client_ip, client_ip_salt, email, email_salt) = \
         (SELECT client_ip, client_ip_salt, email, email_salt FROM saved_personal WHERE tenant_id = $1 AND seq = 2) \
         WHERE tenant_id = $1 AND seq = 3",
    ];
    let restore_personal = [
        "DELETE FROM audit_personal_data WHERE tenant_id = $1 AND seq = 3",
        "INSERT INTO audit_personal_data SELECT * FROM saved_personal WHERE tenant_id = $1 AND seq = 3",
    ];
    for tampering in tamperings {
        execute(&mut sql, tampering, tenant).await;
        assert_eq!(verify(&owner).await.first_invalid_seq, Some(3), "{tampering} went unnoticed");
        for statement in restore_personal {
            execute(&mut sql, statement, tenant).await;
        }
    }
    let erase_address = "UPDATE audit_personal_data SET client_ip = NULL, client_ip_salt = NULL \
                         WHERE tenant_id = $1 AND seq = 3";
    execute(&mut sql, erase_address, tenant).await;
    assert!(verify(&owner).await.valid, "an erased address breaks no chain");
    let events = owner.api().audit_event_list(None, None, None, None, None, None).await.unwrap().into_inner().items;
    let (erased, kept) = (&events[events.len() - 3], &events[events.len() - 2]);
    assert_eq!((erased.seq, erased.client_ip.as_deref()), (3, None));
    assert_eq!(erased.metadata["email"], "invitee1@example.com", "the email stays, and is still checked");
    assert!(kept.client_ip.is_some() && kept.address_digest.is_some() && kept.email_digest.is_some());
    execute(
        &mut sql,
        "UPDATE audit_personal_data SET email = 'x@example.com' WHERE tenant_id = $1 AND seq = 3",
        tenant,
    )
    .await;
    assert_eq!(
        verify(&owner).await.first_invalid_seq,
        Some(3),
        "a changed email beside an erased address went unnoticed"
    );
    execute(&mut sql, "DELETE FROM audit_personal_data WHERE tenant_id = $1 AND seq = 3", tenant).await;
    assert!(verify(&owner).await.valid, "erased personal data breaks no chain");
    let events = owner.api().audit_event_list(None, None, None, None, None, None).await.unwrap().into_inner().items;
    assert_eq!(events[events.len() - 3].metadata.get("email"), None);
    execute(&mut sql, restore_personal[1], tenant).await;
    assert!(verify(&owner).await.valid);

    // The head moved back to hide the newest events.
    sql_query("ALTER TABLE audit_chain_heads DISABLE TRIGGER audit_chain_heads_advance_only")
        .execute(&mut sql)
        .await
        .unwrap();
    let rewind = "UPDATE audit_chain_heads SET seq = 3, \
                  hash = (SELECT hash FROM audit_events WHERE tenant_id = $1 AND seq = 3) WHERE tenant_id = $1";
    execute(&mut sql, rewind, tenant).await;
    let verified = verify(&owner).await;
    assert_eq!((verified.valid, verified.first_invalid_seq, verified.head_seq), (false, Some(4), 3));
    std::fs::remove_dir_all(&data_dir).ok();
}

async fn event_count(conn: &mut AsyncPgConnection) -> i64 {
    count(conn, "SELECT count(*) AS count FROM audit_events").await
}

/// The server's role may add and read events, never change or remove them;
/// the owner is stopped by the trigger.
#[tokio::test(flavor = "multi_thread")]
async fn audit_events_are_append_only_in_the_database() {
    let database = TestDatabase::migrated().await;
    let app = TestApp::spawn_on(&database, &[]).await;
    let (owner, tenant) = tenant_with_events(&app, 0).await;
    owner.invite(tenant, "invitee@example.com", Role::Viewer).await;
    let changes =
        ["UPDATE audit_events SET action = 'nothing.happened'", "DELETE FROM audit_events", "TRUNCATE audit_events"];

    let pool = db::connect(&database.server_url, 1).await.unwrap();
    let scope = TenantScope { tenant_id: tenant, actor_id: Uuid::nil() };
    for change in changes {
        let refused = db::in_tenant(&pool, scope, move |conn| {
            Box::pin(async move { Ok(sql_query(change).execute(conn).await?) })
        })
        .await;
        let message = refused.expect_err(change).to_string();
        assert!(message.contains("permission denied"), "{change}: {message}");
    }
    let visible = db::in_tenant(&pool, scope, |conn| Box::pin(async move { Ok(event_count(conn).await) }));
    assert_eq!(visible.await.unwrap(), 2, "the server's role reads its tenant's events");
    // Nor can it move the chain's head back to hide the newest event.
    let rewind = db::in_tenant(&pool, scope, move |conn| {
        Box::pin(async move {
            let rewind = "UPDATE audit_chain_heads SET seq = 1, \
                          hash = (SELECT hash FROM audit_events WHERE tenant_id = $1 AND seq = 1)";
            Ok(sql_query(rewind).bind::<SqlUuid, _>(tenant).execute(conn).await?)
        })
    });
    let refused = rewind.await.expect_err("the head moved back").to_string();
    assert!(refused.contains("only advances"), "{refused}");
    // Nor advance it to a forged event, shadowing the table with a temporary one.
    let forge = db::in_tenant(&pool, scope, |conn| {
        Box::pin(async move {
            for statement in [
                "CREATE TEMP TABLE audit_events AS SELECT * FROM public.audit_events WHERE false",
                "INSERT INTO audit_events (tenant_id, seq, action, actor_type, occurred_at, metadata, prev_hash, hash) \
                 SELECT tenant_id, seq + 1, 'forged', 'user', now(), '{}', hash, decode(repeat('ee', 32), 'hex') \
                 FROM audit_chain_heads",
                "UPDATE audit_chain_heads SET seq = seq + 1, hash = decode(repeat('ee', 32), 'hex')",
            ] {
                sql_query(statement).execute(conn).await?;
            }
            Ok(())
        })
    });
    let refused = forge.await.expect_err("the head moved to a forged event").to_string();
    assert!(refused.contains("only advances"), "{refused}");

    let mut sql = database.owner_connection().await;
    for change in changes {
        let refused = sql_query(change).execute(&mut sql).await.expect_err(change).to_string();
        assert!(refused.contains("append-only"), "{change}: {refused}");
    }
    assert!(event_count(&mut sql).await >= 2);
    assert!(verify(&owner).await.valid);
}
