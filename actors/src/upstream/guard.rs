//! The SSRF guard: one set of rules for every outbound URL (upstream APIs, probes, the prompt
//! optimizer, webhooks, image downloads). Scheme, userinfo, query, blocked names, host allowlists and
//! DNS: every resolved address must be publicly routable unless private networks are allowed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use url::{Host, Url};

/// Host names that are never a legitimate target (cloud metadata, captive-portal probes, localhost).
pub const BLOCKED_HOSTNAMES: [&str; 9] = [
    "localhost",
    "localhost.localdomain",
    "metadata.google.internal",
    "metadata.google.com",
    "169.254.169.254",
    "metadata.azure.com",
    "metadata.internal",
    "detectportal.safari.com",
    "captive.apple.com",
];

/// What a URL is for; it decides the wording of refusals and whether queries are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    UpstreamApi,
    Webhook,
    ImageDownload,
    R2Endpoint,
}

impl Purpose {
    fn scheme_message(self) -> &'static str {
        match self {
            Purpose::UpstreamApi => "Only HTTPS URLs are allowed for upstream API",
            Purpose::Webhook => "Only HTTPS URLs are allowed for webhook callbacks",
            Purpose::ImageDownload => "Only HTTPS URLs are allowed for image URLs",
            Purpose::R2Endpoint => "R2 endpoint URL must use https://",
        }
    }

    fn no_host_message(self) -> &'static str {
        match self {
            Purpose::Webhook => "Invalid webhook URL: no hostname",
            _ => "Invalid URL: no hostname",
        }
    }

    fn host_label(self) -> &'static str {
        match self {
            Purpose::UpstreamApi => "Hostname",
            Purpose::Webhook => "Webhook hostname",
            Purpose::ImageDownload => "Image URL hostname",
            Purpose::R2Endpoint => "R2 endpoint hostname",
        }
    }
}

/// How strict to be for one URL.
#[derive(Debug, Clone)]
pub struct Policy {
    pub purpose: Purpose,
    /// Exact host names allowed (case-insensitive, trailing dot ignored); empty allows any.
    pub allowlist: Vec<String>,
    /// `UPSTREAM_ALLOW_PRIVATE_NETWORK`: loopback/private targets and plain `http://` are allowed.
    pub allow_private: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// A URL that passed every rule, with the addresses it may connect to.
#[derive(Debug, Clone)]
pub struct Vetted {
    pub url: Url,
    pub host: String,
    pub addresses: Vec<SocketAddr>,
}

/// Checks a URL's shape without touching the network.
pub fn check_shape(url: &Url, policy: &Policy) -> Result<String, Refused> {
    let refuse = |message: String| Err(Refused(message));
    // Image URLs are HTTPS-only even where private networks are allowed.
    let http_ok = policy.allow_private && policy.purpose != Purpose::ImageDownload;
    let scheme_ok = url.scheme() == "https" || (http_ok && url.scheme() == "http");
    if !scheme_ok {
        return refuse(policy.purpose.scheme_message().to_string());
    }
    let host = match url.host() {
        Some(Host::Domain(domain)) if !domain.is_empty() => domain.trim_end_matches('.').to_ascii_lowercase(),
        Some(Host::Ipv4(ip)) => ip.to_string(),
        Some(Host::Ipv6(ip)) => ip.to_string(),
        _ => return refuse(policy.purpose.no_host_message().to_string()),
    };
    if policy.purpose != Purpose::ImageDownload {
        if !url.username().is_empty() || url.password().is_some() {
            return refuse("URL must not include username or password".to_string());
        }
        if policy.purpose == Purpose::UpstreamApi && (url.query().is_some() || url.fragment().is_some()) {
            return refuse("URL must not include query strings or fragments".to_string());
        }
    }
    let label = policy.purpose.host_label();
    if BLOCKED_HOSTNAMES.contains(&host.as_str()) && !policy.allow_private {
        return refuse(format!("{label} '{host}' is not allowed"));
    }
    if !policy.allowlist.is_empty() {
        let listed =
            policy.allowlist.iter().any(|entry| entry.trim().trim_end_matches('.').eq_ignore_ascii_case(&host));
        if !listed {
            let allowed = policy.allowlist.iter().map(|e| e.trim()).collect::<Vec<_>>().join(", ");
            return refuse(format!("{label} '{host}' is not in the allowlist. Allowed: {allowed}"));
        }
    }
    Ok(host)
}

/// Checks shape, then resolves the host and refuses any non-public address.
pub async fn vet(url: &Url, policy: &Policy) -> Result<Vetted, Refused> {
    let host = check_shape(url, policy)?;
    let port = url.port_or_known_default().unwrap_or(443);
    let addresses: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        // A name that does not resolve passes here; the connection fails instead.
        Err(_) => tokio::net::lookup_host((host.as_str(), port)).await.map(Iterator::collect).unwrap_or_default(),
    };
    if !policy.allow_private {
        let private: Vec<String> =
            addresses.iter().filter(|a| !is_public(a.ip())).map(|a| format!("'{}'", a.ip())).collect();
        if !private.is_empty() {
            let label = policy.purpose.host_label();
            return Err(Refused(format!("{label} '{host}' resolves to private/internal IP(s): {}", dedup(private))));
        }
    }
    Ok(Vetted { url: url.clone(), host, addresses })
}

