//! Overall Config: every setting of the table that the main settings form does not manage, with its
//! effective value, where it came from, and when it applies. PUT stores SQLite overrides (or clears
//! them); the whole request is checked first and nothing is saved when any item is wrong.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::SecondsFormat;
use panel_actors::store::settings_overrides as store;
use panel_actors::store::time::from_db;
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde::Deserialize;

use super::ApiTags;
use super::error::{ApiError, ApiResult};
use super::strict_json::{StrictJson, Validate};
use crate::app::AppState;
use crate::settings::secrets::KEEP_SENTINEL;
use crate::settings::{Effect, Kind, RawSettings, SettingDef, TABLE, check_value, parse_bool};

pub struct OverallConfigApi;

/// Settings edited in the main settings form rather than here.
const MAIN_FORM: [&str; 18] = [
    "DEFAULT_API_URL",
    "DEFAULT_API_KEY",
    "DEFAULT_API_PATH",
    "DEFAULT_RESPONSES_MODEL",
    "DEFAULT_UPSTREAM_SOCKS5_PROXY",
    "PROMPT_OPTIMIZER_ENABLED",
    "PROMPT_OPTIMIZER_API_URL",
    "PROMPT_OPTIMIZER_API_KEY",
    "PROMPT_OPTIMIZER_MODEL",
    "PROMPT_OPTIMIZER_TIMEOUT_SECONDS",
    "R2_BACKUP_ENABLED",
    "R2_ENDPOINT_URL",
    "R2_BUCKET_NAME",
    "R2_REGION",
    "R2_KEY_PREFIX",
    "R2_ACCESS_KEY_ID",
    "R2_SECRET_ACCESS_KEY",
    "R2_SYNC_INTERVAL_HOURS",
];

/// Read once at start to find the database; an override could never take effect.
pub(crate) const STARTUP_ONLY: [&str; 2] = ["DATA_DIR", "DATABASE_FILE"];

const MASK: &str = "********";

#[derive(Debug, Object)]
pub struct OverallConfigItem {
    pub name: String,
    /// `string`, `secret`, `bool`, `int` or `float`.
    #[oai(rename = "type")]
    pub kind: String,
    pub group: String,
    pub description: String,
    /// The effective value, typed; a set secret shows as `********`.
    pub value: serde_json::Value,
    pub value_masked: String,
    pub env_value_masked: String,
    #[oai(nullable)]
    pub override_value_masked: Option<String>,
    /// `override`, `env` or `default`.
    pub source: String,
    pub is_env_set: bool,
    pub has_override: bool,
    pub secret: bool,
    pub hot_reload: bool,
    pub restart_required: bool,
    pub build_only: bool,
    pub startup_only: bool,
    /// Kept for older `.env` files; the server has no equivalent knob.
    pub ignored: bool,
    #[oai(nullable)]
    pub updated_at: Option<String>,
    #[oai(nullable)]
    pub override_updated_at: Option<String>,
}

#[derive(Debug, Object)]
pub struct OverallConfig {
    pub items: Vec<OverallConfigItem>,
    /// Names saved by this request that apply only after a restart (or a rebuild).
    pub restart_required_names: Vec<String>,
}

#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(deny_unknown_fields)]
pub struct ConfigUpdate {
    pub name: String,
    /// A string, boolean or number; `********` keeps a secret.
    #[oai(nullable)]
    pub value: Option<serde_json::Value>,
    /// Remove the override so the environment or the default applies again.
    #[serde(default)]
    #[oai(default)]
    pub clear_override: bool,
}

#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(deny_unknown_fields)]
pub struct OverallConfigUpdate {
    pub updates: Vec<ConfigUpdate>,
}

impl Validate for OverallConfigUpdate {
    fn validate(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        if self.updates.len() > 128 {
            problems.push(("updates".into(), "List should have at most 128 items".into()));
        }
        for (i, update) in self.updates.iter().enumerate() {
            let name_len = update.name.chars().count();
            if name_len == 0 || name_len > 128 {
                problems.push((format!("updates.{i}.name"), "String should have between 1 and 128 characters".into()));
            }
            if matches!(update.value, Some(serde_json::Value::Array(_) | serde_json::Value::Object(_))) {
                problems
                    .push((format!("updates.{i}.value"), "Input should be a valid string, boolean or number".into()));
            }
            if update.clear_override && update.value.is_some() {
                problems.push((format!("updates.{i}"), "clear_override cannot be combined with value".into()));
            }
        }
        problems
    }
}

