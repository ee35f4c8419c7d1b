//! The live path under load: many watchers and a stalled one, and admission that never lies.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::generate::{finished, generate, generation_app};
use crate::helpers::*;
use crate::job_events::Frames;
use crate::settings_api::api;

const WATCHERS: usize = 100;
const JOBS: usize = 30;

/// A client that subscribes to the jobs feed with a tiny receive window and then never reads.
async fn stalled_watcher(app: &TestApp, cookie: &str) -> tokio::net::TcpStream {
    let address: std::net::SocketAddr = app.base.trim_start_matches("http://").parse().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(1024).unwrap();
    let mut stream = socket.connect(address).await.unwrap();
    let request = format!("GET /api/generate/jobs/events HTTP/1.1\r\nHost: {}\r\nCookie: {cookie}\r\n\r\n", address);
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

/// Collects the ids of jobs announced as ended (`event: job`) until `want` are seen.
async fn endings(mut frames: Frames, want: usize) -> HashSet<String> {
    let mut seen = HashSet::new();
    while seen.len() < want {
        let Some((name, data)) = frames.event().await else { break };
        if name == "job" {
            assert!(!["queued", "running"].contains(&data["status"].as_str().unwrap()), "{data}");
            seen.insert(data["job_id"].as_str().unwrap().to_string());
        }
    }
    seen
}

#[tokio::test]
async fn every_watcher_gets_every_ending_while_a_stalled_one_never_reads() {
    let (app, cookie, _mock) = generation_app(&[
        ("MAX_SSE_SUBSCRIBERS_GLOBAL", "1000"),
        ("MAX_SSE_SUBSCRIBERS_PER_IP", "1000"),
        ("MAX_ACTIVE_GENERATE_JOBS", "4"),
        ("MAX_QUEUED_GENERATE_JOBS", "1000"),
    ])
    .await;
    let mut stalled = stalled_watcher(&app, &cookie).await;
    let mut watchers = Vec::new();
    for _ in 0..WATCHERS {
        let mut frames = Frames::new(app.get_with_cookie("/api/generate/jobs/events", &cookie).await);
        assert_eq!(frames.event().await.unwrap().0, "jobs", "the first frame is the current list");
        watchers.push(tokio::spawn(endings(frames, JOBS)));
    }

    // Long prompts make every list frame large, so the stalled client's buffers fill and it lags.
    let prompt = "a watched job ".repeat(150);
    let submissions = (0..JOBS).map(|i| {
        let body = json!({"prompt": format!("{prompt}{i}"), "response_format": "b64_json"});
        generate(&app, &cookie, body)
    });
    let mut ids = HashSet::new();
    for response in futures_util::future::join_all(submissions).await {
        assert_eq!(response.status(), 202, "admission keeps answering under load");
        let queued: Value = response.json().await.unwrap();
        ids.insert(queued["job_id"].as_str().unwrap().to_string());
    }
    for watcher in watchers {
        let seen = tokio::time::timeout(Duration::from_secs(120), watcher).await.expect("endings in time").unwrap();
        assert_eq!(seen, ids, "every watcher saw every job end");
    }

    // Once the stalled client reads again it catches up to the current state: no job is active.
    let mut received = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let caught_up = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let n = stalled.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the stalled stream stays open");
            received.extend_from_slice(&chunk[..n]);
            // The body is chunked: look at the last list frame itself.
            let text = String::from_utf8_lossy(&received);
            let marker = "event: jobs\ndata: ";
            if text.rfind(marker).is_some_and(|at| text[at + marker.len()..].starts_with("[]\n\n")) {
                break;
            }
        }
    })
    .await;
    assert!(caught_up.is_ok(), "the stalled watcher ends with the current (empty) list");
}

#[tokio::test]
async fn an_admission_that_fails_after_its_commit_leaves_no_job_behind() {
    let (app, cookie, mock) = generation_app(&[]).await;
    app.state.engine.fail_next_handoff();
    let refused = generate(&app, &cookie, json!({"prompt": "ghost", "response_format": "b64_json"})).await;
    assert_eq!(refused.headers()["retry-after"], "5");
    assert_envelope(refused, 503, "service_unavailable", "Job admission failed; no job was created. Please retry.")
        .await;
    let history: Value =
        api(&app, &cookie, Method::GET, "/api/generate/jobs?include_finished=true", None).await.json().await.unwrap();
    assert_eq!(history, json!([]), "the refused job does not exist");
    assert!(mock.requests_to("/v1/images/generations").is_empty(), "the upstream was never called");

    // The next admission is unaffected and runs.
    let accepted: Value =
        generate(&app, &cookie, json!({"prompt": "real", "response_format": "b64_json"})).await.json().await.unwrap();
    let id = accepted["job_id"].as_str().unwrap();
    assert_eq!(finished(&app, &cookie, id).await["status"], "success");
    assert_eq!(mock.requests_to("/v1/images/generations").len(), 1);
}
