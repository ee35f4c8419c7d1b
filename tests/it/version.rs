use serde_json::{Value, json};

use crate::helpers::*;
use crate::support::github::MockGithub;
use crate::support::tls;

async fn get_json(app: &TestApp, path: &str) -> Value {
    let cookie = app.unlock().await;
    let response = app.get_with_cookie(path, &cookie).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn version_reports_the_build_and_the_release_page() {
    let app = spawn_app().await;
    let version = get_json(&app, "/api/version").await;
    assert_eq!(
        version,
        json!({"version": "v0.1.0", "github_repo": "Z1rconium/gpt-image-linux",
               "release_url": "https://github.com/Z1rconium/gpt-image-linux/releases/latest"})
    );
    let app = spawn_app_with(&[("APP_VERSION", "v2.0.0-custom"), ("GITHUB_REPO", "")]).await;
    assert_eq!(
        get_json(&app, "/api/version").await,
        json!({"version": "v2.0.0-custom", "github_repo": "", "release_url": null})
    );
}

#[tokio::test]
async fn latest_is_unknown_when_checks_are_off() {
    let app = spawn_app().await;
    assert_eq!(
        get_json(&app, "/api/version/latest").await,
        json!({"latest_version": null, "has_update": false, "checked_at": null})
    );
}

#[tokio::test]
async fn latest_release_is_fetched_over_https_with_a_private_ca_and_cached() {
    let github = MockGithub::start(Some("v9.9.9"), None).await;
    let backend = github.base_url.trim_start_matches("http://").parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let front = tls::start(backend, dir.path()).await;
    let ca_file = front.ca_file.display().to_string();
    let app = spawn_app_with(&[
        ("ENABLE_VERSION_CHECK", "true"),
        ("VERSION_CHECK_API_BASE_URL", &front.base_url),
        ("VERSION_CHECK_RAW_BASE_URL", &front.base_url),
        ("SSL_CERT_FILE", &ca_file),
    ])
    .await;
    let first = get_json(&app, "/api/version/latest").await;
    assert_eq!(first["latest_version"], "9.9.9");
    assert_eq!(first["has_update"], true);
    assert!(first["checked_at"].as_str().unwrap().ends_with("+00:00"));
    let second = get_json(&app, "/api/version/latest").await;
    assert_eq!(second, first, "served from the cache");
    assert_eq!(github.release_calls(), 1);
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused() {
    let github = MockGithub::start(Some("v9.9.9"), Some("v9.9.9")).await;
    let dir = tempfile::tempdir().unwrap();
    let front = tls::start(github.base_url.trim_start_matches("http://").parse().unwrap(), dir.path()).await;
    let app = spawn_app_with(&[
        ("ENABLE_VERSION_CHECK", "true"),
        ("VERSION_CHECK_API_BASE_URL", &front.base_url),
        ("VERSION_CHECK_RAW_BASE_URL", &front.base_url),
    ])
    .await;
    assert_eq!(
        get_json(&app, "/api/version/latest").await,
        json!({"latest_version": null, "has_update": false, "checked_at": null})
    );
    assert_eq!(github.release_calls() + github.raw_calls(), 0, "no request got through the TLS handshake");
}

#[tokio::test]
async fn the_raw_version_file_is_the_fallback_and_failures_are_not_cached() {
    let github = MockGithub::start(None, Some("v0.0.9")).await;
    let app = spawn_app_with(&[
        ("ENABLE_VERSION_CHECK", "true"),
        ("VERSION_CHECK_API_BASE_URL", &github.base_url),
        ("VERSION_CHECK_RAW_BASE_URL", &github.base_url),
    ])
    .await;
    let latest = get_json(&app, "/api/version/latest").await;
    assert_eq!((latest["latest_version"].clone(), latest["has_update"].clone()), (json!("0.0.9"), json!(false)));

    let missing = MockGithub::start(None, None).await;
    let app = spawn_app_with(&[
        ("ENABLE_VERSION_CHECK", "true"),
        ("VERSION_CHECK_API_BASE_URL", &missing.base_url),
        ("VERSION_CHECK_RAW_BASE_URL", &missing.base_url),
    ])
    .await;
    assert_eq!(get_json(&app, "/api/version/latest").await["latest_version"], Value::Null);
    get_json(&app, "/api/version/latest").await;
    assert_eq!(missing.release_calls(), 2, "failures are retried, not cached");
}

/// `VERSION_CHECK_API_BASE_URL` (at once): a cached answer belongs to the source it came from, so a
/// changed source is asked at the next look, not after the cache runs out.
#[tokio::test]
async fn a_changed_lookup_source_is_asked_at_once() {
    let old = MockGithub::start(Some("v1.0.0"), None).await;
    let new = MockGithub::start(Some("v7.0.0"), None).await;
    let app = spawn_app_with(&[
        ("ENABLE_VERSION_CHECK", "true"),
        ("VERSION_CHECK_API_BASE_URL", &old.base_url),
        ("VERSION_CHECK_RAW_BASE_URL", &old.base_url),
    ])
    .await;
    assert_eq!(get_json(&app, "/api/version/latest").await["latest_version"], "1.0.0");
    let cookie = app.unlock().await;
    let saved = crate::overall_config::put(
        &app,
        &cookie,
        json!([{"name": "VERSION_CHECK_API_BASE_URL", "value": new.base_url}]),
    )
    .await;
    assert_eq!(saved.status(), 200);
    assert_eq!(get_json(&app, "/api/version/latest").await["latest_version"], "7.0.0");
    assert_eq!((old.release_calls(), new.release_calls()), (1, 1));
}
