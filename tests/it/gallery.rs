use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::settings_api::api;
use panel_actors::store::gallery::{self, GalleryRow};

/// Inserts a gallery row (and its file unless `with_file` is false), oldest first.
async fn seed(
    app: &TestApp,
    prompt: &str,
    model: &str,
    preset: &str,
    size: &str,
    created: &str,
    favorite: bool,
) -> GalleryRow {
    let id = uuid::Uuid::new_v4().to_string();
    let filename = format!("{id}.png");
    let bytes = crate::support::fixtures::png_1x1();
    std::fs::write(app.dir.path().join("images").join(&filename), &bytes).unwrap();
    let row = GalleryRow {
        id,
        sort_seq: 0,
        prompt: prompt.into(),
        size: size.into(),
        filename,
        thumbnail_filename: None,
        image_width: Some(1),
        image_height: Some(1),
        model: Some(model.into()),
        quality: Some("auto".into()),
        output_format: Some("png".into()),
        output_compression: None,
        response_format: Some("b64_json".into()),
        n: Some(1),
        api_path: Some("/v1/images/generations".into()),
        api_preset_name: Some(preset.into()),
        duration_seconds: Some(1.5),
        favorite,
        bytes: Some(bytes.len() as i64),
        sha256: Some("0".repeat(64)),
        job_id: None,
        created_at: created.into(),
        completed_at: Some(created.into()),
    };
    gallery::insert(&app.state.db, row).await.unwrap()
}

async fn seeded() -> (TestApp, String, Vec<GalleryRow>) {
    let app = spawn_app().await;
    let cookie = app.unlock().await;
    let rows = vec![
        seed(&app, "a red fox at dawn", "gpt-image-2", "Default", "1024x1024", "2026-11-01T08:00:00.000000Z", false)
            .await,
        seed(&app, "雪地里的小熊猫", "gpt-image-2", "Alt", "1536x1024", "2026-11-02T08:00:00.000000Z", true).await,
        seed(
            &app,
            "Panda \"quoted\" AND * NEAR(x) 100%_done",
            "dall-e-3",
            "Default",
            "1024x1024",
            "2026-11-03T08:00:00.000000Z",
            false,
        )
        .await,
        seed(&app, "an owl, watercolor", "dall-e-3", "Alt", "auto", "2026-11-04T23:30:00.000000Z", true).await,
        seed(&app, "al", "gpt-image-2", "Default", "auto", "2026-11-05T08:00:00.000000Z", false).await,
    ];
    (app, cookie, rows)
}

async fn list(app: &TestApp, cookie: &str, query: &str) -> Value {
    let response = app.get_with_cookie(&format!("/api/gallery?{query}"), cookie).await;
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{query}: {text}");
    serde_json::from_str(&text).unwrap()
}

fn prompts(page: &Value) -> Vec<String> {
    page["images"].as_array().unwrap().iter().map(|i| i["prompt"].as_str().unwrap().to_string()).collect()
}

