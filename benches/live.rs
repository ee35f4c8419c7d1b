//! The live path under load, against the real release server and an instant mock upstream on loopback:
//! S watchers on the jobs feed plus one stream per job, M jobs submitted at once. Prints, per run,
//! accepted/refused/5xx counts, terminal events delivered (%), terminal latency p50/p99 (arrival minus
//! the job's `completed_at`), server CPU per image, idle CPU with the watchers connected, and peak RSS.
//! Then the job pipeline alone: images/s and CPU per image for n=1 and n=4 with a 1024² PNG.
//!
//! `cargo bench --bench live`; `LIVE_RUNS="200x50,1000x50"` picks the S×M runs (default: 200x50,
//! 1000x50, 200x500, 1000x500); `LIVE_PIPELINE=0` skips the pipeline runs.

#[path = "../tests/support/mod.rs"]
mod support;

#[path = "support/panel.rs"]
mod bench_panel;

#[path = "support/process.rs"]
mod process;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bench_panel::BenchPanel;
use futures_util::StreamExt;
use serde_json::{Value, json};
use support::mock_upstream::MockUpstream;

/// When each watcher saw each job end.
type Arrivals = Arc<Mutex<HashMap<String, Vec<chrono::DateTime<chrono::Utc>>>>>;

/// A smooth 1024² PNG, the size an image API returns by default.
fn image_1024() -> Vec<u8> {
    let image =
        image::RgbImage::from_fn(1024, 1024, |x, y| image::Rgb([(x / 4) as u8, (y / 4) as u8, ((x + y) / 8) as u8]));
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).expect("encode png");
    out.into_inner()
}

