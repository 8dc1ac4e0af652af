//! The configuration file as written: TOML, every key optional with its default built in
//! ([`Config::default`]), unknown keys and wrong types refused by name. The values are checked
//! by [`crate::settings`], which turns a `Config` into the settings the daemon runs with.
//! `systemd/lookout.toml` documents every key with its default; a unit test keeps the two
//! identical.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where the shipped `.deb` keeps models; `scp face.onnx pi:/var/lib/lookout/models/` replaces
/// the default one.
pub const DEFAULT_FACE_MODEL: &str = "/var/lib/lookout/models/face.onnx";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: `{key}`: {reason}")]
    Invalid { path: PathBuf, key: &'static str, reason: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub source: SourceConfig,
    pub motion: MotionConfig,
    pub detect: DetectConfig,
    pub face: FaceConfig,
    pub text: TextConfig,
    pub audio: AudioConfig,
    #[serde(rename = "action")]
    pub actions: Vec<ActionConfig>,
    pub events: EventsConfig,
    pub snapshots: SnapshotConfig,
    pub mqtt: MqttConfig,
    pub http: HttpConfig,
    pub reload: ReloadConfig,
}

impl Default for Config {
    /// Camera 0, the shipped face model, the built-in chime for "me" and for "other".
    fn default() -> Self {
        let chime = |label: &str| ActionConfig { on: label.into(), ..ActionConfig::default() };
        Config {
            source: SourceConfig::default(),
            motion: MotionConfig::default(),
            detect: DetectConfig::default(),
            face: FaceConfig::default(),
            text: TextConfig::default(),
            audio: AudioConfig::default(),
            actions: vec![chime("me"), chime("other")],
            events: EventsConfig::default(),
            snapshots: SnapshotConfig::default(),
            mqtt: MqttConfig::default(),
            http: HttpConfig::default(),
            reload: ReloadConfig::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SourceConfig {
    /// `camera:0`, `camera:/dev/v4l/by-id/...` or `replay:DIR`.
    pub input: SourceSpec,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub format: PixelFormat,
    /// No frame for this long: the camera is closed and reopened.
    pub frame_timeout_s: f64,
    /// Reopening backs off from 0.5 s, doubling up to this.
    pub reconnect_max_s: f64,
    /// Replay pacing in frames per second; 0 hands frames over as fast as they are consumed.
    pub replay_fps: f64,
    /// How many times a replay plays its folder (0 = over and over until stopped).
    pub replay_loops: u32,
}

impl Default for SourceConfig {
    fn default() -> Self {
        SourceConfig {
            input: SourceSpec::Camera(CameraId::Index(0)),
            width: 640,
            height: 480,
            fps: 15,
            format: PixelFormat::Mjpeg,
            frame_timeout_s: 5.0,
            reconnect_max_s: 30.0,
            replay_fps: 0.0,
            replay_loops: 1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PixelFormat {
    Mjpeg,
    Yuyv,
}

/// Which frames to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    Camera(CameraId),
    Replay(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CameraId {
    Index(u32),
    /// A device node; `/dev/v4l/by-id/...` names survive re-plugging.
    Path(PathBuf),
}

impl FromStr for SourceSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if let Some(rest) = s.strip_prefix("camera:") {
            if rest.is_empty() {
                return Err("`camera:` needs a device index or path, e.g. camera:0".into());
            }
            return Ok(match rest.parse::<u32>() {
                Ok(index) => SourceSpec::Camera(CameraId::Index(index)),
                Err(_) => SourceSpec::Camera(CameraId::Path(PathBuf::from(rest))),
            });
        }
        if let Some(rest) = s.strip_prefix("replay:") {
            if rest.is_empty() {
                return Err("`replay:` needs a folder of images, e.g. replay:frames/".into());
            }
            return Ok(SourceSpec::Replay(PathBuf::from(rest)));
        }
        Err(format!("`{s}`: expected camera:N, camera:/dev/... or replay:DIR"))
    }
}

impl fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceSpec::Camera(CameraId::Index(i)) => write!(f, "camera:{i}"),
            SourceSpec::Camera(CameraId::Path(p)) => write!(f, "camera:{}", p.display()),
            SourceSpec::Replay(p) => write!(f, "replay:{}", p.display()),
        }
    }
}

impl Serialize for SourceSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SourceSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MotionConfig {
    /// Off: every frame goes through the cascade.
    pub enabled: bool,
    /// Gray levels (1-255) a pixel of the gate's small picture must differ from the background.
    pub threshold: u32,
    /// Smallest moving blob that counts, in frame pixels (width x height of its pixels).
    pub min_area: u32,
    /// Drop isolated changed pixels (sensor noise in a dark room) before blobs are counted.
    pub despeckle: bool,
    /// Seconds for the background to take in a lasting change (a moved chair, daylight).
    pub background_s: f64,
    /// Seconds after which a change that stays put (something set down, the wall where someone
    /// sat before they left) is taken into the background at once.
    pub stationary_s: f64,
    /// When this share of the watched frame changes at once (lights, IR mode), the background
    /// is learnt again instead of running the cascade; 100 = never.
    pub lightswitch_percent: u32,
    /// Seconds the cascade keeps running on whole frames after motion stops.
    pub linger_s: f64,
    /// Seconds between whole-frame scans while nothing moves, so someone sitting still is seen.
    pub full_scan_s: f64,
    /// Where the cascade looks on a frame with motion: `regions` (what moved, grown and
    /// merged) or `frame` (the whole frame).
    pub scan: ScanArea,
    /// Polygons in frame pixels where motion is ignored (a TV, a window, a clock):
    /// `masks = [[[0, 0], [120, 0], [120, 90], [0, 90]]]`.
    pub masks: Vec<Vec<[i32; 2]>>,
}

impl Default for MotionConfig {
    fn default() -> Self {
        MotionConfig {
            enabled: true,
            threshold: 25,
            min_area: 900,
            despeckle: true,
            background_s: 10.0,
            stationary_s: 5.0,
            lightswitch_percent: 60,
            linger_s: 2.0,
            full_scan_s: 5.0,
            scan: ScanArea::Regions,
            masks: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScanArea {
    Regions,
    Frame,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DetectConfig {
    /// Cascade XML; empty = the built-in haarcascade_frontalface_default.xml.
    pub cascade: PathBuf,
    /// Frames wider than this are downscaled for detection (faces are cropped from the full
    /// frame); 0 = never.
    pub detect_width: u32,
    pub scale_factor: f64,
    pub min_neighbors: u32,
    /// Smallest face, in full-frame pixels.
    pub min_size: u32,
    /// Threads for the cascade scan.
    pub threads: usize,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            cascade: PathBuf::new(),
            detect_width: 320,
            scale_factor: 1.2,
            min_neighbors: 5,
            min_size: 40,
            threads: 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaceConfig {
    pub enabled: bool,
    /// The face classifier (task `classify`).
    pub model: PathBuf,
    /// When `model` does not exist, run the face.onnx built into the binary (and switch to the
    /// file as soon as it appears).
    pub builtin_fallback: bool,
    /// A frame votes for a label only when the classifier is at least this sure.
    pub min_confidence: f32,
    /// Temporal vote: a label must win `vote_needed` of the last `vote_window` frames of a track.
    pub vote_window: usize,
    pub vote_needed: usize,
    /// A face continues a track when its box overlaps the track's last box by this IoU.
    pub track_iou: f64,
    /// A track not seen for this many frames is over (the visit ended).
    pub track_timeout_frames: u64,
    /// The gallery of enrolled people (`lookout enroll`); when set, faces are identified by
    /// their embeddings instead of classified by `model`.
    pub gallery: PathBuf,
    /// The face embedding model (task `embed`); empty: the shipped `face_embed.onnx`.
    pub embed_model: PathBuf,
    /// dlib's 5-point landmark model; empty: the shipped one.
    pub landmarks: PathBuf,
    /// Frames of each visit described before deciding who it is.
    pub samples: usize,
    /// Largest mean distance that still names a person; 0: the model's threshold (0.6).
    pub max_distance: f32,
    /// Unknown visitors kept for naming later (`lookout enroll --from-unknown ID`); 0: none.
    pub unknown_keep: usize,
    /// ... and at most this many MB of them.
    pub unknown_max_mb: u64,
}

impl Default for FaceConfig {
    fn default() -> Self {
        FaceConfig {
            enabled: true,
            model: PathBuf::from(DEFAULT_FACE_MODEL),
            builtin_fallback: true,
            min_confidence: 0.7,
            vote_window: 5,
            vote_needed: 3,
            track_iou: 0.3,
            track_timeout_frames: 10,
            gallery: PathBuf::new(),
            embed_model: PathBuf::new(),
            landmarks: PathBuf::new(),
            samples: 3,
            max_distance: 0.0,
            unknown_keep: 50,
            unknown_max_mb: 20,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TextConfig {
    pub enabled: bool,
    /// A CTC model (digit strings) or a character classifier (hanzi).
    pub model: PathBuf,
    /// Region of the frame to read: [x, y, width, height] in pixels.
    pub roi: [u32; 4],
    /// The same text must be read in this many consecutive frames to count.
    pub stable_frames: usize,
    /// Character classifiers: the top-1 probability needed.
    pub min_confidence: f32,
    /// Character classifiers: alternatives reported in the event.
    pub top_k: usize,
    /// CTC models: beam width; 0 or 1 = greedy.
    pub beam: usize,
}

impl Default for TextConfig {
    fn default() -> Self {
        TextConfig {
            enabled: false,
            model: PathBuf::new(),
            roi: [0, 0, 0, 0],
            stable_frames: 3,
            min_confidence: 0.5,
            top_k: 3,
            beam: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AudioConfig {
    pub enabled: bool,
    /// ALSA device name; empty = the default output.
    pub device: String,
    /// A decision while a sound plays: `skip` it, or `queue` one sound behind the current.
    pub overlap: OverlapPolicy,
    /// No audio device: try again this often.
    pub retry_s: f64,
}

impl Default for AudioConfig {
    fn default() -> Self {
        AudioConfig {
            enabled: true,
            device: String::new(),
            overlap: OverlapPolicy::Skip,
            retry_s: 30.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OverlapPolicy {
    Skip,
    Queue,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ActionConfig {
    /// The decision label this action answers (a face label such as "me", or a text).
    pub on: String,
    /// wav/mp3/ogg/flac file; empty = the built-in chime.
    pub sound: PathBuf,
    pub volume: f32,
    /// After this action ran, the same label does not trigger it again for this long.
    pub cooldown_s: f64,
}

impl Default for ActionConfig {
    fn default() -> Self {
        ActionConfig { on: String::new(), sound: PathBuf::new(), volume: 1.0, cooldown_s: 60.0 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventsConfig {
    /// JSON lines, one per decision; `-` = standard output, empty = off.
    pub path: PathBuf,
    /// The log is rotated (events.jsonl → events.jsonl.1 …) when it reaches this size.
    pub max_bytes: u64,
    /// Rotated files kept.
    pub keep: u32,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            path: PathBuf::from("/var/lib/lookout/events.jsonl"),
            max_bytes: 10_000_000,
            keep: 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SnapshotConfig {
    /// Annotated JPEG per decision; empty = off.
    pub dir: PathBuf,
    /// Oldest snapshots are deleted to stay under this many bytes.
    pub quota_bytes: u64,
}

impl Default for SnapshotConfig {
    fn default() -> Self {
        SnapshotConfig { dir: PathBuf::new(), quota_bytes: 100_000_000 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MqttConfig {
    pub enabled: bool,
    pub host: String,
    pub port: u16,
    pub client_id: String,
    /// Events go to `<prefix>/events`, online/offline to `<prefix>/availability`.
    pub topic_prefix: String,
    pub username: String,
    pub password: String,
    pub keep_alive_s: u64,
}

impl Default for MqttConfig {
    fn default() -> Self {
        MqttConfig {
            enabled: false,
            host: "localhost".into(),
            port: 1883,
            client_id: "lookout".into(),
            topic_prefix: "lookout".into(),
            username: String::new(),
            password: String::new(),
            keep_alive_s: 30,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    pub enabled: bool,
    /// /healthz, /metrics and /snapshot.jpg; keep it on loopback unless you mean it.
    pub listen: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig { enabled: false, listen: "127.0.0.1:9898".into() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReloadConfig {
    /// Model files replaced on disk are validated and swapped in.
    pub watch_models: bool,
    pub poll_s: f64,
}

impl Default for ReloadConfig {
    fn default() -> Self {
        ReloadConfig { watch_models: true, poll_s: 2.0 }
    }
}

impl Config {
    /// Reads `path`; relative paths inside it are made relative to its folder. The values
    /// are checked by [`crate::settings::Settings::new`].
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        let mut config = Config::parse(&text, path)?;
        let base = path.parent().unwrap_or(Path::new(""));
        config.resolve_paths(base);
        Ok(config)
    }

    /// Parses TOML text; `path` only names the source in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })
    }

    /// Makes every relative path relative to `base` instead of the working directory.
    pub fn resolve_paths(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if !p.as_os_str().is_empty() && p.is_relative() && p.as_os_str() != "-" {
                *p = base.join(&*p);
            }
        };
        if let SourceSpec::Replay(dir) = &mut self.source.input {
            fix(dir);
        }
        fix(&mut self.detect.cascade);
        fix(&mut self.face.model);
        fix(&mut self.face.gallery);
        fix(&mut self.face.embed_model);
        fix(&mut self.face.landmarks);
        fix(&mut self.text.model);
        for action in &mut self.actions {
            fix(&mut action.sound);
        }
        fix(&mut self.events.path);
        fix(&mut self.snapshots.dir);
    }

    /// The effective settings as TOML, for `lookout check`.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot show settings: {e}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("test.toml"))
    }

    #[test]
    fn example_file_documents_exactly_the_defaults() {
        let text = include_str!("../systemd/lookout.toml");
        let example = Config::parse(text, Path::new("systemd/lookout.toml")).unwrap();
        assert_eq!(example, Config::default());
    }

    #[test]
    fn empty_file_is_the_defaults() {
        assert_eq!(parse("").unwrap(), Config::default());
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = parse("[face]\nmin_confidense = 0.5\n").unwrap_err().to_string();
        assert!(err.contains("test.toml") && err.contains("min_confidense"), "{err}");
        let err = parse("[camera]\n").unwrap_err().to_string();
        assert!(err.contains("camera"), "{err}");
    }

    #[test]
    fn wrong_types_are_named() {
        let err = parse("[face]\nvote_window = \"five\"\n").unwrap_err().to_string();
        assert!(err.contains("vote_window") && err.contains("line 2"), "{err}");
    }

    #[test]
    fn sources_parse() {
        let c = parse("[source]\ninput = \"camera:/dev/v4l/by-id/usb-cam\"\n").unwrap();
        assert_eq!(
            c.source.input,
            SourceSpec::Camera(CameraId::Path("/dev/v4l/by-id/usb-cam".into()))
        );
        let c = parse("[source]\ninput = \"replay:frames\"\n").unwrap();
        assert_eq!(c.source.input, SourceSpec::Replay("frames".into()));
        let err = parse("[source]\ninput = \"webcam\"\n").unwrap_err().to_string();
        assert!(err.contains("camera:N"), "{err}");
    }

    #[test]
    fn relative_paths_follow_the_config_file() {
        let mut c = parse(
            "[source]\ninput = \"replay:frames\"\n[face]\nmodel = \"m/face.onnx\"\n\
             [[action]]\non = \"me\"\nsound = \"/abs/a.mp3\"\n[events]\npath = \"-\"\n",
        )
        .unwrap();
        c.resolve_paths(Path::new("/etc/lookout"));
        assert_eq!(c.source.input, SourceSpec::Replay("/etc/lookout/frames".into()));
        assert_eq!(c.face.model, PathBuf::from("/etc/lookout/m/face.onnx"));
        assert_eq!(c.actions[0].sound, PathBuf::from("/abs/a.mp3"));
        assert_eq!(c.events.path, PathBuf::from("-"));
    }

    #[test]
    fn effective_settings_round_trip() {
        let c = Config::default();
        let back = parse(&c.to_toml()).unwrap();
        assert_eq!(back, c);
    }
}
