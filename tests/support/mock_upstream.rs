//! A mock GPT-compatible image API speaking the four upstream protocols the panel uses:
//! `/v1/images/generations`, `/v1/images/edits` (multipart), `/v1/responses` and
//! `/v1/chat/completions` (JSON or `data:` SSE). Any base path prefix works (`/openai/v1/...`).
//! Knobs: response delay, image-download delay, failures (always or for the next N calls), chat reply style. Every request
//! is recorded with its headers, JSON body or multipart parts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use poem::http::StatusCode;
use poem::web::Multipart;
use poem::{Body, FromRequest, IntoResponse, Request, Response, handler};
use serde_json::{Value, json};

use super::fixtures::{PNG_1X1_BASE64, png_1x1};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatMode {
    /// `message.content` is exactly this text (what a prompt optimizer answers).
    Text(String),
    /// `message.content` holds a `data:image/png;base64,…` URL.
    DataUrl,
    /// `message.content` holds a Markdown image link to a downloadable URL.
    MarkdownLink,
    /// `message.content` holds a bare https/http URL.
    BareUrl,
    /// The reply is an SSE stream of `data:` chunks whose `delta.content` pieces form a data URL.
    Sse,
}

#[derive(Debug, Clone)]
pub struct RecordedPart {
    pub name: String,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

impl RecordedPart {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub json: Option<Value>,
    pub parts: Vec<RecordedPart>,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    pub fn parts_named(&self, name: &str) -> Vec<&RecordedPart> {
        self.parts.iter().filter(|part| part.name == name).collect()
    }
}

#[derive(Debug, Clone)]
struct Failure {
    status: u16,
    body: String,
    content_type: &'static str,
    /// `None` fails every call; `Some(n)` fails the next n calls.
    remaining: Option<u32>,
}

struct Knobs {
    delay: Duration,
    download_delay: Duration,
    failure: Option<Failure>,
    chat_mode: ChatMode,
    image: Vec<u8>,
}

struct MockState {
    files_url: Mutex<String>,
    /// API calls being answered now, and the most at once so far.
    in_flight: Mutex<(usize, usize)>,
    /// The same for image downloads.
    downloads_in_flight: Mutex<(usize, usize)>,
    requests: Mutex<Vec<RecordedRequest>>,
    knobs: Mutex<Knobs>,
}

#[derive(Clone)]
pub struct MockUpstream {
    pub base_url: String,
    /// Image URLs in replies point at `https://127.0.0.1:<port>/files/…` behind this CA.
    pub ca_file: String,
    state: Arc<MockState>,
    _tls_dir: Arc<tempfile::TempDir>,
}

impl MockUpstream {
    pub async fn start() -> MockUpstream {
        let state = Arc::new(MockState {
            files_url: Mutex::new(String::new()),
            in_flight: Mutex::new((0, 0)),
            downloads_in_flight: Mutex::new((0, 0)),
            requests: Mutex::new(Vec::new()),
            knobs: Mutex::new(Knobs {
                delay: Duration::ZERO,
                download_delay: Duration::ZERO,
                failure: None,
                chat_mode: ChatMode::DataUrl,
                image: png_1x1(),
            }),
        });
        let address = super::serve(poem::EndpointExt::data(route, state.clone())).await;
        let base_url = format!("http://{address}");
        let tls_dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        let front = super::tls::start(address, tls_dir.path()).await;
        *state.files_url.lock().unwrap() = front.base_url.clone();
        MockUpstream { base_url, ca_file: front.ca_file.display().to_string(), state, _tls_dir: tls_dir }
    }

    /// The most API calls answered at the same time (counted while a delay is set).
    pub fn max_in_flight(&self) -> usize {
        self.state.in_flight.lock().unwrap().1
    }

    /// The most image downloads answered at the same time (counted while a download delay is set).
    pub fn max_downloads_in_flight(&self) -> usize {
        self.state.downloads_in_flight.lock().unwrap().1
    }

    /// Answers every image download after `delay`.
    pub fn set_download_delay(&self, delay: Duration) {
        self.state.knobs.lock().unwrap().download_delay = delay;
    }

