use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::generate::{finished, generate, generation_app};
use crate::helpers::*;

/// Reads SSE frames from a response as `(event or comment, data)`.
pub struct Frames {
    body: futures_util::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: String,
}

impl Frames {
    pub fn new(response: reqwest::Response) -> Frames {
        Frames { body: response.bytes_stream().boxed(), buffer: String::new() }
    }

    /// The next frame, or `None` when the stream ended.
    pub async fn next(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame = self.buffer[..end].to_string();
                self.buffer.drain(..end + 2);
                return Some(frame);
            }
            let chunk =
                tokio::time::timeout(Duration::from_secs(20), self.body.next()).await.expect("a frame in time")?;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk.ok()?));
        }
    }

    /// The next `event:` frame as (name, data).
    pub async fn event(&mut self) -> Option<(String, Value)> {
        loop {
            let frame = self.next().await?;
            if let Some(rest) = frame.strip_prefix("event: ") {
                let (name, data) = rest.split_once("\ndata: ").expect("data line");
                return Some((name.to_string(), serde_json::from_str(data).expect("json data")));
            }
        }
    }
}

async fn open(app: &TestApp, cookie: &str, path: &str) -> reqwest::Response {
    app.get_with_cookie(path, cookie).await
}

#[tokio::test]
async fn a_job_stream_follows_the_job_to_its_end() {
    let (app, cookie, mock) = generation_app(&[]).await;
    mock.set_delay(Duration::from_millis(300));
    let queued: Value = generate(&app, &cookie, json!({"prompt": "streamed", "response_format": "b64_json"}))
        .await
        .json()
        .await
        .unwrap();
    let id = queued["job_id"].as_str().unwrap();
    let response = open(&app, &cookie, &format!("/api/generate/{id}/events")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream; charset=utf-8");
    assert_eq!(response.headers()["x-accel-buffering"], "no");
    let mut frames = Frames::new(response);
    assert_eq!(frames.next().await.unwrap(), "retry: 3000", "retry is sent once, first");
    let mut statuses = Vec::new();
    let mut last = Value::Null;
    while let Some((name, data)) = frames.event().await {
        assert_eq!(name, "job");
        assert_eq!(data["job_id"], id);
        statuses.push(data["status"].as_str().unwrap().to_string());
        last = data;
    }
    assert!(["queued", "running"].contains(&statuses[0].as_str()), "{statuses:?}");
    assert_eq!(statuses.last().unwrap(), "success", "the stream ends with the terminal state: {statuses:?}");
    assert!(statuses.iter().any(|s| s == "running"), "{statuses:?}");
    assert!(last["duration"].as_str().unwrap().ends_with('s'));
    assert!(last.get("webhook_url").is_none());

    // A finished job gets one event and the stream closes.
    let mut frames = Frames::new(open(&app, &cookie, &format!("/api/generate/{id}/events")).await);
    frames.next().await;
    let (_, data) = frames.event().await.unwrap();
    assert_eq!(data["status"], "success");
    assert!(frames.event().await.is_none());
    assert_envelope(
        open(&app, &cookie, "/api/generate/nope/events").await,
        404,
        "not_found",
        "Generation job not found",
    )
    .await;
}

#[tokio::test]
async fn the_jobs_feed_lists_active_jobs_and_announces_endings() {
    let (app, cookie, mock) = generation_app(&[]).await;
    mock.set_delay(Duration::from_millis(200));
    let mut frames = Frames::new(open(&app, &cookie, "/api/generate/jobs/events").await);
    assert_eq!(frames.event().await.unwrap(), ("jobs".to_string(), json!([])));
    let queued: Value =
        generate(&app, &cookie, json!({"prompt": "feed", "response_format": "b64_json"})).await.json().await.unwrap();
    let id = queued["job_id"].as_str().unwrap().to_string();
    let (name, list) = frames.event().await.unwrap();
    assert_eq!(name, "jobs");
    assert_eq!(list[0]["job_id"], id.as_str());
    let mut ended = None;
    let mut emptied = false;
    while ended.is_none() || !emptied {
        match frames.event().await.unwrap() {
            (name, data) if name == "job" => ended = Some(data),
            (_, list) => emptied = list == json!([]),
        }
    }
    assert_eq!(ended.unwrap()["status"], "success");
    finished(&app, &cookie, &id).await;
}

#[tokio::test]
async fn streams_are_limited_per_client_and_expire() {
    let app = spawn_app_with(&[("MAX_SSE_SUBSCRIBERS_PER_IP", "1"), ("SSE_CONNECTION_TTL_SECONDS", "1")]).await;
    let cookie = app.unlock().await;
    let first = open(&app, &cookie, "/api/generate/jobs/events").await;
    assert_eq!(first.status(), 200);
    let second = open(&app, &cookie, "/api/generate/jobs/events").await;
    assert_envelope(second, 429, "rate_limited", "Too many SSE connections").await;
    // The TTL ends the first stream quietly, which frees the slot.
    let mut frames = Frames::new(first);
    assert_eq!(frames.next().await.unwrap(), "retry: 3000");
    assert_eq!(frames.event().await.unwrap().0, "jobs");
    assert!(frames.event().await.is_none(), "the stream ended at its TTL");
    for _ in 0..200 {
        if app.state.sse_limiter.open_count() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(open(&app, &cookie, "/api/generate/jobs/events").await.status(), 200);
}
