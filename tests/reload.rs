//! Reload has one owner: a SIGHUP and a model file replaced on disk both go through it, it
//! checks first and swaps settings, pipeline, actions and watched files at one point, and the
//! frame loop reads only the running settings. Each test holds the scripted camera at a gate
//! until the reload it waits for has happened, so nothing depends on timing.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{demo_config, events, frames, root, settings, wait_until};
use lookout::actions::audio::RecordingSink;
use lookout::config::Config;
use lookout::daemon::{self, Control, Devices, RunOptions};
use lookout::service::metrics::{Metrics, MetricsSnapshot};
use lookout::service::notify::Notifier;
use lookout::settings::Settings;
use lookout::source::scripted::{Gate, ScriptedSource, Step};

fn sha256_of(path: &Path) -> String {
    lookout_vision::model::Model::load(path).unwrap().sha256
}

/// The demo without its text region, its face model copied to `dir/name` and watched.
fn watched_config(dir: &Path, name: &str) -> (Config, PathBuf) {
    let mut config = demo_config(dir);
    config.text.enabled = false;
    let model = dir.join(name);
    std::fs::copy(root().join("models/face.onnx"), &model).unwrap();
    config.face.model = model.clone();
    config.face.builtin_fallback = false;
    config.reload.watch_models = true;
    config.reload.poll_s = 0.05;
    (config, model)
}

/// What the next SIGHUP reads: the test changes it before raising the flag.
#[derive(Clone)]
struct NextConfig(Arc<Mutex<Result<Config, String>>>);

impl NextConfig {
    fn new(config: Config) -> NextConfig {
        NextConfig(Arc::new(Mutex::new(Ok(config))))
    }

    fn set(&self, next: Result<Config, String>) {
        *self.0.lock().unwrap() = next;
    }

    fn loader(&self) -> daemon::Loader {
        let next = self.0.clone();
        Box::new(move || {
            let raw = next.lock().unwrap().clone();
            let raw = raw.map_err(|message| lookout::config::ConfigError::Parse {
                path: "next.toml".into(),
                message,
            })?;
            Settings::new(raw, Path::new("next.toml"))
        })
    }
}

/// Runs the daemon on `steps` in a thread; `script` acts on it meanwhile (raises SIGHUP through
/// `control`, replaces files, opens gates) and the run ends when the script's frames do.
fn run_with(
    config: Config,
    steps: Vec<Step>,
    next: Option<&NextConfig>,
    script: impl FnOnce(&Control, &dyn Fn() -> MetricsSnapshot),
) {
    let control = Control::default();
    let metrics = Arc::new(Metrics::new());
    let devices = Devices {
        source: Box::new(ScriptedSource::new(steps, false)),
        audio: Box::new(RecordingSink::new().0),
        notifier: Notifier::disabled(),
    };
    let options = RunOptions {
        exit_at_end: true,
        loader: next.map(NextConfig::loader),
        metrics: Some(metrics.clone()),
        ..RunOptions::default()
    };
    let settings = settings(config);
    let daemon = {
        let control = control.clone();
        std::thread::spawn(move || daemon::run(settings, devices, control, options))
    };
    script(&control, &|| metrics.snapshot());
    daemon.join().unwrap().unwrap();
}

const LIMIT: Duration = Duration::from_secs(20);

/// The demo's "me" visit (frames 7-18), held back until the script opens the gate.
fn visit_behind_a_gate() -> (Gate, Vec<Step>) {
    let gate = Gate::new();
    let mut steps = vec![Step::Wait(gate.clone())];
    steps.extend(frames(7..=18));
    (gate, steps)
}

/// SIGHUP, then wait until the new settings run.
fn reload_now(control: &Control, metrics: &dyn Fn() -> MetricsSnapshot) {
    control.reload.store(true, std::sync::atomic::Ordering::Relaxed);
    wait_until("the reload", LIMIT, || metrics().model_reloads_ok == 1);
}

