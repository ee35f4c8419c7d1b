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
use super::settings_models::SettingsResponse;
use super::settings_update::{Problems, name_taken, preset_not_found};
use super::strict_json::{OptionalJson, StrictJson, Validate};
use crate::app::AppState;
use crate::settings::panel::{Preset, default_model_for};
use crate::settings::secrets::Secret;

pub struct PresetsApi;

/// A new preset; every field left out is copied from the source preset (the active one by default).
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(deny_unknown_fields)]
pub struct PresetCreate {
    #[oai(nullable, validator(max_length = 160))]
    pub name: Option<String>,
    #[oai(nullable, validator(max_length = 2048, pattern = r"\S"))]
    pub api_url: Option<String>,
    #[oai(nullable, validator(max_length = 8192))]
    pub api_key: Option<String>,
    #[oai(nullable, validator(pattern = "^(/v1/images/generations|/v1/responses|/v1/chat/completions)$"))]
    pub api_path: Option<String>,
    #[oai(nullable, validator(max_length = 200))]
    pub default_model: Option<String>,
    #[oai(nullable, validator(pattern = "^(|url|b64_json)$"))]
    pub default_response_format: Option<String>,
    #[oai(nullable, validator(max_length = 128))]
    pub source_preset_id: Option<String>,
}

impl Validate for PresetCreate {}

#[derive(Debug, Default, Object, Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(deny_unknown_fields)]
pub struct HealthRequest {
    /// Send the preset's key with the probe (the key must then resolve).
    #[serde(default)]
    #[oai(default)]
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
        let name = match body.name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()) {
            Some(name) if settings.name_taken(&name, "") => return Err(name_taken(&name)),
            Some(name) => name,
            None => settings.next_numbered_name(),
        };
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
