//! The R2 syncer owns gallery backups to Cloudflare R2: one sync at a time (a second is refused), its
//! state in memory, saved per stage and on a throttle, published on the gallery feed. It also runs
//! the scheduled sync: every interval (the first one interval after start) an incremental sync starts
//! unless there is nothing to do, with the reason logged. A full reconcile a restart interrupted
//! resumes after its checkpoint; any other interrupted sync is marked failed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use sea_orm::DatabaseConnection;

use crate::gallery_feed::GalleryFeed;
use crate::r2::{self, R2Target};
use crate::r2_sync_run::{SyncProgress, SyncReport, SyncRun};
use crate::store::gallery::{self, GalleryFilter};
use crate::store::gallery_jobs::{self, GalleryJob};
use crate::store::r2_sync_state::count_candidates;
use crate::store::time::to_db;
use crate::upstream::transport::Transport;

const SAVE_EVERY: Duration = Duration::from_millis(500);

/// Resolved R2 settings for one sync; secrets come from their env refs when asked for.
#[derive(Clone)]
pub struct SyncTarget {
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    /// Normalised: empty or ending in one `/`.
    pub key_prefix: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub concurrency: usize,
    pub allow_http: bool,
    /// The HTTP CONNECT proxy for the endpoint, if one applies.
    pub https_proxy: Option<String>,
}

impl std::fmt::Debug for SyncTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncTarget").field("endpoint", &self.endpoint).field("bucket", &self.bucket).finish()
    }
}

/// Why there is no target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncConfigError {
    Disabled,
    /// The contract's text (`R2 bucket name is not configured.`, …).
    Invalid(String),
}

impl std::fmt::Display for SyncConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SyncConfigError::Disabled => f.write_str("R2 backup is disabled."),
            SyncConfigError::Invalid(message) => f.write_str(message),
        }
    }
}

/// When scheduled syncs run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Time between scheduled syncs; `None` when scheduled sync is off.
    pub every: Option<Duration>,
    /// How soon a schedule that is off looks again.
    pub idle_recheck: Duration,
}

/// The panel's R2 settings as they are now (they change at run time).
pub trait SyncSettings: Send + Sync + 'static {
    fn target(&self) -> BoxFuture<'_, Result<SyncTarget, SyncConfigError>>;
    fn schedule(&self) -> BoxFuture<'_, Schedule>;
}

/// R2 backup off: no target, no schedule.
pub struct Disabled;

impl SyncSettings for Disabled {
    fn target(&self) -> BoxFuture<'_, Result<SyncTarget, SyncConfigError>> {
        Box::pin(async { Err(SyncConfigError::Disabled) })
    }

    fn schedule(&self) -> BoxFuture<'_, Schedule> {
        Box::pin(async { Schedule { every: None, idle_recheck: Duration::from_secs(60) } })
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncRequest {
    pub dry_run: bool,
    pub full_reconcile: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncRefusal {
    /// A sync is queued or running.
    Busy,
    Failed(String),
}

pub enum SyncerMsg {
    Start {
        request: SyncRequest,
        target: SyncTarget,
        reply: RpcReplyPort<Result<GalleryJob, SyncRefusal>>,
    },
    Status {
        job_id: String,
        reply: RpcReplyPort<Option<GalleryJob>>,
    },
    Progress {
        job_id: String,
        progress: SyncProgress,
    },
    Ended {
        job_id: String,
        outcome: Result<SyncReport, (SyncReport, String)>,
    },
    /// The schedule's interval has passed.
    Scheduled,
}

#[derive(Clone)]
pub struct SyncerDeps {
    pub db: DatabaseConnection,
    pub feed: Arc<GalleryFeed>,
    pub images_dir: std::path::PathBuf,
    pub transport: Transport,
    pub settings: Arc<dyn SyncSettings>,
}

pub struct SyncerState {
    deps: SyncerDeps,
    active: Option<Active>,
}

struct Active {
    job: GalleryJob,
    saved_at: Instant,
}

pub struct R2Syncer;

impl Actor for R2Syncer {
    type Msg = SyncerMsg;
    type State = SyncerState;
    type Arguments = SyncerDeps;

    async fn pre_start(
        &self,
        myself: ActorRef<SyncerMsg>,
        deps: SyncerDeps,
    ) -> Result<SyncerState, ActorProcessingErr> {
        let mut state = SyncerState { deps, active: None };
        state.recover(&myself).await;
        schedule(myself, state.deps.settings.clone());
        Ok(state)
    }

    async fn handle(
        &self,
        myself: ActorRef<SyncerMsg>,
        message: SyncerMsg,
        state: &mut SyncerState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            SyncerMsg::Start { request, target, reply } => {
                let _ = reply.send(state.start(request, target, &myself).await);
            }
            SyncerMsg::Status { job_id, reply } => {
                let job = match &state.active {
                    Some(active) if active.job.id == job_id => Some(active.job.clone()),
                    _ => gallery_jobs::get(&state.deps.db, &job_id).await.ok().flatten(),
                };
                let _ = reply.send(job.filter(|job| job.kind == "sync"));
            }
            SyncerMsg::Progress { job_id, progress } => state.progress(&job_id, progress).await,
            SyncerMsg::Ended { job_id, outcome } => state.ended(&job_id, outcome).await,
            SyncerMsg::Scheduled => match state.scheduled(&myself).await {
                "started" => tracing::info!("scheduled R2 sync started"),
                // Off is the usual state: said quietly, once a minute.
                "disabled" => tracing::debug!(reason = "disabled", "scheduled R2 sync skipped"),
                reason => tracing::info!(reason, "scheduled R2 sync skipped"),
            },
        }
        Ok(())
    }
}

