//! The real binary, started the way a user starts it: defaults, an empty working directory, no key.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use poem::{Request, handler, web::Data};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::support::serve;

type Captured = Arc<Mutex<Vec<(String, String, Vec<u8>)>>>;

#[handler]
async fn otlp_sink(req: &Request, body: Vec<u8>, captured: Data<&Captured>) -> &'static str {
    let content_type = req.content_type().unwrap_or_default().to_string();
    captured.lock().unwrap().push((req.uri().path().to_string(), content_type, body));
    ""
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The real binary in a temporary working directory, its stdout and stderr collected as text.
pub(crate) struct RunningPanel {
    child: tokio::process::Child,
    pub(crate) base: String,
    logs: Arc<Mutex<String>>,
    pub(crate) client: reqwest::Client,
}

impl RunningPanel {
    pub(crate) async fn start(dir: &std::path::Path, env: &[(&str, &str)]) -> RunningPanel {
        let port = free_port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_gpt-image-panel"));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("PORT", port.to_string())
            .env("ENABLE_VERSION_CHECK", "false")
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().unwrap();
        let logs = Arc::new(Mutex::new(String::new()));
        for pipe in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn tokio::io::AsyncRead + Send + Unpin>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let logs = logs.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(pipe).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut logs = logs.lock().unwrap();
                    logs.push_str(&line);
                    logs.push('\n');
                }
            });
        }
        RunningPanel { child, base: format!("http://127.0.0.1:{port}"), logs, client: reqwest::Client::new() }
    }

    /// True once `/health` answers 200 (within about 6 s).
    pub(crate) async fn healthy(&self) -> bool {
        for _ in 0..300 {
            if self.client.get(format!("{}/health", self.base)).send().await.is_ok_and(|r| r.status() == 200) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    pub(crate) async fn unlock(&self, key: &str) -> reqwest::Response {
        self.client
            .post(format!("{}/api/access", self.base))
            .header("origin", &self.base)
            .json(&serde_json::json!({"access_key": key}))
            .send()
            .await
            .unwrap()
    }

    /// The first log line containing `needle`, waiting up to 2 s for it.
    pub(crate) async fn log_line(&self, needle: &str) -> Option<String> {
        self.log_line_within(needle, Duration::from_secs(2)).await
    }

    /// The first log line containing `needle`, waiting up to `wait` for it.
    pub(crate) async fn log_line_within(&self, needle: &str, wait: Duration) -> Option<String> {
        let deadline = std::time::Instant::now() + wait;
        while std::time::Instant::now() < deadline {
            if let Some(found) = self.logs.lock().unwrap().lines().find(|l| l.contains(needle)) {
                return Some(found.to_string());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        None
    }

    /// Forgets the logs so far (to wait for a line that appeared before).
    pub(crate) fn clear_logs(&self) {
        self.logs.lock().unwrap().clear();
    }

    /// SIGKILL, as a crash or the OOM killer would: no shutdown code runs.
    pub(crate) async fn kill_hard(mut self) {
        self.child.start_kill().unwrap();
        let _ = self.child.wait().await;
    }

    /// SIGTERM, then wait for the exit status.
    pub(crate) async fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().unwrap().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().await.unwrap().success());
        tokio::time::timeout(Duration::from_secs(20), self.child.wait()).await.unwrap().unwrap()
    }
}

#[tokio::test]
async fn the_binary_prints_its_key_serves_the_panel_and_exports_spans() {
    crate::helpers::install_crypto();
    let captured: Captured = Arc::default();
    let sink = serve(poem::EndpointExt::data(otlp_sink, captured.clone())).await;
    let dir = tempfile::tempdir().unwrap();
    let endpoint = format!("http://{sink}");
    let panel = RunningPanel::start(dir.path(), &[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)]).await;
    assert!(panel.healthy().await, "the panel answers on its default host and the chosen port");
    let banner = panel.logs.lock().unwrap().clone();
    let key = banner.lines().find(|line| line.starts_with("  ")).map(|line| line.trim().to_string());
    let key = key.expect("the generated key is printed");
    assert_eq!(std::fs::read_to_string(dir.path().join("data/access_key")).unwrap().trim(), key);
    let (base, client) = (panel.base.clone(), panel.client.clone());
    let page = client.get(&base).send().await.unwrap();
    assert!(page.text().await.unwrap().contains("<script nonce="));
    let unlock = panel.unlock(&key).await;
    assert_eq!(unlock.status(), 200);
    let cookie = unlock.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.ends_with("; Secure"), "Secure by default: {cookie}");
    assert!(dir.path().join("data/app.sqlite3").exists() && dir.path().join("images/thumbs").is_dir());

    let status = panel.stop().await;
    assert!(status.success(), "graceful shutdown: {status}");

    let exports = captured.lock().unwrap().clone();
    let traces: Vec<_> = exports.iter().filter(|(path, _, _)| path == "/v1/traces").collect();
    assert!(!traces.is_empty(), "spans were exported on shutdown");
    assert_eq!(traces[0].1, "application/x-protobuf");
    let body = traces.iter().flat_map(|(_, _, body)| body.clone()).collect::<Vec<u8>>();
    let has = |needle: &[u8]| body.windows(needle.len()).any(|w| w == needle);
    assert!(has(b"request") && has(b"gpt-image-panel") && has(b"/api/access"), "request spans with the service name");
}

