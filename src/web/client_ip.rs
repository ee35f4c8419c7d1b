//! The client IP behind optional trusted reverse proxies (`TRUST_PROXY_HEADERS`, `TRUSTED_PROXY_IPS`).

use std::net::IpAddr;

use poem::Request;

use crate::settings::Config;

/// What the security layer knows about who sent a request.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    /// The resolved client address as text (an IP, or whatever a trusted proxy claimed).
    pub ip: String,
    /// Whether the direct peer is a trusted proxy, so forwarded headers count.
    pub via_trusted_proxy: bool,
}

impl ClientInfo {
    pub fn resolve(req: &Request, config: &Config) -> ClientInfo {
        let peer = req.remote_addr().as_socket_addr().map(|addr| canonical(addr.ip()));
        let via_trusted_proxy = config.trust_proxy_headers && peer.is_some_and(|ip| is_trusted(config, ip));
        let peer_text = peer.map(|ip| ip.to_string()).unwrap_or_default();
        if !via_trusted_proxy {
            return ClientInfo { ip: peer_text, via_trusted_proxy };
        }
        let forwarded: Vec<&str> = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .collect();
        // Walk right to left: the first hop that is not one of our proxies is the client.
        let from_forwarded = forwarded
            .iter()
            .rev()
            .find(|entry| !entry.parse::<IpAddr>().is_ok_and(|ip| is_trusted(config, canonical(ip))))
            .or(forwarded.first())
            .map(|entry| entry.to_string());
        let real_ip = || req.header("x-real-ip").map(str::trim).filter(|value| !value.is_empty()).map(str::to_string);
        let ip = from_forwarded.or_else(real_ip).unwrap_or(peer_text);
        ClientInfo { ip, via_trusted_proxy }
    }

    /// The key used for per-IP limits: compressed IP text, or the raw claim cut to 256 chars.
    pub fn key(&self) -> String {
        match self.ip.parse::<IpAddr>() {
            Ok(ip) => canonical(ip).to_string(),
            Err(_) if self.ip.is_empty() => "unknown".to_string(),
            Err(_) => self.ip.chars().take(256).collect(),
        }
    }

    pub fn parsed(&self) -> Option<IpAddr> {
        self.ip.parse::<IpAddr>().ok().map(canonical)
    }

    /// The first value of a forwarded header, honoured only from a trusted proxy.
    pub fn forwarded<'a>(&self, req: &'a Request, name: &str) -> Option<&'a str> {
        if !self.via_trusted_proxy {
            return None;
        }
        req.header(name).and_then(|value| value.split(',').next()).map(str::trim).filter(|v| !v.is_empty())
    }
}

fn is_trusted(config: &Config, ip: IpAddr) -> bool {
    config.trusted_proxies.iter().any(|net| net.contains(&ip))
}

/// IPv4-mapped IPv6 addresses compare as their IPv4 form.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}
