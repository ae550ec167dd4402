//! The change feed: one event per change, in the change's transaction, read
//! back in commit order.

use std::collections::BTreeSet;
use std::time::Duration;

use diesel::sql_query;
use diesel_async::RunQueryDsl;
use futures::future::join_all;
use incident_tracker_client::Client;
use incident_tracker_client::types::{
    ApiKeyCreateRequest, ApiKeyScope, Event, EventData, EventType, IncidentStatus, MemberUpdateRequest, Role,
    ServiceAccountCreateRequest, TaskStatus, TaskUpdateRequest,
};
use uuid::Uuid;

use crate::common::browser::with_api_key;
use crate::common::{TestApp, TestDatabase, mail_to, scratch_dir};
use crate::incidents::{new_incident, new_task, note, retitled, setting, status_update};
use crate::tenants::{accept, invite_token, status, user};

/// Every event after `after`, page by page, and the cursor after the last.
async fn read_feed(api: &Client, after: Option<String>, types: Option<&str>) -> (Vec<Event>, String) {
    let types = types.map(|types| types.parse().unwrap());
    let mut cursor = after;
    let mut events = Vec::new();
    loop {
        let after = cursor.as_deref().map(|cursor| cursor.parse().unwrap());
        let page = api.event_list(after.as_ref(), 7.try_into().ok(), types.as_ref()).await.unwrap().into_inner();
        let done = page.items.is_empty();
        events.extend(page.items);
        cursor = Some(page.next_cursor);
        if done {
            return (events, cursor.unwrap());
        }
    }
}

/// A client with a new read key of the tenant, made by `api`.
async fn read_key(app: &TestApp, api: &Client, tenant: Uuid) -> Client {
    let service_account = ServiceAccountCreateRequest { name: "Sync".parse().unwrap() };
    let service_account = api.service_account_create(&tenant, &service_account).await.unwrap().id;
    let key = ApiKeyCreateRequest {
        service_account_id: service_account,
        name: "feed".parse().unwrap(),
        scopes: vec![ApiKeyScope::Read],
        expires_at: None,
    };
    let key = api.api_key_create(&tenant, &key).await.unwrap().into_inner().secret;
    with_api_key(&app.url(""), &key)
}

