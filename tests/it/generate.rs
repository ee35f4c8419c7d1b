use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::settings_api::api;
use crate::support::mock_upstream::{ChatMode, MockUpstream};

pub async fn generation_app(extra: &[(&str, &str)]) -> (TestApp, String, MockUpstream) {
    let mock = MockUpstream::start().await;
    let mut settings = vec![("UPSTREAM_ALLOW_PRIVATE_NETWORK", "true"), ("UPSTREAM_KEY", "sk-upstream-test")];
    if !extra.iter().any(|(name, _)| *name == "SSL_CERT_FILE") {
        settings.push(("SSL_CERT_FILE", mock.ca_file.as_str()));
    }
    settings.extend_from_slice(extra);
    let app = spawn_app_with(&settings).await;
    let cookie = app.unlock().await;
    let saved = api(
        &app,
        &cookie,
        Method::POST,
        "/api/settings",
        Some(json!({"api_url": format!("{}/v1", mock.base_url), "api_key": "${UPSTREAM_KEY}", "preset_name": "Mock"})),
    )
    .await;
    assert_eq!(saved.status(), 200);
    (app, cookie, mock)
}

pub async fn generate(app: &TestApp, cookie: &str, body: Value) -> reqwest::Response {
    api(app, cookie, Method::POST, "/api/generate", Some(body)).await
}

pub async fn start(app: &TestApp, cookie: &str, body: Value) -> String {
    let response = generate(app, cookie, body).await;
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 202, "{text}");
    let queued: Value = serde_json::from_str(&text).unwrap();
    queued["job_id"].as_str().unwrap().to_string()
}

pub async fn job(app: &TestApp, cookie: &str, id: &str) -> Value {
    app.get_with_cookie(&format!("/api/generate/{id}"), cookie).await.json().await.unwrap()
}

