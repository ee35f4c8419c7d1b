//! The importer owns ZIP imports: one at a time, from an archive that already passed the archive-level
//! checks. Each image record is read, checked like an edit upload, compared with the gallery by
//! sha256 (a match is a duplicate, not imported again) and written to `images/` under a free name;
//! only when every file is written and flushed are all the rows committed in one transaction. A
//! failure or a crash before that commit leaves no row, and the files are removed (or collected as
//! orphans after a crash). Progress is published on the gallery feed and saved on a throttle.

use std::collections::HashSet;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use sea_orm::DatabaseConnection;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;
use zip::ZipArchive;

use crate::archive::import_check::{CheckedArchive, ImportLimits};
use crate::archive::import_image::check_image;
use crate::archive::import_record::{ImportRecord, image_extension, sanitized_filename};
use crate::gallery_feed::GalleryFeed;
use crate::store::gallery_import::{insert_imported, taken_filenames, taken_hashes};
use crate::store::gallery_jobs::{self, GalleryJob};
use crate::store::time::to_db;
use crate::supervisor::ChildSlot;
use crate::thumbnailer::ThumbnailerMsg;

const SAVE_EVERY: Duration = Duration::from_millis(500);
/// Skip reasons kept with the job (the counts are always complete).
pub const MAX_LISTED_SKIPS: usize = 100;
/// Records read and checked together: at most this many, or this many bytes.
const BATCH_RECORDS: usize = 32;
const BATCH_BYTES: u64 = 4 << 20;
/// Threads that decode a batch's images.
const CHECK_THREADS: usize = 2;

#[derive(Debug, Clone)]
pub struct ImportSettings {
    pub images_dir: PathBuf,
    /// Uploaded archives and AVIF/HEIC scratch files (`DATA_DIR/imports`).
    pub imports_dir: PathBuf,
}

/// An uploaded archive in `DATA_DIR/imports`, removed when dropped.
#[derive(Debug)]
pub struct TempArchive(pub PathBuf);

impl Drop for TempArchive {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// An archive that passed its checks, ready to import.
pub struct ImportStart {
    pub archive: TempArchive,
    pub checked: CheckedArchive,
    pub limits: ImportLimits,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportRefusal {
    /// An import is queued or running.
    Busy,
    Failed(String),
}

/// Why one record was not imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SkippedEntry {
    pub filename: String,
    pub id: Option<String>,
    /// `image_file_missing`, `unsupported_extension`, `empty_image` or `invalid_image`.
    pub reason: String,
    pub detail: Option<String>,
}

/// What an import job keeps in its `payload`.
#[derive(Debug, Default, Serialize, serde::Deserialize)]
pub struct ImportReport {
    pub skipped: Vec<SkippedEntry>,
}

impl ImportReport {
    pub fn of(job: &GalleryJob) -> ImportReport {
        serde_json::from_str(&job.payload).unwrap_or_default()
    }
}

/// How an import ended.
#[derive(Debug, Clone)]
pub struct ImportEnded {
    pub job: GalleryJob,
    /// The failure was the server's (storage), not the archive's.
    pub server_fault: bool,
}

pub enum ImporterMsg {
    /// Queues an import; the receiver gets how it ended.
    Start {
        start: Box<ImportStart>,
        reply: RpcReplyPort<Result<(GalleryJob, oneshot::Receiver<ImportEnded>), ImportRefusal>>,
    },
    Status {
        job_id: String,
        reply: RpcReplyPort<Option<GalleryJob>>,
    },
    Update {
        job_id: String,
        update: Update,
    },
}

pub enum Update {
    Validating,
    Progress { processed: u64, imported: u64, skipped: u64, duplicates: u64, skips: Vec<SkippedEntry> },
    Committing,
    Done { imported: u64, skipped: u64, duplicates: u64 },
    Failed { error: String, server_fault: bool },
}

pub struct ImporterState {
    db: DatabaseConnection,
    settings: ImportSettings,
    feed: Arc<GalleryFeed>,
    thumbnailer: Arc<ChildSlot<ThumbnailerMsg>>,
    writing: Arc<AtomicUsize>,
    active: Option<Active>,
}

struct Active {
    job: GalleryJob,
    report: ImportReport,
    saved_at: Instant,
    done: Option<oneshot::Sender<ImportEnded>>,
}

pub struct Importer;

impl Actor for Importer {
    type Msg = ImporterMsg;
    type State = ImporterState;
    type Arguments =
        (DatabaseConnection, ImportSettings, Arc<GalleryFeed>, Arc<ChildSlot<ThumbnailerMsg>>, Arc<AtomicUsize>);

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        (db, settings, feed, thumbnailer, writing): Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        crate::store::private_dir(&settings.imports_dir)?;
        let state = ImporterState { db, settings, feed, thumbnailer, writing, active: None };
        state.recover().await;
        Ok(state)
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            ImporterMsg::Start { start, reply } => {
                let _ = reply.send(state.start(*start, &myself).await);
            }
            ImporterMsg::Status { job_id, reply } => {
                let job = match &state.active {
                    Some(active) if active.job.id == job_id => Some(active.job.clone()),
                    _ => gallery_jobs::get(&state.db, &job_id).await.ok().flatten(),
                };
                let _ = reply.send(job.filter(|job| job.kind == "import"));
            }
            ImporterMsg::Update { job_id, update } => state.apply(&job_id, update).await,
        }
        Ok(())
    }
}

