use std::net::{IpAddr, Ipv4Addr};

use reqwest::Method;
use serde_json::{Value, json};

use crate::generate::{finished, generate};
use crate::helpers::*;
use crate::settings_api::{api, loopback_alias};
use crate::support::mock_upstream::MockUpstream;
use crate::support::socks5::Socks5Server;
use crate::support::tls;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A mock upstream reachable as `https://api.upstream.test:<port>` only through the proxy: the name
/// does not resolve on this machine, only in the proxy's table.
async fn proxied(
    credentials: Option<(&str, &str)>,
) -> (TestApp, String, MockUpstream, Socks5Server, tempfile::TempDir) {
    let mock = MockUpstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let backend = mock.base_url.trim_start_matches("http://").parse().unwrap();
    let front = tls::start_for(backend, dir.path(), &["api.upstream.test"]).await;
    let proxy = Socks5Server::start(credentials, &[("api.upstream.test", LOOPBACK)]).await;
    let ca = front.ca_file.display().to_string();
    let proxy_url = proxy.url(credentials);
    let app =
        spawn_app_with(&[("SSL_CERT_FILE", &ca), ("UPSTREAM_KEY", "sk-upstream-test"), ("PROXY_URL", &proxy_url)])
            .await;
    let cookie = app.unlock().await;
    let saved = api(
        &app,
        &cookie,
        Method::POST,
        "/api/settings",
        Some(json!({
            "api_url": format!("https://api.upstream.test:{}/v1", front.address.port()),
            "api_key": "${UPSTREAM_KEY}",
            "upstream_socks5_proxy": "${PROXY_URL}",
        })),
    )
    .await;
    assert_eq!(saved.status(), 200, "{}", saved.text().await.unwrap());
    (app, cookie, mock, proxy, dir)
}

#[tokio::test]
async fn generation_calls_go_through_the_socks5_proxy_with_remote_dns() {
    let (app, cookie, mock, proxy, _dir) = proxied(Some(("alice", "s3cret"))).await;
    assert!(tokio::net::lookup_host(("api.upstream.test", 443)).await.is_err(), "the name does not resolve locally");
    let queued: Value = generate(&app, &cookie, json!({"prompt": "via proxy", "response_format": "b64_json"}))
        .await
        .json()
        .await
        .unwrap();
    let done = finished(&app, &cookie, queued["job_id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "success", "{done}");
    let targets = proxy.targets();
    assert_eq!(targets.len(), 1, "{targets:?}");
    assert!(targets[0].starts_with("api.upstream.test:"), "the host name went to the proxy: {targets:?}");
    assert_eq!(mock.requests_to("/v1/images/generations")[0].header("authorization"), Some("Bearer sk-upstream-test"));
}

#[tokio::test]
async fn wrong_proxy_credentials_fail_the_unit() {
    let (app, _cookie, mock, proxy, _dir) = proxied(Some(("alice", "s3cret"))).await;
    // Same settings, but the environment now names a password the proxy refuses.
    let data = app.dir.clone();
    app.stop().await;
    let wrong = format!("socks5://alice:wrong@{}", proxy.address);
    let app = spawn_app_in(data, &[("UPSTREAM_KEY", "sk-upstream-test"), ("PROXY_URL", &wrong)]).await;
    let cookie = app.unlock().await;
    let queued: Value = generate(&app, &cookie, json!({"prompt": "refused", "response_format": "b64_json"}))
        .await
        .json()
        .await
        .unwrap();
    let done = finished(&app, &cookie, queued["job_id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "error", "{done}");
    assert!(!done["error"].as_str().unwrap().contains("wrong"), "the proxy password is not shown: {done}");
    assert!(proxy.targets().is_empty(), "the proxy refused before any CONNECT");
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn a_name_that_resolves_locally_to_a_private_address_is_refused_before_the_proxy() {
    let (app, cookie, mock, proxy, _dir) = proxied(None).await;
    let alias = loopback_alias();
    api(
        &app,
        &cookie,
        Method::POST,
        "/api/settings",
        Some(json!({"api_url": format!("https://{alias}/v1"), "api_key": "${UPSTREAM_KEY}"})),
    )
    .await;
    let queued: Value = generate(&app, &cookie, json!({"prompt": "private"})).await.json().await.unwrap();
    let done = finished(&app, &cookie, queued["job_id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "error");
    assert!(
        done["error"].as_str().unwrap().starts_with(&format!("Hostname '{alias}' resolves to private/internal IP(s)")),
        "{done}"
    );
    assert!(proxy.targets().is_empty(), "nothing was sent to the proxy");
    assert!(mock.requests().is_empty());
}
