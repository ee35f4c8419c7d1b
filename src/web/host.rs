//! Host and origin normalization shared by the Host allowlist, CSRF check and settings.

use std::net::Ipv6Addr;

/// A browser origin: scheme, lower-cased host (IPv6 bracketed) and a non-default port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub scheme: &'static str,
    pub host: String,
    pub port: Option<u16>,
}

impl Origin {
    /// Parses `http(s)://host[:port][/path]`; the path is ignored, default ports are dropped.
    pub fn parse(text: &str) -> Option<Origin> {
        let url = url::Url::parse(text.trim()).ok()?;
        let scheme = match url.scheme() {
            "http" => "http",
            "https" => "https",
            _ => return None,
        };
        if !url.username().is_empty() || url.password().is_some() {
            return None;
        }
        let host = match url.host()? {
            url::Host::Domain(domain) if !domain.is_empty() => domain.to_ascii_lowercase(),
            url::Host::Domain(_) => return None,
            url::Host::Ipv4(ip) => ip.to_string(),
            url::Host::Ipv6(ip) => format!("[{ip}]"),
        };
        Some(Origin { scheme, host, port: url.port() })
    }

    /// The origin of a request that arrived with `scheme` and a normalized `host[:port]`.
    pub fn from_request(scheme: &str, normalized_host: &str) -> Option<Origin> {
        Origin::parse(&format!("{scheme}://{normalized_host}"))
    }

    pub fn serialize(&self) -> String {
        match self.port {
            Some(port) => format!("{}://{}:{port}", self.scheme, self.host),
            None => format!("{}://{}", self.scheme, self.host),
        }
    }

    /// The Host header values this origin stands for: `host[:port]`, plus `host:default` without a port.
    pub fn host_values(&self) -> Vec<String> {
        match self.port {
            Some(port) => vec![format!("{}:{port}", self.host)],
            None => {
                let default = if self.scheme == "https" { 443 } else { 80 };
                vec![self.host.clone(), format!("{}:{default}", self.host)]
            }
        }
    }
}

/// Normalizes a `Host`-style value: lower-case host, IPv6 bracketed, `:port` kept only when present.
/// Returns `None` for anything that is not a plain host (userinfo, paths, queries, bad ports, junk).
pub fn normalize_host(value: &str) -> Option<String> {
    let value = value.trim();
    if value.is_empty() || value.len() > 255 || value.chars().any(|c| c.is_control()) {
        return None;
    }
    let value = value.strip_suffix('/').unwrap_or(value);
    if value.contains(['@', '/', '?', '#', '\\', ' ']) {
        return None;
    }
    let (host, port) = if let Some(rest) = value.strip_prefix('[') {
        let (inner, after) = rest.split_once(']')?;
        let ip: Ipv6Addr = inner.parse().ok()?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':')?),
        };
        (format!("[{ip}]"), port)
    } else {
        let (host, port) = match value.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (value, None),
        };
        let valid =
            !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
        if !valid {
            return None;
        }
        (host.to_ascii_lowercase(), port)
    };
    match port {
        None => Some(host),
        Some(port) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            let port: u16 = port.parse().ok()?;
            Some(format!("{host}:{port}"))
        }
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_normalize_like_the_reference() {
        assert_eq!(normalize_host("PANEL.example.com").as_deref(), Some("panel.example.com"));
        assert_eq!(normalize_host("panel.example.com:80").as_deref(), Some("panel.example.com:80"));
        assert_eq!(normalize_host("[::1]:9090").as_deref(), Some("[::1]:9090"));
        assert_eq!(normalize_host("[0:0::1]").as_deref(), Some("[::1]"));
        for bad in ["", "user@host", "host/path", "host?q", "host:abc", "host:99999", "ho st", "a\u{0}b", "::1"] {
            assert_eq!(normalize_host(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn origins_drop_default_ports_and_paths() {
        let origin = Origin::parse("HTTP://TestServer:80/some/page?x=1").unwrap();
        assert_eq!(origin.serialize(), "http://testserver");
        assert_eq!(Origin::parse("https://other.example:8443").unwrap().host_values(), vec!["other.example:8443"]);
        assert_eq!(Origin::parse("null"), None);
        assert_eq!(Origin::parse("ftp://x"), None);
    }
}