fn dedup(mut items: Vec<String>) -> String {
    let mut seen = std::collections::HashSet::new();
    items.retain(|item| seen.insert(item.clone()));
    items.join(", ")
}

/// Whether an address is globally routable: not loopback, private, link-local, shared, documentation,
/// benchmarking, multicast, reserved or unspecified. IPv4 embedded in IPv6 is judged as IPv4.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (18..20).contains(&b))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let segments = ip.segments();
    // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address that decides.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [a, b] = segments[6].to_be_bytes();
        let [c, d] = segments[7].to_be_bytes();
        return is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    if segments[0] == 0x2002 {
        let [a, b] = segments[1].to_be_bytes();
        let [c, d] = segments[2].to_be_bytes();
        return is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || segments[0] & 0xfe00 == 0xfc00 // unique local fc00::/7
        || segments[0] & 0xffc0 == 0xfe80 // link-local fe80::/10
        || segments[0] & 0xffc0 == 0xfec0 // site-local fec0::/10
        || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation
        || (segments[0] == 0x2001 && segments[1] < 0x0200) // IETF protocol assignments 2001::/23
        || segments[..4] == [0x100, 0, 0, 0] // discard-only 100::/64
        || segments[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible ::/96 (deprecated)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy { purpose: Purpose::UpstreamApi, allowlist: Vec::new(), allow_private: false }
    }

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "198.18.0.1",
            "192.0.2.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12:3456::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
            "2001:db8::1",
            "ff02::1",
            "::127.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["1.1.1.1", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn shapes_are_refused_with_the_contract_messages() {
        let check = |url: &str, policy: &Policy| check_shape(&Url::parse(url).unwrap(), policy).map_err(|e| e.0);
        assert_eq!(
            check("http://api.example.com", &policy()),
            Err("Only HTTPS URLs are allowed for upstream API".into())
        );
        assert_eq!(
            check("https://u:p@api.example.com", &policy()),
            Err("URL must not include username or password".into())
        );
        assert_eq!(
            check("https://api.example.com/?a=1", &policy()),
            Err("URL must not include query strings or fragments".into())
        );
        assert_eq!(check("https://LOCALHOST/v1", &policy()), Err("Hostname 'localhost' is not allowed".into()));
        let listed = Policy { allowlist: vec!["api.example.com".into(), "b.example".into()], ..policy() };
        assert_eq!(check("https://api.example.com./v1", &listed), Ok("api.example.com".into()));
        assert_eq!(
            check("https://c.example/v1", &listed),
            Err("Hostname 'c.example' is not in the allowlist. Allowed: api.example.com, b.example".into())
        );
        let open = Policy { allow_private: true, ..policy() };
        assert_eq!(check("http://127.0.0.1:8080/v1", &open), Ok("127.0.0.1".into()));
    }

    #[tokio::test]
    async fn literal_private_addresses_are_refused_unless_allowed() {
        let refused = vet(&Url::parse("https://[::ffff:7f00:1]/v1").unwrap(), &policy()).await.unwrap_err();
        assert_eq!(refused.0, "Hostname '::ffff:127.0.0.1' resolves to private/internal IP(s): '::ffff:127.0.0.1'");
        let open = Policy { allow_private: true, ..policy() };
        assert!(vet(&Url::parse("http://127.0.0.1:1/v1").unwrap(), &open).await.is_ok());
    }
}
