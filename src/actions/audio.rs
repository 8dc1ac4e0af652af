//! Playing a sound when a face is recognized: music for "me", a ghost story for a visitor.
//!
//! [`Sound`] is what to play (a file, or the built-in [`Sound::Chime`]); [`Sound::check`] decodes
//! a file once at startup so a bad file is reported by name before anyone stands at the door.
//! [`AudioSink`] is the device behind a trait: [`RodioSink`] plays through cpal/ALSA and copes with
//! a missing sound card (the normal case on build machines), [`RecordingSink`] records what would
//! have played so the daemon's whole loop runs in tests without hardware.
//!
//! Files are streamed from disk while they play: a ghost story of several minutes never sits in
//! memory as decoded samples.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rodio::buffer::SamplesBuffer;
use rodio::cpal::traits::HostTrait;
use rodio::mixer::Mixer;
use rodio::{Decoder, DeviceTrait, OutputStream, OutputStreamBuilder, Sink, Source};

use lookout_vision::panic_guard::catch_panic;

/// Sample rate of the built-in chime.
const CHIME_RATE: u32 = 44_100;
/// Length of the built-in chime.
const CHIME_LEN: Duration = Duration::from_millis(600);
/// A file that decodes to less than this share of the length its header declares is cut short.
const MIN_DECODED_SHARE: f64 = 0.9;

/// Something to play.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sound {
    /// A wav, mp3, ogg vorbis or flac file, streamed from disk while it plays.
    File(PathBuf),
    /// A short two-note chime generated in code: works without any sound file.
    Chime,
}

/// What decoding a whole sound found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SoundInfo {
    pub channels: u16,
    pub sample_rate: u32,
    pub duration: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("{path}: cannot open sound file")]
    Open { path: PathBuf, source: std::io::Error },
    #[error("{path}: sound file is empty")]
    Empty { path: PathBuf },
    #[error("{path}: not a supported sound format (wav, mp3, ogg vorbis, flac)")]
    UnknownFormat { path: PathBuf },
    #[error("{path}: cannot decode: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("no audio device ({device}): {reason}")]
    NoDevice { device: String, reason: String },
}

impl Sound {
    /// Decodes the whole sound, without keeping the samples, to prove that it plays.
    pub fn check(&self) -> Result<SoundInfo, AudioError> {
        match self {
            Sound::File(path) => check_file(path),
            Sound::Chime => {
                Ok(SoundInfo { channels: 1, sample_rate: CHIME_RATE, duration: CHIME_LEN })
            }
        }
    }

    /// The samples to hand to rodio: a decoder reading the file, or the generated chime.
    fn source(&self) -> Result<Box<dyn Source + Send>, AudioError> {
        match self {
            Sound::File(path) => Ok(Box::new(open_decoder(path)?)),
            Sound::Chime => Ok(Box::new(SamplesBuffer::new(1, CHIME_RATE, chime_samples()))),
        }
    }
}

impl fmt::Display for Sound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sound::File(path) => write!(f, "{}", path.display()),
            Sound::Chime => f.write_str("chime"),
        }
    }
}

fn open_decoder(path: &Path) -> Result<Decoder<BufReader<File>>, AudioError> {
    let open_err = |source| AudioError::Open { path: path.to_path_buf(), source };
    let file = File::open(path).map_err(open_err)?;
    let len = file.metadata().map_err(open_err)?.len();
    if len == 0 {
        return Err(AudioError::Empty { path: path.to_path_buf() });
    }
    let mut builder =
        Decoder::builder().with_data(BufReader::new(file)).with_byte_len(len).with_seekable(true);
    // The extension only orders symphonia's probes; the content decides the format.
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        builder = builder.with_hint(&ext.to_ascii_lowercase());
    }
    // Symphonia's decoders have panicked on fuzzed input; a bad file must stay a bad file.
    let built = catch_panic(|| builder.build()).map_err(|message| AudioError::Corrupt {
        path: path.to_path_buf(),
        reason: format!("the decoder crashed: {message}"),
    })?;
    built.map_err(|e| match e {
        rodio::decoder::DecoderError::UnrecognizedFormat => {
            AudioError::UnknownFormat { path: path.to_path_buf() }
        }
        rodio::decoder::DecoderError::NoStreams => {
            AudioError::Corrupt { path: path.to_path_buf(), reason: "no audio stream".into() }
        }
        other => AudioError::Corrupt { path: path.to_path_buf(), reason: other.to_string() },
    })
}

