//! ZIP exports of the gallery: direct exports (reserve, then one streamed `GET /api/download-all`),
//! tracked exports (built to a file, downloadable with `Content-Length` until they expire) and
//! selected downloads by id. Progress streams over SSE as `event: export`.

use std::sync::Arc;

use panel_actors::archive::export_plan::Selection;
use panel_actors::exporter::{ExportRequest, Refusal, ZipStream};
use panel_actors::media::names::safe_filename;
use panel_actors::store::gallery as store;
use panel_actors::store::gallery_jobs::GalleryJob;
use panel_actors::store::time::shown_utc;
use poem::http::StatusCode;
use poem::web::Data;
use poem::{Body, IntoResponse, Request, Response};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::ApiTags;
use super::error::{ApiError, ApiResult};
use super::gallery_batch::{Target, choice_problems, cleaned, target};
use super::gallery_job_events::job_stream;
use super::job_events::EventStreamResponse;
use super::strict_json::{OptionalJson, StrictJson, Validate};
use crate::app::AppState;

pub struct GalleryExportApi;

/// A gallery ZIP export and how far it got.
#[derive(Debug, Clone, Object, serde::Serialize)]
pub struct GalleryExportJobStatus {
    pub job_id: String,
    /// `queued`, `running`, `success` or `error`.
    pub status: String,
    /// `queued`, `preparing`, `streaming` (direct) or `packing` (tracked), `ready`, `error`.
    pub stage: String,
    pub message: String,
    /// 0–100: preparing up to 20, then the share of bytes written.
    pub progress: i64,
    pub filename: String,
    /// Where the archive is downloaded from (direct: at once; tracked: once ready).
    #[oai(nullable)]
    pub download_url: Option<String>,
    pub requested_count: i64,
    pub processed_count: i64,
    pub exported_count: i64,
    pub missing_count: i64,
    /// The archive's exact length, known before its first byte.
    pub bytes_total: i64,
    pub bytes_written: i64,
    pub created_at: String,
    pub updated_at: String,
    #[oai(nullable)]
    pub error: Option<String>,
}

impl GalleryExportJobStatus {
    fn new(job: &GalleryJob) -> Self {
        let download_url = if job.kind == "export_direct" {
            Some(format!("/api/download-all?export_job_id={}", job.id))
        } else {
            (job.status == "success").then(|| format!("/api/gallery/export-jobs/{}/download", job.id))
        };
        GalleryExportJobStatus {
            job_id: job.id.clone(),
            status: job.status.clone(),
            stage: job.stage.clone(),
            message: job.message.clone(),
            progress: job.progress,
            filename: job.filename.clone().unwrap_or_default(),
            download_url,
            requested_count: job.requested_count,
            processed_count: job.processed_count,
            exported_count: job.exported_count,
            missing_count: job.missing_count,
            bytes_total: job.bytes_total,
            bytes_written: job.bytes_written,
            created_at: shown_utc(&job.created_at),
            updated_at: shown_utc(&job.updated_at),
            error: job.error.clone(),
        }
    }
}

/// A tracked export: the whole gallery (no body or `{}`) or these ids.
#[derive(Debug, Object, Deserialize, Default)]
#[serde(deny_unknown_fields)]
#[oai(deny_unknown_fields)]
pub struct GalleryExportRequest {
    /// Gallery image ids (at most 1000, no duplicates), exported in this order.
    #[oai(nullable)]
    pub ids: Option<Vec<String>>,
    /// A token from `POST /api/gallery/batch/selection-tokens`: the images matching it when the
    /// export runs.
    #[oai(nullable)]
    pub selection_token: Option<String>,
}

impl Validate for GalleryExportRequest {
    fn validate(&self) -> Vec<(String, String)> {
        let token = self.selection_token.as_deref().map(str::trim).filter(|t| !t.is_empty());
        match (self.ids.is_some(), token.is_some()) {
            (true, true) => vec![(String::new(), "Provide ids or selection_token, not both".into())],
            (false, false) => Vec::new(),
            _ => choice_problems(&self.ids, &self.selection_token),
        }
    }
}