fn q(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

#[tokio::test]
async fn the_gallery_lists_newest_first_with_every_field() {
    let (app, cookie, rows) = seeded().await;
    let response = app.get_with_cookie("/api/gallery?include_total_bytes=true", &cookie).await;
    let text = response.text().await.unwrap();
    let keys = [
        "total",
        "total_bytes",
        "page",
        "page_size",
        "total_pages",
        "has_prev",
        "has_next",
        "next_cursor",
        "prev_cursor",
        "images",
        "filter_options",
    ];
    let positions: Vec<usize> = keys.iter().map(|k| text.find(&format!("\"{k}\"")).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
    let page: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (page["total"].clone(), page["page"].clone(), page["page_size"].clone(), page["total_pages"].clone()),
        (json!(5), json!(1), json!(9), json!(1))
    );
    assert_eq!(page["total_bytes"], json!(5 * crate::support::fixtures::png_1x1().len()));
    assert_eq!(prompts(&page)[0], "al", "newest first");
    let first = &page["images"][4];
    let id = rows[0].id.as_str();
    assert_eq!(first["id"], id);
    assert_eq!(first["image_url"], format!("/api/image/{id}.png"));
    assert_eq!(first["thumbnail_url"], format!("/api/thumb/{id}.png"));
    assert_eq!(first["thumbnail_status"], "missing");
    assert_eq!(first["completed_at"], "2026-11-01T16:00:00.000000+08:00", "Beijing time");
    assert_eq!(first["created_at"], "2026-11-01T08:00:00.000000+00:00");
    assert_eq!(
        (first["duration"].clone(), first["favorite"].clone(), first["bytes"].clone()),
        (json!("1.50s"), json!(false), json!(crate::support::fixtures::png_1x1().len()))
    );
    assert!(first.get("sha256").is_none());
    assert_eq!(
        page["filter_options"],
        json!({"models": ["dall-e-3", "gpt-image-2"], "presets": ["Alt", "Default"], "sizes": ["1024x1024", "1536x1024", "auto"]})
    );
}

#[tokio::test]
async fn every_filter_works_alone_and_combined() {
    let (app, cookie, _) = seeded().await;
    let cases = [
        ("model=dall-e-3", vec!["an owl, watercolor", "Panda \"quoted\" AND * NEAR(x) 100%_done"]),
        ("preset=Alt", vec!["an owl, watercolor", "雪地里的小熊猫"]),
        ("size=1024x1024", vec!["Panda \"quoted\" AND * NEAR(x) 100%_done", "a red fox at dawn"]),
        ("favorite=true", vec!["an owl, watercolor", "雪地里的小熊猫"]),
        ("favorite=0", vec!["al", "Panda \"quoted\" AND * NEAR(x) 100%_done", "a red fox at dawn"]),
        ("date_from=2026-11-04", vec!["al", "an owl, watercolor"]),
        ("date_to=2026-11-02", vec!["雪地里的小熊猫", "a red fox at dawn"]),
        (
            "date_from=2026-11-02&date_to=2026-11-04",
            vec!["an owl, watercolor", "Panda \"quoted\" AND * NEAR(x) 100%_done", "雪地里的小熊猫"],
        ),
        (
            "date_to=2026-11-04T23:00:00Z",
            vec!["Panda \"quoted\" AND * NEAR(x) 100%_done", "雪地里的小熊猫", "a red fox at dawn"],
        ),
        ("date_from=2026-11-05T09:00:00%2B02:00", vec!["al"]),
        ("model=dall-e-3&preset=Alt&favorite=true", vec!["an owl, watercolor"]),
        ("model=gpt-image-2&size=auto&date_from=2026-11-05", vec!["al"]),
    ];
    for (query, expected) in cases {
        let page = list(&app, &cookie, query).await;
        assert_eq!(prompts(&page), expected, "{query}");
        assert_eq!(page["total"], json!(expected.len()), "{query}");
    }
}

#[tokio::test]
async fn prompt_search_finds_english_chinese_and_literal_punctuation() {
    let (app, cookie, _) = seeded().await;
    let cases = [
        ("FOX", vec!["a red fox at dawn"]),
        ("red fox", vec!["a red fox at dawn"]),
        ("小熊猫", vec!["雪地里的小熊猫"]),
        ("雪地", vec!["雪地里的小熊猫"]),
        ("al", vec!["al"]),
        ("\"quoted\"", vec!["Panda \"quoted\" AND * NEAR(x) 100%_done"]),
        ("AND *", vec!["Panda \"quoted\" AND * NEAR(x) 100%_done"]),
        ("NEAR(x)", vec!["Panda \"quoted\" AND * NEAR(x) 100%_done"]),
        ("100%_", vec!["Panda \"quoted\" AND * NEAR(x) 100%_done"]),
        ("%", vec!["Panda \"quoted\" AND * NEAR(x) 100%_done"]),
        ("_", vec!["Panda \"quoted\" AND * NEAR(x) 100%_done"]),
        ("zebra", vec![]),
    ];
    for (prompt, expected) in cases {
        let page = list(&app, &cookie, &format!("prompt={}", q(prompt))).await;
        assert_eq!(prompts(&page), expected, "{prompt}");
    }
    for nasty in [
        "\"",
        "\"\"\"",
        "*",
        "(",
        ")",
        "NOT",
        "-",
        "^",
        ":",
        "'",
        "\\",
        "OR OR",
        "a\"b",
        "\u{0}x",
        "\u{9e}\u{0}\u{c}\u{94}",
        "pa\u{0}nda",
    ] {
        let response = app.get_with_cookie(&format!("/api/gallery?prompt={}", q(nasty)), &cookie).await;
        assert_eq!(response.status(), 200, "{nasty:?}");
    }
    // A NUL is no part of a search: "pa\0nda" finds what "panda" finds.
    let with_nul = list(&app, &cookie, &format!("prompt={}", q("pa\u{0}nda"))).await;
    assert_eq!(prompts(&with_nul), prompts(&list(&app, &cookie, "prompt=panda").await));
    let searched: Value =
        api(&app, &cookie, Method::POST, "/api/gallery/search", Some(json!({"prompt": "owl", "page_size": 5})))
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(prompts(&searched), ["an owl, watercolor"]);
}

#[tokio::test]
async fn pages_and_cursors_agree() {
    let (app, cookie, _) = seeded().await;
    let all = prompts(&list(&app, &cookie, "page_size=100").await);
    let mut by_pages = Vec::new();
    for page in 1..=3 {
        let result = list(&app, &cookie, &format!("page={page}&page_size=2")).await;
        assert_eq!((result["has_prev"].clone(), result["has_next"].clone()), (json!(page > 1), json!(page < 3)));
        by_pages.extend(prompts(&result));
    }
    assert_eq!(by_pages, all);
    let clamped = list(&app, &cookie, "page=999&page_size=2").await;
    assert_eq!(
        (clamped["page"].clone(), clamped["has_next"].clone(), clamped["has_prev"].clone()),
        (json!(3), json!(false), json!(true))
    );

    let mut by_cursor = Vec::new();
    let mut page = list(&app, &cookie, "page_size=2").await;
    let mut cursors = Vec::new();
    loop {
        by_cursor.extend(prompts(&page));
        let Some(next) = page["next_cursor"].as_str().map(str::to_string) else { break };
        cursors.push(next.clone());
        page = list(&app, &cookie, &format!("page_size=2&cursor={next}")).await;
    }
    assert_eq!(by_cursor, all);
    let back =
        list(&app, &cookie, &format!("page_size=2&direction=prev&cursor={}", page["prev_cursor"].as_str().unwrap()))
            .await;
    assert_eq!(prompts(&back), all[2..4].to_vec());
    assert_eq!((back["has_prev"].clone(), back["has_next"].clone()), (json!(true), json!(true)));

    let uncounted = list(&app, &cookie, "page_size=2&include_counts=false&include_filter_options=false").await;
    assert_eq!(
        (uncounted["total"].clone(), uncounted["total_pages"].clone(), uncounted["has_next"].clone()),
        (json!(0), json!(2), json!(true))
    );
    assert_eq!(uncounted["filter_options"], json!({"models": [], "presets": [], "sizes": []}));
    assert_eq!(uncounted["total_bytes"], 0);

    assert_envelope(
        app.get_with_cookie("/api/gallery?cursor=not-a-cursor", &cookie).await,
        400,
        "bad_request",
        "Invalid gallery cursor",
    )
    .await;
    assert_envelope(
        app.get_with_cookie("/api/gallery?direction=sideways", &cookie).await,
        400,
        "bad_request",
        "Invalid gallery cursor direction",
    )
    .await;
    assert_envelope(
        app.get_with_cookie("/api/gallery?page_size=101", &cookie).await,
        422,
        "validation_error",
        "query.page_size - Input should be less than or equal to 100",
    )
    .await;
    assert_envelope(
        app.get_with_cookie("/api/gallery?favorite=maybe", &cookie).await,
        422,
        "validation_error",
        "query.favorite - Input should be a valid boolean, unable to interpret input",
    )
    .await;
    assert_envelope(
        app.get_with_cookie("/api/gallery?date_from=yesterday", &cookie).await,
        422,
        "validation_error",
        "Gallery date filters must use YYYY-MM-DD or ISO datetime",
    )
    .await;
    // A page far past the end is empty, whatever its number.
    let far = list(&app, &cookie, "page=9223372036854775807&page_size=38&include_counts=false").await;
    assert_eq!(far["images"].as_array().map(Vec::len), Some(0), "{far}");
}

#[tokio::test]
async fn entries_are_read_favorited_and_deleted_with_their_files() {
    let (app, cookie, rows) = seeded().await;
    let id = rows[0].id.clone();
    let entry: Value = app.get_with_cookie(&format!("/api/gallery/{id}"), &cookie).await.json().await.unwrap();
    assert_eq!(entry["prompt"], "a red fox at dawn");
    let starred: Value =
        api(&app, &cookie, Method::PATCH, &format!("/api/gallery/{id}/favorite"), Some(json!({"favorite": true})))
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(starred["favorite"], true);
    assert_eq!(list(&app, &cookie, "favorite=true").await["total"], 3);
    let bad =
        api(&app, &cookie, Method::PATCH, &format!("/api/gallery/{id}/favorite"), Some(json!({"favorite": "sure"})))
            .await;
    assert_envelope(bad, 422, "validation_error", "favorite - Input should be a valid boolean").await;

    let file = app.dir.path().join("images").join(&rows[0].filename);
    assert!(file.exists());
    assert_eq!(
        list(&app, &cookie, "include_total_bytes=true").await["total"],
        5,
        "counted (and remembered) before the delete"
    );
    let deleted: Value =
        api(&app, &cookie, Method::DELETE, &format!("/api/gallery/{id}"), None).await.json().await.unwrap();
    assert_eq!(deleted, json!({"status": "ok", "message": "Deleted gallery entry and 1 image file(s)"}));
    assert!(!file.exists());
    for (method, path) in [(Method::GET, format!("/api/gallery/{id}")), (Method::DELETE, format!("/api/gallery/{id}"))]
    {
        assert_envelope(api(&app, &cookie, method, &path, None).await, 404, "not_found", "Gallery entry not found")
            .await;
    }
    let patch =
        api(&app, &cookie, Method::PATCH, &format!("/api/gallery/{id}/favorite"), Some(json!({"favorite": false})))
            .await;
    assert_envelope(patch, 404, "not_found", "Gallery entry not found").await;
    let after = list(&app, &cookie, "include_total_bytes=true").await;
    assert_eq!(
        (after["total"].clone(), after["total_bytes"].clone()),
        (json!(4), json!(4 * crate::support::fixtures::png_1x1().len()))
    );

    let cleared: Value = api(&app, &cookie, Method::DELETE, "/api/gallery", None).await.json().await.unwrap();
    assert_eq!(cleared, json!({"status": "ok", "message": "Deleted 4 image file(s) and 4 gallery entries"}));
    let empty = list(&app, &cookie, "include_total_bytes=true").await;
    assert_eq!(
        (empty["total"].clone(), empty["total_bytes"].clone(), empty["images"].clone()),
        (json!(0), json!(0), json!([]))
    );
    let images = std::fs::read_dir(app.dir.path().join("images"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_file())
        .count();
    assert_eq!(images, 0);
}

#[tokio::test]
async fn batch_actions_report_partial_success() {
    let (app, cookie, rows) = seeded().await;
    let ids = vec![rows[0].id.clone(), "missing-id".to_string(), rows[2].id.clone()];
    for _ in 0..2 {
        let starred: Value = api(
            &app,
            &cookie,
            Method::PATCH,
            "/api/gallery/batch/favorite",
            Some(json!({"ids": ids, "favorite": true})),
        )
        .await
        .json()
        .await
        .unwrap();
        assert_eq!(
            starred,
            json!({"status": "ok", "count": 2, "file_count": 0, "requested_count": 3, "updated_count": 2, "missing_count": 1, "missing_ids": ["missing-id"]})
        );
    }
    assert_eq!(list(&app, &cookie, "favorite=true").await["total"], 4);
    let none = api(
        &app,
        &cookie,
        Method::PATCH,
        "/api/gallery/batch/favorite",
        Some(json!({"ids": ["nope"], "favorite": true})),
    )
    .await;
    assert_envelope(none, 404, "not_found", "Gallery entries not found").await;
    for (body, detail) in [
        (json!({"ids": ["a", "a"], "favorite": true}), "ids - ids must not contain duplicates"),
        (json!({"ids": [" "], "favorite": true}), "ids - ids must include at least one gallery entry id"),
        (json!({"ids": ["a"]}), "favorite - Field required"),
    ] {
        assert_envelope(
            api(&app, &cookie, Method::PATCH, "/api/gallery/batch/favorite", Some(body)).await,
            422,
            "validation_error",
            detail,
        )
        .await;
    }

    let deleted: Value = api(
        &app,
        &cookie,
        Method::POST,
        "/api/gallery/batch/delete",
        Some(json!({"ids": [rows[1].id, "gone", rows[3].id]})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        deleted,
        json!({"status": "ok", "count": 2, "file_count": 2, "requested_count": 3, "updated_count": 2, "missing_count": 1, "missing_ids": ["gone"]})
    );
    assert!(!app.dir.path().join("images").join(&rows[1].filename).exists());
    assert_eq!(list(&app, &cookie, "").await["total"], 3);
}

#[tokio::test]
async fn startup_reconciles_rows_and_collects_orphan_files() {
    let (app, _cookie, rows) = seeded().await;
    let images = app.dir.path().join("images");
    std::fs::remove_file(images.join(&rows[0].filename)).unwrap();
    std::fs::write(images.join("orphan-old.png"), b"x").unwrap();
    std::fs::create_dir_all(images.join("thumbs")).unwrap();
    std::fs::write(images.join("thumbs/stray-000000000000.webp"), b"x").unwrap();
    let dir = app.dir.clone();
    app.stop().await;

    let app = spawn_app_in(dir.clone(), &[("GALLERY_ORPHAN_FILE_TTL_SECONDS", "0")]).await;
    let cookie = app.unlock().await;
    let page = list(&app, &cookie, "").await;
    assert_eq!(page["total"], 4, "the row whose file was gone is removed");
    assert!(!prompts(&page).contains(&rows[0].prompt));
    assert!(!images.join("orphan-old.png").exists(), "an unreferenced file is collected");
    assert!(!images.join("thumbs/stray-000000000000.webp").exists(), "a thumbnail of nothing is collected");
    assert!(images.join(&rows[1].filename).exists(), "referenced files stay");

    // Within the TTL a fresh unreferenced file is left alone (it may be about to get its row).
    std::fs::write(images.join("orphan-new.png"), b"x").unwrap();
    app.stop().await;
    let _app = spawn_app_in(dir, &[("GALLERY_ORPHAN_FILE_TTL_SECONDS", "300")]).await;
    assert!(images.join("orphan-new.png").exists());
}
