use std::time::Duration;

use serde_json::{Value, json};

use crate::generate::{finished, generate, generation_app};
use crate::helpers::*;
use crate::settings_api::api;
use crate::support::images::noisy_png;

/// A finished generated image: (app, cookie, filename, bytes on disk).
async fn one_image(extra: &[(&str, &str)]) -> (TestApp, String, String, Vec<u8>) {
    let (app, cookie, mock) = generation_app(extra).await;
    mock.set_image(noisy_png(600, 400));
    let queued: Value =
        generate(&app, &cookie, json!({"prompt": "media", "response_format": "b64_json"})).await.json().await.unwrap();
    let done = finished(&app, &cookie, queued["job_id"].as_str().unwrap()).await;
    let filename = done["images"][0]["filename"].as_str().unwrap().to_string();
    let bytes = std::fs::read(app.dir.path().join("images").join(&filename)).unwrap();
    (app, cookie, filename, bytes)
}

async fn get(app: &TestApp, cookie: &str, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = app.request(reqwest::Method::GET, path).header("cookie", cookie);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn images_stream_with_validators_and_ranges() {
    let (app, cookie, filename, bytes) = one_image(&[]).await;
    let response = get(&app, &cookie, &format!("/api/image/{filename}"), &[]).await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["cache-control"], "private, max-age=31536000, immutable");
    assert_eq!(headers["vary"], "Cookie");
    assert_eq!(headers["accept-ranges"], "bytes");
    assert!(headers.get("content-disposition").is_none());
    assert_eq!(response.bytes().await.unwrap().to_vec(), bytes);
    let etag = headers["etag"].to_str().unwrap().to_string();
    let cached = get(&app, &cookie, &format!("/api/image/{filename}"), &[("if-none-match", &etag)]).await;
    assert_eq!(cached.status(), 304);
    let partial = get(&app, &cookie, &format!("/api/image/{filename}"), &[("range", "bytes=0-7")]).await;
    assert_eq!(partial.status(), 206);
    assert_eq!(partial.headers()["content-range"], format!("bytes 0-7/{}", bytes.len()));
    assert_eq!(partial.bytes().await.unwrap().to_vec(), bytes[..8].to_vec());

    let download = get(&app, &cookie, &format!("/api/download/{filename}"), &[]).await;
    let disposition = download.headers()["content-disposition"].to_str().unwrap().to_string();
    assert!(
        disposition.starts_with("attachment; filename=\"gpt-image-") && disposition.ends_with(".png\""),
        "{disposition}"
    );
    assert_eq!(download.bytes().await.unwrap().to_vec(), bytes);
}

#[tokio::test]
async fn media_routes_refuse_anything_but_gallery_files() {
    let (app, cookie, filename, _) = one_image(&[]).await;
    let images = app.dir.path().join("images");
    std::fs::write(images.join("orphan.png"), noisy_png(4, 4)).unwrap();
    std::fs::write(app.dir.path().join("secret.png"), b"secret").unwrap();
    std::os::unix::fs::symlink(app.dir.path().join("secret.png"), images.join("link.png")).unwrap();
    for route in ["image", "thumb", "download"] {
        for name in [
            "orphan.png",
            "..",
            "%2e%2e",
            "%2e%2e%2fsecret.png",
            "..%2Fsecret.png",
            "..%5Csecret.png",
            "%00.png",
            "%2Fetc%2Fpasswd",
            "link.png",
            "missing.png",
            "Cargo.toml",
        ] {
            let response = get(&app, &cookie, &format!("/api/{route}/{name}"), &[]).await;
            assert_eq!(response.status(), 404, "/api/{route}/{name}");
            assert!(!response.text().await.unwrap().contains("secret"), "/api/{route}/{name}");
        }
    }
    // The gallery's own file is still served.
    assert_eq!(get(&app, &cookie, &format!("/api/image/{filename}"), &[]).await.status(), 200);
}

