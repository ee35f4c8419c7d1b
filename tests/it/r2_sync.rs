//! R2 backup sync against the in-process S3 server (SigV4 verified): dry runs, real runs, what is
//! recorded, what is never touched in the bucket, and the refusals.

use std::path::PathBuf;
use std::time::Duration;

use panel_actors::r2::{self, R2Target};
use panel_actors::store::gallery::{self, GalleryRow};
use panel_actors::upstream::transport::Transport;
use reqwest::Method;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::settings_api::api;
use crate::support::s3;

const KEY_ID: &str = "sync-access-key";
const SECRET: &str = "sync-secret-key-0123456789";

struct Bucket {
    server: s3::S3Server,
    root: tempfile::TempDir,
}

impl Bucket {
    async fn start() -> Bucket {
        Bucket::start_failing(&[]).await
    }

    /// A bucket whose uploads to these paths fail.
    async fn start_failing(failing: &[&str]) -> Bucket {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("panel")).unwrap();
        let server = s3::start_failing(root.path(), KEY_ID, SECRET, failing).await;
        Bucket { server, root }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.root.path().join("panel").join(key)
    }

    fn put_by_hand(&self, key: &str, bytes: &[u8]) {
        let path = self.path(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    fn read(&self, key: &str) -> Option<Vec<u8>> {
        std::fs::read(self.path(key)).ok()
    }

    /// Object keys under `prefix`, as the server stores them (its metadata side files left out).
    fn keys(&self, prefix: &str) -> Vec<String> {
        let mut keys = Vec::new();
        let dir = self.path(prefix);
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if entry.path().is_file() && !name.starts_with('.') {
                keys.push(format!("{prefix}{name}"));
            }
        }
        keys.sort();
        keys
    }
}

fn row(filename: &str, bytes: &[u8]) -> GalleryRow {
    GalleryRow {
        id: uuid::Uuid::new_v4().to_string(),
        sort_seq: 0,
        prompt: format!("prompt of {filename}"),
        size: "1024x1024".into(),
        filename: filename.into(),
        thumbnail_filename: None,
        image_width: Some(1024),
        image_height: Some(1024),
        model: Some("gpt-image-2".into()),
        quality: None,
        output_format: Some("png".into()),
        output_compression: None,
        response_format: None,
        n: Some(1),
        api_path: None,
        api_preset_name: None,
        duration_seconds: None,
        favorite: false,
        bytes: Some(bytes.len() as i64),
        sha256: Some(format!("{:064x}", bytes.len() as u64 * 7919 + bytes.first().copied().unwrap_or(0) as u64)),
        job_id: None,
        created_at: "2026-12-01T10:00:00.000000Z".into(),
        completed_at: None,
    }
}

async fn seed(app: &TestApp, filename: &str, bytes: &[u8]) -> GalleryRow {
    std::fs::write(app.dir.path().join("images").join(filename), bytes).unwrap();
    gallery::insert(&app.state.db, row(filename, bytes)).await.unwrap()
}

async fn sync_app(extra: &[(&str, &str)]) -> (TestApp, String) {
    let mut settings = vec![
        ("UPSTREAM_ALLOW_PRIVATE_NETWORK", "true"),
        ("R2_ENDPOINT_HOST_ALLOWLIST", "127.0.0.1"),
        ("TEST_R2_KEY_ID", KEY_ID),
        ("TEST_R2_SECRET", SECRET),
    ];
    settings.extend_from_slice(extra);
    let app = spawn_app_with(&settings).await;
    let cookie = app.unlock().await;
    (app, cookie)
}

async fn save_r2(app: &TestApp, cookie: &str, r2: Value) {
    let response = api(
        app,
        cookie,
        Method::POST,
        "/api/settings",
        Some(json!({"api_url": "http://127.0.0.1:9", "r2_backup": r2})),
    )
    .await;
    let status = response.status();
    assert_eq!(status, 200, "{}", response.text().await.unwrap());
}

