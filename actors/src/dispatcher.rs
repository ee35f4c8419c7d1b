//! The dispatcher owns the generation queue: admission (capacity check and rows in one transaction),
//! FIFO scheduling of units under the active limit, progress, gallery rows for finished units, the
//! parent job's aggregate state, and cancel. Units run as spawned tasks; the dispatcher only ever
//! awaits short database writes. One process owns the queue: what a previous process left active is
//! marked `interrupted` at start.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use sea_orm::DatabaseConnection;
use tokio::task::JoinHandle;

use crate::broadcaster::{BroadcasterMsg, LiveEvent};
use crate::store::gallery::{self, GalleryRow};
pub use crate::store::jobs::Admission;
use crate::store::jobs::{self, JobRow, UnitRow, now};
use crate::supervisor::ChildSlot;
use crate::upstream::transport::Transport;
use crate::upstream::unit::{self, SavedImage, Timings, UnitFailure, UnitSpec};
use crate::webhook::{Delivery, WebhookMsg, WebhookPlan};

/// Builds a finished job's webhook body from its rows (the server decides the shape).
pub type PayloadBuilder = Arc<dyn Fn(&JobRow, &[UnitRow]) -> String + Send + Sync>;

/// A job to admit: its row (status `queued`) and what its units need.
pub struct Admit {
    pub job: JobRow,
    pub spec: UnitSpec,
    /// Active plus queued image units allowed in total.
    pub capacity: u64,
    pub max_active: usize,
    pub history_keep: u64,
    /// Where to announce the finished job, if anywhere.
    pub webhook: Option<(WebhookPlan, PayloadBuilder)>,
    /// Staged edit sources to reserve (their files live in `staging_dir`).
    pub sources: Vec<jobs::NewSource>,
    pub max_pending_source_bytes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cancelled {
    Done,
    NotFound,
    AlreadyFinished,
}

pub enum DispatcherMsg {
    Admit(Box<Admit>, RpcReplyPort<Result<Admission, String>>),
    Cancel(String, RpcReplyPort<Result<Cancelled, String>>),
    Progress { job_id: String, unit_index: i64, stage: &'static str, message: String },
    UnitDone { job_id: String, unit_index: i64, outcome: Box<UnitOutcome> },
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
    pub broadcaster: Arc<ChildSlot<BroadcasterMsg>>,
    pub webhooks: Arc<ChildSlot<WebhookMsg>>,
    pub metrics: Arc<crate::metrics::Metrics>,
}

type UnitKey = (String, i64);

pub struct DispatcherState {
    thumbnailer: Arc<ChildSlot<crate::thumbnailer::ThumbnailerMsg>>,
    staging_dir: std::path::PathBuf,
    db: DatabaseConnection,
    transport: Transport,
    broadcaster: Arc<ChildSlot<BroadcasterMsg>>,
    webhooks: Arc<ChildSlot<WebhookMsg>>,
    metrics: Arc<crate::metrics::Metrics>,
    /// Pending webhooks by job; taken exactly once when the job ends.
    hooks: HashMap<String, (WebhookPlan, PayloadBuilder)>,
    queue: VecDeque<UnitKey>,
    specs: HashMap<String, UnitSpec>,
    running: HashMap<UnitKey, JoinHandle<()>>,
    max_active: usize,
    history_keep: u64,
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
            broadcaster: args.broadcaster,
            webhooks: args.webhooks,
            metrics: args.metrics,
            hooks: HashMap::new(),
            queue: VecDeque::new(),
            specs: HashMap::new(),
            running: HashMap::new(),
            max_active: 2,
            history_keep: 1000,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            DispatcherMsg::Admit(admit, reply) => {
                let admitted = state.admit(*admit).await;
                let _ = reply.send(admitted);
                state.start_units(&myself).await;
            }
            DispatcherMsg::Cancel(job_id, reply) => {
                let _ = reply.send(state.cancel(&job_id).await.map_err(|e| e.to_string()));
                state.start_units(&myself).await;
            }
            DispatcherMsg::Progress { job_id, unit_index, stage, message } => {
                state.progress(&job_id, unit_index, stage, message).await;
            }
            DispatcherMsg::UnitDone { job_id, unit_index, outcome } => {
                if state.running.remove(&(job_id.clone(), unit_index)).is_some()
                    && let Err(err) = state.finish_unit(&job_id, unit_index, *outcome).await
                {
                    tracing::error!(%job_id, unit_index, error = %err, "could not record a finished unit");
                }
                state.start_units(&myself).await;
            }
        }
        Ok(())
    }