/// Wakes the syncer one interval after start and after each run; a schedule that is off is looked at
/// again after its idle recheck (a minute).
fn schedule(syncer: ActorRef<SyncerMsg>, settings: Arc<dyn SyncSettings>) {
    tokio::spawn(async move {
        loop {
            let schedule = settings.schedule().await;
            tokio::time::sleep(schedule.every.unwrap_or(schedule.idle_recheck)).await;
            if syncer.cast(SyncerMsg::Scheduled).is_err() {
                break;
            }
        }
    });
}

fn report_of(job: &GalleryJob) -> SyncReport {
    serde_json::from_str(&job.payload).unwrap_or_default()
}

fn set_report(job: &mut GalleryJob, report: &SyncReport) {
    job.requested_count = report.total_count as i64;
    job.processed_count = report.compared_count as i64;
    job.bytes_total = report.bytes_total as i64;
    job.bytes_written = report.bytes_uploaded as i64;
    job.progress = report.progress();
    job.payload = serde_json::to_string(report).unwrap_or_else(|_| "{}".into());
}

impl SyncerState {
    async fn recover(&mut self, myself: &ActorRef<SyncerMsg>) {
        for mut job in gallery_jobs::unfinished(&self.deps.db, &["sync"]).await.unwrap_or_default() {
            let report = report_of(&job);
            if report.full_reconcile
                && self.active.is_none()
                && let Ok(target) = self.deps.settings.target().await
            {
                tracing::info!(job_id = %job.id, after = ?report.start_after_filename, "resuming R2 full reconcile");
                self.run(job, report, target, myself);
                continue;
            }
            job.status = "error".into();
            job.stage = "error".into();
            job.message = "R2 gallery sync failed".into();
            job.progress = 100;
            job.error = Some("The server restarted before the sync finished".into());
            job.updated_at = to_db(chrono::Utc::now());
            let _ = gallery_jobs::save(&self.deps.db, &job).await;
        }
    }

    async fn start(
        &mut self,
        request: SyncRequest,
        target: SyncTarget,
        myself: &ActorRef<SyncerMsg>,
    ) -> Result<GalleryJob, SyncRefusal> {
        if self.active.is_some() {
            return Err(SyncRefusal::Busy);
        }
        let total = count_candidates(&self.deps.db, &target.key_prefix, request.full_reconcile, None)
            .await
            .map_err(|e| SyncRefusal::Failed(e.to_string()))?;
        let id = crate::hex::encode(&rand::random::<[u8; 16]>());
        let mut job = GalleryJob::created(id, "sync", "queued", "Queued R2 gallery sync", None, total);
        let report = SyncReport {
            dry_run: request.dry_run,
            full_reconcile: request.full_reconcile,
            total_count: total,
            ..Default::default()
        };
        set_report(&mut job, &report);
        job.progress = 0;
        gallery_jobs::save(&self.deps.db, &job).await.map_err(|e| SyncRefusal::Failed(e.to_string()))?;
        self.deps.feed.publish(&job);
        self.run(job.clone(), report, target, myself);
        Ok(job)
    }

    fn run(&mut self, mut job: GalleryJob, report: SyncReport, target: SyncTarget, myself: &ActorRef<SyncerMsg>) {
        job.status = "running".into();
        self.active = Some(Active { job: job.clone(), saved_at: Instant::now() });
        let (db, images_dir, transport) =
            (self.deps.db.clone(), self.deps.images_dir.clone(), self.deps.transport.clone());
        let me = myself.clone();
        let job_id = job.id;
        tokio::spawn(async move {
            let outcome = execute(&db, images_dir, &transport, &target, report.clone(), &me, &job_id).await;
            let _ = me.cast(SyncerMsg::Ended { job_id, outcome });
        });
    }

