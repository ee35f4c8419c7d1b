//! The exporter owns every ZIP export: tracked exports (written to `DATA_DIR/exports`, downloadable
//! until they expire), direct exports (a reservation, then one streamed download) and selected
//! downloads. It enforces `MAX_ACTIVE_EXPORT_JOBS`, keeps each running job in memory, publishes every
//! change on the gallery feed, saves it at each stage change and at most twice a second otherwise,
//! and removes expired archives and scratch files.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use sea_orm::DatabaseConnection;
use tokio::sync::mpsc;

use crate::archive::export_plan::{Plan, PlanFiles, PlanInputs, PlanProgress, Selection, prepare};
use crate::archive::export_write::{write_archive, write_while_planned};
use crate::archive::zip_writer::DosTime;
use crate::gallery_feed::GalleryFeed;
use crate::live_settings::LiveSettings;
use crate::store::gallery::{self, GalleryFilter};
use crate::store::gallery_jobs::{self, GalleryJob};
use crate::store::time::to_db;

/// A direct export reserved but never downloaded gives its slot back after this long.
const DIRECT_RESERVATION: Duration = Duration::from_secs(15 * 60);
/// How long a finished tracked export stays downloadable.
const TRACKED_TTL: Duration = Duration::from_secs(30 * 60);
const SAVE_EVERY: Duration = Duration::from_millis(500);
const PROGRESS_EVERY: Duration = Duration::from_millis(100);
const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// Chunks in flight between the archive writer and a slow client.
const STREAM_CHUNKS: usize = 8;
const STREAM_CHUNK_BYTES: usize = 256 * 1024;
/// Entries the first pass of a download may plan ahead of the writer.
const PLANNED_AHEAD: usize = 1024;

#[derive(Debug, Clone)]
pub struct ExportSettings {
    pub images_dir: PathBuf,
    pub thumbnails_dir: PathBuf,
    pub exports_dir: PathBuf,
}

/// Why an export request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// `MAX_ACTIVE_EXPORT_JOBS` are active.
    Full(usize),
    NotFound,
    /// A direct export that already started or ended.
    AlreadyUsed,
    /// A tracked export that has not finished.
    NotReady,
    /// Nothing to export.
    Empty,
    Failed(String),
}

/// What to export.
#[derive(Debug, Clone)]
pub enum ExportRequest {
    /// Reserve a direct export of the whole gallery.
    Direct,
    /// A tracked export of `selection` (`selected` names the file `gpt-images-selected-…`).
    Tracked { selection: Selection, selected: bool, requested: u64 },
}

/// A started stream: the archive's bytes as they are written.
pub struct ZipStream {
    pub job: GalleryJob,
    pub chunks: mpsc::Receiver<io::Result<Bytes>>,
}

pub enum ExporterMsg {
    Reserve {
        request: ExportRequest,
        max_active: usize,
        reply: RpcReplyPort<Result<GalleryJob, Refusal>>,
    },
    /// Starts a reserved direct export, or (`job_id: None`) reserves and starts one at once.
    Stream {
        job_id: Option<String>,
        max_active: usize,
        reply: RpcReplyPort<Result<ZipStream, Refusal>>,
    },
    /// A selected download: streamed at once, holding a slot while it runs.
    StreamSelection {
        selection: Selection,
        max_active: usize,
        reply: RpcReplyPort<Result<ZipStream, Refusal>>,
    },
    Status {
        job_id: String,
        reply: RpcReplyPort<Option<GalleryJob>>,
    },
    /// A finished tracked export's file.
    Download {
        job_id: String,
        reply: RpcReplyPort<Result<(PathBuf, GalleryJob), Refusal>>,
    },
    Update {
        job_id: String,
        update: Update,
    },
    Sweep,
}

/// Progress and outcomes reported by running exports.
pub enum Update {
    Preparing { processed: u64, requested: u64 },
    Writing { bytes_total: u64, exported: u64, missing: u64, requested: u64 },
    Written { bytes_written: u64 },
    Done { archive: Option<PathBuf> },
    Failed { message: String, error: String },
}

