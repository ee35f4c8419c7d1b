use std::time::Duration;

use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::generate::{finished, generate, generation_app};
use crate::helpers::*;
use crate::support::images::{SVG, jpeg, noisy_png};

fn file(name: &str, bytes: Vec<u8>, content_type: &str) -> Part {
    Part::bytes(bytes).file_name(name.to_string()).mime_str(content_type).unwrap()
}

async fn post_form(app: &TestApp, cookie: &str, path: &str, form: Form) -> reqwest::Response {
    app.same_origin(Method::POST, path).header("cookie", cookie).multipart(form).send().await.unwrap()
}

fn staged_files(app: &TestApp) -> usize {
    std::fs::read_dir(app.data_dir().join("edit-sources")).map(|d| d.count()).unwrap_or(0)
}

async fn wait_released(app: &TestApp) {
    for _ in 0..500 {
        if staged_files(app) == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("staged sources were not released");
}

#[tokio::test]
async fn an_edit_with_one_upload_sends_image_and_every_field() {
    let (app, cookie, mock) = generation_app(&[]).await;
    let source = noisy_png(64, 48);
    let form = Form::new()
        .text("prompt", "make it blue")
        .text("size", "1024x1536")
        .text("quality", "high")
        .text("output_format", "webp")
        .text("output_compression", "80")
        .text("response_format", "b64_json")
        .text("unknown_field", "ignored")
        .part("image", file("cat.png", source.clone(), "image/png"));
    let response = post_form(&app, &cookie, "/api/edits", form).await;
    assert_eq!(response.status(), 202);
    let queued: Value = response.json().await.unwrap();
    let id = queued["job_id"].as_str().unwrap();
    assert_eq!(
        queued,
        json!({"job_id": id, "status": "queued", "message": "Queued image edit", "stage": "queued", "operation": "edit"})
    );
    let done = finished(&app, &cookie, id).await;
    assert_eq!(done["status"], "success", "{done}");
    assert_eq!(
        (done["operation"].clone(), done["api_path"].clone(), done["message"].clone()),
        (json!("edit"), json!("/v1/images/edits"), json!("Image edit completed"))
    );

    let sent = &mock.requests_to("/v1/images/edits")[0];
    let images = sent.parts_named("image");
    assert_eq!(images.len(), 1);
    assert!(sent.parts_named("image[]").is_empty());
    assert_eq!(
        (images[0].file_name.as_deref(), images[0].content_type.as_deref()),
        (Some("cat.png"), Some("image/png"))
    );
    assert_eq!(images[0].bytes, source);
    let fields: Vec<(String, String)> =
        sent.parts.iter().filter(|p| p.file_name.is_none()).map(|p| (p.name.clone(), p.text())).collect();
    let expected = [
        ("model", "gpt-image-2"),
        ("prompt", "make it blue"),
        ("size", "1024x1536"),
        ("n", "1"),
        ("quality", "high"),
        ("output_format", "webp"),
        ("response_format", "b64_json"),
        ("output_compression", "80"),
    ];
    assert_eq!(
        fields,
        expected.map(|(k, v)| (k.to_string(), v.to_string())).to_vec(),
        "fields in contract order, after the file"
    );
    assert_eq!(sent.parts[0].name, "image", "files come first");
    wait_released(&app).await;
    assert_eq!(panel_actors::store::jobs::pending_source_bytes(&app.state.db).await.unwrap(), 0);
}

#[tokio::test]
async fn several_uploads_and_gallery_sources_go_as_image_array() {
    let (app, cookie, mock) = generation_app(&[]).await;
    let form = Form::new()
        .text("prompt", "merge")
        .part("image[]", file("a.png", noisy_png(20, 20), "image/png"))
        .part("image[]", file("b.jpg", jpeg(16, 16), "image/jpeg"));
    let queued: Value = post_form(&app, &cookie, "/api/edits", form).await.json().await.unwrap();
    let done = finished(&app, &cookie, queued["job_id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "success");
    let sent = &mock.requests_to("/v1/images/edits")[0];
    let names: Vec<_> = sent
        .parts_named("image[]")
        .iter()
        .map(|p| (p.file_name.clone().unwrap(), p.content_type.clone().unwrap()))
        .collect();
    assert_eq!(names, vec![("a.png".to_string(), "image/png".to_string()), ("b.jpg".into(), "image/jpeg".into())]);
    assert!(sent.parts_named("image").is_empty());

    // Repeated `image` parts (what the document describes) come first, then any `image[]` parts.
    let form = Form::new()
        .text("prompt", "mixed")
        .part("image[]", file("c.png", noisy_png(12, 12), "image/png"))
        .part("image", file("d.png", noisy_png(12, 12), "image/png"))
        .part("image", file("e.png", noisy_png(12, 12), "image/png"));
    let queued: Value = post_form(&app, &cookie, "/api/edits", form).await.json().await.unwrap();
    assert_eq!(finished(&app, &cookie, queued["job_id"].as_str().unwrap()).await["status"], "success");
    let sent = &mock.requests_to("/v1/images/edits")[1];
    let names: Vec<_> = sent.parts_named("image[]").iter().map(|p| p.file_name.clone().unwrap()).collect();
    assert_eq!(names, ["d.png", "e.png", "c.png"]);

    // From the gallery: the gallery image goes first, then the upload.
    let image_id = done["image_id"].as_str().unwrap();
    let filename = done["images"][0]["filename"].as_str().unwrap().to_string();
    let form = Form::new().text("prompt", "again").part("image", file("extra.png", noisy_png(8, 8), "image/png"));
    let queued: Value =
        post_form(&app, &cookie, &format!("/api/edits/from-gallery/{image_id}"), form).await.json().await.unwrap();
    assert_eq!(finished(&app, &cookie, queued["job_id"].as_str().unwrap()).await["status"], "success");
    let sent = &mock.requests_to("/v1/images/edits")[2];
    let names: Vec<_> = sent.parts_named("image[]").iter().map(|p| p.file_name.clone().unwrap()).collect();
    assert_eq!(names, vec![filename.clone(), "extra.png".to_string()]);
    let missing = post_form(&app, &cookie, "/api/edits/from-gallery/nope", Form::new().text("prompt", "x")).await;
    assert_envelope(missing, 404, "not_found", "Gallery entry not found").await;

    // Plain form fields (`curl -d`, HTML forms, `requests` `data=`): the gallery image is the source.
    let urlencoded = |path: String, body: &'static str| {
        app.same_origin(reqwest::Method::POST, &path)
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    };
    let queued = urlencoded(format!("/api/edits/from-gallery/{image_id}"), "prompt=plain+fields&n=1&quality=low")
        .send()
        .await
        .unwrap();
    assert_eq!(queued.status(), 202);
    let queued: Value = queued.json().await.unwrap();
    assert_eq!(finished(&app, &cookie, queued["job_id"].as_str().unwrap()).await["status"], "success");
    let sent = &mock.requests_to("/v1/images/edits")[3];
    assert_eq!(sent.parts_named("prompt")[0].text(), "plain fields");
    assert_eq!(sent.parts_named("quality")[0].text(), "low");
    let sources = sent.parts_named("image").into_iter().chain(sent.parts_named("image[]"));
    let names: Vec<_> = sources.map(|p| p.file_name.clone().unwrap()).collect();
    assert_eq!(names, vec![filename.clone()]);
    let missing = urlencoded("/api/edits/from-gallery/nope".into(), "prompt=x").send().await.unwrap();
    assert_envelope(missing, 404, "not_found", "Gallery entry not found").await;
    let invalid = urlencoded(format!("/api/edits/from-gallery/{image_id}"), "prompt=x&n=11").send().await.unwrap();
    assert_eq!(invalid.status(), 422);
    let plain_text = app
        .same_origin(reqwest::Method::POST, &format!("/api/edits/from-gallery/{image_id}"))
        .header("cookie", &cookie)
        .header("content-type", "text/plain")
        .body("prompt=x")
        .send()
        .await
        .unwrap();
    assert_eq!(plain_text.status(), 415);
    wait_released(&app).await;
}

#[tokio::test]
async fn bad_uploads_are_refused_and_leave_nothing_behind() {
    let (app, cookie, _mock) = generation_app(&[("MAX_FILE_SIZE_MB", "1"), ("MAX_IMAGE_PIXELS", "5000")]).await;
    let png = noisy_png(40, 30);
    let mut truncated = png.clone();
    truncated.truncate(png.len() / 2);
    let cases: Vec<(Form, u16, &str)> = vec![
        (
            Form::new().text("prompt", "p").part("image", file("x.svg", SVG.to_vec(), "image/svg+xml")),
            400,
            "Upload must be an image file.",
        ),
        (
            Form::new().text("prompt", "p").part("image", file("x.png", SVG.to_vec(), "image/png")),
            400,
            "Image data must be a supported raster image format",
        ),
        (
            Form::new().text("prompt", "p").part("image", file("x.png", truncated, "image/png")),
            400,
            "Image data must be a fully decodable supported raster image",
        ),
        (
            Form::new().text("prompt", "p").part("image", file("big.png", noisy_png(100, 100), "image/png")),
            400,
            "Image data must be a fully decodable supported raster image",
        ),
        (
            Form::new().text("prompt", "p").part("image", file("x.png", noisy_png(700, 600), "image/png")),
            400,
            "Uploaded image is too large. Max size is 1 MB.",
        ),
        (
            Form::new().text("prompt", "p").part("image", file("x.png", Vec::new(), "image/png")),
            400,
            "Uploaded image is empty.",
        ),
        (
            Form::new().text("prompt", "p").part("image", file("x.jpg", png.clone(), "image/jpeg")),
            400,
            "Image file extension does not match image data",
        ),
        (
            Form::new().text("prompt", "p").part("image", file("x.png", png.clone(), "image/gif")),
            400,
            "Image content type does not match image data",
        ),
        (
            Form::new().text("prompt", "p").part("image", file("x.txt", png.clone(), "text/plain")),
            400,
            "Upload must be an image file.",
        ),
        (Form::new().text("prompt", "p"), 422, "Upload image is required."),
        (Form::new().part("image", file("x.png", png.clone(), "image/png")), 422, "prompt - Field required"),
        (
            Form::new()
                .text("prompt", "p")
                .text("size", "1000x1000")
                .part("image", file("x.png", png.clone(), "image/png")),
            422,
            "size - size width and height must be multiples of 16",
        ),
        (
            Form::new().text("prompt", "p").text("n", "two").part("image", file("x.png", png.clone(), "image/png")),
            422,
            "n - Input should be a valid integer, unable to parse string as an integer",
        ),
    ];
    for (form, status, detail) in cases {
        let code = if status == 400 { "bad_request" } else { "validation_error" };
        assert_envelope(post_form(&app, &cookie, "/api/edits", form).await, status, code, detail).await;
        assert_eq!(staged_files(&app), 0, "{detail}: nothing staged remains");
    }
    let mut many = Form::new().text("prompt", "p");
    for i in 0..17 {
        many = many.part("image[]", file(&format!("{i}.png"), noisy_png(4, 4), "image/png"));
    }
    assert_envelope(
        post_form(&app, &cookie, "/api/edits", many).await,
        400,
        "bad_request",
        "At most 16 edit source images are supported.",
    )
    .await;
    assert_eq!(staged_files(&app), 0);
    let jobs: Value =
        app.get_with_cookie("/api/generate/jobs?include_finished=true", &cookie).await.json().await.unwrap();
    assert_eq!(jobs, json!([]), "no job was created");
}

#[tokio::test]
async fn the_edit_source_byte_cap_and_unsupported_edits() {
    let (app, cookie, mock) = generation_app(&[("MAX_PENDING_EDIT_SOURCE_MB", "1")]).await;
    let big = noisy_png(420, 420);
    assert!(big.len() > 512 * 1024, "{}", big.len());
    let form = Form::new()
        .text("prompt", "p")
        .part("image[]", file("a.png", big.clone(), "image/png"))
        .part("image[]", file("b.png", big, "image/png"));
    let response = post_form(&app, &cookie, "/api/edits", form).await;
    assert_eq!(response.headers()["retry-after"], "5");
    assert_envelope(response, 429, "rate_limited", "Edit source queue is full").await;
    assert_eq!(staged_files(&app), 0);

    mock.fail_with(404, "Unknown endpoint");
    let form = Form::new().text("prompt", "p").part("image", file("a.png", noisy_png(8, 8), "image/png"));
    let queued: Value = post_form(&app, &cookie, "/api/edits", form).await.json().await.unwrap();
    let done = finished(&app, &cookie, queued["job_id"].as_str().unwrap()).await;
    assert_eq!((done["status"].clone(), done["stage"].clone()), (json!("upstream_error"), json!("edit_failed")));
    assert_eq!(done["error"], "Upstream API does not support /v1/images/edits (404): Unknown endpoint");
}

#[tokio::test]
async fn bad_upstream_images_fail_the_job_and_store_nothing() {
    let (app, cookie, mock) = generation_app(&[("MAX_FILE_SIZE_MB", "1"), ("MAX_IMAGE_PIXELS", "5000")]).await;
    let png = noisy_png(40, 30);
    let mut truncated = png.clone();
    truncated.truncate(png.len() / 2);
    let cases: Vec<(Vec<u8>, &str, &str, &str)> = vec![
        (SVG.to_vec(), "b64_json", "error", "Image data must be a supported raster image format"),
        (truncated, "b64_json", "error", "Image data must be a fully decodable supported raster image"),
        (noisy_png(100, 100), "b64_json", "error", "Image too large: 10000 pixels (max 5000)"),
        (noisy_png(700, 600), "b64_json", "upstream_error", "Image too large: base64 payload is"),
        (b"<html>not an image</html>".to_vec(), "url", "error", "Image data must be a supported raster image format"),
        (noisy_png(700, 600), "url", "upstream_error", "Image too large: "),
    ];
    for (bytes, format, status, message) in cases {
        mock.set_image(bytes);
        let queued: Value =
            generate(&app, &cookie, json!({"prompt": "bad", "response_format": format})).await.json().await.unwrap();
        let done = finished(&app, &cookie, queued["job_id"].as_str().unwrap()).await;
        assert_eq!(done["status"], status, "{message}: {done}");
        assert!(done["error"].as_str().unwrap().starts_with(message), "{message}: {}", done["error"]);
    }
    // A malformed reply is the upstream's fault.
    mock.fail_with_text(200, "{\"data\": [truncated");
    let queued: Value = generate(&app, &cookie, json!({"prompt": "malformed"})).await.json().await.unwrap();
    let done = finished(&app, &cookie, queued["job_id"].as_str().unwrap()).await;
    assert_eq!(
        (done["status"].clone(), done["error"].clone()),
        (json!("upstream_error"), json!("Upstream returned non-JSON (200): {\"data\": [truncated"))
    );
    mock.succeed();
    // An image URL must be HTTPS.
    mock.set_chat_mode(crate::support::mock_upstream::ChatMode::Text(format!(
        "![x]({}/files/generated.png)",
        mock.base_url
    )));
    let queued: Value = generate(&app, &cookie, json!({"prompt": "http", "api_path": "/v1/chat/completions"}))
        .await
        .json()
        .await
        .unwrap();
    let done = finished(&app, &cookie, queued["job_id"].as_str().unwrap()).await;
    assert_eq!(
        (done["status"].clone(), done["error"].clone()),
        (json!("error"), json!("Only HTTPS URLs are allowed for image URLs"))
    );
    let stored = std::fs::read_dir(app.dir.path().join("images"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_file())
        .count();
    assert_eq!(stored, 0, "no image file was kept");
}

/// Encodes a PNG as HEIC or AVIF with Debian's `heif-enc`.
fn heif(png: &[u8], avif: bool) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.png");
    let output = dir.path().join(if avif { "out.avif" } else { "out.heic" });
    std::fs::write(&input, png).unwrap();
    let mut command = std::process::Command::new("heif-enc");
    if avif {
        command.arg("-A");
    }
    let status = command
        .arg("-o")
        .arg(&output)
        .arg(&input)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("heif-enc is installed");
    assert!(status.success());
    std::fs::read(output).unwrap()
}

#[tokio::test]
async fn heic_and_avif_uploads_are_converted_to_png() {
    let (app, cookie, mock) = generation_app(&[]).await;
    let source = noisy_png(64, 64);
    let form = Form::new()
        .text("prompt", "from a phone")
        .part("image[]", file("photo.heic", heif(&source, false), "image/heic"))
        .part("image[]", file("photo2.avif", heif(&source, true), "image/avif"));
    let response = post_form(&app, &cookie, "/api/edits", form).await;
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    let jobs: Value =
        app.get_with_cookie("/api/generate/jobs?include_finished=true", &cookie).await.json().await.unwrap();
    let done = finished(&app, &cookie, jobs[0]["job_id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "success", "{done}");
    let sent = &mock.requests_to("/v1/images/edits")[0];
    let parts = sent.parts_named("image[]");
    let names: Vec<_> = parts.iter().map(|p| (p.file_name.clone().unwrap(), p.content_type.clone().unwrap())).collect();
    assert_eq!(
        names,
        vec![("photo.png".to_string(), "image/png".to_string()), ("photo2.png".into(), "image/png".into())]
    );
    for part in parts {
        let decoded = image::load_from_memory_with_format(&part.bytes, image::ImageFormat::Png).expect("a real PNG");
        assert_eq!((decoded.width(), decoded.height()), (64, 64));
    }
    // A file that only claims to be HEIC is refused.
    let fake = Form::new()
        .text("prompt", "p")
        .part("image", file("x.heic", b"\0\0\0\x18ftypheic\0\0\0\0garbage".to_vec(), "image/heic"));
    assert_envelope(
        post_form(&app, &cookie, "/api/edits", fake).await,
        400,
        "bad_request",
        "Image data must be a fully decodable supported raster image",
    )
    .await;
    assert_eq!(staged_files(&app), 0);
}