/// As `save_r2`, for an app that does not allow private networks.
async fn save_r2_public(app: &TestApp, cookie: &str, r2: Value) {
    let body = json!({"api_url": "https://api.example.com", "r2_backup": r2});
    let response = api(app, cookie, Method::POST, "/api/settings", Some(body)).await;
    let status = response.status();
    assert_eq!(status, 200, "{}", response.text().await.unwrap());
}

fn enabled(endpoint: &str, prefix: &str) -> Value {
    json!({"enabled": true, "endpoint_url": endpoint, "bucket_name": "panel", "key_prefix": prefix,
        "access_key_id": "${TEST_R2_KEY_ID}", "secret_access_key": "${TEST_R2_SECRET}"})
}

async fn start(app: &TestApp, cookie: &str, body: Value) -> reqwest::Response {
    api(app, cookie, Method::POST, "/api/gallery/sync-jobs", Some(body)).await
}

/// Starts a sync and waits for its end; returns the final status.
async fn sync(app: &TestApp, cookie: &str, body: Value) -> Value {
    let response = start(app, cookie, body).await;
    let text = response.text().await.unwrap();
    let job: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{text}"));
    assert_eq!(job["status"], "queued", "{job}");
    finished(app, cookie, job["job_id"].as_str().unwrap()).await
}

async fn finished(app: &TestApp, cookie: &str, id: &str) -> Value {
    for _ in 0..1_000 {
        let status: Value =
            app.get_with_cookie(&format!("/api/gallery/sync-jobs/{id}"), cookie).await.json().await.unwrap();
        if status["status"] == "success" || status["status"] == "error" {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the sync did not end");
}

fn counts(status: &Value) -> [u64; 6] {
    [
        "total_count",
        "uploaded_count",
        "pending_upload_count",
        "skipped_existing_count",
        "missing_local_count",
        "failed_count",
    ]
    .map(|name| status[name].as_u64().unwrap_or_else(|| panic!("{name} in {status}")))
}

async fn state_rows(app: &TestApp) -> Vec<(String, String)> {
    let rows = app
        .state
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Sqlite,
            "SELECT filename, object_key FROM r2_sync_state ORDER BY filename",
        ))
        .await
        .unwrap();
    rows.into_iter().map(|r| (r.try_get_by_index(0).unwrap(), r.try_get_by_index(1).unwrap())).collect()
}

