//! The live settings of a running server: the env snapshot, the SQLite overrides and the typed config
//! derived from both. Hot-reloadable values take effect by swapping the config.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::{Config, EnvSnapshot, RawSettings, SettingError};

pub struct SettingsHandle {
    env: EnvSnapshot,
    /// A2: the key generated at first start when no `ACCESS_KEY` is configured.
    generated_access_key: Option<String>,
    current: RwLock<(Arc<RawSettings>, Arc<Config>)>,
}

impl SettingsHandle {
    pub fn new(
        env: EnvSnapshot,
        overrides: &HashMap<String, String>,
        generated_access_key: Option<String>,
    ) -> Result<Self, SettingError> {
        let (raw, config) = derive(&env, overrides, generated_access_key.as_deref())?;
        Ok(SettingsHandle { env, generated_access_key, current: RwLock::new((raw, config)) })
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

    /// Re-derives the config after overrides changed; on error nothing changes.
    pub fn reload(&self, overrides: &HashMap<String, String>) -> Result<(), SettingError> {
        let next = derive(&self.env, overrides, self.generated_access_key.as_deref())?;
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