/// Reads an SSE body, recording the arrival of every `event: job` frame whose job has ended; returns
/// when `stop` says so or the stream ends. `once` stops after the first terminal frame (job streams).
async fn watch(response: reqwest::Response, arrivals: Arrivals, once: bool) {
    let mut body = response.bytes_stream();
    let mut buffer: Vec<u8> = Vec::new();
    // Where the search for the end of the current frame resumes (frames can be large).
    let mut scanned: usize = 0;
    while let Some(Ok(chunk)) = body.next().await {
        buffer.extend_from_slice(&chunk);
        while let Some(end) = buffer[scanned.saturating_sub(1)..].windows(2).position(|w| w == b"\n\n") {
            let end = scanned.saturating_sub(1) + end;
            scanned = 0;
            let frame: Vec<u8> = buffer.drain(..end + 2).collect();
            let Some(data) = frame.strip_prefix(b"event: job\ndata: ") else { continue };
            let Ok(job) = serde_json::from_slice::<Value>(data) else { continue };
            if ["queued", "running"].contains(&job["status"].as_str().unwrap_or("")) {
                continue;
            }
            let id = job["job_id"].as_str().unwrap_or_default().to_string();
            arrivals.lock().unwrap().entry(id).or_default().push(chrono::Utc::now());
            if once {
                return;
            }
        }
        scanned = buffer.len();
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

struct Run {
    watchers: usize,
    jobs: usize,
    n: usize,
    image: Arc<Vec<u8>>,
}

async fn run(spec: Run) {
    let mock = MockUpstream::start().await;
    mock.set_image((*spec.image).clone());
    let dir = tempfile::tempdir().expect("temp dir");
    let panel = BenchPanel::start(
        dir.path(),
        &[
            bench_panel::JOB_ENV.as_slice(),
            &[
                ("MAX_QUEUED_GENERATE_JOBS", "100000"),
                ("MAX_SSE_SUBSCRIBERS_GLOBAL", "100000"),
                ("MAX_SSE_SUBSCRIBERS_PER_IP", "100000"),
                ("JOB_HISTORY_MAX_ROWS", "100000"),
            ],
        ]
        .concat(),
    )
    .await;
    panel.use_upstream(&mock.base_url).await;
    let pid = panel.server.id().expect("pid");
    let (base, client, cookie) = (panel.base.clone(), panel.client.clone(), panel.cookie.clone());
    // One connection per stream, as browsers have.
    let stream_client = || reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();

    let arrivals: Arrivals = Arc::default();
    let mut watchers = Vec::new();
    for _ in 0..spec.watchers {
        let response = stream_client()
            .get(format!("{base}/api/generate/jobs/events"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "watcher admitted");
        watchers.push(tokio::spawn(watch(response, arrivals.clone(), false)));
    }
    let idle_cpu = if spec.watchers > 0 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let before = process::cpu_seconds(pid);
        tokio::time::sleep(Duration::from_secs(5)).await;
        Some((process::cpu_seconds(pid) - before) / 5.0 * 100.0)
    } else {
        None
    };

    let cpu_before = process::cpu_seconds(pid);
    let started = Instant::now();
    let submissions = (0..spec.jobs).map(|i| {
        let request = client
            .post(format!("{base}/api/generate"))
            .header("origin", &base)
            .header("cookie", &cookie)
            .json(&json!({"prompt": format!("live bench {i}"), "n": spec.n, "response_format": "b64_json"}));
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            (status, body["job_id"].as_str().map(str::to_string))
        }
    });
    let answers = futures_util::future::join_all(submissions).await;
    let accepted: Vec<String> =
        answers.iter().filter_map(|(s, id)| (*s == 202).then(|| id.clone()).flatten()).collect();
    let refused = answers.iter().filter(|(s, _)| *s == 429).count();
    let server_errors = answers.iter().filter(|(s, _)| *s >= 500).count();

    // One stream per job, opened as soon as it is accepted.
    let job_arrivals: Arrivals = Arc::default();
    let mut job_streams = Vec::new();
    if spec.watchers > 0 {
        for id in &accepted {
            let response =
                stream_client().get(format!("{base}/api/generate/{id}/events")).header("cookie", &cookie).send().await;
            if let Ok(response) = response.and_then(reqwest::Response::error_for_status) {
                job_streams.push(tokio::spawn(watch(response, job_arrivals.clone(), true)));
            }
        }
    }

    // Done when no job is active (a cheap poll, so the poll itself costs the server little).
    loop {
        if panel.get_json("/api/generate/jobs").await.as_array().is_some_and(Vec::is_empty) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = process::cpu_seconds(pid) - cpu_before;
    // Thumbnails are made after the jobs end; their share is counted once the server falls quiet.
    // That wait also gives the last frames time to arrive before counting.
    let mut last = process::cpu_seconds(pid);
    let mut quiet_polls = 0;
    while quiet_polls < 4 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = process::cpu_seconds(pid);
        quiet_polls = if now - last <= 0.011 { quiet_polls + 1 } else { 0 };
        last = now;
    }
    let cpu_with_thumbnails = last - cpu_before;
    let peak_mib = process::peak_rss_kib(pid) as f64 / 1024.0;
    let history = panel.get_json("/api/generate/jobs?include_finished=true&limit=500").await;
    let mut server = panel.server;
    let _ = server.kill().await;
    for task in watchers.into_iter().chain(job_streams) {
        task.abort();
    }

    let completed = completed_times(&history);
    let images = accepted.len() * spec.n;
    let mut latencies = Vec::new();
    let mut delivered = 0usize;
    let seen = arrivals.lock().unwrap();
    for id in &accepted {
        let times = seen.get(id).cloned().unwrap_or_default();
        delivered += times.len().min(spec.watchers);
        if let Some(done) = completed.get(id) {
            latencies.extend(times.iter().map(|t| (*t - *done).as_seconds_f64() * 1000.0));
        }
    }
    let job_seen = job_arrivals.lock().unwrap();
    let job_delivered = accepted.iter().filter(|id| job_seen.contains_key(*id)).count();
    latencies.sort_by(f64::total_cmp);
    let expected = accepted.len() * spec.watchers;
    println!(
        "S={} M={} n={}: {} accepted, {refused} refused, {server_errors} 5xx; {:.1} images/s, {:.2} ms server CPU per image ({:.2} ms with its thumbnail)",
        spec.watchers,
        spec.jobs,
        spec.n,
        accepted.len(),
        images as f64 / elapsed,
        cpu * 1000.0 / images.max(1) as f64,
        cpu_with_thumbnails * 1000.0 / images.max(1) as f64,
    );
    if spec.watchers > 0 {
        println!(
            "  feed: {delivered}/{expected} terminal events ({:.2} %), latency p50 {:.0} ms p99 {:.0} ms; job streams: {job_delivered}/{} ended; idle CPU {:.2} %; peak RSS {peak_mib:.1} MiB",
            delivered as f64 * 100.0 / expected.max(1) as f64,
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99),
            accepted.len(),
            idle_cpu.unwrap_or(0.0),
        );
    } else {
        println!("  peak RSS {peak_mib:.1} MiB");
    }
}

/// Each job's `completed_at` from the history.
fn completed_times(history: &Value) -> HashMap<String, chrono::DateTime<chrono::Utc>> {
    let mut out = HashMap::new();
    for job in history.as_array().into_iter().flatten() {
        if let (Some(id), Some(at)) = (job["job_id"].as_str(), job["completed_at"].as_str())
            && let Ok(at) = chrono::DateTime::parse_from_rfc3339(at)
        {
            out.insert(id.to_string(), at.with_timezone(&chrono::Utc));
        }
    }
    out
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runs = std::env::var("LIVE_RUNS").unwrap_or_else(|_| "200x50,1000x50,200x500,1000x500".into());
    let small = Arc::new(support::fixtures::png_1x1());
    for run_spec in runs.split(',').filter(|r| !r.trim().is_empty()) {
        let (watchers, jobs) = run_spec.trim().split_once('x').expect("SxM");
        run(Run { watchers: watchers.parse().unwrap(), jobs: jobs.parse().unwrap(), n: 1, image: small.clone() }).await;
    }
    if std::env::var("LIVE_PIPELINE").is_ok_and(|v| v == "0") {
        return;
    }
    let big = Arc::new(image_1024());
    println!("pipeline, 1024² PNG ({} KiB), no watchers:", big.len() / 1024);
    run(Run { watchers: 0, jobs: 300, n: 1, image: big.clone() }).await;
    run(Run { watchers: 0, jobs: 75, n: 4, image: big }).await;
}
