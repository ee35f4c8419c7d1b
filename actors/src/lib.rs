//! The GPT Image Panel engine: a supervisor with one actor per concern, and the SQLite store that is the
//! source of truth. No HTTP types live here.
#![forbid(unsafe_code)]

pub mod archive;
pub mod dispatcher;
pub mod engine;
pub mod exporter;
pub mod gallery_feed;
pub mod hex;
pub mod importer;
pub mod job_feed;
pub mod job_rows;
pub mod live_settings;
pub mod media;
pub mod metrics;
pub mod r2;
pub mod r2_sync_run;
pub mod r2_syncer;
pub mod store;
pub mod supervisor;
pub mod thumbnailer;
pub mod upkeep;
pub mod upstream;
pub mod webhook;

pub use engine::Engine;
pub use supervisor::{EngineDeps, EngineError};
