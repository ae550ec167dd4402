//! A real HTTP receiver for webhook deliveries: it records each request and
//! answers with the statuses it was told to, then 200.

// The receiver takes raw bodies; the API's extractor rules are for the API.
#![allow(clippy::disallowed_types)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use dropshot::{ApiDescription, Body, ConfigDropshot, HttpError, RequestContext, ServerBuilder, UntypedBody, endpoint};

/// One request as the receiver saw it.
#[derive(Clone, Debug)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: Vec<u8>,
}

#[derive(Default)]
struct State {
    received: Mutex<Vec<Received>>,
    answers: Mutex<VecDeque<u16>>,
}

pub struct WebhookReceiver {
    server: dropshot::HttpServer<Arc<State>>,
    state: Arc<State>,
}

#[endpoint { method = POST, path = "/hook" }]
async fn receive(rqctx: RequestContext<Arc<State>>, body: UntypedBody) -> Result<http::Response<Body>, HttpError> {
    let header = |name: &str| {
        rqctx.request.headers().get(name).and_then(|value| value.to_str().ok()).unwrap_or_default().to_string()
    };
    let received = Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: body.as_bytes().to_vec(),
    };
    let state = rqctx.context();
    state.received.lock().unwrap().push(received);
    let status = state.answers.lock().unwrap().pop_front().unwrap_or(200);
    Ok(http::Response::builder().status(status).body(Body::empty()).unwrap())
}

impl WebhookReceiver {
    /// Answers `answers` in turn, then 200 to everything.
    pub async fn start(answers: &[u16]) -> WebhookReceiver {
        let mut api = ApiDescription::new();
        api.register(receive).unwrap();
        let state = Arc::new(State { answers: Mutex::new(answers.iter().copied().collect()), ..State::default() });
        let config = ConfigDropshot { bind_address: "127.0.0.1:0".parse().unwrap(), ..ConfigDropshot::default() };
        let log = slog::Logger::root(slog::Discard, slog::o!());
        let server = ServerBuilder::new(api, state.clone(), log).config(config).start().unwrap();
        WebhookReceiver { server, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.server.local_addr())
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }
}
