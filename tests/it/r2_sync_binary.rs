//! R2 sync in the real binary: the schedule (seconds-long "hours" through `R2_SYNC_HOUR_SECONDS`) with
//! every skip reason it logs, and a full reconcile killed with SIGKILL that resumes after its
//! checkpoint when the panel starts again.

use std::time::Duration;

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::binary::RunningPanel;
use crate::import::{ndjson, png, stored_zip};
use crate::support::s3;

const KEY: &str = "sync-binary-access-key-0123456789";
const R2_KEY_ID: &str = "binary-r2-key";
const R2_SECRET: &str = "binary-r2-secret-0123456789";

fn env<'a>(endpoint: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut env = vec![
        ("ACCESS_KEY", KEY),
        ("ACCESS_COOKIE_SECURE", "false"),
        ("UPSTREAM_ALLOW_PRIVATE_NETWORK", "true"),
        ("R2_ENDPOINT_HOST_ALLOWLIST", "127.0.0.1"),
        ("R2_ENDPOINT_URL", endpoint),
        ("R2_ACCESS_KEY_ID", R2_KEY_ID),
        ("R2_SECRET_ACCESS_KEY", R2_SECRET),
        ("R2_SYNC_HOUR_SECONDS", "1"),
        ("IMPORT_MAX_FILES", "5000"),
        ("IMPORT_MAX_ENTRIES", "5000"),
        ("IMPORT_MAX_METADATA_BYTES", "10000000"),
        ("LOG_LEVEL", "debug"),
    ];
    env.extend_from_slice(extra);
    env
}

async fn started(dir: &std::path::Path, env: &[(&str, &str)]) -> (RunningPanel, String) {
    crate::helpers::install_crypto();
    let panel = RunningPanel::start(dir, env).await;
    assert!(panel.healthy().await, "the panel starts");
    let unlocked = panel.unlock(KEY).await;
    assert_eq!(unlocked.status(), 200);
    let cookie = unlocked.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    (panel, cookie)
}

