//! A real HTTPS webhook receiver on loopback: records every delivery (headers and raw body) and can
//! fail the first attempts to exercise retries.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use poem::http::StatusCode;
use poem::{Request, Response, handler, web::Data};

use super::tls;

#[derive(Debug, Clone)]
pub struct ReceivedHook {
    pub headers: HashMap<String, String>,
    pub body: String,
}

struct State {
    received: Mutex<Vec<ReceivedHook>>,
    fail_first: AtomicU32,
}

pub struct WebhookReceiver {
    /// `https://127.0.0.1:<port>/hook`
    pub url: String,
    /// PEM to trust through `SSL_CERT_FILE`.
    pub ca_file: String,
    state: Arc<State>,
}

impl WebhookReceiver {
    pub async fn start(dir: &Path) -> WebhookReceiver {
        let state = Arc::new(State { received: Mutex::new(Vec::new()), fail_first: AtomicU32::new(0) });
        let backend = super::serve(poem::EndpointExt::data(receive, state.clone())).await;
        let front = tls::start(backend, dir).await;
        WebhookReceiver { url: format!("{}/hook", front.base_url), ca_file: front.ca_file.display().to_string(), state }
    }

    /// Answers 500 to the next `attempts` deliveries.
    pub fn fail_first(&self, attempts: u32) {
        self.state.fail_first.store(attempts, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<ReceivedHook> {
        self.state.received.lock().unwrap().clone()
    }

    /// Waits (bounded) until `count` deliveries arrived.
    pub async fn wait_for(&self, count: usize) -> Vec<ReceivedHook> {
        for _ in 0..1000 {
            if self.received().len() >= count {
                return self.received();
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("expected {count} webhook deliveries, got {}", self.received().len());
    }
}

#[handler]
async fn receive(req: &Request, body: String, state: Data<&Arc<State>>) -> Response {
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or_default().to_string()))
        .collect();
    state.received.lock().unwrap().push(ReceivedHook { headers, body });
    let failing = state.fail_first.load(Ordering::SeqCst);
    if failing > 0 {
        state.fail_first.store(failing - 1, Ordering::SeqCst);
        return Response::builder().status(StatusCode::INTERNAL_SERVER_ERROR).finish();
    }
    Response::builder().status(StatusCode::NO_CONTENT).finish()
}
