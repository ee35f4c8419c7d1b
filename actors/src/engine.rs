//! `Engine` is the handle the HTTP layer holds: typed helpers instead of raw messages, always aimed at
//! the current incarnation of each child the supervisor (supervisor.rs) keeps running.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::archive::export_plan::Selection;
use crate::dispatcher::{Admission, Admit, Cancelled, DispatcherMsg, Enqueued};
use crate::exporter::{ExportRequest, ExporterMsg, Refusal, ZipStream};
use crate::gallery_feed::GalleryFeed;
use crate::importer::{ImportEnded, ImportRefusal, ImportStart, ImporterMsg};
use crate::job_feed::JobFeed;
use crate::live_settings::{LiveSettings, LiveValues};
use crate::r2_syncer::{SyncRefusal, SyncRequest, SyncTarget, SyncerMsg};
use crate::store::gallery_jobs::GalleryJob;
use crate::store::jobs;
use crate::supervisor::{CALL_TIMEOUT, ChildSlot, EngineDeps, EngineError, Supervisor, SupervisorMsg};
use crate::thumbnailer::ThumbnailerMsg;
use ractor::{Actor, ActorCell, ActorRef, RpcReplyPort};

/// The handle the API holds. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    supervisor: ActorRef<SupervisorMsg>,
    exporter: Arc<ChildSlot<ExporterMsg>>,
    importer: Arc<ChildSlot<ImporterMsg>>,
    syncer: Arc<ChildSlot<SyncerMsg>>,
    dispatcher: Arc<ChildSlot<DispatcherMsg>>,
    thumbnailer: Arc<ChildSlot<ThumbnailerMsg>>,
    db: sea_orm::DatabaseConnection,
    metrics: Arc<crate::metrics::Metrics>,
    feed: Arc<JobFeed>,
    gallery_feed: Arc<GalleryFeed>,
    live: Arc<LiveSettings>,
    /// Test hook: the next admission fails right after its transaction committed.
    fail_next_handoff: Arc<AtomicBool>,
}

impl Engine {
    pub async fn start(deps: EngineDeps) -> Result<Engine, EngineError> {
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let (db, metrics, feed) = (deps.db.clone(), deps.metrics.clone(), deps.feed.clone());
        let (gallery_feed, live) = (deps.gallery_feed.clone(), deps.live.clone());
        let (supervisor, _) = Actor::spawn(None, Supervisor, (deps, ready_tx.into()))
            .await
            .map_err(|e| EngineError::Start(e.to_string()))?;
        let children = ready_rx.await.map_err(|e| EngineError::Start(e.to_string()))?;
        Ok(Engine {
            supervisor,
            exporter: children.exporter,
            importer: children.importer,
            syncer: children.syncer,
            dispatcher: children.dispatcher,
            thumbnailer: children.thumbnailer,
            db,
            metrics,
            feed,
            gallery_feed,
            live,
            fail_next_handoff: Arc::default(),
        })
    }

    /// New values for the settings the actors read as they run; a raised unit limit starts queued
    /// units at once.
    pub fn apply_live(&self, values: LiveValues) {
        self.live.set(values);
        let _ = self.dispatcher.get().cast(DispatcherMsg::LimitsChanged);
    }

    /// Tells the thumbnailer that the queue has work.
    pub fn thumbnail_wanted(&self) {
        let _ = self.thumbnailer.get().cast(ThumbnailerMsg::Kick);
    }

    /// Admits a job if capacity allows. The answer never lies: `Admitted` means the job exists and
    /// will run, `NotCreated` means it certainly does not exist. Admission runs as its own task (so
    /// a client that goes away cannot stop it between commit and hand-off) and never waits behind the
    /// dispatcher's work: it only hands the committed job over.
    pub async fn admit(&self, admit: Admit) -> Result<Admission, EngineError> {
        let job_id = admit.job.id.clone();
        let engine = self.clone();
        match tokio::spawn(async move { engine.admit_now(admit).await }).await {
            Ok(answer) => answer,
            Err(err) => {
                tracing::error!(%job_id, error = %err, "admission stopped unexpectedly");
                self.withdraw(&job_id, "admission stopped unexpectedly").await
            }
        }
    }

    async fn admit_now(&self, admit: Admit) -> Result<Admission, EngineError> {
        let Admit { job, spec, capacity, webhook, sources, max_pending_source_bytes } = admit;
        let job_id = job.id.clone();
        let kind = if job.operation == "edit" { "edit" } else { "generation" };
        let units = jobs::queued_units(&job);
        match jobs::admit(&self.db, job.clone(), capacity, sources, max_pending_source_bytes).await {
            Ok(Admission::Admitted) => {}
            Ok(Admission::Full) => {
                self.metrics.incr("image_jobs.rejected.queue_full");
                return Ok(Admission::Full);
            }
            Ok(Admission::SourcesFull) => {
                self.metrics.incr("image_jobs.rejected.edit_source_full");
                return Ok(Admission::SourcesFull);
            }
            // A commit that reported an error may still have written: the row decides.
            Err(err) => match jobs::exists(&self.db, &job_id).await {
                Ok(false) => return Err(EngineError::NotCreated(err.to_string())),
                _ => return self.withdraw(&job_id, &err.to_string()).await,
            },
        }
        let enqueued = Enqueued { job, units, spec, webhook };
        let handed = if self.fail_next_handoff.swap(false, Ordering::SeqCst) {
            Err("injected hand-off failure".to_string())
        } else {
            self.dispatcher.get().cast(DispatcherMsg::Enqueue(Box::new(enqueued))).map_err(|e| e.to_string())
        };
        match handed {
            Ok(()) => {
                self.metrics.incr(&format!("image_jobs.{kind}.queued"));
                Ok(Admission::Admitted)
            }
            Err(reason) => self.withdraw(&job_id, &reason).await,
        }
    }