impl ImporterState {
    /// An import a previous process left unfinished failed; its uploaded archive is gone with the
    /// rest of `DATA_DIR/imports` (files it wrote without rows are collected as orphans).
    async fn recover(&self) {
        for mut job in gallery_jobs::unfinished(&self.db, &["import"]).await.unwrap_or_default() {
            job.status = "error".into();
            job.stage = "error".into();
            job.message = "Gallery import failed".into();
            job.progress = 100;
            job.error = Some("The server restarted before the import finished; nothing was imported".into());
            job.updated_at = to_db(chrono::Utc::now());
            let _ = gallery_jobs::save(&self.db, &job).await;
        }
        if let Ok(entries) = std::fs::read_dir(&self.settings.imports_dir) {
            for entry in entries.flatten() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    async fn start(
        &mut self,
        start: ImportStart,
        myself: &ActorRef<ImporterMsg>,
    ) -> Result<(GalleryJob, oneshot::Receiver<ImportEnded>), ImportRefusal> {
        if self.active.is_some() {
            return Err(ImportRefusal::Busy);
        }
        let id = crate::hex::encode(&rand::random::<[u8; 16]>());
        let requested = start.checked.importable;
        let job = GalleryJob::created(id, "import", "queued", "Queued gallery ZIP import", None, requested);
        gallery_jobs::save(&self.db, &job).await.map_err(|e| ImportRefusal::Failed(e.to_string()))?;
        self.feed.publish(&job);
        let (done, finished) = oneshot::channel();
        self.active = Some(Active {
            job: job.clone(),
            report: ImportReport::default(),
            saved_at: Instant::now(),
            done: Some(done),
        });
        let run = Run {
            job_id: job.id.clone(),
            db: self.db.clone(),
            settings: self.settings.clone(),
            me: myself.clone(),
            writing: Writing::enter(self.writing.clone()),
        };
        tokio::spawn(run.execute(start));
        Ok((job, finished))
    }

    async fn apply(&mut self, job_id: &str, update: Update) {
        let Some(active) = self.active.as_mut().filter(|a| a.job.id == job_id) else { return };
        let job = &mut active.job;
        let before = job.stage.clone();
        let mut server_fault = false;
        match update {
            Update::Validating => {
                job.status = "running".into();
                job.stage = "validating".into();
                job.message = "Validating import archive entries".into();
            }
            Update::Progress { processed, imported, skipped, duplicates, skips } => {
                job.stage = "importing".into();
                job.message = "Importing gallery images".into();
                job.processed_count = processed as i64;
                job.imported_count = imported as i64;
                job.skipped_count = skipped as i64;
                job.duplicate_count = duplicates as i64;
                let share = (processed * 85).checked_div(job.requested_count.max(1) as u64).unwrap_or(0);
                job.progress = (5 + share).min(90) as i64;
                let room = MAX_LISTED_SKIPS.saturating_sub(active.report.skipped.len());
                active.report.skipped.extend(skips.into_iter().take(room));
                job.payload = serde_json::to_string(&active.report).unwrap_or_else(|_| "{}".into());
            }
            Update::Committing => {
                job.stage = "committing".into();
                job.message = "Saving imported gallery rows".into();
                job.progress = 90;
            }
            Update::Done { imported, skipped, duplicates } => {
                job.status = "success".into();
                job.stage = "completed".into();
                job.message = "Gallery import complete".into();
                job.progress = 100;
                job.requested_count = job.requested_count.max(job.processed_count);
                job.imported_count = imported as i64;
                job.skipped_count = skipped as i64;
                job.duplicate_count = duplicates as i64;
                let _ = self.thumbnailer.get().cast(ThumbnailerMsg::Kick);
            }
            Update::Failed { error, server_fault: fault } => {
                server_fault = fault;
                job.status = "error".into();
                job.stage = "error".into();
                job.message = "Gallery import failed".into();
                job.progress = 100;
                job.imported_count = 0;
                job.error = Some(error);
            }
        }
        job.updated_at = to_db(chrono::Utc::now());
        let ended = job.is_terminal();
        if ended || before != job.stage || active.saved_at.elapsed() >= SAVE_EVERY {
            if let Err(err) = gallery_jobs::save(&self.db, job).await {
                tracing::warn!(job_id, error = %err, "could not save import progress");
            }
            active.saved_at = Instant::now();
        }
        self.feed.publish(job);
        if ended {
            if let Some(done) = active.done.take() {
                let _ = done.send(ImportEnded { job: job.clone(), server_fault });
            }
            self.active = None;
        }
    }
}

/// Counts a running import for storage upkeep, which waits while any has files without rows.
struct Writing(Arc<AtomicUsize>);

impl Writing {
    fn enter(count: Arc<AtomicUsize>) -> Writing {
        count.fetch_add(1, Ordering::SeqCst);
        Writing(count)
    }
}

impl Drop for Writing {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A record's image, read and checked.
struct Checked {
    index: usize,
    bytes: Vec<u8>,
    width: u32,
    height: u32,
    sha256: String,
}

enum Outcome {
    Image(Checked),
    Skip(usize, &'static str, Option<String>),
}

/// An image written to `images/`, waiting for its row (built from its record only when the rows
/// are saved, so a large import holds a few fields per image, not whole rows).
struct Stored {
    index: usize,
    id: String,
    filename: String,
    width: u32,
    height: u32,
    bytes: u64,
    sha256: String,
}

/// Files this import wrote; removed unless their rows were committed.
struct Written {
    dir: PathBuf,
    images: Vec<Stored>,
    kept: bool,
}

impl Drop for Written {
    fn drop(&mut self) {
        if !self.kept {
            for image in &self.images {
                let _ = std::fs::remove_file(self.dir.join(&image.filename));
            }
        }
    }
}

#[derive(Default)]
struct Totals {
    processed: u64,
    imported: u64,
    skipped: u64,
    duplicates: u64,
}

/// Why an import stopped: the archive's fault (a 400 for a synchronous import) or the server's.
struct Failure {
    error: String,
    server_fault: bool,
}

impl From<String> for Failure {
    fn from(error: String) -> Failure {
        Failure { error, server_fault: false }
    }
}

impl From<&str> for Failure {
    fn from(error: &str) -> Failure {
        Failure { error: error.into(), server_fault: false }
    }
}

fn server(error: impl std::fmt::Display) -> Failure {
    Failure { error: error.to_string(), server_fault: true }
}

struct Run {
    job_id: String,
    db: DatabaseConnection,
    settings: ImportSettings,
    me: ActorRef<ImporterMsg>,
    writing: Writing,
}

impl Run {
    fn send(&self, update: Update) {
        let _ = self.me.cast(ImporterMsg::Update { job_id: self.job_id.clone(), update });
    }

    async fn execute(self, start: ImportStart) {
        self.send(Update::Validating);
        let outcome = self.import(start).await;
        let update = match outcome {
            Ok(totals) => {
                Update::Done { imported: totals.imported, skipped: totals.skipped, duplicates: totals.duplicates }
            }
            Err(Failure { error, server_fault }) => Update::Failed { error, server_fault },
        };
        self.send(update);
        drop(self.writing);
    }

    async fn import(&self, start: ImportStart) -> Result<Totals, Failure> {
        let ImportStart { archive: upload, checked, limits } = start;
        let records = Arc::new(checked.records);
        let mut batches = spawn_reader(upload.0.clone(), records.clone(), limits, self.settings.imports_dir.clone());
        let mut totals = Totals::default();
        let mut written = Written { dir: self.settings.images_dir.clone(), images: Vec::new(), kept: false };
        let mut names: HashSet<String> = HashSet::new();
        while let Some(outcomes) = batches.recv().await {
            let outcomes = outcomes.map_err(Failure::from)?;
            let hashes: Vec<String> = outcomes
                .iter()
                .filter_map(|o| if let Outcome::Image(c) = o { Some(c.sha256.clone()) } else { None })
                .collect();
            let present = taken_hashes(&self.db, &hashes).await.map_err(server)?;
            let mut skips = Vec::new();
            let mut files = Vec::new();
            for outcome in outcomes {
                totals.processed += 1;
                match outcome {
                    Outcome::Skip(index, reason, detail) => {
                        totals.skipped += 1;
                        let record = &records[index];
                        skips.push(SkippedEntry {
                            filename: record.member.clone().unwrap_or_else(|| record.named.clone()),
                            id: record.id.clone(),
                            reason: reason.into(),
                            detail,
                        });
                    }
                    Outcome::Image(image) if present.contains(&image.sha256) => totals.duplicates += 1,
                    Outcome::Image(image) => files.push(image),
                }
            }
            let stored = self.store_files(&records, files, &mut names).await?;
            totals.imported += stored.len() as u64;
            written.images.extend(stored);
            self.send(Update::Progress {
                processed: totals.processed,
                imported: totals.imported,
                skipped: totals.skipped,
                duplicates: totals.duplicates,
                skips,
            });
        }
        drop(upload);
        if totals.processed < records.len() as u64 {
            return Err(server("The import stopped unexpectedly"));
        }
        if written.images.is_empty() {
            if totals.duplicates > 0 {
                return Ok(totals);
            }
            return Err("No importable images found".into());
        }
        self.send(Update::Committing);
        let images_dir = self.settings.images_dir.clone();
        tokio::task::spawn_blocking(move || flush_filesystem(&images_dir))
            .await
            .map_err(|_| server("The import stopped unexpectedly"))?
            .map_err(|e| server(format!("Could not flush imported files: {e}")))?;
        let ids = written.images.iter().map(|image| image.id.clone()).collect();
        let row_at = |at: usize, id: String| {
            let image = &written.images[at];
            let record = &records[image.index];
            record.row(id, image.filename.clone(), image.width, image.height, image.bytes, image.sha256.clone())
        };
        insert_imported(&self.db, ids, row_at)
            .await
            .map_err(|e| server(format!("Could not save imported rows: {e}")))?;
        written.kept = true;
        Ok(totals)
    }

    /// Picks a free name for each checked image and writes it.
    async fn store_files(
        &self,
        records: &[ImportRecord],
        images: Vec<Checked>,
        names: &mut HashSet<String>,
    ) -> Result<Vec<Stored>, Failure> {
        if images.is_empty() {
            return Ok(Vec::new());
        }
        let wanted: Vec<String> = images
            .iter()
            .map(|image| {
                let record = &records[image.index];
                let named =
                    if record.named.is_empty() { record.member.as_deref().unwrap_or("") } else { &record.named };
                sanitized_filename(named)
            })
            .collect();
        let mut taken = taken_filenames(&self.db, &wanted).await.map_err(server)?;
        let mut chosen = Vec::with_capacity(images.len());
        for name in wanted {
            let mut candidate = name.clone();
            let (stem, extension) = name.rsplit_once('.').unwrap_or((&name, "png"));
            let mut n = 0;
            loop {
                if !names.contains(&candidate) && !taken.contains(&candidate) {
                    if !crate::store::gallery::filename_in_use(&self.db, &candidate).await.map_err(server)? {
                        break;
                    }
                    taken.insert(candidate.clone());
                }
                n += 1;
                candidate = format!("{stem}_{n}.{extension}");
            }
            names.insert(candidate.clone());
            chosen.push(candidate);
        }
        let dir = self.settings.images_dir.clone();
        let ids: Vec<String> = images
            .iter()
            .map(|image| records[image.index].id.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string()))
            .collect();
        tokio::task::spawn_blocking(move || write_files(&dir, images, chosen, ids))
            .await
            .map_err(|_| server("The import stopped unexpectedly"))?
            .map_err(server)
    }
}

/// Reads the records' members in archive order on one thread, checks their images on
/// `CHECK_THREADS` more, and hands over one batch of outcomes at a time (in record order), at most one
/// batch ahead of the writer. Long-lived threads keep the allocator's per-thread pools few, so memory
/// stays flat. An error ends the stream; so does a reader that stopped unexpectedly (then fewer
/// records than asked for were processed).
fn spawn_reader(
    path: PathBuf,
    records: Arc<Vec<ImportRecord>>,
    limits: ImportLimits,
    scratch: PathBuf,
) -> tokio::sync::mpsc::Receiver<Result<Vec<Outcome>, String>> {
    let (batches, receiver) = tokio::sync::mpsc::channel(1);
    std::thread::spawn(move || {
        let archive = File::open(&path).ok().and_then(|file| ZipArchive::new(file).ok());
        let Some(mut archive) = archive else {
            let _ = batches.blocking_send(Err("Import file must be a valid ZIP".into()));
            return;
        };
        let (work, queue) = std::sync::mpsc::channel::<(usize, Vec<u8>, String)>();
        let queue = std::sync::Mutex::new(queue);
        let (done, results) = std::sync::mpsc::channel::<Outcome>();
        std::thread::scope(|scope| {
            for _ in 0..CHECK_THREADS {
                let (queue, done, scratch) = (&queue, done.clone(), &scratch);
                scope.spawn(move || {
                    loop {
                        let next = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        let Ok(item) = next else { break };
                        if done.send(check(item, limits.max_pixels, scratch)).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(done);
            let (mut start, mut output) = (0usize, 0u64);
            while start < records.len() {
                let (end, read) = read_batch(&mut archive, &records, start, &limits, &mut output);
                start = end;
                let batch = read.map(|(mut outcomes, pending)| {
                    let count = pending.len();
                    for item in pending {
                        let _ = work.send(item);
                    }
                    outcomes.extend(results.iter().take(count));
                    outcomes.sort_by_key(|outcome| match outcome {
                        Outcome::Image(image) => image.index,
                        Outcome::Skip(index, ..) => *index,
                    });
                    outcomes
                });
                let failed = batch.is_err();
                if batches.blocking_send(batch).is_err() || failed {
                    break;
                }
            }
            drop(work);
        });
    });
    receiver
}

type Pending = Vec<(usize, Vec<u8>, String)>;

/// Reads the records from `start` until the batch is full: the outcomes known without decoding and
/// the images to check. Returns where the next batch starts, or the error that ends the import.
fn read_batch(
    archive: &mut ZipArchive<File>,
    records: &[ImportRecord],
    start: usize,
    limits: &ImportLimits,
    output: &mut u64,
) -> (usize, Result<(Vec<Outcome>, Pending), String>) {
    let mut outcomes = Vec::new();
    let mut pending: Pending = Vec::new();
    let (mut bytes, mut index) = (0u64, start);
    while index < records.len() && pending.len() < BATCH_RECORDS && bytes < BATCH_BYTES {
        let record = &records[index];
        index += 1;
        let Some(member) = record.member.as_deref() else {
            outcomes.push(Outcome::Skip(index - 1, "image_file_missing", None));
            continue;
        };
        let Some(extension) = image_extension(member) else {
            outcomes.push(Outcome::Skip(index - 1, "unsupported_extension", None));
            continue;
        };
        let mut data = Vec::new();
        let read = archive.by_name(member).map_err(|e| e.to_string()).and_then(|entry| {
            // Sized once from the header (capped), not grown by doubling.
            data.reserve_exact(entry.size().min(limits.max_file_bytes + 1) as usize);
            entry.take(limits.max_file_bytes + 1).read_to_end(&mut data).map_err(|e| e.to_string())
        });
        if let Err(err) = read {
            return (index, Err(format!("Import archive entry {member} could not be read: {err}")));
        }
        if data.len() as u64 > limits.max_file_bytes {
            return (
                index,
                Err(format!(
                    "Imported image is too large (more than {} MB; setting MAX_FILE_SIZE_MB)",
                    limits.max_file_bytes >> 20
                )),
            );
        }
        if data.is_empty() {
            outcomes.push(Outcome::Skip(index - 1, "empty_image", None));
            continue;
        }
        bytes += data.len() as u64;
        *output += data.len() as u64;
        if *output > limits.max_output_bytes {
            return (
                index,
                Err(format!(
                    "Import output size exceeds limit ({} MB; setting IMPORT_MAX_OUTPUT_MB)",
                    limits.max_output_bytes >> 20
                )),
            );
        }
        pending.push((index - 1, data, extension));
    }
    (index, Ok((outcomes, pending)))
}

/// Decodes and hashes one image.
fn check((index, bytes, extension): (usize, Vec<u8>, String), max_pixels: u64, scratch: &Path) -> Outcome {
    // A decoder bug must not stop the import's threads: that image is refused instead.
    let checked =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check_image(&bytes, &extension, max_pixels, scratch)))
            .unwrap_or_else(|_| Err("Image data must be a fully decodable supported raster image".into()));
    match checked {
        Ok((width, height)) => {
            let sha256 = crate::hex::encode(&Sha256::digest(&bytes));
            Outcome::Image(Checked { index, bytes, width, height, sha256 })
        }
        Err(detail) => Outcome::Skip(index, "invalid_image", Some(detail)),
    }
}

/// Writes each image under its chosen name (never over an existing file: a name taken on disk gets a
/// random suffix).
fn write_files(dir: &Path, images: Vec<Checked>, names: Vec<String>, ids: Vec<String>) -> Result<Vec<Stored>, String> {
    let mut stored = Vec::with_capacity(images.len());
    let result = write_each(dir, images, names, ids, &mut stored);
    if result.is_err() {
        for image in &stored {
            let _ = std::fs::remove_file(dir.join(&image.filename));
        }
    }
    result.map(|()| stored)
}

fn write_each(
    dir: &Path,
    images: Vec<Checked>,
    names: Vec<String>,
    ids: Vec<String>,
    stored: &mut Vec<Stored>,
) -> Result<(), String> {
    use std::io::Write;
    for ((image, mut name), id) in images.into_iter().zip(names).zip(ids) {
        let file = loop {
            let path = dir.join(&name);
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => break (file, path),
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                    let (stem, extension) = name.rsplit_once('.').unwrap_or((&name, "png"));
                    name = format!("{stem}_{}.{extension}", crate::hex::encode(&rand::random::<[u8; 4]>()));
                }
                Err(err) => return Err(format!("Could not write an imported image: {}", err.kind())),
            }
        };
        let (mut handle, path) = file;
        if let Err(err) = handle.write_all(&image.bytes) {
            let _ = std::fs::remove_file(&path);
            return Err(format!("Could not write an imported image: {}", err.kind()));
        }
        let (index, width, height, bytes, sha256) =
            (image.index, image.width, image.height, image.bytes.len() as u64, image.sha256);
        stored.push(Stored { index, id, filename: name, width, height, bytes, sha256 });
    }
    Ok(())
}

/// Makes every file written so far durable before the rows that name them are committed.
fn flush_filesystem(dir: &Path) -> std::io::Result<()> {
    let handle = File::open(dir)?;
    rustix::fs::syncfs(&handle).map_err(std::io::Error::from)
}
