//! A job's rows as the dispatcher changes them: the parent's state aggregated from its units, the
//! stage texts the contract names, and the gallery row a finished unit becomes. Pure functions.

use crate::store::gallery::GalleryRow;
use crate::store::jobs::{self, JobRow, UnitRow, now};
use crate::upstream::unit::SavedImage;

pub fn is_edit(job: &JobRow) -> bool {
    job.operation == "edit"
}

pub fn starting_stage(job: &JobRow) -> (&'static str, &'static str) {
    if is_edit(job) {
        ("starting_edit", "Starting image edit")
    } else {
        ("starting_generation", "Starting image generation")
    }
}

pub fn completed_message(job: &JobRow) -> &'static str {
    if is_edit(job) { "Image edit completed" } else { "Image generation completed" }
}

pub fn failed_stage(job: &JobRow) -> &'static str {
    if is_edit(job) { "edit_failed" } else { "generation_failed" }
}

pub fn gallery_row(job: &JobRow, saved: &SavedImage, seconds: f64, stamp: &str) -> GalleryRow {
    GalleryRow {
        id: saved.image_id.clone(),
        sort_seq: 0,
        prompt: job.prompt.clone(),
        size: job.size.clone(),
        filename: saved.filename.clone(),
        thumbnail_filename: None,
        image_width: Some(i64::from(saved.width)),
        image_height: Some(i64::from(saved.height)),
        model: job.model.clone(),
        quality: job.quality.clone(),
        output_format: Some(saved.format.to_string()),
        output_compression: job.output_compression,
        response_format: job.response_format.clone(),
        n: Some(1),
        api_path: Some(job.api_path.clone()),
        api_preset_name: job.api_preset_name.clone(),
        duration_seconds: Some(seconds),
        favorite: false,
        bytes: Some(saved.bytes as i64),
        sha256: Some(saved.sha256.clone()),
        job_id: Some(job.id.clone()),
        created_at: stamp.to_string(),
        completed_at: Some(stamp.to_string()),
    }
}

/// The parent's state from its units; `true` when every unit has ended.
pub fn aggregate(mut job: JobRow, units: &[UnitRow]) -> (JobRow, bool) {
    let total = units.len() as i64;
    let ended = |u: &&UnitRow| !jobs::ACTIVE.contains(&u.status.as_str());
    let succeeded: Vec<&UnitRow> = units.iter().filter(|u| u.status == "success").collect();
    let failed: Vec<&UnitRow> = units.iter().filter(|u| u.status == "error" || u.status == "upstream_error").collect();
    job.completed_count = units.iter().filter(ended).count() as i64;
    job.success_count = succeeded.len() as i64;
    job.failure_count = failed.len() as i64;
    job.updated_at = now();
    let verb = if is_edit(&job) { "Editing" } else { "Generating" };
    if job.completed_count < total {
        job.status = "running".into();
        job.stage = Some("waiting_for_api".into());
        job.message = Some(format!("{verb} images ({}/{total} completed)", job.completed_count));
        return (job, false);
    }
    let finished_at = units.iter().filter_map(|u| u.completed_at.clone()).max();
    job.completed_at = finished_at.or_else(|| Some(now()));
    job.duration_seconds = span_seconds(units);
    let mut sums: std::collections::BTreeMap<String, f64> = std::collections::BTreeMap::new();
    for unit in &succeeded {
        let timings: std::collections::BTreeMap<String, f64> =
            serde_json::from_str(&unit.stage_timings).unwrap_or_default();
        for (key, value) in timings {
            *sums.entry(key).or_default() += value;
        }
    }
    job.stage_timings = serde_json::to_string(
        &sums.into_iter().map(|(k, v)| (k, (v * 100.0).round() / 100.0)).collect::<std::collections::BTreeMap<_, _>>(),
    )
    .unwrap_or_else(|_| "{}".into());
    let summary = failure_summary(&job, units, &failed);
    if failed.is_empty() && !succeeded.is_empty() {
        job.status = "success".into();
        job.stage = Some("completed".into());
        job.message = Some(completed_message(&job).into());
        job.error = None;
    } else if !succeeded.is_empty() {
        job.status = "partial_failure".into();
        job.stage = Some("completed_with_failures".into());
        job.message =
            Some(format!("Generated {} of {total} requested images; {} failed", succeeded.len(), failed.len()));
        job.error = Some(summary);
    } else if failed.is_empty() {
        job.status = "cancelled".into();
        job.stage = Some("cancelled".into());
    } else {
        let all_upstream = failed.iter().all(|u| u.status == "upstream_error");
        job.status = if all_upstream { "upstream_error" } else { "error" }.into();
        job.stage = Some(failed_stage(&job).into());
        job.message = Some(summary.clone());
        job.error = Some(summary);
    }
    (job, true)
}

fn span_seconds(units: &[UnitRow]) -> Option<f64> {
    if units.len() == 1 {
        return units[0].duration_seconds;
    }
    let parse = |t: &Option<String>| t.as_deref().and_then(crate::store::time::from_db);
    let start = units.iter().filter_map(|u| parse(&u.started_at)).min();
    let end = units.iter().filter_map(|u| parse(&u.completed_at)).max();
    match (start, end) {
        (Some(start), Some(end)) if end >= start => Some((end - start).as_seconds_f64()),
        _ => units.iter().filter_map(|u| u.duration_seconds).reduce(f64::max),
    }
}

fn failure_summary(job: &JobRow, units: &[UnitRow], failed: &[&UnitRow]) -> String {
    if units.len() == 1 {
        return units[0].error.clone().unwrap_or_default();
    }
    let what = if is_edit(job) { "image edit requests" } else { "image generation requests" };
    let samples: Vec<String> = failed
        .iter()
        .take(3)
        .map(|u| format!("#{}: {}", u.unit_index + 1, u.error.clone().unwrap_or_default()))
        .collect();
    let more = failed.len().saturating_sub(3);
    let tail = if more > 0 { format!("; ... and {more} more") } else { String::new() };
    format!("{} of {} {what} failed: {}{tail}", failed.len(), units.len(), samples.join("; "))
}