    /// Answers every API call after `delay`.
    pub fn set_delay(&self, delay: Duration) {
        self.state.knobs.lock().unwrap().delay = delay;
    }

    /// Fails every API call with `status` and a JSON `{"error":{"message":…}}` body.
    pub fn fail_with(&self, status: u16, message: &str) {
        self.set_failure(
            status,
            json!({"error": {"message": message, "type": "mock_error"}}).to_string(),
            "application/json",
            None,
        );
    }

    /// Fails only the next `times` API calls.
    pub fn fail_next(&self, times: u32, status: u16, message: &str) {
        self.set_failure(status, json!({"error": {"message": message}}).to_string(), "application/json", Some(times));
    }

    /// Answers every API call with `302 Found` pointing at `location`.
    pub fn redirect_to(&self, location: &str) {
        self.set_failure(302, location.to_string(), "redirect", None);
    }

    /// Fails every API call with a plain-text body.
    pub fn fail_with_text(&self, status: u16, body: &str) {
        self.set_failure(status, body.to_string(), "text/plain", None);
    }

    pub fn succeed(&self) {
        self.state.knobs.lock().unwrap().failure = None;
    }

    pub fn set_chat_mode(&self, mode: ChatMode) {
        self.state.knobs.lock().unwrap().chat_mode = mode;
    }

    /// The bytes returned as the generated image.
    pub fn set_image(&self, image: Vec<u8>) {
        self.state.knobs.lock().unwrap().image = image;
    }

    /// A client that trusts the mock's HTTPS front.
    pub fn client(&self) -> reqwest::Client {
        let pem = std::fs::read(&self.ca_file).expect("ca file");
        let ca = reqwest::Certificate::from_pem(&pem).expect("ca");
        reqwest::Client::builder().tls_certs_only([ca]).build().expect("client")
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.requests.lock().unwrap().clone()
    }

    /// Recorded calls to paths ending with `suffix`.
    pub fn requests_to(&self, suffix: &str) -> Vec<RecordedRequest> {
        self.requests().into_iter().filter(|req| req.path.ends_with(suffix)).collect()
    }