pub struct ExporterState {
    db: DatabaseConnection,
    settings: ExportSettings,
    live: Arc<LiveSettings>,
    feed: Arc<GalleryFeed>,
    /// Jobs that hold a slot: reserved, queued or running.
    active: HashMap<String, Active>,
}

struct Active {
    job: GalleryJob,
    saved_at: Instant,
    /// Selected downloads are never stored: nobody can ask for their status.
    ephemeral: bool,
}

pub struct Exporter;

impl Actor for Exporter {
    type Msg = ExporterMsg;
    type State = ExporterState;
    type Arguments = (DatabaseConnection, ExportSettings, Arc<GalleryFeed>, Arc<LiveSettings>);

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        (db, settings, feed, live): Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        crate::store::private_dir(&settings.exports_dir)?;
        let state = ExporterState { db, settings, live, feed, active: HashMap::new() };
        state.recover().await;
        myself.send_interval(SWEEP_EVERY, || ExporterMsg::Sweep);
        Ok(state)
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            ExporterMsg::Reserve { request, max_active, reply } => {
                let result = state.reserve(request, max_active, &myself).await;
                let _ = reply.send(result);
            }
            ExporterMsg::Stream { job_id, max_active, reply } => {
                let result = state.stream(job_id, max_active, &myself).await;
                let _ = reply.send(result);
            }
            ExporterMsg::StreamSelection { selection, max_active, reply } => {
                let result = state.stream_selection(selection, max_active, &myself).await;
                let _ = reply.send(result);
            }
            ExporterMsg::Status { job_id, reply } => {
                let job = match state.active.get(&job_id) {
                    Some(active) if !active.ephemeral => Some(active.job.clone()),
                    Some(_) => None,
                    None => gallery_jobs::get(&state.db, &job_id).await.ok().flatten(),
                };
                let _ = reply.send(job);
            }
            ExporterMsg::Download { job_id, reply } => {
                let _ = reply.send(state.download(&job_id).await);
            }
            ExporterMsg::Update { job_id, update } => state.apply(&job_id, update).await,
            ExporterMsg::Sweep => state.sweep().await,
        }
        Ok(())
    }
}

fn hex_id() -> String {
    crate::hex::encode(&rand::random::<[u8; 16]>())
}

fn archive_name(selected: bool) -> String {
    let prefix = if selected { "gpt-images-selected" } else { "gpt-images" };
    format!("{prefix}-{}.zip", chrono::Utc::now().format("%Y%m%d_%H%M%S"))
}

fn new_job(id: String, kind: &str, status: &str, message: &str, filename: String, requested: u64) -> GalleryJob {
    GalleryJob::created(id, kind, status, message, Some(filename), requested)
}

