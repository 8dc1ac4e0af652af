//! Validated settings: what the daemon runs with, built once from the raw TOML ([`Config`]) by
//! [`Settings::new`]. Every rule about a value lives here, so `lookout check`, `lookout run`,
//! `lookout capture` and a reload refuse exactly the same files with the same message, and the
//! components take types that cannot hold a bad value: an `Option` where the file says "off"
//! with an empty string, a [`SocketAddr`] instead of text, [`NonZeroUsize`] where zero would
//! break a loop, a [`TopicPrefix`] that cannot hold an MQTT wildcard.

use std::fmt;
use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroUsize};
use std::path::{Path, PathBuf};
use std::time::Duration;

use lookout_vision::cascade::Rect;

use crate::actions::audio::Sound;
use crate::config::{
    Config, ConfigError, FaceConfig, OverlapPolicy, PixelFormat, ScanArea, SourceSpec,
};
use crate::identity::unknown::UnknownStore;

/// The shipped face embedding model and landmark model, found by [`shipped_model`].
pub const EMBED_MODEL: &str = "face_embed.onnx";
pub const LANDMARK_MODEL: &str = "shape_predictor_5_face_landmarks.dat";

/// Where shipped models are looked for, in order: the Pi's writable model folder (a copy put
/// there wins), the .deb's, and the source checkout this binary was built from.
pub fn model_dirs() -> Vec<PathBuf> {
    vec![
        PathBuf::from("/var/lib/lookout/models"),
        PathBuf::from("/usr/share/lookout/models"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("models"),
    ]
}

/// The first of [`model_dirs`] holding `name`.
pub fn shipped_model(name: &str) -> Option<PathBuf> {
    model_dirs().into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

/// Why a shipped model was not found, for messages.
pub fn not_shipped(name: &str) -> String {
    let dirs: Vec<String> = model_dirs().iter().map(|d| d.display().to_string()).collect();
    format!(
        "the shipped {name} is in none of {} (install the .deb, or name the file)",
        dirs.join(", ")
    )
}

/// Everything `lookout run` needs from its configuration, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The file the settings came from (or "built-in defaults"), for messages.
    pub origin: PathBuf,
    pub source: SourceSettings,
    /// `None`: `[motion] enabled = false`.
    pub motion: Option<MotionSettings>,
    pub detect: DetectSettings,
    /// `None`: `[face] enabled = false`.
    pub face: Option<FaceSettings>,
    /// `None`: `[text] enabled = false`.
    pub text: Option<TextSettings>,
    /// `None`: `[audio] enabled = false`.
    pub audio: Option<AudioSettings>,
    pub actions: Vec<ActionSettings>,
    /// `None`: `[events] path = ""`.
    pub events: Option<EventsSettings>,
    /// `None`: `[snapshots] dir = ""`.
    pub snapshots: Option<SnapshotSettings>,
    /// `None`: `[mqtt] enabled = false`.
    pub mqtt: Option<MqttSettings>,
    /// `None`: `[http] enabled = false`.
    pub http: Option<HttpSettings>,
    pub reload: ReloadSettings,
    /// The file's values with defaults filled in, for `lookout check` to print.
    raw: Config,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SourceSettings {
    pub input: SourceSpec,
    pub width: NonZeroU32,
    pub height: NonZeroU32,
    pub fps: NonZeroU32,
    pub format: PixelFormat,
    pub frame_timeout: Duration,
    pub reconnect_max: Duration,
    /// Replay pacing in frames per second (positive, finite); `None` hands frames over as
    /// fast as they are consumed.
    pub replay_fps: Option<f64>,
    /// Passes over a replay folder; `None` = until stopped.
    pub replay_loops: Option<NonZeroU32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MotionSettings {
    /// 1-255.
    pub threshold: u8,
    /// Frame pixels, at least 1.
    pub min_area: u32,
    pub despeckle: bool,
    pub background: Duration,
    pub stationary: Duration,
    /// Within (0, 1]; 1 = only when every watched pixel changes.
    pub lightswitch: f32,
    pub linger: Duration,
    pub full_scan: Duration,
    pub scan: ScanArea,
    /// Each with at least three corners.
    pub masks: Vec<Vec<[i32; 2]>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DetectSettings {
    /// `None`: the built-in haarcascade_frontalface_default.xml.
    pub cascade: Option<PathBuf>,
    /// Frames wider than this are downscaled for detection; `None` = never.
    pub detect_width: Option<NonZeroU32>,
    /// Within (1, 4).
    pub scale_factor: f64,
    pub min_neighbors: u32,
    pub min_size: u32,
    pub threads: NonZeroUsize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FaceSettings {
    pub model: PathBuf,
    pub builtin_fallback: bool,
    /// Within [0, 1].
    pub min_confidence: f32,
    /// `vote_needed <= vote_window`.
    pub vote_window: NonZeroUsize,
    pub vote_needed: NonZeroUsize,
    /// Within (0, 1].
    pub track_iou: f64,
    pub track_timeout_frames: u64,
    /// Gallery mode: faces are identified instead of classified.
    pub identity: Option<IdentitySettings>,
}

/// `[face] gallery` and what identification needs.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentitySettings {
    pub gallery: PathBuf,
    pub embed_model: PathBuf,
    pub landmarks: PathBuf,
    pub samples: NonZeroUsize,
    /// `None`: the embedding model's own threshold.
    pub max_distance: Option<f32>,
    /// `None`: unknown visitors are not kept.
    pub unknown: Option<UnknownStore>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TextSettings {
    pub model: PathBuf,
    /// The region read, with an area.
    pub roi: Rect,
    pub stable_frames: NonZeroUsize,
    pub min_confidence: f32,
    pub top_k: usize,
    /// 0 or 1: greedy decoding.
    pub beam: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AudioSettings {
    /// `None`: the default ALSA output.
    pub device: Option<String>,
    pub overlap: OverlapPolicy,
    pub retry: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActionSettings {
    /// Not empty.
    pub on: String,
    /// Its file, or the built-in chime when the file says `sound = ""`.
    pub sound: Sound,
    /// Within [0, 1].
    pub volume: f32,
    pub cooldown: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EventsTarget {
    Stdout,
    File(PathBuf),
}

#[derive(Debug, Clone, PartialEq)]
pub struct EventsSettings {
    pub target: EventsTarget,
    pub max_bytes: u64,
    pub keep: NonZeroU32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotSettings {
    pub dir: PathBuf,
    pub quota_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttSettings {
    /// Not empty.
    pub host: String,
    /// Not 0.
    pub port: u16,
    /// Not empty.
    pub client_id: String,
    pub topic_prefix: TopicPrefix,
    /// At least 1 s (rumqttc asserts on less; zero would never notice a dead broker).
    pub keep_alive: Duration,
    pub username: Option<String>,
    /// Only with a username: MQTT sends a password only with one.
    pub password: Option<String>,
    /// Longest wait between reconnect attempts (the first waits 1 s, or this if shorter).
    pub reconnect_max: Duration,
}

/// An MQTT topic prefix without trailing slashes, wildcards or NUL, and short enough to leave
/// room for the topic names under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicPrefix(String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    /// A loopback address until the web page has a password.
    pub listen: SocketAddr,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReloadSettings {
    pub watch_models: bool,
    pub poll: Duration,
}

impl Settings {
    /// The built-in defaults: camera 0, the shipped face model.
    pub fn defaults() -> Settings {
        Settings::new(Config::default(), Path::new("built-in defaults"))
            .expect("the built-in defaults are valid")
    }

    /// Validates a raw configuration; `origin` names it in errors.
    pub fn new(raw: Config, origin: &Path) -> Result<Settings, ConfigError> {
        let v = Validator { origin };
        Ok(Settings {
            origin: origin.to_path_buf(),
            source: v.source(&raw)?,
            motion: v.motion(&raw)?,
            detect: v.detect(&raw)?,
            face: v.face(&raw)?,
            text: v.text(&raw)?,
            audio: v.audio(&raw)?,
            actions: raw.actions.iter().map(|a| v.action(a)).collect::<Result<_, _>>()?,
            events: v.events(&raw)?,
            snapshots: v.snapshots(&raw),
            mqtt: v.mqtt(&raw)?,
            http: v.http(&raw)?,
            reload: v.reload(&raw)?,
            raw,
        })
    }

    /// The effective settings as TOML, for `lookout check`.
    pub fn to_toml(&self) -> String {
        self.raw.to_toml()
    }

    /// Whether anything but a model wants frames in colour (snapshots and the HTTP picture
    /// are drawn on the colour frame).
    pub fn shows_frames(&self) -> bool {
        self.snapshots.is_some() || self.http.is_some()
    }

    /// The model files a reload watches, with what each is for.
    pub fn model_files(&self) -> Vec<(ModelRole, PathBuf)> {
        let face = self.face.as_ref().map(|f| match &f.identity {
            Some(identity) => (ModelRole::Gallery, identity.gallery.clone()),
            None => (ModelRole::Face, f.model.clone()),
        });
        let text = self.text.as_ref().map(|t| (ModelRole::Text, t.model.clone()));
        face.into_iter().chain(text).collect()
    }
}

/// What a model file is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelRole {
    Face,
    Text,
    /// The gallery of enrolled people (gallery mode).
    Gallery,
}

impl ModelRole {
    pub fn name(self) -> &'static str {
        match self {
            ModelRole::Face => "face",
            ModelRole::Text => "text",
            ModelRole::Gallery => "gallery",
        }
    }
}

impl TopicPrefix {
    pub fn new(prefix: &str) -> Result<TopicPrefix, String> {
        let prefix = prefix.trim_end_matches('/');
        if prefix.is_empty() {
            return Err("must not be empty".into());
        }
        if prefix.len() > 1024 {
            return Err("must be at most 1024 bytes".into());
        }
        if prefix.contains(['+', '#', '\0']) {
            return Err(format!("{prefix:?} must not contain '+', '#' or NUL"));
        }
        Ok(TopicPrefix(prefix.to_string()))
    }

    /// `<prefix>/<name>`.
    pub fn topic(&self, name: &str) -> String {
        format!("{}/{name}", self.0)
    }
}

impl fmt::Display for TopicPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Turns each raw section into its settings, naming the file and key of the first bad value.
struct Validator<'a> {
    origin: &'a Path,
}

impl Validator<'_> {
    fn bad<T>(&self, key: &'static str, reason: impl Into<String>) -> Result<T, ConfigError> {
        Err(ConfigError::Invalid { path: self.origin.to_path_buf(), key, reason: reason.into() })
    }

    /// A positive, finite number of seconds, at least `min`.
    fn seconds(&self, key: &'static str, value: f64, min: f64) -> Result<Duration, ConfigError> {
        // NaN is not greater than zero either, which `value <= 0.0` would let through.
        if value.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            return self.bad(key, format!("{value} is not a positive number"));
        }
        if value < min {
            return self.bad(key, format!("{value} is below {min} s"));
        }
        match Duration::try_from_secs_f64(value) {
            Ok(d) => Ok(d),
            Err(_) => self.bad(key, format!("{value} is too large")),
        }
    }

    fn source(&self, raw: &Config) -> Result<SourceSettings, ConfigError> {
        let s = &raw.source;
        let positive = |v: u32| NonZeroU32::new(v);
        let (Some(width), Some(height), Some(fps)) =
            (positive(s.width), positive(s.height), positive(s.fps))
        else {
            return self.bad("source.width/height/fps", "must be positive");
        };
        let replay_fps = if s.replay_fps == 0.0 {
            None
        } else if s.replay_fps.is_finite() && s.replay_fps > 0.0 {
            Some(s.replay_fps)
        } else {
            return self.bad(
                "source.replay_fps",
                format!("{} is not 0 or a positive number", s.replay_fps),
            );
        };
        Ok(SourceSettings {
            input: s.input.clone(),
            width,
            height,
            fps,
            format: s.format,
            frame_timeout: self.seconds("source.frame_timeout_s", s.frame_timeout_s, 0.0)?,
            reconnect_max: self.seconds("source.reconnect_max_s", s.reconnect_max_s, 0.5)?,
            replay_fps,
            replay_loops: NonZeroU32::new(s.replay_loops),
        })
    }

    fn motion(&self, raw: &Config) -> Result<Option<MotionSettings>, ConfigError> {
        let m = &raw.motion;
        if !m.enabled {
            return Ok(None);
        }
        let Ok(threshold @ 1..=255) = u8::try_from(m.threshold) else {
            return self.bad("motion.threshold", format!("{} is outside 1-255", m.threshold));
        };
        if m.min_area == 0 {
            return self.bad("motion.min_area", "must be at least 1 pixel");
        }
        if !(1..=100).contains(&m.lightswitch_percent) {
            return self.bad(
                "motion.lightswitch_percent",
                format!("{} is outside 1-100", m.lightswitch_percent),
            );
        }
        // Zero is a valid linger: scan only the frames that move.
        let linger = if m.linger_s == 0.0 {
            Duration::ZERO
        } else {
            self.seconds("motion.linger_s", m.linger_s, 0.0)?
        };
        if let Some(i) = m.masks.iter().position(|p| p.len() < 3) {
            return self.bad("motion.masks", format!("mask {} has fewer than 3 corners", i + 1));
        }
        Ok(Some(MotionSettings {
            threshold,
            min_area: m.min_area,
            despeckle: m.despeckle,
            background: self.seconds("motion.background_s", m.background_s, 0.1)?,
            stationary: self.seconds("motion.stationary_s", m.stationary_s, 0.1)?,
            lightswitch: m.lightswitch_percent as f32 / 100.0,
            linger,
            full_scan: self.seconds("motion.full_scan_s", m.full_scan_s, 0.1)?,
            scan: m.scan,
            masks: m.masks.clone(),
        }))
    }

    fn detect(&self, raw: &Config) -> Result<DetectSettings, ConfigError> {
        let d = &raw.detect;
        if !(d.scale_factor > 1.0 && d.scale_factor < 4.0) {
            return self
                .bad("detect.scale_factor", format!("{} is outside (1, 4)", d.scale_factor));
        }
        let Some(threads) = NonZeroUsize::new(d.threads) else {
            return self.bad("detect.threads", "must be at least 1");
        };
        Ok(DetectSettings {
            cascade: non_empty(&d.cascade),
            detect_width: NonZeroU32::new(d.detect_width),
            scale_factor: d.scale_factor,
            min_neighbors: d.min_neighbors,
            min_size: d.min_size,
            threads,
        })
    }

    fn face(&self, raw: &Config) -> Result<Option<FaceSettings>, ConfigError> {
        let f = &raw.face;
        if !(0.0..=1.0).contains(&f.min_confidence) {
            return self
                .bad("face.min_confidence", format!("{} is outside [0, 1]", f.min_confidence));
        }
        let (Some(vote_window), Some(vote_needed)) =
            (NonZeroUsize::new(f.vote_window), NonZeroUsize::new(f.vote_needed))
        else {
            return self.vote_error(f.vote_needed, f.vote_window);
        };
        if vote_needed > vote_window {
            return self.vote_error(f.vote_needed, f.vote_window);
        }
        if !(f.track_iou > 0.0 && f.track_iou <= 1.0) {
            return self.bad("face.track_iou", format!("{} is outside (0, 1]", f.track_iou));
        }
        if !f.enabled {
            return Ok(None);
        }
        let Some(model) = non_empty(&f.model) else {
            return self.bad("face.model", "is empty while face.enabled = true");
        };
        Ok(Some(FaceSettings {
            model,
            builtin_fallback: f.builtin_fallback,
            min_confidence: f.min_confidence,
            vote_window,
            vote_needed,
            track_iou: f.track_iou,
            track_timeout_frames: f.track_timeout_frames,
            identity: self.identity(f)?,
        }))
    }

    fn identity(&self, f: &FaceConfig) -> Result<Option<IdentitySettings>, ConfigError> {
        let Some(gallery) = non_empty(&f.gallery) else { return Ok(None) };
        let Some(samples) = NonZeroUsize::new(f.samples) else {
            return self.bad("face.samples", "must be at least 1");
        };
        if !(f.max_distance.is_finite() && f.max_distance >= 0.0) {
            return self.bad("face.max_distance", format!("{} is not a distance", f.max_distance));
        }
        let shipped = |configured: &Path, key: &'static str, name: &str| match non_empty(configured)
        {
            Some(path) => Ok(path),
            None => match shipped_model(name) {
                Some(path) => Ok(path),
                None => self.bad(key, format!("is empty and {}", not_shipped(name))),
            },
        };
        let embed_model = shipped(&f.embed_model, "face.embed_model", EMBED_MODEL)?;
        let landmarks = shipped(&f.landmarks, "face.landmarks", LANDMARK_MODEL)?;
        let unknown = (f.unknown_keep > 0).then(|| UnknownStore {
            dir: UnknownStore::beside(&gallery),
            max_count: f.unknown_keep,
            max_bytes: f.unknown_max_mb.saturating_mul(1 << 20),
        });
        Ok(Some(IdentitySettings {
            gallery,
            embed_model,
            landmarks,
            samples,
            max_distance: (f.max_distance > 0.0).then_some(f.max_distance),
            unknown,
        }))
    }

    fn vote_error<T>(&self, needed: usize, window: usize) -> Result<T, ConfigError> {
        self.bad(
            "face.vote_needed",
            format!("needs 1 <= vote_needed ({needed}) <= vote_window ({window})"),
        )
    }

    fn text(&self, raw: &Config) -> Result<Option<TextSettings>, ConfigError> {
        let t = &raw.text;
        if !t.enabled {
            return Ok(None);
        }
        let Some(model) = non_empty(&t.model) else {
            return self.bad("text.model", "is empty while text.enabled = true");
        };
        let [x, y, width, height] = t.roi;
        let fits = |v: u32| i32::try_from(v).ok();
        let roi = match (fits(x), fits(y), fits(width), fits(height)) {
            (Some(x), Some(y), Some(width), Some(height))
                if width > 0
                    && height > 0
                    && x.checked_add(width).is_some()
                    && y.checked_add(height).is_some() =>
            {
                Rect { x, y, width, height }
            }
            _ => {
                return self.bad(
                    "text.roi",
                    format!("{:?} has no area; expected [x, y, width, height]", t.roi),
                )
            }
        };
        let Some(stable_frames) = NonZeroUsize::new(t.stable_frames) else {
            return self.bad("text.stable_frames", "must be at least 1");
        };
        if !(0.0..=1.0).contains(&t.min_confidence) {
            return self
                .bad("text.min_confidence", format!("{} is outside [0, 1]", t.min_confidence));
        }
        Ok(Some(TextSettings {
            model,
            roi,
            stable_frames,
            min_confidence: t.min_confidence,
            top_k: t.top_k,
            beam: t.beam,
        }))
    }

    fn audio(&self, raw: &Config) -> Result<Option<AudioSettings>, ConfigError> {
        let a = &raw.audio;
        let retry = self.seconds("audio.retry_s", a.retry_s, 0.0)?;
        Ok(a.enabled.then(|| AudioSettings {
            device: (!a.device.is_empty()).then(|| a.device.clone()),
            overlap: a.overlap,
            retry,
        }))
    }

    fn action(&self, a: &crate::config::ActionConfig) -> Result<ActionSettings, ConfigError> {
        if a.on.is_empty() {
            return self.bad("action.on", "every [[action]] needs `on = \"<label>\"`");
        }
        if !(0.0..=1.0).contains(&a.volume) {
            return self
                .bad("action.volume", format!("{} (on = {:?}) is outside [0, 1]", a.volume, a.on));
        }
        let cooldown = match Duration::try_from_secs_f64(a.cooldown_s) {
            Ok(d) => d,
            Err(_) => {
                return self.bad(
                    "action.cooldown_s",
                    format!("{} (on = {:?}) is not 0 or a positive number", a.cooldown_s, a.on),
                )
            }
        };
        let sound = match non_empty(&a.sound) {
            Some(path) => Sound::File(path),
            None => Sound::Chime,
        };
        Ok(ActionSettings { on: a.on.clone(), sound, volume: a.volume, cooldown })
    }

    fn events(&self, raw: &Config) -> Result<Option<EventsSettings>, ConfigError> {
        let e = &raw.events;
        let Some(path) = non_empty(&e.path) else { return Ok(None) };
        // keep = 0 would make rotation delete the log itself.
        let Some(keep) = NonZeroU32::new(e.keep) else {
            return self.bad("events.keep", "must be at least 1");
        };
        let target =
            if path.as_os_str() == "-" { EventsTarget::Stdout } else { EventsTarget::File(path) };
        Ok(Some(EventsSettings { target, max_bytes: e.max_bytes, keep }))
    }

    fn snapshots(&self, raw: &Config) -> Option<SnapshotSettings> {
        let s = &raw.snapshots;
        non_empty(&s.dir).map(|dir| SnapshotSettings { dir, quota_bytes: s.quota_bytes })
    }

    fn mqtt(&self, raw: &Config) -> Result<Option<MqttSettings>, ConfigError> {
        let m = &raw.mqtt;
        if !m.enabled {
            return Ok(None);
        }
        if m.host.is_empty() {
            return self.bad("mqtt.host", "must not be empty");
        }
        if m.port == 0 {
            return self.bad("mqtt.port", "must not be 0");
        }
        if m.client_id.is_empty() {
            return self.bad("mqtt.client_id", "must not be empty");
        }
        let topic_prefix = match TopicPrefix::new(&m.topic_prefix) {
            Ok(prefix) => prefix,
            Err(reason) => return self.bad("mqtt.topic_prefix", reason),
        };
        if m.keep_alive_s < 1 {
            return self.bad("mqtt.keep_alive_s", "must be at least 1 s");
        }
        let username = (!m.username.is_empty()).then(|| m.username.clone());
        let password = (!m.password.is_empty()).then(|| m.password.clone());
        if password.is_some() && username.is_none() {
            return self.bad("mqtt.password", "MQTT sends a password only with a username");
        }
        Ok(Some(MqttSettings {
            host: m.host.clone(),
            port: m.port,
            client_id: m.client_id.clone(),
            topic_prefix,
            keep_alive: Duration::from_secs(m.keep_alive_s),
            username,
            password,
            reconnect_max: Duration::from_secs(30),
        }))
    }

    fn http(&self, raw: &Config) -> Result<Option<HttpSettings>, ConfigError> {
        let h = &raw.http;
        if !h.enabled {
            return Ok(None);
        }
        let listen: SocketAddr = match h.listen.parse() {
            Ok(addr) => addr,
            Err(e) => {
                return self.bad(
                    "http.listen",
                    format!("{:?}: {e}; expected e.g. 127.0.0.1:9898", h.listen),
                )
            }
        };
        if !listen.ip().is_loopback() {
            return self.bad(
                "http.listen",
                format!(
                    "{listen} is reachable from other machines, and the endpoint has no password: \
                     /snapshot.jpg would show this camera's picture to anyone on the network; \
                     listen on a loopback address such as 127.0.0.1:{} (reach it through an SSH \
                     tunnel or a reverse proxy with a login)",
                    listen.port()
                ),
            );
        }
        Ok(Some(HttpSettings { listen }))
    }

    fn reload(&self, raw: &Config) -> Result<ReloadSettings, ConfigError> {
        let r = &raw.reload;
        let poll = self.seconds("reload.poll_s", r.poll_s, 0.0)?;
        Ok(ReloadSettings { watch_models: r.watch_models, poll })
    }
}

/// `None` for the empty path the file uses to say "off".
fn non_empty(path: &Path) -> Option<PathBuf> {
    (!path.as_os_str().is_empty()).then(|| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(text: &str) -> Result<Settings, ConfigError> {
        Settings::new(Config::parse(text, Path::new("test.toml"))?, Path::new("test.toml"))
    }

    fn error(text: &str) -> String {
        match settings(text) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_defaults_are_valid() {
        let s = Settings::defaults();
        assert!(s.face.is_some() && s.text.is_none() && s.mqtt.is_none() && s.http.is_none());
        assert_eq!(s.actions.len(), 2);
        assert_eq!(s.actions[0].sound, Sound::Chime);
        assert_eq!(s.detect.cascade, None);
    }

    #[test]
    fn ranges_are_checked_and_named() {
        let cases = [
            ("[face]\nvote_window = 2\nvote_needed = 3\n", "face.vote_needed"),
            ("[face]\nvote_needed = 0\n", "face.vote_needed"),
            ("[[action]]\non = \"me\"\nvolume = 2.0\n", "action.volume"),
            ("[[action]]\non = \"me\"\ncooldown_s = -1.0\n", "action.cooldown_s"),
            ("[[action]]\nsound = \"a.wav\"\n", "action.on"),
            ("[text]\nenabled = true\nmodel = \"d.onnx\"\n", "text.roi"),
            ("[text]\nenabled = true\nroi = [0, 0, 10, 10]\n", "text.model"),
            ("[http]\nenabled = true\nlisten = \"localhost\"\n", "http.listen"),
            ("[source]\nframe_timeout_s = nan\n", "source.frame_timeout_s"),
            ("[source]\nreconnect_max_s = 0.1\n", "source.reconnect_max_s"),
            ("[source]\nreplay_fps = -1.0\n", "source.replay_fps"),
            ("[source]\nfps = 0\n", "source.width/height/fps"),
            ("[detect]\nscale_factor = 1.0\n", "detect.scale_factor"),
            ("[motion]\nthreshold = 0\n", "motion.threshold"),
            ("[motion]\nthreshold = 256\n", "motion.threshold"),
            ("[motion]\nmin_area = 0\n", "motion.min_area"),
            ("[motion]\nlightswitch_percent = 0\n", "motion.lightswitch_percent"),
            ("[motion]\nlightswitch_percent = 101\n", "motion.lightswitch_percent"),
            ("[motion]\nlinger_s = -1.0\n", "motion.linger_s"),
            ("[motion]\nfull_scan_s = 0.0\n", "motion.full_scan_s"),
            ("[motion]\nbackground_s = nan\n", "motion.background_s"),
            ("[motion]\nstationary_s = 0.0\n", "motion.stationary_s"),
            ("[motion]\nmasks = [[[0, 0], [10, 0]]]\n", "motion.masks"),
            ("[detect]\nthreads = 0\n", "detect.threads"),
            ("[events]\nkeep = 0\n", "events.keep"),
            ("[audio]\nretry_s = 0.0\n", "audio.retry_s"),
            ("[reload]\npoll_s = inf\n", "reload.poll_s"),
        ];
        for (text, key) in cases {
            let err = error(text);
            assert!(err.starts_with(&format!("test.toml: `{key}`: ")), "{key}: {err}");
        }
    }

    #[test]
    fn mqtt_rules_live_here() {
        let on = "[mqtt]\nenabled = true\n";
        let cases = [
            ("host = \"\"\n", "mqtt.host"),
            ("port = 0\n", "mqtt.port"),
            ("client_id = \"\"\n", "mqtt.client_id"),
            ("topic_prefix = \"a/#\"\n", "mqtt.topic_prefix"),
            ("topic_prefix = \"a/+/b\"\n", "mqtt.topic_prefix"),
            ("topic_prefix = \"//\"\n", "mqtt.topic_prefix"),
            ("keep_alive_s = 0\n", "mqtt.keep_alive_s"),
            ("password = \"secret\"\n", "mqtt.password"),
        ];
        for (line, key) in cases {
            let err = error(&format!("{on}{line}"));
            assert!(err.starts_with(&format!("test.toml: `{key}`: ")), "{key}: {err}");
        }
        let s = settings(&format!("{on}topic_prefix = \"home/door/\"\n")).unwrap();
        assert_eq!(s.mqtt.unwrap().topic_prefix.topic("events"), "home/door/events");
        // Off, the section's values do not matter.
        assert!(settings("[mqtt]\ntopic_prefix = \"a/#\"\n").unwrap().mqtt.is_none());
    }

    #[test]
    fn http_is_loopback_only_until_it_has_a_password() {
        for addr in ["0.0.0.0:9898", "192.168.1.20:9898", "[::]:9898"] {
            let err = error(&format!("[http]\nenabled = true\nlisten = \"{addr}\"\n"));
            assert!(err.contains("http.listen") && err.contains("no password"), "{err}");
        }
        for addr in ["127.0.0.1:9898", "127.0.0.2:80", "[::1]:9898"] {
            let s = settings(&format!("[http]\nenabled = true\nlisten = \"{addr}\"\n")).unwrap();
            assert_eq!(s.http.unwrap().listen, addr.parse().unwrap());
        }
    }

    #[test]
    fn empty_strings_become_none() {
        let s = settings(
            "[events]\npath = \"\"\n[snapshots]\ndir = \"\"\n[audio]\ndevice = \"\"\n\
             [detect]\ncascade = \"\"\ndetect_width = 0\n[source]\nreplay_loops = 0\n",
        )
        .unwrap();
        assert_eq!(s.events, None);
        assert_eq!(s.snapshots, None);
        assert_eq!(s.audio.unwrap().device, None);
        assert_eq!((s.detect.cascade, s.detect.detect_width), (None, None));
        assert_eq!(s.source.replay_loops, None);
        let s = settings("[events]\npath = \"-\"\n[snapshots]\ndir = \"/tmp/s\"\n").unwrap();
        assert_eq!(s.events.unwrap().target, EventsTarget::Stdout);
        assert_eq!(s.snapshots.unwrap().dir, PathBuf::from("/tmp/s"));
    }

    #[test]
    fn a_text_region_is_a_rect() {
        let s =
            settings("[text]\nenabled = true\nmodel = \"d.onnx\"\nroi = [1, 2, 30, 40]\n").unwrap();
        assert_eq!(s.text.unwrap().roi, Rect { x: 1, y: 2, width: 30, height: 40 });
        let err =
            error("[text]\nenabled = true\nmodel = \"d.onnx\"\nroi = [4294967295, 0, 5, 5]\n");
        assert!(err.contains("text.roi"), "{err}");
    }
}
