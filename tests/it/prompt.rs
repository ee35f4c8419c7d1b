use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::settings_api::api;
use crate::support::mock_upstream::{ChatMode, MockUpstream};

async fn configure(app: &TestApp, cookie: &str, optimizer: Value) {
    let response = api(
        app,
        cookie,
        Method::POST,
        "/api/settings",
        Some(json!({"api_url": "https://api.example.com", "prompt_optimizer": optimizer})),
    )
    .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

async fn optimize(app: &TestApp, cookie: &str, body: Value) -> reqwest::Response {
    api(app, cookie, Method::POST, "/api/prompt/optimize", Some(body)).await
}

async fn optimizer_app(extra: &[(&str, &str)]) -> (TestApp, String, MockUpstream) {
    let mock = MockUpstream::start().await;
    let mut settings = vec![("UPSTREAM_ALLOW_PRIVATE_NETWORK", "true"), ("OPT_KEY", "sk-optimizer-secret")];
    settings.extend_from_slice(extra);
    let app = spawn_app_with(&settings).await;
    let cookie = app.unlock().await;
    let url = format!("{}/v1/chat/completions", mock.base_url);
    configure(&app, &cookie, json!({"enabled": true, "api_url": url, "api_key": "${OPT_KEY}", "model": "gpt-4o-mini"}))
        .await;
    (app, cookie, mock)
}

#[tokio::test]
async fn the_optimizer_rewrites_a_prompt_through_chat_completions() {
    let (app, cookie, mock) = optimizer_app(&[]).await;
    mock.set_chat_mode(ChatMode::Text("```text\n\"A red fox at dawn, soft mist\"\n```".into()));
    let response =
        optimize(&app, &cookie, json!({"prompt": "  a fox  ", "size": "1024x1024", "quality": "high"})).await;
    let text = response.text().await.unwrap();
    assert!(text.starts_with("{\"optimized_prompt\":"), "{text}");
    let result: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(result["optimized_prompt"], "A red fox at dawn, soft mist");
    assert_eq!(result["model"], "gpt-4o-mini");
    assert!(result["duration_ms"].is_u64());

    let sent = &mock.requests_to("/chat/completions")[0];
    assert_eq!(sent.header("authorization"), Some("Bearer sk-optimizer-secret"));
    let body = sent.json.as_ref().unwrap();
    assert_eq!(
        (body["model"].clone(), body["temperature"].clone(), body["max_tokens"].clone(), body["stream"].clone()),
        (json!("gpt-4o-mini"), json!(0.4), json!(900), json!(false))
    );
    assert!(body["messages"][0]["content"].as_str().unwrap().starts_with("# Role"));
    let user = body["messages"][1]["content"].as_str().unwrap();
    assert_eq!(
        user,
        "Target language: en\nImage API path: unspecified\nImage model: unspecified\nSize: 1024x1024\nQuality: high\n\nUser image idea:\na fox"
    );

    optimize(&app, &cookie, json!({"prompt": "a fox", "intent": " make it night ", "target_language": "same"})).await;
    let user = mock.requests_to("/chat/completions")[1].json.as_ref().unwrap()["messages"][1]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(user.starts_with("Target language: same as user's input language\n"), "{user}");
    assert!(user.contains("Original prompt:\na fox\n\nModification intent:\nmake it night\n\n"), "{user}");
    assert!(user.ends_with("Return only the revised prompt."));
}

#[tokio::test]
async fn upstream_failures_map_to_502_and_504() {
    let (app, cookie, mock) = optimizer_app(&[("PROMPT_OPTIMIZER_MAX_RESPONSE_MB", "1")]).await;
    mock.fail_with(500, "overloaded");
    assert_envelope(
        optimize(&app, &cookie, json!({"prompt": "p"})).await,
        502,
        "upstream_error",
        "Optimizer upstream returned HTTP 500",
    )
    .await;
    mock.fail_with_text(200, "hello, not json");
    assert_envelope(
        optimize(&app, &cookie, json!({"prompt": "p"})).await,
        502,
        "upstream_error",
        "Optimizer returned non-JSON response",
    )
    .await;
    mock.fail_with(200, "no choices here");
    assert_envelope(
        optimize(&app, &cookie, json!({"prompt": "p"})).await,
        502,
        "upstream_error",
        "Optimizer response missing choices[0].message.content",
    )
    .await;
    mock.succeed();
    mock.set_chat_mode(ChatMode::Text("  ```\n```  ".into()));
    assert_envelope(
        optimize(&app, &cookie, json!({"prompt": "p"})).await,
        502,
        "upstream_error",
        "Optimizer returned empty content",
    )
    .await;
    mock.set_chat_mode(ChatMode::Text("x".repeat(1_200_000)));
    let response = optimize(&app, &cookie, json!({"prompt": "p"})).await;
    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.unwrap();
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("Prompt optimizer response too large: ") && detail.ends_with(" bytes (max 1048576)"),
        "{detail}"
    );

    mock.set_chat_mode(ChatMode::Text("fine".into()));
    configure(&app, &cookie, json!({"timeout_seconds": 1})).await;
    mock.set_delay(Duration::from_secs(5));
    assert_envelope(
        optimize(&app, &cookie, json!({"prompt": "p"})).await,
        504,
        "upstream_timeout",
        "Prompt optimizer request timed out",
    )
    .await;
}

