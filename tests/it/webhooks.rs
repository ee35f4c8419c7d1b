use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::generate::{finished, generate, generation_app};
use crate::helpers::*;
use crate::settings_api::api;
use crate::support::webhook_receiver::{ReceivedHook, WebhookReceiver};

const SECRET: &str = "0123456789abcdef0123456789abcdef-webhook";

fn verify(hook: &ReceivedHook) {
    let timestamp = &hook.headers["x-webhook-timestamp"];
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{}", hook.body).as_bytes());
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hook.headers["x-webhook-signature"], format!("sha256={expected}"), "signature over timestamp.body");
}

async fn webhook_app(
    receiver: &WebhookReceiver,
    extra: &[(&str, &str)],
) -> (TestApp, String, crate::support::mock_upstream::MockUpstream) {
    let mut settings = vec![("WEBHOOK_SIGNING_SECRET", SECRET), ("SSL_CERT_FILE", receiver.ca_file.as_str())];
    settings.extend_from_slice(extra);
    generation_app(&settings).await
}

#[tokio::test]
async fn finished_jobs_are_announced_with_a_signed_webhook() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = WebhookReceiver::start(dir.path()).await;
    let (app, cookie, _mock) = webhook_app(&receiver, &[]).await;
    let queued: Value = generate(
        &app,
        &cookie,
        json!({"prompt": "announced", "response_format": "b64_json", "webhook_url": receiver.url}),
    )
    .await
    .json()
    .await
    .unwrap();
    let id = queued["job_id"].as_str().unwrap();
    let done = finished(&app, &cookie, id).await;
    assert!(done.get("webhook_url").is_none(), "the webhook URL is never shown");

    let hooks = receiver.wait_for(1).await;
    let hook = &hooks[0];
    verify(hook);
    assert_eq!(hook.headers["content-type"], "application/json");
    assert_eq!(hook.headers["user-agent"], "gpt-image-panel-webhook");
    assert_eq!(hook.headers["x-webhook-event"], "image.job.finished");
    assert_eq!(hook.headers["x-webhook-job-id"], id);
    assert!(!hook.headers["x-webhook-delivery"].is_empty());
    let body: Value = serde_json::from_str(&hook.body).unwrap();
    assert_eq!(
        (body["event"].clone(), body["status"].clone(), body["job_id"].clone()),
        (json!("image.job.finished"), json!("success"), json!(id))
    );
    assert_eq!(body["image_id"], done["image_id"]);
    assert_eq!(body["images"], done["images"]);
    for absent in ["prompt", "message", "stage_timings", "webhook_url", "error_code", "correlation_id"] {
        assert!(body.get(absent).is_none(), "{absent} is not sent");
    }
    assert!(body["delivered_at"].as_str().unwrap().ends_with("+00:00"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.received().len(), 1, "exactly one delivery");
}

#[tokio::test]
async fn failed_deliveries_are_retried_with_fresh_signatures_and_one_delivery_id() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = WebhookReceiver::start(dir.path()).await;
    receiver.fail_first(1);
    let (app, cookie, mock) = webhook_app(&receiver, &[("WEBHOOK_MAX_ATTEMPTS", "3")]).await;
    mock.fail_with(400, "content policy");
    let queued: Value =
        generate(&app, &cookie, json!({"prompt": "refused", "webhook_url": receiver.url})).await.json().await.unwrap();
    finished(&app, &cookie, queued["job_id"].as_str().unwrap()).await;
    let hooks = receiver.wait_for(2).await;
    assert_eq!(
        hooks[0].headers["x-webhook-delivery"], hooks[1].headers["x-webhook-delivery"],
        "one delivery id across attempts"
    );
    assert_eq!(hooks[0].body, hooks[1].body, "the same body");
    verify(&hooks[0]);
    verify(&hooks[1]);
    let body: Value = serde_json::from_str(&hooks[1].body).unwrap();
    assert_eq!(body["status"], "upstream_error");
    assert_eq!(body["error_code"], "job_failed");
    assert_eq!(body["correlation_id"].as_str().unwrap().len(), 32);
    assert!(body["error"].as_str().unwrap().contains("content policy"));
}

#[tokio::test]
async fn the_global_webhook_announces_cancelled_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = WebhookReceiver::start(dir.path()).await;
    let (app, cookie, mock) = webhook_app(&receiver, &[("HOOK_URL", receiver.url.as_str())]).await;
    let saved = api(
        &app,
        &cookie,
        Method::POST,
        "/api/settings",
        Some(json!({"api_url": format!("{}/v1", mock.base_url), "webhook_url": "${HOOK_URL}"})),
    )
    .await;
    assert_eq!(saved.status(), 200);
    mock.set_delay(Duration::from_secs(30));
    let queued: Value = generate(&app, &cookie, json!({"prompt": "to cancel"})).await.json().await.unwrap();
    let id = queued["job_id"].as_str().unwrap();
    api(&app, &cookie, Method::DELETE, &format!("/api/generate/{id}"), None).await;
    let hooks = receiver.wait_for(1).await;
    let body: Value = serde_json::from_str(&hooks[0].body).unwrap();
    assert_eq!((body["status"].clone(), body["job_id"].clone()), (json!("cancelled"), json!(id)));
    verify(&hooks[0]);
}

#[tokio::test]
async fn interrupted_jobs_send_no_webhook() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = WebhookReceiver::start(dir.path()).await;
    let (app, cookie, mock) = webhook_app(&receiver, &[]).await;
    mock.set_delay(Duration::from_secs(30));
    generate(&app, &cookie, json!({"prompt": "cut short", "webhook_url": receiver.url})).await;
    let data = app.dir.clone();
    app.stop().await;
    let _app =
        spawn_app_in(data, &[("WEBHOOK_SIGNING_SECRET", SECRET), ("SSL_CERT_FILE", receiver.ca_file.as_str())]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(receiver.received().is_empty());
}
