//! The body a finished job's webhook carries: the job's non-null public fields minus the prompt,
//! message and stage timings, plus `event` and `delivered_at` (and, for failures, `error_code` and a
//! fresh `correlation_id`).

use std::sync::Arc;

use chrono::{SecondsFormat, Utc};
use panel_actors::dispatcher::PayloadBuilder;
use panel_actors::store::jobs::FAILED;

use super::job_view::JobView;

const ALLOWED: [&str; 28] = [
    "job_id",
    "status",
    "stage",
    "operation",
    "id",
    "image_id",
    "image_url",
    "images",
    "size",
    "created_at",
    "started_at",
    "completed_at",
    "updated_at",
    "image_width",
    "image_height",
    "model",
    "quality",
    "output_format",
    "output_compression",
    "response_format",
    "n",
    "completed_count",
    "success_count",
    "failure_count",
    "api_path",
    "api_preset_name",
    "duration",
    "error",
];

pub fn builder(public_image_base: Option<String>) -> PayloadBuilder {
    Arc::new(move |job, units| {
        let view = JobView::new(job, units, public_image_base.as_deref());
        let mut body = serde_json::Map::new();
        if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(&view) {
            for (key, value) in fields {
                if ALLOWED.contains(&key.as_str()) && !value.is_null() {
                    body.insert(key, value);
                }
            }
        }
        body.insert("event".into(), "image.job.finished".into());
        body.insert("delivered_at".into(), Utc::now().to_rfc3339_opts(SecondsFormat::Micros, false).into());
        if FAILED.contains(&view.status.as_str()) {
            body.insert("error_code".into(), "job_failed".into());
            let id: String = panel_actors::hex::encode(&rand::random::<[u8; 16]>());
            body.insert("correlation_id".into(), id.into());
        }
        serde_json::Value::Object(body).to_string()
    })
}