fn kinds(events: &[Event]) -> Vec<EventType> {
    events.iter().map(|event| event.type_).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_change_is_one_event_with_the_object_and_a_refused_change_none() {
    let setting = setting().await;
    let api = setting.owner.api();
    let incident = api.incident_create(None, &new_incident("Checkout down")).await.unwrap().into_inner();
    let mut refused = new_incident("Commanded by a stranger");
    refused.commander_id = Some(Uuid::new_v4());
    assert_eq!(status(api.incident_create(None, &refused).await), 400);
    api.incident_update(&incident.id, None, &retitled("Checkout errors")).await.unwrap();
    api.timeline_event_create(&incident.id, None, &note("Paged the DBA")).await.unwrap();
    let task = api.task_create(&incident.id, None, &new_task("Roll back", None)).await.unwrap().into_inner();
    let done = TaskUpdateRequest {
        status: Some(TaskStatus::Done),
        title: None,
        description: None,
        assignee_id: None,
        due_at: None,
    };
    api.task_update(&incident.id, &task.id, None, &done).await.unwrap();
    let update = status_update("Rolled back", Some(IncidentStatus::Mitigated));
    api.status_update_create(&incident.id, None, &update).await.unwrap();

    let (events, cursor) = read_feed(&api, None, None).await;
    assert_eq!(
        kinds(&events),
        [
            EventType::IncidentCreated,
            EventType::IncidentUpdated,
            EventType::TimelineNoteCreated,
            EventType::TaskCreated,
            EventType::TaskUpdated,
            EventType::StatusUpdatePosted,
            EventType::IncidentStatusChanged,
        ]
    );
    assert!(events.iter().all(|event| event.incident_id == Some(incident.id) && event.tenant_id == setting.tenant));
    assert_eq!(events.iter().map(|event| event.id).collect::<BTreeSet<_>>().len(), events.len());
    match (&events[1].data, &events[4].data, &events[6].data) {
        (EventData::Incident(retitled), EventData::Task(finished), EventData::Incident(mitigated)) => {
            assert_eq!((retitled.title.as_str(), retitled.version), ("Checkout errors", 2));
            assert_eq!((finished.id, finished.status), (task.id, TaskStatus::Done));
            assert_eq!(mitigated.status, IncidentStatus::Mitigated);
        }
        other => panic!("{other:?}"),
    }
    match &events[2].data {
        EventData::TimelineEvent(noted) => assert_eq!(noted.body_html.as_deref(), Some("<p>Paged the DBA</p>\n")),
        other => panic!("{other:?}"),
    }

    // The cursor is where a client resumes: nothing new, then only what is.
    assert!(read_feed(&api, Some(cursor.clone()), None).await.0.is_empty());
    api.timeline_event_create(&incident.id, None, &note("Still rolled back")).await.unwrap();
    let (later, _) = read_feed(&api, Some(cursor), None).await;
    assert_eq!(kinds(&later), [EventType::TimelineNoteCreated]);
    let (notes, _) = read_feed(&api, None, Some("timeline.note_created,task.created")).await;
    assert_eq!(kinds(&notes), [EventType::TimelineNoteCreated, EventType::TaskCreated, EventType::TimelineNoteCreated]);

    // A read key follows the feed too (but not the creation of keys);
    // another tenant's member sees none of it.
    let keyed = read_key(&setting.app, &api, setting.tenant).await;
    assert_eq!(read_feed(&keyed, None, None).await.0.len(), 8);
    let (outsider, _) = user(&setting.app, "outsider").await;
    let theirs = outsider.create_tenant("Elsewhere").await;
    outsider.api().tenant_switch(&theirs).await.unwrap();
    assert!(read_feed(&outsider.api(), None, None).await.0.is_empty());
    let beyond = outsider.api().event_list(Some(&"5".parse().unwrap()), None, None).await;
    assert_eq!(status(beyond), 400, "a cursor from another tenant's feed");
}

#[tokio::test(flavor = "multi_thread")]
async fn tenant_changes_are_events_each_caller_sees_as_far_as_it_may_read_them() {
    use EventType::*;
    let data_dir = scratch_dir("events-tenant");
    let database = TestDatabase::migrated().await;
    let app = TestApp::spawn_on(&database, &[("DATA_DIR", data_dir.to_str().unwrap())]).await;
    let (owner, _) = user(&app, "owner").await;
    let (grace, grace_id) = user(&app, "grace").await;
    let tenant = owner.create_tenant("Acme").await;
    owner.api().tenant_switch(&tenant).await.unwrap();
    let api = owner.api();

    owner.invite(tenant, "grace@example.com", Role::Viewer).await;
    let withdrawn = owner.invite(tenant, "nobody@example.com", Role::Responder).await;
    api.invite_revoke(&tenant, &withdrawn).await.unwrap();
    let token = invite_token(&mail_to(&data_dir.join("mail"), "grace@example.com").await);
    grace.api().invite_accept(&accept(&token)).await.unwrap();
    api.member_update(&tenant, &grace_id, &MemberUpdateRequest { role: Role::Responder }).await.unwrap();
    let keyed = read_key(&app, &api, tenant).await;
    read_key(&app, &api, tenant).await;
    let keys = api.api_key_list(&tenant, None, None).await.unwrap().into_inner().items;
    api.api_key_revoke(&tenant, &keys[1].id).await.unwrap();

    grace.api().tenant_switch(&tenant).await.unwrap();
    let (seen_by_responder, _) = read_feed(&grace.api(), None, None).await;
    assert_eq!(
        kinds(&seen_by_responder),
        [InviteCreated, InviteCreated, InviteRevoked, MemberJoined, MemberRoleChanged]
    );
    let (seen_by_key, _) = read_feed(&keyed, None, None).await;
    assert_eq!(kinds(&seen_by_key), [MemberJoined, MemberRoleChanged], "keys list members, not invites or keys");
    assert!(read_feed(&keyed, None, Some("api_key.created,invite.created")).await.0.is_empty());

    api.member_remove(&tenant, &grace_id).await.unwrap();
    let (events, _) = read_feed(&api, None, None).await;
    assert_eq!(
        kinds(&events),
        [
            InviteCreated,
            InviteCreated,
            InviteRevoked,
            MemberJoined,
            MemberRoleChanged,
            ServiceAccountCreated,
            ApiKeyCreated,
            ServiceAccountCreated,
            ApiKeyCreated,
            ApiKeyRevoked,
            MemberRemoved,
        ]
    );
    assert!(events.iter().all(|event| event.incident_id.is_none() && event.tenant_id == tenant));
    match (&events[2].data, &events[3].data, &events[4].data, &events[9].data, &events[10].data) {
        (
            EventData::Invite(revoked),
            EventData::Member(joined),
            EventData::Member(promoted),
            EventData::ApiKey(key),
            EventData::Member(removed),
        ) => {
            assert_eq!((revoked.id, revoked.email.as_str()), (withdrawn, "nobody@example.com"));
            assert_eq!((joined.user_id, joined.role), (grace_id, Role::Viewer));
            assert_eq!((promoted.user_id, promoted.role), (grace_id, Role::Responder));
            assert_eq!(key.id, keys[1].id);
            assert!(key.revoked_at.is_some());
            assert_eq!((removed.user_id, removed.role), (grace_id, Role::Responder));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reader_during_200_concurrent_writes_gets_every_event_once_in_commit_order() {
    let setting = setting().await;
    let api = setting.owner.api();
    let mut incidents = Vec::new();
    for n in 0..4 {
        incidents.push(api.incident_create(None, &new_incident(&format!("Incident {n}"))).await.unwrap().id);
    }
    let (before, start) = read_feed(&api, None, None).await;
    assert_eq!(before.len(), 4);

    let reader = {
        let api = setting.owner.api();
        tokio::spawn(async move {
            let (mut seen, mut cursor) = (Vec::new(), start);
            while seen.len() < 200 {
                let (events, next) = read_feed(&api, Some(cursor), None).await;
                seen.extend(events);
                cursor = next;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            seen
        })
    };
    let writes = (0..200).map(|n| {
        let api = setting.owner.api();
        let incident = incidents[n % 4];
        async move {
            if n % 10 == 0 {
                api.incident_update(&incident, None, &retitled(&format!("Renamed {n}"))).await.map(drop)
            } else {
                api.timeline_event_create(&incident, None, &note(&format!("Note {n}"))).await.map(drop)
            }
        }
    });
    for written in join_all(writes).await {
        written.unwrap();
    }
    let seen = tokio::time::timeout(Duration::from_secs(60), reader).await.unwrap().unwrap();

    // Read once more from the start, after every write committed: the
    // reader saw exactly that, in that order. An event that committed
    // behind the reader's cursor would be missing from what it saw.
    let (all, _) = read_feed(&api, None, None).await;
    let ids = |events: &[Event]| events.iter().map(|event| event.id).collect::<Vec<_>>();
    assert_eq!(ids(&seen), ids(&all[4..]));
    assert_eq!(ids(&all).into_iter().collect::<BTreeSet<_>>().len(), 204);
    for incident in &incidents {
        let notes = seen.iter().filter(|event| event.incident_id == Some(*incident)).count();
        assert_eq!(notes, 50);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cursor_behind_purged_events_is_gone() {
    let setting = setting().await;
    let api = setting.owner.api();
    let incident = api.incident_create(None, &new_incident("Old")).await.unwrap().into_inner();
    api.timeline_event_create(&incident.id, None, &note("Old note")).await.unwrap();
    api.timeline_event_create(&incident.id, None, &note("New note")).await.unwrap();
    let mut owner = setting.database.owner_connection().await;
    sql_query("UPDATE change_events SET occurred_at = now() - interval '31 days' WHERE seq <= 2")
        .execute(&mut owner)
        .await
        .unwrap();

    // Every server purges when it starts, then hourly.
    let _purging = TestApp::spawn_on(&setting.database, &[]).await;
    let mut answer = 0;
    for _ in 0..100 {
        answer = status(api.event_list(Some(&"0".parse().unwrap()), None, None).await);
        if answer != 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(answer, 410);
    let expired = setting.owner.http().get(setting.app.url("/v1/events?after=1")).send().await.unwrap();
    let expired: serde_json::Value = expired.json().await.unwrap();
    assert_eq!(expired["code"], "CURSOR_EXPIRED");
    let (kept, _) = read_feed(&api, None, None).await;
    assert_eq!(kinds(&kept), [EventType::TimelineNoteCreated]);
    assert_eq!(read_feed(&api, Some("2".to_string()), None).await.0.len(), 1);
}
