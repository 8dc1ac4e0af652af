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

use crate::logging::chain;
use crate::pipeline::Decision;
use crate::service::metrics::Metrics;
use crate::settings::{
    ActionSettings, EventsSettings, EventsTarget, MqttSettings, Settings, SnapshotSettings,
};
use audio::{AudioSink, Sound};
use events::EventLog;
use mqtt::{MqttError, MqttPublisher};
use snapshot::SnapshotStore;

/// Decisions waiting for the actions thread; beyond this they are dropped and counted.
const QUEUE: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum ActionsError {
    #[error(transparent)]
    Mqtt(#[from] MqttError),
    #[error("cannot start the actions thread")]
    Thread(#[source] std::io::Error),
}

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

/// What the actions thread needs from the settings.
#[derive(Debug, Clone, PartialEq)]
struct WorkerSettings {
    source: String,
    /// By decision label.
    sounds: HashMap<String, ActionSettings>,
    audio: bool,
    events: Option<EventsSettings>,
    snapshots: Option<SnapshotSettings>,
    mqtt: Option<MqttSettings>,
}

impl WorkerSettings {
    fn new(settings: &Settings) -> WorkerSettings {
        WorkerSettings {
            source: settings.source.input.to_string(),
            sounds: settings.actions.iter().map(|a| (a.on.clone(), a.clone())).collect(),
            audio: settings.audio.is_some(),
            events: settings.events.clone(),
            snapshots: settings.snapshots.clone(),
            mqtt: settings.mqtt.clone(),
        }
    }
}

/// What the frame loop sends the actions thread, in order.
enum Message {
    Job(Job),
    /// New settings from a reload: every job before it is handled with the old ones, every job
    /// after it with these. A new speaker comes along when `[audio]` changed.
    Reconfigure(Box<WorkerSettings>, Option<Box<dyn AudioSink>>),
}

/// The running actions thread.
pub struct Actions {
    queue: Option<SyncSender<Message>>,
    thread: Option<JoinHandle<()>>,
    metrics: Arc<Metrics>,
}

impl Actions {
    /// Starts the thread with its speaker; connects to the MQTT broker when `[mqtt]` is on
    /// (without waiting for it).
    pub fn start(
        settings: &Settings,
        sink: Box<dyn AudioSink>,
        metrics: Arc<Metrics>,
    ) -> Result<Actions, ActionsError> {
        let settings = WorkerSettings::new(settings);
        let mqtt = settings.mqtt.as_ref().map(MqttPublisher::start).transpose()?;
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let worker = Worker::new(settings, sink, mqtt, metrics.clone());
        let thread = std::thread::Builder::new()
            .name("actions".into())
            .spawn(move || worker.run(rx))
            .map_err(ActionsError::Thread)?;
        Ok(Actions { queue: Some(tx), thread: Some(thread), metrics })
    }

    /// Switches to new settings after the decisions already queued. Waits for room in the
    /// queue: a reload must not be dropped the way a decision is when the thread is behind.
    pub fn reconfigure(&self, settings: &Settings, sink: Option<Box<dyn AudioSink>>) {
        let Some(queue) = &self.queue else { return };
        let message = Message::Reconfigure(Box::new(WorkerSettings::new(settings)), sink);
        if queue.send(message).is_err() {
            log::error!("reload: the actions thread has stopped; new settings not applied");
        }
    }

    /// Hands a decision over without waiting; a full queue drops it (counted as lost).
    pub fn submit(&self, job: Job) {
        let Some(queue) = &self.queue else { return };
        match queue.try_send(Message::Job(job)) {
            Ok(()) => {}
            Err(TrySendError::Full(Message::Job(job))) => {
                log::warn!(
                    "actions are behind; dropped the decision {:?} at frame {}",
                    job.decision.label,
                    job.frame
                );
                self.metrics.events_lost(1);
            }
            Err(_) => self.metrics.events_lost(1),
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
    settings: WorkerSettings,
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
        settings: WorkerSettings,
        sink: Box<dyn AudioSink>,
        mqtt: Option<MqttPublisher>,
        metrics: Arc<Metrics>,
    ) -> Worker {
        let events = settings.events.as_ref().map(open_events);
        let snapshots = settings.snapshots.as_ref().and_then(open_snapshots);
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

    fn run(mut self, messages: Receiver<Message>) {
        for message in messages {
            match message {
                Message::Job(job) => self.act(job),
                Message::Reconfigure(settings, sink) => self.reconfigure(*settings, sink),
            }
        }
    }

    /// Reopens only what changed: an unchanged event log keeps its file and its rotation,
    /// an unchanged broker its connection, and sounds keep their cooldowns.
    fn reconfigure(&mut self, new: WorkerSettings, sink: Option<Box<dyn AudioSink>>) {
        if let Some(sink) = sink {
            self.sink = sink;
        }
        if new.events != self.settings.events {
            self.events = new.events.as_ref().map(open_events);
        }
        if new.snapshots != self.settings.snapshots {
            self.snapshots = new.snapshots.as_ref().and_then(open_snapshots);
        }
        if new.mqtt != self.settings.mqtt {
            // The old connection says `offline` as it goes.
            self.mqtt = None;
            self.mqtt = new.mqtt.as_ref().and_then(|m| match MqttPublisher::start(m) {
                Ok(publisher) => Some(publisher),
                Err(e) => {
                    log::error!("reload: {}; MQTT is off until the next reload", chain(&e));
                    None
                }
            });
        }
        self.settings = new;
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

fn open_events(e: &EventsSettings) -> EventLog {
    match &e.target {
        EventsTarget::Stdout => EventLog::stdout(),
        EventsTarget::File(path) => EventLog::file(path, e.max_bytes, e.keep.get()),
    }
}

/// A folder that cannot be made turns snapshots off with a warning; the rest goes on.
fn open_snapshots(s: &SnapshotSettings) -> Option<SnapshotStore> {
    match SnapshotStore::open(&s.dir, s.quota_bytes) {
        Ok(store) => Some(store),
        Err(e) => {
            log::warn!("snapshots: {}: {e}; snapshots are off", s.dir.display());
            None
        }
    }
}

/// Keeps a label or frame name usable in a file name.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_alphanumeric() || c == '-' || c == '.' { c } else { '_' })
        .take(40)
        .collect()
}