#[tokio::test]
async fn a_dry_run_changes_nothing_and_a_real_run_uploads_exactly_the_missing_originals() {
    let bucket = Bucket::start().await;
    let (app, cookie) = sync_app(&[]).await;
    let a = seed(&app, "a.png", b"original a").await;
    seed(&app, "b.png", b"original b").await;
    seed(&app, "c.png", b"original c").await;
    std::fs::create_dir_all(app.dir.path().join("images/thumbs")).unwrap();
    std::fs::write(app.dir.path().join("images/thumbs/a.webp"), b"thumb").unwrap();
    bucket.put_by_hand("gallery/b.png", b"already in the bucket");
    bucket.put_by_hand("gallery/bucket-only.png", b"only in the bucket");
    save_r2(&app, &cookie, enabled(&bucket.server.endpoint, "gallery/")).await;

    let dry = sync(&app, &cookie, json!({"dry_run": true})).await;
    assert_eq!(dry["status"], "success", "{dry}");
    assert_eq!(dry["message"], "R2 gallery sync dry run complete");
    assert_eq!(dry["dry_run"], true);
    assert_eq!(counts(&dry), [3, 0, 2, 1, 0, 0], "{dry}");
    assert_eq!(dry["bytes_total"], 30);
    assert_eq!(bucket.keys("gallery/"), ["gallery/b.png", "gallery/bucket-only.png"], "a dry run uploads nothing");
    assert!(state_rows(&app).await.is_empty(), "a dry run records nothing");

    let real = sync(&app, &cookie, json!({})).await;
    assert_eq!(real["status"], "success", "{real}");
    assert_eq!(real["message"], "R2 gallery sync complete");
    assert_eq!(real["progress"], 100);
    assert_eq!(counts(&real), [3, 2, 0, 1, 0, 0], "{real}");
    assert_eq!(real["bytes_uploaded"], 20);
    assert_eq!(real["checkpoint_filename"], Value::Null);
    assert_eq!(bucket.keys("gallery/"), ["gallery/a.png", "gallery/b.png", "gallery/bucket-only.png", "gallery/c.png"]);
    assert_eq!(bucket.read("gallery/a.png").unwrap(), b"original a");
    assert_eq!(bucket.read("gallery/b.png").unwrap(), b"already in the bucket", "never overwritten");
    assert_eq!(bucket.read("gallery/bucket-only.png").unwrap(), b"only in the bucket", "never deleted");
    assert!(bucket.keys("gallery/thumbs/").is_empty() && bucket.read("gallery/a.webp").is_none(), "originals only");
    assert_eq!(
        state_rows(&app).await,
        [("a.png", "gallery/a.png"), ("b.png", "gallery/b.png"), ("c.png", "gallery/c.png")]
            .map(|(f, k)| (f.to_string(), k.to_string()))
    );

    // The object carries its content type and the gallery's metadata.
    let store = r2::client(
        &R2Target {
            endpoint: &bucket.server.endpoint,
            bucket: "panel",
            region: "auto",
            access_key_id: KEY_ID,
            secret_access_key: SECRET,
            https_proxy: None,
        },
        &Transport::default(),
        true,
    )
    .unwrap();
    use object_store::ObjectStoreExt;
    let got = store.get(&object_store::path::Path::from("gallery/a.png")).await.unwrap();
    let attribute = |key: object_store::Attribute| got.attributes.get(&key).map(|v| v.to_string());
    assert_eq!(attribute(object_store::Attribute::ContentType).as_deref(), Some("image/png"));
    assert_eq!(attribute(object_store::Attribute::Metadata("gallery-id".into())), Some(a.id.clone()));
    assert_eq!(attribute(object_store::Attribute::Metadata("sha256".into())), a.sha256.clone());
    assert_eq!(attribute(object_store::Attribute::Metadata("bytes".into())).as_deref(), Some("10"));

    let again = sync(&app, &cookie, json!({})).await;
    assert_eq!(again["status"], "success", "{again}");
    assert_eq!(counts(&again), [0, 0, 0, 0, 0, 0], "an unchanged gallery compares nothing: {again}");
}

#[tokio::test]
async fn changed_bytes_are_rechecked_a_new_prefix_reuploads_and_only_full_reconcile_finds_remote_deletions() {
    let bucket = Bucket::start().await;
    let (app, cookie) = sync_app(&[]).await;
    for name in ["a.png", "b.png", "c.png"] {
        seed(&app, name, name.as_bytes()).await;
    }
    save_r2(&app, &cookie, enabled(&bucket.server.endpoint, "gallery/")).await;
    assert_eq!(counts(&sync(&app, &cookie, json!({})).await), [3, 3, 0, 0, 0, 0]);

    // New bytes for a.png: compared again; the bucket's object is kept (uploads never overwrite).
    let sql = "UPDATE gallery_entries SET sha256 = 'ffff', bytes = 99 WHERE filename = 'a.png'";
    app.state.db.execute_unprepared(sql).await.unwrap();
    let changed = sync(&app, &cookie, json!({})).await;
    assert_eq!(counts(&changed), [1, 0, 0, 1, 0, 0], "{changed}");
    assert_eq!(bucket.read("gallery/a.png").unwrap(), b"a.png");

    // Deleted by hand from the bucket: an incremental sync trusts its record; a full reconcile looks.
    std::fs::remove_file(bucket.path("gallery/c.png")).unwrap();
    assert_eq!(counts(&sync(&app, &cookie, json!({})).await), [0, 0, 0, 0, 0, 0]);
    let full = sync(&app, &cookie, json!({"full_reconcile": true})).await;
    assert_eq!(full["status"], "success", "{full}");
    assert_eq!(counts(&full), [3, 1, 0, 2, 0, 0], "{full}");
    assert_eq!(full["checkpoint_filename"], Value::Null, "cleared on success");
    assert_eq!(bucket.read("gallery/c.png").unwrap(), b"c.png");

    // Another prefix: every file goes there too.
    save_r2(&app, &cookie, json!({"key_prefix": "other"})).await;
    let moved = sync(&app, &cookie, json!({})).await;
    assert_eq!(counts(&moved), [3, 3, 0, 0, 0, 0], "{moved}");
    assert_eq!(bucket.keys("other/"), ["other/a.png", "other/b.png", "other/c.png"]);

    // A file whose last row is deleted is forgotten; a missing file is counted, not uploaded.
    std::fs::remove_file(app.dir.path().join("images/b.png")).unwrap();
    app.state.db.execute_unprepared("DELETE FROM r2_sync_state WHERE filename = 'b.png'").await.unwrap();
    let missing = sync(&app, &cookie, json!({})).await;
    assert_eq!(counts(&missing), [1, 0, 0, 0, 1, 0], "{missing}");
}

