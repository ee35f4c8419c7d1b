//! Job routes: one job, the active list or the history, clearing history, and cancel.

use std::sync::Arc;

use panel_actors::dispatcher::Cancelled;
use panel_actors::store::jobs::{self as store, ListQuery};
use panel_actors::store::time::{from_db, to_db};
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;

use super::ApiTags;
use super::error::{ApiError, ApiResult};
use super::job_view::JobView;
use super::query_params::{BoolParam, IntParam, TextParam, raw};
use super::status_message::StatusMessage;
use crate::app::AppState;

pub struct JobsApi;

pub fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "Generation job not found")
}

fn store_failed(err: panel_actors::store::StoreError) -> ApiError {
    tracing::error!(error = %err, "job store");
    ApiError::internal()
}

/// A job the dispatcher is running, as it is now (SQLite may be up to a second behind).
fn live_view(state: &AppState, job_id: &str) -> Option<JobView> {
    let json = state.engine.job_feed().current_json(job_id)?;
    serde_json::from_slice(&json).ok()
}

/// One job as clients see it, or `None` when it does not exist.
pub async fn view(state: &AppState, job_id: &str) -> ApiResult<Option<JobView>> {
    if let Some(live) = live_view(state, job_id) {
        return Ok(Some(live));
    }
    let base = state.settings.current().public_image_base_url.clone();
    let found = store::get(&state.db, job_id).await.map_err(store_failed)?;
    Ok(found.map(|(job, units)| JobView::new(&job, &units, base.as_deref())))
}

async fn list(state: &AppState, query: &ListQuery) -> ApiResult<Vec<JobView>> {
    let base = state.settings.current().public_image_base_url.clone();
    let rows = store::list(&state.db, query).await.map_err(store_failed)?;
    let mut views: Vec<JobView> = rows
        .iter()
        .map(|(job, units)| live_view(state, &job.id).unwrap_or_else(|| JobView::new(job, units, base.as_deref())))
        .collect();
    if !query.include_finished {
        // Live jobs may be newer than their rows: the active list is ordered by what clients see.
        views.sort_by(|a, b| (&b.updated_at, &b.job_id).cmp(&(&a.updated_at, &a.job_id)));
    }
    Ok(views)
}

/// Booleans as query strings carry them.
fn query_bool(name: &str, value: Option<String>) -> ApiResult<bool> {
    match value.as_deref().map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(false),
        Some(v) if ["true", "1", "yes", "on", "t", "y"].contains(&v.as_str()) => Ok(true),
        Some(v) if ["false", "0", "no", "off", "f", "n"].contains(&v.as_str()) => Ok(false),
        Some(_) => {
            Err(ApiError::validation(format!("{name} - Input should be a valid boolean, unable to interpret input")))
        }
    }
}

fn query_int(name: &str, value: Option<String>, default: i64, min: i64, max: i64) -> ApiResult<i64> {
    let Some(text) = value else { return Ok(default) };
    let number: i64 = text.trim().parse().map_err(|_| {
        ApiError::validation(format!("{name} - Input should be a valid integer, unable to parse string as an integer"))
    })?;
    if number < min {
        return Err(ApiError::validation(format!("{name} - Input should be greater than or equal to {min}")));
    }
    if number > max {
        return Err(ApiError::validation(format!("{name} - Input should be less than or equal to {max}")));
    }
    Ok(number)
}

#[OpenApi(tag = "ApiTags::Jobs")]
impl JobsApi {
    /// Queued and running jobs; with `include_finished=true`, the history (newest first, `limit`/`offset`
    /// or a `before_updated_at` + `before_job_id` cursor), optionally only failed jobs.
    #[oai(path = "/api/generate/jobs", method = "get", operation_id = "list_jobs")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        include_finished: Query<Option<BoolParam>>,
        failed_only: Query<Option<BoolParam>>,
        limit: Query<Option<IntParam<1, 500>>>,
        offset: Query<Option<IntParam<0, { i64::MAX }>>>,
        before_updated_at: Query<Option<TextParam<64>>>,
        before_job_id: Query<Option<TextParam<128>>>,
    ) -> ApiResult<Json<Vec<JobView>>> {
        let include_finished = query_bool("include_finished", raw(include_finished.0))?;
        let failed_only = query_bool("failed_only", raw(failed_only.0))?;
        let limit = query_int("limit", raw(limit.0), 100, 1, 500)? as u64;
        let offset = query_int("offset", raw(offset.0), 0, 0, i64::MAX)? as u64;
        let seek_time = raw(before_updated_at.0).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let seek_id = raw(before_job_id.0).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        if seek_time.as_ref().is_some_and(|v| v.chars().count() > 64) {
            return Err(ApiError::validation("before_updated_at - String should have at most 64 characters"));
        }
        if seek_id.as_ref().is_some_and(|v| v.chars().count() > 128) {
            return Err(ApiError::validation("before_job_id - String should have at most 128 characters"));
        }
        // The cursor comes back in display form; compare in stored form.
        let before = match (seek_time, seek_id) {
            (Some(time), Some(id)) => Some((from_db(&time).map(to_db).unwrap_or(time), id)),
            _ => None,
        };
        let query = ListQuery { include_finished, failed_only, limit, offset, before };
        Ok(Json(list(&state, &query).await?))
    }

    /// Delete every finished job from the history; queued and running jobs and gallery images stay.
    #[oai(path = "/api/generate/jobs/history", method = "delete", operation_id = "clear_job_history")]
    async fn clear_history(&self, state: Data<&Arc<AppState>>) -> ApiResult<Json<StatusMessage>> {
        let deleted = store::delete_history(&state.db).await.map_err(store_failed)?;
        let noun = if deleted == 1 { "entry" } else { "entries" };
        Ok(Json(StatusMessage::new("success", format!("Deleted {deleted} job history {noun}"))))
    }

    /// One job with its images, stage and timings.
    #[oai(path = "/api/generate/:job_id", method = "get", operation_id = "get_job")]
    async fn get(&self, state: Data<&Arc<AppState>>, job_id: Path<String>) -> ApiResult<Json<JobView>> {
        view(&state, &job_id.0).await?.map(Json).ok_or_else(not_found)
    }

    /// Cancel a queued or running job. In-flight upstream calls are aborted and no image from the job is
    /// saved afterwards; the job stays in the history as `cancelled`.
    #[oai(path = "/api/generate/:job_id", method = "delete", operation_id = "cancel_job")]
    async fn cancel(&self, state: Data<&Arc<AppState>>, job_id: Path<String>) -> ApiResult<Json<StatusMessage>> {
        let outcome = state.engine.cancel(&job_id.0).await.map_err(|err| {
            tracing::error!(error = %err, "cancel failed");
            ApiError::internal()
        })?;
        match outcome {
            Cancelled::NotFound | Cancelled::NotActive => Err(not_found()),
            Cancelled::AlreadyFinished => Err(ApiError::new(StatusCode::CONFLICT, "Generation job already finished")),
            Cancelled::Done => Ok(Json(StatusMessage::new("success", "Generation job cancelled"))),
        }
    }
}
