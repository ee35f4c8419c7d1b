//! Outbound HTTP clients. Certificate verification is always on; trusted roots are the system store
//! plus the PEM bundle named by `SSL_CERT_FILE` (and, for the S3 client, `AWS_CA_BUNDLE`). Guarded clients resolve names through
//! `VettingResolver`, so a connection only ever goes to an address the SSRF rules accept, even if DNS
//! changes between the check and the connection. Redirects are never followed automatically.
//! Clients are built once per kind and shared: building one loads the system trust store, and a shared
//! client keeps its connections alive between calls.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::guard::is_public;
use super::memory_budget::{MemoryBudget, MemoryPermit};
use super::outbound_limits::{OutboundLimits, OutboundPermit};

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("{setting} {path} cannot be read: {reason}")]
    CertFile { setting: &'static str, path: String, reason: String },
    #[error("HTTP client cannot be built: {0}")]
    Build(String),
    #[error("Invalid SOCKS5 proxy: {0}")]
    Proxy(String),
    #[error("Invalid HTTPS_PROXY: {0}")]
    HttpsProxy(String),
}

/// Builds HTTP clients that share the extra trusted certificates.
#[derive(Clone, Default)]
pub struct Transport {
    extra_roots: Arc<Vec<reqwest::Certificate>>,
    /// `AWS_CA_BUNDLE`: trusted by the S3 client only, as AWS tools do.
    s3_roots: Arc<Vec<reqwest::Certificate>>,
    clients: Arc<Mutex<HashMap<ClientKind, reqwest::Client>>>,
    /// Requests in flight to upstreams, probes and image downloads.
    limits: Arc<OutboundLimits>,
    /// Bytes of upstream replies held in memory at once.
    memory: Arc<MemoryBudget>,
}

/// What makes two outbound clients different.
#[derive(Clone, PartialEq, Eq, Hash)]
enum ClientKind {
    Guarded { allow_private: bool, timeout: Duration },
    Upstream { socks5_proxy: Option<String>, allow_private: bool, timeout: Duration },
    S3 { https_proxy: Option<String>, allow_private: bool },
}

/// An S3 request may carry a whole image; the connection itself must come up quickly.
const S3_TIMEOUT: Duration = Duration::from_secs(300);
const S3_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

fn read_pem(setting: &'static str, path: &str) -> Result<Vec<reqwest::Certificate>, TransportError> {
    let cert_error = |reason: String| TransportError::CertFile { setting, path: path.to_string(), reason };
    let pem = std::fs::read(path).map_err(|e| cert_error(e.to_string()))?;
    reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| cert_error(e.to_string()))
}

/// Distinct proxies are few in practice; past this many the cache starts over rather than grow.
const MAX_CACHED_CLIENTS: usize = 32;

impl Transport {
    /// Loads `SSL_CERT_FILE` once, when given.
    pub fn new(ssl_cert_file: Option<&str>) -> Result<Self, TransportError> {
        let Some(path) = ssl_cert_file.map(str::trim).filter(|p| !p.is_empty()) else {
            return Ok(Transport::default());
        };
        let certs = read_pem("SSL_CERT_FILE", path)?;
        Ok(Transport { extra_roots: Arc::new(certs), ..Transport::default() })
    }

    /// Adds `AWS_CA_BUNDLE`'s certificates to the S3 client's roots, when given.
    pub fn with_s3_ca_bundle(mut self, bundle: Option<&str>) -> Result<Self, TransportError> {
        if let Some(path) = bundle.map(str::trim).filter(|p| !p.is_empty()) {
            self.s3_roots = Arc::new(read_pem("AWS_CA_BUNDLE", path)?);
        }
        Ok(self)
    }

    /// `AIOHTTP_CONNECTION_LIMIT` and `AIOHTTP_CONNECTION_LIMIT_PER_HOST` (0: no per-host cap).
    pub fn with_connection_limits(mut self, total: usize, per_host: usize) -> Self {
        self.limits = Arc::new(OutboundLimits::new(total, per_host));
        self
    }

    /// `UPSTREAM_MEMORY_BUDGET_MB` at start, in bytes.
    pub fn with_memory_budget(mut self, bytes: u64) -> Self {
        self.memory = Arc::new(MemoryBudget::new(bytes));
        self
    }

    /// A new `UPSTREAM_MEMORY_BUDGET_MB`; shared by every clone, so it applies at once.
    pub fn set_memory_budget(&self, bytes: u64) {
        self.memory.set_capacity(bytes);
    }

    /// (capacity, used) of the memory budget, in bytes.
    pub fn memory_budget_usage(&self) -> (u64, u64) {
        self.memory.usage()
    }

    /// Waits until `weight` bytes of reply fit in the memory budget; hold the permit while they are
    /// in memory.
    pub async fn memory_permit(&self, weight: u64) -> MemoryPermit {
        self.memory.acquire(weight).await
    }

