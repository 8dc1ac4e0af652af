//! `lookout run`: the threads and the loop that ties them together.
//!
//! ```text
//! capture thread ─(FrameSlot: newest wins)─> frame loop: motion gate, pipeline, metrics, watchdog
//!                                               └─(bounded queue)─> actions thread
//! reload thread ─(whole generations)────────────┘          http thread reads metrics
//! ```
//! Devices come in through [`Devices`] so tests can hand in a scripted camera and a recording
//! speaker; signals come in as flags ([`Control`]). Reload has one owner, [`reload`]: the loop
//! only swaps in what it hands over, at one point, and reads nothing but the running settings.

pub mod prepare;
pub mod reload;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::actions::audio::AudioSink;
use crate::actions::{Actions, ActionsError, Job};
use crate::motion::{Gate, Look, Scan};
use crate::pipeline::{Outcome, Pipeline};
use crate::service::http::{HttpError, HttpServer, HttpState};
use crate::service::metrics::Metrics;
use crate::service::notify::Notifier;
use crate::settings::{ModelRole, Settings};
use crate::source::slot::Closed;
use crate::source::{
    spawn_capture, BadFrames, CaptureOptions, Frame, FrameSlot, FrameSource, Taken,
};
use lookout_vision::image_io::draw_boxes;
pub use prepare::{build_pipeline, default_audio, prepare, PrepareError, Prepared};
pub use reload::Loader;
use reload::{Reload, ReloadOwner};

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    #[error(transparent)]
    Actions(#[from] ActionsError),
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("cannot start the {name} thread")]
    Thread {
        name: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// The capture thread gave up (a replay folder that vanished); its reason.
    #[error("frame source: {0}")]
    Source(String),
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

#[derive(Default)]
pub struct RunOptions {
    /// A replay that runs out of frames ends the run (exit code 0).
    pub exit_at_end: bool,
    /// Reads the configuration again on SIGHUP; without it a SIGHUP re-checks the running
    /// settings' files.
    pub loader: Option<Loader>,
    /// Called once the daemon is ready, with the HTTP address when it serves one.
    pub on_ready: Option<Box<dyn FnOnce(Option<SocketAddr>) + Send>>,
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
    /// Mean time per model run on a face: the classifier's, or (gallery mode) one
    /// descriptor's on the embedding thread.
    pub inference_ms: f64,
    /// How many such runs.
    pub inference_runs: u64,
    /// Frames the motion gate stopped before the cascade.
    pub gated: u64,
    /// Frames the cascade ran on (whole or regions).
    pub detections: u64,
    /// Of those, frames it ran on the moving regions only.
    pub regions_only: u64,
}

/// What the frame loop runs; changed only by [`Running::swap`].
struct Running {
    settings: Arc<Settings>,
    pipeline: Pipeline,
    actions: Actions,
    /// `None` with `[motion] enabled = false`: every frame goes through the pipeline.
    gate: Option<Gate>,
}

impl Running {
    /// Colour costs 0.9 MB per 640x480 frame in flight; frames keep it only when a model
    /// reads colour or a picture is drawn (snapshots, the HTTP frame).
    fn wants_color(&self) -> bool {
        self.pipeline.needs_color() || self.settings.shows_frames()
    }

    /// The one point where a reload takes effect. Everything is in place (the actions thread
    /// told about new settings, the gate rebuilt if its settings changed) before the reload is
    /// counted, logged and reported to systemd.
    fn swap(&mut self, reload: Reload, notifier: &Notifier, metrics: &Metrics) {
        let (settings, pipeline) = match reload {
            Reload::Begun => return notifier.reloading(),
            Reload::Refused => return notifier.ready(),
            Reload::Model(role, pipeline) => {
                self.pipeline = pipeline;
                let now = match role {
                    ModelRole::Face | ModelRole::Gallery => self.pipeline.describe_face(),
                    ModelRole::Text => {
                        self.pipeline.text_model().map(|m| m.describe()).unwrap_or_default()
                    }
                };
                log::info!("{} model replaced: now {now}", role.name());
                return metrics.model_reload_ok();
            }
            Reload::Settings { settings, pipeline } => (settings, pipeline),
        };
        let old = &self.settings;
        if settings.source != old.source {
            log::warn!("reload: [source] changes take effect after a restart");
        }
        if settings.http != old.http {
            log::warn!("reload: [http] changes take effect after a restart");
        }
        // A new speaker only when [audio] changed: an unchanged one keeps its device.
        let sink = (settings.audio != old.audio).then(|| default_audio(settings.audio.as_ref()));
        self.actions.reconfigure(&settings, sink);
        // An unchanged gate keeps the background it has learnt.
        if settings.motion != old.motion || settings.detect.min_size != old.detect.min_size {
            self.gate = new_gate(&settings);
        }
        self.settings = settings;
        self.pipeline = pipeline;
        log::info!("reloaded configuration and models");
        metrics.model_reload_ok();
        notifier.ready();
    }
}

/// Runs until `control.stop` is raised (or the replay ends with `exit_at_end`).
pub fn run(
    settings: Settings,
    devices: Devices,
    control: Control,
    mut options: RunOptions,
) -> Result<Summary, DaemonError> {
    let started = Instant::now();
    let Devices { source, audio, notifier } = devices;
    let metrics = options.metrics.take().unwrap_or_default();
    let settings = Arc::new(settings);
    let pipeline = prepare(&settings)?.pipeline;
    let actions = Actions::start(&settings, audio, metrics.clone())?;
    let mut running =
        Running { settings: settings.clone(), pipeline, actions, gate: new_gate(&settings) };

    let http_state = Arc::new(HttpState::new(metrics.clone()));
    let http = match &settings.http {
        Some(h) => Some(HttpServer::start(h.listen, http_state.clone())?),
        None => None,
    };

    let slot = Arc::new(FrameSlot::new());
    let capture_stop = Arc::new(AtomicBool::new(false));
    let capture = CaptureOptions::new(&settings.source);
    let source_name = source.describe();
    spawn_capture(source, capture, slot.clone(), metrics.clone(), capture_stop.clone())
        .map_err(|source| DaemonError::Thread { name: "capture", source })?;

    let (reloads_tx, reloads) = mpsc::channel();
    let reload_stop = Arc::new(AtomicBool::new(false));
    ReloadOwner::new(
        settings.clone(),
        &running.pipeline,
        options.loader.take(),
        control.reload.clone(),
        metrics.clone(),
        reloads_tx,
    )
    .spawn(reload_stop.clone())
    .map_err(|source| DaemonError::Thread { name: "reload", source })?;

    log::info!("running: {source_name}; {}", prepare::describe_models(&running.pipeline));
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
    let mut bad_frames = BadFrames::default();
    let mut idle_logged = false;
    let result = loop {
        if control.stop.load(Ordering::Relaxed) {
            log::info!("stopping");
            break Ok(());
        }
        apply_reloads(&reloads, &mut running, &notifier, &metrics);

        let captured = match slot.take(Duration::from_millis(100)) {
            Taken::Frame(captured) => captured,
            Taken::Empty => continue,
            Taken::Closed(Closed::Ended) if options.exit_at_end => {
                log::info!("replay finished");
                let last = running.pipeline.finish(FINISH_WAIT);
                deliver(last.decisions, "end", None, &running, &metrics, &mut summary);
                break Ok(());
            }
            Taken::Closed(Closed::Failed(msg)) => break Err(DaemonError::Source(msg)),
            Taken::Closed(_) => {
                if !idle_logged {
                    let last = running.pipeline.finish(FINISH_WAIT);
                    deliver(last.decisions, "end", None, &running, &metrics, &mut summary);
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
        let tracking = running.pipeline.tracking();
        let look = running.gate.as_mut().map(|gate| gate.look(&captured, tracking));
        if let Some(look) = &look {
            metrics.motion_observed(look.fraction, look.light_switch);
            // One line per frame at debug level (LOOKOUT_LOG=debug): bench/motion_timeline.py
            // draws a day from them.
            log::debug!(
                "motion: frame {} at {:.3} s: {} ({:.2}% changed{})",
                captured.id(),
                captured.at.as_secs_f64(),
                look.scan,
                look.fraction * 100.0,
                if look.light_switch { ", light switch" } else { "" }
            );
        }
        let scan = look.as_ref().map_or(&Scan::Whole(crate::motion::Why::Motion), |l| &l.scan);
        let want_http_frame = http.is_some()
            && last_http_frame.is_none_or(|t| t.elapsed() >= Duration::from_millis(500));
        let gated = *scan == Scan::Skip;
        // A gated frame is decoded only for the live picture.
        let frame = if gated && !want_http_frame {
            None
        } else {
            match captured.decode(running.wants_color()) {
                Ok(frame) => Some(frame),
                Err(e) => {
                    metrics.source_error();
                    bad_frames.skipped(&source_name, &e.to_string());
                    continue;
                }
            }
        };
        let outcome = match (&frame, scan) {
            (Some(frame), Scan::Regions(regions)) => {
                running.pipeline.process_in(frame, Some(regions))
            }
            (Some(frame), Scan::Whole(_)) => running.pipeline.process(frame),
            _ => Ok(Outcome::default()),
        };
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(e) => {
                // A model that fails on a frame is a bug or a broken file; log and go on.
                let id = frame.as_ref().map(Frame::id).unwrap_or_default();
                log::error!("frame {id}: {}", crate::logging::chain(&e));
                metrics.source_error();
                continue;
            }
        };
        if gated {
            metrics.frame_gated();
            summary.gated += 1;
        } else {
            let regions_only = matches!(scan, Scan::Regions(_));
            metrics.detection_run(regions_only);
            summary.detections += 1;
            summary.regions_only += regions_only as u64;
        }
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

        // Frames are flowing through the gate and the pipeline: this, and only this, feeds
        // the watchdog.
        if last_watchdog.is_none_or(|t| t.elapsed() >= watchdog_every) {
            notifier.watchdog();
            last_watchdog = Some(Instant::now());
        }

        if last_status.elapsed() >= Duration::from_secs(5) {
            notifier.status(&metrics.snapshot().status_line());
            last_status = Instant::now();
        }

        // A gated frame that was not decoded has nothing to draw or deliver.
        let Some(frame) = frame else { continue };
        let want_snapshot = !outcome.decisions.is_empty() && running.settings.snapshots.is_some();
        let annotated = (want_http_frame || want_snapshot)
            .then(|| Arc::new(annotate(&frame, &outcome, look.as_ref())));
        if let (true, Some(image)) = (want_http_frame, &annotated) {
            http_state.set_snapshot(image.clone());
            last_http_frame = Some(Instant::now());
        }
        deliver(outcome.decisions, &frame.id(), annotated, &running, &metrics, &mut summary);
    };

    notifier.stopping();
    capture_stop.store(true, Ordering::Relaxed);
    reload_stop.store(true, Ordering::Relaxed);
    slot.close(Closed::Stopped);
    // Leave time for the last events to be written, but keep the whole stop under a second.
    running.actions.stop(Duration::from_millis(600));
    drop(http);
    summary.dropped = slot.dropped();
    summary.seconds = started.elapsed().as_secs_f64();
    let m = metrics.snapshot();
    let mean_ms =
        |h: &crate::service::metrics::HistogramSnapshot| 1000.0 * h.sum / h.count.max(1) as f64;
    summary.faces = m.faces_detected;
    summary.frame_ms = mean_ms(&m.frame_seconds);
    summary.inference_ms = mean_ms(&m.inference_seconds);
    summary.inference_runs = m.inference_seconds.count;
    result.map(|()| summary)
}

/// The motion gate the settings ask for.
fn new_gate(settings: &Settings) -> Option<Gate> {
    let motion = settings.motion.clone()?;
    Some(Gate::new(motion, settings.detect.min_size))
}

/// How long the end of a replay waits for the descriptors still being computed.
const FINISH_WAIT: Duration = Duration::from_secs(5);

/// Hands decisions to the actions thread and counts them.
fn deliver(
    decisions: Vec<crate::pipeline::Decision>,
    frame: &str,
    annotated: Option<Arc<image::RgbImage>>,
    running: &Running,
    metrics: &Metrics,
    summary: &mut Summary,
) {
    for decision in decisions {
        summary.decisions += 1;
        let kind = if decision.kind == crate::pipeline::Kind::Face { "face" } else { "text" };
        metrics.decision(kind, &decision.label);
        metrics.set_last_decision(format!("{kind} {} at frame {frame}", decision.label));
        running.actions.submit(Job {
            decision,
            frame: frame.to_string(),
            time: SystemTime::now(),
            annotated: annotated.clone(),
        });
    }
}

fn apply_reloads(
    reloads: &Receiver<Reload>,
    running: &mut Running,
    notifier: &Notifier,
    metrics: &Metrics,
) {
    for reload in reloads.try_iter() {
        running.swap(reload, notifier, metrics);
    }
}

/// The frame with faces (green for someone known: the classifier's "me" or an enrolled name;
/// red otherwise), the text region, and what the motion gate saw move (yellow).
fn annotate(frame: &Frame, outcome: &Outcome, look: Option<&Look>) -> image::RgbImage {
    let mut image = (*frame.color()).clone();
    if let Some(look) = look {
        draw_boxes(&mut image, &look.moving, [230, 200, 0]);
    }
    let (mine, others): (Vec<_>, Vec<_>) = outcome.faces.iter().partition(|f| f.known);
    draw_boxes(&mut image, &mine.iter().map(|f| f.rect).collect::<Vec<_>>(), [0, 200, 0]);
    draw_boxes(&mut image, &others.iter().map(|f| f.rect).collect::<Vec<_>>(), [220, 0, 0]);
    for d in outcome.decisions.iter().filter(|d| d.kind == crate::pipeline::Kind::Text) {
        let r = lookout_vision::cascade::Rect {
            x: d.rect[0],
            y: d.rect[1],
            width: d.rect[2],
            height: d.rect[3],
        };
        draw_boxes(&mut image, &[r], [0, 90, 255]);
    }
    image
}
