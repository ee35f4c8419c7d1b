//! What the settings page manages: API presets, the global SOCKS5 proxy and webhook URL, the prompt
//! optimizer and R2 backup. Read from SQLite with the contract's defaults and normalization; written
//! back as one document.

use panel_actors::store::presets::{PresetRow, SettingsDocument};
use panel_actors::upstream::endpoint::API_PATHS;
use serde::{Deserialize, Serialize};

use super::Config;
use super::secrets::Secret;

pub const DEFAULT_PRESET_ID: &str = "default";
pub const DEFAULT_IMAGE_MODEL: &str = "gpt-image-2";
pub const RESPONSE_FORMATS: [&str; 3] = ["", "url", "b64_json"];

const KEY_ACTIVE: &str = "active_preset_id";
const KEY_PROXY: &str = "upstream_socks5_proxy";
const KEY_WEBHOOK: &str = "webhook_url";
const KEY_OPTIMIZER: &str = "prompt_optimizer";
const KEY_R2: &str = "r2_backup";

#[derive(Debug, Clone, PartialEq)]
pub struct Preset {
    pub id: String,
    pub name: String,
    pub api_url: String,
    pub api_path: String,
    pub default_model: String,
    /// `""` means "omit upstream", else `url` or `b64_json`.
    pub default_response_format: String,
    pub api_key: Secret,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OptimizerSettings {
    pub enabled: bool,
    pub api_url: String,
    pub model: String,
    pub timeout_seconds: u64,
    pub api_key: Secret,
}

#[derive(Debug, Clone, PartialEq)]
pub struct R2Settings {
    pub enabled: bool,
    pub endpoint_url: String,
    pub bucket_name: String,
    pub region: String,
    pub key_prefix: String,
    pub sync_interval_hours: u64,
    pub access_key_id: Secret,
    pub secret_access_key: Secret,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PanelSettings {
    pub presets: Vec<Preset>,
    pub active_preset_id: String,
    pub socks5_proxy: Secret,
    pub webhook_url: Secret,
    pub optimizer: OptimizerSettings,
    pub r2: R2Settings,
}

/// The stored JSON of the optimizer section.
#[derive(Debug, Default, Serialize, Deserialize)]
struct StoredOptimizer {
    enabled: Option<bool>,
    api_url: Option<String>,
    model: Option<String>,
    timeout_seconds: Option<u64>,
    api_key: Option<String>,
}

/// The stored JSON of the R2 section.
#[derive(Debug, Default, Serialize, Deserialize)]
struct StoredR2 {
    enabled: Option<bool>,
    endpoint_url: Option<String>,
    bucket_name: Option<String>,
    region: Option<String>,
    key_prefix: Option<String>,
    sync_interval_hours: Option<serde_json::Value>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
}

/// The model a preset uses when none is set: the Responses default for `/v1/responses`.
pub fn default_model_for(path: &str, config: &Config) -> String {
    if path == "/v1/responses" && !config.default_responses_model.trim().is_empty() {
        config.default_responses_model.trim().to_string()
    } else {
        DEFAULT_IMAGE_MODEL.to_string()
    }
}

pub fn normalize_api_path(path: &str) -> String {
    let path = path.trim();
    if API_PATHS.contains(&path) { path.to_string() } else { API_PATHS[0].to_string() }
}

/// `gallery-test` → `gallery-test/`, `/a//b/` → `a/b/`, blank → empty.
pub fn normalize_key_prefix(prefix: &str) -> String {
    let parts: Vec<&str> = prefix.trim().split('/').filter(|part| !part.is_empty()).collect();
    if parts.is_empty() { String::new() } else { format!("{}/", parts.join("/")) }
}

impl PanelSettings {
    pub fn from_document(document: &SettingsDocument, config: &Config) -> PanelSettings {
        let value = |key: &str| document.values.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        let mut presets: Vec<Preset> = document.presets.iter().map(|row| preset_from_row(row, config)).collect();
        if presets.is_empty() {
            presets.push(initial_preset(config));
        }
        let active_preset_id = value(KEY_ACTIVE)
            .filter(|id| presets.iter().any(|p| p.id == *id))
            .map(str::to_string)
            .unwrap_or_else(|| presets[0].id.clone());
        let socks5_proxy = Secret::from_stored(value(KEY_PROXY).unwrap_or(&config.default_socks5_proxy));
        let webhook_url = Secret::from_stored(value(KEY_WEBHOOK).unwrap_or_default());
        let optimizer: StoredOptimizer =
            value(KEY_OPTIMIZER).and_then(|v| serde_json::from_str(v).ok()).unwrap_or_default();
        let r2: StoredR2 = value(KEY_R2).and_then(|v| serde_json::from_str(v).ok()).unwrap_or_default();
        PanelSettings {
            presets,
            active_preset_id,
            socks5_proxy,
            webhook_url,
            optimizer: optimizer_from_stored(optimizer, config),
            r2: r2_from_stored(r2, config),
        }
    }

