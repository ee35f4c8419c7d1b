//! ZIP imports: `POST /api/import` streams the `archive` part to `DATA_DIR/imports` under the archive
//! size limit, runs the archive-level checks, then hands it to the importer. Synchronous by default
//! (the answer comes when the rows are committed); `async_job=true` answers 202 with a job whose
//! progress streams over SSE as `event: import`.

use std::sync::Arc;

use panel_actors::archive::import_check::{ImportLimits, check_archive};
use panel_actors::importer::{ImportRefusal, ImportReport, ImportStart, SkippedEntry, TempArchive};
use panel_actors::store::gallery_jobs::GalleryJob;
use panel_actors::store::time::shown_utc;
use poem::Request;
use poem::http::StatusCode;
use poem::web::{Data, Multipart};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::ApiTags;
use super::edit_multipart::ImportMultipart;
use super::edit_uploads::open_private;
use super::error::{ApiError, ApiResult};
use super::gallery::parse_bool;
use super::gallery_job_events::job_stream;
use super::job_events::EventStreamResponse;
use super::query_params::{BoolParam, raw};
use crate::app::AppState;
use crate::web::security::RequestContext;

pub struct GalleryImportApi;

/// One archive record that was not imported, and why.
#[derive(Debug, Clone, Object, serde::Serialize)]
pub struct ImportSkip {
    /// The archive member (or the record's `filename` when no member matched).
    pub filename: String,
    #[oai(nullable)]
    pub id: Option<String>,
    /// `image_file_missing`, `unsupported_extension`, `empty_image` or `invalid_image`.
    pub reason: String,
    /// What the image check found, for `invalid_image`.
    #[oai(nullable)]
    pub detail: Option<String>,
}

impl From<SkippedEntry> for ImportSkip {
    fn from(entry: SkippedEntry) -> Self {
        ImportSkip { filename: entry.filename, id: entry.id, reason: entry.reason, detail: entry.detail }
    }
}

/// A gallery ZIP import and how far it got.
#[derive(Debug, Clone, Object, serde::Serialize)]
pub struct GalleryImportJobStatus {
    pub job_id: String,
    /// `queued`, `running`, `success` or `error`.
    pub status: String,
    /// `queued`, `validating`, `importing`, `committing`, `completed` or `error`.
    pub stage: String,
    pub message: String,
    /// 0–100.
    pub progress: i64,
    /// Records that name an image member of the archive.
    pub requested_count: i64,
    pub processed_count: i64,
    /// Images stored (or, while running, checked and written so far; rows commit at the end).
    pub imported_count: i64,
    /// Records not imported: member missing, not an image, empty or failing the image check.
    pub skipped_count: i64,
    /// Images whose bytes (sha256) are already in the gallery.
    pub duplicate_count: i64,
    /// Why records were skipped (at most 100 listed; `skipped_count` counts them all).
    pub skipped_entries: Vec<ImportSkip>,
    pub created_at: String,
    pub updated_at: String,
    #[oai(nullable)]
    pub error: Option<String>,
}

impl GalleryImportJobStatus {
    fn new(job: &GalleryJob) -> Self {
        GalleryImportJobStatus {
            job_id: job.id.clone(),
            status: job.status.clone(),
            stage: job.stage.clone(),
            message: job.message.clone(),
            progress: job.progress,
            requested_count: job.requested_count,
            processed_count: job.processed_count,
            imported_count: job.imported_count,
            skipped_count: job.skipped_count,
            duplicate_count: job.duplicate_count,
            skipped_entries: ImportReport::of(job).skipped.into_iter().map(ImportSkip::from).collect(),
            created_at: shown_utc(&job.created_at),
            updated_at: shown_utc(&job.updated_at),
            error: job.error.clone(),
        }
    }
}

/// A finished synchronous import.
#[derive(Debug, Clone, Object)]
pub struct GalleryImportResult {
    /// Always `success` (failures are error replies).
    pub status: String,
    pub job_id: String,
    pub imported: i64,
    pub skipped: i64,
    pub duplicates: i64,
    pub requested: i64,
    /// Why records were skipped (at most 100 listed).
    pub skipped_entries: Vec<ImportSkip>,
}

#[derive(ApiResponse)]
pub enum ImportReply {
    /// The import finished: every image not skipped or duplicate is in the gallery.
    #[oai(status = 200)]
    Done(Json<GalleryImportResult>),
    /// `async_job=true`: the import is queued; follow its events.
    #[oai(status = 202)]
    Queued(Json<GalleryImportJobStatus>),
}

const NOT_FOUND: &str = "Gallery import job not found";
const MIB: u64 = 1024 * 1024;

fn bad(detail: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, detail)
}

fn refused(refusal: ImportRefusal) -> ApiError {
    match refusal {
        ImportRefusal::Busy => {
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, "A gallery import job is already queued or running.")
        }
        ImportRefusal::Failed(message) => {
            tracing::error!(error = %message, "import request failed");
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "The importer is not available; nothing was imported")
        }
    }
}

