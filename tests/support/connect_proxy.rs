//! A real HTTP CONNECT proxy on loopback (RFC 9110 §9.3.6), as corporate networks put in front of the
//! internet. It records each tunnel's target as the client named it, and resolves names through its own
//! table, standing in for DNS on the far side of the proxy; anything else is refused with 403.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

pub struct ConnectProxy {
    pub address: SocketAddr,
    targets: Arc<Mutex<Vec<String>>>,
}

impl ConnectProxy {
    /// `names`: `host:port` targets the proxy will tunnel to, and where each really goes.
    pub async fn start(names: &[(&str, SocketAddr)]) -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let address = listener.local_addr().expect("address");
        let targets = Arc::new(Mutex::new(Vec::new()));
        let names: Arc<HashMap<String, SocketAddr>> =
            Arc::new(names.iter().map(|(name, to)| (name.to_string(), *to)).collect());
        let seen = targets.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (names, seen) = (names.clone(), seen.clone());
                tokio::spawn(async move {
                    let _ = tunnel(socket, names, seen).await;
                });
            }
        });
        ConnectProxy { address, targets }
    }

    /// `http://127.0.0.1:port`, as `HTTPS_PROXY` takes it.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Every CONNECT target, in order.
    pub fn targets(&self) -> Vec<String> {
        self.targets.lock().unwrap().clone()
    }
}

async fn tunnel(
    client: TcpStream,
    names: Arc<HashMap<String, SocketAddr>>,
    seen: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    let mut client = BufReader::new(client);
    let mut request_line = String::new();
    client.read_line(&mut request_line).await?;
    loop {
        let mut header = String::new();
        if client.read_line(&mut header).await? == 0 || header == "\r\n" || header == "\n" {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default().to_string());
    if method != "CONNECT" {
        client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\nAllow: CONNECT\r\nContent-Length: 0\r\n\r\n").await?;
        return Ok(());
    }
    seen.lock().unwrap().push(target.clone());
    let Some(to) = names.get(&target) else {
        client.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n").await?;
        return Ok(());
    };
    let mut upstream = TcpStream::connect(to).await?;
    client.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n").await?;
    // Bytes the reader took past the blank line belong to the tunnel.
    let early = client.buffer().to_vec();
    upstream.write_all(&early).await?;
    let mut client = client.into_inner();
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}
