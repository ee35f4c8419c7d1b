use std::io::{Cursor, Read};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::settings_api::api;
use panel_actors::store::gallery::{self, GalleryRow};

/// A gallery row whose file holds `bytes` (exports never decode images), newest last.
async fn seed(app: &TestApp, filename: &str, bytes: &[u8], created: &str) -> GalleryRow {
    std::fs::write(app.dir.path().join("images").join(filename), bytes).unwrap();
    let row = GalleryRow {
        id: uuid::Uuid::new_v4().to_string(),
        sort_seq: 0,
        prompt: format!("prompt of {filename} 图"),
        size: "1024x1024".into(),
        filename: filename.into(),
        thumbnail_filename: None,
        image_width: Some(1024),
        image_height: Some(1024),
        model: Some("gpt-image-2".into()),
        quality: None,
        output_format: Some("png".into()),
        output_compression: None,
        response_format: Some("b64_json".into()),
        n: Some(1),
        api_path: Some("/v1/images/generations".into()),
        api_preset_name: Some("Default".into()),
        duration_seconds: Some(2.5),
        favorite: false,
        bytes: Some(bytes.len() as i64),
        sha256: Some(format!("{:064}", bytes.len())),
        job_id: None,
        created_at: created.into(),
        completed_at: Some(created.into()),
    };
    gallery::insert(&app.state.db, row).await.unwrap()
}

/// Every member of an archive, in order, with its bytes.
fn members(archive: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(Cursor::new(archive)).expect("a readable ZIP");
    (0..zip.len())
        .map(|i| {
            let mut file = zip.by_index(i).unwrap();
            assert_eq!(file.compression(), zip::CompressionMethod::Stored);
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes).unwrap();
            (file.name().unwrap().to_string(), bytes)
        })
        .collect()
}

async fn wait_for_end(app: &TestApp, cookie: &str, path: &str) -> Value {
    for _ in 0..500 {
        let status: Value = app.get_with_cookie(path, cookie).await.json().await.unwrap();
        if status["status"] == "success" || status["status"] == "error" {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("export did not end");
}

async fn three_images() -> (TestApp, String, Vec<GalleryRow>) {
    let app = spawn_app().await;
    let cookie = app.unlock().await;
    let rows = vec![
        seed(&app, "old.png", b"old image bytes", "2026-11-01T08:00:00.000000Z").await,
        seed(&app, "middle.png", &vec![9u8; 300_000], "2026-11-02T08:00:00.000000Z").await,
        seed(&app, "new.png", b"newest", "2026-11-03T08:00:00.000000Z").await,
    ];
    (app, cookie, rows)
}

#[tokio::test]
async fn a_tracked_export_holds_every_image_then_both_metadata_files() {
    let (app, cookie, rows) = three_images().await;
    let accepted = api(&app, &cookie, Method::POST, "/api/gallery/export-jobs", None).await;
    assert_eq!(accepted.status(), 202);
    let job: Value = accepted.json().await.unwrap();
    assert_eq!((job["status"].as_str(), job["stage"].as_str()), (Some("queued"), Some("queued")));
    assert_eq!(job["requested_count"], 3);
    assert!(job["filename"].as_str().unwrap().starts_with("gpt-images-"));
    let id = job["job_id"].as_str().unwrap();

    let done = wait_for_end(&app, &cookie, &format!("/api/gallery/export-jobs/{id}")).await;
    assert_eq!((done["status"].as_str(), done["stage"].as_str()), (Some("success"), Some("ready")), "{done}");
    assert_eq!((done["progress"].as_i64(), done["exported_count"].as_i64()), (Some(100), Some(3)));
    assert_eq!(done["download_url"], format!("/api/gallery/export-jobs/{id}/download"));
    assert_eq!(done["bytes_written"], done["bytes_total"]);

    for _ in 0..2 {
        // Downloadable until it expires, not once.
        let download = app.get_with_cookie(&format!("/api/gallery/export-jobs/{id}/download"), &cookie).await;
        assert_eq!(download.status(), 200);
        let headers = download.headers().clone();
        assert_eq!(headers["content-type"], "application/zip");
        assert_eq!(headers["x-gallery-requested-count"], "3");
        assert_eq!(headers["x-gallery-exported-count"], "3");
        assert_eq!(headers["x-gallery-missing-count"], "0");
        let body = download.bytes().await.unwrap();
        assert_eq!(headers["content-length"], body.len().to_string().as_str());
        assert_eq!(body.len() as i64, done["bytes_total"].as_i64().unwrap(), "the promised length is exact");

        let members = members(&body);
        let names: Vec<&str> = members.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["images/new.png", "images/middle.png", "images/old.png", "metadata.json", "metadata.ndjson"]
        );
        assert_eq!(members[1].1, vec![9u8; 300_000]);
        let metadata: Value = serde_json::from_slice(&members[3].1).unwrap();
        assert_eq!(metadata["schema_version"], 1);
        assert_eq!(metadata["app"]["name"], "gpt-image-linux");
        assert!(metadata.get("skipped").is_none());
        let newest = &metadata["images"][0];
        assert_eq!(newest["id"], rows[2].id.as_str());
        assert_eq!(newest["filename"], "new.png");
        assert_eq!(newest["sha256"], rows[2].sha256.clone().unwrap());
        assert_eq!(newest["duration"], "2.50s");
        assert_eq!(newest["created_at"], "2026-11-03T08:00:00.000000+00:00");
        assert_eq!(newest["completed_at"], "2026-11-03T16:00:00.000000+08:00");
        for absent in ["image_url", "thumbnail_url", "thumbnail_filename", "quality", "output_compression"] {
            assert!(newest.get(absent).is_none(), "{absent} is left out: {newest}");
        }
        let lines: Vec<Value> = String::from_utf8(members[4].1.clone())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0]["type"], "header");
        assert_eq!(lines[0]["exported_at"], metadata["exported_at"]);
        assert_eq!(lines[1]["image"], metadata["images"][0]);
    }

    // Its events: the final state, then the stream ends.
    let events = app.get_with_cookie(&format!("/api/gallery/export-jobs/{id}/events"), &cookie).await;
    assert_eq!(events.headers()["content-type"], "text/event-stream; charset=utf-8");
    let text = events.text().await.unwrap();
    let data = text.split("event: export\ndata: ").nth(1).expect("an export event");
    let event: Value = serde_json::from_str(data.lines().next().unwrap()).unwrap();
    assert_eq!(event["status"], "success");

    let unknown = app.get_with_cookie("/api/gallery/export-jobs/nope", &cookie).await;
    assert_envelope(unknown, 404, "not_found", "Gallery export job not found").await;
}

