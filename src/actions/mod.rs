//! What happens after a decision, on its own thread so a slow disk, speaker or broker never
//! holds up the camera: the sound for the label (with a cooldown), a snapshot, the event line,
//! and MQTT. Each action fails on its own: a broken speaker does not lose the event.

pub mod audio;
pub mod events;
pub mod mqtt;
pub mod snapshot;

use std::collections::HashMap;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use image::RgbImage;
use serde::Serialize;

use crate::config::Config;
use crate::pipeline::Decision;
use crate::service::metrics::Metrics;
use audio::{AudioSink, Sound};
use events::EventLog;
use mqtt::MqttPublisher;
use snapshot::SnapshotStore;

/// Decisions waiting for the actions thread; beyond this they are dropped and counted.
const QUEUE: usize = 64;

/// One decision to act on.
#[derive(Debug, Clone)]
pub struct Job {
    pub decision: Decision,
    /// The replay file name or the camera frame number.
    pub frame: String,
    pub time: SystemTime,
    /// The frame with the faces drawn, when snapshots are on.
    pub annotated: Option<Arc<RgbImage>>,
}

/// The line written to the event log and sent to MQTT.
#[derive(Debug, Serialize)]
pub struct Event<'a> {
    pub time: String,
    pub source: &'a str,
    pub frame: &'a str,
    #[serde(flatten)]
    pub decision: &'a Decision,
    /// What was done: `sound: started (me.mp3)`, `sound: cooldown`, `snapshot: …`.
    pub actions: Vec<String>,
}

/// The sound an action plays.
#[derive(Debug, Clone)]
pub struct SoundAction {
    pub sound: Sound,
    pub volume: f32,
    pub cooldown: Duration,
}

/// What the actions thread needs from the config.
#[derive(Debug, Clone)]
pub struct ActionSettings {
    pub source: String,
    /// By decision label.
    pub sounds: HashMap<String, SoundAction>,
    pub audio: bool,
    pub events: Option<(std::path::PathBuf, u64, u32)>,
    pub snapshots: Option<(std::path::PathBuf, u64)>,
}

impl ActionSettings {
    pub fn from_config(config: &Config) -> ActionSettings {
        let sounds = config
            .actions
            .iter()
            .map(|a| {
                let action = SoundAction {
                    sound: sound_of(a),
                    volume: a.volume,
                    cooldown: Duration::from_secs_f64(a.cooldown_s),
                };
                (a.on.clone(), action)
            })
            .collect();
        let e = &config.events;
        let s = &config.snapshots;
        ActionSettings {
            source: config.source.input.to_string(),
            sounds,
            audio: config.audio.enabled,
            events: (!e.path.as_os_str().is_empty()).then(|| (e.path.clone(), e.max_bytes, e.keep)),
            snapshots: (!s.dir.as_os_str().is_empty()).then(|| (s.dir.clone(), s.quota_bytes)),
        }
    }
}

/// The sound an `[[action]]` names: its file, or the built-in chime when `sound` is empty.
pub fn sound_of(action: &crate::config::ActionConfig) -> Sound {
    if action.sound.as_os_str().is_empty() {
        Sound::Chime
    } else {
        Sound::File(action.sound.clone())
    }
}

/// The running actions thread.
pub struct Actions {
    queue: Option<SyncSender<Job>>,
    thread: Option<JoinHandle<()>>,
    metrics: Arc<Metrics>,
}

impl Actions {
    pub fn start(
        settings: ActionSettings,
        sink: Box<dyn AudioSink>,
        mqtt: Option<MqttPublisher>,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<Actions> {
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let worker = Worker::new(settings, sink, mqtt, metrics.clone());
        let thread =
            std::thread::Builder::new().name("actions".into()).spawn(move || worker.run(rx))?;
        Ok(Actions { queue: Some(tx), thread: Some(thread), metrics })
    }

    /// Hands a decision over without waiting; a full queue drops it (counted as lost).
    pub fn submit(&self, job: Job) {
        let Some(queue) = &self.queue else { return };
        match queue.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(job)) => {
                log::warn!(
                    "actions are behind; dropped the decision {:?} at frame {}",
                    job.decision.label,
                    job.frame
                );
                self.metrics.events_lost(1);
            }
            Err(TrySendError::Disconnected(_)) => self.metrics.events_lost(1),
        }
    }

    /// Finishes the queued work and stops, waiting at most `limit`.
    pub fn stop(mut self, limit: Duration) {
        self.queue = None;
        if let Some(thread) = self.thread.take() {
            let until = Instant::now() + limit;
            while !thread.is_finished() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(5));
            }
            if thread.is_finished() {
                let _ = thread.join();
            } else {
                log::warn!(
                    "actions did not finish within {:.1} s; leaving them",
                    limit.as_secs_f64()
                );
            }
        }
    }
}

