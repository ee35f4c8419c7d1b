//! The prompt optimizer routes: rewrite a prompt, and read or replace the optimizer's system prompt
//! (stored as `DATA_DIR/prompt_optimizer_system_prompt.md`).

use std::path::PathBuf;
use std::sync::Arc;

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde::Deserialize;

use super::ApiTags;
use super::error::{ApiError, ApiResult};
use super::presets::HealthRequest;
use super::settings::load;
use super::strict_json::{OptionalJson, StrictJson, Validate};
use crate::app::AppState;
use crate::prompt_optimizer::{
    DEFAULT_SYSTEM_PROMPT, OptimizeRequest, SYSTEM_PROMPT_FILE, SYSTEM_PROMPT_MAX_CHARS, optimize,
};

pub struct PromptApi;

fn default_language() -> String {
    "en".to_string()
}

#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(deny_unknown_fields)]
pub struct OptimizeBody {
    /// The prompt to rewrite.
    #[oai(validator(min_length = 1, max_length = 4000, pattern = r"\S"))]
    pub prompt: String,
    /// How to change the prompt; switches from "improve" to "modify".
    #[oai(nullable, validator(max_length = 1200))]
    pub intent: Option<String>,
    /// `en`, `zh-CN`, or `same` (the language of the prompt).
    #[serde(default = "default_language")]
    #[oai(default = "default_language", validator(pattern = "^(en|zh-CN|same)$"))]
    pub target_language: String,
    /// The image request this prompt is for (context only).
    #[oai(nullable, validator(pattern = "^(/v1/images/generations|/v1/responses|/v1/chat/completions)$"))]
    pub api_path: Option<String>,
    #[oai(nullable, validator(max_length = 200))]
    pub model: Option<String>,
    #[oai(nullable, validator(max_length = 40))]
    pub size: Option<String>,
    #[oai(nullable, validator(pattern = "^(auto|low|medium|high)$"))]
    pub quality: Option<String>,
}

impl Validate for OptimizeBody {}

/// Whether the optimizer answers: `ok`, `warning` or `error`, never an HTTP error.
#[derive(Debug, Object)]
pub struct OptimizerHealthReport {
    pub status: String,
    pub message: String,
    /// The optimizer model probed.
    pub model: String,
    pub duration_ms: u64,
    /// The upstream's HTTP status, or the status the optimize route would answer with.
    #[oai(nullable)]
    pub status_code: Option<u16>,
}

#[derive(Debug, Object)]
pub struct OptimizeResult {
    pub optimized_prompt: String,
    /// The model that answered.
    pub model: String,
    pub duration_ms: u64,
}

#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(deny_unknown_fields)]
pub struct SystemPromptBody {
    #[oai(validator(min_length = 1, max_length = 20000, pattern = r"\S"))]
    pub system_prompt: String,
}

impl Validate for SystemPromptBody {}

#[derive(Debug, Object)]
pub struct SystemPrompt {
    /// The prompt in use: the saved one, or the built-in default.
    pub system_prompt: String,
    pub default_system_prompt: String,
    /// Whether a saved prompt file exists.
    pub customized: bool,
}

fn normalize(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n").trim().to_string()
}

fn prompt_file(state: &AppState) -> PathBuf {
    state.settings.current().data_dir.join(SYSTEM_PROMPT_FILE)
}

/// The saved system prompt when it exists and is usable, else the default.
async fn read_system_prompt(state: &AppState) -> SystemPrompt {
    let saved = tokio::fs::read_to_string(prompt_file(state)).await.ok();
    let usable =
        saved.as_deref().map(normalize).filter(|t| !t.is_empty() && t.chars().count() <= SYSTEM_PROMPT_MAX_CHARS);
    SystemPrompt {
        system_prompt: usable.unwrap_or_else(|| normalize(DEFAULT_SYSTEM_PROMPT)),
        default_system_prompt: normalize(DEFAULT_SYSTEM_PROMPT),
        customized: saved.is_some(),
    }
}

/// Writes through a private temporary file and renames it, so readers never see half a prompt.
fn write_private_atomically(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let temp = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&temp)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&temp, path)
}

#[OpenApi(tag = "ApiTags::Prompt")]
impl PromptApi {
    /// Rewrite a prompt through the configured Chat Completions endpoint.
    #[oai(path = "/api/prompt/optimize", method = "post", operation_id = "optimize_prompt")]
    async fn optimize(
        &self,
        state: Data<&Arc<AppState>>,
        body: StrictJson<OptimizeBody>,
    ) -> ApiResult<Json<OptimizeResult>> {
        let body = body.0;
        let settings = load(&state).await?;
        let system_prompt = read_system_prompt(&state).await.system_prompt;
        let request = OptimizeRequest {
            prompt: body.prompt.trim().to_string(),
            intent: body.intent.map(|i| i.trim().to_string()).filter(|i| !i.is_empty()),
            target_language: body.target_language,
            api_path: body.api_path,
            model: body.model,
            size: body.size,
            quality: body.quality,
        };
        let config = state.settings.current();
        let env = state.settings.env();
        let optimized = optimize(&request, &settings.optimizer, &system_prompt, &config, env, &state.transport).await?;
        Ok(Json(OptimizeResult {
            optimized_prompt: optimized.optimized_prompt,
            model: optimized.model,
            duration_ms: optimized.duration_ms,
        }))
    }

    /// Probe the configured optimizer with a one-token request (`use_credentials` sends its key).
    #[oai(path = "/api/prompt/optimizer-health", method = "post", operation_id = "optimizer_health")]
    async fn optimizer_health(
        &self,
        state: Data<&Arc<AppState>>,
        body: OptionalJson<HealthRequest>,
    ) -> ApiResult<Json<OptimizerHealthReport>> {
        let settings = load(&state).await?;
        let config = state.settings.current();
        let health = crate::optimizer_health::check(
            &settings.optimizer,
            &config,
            state.settings.env(),
            &state.transport,
            body.0.use_credentials,
        )
        .await;
        Ok(Json(OptimizerHealthReport {
            status: health.status.to_string(),
            message: health.message,
            model: health.model,
            duration_ms: health.duration_ms,
            status_code: health.status_code,
        }))
    }

    /// The optimizer's system prompt, or the built-in default.
    #[oai(path = "/api/prompt/optimizer-system-prompt", method = "get", operation_id = "get_optimizer_system_prompt")]
    async fn system_prompt(&self, state: Data<&Arc<AppState>>) -> Json<SystemPrompt> {
        Json(read_system_prompt(&state).await)
    }

    /// Replace the optimizer's system prompt.
    #[oai(path = "/api/prompt/optimizer-system-prompt", method = "post", operation_id = "save_optimizer_system_prompt")]
    async fn save_system_prompt(
        &self,
        state: Data<&Arc<AppState>>,
        body: StrictJson<SystemPromptBody>,
    ) -> ApiResult<Json<SystemPrompt>> {
        let text = normalize(&body.0.system_prompt);
        let path = prompt_file(&state);
        let contents = format!("{text}\n");
        tokio::task::spawn_blocking(move || write_private_atomically(&path, &contents))
            .await
            .map_err(|_| ApiError::internal())?
            .map_err(|err| {
                tracing::error!(error = %err, "cannot save the optimizer system prompt");
                ApiError::internal()
            })?;
        Ok(Json(read_system_prompt(&state).await))
    }
}
