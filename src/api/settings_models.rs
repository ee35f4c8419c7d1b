//! Request and response bodies of the settings routes, in the field order clients expect.

use poem_openapi::Object;
use serde::Deserialize;

use super::strict_json::Validate;
use crate::settings::Config;
use crate::settings::panel::{PanelSettings, Preset};
use crate::settings::secrets::{mask_proxy, mask_webhook};

#[derive(Debug, Object)]
pub struct ApiPresetOut {
    pub id: String,
    pub name: String,
    pub api_url: String,
    pub api_path: String,
    pub default_model: String,
    pub default_response_format: String,
    pub api_key_masked: String,
    pub has_api_key: bool,
    /// `env` for `${VAR}` references, `stored` for literals, `empty`.
    pub api_key_source: String,
    #[oai(nullable)]
    pub api_key_env_var: Option<String>,
    /// Always null: this panel has no secret registry.
    #[oai(nullable)]
    pub api_key_secret_id: Option<String>,
}

#[derive(Debug, Object)]
pub struct PromptOptimizerOut {
    pub enabled: bool,
    pub api_url: String,
    pub model: String,
    pub timeout_seconds: u64,
    pub api_key_masked: String,
    pub has_api_key: bool,
    pub api_key_source: String,
    #[oai(nullable)]
    pub api_key_env_var: Option<String>,
    #[oai(nullable)]
    pub api_key_secret_id: Option<String>,
}

#[derive(Debug, Object)]
pub struct R2BackupOut {
    pub enabled: bool,
    pub endpoint_url: String,
    pub bucket_name: String,
    pub region: String,
    pub key_prefix: String,
    pub sync_interval_hours: u64,
    pub access_key_id_masked: String,
    pub has_access_key_id: bool,
    pub access_key_id_source: String,
    #[oai(nullable)]
    pub access_key_id_env_var: Option<String>,
    #[oai(nullable)]
    pub access_key_id_secret_id: Option<String>,
    pub secret_access_key_masked: String,
    pub has_secret_access_key: bool,
    pub secret_access_key_source: String,
    #[oai(nullable)]
    pub secret_access_key_env_var: Option<String>,
    #[oai(nullable)]
    pub secret_access_key_secret_id: Option<String>,
}

#[derive(Debug, Object)]
pub struct ImageUploadLimits {
    pub max_file_size_bytes: u64,
    pub max_image_pixels: u64,
}

/// Current settings; secrets appear only masked.
#[derive(Debug, Object)]
pub struct SettingsResponse {
    pub active_preset_id: String,
    pub api_url: String,
    pub api_key_masked: String,
    pub has_api_key: bool,
    pub api_key_source: String,
    #[oai(nullable)]
    pub api_key_env_var: Option<String>,
    #[oai(nullable)]
    pub api_key_secret_id: Option<String>,
    pub api_path: String,
    pub default_model: String,
    pub default_response_format: String,
    pub has_upstream_socks5_proxy: bool,
    pub upstream_socks5_proxy_masked: String,
    pub has_webhook_url: bool,
    pub webhook_url_masked: String,
    pub presets: Vec<ApiPresetOut>,
    pub prompt_optimizer: PromptOptimizerOut,
    pub r2_backup: R2BackupOut,
    pub image_upload_limits: ImageUploadLimits,
}

impl SettingsResponse {
    pub fn new(settings: &PanelSettings, config: &Config) -> Self {
        let active = preset_out(settings.active());
        let optimizer = &settings.optimizer;
        let optimizer_key = optimizer.api_key.mask();
        let r2 = &settings.r2;
        let (id_key, secret_key) = (r2.access_key_id.mask(), r2.secret_access_key.mask());
        SettingsResponse {
            active_preset_id: settings.active_preset_id.clone(),
            api_url: active.api_url.clone(),
            api_key_masked: active.api_key_masked.clone(),
            has_api_key: active.has_api_key,
            api_key_source: active.api_key_source.clone(),
            api_key_env_var: active.api_key_env_var.clone(),
            api_key_secret_id: None,
            api_path: active.api_path.clone(),
            default_model: active.default_model.clone(),
            default_response_format: active.default_response_format.clone(),
            has_upstream_socks5_proxy: !settings.socks5_proxy.is_empty(),
            upstream_socks5_proxy_masked: mask_proxy(&settings.socks5_proxy),
            has_webhook_url: !settings.webhook_url.is_empty(),
            webhook_url_masked: mask_webhook(&settings.webhook_url),
            presets: settings.presets.iter().map(preset_out).collect(),
            prompt_optimizer: PromptOptimizerOut {
                enabled: optimizer.enabled,
                api_url: optimizer.api_url.clone(),
                model: optimizer.model.clone(),
                timeout_seconds: optimizer.timeout_seconds,
                api_key_masked: optimizer_key.masked,
                has_api_key: optimizer_key.has,
                api_key_source: optimizer_key.source.to_string(),
                api_key_env_var: optimizer_key.env_var,
                api_key_secret_id: None,
            },
            r2_backup: R2BackupOut {
                enabled: r2.enabled,
                endpoint_url: r2.endpoint_url.clone(),
                bucket_name: r2.bucket_name.clone(),
                region: r2.region.clone(),
                key_prefix: r2.key_prefix.clone(),
                sync_interval_hours: r2.sync_interval_hours,
                access_key_id_masked: id_key.masked,
                has_access_key_id: id_key.has,
                access_key_id_source: id_key.source.to_string(),
                access_key_id_env_var: id_key.env_var,
                access_key_id_secret_id: None,
                secret_access_key_masked: secret_key.masked,
                has_secret_access_key: secret_key.has,
                secret_access_key_source: secret_key.source.to_string(),
                secret_access_key_env_var: secret_key.env_var,
                secret_access_key_secret_id: None,
            },
            image_upload_limits: ImageUploadLimits {
                max_file_size_bytes: config.max_file_size_bytes,
                max_image_pixels: config.max_image_pixels,
            },
        }
    }
}

