//! The supervisor spawns and links every actor and restarts a child that fails or stops unexpectedly.
//! It hands the children's slots to `Engine` (engine.rs), the handle the HTTP layer holds.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::dispatcher::{Dispatcher, DispatcherArgs, DispatcherMsg, JobRenderer};
use crate::exporter::{ExportSettings, Exporter, ExporterMsg};
use crate::gallery_feed::GalleryFeed;
use crate::importer::{ImportSettings, Importer, ImporterMsg};
use crate::job_feed::JobFeed;
use crate::live_settings::LiveSettings;
use crate::r2_syncer::{R2Syncer, SyncSettings, SyncerDeps, SyncerMsg};
use crate::thumbnailer::{ThumbnailSettings, Thumbnailer, ThumbnailerMsg};
use crate::upkeep::{Upkeep, UpkeepMsg, UpkeepSettings};
use crate::upstream::transport::Transport;
use crate::webhook::{WebhookMsg, WebhookSender};
use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("engine could not start: {0}")]
    Start(String),
    #[error("engine is not answering: {0}")]
    Unavailable(String),
    /// The job was certainly not created (nothing was stored, or what was stored was withdrawn).
    #[error("job not created: {0}")]
    NotCreated(String),
}

/// Replies from actors are expected quickly; anything slower means the engine is stuck.
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// The current `ActorRef` of a child, swapped in place when the supervisor restarts it.
pub struct ChildSlot<M: Send + 'static>(RwLock<ActorRef<M>>);

impl<M: Send + 'static> ChildSlot<M> {
    fn new(actor: ActorRef<M>) -> Arc<Self> {
        Arc::new(ChildSlot(RwLock::new(actor)))
    }
    pub(crate) fn get(&self) -> ActorRef<M> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
    fn replace(&self, actor: ActorRef<M>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = actor;
    }
}

pub enum SupervisorMsg {
    RestartCount(RpcReplyPort<u64>),
}

pub struct SupervisorState {
    exporter: Arc<ChildSlot<ExporterMsg>>,
    importer: Arc<ChildSlot<ImporterMsg>>,
    syncer: Arc<ChildSlot<SyncerMsg>>,
    dispatcher: Arc<ChildSlot<DispatcherMsg>>,
    webhooks: Arc<ChildSlot<WebhookMsg>>,
    thumbnailer: Arc<ChildSlot<ThumbnailerMsg>>,
    upkeep: Arc<ChildSlot<UpkeepMsg>>,
    deps: EngineDeps,
    restarts: u64,
}

/// What the engine's actors work with.
#[derive(Clone)]
pub struct EngineDeps {
    pub db: sea_orm::DatabaseConnection,
    /// Where staged edit uploads live (`DATA_DIR/edit-sources`).
    pub staging_dir: std::path::PathBuf,
    pub thumbnails: ThumbnailSettings,
    pub upkeep: UpkeepSettings,
    pub transport: Transport,
    /// Counters and timings the engine records for `/api/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Renders a job's public view; the dispatcher publishes what it returns.
    pub renderer: JobRenderer,
    /// The live job feed SSE streams read; it outlives dispatcher restarts.
    pub feed: Arc<JobFeed>,
    pub exports: ExportSettings,
    pub imports: ImportSettings,
    /// The live feed of gallery jobs (exports, imports, syncs).
    pub gallery_feed: Arc<GalleryFeed>,
    /// The R2 backup settings as they are when a sync or the schedule needs them.
    pub sync_settings: Arc<dyn SyncSettings>,
    /// Settings the actors read as they run (`Engine::apply_live` changes them).
    pub live: Arc<LiveSettings>,
}

