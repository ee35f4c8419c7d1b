use std::collections::HashMap;

use gpt_image_panel::settings::{Config, EnvSnapshot, RawSettings, Source, TABLE};
use panel_actors::store::{self, settings_overrides};

use crate::helpers::*;

fn resolve(env: &[(&str, &str)], overrides: &[(&str, &str)]) -> RawSettings {
    let overrides: HashMap<String, String> = overrides.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    RawSettings::resolve(&EnvSnapshot::from_pairs(env.iter().copied()), &overrides)
}

#[test]
fn overrides_beat_env_which_beats_defaults() {
    let raw = resolve(&[("MAX_FILE_SIZE_MB", "70"), ("PORT", "8080")], &[("MAX_FILE_SIZE_MB", "90")]);
    assert_eq!((raw.get("MAX_FILE_SIZE_MB"), raw.source("MAX_FILE_SIZE_MB")), ("90", Source::Override));
    assert_eq!((raw.get("PORT"), raw.source("PORT")), ("8080", Source::Env));
    assert_eq!((raw.get("MAX_JSON_BODY_MB"), raw.source("MAX_JSON_BODY_MB")), ("1", Source::Default));
    let config = Config::from_raw(&raw).unwrap();
    assert_eq!(config.max_file_size_bytes, 90 * 1024 * 1024);
    assert_eq!(config.port, 8080);
    assert_eq!(config.host, "127.0.0.1");
}

#[test]
fn every_setting_is_declared_once_with_help_and_a_valid_default() {
    let mut seen = std::collections::HashSet::new();
    for def in TABLE {
        assert!(seen.insert(def.name), "{} declared twice", def.name);
        assert!(!def.help.is_empty(), "{} has help", def.name);
        gpt_image_panel::settings::check_value(def, def.default).unwrap_or_else(|e| panic!("default of {e}"));
    }
    for name in
        ["HOST", "PORT", "UPSTREAM_ALLOW_PRIVATE_NETWORK", "ACCESS_KEY", "DATABASE_FILE", "WEBHOOK_MAX_ATTEMPTS"]
    {
        assert!(seen.contains(name), "{name} is in the table");
    }
}

#[test]
fn invalid_values_name_their_variable() {
    for (name, value, message) in [
        ("PORT", "99999", "PORT: must be between 0 and 65535"),
        ("ACCESS_MAX_FAILURES", "many", "ACCESS_MAX_FAILURES: must be a whole number"),
        ("ENABLE_METRICS", "maybe", "ENABLE_METRICS: must be a boolean"),
        ("GITHUB_REPO", "not a repo", "GITHUB_REPO: must look like owner/repo"),
    ] {
        let err = Config::from_raw(&resolve(&[(name, value)], &[])).unwrap_err();
        assert!(err.to_string().starts_with(message), "{err}");
    }
}

#[test]
fn a_dotenv_file_fills_in_what_the_process_does_not_set() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "GPT_IMAGE_PANEL_TEST_ONLY_SETTING=from-dotenv\n# comment\nPATH=overridden\n",
    )
    .unwrap();
    let env = EnvSnapshot::from_process(dir.path()).unwrap();
    assert_eq!(env.get("GPT_IMAGE_PANEL_TEST_ONLY_SETTING"), Some("from-dotenv"));
    assert_ne!(env.get("PATH"), Some("overridden"), "the process environment wins over .env");
}

#[tokio::test]
async fn sqlite_overrides_apply_at_start() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let data = dir.path().join("data");
    let db = store::open(&data, &data.join("app.sqlite3")).await.unwrap();
    settings_overrides::set(&db, "APP_VERSION", "v7.7.7").await.unwrap();
    db.close().await.unwrap();
    let app = spawn_app_in(dir, &[("APP_VERSION", "v1.0.0")]).await;
    let cookie = app.unlock().await;
    let version: serde_json::Value = app.get_with_cookie("/api/version", &cookie).await.json().await.unwrap();
    assert_eq!(version["version"], "v7.7.7");
}

#[tokio::test]
async fn an_invalid_setting_stops_start_with_its_name() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let err = try_spawn_app_in(dir, &[("MAX_JSON_BODY_MB", "0")]).await.err().unwrap();
    assert!(format!("{err:#}").contains("MAX_JSON_BODY_MB: must be at least 1"), "{err:#}");
}
