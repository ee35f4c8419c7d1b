//! The live settings of a running server: the env snapshot, the SQLite overrides and the typed config
//! derived from both. Hot-reloadable values take effect by swapping the config.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::{Config, Effect, EnvSnapshot, RawSettings, SettingError, TABLE};

pub struct SettingsHandle {
    env: EnvSnapshot,
    /// A2: the key generated at first start when no `ACCESS_KEY` is configured.
    generated_access_key: Option<String>,
    /// Overrides as they were at start: settings that need a restart keep these until then.
    startup_overrides: HashMap<String, String>,
    current: RwLock<(Arc<RawSettings>, Arc<Config>)>,
}

impl SettingsHandle {
    pub fn new(
        env: EnvSnapshot,
        overrides: &HashMap<String, String>,
        generated_access_key: Option<String>,
    ) -> Result<Self, SettingError> {
        let (raw, config) = derive(&env, overrides, generated_access_key.as_deref())?;
        Ok(SettingsHandle {
            env,
            generated_access_key,
            startup_overrides: overrides.clone(),
            current: RwLock::new((raw, config)),
        })
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
        derive(&self.env, overrides, self.generated_access_key.as_deref()).map(|_| ())
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
        let next = derive(&self.env, &running, self.generated_access_key.as_deref())?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = next;
        Ok(())
    }
}

fn derive(
    env: &EnvSnapshot,
    overrides: &HashMap<String, String>,
    generated_access_key: Option<&str>,
) -> Result<(Arc<RawSettings>, Arc<Config>), SettingError> {
    let raw = RawSettings::resolve(env, overrides);
    let mut config = Config::from_raw(&raw)?;
    if config.access_key.is_none() && !config.allow_unauthenticated {
        config.access_key = generated_access_key.map(str::to_string);
    }
    Ok((Arc::new(raw), Arc::new(config)))
}
