//! Settings the engine's actors read each time they use them, so a change saved through Overall Config
//! acts at once: the server hands new values to `Engine::apply_live` after every reload. They live
//! outside the actors, so a restarted actor keeps the current values too.

use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveValues {
    /// `MAX_ACTIVE_GENERATE_JOBS`: image units running upstream at once.
    pub max_active_units: usize,
    /// `JOB_HISTORY_MAX_ROWS`: finished jobs kept.
    pub history_keep: u64,
    /// `MAX_IMAGE_PIXELS`: the largest image a thumbnail is decoded from.
    pub max_image_pixels: u64,
    /// `APP_VERSION`: written into export metadata.
    pub version: String,
}

#[derive(Debug)]
pub struct LiveSettings {
    max_active_units: AtomicUsize,
    history_keep: AtomicU64,
    max_image_pixels: AtomicU64,
    version: RwLock<String>,
}

impl LiveSettings {
    pub fn new(values: LiveValues) -> Self {
        let live = LiveSettings {
            max_active_units: AtomicUsize::new(1),
            history_keep: AtomicU64::new(0),
            max_image_pixels: AtomicU64::new(0),
            version: RwLock::default(),
        };
        live.set(values);
        live
    }

    pub fn set(&self, values: LiveValues) {
        self.max_active_units.store(values.max_active_units.max(1), Ordering::Relaxed);
        self.history_keep.store(values.history_keep, Ordering::Relaxed);
        self.max_image_pixels.store(values.max_image_pixels, Ordering::Relaxed);
        *self.version.write().unwrap_or_else(|e| e.into_inner()) = values.version;
    }

    pub fn max_active_units(&self) -> usize {
        self.max_active_units.load(Ordering::Relaxed)
    }

    pub fn history_keep(&self) -> u64 {
        self.history_keep.load(Ordering::Relaxed)
    }

    pub fn max_image_pixels(&self) -> u64 {
        self.max_image_pixels.load(Ordering::Relaxed)
    }

    pub fn version(&self) -> String {
        self.version.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Default for LiveSettings {
    /// The settings' defaults.
    fn default() -> Self {
        LiveSettings::new(LiveValues {
            max_active_units: 2,
            history_keep: 1000,
            max_image_pixels: 100_000_000,
            version: String::new(),
        })
    }
}