    async fn progress(&mut self, job_id: &str, progress: SyncProgress) {
        let Some(active) = self.active.as_mut().filter(|a| a.job.id == job_id) else { return };
        let job = &mut active.job;
        let stage_changed = job.stage != progress.stage;
        job.status = "running".into();
        job.stage = progress.stage.into();
        job.message = if progress.stage == "preparing" && progress.report.dry_run {
            "Preparing R2 gallery sync dry run".into()
        } else {
            progress.message
        };
        set_report(job, &progress.report);
        job.updated_at = to_db(chrono::Utc::now());
        let always = matches!(progress.stage, "preparing" | "listing_remote" | "checkpoint" | "completed");
        if stage_changed || always || active.saved_at.elapsed() >= SAVE_EVERY {
            if let Err(err) = gallery_jobs::save(&self.deps.db, job).await {
                tracing::warn!(job_id, error = %err, "could not save sync progress");
            }
            active.saved_at = Instant::now();
        }
        self.deps.feed.publish(job);
    }

    async fn ended(&mut self, job_id: &str, outcome: Result<SyncReport, (SyncReport, String)>) {
        let Some(mut active) = self.active.take().filter(|a| a.job.id == job_id) else { return };
        let job = &mut active.job;
        let (report, error) = match outcome {
            Ok(report) => {
                let failure = report.failure();
                (report, failure)
            }
            Err((report, error)) => (report, Some(error)),
        };
        set_report(job, &report);
        job.progress = 100;
        match error {
            None => {
                job.status = "success".into();
                job.stage = "completed".into();
                job.message =
                    if report.dry_run { "R2 gallery sync dry run complete" } else { "R2 gallery sync complete" }.into();
                job.error = None;
            }
            Some(error) => {
                job.status = "error".into();
                job.stage = "error".into();
                job.message = "R2 gallery sync failed".into();
                job.error = Some(error);
            }
        }
        job.updated_at = to_db(chrono::Utc::now());
        if let Err(err) = gallery_jobs::save(&self.deps.db, job).await {
            tracing::warn!(job_id, error = %err, "could not save the sync's end");
        }
        self.deps.feed.publish(job);
    }

    /// One scheduled run: starts an incremental sync, or says why not.
    async fn scheduled(&mut self, myself: &ActorRef<SyncerMsg>) -> &'static str {
        if self.deps.settings.schedule().await.every.is_none() {
            return "disabled";
        }
        let target = match self.deps.settings.target().await {
            Ok(target) => target,
            Err(SyncConfigError::Disabled) => return "disabled",
            Err(SyncConfigError::Invalid(_)) => return "invalid_config",
        };
        if gallery::count(&self.deps.db, &GalleryFilter::default()).await.unwrap_or(0) == 0 {
            return "empty_gallery";
        }
        if count_candidates(&self.deps.db, &target.key_prefix, false, None).await.unwrap_or(0) == 0 {
            return "no_changes";
        }
        match self.start(SyncRequest::default(), target, myself).await {
            Ok(_) => "started",
            Err(SyncRefusal::Busy) => "active_sync",
            Err(SyncRefusal::Failed(_)) => "error",
        }
    }
}

async fn execute(
    db: &DatabaseConnection,
    images_dir: std::path::PathBuf,
    transport: &Transport,
    target: &SyncTarget,
    report: SyncReport,
    me: &ActorRef<SyncerMsg>,
    job_id: &str,
) -> Result<SyncReport, (SyncReport, String)> {
    let client = r2::client(
        &R2Target {
            endpoint: &target.endpoint,
            bucket: &target.bucket,
            region: &target.region,
            access_key_id: &target.access_key_id,
            secret_access_key: &target.secret_access_key,
            https_proxy: target.https_proxy.as_deref(),
        },
        transport,
        target.allow_http,
    );
    let store = client.map_err(|err| (report.clone(), format!("Failed to create S3 client: {err}")))?;
    let run = SyncRun {
        db,
        store: Arc::new(store),
        images_dir,
        key_prefix: target.key_prefix.clone(),
        concurrency: target.concurrency,
    };
    run.execute(report, |progress| {
        let _ = me.cast(SyncerMsg::Progress { job_id: job_id.to_string(), progress });
    })
    .await
}