    async fn post_stop(&self, _myself: ActorRef<Self::Msg>, state: &mut Self::State) -> Result<(), ActorProcessingErr> {
        for (_, task) in state.running.drain() {
            task.abort();
        }
        Ok(())
    }
}

impl DispatcherState {
    async fn admit(&mut self, admit: Admit) -> Result<Admission, String> {
        self.max_active = admit.max_active.max(1);
        self.history_keep = admit.history_keep;
        let job_id = admit.job.id.clone();
        let n = admit.job.n;
        let kind = if is_edit(&admit.job) { "edit" } else { "generation" };
        let admission = jobs::admit(&self.db, admit.job, admit.capacity, admit.sources, admit.max_pending_source_bytes)
            .await
            .map_err(|e| e.to_string())?;
        match admission {
            Admission::Full => {
                self.metrics.incr("image_jobs.rejected.queue_full");
                Ok(admission)
            }
            Admission::SourcesFull => {
                self.metrics.incr("image_jobs.rejected.edit_source_full");
                Ok(admission)
            }
            Admission::Admitted => {
                self.metrics.incr(&format!("image_jobs.{kind}.queued"));
                self.specs.insert(job_id.clone(), admit.spec);
                if let Some(hook) = admit.webhook {
                    self.hooks.insert(job_id.clone(), hook);
                }
                self.queue.extend((0..n).map(|i| (job_id.clone(), i)));
                self.publish(&job_id, false);
                Ok(Admission::Admitted)
            }
        }
    }

    /// Starts queued units while there is room.
    async fn start_units(&mut self, myself: &ActorRef<DispatcherMsg>) {
        while self.running.len() < self.max_active {
            let Some((job_id, index)) = self.queue.pop_front() else { break };
            let Some(spec) = self.specs.get(&job_id).cloned() else { continue };
            if let Err(err) = self.mark_started(&job_id, index).await {
                tracing::error!(%job_id, error = %err, "could not start a unit");
                continue;
            }
            let transport = self.transport.clone();
            let me = myself.clone();
            let key = (job_id.clone(), index);
            let task = tokio::spawn(async move {
                let started = Instant::now();
                let progress_to = me.clone();
                let progress_job = job_id.clone();
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
                let _ = me.cast(DispatcherMsg::UnitDone { job_id, unit_index: index, outcome });
            });
            self.running.insert(key, task);
        }
    }

    async fn mark_started(&mut self, job_id: &str, index: i64) -> Result<(), sea_orm::DbErr> {
        let Some((mut job, units)) = jobs::get(&self.db, job_id).await.map_err(db_err)? else { return Ok(()) };
        let stamp = now();
        if let Some(mut unit) = units.into_iter().find(|u| u.unit_index == index) {
            unit.status = "running".into();
            unit.stage = Some(starting_stage(&job).0.into());
            unit.message = Some(starting_stage(&job).1.into());
            unit.started_at = Some(stamp.clone());
            unit.updated_at = stamp.clone();
            jobs::save_unit(&self.db, unit).await.map_err(db_err)?;
        }
        if job.status == "queued" {
            job.status = "running".into();
            job.started_at = Some(stamp.clone());
            job.stage = Some(starting_stage(&job).0.into());
            job.message = Some(starting_stage(&job).1.into());
            job.updated_at = stamp;
            jobs::save_job(&self.db, job).await.map_err(db_err)?;
        }
        self.publish(job_id, false);
        Ok(())
    }

    async fn progress(&mut self, job_id: &str, index: i64, stage: &'static str, message: String) {
        if !self.running.contains_key(&(job_id.to_string(), index)) {
            return;
        }
        let Ok(Some((mut job, units))) = jobs::get(&self.db, job_id).await else { return };
        if job.status != "running" {
            return;
        }
        let stamp = now();
        if let Some(mut unit) = units.into_iter().find(|u| u.unit_index == index) {
            unit.stage = Some(stage.into());
            unit.message = Some(message.clone());
            unit.updated_at = stamp.clone();
            let _ = jobs::save_unit(&self.db, unit).await;
        }
        job.stage = Some(stage.into());
        job.message = Some(message);
        job.updated_at = stamp;
        let _ = jobs::save_job(&self.db, job).await;
        self.publish(job_id, false);
    }

