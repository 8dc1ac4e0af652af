//! The whole daemon on the demo frames (examples/demo/README.md: "me" in frames 7-18, a
//! stranger in 25-36, the plate "41726" in 43-50), with a recording speaker instead of a sound
//! card and scripted cameras that stall, vanish and come back.

mod common;

use common::root;
use std::io::{Read, Write};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{demo_config, events, frame, frames, settings};
use lookout::actions::audio::{AudioSink, Recorded, RecordingSink};
use lookout::config::Config;
use lookout::daemon::{self, Control, Devices, RunOptions, Summary};
use lookout::service::metrics::Metrics;
use lookout::service::notify::Notifier;
use lookout::source::scripted::{ScriptedSource, Step};
use lookout::source::FrameSource;

fn speaker() -> (Box<dyn AudioSink>, Recorded) {
    let (sink, recorded) = RecordingSink::new();
    (Box::new(sink.with_length(Duration::from_millis(50))), recorded)
}

struct Run {
    source: Box<dyn FrameSource>,
    notifier: Notifier,
    metrics: Arc<Metrics>,
}

fn run(config: Config, run: Run, audio: Box<dyn AudioSink>) -> Summary {
    let devices = Devices { source: run.source, audio, notifier: run.notifier };
    let options =
        RunOptions { exit_at_end: true, metrics: Some(run.metrics), ..RunOptions::default() };
    daemon::run(settings(config), devices, Control::default(), options).unwrap()
}

/// A run of `source` without MQTT; its `metrics` handle can be cloned before the run to read
/// the counters after it.
fn from_source(source: Box<dyn FrameSource>) -> Run {
    Run { source, notifier: Notifier::disabled(), metrics: Arc::new(Metrics::new()) }
}

fn scripted(steps: Vec<Step>) -> Run {
    from_source(Box::new(ScriptedSource::new(steps, false)))
}

fn labels_and_frames(events: &[serde_json::Value]) -> Vec<(String, String)> {
    events
        .iter()
        .map(|e| (e["label"].as_str().unwrap().into(), e["frame"].as_str().unwrap().into()))
        .collect()
}

#[test]
fn the_demo_replay_plays_the_right_sound_at_the_right_frame_once_per_visit() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = demo_config(dir.path());
    config.snapshots.dir = dir.path().join("snapshots");
    let (audio, recorded) = speaker();
    let source = lookout::source::from_settings(&settings(config.clone()).source);
    let summary = run(config, from_source(source), audio);
    assert_eq!((summary.frames, summary.decisions, summary.dropped), (50, 3, 0));
    let events = events(dir.path());
    let pairs: Vec<(String, String)> = labels_and_frames(&events);
    let want = [("me", "0009.jpg"), ("other", "0027.jpg"), ("41726", "0045.jpg")];
    assert_eq!(pairs, want.map(|(l, f)| (l.to_string(), f.to_string())));
    assert_eq!(events[0]["kind"], "face");
    assert_eq!(events[2]["kind"], "text");
    assert_eq!(events[0]["track"], 1);
    assert_eq!(events[1]["track"], 2);
    assert_eq!(events[0]["actions"][0], "sound: started (chime)");
    assert_eq!(events[1]["actions"][0], "sound: started (beep.ogg)");
    let face_sha =
        lookout_vision::model::Model::load(&root().join("models/face.onnx")).unwrap().sha256;
    assert_eq!(events[0]["model_sha256"], face_sha.as_str());
    let played: Vec<String> = recorded.plays().into_iter().map(|p| p.sound).collect();
    assert_eq!(played, vec!["chime", "beep.ogg"]);
    // An annotated snapshot per decision, named by time, frame and label.
    let mut snaps: Vec<String> = std::fs::read_dir(dir.path().join("snapshots"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    snaps.sort();
    assert_eq!(snaps.len(), 3, "{snaps:?}");
    assert!(snaps[0].ends_with("_0009.jpg_me.jpg"), "{snaps:?}");
    assert_eq!(events[0]["actions"][1], format!("snapshot: {}", snaps[0]));
    let shot = image::open(dir.path().join("snapshots").join(&snaps[0])).unwrap().to_rgb8();
    assert_eq!(shot.dimensions(), (640, 480));
    // The face box is drawn in green on its top-left corner.
    let [x, y] = [
        events[0]["box"][0].as_u64().unwrap() as u32,
        events[0]["box"][1].as_u64().unwrap() as u32,
    ];
    let corner = shot.get_pixel(x + 10, y);
    assert!(corner.0[1] > 150 && corner.0[0] < 90, "{corner:?}");
}

#[test]
fn a_second_visit_within_the_cooldown_is_logged_but_silent() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = demo_config(dir.path());
    config.text.enabled = false;
    // Me, twelve empty frames (the track ends after ten), me again.
    let mut steps = frames(7..=18);
    steps.extend(frames(1..=6));
    steps.extend(frames(1..=6));
    steps.extend(frames(7..=18));
    let (audio, recorded) = speaker();
    run(config, scripted(steps), audio);
    let events = events(dir.path());
    assert_eq!(labels_and_frames(&events).len(), 2, "{events:?}");
    assert_eq!((events[0]["track"].as_u64(), events[1]["track"].as_u64()), (Some(1), Some(2)));
    assert_eq!(events[0]["actions"][0], "sound: started (chime)");
    assert_eq!(events[1]["actions"][0], "sound: cooldown");
    assert_eq!(recorded.plays().len(), 1);

    // With no cooldown, the second visit plays too.
    let dir = tempfile::tempdir().unwrap();
    let mut config = demo_config(dir.path());
    config.text.enabled = false;
    config.actions.iter_mut().for_each(|a| a.cooldown_s = 0.0);
    let mut steps = frames(7..=18);
    steps.extend(frames(1..=6).into_iter().chain(frames(1..=6)));
    steps.extend(frames(7..=18));
    let (audio, recorded) = speaker();
    run(config, scripted(steps), audio);
    assert_eq!(recorded.plays().len(), 2);
}