#[tokio::test]
async fn configuration_problems_are_explained() {
    let app =
        spawn_app_with(&[("ALLOW_PLAINTEXT_SECRETS", "true"), ("PROMPT_OPTIMIZER_HOST_ALLOWLIST", "llm.example.com")])
            .await;
    let cookie = app.unlock().await;
    assert_envelope(
        optimize(&app, &cookie, json!({"prompt": "p"})).await,
        400,
        "bad_request",
        "Prompt optimizer is not enabled",
    )
    .await;
    configure(&app, &cookie, json!({"enabled": true})).await;
    assert_envelope(
        optimize(&app, &cookie, json!({"prompt": "p"})).await,
        400,
        "bad_request",
        "Prompt optimizer endpoint URL is not configured",
    )
    .await;
    configure(
        &app,
        &cookie,
        json!({"api_url": "https://other.example.com/v1/chat/completions", "api_key": "${MISSING_OPT_KEY}"}),
    )
    .await;
    assert_envelope(optimize(&app, &cookie, json!({"prompt": "p"})).await, 422, "validation_error",
        "Prompt optimizer API Key environment variable MISSING_OPT_KEY is not set or empty. Set it in the server environment.").await;
    configure(&app, &cookie, json!({"api_key": ""})).await;
    assert_envelope(
        optimize(&app, &cookie, json!({"prompt": "p"})).await,
        400,
        "bad_request",
        "Prompt optimizer API key is not configured",
    )
    .await;
    configure(&app, &cookie, json!({"api_key": "sk-literal-optimizer"})).await;
    assert_envelope(
        optimize(&app, &cookie, json!({"prompt": "p"})).await,
        400,
        "bad_request",
        "Hostname 'other.example.com' is not in the allowlist. Allowed: llm.example.com",
    )
    .await;

    let app = spawn_app_with(&[("ALLOW_PLAINTEXT_SECRETS", "true")]).await;
    let cookie = app.unlock().await;
    configure(&app, &cookie, json!({"enabled": true, "api_url": "https://127.0.0.1:9/v1/chat/completions", "api_key": "sk-literal-optimizer"})).await;
    assert_envelope(
        optimize(&app, &cookie, json!({"prompt": "p"})).await,
        400,
        "bad_request",
        "Hostname '127.0.0.1' resolves to private/internal IP(s): '127.0.0.1'",
    )
    .await;

    for (body, detail) in [
        (json!({"prompt": "   "}), "prompt - prompt must not be empty"),
        (json!({"prompt": ""}), "prompt - String should have at least 1 character"),
        (json!({"prompt": "p", "target_language": "fr"}), "target_language - Input should be 'en', 'zh-CN' or 'same'"),
        (json!({"prompt": "p", "quality": "ultra"}), "quality - Input should be 'auto', 'low', 'medium' or 'high'"),
    ] {
        assert_envelope(optimize(&app, &cookie, body).await, 422, "validation_error", detail).await;
    }
}

