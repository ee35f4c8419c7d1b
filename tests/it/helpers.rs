//! `spawn_app()` gives each test its own real server on `127.0.0.1:0`, with a fresh data dir, SQLite
//! file and image folders, and exactly the settings the test names.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use gpt_image_panel::Application;
use gpt_image_panel::app::AppState;
use gpt_image_panel::settings::EnvSnapshot;
use reqwest::{Method, RequestBuilder, Response};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const ACCESS_KEY: &str = "test-access-key-0123456789";

pub struct TestApp {
    pub base: String,
    pub state: Arc<AppState>,
    pub client: reqwest::Client,
    pub dir: Arc<TempDir>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

/// Settings every test starts from; a test's own pairs win.
fn base_settings(dir: &Path) -> Vec<(String, String)> {
    let path = |p: &str| dir.join(p).display().to_string();
    vec![
        ("HOST".into(), "127.0.0.1".into()),
        ("PORT".into(), "0".into()),
        ("DATA_DIR".into(), path("data")),
        ("DATABASE_FILE".into(), path("data/app.sqlite3")),
        ("IMAGES_DIR".into(), path("images")),
        ("THUMBNAILS_DIR".into(), path("images/thumbs")),
        ("ACCESS_KEY".into(), ACCESS_KEY.into()),
        ("ACCESS_COOKIE_SECURE".into(), "false".into()),
        ("ENABLE_VERSION_CHECK".into(), "false".into()),
    ]
}

pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts a server; `("NAME", None)`-style removal is done by passing an empty value.
pub async fn spawn_app_with(settings: &[(&str, &str)]) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    spawn_app_in(dir, settings).await
}

/// Starts a server on an existing directory (to test restarts).
pub async fn spawn_app_in(dir: Arc<TempDir>, settings: &[(&str, &str)]) -> TestApp {
    try_spawn_app_in(dir, settings).await.expect("application starts")
}

pub async fn try_spawn_app_in(dir: Arc<TempDir>, settings: &[(&str, &str)]) -> anyhow::Result<TestApp> {
    install_crypto();
    let mut pairs = base_settings(dir.path());
    for (name, value) in settings {
        pairs.retain(|(existing, _)| existing != name);
        pairs.push((name.to_string(), value.to_string()));
    }
    let app = Application::build(EnvSnapshot::from_pairs(pairs)).await?;
    let address = app.address();
    let state = app.state();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let _ = app
            .run_until_stopped(async {
                let _ = stopped.await;
            })
            .await;
    });
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    Ok(TestApp { base: format!("http://{address}"), state, client, dir, stop: Some(stop), server: Some(server) })
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn origin(&self) -> String {
        self.base.clone()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// An unsafe-method request that carries our own Origin, as a browser would send it.
    pub fn same_origin(&self, method: Method, path: &str) -> RequestBuilder {
        self.request(method, path).header("origin", self.origin())
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path).send().await.expect("request sent")
    }

    pub async fn get_with_cookie(&self, path: &str, cookie: &str) -> Response {
        self.request(Method::GET, path).header("cookie", cookie).send().await.expect("request sent")
    }

    pub async fn post_access(&self, key: &str) -> Response {
        self.same_origin(Method::POST, "/api/access")
            .json(&serde_json::json!({"access_key": key}))
            .send()
            .await
            .expect("request sent")
    }

    /// Unlocks with the test key and returns the `Cookie` header value to send afterwards.
    pub async fn unlock(&self) -> String {
        let response = self.post_access(ACCESS_KEY).await;
        assert_eq!(response.status(), 200);
        cookie_pair(&response)
    }

    /// Stops the server and waits until it released the database.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// `name=value` of the response's `Set-Cookie`.
pub fn cookie_pair(response: &Response) -> String {
    let header = response.headers().get("set-cookie").expect("set-cookie header").to_str().unwrap();
    header.split(';').next().unwrap().to_string()
}

/// Asserts the contract's error envelope and returns it.
pub async fn assert_envelope(response: Response, status: u16, code: &str, detail: &str) -> serde_json::Value {
    assert_eq!(response.status(), status, "status");
    let correlation = response.headers().get("x-correlation-id").map(|v| v.to_str().unwrap().to_string());
    assert_eq!(response.headers().get("content-type").unwrap(), "application/json");
    let text = response.text().await.expect("body");
    let positions: Vec<usize> =
        ["\"status\"", "\"error_code\"", "\"correlation_id\"", "\"detail\"", "\"message\"", "\"error\":"]
            .iter()
            .map(|key| text.find(key).unwrap_or_else(|| panic!("{key} missing in {text}")))
            .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "envelope keys in contract order: {text}");
    let body: serde_json::Value = serde_json::from_str(&text).expect("json body");
    assert_eq!(body.as_object().unwrap().len(), 6, "exactly six keys: {text}");
    assert_eq!(body["status"], "error");
    assert_eq!(body["error_code"], code, "error_code of {body}");
    assert_eq!(body["detail"], detail, "detail of {body}");
    assert_eq!(body["message"], detail);
    assert_eq!(body["error"], detail);
    let id = body["correlation_id"].as_str().unwrap();
    assert!(id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "{id}");
    assert_eq!(correlation.as_deref(), Some(id), "X-Correlation-ID matches the body");
    body
}
