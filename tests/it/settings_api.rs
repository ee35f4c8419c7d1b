use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::support::mock_upstream::MockUpstream;

pub async fn api(app: &TestApp, cookie: &str, method: Method, path: &str, body: Option<Value>) -> reqwest::Response {
    let mut request = app.same_origin(method, path).header("cookie", cookie);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

async fn ok_json(response: reqwest::Response) -> Value {
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

async fn unlocked(settings: &[(&str, &str)]) -> (TestApp, String) {
    let app = spawn_app_with(settings).await;
    let cookie = app.unlock().await;
    (app, cookie)
}

#[tokio::test]
async fn settings_start_from_the_environment_defaults() {
    let (app, cookie) = unlocked(&[
        ("DEFAULT_API_URL", "https://api.example.com/v1/"),
        ("DEFAULT_API_KEY", "${TEST_DEFAULT_API_KEY}"),
        ("R2_ENDPOINT_URL", "https://acct.r2.cloudflarestorage.com"),
        ("R2_ACCESS_KEY_ID", "AKIA-from-env"),
    ])
    .await;
    let response = api(&app, &cookie, Method::GET, "/api/settings", None).await;
    let text = response.text().await.unwrap();
    let order = [
        "active_preset_id",
        "api_url",
        "api_key_masked",
        "has_api_key",
        "api_key_source",
        "api_key_env_var",
        "api_key_secret_id",
        "api_path",
        "default_model",
        "default_response_format",
        "has_upstream_socks5_proxy",
        "upstream_socks5_proxy_masked",
        "has_webhook_url",
        "webhook_url_masked",
        "presets",
        "prompt_optimizer",
        "r2_backup",
        "image_upload_limits",
    ];
    let positions: Vec<usize> = order.iter().map(|k| text.find(&format!("\"{k}\"")).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["active_preset_id"], "default");
    assert_eq!(body["api_url"], "https://api.example.com/v1");
    assert_eq!(body["api_key_masked"], "${TEST_DEFAULT_API_KEY}");
    assert_eq!((body["has_api_key"].clone(), body["api_key_source"].clone()), (json!(true), json!("env")));
    assert_eq!(body["api_key_env_var"], "TEST_DEFAULT_API_KEY");
    assert_eq!(body["api_key_secret_id"], Value::Null);
    assert_eq!(body["api_path"], "/v1/images/generations");
    assert_eq!(body["default_model"], "gpt-image-2");
    assert_eq!(body["default_response_format"], "url");
    assert_eq!(
        (body["has_upstream_socks5_proxy"].clone(), body["upstream_socks5_proxy_masked"].clone()),
        (json!(false), json!(""))
    );
    assert_eq!(body["presets"].as_array().unwrap().len(), 1);
    assert_eq!(body["presets"][0]["name"], "Default");
    let optimizer = &body["prompt_optimizer"];
    assert_eq!(
        (optimizer["enabled"].clone(), optimizer["model"].clone(), optimizer["timeout_seconds"].clone()),
        (json!(false), json!("gpt-4o-mini"), json!(60))
    );
    assert_eq!(optimizer["api_key_masked"], "***");
    let r2 = &body["r2_backup"];
    assert_eq!(r2["endpoint_url"], "https://acct.r2.cloudflarestorage.com");
    assert_eq!((r2["region"].clone(), r2["key_prefix"].clone()), (json!("auto"), json!("gallery/")));
    assert_eq!(r2["access_key_id_masked"], "${R2_ACCESS_KEY_ID}");
    assert_eq!(r2["has_secret_access_key"], false);
    assert_eq!(body["image_upload_limits"], json!({"max_file_size_bytes": 52428800, "max_image_pixels": 100000000}));
    assert!(!text.contains("AKIA-from-env"));
}

#[tokio::test]
async fn saving_updates_the_active_preset_and_round_trips() {
    let (app, cookie) = unlocked(&[]).await;
    let saved = ok_json(
        api(
            &app,
            &cookie,
            Method::POST,
            "/api/settings",
            Some(json!({
                "preset_name": "  Gateway  ", "api_url": "https://GW.example.com/openai/", "api_key": "${GW_KEY}",
                "api_path": "/v1/responses", "default_model": "  ", "default_response_format": "",
            })),
        )
        .await,
    )
    .await;
    assert_eq!(saved["api_url"], "https://gw.example.com/openai");
    assert_eq!(saved["api_path"], "/v1/responses");
    assert_eq!(saved["default_model"], "gpt-5.4", "blank model means the default for the path");
    assert_eq!(saved["default_response_format"], "");
    assert_eq!(saved["presets"][0]["name"], "Gateway");
    assert_eq!(saved["api_key_masked"], "${GW_KEY}");
    let read = ok_json(api(&app, &cookie, Method::GET, "/api/settings", None).await).await;
    assert_eq!(read, saved);

    // Omitting api_path resets it; null fields keep their values.
    let again = ok_json(
        api(
            &app,
            &cookie,
            Method::POST,
            "/api/settings",
            Some(json!({"api_url": "https://gw.example.com/openai", "api_key": null})),
        )
        .await,
    )
    .await;
    assert_eq!(again["api_path"], "/v1/images/generations");
    assert_eq!(again["api_key_masked"], "${GW_KEY}");
}

#[tokio::test]
async fn literal_secrets_need_plaintext_opt_in_and_are_only_shown_masked() {
    let (app, cookie) = unlocked(&[]).await;
    let before = ok_json(api(&app, &cookie, Method::GET, "/api/settings", None).await).await;
    let refused = api(
        &app,
        &cookie,
        Method::POST,
        "/api/settings",
        Some(json!({"api_url": "https://a.example.com", "api_key": "sk-live-abcdefghijkl"})),
    )
    .await;
    assert_envelope(
        refused,
        422,
        "validation_error",
        "api_key - API key must use ${ENV_VAR_NAME} unless ALLOW_PLAINTEXT_SECRETS=true.",
    )
    .await;
    let malformed = api(
        &app,
        &cookie,
        Method::POST,
        "/api/settings",
        Some(json!({"api_url": "https://a.example.com", "api_key": "${bad-name}"})),
    )
    .await;
    assert_envelope(
        malformed,
        422,
        "validation_error",
        "api_key - API key env ref must be formatted as ${ENV_VAR_NAME}.",
    )
    .await;
    assert_eq!(ok_json(api(&app, &cookie, Method::GET, "/api/settings", None).await).await, before, "nothing changed");

    let (app, cookie) = unlocked(&[
        ("ALLOW_PLAINTEXT_SECRETS", "true"),
        ("WEBHOOK_SIGNING_SECRET", "0123456789abcdef0123456789abcdef"),
    ])
    .await;
    let secrets = ["sk-live-abcdefghijkl", "s3cr3t-pass", "hooktoken123"];
    let saved = api(
        &app,
        &cookie,
        Method::POST,
        "/api/settings",
        Some(json!({
            "api_url": "https://a.example.com", "api_key": secrets[0],
            "upstream_socks5_proxy": format!("socks5h://alice:{}@proxy.example:1080", secrets[1]),
            "webhook_url": format!("https://hooks.example.com:8443/in?token={}", secrets[2]),
        })),
    )
    .await;
    let text = saved.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["api_key_masked"], "sk-l***ijkl");
    assert_eq!(body["api_key_source"], "stored");
    assert_eq!(body["upstream_socks5_proxy_masked"], "socks5h://alice:***@proxy.example:1080");
    assert_eq!(body["webhook_url_masked"], "https://hooks.example.com:8443/***?***");
    let read = api(&app, &cookie, Method::GET, "/api/settings", None).await.text().await.unwrap();
    for secret in secrets {
        assert!(!text.contains(secret) && !read.contains(secret), "{secret} leaked");
    }
    // Sending the masked values back keeps the stored secrets.
    let kept = ok_json(
        api(
            &app,
            &cookie,
            Method::POST,
            "/api/settings",
            Some(json!({
                "api_url": "https://a.example.com", "upstream_socks5_proxy": body["upstream_socks5_proxy_masked"],
                "webhook_url": body["webhook_url_masked"],
            })),
        )
        .await,
    )
    .await;
    assert_eq!(kept["upstream_socks5_proxy_masked"], body["upstream_socks5_proxy_masked"]);
    assert_eq!(kept["webhook_url_masked"], body["webhook_url_masked"]);
}

#[tokio::test]
async fn a_failing_part_leaves_everything_unchanged() {
    let (app, cookie) = unlocked(&[("ALLOW_PLAINTEXT_SECRETS", "true")]).await;
    let before = ok_json(api(&app, &cookie, Method::GET, "/api/settings", None).await).await;
    let cases = [
        (
            json!({"api_url": "https://b.example.com", "r2_backup": {"sync_interval_hours": -1}}),
            "r2_backup.sync_interval_hours - Input should be greater than or equal to 0",
        ),
        (
            json!({"api_url": "https://b.example.com", "r2_backup": {"sync_interval_hours": "6"}}),
            "r2_backup.sync_interval_hours - Input should be a valid integer",
        ),
        (
            json!({"api_url": "https://b.example.com", "webhook_url": "https://hooks.example.com/x"}),
            "Webhook signing secret must contain at least 32 bytes",
        ),
        (
            json!({"api_url": "https://b.example.com", "prompt_optimizer": {"timeout_seconds": 0}}),
            "prompt_optimizer.timeout_seconds - Input should be greater than or equal to 1",
        ),
        (json!({"api_url": "http://b.example.com"}), "api_url - API URL must use https://"),
        (
            json!({"api_url": "https://b.example.com", "upstream_socks5_proxy": "http://proxy:8080"}),
            "upstream_socks5_proxy - SOCKS5 proxy URL must use socks5://",
        ),
        (
            json!({"api_url": "https://b.example.com", "upstream_socks5_proxy": "socks5://proxy.example"}),
            "upstream_socks5_proxy - SOCKS5 proxy URL must include a port",
        ),
        (
            json!({"api_url": "https://b.example.com", "api_path": "/v1/other"}),
            "api_path - Input should be '/v1/images/generations', '/v1/responses' or '/v1/chat/completions'",
        ),
        (
            json!({"api_url": "https://b.example.com", "r2_backup": {"endpoint_url": "https://127.0.0.1"}}),
            "r2_backup.endpoint_url - R2 endpoint URL must use a hostname, not an IP address",
        ),
        (json!({"api_url": "https://b.example.com", "surprise": 1}), "surprise - Extra inputs are not permitted"),
        (json!({"api_url": "https://b.example.com", "active_preset_id": "nope"}), "Preset not found"),
    ];
    for (body, detail) in cases {
        let response = api(&app, &cookie, Method::POST, "/api/settings", Some(body)).await;
        let status = if detail == "Preset not found" { 404 } else { 422 };
        let code = if status == 404 { "not_found" } else { "validation_error" };
        assert_envelope(response, status, code, detail).await;
    }
    assert_eq!(ok_json(api(&app, &cookie, Method::GET, "/api/settings", None).await).await, before);
}

#[tokio::test]
async fn changing_the_url_origin_drops_the_stored_key() {
    let (app, cookie) = unlocked(&[]).await;
    let save = |url: &str| json!({"api_url": url, "api_key": null});
    api(
        &app,
        &cookie,
        Method::POST,
        "/api/settings",
        Some(json!({"api_url": "https://a.example.com/v1", "api_key": "${A_KEY}"})),
    )
    .await;
    let same =
        ok_json(api(&app, &cookie, Method::POST, "/api/settings", Some(save("https://a.example.com:443/other"))).await)
            .await;
    assert_eq!(same["has_api_key"], true, "same origin keeps the key");
    let moved =
        ok_json(api(&app, &cookie, Method::POST, "/api/settings", Some(save("https://b.example.com/v1"))).await).await;
    assert_eq!((moved["has_api_key"].clone(), moved["api_key_source"].clone()), (json!(false), json!("empty")));
}

#[tokio::test]
async fn presets_are_created_activated_and_deleted() {
    let (app, cookie) = unlocked(&[]).await;
    api(
        &app,
        &cookie,
        Method::POST,
        "/api/settings",
        Some(json!({"api_url": "https://a.example.com", "api_key": "${A_KEY}"})),
    )
    .await;
    let created = ok_json(api(&app, &cookie, Method::POST, "/api/settings/presets", Some(json!({}))).await).await;
    let id = created["active_preset_id"].as_str().unwrap().to_string();
    assert!(id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    assert_eq!(created["presets"][1]["name"], "Preset 2");
    assert_eq!(created["presets"][1]["api_key_masked"], "${A_KEY}", "copied from the source preset");
    let other = ok_json(
        api(
            &app,
            &cookie,
            Method::POST,
            "/api/settings/presets",
            Some(json!({"name": "Other", "api_url": "https://c.example.com"})),
        )
        .await,
    )
    .await;
    assert_eq!(other["presets"][2]["has_api_key"], false, "another origin does not inherit the key");
    assert_eq!(other["active_preset_id"], other["presets"][2]["id"]);

    let no_body =
        app.same_origin(Method::POST, "/api/settings/presets").header("cookie", &cookie).send().await.unwrap();
    assert_envelope(no_body, 422, "validation_error", "Field required").await;
    let activated =
        ok_json(api(&app, &cookie, Method::POST, "/api/settings/presets/default/activate", None).await).await;
    assert_eq!(activated["active_preset_id"], "default");
    assert_envelope(
        api(&app, &cookie, Method::POST, "/api/settings/presets/missing/activate", None).await,
        404,
        "not_found",
        "Preset not found",
    )
    .await;
    assert_envelope(
        api(&app, &cookie, Method::DELETE, "/api/settings/presets/missing", None).await,
        404,
        "not_found",
        "Preset not found",
    )
    .await;

    // Deleting the active preset activates the one now at its index.
    let after = ok_json(api(&app, &cookie, Method::DELETE, "/api/settings/presets/default", None).await).await;
    assert_eq!(after["presets"].as_array().unwrap().len(), 2);
    assert_eq!(after["active_preset_id"], id);
    let last_id = after["presets"][1]["id"].as_str().unwrap().to_string();
    ok_json(api(&app, &cookie, Method::POST, &format!("/api/settings/presets/{last_id}/activate"), None).await).await;
    let after =
        ok_json(api(&app, &cookie, Method::DELETE, &format!("/api/settings/presets/{last_id}"), None).await).await;
    assert_eq!(after["active_preset_id"], id, "the previous preset when the last one goes");
    assert_envelope(
        api(&app, &cookie, Method::DELETE, &format!("/api/settings/presets/{id}"), None).await,
        400,
        "bad_request",
        "At least one preset is required",
    )
    .await;
}

async fn health(app: &TestApp, cookie: &str, body: Option<Value>) -> reqwest::Response {
    api(app, cookie, Method::POST, "/api/settings/presets/default/health", body).await
}

fn names(report: &Value) -> Vec<String> {
    report["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn preset_health_checks_locally_then_probes_the_endpoint() {
    let mock = MockUpstream::start().await;
    let (app, cookie) =
        unlocked(&[("UPSTREAM_ALLOW_PRIVATE_NETWORK", "true"), ("GATEWAY_KEY", "sk-gateway-secret")]).await;
    api(
        &app,
        &cookie,
        Method::POST,
        "/api/settings",
        Some(json!({"api_url": format!("{}/v1", mock.base_url), "api_key": "${GATEWAY_KEY}"})),
    )
    .await;

    let report = ok_json(health(&app, &cookie, None).await).await;
    assert_eq!(report["status"], "ok");
    assert_eq!(names(&report), ["api_path", "ssrf", "api_key", "upstream_probe"]);
    assert_eq!(report["checks"][3]["message"], "OPTIONS probe succeeded with HTTP 200");
    let probes = mock.requests_to("/v1/images/generations");
    assert_eq!(probes[0].method, "OPTIONS");
    assert_eq!(probes[0].header("authorization"), None, "no credentials unless asked");
    assert_eq!(probes[0].header("user-agent"), Some("opencode"));

    ok_json(health(&app, &cookie, Some(json!({"use_credentials": true}))).await).await;
    assert_eq!(mock.requests().last().unwrap().header("authorization"), Some("Bearer sk-gateway-secret"));

    // The probe is informational: an upstream error does not change the status.
    mock.fail_with(500, "boom");
    let report = ok_json(health(&app, &cookie, None).await).await;
    assert_eq!(report["status"], "ok");
    assert_eq!(report["checks"][3]["status"], "warning");
    assert_eq!(report["checks"][3]["message"], "OPTIONS probe reached upstream but got HTTP 500");
    mock.fail_with(405, "no");
    let report = ok_json(health(&app, &cookie, None).await).await;
    assert_eq!(report["checks"][3]["message"], "HEAD probe is not supported by upstream (HTTP 405)");
    // A redirect, here towards another loopback server, is reported and never followed.
    let target = MockUpstream::start().await;
    mock.redirect_to(&format!("{}/v1/images/generations", target.base_url));
    let report = ok_json(health(&app, &cookie, None).await).await;
    assert_eq!(report["checks"][3]["message"], "OPTIONS probe returned redirect HTTP 302; redirects are not followed");
    assert!(target.requests().is_empty(), "the redirect target was never contacted");

    let bad = health(&app, &cookie, Some(json!({"use_credentials": "yes"}))).await;
    assert_envelope(bad, 422, "validation_error", "use_credentials - Input should be a valid boolean").await;
    assert_envelope(
        api(&app, &cookie, Method::POST, "/api/settings/presets/nope/health", None).await,
        404,
        "not_found",
        "Preset not found",
    )
    .await;
}

#[tokio::test]
async fn preset_health_reports_missing_credentials() {
    let (app, cookie) = unlocked(&[]).await;
    api(&app, &cookie, Method::POST, "/api/settings", Some(json!({"api_url": "https://a.example.com", "api_key": ""})))
        .await;
    let report = ok_json(health(&app, &cookie, None).await).await;
    assert_eq!(
        report["checks"][2],
        json!({"name": "api_key", "status": "error", "message": "API key is not configured"})
    );
    assert_eq!(report["status"], "error");
    let with_creds = health(&app, &cookie, Some(json!({"use_credentials": true}))).await;
    assert_envelope(with_creds, 422, "validation_error", "API credential is not configured").await;
    api(
        &app,
        &cookie,
        Method::POST,
        "/api/settings",
        Some(json!({"api_url": "https://a.example.com", "api_key": "${UNSET_PANEL_KEY}"})),
    )
    .await;
    let unset = health(&app, &cookie, Some(json!({"use_credentials": true}))).await;
    assert_envelope(
        unset,
        422,
        "validation_error",
        "API Key environment variable UNSET_PANEL_KEY is not set or empty. Set it in the server environment.",
    )
    .await;
}

/// A name other than `localhost` that this machine resolves to a loopback address.
pub fn loopback_alias() -> String {
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    hosts
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default())
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let address: std::net::IpAddr = fields.next()?.parse().ok()?;
            address.is_loopback().then(|| fields.map(str::to_string).collect::<Vec<_>>())
        })
        .flatten()
        .find(|name| !name.starts_with("localhost") && name.contains(|c: char| c.is_ascii_alphabetic()))
        .expect("/etc/hosts maps some name besides localhost to a loopback address")
}