#[tokio::test]
async fn nginx_serves_the_bytes_when_accel_redirect_is_on() {
    let (app, cookie, filename, _) = one_image(&[("ENABLE_NGINX_ACCEL_REDIRECT", "true")]).await;
    let response = get(&app, &cookie, &format!("/api/image/{filename}"), &[]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-accel-redirect"], format!("/_protected/images/{filename}"));
    assert_eq!(response.headers()["content-type"], "image/png");
    assert!(response.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn thumbnails_are_made_as_small_webp_and_urls_can_point_elsewhere() {
    let (app, cookie, filename, _) =
        one_image(&[("THUMBNAIL_MAX_SIDE", "128"), ("PUBLIC_IMAGE_BASE_URL", "https://cdn.example.com/i/")]).await;
    let mut entry = Value::Null;
    for _ in 0..500 {
        let page: Value = app.get_with_cookie("/api/gallery", &cookie).await.json().await.unwrap();
        entry = page["images"][0].clone();
        if entry["thumbnail_status"] == "ready" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(entry["thumbnail_status"], "ready", "{entry}");
    assert_eq!(entry["image_url"], format!("https://cdn.example.com/i/{filename}"));
    assert_eq!(entry["thumbnail_url"], format!("/api/thumb/{filename}"));
    let thumb = get(&app, &cookie, &format!("/api/thumb/{filename}"), &[]).await;
    assert_eq!(thumb.status(), 200);
    assert_eq!(thumb.headers()["content-type"], "image/webp");
    let bytes = thumb.bytes().await.unwrap();
    let decoded = image::load_from_memory_with_format(&bytes, image::ImageFormat::WebP).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (128, 85), "aspect kept, long side 128");

    // A missing thumbnail is queued by a request and made again.
    std::fs::remove_file(app.dir.path().join("images/thumbs").join(entry["thumbnail_filename"].as_str().unwrap()))
        .unwrap();
    let id = entry["id"].as_str().unwrap().to_string();
    let states = thumbnail_states(&app, &cookie, json!({"ids": [" nope ", &id]})).await;
    assert_eq!(states.len(), 1, "unknown ids are left out: {states:?}");
    assert_eq!(
        (states[0]["id"].as_str(), states[0]["thumbnail_status"].as_str()),
        (Some(id.as_str()), Some("missing"))
    );
    let missing = get(&app, &cookie, &format!("/api/thumb/{filename}"), &[]).await;
    assert_eq!(missing.headers()["cache-control"], "private, no-store");
    assert_envelope(missing, 404, "not_found", "Thumbnail not found").await;
    let mut status = String::new();
    for _ in 0..500 {
        let page: Value = app.get_with_cookie("/api/gallery", &cookie).await.json().await.unwrap();
        status = page["images"][0]["thumbnail_status"].as_str().unwrap().to_string();
        if status == "ready" {
            break;
        }
        assert_eq!(status, "queued", "between the request and the new thumbnail the status is queued");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(status, "ready");
    let states = thumbnail_states(&app, &cookie, json!({"ids": [&id]})).await;
    assert_eq!(states[0]["thumbnail_status"], "ready");
    assert_eq!(states[0]["thumbnail_url"], format!("/api/thumb/{filename}"));
    let twice =
        api(&app, &cookie, reqwest::Method::POST, "/api/gallery/thumbnails/status", Some(json!({"ids": [&id, &id]})));
    assert_envelope(twice.await, 422, "validation_error", "ids - ids must not contain duplicates").await;
    let ids: Vec<String> = (0..101).map(|i| format!("id{i}")).collect();
    let many = api(&app, &cookie, reqwest::Method::POST, "/api/gallery/thumbnails/status", Some(json!({"ids": ids})));
    assert_eq!(many.await.status(), 422);
}

async fn thumbnail_states(app: &TestApp, cookie: &str, body: Value) -> Vec<Value> {
    let response = api(app, cookie, reqwest::Method::POST, "/api/gallery/thumbnails/status", Some(body)).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}
