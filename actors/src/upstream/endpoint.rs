//! Upstream base URLs: normalizing what users type, and joining a base with an API path the way the
//! previous panel did (a base may or may not end in `/v1`, or may already be the full endpoint).

use url::Url;

use super::url_shape;

/// The three generation paths a preset may use.
pub const API_PATHS: [&str; 3] = ["/v1/images/generations", "/v1/responses", "/v1/chat/completions"];
pub const EDITS_PATH: &str = "/v1/images/edits";

/// `https://<lower-case host>[:port]<path without trailing slash>`, or the contract's message prefixed
/// with `label` (e.g. `API URL must use https://`). `allow_http` admits `http://` and whatever else
/// the URL standard reads as a host (private networks); otherwise the URL must fit
/// [`url_shape::base_url_pattern`], the shape the OpenAPI document gives.
pub fn normalize_base_url(text: &str, label: &str, allow_http: bool) -> Result<String, String> {
    let normalized = parse_base_url(text, label, allow_http)?;
    if !allow_http && !url_shape::is_base_url(text) {
        return Err(url_shape::shape_message(label));
    }
    Ok(normalized)
}

fn parse_base_url(text: &str, label: &str, allow_http: bool) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("{label} must not be empty"));
    }
    let url = match Url::parse(text) {
        Ok(url) => url,
        Err(url::ParseError::InvalidPort) => return Err(format!("{label} must include a valid port")),
        Err(url::ParseError::EmptyHost) => return Err(format!("{label} must include a hostname")),
        Err(_) => return Err(format!("{label} must use https://")),
    };
    let scheme_ok = url.scheme() == "https" || (allow_http && url.scheme() == "http");
    if !scheme_ok {
        return Err(format!("{label} must use https://"));
    }
    let host = match url.host() {
        Some(url::Host::Domain(domain)) if !domain.is_empty() => domain.to_ascii_lowercase(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
        _ => return Err(format!("{label} must include a hostname")),
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{label} must not include username or password"));
    }
    if url.query().is_some() || url.fragment().is_some() || text.contains('?') || text.contains('#') {
        return Err(format!("{label} must not include query strings or fragments"));
    }
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let path = url.path().trim_end_matches('/');
    Ok(format!("{}://{host}{port}{path}", url.scheme()))
}

/// Joins a normalized base with an API path: a base already ending with the path is used as is; a
/// base ending in `/v1` does not repeat it.
pub fn join(base: &str, path: &str) -> String {
    let path = if path.starts_with('/') { path.to_string() } else { format!("/{path}") };
    if base.ends_with(&path) {
        base.to_string()
    } else if base.ends_with("/v1") && path.starts_with("/v1/") {
        format!("{base}{}", &path[3..])
    } else {
        format!("{base}{path}")
    }
}

/// `scheme://host:port` with the default port filled in, for "did the origin change?" checks.
pub fn origin_of(url: &str) -> Option<String> {
    let url = Url::parse(url).ok()?;
    Some(format!("{}://{}:{}", url.scheme(), url.host_str()?.to_ascii_lowercase(), url.port_or_known_default()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_normalize_and_join() {
        assert_eq!(
            normalize_base_url(" https://API.Example.com/v1/ ", "API URL", false).unwrap(),
            "https://api.example.com/v1"
        );
        assert_eq!(normalize_base_url("https://h:8443", "API URL", false).unwrap(), "https://h:8443");
        for (bad, message) in [
            ("", "API URL must not be empty"),
            ("http://h", "API URL must use https://"),
            ("h.example", "API URL must use https://"),
            ("https://h:99999", "API URL must include a valid port"),
            ("https://u:p@h", "API URL must not include username or password"),
            ("https://h/?x=1", "API URL must not include query strings or fragments"),
            ("https://h/#f", "API URL must not include query strings or fragments"),
        ] {
            assert_eq!(normalize_base_url(bad, "API URL", false).unwrap_err(), message, "{bad}");
        }
        assert_eq!(normalize_base_url("http://127.0.0.1:8080", "API URL", true).unwrap(), "http://127.0.0.1:8080");
        assert_eq!(join("https://h/v1", "/v1/images/edits"), "https://h/v1/images/edits");
        assert_eq!(join("https://h", "/v1/images/generations"), "https://h/v1/images/generations");
        assert_eq!(join("https://h/openai", "/v1/responses"), "https://h/openai/v1/responses");
        assert_eq!(
            join("https://h/v1/images/generations", "/v1/images/generations"),
            "https://h/v1/images/generations"
        );
        assert_eq!(origin_of("https://H.example/v1"), Some("https://h.example:443".into()));
    }
}
