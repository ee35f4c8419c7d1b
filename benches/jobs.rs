//! Pushes 500 generation jobs through the real server (a release build run as its own process) against
//! an instant mock upstream on loopback, then prints jobs per second, server CPU time per job and the
//! server's peak memory. Run with `cargo bench --bench jobs`.

#[path = "../tests/support/mod.rs"]
mod support;

#[path = "support/panel.rs"]
mod bench_panel;

#[path = "support/process.rs"]
mod process;

use bench_panel::BenchPanel;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::mock_upstream::MockUpstream;

const JOBS: usize = 500;

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mock = MockUpstream::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let panel = BenchPanel::start(
        dir.path(),
        &[bench_panel::JOB_ENV.as_slice(), &[("MAX_QUEUED_GENERATE_JOBS", "1000")]].concat(),
    )
    .await;
    panel.use_upstream(&mock.base_url).await;
    let BenchPanel { mut server, base, client, cookie } = panel;
    let pid = server.id().expect("pid");
    let post = |path: &str, body: Value| {
        client.post(format!("{base}{path}")).header("origin", &base).header("cookie", &cookie).json(&body).send()
    };
    let idle_kib = process::rss_kib(pid);
    let cpu_before = process::cpu_seconds(pid);

    let started = Instant::now();
    for i in 0..JOBS {
        let response = post("/api/generate", json!({"prompt": format!("bench {i}"), "response_format": "b64_json"}))
            .await
            .unwrap();
        assert_eq!(response.status(), 202, "job {i}");
    }
    let submitted = started.elapsed();
    loop {
        let active: Value = client
            .get(format!("{base}/api/generate/jobs"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if active.as_array().is_some_and(Vec::is_empty) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    let cpu = process::cpu_seconds(pid) - cpu_before;
    let peak_kib = process::peak_rss_kib(pid);
    let history: Value = client
        .get(format!("{base}/api/generate/jobs?include_finished=true&limit=500"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let succeeded =
        history.as_array().map(|jobs| jobs.iter().filter(|j| j["status"] == "success").count()).unwrap_or(0);
    let _ = server.kill().await;

    println!(
        "jobs: {JOBS} submitted in {:.2}s, all finished in {:.2}s ({succeeded} succeeded)",
        submitted.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    println!("throughput: {:.1} jobs/s", JOBS as f64 / elapsed.as_secs_f64());
    println!("server CPU: {:.2} ms per job ({:.2}s total)", cpu * 1000.0 / JOBS as f64, cpu);
    println!("server memory: {:.1} MiB idle, {:.1} MiB peak", idle_kib as f64 / 1024.0, peak_kib as f64 / 1024.0);
}
