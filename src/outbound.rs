//! Outbound HTTPS clients. Verification is always on; trusted roots are the system store plus the PEM
//! bundle named by `SSL_CERT_FILE`, as OpenSSL tools do, so private CAs work.

use std::time::Duration;

use crate::settings::EnvSnapshot;

#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("SSL_CERT_FILE {path} cannot be read: {reason}")]
    CertFile { path: String, reason: String },
    #[error("HTTP client cannot be built: {0}")]
    Build(String),
}

/// Selects the TLS implementation for every client in the process (HTTPS calls, the OTLP exporter).
/// Must run before the first client is built; a repeated call is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A client builder that trusts the system roots and `SSL_CERT_FILE`.
pub fn client_builder(env: &EnvSnapshot) -> Result<reqwest::ClientBuilder, OutboundError> {
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("gpt-image-panel/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none());
    if let Some(path) = env.get("SSL_CERT_FILE").map(str::trim).filter(|p| !p.is_empty()) {
        let cert_error = |reason: String| OutboundError::CertFile { path: path.to_string(), reason };
        let pem = std::fs::read(path).map_err(|e| cert_error(e.to_string()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| cert_error(e.to_string()))?;
        builder = builder.tls_certs_merge(certs);
    }
    Ok(builder)
}

pub fn client(env: &EnvSnapshot) -> Result<reqwest::Client, OutboundError> {
    client_builder(env)?.build().map_err(|e| OutboundError::Build(e.to_string()))
}