impl ExporterState {
    /// Jobs a previous process left unfinished have failed; scratch files and archives nobody can
    /// download any more are removed.
    async fn recover(&self) {
        if let Ok(jobs) = gallery_jobs::unfinished(&self.db, &["export", "export_direct"]).await {
            for mut job in jobs {
                if job.kind == "export_direct" && job.stage == "queued" {
                    let _ = gallery_jobs::delete(&self.db, &job.id).await;
                    continue;
                }
                job.status = "error".into();
                job.stage = "error".into();
                job.message =
                    if job.kind == "export" { "Failed to build ZIP archive" } else { "Failed to stream ZIP archive" }
                        .into();
                job.error = Some("The server restarted before the export finished".into());
                job.updated_at = to_db(chrono::Utc::now());
                let _ = gallery_jobs::save(&self.db, &job).await;
            }
        }
        let keep: std::collections::HashSet<String> = gallery_jobs::all_of(&self.db, "export")
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|job| job.status == "success")
            .map(|job| format!("{}.zip", job.id))
            .collect();
        if let Ok(entries) = std::fs::read_dir(&self.settings.exports_dir) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if !keep.contains(&name) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        self.sweep_expired().await;
    }

    fn full(&self, max_active: usize) -> Option<Refusal> {
        (self.active.len() >= max_active.max(1)).then_some(Refusal::Full(max_active.max(1)))
    }

    async fn reserve(
        &mut self,
        request: ExportRequest,
        max_active: usize,
        myself: &ActorRef<ExporterMsg>,
    ) -> Result<GalleryJob, Refusal> {
        if let Some(refusal) = self.full(max_active) {
            return Err(refusal);
        }
        let job = match &request {
            ExportRequest::Direct => {
                let count = gallery::count(&self.db, &GalleryFilter::default()).await.map_err(fail)?;
                if count == 0 {
                    return Err(Refusal::Empty);
                }
                let id = format!("direct-{}", hex_id());
                let mut job = new_job(
                    id,
                    "export_direct",
                    "running",
                    "Waiting for direct gallery ZIP download",
                    archive_name(false),
                    count,
                );
                job.expires_at = Some(to_db(chrono::Utc::now() + DIRECT_RESERVATION));
                job
            }
            ExportRequest::Tracked { selected, requested, .. } => {
                new_job(hex_id(), "export", "queued", "Queued gallery ZIP export", archive_name(*selected), *requested)
            }
        };
        gallery_jobs::save(&self.db, &job).await.map_err(fail)?;
        self.feed.publish(&job);
        self.active.insert(job.id.clone(), Active { job: job.clone(), saved_at: Instant::now(), ephemeral: false });
        if let ExportRequest::Tracked { selection, .. } = request {
            self.spawn_run(&job, selection, Sink::File, myself);
        }
        Ok(job)
    }

    async fn stream(
        &mut self,
        job_id: Option<String>,
        max_active: usize,
        myself: &ActorRef<ExporterMsg>,
    ) -> Result<ZipStream, Refusal> {
        let job_id = match job_id {
            Some(id) => id,
            None => self.reserve(ExportRequest::Direct, max_active, myself).await?.id,
        };
        let Some(active) = self.active.get(&job_id).filter(|a| a.job.kind == "export_direct") else {
            return match gallery_jobs::get(&self.db, &job_id).await.map_err(fail)? {
                Some(job) if job.kind == "export_direct" => Err(Refusal::AlreadyUsed),
                _ => Err(Refusal::NotFound),
            };
        };
        if active.job.stage != "queued" {
            return Err(Refusal::AlreadyUsed);
        }
        let count = gallery::count(&self.db, &GalleryFilter::default()).await.map_err(fail)?;
        if count == 0 {
            self.apply(
                &job_id,
                Update::Failed { message: "No images in gallery".into(), error: "No images in gallery".into() },
            )
            .await;
            return Err(Refusal::Empty);
        }
        let (tx, chunks) = mpsc::channel(STREAM_CHUNKS);
        let mut job = self.active.get(&job_id).map(|a| a.job.clone()).ok_or(Refusal::NotFound)?;
        job.requested_count = count as i64;
        self.spawn_run(&job, Selection::All, Sink::Channel(tx), myself);
        Ok(ZipStream { job, chunks })
    }

    async fn stream_selection(
        &mut self,
        selection: Selection,
        max_active: usize,
        myself: &ActorRef<ExporterMsg>,
    ) -> Result<ZipStream, Refusal> {
        if let Some(refusal) = self.full(max_active) {
            return Err(refusal);
        }
        let requested = match &selection {
            Selection::Ids(ids) => ids.len() as u64,
            Selection::Filter(filter) => gallery::count(&self.db, filter).await.map_err(fail)?,
            Selection::All => gallery::count(&self.db, &GalleryFilter::default()).await.map_err(fail)?,
        };
        let id = format!("direct-{}", hex_id());
        let job = new_job(id, "export_direct", "running", "Streaming selected images", archive_name(true), requested);
        self.active.insert(job.id.clone(), Active { job: job.clone(), saved_at: Instant::now(), ephemeral: true });
        let (tx, chunks) = mpsc::channel(STREAM_CHUNKS);
        self.spawn_run(&job, selection, Sink::Channel(tx), myself);
        Ok(ZipStream { job, chunks })
    }

    async fn download(&self, job_id: &str) -> Result<(PathBuf, GalleryJob), Refusal> {
        let job = gallery_jobs::get(&self.db, job_id).await.map_err(fail)?.filter(|j| j.kind == "export");
        let job = job.ok_or(Refusal::NotFound)?;
        if job.status != "success" {
            return Err(Refusal::NotReady);
        }
        let path = self.settings.exports_dir.join(format!("{}.zip", job.id));
        if !path.is_file() {
            return Err(Refusal::Failed("Gallery export archive not found".into()));
        }
        Ok((path, job))
    }

    fn spawn_run(&mut self, job: &GalleryJob, selection: Selection, sink: Sink, myself: &ActorRef<ExporterMsg>) {
        let run = Run {
            job_id: job.id.clone(),
            tracked: job.kind == "export",
            db: self.db.clone(),
            settings: self.settings.clone(),
            version: self.live.version(),
            me: myself.clone(),
        };
        tokio::spawn(run.execute(selection, sink));
    }

    async fn apply(&mut self, job_id: &str, update: Update) {
        let Some(active) = self.active.get_mut(job_id) else { return };
        let job = &mut active.job;
        let before = job.stage.clone();
        let tracked = job.kind == "export";
        match update {
            Update::Preparing { processed, requested } => {
                job.status = "running".into();
                job.stage = "preparing".into();
                job.message = "Preparing gallery ZIP entries".into();
                job.processed_count = processed as i64;
                job.requested_count = requested as i64;
                job.progress = (processed * 20).checked_div(requested).unwrap_or(0).min(20) as i64;
            }
            Update::Writing { bytes_total, exported, missing, requested } => {
                job.stage = if tracked { "packing" } else { "streaming" }.into();
                job.message = if tracked { "Writing ZIP archive" } else { "Streaming ZIP archive" }.into();
                job.bytes_total = bytes_total as i64;
                job.exported_count = exported as i64;
                job.missing_count = missing as i64;
                job.requested_count = requested as i64;
                job.processed_count = requested as i64;
                job.progress = written_progress(job);
            }
            Update::Written { bytes_written } => {
                job.bytes_written = bytes_written as i64;
                // A download streams while its first pass runs; until that pass ends the length is
                // unknown and the progress stays the pass's.
                if job.bytes_total > 0 {
                    job.progress = written_progress(job);
                }
            }
            Update::Done { archive } => {
                job.status = "success".into();
                job.stage = "ready".into();
                job.message = if tracked { "ZIP archive ready" } else { "ZIP archive streamed" }.into();
                job.progress = 100;
                job.bytes_written = job.bytes_total;
                job.processed_count = job.requested_count;
                if archive.is_some() {
                    job.expires_at = Some(to_db(chrono::Utc::now() + TRACKED_TTL));
                }
            }
            Update::Failed { message, error } => {
                job.status = "error".into();
                job.stage = "error".into();
                job.message = message;
                job.error = Some(error);
            }
        }
        job.updated_at = to_db(chrono::Utc::now());
        let ended = job.is_terminal();
        let due = ended || before != job.stage || active.saved_at.elapsed() >= SAVE_EVERY;
        if due && !active.ephemeral {
            if let Err(err) = gallery_jobs::save(&self.db, job).await {
                tracing::warn!(job_id, error = %err, "could not save export progress");
            }
            active.saved_at = Instant::now();
        }
        if !active.ephemeral {
            self.feed.publish(job);
        }
        if ended {
            self.active.remove(job_id);
        }
    }

    async fn sweep(&mut self) {
        let now = to_db(chrono::Utc::now());
        let stale: Vec<String> = self
            .active
            .values()
            .filter(|a| a.job.stage == "queued" && a.job.kind == "export_direct")
            .filter(|a| a.job.expires_at.as_deref().is_some_and(|at| at < now.as_str()))
            .map(|a| a.job.id.clone())
            .collect();
        for id in stale {
            self.active.remove(&id);
            let _ = gallery_jobs::delete(&self.db, &id).await;
        }
        self.sweep_expired().await;
    }

    /// Finished tracked exports past their expiry: the archive and the row go.
    async fn sweep_expired(&self) {
        let now = to_db(chrono::Utc::now());
        for job in gallery_jobs::expired(&self.db, "export", &now).await.unwrap_or_default() {
            let _ = std::fs::remove_file(self.settings.exports_dir.join(format!("{}.zip", job.id)));
            let _ = gallery_jobs::delete(&self.db, &job.id).await;
        }
    }
}

