use reqwest::Method;
use serde_json::{Value, json};

use crate::generate::{finished, generate, generation_app};
use crate::helpers::*;
use crate::settings_api::api;

async fn enable_metrics(app: &TestApp, cookie: &str, on: bool) {
    let update = if on {
        json!({"updates": [{"name": "ENABLE_METRICS", "value": true}]})
    } else {
        json!({"updates": [{"name": "ENABLE_METRICS", "clear_override": true}]})
    };
    let response = api(app, cookie, Method::PUT, "/api/settings/overall-config", Some(update)).await;
    assert_eq!(response.status(), 200);
}

async fn job_id(response: reqwest::Response) -> String {
    assert_eq!(response.status(), 202);
    response.json::<Value>().await.unwrap()["job_id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn metrics_are_off_by_default_and_switch_on_at_once() {
    let (app, cookie, _mock) = generation_app(&[]).await;
    assert_eq!(app.get("/api/metrics").await.status(), 401, "behind the access gate");
    for path in ["/api/metrics", "/api/metrics/prometheus"] {
        let response = app.get_with_cookie(path, &cookie).await;
        assert_eq!(response.status(), 404);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["detail"], "Metrics endpoint is disabled");
    }
    enable_metrics(&app, &cookie, true).await;
    assert_eq!(app.get_with_cookie("/api/metrics", &cookie).await.status(), 200);
    enable_metrics(&app, &cookie, false).await;
    assert_eq!(app.get_with_cookie("/api/metrics", &cookie).await.status(), 404);
}

#[tokio::test]
async fn metrics_count_jobs_and_time_their_stages() {
    let (app, cookie, mock) = generation_app(&[("MAX_ACTIVE_GENERATE_JOBS", "3")]).await;
    enable_metrics(&app, &cookie, true).await;
    let ok = job_id(generate(&app, &cookie, json!({"prompt": "a counted fox"})).await).await;
    assert_eq!(finished(&app, &cookie, &ok).await["status"], "success");
    mock.fail_with(500, "upstream is down");
    let bad = job_id(generate(&app, &cookie, json!({"prompt": "a failing fox"})).await).await;
    assert_ne!(finished(&app, &cookie, &bad).await["status"], "success");
    assert_eq!(app.get_with_cookie("/api/gallery", &cookie).await.status(), 200);

    let report: Value = app.get_with_cookie("/api/metrics", &cookie).await.json().await.unwrap();
    assert_eq!(report["enabled"], true);
    assert!(report["worker_id"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(report["counters"]["image_jobs.generation.queued"], 2);
    assert_eq!(report["counters"]["image_jobs.generation.succeeded"], 1);
    assert_eq!(report["counters"]["image_jobs.generation.failed"], 1);
    assert_eq!(report["counters"]["gallery.requests"], 1);
    for part in ["gallery.request", "gallery.db_query", "gallery.rows", "gallery.count", "gallery.filter_options"] {
        assert_eq!(report["timings_ms"][part]["count"], 1, "{part} timed once");
    }
    assert_eq!(report["gauges"]["image_jobs.active"], 0.0);
    assert_eq!(report["gauges"]["image_jobs.running_capacity"], 3.0);
    assert_eq!(report["gauges"]["sse.active_connections"], 0.0);
    assert_eq!(report["rates"]["image_jobs.generation.failure_ratio"], 0.5);
    let upstream_wait = &report["timings_ms"]["job_stage.upstream_wait"];
    assert_eq!(upstream_wait["count"], 1, "the successful unit timed its upstream wait");
    assert!(upstream_wait["max"].as_f64().unwrap() >= upstream_wait["p50"].as_f64().unwrap());
    assert_eq!(report["workers"][0]["age_seconds"], 0.0);

    let text = app.request(Method::GET, "/api/metrics").header("cookie", &cookie).header("accept", "text/plain").send();
    let text = text.await.unwrap().text().await.unwrap();
    let prometheus = app.get_with_cookie("/api/metrics/prometheus", &cookie).await;
    assert_eq!(prometheus.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    let body = prometheus.text().await.unwrap();
    assert_eq!(text.lines().next(), body.lines().next(), "Accept: text/plain gives the same exposition");
    for expected in [
        "# TYPE gpt_image_panel_image_jobs_generation_queued_total counter\ngpt_image_panel_image_jobs_generation_queued_total 2\n",
        "# TYPE gpt_image_panel_image_jobs_running_capacity gauge\ngpt_image_panel_image_jobs_running_capacity 3\n",
        "gpt_image_panel_image_jobs_generation_failure_ratio 0.5\n",
        "gpt_image_panel_job_stage_upstream_wait_count 1\n",
        "# TYPE gpt_image_panel_job_stage_upstream_wait_p95_ms gauge\n",
    ] {
        assert!(body.contains(expected), "{expected:?} in\n{body}");
    }
    assert!(!body.contains("# HELP") && body.ends_with('\n'));
}

/// The queued and running gauges follow the jobs: one running and one waiting behind it, then none.
#[tokio::test]
async fn gauges_count_queued_and_running_jobs() {
    let (app, cookie, mock) = generation_app(&[("MAX_ACTIVE_GENERATE_JOBS", "1")]).await;
    enable_metrics(&app, &cookie, true).await;
    mock.set_delay(std::time::Duration::from_millis(1500));
    let first = job_id(generate(&app, &cookie, json!({"prompt": "first"})).await).await;
    let second = job_id(generate(&app, &cookie, json!({"prompt": "second"})).await).await;
    let gauges = |report: &Value, names: [&str; 4]| names.map(|name| report["gauges"][name].as_f64().unwrap_or(-1.0));
    let names = [
        "image_jobs.running",
        "image_jobs.queued",
        "image_jobs.generation.running.current",
        "image_jobs.generation.queued.current",
    ];
    let mut seen = [0.0; 4];
    for _ in 0..300 {
        let report: Value = app.get_with_cookie("/api/metrics", &cookie).await.json().await.unwrap();
        seen = gauges(&report, names);
        if seen == [1.0, 1.0, 1.0, 1.0] {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(seen, [1.0, 1.0, 1.0, 1.0], "one running, one queued");
    for id in [first, second] {
        assert_eq!(finished(&app, &cookie, &id).await["status"], "success");
    }
    let report: Value = app.get_with_cookie("/api/metrics", &cookie).await.json().await.unwrap();
    assert_eq!(gauges(&report, names), [0.0; 4]);
    assert_eq!(report["gauges"]["image_jobs.edit.running.current"], 0.0);
}
