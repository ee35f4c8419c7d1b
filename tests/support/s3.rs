//! A real S3-compatible server on loopback (s3s-fs: buckets are folders, SigV4 is verified), standing in
//! for Cloudflare R2.

use std::net::SocketAddr;
use std::path::Path;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use tokio::net::TcpListener;

pub struct S3Server {
    pub endpoint: String,
    pub address: SocketAddr,
}

/// Serves `root` (one folder per bucket) for the given access key pair.
pub async fn start(root: &Path, access_key: &str, secret_key: &str) -> S3Server {
    let fs = s3s_fs::FileSystem::new(root).expect("s3s-fs root");
    let mut builder = s3s::service::S3ServiceBuilder::new(fs);
    builder.set_auth(s3s::auth::SimpleAuth::from_single(access_key, secret_key));
    let service = builder.build();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let address = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        let http = Builder::new(TokioExecutor::new());
        while let Ok((socket, _)) = listener.accept().await {
            let connection = http.serve_connection(TokioIo::new(socket), service.clone()).into_owned();
            tokio::spawn(async move {
                let _ = connection.await;
            });
        }
    });
    S3Server { endpoint: format!("http://{address}"), address }
}
