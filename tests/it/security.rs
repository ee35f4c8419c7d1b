use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

async fn status_with_host(app: &TestApp, path: &str, host: &str) -> reqwest::Response {
    app.request(Method::GET, path).header("host", host).send().await.unwrap()
}

#[tokio::test]
async fn host_allowlist_accepts_listed_hosts_only() {
    let app =
        spawn_app_with(&[("ALLOWED_HOSTS", "panel.example.com, https://other.example:8443, 10.0.0.5:9090")]).await;
    for host in ["panel.example.com", "PANEL.example.com", "other.example:8443", "10.0.0.5:9090"] {
        assert_eq!(status_with_host(&app, "/health", host).await.status(), 200, "{host}");
    }
    for host in ["panel.example.com:80", "other.example", "10.0.0.5", "evil.example", "user@panel.example.com"] {
        let response = status_with_host(&app, "/health", host).await;
        assert_envelope(response, 400, "host_not_allowed", "Host is not allowed").await;
    }
    // A same-origin fetch hint does not bypass the Host allowlist.
    let response = app
        .request(Method::POST, "/api/access")
        .header("host", "evil.example")
        .header("sec-fetch-site", "same-origin")
        .json(&json!({"access_key": ACCESS_KEY}))
        .send()
        .await
        .unwrap();
    assert_envelope(response, 400, "host_not_allowed", "Host is not allowed").await;
}

#[tokio::test]
async fn public_origin_joins_the_allowlist_and_an_invalid_one_refuses_everything() {
    let app = spawn_app_with(&[("PUBLIC_ORIGIN", "https://panel.example.com")]).await;
    assert_eq!(status_with_host(&app, "/health", "panel.example.com").await.status(), 200);
    assert_eq!(status_with_host(&app, "/health", "panel.example.com:443").await.status(), 200);
    assert_eq!(status_with_host(&app, "/health", "panel.example.com:80").await.status(), 400);
    assert_eq!(app.get("/health").await.status(), 400, "127.0.0.1:port is not the public origin");

    let app = spawn_app_with(&[("PUBLIC_ORIGIN", "ftp://nope")]).await;
    assert_envelope(app.get("/health").await, 400, "host_not_allowed", "PUBLIC_ORIGIN is invalid").await;
}

#[tokio::test]
async fn forwarded_host_counts_only_from_a_trusted_proxy() {
    let hosts = ("ALLOWED_HOSTS", "panel.example.com");
    let trusted = spawn_app_with(&[hosts, ("TRUST_PROXY_HEADERS", "true"), ("TRUSTED_PROXY_IPS", "127.0.0.0/8")]).await;
    let forwarded = |app: &TestApp, fwd: &str| {
        app.request(Method::GET, "/health").header("host", "panel.example.com").header("x-forwarded-host", fwd).send()
    };
    assert_eq!(forwarded(&trusted, "panel.example.com").await.unwrap().status(), 200);
    let refused = forwarded(&trusted, "evil.example, panel.example.com").await.unwrap();
    assert_envelope(refused, 400, "host_not_allowed", "Forwarded host is not allowed").await;

    let untrusted = spawn_app_with(&[hosts]).await;
    assert_eq!(forwarded(&untrusted, "evil.example").await.unwrap().status(), 200, "ignored from an untrusted peer");
}

#[tokio::test]
async fn ip_allowlist_refuses_other_clients_but_not_health() {
    let app = spawn_app_with(&[("IP_ALLOWLIST", "10.0.0.0/8; 192.0.2.1")]).await;
    assert_eq!(app.get("/health").await.status(), 200);
    for path in ["/", "/api/access/status", "/_app/version.json"] {
        assert_envelope(app.get(path).await, 403, "ip_not_allowed", "IP address is not allowed").await;
    }
    let allowed = spawn_app_with(&[("IP_ALLOWLIST", "127.0.0.1, bogus-entry")]).await;
    assert_eq!(allowed.get("/api/access/status").await.status(), 200);
}