#[test]
fn a_camera_that_vanishes_mid_visit_is_reopened_and_the_visit_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let config = demo_config(dir.path());
    let mut steps = frames(7..=10);
    steps.push(Step::Lose { refused_opens: 2 });
    steps.extend(frames(11..=18));
    let source = ScriptedSource::new(steps, false);
    let opens = source.opens();
    let source = from_source(Box::new(source));
    let metrics = source.metrics.clone();
    let started = Instant::now();
    let summary = run(config, source, speaker().0);
    assert_eq!(summary.frames, 12);
    assert_eq!(opens.load(std::sync::atomic::Ordering::SeqCst), 2, "opened, lost, reopened");
    let m = metrics.snapshot();
    assert_eq!((m.camera_reconnects, m.source_errors), (1, 2));
    // Back-off: 0.5 s then 1 s before the third open succeeds.
    assert!(started.elapsed() >= Duration::from_millis(1400));
    assert_eq!(
        labels_and_frames(&events(dir.path())),
        vec![("me".to_string(), "0009.jpg".to_string())]
    );
}

#[test]
fn frames_that_do_not_decode_are_skipped_and_counted_and_the_visit_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let config = demo_config(dir.path());
    // Garbage, a JPEG cut in half (what a camera glitch or a half-written replay file gives)
    // and an empty file, in the middle of the "me" visit.
    let garbage = dir.path().join("garbage.jpg");
    std::fs::write(&garbage, b"\xff\xd8 this is no jpeg").unwrap();
    let whole = std::fs::read(frame(12)).unwrap();
    let half = dir.path().join("half.jpg");
    std::fs::write(&half, &whole[..whole.len() / 2]).unwrap();
    let empty = dir.path().join("empty.jpg");
    std::fs::write(&empty, b"").unwrap();
    let mut steps = frames(7..=9);
    steps.extend([garbage, half, empty].map(Step::Image));
    steps.extend(frames(10..=18));
    let source = scripted(steps);
    let metrics = source.metrics.clone();
    let summary = run(config, source, speaker().0);
    // A truncated JPEG may still decode (the lower half grey): it is then a frame like any
    // other. What does not decode is counted, never fatal.
    let errors = metrics.snapshot().source_errors;
    assert!((2..=3).contains(&errors), "{errors} source errors");
    assert_eq!(summary.frames, 12 + 3 - errors);
    assert_eq!(
        labels_and_frames(&events(dir.path())),
        vec![("me".to_string(), "0009.jpg".to_string())]
    );
}

