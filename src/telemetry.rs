//! Logging: structured `tracing` output filtered by `LOG_LEVEL` (or `RUST_LOG` when set).

use tracing_subscriber::EnvFilter;

pub fn init(log_level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(log_level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).try_init();
}
