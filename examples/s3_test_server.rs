//! The tests' S3-compatible server (s3s-fs, SigV4 verified) as a process, for the browser tests:
//! `s3_test_server ROOT BUCKET ACCESS_KEY SECRET_KEY` creates the bucket folder, prints the endpoint
//! URL on its first line and serves until killed.

#[path = "../tests/support/s3.rs"]
mod s3;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [root, bucket, access_key, secret_key] = args.as_slice() else {
        eprintln!("usage: s3_test_server ROOT BUCKET ACCESS_KEY SECRET_KEY");
        std::process::exit(2);
    };
    let root = std::path::Path::new(root);
    std::fs::create_dir_all(root.join(bucket)).expect("create the bucket folder");
    let server = s3::start(root, access_key, secret_key).await;
    println!("{}", server.endpoint);
    std::future::pending::<()>().await;
}