#[tokio::test]
async fn a_direct_export_link_works_once_and_reports_its_bytes() {
    let (app, cookie, _rows) = three_images().await;
    let reserved = api(&app, &cookie, Method::POST, "/api/gallery/direct-export-jobs", None).await;
    assert_eq!(reserved.status(), 202);
    let job: Value = reserved.json().await.unwrap();
    let id = job["job_id"].as_str().unwrap().to_string();
    assert!(id.starts_with("direct-"));
    assert_eq!((job["status"].as_str(), job["stage"].as_str()), (Some("running"), Some("queued")));
    assert_eq!(job["download_url"], format!("/api/download-all?export_job_id={id}"));

    let download = app.get_with_cookie(job["download_url"].as_str().unwrap(), &cookie).await;
    assert_eq!(download.status(), 200);
    assert_eq!(download.headers()["x-gallery-export-job-id"], id.as_str());
    assert!(download.headers().get("content-length").is_none(), "streamed");
    let body = download.bytes().await.unwrap();
    assert_eq!(members(&body).len(), 5);

    let done = wait_for_end(&app, &cookie, &format!("/api/gallery/direct-export-jobs/{id}")).await;
    assert_eq!((done["status"].as_str(), done["message"].as_str()), (Some("success"), Some("ZIP archive streamed")));
    assert_eq!(done["bytes_total"].as_i64(), Some(body.len() as i64));
    assert_eq!(done["bytes_written"], done["bytes_total"]);

    let again = app.get_with_cookie(&format!("/api/download-all?export_job_id={id}"), &cookie).await;
    assert_envelope(again, 409, "conflict", "Direct gallery export job is already active or finished").await;
    let unknown = app.get_with_cookie("/api/download-all?export_job_id=direct-nope", &cookie).await;
    assert_envelope(unknown, 404, "not_found", "Direct gallery export job not found").await;

    // Without an id, a new export starts at once.
    let plain = app.get_with_cookie("/api/download-all", &cookie).await;
    assert_eq!(plain.status(), 200);
    assert_eq!(members(&plain.bytes().await.unwrap()).len(), 5);
}