    pub fn to_document(&self) -> SettingsDocument {
        let presets = self
            .presets
            .iter()
            .map(|p| PresetRow {
                id: p.id.clone(),
                name: p.name.clone(),
                api_url: p.api_url.clone(),
                api_path: p.api_path.clone(),
                default_model: Some(p.default_model.clone()),
                default_response_format: Some(p.default_response_format.clone()),
                api_key: p.api_key.stored(),
            })
            .collect();
        let optimizer = StoredOptimizer {
            enabled: Some(self.optimizer.enabled),
            api_url: Some(self.optimizer.api_url.clone()),
            model: Some(self.optimizer.model.clone()),
            timeout_seconds: Some(self.optimizer.timeout_seconds),
            api_key: Some(self.optimizer.api_key.stored()),
        };
        let r2 = StoredR2 {
            enabled: Some(self.r2.enabled),
            endpoint_url: Some(self.r2.endpoint_url.clone()),
            bucket_name: Some(self.r2.bucket_name.clone()),
            region: Some(self.r2.region.clone()),
            key_prefix: Some(self.r2.key_prefix.clone()),
            sync_interval_hours: Some(self.r2.sync_interval_hours.into()),
            access_key_id: Some(self.r2.access_key_id.stored()),
            secret_access_key: Some(self.r2.secret_access_key.stored()),
        };
        SettingsDocument {
            presets,
            values: vec![
                (KEY_ACTIVE.to_string(), self.active_preset_id.clone()),
                (KEY_PROXY.to_string(), self.socks5_proxy.stored()),
                (KEY_WEBHOOK.to_string(), self.webhook_url.stored()),
                (KEY_OPTIMIZER.to_string(), to_json(&optimizer)),
                (KEY_R2.to_string(), to_json(&r2)),
            ],
        }
    }

    pub fn active(&self) -> &Preset {
        self.presets.iter().find(|p| p.id == self.active_preset_id).unwrap_or(&self.presets[0])
    }

    pub fn find(&self, id: &str) -> Option<usize> {
        self.presets.iter().position(|p| p.id == id)
    }

    /// Whether a preset other than `except_id` already has this name (names are unique).
    pub fn name_taken(&self, name: &str, except_id: &str) -> bool {
        self.presets.iter().any(|p| p.name == name && p.id != except_id)
    }

    /// `Preset N` for the first N from the preset count up that no preset has.
    pub fn next_numbered_name(&self) -> String {
        (self.presets.len() + 1..)
            .map(|n| format!("Preset {n}"))
            .find(|name| !self.name_taken(name, ""))
            .unwrap_or_default()
    }
}

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "{}".to_string())
}

