use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::settings_api::api;

/// Saves Overall Config `updates` (a JSON array) as the panel's settings drawer does.
pub(crate) async fn put(app: &TestApp, cookie: &str, updates: Value) -> reqwest::Response {
    api(app, cookie, Method::PUT, "/api/settings/overall-config", Some(json!({"updates": updates}))).await
}

fn item<'a>(config: &'a Value, name: &str) -> &'a Value {
    config["items"].as_array().unwrap().iter().find(|i| i["name"] == name).unwrap_or_else(|| panic!("{name} listed"))
}

async fn ok(response: reqwest::Response) -> Value {
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn overall_config_lists_every_setting_outside_the_main_form() {
    let app = spawn_app_with(&[("MAX_FILE_SIZE_MB", "70")]).await;
    let cookie = app.unlock().await;
    let response = app.get_with_cookie("/api/settings/overall-config", &cookie).await;
    let text = response.text().await.unwrap();
    let keys = [
        "name",
        "type",
        "group",
        "description",
        "value",
        "value_masked",
        "env_value_masked",
        "override_value_masked",
        "source",
        "is_env_set",
        "has_override",
        "secret",
        "hot_reload",
        "restart_required",
        "build_only",
        "startup_only",
    ];
    let first_item = &text[text.find("{\"name\"").unwrap()..];
    let positions: Vec<usize> = keys.iter().map(|k| first_item.find(&format!("\"{k}\"")).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{first_item}");
    let config: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(config["restart_required_names"], json!([]));
    let names: Vec<&str> = config["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    for hidden in ["DEFAULT_API_URL", "PROMPT_OPTIMIZER_API_KEY", "R2_BUCKET_NAME"] {
        assert!(!names.contains(&hidden), "{hidden} belongs to the main form");
    }
    let max = item(&config, "MAX_FILE_SIZE_MB");
    assert_eq!(
        (max["type"].clone(), max["value"].clone(), max["source"].clone()),
        (json!("int"), json!(70), json!("env"))
    );
    assert_eq!(
        (max["is_env_set"].clone(), max["hot_reload"].clone(), max["env_value_masked"].clone()),
        (json!(true), json!(true), json!("70"))
    );
    assert!(max["updated_at"].as_str().unwrap().ends_with("+00:00"), "env synced at start");
    let key = item(&config, "ACCESS_KEY");
    assert_eq!(
        (key["type"].clone(), key["value"].clone(), key["env_value_masked"].clone()),
        (json!("secret"), json!("********"), json!("********"))
    );
    assert!(!text.contains(ACCESS_KEY), "the access key never appears");
    assert_eq!(item(&config, "DATA_DIR")["startup_only"], true);
    assert_eq!(item(&config, "PORT")["restart_required"], true);
    assert_eq!(item(&config, "NODE_BASE_IMAGE")["build_only"], true);
    assert_eq!(item(&config, "GRANIAN_WORKERS")["ignored"], true);
    assert_eq!(item(&config, "VERSION_CHECK_TIMEOUT_SECONDS")["value"], json!(3.0));
    assert_eq!(item(&config, "ENABLE_METRICS")["value"], json!(false));
}

#[tokio::test]
async fn overrides_apply_at_once_and_reset_to_the_environment() {
    let app = spawn_app_with(&[("APP_VERSION", "v1.2.3")]).await;
    let cookie = app.unlock().await;
    let saved = ok(put(
        &app,
        &cookie,
        json!([{"name": "APP_VERSION", "value": "v9.0.0"}, {"name": "MAX_JSON_BODY_MB", "value": 2}]),
    )
    .await)
    .await;
    let item_v = item(&saved, "APP_VERSION");
    assert_eq!(
        (item_v["source"].clone(), item_v["value"].clone(), item_v["has_override"].clone()),
        (json!("override"), json!("v9.0.0"), json!(true))
    );
    assert!(item_v["override_updated_at"].is_string());
    assert_eq!(saved["restart_required_names"], json!([]));
    assert_eq!(version(&app, &cookie).await, "v9.0.0", "hot-reloaded");
    // A 1.5 MiB JSON body is now under the limit: it reaches validation instead of the 413.
    let body = json!({"access_key": "k".repeat(1_500_000)});
    let response = app.same_origin(Method::POST, "/api/access").json(&body).send().await.unwrap();
    assert_eq!(response.status(), 422);

    let reset = ok(put(&app, &cookie, json!([{"name": "APP_VERSION", "clear_override": true}])).await).await;
    let item_v = item(&reset, "APP_VERSION");
    assert_eq!(
        (item_v["source"].clone(), item_v["value"].clone(), item_v["override_value_masked"].clone()),
        (json!("env"), json!("v1.2.3"), Value::Null)
    );
    assert_eq!(version(&app, &cookie).await, "v1.2.3");
}

#[tokio::test]
async fn restart_required_values_wait_for_the_next_start() {
    let app = spawn_app().await;
    let cookie = app.unlock().await;
    let saved = ok(put(
        &app,
        &cookie,
        json!([{"name": "GRANIAN_BACKLOG", "value": "100"}, {"name": "NODE_BASE_IMAGE", "value": "node:22"}]),
    )
    .await)
    .await;
    assert_eq!(saved["restart_required_names"], json!(["GRANIAN_BACKLOG", "NODE_BASE_IMAGE"]));
    assert_eq!(item(&saved, "GRANIAN_BACKLOG")["value"], json!(100));
    assert_eq!(app.state.settings.current().listen_backlog, 2048, "the running server keeps its start value");
    let dir = app.dir.clone();
    app.stop().await;
    let app = spawn_app_in(dir, &[]).await;
    assert_eq!(app.state.settings.current().listen_backlog, 100, "applied at the next start");
}

/// Thumbnail size and the orphan-file age are read by the thumbnailer and upkeep when they start,
/// so Overall Config says they wait for a restart, and they do.
#[tokio::test]
async fn thumbnail_side_and_orphan_age_apply_at_the_next_start() {
    let app = spawn_app().await;
    let cookie = app.unlock().await;
    let updates = json!([
        {"name": "THUMBNAIL_MAX_SIDE", "value": 64},
        {"name": "GALLERY_ORPHAN_FILE_TTL_SECONDS", "value": "0"}
    ]);
    let saved = ok(put(&app, &cookie, updates).await).await;
    assert_eq!(saved["restart_required_names"], json!(["THUMBNAIL_MAX_SIDE", "GALLERY_ORPHAN_FILE_TTL_SECONDS"]));
    for name in ["THUMBNAIL_MAX_SIDE", "GALLERY_ORPHAN_FILE_TTL_SECONDS"] {
        assert_eq!(item(&saved, name)["restart_required"], true, "{name}");
        assert_eq!(item(&saved, name)["hot_reload"], false, "{name}");
    }
    let running = app.state.settings.current();
    assert_eq!((running.thumbnail_max_side, running.orphan_file_ttl.as_secs()), (512, 300));
    let dir = app.dir.clone();
    app.stop().await;
    // An unreferenced file older than the new age (0 s) is collected by the next start's upkeep.
    std::fs::write(dir.path().join("images/orphan.png"), b"x").unwrap();
    let app = spawn_app_in(dir.clone(), &[]).await;
    let running = app.state.settings.current();
    assert_eq!((running.thumbnail_max_side, running.orphan_file_ttl.as_secs()), (64, 0));
    let orphan = dir.path().join("images/orphan.png");
    for _ in 0..500 {
        if !orphan.exists() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(!orphan.exists(), "collected by the upkeep at start");
}

#[tokio::test]
async fn invalid_updates_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let cookie = app.unlock().await;
    let before = ok(app.get_with_cookie("/api/settings/overall-config", &cookie).await).await;
    let cases = [
        (json!([{"name": "NOPE", "value": 1}]), "Unknown config name: NOPE"),
        (json!([{"name": "DEFAULT_API_URL", "value": "https://x"}]), "Unknown config name: DEFAULT_API_URL"),
        (
            json!([{"name": "APP_VERSION", "value": "a"}, {"name": "APP_VERSION", "value": "b"}]),
            "Duplicate config name: APP_VERSION",
        ),
        (json!([{"name": "DATA_DIR", "value": "/tmp"}]), "DATA_DIR can only be configured at process startup"),
        (json!([{"name": "ACCESS_KEY", "value": "${OTHER}"}]), "ACCESS_KEY can only be configured at process startup"),
        (json!([{"name": "APP_VERSION"}]), "value is required for APP_VERSION"),
        (
            json!([{"name": "APP_VERSION", "value": "v2"}, {"name": "MAX_FILE_SIZE_MB", "value": "abc"}]),
            "MAX_FILE_SIZE_MB: must be a whole number",
        ),
        (json!([{"name": "MAX_FILE_SIZE_MB", "value": 71.5}]), "MAX_FILE_SIZE_MB: must be a whole number"),
        (json!([{"name": "MAX_FILE_SIZE_MB", "value": 0}]), "MAX_FILE_SIZE_MB: must be at least 1"),
        (
            json!([{"name": "ENABLE_METRICS", "value": "maybe"}]),
            "ENABLE_METRICS: must be a boolean (true/false, 1/0, yes/no, on/off)",
        ),
        (
            json!([{"name": "APP_VERSION", "value": ["a"]}]),
            "updates.0.value - Input should be a valid string, boolean or number",
        ),
        (
            json!([{"name": "APP_VERSION", "value": "x", "clear_override": true}]),
            "updates.0 - clear_override cannot be combined with value",
        ),
        (
            json!([{"name": "TRUST_PROXY_HEADERS", "value": true}]),
            "TRUSTED_PROXY_IPS: must list at least one proxy IP or CIDR when TRUST_PROXY_HEADERS=true",
        ),
        (
            json!([{"name": "ACCESS_KEY_COOKIE_NAME", "value": "__Host-panel"}]),
            "ACCESS_COOKIE_SECURE: must be true when ACCESS_KEY_COOKIE_NAME starts with __Host-",
        ),
    ];
    for (updates, detail) in cases {
        assert_envelope(put(&app, &cookie, updates).await, 422, "validation_error", detail).await;
    }
    let kept = ok(put(&app, &cookie, json!([{"name": "ACCESS_KEY", "value": "********"}])).await).await;
    assert_eq!(kept["items"], before["items"], "the sentinel keeps the secret");
    let after = ok(app.get_with_cookie("/api/settings/overall-config", &cookie).await).await;
    assert_eq!(after, before, "nothing was saved");
    assert_eq!(ok(put(&app, &cookie, json!([])).await).await["items"], before["items"]);
}

async fn version(app: &TestApp, cookie: &str) -> Value {
    app.get_with_cookie("/api/version", cookie).await.json::<Value>().await.unwrap()["version"].clone()
}