#[tokio::test]
async fn selected_downloads_list_what_is_missing_and_exports_respect_the_limit() {
    let (app, cookie, rows) = three_images().await;
    std::fs::remove_file(app.dir.path().join("images/old.png")).unwrap();
    let body = json!({"ids": [rows[1].id, "no-such-id", rows[0].id]});
    let download = api(&app, &cookie, Method::POST, "/api/gallery/batch/download", Some(body)).await;
    assert_eq!(download.status(), 200);
    let headers = download.headers().clone();
    assert!(headers["content-disposition"].to_str().unwrap().contains("gpt-images-selected-"));
    assert_eq!(
        (
            &headers["x-gallery-requested-count"],
            &headers["x-gallery-exported-count"],
            &headers["x-gallery-missing-count"]
        ),
        (&"3".parse().unwrap(), &"1".parse().unwrap(), &"2".parse().unwrap())
    );
    let members = members(&download.bytes().await.unwrap());
    let names: Vec<&str> = members.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["images/middle.png", "metadata.json", "metadata.ndjson"]);
    let metadata: Value = serde_json::from_slice(&members[1].1).unwrap();
    assert_eq!(
        metadata["skipped"],
        json!([
            {"id": "no-such-id", "reason": "gallery_entry_missing"},
            {"id": rows[0].id, "filename": "old.png", "reason": "image_file_missing"}
        ])
    );

    let none = api(&app, &cookie, Method::POST, "/api/gallery/batch/download", Some(json!({"ids": ["nope"]}))).await;
    assert_envelope(none, 404, "not_found", "Gallery entries not found").await;

    // MAX_ACTIVE_EXPORT_JOBS: reservations hold their slots until used.
    let app = spawn_app_with(&[("MAX_ACTIVE_EXPORT_JOBS", "2")]).await;
    let cookie = app.unlock().await;
    seed(&app, "one.png", b"one", "2026-11-01T08:00:00.000000Z").await;
    for _ in 0..2 {
        assert_eq!(api(&app, &cookie, Method::POST, "/api/gallery/direct-export-jobs", None).await.status(), 202);
    }
    let full = api(&app, &cookie, Method::POST, "/api/gallery/direct-export-jobs", None).await;
    assert_envelope(
        full,
        429,
        "rate_limited",
        "Too many active export jobs (2). Please wait for existing exports to complete.",
    )
    .await;
}

#[tokio::test]
async fn a_client_that_leaves_mid_download_ends_the_export_as_an_error() {
    let app = spawn_app().await;
    let cookie = app.unlock().await;
    // More than the stream and socket buffers hold, so the writer is still busy when the client goes.
    for i in 0..48 {
        seed(&app, &format!("big-{i}.png"), &vec![i as u8 + 1; 1 << 20], "2026-11-01T08:00:00.000000Z").await;
    }
    let job: Value =
        api(&app, &cookie, Method::POST, "/api/gallery/direct-export-jobs", None).await.json().await.unwrap();
    let id = job["job_id"].as_str().unwrap().to_string();
    let mut download = app.get_with_cookie(&format!("/api/download-all?export_job_id={id}"), &cookie).await;
    assert_eq!(download.status(), 200);
    let first = download.chunk().await.unwrap().expect("a first chunk");
    assert!(first.starts_with(b"PK\x03\x04"));
    drop(download);

    let done = wait_for_end(&app, &cookie, &format!("/api/gallery/direct-export-jobs/{id}")).await;
    assert_eq!(done["status"], "error", "{done}");
    assert_eq!(done["message"], "Direct ZIP download interrupted");
    assert_eq!(done["error"], "Client disconnected before ZIP streaming completed");
    // The length may still be unknown (the first pass stops with the writer), so compare with what
    // the whole archive would have held.
    let written = done["bytes_written"].as_i64().expect("bytes_written");
    assert!(written < 48 << 20, "{done}");
    let scratch: Vec<_> = std::fs::read_dir(app.data_dir().join("exports")).unwrap().collect();
    assert!(scratch.is_empty(), "scratch files are removed: {scratch:?}");
}