    async fn finish_unit(&mut self, job_id: &str, index: i64, outcome: UnitOutcome) -> Result<(), sea_orm::DbErr> {
        let Some((job, units)) = jobs::get(&self.db, job_id).await.map_err(db_err)? else {
            discard(&outcome.result);
            return Ok(());
        };
        if !jobs::ACTIVE.contains(&job.status.as_str()) {
            // Cancelled meanwhile: the job keeps no image from this unit (J3).
            discard(&outcome.result);
            return Ok(());
        }
        let Some(mut unit) = units.iter().find(|u| u.unit_index == index).cloned() else { return Ok(()) };
        let mut timings = outcome.timings;
        for (stage, milliseconds) in &timings {
            self.metrics.observe_ms(&format!("job_stage.{stage}"), *milliseconds);
        }
        let stamp = now();
        match outcome.result {
            Ok(saved) => {
                let started = Instant::now();
                let row = gallery_row(&job, &saved, outcome.seconds, &stamp);
                gallery::insert(&self.db, row).await.map_err(db_err)?;
                gallery::queue_thumbnail(&self.db, &saved.filename).await.map_err(db_err)?;
                let _ = self.thumbnailer.get().cast(crate::thumbnailer::ThumbnailerMsg::Kick);
                timings.insert("db_insert", (started.elapsed().as_secs_f64() * 100_000.0).round() / 100.0);
                unit.status = "success".into();
                unit.stage = Some("completed".into());
                unit.message = Some(completed_message(&job).into());
                unit.image_id = Some(saved.image_id);
                unit.image_filename = Some(saved.filename);
                unit.image_width = Some(i64::from(saved.width));
                unit.image_height = Some(i64::from(saved.height));
            }
            Err(failure) => {
                let (status, text) = match failure {
                    UnitFailure::Upstream(text) => ("upstream_error", text),
                    UnitFailure::Error(text) => ("error", text),
                };
                unit.status = status.into();
                unit.stage = Some(failed_stage(&job).into());
                unit.message = Some(text.clone());
                unit.error = Some(text);
            }
        }
        unit.stage_timings = serde_json::to_string(&timings).unwrap_or_else(|_| "{}".into());
        unit.duration_seconds = Some(outcome.seconds);
        unit.completed_at = Some(stamp.clone());
        unit.updated_at = stamp;
        jobs::save_unit(&self.db, unit.clone()).await.map_err(db_err)?;

        let units: Vec<UnitRow> =
            units.into_iter().map(|u| if u.unit_index == index { unit.clone() } else { u }).collect();
        let (job, terminal) = aggregate(job, &units);
        if terminal {
            self.count_ended(&job);
            gallery::set_job_n(&self.db, &job.id, job.n).await.map_err(db_err)?;
            self.specs.remove(&job.id);
            self.announce(&job, &units);
            self.release_sources(&job.id).await;
        }
        jobs::save_job(&self.db, job).await.map_err(db_err)?;
        if terminal {
            jobs::trim_history(&self.db, self.history_keep).await.map_err(db_err)?;
        }
        self.publish(job_id, terminal);
        Ok(())
    }

