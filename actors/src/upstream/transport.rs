//! Outbound HTTP clients. Certificate verification is always on; trusted roots are the system store
//! plus the PEM bundle named by `SSL_CERT_FILE`. Guarded clients resolve names through
//! `VettingResolver`, so a connection only ever goes to an address the SSRF rules accept, even if DNS
//! changes between the check and the connection. Redirects are never followed automatically.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::guard::is_public;

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("SSL_CERT_FILE {path} cannot be read: {reason}")]
    CertFile { path: String, reason: String },
    #[error("HTTP client cannot be built: {0}")]
    Build(String),
}

/// Builds HTTP clients that share the extra trusted certificates.
#[derive(Clone, Default)]
pub struct Transport {
    extra_roots: Arc<Vec<reqwest::Certificate>>,
    /// The same roots as PEM, for clients that take their own certificate type (object_store).
    extra_roots_pem: Arc<Vec<u8>>,
}

impl Transport {
    /// Loads `SSL_CERT_FILE` once, when given.
    pub fn new(ssl_cert_file: Option<&str>) -> Result<Self, TransportError> {
        let Some(path) = ssl_cert_file.map(str::trim).filter(|p| !p.is_empty()) else {
            return Ok(Transport::default());
        };
        let cert_error = |reason: String| TransportError::CertFile { path: path.to_string(), reason };
        let pem = std::fs::read(path).map_err(|e| cert_error(e.to_string()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| cert_error(e.to_string()))?;
        Ok(Transport { extra_roots: Arc::new(certs), extra_roots_pem: Arc::new(pem) })
    }

    /// The PEM bundle from `SSL_CERT_FILE` (empty when none was given).
    pub fn extra_roots_pem(&self) -> &[u8] {
        &self.extra_roots_pem
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
        self.builder().build().map_err(|e| TransportError::Build(e.to_string()))
    }

    /// A client whose every connection goes through the SSRF resolver.
    pub fn guarded_client(&self, allow_private: bool, timeout: Duration) -> Result<reqwest::Client, TransportError> {
        self.builder()
            .dns_resolver(Arc::new(VettingResolver { allow_private }))
            .timeout(timeout)
            .build()
            .map_err(|e| TransportError::Build(e.to_string()))
    }
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