/// 20 to 100 as the second pass writes the archive.
fn written_progress(job: &GalleryJob) -> i64 {
    let share = (job.bytes_written.max(0) as u64).saturating_mul(80).checked_div(job.bytes_total.max(1) as u64);
    20 + share.unwrap_or(0).min(80) as i64
}

fn fail(err: crate::store::StoreError) -> Refusal {
    Refusal::Failed(err.to_string())
}

enum Sink {
    /// A tracked export: `<id>.zip.tmp`, renamed to `<id>.zip` when complete.
    File,
    /// A download: chunks to the HTTP body.
    Channel(mpsc::Sender<io::Result<Bytes>>),
}

/// One export from its first pass to its last byte.
struct Run {
    job_id: String,
    tracked: bool,
    db: DatabaseConnection,
    settings: ExportSettings,
    /// `APP_VERSION` when the export started, written into the metadata.
    version: String,
    me: ActorRef<ExporterMsg>,
}

struct Reporter {
    job_id: String,
    me: ActorRef<ExporterMsg>,
    last: Option<Instant>,
}

impl Reporter {
    fn send(&self, update: Update) {
        let _ = self.me.cast(ExporterMsg::Update { job_id: self.job_id.clone(), update });
    }

    /// The second pass's byte counter, throttled; the last byte is always reported.
    fn on_write(&mut self) -> impl FnMut(u64) -> io::Result<()> + '_ {
        |bytes_written| {
            if self.due(false) {
                self.send(Update::Written { bytes_written });
            }
            Ok(())
        }
    }

    /// Throttled: at most every `PROGRESS_EVERY`, except the first and `force`d reports.
    fn due(&mut self, force: bool) -> bool {
        let due = force || self.last.is_none_or(|at| at.elapsed() >= PROGRESS_EVERY);
        if due {
            self.last = Some(Instant::now());
        }
        due
    }
}

