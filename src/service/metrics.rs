//! The daemon's counters, shared by its threads and rendered for Prometheus.
//!
//! [`Metrics`] is created once and handed around as `Arc<Metrics>`; every recording method takes
//! `&self` and costs an atomic add or a short lock, so the pipeline can call it per frame.
//! [`Metrics::snapshot`] copies everything into a plain [`MetricsSnapshot`] (for STATUS lines and
//! tests) and [`Metrics::render`] writes the text exposition format 0.0.4 served on `/metrics`.
//!
//! Methods that depend on the clock have an `_at(now)` twin taking the [`Instant`], so the fps
//! window and the frame age can be tested without sleeping.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How far back [`Metrics::fps`] looks: long enough to smooth out a slow frame, short enough
/// that a stalled camera shows within seconds.
pub const FPS_WINDOW: Duration = Duration::from_secs(5);

/// Upper bounds (seconds) of the latency histograms: a small classifier on a Pi 4 takes about a
/// millisecond per face, a full frame through the cascade tens of milliseconds; 0.1 ms .. 1 s
/// covers a desktop as well as a Pi Zero.
pub const LATENCY_BUCKETS: [f64; 13] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

/// Distinct `(kind, label)` series kept for decisions. Text decisions (CTC output) can take
/// unboundedly many values; past this many, new labels are counted under [`OTHER_LABEL`] so a
/// long-running daemon's memory and scrape size stay bounded.
pub const MAX_DECISION_SERIES: usize = 200;

/// The label that decisions beyond [`MAX_DECISION_SERIES`] are counted under.
pub const OTHER_LABEL: &str = "_other";

/// Counters and gauges of one running daemon.
#[derive(Debug)]
pub struct Metrics {
    frames_dropped: AtomicU64,
    faces_detected: AtomicU64,
    camera_reconnects: AtomicU64,
    source_errors: AtomicU64,
    events_lost: AtomicU64,
    model_reloads_ok: AtomicU64,
    model_reloads_failed: AtomicU64,
    frames_gated: AtomicU64,
    detections_frame: AtomicU64,
    detections_regions: AtomicU64,
    light_switches: AtomicU64,
    /// The last frame's changed share (0-1) as f32 bits.
    motion_fraction: AtomicU64,
    inner: Mutex<Inner>,
}

