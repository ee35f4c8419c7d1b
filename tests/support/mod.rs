//! Real servers the tests talk to, all on loopback: a mock GPT-compatible upstream, a mock GitHub
//! release API, and a TLS front that puts HTTPS with a private CA before any of them.
#![allow(dead_code)]

pub mod connect_proxy;
pub mod fixtures;
pub mod github;
pub mod images;
pub mod mock_upstream;
pub mod s3;
pub mod socks5;
pub mod tls;
pub mod webhook_receiver;

use std::net::SocketAddr;

use poem::listener::{Acceptor, Listener, TcpListener};

/// Serves `endpoint` on `127.0.0.1:0` in the background and returns its address.
pub async fn serve<E>(endpoint: E) -> SocketAddr
where
    E: poem::IntoEndpoint + Send + 'static,
    E::Endpoint: 'static,
{
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.expect("bind loopback");
    let address = *acceptor.local_addr()[0].as_socket_addr().expect("socket address");
    tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(endpoint));
    address
}