impl PlanProgress for Reporter {
    fn rows(&mut self, processed: u64, requested: u64) {
        if self.due(processed == requested) {
            self.send(Update::Preparing { processed, requested });
        }
    }
}

impl Run {
    async fn execute(self, selection: Selection, sink: Sink) {
        let reporter = Reporter { job_id: self.job_id.clone(), me: self.me.clone(), last: None };
        let files = PlanFiles::new(&self.settings.exports_dir, &self.job_id);
        let outcome = self.build(selection, sink, reporter, files.clone()).await;
        files.remove();
        let update = match outcome {
            Ok(archive) => Update::Done { archive },
            Err(failure) => failure,
        };
        let _ = self.me.cast(ExporterMsg::Update { job_id: self.job_id.clone(), update });
    }

    fn failure(&self, error: String) -> Update {
        let message = if self.tracked { "Failed to build ZIP archive" } else { "Failed to stream ZIP archive" };
        Update::Failed { message: message.into(), error }
    }

    async fn build(
        &self,
        selection: Selection,
        sink: Sink,
        reporter: Reporter,
        files: PlanFiles,
    ) -> Result<Option<PathBuf>, Update> {
        let exported_at = chrono::Utc::now();
        let shown_at = crate::store::time::shown_utc(&to_db(exported_at));
        let stamp = DosTime::from_utc(exported_at);
        let inputs = PlanInputs {
            db: &self.db,
            images_dir: &self.settings.images_dir,
            thumbnails_dir: &self.settings.thumbnails_dir,
            files: files.clone(),
            exported_at: &shown_at,
            version: &self.version,
            live: None,
        };
        let tx = match sink {
            Sink::File => return self.build_file(inputs, &selection, reporter, stamp).await,
            Sink::Channel(tx) => tx,
        };
        // A download streams each image as soon as the first pass plans it.
        let (live, entries) = std::sync::mpsc::sync_channel(PLANNED_AHEAD);
        let (planned, plan) = tokio::sync::oneshot::channel::<Plan>();
        let images_dir = self.settings.images_dir.clone();
        let mut progress = self.reporter();
        let writer = tokio::task::spawn_blocking(move || {
            let out = ChannelWriter { tx, buffer: BytesMut::with_capacity(STREAM_CHUNK_BYTES) };
            let plan = || plan.blocking_recv().map_err(|_| io::Error::other("the export's first pass failed"));
            let on_write = progress.on_write();
            write_while_planned(&files, entries, plan, &images_dir, stamp, out, on_write).map(|_| None)
        });
        let prepared = prepare(PlanInputs { live: Some(live), ..inputs }, &selection, reporter).await;
        if let Ok(plan) = &prepared {
            self.reporter().send(writing(plan));
            let _ = planned.send(plan.clone());
        } else {
            drop(planned);
        }
        let written = writer.await.map_err(|_| self.failure("the export stopped unexpectedly".into()))?;
        match (written, prepared) {
            (Err(err), _) if err.kind() == io::ErrorKind::BrokenPipe => Err(Update::Failed {
                message: "Direct ZIP download interrupted".into(),
                error: "Client disconnected before ZIP streaming completed".into(),
            }),
            (_, Err(err)) => Err(self.failure(err)),
            (Err(err), Ok(_)) => Err(self.failure(err.to_string())),
            (Ok(path), Ok(_)) => Ok(path),
        }
    }

