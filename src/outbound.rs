//! Process-wide TLS setup for outbound clients; the clients themselves come from
//! `panel_actors::upstream::transport::Transport`.

/// Selects the TLS implementation for every client in the process (HTTPS calls, the OTLP exporter).
/// Must run before the first client is built; a repeated call is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