async fn send(
    panel: &RunningPanel,
    cookie: &str,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> reqwest::Response {
    let request = panel.client.request(method, format!("{}{path}", panel.base)).header("cookie", cookie);
    request.header("origin", &panel.base).json(&body).send().await.unwrap()
}

async fn status(panel: &RunningPanel, cookie: &str, id: &str) -> Value {
    let path = format!("{}/api/gallery/sync-jobs/{id}", panel.base);
    panel.client.get(path).header("cookie", cookie).send().await.unwrap().json().await.unwrap()
}

/// Imports `count` distinct small PNGs named `0000.png`, `0001.png`, ….
async fn import(panel: &RunningPanel, cookie: &str, count: u32) {
    let images: Vec<Vec<u8>> = (0..count).map(|i| png(i + 3, 8)).collect();
    let names: Vec<String> = (0..count).map(|i| format!("images/{i:04}.png")).collect();
    let records: Vec<Value> = (0..count).map(|i| json!({"filename": format!("{i:04}.png")})).collect();
    let metadata = ndjson(&records);
    let mut entries: Vec<(&str, &[u8])> =
        names.iter().map(String::as_str).zip(images.iter().map(Vec::as_slice)).collect();
    entries.push(("metadata.ndjson", &metadata));
    let form = Form::new().part("archive", Part::bytes(stored_zip(&entries)).file_name("gallery.zip"));
    let response = panel
        .client
        .post(format!("{}/api/import", panel.base))
        .header("cookie", cookie)
        .header("origin", &panel.base)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

/// Waits for the next scheduled run that logs `reason` (logs before it are dropped first).
async fn next_reason(panel: &RunningPanel, reason: &str) {
    panel.clear_logs();
    let needle = format!("reason=\"{reason}\"");
    let line = panel.log_line_within(&needle, Duration::from_secs(15)).await;
    assert!(line.is_some_and(|l| l.contains("scheduled R2 sync skipped")), "a scheduled run said {reason}");
}

async fn silent_endpoint() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    format!("http://{address}")
}

#[tokio::test]
async fn scheduled_sync_uploads_changes_and_says_why_it_skips() {
    let root = tempfile::tempdir().unwrap();
    let bucket = s3::start(root.path(), R2_KEY_ID, R2_SECRET).await;
    std::fs::create_dir_all(root.path().join("panel")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let extra = [("R2_BACKUP_ENABLED", "true"), ("R2_BUCKET_NAME", "panel"), ("R2_SYNC_INTERVAL_HOURS", "1")];
    let (panel, cookie) = started(dir.path(), &env(&bucket.endpoint, &extra)).await;
    next_reason(&panel, "empty_gallery").await;

    import(&panel, &cookie, 2).await;
    panel.clear_logs();
    assert!(panel.log_line_within("scheduled R2 sync started", Duration::from_secs(15)).await.is_some());
    let uploaded = root.path().join("panel/gallery/0001.png");
    for _ in 0..500 {
        if uploaded.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(uploaded.exists(), "the scheduled sync uploaded the new images");
    next_reason(&panel, "no_changes").await;
    panel.stop().await;
}

#[tokio::test]
async fn a_schedule_that_is_off_misconfigured_empty_or_busy_starts_nothing() {
    let silent = silent_endpoint().await;
    let dir = tempfile::tempdir().unwrap();
    let (panel, cookie) = started(dir.path(), &env(&silent, &[("R2_SYNC_INTERVAL_HOURS", "1")])).await;
    next_reason(&panel, "disabled").await;

    let enable = json!({"api_url": "http://127.0.0.1:9", "r2_backup": {"enabled": true}});
    let saved = send(&panel, &cookie, reqwest::Method::POST, "/api/settings", enable).await;
    assert_eq!(saved.status(), 200, "{}", saved.text().await.unwrap());
    next_reason(&panel, "invalid_config").await;

    let bucket = json!({"api_url": "http://127.0.0.1:9", "r2_backup": {"bucket_name": "panel"}});
    let saved = send(&panel, &cookie, reqwest::Method::POST, "/api/settings", bucket).await;
    assert_eq!(saved.status(), 200);
    next_reason(&panel, "empty_gallery").await;

    // The endpoint never answers, so the sync the schedule starts is still running at the next tick.
    import(&panel, &cookie, 1).await;
    next_reason(&panel, "active_sync").await;
    panel.kill_hard().await;
}

#[tokio::test]
async fn a_full_reconcile_killed_half_way_resumes_after_its_checkpoint() {
    const IMAGES: u32 = 2_500;
    let root = tempfile::tempdir().unwrap();
    let bucket = s3::start(root.path(), R2_KEY_ID, R2_SECRET).await;
    std::fs::create_dir_all(root.path().join("panel")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let extra = [("R2_BACKUP_ENABLED", "true"), ("R2_BUCKET_NAME", "panel"), ("R2_SYNC_CONCURRENCY", "1")];
    let env = env(&bucket.endpoint, &extra);
    let (panel, cookie) = started(dir.path(), &env).await;
    import(&panel, &cookie, IMAGES).await;
    let job = send(&panel, &cookie, reqwest::Method::POST, "/api/gallery/sync-jobs", json!({"full_reconcile": true}));
    let job: Value = job.await.json().await.unwrap();
    let id = job["job_id"].as_str().unwrap().to_string();
    let mut checkpoint = Value::Null;
    for _ in 0..2_000 {
        let now = status(&panel, &cookie, &id).await;
        assert_eq!(now["status"], "running", "killed before the end: {now}");
        if now["checkpoint_filename"].is_string() {
            checkpoint = now["checkpoint_filename"].clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(checkpoint, "0499.png", "the first page of 500 ended there");
    panel.kill_hard().await;

    let (panel, cookie) = started(dir.path(), &env).await;
    let line = panel.log_line("resuming R2 full reconcile").await.expect("the sync resumes");
    assert!(line.contains("0499.png"), "{line}");
    let mut end = Value::Null;
    for _ in 0..3_000 {
        end = status(&panel, &cookie, &id).await;
        if end["status"] != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(end["status"], "success", "{end}");
    let total = u64::from(IMAGES);
    assert_eq!(end["total_count"], total, "{end}");
    assert_eq!(end["compared_count"], total, "pages before the checkpoint were not compared again: {end}");
    let landed = end["uploaded_count"].as_u64().unwrap() + end["skipped_existing_count"].as_u64().unwrap();
    assert_eq!(landed, total, "{end}");
    assert_eq!(end["checkpoint_filename"], Value::Null);
    let objects = std::fs::read_dir(root.path().join("panel/gallery")).unwrap().count() as u64;
    assert_eq!(objects, total, "every original is in the bucket once");
    panel.stop().await;
}
