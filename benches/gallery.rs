//! Gallery at 100,000 images: seeds rows (each with a small file) straight into SQLite, starts the
//! release server on that data, and prints p50/p95/p99 latencies of the listing queries at concurrency
//! 1 and 32; then thumbnails per second for 1024×1024 PNGs. Run with `cargo bench --bench gallery`.

use std::sync::Arc;
#[path = "support/panel.rs"]
mod bench_panel;

use bench_panel::BenchPanel;
use std::time::Instant;

use sea_orm::{ConnectionTrait, Statement, TransactionTrait};

const ROWS: usize = 100_000;
const SAMPLES: usize = 200;

const ENGLISH: [&str; 8] = [
    "a red fox in the snow",
    "city skyline at night",
    "watercolor owl",
    "panda eating bamboo",
    "retro robot portrait",
    "mountain lake sunrise",
    "neon street market",
    "cozy cabin interior",
];
const CHINESE: [&str; 6] = ["雪地里的小熊猫", "夜晚的城市天际线", "水彩猫头鹰", "山间湖泊日出", "霓虹街市", "温馨小屋"];
const MODELS: [&str; 4] = ["gpt-image-2", "gpt-image-1", "dall-e-3", "gpt-5.4"];
const PRESETS: [&str; 3] = ["Default", "Gateway", "Backup"];
const SIZES: [&str; 5] = ["auto", "1024x1024", "1536x1024", "1024x1536", "2048x2048"];

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn seed(dir: &std::path::Path) {
    let data = dir.join("data");
    let images = dir.join("images");
    std::fs::create_dir_all(&images).unwrap();
    let db = panel_actors::store::open(&data, &data.join("app.sqlite3")).await.unwrap();
    let png: &[u8] = b"\x89PNG\r\n\x1a\n";
    let started = Instant::now();
    for chunk in (0..ROWS).collect::<Vec<_>>().chunks(5_000) {
        let txn = db.begin().await.unwrap();
        for &i in chunk {
            let filename = format!("bench-{i:06}.png");
            std::fs::write(images.join(&filename), png).unwrap();
            let base = if i % 3 == 0 { CHINESE[i % CHINESE.len()] } else { ENGLISH[i % ENGLISH.len()] };
            let day = i % 365;
            let created =
                format!("2026-{:02}-{:02}T{:02}:{:02}:00.000000Z", day / 31 % 12 + 1, day % 28 + 1, i % 24, i % 60);
            let sql = "INSERT INTO gallery_entries (id, sort_seq, prompt, size, filename, model, api_preset_name, favorite, bytes, created_at, completed_at) \
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
            let values: Vec<sea_orm::Value> = vec![
                format!("{i:08x}-0000-4000-8000-000000000000").into(),
                (i as i64 + 1).into(),
                format!("{base} #{i} variant {}", i % 97).into(),
                SIZES[i % SIZES.len()].into(),
                filename.into(),
                MODELS[i % MODELS.len()].into(),
                PRESETS[i % PRESETS.len()].into(),
                i64::from(i % 10 == 0).into(),
                (1000 + (i % 5000) as i64).into(),
                created.clone().into(),
                created.into(),
            ];
            txn.execute_raw(Statement::from_sql_and_values(sea_orm::DbBackend::Sqlite, sql, values)).await.unwrap();
        }
        txn.commit().await.unwrap();
    }
    db.execute_unprepared("ANALYZE").await.unwrap();
    db.close().await.unwrap();
    println!("seeded {ROWS} rows with files in {:.1}s", started.elapsed().as_secs_f64());
}

async fn measure(client: &reqwest::Client, url: &str, cookie: &str, concurrency: usize) -> Vec<f64> {
    let per_task = SAMPLES / concurrency.max(1);
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, url, cookie) = (client.clone(), url.to_string(), cookie.to_string());
            tokio::spawn(async move {
                let mut times = Vec::new();
                for _ in 0..per_task.max(1) {
                    let started = Instant::now();
                    let response = client.get(&url).header("cookie", &cookie).send().await.unwrap();
                    assert_eq!(response.status(), 200, "{url}");
                    let _ = response.bytes().await.unwrap();
                    times.push(started.elapsed().as_secs_f64() * 1000.0);
                }
                times
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all.sort_by(f64::total_cmp);
    all
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path()).await;
    let panel = BenchPanel::start(dir.path(), &[("LOG_LEVEL", "error"), ("GRANIAN_RUNTIME_THREADS", "2")]).await;
    let BenchPanel { mut server, base, client, cookie } = panel;
    let queries = [
        ("first page", "/api/gallery?include_filter_options=false".to_string()),
        ("deep page (10,000)", "/api/gallery?page=10000&page_size=9&include_filter_options=false".to_string()),
        ("prompt search (English)", "/api/gallery?prompt=owl&include_filter_options=false".to_string()),
        ("prompt search (Chinese)", format!("/api/gallery?prompt={}&include_filter_options=false", "%E5%B0%8F%E7%86%8A%E7%8C%AB")),
        ("combined filter", "/api/gallery?model=dall-e-3&preset=Gateway&size=1024x1024&favorite=false&date_from=2026-03-01&date_to=2026-09-30&include_filter_options=false".to_string()),
        ("counts + total bytes + filter options", "/api/gallery?model=gpt-image-2&include_total_bytes=true&include_filter_options=true".to_string()),
    ];
    for concurrency in [1usize, 32] {
        println!("-- concurrency {concurrency} ({SAMPLES} requests per query)");
        for (name, path) in &queries {
            let times = measure(&client, &format!("{base}{path}"), &cookie, concurrency).await;
            println!(
                "{name:<40} p50 {:>7.2} ms  p95 {:>7.2} ms  p99 {:>7.2} ms",
                percentile(&times, 0.50),
                percentile(&times, 0.95),
                percentile(&times, 0.99)
            );
        }
    }
    let _ = server.kill().await;

    // Thumbnails: the renderer itself on 1024×1024 PNGs, one CPU.
    let images = dir.path().join("thumb-src");
    let settings = panel_actors::thumbnailer::ThumbnailSettings {
        images_dir: images.clone(),
        thumbnails_dir: images.join("thumbs"),
        max_side: 512,
        concurrency: 1,
    };
    std::fs::create_dir_all(&settings.thumbnails_dir).unwrap();
    let mut state = 0x2545_F491u32;
    let source = image::RgbImage::from_fn(1024, 1024, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        image::Rgb([(x / 4) as u8, (y / 4) as u8, (state & 0x3f) as u8])
    });
    let count = 20;
    for i in 0..count {
        source.save(images.join(format!("t{i}.png"))).unwrap();
    }
    let settings = Arc::new(settings);
    let started = Instant::now();
    for i in 0..count {
        panel_actors::thumbnailer::render(&settings, &format!("t{i}.png"), None, 100_000_000).unwrap();
    }
    let seconds = started.elapsed().as_secs_f64();
    let size = std::fs::metadata(settings.thumbnails_dir.join(panel_actors::media::thumbs::thumbnail_name("t0.png")))
        .unwrap()
        .len();
    println!(
        "thumbnails: {:.1} per second (1024x1024 PNG -> 512 px WebP, {} bytes each)",
        count as f64 / seconds,
        size
    );
}