#[tokio::test]
async fn selection_tokens_stand_for_filters_in_every_batch_action() {
    let (app, cookie, rows) = three_images().await;
    let post = |path: &'static str, body: Value| api(&app, &cookie, Method::POST, path, Some(body));
    let created =
        post("/api/gallery/batch/selection-tokens", json!({"filters": {"prompt": "middle", "model": ""}})).await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let token = created["selection_token"].as_str().unwrap().to_string();
    assert!(token.starts_with("sel-") && token.len() == 36, "{created}");
    assert_eq!(created["count"], 1);
    let none = post("/api/gallery/batch/selection-tokens", json!({"filters": {"prompt": "nothing like it"}})).await;
    assert_envelope(none, 404, "not_found", "No images match selection").await;

    let download = post("/api/gallery/batch/download", json!({"selection_token": token})).await;
    assert_eq!(download.status(), 200);
    assert_eq!(download.headers()["x-gallery-exported-count"], "1");
    let names: Vec<String> = members(&download.bytes().await.unwrap()).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["images/middle.png", "metadata.json", "metadata.ndjson"]);

    let export: Value = post("/api/gallery/export-jobs", json!({"selection_token": token})).await.json().await.unwrap();
    assert!(export["filename"].as_str().unwrap().starts_with("gpt-images-selected-"));
    let done =
        wait_for_end(&app, &cookie, &format!("/api/gallery/export-jobs/{}", export["job_id"].as_str().unwrap())).await;
    assert_eq!((done["status"].as_str(), done["exported_count"].as_i64()), (Some("success"), Some(1)));

    for _ in 0..2 {
        let favorite = api(
            &app,
            &cookie,
            Method::PATCH,
            "/api/gallery/batch/favorite",
            Some(json!({"selection_token": token, "favorite": true})),
        )
        .await;
        let favorite: Value = favorite.json().await.unwrap();
        assert_eq!(
            (favorite["count"].as_i64(), favorite["requested_count"].as_i64()),
            (Some(1), Some(1)),
            "{favorite}"
        );
    }
    let both = post("/api/gallery/export-jobs", json!({"ids": [rows[0].id], "selection_token": token})).await;
    assert_envelope(both, 422, "validation_error", "Provide ids or selection_token, not both").await;
    let neither = post("/api/gallery/batch/delete", json!({})).await;
    assert_envelope(neither, 422, "validation_error", "Provide exactly one of ids or selection_token").await;
    let unknown = post("/api/gallery/batch/download", json!({"selection_token": "sel-unknown"})).await;
    assert_envelope(unknown, 404, "not_found", "Gallery selection token not found").await;

    let deleted: Value =
        post("/api/gallery/batch/delete", json!({"selection_token": token})).await.json().await.unwrap();
    assert_eq!((deleted["count"].as_i64(), deleted["file_count"].as_i64()), (Some(1), Some(1)), "{deleted}");
    let again = post("/api/gallery/batch/delete", json!({"selection_token": token})).await;
    assert_envelope(again, 404, "not_found", "Gallery entries not found").await;
}

#[tokio::test]
async fn a_blank_selection_token_counts_as_none() {
    let (app, cookie, _rows) = three_images().await;
    for body in [json!({"selection_token": ""}), json!({"selection_token": "  ", "ids": null})] {
        let response = api(&app, &cookie, Method::POST, "/api/gallery/export-jobs", Some(body)).await;
        assert_eq!(response.status(), 202, "the whole gallery is exported");
        let job: Value = response.json().await.unwrap();
        assert_eq!(job["requested_count"], 3, "{job}");
        wait_for_end(&app, &cookie, &format!("/api/gallery/export-jobs/{}", job["job_id"].as_str().unwrap())).await;
    }
}

/// `APP_VERSION` (at once): an export started after the change names the new version in both
/// metadata files.
#[tokio::test]
async fn exports_name_the_version_set_at_run_time() {
    let app = spawn_app_with(&[("APP_VERSION", "v1.0.0")]).await;
    let cookie = app.unlock().await;
    seed(&app, "one.png", b"image bytes", "2026-11-01T08:00:00.000000Z").await;
    let saved = crate::overall_config::put(&app, &cookie, json!([{"name": "APP_VERSION", "value": "v9.8.7"}])).await;
    assert_eq!(saved.status(), 200);
    let archive = app.get_with_cookie("/api/download-all", &cookie).await.bytes().await.unwrap();
    let metadata: Vec<(String, Vec<u8>)> =
        members(&archive).into_iter().filter(|(name, _)| name.starts_with("metadata.")).collect();
    assert_eq!(metadata.len(), 2, "both metadata files");
    for (name, bytes) in metadata {
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains(r#""app":{"name":"#) && text.contains(r#""version":"v9.8.7""#), "{name}: {text}");
        assert!(!text.contains("v1.0.0"), "{name}");
    }
}