#[tokio::test]
async fn secrets_never_reach_logs_or_responses() {
    let secrets = [
        "panel-access-key-7f3a9c",
        "sk-literal-upstream-41d2",
        "proxy-password-9e8b",
        "sk-optimizer-literal-55aa",
        "sk-env-upstream-c0ffee",
        "r2-secret-literal-beef",
    ];
    crate::helpers::install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let panel = RunningPanel::start(
        dir.path(),
        &[
            ("LOG_LEVEL", "debug"),
            ("ACCESS_KEY", secrets[0]),
            ("ACCESS_COOKIE_SECURE", "false"),
            ("ALLOW_PLAINTEXT_SECRETS", "true"),
            ("UPSTREAM_ALLOW_PRIVATE_NETWORK", "true"),
            ("R2_ENDPOINT_HOST_ALLOWLIST", "127.0.0.1"),
            ("ENV_UPSTREAM_KEY", secrets[4]),
        ],
    )
    .await;
    assert!(panel.healthy().await);
    let (base, client) = (panel.base.clone(), panel.client.clone());
    let mut bodies = String::new();
    let mut cookie = String::new();
    for key in ["wrong", &secrets[0][..10], secrets[0]] {
        let response = panel.unlock(key).await;
        if let Some(value) = response.headers().get("set-cookie") {
            cookie = value.to_str().unwrap().split(';').next().unwrap().to_string();
        }
        bodies.push_str(&response.text().await.unwrap());
    }
    let call = |method: reqwest::Method, path: &str, body: serde_json::Value| {
        client
            .request(method, format!("{base}{path}"))
            .header("origin", &base)
            .header("cookie", &cookie)
            .json(&body)
            .send()
    };
    let unreachable = format!("http://127.0.0.1:{}", free_port());
    let steps = [
        (
            reqwest::Method::POST,
            "/api/settings",
            serde_json::json!({"api_url": unreachable, "api_key": secrets[1],
            "upstream_socks5_proxy": format!("socks5://alice:{}@127.0.0.1:1080", secrets[2]),
            "prompt_optimizer": {"enabled": true, "api_url": format!("{unreachable}/v1/chat/completions"), "api_key": secrets[3]},
            "r2_backup": {"endpoint_url": unreachable, "bucket_name": "b", "access_key_id": "id", "secret_access_key": secrets[5]}}),
        ),
        (reqwest::Method::POST, "/api/settings/presets/default/health", serde_json::json!({"use_credentials": true})),
        (reqwest::Method::POST, "/api/prompt/optimize", serde_json::json!({"prompt": "a fox"})),
        (reqwest::Method::POST, "/api/settings/r2/health", serde_json::json!({})),
        (
            reqwest::Method::POST,
            "/api/settings",
            serde_json::json!({"api_url": unreachable, "api_key": "${ENV_UPSTREAM_KEY}"}),
        ),
        (reqwest::Method::POST, "/api/settings/presets/default/health", serde_json::json!({"use_credentials": true})),
        (reqwest::Method::GET, "/api/settings/overall-config", serde_json::Value::Null),
        (
            reqwest::Method::POST,
            "/api/settings",
            serde_json::json!({"api_url": "https://a.example.com", "api_key": "not-a-${ref"}),
        ),
    ];
    for (method, path, body) in steps {
        let response = call(method, path, body).await.unwrap();
        bodies.push_str(&response.text().await.unwrap());
    }
    let logs = panel.logs.clone();
    panel.stop().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let logs = logs.lock().unwrap().clone();
    assert!(logs.contains("/api/settings/r2/health"), "the log was captured");
    assert!(bodies.contains("Upstream probe failed") || bodies.contains("probe"), "the probes ran: {bodies}");
    for secret in secrets {
        assert!(!logs.contains(secret), "{secret} appears in the log");
        assert!(!bodies.contains(secret), "{secret} appears in a response");
    }
}

