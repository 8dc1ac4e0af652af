//! The real sound path, no test double: a decision → the actions thread → `RodioSink` → cpal →
//! ALSA, with ALSA's own `file` plugin as the default device (an `.asoundrc` in the daemon's
//! HOME), so no sound card is needed. The plugin writes a WAV stream into a FIFO that this test
//! reads at the stream's own byte rate: it plays the sound card's part, pacing the stream in
//! real time (the plugin's `null` slave would otherwise take samples as fast as cpal makes
//! them), and measures what came out: the decided label's sound, its length and its level.

mod common;

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{frame, lookout, root};

/// Linux's `O_NONBLOCK`: opening the FIFO must not wait for a writer that may never come.
const O_NONBLOCK: i32 = 0o4000;

/// What came out of the speaker.
#[derive(Debug)]
struct Heard {
    rate: u32,
    /// Seconds from the first to the last sample above the silence threshold.
    seconds: f64,
    /// Peak and RMS between those samples, in full scale.
    peak: f64,
    rms: f64,
}

/// Reads the WAV stream from `fifo` at its own byte rate until the writer closes it (or
/// `limit` passes).
fn listen(fifo: &Path, limit: Duration) -> Heard {
    let mut file =
        std::fs::OpenOptions::new().read(true).custom_flags(O_NONBLOCK).open(fifo).unwrap();
    let started = Instant::now();
    let mut stream = Vec::new();
    let mut header: Option<(Format, usize, Instant)> = None;
    let mut writer_seen = false;
    let mut buf = vec![0u8; 4096];
    let mut consumed = 0usize;
    while started.elapsed() < limit {
        // Pace like a sound card: no more audio than the time since the stream began allows
        // (plus 50 ms of buffer).
        if let Some((format, data_start, began)) = &header {
            let allowed = (began.elapsed().as_secs_f64() + 0.05) * format.byte_rate() as f64;
            if (consumed.saturating_sub(*data_start)) as f64 > allowed {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
        }
        match file.read(&mut buf) {
            Ok(0) if writer_seen => break,
            Ok(0) => std::thread::sleep(Duration::from_millis(10)),
            Ok(n) => {
                writer_seen = true;
                stream.extend_from_slice(&buf[..n]);
                consumed += n;
                if header.is_none() {
                    header = parse_header(&stream).map(|(f, at)| (f, at, Instant::now()));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(2))
            }
            Err(e) => panic!("reading {}: {e}", fifo.display()),
        }
    }
    let (format, data_start, _) = header.expect("a WAV header from ALSA's file plugin");
    measure(&format, &stream[data_start..])
}

#[derive(Debug, Clone, Copy)]
struct Format {
    float: bool,
    channels: u16,
    rate: u32,
    bits: u16,
}

impl Format {
    fn byte_rate(&self) -> u32 {
        self.rate * self.channels as u32 * self.bits as u32 / 8
    }
}

/// The `fmt ` chunk and where the `data` chunk's samples begin, once both have arrived.
fn parse_header(bytes: &[u8]) -> Option<(Format, usize)> {
    if bytes.len() < 12 {
        return None;
    }
    assert_eq!((&bytes[0..4], &bytes[8..12]), (&b"RIFF"[..], &b"WAVE"[..]), "not a WAV stream");
    let (mut at, mut format) = (12, None);
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        if id == b"data" {
            return format.map(|f| (f, at + 8));
        }
        if at + 8 + len > bytes.len() {
            return None;
        }
        if id == b"fmt " {
            let f = &bytes[at + 8..];
            let tag = u16::from_le_bytes([f[0], f[1]]);
            format = Some(Format {
                float: tag == 3,
                channels: u16::from_le_bytes([f[2], f[3]]),
                rate: u32::from_le_bytes([f[4], f[5], f[6], f[7]]),
                bits: u16::from_le_bytes([f[14], f[15]]),
            });
        }
        at += 8 + len + len % 2;
    }
    None
}

