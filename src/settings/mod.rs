//! Settings: the declarative table, where each value comes from, and the typed `Config` the server uses.

mod config;
mod fallback_key;
mod generated;
mod handle;
pub mod panel;
pub mod secrets;
mod table;

pub use config::{Config, HostRule, PublicOrigin};
pub use generated::{render_env_example, render_settings_table};
pub use handle::SettingsHandle;
pub use table::{Effect, Group, Kind, SettingDef, TABLE, find};

use std::collections::HashMap;
use std::path::Path;

/// Prints the generated key to stdout (never to the log) so the owner can unlock the panel: at
/// start, and when a run-time change puts it in use.
pub fn announce_generated_key(config: &Config, path: &Path) {
    println!("ACCESS_KEY is not set; unlock the panel with the generated key stored in {}:", path.display());
    println!("  {}", config.access_key.as_deref().unwrap_or_default());
}

/// Where a setting's current value came from, in priority order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A SQLite override written through Overall Config.
    Override,
    /// The process environment or the `.env` file in the working directory.
    Env,
    Default,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Override => "override",
            Source::Env => "env",
            Source::Default => "default",
        }
    }
}

/// A frozen copy of the environment. The server never reads `std::env` after start, so tests can hand
/// it any environment they like and `${VAR}` references resolve against the same snapshot.
#[derive(Debug, Clone, Default)]
pub struct EnvSnapshot(HashMap<String, String>);

impl EnvSnapshot {
    /// The process environment, with `.env` in `dir` filling in names the process does not set.
    pub fn from_process(dir: &Path) -> anyhow::Result<Self> {
        let mut vars: HashMap<String, String> = HashMap::new();
        let dotenv = dir.join(".env");
        if dotenv.exists() {
            for item in dotenvy::from_path_iter(&dotenv)? {
                let (name, value) = item?;
                vars.insert(name, value);
            }
        }
        vars.extend(std::env::vars());
        Ok(EnvSnapshot(vars))
    }

    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        EnvSnapshot(pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// Every setting of the table with its raw text and source.
#[derive(Debug, Clone)]
pub struct RawSettings {
    values: HashMap<&'static str, (String, Source)>,
}

impl RawSettings {
    /// Applies the loading order: SQLite override > environment > default.
    pub fn resolve(env: &EnvSnapshot, overrides: &HashMap<String, String>) -> Self {
        let values = TABLE
            .iter()
            .map(|def| {
                let entry = if let Some(value) = overrides.get(def.name) {
                    (value.clone(), Source::Override)
                } else if let Some(value) = env.get(def.name) {
                    (value.to_string(), Source::Env)
                } else {
                    (def.default.to_string(), Source::Default)
                };
                (def.name, entry)
            })
            .collect();
        RawSettings { values }
    }

    pub fn get(&self, name: &str) -> &str {
        self.values.get(name).map(|(value, _)| value.as_str()).unwrap_or("")
    }

    pub fn source(&self, name: &str) -> Source {
        self.values.get(name).map(|(_, source)| *source).unwrap_or(Source::Default)
    }

    /// Names of ignored settings that someone set, so start-up can say they have no effect.
    pub fn ignored_but_set(&self) -> Vec<&'static str> {
        TABLE
            .iter()
            .filter(|def| def.effect == Effect::Ignored && self.source(def.name) != Source::Default)
            .map(|def| def.name)
            .collect()
    }
}

/// A setting whose value does not parse; the message names the variable.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{name}: {message}")]
pub struct SettingError {
    pub name: &'static str,
    pub message: String,
}

impl SettingError {
    pub fn new(name: &'static str, message: impl Into<String>) -> Self {
        SettingError { name, message: message.into() }
    }
}

/// Parses one value against its table entry. Empty text means "use the default".
pub fn check_value(def: &SettingDef, raw: &str) -> Result<(), SettingError> {
    let value = raw.trim();
    if value.is_empty() {
        return Ok(());
    }
    match def.kind {
        Kind::Bool => parse_bool(value)
            .map(|_| ())
            .ok_or_else(|| SettingError::new(def.name, "must be a boolean (true/false, 1/0, yes/no, on/off)")),
        Kind::Int { min, max } => match value.parse::<i64>() {
            Ok(n) if n >= min && n <= max => Ok(()),
            Ok(_) if max == i64::MAX => Err(SettingError::new(def.name, format!("must be at least {min}"))),
            Ok(_) => Err(SettingError::new(def.name, format!("must be between {min} and {max}"))),
            Err(_) => Err(SettingError::new(def.name, "must be a whole number")),
        },
        Kind::Float { min } => match value.parse::<f64>() {
            Ok(n) if n.is_finite() && n >= min => Ok(()),
            Ok(_) => Err(SettingError::new(def.name, format!("must be a number of at least {min}"))),
            Err(_) => Err(SettingError::new(def.name, "must be a number")),
        },
        Kind::Text | Kind::List | Kind::Path => {
            if value.chars().any(|c| c.is_control()) {
                Err(SettingError::new(def.name, "must not contain control characters"))
            } else {
                Ok(())
            }
        }
    }
}

pub fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Splits a list setting on commas (and semicolons where `semicolons` is set), dropping blanks.
pub fn split_list(value: &str, semicolons: bool) -> Vec<String> {
    value
        .split(|c| c == ',' || (semicolons && c == ';'))
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_string)
        .collect()
}
