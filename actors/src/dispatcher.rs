//! The dispatcher owns every active job: FIFO scheduling of units under the active limit, their
//! progress, gallery rows for finished units, the parent job's aggregate state, cancel, and the live
//! feed. Active jobs live in memory: a change is rendered once into the job's public frame and
//! published on the [`JobFeed`]; progress reaches SQLite in batches on a throttle, while a unit's end
//! (and a job's end) is committed before anyone is told. Units run as spawned tasks; the dispatcher
//! only awaits short database writes. Admission happens outside this actor (see `Engine::admit`),
//! which hands each committed job over with `Enqueue`. One process owns the queue: what a previous
//! process left active is marked `interrupted` at start.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use sea_orm::DatabaseConnection;
use tokio::task::JoinHandle;

use crate::job_feed::{JobFeed, JobFrame, sse_frame};
use crate::job_rows::{aggregate, completed_message, failed_stage, gallery_row, is_edit, starting_stage};
use crate::live_settings::LiveSettings;
pub use crate::store::jobs::Admission;
use crate::store::jobs::{self, JobRow, UnitRow, now};
use crate::supervisor::ChildSlot;
use crate::upstream::transport::Transport;
use crate::upstream::unit::{self, SavedImage, Timings, UnitFailure, UnitSpec};
use crate::webhook::{Delivery, WebhookMsg, WebhookPlan};

/// Builds a finished job's webhook body from its rows (the server decides the shape).
pub type PayloadBuilder = Arc<dyn Fn(&JobRow, &[UnitRow]) -> String + Send + Sync>;

/// Renders a job's public JSON view from its rows (the server decides the shape).
pub type JobRenderer = Arc<dyn Fn(&JobRow, &[UnitRow]) -> String + Send + Sync>;

/// How often in-memory progress is written to SQLite at most.
const PROGRESS_PERSIST_INTERVAL: Duration = Duration::from_secs(1);
/// Bursts of list changes are merged: a job added or ended shows within this time...
const LIST_DEBOUNCE_URGENT: Duration = Duration::from_millis(50);
/// ...and a change of stage within this one (the contract's 0.35 s).
const LIST_DEBOUNCE_PROGRESS: Duration = Duration::from_millis(350);

/// A job to admit: its row (status `queued`) and what its units need.
pub struct Admit {
    pub job: JobRow,
    pub spec: UnitSpec,
    /// Active plus queued image units allowed in total.
    pub capacity: u64,
    /// Where to announce the finished job, if anywhere.
    pub webhook: Option<(WebhookPlan, PayloadBuilder)>,
    /// Staged edit sources to reserve (their files live in `staging_dir`).
    pub sources: Vec<jobs::NewSource>,
    pub max_pending_source_bytes: Option<u64>,
}

