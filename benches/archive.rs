//! ZIP export throughput against the real release server: 2,000 images of 1.5 MiB (≈3 GB) and
//! 100,000 small images, seeded straight into SQLite and `images/`. For each it prints the direct
//! streamed export (`GET /api/download-all`: time to first byte, MB/s) and the tracked export (build
//! time and MB/s, then the `Content-Length` download), with the server's RSS before and at its peak.
//!
//! `cargo bench --bench archive`; `ARCHIVE_SETS="large"` or `"small"` runs one set.

#[path = "support/panel.rs"]
mod bench_panel;

#[path = "support/process.rs"]
mod process;

use std::time::{Duration, Instant};

use bench_panel::BenchPanel;
use futures_util::StreamExt;
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};

async fn seed(dir: &std::path::Path, rows: usize, file_bytes: usize) -> u64 {
    let data = dir.join("data");
    let images = dir.join("images");
    std::fs::create_dir_all(&images).unwrap();
    let db = panel_actors::store::open(&data, &data.join("app.sqlite3")).await.unwrap();
    // A real PNG of about `file_bytes` (imports decode every image); the same bytes for every row.
    let content = real_png(file_bytes);
    let mut total = 0u64;
    for chunk in (0..rows).collect::<Vec<_>>().chunks(5_000) {
        let txn = db.begin().await.unwrap();
        for &i in chunk {
            let filename = format!("bench-{i:06}.png");
            std::fs::write(images.join(&filename), &content).unwrap();
            total += content.len() as u64;
            let created = format!("2026-11-{:02}T{:02}:{:02}:00.000000Z", i % 28 + 1, i % 24, i % 60);
            let sql = "INSERT INTO gallery_entries (id, sort_seq, prompt, size, filename, model, favorite, bytes, created_at, completed_at) \
                       VALUES (?, ?, ?, '1024x1024', ?, 'gpt-image-2', 0, ?, ?, ?)";
            let values: Vec<sea_orm::Value> = vec![
                format!("{i:08x}-0000-4000-8000-000000000000").into(),
                (i as i64 + 1).into(),
                format!("archive bench image #{i}").into(),
                filename.into(),
                (content.len() as i64).into(),
                created.clone().into(),
                created.into(),
            ];
            txn.execute_raw(Statement::from_sql_and_values(sea_orm::DbBackend::Sqlite, sql, values)).await.unwrap();
        }
        txn.commit().await.unwrap();
    }
    db.close().await.unwrap();
    total
}