#[test]
fn snapshots_switched_on_by_sighup_produce_pictures() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = demo_config(dir.path());
    config.text.enabled = false;
    let snapshots = dir.path().join("snapshots");
    let mut with_snapshots = config.clone();
    with_snapshots.snapshots.dir = snapshots.clone();
    let next = NextConfig::new(with_snapshots);
    let (gate, steps) = visit_behind_a_gate();
    run_with(config, steps, Some(&next), |control, metrics| {
        reload_now(control, metrics);
        gate.open();
    });
    let pictures: Vec<_> = std::fs::read_dir(&snapshots).unwrap().collect();
    assert_eq!(pictures.len(), 1, "one decision, one snapshot: {pictures:?}");
    let event = &events(dir.path())[0];
    assert!(event["actions"].to_string().contains("snapshot: "), "{event}");
}

#[test]
fn a_model_path_moved_by_sighup_is_the_one_watched_afterwards() {
    let dir = tempfile::tempdir().unwrap();
    let (config, old_model) = watched_config(dir.path(), "a.onnx");
    let new_model = dir.path().join("b.onnx");
    std::fs::copy(root().join("models/face.onnx"), &new_model).unwrap();
    let mut moved = config.clone();
    moved.face.model = new_model.clone();
    let next = NextConfig::new(moved);
    let (gate, steps) = visit_behind_a_gate();
    run_with(config, steps, Some(&next), |control, metrics| {
        reload_now(control, metrics);
        // The old file is no longer watched: breaking it changes nothing. The new one is:
        // breaking it is noticed (and refused, the running model stays).
        std::fs::write(&old_model, b"not a model").unwrap();
        std::fs::write(&new_model, b"not a model either").unwrap();
        wait_until("the new path's reload", LIMIT, || metrics().model_reloads_failed == 1);
        // Several more polls (50 ms each) in which the old path could be noticed.
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(metrics().model_reloads_failed, 1, "the old path is still watched");
        gate.open();
    });
    let events = events(dir.path());
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["label"], "me");
}

#[test]
fn a_colour_model_swapped_in_gets_colour_frames() {
    let dir = tempfile::tempdir().unwrap();
    let (config, model) = watched_config(dir.path(), "face.onnx");
    let probe = root().join("tests/fixtures/model/color_probe.onnx");
    let gate = Gate::new();
    // The gray model decides "me" in frames 7-12; then the colour probe (which can only be
    // sure of a face in colour) must decide again on frames 13-18.
    let mut steps = frames(7..=12);
    steps.push(Step::Wait(gate.clone()));
    steps.extend(frames(13..=18));
    run_with(config, steps, None, |_, metrics| {
        wait_until("the first frames", LIMIT, || metrics().frames == 6);
        let bytes = std::fs::read(&probe).unwrap();
        std::fs::write(&model, bytes).unwrap();
        wait_until("the model swap", LIMIT, || metrics().model_reloads_ok == 1);
        gate.open();
    });
    let events = events(dir.path());
    let by: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e["label"].as_str().unwrap(), e["model_sha256"].as_str().unwrap()))
        .collect();
    let gray = sha256_of(&root().join("models/face.onnx"));
    let colour = sha256_of(&probe);
    assert_eq!(by, vec![("me", gray.as_str()), ("me", colour.as_str())], "{events:?}");
    assert!(events[1]["confidence"].as_f64().unwrap() > 0.99, "{events:?}");
}

