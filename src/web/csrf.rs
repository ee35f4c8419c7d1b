//! CSRF origin check for every unsafe method (POST, PUT, PATCH, DELETE, …).

use poem::Request;
use poem::http::Method;

use super::client_ip::ClientInfo;
use super::host::{Origin, normalize_host};
use crate::settings::{Config, PublicOrigin};

pub fn needs_check(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
}

/// True when the browser proved the request comes from our own origin.
pub fn origin_allowed(req: &Request, config: &Config, client: &ClientInfo) -> bool {
    let Some(expected) = expected_origin(req, config, client) else {
        return false;
    };
    match req.header("sec-fetch-site").map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        Some("same-origin") => return true,
        Some("cross-site") => return false,
        _ => {}
    }
    if let Some(origin) = req.headers().get("origin") {
        return origin.to_str().ok().and_then(Origin::parse).is_some_and(|origin| origin == expected);
    }
    match req.header("referer").map(str::trim).filter(|v| !v.is_empty()) {
        Some(referer) => Origin::parse(referer).is_some_and(|origin| origin == expected),
        None => false,
    }
}

fn expected_origin(req: &Request, config: &Config, client: &ClientInfo) -> Option<Origin> {
    if let PublicOrigin::Valid(origin) = &config.public_origin {
        return Some(origin.clone());
    }
    let scheme = match client.forwarded(req, "x-forwarded-proto").map(str::to_ascii_lowercase) {
        Some(proto) if proto == "http" || proto == "https" => proto,
        _ => req.scheme().as_str().to_string(),
    };
    let host = client.forwarded(req, "x-forwarded-host").or_else(|| req.header("host"))?;
    Origin::from_request(&scheme, &normalize_host(host)?)
}