    /// A tracked export: the whole first pass, then the archive written to `<id>.zip.tmp`, flushed and
    /// renamed to `<id>.zip`.
    async fn build_file(
        &self,
        inputs: PlanInputs<'_>,
        selection: &Selection,
        reporter: Reporter,
        stamp: DosTime,
    ) -> Result<Option<PathBuf>, Update> {
        let plan = prepare(inputs, selection, reporter).await.map_err(|e| self.failure(e))?;
        if plan.exported == 0 && plan.missing == 0 {
            return Err(self.failure("No images in gallery".into()));
        }
        let mut progress = self.reporter();
        progress.send(writing(&plan));
        let images_dir = self.settings.images_dir.clone();
        let final_path = self.settings.exports_dir.join(format!("{}.zip", self.job_id));
        let partial = self.settings.exports_dir.join(format!("{}.zip.tmp", self.job_id));
        let written = tokio::task::spawn_blocking({
            let partial = partial.clone();
            move || {
                let file = std::fs::File::create(&partial)?;
                let on_write = progress.on_write();
                let file = write_archive(&plan, &images_dir, stamp, io::BufWriter::new(file), on_write)?;
                file.into_inner().map_err(io::IntoInnerError::into_error)?.sync_all()?;
                std::fs::rename(&partial, &final_path)?;
                Ok::<_, io::Error>(Some(final_path))
            }
        })
        .await
        .map_err(|_| self.failure("the export stopped unexpectedly".into()))?;
        written.map_err(|err| {
            let _ = std::fs::remove_file(&partial);
            self.failure(err.to_string())
        })
    }

    fn reporter(&self) -> Reporter {
        Reporter { job_id: self.job_id.clone(), me: self.me.clone(), last: None }
    }
}

/// The update that starts the second pass: the archive's exact length and the final counts.
fn writing(plan: &Plan) -> Update {
    Update::Writing {
        bytes_total: plan.bytes_total,
        exported: plan.exported,
        missing: plan.missing,
        requested: plan.requested,
    }
}

/// Buffers archive bytes into chunks and hands them to the HTTP body, waiting while the client is
/// slow; a client that went away is a broken pipe.
struct ChannelWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buffer: BytesMut,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = self.buffer.split().freeze();
        self.tx.blocking_send(Ok(chunk)).map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.tx.is_closed() {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= STREAM_CHUNK_BYTES {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}
