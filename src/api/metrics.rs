//! `GET /api/metrics` (JSON, or Prometheus text when asked for `text/plain`) and
//! `GET /api/metrics/prometheus`, both behind `ENABLE_METRICS` and the access gate.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use panel_actors::store::jobs;
use poem::Request;
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, Object, OpenApi, ResponseContent};
use serde_json::{Map, Value, json};

use super::ApiTags;
use super::error::{ApiError, ApiResult};
use crate::app::AppState;

pub struct MetricsApi;

#[derive(Debug, Object)]
pub struct TimingStats {
    pub count: u64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// Counters since start, latency summaries (ms) over the last 2048 samples, current gauges and rates.
#[derive(Debug, Object)]
pub struct MetricsReport {
    /// Always true (a disabled endpoint answers 404).
    pub enabled: bool,
    pub counters: BTreeMap<String, u64>,
    pub timings_ms: BTreeMap<String, TimingStats>,
    pub gauges: BTreeMap<String, f64>,
    pub rates: BTreeMap<String, f64>,
    /// `<pid>-<id>` of this process.
    pub worker_id: String,
    /// Always empty: one process does all background work, without leases.
    pub background_leases: Vec<Value>,
    /// This process only, with `age_seconds` 0.
    pub workers: Vec<Value>,
}

/// JSON, or the Prometheus text exposition format 0.0.4.
#[derive(ResponseContent)]
pub enum MetricsBody {
    Json(Json<MetricsReport>),
    #[oai(content_type = "text/plain; version=0.0.4; charset=utf-8")]
    Text(PlainText<String>),
}

#[derive(ApiResponse)]
pub enum MetricsResponse {
    /// The metrics; one 200 response with both media types.
    #[oai(status = 200)]
    Ok(MetricsBody),
}

fn worker_id() -> String {
    format!("{}-main", std::process::id())
}

/// Peak resident memory of this process (VmHWM), in bytes.
fn rss_peak_bytes() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|value| value.parse::<f64>().ok())
        .unwrap_or(0.0);
    kib * 1024.0
}

async fn report(state: &AppState) -> ApiResult<MetricsReport> {
    let config = state.settings.current();
    if !config.enable_metrics {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "Metrics endpoint is disabled"));
    }
    let busy_units = jobs::busy_units(&state.db).await.map_err(|_| ApiError::internal())?;
    let counts = jobs::active_counts(&state.db).await.map_err(|_| ApiError::internal())?;
    let active: i64 = counts.iter().map(|(_, _, n)| n).sum();
    let metrics = &state.metrics;
    let (budget_capacity, budget_used) = state.transport.memory_budget_usage();
    let mut gauges = BTreeMap::from([
        ("upstream.memory_budget_capacity_bytes".to_string(), budget_capacity as f64),
        ("upstream.memory_budget_used_bytes".to_string(), budget_used as f64),
        ("image_jobs.active".to_string(), active as f64),
        ("image_jobs.active_units".to_string(), busy_units as f64),
        ("image_jobs.running_capacity".to_string(), config.max_active_jobs as f64),
        ("image_jobs.queued_capacity".to_string(), config.max_queued_jobs as f64),
        ("image_jobs.capacity".to_string(), (config.max_active_jobs as u64 + config.max_queued_jobs) as f64),
        ("sse.active_connections".to_string(), state.sse_limiter.open_count() as f64),
        ("process.rss_peak_bytes".to_string(), rss_peak_bytes()),
        ("workers.active".to_string(), 1.0),
    ]);
    // Jobs waiting and running, in all and per operation (zero when there are none).
    for status in jobs::ACTIVE {
        let of = |operation: Option<&str>| {
            let matching = counts.iter().filter(|(op, st, _)| st == status && operation.is_none_or(|o| o == op));
            matching.map(|(_, _, n)| *n as f64).sum::<f64>()
        };
        gauges.insert(format!("image_jobs.{status}"), of(None));
        for operation in ["generation", "edit"] {
            gauges.insert(format!("image_jobs.{operation}.{status}.current"), of(Some(operation)));
        }
    }
    let rates = BTreeMap::from([
        ("image_jobs.generation.failure_ratio".to_string(), metrics.failure_ratio("generation")),
        ("image_jobs.edit.failure_ratio".to_string(), metrics.failure_ratio("edit")),
    ]);
    let summaries = metrics.timings();
    let counters = metrics.counters();
    let reference = json!({
        "counters": counters,
        "gauges": gauges,
        "rates": rates,
        "timings_ms": summaries.iter().map(|(name, t)| {
            (name.clone(), json!({"count": t.count, "p50": t.p50, "p95": t.p95, "p99": t.p99, "max": t.max}))
        }).collect::<Map<String, Value>>(),
    });
    let timings_ms: BTreeMap<String, TimingStats> = summaries
        .into_iter()
        .map(|(name, t)| (name, TimingStats { count: t.count, p50: t.p50, p95: t.p95, p99: t.p99, max: t.max }))
        .collect();
    let worker = json!({"worker_id": worker_id(), "updated_at": chrono::Utc::now().to_rfc3339(), "age_seconds": 0.0, "reference": reference});
    Ok(MetricsReport {
        enabled: true,
        counters,
        timings_ms,
        gauges,
        rates,
        worker_id: worker_id(),
        background_leases: Vec::new(),
        workers: vec![worker],
    })
}