/// A job whose admission committed, handed to the dispatcher to run.
pub struct Enqueued {
    pub job: JobRow,
    pub units: Vec<UnitRow>,
    pub spec: UnitSpec,
    pub webhook: Option<(WebhookPlan, PayloadBuilder)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cancelled {
    Done,
    NotFound,
    AlreadyFinished,
    /// Not an active job of this dispatcher (the caller asks the database which of the two above).
    NotActive,
}

pub enum DispatcherMsg {
    Enqueue(Box<Enqueued>),
    Cancel(String, RpcReplyPort<Result<Cancelled, String>>),
    Progress {
        job_id: String,
        unit_index: i64,
        stage: &'static str,
        message: String,
    },
    UnitDone {
        job_id: String,
        unit_index: i64,
        outcome: Box<UnitOutcome>,
    },
    /// Writes the progress kept in memory since the last flush.
    Flush,
    /// Publishes the active-jobs list after a debounce.
    PublishList,
    /// The live settings changed: a raised unit limit starts queued units now.
    LimitsChanged,
}

pub struct UnitOutcome {
    result: Result<SavedImage, UnitFailure>,
    timings: Timings,
    seconds: f64,
}

pub struct DispatcherArgs {
    pub thumbnailer: Arc<ChildSlot<crate::thumbnailer::ThumbnailerMsg>>,
    /// `DATA_DIR/edit-sources`: staged edit uploads, released when their job ends.
    pub staging_dir: std::path::PathBuf,
    pub db: DatabaseConnection,
    pub transport: Transport,
    pub feed: Arc<JobFeed>,
    pub renderer: JobRenderer,
    pub webhooks: Arc<ChildSlot<WebhookMsg>>,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub live: Arc<LiveSettings>,
}

type UnitKey = (String, i64);

/// An active job as it is now; SQLite may be up to one flush behind.
struct LiveJob {
    job: JobRow,
    units: Vec<UnitRow>,
    spec: UnitSpec,
    /// The public JSON view last rendered.
    json: Bytes,
    job_dirty: bool,
    dirty_units: BTreeSet<i64>,
}

pub struct DispatcherState {
    thumbnailer: Arc<ChildSlot<crate::thumbnailer::ThumbnailerMsg>>,
    staging_dir: std::path::PathBuf,
    db: DatabaseConnection,
    transport: Transport,
    feed: Arc<JobFeed>,
    renderer: JobRenderer,
    webhooks: Arc<ChildSlot<WebhookMsg>>,
    metrics: Arc<crate::metrics::Metrics>,
    /// Pending webhooks by job; taken exactly once when the job ends.
    hooks: HashMap<String, (WebhookPlan, PayloadBuilder)>,
    live: HashMap<String, LiveJob>,
    queue: VecDeque<UnitKey>,
    running: HashMap<UnitKey, JoinHandle<()>>,
    flush_scheduled: bool,
    list_scheduled: bool,
    settings: Arc<LiveSettings>,
}

pub struct Dispatcher;

impl Actor for Dispatcher {
    type Msg = DispatcherMsg;
    type State = DispatcherState;
    type Arguments = DispatcherArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        args: DispatcherArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        let interrupted = jobs::mark_interrupted(&args.db).await?;
        if interrupted > 0 {
            tracing::warn!(jobs = interrupted, "jobs left active by a previous run were marked interrupted");
        }
        // Streams of jobs a previous incarnation ran read their final (interrupted) state themselves.
        args.feed.close_jobs();
        args.feed.publish_list(sse_frame("jobs", b"[]"));
        // No job survives a restart, so no staged edit source is needed any more.
        jobs::release_all_sources(&args.db).await?;
        if let Ok(entries) = std::fs::read_dir(&args.staging_dir) {
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with("edit-source-") {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        Ok(DispatcherState {
            thumbnailer: args.thumbnailer,
            staging_dir: args.staging_dir,
            db: args.db,
            transport: args.transport,
            feed: args.feed,
            renderer: args.renderer,
            webhooks: args.webhooks,
            metrics: args.metrics,
            hooks: HashMap::new(),
            live: HashMap::new(),
            queue: VecDeque::new(),
            running: HashMap::new(),
            flush_scheduled: false,
            list_scheduled: false,
            settings: args.live,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            DispatcherMsg::Enqueue(enqueued) => {
                state.enqueue(*enqueued, &myself);
                state.start_units(&myself);
            }
            DispatcherMsg::Cancel(job_id, reply) => {
                let _ = reply.send(state.cancel(&job_id, &myself).await.map_err(|e| e.to_string()));
                state.start_units(&myself);
            }
            DispatcherMsg::Progress { job_id, unit_index, stage, message } => {
                state.progress(&job_id, unit_index, stage, message, &myself);
            }
            DispatcherMsg::UnitDone { job_id, unit_index, outcome } => {
                if state.running.remove(&(job_id.clone(), unit_index)).is_some() {
                    state.finish_unit(&job_id, unit_index, *outcome, &myself).await;
                } else {
                    // Cancelled meanwhile: the job keeps no image from this unit (J3).
                    discard(&outcome.result);
                }
                state.start_units(&myself);
            }
            DispatcherMsg::Flush => {
                state.flush_scheduled = false;
                state.flush().await;
            }
            DispatcherMsg::PublishList => {
                state.list_scheduled = false;
                state.publish_list();
            }
            DispatcherMsg::LimitsChanged => state.start_units(&myself),
        }
        Ok(())
    }

    async fn post_stop(&self, _myself: ActorRef<Self::Msg>, state: &mut Self::State) -> Result<(), ActorProcessingErr> {
        for (_, task) in state.running.drain() {
            task.abort();
        }
        state.flush().await;
        Ok(())
    }
}

impl DispatcherState {
    fn enqueue(&mut self, enqueued: Enqueued, myself: &ActorRef<DispatcherMsg>) {
        let job_id = enqueued.job.id.clone();
        if let Some(hook) = enqueued.webhook {
            self.hooks.insert(job_id.clone(), hook);
        }
        self.queue.extend((0..enqueued.job.n).map(|i| (job_id.clone(), i)));
        let live = LiveJob {
            job: enqueued.job,
            units: enqueued.units,
            spec: enqueued.spec,
            json: Bytes::new(),
            job_dirty: false,
            dirty_units: BTreeSet::new(),
        };
        self.live.insert(job_id.clone(), live);
        self.publish_job(&job_id, myself, LIST_DEBOUNCE_URGENT);
    }

    /// Starts queued units while there is room.
    fn start_units(&mut self, myself: &ActorRef<DispatcherMsg>) {
        while self.running.len() < self.settings.max_active_units() {
            let Some((job_id, index)) = self.queue.pop_front() else { break };
            let Some(live) = self.live.get_mut(&job_id) else { continue };
            let stamp = now();
            let (stage, message) = starting_stage(&live.job);
            if let Some(unit) = live.units.iter_mut().find(|u| u.unit_index == index) {
                unit.status = "running".into();
                unit.stage = Some(stage.into());
                unit.message = Some(message.into());
                unit.started_at = Some(stamp.clone());
                unit.updated_at = stamp.clone();
                live.dirty_units.insert(index);
            }
            if live.job.status == "queued" {
                live.job.status = "running".into();
                live.job.started_at = Some(stamp.clone());
                live.job.stage = Some(stage.into());
                live.job.message = Some(message.into());
                live.job.updated_at = stamp;
                live.job_dirty = true;
            }
            let spec = live.spec.clone();
            let transport = self.transport.clone();
            let me = myself.clone();
            let key = (job_id.clone(), index);
            let task_job = job_id.clone();
            let task = tokio::spawn(async move {
                let started = Instant::now();
                let progress_to = me.clone();
                let progress_job = task_job.clone();
                let (result, timings) = unit::run(&spec, &transport, move |stage, message| {
                    let _ = progress_to.cast(DispatcherMsg::Progress {
                        job_id: progress_job.clone(),
                        unit_index: index,
                        stage,
                        message,
                    });
                })
                .await;
                let outcome = Box::new(UnitOutcome { result, timings, seconds: started.elapsed().as_secs_f64() });
                let _ = me.cast(DispatcherMsg::UnitDone { job_id: task_job, unit_index: index, outcome });
            });
            self.running.insert(key, task);
            self.schedule_flush(myself);
            self.publish_job(&job_id, myself, LIST_DEBOUNCE_PROGRESS);
        }
    }

    fn progress(
        &mut self,
        job_id: &str,
        index: i64,
        stage: &'static str,
        message: String,
        myself: &ActorRef<DispatcherMsg>,
    ) {
        if !self.running.contains_key(&(job_id.to_string(), index)) {
            return;
        }
        let Some(live) = self.live.get_mut(job_id) else { return };
        let stamp = now();
        if let Some(unit) = live.units.iter_mut().find(|u| u.unit_index == index) {
            unit.stage = Some(stage.into());
            unit.message = Some(message.clone());
            unit.updated_at = stamp.clone();
            live.dirty_units.insert(index);
        }
        live.job.stage = Some(stage.into());
        live.job.message = Some(message);
        live.job.updated_at = stamp;
        live.job_dirty = true;
        self.schedule_flush(myself);
        self.publish_job(job_id, myself, LIST_DEBOUNCE_PROGRESS);
    }

    fn schedule_flush(&mut self, myself: &ActorRef<DispatcherMsg>) {
        if !self.flush_scheduled {
            self.flush_scheduled = true;
            myself.send_after(PROGRESS_PERSIST_INTERVAL, || DispatcherMsg::Flush);
        }
    }

    /// Writes every job and unit changed in memory since the last flush, in one transaction.
    async fn flush(&mut self) {
        let mut job_rows = Vec::new();
        let mut unit_rows = Vec::new();
        for live in self.live.values_mut() {
            if std::mem::take(&mut live.job_dirty) {
                job_rows.push(live.job.clone());
            }
            for index in std::mem::take(&mut live.dirty_units) {
                if let Some(unit) = live.units.iter().find(|u| u.unit_index == index) {
                    unit_rows.push(unit.clone());
                }
            }
        }
        if let Err(err) = jobs::save_progress(&self.db, job_rows, unit_rows).await {
            tracing::warn!(error = %err, "could not persist job progress; it stays in memory");
        }
    }

    async fn finish_unit(&mut self, job_id: &str, index: i64, outcome: UnitOutcome, myself: &ActorRef<DispatcherMsg>) {
        let Some(live) = self.live.get(job_id) else {
            discard(&outcome.result);
            return;
        };
        let Some(mut unit) = live.units.iter().find(|u| u.unit_index == index).cloned() else { return };
        let job = live.job.clone();
        let mut units = live.units.clone();
        let mut timings = outcome.timings.clone();
        for (stage, milliseconds) in &timings {
            self.metrics.observe_ms(&format!("job_stage.{stage}"), *milliseconds);
        }
        let stamp = now();
        let mut image = None;
        match &outcome.result {
            Ok(saved) => {
                image = Some(gallery_row(&job, saved, outcome.seconds, &stamp));
                unit.status = "success".into();
                unit.stage = Some("completed".into());
                unit.message = Some(completed_message(&job).into());
                unit.image_id = Some(saved.image_id.clone());
                unit.image_filename = Some(saved.filename.clone());
                unit.image_width = Some(i64::from(saved.width));
                unit.image_height = Some(i64::from(saved.height));
            }
            Err(failure) => {
                let (status, text) = match failure {
                    UnitFailure::Upstream(text) => ("upstream_error", text.clone()),
                    UnitFailure::Error(text) => ("error", text.clone()),
                };
                unit.status = status.into();
                unit.stage = Some(failed_stage(&job).into());
                unit.message = Some(text.clone());
                unit.error = Some(text);
            }
        }
        unit.duration_seconds = Some(outcome.seconds);
        unit.completed_at = Some(stamp.clone());
        unit.updated_at = stamp;
        let prepared = outcome.result.as_ref().ok().map(|saved| (saved.filename.clone(), saved.preview.clone()));
        let written = jobs::finish_unit(&self.db, image, move |insert_ms| {
            if let Some(ms) = insert_ms {
                timings.insert("db_insert", ms);
            }
            unit.stage_timings = serde_json::to_string(&timings).unwrap_or_else(|_| "{}".into());
            for slot in units.iter_mut().filter(|u| u.unit_index == index) {
                *slot = unit.clone();
            }
            let (job, terminal) = aggregate(job, &units);
            (unit, job, terminal)
        })
        .await;
        let (unit, job, terminal, released) = match written {
            Ok(written) => written,
            Err(err) => {
                // Nothing of this unit was stored, so it has not ended yet: try again shortly.
                tracing::error!(%job_id, unit_index = index, error = %err, "could not record a finished unit; retrying");
                self.retry_finish(job_id, index, outcome, myself);
                return;
            }
        };
        if let Some((filename, preview)) = prepared {
            let _ = self.thumbnailer.get().cast(crate::thumbnailer::ThumbnailerMsg::Prepared { filename, preview });
        }
        let Some(live) = self.live.get_mut(job_id) else { return };
        for slot in live.units.iter_mut().filter(|u| u.unit_index == index) {
            *slot = unit.clone();
        }
        live.dirty_units.remove(&index);
        live.job = job;
        live.job_dirty = false;
        if terminal {
            let job = live.job.clone();
            let units = live.units.clone();
            self.count_ended(&job);
            self.announce(&job, &units);
            self.remove_staged(released);
            if let Err(err) = jobs::trim_history(&self.db, self.settings.history_keep()).await {
                tracing::warn!(error = %err, "could not trim the job history");
            }
        }
        self.publish_job(job_id, myself, LIST_DEBOUNCE_URGENT);
    }

    /// A unit whose end could not be written is offered again after a pause, as if it just ended.
    fn retry_finish(&mut self, job_id: &str, index: i64, outcome: UnitOutcome, myself: &ActorRef<DispatcherMsg>) {
        // Its task has ended; a finished placeholder keeps the unit counted as running (and cancellable).
        self.running.insert((job_id.to_string(), index), tokio::spawn(async {}));
        let job_id = job_id.to_string();
        let outcome = Box::new(outcome);
        myself.send_after(Duration::from_millis(500), move || DispatcherMsg::UnitDone {
            job_id,
            unit_index: index,
            outcome,
        });
    }

    async fn cancel(&mut self, job_id: &str, myself: &ActorRef<DispatcherMsg>) -> Result<Cancelled, sea_orm::DbErr> {
        let Some(live) = self.live.get(job_id) else { return Ok(Cancelled::NotActive) };
        let mut job = live.job.clone();
        let mut units = live.units.clone();
        let message = if job.operation == "edit" { "Image edit job cancelled" } else { "Generation job cancelled" };
        let stamp = now();
        let mut changed = Vec::new();
        for unit in units.iter_mut().filter(|u| jobs::ACTIVE.contains(&u.status.as_str())) {
            unit.status = "cancelled".into();
            unit.stage = Some("cancelled".into());
            unit.message = Some("Generation job cancelled".into());
            unit.error = Some("Generation job cancelled".into());
            unit.completed_at = Some(stamp.clone());
            unit.updated_at = stamp.clone();
            changed.push(unit.clone());
        }
        job.status = "cancelled".into();
        job.stage = Some("cancelled".into());
        job.message = Some(message.into());
        job.error = Some(message.into());
        job.completed_at = Some(stamp.clone());
        job.updated_at = stamp;
        let released = jobs::save_cancelled(&self.db, job.clone(), changed).await.map_err(db_err)?;
        // Abort in-flight upstream calls; their results never arrive.
        self.queue.retain(|(id, _)| id != job_id);
        self.running.retain(|(id, _), task| {
            if id == job_id {
                task.abort();
            }
            id != job_id
        });
        self.metrics.incr(if is_edit(&job) { "image_jobs.edit.cancelled" } else { "image_jobs.generation.cancelled" });
        self.announce(&job, &units);
        self.remove_staged(released);
        if let Some(live) = self.live.get_mut(job_id) {
            live.job = job;
            live.units = units;
            live.job_dirty = false;
            live.dirty_units.clear();
        }
        if let Err(err) = jobs::trim_history(&self.db, self.settings.history_keep()).await {
            tracing::warn!(error = %err, "could not trim the job history");
        }
        self.publish_job(job_id, myself, LIST_DEBOUNCE_URGENT);
        Ok(Cancelled::Done)
    }

    /// Deletes the staged files of a finished job's edit sources (their reservation is released).
    fn remove_staged(&self, names: Vec<String>) {
        for name in names {
            let _ = std::fs::remove_file(self.staging_dir.join(name));
        }
    }

    /// Counters and the duration sample for a job that just ended.
    fn count_ended(&self, job: &JobRow) {
        let kind = if is_edit(job) { "edit" } else { "generation" };
        let outcome = match job.status.as_str() {
            "success" => "succeeded",
            "cancelled" => "cancelled",
            _ => "failed",
        };
        self.metrics.incr(&format!("image_jobs.{kind}.{outcome}"));
        if let Some(seconds) = job.duration_seconds {
            self.metrics.observe_ms("image_job.duration", seconds * 1000.0);
        }
    }

    /// Hands a finished job's webhook to the sender, once.
    fn announce(&mut self, job: &JobRow, units: &[UnitRow]) {
        if let Some((plan, payload)) = self.hooks.remove(&job.id) {
            let delivery = Delivery { job_id: job.id.clone(), plan, body: payload(job, units) };
            let _ = self.webhooks.get().cast(WebhookMsg::Deliver(Box::new(delivery)));
        }
    }

    /// Renders the job once and publishes its frame; an ended job leaves the live set. The list
    /// follows after `debounce`.
    fn publish_job(&mut self, job_id: &str, myself: &ActorRef<DispatcherMsg>, debounce: Duration) {
        let Some(live) = self.live.get_mut(job_id) else { return };
        let json = Bytes::from((self.renderer)(&live.job, &live.units));
        let terminal = !jobs::ACTIVE.contains(&live.job.status.as_str());
        self.feed.publish_job(job_id, JobFrame { sse: sse_frame("job", &json), json: json.clone(), terminal });
        live.json = json;
        if terminal {
            self.live.remove(job_id);
        }
        if !self.list_scheduled {
            self.list_scheduled = true;
            myself.send_after(debounce, || DispatcherMsg::PublishList);
        }
    }

    /// The active list, most recently updated first, from each job's last rendered view.
    fn publish_list(&self) {
        let mut jobs: Vec<&LiveJob> = self.live.values().collect();
        jobs.sort_by(|a, b| (&b.job.updated_at, &b.job.id).cmp(&(&a.job.updated_at, &a.job.id)));
        let mut json = Vec::with_capacity(jobs.iter().map(|j| j.json.len() + 1).sum::<usize>() + 2);
        json.push(b'[');
        for (i, live) in jobs.iter().enumerate() {
            if i > 0 {
                json.push(b',');
            }
            json.extend_from_slice(&live.json);
        }
        json.push(b']');
        self.feed.publish_list(sse_frame("jobs", &json));
    }
}

fn db_err(err: crate::store::StoreError) -> sea_orm::DbErr {
    match err {
        crate::store::StoreError::Db(db) => db,
        other => sea_orm::DbErr::Custom(other.to_string()),
    }
}

/// Removes the file of a result nobody will keep.
fn discard(result: &Result<SavedImage, UnitFailure>) {
    if let Ok(saved) = result {
        let _ = std::fs::remove_file(&saved.path);
    }
}