fn check_file(path: &Path) -> Result<SoundInfo, AudioError> {
    let corrupt = |reason: String| AudioError::Corrupt { path: path.to_path_buf(), reason };
    let decoder = open_decoder(path)?;
    let channels = decoder.channels();
    let sample_rate = decoder.sample_rate();
    if channels == 0 || sample_rate == 0 {
        return Err(corrupt(format!("{channels} channels at {sample_rate} Hz")));
    }
    let declared = decoder.total_duration();
    // rodio skips packets that fail to decode and stops at a read error, so a damaged file
    // shows up as fewer samples than its header promises, or none at all.
    let samples = catch_panic(|| decoder.count())
        .map_err(|message| corrupt(format!("the decoder crashed: {message}")))?;
    let frames = samples as u64 / u64::from(channels);
    if frames == 0 {
        return Err(corrupt("no audio samples decode".into()));
    }
    let duration = Duration::from_secs_f64(frames as f64 / f64::from(sample_rate));
    if let Some(declared) = declared {
        if duration.as_secs_f64() < MIN_DECODED_SHARE * declared.as_secs_f64() {
            return Err(corrupt(format!(
                "truncated: only {:.2} s of the {:.2} s its header declares decode",
                duration.as_secs_f64(),
                declared.as_secs_f64()
            )));
        }
    }
    Ok(SoundInfo { channels, sample_rate, duration })
}

/// A doorbell's falling third (E6 then C6), each note struck and decaying like a bell.
fn chime_samples() -> Vec<f32> {
    const NOTES: [(f32, f32); 2] = [(1318.51, 0.0), (1046.50, 0.15)];
    let rate = CHIME_RATE as f32;
    let len = (CHIME_LEN.as_secs_f32() * rate) as usize;
    (0..len)
        .map(|i| {
            let t = i as f32 / rate;
            NOTES
                .iter()
                .filter(|(_, start)| t >= *start)
                .map(|(freq, start)| {
                    let dt = t - start;
                    // A 5 ms attack avoids a click; the 0.1 s decay is near silence at the end.
                    let envelope = (dt / 0.005).min(1.0) * (-dt / 0.1).exp();
                    0.4 * envelope * (std::f32::consts::TAU * freq * dt).sin()
                })
                .sum()
        })
        .collect()
}

/// What became of a request to play.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlayOutcome {
    Started,
    /// Plays when the current sound ends.
    Queued,
    SkippedBusy,
    NoDevice,
    Failed(String),
}

impl fmt::Display for PlayOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlayOutcome::Started => f.write_str("started"),
            PlayOutcome::Queued => f.write_str("queued"),
            PlayOutcome::SkippedBusy => f.write_str("skipped: busy"),
            PlayOutcome::NoDevice => f.write_str("no audio device"),
            PlayOutcome::Failed(reason) => write!(f, "failed: {reason}"),
        }
    }
}

/// Where sounds go. `play` returns at once; the sound plays in the background.
pub trait AudioSink: Send {
    fn play(&mut self, sound: &Sound, volume: f32) -> PlayOutcome;
}

/// What to do with a sound asked for while another one plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overlap {
    /// Drop it: sounds never pile up behind a long story.
    #[default]
    Skip,
    /// Let one sound wait behind the current one; drop any more.
    QueueOne,
}

/// The overlap policy's answer for a new sound when `in_queue` sounds play or wait.
fn admit(overlap: Overlap, in_queue: usize) -> PlayOutcome {
    match (overlap, in_queue) {
        (_, 0) => PlayOutcome::Started,
        (Overlap::QueueOne, 1) => PlayOutcome::Queued,
        _ => PlayOutcome::SkippedBusy,
    }
}