#[tokio::test]
async fn proxy_headers_pick_the_client_right_to_left_from_trusted_proxies_only() {
    let settings = [
        ("IP_ALLOWLIST", "198.51.100.7"),
        ("TRUST_PROXY_HEADERS", "true"),
        ("TRUSTED_PROXY_IPS", "127.0.0.1, 203.0.113.0/24"),
    ];
    let app = spawn_app_with(&settings).await;
    let with_xff =
        |xff: &'static str| app.request(Method::GET, "/api/access/status").header("x-forwarded-for", xff).send();
    assert_eq!(with_xff("198.51.100.7").await.unwrap().status(), 200);
    assert_eq!(with_xff("198.51.100.7, 203.0.113.9").await.unwrap().status(), 200, "trusted hops are skipped");
    assert_eq!(
        with_xff("198.51.100.7, 192.0.2.44").await.unwrap().status(),
        403,
        "the rightmost untrusted hop is the client"
    );
    let real_ip =
        app.request(Method::GET, "/api/access/status").header("x-real-ip", "198.51.100.7").send().await.unwrap();
    assert_eq!(real_ip.status(), 200);

    let untrusted = spawn_app_with(&[("IP_ALLOWLIST", "198.51.100.7")]).await;
    let spoofed = untrusted
        .request(Method::GET, "/api/access/status")
        .header("x-forwarded-for", "198.51.100.7")
        .send()
        .await
        .unwrap();
    assert_eq!(spoofed.status(), 403, "an untrusted peer cannot claim another address");
}

#[tokio::test]
async fn trusting_proxy_headers_without_proxies_refuses_to_start() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let err = try_spawn_app_in(dir, &[("TRUST_PROXY_HEADERS", "true"), ("TRUSTED_PROXY_IPS", "not-an-ip")])
        .await
        .err()
        .unwrap();
    assert!(format!("{err:#}").contains("TRUSTED_PROXY_IPS"), "{err:#}");
}

#[tokio::test]
async fn csrf_check_covers_every_unsafe_method() {
    let app = spawn_app().await;
    let origin = app.origin();
    let https_origin = origin.replace("http://", "https://");
    let body = json!({"access_key": ACCESS_KEY});
    let cases: Vec<(Vec<(&str, String)>, u16)> = vec![
        (vec![], 403),
        (vec![("origin", origin.clone())], 200),
        (vec![("origin", https_origin)], 403),
        (vec![("origin", "null".into())], 403),
        (vec![("referer", format!("{origin}/some/page?x=1"))], 200),
        (vec![("referer", "https://evil.example/".into())], 403),
        (vec![("sec-fetch-site", "same-origin".into())], 200),
        (vec![("sec-fetch-site", "same-site".into())], 403),
        (vec![("sec-fetch-site", "same-site".into()), ("origin", origin.clone())], 200),
        (vec![("sec-fetch-site", "cross-site".into()), ("origin", origin.clone())], 403),
        (vec![("sec-fetch-site", "none".into())], 403),
        (vec![("origin", "https://evil.example".into()), ("referer", format!("{origin}/"))], 403),
    ];
    for (headers, expected) in cases {
        let mut request = app.request(Method::POST, "/api/access").json(&body);
        for (name, value) in &headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.unwrap();
        if expected == 403 {
            assert_envelope(response, 403, "csrf_rejected", "CSRF origin check failed").await;
        } else {
            assert_eq!(response.status(), expected, "{headers:?}");
        }
    }
    for method in [Method::PUT, Method::PATCH, Method::DELETE] {
        let response = app.request(method.clone(), "/api/version").send().await.unwrap();
        assert_envelope(response, 403, "csrf_rejected", "CSRF origin check failed").await;
    }
}

