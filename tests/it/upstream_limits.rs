//! The limits on upstream work, each changed as a user would (Overall Config at run time, or the
//! environment for restart settings) and observed at the mock upstream: per-task image bytes,
//! connection slots, the memory budget and the running-unit limit.

use std::time::Duration;

use serde_json::{Value, json};

use crate::generate::{finished, generation_app, job, start};
use crate::overall_config::put;

/// `MAX_UPSTREAM_IMAGE_BYTES_PER_TASK_MB`, changed through Overall Config while the server runs: a
/// decoded image above it fails its task as `upstream_error`; cleared, the same image is saved.
#[tokio::test]
async fn the_per_task_image_budget_applies_at_once() {
    let (app, cookie, mock) = generation_app(&[]).await;
    let image = crate::support::images::noisy_png(720, 720);
    assert!(image.len() > 1024 * 1024, "the image must be above 1 MB");
    mock.set_image(image.clone());
    let overall = |updates: Value| put(&app, &cookie, updates);
    let saved = overall(json!([{"name": "MAX_UPSTREAM_IMAGE_BYTES_PER_TASK_MB", "value": 1}])).await;
    assert_eq!(saved.status(), 200);
    let refused = finished(&app, &cookie, &start(&app, &cookie, json!({"prompt": "big"})).await).await;
    assert_eq!(refused["status"], "upstream_error", "{refused}");
    let expected = format!("Decoded images exceed per-task byte budget: {} bytes (max 1048576)", image.len());
    assert!(refused["error"].as_str().unwrap_or_default().contains(&expected), "{refused}");

    let cleared =
        overall(json!([{"name": "MAX_UPSTREAM_IMAGE_BYTES_PER_TASK_MB", "value": null, "clear_override": true}])).await;
    assert_eq!(cleared.status(), 200);
    let saved = finished(&app, &cookie, &start(&app, &cookie, json!({"prompt": "big"})).await).await;
    assert_eq!(saved["status"], "success", "{saved}");
    assert_eq!(saved["images"][0]["image_width"], 720, "{saved}");
}

/// `AIOHTTP_CONNECTION_LIMIT` and `AIOHTTP_CONNECTION_LIMIT_PER_HOST` (restart settings, so set at
/// start): with one slot, two running units reach the upstream one after the other; with the
/// per-host cap off they overlap.
#[tokio::test]
async fn connection_limits_bound_requests_in_flight() {
    for (setting, value, expected) in [
        ("AIOHTTP_CONNECTION_LIMIT", "1", 1),
        ("AIOHTTP_CONNECTION_LIMIT_PER_HOST", "1", 1),
        ("AIOHTTP_CONNECTION_LIMIT_PER_HOST", "0", 2),
    ] {
        let (app, cookie, mock) = generation_app(&[("MAX_ACTIVE_GENERATE_JOBS", "2"), (setting, value)]).await;
        mock.set_delay(Duration::from_millis(400));
        let first = start(&app, &cookie, json!({"prompt": "one"})).await;
        let second = start(&app, &cookie, json!({"prompt": "two"})).await;
        for id in [first, second] {
            assert_eq!(finished(&app, &cookie, &id).await["status"], "success", "{setting}={value}");
        }
        assert_eq!(mock.max_in_flight(), expected, "{setting}={value}");
    }
}

/// `UPSTREAM_MEMORY_BUDGET_MB` (at once): a unit holds the reply's bytes plus one image of the task's
/// budget from the reply's arrival until its image is written. With room for one, two running units
/// download their images one after the other; raised through Overall Config, they overlap.
#[tokio::test]
async fn the_memory_budget_applies_at_once() {
    let (app, cookie, mock) = generation_app(&[
        ("MAX_ACTIVE_GENERATE_JOBS", "2"),
        ("MAX_UPSTREAM_IMAGE_BYTES_PER_TASK_MB", "1"),
        ("UPSTREAM_MEMORY_BUDGET_MB", "1"),
        ("ENABLE_METRICS", "true"),
    ])
    .await;
    mock.set_download_delay(Duration::from_millis(400));
    let run_two = || async {
        let first = start(&app, &cookie, json!({"prompt": "one", "response_format": "url"})).await;
        let second = start(&app, &cookie, json!({"prompt": "two", "response_format": "url"})).await;
        for id in [first, second] {
            assert_eq!(finished(&app, &cookie, &id).await["status"], "success");
        }
    };
    let budget_gauges = || async {
        let metrics: Value = app.get_with_cookie("/api/metrics", &cookie).await.json().await.unwrap();
        let gauge = |name: &str| metrics["gauges"][name].as_f64().unwrap_or(-1.0);
        (gauge("upstream.memory_budget_capacity_bytes"), gauge("upstream.memory_budget_used_bytes"))
    };

    run_two().await;
    assert_eq!(mock.max_downloads_in_flight(), 1, "1 MB holds one reply and its image");
    assert_eq!(budget_gauges().await, (1_048_576.0, 0.0), "all given back");

    let saved = put(&app, &cookie, json!([{"name": "UPSTREAM_MEMORY_BUDGET_MB", "value": 3}])).await;
    assert_eq!(saved.status(), 200);
    run_two().await;
    assert_eq!(mock.max_downloads_in_flight(), 2, "3 MB holds both");
    assert_eq!(budget_gauges().await, (3.0 * 1_048_576.0, 0.0));
}

/// `MAX_ACTIVE_GENERATE_JOBS` (at once): raised while a unit runs and another waits, the waiting one
/// starts at once, without waiting for a new submission or the running unit's end.
#[tokio::test]
async fn raising_the_unit_limit_starts_waiting_units_at_once() {
    let (app, cookie, mock) = generation_app(&[("MAX_ACTIVE_GENERATE_JOBS", "1")]).await;
    mock.set_delay(Duration::from_millis(1500));
    let first = start(&app, &cookie, json!({"prompt": "one"})).await;
    let second = start(&app, &cookie, json!({"prompt": "two"})).await;
    assert_eq!(job(&app, &cookie, &second).await["status"], "queued");
    let saved = put(&app, &cookie, json!([{"name": "MAX_ACTIVE_GENERATE_JOBS", "value": 2}])).await;
    assert_eq!(saved.status(), 200);
    for id in [first, second] {
        assert_eq!(finished(&app, &cookie, &id).await["status"], "success");
    }
    assert_eq!(mock.max_in_flight(), 2, "the waiting unit reached the upstream while the first ran");
}