/// A PNG whose noisy pixels keep it near `bytes` long (a square side chosen to fit).
fn real_png(bytes: usize) -> Vec<u8> {
    let side = ((bytes as f64 / 3.0).sqrt().ceil() as u32).max(4);
    let mut state = 0x2545_F491u32;
    let image = image::RgbImage::from_fn(side, side, |_, _| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let [a, b, c, _] = state.to_le_bytes();
        image::Rgb([a, b, c])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn mb_per_s(bytes: u64, seconds: f64) -> f64 {
    bytes as f64 / 1e6 / seconds.max(1e-9)
}

/// Reads a response to the end; returns (time to first byte from `started`, bytes).
async fn drain(response: reqwest::Response, started: Instant) -> (Duration, u64) {
    let mut body = response.bytes_stream();
    let mut first = None;
    let mut bytes = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.expect("the archive streams to the end");
        first.get_or_insert_with(|| started.elapsed());
        bytes += chunk.len() as u64;
    }
    (first.unwrap_or_default(), bytes)
}

async fn run(label: &str, rows: usize, file_bytes: usize) {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let image_bytes = seed(dir.path(), rows, file_bytes).await;
    println!(
        "{label}: {rows} images, {:.0} MB, seeded in {:.1}s",
        image_bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    let panel = BenchPanel::start(dir.path(), &[("LOG_LEVEL", "warn")]).await;
    let pid = panel.server.id().unwrap();
    let idle_mib = process::rss_kib(pid) as f64 / 1024.0;

    let started = Instant::now();
    let response = panel
        .client
        .get(format!("{}/api/download-all", panel.base))
        .header("cookie", &panel.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (first_byte, bytes) = drain(response, started).await;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "  direct export: {:.0} MB in {seconds:.2}s = {:.0} MB/s; first byte after {:.1} ms; server RSS {idle_mib:.1} MiB idle, peak {:.1} MiB",
        bytes as f64 / 1e6,
        mb_per_s(bytes, seconds),
        first_byte.as_secs_f64() * 1000.0,
        process::peak_rss_kib(pid) as f64 / 1024.0,
    );

    let started = Instant::now();
    let job: serde_json::Value = panel
        .client
        .post(format!("{}/api/gallery/export-jobs", panel.base))
        .header("origin", &panel.base)
        .header("cookie", &panel.cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = job["job_id"].as_str().expect("a tracked export").to_string();
    let done = loop {
        let status = panel.get_json(&format!("/api/gallery/export-jobs/{id}")).await;
        if status["status"] == "success" || status["status"] == "error" {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(done["status"], "success", "{done}");
    let built = started.elapsed().as_secs_f64();
    let total = done["bytes_total"].as_u64().unwrap();
    let started = Instant::now();
    let response = panel
        .client
        .get(format!("{}/api/gallery/export-jobs/{id}/download", panel.base))
        .header("cookie", &panel.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.content_length(), Some(total));
    let saved = dir.path().join("export.zip");
    let downloaded = save(response, &saved).await;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "  tracked export: built {:.0} MB in {built:.2}s = {:.0} MB/s; download {:.0} MB/s; server peak RSS {:.1} MiB",
        total as f64 / 1e6,
        mb_per_s(total, built),
        mb_per_s(downloaded, seconds),
        process::peak_rss_kib(pid) as f64 / 1024.0,
    );
    drop(panel);
    import(rows, &saved).await;
}

/// Writes a response body to `path`; returns its length.
async fn save(response: reqwest::Response, path: &std::path::Path) -> u64 {
    use tokio::io::AsyncWriteExt;
    let mut file = tokio::fs::File::create(path).await.unwrap();
    let mut body = response.bytes_stream();
    let mut bytes = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.unwrap();
        bytes += chunk.len() as u64;
        file.write_all(&chunk).await.unwrap();
    }
    file.flush().await.unwrap();
    bytes
}

/// Imports the tracked export into a fresh panel (limits raised as the README documents).
async fn import(rows: usize, archive: &std::path::Path) {
    let dir = tempfile::tempdir().unwrap();
    let count = (rows + 10).to_string();
    // Passed through (empty: the panel's own allocator tuning) to compare allocator settings.
    let arenas = std::env::var("MALLOC_ARENA_MAX").unwrap_or_default();
    let tunables = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
    let env = [
        ("LOG_LEVEL", "warn"),
        ("MALLOC_ARENA_MAX", arenas.as_str()),
        ("GLIBC_TUNABLES", tunables.as_str()),
        ("IMPORT_MAX_FILES", count.as_str()),
        ("IMPORT_MAX_ENTRIES", count.as_str()),
        ("IMPORT_MAX_METADATA_BYTES", "200000000"),
        ("IMPORT_ARCHIVE_MAX_MB", "8000"),
        ("IMPORT_MAX_UNCOMPRESSED_MB", "8000"),
        ("IMPORT_MAX_OUTPUT_MB", "8000"),
    ];
    let panel = BenchPanel::start(dir.path(), &env).await;
    let pid = panel.server.id().unwrap();
    let idle_mib = process::rss_kib(pid) as f64 / 1024.0;
    let length = std::fs::metadata(archive).unwrap().len();
    let file = tokio::fs::File::open(archive).await.unwrap();
    let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(file, 1 << 20));
    let part = reqwest::multipart::Part::stream_with_length(body, length).file_name("export.zip");
    let started = Instant::now();
    let cpu_before = process::cpu_seconds(pid);
    let response = panel
        .client
        .post(format!("{}/api/import", panel.base))
        .header("origin", &panel.base)
        .header("cookie", &panel.cookie)
        .multipart(reqwest::multipart::Form::new().part("archive", part))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let result: serde_json::Value = response.json().await.unwrap();
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["imported"].as_u64(), Some(rows as u64), "{result}");
    println!(
        "  import: {:.0} MB in {seconds:.2}s = {:.0} MB/s, {:.0} rows/s, server CPU {:.1}s; server RSS {idle_mib:.1} MiB idle, peak {:.1} MiB",
        length as f64 / 1e6,
        mb_per_s(length, seconds),
        rows as f64 / seconds,
        process::cpu_seconds(pid) - cpu_before,
        process::peak_rss_kib(pid) as f64 / 1024.0,
    );
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sets = std::env::var("ARCHIVE_SETS").unwrap_or_else(|_| "large,small".into());
    for set in sets.split(',').map(str::trim) {
        match set {
            "large" => run("large", 2_000, 1_536 * 1024).await,
            "small" => run("small", 100_000, 2_048).await,
            "" => {}
            other => panic!("unknown set {other}"),
        }
    }
}
