use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn unlock_sets_a_three_hour_http_only_cookie() {
    let app = spawn_app().await;
    let response = app.post_access(ACCESS_KEY).await;
    assert_eq!(response.status(), 200);
    let cookie = response.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
    assert!(cookie.starts_with("gpt_image_access="), "{cookie}");
    for attribute in ["; HttpOnly", "; Max-Age=10800", "; Path=/", "; SameSite=lax", "; expires="] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "ACCESS_COOKIE_SECURE=false drops Secure: {cookie}");
    assert!(!cookie.contains("Domain"), "{cookie}");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["authenticated"], true);
    let expires = body["expires_at"].as_str().unwrap();
    assert!(expires.ends_with("+00:00") && expires.contains('.'), "microseconds and UTC offset: {expires}");

    let pair = cookie.split(';').next().unwrap();
    let status: serde_json::Value = app.get_with_cookie("/api/access/status", pair).await.json().await.unwrap();
    assert_eq!(status["authenticated"], true);
    let expires = status["expires_at"].as_str().unwrap();
    assert!(expires.ends_with("+00:00") && !expires.contains('.'), "whole seconds: {expires}");
    assert_eq!(app.get_with_cookie("/api/version", pair).await.status(), 200);
}

#[tokio::test]
async fn the_cookie_is_secure_by_default_and_its_name_is_configurable() {
    let app = spawn_app_with(&[("ACCESS_COOKIE_SECURE", ""), ("ACCESS_KEY_COOKIE_NAME", "panel_session")]).await;
    let response = app.post_access(ACCESS_KEY).await;
    let cookie = response.headers().get("set-cookie").unwrap().to_str().unwrap();
    assert!(cookie.starts_with("panel_session=") && cookie.ends_with("; Secure"), "{cookie}");
}

#[tokio::test]
async fn wrong_missing_and_forged_sessions_are_refused() {
    let app = spawn_app().await;
    let status: serde_json::Value = app.get("/api/access/status").await.json().await.unwrap();
    assert_eq!(status, json!({"authenticated": false, "expires_at": null}));
    for cookie in ["gpt_image_access=garbage", "gpt_image_access=eyJleHAiOjk5OTk5OTk5OTksInNjb3BlIjoiYWNjZXNzIn0.AAAA"]
    {
        let response = app.get_with_cookie("/api/version", cookie).await;
        assert_envelope(response, 401, "authentication_required", "Access key required").await;
    }
    // A session signed with another key is worthless here.
    let other = spawn_app_with(&[("ACCESS_KEY", "a-completely-different-key")]).await;
    let response = other.post_access("a-completely-different-key").await;
    let foreign = cookie_pair(&response);
    assert_envelope(
        app.get_with_cookie("/api/version", &foreign).await,
        401,
        "authentication_required",
        "Access key required",
    )
    .await;
}

#[tokio::test]
async fn wrong_and_non_ascii_keys_are_401() {
    let app = spawn_app().await;
    assert_envelope(app.post_access("wrong").await, 401, "authentication_required", "Invalid access key").await;
    let response = app.post_access("clé-ünïcødé-键").await;
    assert!(response.headers().get("set-cookie").is_none());
    assert_envelope(response, 401, "authentication_required", "Invalid access key").await;
}

#[tokio::test]
async fn lockout_after_five_failures_refuses_even_the_right_key_then_expires() {
    let app = spawn_app().await;
    for _ in 0..5 {
        assert_eq!(app.post_access("wrong").await.status(), 401);
    }
    let locked = app.post_access(ACCESS_KEY).await;
    let retry_after: u64 = locked.headers().get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
    assert!((290..=300).contains(&retry_after), "{retry_after}");
    let body = assert_envelope(
        locked,
        429,
        "rate_limited",
        &format!("Too many failed attempts. Try again in {retry_after} seconds."),
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("seconds"));

    // The lockout survives a restart: it lives in SQLite.
    let dir = app.dir.clone();
    app.stop().await;
    let app = spawn_app_in(dir, &[]).await;
    assert_eq!(app.post_access(ACCESS_KEY).await.status(), 429);

    // Once the last failure is older than ACCESS_LOCKOUT_SECONDS, the lock is gone.
    age_failures(&app, 301).await;
    assert_eq!(app.post_access(ACCESS_KEY).await.status(), 200);
    // Success forgets earlier failures: four more wrong keys do not lock.
    for _ in 0..4 {
        assert_eq!(app.post_access("wrong").await.status(), 401);
    }
    assert_eq!(app.post_access(ACCESS_KEY).await.status(), 200);
}

