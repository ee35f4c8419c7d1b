//! A2: the access key used whenever no `ACCESS_KEY` is configured and the gate is on. It is made
//! once, the first time it is needed (at start, or when a run-time change turns the gate on or clears
//! the configured key), and kept in `DATA_DIR/access_key` (0600) so every start uses the same one.

use std::path::PathBuf;
use std::sync::Mutex;

use super::SettingError;

pub struct FallbackKey {
    path: PathBuf,
    key: Mutex<Option<String>>,
}

impl FallbackKey {
    pub fn new(path: PathBuf) -> Self {
        FallbackKey { path, key: Mutex::new(None) }
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// The stored key, made and stored first if there is none.
    pub fn get(&self) -> Result<String, SettingError> {
        let mut key = self.key.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(key) = key.as_ref() {
            return Ok(key.clone());
        }
        let found = match std::fs::read_to_string(&self.path) {
            Ok(existing) if !existing.trim().is_empty() => existing.trim().to_string(),
            _ => self.create()?,
        };
        *key = Some(found.clone());
        Ok(found)
    }

    fn create(&self) -> Result<String, SettingError> {
        use base64::Engine as _;
        let failed = |e: &dyn std::fmt::Display| {
            SettingError::new(
                "ACCESS_KEY",
                format!("the generated key cannot be stored in {}: {e}", self.path.display()),
            )
        };
        let key = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 24]>());
        panel_actors::store::private_file(&self.path).map_err(|e| failed(&e))?;
        std::fs::write(&self.path, format!("{key}\n")).map_err(|e| failed(&e))?;
        Ok(key)
    }
}
