//! `gpt-image-panel healthcheck`: asks the running server's `/health` on the port it listens on and
//! exits 0 only for a 200, so a container whose server is wedged (port open, no answers) turns
//! unhealthy. Plain `std` networking with timeouts: it must not need the server's runtime to work.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::settings::Config;

// Within the Dockerfile HEALTHCHECK's 3 s timeout.
const TIMEOUT: Duration = Duration::from_secs(2);

/// Where the server answers locally: its listen address, with a wildcard replaced by loopback.
pub fn local_address(config: &Config) -> Result<SocketAddr, String> {
    let host = match config.host.parse::<IpAddr>() {
        Ok(ip) if ip.is_unspecified() && ip.is_ipv6() => IpAddr::V6(Ipv6Addr::LOCALHOST).to_string(),
        Ok(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST).to_string(),
        Ok(ip) => ip.to_string(),
        Err(_) => config.host.clone(),
    };
    (host.as_str(), config.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host} has no address"))
}

/// One `GET /health`; `Ok` with the body for a 200, otherwise why not.
pub fn probe(address: SocketAddr) -> Result<String, String> {
    let mut stream =
        TcpStream::connect_timeout(&address, TIMEOUT).map_err(|e| format!("cannot connect to {address}: {e}"))?;
    stream.set_read_timeout(Some(TIMEOUT)).and_then(|()| stream.set_write_timeout(Some(TIMEOUT))).ok();
    let request = format!("GET /health HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).map_err(|e| format!("cannot send to {address}: {e}"))?;
    let mut reply = Vec::new();
    stream.take(64 * 1024).read_to_end(&mut reply).map_err(|e| format!("no answer from {address}: {e}"))?;
    let reply = String::from_utf8_lossy(&reply);
    let status_line = reply.lines().next().unwrap_or_default();
    if status_line.split_whitespace().nth(1) != Some("200") {
        return Err(format!("/health answered {status_line:?}"));
    }
    Ok(reply.split_once("\r\n\r\n").map(|(_, body)| body.trim().to_string()).unwrap_or_default())
}
