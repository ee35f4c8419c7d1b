//! Which requests the access gate lets through without a session, and how the session cookie looks.

use chrono::{DateTime, Utc};
use poem::Request;
use poem::http::Method;

/// Exempt: the unlock routes, health, and every non-API GET (the SPA index and its assets are public).
/// The OpenAPI document and its docs page stay behind the gate.
pub fn is_exempt(method: &Method, path: &str) -> bool {
    if matches!(path, "/api/access" | "/api/access/status" | "/health") {
        return true;
    }
    let read = *method == Method::GET || *method == Method::HEAD;
    read && !is_api_path(path) && !is_docs_path(path)
}

pub fn is_api_path(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

pub fn is_docs_path(path: &str) -> bool {
    path == "/openapi.json" || path == "/docs" || path.starts_with("/docs/")
}

/// The value of cookie `name` from the request's `Cookie` headers.
pub fn cookie<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all("cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"'))
}

/// `Set-Cookie` in the shape browsers and the previous panel agree on.
pub fn set_cookie(name: &str, token: &str, exp: i64, max_age: i64, secure: bool) -> String {
    let expires = DateTime::<Utc>::from_timestamp(exp, 0).unwrap_or_default().format("%a, %d %b %Y %H:%M:%S GMT");
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={token}; expires={expires}; HttpOnly; Max-Age={max_age}; Path=/; SameSite=lax{secure}")
}