#[tokio::test]
async fn ssrf_rules_refuse_private_targets_by_default() {
    let (app, cookie) = unlocked(&[("UPSTREAM_HOST_ALLOWLIST", "")]).await;
    let alias = loopback_alias();
    let cases = [
        (
            "https://127.0.0.1/v1".to_string(),
            "Hostname '127.0.0.1' resolves to private/internal IP(s): '127.0.0.1'".to_string(),
        ),
        ("https://10.1.2.3".into(), "Hostname '10.1.2.3' resolves to private/internal IP(s): '10.1.2.3'".into()),
        (
            "https://192.168.0.10:8443".into(),
            "Hostname '192.168.0.10' resolves to private/internal IP(s): '192.168.0.10'".into(),
        ),
        ("https://169.254.169.254".into(), "Hostname '169.254.169.254' is not allowed".into()),
        ("https://[::1]".into(), "Hostname '::1' resolves to private/internal IP(s): '::1'".into()),
        (
            "https://[::ffff:10.0.0.1]".into(),
            "Hostname '::ffff:10.0.0.1' resolves to private/internal IP(s): '::ffff:10.0.0.1'".into(),
        ),
        ("https://[fd00::1]".into(), "Hostname 'fd00::1' resolves to private/internal IP(s): 'fd00::1'".into()),
        ("https://localhost".into(), "Hostname 'localhost' is not allowed".into()),
        (format!("https://{alias}"), format!("Hostname '{alias}' resolves to private/internal IP(s): '127.0.0.1'")),
    ];
    for (url, message) in cases {
        ok_json(api(&app, &cookie, Method::POST, "/api/settings", Some(json!({"api_url": url}))).await).await;
        let report = ok_json(health(&app, &cookie, None).await).await;
        let ssrf = &report["checks"][1];
        assert_eq!((ssrf["name"].as_str(), ssrf["status"].as_str()), (Some("ssrf"), Some("error")), "{url}: {report}");
        assert!(ssrf["message"].as_str().unwrap().starts_with(&message), "{url}: {}", ssrf["message"]);
        assert_eq!(report["checks"][3]["message"], "Skipped upstream probe because local URL/path validation failed");
        assert_eq!(report["status"], "error");
    }

    let (app, cookie) = unlocked(&[("UPSTREAM_HOST_ALLOWLIST", "api.example.com, other.example")]).await;
    ok_json(
        api(&app, &cookie, Method::POST, "/api/settings", Some(json!({"api_url": "https://third.example/v1"}))).await,
    )
    .await;
    let report = ok_json(health(&app, &cookie, None).await).await;
    assert_eq!(
        report["checks"][1]["message"],
        "Hostname 'third.example' is not in the allowlist. Allowed: api.example.com, other.example"
    );
}