#[tokio::test]
async fn refusals_come_in_the_contracts_order_with_its_messages() {
    let bucket = Bucket::start().await;
    let (app, cookie) = sync_app(&[]).await;
    let response = start(&app, &cookie, json!({})).await;
    assert_envelope(response, 404, "not_found", "No images in gallery").await;
    seed(&app, "a.png", b"a").await;
    let response = start(&app, &cookie, json!({})).await;
    assert_envelope(response, 400, "bad_request", "R2 backup is disabled.").await;
    save_r2(&app, &cookie, json!({"enabled": true, "endpoint_url": bucket.server.endpoint})).await;
    let response = start(&app, &cookie, json!({})).await;
    assert_envelope(response, 400, "bad_request", "R2 bucket name is not configured.").await;
    save_r2(&app, &cookie, json!({"bucket_name": "panel"})).await;
    let response = start(&app, &cookie, json!({})).await;
    assert_envelope(response, 400, "bad_request", "R2 access key ID is not configured.").await;
    let response = start(&app, &cookie, json!({"dry_run": "yes"})).await;
    assert_eq!(response.status(), 422);
    let response = start(&app, &cookie, json!({"dry_run": true, "delete_remote": true})).await;
    assert_eq!(response.status(), 422);
    let response = app.get_with_cookie("/api/gallery/sync-jobs/0123456789abcdef", &cookie).await;
    assert_envelope(response, 404, "not_found", "Gallery sync job not found").await;
}

/// Accepts connections and never answers, so a sync against it stays running.
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
async fn a_second_sync_while_one_runs_is_refused_and_progress_streams() {
    let (app, cookie) = sync_app(&[]).await;
    seed(&app, "a.png", b"a").await;
    save_r2(&app, &cookie, enabled(&silent_endpoint().await, "gallery/")).await;
    let first = start(&app, &cookie, json!({})).await;
    assert_eq!(first.status(), 202);
    let first: Value = first.json().await.unwrap();
    let again = start(&app, &cookie, json!({"dry_run": true})).await;
    assert_envelope(again, 429, "rate_limited", "A gallery R2 sync job is already queued or running.").await;

    let id = first["job_id"].as_str().unwrap();
    let events = app.get_with_cookie(&format!("/api/gallery/sync-jobs/{id}/events"), &cookie).await;
    assert_eq!(events.status(), 200);
    let mut body = events.bytes_stream();
    use futures_util::StreamExt;
    let mut seen = String::new();
    while !seen.contains("\"stage\":\"comparing\"") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), body.next()).await.unwrap().unwrap().unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("event: sync"), "{seen}");
    assert!(seen.contains("\"total_count\":1"), "{seen}");
}