/// What needs more than one word to update consistently.
#[derive(Debug)]
struct Inner {
    frames: u64,
    /// Times frames finished processing within the last [`FPS_WINDOW`], oldest first.
    recent_frames: VecDeque<Instant>,
    first_frame: Option<Instant>,
    last_frame: Option<Instant>,
    frame_seconds: Histogram,
    inference_seconds: Histogram,
    decisions: BTreeMap<(String, String), u64>,
    action_failures: BTreeMap<String, u64>,
    last_decision: Option<String>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics {
            frames_dropped: AtomicU64::new(0),
            faces_detected: AtomicU64::new(0),
            camera_reconnects: AtomicU64::new(0),
            source_errors: AtomicU64::new(0),
            events_lost: AtomicU64::new(0),
            model_reloads_ok: AtomicU64::new(0),
            model_reloads_failed: AtomicU64::new(0),
            frames_gated: AtomicU64::new(0),
            detections_frame: AtomicU64::new(0),
            detections_regions: AtomicU64::new(0),
            light_switches: AtomicU64::new(0),
            motion_fraction: AtomicU64::new(0),
            inner: Mutex::new(Inner {
                frames: 0,
                recent_frames: VecDeque::new(),
                first_frame: None,
                last_frame: None,
                frame_seconds: Histogram::new(),
                inference_seconds: Histogram::new(),
                decisions: BTreeMap::new(),
                action_failures: BTreeMap::new(),
                last_decision: None,
            }),
        }
    }

    /// A panic in one thread while holding the lock leaves plain counters behind, still
    /// worth reporting, so poisoning is ignored rather than spreading the panic.
    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A frame went through detection and inference in `took`; it counts towards fps and
    /// resets the age `/healthz` looks at.
    pub fn frame_processed(&self, took: Duration) {
        self.frame_processed_at(Instant::now(), took);
    }

    /// [`Metrics::frame_processed`] with the time it finished given.
    pub fn frame_processed_at(&self, now: Instant, took: Duration) {
        let mut inner = self.inner();
        inner.frames += 1;
        inner.frame_seconds.observe(took.as_secs_f64());
        inner.first_frame.get_or_insert(now);
        inner.last_frame = Some(inner.last_frame.map_or(now, |last| last.max(now)));
        inner.recent_frames.push_back(now);
        prune(&mut inner.recent_frames, now);
    }

    /// The newest-frame-wins channel replaced a frame nobody had taken yet.
    pub fn frame_dropped(&self) {
        self.frames_dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// The cascade found `count` faces in a frame.
    pub fn faces_detected(&self, count: u64) {
        self.faces_detected.fetch_add(count, Ordering::Relaxed);
    }

    /// A decision was made: `kind` is what decided (`face`, `text`), `label` the outcome.
    pub fn decision(&self, kind: &str, label: &str) {
        let mut inner = self.inner();
        let key = (kind.to_string(), label.to_string());
        if let Some(n) = inner.decisions.get_mut(&key) {
            *n += 1;
            return;
        }
        let key = if inner.decisions.len() < MAX_DECISION_SERIES {
            key
        } else {
            (kind.to_string(), OTHER_LABEL.to_string())
        };
        *inner.decisions.entry(key).or_insert(0) += 1;
    }

    /// One face went through the model in `took` (preprocessing included).
    pub fn inference_observed(&self, took: Duration) {
        self.inner().inference_seconds.observe(took.as_secs_f64());
    }

    /// The motion gate looked at a frame: the share of it that changed, and whether that was a
    /// light switch.
    pub fn motion_observed(&self, fraction: f32, light_switch: bool) {
        self.motion_fraction.store(fraction.to_bits() as u64, Ordering::Relaxed);
        if light_switch {
            self.light_switches.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The motion gate stopped a frame before the cascade.
    pub fn frame_gated(&self) {
        self.frames_gated.fetch_add(1, Ordering::Relaxed);
    }

    /// The cascade ran on a frame: on all of it, or on its moving regions only.
    pub fn detection_run(&self, regions_only: bool) {
        let counter = if regions_only { &self.detections_regions } else { &self.detections_frame };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The camera was lost and opened again.
    pub fn camera_reconnected(&self) {
        self.camera_reconnects.fetch_add(1, Ordering::Relaxed);
    }

    /// The frame source returned an error (a bad frame, a failed read).
    pub fn source_error(&self) {
        self.source_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// `count` events were not delivered (a full queue, a dropped subscriber).
    pub fn events_lost(&self, count: u64) {
        self.events_lost.fetch_add(count, Ordering::Relaxed);
    }

    /// An action failed: `action` is its name (`sound`, `events`, `snapshot`, `mqtt`).
    pub fn action_failed(&self, action: &str) {
        let mut inner = self.inner();
        match inner.action_failures.get_mut(action) {
            Some(n) => *n += 1,
            None => {
                inner.action_failures.insert(action.to_string(), 1);
            }
        }
    }

    /// A model reload (SIGHUP or file change) succeeded.
    pub fn model_reload_ok(&self) {
        self.model_reloads_ok.fetch_add(1, Ordering::Relaxed);
    }

    /// A model reload failed and the previous model stayed in use.
    pub fn model_reload_failed(&self) {
        self.model_reloads_failed.fetch_add(1, Ordering::Relaxed);
    }

    /// Remembers a human-readable description of the latest decision for STATUS lines.
    pub fn set_last_decision(&self, text: String) {
        self.inner().last_decision = Some(text);
    }

    /// Frames per second over the last [`FPS_WINDOW`].
    pub fn fps(&self) -> f64 {
        self.fps_at(Instant::now())
    }

    /// [`Metrics::fps`] as seen at `now`.
    ///
    /// Once frames have been coming for a whole window this is the count in the window divided
    /// by its length, so a stalled camera decays to 0 within [`FPS_WINDOW`]. Before that it is
    /// measured from the first frame, so a freshly started daemon does not read low.
    pub fn fps_at(&self, now: Instant) -> f64 {
        let inner = self.inner();
        fps(&inner.recent_frames, inner.first_frame, now)
    }

    /// Time since the last processed frame; `None` before the first one.
    pub fn last_frame_age(&self) -> Option<Duration> {
        self.last_frame_age_at(Instant::now())
    }

    /// [`Metrics::last_frame_age`] as seen at `now`.
    pub fn last_frame_age_at(&self, now: Instant) -> Option<Duration> {
        self.inner().last_frame.map(|last| now.saturating_duration_since(last))
    }

    /// A consistent copy of everything, taken now.
    pub fn snapshot(&self) -> MetricsSnapshot {
        self.snapshot_at(Instant::now())
    }

    /// [`Metrics::snapshot`] as seen at `now`.
    pub fn snapshot_at(&self, now: Instant) -> MetricsSnapshot {
        let inner = self.inner();
        MetricsSnapshot {
            frames: inner.frames,
            frames_dropped: self.frames_dropped.load(Ordering::Relaxed),
            fps: fps(&inner.recent_frames, inner.first_frame, now),
            last_frame_age: inner.last_frame.map(|last| now.saturating_duration_since(last)),
            frame_seconds: inner.frame_seconds.snapshot(),
            faces_detected: self.faces_detected.load(Ordering::Relaxed),
            decisions: inner
                .decisions
                .iter()
                .map(|((kind, label), n)| Decisions {
                    kind: kind.clone(),
                    label: label.clone(),
                    count: *n,
                })
                .collect(),
            last_decision: inner.last_decision.clone(),
            inference_seconds: inner.inference_seconds.snapshot(),
            camera_reconnects: self.camera_reconnects.load(Ordering::Relaxed),
            source_errors: self.source_errors.load(Ordering::Relaxed),
            events_lost: self.events_lost.load(Ordering::Relaxed),
            action_failures: inner.action_failures.clone(),
            model_reloads_ok: self.model_reloads_ok.load(Ordering::Relaxed),
            model_reloads_failed: self.model_reloads_failed.load(Ordering::Relaxed),
            frames_gated: self.frames_gated.load(Ordering::Relaxed),
            detections_frame: self.detections_frame.load(Ordering::Relaxed),
            detections_regions: self.detections_regions.load(Ordering::Relaxed),
            light_switches: self.light_switches.load(Ordering::Relaxed),
            motion_fraction: f32::from_bits(self.motion_fraction.load(Ordering::Relaxed) as u32),
        }
    }

    /// The Prometheus text exposition (format 0.0.4) of a snapshot taken now.
    pub fn render(&self) -> String {
        self.snapshot().render()
    }
}

fn prune(recent: &mut VecDeque<Instant>, now: Instant) {
    while recent.front().is_some_and(|t| now.saturating_duration_since(*t) >= FPS_WINDOW) {
        recent.pop_front();
    }
}

fn fps(recent: &VecDeque<Instant>, first: Option<Instant>, now: Instant) -> f64 {
    let Some(first) = first else { return 0.0 };
    let in_window =
        recent.iter().filter(|t| now.saturating_duration_since(**t) < FPS_WINDOW).count();
    let running = now.saturating_duration_since(first);
    if running >= FPS_WINDOW {
        return in_window as f64 / FPS_WINDOW.as_secs_f64();
    }
    // All frames so far are in the window: n frames span n - 1 intervals since the first.
    if running.is_zero() || in_window < 2 {
        return 0.0;
    }
    (in_window - 1) as f64 / running.as_secs_f64()
}

/// A histogram over [`LATENCY_BUCKETS`], counts kept per bucket (not cumulative).
#[derive(Debug)]
struct Histogram {
    /// `counts[i]` for `LATENCY_BUCKETS[i]`, the last entry for values above them all.
    counts: [u64; LATENCY_BUCKETS.len() + 1],
    sum: f64,
}

impl Histogram {
    fn new() -> Histogram {
        Histogram { counts: [0; LATENCY_BUCKETS.len() + 1], sum: 0.0 }
    }

    fn observe(&mut self, seconds: f64) {
        // A NaN would poison the sum forever; a negative duration cannot happen.
        if !seconds.is_finite() || seconds < 0.0 {
            return;
        }
        let i =
            LATENCY_BUCKETS.iter().position(|le| seconds <= *le).unwrap_or(LATENCY_BUCKETS.len());
        self.counts[i] += 1;
        self.sum += seconds;
    }

    fn snapshot(&self) -> HistogramSnapshot {
        let mut total = 0;
        let buckets = LATENCY_BUCKETS
            .iter()
            .zip(&self.counts)
            .map(|(le, n)| {
                total += n;
                (*le, total)
            })
            .collect();
        let count = self.counts.iter().sum();
        HistogramSnapshot { buckets, sum: self.sum, count }
    }
}

/// A histogram as Prometheus sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    /// `(upper bound, observations <= bound)`, cumulative; `+Inf` is [`HistogramSnapshot::count`].
    pub buckets: Vec<(f64, u64)>,
    /// Sum of all observations, in seconds.
    pub sum: f64,
    pub count: u64,
}

/// How often one `(kind, label)` was decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decisions {
    pub kind: String,
    pub label: String,
    pub count: u64,
}

/// A plain copy of [`Metrics`] at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsSnapshot {
    pub frames: u64,
    pub frames_dropped: u64,
    pub fps: f64,
    pub last_frame_age: Option<Duration>,
    /// Time per frame through detection and inference.
    pub frame_seconds: HistogramSnapshot,
    pub faces_detected: u64,
    /// Sorted by kind, then label.
    pub decisions: Vec<Decisions>,
    pub last_decision: Option<String>,
    /// Time per face through the model.
    pub inference_seconds: HistogramSnapshot,
    pub camera_reconnects: u64,
    pub source_errors: u64,
    pub events_lost: u64,
    /// Failures by action name.
    pub action_failures: BTreeMap<String, u64>,
    pub model_reloads_ok: u64,
    pub model_reloads_failed: u64,
    /// Frames the motion gate stopped before the cascade.
    pub frames_gated: u64,
    /// Cascade runs on whole frames and on moving regions only.
    pub detections_frame: u64,
    pub detections_regions: u64,
    pub light_switches: u64,
    /// The last frame's changed share, 0-1.
    pub motion_fraction: f32,
}

impl MetricsSnapshot {
    /// One short line for systemd's STATUS=, e.g. `9.8 fps, 1234 frames, last: face me`.
    pub fn status_line(&self) -> String {
        let mut line = format!("{:.1} fps, {} frames", self.fps, self.frames);
        if let Some(last) = &self.last_decision {
            let _ = write!(line, ", last: {last}");
        }
        line
    }

    /// The Prometheus text exposition format 0.0.4.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let o = &mut out;
        counter(o, "frames_total", "Frames processed.", self.frames);
        counter(
            o,
            "frames_dropped_total",
            "Frames replaced in the channel before being processed.",
            self.frames_dropped,
        );
        header(o, "fps", "Frames processed per second over the last 5 s.", "gauge");
        let _ = writeln!(o, "lookout_fps {}", float(self.fps));
        histogram(
            o,
            "frame_seconds",
            "Time per frame through detection and inference.",
            &self.frame_seconds,
        );
        counter(o, "faces_detected_total", "Faces found by the detector.", self.faces_detected);
        header(o, "decisions_total", "Decisions made, by kind and label.", "counter");
        for d in &self.decisions {
            let _ = writeln!(
                o,
                "lookout_decisions_total{{kind=\"{}\",label=\"{}\"}} {}",
                escape_label(&d.kind),
                escape_label(&d.label),
                d.count
            );
        }
        histogram(
            o,
            "inference_seconds",
            "Time per face through the model.",
            &self.inference_seconds,
        );
        counter(
            o,
            "camera_reconnects_total",
            "Times the camera was reopened.",
            self.camera_reconnects,
        );
        counter(o, "source_errors_total", "Errors reading frames.", self.source_errors);
        counter(o, "events_lost_total", "Events that could not be delivered.", self.events_lost);
        header(o, "action_failures_total", "Failed actions, by action.", "counter");
        for (action, n) in &self.action_failures {
            let _ = writeln!(
                o,
                "lookout_action_failures_total{{action=\"{}\"}} {n}",
                escape_label(action)
            );
        }
        header(o, "model_reloads_total", "Model reloads, by result.", "counter");
        let _ =
            writeln!(o, "lookout_model_reloads_total{{result=\"ok\"}} {}", self.model_reloads_ok);
        let _ = writeln!(
            o,
            "lookout_model_reloads_total{{result=\"failed\"}} {}",
            self.model_reloads_failed
        );
        counter(
            o,
            "frames_gated_total",
            "Frames the motion gate stopped before the cascade.",
            self.frames_gated,
        );
        header(o, "detections_total", "Cascade runs, by the area scanned.", "counter");
        let _ = writeln!(o, "lookout_detections_total{{area=\"frame\"}} {}", self.detections_frame);
        let _ =
            writeln!(o, "lookout_detections_total{{area=\"regions\"}} {}", self.detections_regions);
        counter(
            o,
            "light_switches_total",
            "Times most of the frame changed at once and the background was learnt again.",
            self.light_switches,
        );
        header(o, "motion_fraction", "Share of the last frame that moved, 0-1.", "gauge");
        let _ = writeln!(o, "lookout_motion_fraction {}", float(self.motion_fraction as f64));
        header(o, "up", "1 while the daemon runs.", "gauge");
        o.push_str("lookout_up 1\n");
        out
    }
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP lookout_{name} {help}");
    let _ = writeln!(out, "# TYPE lookout_{name} {kind}");
}

fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    header(out, name, help, "counter");
    let _ = writeln!(out, "lookout_{name} {value}");
}

fn histogram(out: &mut String, name: &str, help: &str, h: &HistogramSnapshot) {
    header(out, name, help, "histogram");
    for (le, n) in &h.buckets {
        let _ = writeln!(out, "lookout_{name}_bucket{{le=\"{}\"}} {n}", float(*le));
    }
    let _ = writeln!(out, "lookout_{name}_bucket{{le=\"+Inf\"}} {}", h.count);
    let _ = writeln!(out, "lookout_{name}_sum {}", float(h.sum));
    let _ = writeln!(out, "lookout_{name}_count {}", h.count);
}

/// Rust writes infinities as `inf`; the format wants `+Inf`/`-Inf` (and `NaN`, as Rust does).
fn float(v: f64) -> String {
    if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        v.to_string()
    }
}

/// Label values escape backslash, double quote and line feed; anything else goes as is.
fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One sample line: name, labels in order, value.
    #[derive(Debug, PartialEq)]
    struct Sample {
        name: String,
        labels: Vec<(String, String)>,
        value: f64,
    }

    /// A strict reader of the exposition format: fails the test on anything malformed.
    fn parse(text: &str) -> (Vec<Sample>, BTreeMap<String, String>) {
        let mut samples = Vec::new();
        let mut types = BTreeMap::new();
        assert!(text.ends_with('\n'), "the exposition ends with a line feed");
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
                assert!(
                    ["counter", "gauge", "histogram"].contains(&kind),
                    "unknown type in {line:?}"
                );
                assert!(types.insert(name.to_string(), kind.to_string()).is_none(), "{line}");
                continue;
            }
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest.split_once(' ').expect("HELP name text");
                assert!(name.starts_with("lookout_") && !help.is_empty(), "{line}");
                continue;
            }
            assert!(!line.starts_with('#') && !line.is_empty(), "stray line {line:?}");
            let (series, value) = line.rsplit_once(' ').expect("series value");
            let value = match value {
                "+Inf" => f64::INFINITY,
                v => v.parse().unwrap_or_else(|_| panic!("bad value in {line:?}")),
            };
            let (name, labels) = match series.split_once('{') {
                None => (series.to_string(), Vec::new()),
                Some((name, rest)) => {
                    let body = rest.strip_suffix('}').expect("labels end with }");
                    (name.to_string(), parse_labels(body))
                }
            };
            assert!(name.starts_with("lookout_"), "{line}");
            assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{line}");
            samples.push(Sample { name, labels, value });
        }
        (samples, types)
    }

    fn parse_labels(body: &str) -> Vec<(String, String)> {
        let mut labels = Vec::new();
        let mut chars = body.chars().peekable();
        while chars.peek().is_some() {
            let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
            assert_eq!(chars.next(), Some('"'), "label value is quoted");
            let mut value = String::new();
            loop {
                match chars.next().expect("unterminated label value") {
                    '"' => break,
                    '\\' => match chars.next() {
                        Some('\\') => value.push('\\'),
                        Some('"') => value.push('"'),
                        Some('n') => value.push('\n'),
                        other => panic!("bad escape {other:?}"),
                    },
                    c => value.push(c),
                }
            }
            labels.push((name, value));
            if chars.peek() == Some(&',') {
                chars.next();
            }
        }
        labels
    }

    fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
        samples
            .iter()
            .find(|s| {
                s.name == name
                    && s.labels.len() == labels.len()
                    && s.labels.iter().zip(labels).all(|(a, b)| a.0 == b.0 && a.1 == b.1)
            })
            .unwrap_or_else(|| panic!("no sample {name} {labels:?}"))
            .value
    }

    #[test]
    fn render_is_well_formed_and_has_every_metric() {
        let m = Metrics::new();
        let t0 = Instant::now();
        m.frame_processed_at(t0, Duration::from_millis(30));
        m.frame_dropped();
        m.frame_dropped();
        m.faces_detected(3);
        m.decision("face", "me");
        m.decision("face", "me");
        m.decision("text", "say \"hi\"\\\nnow");
        m.inference_observed(Duration::from_micros(800));
        m.camera_reconnected();
        m.source_error();
        m.events_lost(4);
        m.action_failed("mqtt");
        m.action_failed("sound");
        m.action_failed("mqtt");
        m.model_reload_ok();
        m.model_reload_failed();
        m.model_reload_failed();
        m.motion_observed(0.7, true);
        m.motion_observed(0.25, false);
        m.frame_gated();
        m.detection_run(true);
        m.detection_run(false);
        m.detection_run(false);

        let text = m.render();
        let (samples, types) = parse(&text);
        let v = |name, labels: &[(&str, &str)]| value(&samples, name, labels);
        assert_eq!(v("lookout_frames_total", &[]), 1.0);
        assert_eq!(v("lookout_frames_dropped_total", &[]), 2.0);
        assert_eq!(v("lookout_faces_detected_total", &[]), 3.0);
        assert_eq!(v("lookout_decisions_total", &[("kind", "face"), ("label", "me")]), 2.0);
        assert_eq!(
            v("lookout_decisions_total", &[("kind", "text"), ("label", "say \"hi\"\\\nnow")]),
            1.0
        );
        assert!(text.contains(r#"label="say \"hi\"\\\nnow""#), "{text}");
        assert_eq!(v("lookout_inference_seconds_count", &[]), 1.0);
        assert!((v("lookout_inference_seconds_sum", &[]) - 0.0008).abs() < 1e-12);
        assert_eq!(v("lookout_inference_seconds_bucket", &[("le", "0.0005")]), 0.0);
        assert_eq!(v("lookout_inference_seconds_bucket", &[("le", "0.001")]), 1.0);
        assert_eq!(v("lookout_inference_seconds_bucket", &[("le", "+Inf")]), 1.0);
        assert_eq!(v("lookout_frame_seconds_bucket", &[("le", "0.025")]), 0.0);
        assert_eq!(v("lookout_frame_seconds_bucket", &[("le", "0.05")]), 1.0);
        assert_eq!(v("lookout_camera_reconnects_total", &[]), 1.0);
        assert_eq!(v("lookout_source_errors_total", &[]), 1.0);
        assert_eq!(v("lookout_events_lost_total", &[]), 4.0);
        assert_eq!(v("lookout_action_failures_total", &[("action", "mqtt")]), 2.0);
        assert_eq!(v("lookout_action_failures_total", &[("action", "sound")]), 1.0);
        assert_eq!(v("lookout_model_reloads_total", &[("result", "ok")]), 1.0);
        assert_eq!(v("lookout_model_reloads_total", &[("result", "failed")]), 2.0);
        assert_eq!(v("lookout_up", &[]), 1.0);
        assert_eq!(v("lookout_frames_gated_total", &[]), 1.0);
        assert_eq!(v("lookout_detections_total", &[("area", "frame")]), 2.0);
        assert_eq!(v("lookout_detections_total", &[("area", "regions")]), 1.0);
        assert_eq!(v("lookout_light_switches_total", &[]), 1.0);
        assert_eq!(v("lookout_motion_fraction", &[]), 0.25);
        assert!(v("lookout_fps", &[]) >= 0.0);

        for (name, kind) in [
            ("lookout_frames_total", "counter"),
            ("lookout_fps", "gauge"),
            ("lookout_decisions_total", "counter"),
            ("lookout_inference_seconds", "histogram"),
            ("lookout_model_reloads_total", "counter"),
            ("lookout_up", "gauge"),
        ] {
            assert_eq!(types.get(name).map(String::as_str), Some(kind), "{name}");
        }
        // Every sample belongs to a declared family.
        for s in &samples {
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| {
                    s.name
                        .strip_suffix(suffix)
                        .filter(|base| types.get(*base).is_some_and(|k| k == "histogram"))
                })
                .unwrap_or(&s.name);
            assert!(types.contains_key(family), "{} has no TYPE", s.name);
        }
    }

    #[test]
    fn fresh_metrics_render_zeroes() {
        let (samples, _) = parse(&Metrics::new().render());
        assert_eq!(value(&samples, "lookout_frames_total", &[]), 0.0);
        assert_eq!(value(&samples, "lookout_fps", &[]), 0.0);
        assert_eq!(value(&samples, "lookout_inference_seconds_bucket", &[("le", "+Inf")]), 0.0);
        assert_eq!(value(&samples, "lookout_model_reloads_total", &[("result", "ok")]), 0.0);
        assert!(!samples.iter().any(|s| s.name == "lookout_decisions_total"));
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::new();
        // One value per region: below the first bound, on a bound, between, above the last.
        for micros in [50, 100, 300, 300, 2_000, 700_000, 1_000_000, 3_000_000] {
            m.inference_observed(Duration::from_micros(micros));
        }
        let h = m.snapshot().inference_seconds;
        let at = |le: f64| h.buckets.iter().find(|(b, _)| *b == le).map(|(_, n)| *n);
        assert_eq!(at(0.0001), Some(2), "bounds are inclusive (le)");
        assert_eq!(at(0.00025), Some(2));
        assert_eq!(at(0.0005), Some(4));
        assert_eq!(at(0.0025), Some(5));
        assert_eq!(at(0.5), Some(5));
        assert_eq!(at(1.0), Some(7));
        assert_eq!(h.count, 8);
        assert!(h.buckets.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1));
        assert!((h.sum - 4.70275).abs() < 1e-9, "{}", h.sum);

        let (samples, _) = parse(&m.render());
        assert_eq!(value(&samples, "lookout_inference_seconds_bucket", &[("le", "1")]), 7.0);
        assert_eq!(value(&samples, "lookout_inference_seconds_bucket", &[("le", "+Inf")]), 8.0);
    }

    #[test]
    fn fps_over_a_sliding_window() {
        let m = Metrics::new();
        let t0 = Instant::now();
        assert_eq!(m.fps_at(t0), 0.0);
        m.frame_processed_at(t0, Duration::ZERO);
        assert_eq!(m.fps_at(t0), 0.0, "one frame is no rate yet");

        // 10 fps for 10 s.
        for i in 1..=100 {
            m.frame_processed_at(t0 + Duration::from_millis(100 * i), Duration::ZERO);
            if i == 10 {
                let fps = m.fps_at(t0 + Duration::from_secs(1));
                assert!((fps - 10.0).abs() < 1e-9, "warming up: {fps}");
            }
        }
        let end = t0 + Duration::from_secs(10);
        assert!((m.fps_at(end) - 10.0).abs() < 1e-9, "{}", m.fps_at(end));

        // The camera stalls: the rate decays as frames leave the window.
        let fps = m.fps_at(end + Duration::from_secs(3));
        assert!((fps - 4.0).abs() < 1e-9, "{fps}");
        assert_eq!(m.fps_at(end + Duration::from_secs(5)), 0.0);
        assert_eq!(m.last_frame_age_at(end + Duration::from_secs(3)), Some(Duration::from_secs(3)));

        // Frames come again at 2 fps.
        for i in 1..=20 {
            m.frame_processed_at(end + Duration::from_millis(20_000 + 500 * i), Duration::ZERO);
        }
        let fps = m.fps_at(end + Duration::from_secs(30));
        assert!((fps - 2.0).abs() < 1e-9, "{fps}");
        assert!(m.inner().recent_frames.len() <= 10, "old timestamps are dropped");
    }

    #[test]
    fn last_frame_age_is_none_before_any_frame() {
        let m = Metrics::new();
        assert_eq!(m.last_frame_age(), None);
        let t0 = Instant::now();
        m.frame_processed_at(t0, Duration::ZERO);
        assert_eq!(
            m.last_frame_age_at(t0 + Duration::from_millis(1500)),
            Some(Duration::from_millis(1500))
        );
    }

    #[test]
    fn decision_labels_are_capped() {
        let m = Metrics::new();
        for i in 0..MAX_DECISION_SERIES + 50 {
            m.decision("text", &format!("plate {i}"));
        }
        m.decision("text", "plate 0");
        let s = m.snapshot();
        assert_eq!(s.decisions.len(), MAX_DECISION_SERIES + 1);
        let other = s.decisions.iter().find(|d| d.label == OTHER_LABEL).map(|d| d.count);
        assert_eq!(other, Some(50));
        let first = s.decisions.iter().find(|d| d.label == "plate 0").map(|d| d.count);
        assert_eq!(first, Some(2), "known labels keep counting");
    }

    #[test]
    fn status_line_names_the_last_decision() {
        let m = Metrics::new();
        assert_eq!(m.snapshot().status_line(), "0.0 fps, 0 frames");
        m.frame_processed(Duration::ZERO);
        m.set_last_decision("face me (0.97)".into());
        assert_eq!(m.snapshot().status_line(), "0.0 fps, 1 frames, last: face me (0.97)");
    }

    #[test]
    fn metrics_are_shared_between_threads() {
        let m = std::sync::Arc::new(Metrics::new());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let m = m.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        m.frame_dropped();
                        m.decision("face", "me");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("worker thread");
        }
        let s = m.snapshot();
        assert_eq!(s.frames_dropped, 4000);
        assert_eq!(s.decisions[0].count, 4000);
    }
}
