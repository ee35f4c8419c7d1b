//! `POST /api/generate`: checks the request and the active preset, then asks the dispatcher to admit
//! the job (n image units). Returns 202 with the queued job.

use std::sync::Arc;

use panel_actors::dispatcher::{Admission, Admit};
use panel_actors::store::jobs::NewSource;
use panel_actors::store::jobs::{JobRow, now};
use panel_actors::upstream::endpoint::{EDITS_PATH, join, normalize_base_url};
use panel_actors::upstream::guard::{Policy, Purpose, vet};
use panel_actors::upstream::protocols::ImageRequest;
use panel_actors::upstream::unit::{EditSource, UnitSpec};
use panel_actors::webhook::WebhookPlan;
use poem::Request;
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::ApiTags;
use super::error::{ApiError, ApiResult};
use super::generate_request::{GenerateBody, parse_size};
use super::settings::load;
use super::strict_json::StrictJson;
use crate::app::AppState;
use crate::settings::Config;
use crate::settings::panel::{PanelSettings, default_model_for, normalize_api_path};
use crate::settings::secrets::Secret;
use crate::web::security::RequestContext;

pub struct GenerateApi;

#[derive(Debug, Object)]
pub struct QueuedJob {
    pub job_id: String,
    pub status: String,
    pub message: String,
    pub stage: String,
    pub operation: String,
}

#[derive(ApiResponse)]
pub enum GenerateResponse {
    /// The job was admitted and queued.
    #[oai(status = 202)]
    Accepted(Json<QueuedJob>),
}

/// Seconds a client should wait before retrying when the queue is full.
const RETRY_AFTER_SECONDS: u64 = 5;

fn bad_request(detail: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, detail)
}

/// The webhook a job will announce itself to, checked now so a bad one fails the request, not the job.
async fn resolve_webhook(
    body_hook: Option<&str>,
    settings: &PanelSettings,
    state: &AppState,
    config: &Config,
) -> ApiResult<Option<String>> {
    let hook = match body_hook.map(str::trim).filter(|h| !h.is_empty()) {
        Some(hook) => Some(hook.to_string()),
        // An unset variable behind the global reference means "no webhook".
        None => settings.webhook_url.resolve(state.settings.env(), "Webhook URL").ok().flatten(),
    };
    let Some(hook) = hook else { return Ok(None) };
    let url = url::Url::parse(&hook)
        .map_err(|_| ApiError::validation("Only HTTPS URLs are allowed for webhook callbacks"))?;
    let policy = Policy {
        purpose: Purpose::Webhook,
        allowlist: config.webhook_host_allowlist.clone(),
        allow_private: config.upstream_allow_private_network,
    };
    vet(&url, &policy).await.map_err(|refused| ApiError::validation(refused.0))?;
    if config.webhook_signing_secret.len() < 32 {
        return Err(ApiError::validation("WEBHOOK_SIGNING_SECRET must contain at least 32 bytes"));
    }
    Ok(Some(hook))
}

/// What a new job asks for, from a JSON body or an edit form.
pub struct JobParams {
    pub operation: &'static str,
    pub prompt: String,
    pub size: String,
    pub model: Option<String>,
    pub n: i64,
    pub quality: String,
    pub output_format: String,
    pub output_compression: Option<i64>,
    /// `None` → the preset's default; `Some(None)` → not sent upstream.
    pub response_format: Option<Option<String>>,
    pub webhook_url: Option<String>,
    pub api_path: Option<String>,
}

/// A staged edit source to send with every unit.
#[derive(Debug, Clone)]
pub struct StagedSource {
    pub path: std::path::PathBuf,
    pub stored_name: String,
    pub filename: String,
    pub content_type: String,
    pub bytes: u64,
}

