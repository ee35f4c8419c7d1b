use crate::helpers::*;

fn nonce_of(csp: &str) -> String {
    let start = csp.find("'nonce-").expect("nonce in CSP") + "'nonce-".len();
    csp[start..].split('\'').next().unwrap().to_string()
}

#[tokio::test]
async fn the_index_carries_a_fresh_nonce_on_every_script() {
    let app = spawn_app().await;
    let mut nonces = Vec::new();
    for path in ["/", "/gallery/deep/link"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
        assert_eq!(response.headers()["cache-control"], "no-cache");
        let csp = response.headers()["content-security-policy"].to_str().unwrap().to_string();
        let nonce = nonce_of(&csp);
        assert_eq!(nonce.len(), 22, "16 bytes base64url: {nonce}");
        assert!(csp.contains(&format!("script-src 'self' 'nonce-{nonce}'")), "{csp}");
        assert!(csp.contains(&format!("script-src-elem 'self' 'nonce-{nonce}'")), "{csp}");
        assert!(
            csp.contains("script-src-attr 'none'")
                && csp.contains("style-src 'self';")
                && csp.contains("style-src-attr 'unsafe-inline'")
        );
        assert!(!csp.split(';').any(|d| d.contains("script-src") && d.contains("unsafe-inline")), "{csp}");
        let html = response.text().await.unwrap();
        let scripts = html.matches("<script").count();
        assert!(scripts >= 1, "{html}");
        assert_eq!(html.matches(&format!("<script nonce=\"{nonce}\"")).count(), scripts, "{html}");
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1]);
}

#[tokio::test]
async fn immutable_assets_are_cached_for_a_year_with_etags() {
    let app = spawn_app().await;
    let html = app.get("/").await.text().await.unwrap();
    let start = html.find("/_app/immutable/").expect("an immutable asset is referenced");
    let asset: String = html[start..].chars().take_while(|c| !matches!(c, '"' | '\'' | ' ' | ')')).collect();
    let response = app.get(&asset).await;
    assert_eq!(response.status(), 200, "{asset}");
    assert_eq!(response.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert!(!response.headers()["content-security-policy"].to_str().unwrap().contains("nonce"));
    let etag = response.headers()["etag"].to_str().unwrap().to_string();
    let again = app.request(reqwest::Method::GET, &asset).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(again.status(), 304);

    let favicon = app.get("/favicon.svg").await;
    assert_eq!(favicon.status(), 200);
    assert_eq!(favicon.headers()["content-type"], "image/svg+xml");
}

#[tokio::test]
async fn asset_paths_cannot_escape_the_build() {
    let app = spawn_app().await;
    for path in ["/_app/../../Cargo.toml", "/%2e%2e/%2e%2e/Cargo.toml", "/_app/%2e%2e/x", "/a\\b"] {
        let response = app.get(path).await;
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        assert!(!body.contains("[workspace]"), "{path} leaked a file");
        assert!(status == 404 || body.contains("<!doctype html>"), "{path}: {status}");
    }
}
