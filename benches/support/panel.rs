//! Starts the real server binary for a benchmark and unlocks it.

use std::time::Duration;

pub const ACCESS_KEY: &str = "bench-access-key";

/// What every job benchmark sets: quiet logs, the loopback mock upstream allowed, its key in the env.
#[allow(dead_code)]
pub const JOB_ENV: [(&str, &str); 4] = [
    ("LOG_LEVEL", "warn"),
    ("UPSTREAM_ALLOW_PRIVATE_NETWORK", "true"),
    ("UPSTREAM_KEY", "sk-bench"),
    ("MAX_ACTIVE_GENERATE_JOBS", "8"),
];

/// A running server (killed on drop) with an unlocked cookie.
pub struct BenchPanel {
    pub server: tokio::process::Child,
    pub base: String,
    pub client: reqwest::Client,
    pub cookie: String,
}

impl BenchPanel {
    pub async fn start(dir: &std::path::Path, env: &[(&str, &str)]) -> BenchPanel {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let server = tokio::process::Command::new(env!("CARGO_BIN_EXE_gpt-image-panel"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("PORT", port.to_string())
            .env("ACCESS_KEY", ACCESS_KEY)
            .env("ACCESS_COOKIE_SECURE", "false")
            .env("ENABLE_VERSION_CHECK", "false")
            .envs(env.iter().copied())
            .current_dir(dir)
            .kill_on_drop(true)
            .spawn()
            .expect("start the server");
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap();
        // A seeded database can take a while to open; allow 30 s.
        for _ in 0..1500 {
            if client.get(format!("{base}/health")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let unlock = client
            .post(format!("{base}/api/access"))
            .header("origin", &base)
            .json(&serde_json::json!({"access_key": ACCESS_KEY}))
            .send()
            .await
            .unwrap();
        let cookie = unlock.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
        BenchPanel { server, base, client, cookie }
    }

    /// Points the active preset at the mock upstream (`<base>/v1`, key from `UPSTREAM_KEY`).
    #[allow(dead_code)]
    pub async fn use_upstream(&self, mock_base: &str) {
        let saved = self
            .client
            .post(format!("{}/api/settings", self.base))
            .header("origin", &self.base)
            .header("cookie", &self.cookie)
            .json(&serde_json::json!({"api_url": format!("{mock_base}/v1"), "api_key": "${UPSTREAM_KEY}"}))
            .send()
            .await
            .unwrap();
        assert!(saved.status().is_success(), "settings saved");
    }

    /// A JSON `GET` with the session cookie.
    #[allow(dead_code)]
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        let response = self.client.get(format!("{}{path}", self.base)).header("cookie", &self.cookie).send().await;
        response.unwrap().json().await.unwrap()
    }
}