#[test]
fn a_bad_reload_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (config, model) = watched_config(dir.path(), "face.onnx");
    // Valid TOML, but its model does not exist: refused when checked, like `lookout check`.
    let mut broken = config.clone();
    broken.face.model = dir.path().join("missing.onnx");
    broken.snapshots.dir = dir.path().join("snapshots");
    let next = NextConfig::new(broken);
    let (gate, steps) = visit_behind_a_gate();
    run_with(config, steps, Some(&next), |control, metrics| {
        control.reload.store(true, std::sync::atomic::Ordering::Relaxed);
        wait_until("the refusal", LIMIT, || metrics().model_reloads_failed == 1);
        // And a file that does not parse at all.
        next.set(Err("expected `]`".into()));
        control.reload.store(true, std::sync::atomic::Ordering::Relaxed);
        wait_until("the second refusal", LIMIT, || metrics().model_reloads_failed == 2);
        // The running settings still watch the running model.
        std::fs::write(&model, b"garbage").unwrap();
        wait_until("the watch", LIMIT, || metrics().model_reloads_failed == 3);
        gate.open();
    });
    assert!(!dir.path().join("snapshots").exists(), "the refused snapshots dir was used");
    let events = events(dir.path());
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["model_sha256"], sha256_of(&root().join("models/face.onnx")));
}

#[test]
fn a_bad_model_file_is_rejected_and_the_old_model_keeps_running() {
    let dir = tempfile::tempdir().unwrap();
    let (config, model) = watched_config(dir.path(), "face.onnx");
    let good = std::fs::read(&model).unwrap();
    let gate = Gate::new();
    let mut steps = frames(1..=3);
    steps.push(Step::Wait(gate.clone()));
    steps.extend(frames(7..=18));
    run_with(config, steps, None, |_, metrics| {
        wait_until("the first frames", LIMIT, || metrics().frames == 3);
        // A copy cut off half way: refused, the running model stays.
        std::fs::write(&model, &good[..good.len() / 2]).unwrap();
        wait_until("the refusal", LIMIT, || metrics().model_reloads_failed == 1);
        // And then the whole file again: swapped in.
        std::fs::write(&model, &good).unwrap();
        wait_until("the swap", LIMIT, || metrics().model_reloads_ok == 1);
        gate.open();
    });
    let events = events(dir.path());
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!((&events[0]["label"], &events[0]["frame"]), (&"me".into(), &"0009.jpg".into()));
}

#[test]
fn a_gallery_changed_by_enrolment_is_swapped_in_and_a_broken_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let gallery = dir.path().join("gallery.json");
    let enroll = |name: &str, photo: &Path| {
        let out = common::lookout()
            .args(["enroll", "--gallery"])
            .args([&gallery, Path::new("--name"), Path::new(name), photo])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    enroll("me", &root().join("tests/fixtures/faces/images/astronaut.png"));
    let mut config = demo_config(dir.path());
    config.text.enabled = false;
    config.face.gallery = gallery.clone();
    config.reload.watch_models = true;
    config.reload.poll_s = 0.05;
    // An empty frame (so the daemon is known to run), then the stranger's visit, held back
    // until the gallery knows them.
    let gate = Gate::new();
    let mut steps = frames(1..=1);
    steps.push(Step::Wait(gate.clone()));
    steps.extend(frames(25..=36));
    run_with(config, steps, None, |_, metrics| {
        wait_until("the daemon", LIMIT, || metrics().frames == 1);
        let good = std::fs::read(&gallery).unwrap();
        std::fs::write(&gallery, &good[..good.len() - 10]).unwrap();
        wait_until("the refusal", LIMIT, || metrics().model_reloads_failed == 1);
        // The good file back is a change too: wait for it, or it could pass for the new one.
        std::fs::write(&gallery, &good).unwrap();
        wait_until("the good gallery back", LIMIT, || metrics().model_reloads_ok == 1);
        // Enrolled while the daemon runs, from a frame of the visit it has not seen yet.
        enroll("visitor", &common::frame(30));
        wait_until("the new gallery", LIMIT, || metrics().model_reloads_ok == 2);
        gate.open();
    });
    let events = events(dir.path());
    let labels: Vec<&str> = events.iter().map(|e| e["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["visitor"], "{events:?}");
}