    /// Removes a committed job nobody will run. Only when it is certainly gone is the answer an error;
    /// a job that cannot be removed exists, so it is reported admitted (the next dispatcher start
    /// marks it interrupted).
    async fn withdraw(&self, job_id: &str, reason: &str) -> Result<Admission, EngineError> {
        match jobs::withdraw(&self.db, job_id).await {
            Ok(true) => Err(EngineError::NotCreated(reason.to_string())),
            Ok(false) | Err(_) => {
                tracing::error!(%job_id, %reason, "a committed job could not be handed over nor withdrawn");
                Ok(Admission::Admitted)
            }
        }
    }

    /// Makes the next admission fail right after its transaction committed (tests of the no-ghost rule).
    pub fn fail_next_handoff(&self) {
        self.fail_next_handoff.store(true, Ordering::SeqCst);
    }

    /// The live job feed.
    pub fn job_feed(&self) -> Arc<JobFeed> {
        self.feed.clone()
    }

    /// Cancels a queued or running job, aborting its in-flight upstream calls. The answer comes after
    /// the cancel is stored; no timeout, so a slow answer is never mistaken for a failed one.
    pub async fn cancel(&self, job_id: &str) -> Result<Cancelled, EngineError> {
        let id = job_id.to_string();
        let reply = self
            .dispatcher
            .get()
            .call(|reply| DispatcherMsg::Cancel(id, reply), None)
            .await
            .map_err(|e| EngineError::Unavailable(e.to_string()))?
            .success_or(EngineError::Unavailable("dispatcher did not reply".into()))?;
        match reply.map_err(EngineError::Unavailable)? {
            Cancelled::NotActive => match jobs::exists(&self.db, job_id).await {
                Ok(true) => Ok(Cancelled::AlreadyFinished),
                Ok(false) => Ok(Cancelled::NotFound),
                Err(err) => Err(EngineError::Unavailable(err.to_string())),
            },
            other => Ok(other),
        }
    }

    /// Stops every actor; children stop with their supervisor.
    pub async fn shutdown(&self) {
        let _ = self.supervisor.stop_and_wait(None, Some(CALL_TIMEOUT)).await;
    }

    /// The live feed of gallery jobs.
    pub fn gallery_feed(&self) -> Arc<GalleryFeed> {
        self.gallery_feed.clone()
    }

    /// Reserves a direct export or queues a tracked one.
    pub async fn reserve_export(&self, request: ExportRequest, max_active: usize) -> Result<GalleryJob, Refusal> {
        self.call_exporter(|reply| ExporterMsg::Reserve { request, max_active, reply }).await?
    }

    /// Starts a reserved direct export (or, without an id, reserves and starts one).
    pub async fn stream_export(&self, job_id: Option<String>, max_active: usize) -> Result<ZipStream, Refusal> {
        self.call_exporter(|reply| ExporterMsg::Stream { job_id, max_active, reply }).await?
    }

    /// Streams a selected download at once.
    pub async fn stream_selection(&self, selection: Selection, max_active: usize) -> Result<ZipStream, Refusal> {
        self.call_exporter(|reply| ExporterMsg::StreamSelection { selection, max_active, reply }).await?
    }

    pub async fn export_status(&self, job_id: &str) -> Result<Option<GalleryJob>, Refusal> {
        let job_id = job_id.to_string();
        self.call_exporter(|reply| ExporterMsg::Status { job_id, reply }).await
    }

    /// A finished tracked export's archive and job.
    pub async fn export_download(&self, job_id: &str) -> Result<(std::path::PathBuf, GalleryJob), Refusal> {
        let job_id = job_id.to_string();
        self.call_exporter(|reply| ExporterMsg::Download { job_id, reply }).await?
    }

    /// Starts an import of a checked archive; the receiver gets the job's final state.
    pub async fn start_import(
        &self,
        start: ImportStart,
    ) -> Result<(GalleryJob, tokio::sync::oneshot::Receiver<ImportEnded>), ImportRefusal> {
        let start = Box::new(start);
        self.call_importer(|reply| ImporterMsg::Start { start, reply }).await?
    }

    pub async fn import_status(&self, job_id: &str) -> Result<Option<GalleryJob>, ImportRefusal> {
        let job_id = job_id.to_string();
        self.call_importer(|reply| ImporterMsg::Status { job_id, reply }).await
    }