/// The children's current references, handed to `Engine` once the supervisor is up.
pub struct Children {
    pub(crate) exporter: Arc<ChildSlot<ExporterMsg>>,
    pub(crate) importer: Arc<ChildSlot<ImporterMsg>>,
    pub(crate) syncer: Arc<ChildSlot<SyncerMsg>>,
    pub(crate) dispatcher: Arc<ChildSlot<DispatcherMsg>>,
    pub(crate) thumbnailer: Arc<ChildSlot<ThumbnailerMsg>>,
}

pub struct Supervisor;

impl Supervisor {
    async fn spawn_exporter(
        myself: &ActorRef<SupervisorMsg>,
        deps: &EngineDeps,
    ) -> Result<ActorRef<ExporterMsg>, ActorProcessingErr> {
        let args = (deps.db.clone(), deps.exports.clone(), deps.gallery_feed.clone(), deps.live.clone());
        let (actor, _) = Actor::spawn_linked(None, Exporter, args, myself.get_cell()).await?;
        Ok(actor)
    }

    async fn spawn_importer(
        myself: &ActorRef<SupervisorMsg>,
        deps: &EngineDeps,
        thumbnailer: &Arc<ChildSlot<ThumbnailerMsg>>,
    ) -> Result<ActorRef<ImporterMsg>, ActorProcessingErr> {
        let args = (
            deps.db.clone(),
            deps.imports.clone(),
            deps.gallery_feed.clone(),
            thumbnailer.clone(),
            deps.upkeep.imports_writing.clone(),
        );
        let (actor, _) = Actor::spawn_linked(None, Importer, args, myself.get_cell()).await?;
        Ok(actor)
    }

    async fn spawn_syncer(
        myself: &ActorRef<SupervisorMsg>,
        deps: &EngineDeps,
    ) -> Result<ActorRef<SyncerMsg>, ActorProcessingErr> {
        let args = SyncerDeps {
            db: deps.db.clone(),
            feed: deps.gallery_feed.clone(),
            images_dir: deps.exports.images_dir.clone(),
            transport: deps.transport.clone(),
            settings: deps.sync_settings.clone(),
        };
        let (actor, _) = Actor::spawn_linked(None, R2Syncer, args, myself.get_cell()).await?;
        Ok(actor)
    }

    async fn spawn_thumbnailer(
        myself: &ActorRef<SupervisorMsg>,
        deps: &EngineDeps,
    ) -> Result<ActorRef<ThumbnailerMsg>, ActorProcessingErr> {
        let args = (deps.db.clone(), deps.thumbnails.clone(), deps.live.clone());
        let (actor, _) = Actor::spawn_linked(None, Thumbnailer, args, myself.get_cell()).await?;
        Ok(actor)
    }

    async fn spawn_upkeep(
        myself: &ActorRef<SupervisorMsg>,
        deps: &EngineDeps,
    ) -> Result<ActorRef<UpkeepMsg>, ActorProcessingErr> {
        let (actor, _) =
            Actor::spawn_linked(None, Upkeep, (deps.db.clone(), deps.upkeep.clone()), myself.get_cell()).await?;
        Ok(actor)
    }

    async fn spawn_webhooks(
        myself: &ActorRef<SupervisorMsg>,
        deps: &EngineDeps,
    ) -> Result<ActorRef<WebhookMsg>, ActorProcessingErr> {
        let (actor, _) = Actor::spawn_linked(None, WebhookSender, deps.transport.clone(), myself.get_cell()).await?;
        Ok(actor)
    }

    async fn spawn_dispatcher(
        myself: &ActorRef<SupervisorMsg>,
        deps: &EngineDeps,
        webhooks: &Arc<ChildSlot<WebhookMsg>>,
        thumbnailer: &Arc<ChildSlot<ThumbnailerMsg>>,
    ) -> Result<ActorRef<DispatcherMsg>, ActorProcessingErr> {
        let args = DispatcherArgs {
            thumbnailer: thumbnailer.clone(),
            staging_dir: deps.staging_dir.clone(),
            db: deps.db.clone(),
            transport: deps.transport.clone(),
            feed: deps.feed.clone(),
            renderer: deps.renderer.clone(),
            webhooks: webhooks.clone(),
            metrics: deps.metrics.clone(),
            live: deps.live.clone(),
        };
        let (actor, _) = Actor::spawn_linked(None, Dispatcher, args, myself.get_cell()).await?;
        Ok(actor)
    }
}

