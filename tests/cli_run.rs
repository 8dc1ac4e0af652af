//! The `lookout` binary as systemd and a user run it: the demo (the README's main job),
//! signals (SIGHUP reload, SIGTERM within a second) with real sd_notify datagrams, a camera
//! that is not there, and enrolment with `lookout capture`.

mod common;

use common::{lookout, root, signal, wait_exit};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

struct Notify {
    socket: UnixDatagram,
    path: PathBuf,
}

impl Notify {
    fn new(dir: &Path) -> Notify {
        let path = dir.join("notify.sock");
        let socket = UnixDatagram::bind(&path).unwrap();
        socket.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        Notify { socket, path }
    }

    /// Reads messages until one equals `want` (other messages such as STATUS are skipped).
    fn expect(&self, want: &str, limit: Duration) {
        let started = Instant::now();
        let mut buf = [0u8; 512];
        let mut seen = Vec::new();
        while started.elapsed() < limit {
            if let Ok(n) = self.socket.recv(&mut buf) {
                let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                if msg.starts_with(want) {
                    return;
                }
                seen.push(msg);
            }
        }
        panic!("no {want:?} within {limit:?}; got {seen:?}");
    }
}

#[test]
fn the_demo_prints_one_decision_per_visit_and_the_plate() {
    let out = lookout()
        .args(["run", "--config"])
        .arg(root().join("examples/demo/demo.toml"))
        .arg("--exit-at-end")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let got: Vec<(&str, &str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap(),
                e["label"].as_str().unwrap(),
                e["frame"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("face", "me", "0009.jpg"),
            ("face", "other", "0027.jpg"),
            ("text", "41726", "0045.jpg")
        ]
    );
    // No sound card here: said once, and the events say what happened.
    assert_eq!(stderr.matches("no audio device").count(), 3, "{stderr}");
    assert_eq!(events[0]["actions"][0], "sound: no audio device (chime)");
    assert!(stderr.contains("50 frames in"), "{stderr}");
}

/// A config replaying the demo at 10 fps (five seconds) with its events in `dir`.
fn paced_config(dir: &Path) -> PathBuf {
    let path = dir.join("lookout.toml");
    let text = format!(
        "[source]\ninput = \"replay:{}\"\nreplay_fps = 10.0\n[face]\nmodel = \"{}\"\n[events]\npath = \"events.jsonl\"\n",
        root().join("examples/demo/frames").display(),
        root().join("models/face.onnx").display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn sighup_reloads_sigterm_stops_within_a_second_and_systemd_hears_of_both() {
    let dir = tempfile::tempdir().unwrap();
    let config = paced_config(dir.path());
    let notify = Notify::new(dir.path());
    let mut child = lookout()
        .args(["run", "--config"])
        .arg(&config)
        .env("NOTIFY_SOCKET", &notify.path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    notify.expect("READY=1", Duration::from_secs(10));
    notify.expect("WATCHDOG=1", Duration::from_secs(5));

    signal(&child, "HUP");
    notify.expect("RELOADING=1", Duration::from_secs(5));
    notify.expect("READY=1", Duration::from_secs(5));

    // A broken config on the next reload: the running one stays.
    std::fs::write(&config, "[face\n").unwrap();
    signal(&child, "HUP");
    notify.expect("RELOADING=1", Duration::from_secs(5));
    notify.expect("READY=1", Duration::from_secs(5));
    notify.expect("WATCHDOG=1", Duration::from_secs(5));

    signal(&child, "TERM");
    let (code, took) = wait_exit(&mut child, Duration::from_secs(5));
    notify.expect("STOPPING=1", Duration::from_secs(1));
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(took < Duration::from_secs(1), "took {took:?} to stop");
    assert!(stderr.contains("reloaded configuration and models"), "{stderr}");
    assert!(stderr.contains("keeping the running configuration"), "{stderr}");
    assert!(dir.path().join("events.jsonl").exists());
}

#[test]
fn a_missing_camera_is_waited_for_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = lookout()
        .args(["run", "--source", "camera:/dev/v4l/by-id/usb-lookout-test-camera", "--events"])
        .arg(dir.path().join("events.jsonl"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    assert!(child.try_wait().unwrap().is_none(), "exited without a camera");
    signal(&child, "TERM");
    let (code, took) = wait_exit(&mut child, Duration::from_secs(5));
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(took < Duration::from_secs(1));
    // Several attempts in 2.5 s, one warning.
    let warnings =
        stderr.lines().filter(|l| l.contains("WARN") && l.contains("usb-lookout-test-camera"));
    assert_eq!(warnings.count(), 1, "{stderr}");
    assert!(stderr.contains("built-in face.onnx"), "{stderr}");
}

#[test]
fn a_bad_replay_folder_is_a_clear_error() {
    let out = lookout()
        .args(["run", "--exit-at-end", "--source", "replay:/nonexistent/frames"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("/nonexistent/frames"), "{stderr}");
}

#[test]
fn capture_saves_square_face_crops_for_training_and_continues_numbering() {
    let dir = tempfile::tempdir().unwrap();
    let source = format!("replay:{}", root().join("examples/demo/frames").display());
    let capture = |count: &str| {
        lookout()
            .args(["capture", "--label", "me", "--count", count, "--source", &source, "--out"])
            .arg(dir.path())
            .output()
            .unwrap()
    };
    let out = capture("5");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let me = dir.path().join("me");
    let mut names: Vec<String> = std::fs::read_dir(&me)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["00001.png", "00002.png", "00003.png", "00004.png", "00005.png"]);
    let crop = image::open(me.join("00001.png")).unwrap();
    assert_eq!((crop.width(), crop.height()), (64, 64));

    // The replay has 24 frames with one face: asking for more saves those and says so.
    let out = capture("100");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(std::fs::read_dir(&me).unwrap().count(), 5 + 24);
    assert!(me.join("00029.png").exists());
}

#[test]
fn an_empty_room_stopped_by_the_motion_gate_still_feeds_the_watchdog_and_the_status() {
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("frames");
    std::fs::create_dir(&frames).unwrap();
    for n in 1..=90 {
        std::fs::copy(
            root().join("examples/demo/frames/0001.jpg"),
            frames.join(format!("{n:03}.jpg")),
        )
        .unwrap();
    }
    let config = dir.path().join("lookout.toml");
    let text = format!(
        "[source]\ninput = \"replay:{}\"\nreplay_fps = 15.0\n[face]\nmodel = \"{}\"\n[events]\npath = \"\"\n[motion]\nfull_scan_s = 60.0\n",
        frames.display(),
        root().join("models/face.onnx").display()
    );
    std::fs::write(&config, text).unwrap();
    let notify = Notify::new(dir.path());
    let mut child = lookout()
        .args(["run", "--config"])
        .arg(&config)
        .env("NOTIFY_SOCKET", &notify.path)
        .env("WATCHDOG_USEC", "2000000")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    notify.expect("READY=1", Duration::from_secs(10));
    // Past the first frame (the gate's first whole-frame scan) every frame stops at the gate,
    // and the next periodic scan is a minute away.
    std::thread::sleep(Duration::from_secs(1));
    notify.expect("WATCHDOG=1", Duration::from_secs(2));
    notify.expect("STATUS=", Duration::from_secs(6));
    signal(&child, "TERM");
    let (code, _) = wait_exit(&mut child, Duration::from_secs(5));
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(code, Some(0), "{stderr}");
}
