//! One R2 backup sync, a page of 500 unique gallery files at a time in filename order: each file is
//! checked with HEAD (`R2_SYNC_CONCURRENCY` at once); a dry run only counts, a real run uploads the
//! originals the bucket lacks (never over an object that exists) and records what the bucket holds.
//! A full reconcile compares every file and saves a checkpoint after each page.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use object_store::aws::AmazonS3;
use object_store::path::Path as ObjectPath;
use object_store::{Attribute, Attributes, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};

use crate::media::names::{content_type, safe_filename};
use crate::store::r2_sync_state::{SeenRemote, SyncCandidate, candidates, count_candidates, record_seen};

const PAGE: u64 = 500;
/// Per-file failures quoted in the job's error.
const SAMPLES: usize = 3;
const PUBLISH_EVERY: Duration = Duration::from_millis(250);

/// What a sync job keeps in its `payload`: the request, the counters and the checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SyncReport {
    pub dry_run: bool,
    pub full_reconcile: bool,
    pub total_count: u64,
    pub compared_count: u64,
    pub uploaded_count: u64,
    pub pending_upload_count: u64,
    pub skipped_existing_count: u64,
    pub missing_local_count: u64,
    pub failed_count: u64,
    pub bytes_total: u64,
    pub bytes_uploaded: u64,
    /// A full reconcile resumes after this filename.
    pub start_after_filename: Option<String>,
    /// Per-file failures: the count is `failed_count`, the first few are quoted.
    pub failure_samples: Vec<String>,
}

impl SyncReport {
    /// 0–100 by files compared.
    pub fn progress(&self) -> i64 {
        if self.total_count == 0 {
            return 100;
        }
        (self.compared_count.min(self.total_count) as f64 * 100.0 / self.total_count as f64).round() as i64
    }

    /// The job's error when uploads failed.
    pub fn failure(&self) -> Option<String> {
        if self.failed_count == 0 {
            return None;
        }
        let mut text =
            format!("R2 sync failed for {} image(s): {}", self.failed_count, self.failure_samples.join("; "));
        let more = self.failed_count.saturating_sub(self.failure_samples.len() as u64);
        if more > 0 {
            text.push_str(&format!("; {more} more"));
        }
        Some(text)
    }
}

/// A stage the run reached, with the counters as they are.
#[derive(Debug, Clone)]
pub struct SyncProgress {
    pub stage: &'static str,
    pub message: String,
    pub report: SyncReport,
}

/// Where the run reads and writes.
pub struct SyncRun<'a> {
    pub db: &'a DatabaseConnection,
    pub store: Arc<AmazonS3>,
    pub images_dir: PathBuf,
    /// Normalised: empty (the bucket root) or ending in one `/`.
    pub key_prefix: String,
    pub concurrency: usize,
}

/// A file of the page, checked locally.
struct Local {
    candidate: SyncCandidate,
    key: String,
    size: u64,
}