/// A selected download by ids.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(deny_unknown_fields)]
pub struct GalleryDownloadRequest {
    /// Gallery image ids (at most 1000, no duplicates), in archive order.
    #[oai(nullable)]
    pub ids: Option<Vec<String>>,
    /// A token from `POST /api/gallery/batch/selection-tokens`, instead of ids.
    #[oai(nullable)]
    pub selection_token: Option<String>,
}

impl Validate for GalleryDownloadRequest {
    fn validate(&self) -> Vec<(String, String)> {
        choice_problems(&self.ids, &self.selection_token)
    }
}

#[derive(ApiResponse)]
pub enum Accepted {
    #[oai(status = 202)]
    Job(Json<GalleryExportJobStatus>),
}

/// A ZIP archive, streamed or from its file.
pub struct ZipReply(Response);

impl IntoResponse for ZipReply {
    fn into_response(self) -> Response {
        self.0
    }
}

impl ApiResponse for ZipReply {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "The ZIP archive: `images/<name>` members, then `metadata.json` and `metadata.ndjson`.",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: "application/zip",
                    schema: <poem_openapi::types::Binary<Vec<u8>> as poem_openapi::types::Type>::schema_ref(),
                }],
                headers: vec![],
            }],
        }
    }

    fn register(_registry: &mut Registry) {}
}

fn zip_response(filename: &str, job_id: Option<&str>) -> poem::ResponseBuilder {
    let mut builder = Response::builder()
        .status(StatusCode::OK)
        .content_type("application/zip")
        .header("Content-Disposition", format!("attachment; filename=\"{filename}\""))
        .header("Content-Encoding", "identity")
        .header("Cache-Control", "private, no-store")
        .header("X-Content-Type-Options", "nosniff");
    if let Some(id) = job_id {
        builder = builder.header("X-Gallery-Export-Job-Id", id);
    }
    builder
}

fn streamed(stream: ZipStream, counts: Option<(u64, u64, u64)>) -> ZipReply {
    let ZipStream { job, chunks } = stream;
    let mut builder = zip_response(job.filename.as_deref().unwrap_or("gpt-images.zip"), Some(&job.id));
    if let Some((requested, exported, missing)) = counts {
        builder = builder
            .header("X-Gallery-Requested-Count", requested)
            .header("X-Gallery-Exported-Count", exported)
            .header("X-Gallery-Missing-Count", missing);
    }
    let body = futures_util::stream::unfold(chunks, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    ZipReply(builder.body(Body::from_bytes_stream(body)))
}

fn refused(refusal: Refusal, not_found: &str) -> ApiError {
    match refusal {
        Refusal::Full(n) => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many active export jobs ({n}). Please wait for existing exports to complete."),
        ),
        Refusal::NotFound => ApiError::new(StatusCode::NOT_FOUND, not_found),
        Refusal::AlreadyUsed => {
            ApiError::new(StatusCode::CONFLICT, "Direct gallery export job is already active or finished")
        }
        Refusal::NotReady => ApiError::new(StatusCode::CONFLICT, "Gallery export job is not ready"),
        Refusal::Empty => ApiError::new(StatusCode::NOT_FOUND, "No images in gallery"),
        Refusal::Failed(message) if message == "Gallery export archive not found" => {
            ApiError::new(StatusCode::NOT_FOUND, message)
        }
        Refusal::Failed(message) => {
            tracing::error!(error = %message, "export request failed");
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "The exporter is not available; nothing was started")
        }
    }
}

const DIRECT_NOT_FOUND: &str = "Direct gallery export job not found";
const TRACKED_NOT_FOUND: &str = "Gallery export job not found";

async fn status_of(state: &AppState, job_id: &str, kind: &str, not_found: &str) -> ApiResult<GalleryJob> {
    let job = state.engine.export_status(job_id).await.map_err(|r| refused(r, not_found))?;
    job.filter(|j| j.kind == kind).ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, not_found))
}

/// An export's progress as `event: export` frames until it ends.
async fn export_events(
    state: &Arc<AppState>,
    req: &Request,
    job_id: String,
    kind: &'static str,
    not_found: &'static str,
) -> ApiResult<EventStreamResponse> {
    let live = state.engine.gallery_feed().subscribe(&job_id);
    let first = status_of(state, &job_id, kind, not_found).await?;
    job_stream(state, req, live, first, "export", |job| {
        serde_json::to_value(GalleryExportJobStatus::new(job)).unwrap_or_default()
    })
}

