//! Preset routes: create (and activate), activate, delete, and the preset health check.

use std::sync::Arc;

use panel_actors::upstream::endpoint::{normalize_base_url, origin_of};
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde::Deserialize;

use super::ApiTags;
use super::error::{ApiError, ApiResult};
use super::preset_health::{HealthReport, check_preset};
use super::settings::{load, save};
use super::settings_models::{SettingsResponse, max_len};
use super::settings_update::{Problems, preset_not_found};
use super::strict_json::{OptionalJson, StrictJson, Validate};
use crate::app::AppState;
use crate::settings::panel::{Preset, RESPONSE_FORMATS, default_model_for, normalize_api_path};
use crate::settings::secrets::Secret;

pub struct PresetsApi;

/// A new preset; every field left out is copied from the source preset (the active one by default).
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(deny_unknown_fields)]
pub struct PresetCreate {
    #[oai(nullable)]
    pub name: Option<String>,
    #[oai(nullable)]
    pub api_url: Option<String>,
    #[oai(nullable)]
    pub api_key: Option<String>,
    #[oai(nullable)]
    pub api_path: Option<String>,
    #[oai(nullable)]
    pub default_model: Option<String>,
    #[oai(nullable)]
    pub default_response_format: Option<String>,
    #[oai(nullable)]
    pub source_preset_id: Option<String>,
}

impl Validate for PresetCreate {
    fn validate(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        max_len(&mut problems, "name", self.name.as_deref(), 160);
        max_len(&mut problems, "api_url", self.api_url.as_deref(), 2048);
        max_len(&mut problems, "api_key", self.api_key.as_deref(), 8192);
        max_len(&mut problems, "default_model", self.default_model.as_deref(), 200);
        max_len(&mut problems, "source_preset_id", self.source_preset_id.as_deref(), 128);
        if let Some(path) = &self.api_path
            && normalize_api_path(path) != *path
        {
            problems.push((
                "api_path".into(),
                "Input should be '/v1/images/generations', '/v1/responses' or '/v1/chat/completions'".into(),
            ));
        }
        if let Some(format) = &self.default_response_format
            && !RESPONSE_FORMATS.contains(&format.as_str())
        {
            problems.push(("default_response_format".into(), "Input should be '', 'url' or 'b64_json'".into()));
        }
        problems
    }
}

#[derive(Debug, Default, Object, Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(deny_unknown_fields)]
pub struct HealthRequest {
    /// Send the preset's key with the probe (the key must then resolve).
    #[serde(default)]
    pub use_credentials: bool,
}

impl Validate for HealthRequest {}

#[OpenApi(tag = "ApiTags::Settings")]
impl PresetsApi {
    /// Create a preset from a source preset plus the given fields, and make it active.
    #[oai(path = "/api/settings/presets", method = "post", operation_id = "create_preset")]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        body: StrictJson<PresetCreate>,
    ) -> ApiResult<Json<SettingsResponse>> {
        let _writer = state.settings_writer.lock().await;
        let config = state.settings.current();
        let mut settings = load(&state).await?;
        let body = body.0;
        let source = body
            .source_preset_id
            .as_deref()
            .and_then(|id| settings.find(id))
            .map(|i| settings.presets[i].clone())
            .unwrap_or_else(|| settings.active().clone());
        let mut problems = Problems::default();
        let api_url = match &body.api_url {
            Some(url) => problems
                .take("api_url", normalize_base_url(url, "API URL", config.upstream_allow_private_network))
                .unwrap_or_default(),
            None => source.api_url.clone(),
        };
        let mut api_key =
            if origin_of(&api_url) == origin_of(&source.api_url) { source.api_key.clone() } else { Secret::Empty };
        if let Some(key) = &body.api_key
            && let Some(secret) =
                problems.take("api_key", Secret::parse_input(key, "API key", config.allow_plaintext_secrets))
        {
            api_key = secret;
        }
        problems.into_result()?;
        let api_path = body.api_path.unwrap_or(source.api_path);
        let default_model = match body.default_model.map(|m| m.trim().to_string()) {
            Some(model) if !model.is_empty() => model,
            Some(_) => default_model_for(&api_path, &config),
            None => source.default_model,
        };
        let numbered = format!("Preset {}", settings.presets.len() + 1);
        let name = body.name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).unwrap_or(numbered);
        let id = panel_actors::hex::encode(&rand::random::<[u8; 16]>());
        settings.presets.push(Preset {
            id: id.clone(),
            name,
            api_url,
            api_path,
            default_model,
            default_response_format: body.default_response_format.unwrap_or(source.default_response_format),
            api_key,
        });
        settings.active_preset_id = id;
        save(&state, &settings).await?;
        Ok(Json(SettingsResponse::new(&settings, &config)))
    }

    /// Make a preset the active one.
    #[oai(path = "/api/settings/presets/:preset_id/activate", method = "post", operation_id = "activate_preset")]
    async fn activate(
        &self,
        state: Data<&Arc<AppState>>,
        preset_id: Path<String>,
    ) -> ApiResult<Json<SettingsResponse>> {
        let _writer = state.settings_writer.lock().await;
        let mut settings = load(&state).await?;
        settings.find(&preset_id.0).ok_or_else(preset_not_found)?;
        settings.active_preset_id = preset_id.0;
        save(&state, &settings).await?;
        Ok(Json(SettingsResponse::new(&settings, &state.settings.current())))
    }

    /// Delete a preset. The last one cannot be deleted; deleting the active one activates its neighbour.
    #[oai(path = "/api/settings/presets/:preset_id", method = "delete", operation_id = "delete_preset")]
    async fn delete(&self, state: Data<&Arc<AppState>>, preset_id: Path<String>) -> ApiResult<Json<SettingsResponse>> {
        let _writer = state.settings_writer.lock().await;
        let mut settings = load(&state).await?;
        if settings.presets.len() <= 1 {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, "At least one preset is required"));
        }
        let index = settings.find(&preset_id.0).ok_or_else(preset_not_found)?;
        settings.presets.remove(index);
        if settings.active_preset_id == preset_id.0 {
            let next = index.min(settings.presets.len() - 1);
            settings.active_preset_id = settings.presets[next].id.clone();
        }
        save(&state, &settings).await?;
        Ok(Json(SettingsResponse::new(&settings, &state.settings.current())))
    }

    /// Check a saved preset: path, URL and SSRF rules, key presence, then a low-cost `OPTIONS`/`HEAD`
    /// probe whose result is informational only.
    #[oai(path = "/api/settings/presets/:preset_id/health", method = "post", operation_id = "preset_health")]
    async fn health(
        &self,
        state: Data<&Arc<AppState>>,
        preset_id: Path<String>,
        body: OptionalJson<HealthRequest>,
    ) -> ApiResult<Json<HealthReport>> {
        let settings = load(&state).await?;
        let index = settings.find(&preset_id.0).ok_or_else(preset_not_found)?;
        let report = check_preset(&state, &settings.presets[index], body.0.use_credentials).await?;
        Ok(Json(report))
    }
}