#[tokio::test]
async fn literal_webhooks_are_ssrf_checked_when_saved() {
    let secret = ("WEBHOOK_SIGNING_SECRET", "0123456789abcdef0123456789abcdef");
    let (app, cookie) = unlocked(&[("ALLOW_PLAINTEXT_SECRETS", "true"), secret, ("WEBHOOK_HOST_ALLOWLIST", "")]).await;
    let save = |url: &str| json!({"api_url": "https://a.example.com", "webhook_url": url});
    let private = api(&app, &cookie, Method::POST, "/api/settings", Some(save("https://127.0.0.1/hook"))).await;
    assert_envelope(
        private,
        422,
        "validation_error",
        "webhook_url - Webhook hostname '127.0.0.1' resolves to private/internal IP(s): '127.0.0.1'",
    )
    .await;
    let plain = api(&app, &cookie, Method::POST, "/api/settings", Some(save("http://hooks.example.com/x"))).await;
    assert_envelope(plain, 422, "validation_error", "webhook_url - Webhook URL must use https://").await;
    // A reference is resolved and checked when a job uses it.
    let by_ref = ok_json(api(&app, &cookie, Method::POST, "/api/settings", Some(save("${HOOK_URL}"))).await).await;
    assert_eq!(by_ref["webhook_url_masked"], "${HOOK_URL}");

    let (app, cookie) =
        unlocked(&[("ALLOW_PLAINTEXT_SECRETS", "true"), secret, ("WEBHOOK_HOST_ALLOWLIST", "hooks.example.com")]).await;
    let refused = api(&app, &cookie, Method::POST, "/api/settings", Some(save("https://other.example.com/x"))).await;
    assert_envelope(
        refused,
        422,
        "validation_error",
        "webhook_url - Webhook hostname 'other.example.com' is not in the allowlist. Allowed: hooks.example.com",
    )
    .await;
}

