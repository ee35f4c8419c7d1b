//! A real S3-compatible server on loopback (s3s-fs: buckets are folders, SigV4 is verified), standing in
//! for Cloudflare R2. It can refuse uploads of chosen keys, as a bucket with a failing disk would.

use std::path::Path;
use std::sync::Arc;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use tokio::net::TcpListener;

pub struct S3Server {
    pub endpoint: String,
}

/// Serves `root` (one folder per bucket) for the given access key pair.
pub async fn start(root: &Path, access_key: &str, secret_key: &str) -> S3Server {
    start_failing(root, access_key, secret_key, &[]).await
}

/// As [`start`], but a PUT whose path ends with one of `failing` gets `500 InternalError`.
pub async fn start_failing(root: &Path, access_key: &str, secret_key: &str, failing: &[&str]) -> S3Server {
    let fs = s3s_fs::FileSystem::new(root).expect("s3s-fs root");
    let mut builder = s3s::service::S3ServiceBuilder::new(fs);
    builder.set_auth(s3s::auth::SimpleAuth::from_single(access_key, secret_key));
    let service = builder.build();
    let failing: Arc<Vec<String>> = Arc::new(failing.iter().map(|s| s.to_string()).collect());
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let address = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        let http = Builder::new(TokioExecutor::new());
        while let Ok((socket, _)) = listener.accept().await {
            let (service, failing) = (service.clone(), failing.clone());
            let handler = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let (service, failing) = (service.clone(), failing.clone());
                async move {
                    let path = request.uri().path().to_string();
                    if request.method() == hyper::Method::PUT && failing.iter().any(|end| path.ends_with(end.as_str()))
                    {
                        let body = "<Error><Code>InternalError</Code><Message>disk failed</Message></Error>";
                        let mut response = hyper::Response::new(s3s::Body::from(body.to_string()));
                        *response.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
                        return Ok::<_, s3s::HttpError>(response);
                    }
                    hyper::service::Service::call(&service, request).await
                }
            });
            let connection = http.serve_connection(TokioIo::new(socket), handler).into_owned();
            tokio::spawn(async move {
                let _ = connection.await;
            });
        }
    });
    S3Server { endpoint: format!("http://{address}") }
}