fn preset_from_row(row: &PresetRow, config: &Config) -> Preset {
    let api_path = normalize_api_path(&row.api_path);
    let default_model = row
        .default_model
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| default_model_for(&api_path, config));
    let default_response_format = match row.default_response_format.as_deref() {
        Some(format) if RESPONSE_FORMATS.contains(&format) => format.to_string(),
        _ => "url".to_string(),
    };
    let name = if row.name.trim().is_empty() { "Untitled preset".to_string() } else { row.name.trim().to_string() };
    Preset {
        id: row.id.clone(),
        name,
        api_url: row.api_url.trim().trim_end_matches('/').to_string(),
        api_path,
        default_model,
        default_response_format,
        api_key: Secret::from_stored(&row.api_key),
    }
}

/// The preset a fresh install starts with, from `DEFAULT_API_*`.
fn initial_preset(config: &Config) -> Preset {
    let api_path = normalize_api_path(&config.default_api_path);
    let api_key = Secret::parse_input(&config.default_api_key, "DEFAULT_API_KEY", config.allow_plaintext_secrets)
        .unwrap_or_else(|message| {
            tracing::warn!(%message, "DEFAULT_API_KEY is not used for the initial preset");
            Secret::Empty
        });
    Preset {
        id: DEFAULT_PRESET_ID.to_string(),
        name: "Default".to_string(),
        api_url: config.default_api_url.trim().trim_end_matches('/').to_string(),
        default_model: default_model_for(&api_path, config),
        api_path,
        default_response_format: "url".to_string(),
        api_key,
    }
}

fn optimizer_from_stored(stored: StoredOptimizer, config: &Config) -> OptimizerSettings {
    let model = stored.model.map(|m| m.trim().to_string()).filter(|m| !m.is_empty());
    OptimizerSettings {
        enabled: stored.enabled.unwrap_or(config.optimizer_enabled),
        api_url: stored.api_url.unwrap_or_else(|| config.optimizer_api_url.trim().to_string()),
        model: model.unwrap_or_else(|| config.optimizer_model.clone()),
        timeout_seconds: stored.timeout_seconds.filter(|t| *t >= 1).unwrap_or(config.optimizer_timeout_seconds.max(1)),
        api_key: Secret::from_stored(&stored.api_key.unwrap_or_else(|| config.optimizer_api_key.clone())),
    }
}

/// Stored R2 values with the environment filling every empty field, as the product description says.
fn r2_from_stored(stored: StoredR2, config: &Config) -> R2Settings {
    let or_env = |value: Option<String>, env: &str| match value.map(|v| v.trim().to_string()) {
        Some(v) if !v.is_empty() => v,
        _ => env.trim().to_string(),
    };
    let credential = |value: Option<String>, set: bool, name: &str| {
        let secret = Secret::from_stored(&value.unwrap_or_default());
        if secret.is_empty() && set { Secret::EnvRef(name.to_string()) } else { secret }
    };
    let interval = match stored.sync_interval_hours {
        Some(serde_json::Value::Number(n)) => n.as_u64().unwrap_or(0),
        Some(_) => 0,
        None => config.r2_sync_interval_hours,
    };
    let region = or_env(stored.region, &config.r2_region);
    R2Settings {
        enabled: config.r2_backup_enabled || stored.enabled.unwrap_or(false),
        endpoint_url: or_env(stored.endpoint_url, &config.r2_endpoint_url),
        bucket_name: or_env(stored.bucket_name, &config.r2_bucket_name),
        region: if region.is_empty() { "auto".to_string() } else { region },
        key_prefix: normalize_key_prefix(&stored.key_prefix.unwrap_or_else(|| config.r2_key_prefix.clone())),
        sync_interval_hours: interval,
        access_key_id: credential(stored.access_key_id, config.r2_access_key_id_set, "R2_ACCESS_KEY_ID"),
        secret_access_key: credential(
            stored.secret_access_key,
            config.r2_secret_access_key_set,
            "R2_SECRET_ACCESS_KEY",
        ),
    }
}
