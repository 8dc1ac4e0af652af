//! `lookout run`: the threads and the loop that ties them together.
//!
//! ```text
//! capture thread ─(FrameSlot: newest wins)─> this loop: pipeline, metrics, watchdog
//!                                               └─(bounded queue)─> actions thread
//! model watcher ─(validated models)─────────────┘          http thread reads metrics
//! ```
//! Devices come in through [`Devices`] so tests can hand in a scripted camera and a recording
//! speaker; signals come in as flags ([`Control`]).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::actions::audio::AudioSink;
use crate::actions::mqtt::{MqttOptions, MqttPublisher};
use crate::actions::{ActionSettings, Actions, Job};
use crate::config::Config;
use crate::image_io::draw_boxes;
use crate::pipeline::models::{load_face, load_text, LoadError, Loaded};
use crate::pipeline::{Outcome, Pipeline, PipelineError};
use crate::service::http::{HttpServer, HttpState};
use crate::service::metrics::Metrics;
use crate::service::notify::Notifier;
use crate::source::slot::Closed;
use crate::source::{spawn_capture, CaptureOptions, Frame, FrameSlot, FrameSource, Taken};

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Model(#[from] LoadError),
    #[error("frame source: {0}")]
    Source(String),
    #[error("{0}")]
    Setup(String),
}

/// The devices the daemon talks to.
pub struct Devices {
    pub source: Box<dyn FrameSource>,
    pub audio: Box<dyn AudioSink>,
    pub notifier: Notifier,
}

/// Flags the signal handlers (or a test) raise.
#[derive(Debug, Clone, Default)]
pub struct Control {
    pub stop: Arc<AtomicBool>,
    pub reload: Arc<AtomicBool>,
}

/// Re-reads the configuration on SIGHUP (with the command line's overrides applied again).
pub type Reloader = Box<dyn Fn() -> Result<Config, String> + Send>;

#[derive(Default)]
pub struct RunOptions {
    /// A replay that runs out of frames ends the run (exit code 0).
    pub exit_at_end: bool,
    pub reloader: Option<Reloader>,
    /// Called once the daemon is ready, with the HTTP address when it serves one.
    pub on_ready: Option<Box<dyn FnOnce(Option<std::net::SocketAddr>) + Send>>,
    /// Counters to fill (a test reads them); a fresh set when `None`.
    pub metrics: Option<Arc<Metrics>>,
}

/// How a run went, for the last log line and for tests.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub frames: u64,
    pub decisions: u64,
    pub dropped: u64,
    pub seconds: f64,
    pub faces: u64,
    /// Mean time per frame through detection, classification and text.
    pub frame_ms: f64,
    /// Mean classifier time per face.
    pub inference_ms: f64,
}

/// A model checked off the main thread, ready to swap in.
enum Update {
    Face(Loaded),
    Text(Loaded),
}