#[tokio::test]
async fn slow_gallery_queries_are_logged_without_the_prompt() {
    crate::helpers::install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let env =
        [("ACCESS_KEY", "log-test-access-key"), ("ACCESS_COOKIE_SECURE", "false"), ("SLOW_GALLERY_QUERY_MS", "0")];
    let panel = RunningPanel::start(dir.path(), &env).await;
    assert!(panel.healthy().await);
    let unlock = panel.unlock("log-test-access-key").await;
    let cookie = unlock.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let url = format!("{}/api/gallery?prompt=kiwi&model=m1", panel.base);
    let page = panel.client.get(url).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let line = panel.log_line("Slow /api/gallery query").await.expect("a slow-query line is logged");
    for field in [
        "page=1",
        "page_size=9",
        "total=0",
        "prompt_present=true",
        "prompt_len=4",
        "prompt_hash=",
        "model=Some(\"m1\")",
        "elapsed_ms=",
        "db_query_ms=",
        "rows_ms=",
        "count_ms=",
        "total_bytes_ms=",
        "filter_options_ms=",
        "cursor=false",
        "direction=next",
        "include_counts=true",
        "include_filter_options=true",
    ] {
        assert!(line.contains(field), "{field} in {line}");
    }
    assert!(!line.contains("kiwi"), "the prompt text is never logged: {line}");
}

/// `gpt-image-panel healthcheck` as the container's HEALTHCHECK runs it: the same environment as the
/// server, exit status 0 only when `/health` answers.
async fn healthcheck(dir: &std::path::Path, port: u16) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gpt-image-panel"))
        .arg("healthcheck")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOST", "0.0.0.0")
        .env("PORT", port.to_string())
        .current_dir(dir)
        .output()
        .await
        .unwrap()
}

#[tokio::test]
async fn healthcheck_passes_only_while_the_server_answers() {
    let dir = tempfile::tempdir().unwrap();
    let panel = RunningPanel::start(dir.path(), &[("HOST", "0.0.0.0")]).await;
    assert!(panel.healthy().await);
    let port: u16 = panel.base.rsplit(':').next().unwrap().parse().unwrap();
    let healthy = healthcheck(dir.path(), port).await;
    assert!(healthy.status.success(), "{}", String::from_utf8_lossy(&healthy.stderr));
    assert!(String::from_utf8_lossy(&healthy.stdout).contains("ok"));
    drop(panel);

    // A wedged server: the port takes connections but nothing answers.
    let wedged = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = wedged.local_addr().unwrap().port();
    let unhealthy = healthcheck(dir.path(), port).await;
    assert!(!unhealthy.status.success());
    assert!(String::from_utf8_lossy(&unhealthy.stderr).contains("unhealthy: no answer"));
    drop(wedged);

    // Nothing listening at all.
    let closed = healthcheck(dir.path(), port).await;
    assert!(!closed.status.success());
    assert!(String::from_utf8_lossy(&closed.stderr).contains("unhealthy: cannot connect"));
}

/// SIGTERM while a browser tab holds the jobs feed open: the stream ends cleanly (its body completes,
/// so the tab reconnects to the next start) and the process exits successfully.
#[tokio::test]
async fn a_stop_ends_open_live_streams() {
    crate::helpers::install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let panel = RunningPanel::start(dir.path(), &[("ACCESS_KEY", "stop-test-key-0123456789")]).await;
    assert!(panel.healthy().await);
    let unlock = panel.unlock("stop-test-key-0123456789").await;
    let cookie = unlock.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let mut feed = panel
        .client
        .get(format!("{}/api/generate/jobs/events", panel.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(feed.status(), 200);
    let mut seen = String::new();
    while !seen.contains("event: jobs") {
        let chunk = feed.chunk().await.unwrap().expect("the feed sends the current list first");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }

    let rest = tokio::spawn(async move {
        let mut rest = Vec::new();
        while let Some(chunk) = feed.chunk().await? {
            rest.extend_from_slice(&chunk);
        }
        Ok::<_, reqwest::Error>(rest)
    });
    let status = panel.stop().await;
    assert!(status.success(), "graceful shutdown: {status}");
    let rest = rest.await.unwrap();
    assert!(rest.is_ok(), "the stream ended with a complete body, not a cut connection: {rest:?}");
}