fn preset_out(preset: &Preset) -> ApiPresetOut {
    let key = preset.api_key.mask();
    ApiPresetOut {
        id: preset.id.clone(),
        name: preset.name.clone(),
        api_url: preset.api_url.clone(),
        api_path: preset.api_path.clone(),
        default_model: preset.default_model.clone(),
        default_response_format: preset.default_response_format.clone(),
        api_key_masked: key.masked,
        has_api_key: key.has,
        api_key_source: key.source.to_string(),
        api_key_env_var: key.env_var,
        api_key_secret_id: None,
    }
}

fn default_api_path() -> String {
    "/v1/images/generations".to_string()
}

/// `POST /api/settings`: updates the target preset (and makes it active) plus the global sections.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(deny_unknown_fields)]
pub struct SettingsUpdate {
    /// The preset to update; the active one when omitted.
    #[oai(nullable, validator(max_length = 128))]
    pub active_preset_id: Option<String>,
    #[oai(nullable, validator(max_length = 160))]
    pub preset_name: Option<String>,
    /// Base URL, with or without `/v1`.
    #[oai(validator(min_length = 1, max_length = 2048))]
    pub api_url: String,
    /// Empty clears, `${VAR}` references the server environment; null keeps the stored key.
    #[oai(nullable, validator(max_length = 8192))]
    pub api_key: Option<String>,
    /// Omitting it resets the preset to `/v1/images/generations`.
    #[serde(default = "default_api_path")]
    #[oai(
        default = "default_api_path",
        validator(pattern = "^(/v1/images/generations|/v1/responses|/v1/chat/completions)$")
    )]
    pub api_path: String,
    #[oai(nullable, validator(max_length = 200))]
    pub default_model: Option<String>,
    /// `""` (omit upstream), `url` or `b64_json`.
    #[oai(nullable, validator(pattern = "^(|url|b64_json)$"))]
    pub default_response_format: Option<String>,
    #[oai(nullable, validator(max_length = 2048))]
    pub upstream_socks5_proxy: Option<String>,
    #[oai(nullable, validator(max_length = 2048))]
    pub webhook_url: Option<String>,
    #[oai(nullable)]
    pub prompt_optimizer: Option<OptimizerUpdate>,
    #[oai(nullable)]
    pub r2_backup: Option<R2Update>,
}

#[derive(Debug, Clone, Object, Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(deny_unknown_fields)]
pub struct OptimizerUpdate {
    #[oai(nullable)]
    pub enabled: Option<bool>,
    /// The full Chat Completions endpoint URL; empty clears.
    #[oai(nullable, validator(max_length = 2048))]
    pub api_url: Option<String>,
    #[oai(nullable, validator(max_length = 200))]
    pub model: Option<String>,
    #[oai(nullable, validator(minimum(value = "1")))]
    pub timeout_seconds: Option<i64>,
    /// `********` keeps the stored key, empty clears.
    #[oai(nullable, validator(max_length = 8192))]
    pub api_key: Option<String>,
}

#[derive(Debug, Clone, Default, Object, Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(deny_unknown_fields)]
pub struct R2Update {
    #[oai(nullable)]
    pub enabled: Option<bool>,
    #[oai(nullable, validator(max_length = 2048))]
    pub endpoint_url: Option<String>,
    #[oai(nullable, validator(max_length = 255))]
    pub bucket_name: Option<String>,
    #[oai(nullable, validator(max_length = 100))]
    pub region: Option<String>,
    #[oai(nullable, validator(max_length = 1024))]
    pub key_prefix: Option<String>,
    #[oai(nullable, validator(minimum(value = "0")))]
    pub sync_interval_hours: Option<i64>,
    /// `********` keeps the stored value, empty clears.
    #[oai(nullable, validator(max_length = 8192))]
    pub access_key_id: Option<String>,
    #[oai(nullable, validator(max_length = 8192))]
    pub secret_access_key: Option<String>,
    /// Only for `POST /api/settings/r2/health`: run the credentialed remote probe.
    #[oai(nullable)]
    pub use_credentials: Option<bool>,
}

// Every constraint of these bodies is declared on their fields.
impl Validate for SettingsUpdate {}

impl Validate for R2Update {}