/// Runs until `control.stop` is raised (or the replay ends with `exit_at_end`).
pub fn run(
    config: Config,
    devices: Devices,
    control: Control,
    mut options: RunOptions,
) -> Result<Summary, DaemonError> {
    let started = Instant::now();
    let Devices { source, audio, notifier } = devices;
    let metrics = options.metrics.take().unwrap_or_default();
    let mut state = State::start(&config, audio, metrics.clone())?;

    let http_state = Arc::new(HttpState::new(metrics.clone()));
    let http = if config.http.enabled {
        let addr = config
            .http_addr(std::path::Path::new("config"))
            .map_err(|e| DaemonError::Setup(e.to_string()))?;
        Some(
            HttpServer::start(addr, http_state.clone())
                .map_err(|e| DaemonError::Setup(e.to_string()))?,
        )
    } else {
        None
    };

    let slot = Arc::new(FrameSlot::new());
    let capture_stop = Arc::new(AtomicBool::new(false));
    // Colour costs 0.9 MB per 640x480 frame in flight; keep it only when something uses it.
    let keep_color = state.pipeline.needs_color()
        || config.http.enabled
        || !config.snapshots.dir.as_os_str().is_empty();
    let capture = CaptureOptions::new(&config.source, keep_color);
    let source_name = source.describe();
    spawn_capture(source, capture, slot.clone(), metrics.clone(), capture_stop.clone())
        .map_err(|e| DaemonError::Setup(format!("cannot start the capture thread: {e}")))?;

    let (updates_tx, updates) = mpsc::channel();
    let watcher_stop = Arc::new(AtomicBool::new(false));
    if config.reload.watch_models {
        spawn_watcher(&config, &state.pipeline, updates_tx, metrics.clone(), watcher_stop.clone());
    }

    log::info!(
        "running: {source_name}; face model {}; text {}",
        state.pipeline.face_model().map(Loaded::describe).unwrap_or_else(|| "off".into()),
        state.pipeline.text_model().map(Loaded::describe).unwrap_or_else(|| "off".into()),
    );
    notifier.ready();
    if let Some(ready) = options.on_ready.take() {
        ready(http.as_ref().map(HttpServer::local_addr));
    }

    let mut summary = Summary::default();
    let watchdog_every =
        notifier.watchdog_interval().map(|i| i / 4).unwrap_or(Duration::from_secs(1));
    let mut last_watchdog: Option<Instant> = None;
    let mut last_status = Instant::now();
    let mut last_http_frame: Option<Instant> = None;
    let mut dropped_seen = 0;
    let mut idle_logged = false;
    let result = loop {
        if control.stop.load(Ordering::Relaxed) {
            log::info!("stopping");
            break Ok(());
        }
        if control.reload.swap(false, Ordering::Relaxed) {
            notifier.reloading();
            if let Some(reloader) = &options.reloader {
                state.reload(reloader, &config, metrics.clone());
            }
            notifier.ready();
        }
        apply_updates(&updates, &mut state.pipeline, &metrics);

        let frame = match slot.take(Duration::from_millis(100)) {
            Taken::Frame(frame) => frame,
            Taken::Empty => continue,
            Taken::Closed(Closed::Ended) if options.exit_at_end => {
                log::info!("replay finished");
                break Ok(());
            }
            Taken::Closed(Closed::Failed(msg)) => break Err(DaemonError::Source(msg)),
            Taken::Closed(_) => {
                if !idle_logged {
                    log::info!(
                        "no more frames; waiting for a stop signal (--exit-at-end stops here)"
                    );
                    idle_logged = true;
                }
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        let took = Instant::now();
        let outcome = match state.pipeline.process(&frame) {
            Ok(outcome) => outcome,
            Err(e) => {
                // A model that fails on a frame is a bug or a broken file; log and go on.
                log::error!("frame {}: {e}", frame.id());
                metrics.source_error();
                continue;
            }
        };
        metrics.frame_processed(took.elapsed());
        let dropped = slot.dropped();
        for _ in dropped_seen..dropped {
            metrics.frame_dropped();
        }
        dropped_seen = dropped;
        metrics.faces_detected(outcome.faces.len() as u64);
        for d in &outcome.inference {
            metrics.inference_observed(*d);
        }
        summary.frames += 1;

        // Frames are flowing through inference: this, and only this, feeds the watchdog.
        if last_watchdog.is_none_or(|t| t.elapsed() >= watchdog_every) {
            notifier.watchdog();
            last_watchdog = Some(Instant::now());
        }

        let want_http_frame = http.is_some()
            && last_http_frame.is_none_or(|t| t.elapsed() >= Duration::from_millis(500));
        let annotated = (want_http_frame
            || (!outcome.decisions.is_empty() && config.snapshots.dir.as_os_str() != ""))
            .then(|| Arc::new(annotate(&frame, &outcome)));
        if let (true, Some(image)) = (want_http_frame, &annotated) {
            http_state.set_snapshot(image.clone());
            last_http_frame = Some(Instant::now());
        }
        for decision in outcome.decisions {
            summary.decisions += 1;
            let kind = if decision.kind == crate::pipeline::Kind::Face { "face" } else { "text" };
            metrics.decision(kind, &decision.label);
            metrics.set_last_decision(format!("{kind} {} at frame {}", decision.label, frame.id()));
            state.actions.submit(Job {
                decision,
                frame: frame.id(),
                time: SystemTime::now(),
                annotated: annotated.clone(),
            });
        }
        if last_status.elapsed() >= Duration::from_secs(5) {
            notifier.status(&metrics.snapshot().status_line());
            last_status = Instant::now();
        }
    };

    notifier.stopping();
    capture_stop.store(true, Ordering::Relaxed);
    watcher_stop.store(true, Ordering::Relaxed);
    slot.close(Closed::Stopped);
    // Leave time for the last events to be written, but keep the whole stop under a second.
    state.actions.stop(Duration::from_millis(600));
    drop(http);
    summary.dropped = slot.dropped();
    summary.seconds = started.elapsed().as_secs_f64();
    let m = metrics.snapshot();
    let mean_ms =
        |h: &crate::service::metrics::HistogramSnapshot| 1000.0 * h.sum / h.count.max(1) as f64;
    summary.faces = m.faces_detected;
    summary.frame_ms = mean_ms(&m.frame_seconds);
    summary.inference_ms = mean_ms(&m.inference_seconds);
    result.map(|()| summary)
}

/// The parts rebuilt on reload.
struct State {
    pipeline: Pipeline,
    actions: Actions,
}

impl State {
    fn start(
        config: &Config,
        audio: Box<dyn AudioSink>,
        metrics: Arc<Metrics>,
    ) -> Result<State, DaemonError> {
        let pipeline = build_pipeline(config)?;
        let actions = start_actions(config, audio, metrics)?;
        Ok(State { pipeline, actions })
    }

    /// Re-reads config and models; on any error the running ones stay.
    fn reload(&mut self, reloader: &Reloader, running: &Config, metrics: Arc<Metrics>) {
        let config = match reloader() {
            Ok(config) => config,
            Err(e) => {
                log::error!("reload: {e}; keeping the running configuration");
                metrics.model_reload_failed();
                return;
            }
        };
        if config.source != running.source {
            log::warn!("reload: [source] changes take effect after a restart");
        }
        match build_pipeline(&config) {
            Ok(pipeline) => self.pipeline = pipeline,
            Err(e) => {
                log::error!("reload: {e}; keeping the running models");
                metrics.model_reload_failed();
                return;
            }
        }
        // The new actions get a fresh speaker; the old thread finishes its queue first.
        let audio = default_audio(&config);
        match start_actions(&config, audio, metrics.clone()) {
            Ok(actions) => {
                std::mem::replace(&mut self.actions, actions).stop(Duration::from_millis(500))
            }
            Err(e) => log::error!("reload: actions: {e}; keeping the running ones"),
        }
        metrics.model_reload_ok();
        log::info!("reloaded configuration and models");
    }
}

/// The real speaker for a config.
pub fn default_audio(config: &Config) -> Box<dyn AudioSink> {
    use crate::actions::audio::{AudioOptions, Overlap, RodioSink};
    let a = &config.audio;
    Box::new(RodioSink::new(AudioOptions {
        overlap: match a.overlap {
            crate::config::OverlapPolicy::Skip => Overlap::Skip,
            crate::config::OverlapPolicy::Queue => Overlap::QueueOne,
        },
        retry: Duration::from_secs_f64(a.retry_s),
        device: (!a.device.is_empty()).then(|| a.device.clone()),
    }))
}

/// Loads the models a config names and builds its pipeline.
pub fn build_pipeline(config: &Config) -> Result<Pipeline, DaemonError> {
    let face = config.face.enabled.then(|| load_face(&config.face)).transpose()?;
    let text = config.text.enabled.then(|| load_text(&config.text)).transpose()?;
    Ok(Pipeline::new(config, face, text)?)
}

fn start_actions(
    config: &Config,
    audio: Box<dyn AudioSink>,
    metrics: Arc<Metrics>,
) -> Result<Actions, DaemonError> {
    let mqtt = if config.mqtt.enabled {
        let m = &config.mqtt;
        let options = MqttOptions {
            host: m.host.clone(),
            port: m.port,
            client_id: m.client_id.clone(),
            topic_prefix: m.topic_prefix.clone(),
            keep_alive: Duration::from_secs(m.keep_alive_s.max(5)),
            username: (!m.username.is_empty()).then(|| m.username.clone()),
            password: (!m.password.is_empty()).then(|| m.password.clone()),
            ..MqttOptions::default()
        };
        Some(MqttPublisher::start(options).map_err(|e| DaemonError::Setup(format!("mqtt: {e}")))?)
    } else {
        None
    };
    Actions::start(ActionSettings::from_config(config), audio, mqtt, metrics)
        .map_err(|e| DaemonError::Setup(format!("cannot start the actions thread: {e}")))
}

fn apply_updates(updates: &Receiver<Update>, pipeline: &mut Pipeline, metrics: &Metrics) {
    while let Ok(update) = updates.try_recv() {
        let (role, loaded) = match update {
            Update::Face(loaded) => {
                pipeline.replace_face_model(loaded.clone());
                ("face", loaded)
            }
            Update::Text(loaded) => {
                pipeline.replace_text_model(loaded.clone());
                ("text", loaded)
            }
        };
        metrics.model_reload_ok();
        log::info!("{role} model replaced: now {}", loaded.describe());
    }
}

/// The frame with faces (green for the first label, "me"; red otherwise) and the text region.
fn annotate(frame: &Frame, outcome: &Outcome) -> image::RgbImage {
    let mut image = (*frame.color()).clone();
    let (mine, others): (Vec<_>, Vec<_>) = outcome.faces.iter().partition(|f| f.label == "me");
    draw_boxes(&mut image, &mine.iter().map(|f| f.rect).collect::<Vec<_>>(), [0, 200, 0]);
    draw_boxes(&mut image, &others.iter().map(|f| f.rect).collect::<Vec<_>>(), [220, 0, 0]);
    for d in outcome.decisions.iter().filter(|d| d.kind == crate::pipeline::Kind::Text) {
        let r = crate::cascade::Rect {
            x: d.rect[0],
            y: d.rect[1],
            width: d.rect[2],
            height: d.rect[3],
        };
        draw_boxes(&mut image, &[r], [0, 90, 255]);
    }
    image
}

/// Watches the model files for replacements (scp, cp) and validates them off the frame loop.
/// A file is loaded once its size and time have stopped changing for one poll, so a copy in
/// progress is not mistaken for a broken model; a broken one is logged and the old model stays.
fn spawn_watcher(
    config: &Config,
    pipeline: &Pipeline,
    updates: Sender<Update>,
    metrics: Arc<Metrics>,
    stop: Arc<AtomicBool>,
) {
    let mut watched: Vec<Watched> = Vec::new();
    if config.face.enabled {
        let current =
            pipeline.face_model().and_then(|l| l.path.as_ref()).map(|_| stamp(&config.face.model));
        watched.push(Watched::new(Role::Face, config.face.model.clone(), current.flatten()));
    }
    if config.text.enabled {
        watched.push(Watched::new(
            Role::Text,
            config.text.model.clone(),
            stamp(&config.text.model),
        ));
    }
    let face_config = config.face.clone();
    let text_config = config.text.clone();
    let poll = Duration::from_secs_f64(config.reload.poll_s);
    let spawned = std::thread::Builder::new().name("model-watch".into()).spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(poll);
            for w in &mut watched {
                if !w.settled() {
                    continue;
                }
                let loaded = match w.role {
                    Role::Face => crate::pipeline::models::load_file(
                        &face_config.model,
                        "the face classifier",
                        crate::model::Task::Classify,
                    )
                    .map(Update::Face),
                    Role::Text => load_text(&text_config).map(Update::Text),
                };
                match loaded {
                    Ok(update) => {
                        if updates.send(update).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        log::error!("model reload rejected, the running model stays: {e}");
                        metrics.model_reload_failed();
                    }
                }
            }
        }
    });
    if let Err(e) = spawned {
        log::warn!("cannot watch model files: {e}");
    }
}

#[derive(Debug, Clone, Copy)]
enum Role {
    Face,
    Text,
}

/// (length, modification time) of a file.
type Stamp = (u64, SystemTime);

fn stamp(path: &std::path::Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

struct Watched {
    role: Role,
    path: PathBuf,
    /// The version now running (`None`: none from this file).
    running: Option<Stamp>,
    /// A new version seen at the last poll.
    pending: Option<Stamp>,
}

impl Watched {
    fn new(role: Role, path: PathBuf, running: Option<Stamp>) -> Watched {
        Watched { role, path, running, pending: None }
    }

    /// True once a changed file has stayed the same for a whole poll interval.
    fn settled(&mut self) -> bool {
        let now = stamp(&self.path);
        if now.is_none() || now == self.running {
            self.pending = None;
            return false;
        }
        if now == self.pending {
            self.running = now;
            self.pending = None;
            return true;
        }
        self.pending = now;
        false
    }
}