/// Copies the `archive` part to `path` under `max` bytes.
async fn receive_archive(mut multipart: Multipart, path: &std::path::Path, max: u64) -> ApiResult<u64> {
    let too_large =
        || bad(format!("Uploaded archive is too large (more than {} MB; setting IMPORT_ARCHIVE_MAX_MB)", max / MIB));
    while let Some(field) = multipart.next_field().await.map_err(|e| bad(format!("Invalid multipart body: {e}")))? {
        if field.name() != Some("archive") {
            continue;
        }
        let mut reader = field.into_async_read();
        let mut file = open_private(path).await.map_err(|_| ApiError::internal())?;
        let mut buffer = vec![0u8; 1 << 20];
        let mut total = 0u64;
        loop {
            let read = reader.read(&mut buffer).await.map_err(|_| too_large())?;
            if read == 0 {
                break;
            }
            total += read as u64;
            if total > max {
                return Err(too_large());
            }
            file.write_all(&buffer[..read]).await.map_err(|_| ApiError::internal())?;
        }
        file.flush().await.map_err(|_| ApiError::internal())?;
        if total == 0 {
            return Err(bad("Uploaded archive is empty"));
        }
        return Ok(total);
    }
    Err(ApiError::validation("archive - Field required"))
}

fn limits_now(state: &AppState) -> ImportLimits {
    let config = state.settings.current();
    ImportLimits {
        max_files: config.import_max_files,
        max_entries: config.import_max_entries,
        max_uncompressed_bytes: config.import_max_uncompressed_bytes,
        max_output_bytes: config.import_max_output_bytes,
        max_metadata_bytes: config.import_max_metadata_bytes,
        max_compression_ratio: config.import_max_compression_ratio,
        max_file_bytes: config.max_file_size_bytes,
        max_pixels: config.max_image_pixels,
    }
}

#[OpenApi(tag = "ApiTags::Gallery")]
impl GalleryImportApi {
    /// Imports a ZIP made by an export (`images/…` plus `metadata.ndjson` or `metadata.json`).
    /// Images already in the gallery (same sha256) are counted as duplicates, not imported again;
    /// records that fail their checks are skipped and listed. Rows are committed together, after
    /// their files. Synchronous unless `async_job=true`.
    #[oai(path = "/api/import", method = "post", operation_id = "import_gallery")]
    async fn import(
        &self,
        state: Data<&Arc<AppState>>,
        req: &Request,
        form: ImportMultipart,
        /// `true` answers 202 at once with a job to follow.
        async_job: Query<Option<BoolParam>>,
    ) -> ApiResult<ImportReply> {
        let background = parse_bool("async_job", raw(async_job.0))?.unwrap_or(false);
        let config = state.settings.current();
        let client = req.extensions().get::<RequestContext>().map(|ctx| ctx.client.key()).unwrap_or_default();
        let _pass = state.import_uploads.enter(&client, config.import_uploads_per_ip_per_minute).ok_or_else(|| {
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "Too many import uploads from this IP (at most {} a minute; setting IMPORT_UPLOADS_PER_IP_PER_MINUTE)",
                    config.import_uploads_per_ip_per_minute
                ),
            )
        })?;
        let name = format!("gallery-import-{}.zip", panel_actors::hex::encode(&rand::random::<[u8; 16]>()));
        let archive = TempArchive(config.data_dir.join("imports").join(name));
        receive_archive(form.0, &archive.0, config.import_archive_max_bytes).await?;
        let limits = limits_now(&state);
        let (path, checking) = (archive.0.clone(), limits.clone());
        let checked = tokio::task::spawn_blocking(move || check_archive(&path, &checking))
            .await
            .map_err(|_| ApiError::internal())?
            .map_err(|refusal| bad(refusal.0))?;
        let (job, ended) =
            state.engine.start_import(ImportStart { archive, checked, limits }).await.map_err(refused)?;
        if background {
            return Ok(ImportReply::Queued(Json(GalleryImportJobStatus::new(&job))));
        }
        let ended = ended.await.map_err(|_| {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "The importer stopped; nothing was imported")
        })?;
        let job = ended.job;
        if job.status != "success" {
            let error = job.error.clone().unwrap_or_else(|| "Gallery import failed".into());
            if ended.server_fault {
                tracing::error!(job_id = %job.id, %error, "import failed");
                return Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "The import failed; nothing was imported"));
            }
            return Err(bad(error));
        }
        let status = GalleryImportJobStatus::new(&job);
        Ok(ImportReply::Done(Json(GalleryImportResult {
            status: "success".into(),
            job_id: status.job_id,
            imported: status.imported_count,
            skipped: status.skipped_count,
            duplicates: status.duplicate_count,
            requested: status.requested_count,
            skipped_entries: status.skipped_entries,
        })))
    }

    #[oai(path = "/api/gallery/import-jobs/:job_id", method = "get", operation_id = "import_job")]
    async fn status(
        &self,
        state: Data<&Arc<AppState>>,
        job_id: Path<String>,
    ) -> ApiResult<Json<GalleryImportJobStatus>> {
        let job = state.engine.import_status(&job_id.0).await.map_err(refused)?;
        let job = job.ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, NOT_FOUND))?;
        Ok(Json(GalleryImportJobStatus::new(&job)))
    }

    /// An import's progress (`event: import`) until it ends.
    #[oai(path = "/api/gallery/import-jobs/:job_id/events", method = "get", operation_id = "import_job_events")]
    async fn events(
        &self,
        state: Data<&Arc<AppState>>,
        req: &Request,
        job_id: Path<String>,
    ) -> ApiResult<EventStreamResponse> {
        let live = state.engine.gallery_feed().subscribe(&job_id.0);
        let first = state.engine.import_status(&job_id.0).await.map_err(refused)?;
        let first = first.ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, NOT_FOUND))?;
        job_stream(&state, req, live, first, "import", |job| {
            serde_json::to_value(GalleryImportJobStatus::new(job)).unwrap_or_default()
        })
    }
}
