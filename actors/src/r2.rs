//! Cloudflare R2 through the S3 API (`object_store`): building a client for an endpoint and bucket,
//! and the health probe behind "Test R2".

use futures_util::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::client::{HttpClient, HttpConnector};
use object_store::path::Path;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, PutPayload};

use crate::upstream::transport::Transport;

/// Where and as whom to connect.
pub struct R2Target<'a> {
    pub endpoint: &'a str,
    pub bucket: &'a str,
    pub region: &'a str,
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    /// The HTTP CONNECT proxy that applies to the endpoint (`HTTPS_PROXY` unless `NO_PROXY` says
    /// otherwise); none means a direct connection to the vetted address.
    pub https_proxy: Option<&'a str>,
}

/// Hands object_store our client: its roots (`SSL_CERT_FILE`, `AWS_CA_BUNDLE`), its proxy, and for
/// direct connections the SSRF resolver.
#[derive(Debug)]
struct PanelConnector(reqwest::Client);

impl HttpConnector for PanelConnector {
    fn connect(&self, _options: &ClientOptions) -> object_store::Result<HttpClient> {
        Ok(HttpClient::new(self.0.clone()))
    }
}

/// An S3 client for the target. `allow_private` also allows plain-http endpoints (loopback tests).
pub fn client(target: &R2Target<'_>, transport: &Transport, allow_private: bool) -> Result<AmazonS3, String> {
    let http = transport.s3_client(target.https_proxy, allow_private).map_err(|e| e.to_string())?;
    let options = ClientOptions::new().with_allow_http(allow_private);
    AmazonS3Builder::new()
        .with_endpoint(target.endpoint)
        .with_bucket_name(target.bucket)
        .with_region(target.region)
        .with_access_key_id(target.access_key_id)
        .with_secret_access_key(target.secret_access_key)
        .with_virtual_hosted_style_request(false)
        .with_client_options(options)
        .with_http_connector(PanelConnector(http))
        .build()
        .map_err(|e| e.to_string())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ok(&'static str),
    Warning(String),
    Error(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub name: &'static str,
    pub outcome: Outcome,
}

fn step(name: &'static str, outcome: Outcome) -> Step {
    Step { name, outcome }
}

/// Bucket access, a prefix-scoped listing, a probe write and its cleanup; stops at the first error.
/// Only the first page of each listing is fetched, whatever the bucket holds.
pub async fn probe(store: &AmazonS3, key_prefix: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    if let Some(Err(err)) = store.list(None).next().await {
        steps.push(step("head_bucket", Outcome::Error(format!("HeadBucket failed: {err}"))));
        return steps;
    }
    steps.push(step("head_bucket", Outcome::Ok("Bucket exists and credentials can access it")));

    let prefix = Path::from(key_prefix.trim_end_matches('/'));
    if let Some(Err(err)) = store.list(Some(&prefix)).next().await {
        steps.push(step("list_prefix", Outcome::Error(format!("ListObjectsV2 failed: {err}"))));
        return steps;
    }
    steps.push(step("list_prefix", Outcome::Ok("Prefix-scoped object listing succeeded")));

    let nonce = crate::hex::encode(&rand::random::<[u8; 16]>());
    let probe = Path::from(format!("{key_prefix}.r2-sync-probe-{nonce}.txt"));
    if let Err(err) = store.put(&probe, PutPayload::from_static(b"ok")).await {
        steps.push(step("write_probe", Outcome::Error(format!("Probe object write failed: {err}"))));
        return steps;
    }
    steps.push(step("write_probe", Outcome::Ok("Probe object write succeeded")));
    match store.delete(&probe).await {
        Ok(()) => steps.push(step("delete_probe", Outcome::Ok("Probe object cleanup succeeded"))),
        Err(err) => steps.push(step(
            "delete_probe",
            Outcome::Warning(format!("Probe object was written but cleanup failed: {err}")),
        )),
    }
    steps
}
