//! `POST /api/generate`: checks the request and the active preset, then asks the dispatcher to admit
//! the job (n image units). Returns 202 with the queued job.

use std::sync::Arc;

use panel_actors::dispatcher::Admit;
use panel_actors::store::jobs::{JobRow, now};
use panel_actors::upstream::endpoint::{join, normalize_base_url};
use panel_actors::upstream::guard::{Policy, Purpose, vet};
use panel_actors::upstream::protocols::ImageRequest;
use panel_actors::upstream::unit::UnitSpec;
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
        let config = state.settings.current();
        let settings = load(&state).await?;
        let preset = settings.active().clone();
        if preset.api_url.trim().is_empty() {
            return Err(bad_request("API URL not configured. Please set it in Settings."));
        }
        let base = normalize_base_url(&preset.api_url, "API URL", config.upstream_allow_private_network)
            .map_err(bad_request)?;
        if preset.api_key == Secret::Empty {
            return Err(ApiError::validation("API credential is not configured"));
        }
        let env = state.settings.env();
        let api_key = preset.api_key.resolve(env, "API Key").map_err(ApiError::validation)?;
        let socks5_proxy = settings.socks5_proxy.resolve(env, "SOCKS5 proxy URL").map_err(ApiError::validation)?;
        let webhook_url = resolve_webhook(body.webhook_url.as_deref(), &settings, &state, &config).await?;

        let api_path = normalize_api_path(body.api_path.as_deref().unwrap_or(&preset.api_path));
        let model = match body.model.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
            Some(model) => model.to_string(),
            None if !preset.default_model.is_empty() => preset.default_model.clone(),
            None => default_model_for(&api_path, &config),
        };
        let response_format = match body.response_format {
            None => Some(preset.default_response_format.clone()).filter(|f| !f.is_empty()),
            Some(None) => None,
            Some(Some(format)) => Some(format).filter(|f| f != "none"),
        };
        let output_compression = match body.output_format.as_str() {
            "png" => None,
            _ => Some(body.output_compression.unwrap_or(100)),
        };
        let size = parse_size(&body.size).map_err(|m| ApiError::validation(format!("size - {m}")))?;
        let stamp = now();
        let job = JobRow {
            id: uuid::Uuid::new_v4().to_string(),
            operation: "generation".into(),
            status: "queued".into(),
            stage: Some("queued".into()),
            message: Some("Queued image generation".into()),
            error: None,
            prompt: body.prompt.clone(),
            size: size.clone(),
            model: Some(model.clone()),
            quality: Some(body.quality.clone()),
            output_format: Some(body.output_format.clone()),
            output_compression,
            response_format: response_format.clone(),
            n: body.n,
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
            url: join(&base, &api_path),
            api_path,
            api_key,
            socks5_proxy,
            request: ImageRequest {
                prompt: body.prompt,
                model,
                size,
                quality: body.quality,
                output_format: body.output_format,
                output_compression,
                response_format,
            },
            allow_private: config.upstream_allow_private_network,
            host_allowlist: config.upstream_host_allowlist.clone(),
            max_upstream_json_bytes: config.max_upstream_json_bytes,
            max_file_bytes: config.max_file_size_bytes,
            max_image_pixels: config.max_image_pixels,
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
        let admit = Admit {
            job,
            spec,
            capacity: config.max_active_jobs as u64 + config.max_queued_jobs,
            max_active: config.max_active_jobs,
            history_keep: config.job_history_max_rows,
            webhook,
        };
        let admitted = state.engine.admit(admit).await.map_err(|err| {
            tracing::error!(error = %err, "job admission failed");
            ApiError::internal()
        })?;
        if !admitted {
            let full = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "Generation job queue is full");
            return Err(full.with_retry_after(RETRY_AFTER_SECONDS));
        }
        Ok(GenerateResponse::Accepted(Json(QueuedJob {
            job_id,
            status: "queued".into(),
            message: "Queued image generation".into(),
            stage: "queued".into(),
            operation: "generation".into(),
        })))
    }
}
