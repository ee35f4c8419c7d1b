//! The real binary killed with SIGKILL in the middle of an import and of a tracked export, then started
//! again on the same data: no row without its file, no job left `running`, scratch files gone.

use std::time::Duration;

use reqwest::multipart::{Form, Part};
use serde_json::Value;

use crate::binary::RunningPanel;
use crate::import::{files_in, ndjson, png, stored_zip};

const KEY: &str = "crash-test-access-key-0123456789";
const ENV: &[(&str, &str)] = &[
    ("ACCESS_KEY", KEY),
    ("ACCESS_COOKIE_SECURE", "false"),
    ("IMPORT_MAX_FILES", "5000"),
    ("IMPORT_MAX_ENTRIES", "5000"),
    ("IMPORT_MAX_METADATA_BYTES", "10000000"),
];

async fn started(dir: &std::path::Path) -> (RunningPanel, String) {
    let panel = RunningPanel::start(dir, ENV).await;
    assert!(panel.healthy().await, "the panel starts");
    let unlocked = panel.unlock(KEY).await;
    assert_eq!(unlocked.status(), 200);
    let cookie = unlocked.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    (panel, cookie)
}

async fn get(panel: &RunningPanel, cookie: &str, path: &str) -> reqwest::Response {
    panel.client.get(format!("{}{path}", panel.base)).header("cookie", cookie).send().await.unwrap()
}

async fn json(panel: &RunningPanel, cookie: &str, path: &str) -> Value {
    get(panel, cookie, path).await.json().await.unwrap()
}

/// `count` distinct images of about 110 KB and their metadata.
fn archive(count: u32) -> Vec<u8> {
    let images: Vec<Vec<u8>> = (0..count).map(|i| png(i + 7, 192)).collect();
    let names: Vec<String> = (0..count).map(|i| format!("images/{i}.png")).collect();
    let records: Vec<Value> =
        (0..count).map(|i| serde_json::json!({"filename": format!("{i}.png"), "prompt": format!("p{i}")})).collect();
    let metadata = ndjson(&records);
    let mut entries: Vec<(&str, &[u8])> =
        names.iter().map(String::as_str).zip(images.iter().map(Vec::as_slice)).collect();
    entries.push(("metadata.ndjson", &metadata));
    stored_zip(&entries)
}

async fn import(panel: &RunningPanel, cookie: &str, archive: Vec<u8>, query: &str) -> reqwest::Response {
    let form = Form::new().part("archive", Part::bytes(archive).file_name("gallery.zip"));
    panel
        .client
        .post(format!("{}/api/import{query}", panel.base))
        .header("cookie", cookie)
        .header("origin", &panel.base)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// Polls `path` until `ready` holds; returns the status seen then.
async fn wait_until(panel: &RunningPanel, cookie: &str, path: &str, ready: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..6000 {
        let status = json(panel, cookie, path).await;
        if ready(&status) {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("{path} never reached the expected state");
}

/// Every row the gallery lists has its file.
async fn every_row_has_its_file(panel: &RunningPanel, cookie: &str) -> u64 {
    let first = json(panel, cookie, "/api/gallery?page_size=100").await;
    let pages = first["total_pages"].as_u64().unwrap_or(0);
    for page in 1..=pages {
        let listing = json(panel, cookie, &format!("/api/gallery?page_size=100&page={page}")).await;
        for row in listing["images"].as_array().unwrap() {
            let filename = row["filename"].as_str().unwrap();
            assert_eq!(get(panel, cookie, &format!("/api/image/{filename}")).await.status(), 200, "{filename}");
        }
    }
    first["total"].as_u64().unwrap()
}

#[tokio::test]
async fn a_kill_during_an_import_leaves_no_row_without_its_file_and_no_running_job() {
    crate::helpers::install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let (panel, cookie) = started(dir.path()).await;
    let accepted = import(&panel, &cookie, archive(1200), "?async_job=true").await;
    assert_eq!(accepted.status(), 202);
    let id = accepted.json::<Value>().await.unwrap()["job_id"].as_str().unwrap().to_string();
    let path = format!("/api/gallery/import-jobs/{id}");
    let seen = wait_until(&panel, &cookie, &path, |s| s["processed_count"].as_u64().unwrap_or(0) >= 100).await;
    assert_eq!(seen["status"], "running", "killed mid-import: {seen}");
    panel.kill_hard().await;
    assert!(!files_in(&dir.path().join("data/imports")).is_empty(), "the upload was still there at the kill");

    let (panel, cookie) = started(dir.path()).await;
    let after = json(&panel, &cookie, &path).await;
    assert_eq!((after["status"].as_str(), after["stage"].as_str()), (Some("error"), Some("error")), "{after}");
    assert!(after["error"].as_str().unwrap().contains("restarted"), "{after}");
    assert_eq!(every_row_has_its_file(&panel, &cookie).await, 0, "rows commit together, and had not");
    assert!(files_in(&dir.path().join("data/imports")).is_empty(), "the upload is removed at start");
    // The import can simply be run again.
    let again = import(&panel, &cookie, archive(30), "").await;
    assert_eq!(again.status(), 200);
    assert_eq!(every_row_has_its_file(&panel, &cookie).await, 30);
    panel.kill_hard().await;
}

#[tokio::test]
async fn a_kill_during_a_tracked_export_leaves_the_gallery_whole_and_no_partial_archive() {
    crate::helpers::install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let (panel, cookie) = started(dir.path()).await;
    let imported = import(&panel, &cookie, archive(1200), "").await;
    assert_eq!(imported.status(), 200);
    let accepted = panel
        .client
        .post(format!("{}/api/gallery/export-jobs", panel.base))
        .header("cookie", &cookie)
        .header("origin", &panel.base)
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 202);
    let id = accepted.json::<Value>().await.unwrap()["job_id"].as_str().unwrap().to_string();
    let path = format!("/api/gallery/export-jobs/{id}");
    let seen = wait_until(&panel, &cookie, &path, |s| s["bytes_written"].as_u64().unwrap_or(0) > 0).await;
    assert_eq!(seen["status"], "running", "killed mid-export: {seen}");
    panel.kill_hard().await;

    let (panel, cookie) = started(dir.path()).await;
    let after = json(&panel, &cookie, &path).await;
    assert_eq!(after["status"], "error", "{after}");
    assert_eq!(every_row_has_its_file(&panel, &cookie).await, 1200);
    assert!(files_in(&dir.path().join("data/exports")).is_empty(), "the partial archive is removed at start");
    let download = get(&panel, &cookie, &format!("{path}/download")).await;
    assert_eq!(download.status(), 409, "a failed export has nothing to download");
    panel.kill_hard().await;
}
