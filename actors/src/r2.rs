//! Cloudflare R2 through the S3 API (`object_store`): building a client for an endpoint and bucket,
//! and the health probe behind "Test R2".

use std::time::Duration;

use futures_util::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{Certificate, ClientOptions, ObjectStore, ObjectStoreExt, PutPayload};

use crate::upstream::transport::Transport;

/// Where and as whom to connect.
pub struct R2Target<'a> {
    pub endpoint: &'a str,
    pub bucket: &'a str,
    pub region: &'a str,
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
}

/// An S3 client for the target, trusting the same roots as every other outbound client.
pub fn client(target: &R2Target<'_>, transport: &Transport, allow_http: bool) -> Result<AmazonS3, String> {
    let mut options = ClientOptions::new()
        .with_allow_http(allow_http)
        .with_connect_timeout(Duration::from_secs(10))
        .with_timeout(Duration::from_secs(30));
    if !transport.extra_roots_pem().is_empty() {
        for certificate in Certificate::from_pem_bundle(transport.extra_roots_pem()).map_err(|e| e.to_string())? {
            options = options.with_root_certificate(certificate);
        }
    }
    AmazonS3Builder::new()
        .with_endpoint(target.endpoint)
        .with_bucket_name(target.bucket)
        .with_region(target.region)
        .with_access_key_id(target.access_key_id)
        .with_secret_access_key(target.secret_access_key)
        .with_virtual_hosted_style_request(false)
        .with_client_options(options)
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