#[tokio::test]
async fn a_failing_upload_fails_the_sync_with_samples_and_the_others_are_recorded() {
    let bucket = Bucket::start_failing(&["/gallery/b.png"]).await;
    let (app, cookie) = sync_app(&[]).await;
    for name in ["a.png", "b.png", "c.png"] {
        seed(&app, name, name.as_bytes()).await;
    }
    save_r2(&app, &cookie, enabled(&bucket.server.endpoint, "gallery/")).await;
    let failed = sync(&app, &cookie, json!({})).await;
    assert_eq!(failed["status"], "error", "{failed}");
    assert_eq!(failed["message"], "R2 gallery sync failed");
    assert_eq!(counts(&failed), [3, 2, 0, 0, 0, 1], "{failed}");
    let error = failed["error"].as_str().unwrap();
    assert!(error.starts_with("R2 sync failed for 1 image(s): b.png: "), "{error}");
    let recorded: Vec<String> = state_rows(&app).await.into_iter().map(|(f, _)| f).collect();
    assert_eq!(recorded, ["a.png", "c.png"]);
}

#[tokio::test]
async fn behind_an_https_proxy_the_bucket_is_reached_only_through_its_tunnels_with_the_aws_ca_bundle() {
    let bucket = Bucket::start().await;
    let backend: std::net::SocketAddr = bucket.server.endpoint.trim_start_matches("http://").parse().unwrap();
    let certs = tempfile::tempdir().unwrap();
    let tls = crate::support::tls::start_for(backend, certs.path(), &["s3.panel.test"]).await;
    let target = format!("s3.panel.test:{}", tls.address.port());
    // The name exists only on the proxy's side, so a direct connection cannot reach the bucket.
    let proxy = crate::support::connect_proxy::ConnectProxy::start(&[(&target, tls.address)]).await;
    let endpoint = format!("https://{target}");
    let ca_bundle = tls.ca_file.to_string_lossy().to_string();
    let proxy_url = proxy.url();
    let env = [
        ("R2_ENDPOINT_HOST_ALLOWLIST", "s3.panel.test"),
        ("TEST_R2_KEY_ID", KEY_ID),
        ("TEST_R2_SECRET", SECRET),
        ("AWS_CA_BUNDLE", ca_bundle.as_str()),
        ("HTTPS_PROXY", proxy_url.as_str()),
        ("NO_PROXY", "localhost,127.0.0.1"),
    ];
    let app = spawn_app_with(&env).await;
    let cookie = app.unlock().await;
    seed(&app, "a.png", b"through the tunnel").await;
    save_r2_public(&app, &cookie, enabled(&endpoint, "gallery/")).await;

    let health = api(&app, &cookie, Method::POST, "/api/settings/r2/health", Some(json!({}))).await;
    let health: Value = health.json().await.unwrap();
    assert_eq!(health["status"], "ok", "{health}");
    let done = sync(&app, &cookie, json!({})).await;
    assert_eq!(done["status"], "success", "{done}");
    assert_eq!(done["uploaded_count"], 1, "{done}");
    assert_eq!(bucket.read("gallery/a.png").unwrap(), b"through the tunnel");
    let targets = proxy.targets();
    assert!(!targets.is_empty() && targets.iter().all(|t| *t == target), "{targets:?}");

    // Excluded by NO_PROXY, the same endpoint is tried directly, where its name does not resolve.
    let mut direct: Vec<(&str, &str)> = env.iter().copied().filter(|(name, _)| *name != "NO_PROXY").collect();
    direct.push(("NO_PROXY", "panel.test"));
    let app = spawn_app_with(&direct).await;
    let cookie = app.unlock().await;
    save_r2_public(&app, &cookie, enabled(&endpoint, "gallery/")).await;
    let tunnels = proxy.targets().len();
    let health = api(&app, &cookie, Method::POST, "/api/settings/r2/health", Some(json!({}))).await;
    let health: Value = health.json().await.unwrap();
    assert_eq!(health["status"], "error", "{health}");
    assert_eq!(health["checks"][1]["name"], "head_bucket", "{health}");
    assert_eq!(proxy.targets().len(), tunnels, "nothing went through the proxy");
}