    /// Waits for a slot for a request to `url` (upstream, probe or image download); hold the permit
    /// until the reply's body is read.
    pub async fn outbound_permit(&self, url: &url::Url) -> OutboundPermit {
        self.limits.acquire(url.host_str().unwrap_or_default(), url.port_or_known_default().unwrap_or(0)).await
    }

    /// A builder with our roots, a user agent, a connect timeout and no automatic redirects.
    pub fn builder(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .user_agent(concat!("gpt-image-panel/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .tls_certs_merge(self.extra_roots.iter().cloned())
    }

    /// A client for trusted, operator-configured destinations (version check, OTLP).
    pub fn plain_client(&self) -> Result<reqwest::Client, TransportError> {
        build(self.builder())
    }

    /// A client whose every connection goes through the SSRF resolver.
    pub fn guarded_client(&self, allow_private: bool, timeout: Duration) -> Result<reqwest::Client, TransportError> {
        self.shared(ClientKind::Guarded { allow_private, timeout }, || {
            build(self.builder().dns_resolver(Arc::new(VettingResolver { allow_private })).timeout(timeout))
        })
    }

    /// A client for an image upstream: through its SOCKS5 proxy when one is set (the host name is then
    /// resolved remotely, socks5h, and the proxy is the network boundary even on loopback), otherwise
    /// direct through the SSRF resolver, ignoring proxy environment variables.
    pub fn upstream_client(
        &self,
        socks5_proxy: Option<&str>,
        allow_private: bool,
        timeout: Duration,
    ) -> Result<reqwest::Client, TransportError> {
        let kind = ClientKind::Upstream { socks5_proxy: socks5_proxy.map(str::to_string), allow_private, timeout };
        self.shared(kind, || {
            let builder = self.builder().timeout(timeout);
            match socks5_proxy {
                Some(proxy) => {
                    let remote_dns = match proxy.strip_prefix("socks5://") {
                        Some(rest) => format!("socks5h://{rest}"),
                        None => proxy.to_string(),
                    };
                    let proxy = reqwest::Proxy::all(remote_dns)
                        .map_err(|e| TransportError::Proxy(e.without_url().to_string()))?;
                    build(builder.proxy(proxy))
                }
                None => build(builder.no_proxy().dns_resolver(Arc::new(VettingResolver { allow_private }))),
            }
        })
    }

    /// The S3 (R2) client: through `https_proxy` (an HTTP CONNECT proxy, which then resolves the
    /// endpoint's name) when one applies, otherwise direct through the SSRF resolver, so the
    /// connection goes only to the address that was vetted.
    pub fn s3_client(&self, https_proxy: Option<&str>, allow_private: bool) -> Result<reqwest::Client, TransportError> {
        let kind = ClientKind::S3 { https_proxy: https_proxy.map(str::to_string), allow_private };
        self.shared(kind, || {
            let builder = self
                .builder()
                .tls_certs_merge(self.s3_roots.iter().cloned())
                .connect_timeout(S3_CONNECT_TIMEOUT)
                .timeout(S3_TIMEOUT);
            match https_proxy {
                Some(proxy) => {
                    let proxy = reqwest::Proxy::all(proxy)
                        .map_err(|e| TransportError::HttpsProxy(e.without_url().to_string()))?;
                    build(builder.proxy(proxy))
                }
                None => build(builder.no_proxy().dns_resolver(Arc::new(VettingResolver { allow_private }))),
            }
        })
    }

    fn shared(
        &self,
        kind: ClientKind,
        build_client: impl FnOnce() -> Result<reqwest::Client, TransportError>,
    ) -> Result<reqwest::Client, TransportError> {
        if let Some(client) = self.clients.lock().unwrap_or_else(|e| e.into_inner()).get(&kind) {
            return Ok(client.clone());
        }
        let client = build_client()?;
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if clients.len() >= MAX_CACHED_CLIENTS {
            clients.clear();
        }
        Ok(clients.entry(kind).or_insert(client).clone())
    }
}

fn build(builder: reqwest::ClientBuilder) -> Result<reqwest::Client, TransportError> {
    builder.build().map_err(|e| TransportError::Build(e.to_string()))
}

/// Resolves a name and keeps only public addresses (or every address when private networks are
/// allowed); a name with nothing left fails to connect.
pub struct VettingResolver {
    pub allow_private: bool,
}

impl Resolve for VettingResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let vetted: Vec<SocketAddr> =
                found.iter().copied().filter(|a| allow_private || is_public(a.ip())).collect();
            if vetted.is_empty() {
                let message = if found.is_empty() {
                    format!("Hostname '{host}' did not resolve")
                } else {
                    format!("Hostname '{host}' resolves only to private/internal IP(s)")
                };
                return Err(message.into());
            }
            let addrs: Addrs = Box::new(vetted.into_iter());
            Ok(addrs)
        })
    }
}
