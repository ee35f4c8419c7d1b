//! `GET /api/settings` and `POST /api/settings`: presets, the global proxy and webhook, the prompt
//! optimizer and R2 backup, as one document saved all-or-nothing.

use std::sync::Arc;

use panel_actors::store::presets as store;
use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::payload::Json;

use super::ApiTags;
use super::error::{ApiError, ApiResult};
use super::settings_models::{SettingsResponse, SettingsUpdate};
use super::settings_update::apply;
use super::strict_json::StrictJson;
use crate::app::AppState;
use crate::settings::Config;
use crate::settings::panel::PanelSettings;
use crate::settings::secrets::Secret;
use panel_actors::upstream::guard::{Policy, Purpose, vet};

pub struct SettingsApi;

/// The settings as stored now, with defaults filled in.
pub async fn load(state: &AppState) -> ApiResult<PanelSettings> {
    let document = store::load(&state.db).await.map_err(store_failed)?;
    Ok(PanelSettings::from_document(&document, &state.settings.current()))
}

pub async fn save(state: &AppState, settings: &PanelSettings) -> ApiResult<()> {
    store::save(&state.db, &settings.to_document()).await.map_err(store_failed)
}

/// A new literal webhook URL passes the SSRF rules and `WEBHOOK_HOST_ALLOWLIST` now; a `${VAR}`
/// reference is checked when a job uses it.
async fn check_webhook(next: &Secret, current: &Secret, config: &Config) -> ApiResult<()> {
    let Secret::Literal(text) = next else { return Ok(()) };
    if next == current {
        return Ok(());
    }
    let url = url::Url::parse(text).map_err(|_| ApiError::validation("webhook_url - Webhook URL must use https://"))?;
    let policy = Policy {
        purpose: Purpose::Webhook,
        allowlist: config.webhook_host_allowlist.clone(),
        allow_private: config.upstream_allow_private_network,
    };
    vet(&url, &policy).await.map(|_| ()).map_err(|refused| ApiError::validation(format!("webhook_url - {}", refused.0)))
}

fn store_failed(err: panel_actors::store::StoreError) -> ApiError {
    tracing::error!(error = %err, "settings store");
    ApiError::internal()
}

#[OpenApi(tag = "ApiTags::Settings")]
impl SettingsApi {
    /// Current settings and presets. Secrets are masked.
    #[oai(path = "/api/settings", method = "get", operation_id = "get_settings")]
    async fn get(&self, state: Data<&Arc<AppState>>) -> ApiResult<Json<SettingsResponse>> {
        let settings = load(&state).await?;
        Ok(Json(SettingsResponse::new(&settings, &state.settings.current())))
    }

    /// Save the target preset (and make it active) with the global sections. Nothing changes when any
    /// part is invalid.
    #[oai(path = "/api/settings", method = "post", operation_id = "save_settings")]
    async fn save(
        &self,
        state: Data<&Arc<AppState>>,
        body: StrictJson<SettingsUpdate>,
    ) -> ApiResult<Json<SettingsResponse>> {
        let _writer = state.settings_writer.lock().await;
        let config = state.settings.current();
        let current = load(&state).await?;
        let next = apply(&current, body.0, &config)?;
        check_webhook(&next.webhook_url, &current.webhook_url, &config).await?;
        super::r2_health::check_endpoint_dns(&next.r2.endpoint_url, &current.r2.endpoint_url, &state).await?;
        save(&state, &next).await?;
        Ok(Json(SettingsResponse::new(&next, &config)))
    }
}
