//! R2 backup sync throughput against the real release server and the tests' S3-compatible server
//! (s3s-fs on loopback, SigV4 verified, in this process): 10,000 small images seeded straight into
//! SQLite and `images/`. Prints a dry run, the first real sync (every object uploaded), a second sync
//! (nothing changed) and a full reconcile, each in objects/s, with the server's peak RSS.
//!
//! `cargo bench --bench r2_sync`; `SYNC_IMAGES=N` and `R2_SYNC_CONCURRENCY=N` change the set.

#[path = "support/panel.rs"]
mod bench_panel;

#[path = "support/process.rs"]
mod process;

#[path = "../tests/support/s3.rs"]
mod s3;

use std::time::{Duration, Instant};

use bench_panel::BenchPanel;
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};

const KEY_ID: &str = "bench-r2-key";
const SECRET: &str = "bench-r2-secret-0123456789";
const FILE_BYTES: usize = 8 * 1024;

async fn seed(dir: &std::path::Path, rows: usize) -> u64 {
    let data = dir.join("data");
    let images = dir.join("images");
    std::fs::create_dir_all(&images).unwrap();
    let db = panel_actors::store::open(&data, &data.join("app.sqlite3")).await.unwrap();
    let mut total = 0u64;
    for chunk in (0..rows).collect::<Vec<_>>().chunks(5_000) {
        let txn = db.begin().await.unwrap();
        for &i in chunk {
            let filename = format!("sync-{i:06}.png");
            // Distinct bytes per file, as a real gallery has.
            let mut content = vec![(i % 251) as u8; FILE_BYTES];
            content[..8].copy_from_slice(&(i as u64).to_le_bytes());
            std::fs::write(images.join(&filename), &content).unwrap();
            total += content.len() as u64;
            let created = format!("2026-11-{:02}T{:02}:{:02}:00.000000Z", i % 28 + 1, i % 24, i % 60);
            let sql = "INSERT INTO gallery_entries (id, sort_seq, prompt, size, filename, model, favorite, bytes, sha256, created_at, completed_at) \
                       VALUES (?, ?, ?, '1024x1024', ?, 'gpt-image-2', 0, ?, ?, ?, ?)";
            let values: Vec<sea_orm::Value> = vec![
                format!("{i:08x}-0000-4000-8000-000000000000").into(),
                (i as i64 + 1).into(),
                format!("sync bench image #{i}").into(),
                filename.into(),
                (content.len() as i64).into(),
                format!("{i:064x}").into(),
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

/// Starts a sync and polls it to its end; returns the final status and the seconds it took.
async fn sync(panel: &BenchPanel, body: serde_json::Value) -> (serde_json::Value, f64) {
    let started = Instant::now();
    let response = panel
        .client
        .post(format!("{}/api/gallery/sync-jobs", panel.base))
        .header("origin", &panel.base)
        .header("cookie", &panel.cookie)
        .json(&body)
        .send()
        .await
        .unwrap();
    let job: serde_json::Value = response.json().await.unwrap();
    let id = job["job_id"].as_str().unwrap_or_else(|| panic!("a sync job: {job}")).to_string();
    loop {
        let status = panel.get_json(&format!("/api/gallery/sync-jobs/{id}")).await;
        if status["status"] == "success" || status["status"] == "error" {
            assert_eq!(status["status"], "success", "{status}");
            return (status, started.elapsed().as_secs_f64());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rows: usize = std::env::var("SYNC_IMAGES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let concurrency = std::env::var("R2_SYNC_CONCURRENCY").unwrap_or_else(|_| "8".into());
    let dir = tempfile::tempdir().unwrap();
    let bucket_root = dir.path().join("bucket");
    std::fs::create_dir_all(bucket_root.join("panel")).unwrap();
    let bucket = s3::start(&bucket_root, KEY_ID, SECRET).await;
    let bytes = seed(dir.path(), rows).await;
    println!(
        "r2 sync: {rows} images of {} KiB ({:.0} MB), R2_SYNC_CONCURRENCY={concurrency}",
        FILE_BYTES / 1024,
        bytes as f64 / 1e6
    );

    let env = [
        ("LOG_LEVEL", "warn"),
        ("UPSTREAM_ALLOW_PRIVATE_NETWORK", "true"),
        ("R2_ENDPOINT_HOST_ALLOWLIST", "127.0.0.1"),
        ("R2_SYNC_CONCURRENCY", concurrency.as_str()),
        ("BENCH_R2_KEY_ID", KEY_ID),
        ("BENCH_R2_SECRET", SECRET),
    ];
    let panel = BenchPanel::start(dir.path(), &env).await;
    let pid = panel.server.id().unwrap();
    let idle_mib = process::rss_kib(pid) as f64 / 1024.0;
    let settings = serde_json::json!({
        "api_url": "http://127.0.0.1:9",
        "r2_backup": {"enabled": true, "endpoint_url": bucket.endpoint, "bucket_name": "panel",
            "key_prefix": "gallery/", "access_key_id": "${BENCH_R2_KEY_ID}", "secret_access_key": "${BENCH_R2_SECRET}"}
    });
    let saved = panel
        .client
        .post(format!("{}/api/settings", panel.base))
        .header("origin", &panel.base)
        .header("cookie", &panel.cookie)
        .json(&settings)
        .send()
        .await
        .unwrap();
    assert!(saved.status().is_success(), "R2 settings saved: {}", saved.text().await.unwrap());

    let runs = [
        ("dry run", serde_json::json!({"dry_run": true}), "pending_upload_count"),
        ("first sync", serde_json::json!({}), "uploaded_count"),
        ("second sync (unchanged)", serde_json::json!({}), "total_count"),
        ("full reconcile", serde_json::json!({"full_reconcile": true}), "skipped_existing_count"),
    ];
    for (label, body, counted) in runs {
        let (status, seconds) = sync(&panel, body).await;
        let compared = status["total_count"].as_u64().unwrap();
        println!(
            "  {label}: {} {counted}, {compared} compared in {seconds:.2}s = {:.0} objects/s ({:.1} MB/s uploaded); server peak RSS {:.1} MiB (idle {idle_mib:.1})",
            status[counted],
            compared.max(status["uploaded_count"].as_u64().unwrap()) as f64 / seconds.max(1e-9),
            status["bytes_uploaded"].as_u64().unwrap() as f64 / 1e6 / seconds.max(1e-9),
            process::peak_rss_kib(pid) as f64 / 1024.0,
        );
    }
    let objects = std::fs::read_dir(bucket_root.join("panel/gallery")).unwrap().count();
    println!("  bucket holds {objects} entries under gallery/ (s3s-fs side files included)");
}
