//! The job as clients see it (REST and SSE alike): every key always present, `null` when unknown.
//! Times are UTC with microseconds; `completed_at` is shown in Beijing time (`+08:00`), as the panel
//! has always shown completion times.

use std::collections::BTreeMap;

use panel_actors::store::jobs::{JobRow, UnitRow};
use poem_openapi::Object;

#[derive(Debug, Clone, PartialEq, Object, serde::Serialize, serde::Deserialize)]
pub struct JobImage {
    pub image_id: String,
    pub image_url: String,
    pub filename: String,
    #[oai(nullable)]
    pub image_width: Option<i64>,
    #[oai(nullable)]
    pub image_height: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Object, serde::Serialize, serde::Deserialize)]
pub struct JobView {
    pub job_id: String,
    /// `queued`, `running`, `success`, `partial_failure`, `error`, `upstream_error`, `cancelled`, `interrupted`.
    pub status: String,
    #[oai(nullable)]
    pub message: Option<String>,
    #[oai(nullable)]
    pub stage: Option<String>,
    /// `generation` or `edit`.
    #[oai(nullable)]
    pub operation: Option<String>,
    #[oai(nullable)]
    pub id: Option<String>,
    #[oai(nullable)]
    pub image_id: Option<String>,
    #[oai(nullable)]
    pub image_url: Option<String>,
    pub images: Vec<JobImage>,
    #[oai(nullable)]
    pub prompt: Option<String>,
    #[oai(nullable)]
    pub size: Option<String>,
    pub created_at: String,
    #[oai(nullable)]
    pub started_at: Option<String>,
    #[oai(nullable)]
    pub completed_at: Option<String>,
    pub updated_at: String,
    #[oai(nullable)]
    pub image_width: Option<i64>,
    #[oai(nullable)]
    pub image_height: Option<i64>,
    #[oai(nullable)]
    pub model: Option<String>,
    #[oai(nullable)]
    pub quality: Option<String>,
    #[oai(nullable)]
    pub output_format: Option<String>,
    #[oai(nullable)]
    pub output_compression: Option<i64>,
    #[oai(nullable)]
    pub response_format: Option<String>,
    #[oai(nullable)]
    pub n: Option<i64>,
    #[oai(nullable)]
    pub completed_count: Option<i64>,
    #[oai(nullable)]
    pub success_count: Option<i64>,
    #[oai(nullable)]
    pub failure_count: Option<i64>,
    #[oai(nullable)]
    pub api_path: Option<String>,
    #[oai(nullable)]
    pub api_preset_name: Option<String>,
    /// Seconds with two decimals and a trailing `s`, e.g. `12.34s`.
    #[oai(nullable)]
    pub duration: Option<String>,
    /// Milliseconds per stage: `upstream_wait`, `download_decode`, `validate`, `db_insert`.
    pub stage_timings: BTreeMap<String, f64>,
    #[oai(nullable)]
    pub error: Option<String>,
}

pub const TERMINAL: [&str; 6] = ["success", "partial_failure", "error", "upstream_error", "cancelled", "interrupted"];

impl JobView {
    pub fn is_terminal(&self) -> bool {
        TERMINAL.contains(&self.status.as_str())
    }

    pub fn new(job: &JobRow, units: &[UnitRow], public_image_base: Option<&str>) -> JobView {
        let images: Vec<JobImage> = units
            .iter()
            .filter(|u| u.status == "success")
            .filter_map(|u| {
                let filename = u.image_filename.clone()?;
                Some(JobImage {
                    image_id: u.image_id.clone()?,
                    image_url: image_url(&filename, public_image_base),
                    filename,
                    image_width: u.image_width,
                    image_height: u.image_height,
                })
            })
            .collect();
        let first = images.first();
        JobView {
            job_id: job.id.clone(),
            status: job.status.clone(),
            message: job.message.clone(),
            stage: job.stage.clone(),
            operation: Some(job.operation.clone()),
            id: first.map(|i| i.image_id.clone()),
            image_id: first.map(|i| i.image_id.clone()),
            image_url: first.map(|i| i.image_url.clone()),
            image_width: first.and_then(|i| i.image_width),
            image_height: first.and_then(|i| i.image_height),
            prompt: Some(job.prompt.clone()),
            size: Some(job.size.clone()),
            created_at: utc(&job.created_at),
            started_at: job.started_at.as_deref().map(utc),
            completed_at: job.completed_at.as_deref().map(beijing),
            updated_at: utc(&job.updated_at),
            model: job.model.clone(),
            quality: job.quality.clone(),
            output_format: job.output_format.clone(),
            output_compression: job.output_compression,
            response_format: job.response_format.clone(),
            n: Some(job.n),
            completed_count: Some(job.completed_count),
            success_count: Some(job.success_count),
            failure_count: Some(job.failure_count),
            api_path: Some(job.api_path.clone()),
            api_preset_name: job.api_preset_name.clone(),
            duration: job.duration_seconds.map(|s| format!("{s:.2}s")),
            stage_timings: serde_json::from_str(&job.stage_timings).unwrap_or_default(),
            error: job.error.clone(),
            images,
        }
    }
}

/// The engine's renderer of live job frames: the same view as the REST routes, with the public image
/// base URL as it is when the job changes.
pub fn renderer(settings: std::sync::Arc<crate::settings::SettingsHandle>) -> panel_actors::dispatcher::JobRenderer {
    std::sync::Arc::new(move |job: &JobRow, units: &[UnitRow]| {
        let base = settings.current().public_image_base_url.clone();
        serde_json::to_string(&JobView::new(job, units, base.as_deref())).unwrap_or_else(|_| "{}".into())
    })
}

/// Percent-encodes a file name as one URL path segment.
pub fn encode_segment(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `/api/image/<encoded filename>`, or the public base URL when one is configured.
pub fn image_url(filename: &str, public_image_base: Option<&str>) -> String {
    let encoded = encode_segment(filename);
    match public_image_base {
        Some(base) => format!("{base}/{encoded}"),
        None => format!("/api/image/{encoded}"),
    }
}

pub use panel_actors::store::time::{shown_beijing as beijing, shown_utc as utc};