#[tokio::test]
async fn stored_literals_still_load_after_plaintext_secrets_are_switched_off() {
    let app = spawn_app_with(&[("ALLOW_PLAINTEXT_SECRETS", "true")]).await;
    let cookie = app.unlock().await;
    ok_json(
        api(
            &app,
            &cookie,
            Method::POST,
            "/api/settings",
            Some(json!({"api_url": "https://a.example.com", "api_key": "sk-literal-0123456789",
        "upstream_socks5_proxy": "socks5://user:pw@proxy.example:1080"})),
        )
        .await,
    )
    .await;
    let dir = app.dir.clone();
    app.stop().await;
    let app = spawn_app_in(dir, &[("ALLOW_PLAINTEXT_SECRETS", "false")]).await;
    let cookie = app.unlock().await;
    let loaded = ok_json(api(&app, &cookie, Method::GET, "/api/settings", None).await).await;
    assert_eq!(
        (loaded["api_key_source"].clone(), loaded["api_key_masked"].clone()),
        (json!("stored"), json!("sk-l***6789"))
    );
    assert_eq!(loaded["upstream_socks5_proxy_masked"], "socks5://user:***@proxy.example:1080");
    // Unrelated saves keep working; a new literal is refused.
    ok_json(
        api(
            &app,
            &cookie,
            Method::POST,
            "/api/settings",
            Some(json!({"api_url": "https://a.example.com", "preset_name": "Renamed",
        "upstream_socks5_proxy": loaded["upstream_socks5_proxy_masked"]})),
        )
        .await,
    )
    .await;
    let refused = api(
        &app,
        &cookie,
        Method::POST,
        "/api/settings",
        Some(json!({"api_url": "https://a.example.com", "api_key": "sk-new-literal"})),
    )
    .await;
    assert_eq!(refused.status(), 422);
}