impl SyncRun<'_> {
    /// Runs to the end; `publish` sees each stage and the counters. An error that stops the run (the
    /// bucket unreachable, a listing refused, the database) comes back with the counters so far.
    pub async fn execute(
        &self,
        mut report: SyncReport,
        mut publish: impl FnMut(SyncProgress),
    ) -> Result<SyncReport, (SyncReport, String)> {
        let step = |stage: &'static str, message: &str, report: &SyncReport| SyncProgress {
            stage,
            message: message.to_string(),
            report: report.clone(),
        };
        publish(step("preparing", "Preparing local gallery candidates", &report));
        let full = report.full_reconcile;
        let mut after = if full { report.start_after_filename.clone() } else { None };
        if report.compared_count == 0 {
            report.total_count = match count_candidates(self.db, &self.key_prefix, full, after.as_deref()).await {
                Ok(total) => total,
                Err(err) => return Err((report, err.to_string())),
            };
        }
        publish(step("listing_remote", "Checking existing R2 objects", &report));
        let mut published = Instant::now();
        loop {
            let page = match candidates(self.db, &self.key_prefix, full, after.as_deref(), PAGE).await {
                Ok(page) => page,
                Err(err) => return Err((report, err.to_string())),
            };
            let Some(last) = page.last().map(|c| c.filename.clone()) else { break };
            publish(step("comparing", "Comparing local gallery with R2 objects", &report));
            if let Err(err) = self.page(page, &mut report, &mut publish, &mut published).await {
                return Err((report, err));
            }
            after = Some(last.clone());
            if full {
                report.start_after_filename = Some(last.clone());
                publish(step("checkpoint", &format!("Checkpoint after {last}"), &report));
            }
        }
        report.start_after_filename = None;
        publish(step("completed", "R2 sync completed", &report));
        Ok(report)
    }

    async fn page(
        &self,
        page: Vec<SyncCandidate>,
        report: &mut SyncReport,
        publish: &mut impl FnMut(SyncProgress),
        published: &mut Instant,
    ) -> Result<(), String> {
        let count = page.len() as u64;
        let mut locals = Vec::with_capacity(page.len());
        for candidate in page {
            let path = self.images_dir.join(&candidate.filename);
            let usable = !candidate.filename.is_empty() && safe_filename(&candidate.filename, false);
            let size = match usable.then(|| std::fs::metadata(&path).ok()).flatten() {
                Some(meta) if meta.is_file() => candidate.bytes.filter(|b| *b > 0).map_or(meta.len(), |b| b as u64),
                _ => {
                    report.missing_local_count += 1;
                    continue;
                }
            };
            report.bytes_total += size;
            let key = format!("{}{}", self.key_prefix, candidate.filename);
            locals.push(Local { candidate, key, size });
        }
        let present = self.present(&locals).await?;
        let mut seen = Vec::new();
        let mut missing = Vec::new();
        for local in locals {
            match present.get(&local.key) {
                Some(etag) => {
                    report.skipped_existing_count += 1;
                    seen.push(remote_seen(&local, etag.clone()));
                }
                None if report.dry_run => report.pending_upload_count += 1,
                None => missing.push(local),
            }
        }
        if report.dry_run {
            report.compared_count += count;
            let message = format!("Compared {} gallery image(s)", report.compared_count);
            publish(SyncProgress { stage: "preflight", message, report: report.clone() });
            return Ok(());
        }
        let uploads = futures_util::stream::iter(missing)
            .map(|local| {
                let (store, dir) = (self.store.clone(), self.images_dir.clone());
                async move {
                    let outcome = upload(&store, &dir, &local).await;
                    (local, outcome)
                }
            })
            .buffer_unordered(self.concurrency.max(1));
        futures_util::pin_mut!(uploads);
        while let Some((local, outcome)) = uploads.next().await {
            match outcome {
                Ok(Uploaded::Stored) => {
                    report.uploaded_count += 1;
                    report.bytes_uploaded += local.size;
                    seen.push(remote_seen(&local, None));
                }
                Ok(Uploaded::AlreadyThere) => {
                    report.skipped_existing_count += 1;
                    seen.push(remote_seen(&local, None));
                }
                Err(err) => {
                    report.failed_count += 1;
                    if report.failure_samples.len() < SAMPLES {
                        report.failure_samples.push(format!("{}: {err}", local.candidate.filename));
                    }
                }
            }
            if published.elapsed() >= PUBLISH_EVERY {
                *published = Instant::now();
                publish(SyncProgress {
                    stage: "uploading",
                    message: "Uploading gallery images to R2".into(),
                    report: report.clone(),
                });
            }
        }
        // Recorded even when some uploads of the page failed: those that landed are in the bucket.
        record_seen(self.db, &seen).await.map_err(|e| e.to_string())?;
        report.compared_count += count;
        let message = format!("Compared {} gallery image(s)", report.compared_count);
        publish(SyncProgress { stage: "uploading", message, report: report.clone() });
        Ok(())
    }

    /// Which keys the bucket holds, with their ETags. Anything but "not found" stops the run.
    async fn present(&self, locals: &[Local]) -> Result<HashMap<String, Option<String>>, String> {
        let keys: Vec<String> = locals.iter().map(|local| local.key.clone()).collect();
        let heads = futures_util::stream::iter(keys)
            .map(|key| {
                let store = self.store.clone();
                async move {
                    match store.head(&ObjectPath::from(key.as_str())).await {
                        Ok(meta) => Ok(Some((key, meta.e_tag))),
                        Err(object_store::Error::NotFound { .. }) => Ok(None),
                        Err(err) => Err(format!("HeadObject failed for {key}: {err}")),
                    }
                }
            })
            .buffer_unordered(self.concurrency.max(1));
        futures_util::pin_mut!(heads);
        let mut present = HashMap::new();
        while let Some(head) = heads.next().await {
            if let Some((key, etag)) = head? {
                present.insert(key, etag);
            }
        }
        Ok(present)
    }
}

/// Uploads one original with its content type and `gallery-id`/`sha256`/`bytes` metadata. The
/// put is conditional: an object that appeared meanwhile is left as it is.
async fn upload(store: &AmazonS3, images_dir: &Path, local: &Local) -> Result<Uploaded, String> {
    let bytes = tokio::fs::read(images_dir.join(&local.candidate.filename))
        .await
        .map_err(|e| format!("cannot read the file: {}", e.kind()))?;
    let mut attributes = Attributes::new();
    attributes.insert(Attribute::ContentType, content_type(&local.candidate.filename).into());
    attributes.insert(Attribute::Metadata("gallery-id".into()), local.candidate.id.clone().into());
    if let Some(sha256) = &local.candidate.sha256 {
        attributes.insert(Attribute::Metadata("sha256".into()), sha256.clone().into());
    }
    if local.size > 0 {
        attributes.insert(Attribute::Metadata("bytes".into()), local.size.to_string().into());
    }
    let options = PutOptions { mode: PutMode::Create, attributes, ..Default::default() };
    let path = ObjectPath::from(local.key.as_str());
    match store.put_opts(&path, PutPayload::from(bytes), options).await {
        Ok(_) => Ok(Uploaded::Stored),
        Err(object_store::Error::AlreadyExists { .. }) => Ok(Uploaded::AlreadyThere),
        Err(err) => Err(err.to_string()),
    }
}

enum Uploaded {
    Stored,
    AlreadyThere,
}

fn remote_seen(local: &Local, etag: Option<String>) -> SeenRemote {
    SeenRemote {
        filename: local.candidate.filename.clone(),
        key: local.key.clone(),
        sha256: local.candidate.sha256.clone(),
        bytes: local.size as i64,
        etag,
    }
}
