use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::settings_api::api;
use crate::support::s3;

const ACCESS_KEY_ID: &str = "panel-access-key";
const SECRET: &str = "panel-secret-key-0123456789";

async fn r2_app(extra: &[(&str, &str)]) -> (TestApp, String, s3::S3Server, tempfile::TempDir) {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("panel")).unwrap();
    let server = s3::start(root.path(), ACCESS_KEY_ID, SECRET).await;
    let mut settings = vec![
        ("UPSTREAM_ALLOW_PRIVATE_NETWORK", "true"),
        ("R2_ENDPOINT_HOST_ALLOWLIST", "127.0.0.1"),
        ("TEST_R2_KEY_ID", ACCESS_KEY_ID),
        ("TEST_R2_SECRET", SECRET),
        ("WRONG_R2_SECRET", "not-the-secret"),
    ];
    settings.extend_from_slice(extra);
    let app = spawn_app_with(&settings).await;
    let cookie = app.unlock().await;
    (app, cookie, server, root)
}

async fn health(app: &TestApp, cookie: &str, body: Value) -> reqwest::Response {
    api(app, cookie, Method::POST, "/api/settings/r2/health", Some(body)).await
}

async fn report(response: reqwest::Response) -> Value {
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

fn summary(report: &Value) -> Vec<(String, String)> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().into(), c["status"].as_str().unwrap().into()))
        .collect()
}

#[tokio::test]
async fn test_r2_probes_the_bucket_and_saves_nothing() {
    let (app, cookie, server, root) = r2_app(&[]).await;
    let before = api(&app, &cookie, Method::GET, "/api/settings", None).await.text().await.unwrap();
    let body = json!({"endpoint_url": server.endpoint, "bucket_name": "panel", "key_prefix": "gallery-test",
        "access_key_id": "${TEST_R2_KEY_ID}", "secret_access_key": "${TEST_R2_SECRET}"});
    let result = report(health(&app, &cookie, body).await).await;
    let ok = |name: &str| (name.to_string(), "ok".to_string());
    assert_eq!(
        summary(&result),
        vec![ok("configuration"), ok("head_bucket"), ok("list_prefix"), ok("write_probe"), ok("delete_probe")],
        "{result}"
    );
    assert_eq!(result["status"], "ok");
    assert_eq!(result["checks"][3]["message"], "Probe object write succeeded");
    let leftovers: Vec<_> = walk(&root.path().join("panel"));
    assert!(leftovers.iter().all(|p| !p.contains(".r2-sync-probe-")), "the probe object was cleaned up: {leftovers:?}");
    let after = api(&app, &cookie, Method::GET, "/api/settings", None).await.text().await.unwrap();
    assert_eq!(after, before, "a health check saves nothing");
    assert!(!after.contains(SECRET));
}

#[tokio::test]
async fn a_missing_bucket_and_bad_credentials_fail_at_head_bucket() {
    let (app, cookie, server, _root) = r2_app(&[]).await;
    let body = |bucket: &str, secret: &str| {
        json!({"endpoint_url": server.endpoint, "bucket_name": bucket,
        "access_key_id": "${TEST_R2_KEY_ID}", "secret_access_key": secret})
    };
    for (bucket, secret) in [("no-such-bucket", "${TEST_R2_SECRET}"), ("panel", "${WRONG_R2_SECRET}")] {
        let result = report(health(&app, &cookie, body(bucket, secret)).await).await;
        assert_eq!(
            summary(&result),
            vec![("configuration".into(), "ok".into()), ("head_bucket".into(), "error".into())],
            "{result}"
        );
        assert_eq!(result["status"], "error");
        let message = result["checks"][1]["message"].as_str().unwrap();
        assert!(message.starts_with("HeadBucket failed: "), "{message}");
        assert!(!message.contains("not-the-secret") && !message.contains(SECRET), "{message}");
    }
}

#[tokio::test]
async fn incomplete_configuration_is_reported_without_a_remote_call() {
    let (app, cookie, server, _root) = r2_app(&[]).await;
    let cases = [
        (json!({}), "R2 endpoint URL is not configured."),
        (json!({"endpoint_url": server.endpoint}), "R2 bucket name is not configured."),
        (json!({"endpoint_url": server.endpoint, "bucket_name": "panel"}), "R2 access key ID is not configured."),
        (
            json!({"endpoint_url": server.endpoint, "bucket_name": "panel", "access_key_id": "${TEST_R2_KEY_ID}", "secret_access_key": "${UNSET_R2_SECRET}"}),
            "R2 secret access key environment variable UNSET_R2_SECRET is not set or empty. Set it in the server environment.",
        ),
    ];
    for (body, message) in cases {
        let result = report(health(&app, &cookie, body).await).await;
        assert_eq!(result["checks"], json!([{"name": "configuration", "status": "error", "message": message}]));
        assert_eq!(result["status"], "error");
    }
}

#[tokio::test]
async fn endpoints_must_be_r2_hosts_on_public_addresses() {
    let app = spawn_app().await;
    let cookie = app.unlock().await;
    let cases = [
        (
            json!({"endpoint_url": "https://127.0.0.1"}),
            "endpoint_url - R2 endpoint URL must use a hostname, not an IP address",
        ),
        (
            json!({"endpoint_url": "http://acct.r2.cloudflarestorage.com"}),
            "endpoint_url - R2 endpoint URL must use https://",
        ),
        (
            json!({"endpoint_url": "https://s3.example.com"}),
            "endpoint_url - R2 endpoint hostname 's3.example.com' must be a Cloudflare R2 hostname (*.r2.cloudflarestorage.com) or be listed in R2_ENDPOINT_HOST_ALLOWLIST. Allowed: none",
        ),
        (
            json!({"endpoint_url": "https://a.b.r2.cloudflarestorage.com"}),
            "endpoint_url - R2 endpoint hostname 'a.b.r2.cloudflarestorage.com' must be a Cloudflare R2 hostname (*.r2.cloudflarestorage.com) or be listed in R2_ENDPOINT_HOST_ALLOWLIST. Allowed: none",
        ),
        (json!({"sync_interval_hours": -2}), "sync_interval_hours - Input should be greater than or equal to 0"),
        (json!({"use_credentials": "yes"}), "use_credentials - Input should be a valid boolean"),
    ];
    for (body, detail) in cases {
        assert_envelope(health(&app, &cookie, body).await, 422, "validation_error", detail).await;
    }
    let alias = crate::settings_api::loopback_alias();
    let listed = spawn_app_with(&[("R2_ENDPOINT_HOST_ALLOWLIST", alias.as_str())]).await;
    let cookie = listed.unlock().await;
    let response = health(&listed, &cookie, json!({"endpoint_url": format!("https://{alias}")})).await;
    let detail = format!("R2 endpoint hostname '{alias}' resolves to private/internal IP(s): '127.0.0.1'");
    assert_envelope(response, 422, "validation_error", &detail).await;
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path.display().to_string());
        }
    }
    found
}