/// `image_jobs.generation.queued` → `image_jobs_generation_queued`.
fn prometheus_name(name: &str) -> String {
    let replaced: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    replaced.trim_matches('_').to_ascii_lowercase()
}

fn prometheus_text(report: &MetricsReport) -> String {
    let mut out = String::new();
    let mut line = |kind: &str, name: String, value: f64| {
        let _ = writeln!(out, "# TYPE {name} {kind}\n{name} {value}");
    };
    for (name, value) in &report.counters {
        line("counter", format!("gpt_image_panel_{}_total", prometheus_name(name)), *value as f64);
    }
    for (name, value) in report.gauges.iter().chain(&report.rates) {
        line("gauge", format!("gpt_image_panel_{}", prometheus_name(name)), *value);
    }
    for (name, t) in &report.timings_ms {
        let base = format!("gpt_image_panel_{}", prometheus_name(name));
        line("gauge", format!("{base}_count"), t.count as f64);
        for (suffix, value) in [("p50", t.p50), ("p95", t.p95), ("p99", t.p99), ("max", t.max)] {
            line("gauge", format!("{base}_{suffix}_ms"), value);
        }
    }
    let worker = report.worker_id.replace(['\\', '"'], "_");
    let _ = writeln!(
        out,
        "# TYPE gpt_image_panel_worker_snapshot_age_seconds gauge\ngpt_image_panel_worker_snapshot_age_seconds{{worker_id=\"{worker}\"}} 0"
    );
    out
}

#[OpenApi(tag = "ApiTags::Version")]
impl MetricsApi {
    /// Metrics as JSON, or Prometheus text when `Accept` includes `text/plain` (404 unless `ENABLE_METRICS`).
    #[oai(path = "/api/metrics", method = "get", operation_id = "metrics")]
    async fn metrics(&self, state: Data<&Arc<AppState>>, req: &Request) -> ApiResult<MetricsResponse> {
        let report = report(&state).await?;
        let wants_text = req.header("accept").is_some_and(|accept| accept.contains("text/plain"));
        Ok(if wants_text {
            MetricsResponse::Ok(MetricsBody::Text(PlainText(prometheus_text(&report))))
        } else {
            MetricsResponse::Ok(MetricsBody::Json(Json(report)))
        })
    }

    /// Metrics in the Prometheus text format (404 unless `ENABLE_METRICS`).
    #[oai(path = "/api/metrics/prometheus", method = "get", operation_id = "metrics_prometheus")]
    async fn prometheus(&self, state: Data<&Arc<AppState>>) -> ApiResult<MetricsResponse> {
        Ok(MetricsResponse::Ok(MetricsBody::Text(PlainText(prometheus_text(&report(&state).await?)))))
    }
}