/// The loudest channel of each frame, in full scale.
fn measure(format: &Format, data: &[u8]) -> Heard {
    let width = format.bits as usize / 8;
    let frame = width * format.channels as usize;
    let sample = |b: &[u8]| -> f64 {
        match (format.float, format.bits) {
            (true, 32) => f32::from_le_bytes(b.try_into().unwrap()) as f64,
            (false, 16) => i16::from_le_bytes(b.try_into().unwrap()) as f64 / 32768.0,
            (false, 32) => i32::from_le_bytes(b.try_into().unwrap()) as f64 / 2147483648.0,
            other => panic!("sample format {other:?}"),
        }
    };
    let levels: Vec<f64> = data
        .chunks_exact(frame)
        .map(|f| f.chunks_exact(width).map(|s| sample(s).abs()).fold(0.0, f64::max))
        .collect();
    let loud: Vec<usize> = (0..levels.len()).filter(|&i| levels[i] > 0.01).collect();
    let (first, last) = (*loud.first().unwrap_or(&0), *loud.last().unwrap_or(&0));
    let span = &levels[first..=last.max(first)];
    Heard {
        rate: format.rate,
        seconds: (last - first) as f64 / format.rate as f64,
        peak: span.iter().copied().fold(0.0, f64::max),
        rms: (span.iter().map(|x| x * x).sum::<f64>() / span.len().max(1) as f64).sqrt(),
    }
}

#[test]
fn the_decided_labels_sound_comes_out_of_alsa() {
    let dir = tempfile::tempdir().unwrap();
    // The "me" visit only (frames 7-20): one decision, "me", whose sound is the 0.4 s beep at
    // half scale (tests/fixtures/sounds/README.md); "other" would be the chime.
    let frames = dir.path().join("frames");
    std::fs::create_dir(&frames).unwrap();
    for n in 7..=20 {
        std::fs::copy(frame(n), frames.join(format!("{n:04}.jpg"))).unwrap();
    }
    let fifo = dir.path().join("speaker.wav");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    // `plug` converts whatever cpal chooses to 16-bit integers: the file plugin labels 32-bit
    // float samples as integers in its WAV header.
    let asoundrc = format!(
        "pcm.!default {{\n  type plug\n  slave {{ pcm \"speaker\"\n format S16_LE }}\n}}\n\
         pcm.speaker {{\n  type file\n  slave.pcm \"null\"\n  file \"{}\"\n  format \"wav\"\n}}\n",
        fifo.display()
    );
    std::fs::write(dir.path().join(".asoundrc"), asoundrc).unwrap();
    let config = dir.path().join("lookout.toml");
    let text = format!(
        "[source]\ninput = \"replay:frames\"\nreplay_fps = 10.0\n[face]\nmodel = \"{}\"\n\
         builtin_fallback = false\n[[action]]\non = \"me\"\nsound = \"{}\"\n[[action]]\non = \"other\"\n\
         [events]\npath = \"events.jsonl\"\n",
        root().join("models/face.onnx").display(),
        root().join("tests/fixtures/sounds/beep.wav").display()
    );
    std::fs::write(&config, text).unwrap();

    let listener = {
        let fifo = fifo.clone();
        std::thread::spawn(move || listen(&fifo, Duration::from_secs(30)))
    };
    let out = lookout()
        .args(["run", "--exit-at-end", "--config"])
        .arg(&config)
        .env("HOME", dir.path())
        .stdout(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("sound: started (beep.wav)"), "{stderr}");
    let heard = listener.join().unwrap();
    eprintln!("heard: {heard:?}");
    assert!((heard.seconds - 0.4).abs() < 0.03, "the beep lasts 0.4 s: {heard:?}");
    assert!((heard.peak - 0.5).abs() < 0.05, "the beep is at half scale: {heard:?}");
    // A sine's RMS is its peak over sqrt(2); the 10 ms fades take a little off.
    assert!((heard.rms - 0.5 / 2f64.sqrt()).abs() < 0.03, "{heard:?}");
    assert!(heard.rate >= 8000, "{heard:?}");
}