    async fn cancel(&mut self, job_id: &str) -> Result<Cancelled, sea_orm::DbErr> {
        let Some((mut job, units)) = jobs::get(&self.db, job_id).await.map_err(db_err)? else {
            return Ok(Cancelled::NotFound);
        };
        if !jobs::ACTIVE.contains(&job.status.as_str()) {
            return Ok(Cancelled::AlreadyFinished);
        }
        // Abort in-flight upstream calls; their results never arrive.
        self.queue.retain(|(id, _)| id != job_id);
        self.running.retain(|(id, _), task| {
            if id == job_id {
                task.abort();
            }
            id != job_id
        });
        self.specs.remove(job_id);
        self.metrics.incr(if is_edit(&job) { "image_jobs.edit.cancelled" } else { "image_jobs.generation.cancelled" });
        let message = if job.operation == "edit" { "Image edit job cancelled" } else { "Generation job cancelled" };
        let stamp = now();
        for mut unit in units.into_iter().filter(|u| jobs::ACTIVE.contains(&u.status.as_str())) {
            unit.status = "cancelled".into();
            unit.stage = Some("cancelled".into());
            unit.message = Some("Generation job cancelled".into());
            unit.error = Some("Generation job cancelled".into());
            unit.completed_at = Some(stamp.clone());
            unit.updated_at = stamp.clone();
            jobs::save_unit(&self.db, unit).await.map_err(db_err)?;
        }
        job.status = "cancelled".into();
        job.stage = Some("cancelled".into());
        job.message = Some(message.into());
        job.error = Some(message.into());
        job.completed_at = Some(stamp.clone());
        job.updated_at = stamp;
        let units = jobs::units_of(&self.db, job_id).await.map_err(db_err)?;
        self.announce(&job, &units);
        self.release_sources(job_id).await;
        jobs::save_job(&self.db, job).await.map_err(db_err)?;
        jobs::trim_history(&self.db, self.history_keep).await.map_err(db_err)?;
        self.publish(job_id, true);
        Ok(Cancelled::Done)
    }

    /// Frees a finished job's edit-source reservation and deletes its staged files.
    async fn release_sources(&self, job_id: &str) {
        match jobs::release_sources(&self.db, job_id).await {
            Ok(names) => {
                for name in names {
                    let _ = std::fs::remove_file(self.staging_dir.join(name));
                }
            }
            Err(err) => tracing::error!(%job_id, error = %err, "could not release edit sources"),
        }
    }

    /// Hands a finished job's webhook to the sender, once.
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

    fn announce(&mut self, job: &JobRow, units: &[UnitRow]) {
        if let Some((plan, payload)) = self.hooks.remove(&job.id) {
            let delivery = Delivery { job_id: job.id.clone(), plan, body: payload(job, units) };
            let _ = self.webhooks.get().cast(WebhookMsg::Deliver(Box::new(delivery)));
        }
    }

    fn publish(&self, job_id: &str, terminal: bool) {
        let data = serde_json::json!({"job_id": job_id, "terminal": terminal});
        let broadcaster = self.broadcaster.get();
        for topic in [format!("job:{job_id}"), "jobs".to_string()] {
            let event = LiveEvent { name: "changed".into(), data: data.clone() };
            let _ = broadcaster.cast(BroadcasterMsg::Publish { topic, event });
        }
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

fn is_edit(job: &JobRow) -> bool {
    job.operation == "edit"
}

fn starting_stage(job: &JobRow) -> (&'static str, &'static str) {
    if is_edit(job) {
        ("starting_edit", "Starting image edit")
    } else {
        ("starting_generation", "Starting image generation")
    }
}

fn completed_message(job: &JobRow) -> &'static str {
    if is_edit(job) { "Image edit completed" } else { "Image generation completed" }
}

fn failed_stage(job: &JobRow) -> &'static str {
    if is_edit(job) { "edit_failed" } else { "generation_failed" }
}

fn gallery_row(job: &JobRow, saved: &SavedImage, seconds: f64, stamp: &str) -> GalleryRow {
    GalleryRow {
        id: saved.image_id.clone(),
        sort_seq: 0,
        prompt: job.prompt.clone(),
        size: job.size.clone(),
        filename: saved.filename.clone(),
        thumbnail_filename: None,
        image_width: Some(i64::from(saved.width)),
        image_height: Some(i64::from(saved.height)),
        model: job.model.clone(),
        quality: job.quality.clone(),
        output_format: Some(saved.format.to_string()),
        output_compression: job.output_compression,
        response_format: job.response_format.clone(),
        n: Some(1),
        api_path: Some(job.api_path.clone()),
        api_preset_name: job.api_preset_name.clone(),
        duration_seconds: Some(seconds),
        favorite: false,
        bytes: Some(saved.bytes as i64),
        sha256: Some(saved.sha256.clone()),
        job_id: Some(job.id.clone()),
        created_at: stamp.to_string(),
        completed_at: Some(stamp.to_string()),
    }
}

