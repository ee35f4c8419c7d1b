//! Black-box tests of the real server over loopback HTTP. One test binary keeps link time down.

#[path = "../support/mod.rs"]
mod support;

mod access;
mod binary;
mod crash;
mod docs_and_drift;
mod edits;
mod engine;
mod errors;
mod export;
mod frontend;
mod gallery;
mod generate;
mod helpers;
mod import;
mod job_events;
mod live_path;
mod media;
mod metrics;
mod mock_upstream;
mod overall_config;
mod prompt;
mod r2_health;
mod r2_sync;
mod r2_sync_binary;
mod security;
mod settings;
mod settings_api;
mod snippets;
mod socks5;
mod storage;
mod upstream_limits;
mod version;
mod webhooks;
