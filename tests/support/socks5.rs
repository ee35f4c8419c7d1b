//! A real SOCKS5 proxy on loopback (RFC 1928 CONNECT, RFC 1929 username/password). It records each
//! target exactly as the client named it, and resolves names through its own table first, standing in
//! for DNS on the far side of the proxy.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct Socks5Server {
    pub address: SocketAddr,
    targets: Arc<Mutex<Vec<String>>>,
}

impl Socks5Server {
    /// `credentials`: required username and password; `names`: what the proxy resolves host names to.
    pub async fn start(credentials: Option<(&str, &str)>, names: &[(&str, IpAddr)]) -> Socks5Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let address = listener.local_addr().expect("address");
        let targets = Arc::new(Mutex::new(Vec::new()));
        let credentials = credentials.map(|(u, p)| (u.to_string(), p.to_string()));
        let names: Arc<HashMap<String, IpAddr>> = Arc::new(names.iter().map(|(n, ip)| (n.to_string(), *ip)).collect());
        let seen = targets.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (credentials, names, seen) = (credentials.clone(), names.clone(), seen.clone());
                tokio::spawn(async move {
                    let _ = serve(socket, credentials, names, seen).await;
                });
            }
        });
        Socks5Server { address, targets }
    }

    /// `socks5://[user:pass@]127.0.0.1:port`
    pub fn url(&self, credentials: Option<(&str, &str)>) -> String {
        match credentials {
            Some((user, pass)) => format!("socks5://{user}:{pass}@{}", self.address),
            None => format!("socks5://{}", self.address),
        }
    }

    /// Every CONNECT target as `host:port`, as the client sent it.
    pub fn targets(&self) -> Vec<String> {
        self.targets.lock().unwrap().clone()
    }
}

async fn serve(
    mut client: TcpStream,
    credentials: Option<(String, String)>,
    names: Arc<HashMap<String, IpAddr>>,
    seen: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    let mut head = [0u8; 2];
    client.read_exact(&mut head).await?;
    let mut methods = vec![0u8; head[1] as usize];
    client.read_exact(&mut methods).await?;
    let wanted = if credentials.is_some() { 2 } else { 0 };
    if head[0] != 5 || !methods.contains(&wanted) {
        client.write_all(&[5, 0xff]).await?;
        return Ok(());
    }
    client.write_all(&[5, wanted]).await?;
    if let Some((user, pass)) = &credentials {
        let mut version_and_len = [0u8; 2];
        client.read_exact(&mut version_and_len).await?;
        let mut name = vec![0u8; version_and_len[1] as usize];
        client.read_exact(&mut name).await?;
        let mut len = [0u8; 1];
        client.read_exact(&mut len).await?;
        let mut password = vec![0u8; len[0] as usize];
        client.read_exact(&mut password).await?;
        let ok = name == user.as_bytes() && password == pass.as_bytes();
        client.write_all(&[1, if ok { 0 } else { 1 }]).await?;
        if !ok {
            return Ok(());
        }
    }
    let mut request = [0u8; 4];
    client.read_exact(&mut request).await?;
    let (host, ip) = match request[3] {
        1 => {
            let mut octets = [0u8; 4];
            client.read_exact(&mut octets).await?;
            let ip = IpAddr::V4(Ipv4Addr::from(octets));
            (ip.to_string(), Some(ip))
        }
        4 => {
            let mut octets = [0u8; 16];
            client.read_exact(&mut octets).await?;
            let ip = IpAddr::V6(Ipv6Addr::from(octets));
            (ip.to_string(), Some(ip))
        }
        _ => {
            let mut len = [0u8; 1];
            client.read_exact(&mut len).await?;
            let mut name = vec![0u8; len[0] as usize];
            client.read_exact(&mut name).await?;
            let name = String::from_utf8_lossy(&name).to_string();
            let ip = names.get(&name).copied();
            (name, ip)
        }
    };
    let mut port = [0u8; 2];
    client.read_exact(&mut port).await?;
    let port = u16::from_be_bytes(port);
    seen.lock().unwrap().push(format!("{host}:{port}"));
    let target = match ip {
        Some(ip) => TcpStream::connect(SocketAddr::new(ip, port)).await,
        None => TcpStream::connect((host.as_str(), port)).await,
    };
    let Ok(mut upstream) = target else {
        client.write_all(&[5, 4, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
        return Ok(());
    };
    client.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}