/// Whether Overall Config lists (and saves) the setting; the main form owns the others.
pub(crate) fn listed(def: &SettingDef) -> bool {
    !MAIN_FORM.contains(&def.name)
}

fn kind_name(def: &SettingDef) -> &'static str {
    match def.kind {
        _ if def.secret => "secret",
        Kind::Bool => "bool",
        Kind::Int { .. } => "int",
        Kind::Float { .. } => "float",
        Kind::Text | Kind::List | Kind::Path => "string",
    }
}

fn iso(text: &str) -> Option<String> {
    from_db(text).map(|at| at.to_rfc3339_opts(SecondsFormat::Micros, false))
}

/// The effective value typed as the setting's kind.
fn typed(def: &SettingDef, text: &str) -> serde_json::Value {
    let text = text.trim();
    match def.kind {
        _ if def.secret => serde_json::Value::String(if text.is_empty() { String::new() } else { MASK.into() }),
        Kind::Bool => parse_bool(text).map_or(serde_json::Value::String(text.into()), serde_json::Value::Bool),
        Kind::Int { .. } => text.parse::<i64>().map_or(serde_json::Value::String(text.into()), Into::into),
        Kind::Float { .. } => text.parse::<f64>().map_or(serde_json::Value::String(text.into()), Into::into),
        _ => serde_json::Value::String(text.into()),
    }
}

fn masked(def: &SettingDef, text: &str) -> String {
    if def.secret && !text.is_empty() { MASK.to_string() } else { text.to_string() }
}

async fn snapshot(state: &AppState, restart_required_names: Vec<String>) -> ApiResult<OverallConfig> {
    let overrides = store::rows(&state.db).await.map_err(store_failed)?;
    let env_rows = store::env_values(&state.db).await.map_err(store_failed)?;
    let stored: HashMap<String, String> = overrides.iter().map(|row| (row.name.clone(), row.value.clone())).collect();
    let raw = RawSettings::resolve(state.settings.env(), &stored);
    let items = TABLE
        .iter()
        .filter(|def| listed(def))
        .map(|def| {
            let effective = raw.get(def.name);
            let effective = if effective.trim().is_empty() { def.default } else { effective };
            let override_row = overrides.iter().find(|row| row.name == def.name);
            let env_row = env_rows.iter().find(|row| row.name == def.name);
            let env_value = state.settings.env().get(def.name);
            OverallConfigItem {
                name: def.name.to_string(),
                kind: kind_name(def).to_string(),
                group: def.group.title().to_string(),
                description: def.help.to_string(),
                value: typed(def, effective),
                value_masked: masked(def, effective.trim()),
                env_value_masked: masked(def, env_value.unwrap_or_default()),
                override_value_masked: override_row.map(|row| masked(def, &row.value)),
                source: raw.source(def.name).as_str().to_string(),
                is_env_set: env_value.is_some(),
                has_override: override_row.is_some(),
                secret: def.secret,
                hot_reload: def.effect == Effect::HotReload,
                restart_required: def.effect == Effect::Restart,
                build_only: def.effect == Effect::BuildOnly,
                startup_only: STARTUP_ONLY.contains(&def.name),
                ignored: def.effect == Effect::Ignored,
                updated_at: env_row.and_then(|row| iso(&row.synced_at)),
                override_updated_at: override_row.and_then(|row| iso(&row.updated_at)),
            }
        })
        .collect();
    Ok(OverallConfig { items, restart_required_names })
}

fn store_failed(err: panel_actors::store::StoreError) -> ApiError {
    tracing::error!(error = %err, "overall config store");
    ApiError::internal()
}