/// Collects sd_notify datagrams with their arrival times.
fn notify_socket(dir: &Path) -> (Notifier, std::sync::mpsc::Receiver<(Instant, String)>) {
    let path = dir.join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok(n) = socket.recv(&mut buf) {
            if tx.send((Instant::now(), String::from_utf8_lossy(&buf[..n]).into_owned())).is_err() {
                break;
            }
        }
    });
    (Notifier::to_path(&path).unwrap(), rx)
}

#[test]
fn the_watchdog_is_fed_only_while_frames_flow() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = demo_config(dir.path());
    config.text.enabled = false;
    // A camera that hangs for 1.5 s before its first frame and for 2 s in the middle.
    let mut steps = vec![Step::Stall(Duration::from_millis(1500))];
    steps.extend(frames(7..=12));
    steps.push(Step::Stall(Duration::from_secs(2)));
    steps.extend(frames(13..=18));
    let (notifier, messages) = notify_socket(dir.path());
    let source = Box::new(ScriptedSource::new(steps, false));
    run(config, Run { source, notifier, metrics: Arc::default() }, speaker().0);
    let got: Vec<(Instant, String)> = messages.try_iter().collect();
    let ready = got.iter().find(|(_, m)| m == "READY=1").expect("READY=1 sent").0;
    let dogs: Vec<Instant> =
        got.iter().filter(|(_, m)| m == "WATCHDOG=1").map(|(t, _)| *t).collect();
    assert!(dogs.len() >= 2, "{got:?}");
    assert!(dogs[0].duration_since(ready) >= Duration::from_millis(1400), "fed before any frame");
    let longest = dogs.windows(2).map(|w| w[1].duration_since(w[0])).max().unwrap();
    assert!(longest >= Duration::from_millis(1900), "fed while frames stalled: {got:?}");
    assert_eq!(got.last().map(|(_, m)| m.as_str()), Some("STOPPING=1"));
}

#[test]
fn metrics_health_and_the_last_frame_are_served_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = demo_config(dir.path());
    config.text.enabled = false;
    config.http.enabled = true;
    config.http.listen = "127.0.0.1:0".into();
    let mut steps = frames(7..=18);
    steps.push(Step::Stall(Duration::from_millis(1500)));
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let scraper = std::thread::spawn(move || {
        let addr: std::net::SocketAddr = addr_rx.recv().unwrap();
        let get = |path: &str| {
            let mut stream = std::net::TcpStream::connect(addr).unwrap();
            write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
            let mut reply = Vec::new();
            stream.read_to_end(&mut reply).unwrap();
            reply
        };
        // The twelve frames are through while the camera stalls after them.
        let done =
            || String::from_utf8_lossy(&get("/metrics")).contains("\nlookout_frames_total 12\n");
        common::wait_until("all frames through", Duration::from_secs(20), done);
        (get("/metrics"), get("/healthz"), get("/snapshot.jpg"))
    });
    let devices = Devices {
        source: Box::new(ScriptedSource::new(steps, false)),
        audio: speaker().0,
        notifier: Notifier::disabled(),
    };
    let options = RunOptions {
        exit_at_end: true,
        on_ready: Some(Box::new(move |addr| addr_tx.send(addr.unwrap()).unwrap())),
        ..RunOptions::default()
    };
    daemon::run(settings(config), devices, Control::default(), options).unwrap();
    let (metrics, health, snapshot) = scraper.join().unwrap();
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    assert!(metrics.contains("\nlookout_frames_total 12\n"), "{metrics}");
    assert!(
        metrics.contains("lookout_decisions_total{kind=\"face\",label=\"me\"} 1\n"),
        "{metrics}"
    );
    assert!(metrics.contains("lookout_inference_seconds_count 12\n"), "{metrics}");
    assert!(String::from_utf8_lossy(&health).starts_with("HTTP/1.1 200"));
    let split = snapshot.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let jpeg = image::load_from_memory(&snapshot[split + 4..]).unwrap();
    assert_eq!((jpeg.width(), jpeg.height()), (640, 480));
}

#[test]
fn a_live_source_faster_than_the_pipeline_drops_stale_frames_and_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = demo_config(dir.path());
    let source = from_source(Box::new(ScriptedSource::new(frames(1..=50), true)));
    let metrics = source.metrics.clone();
    let summary = run(config, source, speaker().0);
    assert_eq!(summary.frames + summary.dropped, 50, "{summary:?}");
    assert!(summary.dropped > 0, "{summary:?}");
    assert_eq!(metrics.snapshot().frames_dropped, summary.dropped);
}