    /// Starts an R2 sync against an already resolved target.
    pub async fn start_sync(&self, request: SyncRequest, target: SyncTarget) -> Result<GalleryJob, SyncRefusal> {
        self.call_syncer(|reply| SyncerMsg::Start { request, target, reply }).await?
    }

    pub async fn sync_status(&self, job_id: &str) -> Result<Option<GalleryJob>, SyncRefusal> {
        let job_id = job_id.to_string();
        self.call_syncer(|reply| SyncerMsg::Status { job_id, reply }).await
    }

    async fn call_syncer<T: Send + 'static>(
        &self,
        build: impl FnOnce(RpcReplyPort<T>) -> SyncerMsg,
    ) -> Result<T, SyncRefusal> {
        self.syncer
            .get()
            .call(build, None)
            .await
            .map_err(|e| SyncRefusal::Failed(format!("the R2 syncer is not answering: {e}")))?
            .success_or(SyncRefusal::Failed("the R2 syncer did not reply".into()))
    }

    async fn call_importer<T: Send + 'static>(
        &self,
        build: impl FnOnce(RpcReplyPort<T>) -> ImporterMsg,
    ) -> Result<T, ImportRefusal> {
        // No timeout: a start that answers late still happened, so waiting is the only honest reply.
        self.importer
            .get()
            .call(build, None)
            .await
            .map_err(|e| ImportRefusal::Failed(format!("the importer is not answering: {e}")))?
            .success_or(ImportRefusal::Failed("the importer did not reply".into()))
    }

    /// How many children the supervisor has restarted since start.
    pub async fn restart_count(&self) -> Result<u64, EngineError> {
        ractor::call_t!(self.supervisor, SupervisorMsg::RestartCount, CALL_TIMEOUT.as_millis() as u64)
            .map_err(|e| EngineError::Unavailable(e.to_string()))
    }

    /// The exporter's actor cell, for diagnostics and supervision tests.
    pub fn exporter_cell(&self) -> ActorCell {
        self.exporter.get().get_cell()
    }

    async fn call_exporter<T: Send + 'static>(
        &self,
        build: impl FnOnce(RpcReplyPort<T>) -> ExporterMsg,
    ) -> Result<T, Refusal> {
        self.exporter
            .get()
            .call(build, Some(CALL_TIMEOUT))
            .await
            .map_err(|e| Refusal::Failed(format!("the exporter is not answering: {e}")))?
            .success_or(Refusal::Failed("the exporter did not reply".into()))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::exporter::ExportSettings;
    use crate::importer::ImportSettings;
    use crate::thumbnailer::ThumbnailSettings;
    use crate::upkeep::UpkeepSettings;
    use crate::upstream::transport::Transport;

    async fn wait_for_restarts(engine: &Engine, expected: u64) {
        for _ in 0..200 {
            if engine.restart_count().await.unwrap() >= expected {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("supervisor did not restart the child");
    }

    async fn assert_answers(engine: &Engine) {
        // An empty gallery has nothing to export: the exporter answers so.
        assert_eq!(engine.reserve_export(ExportRequest::Direct, 5).await.unwrap_err(), Refusal::Empty);
    }

    async fn engine() -> (Engine, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::store::open(&dir.path().join("data"), &dir.path().join("data/app.sqlite3")).await.unwrap();
        let staging_dir = dir.path().join("data/edit-sources");
        let thumbnails = ThumbnailSettings {
            images_dir: dir.path().join("images"),
            thumbnails_dir: dir.path().join("images/thumbs"),
            max_side: 512,
            concurrency: 1,
        };
        let upkeep = UpkeepSettings {
            images_dir: dir.path().join("images"),
            thumbnails_dir: dir.path().join("images/thumbs"),
            orphan_ttl: Duration::from_secs(300),
            imports_writing: Default::default(),
        };
        (
            Engine::start(EngineDeps {
                db,
                staging_dir,
                thumbnails,
                upkeep,
                transport: Transport::default(),
                metrics: Default::default(),
                renderer: Arc::new(|job, _| format!("{{\"job_id\":\"{}\"}}", job.id)),
                feed: Default::default(),
                exports: ExportSettings {
                    images_dir: dir.path().join("images"),
                    thumbnails_dir: dir.path().join("images/thumbs"),
                    exports_dir: dir.path().join("data/exports"),
                },
                imports: ImportSettings {
                    images_dir: dir.path().join("images"),
                    imports_dir: dir.path().join("data/imports"),
                },
                gallery_feed: Default::default(),
                sync_settings: Arc::new(crate::r2_syncer::Disabled),
                live: Default::default(),
            })
            .await
            .unwrap(),
            dir,
        )
    }

    #[tokio::test]
    async fn a_failed_exporter_is_restarted_and_serves_again() {
        let (engine, _dir) = engine().await;
        assert_answers(&engine).await;
        let before = engine.exporter_cell().get_id();
        engine.exporter_cell().kill();
        wait_for_restarts(&engine, 1).await;
        assert_ne!(engine.exporter_cell().get_id(), before);
        assert_answers(&engine).await;
        engine.shutdown().await;
    }
}