/// The text stored for a JSON value, or why it does not fit the setting.
fn coerce(def: &SettingDef, value: &serde_json::Value) -> Result<String, String> {
    let text = match value {
        serde_json::Value::Bool(b) => b.to_string(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => {
            check_value(def, s).map_err(|e| e.to_string())?;
            if !float_text_ok(def, s) {
                return Err(format!("{}: must be a decimal number such as 2.5", def.name));
            }
            s.trim().to_string()
        }
        _ => return Err(format!("{}: must be a string, boolean or number", def.name)),
    };
    check_value(def, &text).map_err(|e| e.to_string())?;
    Ok(match def.kind {
        Kind::Bool if !text.is_empty() => parse_bool(&text).unwrap_or(false).to_string(),
        Kind::Float { .. } if !text.is_empty() => text.parse::<f64>().map(|f| f.to_string()).unwrap_or(text),
        _ => text,
    })
}

/// Float settings read text only as plain decimals (`value_patterns::float_text`), so the document
/// can say which texts are in range; JSON numbers are taken as they are.
pub(crate) fn float_text_ok(def: &SettingDef, text: &str) -> bool {
    match def.kind {
        Kind::Float { min } => {
            check_value(def, text).is_ok()
                && regex_lite::Regex::new(&super::value_patterns::float_text(min)).is_ok_and(|p| p.is_match(text))
        }
        _ => true,
    }
}

#[OpenApi(tag = "ApiTags::Settings")]
impl OverallConfigApi {
    /// Every runtime, security, limit and build setting not managed by the main settings form.
    #[oai(path = "/api/settings/overall-config", method = "get", operation_id = "get_overall_config")]
    async fn get(&self, state: Data<&Arc<AppState>>) -> ApiResult<Json<OverallConfig>> {
        Ok(Json(snapshot(&state, Vec::new()).await?))
    }

    /// Save or clear overrides. Hot-reloadable values apply at once; the others after a restart.
    #[oai(path = "/api/settings/overall-config", method = "put", operation_id = "update_overall_config")]
    async fn update(
        &self,
        state: Data<&Arc<AppState>>,
        body: StrictJson<OverallConfigUpdate>,
    ) -> ApiResult<Json<OverallConfig>> {
        let _writer = state.settings_writer.lock().await;
        let mut stored = store::all(&state.db).await.map_err(store_failed)?;
        let mut sets = Vec::new();
        let mut clears = Vec::new();
        let mut seen = HashSet::new();
        let mut restart_required_names = Vec::new();
        for update in &body.0.updates {
            let name = update.name.trim();
            if !seen.insert(name.to_string()) {
                return Err(ApiError::validation(format!("Duplicate config name: {name}")));
            }
            let def = TABLE
                .iter()
                .find(|def| def.name == name && listed(def))
                .ok_or_else(|| ApiError::validation(format!("Unknown config name: {name}")))?;
            if STARTUP_ONLY.contains(&def.name) {
                return Err(ApiError::validation(format!("{name} can only be configured at process startup")));
            }
            if update.clear_override {
                stored.remove(def.name);
                clears.push(def.name.to_string());
            } else {
                let value = update
                    .value
                    .as_ref()
                    .ok_or_else(|| ApiError::validation(format!("value is required for {name}")))?;
                if def.secret {
                    if value.as_str() == Some(KEEP_SENTINEL) {
                        continue;
                    }
                    return Err(ApiError::validation(format!("{name} can only be configured at process startup")));
                }
                let text = coerce(def, value).map_err(ApiError::validation)?;
                stored.insert(def.name.to_string(), text.clone());
                sets.push((def.name.to_string(), text));
            }
            if def.effect != Effect::HotReload {
                restart_required_names.push(def.name.to_string());
            }
        }
        // Cross-field rules (e.g. trusted proxies) are checked on the whole resulting configuration.
        state.settings.validate(&stored).map_err(|e| ApiError::validation(e.to_string()))?;
        store::apply(&state.db, &sets, &clears).await.map_err(store_failed)?;
        state.settings.reload(&stored).map_err(|e| ApiError::validation(e.to_string()))?;
        state.apply_running_settings();
        Ok(Json(snapshot(&state, restart_required_names).await?))
    }
}
