//! The SvelteKit build, embedded in the binary. `index.html` is served with a fresh CSP nonce on every
//! response; hashed assets under `/_app/immutable/` are cached for a year; other GET paths fall back
//! to the index so deep links work.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use poem::http::{HeaderValue, StatusCode};
use poem::{IntoResponse, Response};
use rust_embed::RustEmbed;

use super::headers::index_csp;
use crate::api::error::ApiError;

#[derive(RustEmbed)]
#[folder = "$CARGO_MANIFEST_DIR/frontend/build"]
#[allow_missing = true]
struct Assets;

const MISSING_BUILD: &str = "Frontend build not found. Run `npm --prefix frontend run build`.";

/// Serves a non-API GET path.
pub fn serve(path: &str, if_none_match: Option<&str>, immutable_max_age: u64) -> Result<Response, ApiError> {
    let relative = path.trim_start_matches('/');
    if relative.is_empty() || relative == "index.html" {
        return index();
    }
    if !is_plain_asset_path(relative) {
        return Err(ApiError::not_found());
    }
    match Assets::get(relative) {
        Some(file) => Ok(asset(relative, file, if_none_match, immutable_max_age)),
        None if relative.starts_with("favicon.") => {
            Err(ApiError::new(StatusCode::NOT_FOUND, "Frontend favicon not found"))
        }
        None => index(),
    }
}

/// Only simple relative names reach the embedded store: no traversal, no encoded tricks.
fn is_plain_asset_path(relative: &str) -> bool {
    relative.split('/').all(|segment| !segment.is_empty() && segment != "." && segment != "..")
        && !relative.contains(['\\', '%', '\0', ':'])
}

fn asset(name: &str, file: rust_embed::EmbeddedFile, if_none_match: Option<&str>, max_age: u64) -> Response {
    let etag = format!("\"{}\"", panel_actors::hex::encode(&file.metadata.sha256_hash()[..16]));
    let cache = if name.starts_with("_app/immutable/") {
        format!("public, max-age={max_age}, immutable")
    } else {
        "no-cache".to_string()
    };
    let not_modified = if_none_match.is_some_and(|value| value.split(',').any(|tag| tag.trim() == etag));
    let mut response = if not_modified {
        Response::builder().status(StatusCode::NOT_MODIFIED).finish()
    } else {
        let mime = mime_guess::from_path(name).first_or_octet_stream();
        Response::builder().content_type(mime.essence_str()).body(file.data.into_owned())
    };
    let headers = response.headers_mut();
    headers.insert("etag", HeaderValue::from_str(&etag).expect("hex etag is a valid header"));
    headers.insert("cache-control", HeaderValue::from_str(&cache).expect("cache value is a valid header"));
    response
}

fn index() -> Result<Response, ApiError> {
    let file =
        Assets::get("index.html").ok_or_else(|| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, MISSING_BUILD))?;
    let nonce = new_nonce();
    let html = inject_nonce(&String::from_utf8_lossy(&file.data), &nonce);
    Ok(html_response(html, index_csp(&nonce)))
}

/// An HTML page with its own CSP and no caching.
pub fn html_response(html: String, csp: String) -> Response {
    let mut response = poem::web::Html(html).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert("cache-control", HeaderValue::from_static("no-cache"));
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        headers.insert("content-security-policy", csp);
    }
    response
}

/// 16 random bytes, base64url without padding (22 characters).
pub fn new_nonce() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>())
}

/// Adds `nonce="…"` as the first attribute of every opening `<script>` tag that lacks one.
pub fn inject_nonce(html: &str, nonce: &str) -> String {
    let tag = regex_lite::Regex::new(r"(?i)<script(\s[^>]*)?>").expect("static regex");
    tag.replace_all(html, |caps: &regex_lite::Captures| {
        let attrs = caps.get(1).map_or("", |m| m.as_str());
        if attrs.to_ascii_lowercase().contains("nonce=") {
            caps[0].to_string()
        } else {
            format!("<script nonce=\"{nonce}\"{attrs}>")
        }
    })
    .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_go_on_every_script_tag_without_one() {
        let html = r#"<SCRIPT type="module">a</SCRIPT><script>b</script><script nonce="x">c</script><style></style>"#;
        assert_eq!(
            inject_nonce(html, "N"),
            r#"<script nonce="N" type="module">a</SCRIPT><script nonce="N">b</script><script nonce="x">c</script><style></style>"#
        );
    }

    #[test]
    fn asset_paths_refuse_traversal() {
        for bad in ["../etc/passwd", "_app/../../x", "a//b", "a\\b", "%2e%2e/x", "a/./b"] {
            assert!(!is_plain_asset_path(bad), "{bad}");
        }
        assert!(is_plain_asset_path("_app/immutable/entry/start.js"));
    }
}
