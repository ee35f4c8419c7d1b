//! R2 backup sync: `POST /api/gallery/sync-jobs` starts one (a dry run only counts what would be
//! uploaded), its status and its SSE progress (`event: sync`). The checks run in the contract's order:
//! an empty gallery, the R2 settings, then the single sync slot.

use std::sync::Arc;

use panel_actors::r2_sync_run::SyncReport;
use panel_actors::r2_syncer::{SyncConfigError, SyncRefusal, SyncRequest, SyncSettings};
use panel_actors::store::gallery as store;
use panel_actors::store::gallery_jobs::GalleryJob;
use panel_actors::store::time::shown_utc;
use poem::Request;
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::ApiTags;
use super::error::{ApiError, ApiResult};
use super::gallery_job_events::job_stream;
use super::job_events::EventStreamResponse;
use super::strict_json::{OptionalJson, Validate};
use crate::app::AppState;
use crate::r2_sync_settings::PanelSyncSettings;

pub struct GallerySyncApi;

/// What to sync.
#[derive(Debug, Object, Deserialize, Default)]
#[serde(deny_unknown_fields)]
#[oai(deny_unknown_fields)]
pub struct GallerySyncRequest {
    /// Count what would be uploaded; upload and record nothing.
    #[serde(default)]
    #[oai(default)]
    pub dry_run: bool,
    /// Compare every gallery file with the bucket, not only those changed since the last sync (finds
    /// objects deleted from the bucket by hand).
    #[serde(default)]
    #[oai(default)]
    pub full_reconcile: bool,
}

impl Validate for GallerySyncRequest {}

/// An R2 backup sync and how far it got.
#[derive(Debug, Clone, Object, serde::Serialize)]
pub struct GallerySyncJobStatus {
    pub job_id: String,
    /// `queued`, `running`, `success` or `error`.
    pub status: String,
    /// `queued`, `preparing`, `listing_remote`, `comparing`, `preflight` (dry run), `uploading`,
    /// `checkpoint`, `completed` or `error`.
    pub stage: String,
    pub message: String,
    /// 0–100, by files compared.
    pub progress: i64,
    pub created_at: String,
    pub updated_at: String,
    #[oai(nullable)]
    pub error: Option<String>,
    /// Unique gallery files this sync compares.
    pub total_count: u64,
    /// Files compared so far, missing ones included.
    pub compared_count: u64,
    pub uploaded_count: u64,
    /// Dry runs only: files the bucket lacks.
    pub pending_upload_count: u64,
    /// Files the bucket already holds (never overwritten).
    pub skipped_existing_count: u64,
    /// Gallery rows whose file is absent, unsafe or unnamed.
    pub missing_local_count: u64,
    pub failed_count: u64,
    /// Bytes of the files compared that exist locally.
    pub bytes_total: u64,
    pub bytes_uploaded: u64,
    pub dry_run: bool,
    /// A full reconcile's last completed page ends at this filename.
    #[oai(nullable)]
    pub checkpoint_filename: Option<String>,
}

impl GallerySyncJobStatus {
    pub fn new(job: &GalleryJob) -> Self {
        let report: SyncReport = serde_json::from_str(&job.payload).unwrap_or_default();
        GallerySyncJobStatus {
            job_id: job.id.clone(),
            status: job.status.clone(),
            stage: job.stage.clone(),
            message: job.message.clone(),
            progress: job.progress,
            created_at: shown_utc(&job.created_at),
            updated_at: shown_utc(&job.updated_at),
            error: job.error.clone(),
            total_count: report.total_count,
            compared_count: report.compared_count,
            uploaded_count: report.uploaded_count,
            pending_upload_count: report.pending_upload_count,
            skipped_existing_count: report.skipped_existing_count,
            missing_local_count: report.missing_local_count,
            failed_count: report.failed_count,
            bytes_total: report.bytes_total,
            bytes_uploaded: report.bytes_uploaded,
            dry_run: report.dry_run,
            checkpoint_filename: report.start_after_filename.filter(|_| report.full_reconcile),
        }
    }
}

#[derive(ApiResponse)]
pub enum SyncAccepted {
    #[oai(status = 202)]
    Job(Json<GallerySyncJobStatus>),
}

const NOT_FOUND: &str = "Gallery sync job not found";

async fn status_of(state: &AppState, job_id: &str) -> ApiResult<GalleryJob> {
    match state.engine.sync_status(job_id).await {
        Ok(Some(job)) => Ok(job),
        Ok(None) => Err(ApiError::new(StatusCode::NOT_FOUND, NOT_FOUND)),
        Err(_) => Err(unavailable()),
    }
}

fn unavailable() -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "The R2 syncer is not available; nothing was started")
}

#[OpenApi(tag = "ApiTags::Gallery")]
impl GallerySyncApi {
    /// Starts an R2 backup sync of the gallery's originals (no body or `{}`: incremental, real).
    #[oai(path = "/api/gallery/sync-jobs", method = "post", operation_id = "create_sync_job")]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        body: OptionalJson<GallerySyncRequest>,
    ) -> ApiResult<SyncAccepted> {
        let count = store::count(&state.db, &Default::default()).await.map_err(|_| ApiError::internal())?;
        if count == 0 {
            return Err(ApiError::new(StatusCode::NOT_FOUND, "No images in gallery"));
        }
        let settings = PanelSyncSettings { db: state.db.clone(), settings: state.settings.clone() };
        let target = settings.target().await.map_err(|err| match err {
            SyncConfigError::Disabled => ApiError::new(StatusCode::BAD_REQUEST, err.to_string()),
            SyncConfigError::Invalid(message) => ApiError::new(StatusCode::BAD_REQUEST, message),
        })?;
        let request = SyncRequest { dry_run: body.0.dry_run, full_reconcile: body.0.full_reconcile };
        match state.engine.start_sync(request, target).await {
            Ok(job) => Ok(SyncAccepted::Job(Json(GallerySyncJobStatus::new(&job)))),
            Err(SyncRefusal::Busy) => {
                Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, "A gallery R2 sync job is already queued or running."))
            }
            Err(SyncRefusal::Failed(message)) => {
                tracing::error!(error = %message, "sync request failed");
                Err(unavailable())
            }
        }
    }

    #[oai(path = "/api/gallery/sync-jobs/:job_id", method = "get", operation_id = "sync_job")]
    async fn status(&self, state: Data<&Arc<AppState>>, job_id: Path<String>) -> ApiResult<Json<GallerySyncJobStatus>> {
        Ok(Json(GallerySyncJobStatus::new(&status_of(&state, &job_id.0).await?)))
    }

    /// A sync's progress (`event: sync`): each stage with all counters, then its end.
    #[oai(path = "/api/gallery/sync-jobs/:job_id/events", method = "get", operation_id = "sync_job_events")]
    async fn events(
        &self,
        state: Data<&Arc<AppState>>,
        req: &Request,
        job_id: Path<String>,
    ) -> ApiResult<EventStreamResponse> {
        let live = state.engine.gallery_feed().subscribe(&job_id.0);
        let first = status_of(&state, &job_id.0).await?;
        job_stream(&state, req, live, first, "sync", |job| {
            serde_json::to_value(GallerySyncJobStatus::new(job)).unwrap_or_default()
        })
    }
}