struct Worker {
    settings: ActionSettings,
    sink: Box<dyn AudioSink>,
    mqtt: Option<MqttPublisher>,
    metrics: Arc<Metrics>,
    events: Option<EventLog>,
    snapshots: Option<SnapshotStore>,
    last_played: HashMap<String, Instant>,
    reported_lost: u64,
}

impl Worker {
    fn new(
        settings: ActionSettings,
        sink: Box<dyn AudioSink>,
        mqtt: Option<MqttPublisher>,
        metrics: Arc<Metrics>,
    ) -> Worker {
        let events = settings.events.as_ref().map(|(path, max, keep)| {
            if path.as_os_str() == "-" {
                EventLog::stdout()
            } else {
                EventLog::file(path, *max, *keep)
            }
        });
        let snapshots = settings.snapshots.as_ref().and_then(|(dir, quota)| {
            match SnapshotStore::open(dir, *quota) {
                Ok(store) => Some(store),
                Err(e) => {
                    log::warn!("snapshots: {}: {e}; snapshots are off", dir.display());
                    None
                }
            }
        });
        Worker {
            settings,
            sink,
            mqtt,
            metrics,
            events,
            snapshots,
            last_played: HashMap::new(),
            reported_lost: 0,
        }
    }

    fn run(mut self, jobs: Receiver<Job>) {
        for job in jobs {
            self.act(job);
        }
    }

    fn act(&mut self, job: Job) {
        let mut done = Vec::new();
        if let Some(result) = self.sound(&job.decision) {
            done.push(result);
        }
        if let (Some(store), Some(image)) = (&mut self.snapshots, &job.annotated) {
            let name = format!(
                "{}_{}_{}.jpg",
                crate::logging::compact_timestamp(job.time),
                sanitize(&job.frame),
                sanitize(&job.decision.label)
            );
            match store.save(&name, image) {
                Ok(_) => done.push(format!("snapshot: {name}")),
                Err(e) => {
                    log::warn!("snapshot: {e}");
                    self.metrics.action_failed("snapshot");
                    done.push("snapshot: failed".into());
                }
            }
        }
        let mut event = Event {
            time: crate::logging::rfc3339(job.time),
            source: &self.settings.source,
            frame: &job.frame,
            decision: &job.decision,
            actions: done,
        };
        if let Some(mqtt) = &self.mqtt {
            // MQTT gets the event as it stands; the log line adds how the publish went.
            let json = serde_json::to_string(&event).unwrap_or_default();
            match mqtt.publish_event(&json) {
                Ok(()) => event.actions.push("mqtt: sent".into()),
                Err(e) => {
                    log::debug!("mqtt: {e}");
                    self.metrics.action_failed("mqtt");
                    event.actions.push("mqtt: not sent".into());
                }
            }
        }
        log::info!(
            "decision: {} {:?} ({:.2}) at frame {} -> {}",
            serde_json::to_string(&job.decision.kind).unwrap_or_default().trim_matches('"'),
            job.decision.label,
            job.decision.confidence,
            job.frame,
            if event.actions.is_empty() {
                "no action".to_string()
            } else {
                event.actions.join(", ")
            }
        );
        if let Some(log) = &mut self.events {
            let line = serde_json::to_string(&event).unwrap_or_default();
            if log.write(line).is_err() {
                self.metrics.action_failed("events");
            }
            let lost = log.lost();
            if lost > self.reported_lost {
                self.metrics.events_lost(lost - self.reported_lost);
                self.reported_lost = lost;
            }
        }
    }

    /// Plays the label's sound unless it is cooling down; `None` when the label has no sound.
    fn sound(&mut self, decision: &Decision) -> Option<String> {
        let action = self.settings.sounds.get(&decision.label)?;
        if !self.settings.audio {
            return None;
        }
        let now = Instant::now();
        if let Some(last) = self.last_played.get(&decision.label) {
            if now.duration_since(*last) < action.cooldown {
                return Some("sound: cooldown".into());
            }
        }
        let outcome = self.sink.play(&action.sound, action.volume);
        let name = match &action.sound {
            Sound::Chime => "chime".to_string(),
            Sound::File(p) => {
                p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
            }
        };
        match outcome {
            audio::PlayOutcome::Started | audio::PlayOutcome::Queued => {
                self.last_played.insert(decision.label.clone(), now);
            }
            audio::PlayOutcome::Failed(_) | audio::PlayOutcome::NoDevice => {
                self.metrics.action_failed("sound")
            }
            audio::PlayOutcome::SkippedBusy => {}
        }
        Some(format!("sound: {outcome} ({name})"))
    }
}

/// Keeps a label or frame name usable in a file name.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_alphanumeric() || c == '-' || c == '.' { c } else { '_' })
        .take(40)
        .collect()
}