/// The admission steps every job goes through: the active preset's URL and key, the proxy, the
/// webhook, then capacity (and the edit-source byte cap) in the dispatcher.
pub async fn admit_job(
    state: &AppState,
    req: &Request,
    params: JobParams,
    sources: Vec<StagedSource>,
) -> ApiResult<QueuedJob> {
    let config = state.settings.current();
    let settings = load(state).await?;
    let preset = settings.active().clone();
    if preset.api_url.trim().is_empty() {
        return Err(bad_request("API URL not configured. Please set it in Settings."));
    }
    let base =
        normalize_base_url(&preset.api_url, "API URL", config.upstream_allow_private_network).map_err(bad_request)?;
    if preset.api_key == Secret::Empty {
        return Err(ApiError::validation("API credential is not configured"));
    }
    let env = state.settings.env();
    let api_key = preset.api_key.resolve(env, "API Key").map_err(ApiError::validation)?;
    let socks5_proxy = settings.socks5_proxy.resolve(env, "SOCKS5 proxy URL").map_err(ApiError::validation)?;
    let webhook_url = resolve_webhook(params.webhook_url.as_deref(), &settings, state, &config).await?;

    let edit = params.operation == "edit";
    let api_path = if edit {
        EDITS_PATH.to_string()
    } else {
        normalize_api_path(params.api_path.as_deref().unwrap_or(&preset.api_path))
    };
    let model = match params.model.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        Some(model) => model.to_string(),
        None if !preset.default_model.is_empty() => preset.default_model.clone(),
        None => default_model_for(&api_path, &config),
    };
    let response_format = match params.response_format {
        None => Some(preset.default_response_format.clone()).filter(|f| !f.is_empty()),
        Some(None) => None,
        Some(Some(format)) => Some(format).filter(|f| f != "none"),
    };
    let output_compression = match params.output_format.as_str() {
        "png" => None,
        _ => Some(params.output_compression.unwrap_or(100)),
    };
    let size = parse_size(&params.size).map_err(|m| ApiError::validation(format!("size - {m}")))?;
    let (queued_message, stamp) = (if edit { "Queued image edit" } else { "Queued image generation" }, now());
    let job = JobRow {
        id: uuid::Uuid::new_v4().to_string(),
        operation: params.operation.into(),
        status: "queued".into(),
        stage: Some("queued".into()),
        message: Some(queued_message.into()),
        error: None,
        prompt: params.prompt.clone(),
        size: size.clone(),
        model: Some(model.clone()),
        quality: Some(params.quality.clone()),
        output_format: Some(params.output_format.clone()),
        output_compression,
        response_format: response_format.clone(),
        n: params.n,
        api_path: api_path.clone(),
        api_preset_id: Some(preset.id.clone()),
        api_preset_name: Some(preset.name.clone()),
        webhook_url,
        client_ip: req.extensions().get::<RequestContext>().map(|ctx| ctx.client.key()),
        completed_count: 0,
        success_count: 0,
        failure_count: 0,
        duration_seconds: None,
        stage_timings: "{}".into(),
        created_at: stamp.clone(),
        started_at: None,
        completed_at: None,
        updated_at: stamp,
    };
    let spec = UnitSpec {
        sources: sources
            .iter()
            .map(|s| EditSource {
                path: s.path.clone(),
                filename: s.filename.clone(),
                content_type: s.content_type.clone(),
            })
            .collect(),
        url: join(&base, &api_path),
        api_path,
        api_key,
        socks5_proxy,
        request: ImageRequest {
            prompt: params.prompt,
            model,
            size,
            quality: params.quality,
            output_format: params.output_format,
            output_compression,
            response_format,
        },
        allow_private: config.upstream_allow_private_network,
        host_allowlist: config.upstream_host_allowlist.clone(),
        max_upstream_json_bytes: config.max_upstream_json_bytes,
        max_file_bytes: config.max_file_size_bytes,
        max_task_image_bytes: config.max_task_image_bytes,
        max_image_pixels: config.max_image_pixels,
        thumbnail_max_side: config.thumbnail_max_side,
        images_dir: config.images_dir.clone(),
    };
    let job_id = job.id.clone();
    let webhook = job.webhook_url.clone().map(|url| {
        let plan = WebhookPlan {
            url,
            secret: config.webhook_signing_secret.clone(),
            timeout: config.webhook_timeout,
            attempts: config.webhook_max_attempts,
            allowlist: config.webhook_host_allowlist.clone(),
            allow_private: config.upstream_allow_private_network,
        };
        (plan, super::webhook_payload::builder(config.public_image_base_url.clone()))
    });
    let reservations = sources
        .into_iter()
        .map(|s| NewSource {
            stored_name: s.stored_name,
            original_name: s.filename,
            content_type: s.content_type,
            bytes: s.bytes,
        })
        .collect();
    let admit = Admit {
        job,
        spec,
        capacity: config.max_active_jobs as u64 + config.max_queued_jobs,
        webhook,
        sources: reservations,
        max_pending_source_bytes: Some(config.max_pending_edit_source_bytes).filter(|b| *b > 0),
    };
    // Only a job that certainly does not exist is refused with 503; an admitted one always gets 202.
    let admission = state.engine.admit(admit).await.map_err(|err| {
        tracing::error!(error = %err, "job admission failed; no job was created");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "Job admission failed; no job was created. Please retry.")
            .with_retry_after(RETRY_AFTER_SECONDS)
    })?;
    let full =
        |detail: &str| ApiError::new(StatusCode::TOO_MANY_REQUESTS, detail).with_retry_after(RETRY_AFTER_SECONDS);
    match admission {
        Admission::Admitted => Ok(QueuedJob {
            job_id,
            status: "queued".into(),
            message: queued_message.into(),
            stage: "queued".into(),
            operation: params.operation.into(),
        }),
        Admission::Full => Err(full("Generation job queue is full")),
        Admission::SourcesFull => Err(full("Edit source queue is full")),
    }
}

#[OpenApi(tag = "ApiTags::Jobs")]
impl GenerateApi {
    /// Start an image generation job of `n` images with the active preset.
    #[oai(path = "/api/generate", method = "post", operation_id = "generate")]
    async fn generate(
        &self,
        state: Data<&Arc<AppState>>,
        req: &Request,
        body: StrictJson<GenerateBody>,
    ) -> ApiResult<GenerateResponse> {
        let body = body.0;
        let params = JobParams {
            operation: "generation",
            prompt: body.prompt,
            size: body.size,
            model: body.model,
            n: body.n,
            quality: body.quality,
            output_format: body.output_format,
            output_compression: body.output_compression,
            response_format: body.response_format,
            webhook_url: body.webhook_url,
            api_path: body.api_path,
        };
        Ok(GenerateResponse::Accepted(Json(admit_job(&state, req, params, Vec::new()).await?)))
    }
}
