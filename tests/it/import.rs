use std::io::{Cursor, Write};
use std::time::Duration;

use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::helpers::*;
use crate::settings_api::api;
use panel_actors::archive::zip_writer::{DosTime, ZipWriter};
use panel_actors::store::gallery::{self, GalleryRow};

/// A small PNG whose pixels (and so bytes and sha256) depend on `seed`.
pub(crate) fn png(seed: u32, side: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    let image = image::RgbImage::from_fn(side, side, |_, _| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let [a, b, c, _] = state.to_le_bytes();
        image::Rgb([a, b, c])
    });
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

pub(crate) fn sha(bytes: &[u8]) -> String {
    panel_actors::hex::encode(&Sha256::digest(bytes))
}

/// A stored ZIP with exactly these members, in order (duplicates and hostile names allowed).
pub(crate) fn stored_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = ZipWriter::new(Vec::new(), tempfile::tempfile().unwrap(), DosTime::from_utc(chrono::Utc::now()));
    let mut buffer = vec![0u8; 64 * 1024];
    for (name, bytes) in entries {
        writer.add(name, bytes.len() as u64, &mut &bytes[..], &mut buffer, |_| Ok(())).unwrap();
    }
    writer.finish(&mut buffer).unwrap()
}

/// A deflated ZIP (for compression-ratio limits).
fn deflated_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        zip.start_file(*name, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

pub(crate) fn ndjson(records: &[Value]) -> Vec<u8> {
    let mut out = String::from("{\"type\":\"header\",\"schema_version\":1}\n");
    for record in records {
        out.push_str(&serde_json::json!({"type": "image", "image": record}).to_string());
        out.push('\n');
    }
    out.into_bytes()
}

async fn upload(app: &TestApp, cookie: &str, query: &str, archive: Vec<u8>) -> reqwest::Response {
    let form = Form::new().part("archive", Part::bytes(archive).file_name("gallery.zip"));
    app.same_origin(Method::POST, &format!("/api/import{query}"))
        .header("cookie", cookie)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn gallery_items(app: &TestApp, cookie: &str) -> Vec<Value> {
    let page: Value = app.get_with_cookie("/api/gallery?page_size=100", cookie).await.json().await.unwrap();
    page["images"].as_array().cloned().unwrap_or_default()
}

pub(crate) fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// A gallery row with a real image file.
async fn seed(app: &TestApp, filename: &str, bytes: &[u8], created: &str, favorite: bool) -> GalleryRow {
    std::fs::write(app.dir.path().join("images").join(filename), bytes).unwrap();
    let row = GalleryRow {
        id: uuid::Uuid::new_v4().to_string(),
        sort_seq: 0,
        prompt: format!("prompt of {filename} 一只猫"),
        size: "1024x1024".into(),
        filename: filename.into(),
        thumbnail_filename: None,
        image_width: Some(16),
        image_height: Some(16),
        model: Some("gpt-image-2".into()),
        quality: Some("high".into()),
        output_format: Some("png".into()),
        output_compression: None,
        response_format: Some("b64_json".into()),
        n: Some(1),
        api_path: Some("/v1/images/generations".into()),
        api_preset_name: Some("Default".into()),
        duration_seconds: Some(2.5),
        favorite,
        bytes: Some(bytes.len() as i64),
        sha256: Some(sha(bytes)),
        job_id: None,
        created_at: created.into(),
        completed_at: Some(created.into()),
    };
    gallery::insert(&app.state.db, row).await.unwrap()
}

/// Whether `filename`'s thumbnail is served within about 6 s.
async fn thumbnail_made(app: &TestApp, cookie: &str, filename: &str) -> bool {
    let thumbnail = format!("/api/thumb/{filename}");
    for _ in 0..300 {
        if app.get_with_cookie(&thumbnail, cookie).await.status() == 200 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

async fn export_archive(app: &TestApp, cookie: &str) -> Vec<u8> {
    let response = app.get_with_cookie("/api/download-all", cookie).await;
    assert_eq!(response.status(), 200);
    response.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn a_round_trip_keeps_ids_prompts_bytes_order_and_times_and_a_second_import_adds_nothing() {
    let app = spawn_app().await;
    let cookie = app.unlock().await;
    let mut seeded = Vec::new();
    for i in 0..5u32 {
        let created = format!("2026-11-0{}T08:00:00.000000Z", i + 1);
        seeded.push(seed(&app, &format!("image-{i}.png"), &png(i, 16), &created, i == 2).await);
    }
    let before = gallery_items(&app, &cookie).await;
    let archive = export_archive(&app, &cookie).await;

    let cleared = api(&app, &cookie, Method::DELETE, "/api/gallery", None).await;
    assert_eq!(cleared.status(), 200);
    assert!(gallery_items(&app, &cookie).await.is_empty());

    let imported = upload(&app, &cookie, "", archive.clone()).await;
    assert_eq!(imported.status(), 200);
    let result: Value = imported.json().await.unwrap();
    assert_eq!(result["status"], "success");
    assert_eq!((result["imported"].as_i64(), result["duplicates"].as_i64()), (Some(5), Some(0)), "{result}");
    assert_eq!(result["skipped"], 0);

    let after = gallery_items(&app, &cookie).await;
    assert_eq!(after.len(), 5);
    for (old, new) in before.iter().zip(&after) {
        for key in ["id", "prompt", "size", "filename", "created_at", "completed_at", "favorite", "model", "duration"] {
            assert_eq!(old[key], new[key], "{key} kept in order");
        }
    }
    for row in &seeded {
        let image = app.get_with_cookie(&format!("/api/image/{}", row.filename), &cookie).await;
        assert_eq!(image.status(), 200);
        assert_eq!(sha(&image.bytes().await.unwrap()), row.sha256.clone().unwrap(), "bytes kept");
    }
    // Thumbnails were queued for the imported rows.
    assert!(thumbnail_made(&app, &cookie, &seeded[0].filename).await, "imported rows get thumbnails");

    let again: Value = upload(&app, &cookie, "", archive).await.json().await.unwrap();
    assert_eq!((again["imported"].as_i64(), again["duplicates"].as_i64()), (Some(0), Some(5)), "{again}");
    assert_eq!(gallery_items(&app, &cookie).await.len(), 5, "the same archive twice does not double the gallery");
    assert!(files_in(&app.data_dir().join("imports")).is_empty(), "uploads are removed");
}

#[tokio::test]
async fn an_async_import_reports_progress_skips_and_conflicts() {
    let app = spawn_app().await;
    let cookie = app.unlock().await;
    // An existing row sharing an id and a filename with the archive, with other bytes.
    let existing = seed(&app, "taken.png", &png(100, 16), "2026-10-01T00:00:00.000000Z", false).await;
    let good = png(1, 16);
    let records = vec![
        serde_json::json!({"id": existing.id, "filename": "taken.png", "prompt": "same id, same name"}),
        serde_json::json!({"id": "missing-member", "filename": "nowhere.png"}),
        serde_json::json!({"id": "svg", "filename": "drawing.png"}),
        serde_json::json!({"id": "empty", "filename": "empty.png"}),
        serde_json::json!({"id": "text", "filename": "notes.txt"}),
        serde_json::json!({"id": "mismatch", "filename": "photo.jpg"}),
    ];
    let metadata = ndjson(&records);
    let archive = stored_zip(&[
        ("images/taken.png", &good),
        ("images/drawing.png", crate::support::images::SVG),
        ("images/empty.png", b""),
        ("images/notes.txt", b"hello"),
        ("images/photo.jpg", &png(2, 16)),
        ("metadata.ndjson", &metadata),
    ]);
    let accepted = upload(&app, &cookie, "?async_job=true", archive).await;
    assert_eq!(accepted.status(), 202);
    let job: Value = accepted.json().await.unwrap();
    assert_eq!((job["status"].as_str(), job["stage"].as_str()), (Some("queued"), Some("queued")));
    assert_eq!(job["message"], "Queued gallery ZIP import");
    assert_eq!(job["requested_count"], 4, "records naming an image member");
    let id = job["job_id"].as_str().unwrap();

    let events = app.get_with_cookie(&format!("/api/gallery/import-jobs/{id}/events"), &cookie).await;
    assert_eq!(events.status(), 200);
    let text = events.text().await.unwrap();
    let last = text.rsplit("event: import\ndata: ").next().unwrap();
    let end: Value = serde_json::from_str(last.lines().next().unwrap()).unwrap();
    assert_eq!((end["status"].as_str(), end["stage"].as_str()), (Some("success"), Some("completed")), "{end}");
    assert_eq!((end["imported_count"].as_i64(), end["skipped_count"].as_i64()), (Some(1), Some(5)), "{end}");
    let reasons: Vec<(String, String)> = end["skipped_entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_str().unwrap().to_string(), s["reason"].as_str().unwrap().to_string()))
        .collect();
    let expected = [
        ("missing-member", "image_file_missing"),
        ("svg", "invalid_image"),
        ("empty", "empty_image"),
        ("text", "unsupported_extension"),
        ("mismatch", "invalid_image"),
    ];
    assert_eq!(reasons, expected.map(|(a, b)| (a.to_string(), b.to_string())));
    assert_eq!(end["skipped_entries"][4]["detail"], "Image file extension does not match image data");
    let status: Value =
        app.get_with_cookie(&format!("/api/gallery/import-jobs/{id}"), &cookie).await.json().await.unwrap();
    assert_eq!(status["imported_count"], 1);

    let items = gallery_items(&app, &cookie).await;
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["prompt"], "same id, same name");
    assert_ne!(items[0]["id"], existing.id.as_str(), "a taken id gets a fresh one");
    assert_eq!(items[0]["filename"], "taken_1.png", "a taken name gets a suffix");
    assert_eq!(items[1]["id"], existing.id.as_str(), "the existing row is untouched");

    let unknown = app.get_with_cookie("/api/gallery/import-jobs/nope", &cookie).await;
    assert_envelope(unknown, 404, "not_found", "Gallery import job not found").await;
}

/// Each archive-level refusal, in the contract's words plus the limit and its setting; nothing stored.
#[tokio::test]
async fn hostile_and_oversized_archives_are_refused_before_anything_is_stored() {
    let app = spawn_app_with(&[
        ("IMPORT_MAX_FILES", "4"),
        ("IMPORT_MAX_ENTRIES", "2"),
        ("IMPORT_MAX_METADATA_BYTES", "400"),
        ("IMPORT_MAX_UNCOMPRESSED_MB", "2"),
        ("MAX_FILE_SIZE_MB", "1"),
        ("IMPORT_UPLOADS_PER_IP_PER_MINUTE", "100"),
    ])
    .await;
    let cookie = app.unlock().await;
    let kept = seed(&app, "kept.png", &png(50, 8), "2026-10-01T00:00:00.000000Z", false).await;
    let before = gallery_items(&app, &cookie).await;
    let image = png(1, 8);
    let one = ndjson(&[serde_json::json!({"filename": "a.png"})]);
    let big = vec![7u8; 1_100_000];
    let half = vec![7u8; 900_000];
    let zeros = vec![0u8; 200_000];
    let long_line = format!("{{\"type\":\"image\",\"image\":{{\"filename\":\"{}\"}}}}\n", "x".repeat(500));
    let cases: Vec<(Vec<u8>, String)> = vec![
        (b"not a zip at all".to_vec(), "Import file must be a valid ZIP".into()),
        (
            stored_zip(&[
                ("a.png", &image),
                ("b.png", &image),
                ("c.png", &image),
                ("d.png", &image),
                ("e.png", &image),
            ]),
            "Import archive contains too many files (more than 4; setting IMPORT_MAX_FILES)".into(),
        ),
        (
            stored_zip(&[("../escape.png", &image), ("metadata.ndjson", &one)]),
            "Import archive contains unsafe paths".into(),
        ),
        (stored_zip(&[("a/../../escape.png", &image)]), "Import archive contains unsafe paths".into()),
        (stored_zip(&[("..\\escape.png", &image)]), "Import archive contains unsafe paths".into()),
        (stored_zip(&[("/etc/x.png", &image)]), "Import archive contains unsafe paths".into()),
        (stored_zip(&[("C:/x.png", &image)]), "Import archive contains unsafe paths".into()),
        (stored_zip(&[("images\\x.png", &image)]), "Import archive contains unsafe paths".into()),
        (stored_zip(&[("a.png", &image), ("a.png", &image)]), "Import archive contains duplicate paths".into()),
        (
            stored_zip(&[("images/big.png", &big)]),
            "Imported image is too large (more than 1 MB; setting MAX_FILE_SIZE_MB)".into(),
        ),
        (
            stored_zip(&[("a.bin", &half), ("b.bin", &half), ("c.bin", &half)]),
            "Import archive uncompressed size exceeds limit (2 MB; setting IMPORT_MAX_UNCOMPRESSED_MB)".into(),
        ),
        (
            deflated_zip(&[("zeros.bin", &zeros)]),
            "Import archive compression ratio exceeds limit (100; setting IMPORT_MAX_COMPRESSION_RATIO)".into(),
        ),
        (stored_zip(&[("images/a.png", &image)]), "metadata.json is required".into()),
        (
            stored_zip(&[("metadata.json", &vec![b' '; 500])]),
            "metadata.json is too large (more than 400 bytes; setting IMPORT_MAX_METADATA_BYTES)".into(),
        ),
        (stored_zip(&[("metadata.json", b"{not json")]), "metadata.json is invalid".into()),
        (stored_zip(&[("metadata.json", b"[1,2]")]), "metadata.json is invalid".into()),
        (stored_zip(&[("metadata.json", b"{\"images\":{}}")]), "metadata.json images must be a list".into()),
        (
            stored_zip(&[("metadata.ndjson", long_line.as_bytes())]),
            "metadata.ndjson is too large (more than 400 bytes; setting IMPORT_MAX_METADATA_BYTES)".into(),
        ),
        (stored_zip(&[("metadata.ndjson", b"{\"type\":\"image\"\n")]), "metadata.ndjson is invalid".into()),
        (
            stored_zip(&[(
                "metadata.json",
                br#"{"images":[{"filename":"a.png"},{"filename":"b.png"},{"filename":"c.png"}]}"#,
            )]),
            "Import metadata contains too many entries (more than 2; setting IMPORT_MAX_ENTRIES)".into(),
        ),
        (
            stored_zip(&[
                ("images/a.png", &image),
                ("metadata.json", br#"{"images":[{"filename":"a.png"},{"filename":"images/a.png"}]}"#),
            ]),
            "Import metadata references an image more than once".into(),
        ),
        (
            stored_zip(&[
                ("notes.txt", b"x"),
                ("metadata.json", br#"{"images":[{"filename":"notes.txt"},{"filename":"gone.png"}]}"#),
            ]),
            "No importable images found".into(),
        ),
    ];
    for (archive, detail) in cases {
        let response = upload(&app, &cookie, "?async_job=true", archive).await;
        assert_envelope(response, 400, "bad_request", &detail).await;
    }
    let empty = upload(&app, &cookie, "", Vec::new()).await;
    assert_envelope(empty, 400, "bad_request", "Uploaded archive is empty").await;
    let no_field = app
        .same_origin(Method::POST, "/api/import")
        .header("cookie", &cookie)
        .multipart(Form::new().text("other", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_field.status(), 422);

    assert_eq!(gallery_items(&app, &cookie).await, before, "the gallery is as it was");
    assert_eq!(files_in(&app.dir.path().join("images")), vec![kept.filename.clone()], "no image written");
    assert!(files_in(&app.data_dir().join("imports")).is_empty(), "every upload removed");
}

/// Entries that fail the image check are skipped; an archive of nothing else imports nothing.
#[tokio::test]
async fn disguised_truncated_and_oversized_images_are_never_stored() {
    let app = spawn_app_with(&[("MAX_IMAGE_PIXELS", "1000")]).await;
    let cookie = app.unlock().await;
    let kept = seed(&app, "kept.png", &png(50, 8), "2026-10-01T00:00:00.000000Z", false).await;
    let before = gallery_items(&app, &cookie).await;
    let whole = png(3, 16);
    let truncated = &whole[..whole.len() / 2];
    let bomb = png(4, 64);
    let names = ["svg.png", "truncated.png", "bomb.png"];
    let records: Vec<Value> = names.iter().map(|n| serde_json::json!({"filename": n})).collect();
    let metadata = ndjson(&records);
    let archive = stored_zip(&[
        ("images/svg.png", crate::support::images::SVG),
        ("images/truncated.png", truncated),
        ("images/bomb.png", &bomb),
        ("metadata.ndjson", &metadata),
    ]);
    let accepted = upload(&app, &cookie, "?async_job=true", archive.clone()).await;
    let id = accepted.json::<Value>().await.unwrap()["job_id"].as_str().unwrap().to_string();
    let events = app.get_with_cookie(&format!("/api/gallery/import-jobs/{id}/events"), &cookie).await;
    let text = events.text().await.unwrap();
    let end: Value = serde_json::from_str(text.rsplit("data: ").next().unwrap().lines().next().unwrap()).unwrap();
    assert_eq!((end["status"].as_str(), end["error"].as_str()), (Some("error"), Some("No importable images found")));
    let details: Vec<&str> =
        end["skipped_entries"].as_array().unwrap().iter().map(|s| s["detail"].as_str().unwrap()).collect();
    assert_eq!(
        details,
        [
            "Image data must be a supported raster image format",
            "Image data must be a fully decodable supported raster image",
            "Image too large: 4096 pixels (max 1000)",
        ]
    );
    let sync = upload(&app, &cookie, "", archive).await;
    assert_envelope(sync, 400, "bad_request", "No importable images found").await;
    assert_eq!(gallery_items(&app, &cookie).await, before);
    assert_eq!(files_in(&app.dir.path().join("images")), vec![kept.filename.clone()]);
}

#[tokio::test]
async fn the_archive_size_and_output_limits_hold_and_a_late_abort_stores_nothing() {
    let app = spawn_app_with(&[("IMPORT_ARCHIVE_MAX_MB", "2"), ("IMPORT_MAX_OUTPUT_MB", "1")]).await;
    let cookie = app.unlock().await;
    let over = upload(&app, &cookie, "", vec![b'P'; 2_200_000]).await;
    assert_envelope(over, 413, "request_too_large", "Request body too large").await;

    // Three real images of about 0.4 MB: the third passes the archive checks but not the output budget.
    let images: Vec<Vec<u8>> = (0..3).map(|i| png(i + 10, 370)).collect();
    assert!(
        images.iter().all(|i| i.len() > 380_000 && i.len() < 450_000),
        "{:?}",
        images.iter().map(Vec::len).collect::<Vec<_>>()
    );
    let names = ["a.png", "b.png", "c.png"];
    let records: Vec<Value> = names.iter().map(|n| serde_json::json!({"filename": n})).collect();
    let metadata = ndjson(&records);
    let archive = stored_zip(&[
        ("images/a.png", &images[0]),
        ("images/b.png", &images[1]),
        ("images/c.png", &images[2]),
        ("metadata.ndjson", &metadata),
    ]);
    let response = upload(&app, &cookie, "", archive).await;
    assert_envelope(
        response,
        400,
        "bad_request",
        "Import output size exceeds limit (1 MB; setting IMPORT_MAX_OUTPUT_MB)",
    )
    .await;
    assert!(gallery_items(&app, &cookie).await.is_empty(), "rows commit together or not at all");
    assert!(files_in(&app.dir.path().join("images")).is_empty(), "files of an aborted import are removed");
}

#[tokio::test]
async fn one_import_runs_at_a_time_and_uploads_per_ip_are_bounded() {
    let app = spawn_app_with(&[("IMPORT_UPLOADS_PER_IP_PER_MINUTE", "2")]).await;
    let cookie = app.unlock().await;
    let images: Vec<Vec<u8>> = (0..150).map(|i| png(i, 64)).collect();
    let names: Vec<String> = (0..150).map(|i| format!("images/{i}.png")).collect();
    let records: Vec<Value> = (0..150).map(|i| serde_json::json!({"filename": format!("{i}.png")})).collect();
    let metadata = ndjson(&records);
    let mut entries: Vec<(&str, &[u8])> =
        names.iter().map(String::as_str).zip(images.iter().map(Vec::as_slice)).collect();
    entries.push(("metadata.ndjson", &metadata));
    let large = stored_zip(&entries);
    let small_records = ndjson(&[serde_json::json!({"filename": "x.png"})]);
    let small_image = png(999, 8);
    let small = stored_zip(&[("x.png", &small_image), ("metadata.ndjson", &small_records)]);

    let first = upload(&app, &cookie, "?async_job=1", large).await;
    assert_eq!(first.status(), 202);
    let job: Value = first.json().await.unwrap();
    let busy = upload(&app, &cookie, "?async_job=true", small.clone()).await;
    assert_envelope(busy, 429, "rate_limited", "A gallery import job is already queued or running.").await;
    let id = job["job_id"].as_str().unwrap();
    for _ in 0..1000 {
        let status: Value =
            app.get_with_cookie(&format!("/api/gallery/import-jobs/{id}"), &cookie).await.json().await.unwrap();
        if status["status"] == "success" {
            break;
        }
        assert_ne!(status["status"], "error", "{status}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(gallery_items(&app, &cookie).await.len(), 100, "the first page of the imported images");

    // Two uploads still in flight from this client: a third is refused until one ends.
    let (held_a, body_a) = stalled_upload(&app, &cookie);
    let (held_b, body_b) = stalled_upload(&app, &cookie);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = upload(&app, &cookie, "", small.clone()).await;
    assert_envelope(
        refused,
        429,
        "rate_limited",
        "Too many import uploads from this IP (at most 2 a minute; setting IMPORT_UPLOADS_PER_IP_PER_MINUTE)",
    )
    .await;
    drop((body_a, body_b));
    let _ = held_a.await;
    let _ = held_b.await;
    let allowed = upload(&app, &cookie, "", small).await;
    assert_eq!(allowed.status(), 200);
}

/// An upload whose body never finishes while the returned sender lives.
fn stalled_upload(
    app: &TestApp,
    cookie: &str,
) -> (tokio::task::JoinHandle<()>, tokio::sync::mpsc::Sender<Result<Vec<u8>, std::io::Error>>) {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    let request = app
        .same_origin(Method::POST, "/api/import")
        .header("cookie", cookie)
        .header("content-type", "multipart/form-data; boundary=XyZ")
        .body(reqwest::Body::wrap_stream(stream));
    let start = tx.clone();
    let handle = tokio::spawn(async move {
        let _ = start
            .send(Ok(
                b"--XyZ\r\nContent-Disposition: form-data; name=\"archive\"; filename=\"a.zip\"\r\n\r\nPK".to_vec()
            ))
            .await;
        drop(start);
        let _ = request.send().await;
    });
    (handle, tx)
}

async fn all_ids(app: &TestApp, cookie: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for page in 1.. {
        let listing: Value =
            app.get_with_cookie(&format!("/api/gallery?page_size=100&page={page}"), cookie).await.json().await.unwrap();
        let images = listing["images"].as_array().unwrap();
        ids.extend(images.iter().map(|i| i["id"].as_str().unwrap().to_string()));
        if page >= listing["total_pages"].as_u64().unwrap() {
            break;
        }
    }
    ids
}

#[tokio::test]
async fn two_thousand_images_round_trip_with_the_documented_limits_raised() {
    // The defaults (500 files and entries) are for uploads from strangers; a whole library needs more.
    let app = spawn_app_with(&[("IMPORT_MAX_FILES", "2002"), ("IMPORT_MAX_ENTRIES", "2000")]).await;
    let cookie = app.unlock().await;
    for i in 0..2000u32 {
        let created = format!("2026-10-01T00:00:{:02}.{:06}Z", i / 1000, i % 1000);
        seed(&app, &format!("lib-{i}.png"), &png(i + 1, 4), &created, i % 7 == 0).await;
    }
    let before = all_ids(&app, &cookie).await;
    assert_eq!(before.len(), 2000);
    let archive = export_archive(&app, &cookie).await;
    assert_eq!(api(&app, &cookie, Method::DELETE, "/api/gallery", None).await.status(), 200);

    let result: Value = upload(&app, &cookie, "", archive).await.json().await.unwrap();
    assert_eq!((result["imported"].as_i64(), result["skipped"].as_i64()), (Some(2000), Some(0)), "{result}");
    assert_eq!(all_ids(&app, &cookie).await, before, "every id back, in the same order");
    let favorites: Value =
        app.get_with_cookie("/api/gallery?favorite=true&page_size=1", &cookie).await.json().await.unwrap();
    assert_eq!(favorites["total"], 286);
}

/// `MAX_IMAGE_PIXELS` (at once): raised at run time, an image over the start-time limit is imported
/// and gets its thumbnail (decoded from the file under the new limit).
#[tokio::test]
async fn a_raised_pixel_limit_applies_to_imports_and_their_thumbnails() {
    let app = spawn_app_with(&[("MAX_IMAGE_PIXELS", "100")]).await;
    let cookie = app.unlock().await;
    let saved =
        crate::overall_config::put(&app, &cookie, serde_json::json!([{"name": "MAX_IMAGE_PIXELS", "value": 10000}]))
            .await;
    assert_eq!(saved.status(), 200);
    let metadata = ndjson(&[serde_json::json!({"filename": "wide.png"})]);
    let archive = stored_zip(&[("images/wide.png", &png(7, 32)), ("metadata.ndjson", &metadata)]);
    let imported: Value = upload(&app, &cookie, "", archive).await.json().await.unwrap();
    assert_eq!(imported["imported"], 1, "32×32 is within the new limit: {imported}");
    let filename = gallery_items(&app, &cookie).await[0]["filename"].as_str().unwrap().to_string();
    assert!(thumbnail_made(&app, &cookie, &filename).await, "the thumbnail is decoded under the new limit");
}
