//! HTTPS in front of any loopback HTTP server, with a freshly made self-signed certificate for
//! 127.0.0.1/localhost. The certificate's PEM is written to a file so the panel can trust it through
//! `SSL_CERT_FILE`, the way users with a private CA do.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};

pub struct TlsFront {
    pub address: SocketAddr,
    pub base_url: String,
    /// A PEM file holding the certificate, usable as `SSL_CERT_FILE`.
    pub ca_file: PathBuf,
}

pub async fn start(backend: SocketAddr, dir: &Path) -> TlsFront {
    start_for(backend, dir, &[]).await
}

/// Like `start`, with extra host names in the certificate.
pub async fn start_for(backend: SocketAddr, dir: &Path, names: &[&str]) -> TlsFront {
    let mut subjects = vec!["127.0.0.1".to_string(), "localhost".to_string()];
    subjects.extend(names.iter().map(|n| n.to_string()));
    let certified = rcgen::generate_simple_self_signed(subjects).expect("self-signed certificate");
    let ca_file = dir.join("test-ca.pem");
    std::fs::write(&ca_file, certified.cert.pem()).expect("write certificate");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![CertificateDer::from(certified.cert.der().to_vec())], key)
        .expect("server certificate");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let address = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                let Ok(mut upstream) = TcpStream::connect(backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
            });
        }
    });
    TlsFront { address, base_url: format!("https://{address}"), ca_file }
}