#[tokio::test]
async fn lockout_limits_are_configurable_and_per_client_ip() {
    let app = spawn_app_with(&[
        ("ACCESS_MAX_FAILURES", "2"),
        ("ACCESS_LOCKOUT_SECONDS", "60"),
        ("TRUST_PROXY_HEADERS", "true"),
        ("TRUSTED_PROXY_IPS", "127.0.0.1"),
    ])
    .await;
    let attempt = |ip: &'static str, key: &'static str| {
        app.same_origin(Method::POST, "/api/access")
            .header("x-forwarded-for", ip)
            .json(&json!({"access_key": key}))
            .send()
    };
    assert_eq!(attempt("203.0.113.5", "wrong").await.unwrap().status(), 401);
    assert_eq!(attempt("203.0.113.5", "wrong").await.unwrap().status(), 401);
    let locked = attempt("203.0.113.5", ACCESS_KEY).await.unwrap();
    assert_eq!(locked.status(), 429);
    assert!(locked.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() <= 60);
    assert_eq!(attempt("203.0.113.6", ACCESS_KEY).await.unwrap().status(), 200, "another client is not locked");
}

#[tokio::test]
async fn unlock_body_is_validated_strictly() {
    let app = spawn_app().await;
    let cases: [(&str, &str); 6] = [
        ("{}", "access_key - Field required"),
        (r#"{"access_key":"k","foo":1}"#, "foo - Extra inputs are not permitted"),
        (r#"{"access_key":""}"#, "access_key - String should have at least 1 character"),
        (r#"{"access_key":42}"#, "access_key - Input should be a valid string"),
        ("[]", "Input should be a valid dictionary or object to extract fields from"),
        ("{\"access_key\":", "14 - JSON decode error"),
    ];
    for (body, detail) in cases {
        let response = app
            .same_origin(Method::POST, "/api/access")
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_envelope(response, 422, "validation_error", detail).await;
    }
    let long = "k".repeat(4097);
    let response =
        app.same_origin(Method::POST, "/api/access").json(&json!({"access_key": long})).send().await.unwrap();
    assert_envelope(response, 422, "validation_error", "access_key - String should have at most 4096 characters").await;
}

#[tokio::test]
async fn an_open_panel_needs_no_key() {
    let app = spawn_app_with(&[("ACCESS_KEY", ""), ("ALLOW_UNAUTHENTICATED", "true")]).await;
    assert_eq!(app.get("/api/version").await.status(), 200);
    let status: serde_json::Value = app.get("/api/access/status").await.json().await.unwrap();
    assert_eq!(status, json!({"authenticated": true, "expires_at": null}));
    let response = app.post_access("anything").await;
    assert!(response.headers().get("set-cookie").is_none());
    assert_eq!(response.json::<serde_json::Value>().await.unwrap(), json!({"authenticated": true, "expires_at": null}));
    assert!(!app.data_dir().join("access_key").exists());
}

#[tokio::test]
async fn without_a_key_one_is_generated_once_and_kept() {
    let app = spawn_app_with(&[("ACCESS_KEY", "")]).await;
    let key_file = app.data_dir().join("access_key");
    let key = std::fs::read_to_string(&key_file).unwrap().trim().to_string();
    assert!(key.len() >= 32, "{key}");
    assert_eq!(app.get("/api/version").await.status(), 401, "the gate is on");
    assert_eq!(app.post_access(&key).await.status(), 200);

    let dir = app.dir.clone();
    app.stop().await;
    let app = spawn_app_in(dir, &[("ACCESS_KEY", "")]).await;
    assert_eq!(std::fs::read_to_string(&key_file).unwrap().trim(), key, "the same key after a restart");
    assert_eq!(app.post_access(&key).await.status(), 200);
}

async fn age_failures(app: &TestApp, seconds: i64) {
    use sea_orm::ConnectionTrait;
    let past =
        (chrono::Utc::now() - chrono::Duration::seconds(seconds)).to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    app.state.db.execute_unprepared(&format!("UPDATE access_failures SET last_failed_at = '{past}'")).await.unwrap();
}

/// `ALLOW_UNAUTHENTICATED` (at once) turned off while no `ACCESS_KEY` is configured: the gate closes
/// at once with the generated key (made then, stored 0600), never stays open for want of a key.
#[tokio::test]
async fn closing_an_open_panel_at_run_time_uses_the_generated_key() {
    use std::os::unix::fs::PermissionsExt;
    let app = spawn_app_with(&[("ACCESS_KEY", ""), ("ALLOW_UNAUTHENTICATED", "true")]).await;
    assert_eq!(app.get("/api/version").await.status(), 200);
    let key_file = app.data_dir().join("access_key");
    assert!(!key_file.exists());

    let closed = app
        .same_origin(Method::PUT, "/api/settings/overall-config")
        .json(&json!({"updates": [{"name": "ALLOW_UNAUTHENTICATED", "value": false}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status(), 200);
    assert_eq!(app.get("/api/version").await.status(), 401, "the gate is on");
    let status: serde_json::Value = app.get("/api/access/status").await.json().await.unwrap();
    assert_eq!(status["authenticated"], false);
    let key = std::fs::read_to_string(&key_file).unwrap().trim().to_string();
    assert!(key.len() >= 32, "{key}");
    assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(app.post_access("not-the-key").await.status(), 401);
    assert_eq!(app.post_access(&key).await.status(), 200);
}
