//! The live settings of a running server: the env snapshot, the SQLite overrides and the typed config
//! derived from both. Hot-reloadable values take effect by swapping the config.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::fallback_key::FallbackKey;
use super::{Config, Effect, EnvSnapshot, RawSettings, SettingError, TABLE};

pub struct SettingsHandle {
    env: EnvSnapshot,
    /// A2: the key used whenever no `ACCESS_KEY` is configured and the gate is on.
    fallback_key: FallbackKey,
    /// Overrides as they were at start: settings that need a restart keep these until then.
    startup_overrides: HashMap<String, String>,
    current: RwLock<(Arc<RawSettings>, Arc<Config>)>,
}

impl SettingsHandle {
    /// `fallback_key_file`: `DATA_DIR/access_key`.
    pub fn new(
        env: EnvSnapshot,
        overrides: &HashMap<String, String>,
        fallback_key_file: std::path::PathBuf,
    ) -> Result<Self, SettingError> {
        let fallback_key = FallbackKey::new(fallback_key_file);
        let (raw, config) = derive(&env, overrides, &fallback_key)?;
        Ok(SettingsHandle {
            env,
            fallback_key,
            startup_overrides: overrides.clone(),
            current: RwLock::new((raw, config)),
        })
    }

    /// Where the generated key is kept.
    pub fn fallback_key_file(&self) -> &std::path::Path {
        self.fallback_key.path()
    }

    pub fn current(&self) -> Arc<Config> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).1.clone()
    }

    pub fn raw(&self) -> Arc<RawSettings> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).0.clone()
    }

    pub fn env(&self) -> &EnvSnapshot {
        &self.env
    }

    /// Checks that stored `overrides` make a valid configuration, without applying anything.
    pub fn validate(&self, overrides: &HashMap<String, String>) -> Result<(), SettingError> {
        derive(&self.env, overrides, &self.fallback_key).map(|_| ())
    }

    /// Applies changed overrides: hot-reloadable settings take the new values at once, the others
    /// keep their start-time values until the next start. On error nothing changes.
    pub fn reload(&self, overrides: &HashMap<String, String>) -> Result<(), SettingError> {
        let running: HashMap<String, String> = TABLE
            .iter()
            .filter_map(|def| {
                let source = if def.effect == Effect::HotReload { overrides } else { &self.startup_overrides };
                source.get(def.name).map(|value| (def.name.to_string(), value.clone()))
            })
            .collect();
        let next = derive(&self.env, &running, &self.fallback_key)?;
        let was_generated = self.uses_generated_key();
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = next;
        if !was_generated && self.uses_generated_key() {
            super::announce_generated_key(&self.current(), self.fallback_key.path());
        }
        Ok(())
    }

    /// Whether the gate's key is the generated one (no `ACCESS_KEY` configured).
    pub fn uses_generated_key(&self) -> bool {
        self.current().access_key.is_some() && self.raw().get("ACCESS_KEY").trim().is_empty()
    }
}

fn derive(
    env: &EnvSnapshot,
    overrides: &HashMap<String, String>,
    fallback_key: &FallbackKey,
) -> Result<(Arc<RawSettings>, Arc<Config>), SettingError> {
    let raw = RawSettings::resolve(env, overrides);
    let mut config = Config::from_raw(&raw)?;
    // The gate is never open by accident: without a configured key it uses the generated one.
    if config.access_key.is_none() && !config.allow_unauthenticated {
        config.access_key = Some(fallback_key.get()?);
    }
    Ok((Arc::new(raw), Arc::new(config)))
}