impl Actor for Supervisor {
    type Msg = SupervisorMsg;
    type State = SupervisorState;
    type Arguments = (EngineDeps, RpcReplyPort<Children>);

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        (deps, ready): Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        let exporter = ChildSlot::new(Self::spawn_exporter(&myself, &deps).await?);
        let webhooks = ChildSlot::new(Self::spawn_webhooks(&myself, &deps).await?);
        let thumbnailer = ChildSlot::new(Self::spawn_thumbnailer(&myself, &deps).await?);
        let upkeep = ChildSlot::new(Self::spawn_upkeep(&myself, &deps).await?);
        let importer = ChildSlot::new(Self::spawn_importer(&myself, &deps, &thumbnailer).await?);
        let syncer = ChildSlot::new(Self::spawn_syncer(&myself, &deps).await?);
        let dispatcher = ChildSlot::new(Self::spawn_dispatcher(&myself, &deps, &webhooks, &thumbnailer).await?);
        let children = Children {
            exporter: exporter.clone(),
            importer: importer.clone(),
            syncer: syncer.clone(),
            dispatcher: dispatcher.clone(),
            thumbnailer: thumbnailer.clone(),
        };
        let _ = ready.send(children);
        Ok(SupervisorState { exporter, importer, syncer, dispatcher, webhooks, thumbnailer, upkeep, deps, restarts: 0 })
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            SupervisorMsg::RestartCount(reply) => {
                let _ = reply.send(state.restarts);
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let cell: ActorCell = match event {
            SupervisionEvent::ActorFailed(cell, err) => {
                tracing::error!(actor = %cell.get_id(), error = %err, "actor failed; restarting it");
                cell
            }
            SupervisionEvent::ActorTerminated(cell, _, reason) => {
                tracing::warn!(actor = %cell.get_id(), reason = ?reason, "actor stopped; restarting it");
                cell
            }
            _ => return Ok(()),
        };
        if cell.get_id() == state.exporter.get().get_id() {
            // Exports it was running have lost their writer; the new one marks them failed.
            state.exporter.replace(Self::spawn_exporter(&myself, &state.deps).await?);
            state.restarts += 1;
        } else if cell.get_id() == state.importer.get().get_id() {
            // An import it was running ends without a commit; the new one marks it failed.
            state.importer.replace(Self::spawn_importer(&myself, &state.deps, &state.thumbnailer).await?);
            state.restarts += 1;
        } else if cell.get_id() == state.syncer.get().get_id() {
            // A sync it was running stops; the new one resumes a full reconcile or marks it failed.
            state.syncer.replace(Self::spawn_syncer(&myself, &state.deps).await?);
            state.restarts += 1;
        } else if cell.get_id() == state.dispatcher.get().get_id() {
            // A new dispatcher marks what the failed one left active as interrupted.
            state
                .dispatcher
                .replace(Self::spawn_dispatcher(&myself, &state.deps, &state.webhooks, &state.thumbnailer).await?);
            state.restarts += 1;
        } else if cell.get_id() == state.upkeep.get().get_id() {
            state.upkeep.replace(Self::spawn_upkeep(&myself, &state.deps).await?);
            state.restarts += 1;
        } else if cell.get_id() == state.thumbnailer.get().get_id() {
            state.thumbnailer.replace(Self::spawn_thumbnailer(&myself, &state.deps).await?);
            state.restarts += 1;
        } else if cell.get_id() == state.webhooks.get().get_id() {
            state.webhooks.replace(Self::spawn_webhooks(&myself, &state.deps).await?);
            state.restarts += 1;
        }
        Ok(())
    }
}
