//! Incident exports through the generated client: every matching incident
//! across many pages, CSV that no spreadsheet runs, NDJSON, the permission
//! and the audit event.

use diesel::sql_query;
use diesel::sql_types::{Jsonb, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use futures::StreamExt;
use incident_tracker_client::ByteStream;
use incident_tracker_client::types::{ExportFormat, IncidentCreateRequest, Severity};
use incident_tracker_client::{Client, ResponseValue};

use crate::common::browser::with_api_key;
use crate::incidents::setting;
use crate::tenants::{add_member, status, user};

async fn body(response: ResponseValue<ByteStream>) -> String {
    let mut stream = response.into_inner().into_inner();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk.unwrap());
    }
    String::from_utf8(bytes).unwrap()
}

async fn export(api: &Client, format: ExportFormat, severity: Option<Severity>) -> ResponseValue<ByteStream> {
    api.incident_export(None, None, None, Some(format), None, None, severity, None, None, None).await.unwrap()
}

#[derive(diesel::QueryableByName)]
struct Exported {
    #[diesel(sql_type = Jsonb)]
    metadata: serde_json::Value,
}

#[tokio::test(flavor = "multi_thread")]
async fn exports_stream_every_matching_incident_as_inert_csv_or_ndjson() {
    let setting = setting().await;
    let api = setting.owner.api();
    let hostile = ["=HYPERLINK(\"http://evil\")", "+1+2", "-2+3", "@SUM(A1)", "\tTabbed"];
    for title in hostile {
        let request = IncidentCreateRequest {
            title: title.parse().unwrap(),
            summary: "Line one, with a comma\nand \"quotes\"".parse().unwrap(),
            severity: Severity::Sev1,
            commander_id: None,
            labels: vec!["db".parse().unwrap(), "=cmd".parse().unwrap()],
        };
        api.incident_create(None, &request).await.unwrap();
    }
    // More than two pages of the export's 100.
    for number in 0..245 {
        api.incident_create(None, &crate::incidents::new_incident(&format!("Routine {number}"))).await.unwrap();
    }

    let response = export(&api, ExportFormat::Csv, None).await;
    let header = |name: &str| response.headers().get(name).unwrap().to_str().unwrap().to_string();
    assert_eq!(header("content-type"), "text/csv; charset=utf-8");
    assert!(header("content-disposition").starts_with("attachment; filename=\"incidents-"));
    let csv = body(response).await;
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let columns = reader.headers().unwrap().clone();
    let column = |name: &str| columns.iter().position(|column| column == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 250, "every incident, across pages");
    let mut references: Vec<_> = rows.iter().map(|row| row[column("reference")].to_string()).collect();
    references.sort();
    references.dedup();
    assert_eq!(references.len(), 250, "no incident twice");
    for row in &rows {
        for cell in row.iter() {
            assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']), "a live formula: {cell:?}");
        }
    }
    let hostile_row = rows.iter().find(|row| row[column("title")].contains("HYPERLINK")).unwrap();
    assert_eq!(&hostile_row[column("title")], "'=HYPERLINK(\"http://evil\")");
    assert_eq!(&hostile_row[column("summary")], "Line one, with a comma\nand \"quotes\"");
    assert_eq!(&hostile_row[column("labels")], "db,=cmd");

    let ndjson = body(export(&api, ExportFormat::Ndjson, Some(Severity::Sev1)).await).await;
    let lines: Vec<serde_json::Value> = ndjson.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(lines.len(), hostile.len(), "the filter applies");
    assert!(lines.iter().all(|line| line["severity"] == "sev1" && line["reference"].is_string()));

    let exported: Vec<Exported> =
        sql_query("SELECT metadata FROM audit_events WHERE tenant_id = $1 AND action = $2 ORDER BY seq")
            .bind::<SqlUuid, _>(setting.tenant)
            .bind::<Text, _>("incident.exported")
            .load(&mut setting.database.owner_connection().await)
            .await
            .unwrap();
    let metadata: Vec<_> = exported.into_iter().map(|event| event.metadata).collect();
    assert_eq!(
        metadata,
        [
            serde_json::json!({ "format": "csv", "filter": {}, "rows": 250 }),
            serde_json::json!({ "format": "ndjson", "filter": { "severity": "sev1" }, "rows": 5 }),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn only_owners_and_admins_export_and_keys_never_do() {
    let setting = setting().await;
    for (role, expected) in [("admin", 200), ("responder", 403), ("viewer", 403)] {
        let (member, id) = user(&setting.app, role).await;
        add_member(&setting.database, setting.tenant, id, role).await;
        member.api().tenant_switch(&setting.tenant).await.unwrap();
        let answer = member.api().incident_export(None, None, None, None, None, None, None, None, None, None).await;
        assert_eq!(status(answer), expected, "{role}");
    }
    let request = incident_tracker_client::types::ServiceAccountCreateRequest { name: "Robot".parse().unwrap() };
    let robot = setting.owner.api().service_account_create(&setting.tenant, &request).await.unwrap().id;
    let key_request = incident_tracker_client::types::ApiKeyCreateRequest {
        service_account_id: robot,
        name: "all".parse().unwrap(),
        scopes: vec![
            incident_tracker_client::types::ApiKeyScope::Read,
            incident_tracker_client::types::ApiKeyScope::Write,
        ],
        expires_at: None,
    };
    let key = setting.owner.api().api_key_create(&setting.tenant, &key_request).await.unwrap().into_inner().secret;
    let keyed = with_api_key(&setting.app.url(""), &key);
    let answer = keyed.incident_export(None, None, None, None, None, None, None, None, None, None).await;
    assert_eq!(status(answer), 403);
}

/// A link on another site cannot make a member's browser export: the
/// browser says where the request came from, and nothing is exported or
/// audited. Scripts and the site itself are unaffected.
#[tokio::test(flavor = "multi_thread")]
async fn a_link_on_another_site_exports_nothing() {
    let setting = setting().await;
    let url = setting.app.url("/v1/incident-exports?format=csv");
    let http = setting.owner.http();
    for site in ["cross-site", "same-site"] {
        let refused = http.get(&url).header("sec-fetch-site", site).send().await.unwrap();
        assert_eq!(refused.status(), 403, "{site}");
        assert_eq!(refused.json::<serde_json::Value>().await.unwrap()["code"], "CROSS_SITE_REQUEST");
    }
    let exported = || async {
        crate::common::audit_actions(&mut setting.database.owner_connection().await, setting.tenant)
            .await
            .into_iter()
            .filter(|action| action == "incident.exported")
            .count()
    };
    assert_eq!(exported().await, 0);
    for site in [Some("same-origin"), Some("none"), None] {
        let mut request = http.get(&url);
        if let Some(site) = site {
            request = request.header("sec-fetch-site", site);
        }
        assert_eq!(request.send().await.unwrap().status(), 200, "{site:?}");
    }
    assert_eq!(exported().await, 3);
}