    fn set_failure(&self, status: u16, body: String, content_type: &'static str, remaining: Option<u32>) {
        self.state.knobs.lock().unwrap().failure = Some(Failure { status, body, content_type, remaining });
    }
}

#[handler]
async fn route(req: &Request, body: Body, state: poem::web::Data<&Arc<MockState>>) -> Response {
    let path = req.uri().path().to_string();
    if req.method() == poem::http::Method::GET && path.starts_with("/files/") {
        let (image, delay) = {
            let knobs = state.knobs.lock().unwrap();
            (knobs.image.clone(), knobs.download_delay)
        };
        counted_wait(&state.downloads_in_flight, delay).await;
        return Response::builder().content_type("image/png").body(image);
    }
    let recorded = record(req, body, &path).await;
    let response_format = recorded
        .json
        .as_ref()
        .and_then(|j| j.get("response_format"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| recorded.parts_named("response_format").first().map(|p| p.text()));
    let n = recorded
        .json
        .as_ref()
        .and_then(|j| j.get("n"))
        .and_then(Value::as_u64)
        .or_else(|| recorded.parts_named("n").first().and_then(|p| p.text().parse().ok()))
        .unwrap_or(1);
    state.requests.lock().unwrap().push(recorded);

    let (delay, failure, chat_mode, image) = {
        let mut knobs = state.knobs.lock().unwrap();
        let failure = knobs.failure.clone();
        if let Some(Failure { remaining: Some(left), .. }) = &mut knobs.failure {
            *left -= 1;
            if *left == 0 {
                knobs.failure = None;
            }
        }
        (knobs.delay, failure, knobs.chat_mode.clone(), knobs.image.clone())
    };
    counted_wait(&state.in_flight, delay).await;
    if let Some(failure) = failure {
        if failure.content_type == "redirect" {
            return Response::builder().status(StatusCode::FOUND).header("location", failure.body).finish();
        }
        return Response::builder()
            .status(StatusCode::from_u16(failure.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
            .content_type(failure.content_type)
            .body(failure.body);
    }
    let files_url = state.files_url.lock().unwrap().clone();
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &image);
    let b64 = if b64.is_empty() { PNG_1X1_BASE64.to_string() } else { b64 };
    let file_url = format!("{files_url}/files/generated.png");

    if path.ends_with("/images/generations") || path.ends_with("/images/edits") {
        let entry =
            if response_format.as_deref() == Some("url") { json!({"url": file_url}) } else { json!({"b64_json": b64}) };
        let data: Vec<Value> = (0..n.max(1)).map(|_| entry.clone()).collect();
        return poem::web::Json(json!({"created": 1_764_000_000, "data": data})).into_response();
    }
    if path.ends_with("/responses") {
        return poem::web::Json(json!({
            "id": "resp_mock", "object": "response",
            "output": [{"type": "image_generation_call", "id": "ig_1", "status": "completed", "result": b64}]
        }))
        .into_response();
    }
    if path.ends_with("/chat/completions") {
        return chat_reply(chat_mode, &b64, &file_url);
    }
    Response::builder()
        .status(StatusCode::NOT_FOUND)
        .content_type("application/json")
        .body(r#"{"error":{"message":"no route"}}"#)
}

/// Sleeps `delay`, counting the answers waiting at once in `in_flight` (now, most so far).
async fn counted_wait(in_flight: &Mutex<(usize, usize)>, delay: Duration) {
    if delay.is_zero() {
        return;
    }
    {
        let mut counts = in_flight.lock().unwrap();
        counts.0 += 1;
        counts.1 = counts.1.max(counts.0);
    }
    tokio::time::sleep(delay).await;
    in_flight.lock().unwrap().0 -= 1;
}

async fn record(req: &Request, body: Body, path: &str) -> RecordedRequest {
    let headers = req
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str().to_string(), value.to_str().unwrap_or_default().to_string()))
        .collect();
    let is_multipart = req.content_type().is_some_and(|ct| ct.starts_with("multipart/form-data"));
    let mut recorded = RecordedRequest {
        method: req.method().to_string(),
        path: path.to_string(),
        headers,
        json: None,
        parts: Vec::new(),
    };
    if is_multipart {
        let mut body = poem::RequestBody::new(body);
        if let Ok(mut multipart) = Multipart::from_request(req, &mut body).await {
            while let Ok(Some(field)) = multipart.next_field().await {
                let name = field.name().unwrap_or_default().to_string();
                let file_name = field.file_name().map(str::to_string);
                let content_type = field.content_type().map(str::to_string);
                let bytes = field.bytes().await.unwrap_or_default();
                recorded.parts.push(RecordedPart { name, file_name, content_type, bytes });
            }
        }
    } else if let Ok(bytes) = body.into_vec().await {
        recorded.json = serde_json::from_slice(&bytes).ok();
    }
    recorded
}

fn chat_reply(mode: ChatMode, b64: &str, file_url: &str) -> Response {
    let data_url = format!("data:image/png;base64,{b64}");
    let message = |content: String| {
        poem::web::Json(json!({
            "id": "chatcmpl-mock", "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]
        }))
        .into_response()
    };
    match mode {
        ChatMode::Text(text) => message(text),
        ChatMode::DataUrl => message(format!("Here is your image: {data_url}")),
        ChatMode::MarkdownLink => message(format!("![generated image]({file_url} \"image\")")),
        ChatMode::BareUrl => message(format!("Download it from {file_url} within an hour.")),
        ChatMode::Sse => {
            let (head, tail) = data_url.split_at(data_url.len() / 2);
            let mut stream = String::new();
            for piece in ["Rendering… ", head, tail] {
                let chunk = json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk",
                    "choices": [{"index": 0, "delta": {"content": piece}}]});
                stream.push_str(&format!("data: {chunk}\n\n"));
            }
            stream.push_str("data: [DONE]\n\n");
            Response::builder().content_type("text/event-stream").body(stream)
        }
    }
}