#[OpenApi(tag = "ApiTags::Gallery")]
impl GalleryExportApi {
    /// Reserves a direct streaming export of the whole gallery; download it once from `download_url`.
    #[oai(path = "/api/gallery/direct-export-jobs", method = "post", operation_id = "create_direct_export_job")]
    async fn create_direct(&self, state: Data<&Arc<AppState>>) -> ApiResult<Accepted> {
        let max_active = state.settings.current().max_active_export_jobs;
        let job = state.engine.reserve_export(ExportRequest::Direct, max_active).await.map_err(|r| refused(r, ""))?;
        Ok(Accepted::Job(Json(GalleryExportJobStatus::new(&job))))
    }

    #[oai(path = "/api/gallery/direct-export-jobs/:job_id", method = "get", operation_id = "direct_export_job")]
    async fn direct_status(
        &self,
        state: Data<&Arc<AppState>>,
        job_id: Path<String>,
    ) -> ApiResult<Json<GalleryExportJobStatus>> {
        let job = status_of(&state, &job_id.0, "export_direct", DIRECT_NOT_FOUND).await?;
        Ok(Json(GalleryExportJobStatus::new(&job)))
    }

    /// A direct export's progress (`event: export`): preparing, streaming, then its end.
    #[oai(
        path = "/api/gallery/direct-export-jobs/:job_id/events",
        method = "get",
        operation_id = "direct_export_events"
    )]
    async fn direct_events(
        &self,
        state: Data<&Arc<AppState>>,
        req: &Request,
        job_id: Path<String>,
    ) -> ApiResult<EventStreamResponse> {
        export_events(&state, req, job_id.0, "export_direct", DIRECT_NOT_FOUND).await
    }

    /// The whole gallery as a streamed ZIP. With `export_job_id` it is that reservation's single
    /// download (progress on its events); without, a new direct export starts at once.
    #[oai(path = "/api/download-all", method = "get", operation_id = "download_all")]
    async fn download_all(
        &self,
        state: Data<&Arc<AppState>>,
        export_job_id: Query<Option<String>>,
    ) -> ApiResult<ZipReply> {
        let max_active = state.settings.current().max_active_export_jobs;
        let job_id = export_job_id.0.map(|id| id.trim().to_string()).filter(|id| !id.is_empty());
        let stream = state.engine.stream_export(job_id, max_active).await.map_err(|r| refused(r, DIRECT_NOT_FOUND))?;
        Ok(streamed(stream, None))
    }

    /// Starts a tracked export of the whole gallery (no body or `{}`) or of `ids`.
    #[oai(path = "/api/gallery/export-jobs", method = "post", operation_id = "create_export_job")]
    async fn create_tracked(
        &self,
        state: Data<&Arc<AppState>>,
        body: OptionalJson<GalleryExportRequest>,
    ) -> ApiResult<Accepted> {
        let max_active = state.settings.current().max_active_export_jobs;
        let token = body.0.selection_token.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_string);
        if let Some(token) = token {
            let filter = super::gallery_selection::resolve(&state, &token).await?;
            let count = store::count(&state.db, &filter).await.map_err(|_| ApiError::internal())?;
            if count == 0 {
                return Err(ApiError::new(StatusCode::NOT_FOUND, "Gallery entries not found"));
            }
            let request =
                ExportRequest::Tracked { requested: count, selection: Selection::Filter(filter), selected: true };
            let job = state.engine.reserve_export(request, max_active).await.map_err(|r| refused(r, ""))?;
            return Ok(Accepted::Job(Json(GalleryExportJobStatus::new(&job))));
        }
        let request = match body.0.ids {
            Some(ids) => {
                let ids = cleaned(&ids);
                if store::rows_by_ids(&state.db, &ids).await.map_err(|_| ApiError::internal())?.is_empty() {
                    return Err(ApiError::new(StatusCode::NOT_FOUND, "Gallery entries not found"));
                }
                ExportRequest::Tracked { requested: ids.len() as u64, selection: Selection::Ids(ids), selected: true }
            }
            None => {
                let count = store::count(&state.db, &Default::default()).await.map_err(|_| ApiError::internal())?;
                if count == 0 {
                    return Err(ApiError::new(StatusCode::NOT_FOUND, "No images in gallery"));
                }
                ExportRequest::Tracked { requested: count, selection: Selection::All, selected: false }
            }
        };
        let job = state.engine.reserve_export(request, max_active).await.map_err(|r| refused(r, ""))?;
        Ok(Accepted::Job(Json(GalleryExportJobStatus::new(&job))))
    }

    #[oai(path = "/api/gallery/export-jobs/:job_id", method = "get", operation_id = "export_job")]
    async fn tracked_status(
        &self,
        state: Data<&Arc<AppState>>,
        job_id: Path<String>,
    ) -> ApiResult<Json<GalleryExportJobStatus>> {
        let job = status_of(&state, &job_id.0, "export", TRACKED_NOT_FOUND).await?;
        Ok(Json(GalleryExportJobStatus::new(&job)))
    }

    /// A tracked export's progress (`event: export`): preparing, packing, then its end.
    #[oai(path = "/api/gallery/export-jobs/:job_id/events", method = "get", operation_id = "export_job_events")]
    async fn tracked_events(
        &self,
        state: Data<&Arc<AppState>>,
        req: &Request,
        job_id: Path<String>,
    ) -> ApiResult<EventStreamResponse> {
        export_events(&state, req, job_id.0, "export", TRACKED_NOT_FOUND).await
    }

    /// A finished tracked export, with `Content-Length`; downloadable until it expires.
    #[oai(path = "/api/gallery/export-jobs/:job_id/download", method = "get", operation_id = "download_export_job")]
    async fn tracked_download(&self, state: Data<&Arc<AppState>>, job_id: Path<String>) -> ApiResult<ZipReply> {
        let (path, job) = state.engine.export_download(&job_id.0).await.map_err(|r| refused(r, TRACKED_NOT_FOUND))?;
        let not_found = || ApiError::new(StatusCode::NOT_FOUND, "Gallery export archive not found");
        let file = tokio::fs::File::open(&path).await.map_err(|_| not_found())?;
        let length = file.metadata().await.map_err(|_| not_found())?.len();
        let response = zip_response(job.filename.as_deref().unwrap_or("gpt-images.zip"), None)
            .header("Content-Length", length)
            .header("X-Gallery-Requested-Count", job.requested_count)
            .header("X-Gallery-Exported-Count", job.exported_count)
            .header("X-Gallery-Missing-Count", job.missing_count)
            // Large reads: the default 4 KiB chunks cap a local download near 200 MB/s.
            .body(Body::from_bytes_stream(tokio_util::io::ReaderStream::with_capacity(file, 1 << 20)));
        Ok(ZipReply(response))
    }

    /// The chosen images as a streamed ZIP; ids that match nothing, or whose file is gone, are listed
    /// in `metadata.skipped`.
    #[oai(path = "/api/gallery/batch/download", method = "post", operation_id = "batch_download_gallery")]
    async fn batch_download(
        &self,
        state: Data<&Arc<AppState>>,
        body: StrictJson<GalleryDownloadRequest>,
    ) -> ApiResult<ZipReply> {
        let config = state.settings.current();
        // A token's images are the rows matching it now, newest first.
        let ids = match target(&state, &body.0.ids, &body.0.selection_token).await? {
            Target::Ids(ids) => ids,
            Target::Matching(filter) => {
                store::ids_matching(&state.db, &filter).await.map_err(|_| ApiError::internal())?
            }
        };
        let mut with_files = 0u64;
        let mut found = 0usize;
        for chunk in ids.chunks(500) {
            let rows = store::rows_by_ids(&state.db, chunk).await.map_err(|_| ApiError::internal())?;
            found += rows.len();
            with_files += rows
                .iter()
                .filter(|r| safe_filename(&r.filename, false) && config.images_dir.join(&r.filename).is_file())
                .count() as u64;
        }
        if found == 0 {
            return Err(ApiError::new(StatusCode::NOT_FOUND, "Gallery entries not found"));
        }
        let requested = ids.len() as u64;
        let stream = state
            .engine
            .stream_selection(Selection::Ids(ids), config.max_active_export_jobs)
            .await
            .map_err(|r| refused(r, "Gallery entries not found"))?;
        Ok(streamed(stream, Some((requested, with_files, requested - with_files))))
    }
}