/// The parent's state from its units; `true` when every unit has ended.
pub fn aggregate(mut job: JobRow, units: &[UnitRow]) -> (JobRow, bool) {
    let total = units.len() as i64;
    let ended = |u: &&UnitRow| !jobs::ACTIVE.contains(&u.status.as_str());
    let succeeded: Vec<&UnitRow> = units.iter().filter(|u| u.status == "success").collect();
    let failed: Vec<&UnitRow> = units.iter().filter(|u| u.status == "error" || u.status == "upstream_error").collect();
    job.completed_count = units.iter().filter(ended).count() as i64;
    job.success_count = succeeded.len() as i64;
    job.failure_count = failed.len() as i64;
    job.updated_at = now();
    let verb = if is_edit(&job) { "Editing" } else { "Generating" };
    if job.completed_count < total {
        job.status = "running".into();
        job.stage = Some("waiting_for_api".into());
        job.message = Some(format!("{verb} images ({}/{total} completed)", job.completed_count));
        return (job, false);
    }
    let finished_at = units.iter().filter_map(|u| u.completed_at.clone()).max();
    job.completed_at = finished_at.or_else(|| Some(now()));
    job.duration_seconds = span_seconds(units);
    let mut sums: std::collections::BTreeMap<String, f64> = std::collections::BTreeMap::new();
    for unit in &succeeded {
        let timings: std::collections::BTreeMap<String, f64> =
            serde_json::from_str(&unit.stage_timings).unwrap_or_default();
        for (key, value) in timings {
            *sums.entry(key).or_default() += value;
        }
    }
    job.stage_timings = serde_json::to_string(
        &sums.into_iter().map(|(k, v)| (k, (v * 100.0).round() / 100.0)).collect::<std::collections::BTreeMap<_, _>>(),
    )
    .unwrap_or_else(|_| "{}".into());
    let summary = failure_summary(&job, units, &failed);
    if failed.is_empty() && !succeeded.is_empty() {
        job.status = "success".into();
        job.stage = Some("completed".into());
        job.message = Some(completed_message(&job).into());
        job.error = None;
    } else if !succeeded.is_empty() {
        job.status = "partial_failure".into();
        job.stage = Some("completed_with_failures".into());
        job.message =
            Some(format!("Generated {} of {total} requested images; {} failed", succeeded.len(), failed.len()));
        job.error = Some(summary);
    } else if failed.is_empty() {
        job.status = "cancelled".into();
        job.stage = Some("cancelled".into());
    } else {
        let all_upstream = failed.iter().all(|u| u.status == "upstream_error");
        job.status = if all_upstream { "upstream_error" } else { "error" }.into();
        job.stage = Some(failed_stage(&job).into());
        job.message = Some(summary.clone());
        job.error = Some(summary);
    }
    (job, true)
}

fn span_seconds(units: &[UnitRow]) -> Option<f64> {
    if units.len() == 1 {
        return units[0].duration_seconds;
    }
    let parse = |t: &Option<String>| t.as_deref().and_then(crate::store::time::from_db);
    let start = units.iter().filter_map(|u| parse(&u.started_at)).min();
    let end = units.iter().filter_map(|u| parse(&u.completed_at)).max();
    match (start, end) {
        (Some(start), Some(end)) if end >= start => Some((end - start).as_seconds_f64()),
        _ => units.iter().filter_map(|u| u.duration_seconds).reduce(f64::max),
    }
}

fn failure_summary(job: &JobRow, units: &[UnitRow], failed: &[&UnitRow]) -> String {
    if units.len() == 1 {
        return units[0].error.clone().unwrap_or_default();
    }
    let what = if is_edit(job) { "image edit requests" } else { "image generation requests" };
    let samples: Vec<String> = failed
        .iter()
        .take(3)
        .map(|u| format!("#{}: {}", u.unit_index + 1, u.error.clone().unwrap_or_default()))
        .collect();
    let more = failed.len().saturating_sub(3);
    let tail = if more > 0 { format!("; ... and {more} more") } else { String::new() };
    format!("{} of {} {what} failed: {}{tail}", failed.len(), units.len(), samples.join("; "))
}
