//! GPT Image Panel: a self-hosted web panel for GPT-compatible image APIs.
#![forbid(unsafe_code)]

pub mod api;
pub mod app;
pub mod healthcheck;
pub mod https_proxy;
pub mod optimizer_health;
pub mod outbound;
pub mod prompt_optimizer;
pub mod r2_sync_settings;
pub mod settings;
pub mod telemetry;
pub mod version_check;
pub mod web;

pub use app::Application;