#[tokio::test]
async fn csrf_uses_public_origin_and_trusted_forwarded_proto() {
    let app = spawn_app_with(&[("PUBLIC_ORIGIN", "https://panel.example.com"), ("ALLOWED_HOSTS", "127.0.0.1")]).await;
    let post = |origin: &'static str| {
        app.request(Method::POST, "/api/access")
            .header("host", "127.0.0.1")
            .header("origin", origin)
            .json(&json!({"access_key": ACCESS_KEY}))
            .send()
    };
    assert_eq!(post("https://panel.example.com").await.unwrap().status(), 200);
    assert_eq!(post("http://127.0.0.1").await.unwrap().status(), 403);

    let proxied = spawn_app_with(&[("TRUST_PROXY_HEADERS", "true"), ("TRUSTED_PROXY_IPS", "127.0.0.1")]).await;
    let response = proxied
        .request(Method::POST, "/api/access")
        .header("host", "internal:9090")
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "panel.example.com")
        .header("origin", "https://panel.example.com")
        .json(&json!({"access_key": ACCESS_KEY}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn csrf_check_can_be_disabled() {
    let app = spawn_app_with(&[("CSRF_ORIGIN_CHECK_ENABLED", "false")]).await;
    let response =
        app.request(Method::POST, "/api/access").json(&json!({"access_key": ACCESS_KEY})).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn the_gate_covers_the_api_and_docs_but_not_the_page() {
    let app = spawn_app().await;
    for path in ["/api/version", "/api/version/latest", "/api/nope", "/openapi.json", "/docs"] {
        assert_envelope(app.get(path).await, 401, "authentication_required", "Access key required").await;
    }
    for path in ["/health", "/api/access/status", "/", "/gallery/some-image", "/favicon.svg"] {
        assert_eq!(app.get(path).await.status(), 200, "{path} is public");
    }
    let response = app.request(Method::DELETE, "/api/settings").header("origin", app.origin()).send().await.unwrap();
    assert_envelope(response, 401, "authentication_required", "Access key required").await;
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    let cookie = app.unlock().await;
    for (path, cached_privately) in [("/health", false), ("/api/version", true), ("/api/nope", true), ("/", false)] {
        let response = app.get_with_cookie(path, &cookie).await;
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "same-origin", "{path}");
        assert!(headers["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"), "{path}");
        assert_eq!(headers["x-correlation-id"].len(), 32, "{path}");
        if cached_privately {
            assert_eq!(headers["cache-control"], "private, no-store", "{path}");
            assert_eq!(headers["vary"], "Cookie", "{path}");
        }
    }
    let page = app.get("/").await;
    assert_eq!(page.headers()["cache-control"], "no-cache");
    let two = (app.get("/health").await, app.get("/health").await);
    assert_ne!(two.0.headers()["x-correlation-id"], two.1.headers()["x-correlation-id"], "fresh id per request");
}

#[tokio::test]
async fn oversized_json_is_413_with_or_without_content_length() {
    let app = spawn_app_with(&[("MAX_JSON_BODY_MB", "1")]).await;
    let big = json!({"access_key": "k".repeat(1024 * 1024 + 10)}).to_string();
    let response = app
        .same_origin(Method::POST, "/api/access")
        .header("content-type", "application/json")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_envelope(response, 413, "request_too_large", "Request body too large").await;

    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        big.into_bytes().chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
    let stream = futures_util::stream::iter(chunks);
    let response = app
        .same_origin(Method::POST, "/api/access")
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert!(
        response.headers().get("content-length").is_some() || response.headers().get("transfer-encoding").is_none()
    );
    assert_envelope(response, 413, "request_too_large", "Request body too large").await;

    // The limit is checked before anything else, even CSRF and the gate.
    let limited = spawn_app_with(&[("MAX_FILE_SIZE_MB", "1")]).await;
    let response = limited
        .request(Method::POST, "/api/version")
        .header("content-type", "text/plain")
        .body(vec![b'x'; 1024 * 1024 + 1])
        .send()
        .await
        .unwrap();
    assert_envelope(response, 413, "request_too_large", "Request body too large").await;
}