#[tokio::test]
async fn preset_names_stay_unique() {
    let (app, cookie) = unlocked(&[]).await;
    let create = |body: Value| api(&app, &cookie, Method::POST, "/api/settings/presets", Some(body));
    ok_json(create(json!({"name": "Preset 3"})).await).await;
    let numbered = ok_json(create(json!({})).await).await;
    assert_eq!(numbered["presets"][2]["name"], "Preset 4", "a taken number is skipped");
    assert_envelope(
        create(json!({"name": "Preset 3"})).await,
        400,
        "bad_request",
        "A preset named 'Preset 3' already exists",
    )
    .await;
    let rename = json!({"api_url": "https://a.example.com", "preset_name": " Preset 4 "});
    let renamed = api(&app, &cookie, Method::POST, "/api/settings", Some(rename)).await;
    let body = ok_json(renamed).await;
    assert_eq!(body["presets"][2]["name"], "Preset 4", "renaming a preset to its own name is fine");
    let clash = json!({"api_url": "https://a.example.com", "preset_name": "Preset 3"});
    let refused = api(&app, &cookie, Method::POST, "/api/settings", Some(clash)).await;
    assert_envelope(refused, 400, "bad_request", "A preset named 'Preset 3' already exists").await;
    for blank in ["", "  "] {
        let response = create(json!({"api_url": blank})).await;
        assert_envelope(response, 422, "validation_error", "api_url - API URL must not be empty").await;
    }
}