#[tokio::test]
async fn the_system_prompt_defaults_and_can_be_replaced() {
    let (app, cookie, mock) = optimizer_app(&[]).await;
    let default: Value =
        app.get_with_cookie("/api/prompt/optimizer-system-prompt", &cookie).await.json().await.unwrap();
    assert_eq!(default["customized"], false);
    assert_eq!(default["system_prompt"], default["default_system_prompt"]);
    assert!(default["system_prompt"].as_str().unwrap().starts_with("# Role"));

    let saved = api(
        &app,
        &cookie,
        Method::POST,
        "/api/prompt/optimizer-system-prompt",
        Some(json!({"system_prompt": "  Custom optimizer prompt\r\nSecond line\r\n"})),
    )
    .await;
    let saved: Value = saved.json().await.unwrap();
    assert_eq!(saved["system_prompt"], "Custom optimizer prompt\nSecond line");
    assert_eq!(saved["customized"], true);
    assert_eq!(saved["default_system_prompt"], default["default_system_prompt"]);
    let file = app.data_dir().join("prompt_optimizer_system_prompt.md");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "Custom optimizer prompt\nSecond line\n");
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);

    mock.set_chat_mode(ChatMode::Text("better".into()));
    optimize(&app, &cookie, json!({"prompt": "p"})).await;
    let system = mock.requests_to("/chat/completions")[0].json.as_ref().unwrap()["messages"][0]["content"].clone();
    assert_eq!(system, "Custom optimizer prompt\nSecond line");

    let blank =
        api(&app, &cookie, Method::POST, "/api/prompt/optimizer-system-prompt", Some(json!({"system_prompt": " \n "})))
            .await;
    assert_envelope(blank, 422, "validation_error", "system_prompt - system_prompt must not be empty").await;
    let long = api(
        &app,
        &cookie,
        Method::POST,
        "/api/prompt/optimizer-system-prompt",
        Some(json!({"system_prompt": "x".repeat(20_001)})),
    )
    .await;
    assert_envelope(long, 422, "validation_error", "system_prompt - String should have at most 20000 characters").await;
}

async fn optimizer_health(app: &TestApp, cookie: &str, body: Option<Value>) -> Value {
    let response = api(app, cookie, Method::POST, "/api/prompt/optimizer-health", body).await;
    assert_eq!(response.status(), 200, "the health check always answers 200");
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_optimizer_health_check_reports_configuration_and_upstream_answers() {
    let app = spawn_app().await;
    let cookie = app.unlock().await;
    let report = optimizer_health(&app, &cookie, None).await;
    assert_eq!(
        report,
        json!({"status": "error", "message": "Prompt optimizer endpoint URL is not configured",
               "model": "gpt-4o-mini", "duration_ms": 0, "status_code": 400})
    );

    let (app, cookie, mock) = optimizer_app(&[]).await;
    let report = optimizer_health(&app, &cookie, None).await;
    assert_eq!(report["status"], "ok", "{report}");
    assert_eq!(report["message"], "Prompt optimizer responded successfully with model gpt-4o-mini");
    assert_eq!(report["status_code"], 200);
    let probe = mock.requests_to("/chat/completions").pop().expect("the probe reached the optimizer");
    let body = probe.json.clone().unwrap();
    assert_eq!(body["messages"][1]["content"], "Connectivity test");
    assert_eq!((body["max_tokens"].clone(), body["temperature"].clone()), (json!(1), json!(0.0)));
    assert_eq!(probe.header("authorization"), None, "no key unless asked");

    optimizer_health(&app, &cookie, Some(json!({"use_credentials": true}))).await;
    let probe = mock.requests_to("/chat/completions").pop().unwrap();
    assert_eq!(probe.header("authorization"), Some("Bearer sk-optimizer-secret"));

    mock.fail_with(404, "no such route");
    let report = optimizer_health(&app, &cookie, None).await;
    assert_eq!((report["status"].clone(), report["status_code"].clone()), (json!("error"), json!(404)));
    mock.fail_with(503, "overloaded");
    let report = optimizer_health(&app, &cookie, None).await;
    assert_eq!((report["status"].clone(), report["status_code"].clone()), (json!("warning"), json!(503)));
    let refused = api(&app, &cookie, Method::POST, "/api/prompt/optimizer-health", Some(json!({"extra": 1}))).await;
    assert_eq!(refused.status(), 422, "unknown keys are refused");
}
