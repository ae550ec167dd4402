//! Graceful shutdown lets a request that is already running finish.

use std::time::Duration;

use dropshot::{ApiDescription, HttpResponseOk, RequestContext, endpoint};
use incident_tracker::api::ApiError;
use incident_tracker::server::start_http;
use tokio::sync::Notify;

use crate::common::{base_url, config};

#[derive(Default)]
struct Slow {
    started: Notify,
}

#[endpoint { method = GET, path = "/slow" }]
async fn slow(rqctx: RequestContext<Slow>) -> Result<HttpResponseOk<String>, ApiError> {
    rqctx.context().started.notify_one();
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(HttpResponseOk("finished".to_string()))
}

#[tokio::test]
async fn closing_the_server_waits_for_in_flight_requests() {
    let mut api = ApiDescription::new();
    api.register(slow).unwrap();
    let server = start_http(api, Slow::default(), &config(&[])).unwrap();
    let url = format!("{}/slow", base_url(server.local_addr()));
    let in_flight = tokio::spawn(async move { reqwest::get(url).await?.text().await });

    server.app_private().started.notified().await;
    server.close().await.unwrap();

    let body = in_flight.await.unwrap().expect("the in-flight request was answered");
    assert_eq!(body, "\"finished\"");
}