fn clamp_volume(volume: f32) -> f32 {
    if volume.is_nan() {
        0.0
    } else {
        volume.clamp(0.0, 1.0)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AudioOptions {
    pub overlap: Overlap,
    /// How long to wait before trying again to open a device that was missing.
    pub retry: Duration,
    /// ALSA device name as cpal lists it (e.g. `hw:CARD=Headphones,DEV=0`); None = default.
    pub device: Option<String>,
}

impl Default for AudioOptions {
    fn default() -> Self {
        AudioOptions { overlap: Overlap::Skip, retry: Duration::from_secs(30), device: None }
    }
}

/// An opened output: a queue of sounds (rodio's [`Sink`]) feeding a mixer.
pub struct Output {
    queue: Sink,
    /// Set by the stream's error callback when the device goes away (e.g. USB speaker unplugged).
    lost: Arc<AtomicBool>,
    // Declared after `queue` so the queue stops before the device stream closes.
    _stream: Option<OutputStream>,
}

impl Output {
    /// Opens the ALSA device `device` (None = the default one) through cpal.
    pub fn open(device: Option<&str>) -> Result<Output, AudioError> {
        let name = device.unwrap_or("default");
        let no_device = |reason: String| AudioError::NoDevice { device: name.into(), reason };
        let lost = Arc::new(AtomicBool::new(false));
        let on_error = {
            let lost = lost.clone();
            move |e: rodio::cpal::StreamError| match e {
                rodio::cpal::StreamError::DeviceNotAvailable => lost.store(true, Ordering::SeqCst),
                // Underruns and the like: playback goes on, the next sound still plays.
                other => log::debug!("audio stream error: {other}"),
            }
        };
        let builder = match device {
            None => OutputStreamBuilder::from_default_device(),
            Some(wanted) => {
                let found = rodio::cpal::default_host()
                    .output_devices()
                    .map_err(|e| no_device(e.to_string()))?
                    .find(|d| d.name().is_ok_and(|n| n == wanted))
                    .ok_or_else(|| no_device("no output device has this name".into()))?;
                OutputStreamBuilder::from_device(found)
            }
        }
        .map_err(|e| no_device(describe(&e)))?;
        let mut stream = builder
            .with_error_callback(on_error)
            .open_stream_or_fallback()
            .map_err(|e| no_device(describe(&e)))?;
        // We log the device's comings and goings ourselves; rodio would print to stderr.
        stream.log_on_drop(false);
        let queue = Sink::connect_new(stream.mixer());
        Ok(Output { queue, lost, _stream: Some(stream) })
    }

    /// An output mixing into `mixer` without a device: for tests, or to render elsewhere.
    pub fn from_mixer(mixer: &Mixer) -> Output {
        Output {
            queue: Sink::connect_new(mixer),
            lost: Arc::new(AtomicBool::new(false)),
            _stream: None,
        }
    }
}

fn describe(e: &rodio::StreamError) -> String {
    match e {
        rodio::StreamError::NoDevice => "no output device found".into(),
        other => other.to_string(),
    }
}

/// Opens the output; [`RodioSink::with_opener`] takes another one for tests.
pub type Opener = Box<dyn FnMut() -> Result<Output, AudioError> + Send>;

enum Device {
    NotOpened,
    Open(Output),
    /// Opening failed (and was logged); try again at `retry_at`.
    Missing {
        retry_at: Instant,
    },
}

/// Plays through rodio. The device is opened on the first play, so a daemon starts fine
/// without a sound card and plays once one appears.
pub struct RodioSink {
    options: AudioOptions,
    open: Opener,
    device: Device,
    outages: u64,
}

impl RodioSink {
    pub fn new(options: AudioOptions) -> RodioSink {
        let name = options.device.clone();
        RodioSink::with_opener(options, move || Output::open(name.as_deref()))
    }

    pub fn with_opener(
        options: AudioOptions,
        open: impl FnMut() -> Result<Output, AudioError> + Send + 'static,
    ) -> RodioSink {
        RodioSink { options, open: Box::new(open), device: Device::NotOpened, outages: 0 }
    }

    /// How many times the device was found missing (each logged once).
    pub fn outages(&self) -> u64 {
        self.outages
    }

    /// The open output, opening it if it is time to try.
    fn output(&mut self, now: Instant) -> Option<&Output> {
        let healthy = matches!(&self.device, Device::Open(out) if !out.lost.load(Ordering::SeqCst));
        if !healthy {
            let was_missing = match self.device {
                Device::Missing { retry_at } if now < retry_at => return None,
                Device::Missing { .. } => true,
                Device::Open(_) => {
                    log::warn!("audio device went away; reopening it");
                    false
                }
                Device::NotOpened => false,
            };
            // Close a lost output before opening its device again.
            self.device = Device::NotOpened;
            self.device = match (self.open)() {
                Ok(out) => {
                    if was_missing {
                        log::info!("audio device available again");
                    }
                    Device::Open(out)
                }
                Err(e) => {
                    if !was_missing {
                        self.outages += 1;
                        log::warn!(
                            "{}; will retry every {} s",
                            crate::logging::chain(&e),
                            self.options.retry.as_secs_f64()
                        );
                    }
                    Device::Missing { retry_at: now + self.options.retry }
                }
            };
        }
        match &self.device {
            Device::Open(out) => Some(out),
            _ => None,
        }
    }

    fn play_at(&mut self, sound: &Sound, volume: f32, now: Instant) -> PlayOutcome {
        let overlap = self.options.overlap;
        let Some(out) = self.output(now) else {
            return PlayOutcome::NoDevice;
        };
        let outcome = admit(overlap, out.queue.len());
        if outcome == PlayOutcome::SkippedBusy {
            return outcome;
        }
        match sound.source() {
            Ok(source) => {
                out.queue.append(source.amplify(clamp_volume(volume)));
                outcome
            }
            Err(e) => PlayOutcome::Failed(crate::logging::chain(&e)),
        }
    }
}

impl AudioSink for RodioSink {
    fn play(&mut self, sound: &Sound, volume: f32) -> PlayOutcome {
        self.play_at(sound, volume, Instant::now())
    }
}

/// One request to a [`RecordingSink`].
#[derive(Debug, Clone, PartialEq)]
pub struct Played {
    /// The file name, or `chime`.
    pub sound: String,
    pub volume: f32,
    /// When it was asked for.
    pub at: Instant,
    pub outcome: PlayOutcome,
}

/// The shared record of a [`RecordingSink`], readable while the sink is in use elsewhere.
#[derive(Debug, Clone, Default)]
pub struct Recorded(Arc<Mutex<Vec<Played>>>);

impl Recorded {
    fn lock(&self) -> MutexGuard<'_, Vec<Played>> {
        // A panic while pushing leaves a complete list: fine to keep using.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sounds that started or were queued, in order.
    pub fn plays(&self) -> Vec<Played> {
        let all = self.lock();
        all.iter()
            .filter(|p| matches!(p.outcome, PlayOutcome::Started | PlayOutcome::Queued))
            .cloned()
            .collect()
    }

    /// Every request, skipped and failed ones included.
    pub fn attempts(&self) -> Vec<Played> {
        self.lock().clone()
    }
}

/// A sink without a device that records what it was asked to play. A sound "plays" for its
/// decoded length (or a fixed one), so the overlap policy behaves as it does on a speaker.
pub struct RecordingSink {
    overlap: Overlap,
    fixed: Option<Duration>,
    lengths: HashMap<PathBuf, Duration>,
    /// When each sound playing or waiting ends, in queue order.
    ends: VecDeque<Instant>,
    recorded: Recorded,
}

impl RecordingSink {
    pub fn new() -> (RecordingSink, Recorded) {
        let recorded = Recorded::default();
        let sink = RecordingSink {
            overlap: Overlap::Skip,
            fixed: None,
            lengths: HashMap::new(),
            ends: VecDeque::new(),
            recorded: recorded.clone(),
        };
        (sink, recorded)
    }

    pub fn with_overlap(mut self, overlap: Overlap) -> RecordingSink {
        self.overlap = overlap;
        self
    }

    /// Every sound plays for `length` instead of its decoded length.
    pub fn with_length(mut self, length: Duration) -> RecordingSink {
        self.fixed = Some(length);
        self
    }

    fn length(&mut self, sound: &Sound) -> Result<Duration, AudioError> {
        if let Some(fixed) = self.fixed {
            return Ok(fixed);
        }
        match sound {
            Sound::Chime => Ok(CHIME_LEN),
            Sound::File(path) => match self.lengths.get(path) {
                Some(length) => Ok(*length),
                None => {
                    let length = sound.check()?.duration;
                    self.lengths.insert(path.clone(), length);
                    Ok(length)
                }
            },
        }
    }

    fn play_at(&mut self, sound: &Sound, volume: f32, now: Instant) -> PlayOutcome {
        while self.ends.front().is_some_and(|end| *end <= now) {
            self.ends.pop_front();
        }
        let mut outcome = admit(self.overlap, self.ends.len());
        if outcome != PlayOutcome::SkippedBusy {
            match self.length(sound) {
                Ok(length) => {
                    let start = self.ends.back().copied().unwrap_or(now);
                    self.ends.push_back(start + length);
                }
                Err(e) => outcome = PlayOutcome::Failed(crate::logging::chain(&e)),
            }
        }
        let name = match sound {
            Sound::File(path) => path.file_name().unwrap_or(path.as_os_str()),
            Sound::Chime => "chime".as_ref(),
        };
        self.recorded.lock().push(Played {
            sound: name.to_string_lossy().into_owned(),
            volume: clamp_volume(volume),
            at: now,
            outcome: outcome.clone(),
        });
        outcome
    }
}

impl AudioSink for RecordingSink {
    fn play(&mut self, sound: &Sound, volume: f32) -> PlayOutcome {
        self.play_at(sound, volume, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use rodio::mixer::MixerSource;

    use super::*;

    const SOUNDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sounds");

    /// A 16-bit mono PCM wav of a 440 Hz tone; `declared` seconds in the header, `actual` written.
    fn write_wav(path: &Path, rate: u32, declared: f32, actual: f32) {
        let frames = |s: f32| (rate as f32 * s) as u32;
        let data_len = frames(declared) * 2;
        let mut bytes = Vec::new();
        bytes.extend(b"RIFF");
        bytes.extend((36 + data_len).to_le_bytes());
        bytes.extend(b"WAVEfmt ");
        bytes.extend(16u32.to_le_bytes());
        bytes.extend(1u16.to_le_bytes()); // PCM
        bytes.extend(1u16.to_le_bytes()); // mono
        bytes.extend(rate.to_le_bytes());
        bytes.extend((rate * 2).to_le_bytes());
        bytes.extend(2u16.to_le_bytes());
        bytes.extend(16u16.to_le_bytes());
        bytes.extend(b"data");
        bytes.extend(data_len.to_le_bytes());
        for i in 0..frames(actual) {
            let t = i as f32 / rate as f32;
            let v = 0.5 * (std::f32::consts::TAU * 440.0 * t).sin();
            bytes.extend(((v * i16::MAX as f32) as i16).to_le_bytes());
        }
        std::fs::write(path, bytes).unwrap();
    }

    fn assert_close(got: Duration, want: f64, what: &str) {
        let got = got.as_secs_f64();
        assert!((got - want).abs() <= want * 0.1, "{what}: decoded {got:.3} s, expected {want} s");
    }

    #[test]
    fn chime_is_generated_and_audible() {
        let samples = chime_samples();
        assert_eq!(samples.len(), 26_460);
        let peak = samples.iter().fold(0f32, |m, s| m.max(s.abs()));
        let rms = (samples.iter().map(|s| s * s).sum::<f32>() / samples.len() as f32).sqrt();
        assert!(peak > 0.3 && peak <= 1.0, "peak {peak}");
        assert!(rms > 0.05, "rms {rms}");
        // It rings out rather than stopping dead.
        let tail = samples[samples.len() - 441..].iter().fold(0f32, |m, s| m.max(s.abs()));
        assert!(tail < 0.05 * peak, "tail {tail} of peak {peak}");
        let info = Sound::Chime.check().unwrap();
        assert_eq!((info.channels, info.sample_rate, info.duration), (1, 44_100, CHIME_LEN));
    }

    #[test]
    fn check_measures_a_wav() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tone.wav");
        write_wav(&path, 22_050, 0.5, 0.5);
        let info = Sound::File(path).check().unwrap();
        assert_eq!((info.channels, info.sample_rate), (1, 22_050));
        assert_close(info.duration, 0.5, "tone.wav");
    }

    #[test]
    fn check_names_the_file_and_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.mp3");
        let empty = dir.path().join("empty.wav");
        std::fs::write(&empty, b"").unwrap();
        let text = dir.path().join("notes.mp3");
        std::fs::write(&text, "this is a shopping list, not a song\n".repeat(20)).unwrap();
        let cut = dir.path().join("cut.wav");
        write_wav(&cut, 22_050, 1.0, 0.3);

        let cases: [(&Path, &str); 4] = [
            (&missing, "cannot open sound file"),
            (&empty, "sound file is empty"),
            (&text, "not a supported sound format"),
            (&cut, "truncated"),
        ];
        for (path, reason) in cases {
            let message = Sound::File(path.to_path_buf()).check().unwrap_err().to_string();
            assert!(message.starts_with(&path.display().to_string()), "{message}");
            assert!(message.contains(reason), "{message}");
        }
    }

    #[test]
    fn check_decodes_the_fixtures() {
        // tests/fixtures/sounds/make_sounds.sh: 0.4 s of 880 Hz, mono, 22050 Hz, four formats.
        for name in ["beep.wav", "beep.mp3", "beep.ogg", "beep.flac"] {
            let info = Sound::File(Path::new(SOUNDS).join(name)).check().unwrap();
            assert_eq!((info.channels, info.sample_rate), (1, 22_050), "{name}");
            assert_close(info.duration, 0.4, name);
        }
    }

    #[test]
    fn check_rejects_the_broken_fixtures() {
        for (name, reason) in
            [("broken.mp3", "not a supported sound format"), ("truncated.wav", "cannot decode")]
        {
            let path = Path::new(SOUNDS).join(name);
            let message = Sound::File(path.clone()).check().unwrap_err().to_string();
            assert!(message.starts_with(&path.display().to_string()), "{message}");
            assert!(message.contains(reason), "{message}");
        }
    }

    /// A sink whose device appears when `present` is set; what it plays waits in `MixerSource`
    /// until a test pulls the samples, as a sound card would.
    struct Fake {
        sink: RodioSink,
        present: Arc<AtomicBool>,
        opened: Arc<AtomicUsize>,
        output: MixerSource,
    }

    fn fake(overlap: Overlap) -> Fake {
        let (mixer, output) = rodio::mixer::mixer(2, 44_100);
        let present = Arc::new(AtomicBool::new(false));
        let opened = Arc::new(AtomicUsize::new(0));
        let options = AudioOptions { overlap, retry: Duration::from_secs(30), device: None };
        let sink = RodioSink::with_opener(options, {
            let (present, opened) = (present.clone(), opened.clone());
            move || {
                opened.fetch_add(1, Ordering::SeqCst);
                if present.load(Ordering::SeqCst) {
                    Ok(Output::from_mixer(&mixer))
                } else {
                    Err(AudioError::NoDevice { device: "fake".into(), reason: "unplugged".into() })
                }
            }
        });
        Fake { sink, present, opened, output }
    }

    impl Fake {
        fn opened(&self) -> usize {
            self.opened.load(Ordering::SeqCst)
        }

        /// Plays `seconds` of the mixed output into nowhere.
        fn pull(&mut self, seconds: f32) {
            let samples = (seconds * 44_100.0) as usize * 2;
            assert!(self.output.by_ref().take(samples).count() == samples);
        }
    }

    #[test]
    fn missing_device_is_retried_after_the_interval() {
        let mut fake = fake(Overlap::Skip);
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        assert_eq!(fake.sink.play_at(&Sound::Chime, 1.0, at(0)), PlayOutcome::NoDevice);
        assert_eq!((fake.opened(), fake.sink.outages()), (1, 1));
        assert_eq!(fake.sink.play_at(&Sound::Chime, 1.0, at(10)), PlayOutcome::NoDevice);
        assert_eq!(fake.opened(), 1, "tried again before the retry interval");
        assert_eq!(fake.sink.play_at(&Sound::Chime, 1.0, at(30)), PlayOutcome::NoDevice);
        assert_eq!((fake.opened(), fake.sink.outages()), (2, 1), "one outage, warned once");

        fake.present.store(true, Ordering::SeqCst);
        assert_eq!(fake.sink.play_at(&Sound::Chime, 1.0, at(45)), PlayOutcome::NoDevice);
        assert_eq!(fake.opened(), 2);
        assert_eq!(fake.sink.play_at(&Sound::Chime, 1.0, at(60)), PlayOutcome::Started);
        assert_eq!(fake.sink.play_at(&Sound::Chime, 1.0, at(61)), PlayOutcome::SkippedBusy);
        assert_eq!((fake.opened(), fake.sink.outages()), (3, 1));
    }

    #[test]
    fn skip_refuses_sounds_until_the_current_one_ends() {
        let mut fake = fake(Overlap::Skip);
        fake.present.store(true, Ordering::SeqCst);
        let now = Instant::now();
        assert_eq!(fake.sink.play_at(&Sound::Chime, 0.5, now), PlayOutcome::Started);
        assert_eq!(fake.sink.play_at(&Sound::Chime, 0.5, now), PlayOutcome::SkippedBusy);
        fake.pull(0.3);
        assert_eq!(fake.sink.play_at(&Sound::Chime, 0.5, now), PlayOutcome::SkippedBusy);
        fake.pull(0.4);
        assert_eq!(fake.sink.play_at(&Sound::Chime, 0.5, now), PlayOutcome::Started);
        assert_eq!(fake.opened(), 1);
    }

    #[test]
    fn queue_one_keeps_one_sound_waiting() {
        let mut fake = fake(Overlap::QueueOne);
        fake.present.store(true, Ordering::SeqCst);
        let now = Instant::now();
        assert_eq!(fake.sink.play_at(&Sound::Chime, 1.0, now), PlayOutcome::Started);
        assert_eq!(fake.sink.play_at(&Sound::Chime, 1.0, now), PlayOutcome::Queued);
        assert_eq!(fake.sink.play_at(&Sound::Chime, 1.0, now), PlayOutcome::SkippedBusy);
        fake.pull(0.7);
        assert_eq!(fake.sink.play_at(&Sound::Chime, 1.0, now), PlayOutcome::Queued);
    }

    #[test]
    fn a_lost_device_is_reopened() {
        let mut fake = fake(Overlap::Skip);
        fake.present.store(true, Ordering::SeqCst);
        let now = Instant::now();
        assert_eq!(fake.sink.play_at(&Sound::Chime, 1.0, now), PlayOutcome::Started);
        let Device::Open(out) = &fake.sink.device else { panic!("device not open") };
        out.lost.store(true, Ordering::SeqCst);
        // The unplugged device's queue never drains; the new one starts empty.
        assert_eq!(fake.sink.play_at(&Sound::Chime, 1.0, now), PlayOutcome::Started);
        assert_eq!(fake.opened(), 2);
    }

    #[test]
    fn an_undecodable_file_fails_the_play_not_the_sink() {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("story.mp3");
        std::fs::write(&text, "once upon a time\n".repeat(50)).unwrap();
        let mut fake = fake(Overlap::Skip);
        fake.present.store(true, Ordering::SeqCst);
        let now = Instant::now();
        for path in [text, dir.path().join("missing.ogg")] {
            match fake.sink.play_at(&Sound::File(path.clone()), 1.0, now) {
                PlayOutcome::Failed(reason) => {
                    assert!(reason.contains(&path.display().to_string()), "{reason}")
                }
                other => panic!("{}: {other}", path.display()),
            }
        }
        assert_eq!(fake.sink.play_at(&Sound::Chime, 1.0, now), PlayOutcome::Started);
    }

    #[test]
    fn the_real_device_is_missing_on_a_machine_without_sound_card() {
        let cards = std::fs::read_to_string("/proc/asound/cards").unwrap_or_default();
        let no_card = cards.trim().is_empty() || cards.contains("no soundcards");
        for device in [None, Some("no-such-card".to_string())] {
            let named = device.is_some();
            let mut sink = RodioSink::new(AudioOptions { device, ..AudioOptions::default() });
            let outcome = sink.play(&Sound::Chime, 0.0);
            if no_card || named {
                assert_eq!(outcome, PlayOutcome::NoDevice);
                assert_eq!(sink.outages(), 1);
            } else {
                assert_eq!(outcome, PlayOutcome::Started);
            }
        }
    }

    #[test]
    fn recording_skips_while_a_sound_plays() {
        let (sink, recorded) = RecordingSink::new();
        let mut sink = sink.with_length(Duration::from_secs(1));
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        assert_eq!(sink.play_at(&Sound::Chime, 0.8, at(0)), PlayOutcome::Started);
        assert_eq!(sink.play_at(&Sound::Chime, 0.8, at(500)), PlayOutcome::SkippedBusy);
        assert_eq!(sink.play_at(&Sound::Chime, 0.8, at(1000)), PlayOutcome::Started);
        let plays = recorded.plays();
        assert_eq!(plays.iter().map(|p| p.at).collect::<Vec<_>>(), [at(0), at(1000)]);
        assert_eq!((plays[0].sound.as_str(), plays[0].volume), ("chime", 0.8));
        assert_eq!(recorded.attempts()[1].outcome, PlayOutcome::SkippedBusy);
    }

    #[test]
    fn recording_queues_one_behind_the_current_sound() {
        let (sink, recorded) = RecordingSink::new();
        let mut sink = sink.with_overlap(Overlap::QueueOne).with_length(Duration::from_secs(1));
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        assert_eq!(sink.play_at(&Sound::Chime, 1.0, at(0)), PlayOutcome::Started);
        assert_eq!(sink.play_at(&Sound::Chime, 1.0, at(100)), PlayOutcome::Queued);
        assert_eq!(sink.play_at(&Sound::Chime, 1.0, at(200)), PlayOutcome::SkippedBusy);
        // The first ends at 1 s; the one queued at 1.5 s plays from 2 s to 3 s.
        assert_eq!(sink.play_at(&Sound::Chime, 1.0, at(1500)), PlayOutcome::Queued);
        assert_eq!(sink.play_at(&Sound::Chime, 1.0, at(1600)), PlayOutcome::SkippedBusy);
        assert_eq!(sink.play_at(&Sound::Chime, 1.0, at(3000)), PlayOutcome::Started);
        assert_eq!(recorded.plays().len(), 4);
        assert_eq!(recorded.attempts().len(), 6);
    }

    #[test]
    fn recording_plays_a_file_for_its_decoded_length() {
        let dir = tempfile::tempdir().unwrap();
        let tone = dir.path().join("tone.wav");
        write_wav(&tone, 22_050, 0.5, 0.5);
        let broken = dir.path().join("broken.wav");
        std::fs::write(&broken, "RIFF but not really").unwrap();
        let (mut sink, recorded) = RecordingSink::new();
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let tone = Sound::File(tone);
        assert_eq!(sink.play_at(&tone, 2.0, at(0)), PlayOutcome::Started);
        assert_eq!(sink.play_at(&tone, f32::NAN, at(450)), PlayOutcome::SkippedBusy);
        assert_eq!(sink.play_at(&tone, 0.5, at(550)), PlayOutcome::Started);
        let outcome = sink.play_at(&Sound::File(broken), 1.0, at(2000));
        assert!(
            matches!(&outcome, PlayOutcome::Failed(r) if r.contains("broken.wav")),
            "{outcome}"
        );
        let plays = recorded.plays();
        assert_eq!(plays.iter().map(|p| p.volume).collect::<Vec<_>>(), [1.0, 0.5]);
        assert_eq!(plays[0].sound, "tone.wav");
        assert_eq!(recorded.attempts()[1].volume, 0.0);
    }

    #[test]
    fn outcomes_read_well_in_logs() {
        let shown: Vec<String> = [
            PlayOutcome::Started,
            PlayOutcome::Queued,
            PlayOutcome::SkippedBusy,
            PlayOutcome::NoDevice,
            PlayOutcome::Failed("x.mp3: cannot decode".into()),
        ]
        .iter()
        .map(|o| o.to_string())
        .collect();
        assert_eq!(
            shown,
            [
                "started",
                "queued",
                "skipped: busy",
                "no audio device",
                "failed: x.mp3: cannot decode"
            ]
        );
    }
}