/// Polls until the job ends (bounded), returning its final state.
pub async fn finished(app: &TestApp, cookie: &str, id: &str) -> Value {
    for _ in 0..1500 {
        let state = job(app, cookie, id).await;
        if !["queued", "running"].contains(&state["status"].as_str().unwrap()) {
            return state;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("job {id} did not finish");
}

#[tokio::test]
async fn a_generation_runs_through_the_upstream_into_the_gallery() {
    let (app, cookie, mock) = generation_app(&[]).await;
    let response = generate(&app, &cookie, json!({"prompt": "a red fox"})).await;
    assert_eq!(response.status(), 202);
    let queued: Value = response.json().await.unwrap();
    let id = queued["job_id"].as_str().unwrap();
    assert_eq!(
        queued,
        json!({"job_id": id, "status": "queued", "message": "Queued image generation", "stage": "queued", "operation": "generation"})
    );

    let done = finished(&app, &cookie, id).await;
    assert_eq!(done["status"], "success", "{done}");
    assert_eq!(
        (done["stage"].clone(), done["message"].clone()),
        (json!("completed"), json!("Image generation completed"))
    );
    let image = &done["images"][0];
    let image_id = image["image_id"].as_str().unwrap();
    assert_eq!(image["image_url"], format!("/api/image/{image_id}.png"));
    assert_eq!((image["image_width"].clone(), image["image_height"].clone()), (json!(1), json!(1)));
    assert_eq!(done["image_id"], image_id);
    assert_eq!(done["id"], image_id);
    assert_eq!(
        (done["n"].clone(), done["success_count"].clone(), done["completed_count"].clone()),
        (json!(1), json!(1), json!(1))
    );
    assert_eq!(
        (done["model"].clone(), done["api_preset_name"].clone(), done["response_format"].clone()),
        (json!("gpt-image-2"), json!("Mock"), json!("url"))
    );
    assert!(done["completed_at"].as_str().unwrap().ends_with("+08:00"), "{}", done["completed_at"]);
    assert!(done["created_at"].as_str().unwrap().ends_with("+00:00"));
    assert!(done["duration"].as_str().unwrap().ends_with('s'));
    for key in ["upstream_wait", "download_decode", "validate", "db_insert"] {
        assert!(done["stage_timings"][key].is_number(), "{key} in {}", done["stage_timings"]);
    }
    assert!(done.get("webhook_url").is_none());

    let sent = &mock.requests_to("/v1/images/generations")[0];
    assert_eq!(sent.header("authorization"), Some("Bearer sk-upstream-test"));
    assert_eq!(sent.header("user-agent"), Some("opencode"));
    assert_eq!(
        serde_json::to_string(sent.json.as_ref().unwrap()).unwrap(),
        r#"{"model":"gpt-image-2","prompt":"a red fox","size":"auto","n":1,"quality":"auto","output_format":"png","response_format":"url"}"#
    );
    assert_eq!(mock.requests_to("/files/generated.png").len(), 0, "downloads are not recorded as API calls");
    let file = app.dir.path().join("images").join(format!("{image_id}.png"));
    assert_eq!(std::fs::read(file).unwrap(), crate::support::fixtures::png_1x1());
    let row = panel_actors::store::gallery::get(&app.state.db, image_id).await.unwrap().unwrap();
    assert_eq!(
        (row.prompt.as_str(), row.size.as_str(), row.output_format.as_deref()),
        ("a red fox", "auto", Some("png"))
    );
    assert_eq!(row.bytes, Some(crate::support::fixtures::png_1x1().len() as i64));
    assert_eq!(row.sha256.as_ref().map(String::len), Some(64));
}

#[tokio::test]
async fn every_protocol_yields_an_image() {
    let (app, cookie, mock) = generation_app(&[]).await;
    let cases = [
        (
            json!({"prompt": "b64", "response_format": "b64_json", "output_format": "webp", "output_compression": 70}),
            ChatMode::DataUrl,
            "/v1/images/generations",
        ),
        (json!({"prompt": "responses", "api_path": "/v1/responses"}), ChatMode::DataUrl, "/v1/responses"),
        (
            json!({"prompt": "chat data url", "api_path": "/v1/chat/completions"}),
            ChatMode::DataUrl,
            "/v1/chat/completions",
        ),
        (
            json!({"prompt": "chat markdown", "api_path": "/v1/chat/completions"}),
            ChatMode::MarkdownLink,
            "/v1/chat/completions",
        ),
        (
            json!({"prompt": "chat bare url", "api_path": "/v1/chat/completions"}),
            ChatMode::BareUrl,
            "/v1/chat/completions",
        ),
        (json!({"prompt": "chat sse", "api_path": "/v1/chat/completions"}), ChatMode::Sse, "/v1/chat/completions"),
    ];
    for (body, mode, path) in cases {
        mock.set_chat_mode(mode);
        let prompt = body["prompt"].clone();
        let id = start(&app, &cookie, body).await;
        let done = finished(&app, &cookie, &id).await;
        assert_eq!(done["status"], "success", "{prompt}: {done}");
        assert_eq!(done["api_path"], path);
        let sent = mock
            .requests_to(path)
            .into_iter()
            .find(|r| r.json.as_ref().is_some_and(|j| j.to_string().contains(prompt.as_str().unwrap())))
            .unwrap();
        match path {
            "/v1/responses" => assert_eq!(sent.json.unwrap(), json!({"prompt": "responses", "model": "gpt-image-2"})),
            "/v1/chat/completions" => assert_eq!(sent.json.unwrap()["messages"][0]["content"], prompt),
            _ => assert_eq!(
                serde_json::to_string(sent.json.as_ref().unwrap()).unwrap(),
                r#"{"model":"gpt-image-2","prompt":"b64","size":"auto","n":1,"quality":"auto","output_format":"webp","response_format":"b64_json","output_compression":70}"#
            ),
        }
    }
}

#[tokio::test]
async fn several_images_fan_out_and_report_partial_failure() {
    let (app, cookie, mock) = generation_app(&[]).await;
    mock.fail_next(1, 500, "temporarily overloaded");
    let id = start(&app, &cookie, json!({"prompt": "three foxes", "n": 3, "response_format": "b64_json"})).await;
    let done = finished(&app, &cookie, &id).await;
    assert_eq!(done["status"], "partial_failure", "{done}");
    assert_eq!(done["stage"], "completed_with_failures");
    assert_eq!(done["message"], "Generated 2 of 3 requested images; 1 failed");
    let error = done["error"].as_str().unwrap();
    assert!(
        error.starts_with("1 of 3 image generation requests failed: #")
            && error.contains("Upstream API error (500): temporarily overloaded"),
        "{error}"
    );
    assert_eq!(done["images"].as_array().unwrap().len(), 2);
    assert_eq!(
        (done["success_count"].clone(), done["failure_count"].clone(), done["completed_count"].clone()),
        (json!(2), json!(1), json!(3))
    );
    assert_eq!(mock.requests_to("/v1/images/generations").len(), 3, "one upstream call per image");
    assert!(mock.requests_to("/v1/images/generations").iter().all(|r| r.json.as_ref().unwrap()["n"] == 1));

    mock.fail_with(401, "Incorrect API key provided");
    let id = start(&app, &cookie, json!({"prompt": "denied", "n": 2})).await;
    let done = finished(&app, &cookie, &id).await;
    assert_eq!(done["status"], "upstream_error");
    assert_eq!(done["stage"], "generation_failed");
    assert!(done["error"].as_str().unwrap().starts_with(
        "2 of 2 image generation requests failed: #1: Upstream API error (401): Incorrect API key provided"
    ));
    assert_eq!(done["stage_timings"], json!({}));
}

#[tokio::test]
async fn bad_requests_and_missing_configuration_are_refused() {
    let (app, cookie, _mock) = generation_app(&[]).await;
    let cases = [
        (json!({"prompt": ""}), "prompt - String should have at least 1 character"),
        (json!({"prompt": "p", "size": "1000x1000"}), "size - size width and height must be multiples of 16"),
        (
            json!({"prompt": "p", "size": "1024x0"}),
            "size - size width and height must be positive, with max side <= 3840",
        ),
        (json!({"prompt": "p", "size": "+1024x1024"}), "size - size must be 'auto' or formatted as WIDTHxHEIGHT"),
        (json!({"prompt": "p", "n": 11}), "n - Input should be less than or equal to 10"),
        (json!({"prompt": "p", "quality": "ultra"}), "quality - Input should be 'auto', 'low', 'medium' or 'high'"),
        (json!({"prompt": "p", "output_format": "jpg"}), "output_format - Input should be 'png', 'jpeg' or 'webp'"),
        (json!({"prompt": "p", "response_format": ""}), "response_format - Input should be 'url' or 'b64_json'"),
        (json!({"prompt": "p", "preset_id": "x"}), "preset_id - Extra inputs are not permitted"),
        (
            json!({"prompt": "p", "webhook_url": "http://hooks.example.com"}),
            "webhook_url - Webhook URL must use https://",
        ),
        (
            json!({"prompt": "p", "webhook_url": "https://127.0.0.1/x"}),
            "Webhook hostname '127.0.0.1' resolves to private/internal IP(s): '127.0.0.1'",
        ),
    ];
    for (body, detail) in cases {
        let response = generate(&app, &cookie, body).await;
        if detail.starts_with("Webhook hostname") {
            // Private networks are allowed in this app, so the webhook reaches the signing-secret rule.
            assert_envelope(response, 422, "validation_error", "WEBHOOK_SIGNING_SECRET must contain at least 32 bytes")
                .await;
        } else {
            assert_envelope(response, 422, "validation_error", detail).await;
        }
    }

    let fresh = spawn_app().await;
    let cookie = fresh.unlock().await;
    assert_envelope(
        generate(&fresh, &cookie, json!({"prompt": "p"})).await,
        400,
        "bad_request",
        "API URL not configured. Please set it in Settings.",
    )
    .await;
    api(
        &fresh,
        &cookie,
        Method::POST,
        "/api/settings",
        Some(json!({"api_url": "https://api.example.com", "api_key": "${UNSET_KEY_FOR_JOBS}"})),
    )
    .await;
    assert_envelope(
        generate(&fresh, &cookie, json!({"prompt": "p"})).await,
        422,
        "validation_error",
        "API Key environment variable UNSET_KEY_FOR_JOBS is not set or empty. Set it in the server environment.",
    )
    .await;
    api(
        &fresh,
        &cookie,
        Method::POST,
        "/api/settings",
        Some(json!({"api_url": "https://api.example.com", "api_key": ""})),
    )
    .await;
    assert_envelope(
        generate(&fresh, &cookie, json!({"prompt": "p"})).await,
        422,
        "validation_error",
        "API credential is not configured",
    )
    .await;
}

#[tokio::test]
async fn a_full_queue_is_429_and_cancel_aborts_without_saving_images() {
    let (app, cookie, mock) =
        generation_app(&[("MAX_ACTIVE_GENERATE_JOBS", "1"), ("MAX_QUEUED_GENERATE_JOBS", "1")]).await;
    mock.set_delay(Duration::from_secs(30));
    let id = start(&app, &cookie, json!({"prompt": "slow", "n": 2, "response_format": "b64_json"})).await;
    let full = generate(&app, &cookie, json!({"prompt": "one more"})).await;
    assert_eq!(full.headers()["retry-after"], "5");
    assert_envelope(full, 429, "rate_limited", "Generation job queue is full").await;

    // Wait until the first unit is really waiting on the upstream, then cancel.
    for _ in 0..500 {
        if !mock.requests_to("/v1/images/generations").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(job(&app, &cookie, &id).await["status"], "running");
    let cancelled = api(&app, &cookie, Method::DELETE, &format!("/api/generate/{id}"), None).await;
    assert_eq!(
        cancelled.json::<Value>().await.unwrap(),
        json!({"status": "success", "message": "Generation job cancelled"})
    );
    let state = job(&app, &cookie, &id).await;
    assert_eq!(
        (state["status"].clone(), state["stage"].clone(), state["error"].clone()),
        (json!("cancelled"), json!("cancelled"), json!("Generation job cancelled"))
    );
    assert_envelope(
        api(&app, &cookie, Method::DELETE, &format!("/api/generate/{id}"), None).await,
        409,
        "conflict",
        "Generation job already finished",
    )
    .await;
    assert_envelope(
        api(&app, &cookie, Method::DELETE, "/api/generate/nope", None).await,
        404,
        "not_found",
        "Generation job not found",
    )
    .await;

    // Capacity is free again, and the aborted call never produced an image.
    mock.set_delay(Duration::ZERO);
    let next = start(&app, &cookie, json!({"prompt": "after cancel", "response_format": "b64_json"})).await;
    assert_eq!(finished(&app, &cookie, &next).await["status"], "success");
    let files = std::fs::read_dir(app.dir.path().join("images"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_file())
        .count();
    assert_eq!(files, 1, "only the later job's image exists");
    assert_eq!(mock.requests_to("/v1/images/generations").len(), 2, "the cancelled job's queued unit never ran");
}

#[tokio::test]
async fn history_lists_pages_and_clears() {
    let (app, cookie, mock) = generation_app(&[]).await;
    let mut ids = Vec::new();
    for prompt in ["one", "two", "three"] {
        let id = start(&app, &cookie, json!({"prompt": prompt, "response_format": "b64_json"})).await;
        finished(&app, &cookie, &id).await;
        ids.push(id);
    }
    mock.fail_with(400, "bad prompt");
    let failed = start(&app, &cookie, json!({"prompt": "four"})).await;
    finished(&app, &cookie, &failed).await;

    let active: Value = app.get_with_cookie("/api/generate/jobs", &cookie).await.json().await.unwrap();
    assert_eq!(active, json!([]));
    let all: Value =
        app.get_with_cookie("/api/generate/jobs?include_finished=true", &cookie).await.json().await.unwrap();
    let order: Vec<&str> = all.as_array().unwrap().iter().map(|j| j["prompt"].as_str().unwrap()).collect();
    assert_eq!(order, ["four", "three", "two", "one"]);
    let page: Value =
        app.get_with_cookie("/api/generate/jobs?include_finished=true&limit=2", &cookie).await.json().await.unwrap();
    let last = &page[1];
    let cursor = format!(
        "/api/generate/jobs?include_finished=true&limit=2&before_updated_at={}&before_job_id={}",
        last["updated_at"].as_str().unwrap().replace('+', "%2B"),
        last["job_id"].as_str().unwrap()
    );
    let next: Value = app.get_with_cookie(&cursor, &cookie).await.json().await.unwrap();
    let order: Vec<&str> = next.as_array().unwrap().iter().map(|j| j["prompt"].as_str().unwrap()).collect();
    assert_eq!(order, ["two", "one"]);
    let offset: Value =
        app.get_with_cookie("/api/generate/jobs?include_finished=yes&offset=3", &cookie).await.json().await.unwrap();
    assert_eq!(offset[0]["prompt"], "one");
    let errors: Value = app
        .get_with_cookie("/api/generate/jobs?include_finished=true&failed_only=1", &cookie)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(errors.as_array().unwrap().iter().map(|j| j["job_id"].clone()).collect::<Vec<_>>(), vec![json!(failed)]);
    assert_envelope(
        app.get_with_cookie("/api/generate/jobs?limit=501", &cookie).await,
        422,
        "validation_error",
        "limit - Input should be less than or equal to 500",
    )
    .await;
    assert_envelope(
        app.get_with_cookie("/api/generate/jobs?include_finished=maybe", &cookie).await,
        422,
        "validation_error",
        "include_finished - Input should be a valid boolean, unable to interpret input",
    )
    .await;

    let cleared = api(&app, &cookie, Method::DELETE, "/api/generate/jobs/history", None).await;
    assert_eq!(
        cleared.json::<Value>().await.unwrap(),
        json!({"status": "success", "message": "Deleted 4 job history entries"})
    );
    assert_envelope(
        app.get_with_cookie(&format!("/api/generate/{}", ids[0]), &cookie).await,
        404,
        "not_found",
        "Generation job not found",
    )
    .await;
    assert!(panel_actors::store::gallery::get(&app.state.db, "x").await.unwrap().is_none());
}

#[tokio::test]
async fn jobs_left_active_by_a_previous_run_are_interrupted() {
    let (app, cookie, mock) = generation_app(&[]).await;
    mock.set_delay(Duration::from_secs(30));
    let id = start(&app, &cookie, json!({"prompt": "in flight", "n": 2})).await;
    let dir = app.dir.clone();
    app.stop().await;
    let app = spawn_app_in(dir, &[("UPSTREAM_ALLOW_PRIVATE_NETWORK", "true")]).await;
    let cookie = app.unlock().await;
    let state = job(&app, &cookie, &id).await;
    assert_eq!(
        (state["status"].clone(), state["stage"].clone(), state["message"].clone()),
        (json!("interrupted"), json!("interrupted"), json!("Job interrupted by server restart"))
    );
    assert!(state["completed_at"].is_string());
}

#[tokio::test]
async fn private_upstreams_are_refused_when_the_unit_runs() {
    let (app, cookie, mock) = generation_app(&[]).await;
    let dir = app.dir.clone();
    app.stop().await;
    let app = spawn_app_in(dir, &[("UPSTREAM_KEY", "sk-upstream-test")]).await;
    let cookie2 = app.unlock().await;
    let _ = cookie;
    // The saved preset still points at the loopback mock, now forbidden; plain http is refused too.
    let response = generate(&app, &cookie2, json!({"prompt": "p"})).await;
    assert_envelope(response, 400, "bad_request", "API URL must use https://").await;
    api(&app, &cookie2, Method::POST, "/api/settings", Some(json!({"api_url": format!("https://127.0.0.1:{}", mock.base_url.rsplit(':').next().unwrap()), "api_key": "${UPSTREAM_KEY}"}))).await;
    let id = start(&app, &cookie2, json!({"prompt": "p"})).await;
    let done = finished(&app, &cookie2, &id).await;
    assert_eq!(done["status"], "error");
    assert!(
        done["error"].as_str().unwrap().starts_with("Hostname '127.0.0.1' resolves to private/internal IP(s)"),
        "{done}"
    );
    assert!(mock.requests().is_empty(), "nothing reached the private address");
}

#[tokio::test]
async fn a_queued_job_is_cancelled_before_it_reaches_the_upstream() {
    let (app, cookie, mock) = generation_app(&[("MAX_ACTIVE_GENERATE_JOBS", "1")]).await;
    mock.set_delay(Duration::from_millis(500));
    let first = start(&app, &cookie, json!({"prompt": "first", "response_format": "b64_json"})).await;
    let second = start(&app, &cookie, json!({"prompt": "second", "response_format": "b64_json"})).await;
    assert_eq!(job(&app, &cookie, &second).await["status"], "queued");
    let cancelled = api(&app, &cookie, Method::DELETE, &format!("/api/generate/{second}"), None).await;
    assert_eq!(cancelled.status(), 200);
    assert_eq!(finished(&app, &cookie, &first).await["status"], "success");
    let state = job(&app, &cookie, &second).await;
    assert_eq!((state["status"].clone(), state["completed_count"].clone()), (json!("cancelled"), json!(0)));
    let prompts: Vec<String> = mock
        .requests_to("/v1/images/generations")
        .iter()
        .map(|r| r.json.as_ref().unwrap()["prompt"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(prompts, ["first"], "the cancelled job never reached the upstream");
}

/// Many writers at once (admissions, their progress, snippet saves) all land: write transactions take
/// SQLite's lock at BEGIN, so none fails with "database is locked" under contention.
#[tokio::test]
async fn concurrent_submissions_and_saves_all_succeed() {
    let (app, cookie, _mock) = generation_app(&[("MAX_QUEUED_GENERATE_JOBS", "200")]).await;
    let submissions = (0..40).map(|i| generate(&app, &cookie, json!({"prompt": format!("crowd {i}"), "n": 2})));
    let saves = (0..20).map(|i| {
        api(
            &app,
            &cookie,
            Method::POST,
            "/api/prompt-snippets",
            Some(json!({"title": format!("Busy {i}"), "prompt": format!("busy snippet {i}")})),
        )
    });
    let (submitted, saved) =
        tokio::join!(futures_util::future::join_all(submissions), futures_util::future::join_all(saves));
    let mut ids = Vec::new();
    for response in submitted {
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 202, "{body}");
        ids.push(body["job_id"].as_str().unwrap().to_string());
    }
    for response in saved {
        let status = response.status();
        assert!(status.is_success(), "{status}: {}", response.text().await.unwrap());
    }
    for id in ids {
        assert_eq!(finished(&app, &cookie, &id).await["status"], "success", "job {id}");
    }
}
