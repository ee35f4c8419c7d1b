//! Headers every response carries: correlation id, CSP, nosniff, referrer policy, and cache rules.

use poem::Response;
use poem::http::HeaderValue;

/// The policy for everything but HTML pages, which get a per-response nonce.
pub const DEFAULT_CSP: &str = "default-src 'self'; base-uri 'self'; object-src 'none'; frame-ancestors 'none'; \
form-action 'self'; script-src 'self'; script-src-elem 'self'; script-src-attr 'none'; style-src 'self'; \
style-src-attr 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'";

/// The policy for the SPA index: scripts need the response's nonce.
pub fn index_csp(nonce: &str) -> String {
    DEFAULT_CSP
        .replace("script-src 'self';", &format!("script-src 'self' 'nonce-{nonce}';"))
        .replace("script-src-elem 'self';", &format!("script-src-elem 'self' 'nonce-{nonce}';"))
}

/// The API docs page renders with inline styles and a search worker.
pub fn docs_csp(nonce: &str) -> String {
    index_csp(nonce).replace("style-src 'self';", "style-src 'self' 'unsafe-inline'; worker-src 'self' blob:;")
}

const MEDIA_PREFIXES: [&str; 3] = ["/api/image/", "/api/thumb/", "/api/download/"];

pub fn apply(response: &mut Response, path: &str, correlation_id: &str) {
    let status = response.status();
    let headers = response.headers_mut();
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    if !headers.contains_key("content-security-policy") {
        headers.insert("content-security-policy", HeaderValue::from_static(DEFAULT_CSP));
    }
    if let Ok(value) = HeaderValue::from_str(correlation_id) {
        headers.insert("x-correlation-id", value);
    }
    if status.as_u16() >= 400 || path.starts_with("/api/") {
        let keeps_own_cache = status.as_u16() < 400
            && MEDIA_PREFIXES.iter().any(|prefix| path.starts_with(prefix))
            && headers.contains_key("cache-control");
        if !keeps_own_cache {
            headers.insert("cache-control", HeaderValue::from_static("private, no-store"));
        }
        append_vary(response, "Cookie");
    } else if path == "/" {
        response.headers_mut().insert("cache-control", HeaderValue::from_static("no-cache"));
    }
}

fn append_vary(response: &mut Response, token: &str) {
    let headers = response.headers_mut();
    let current = headers.get("vary").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let has = current.split(',').any(|part| part.trim().eq_ignore_ascii_case(token));
    if has {
        return;
    }
    let next = if current.trim().is_empty() { token.to_string() } else { format!("{current}, {token}") };
    if let Ok(value) = HeaderValue::from_str(&next) {
        headers.insert("vary", value);
    }
}
