//! The motion gate in the whole daemon: a day made of the demo's frames (long empty stretches
//! of the doorway between the visits and the plate) decides exactly what the daemon without
//! the gate decides, while most frames stop at the gate.

mod common;

use std::sync::Arc;

use common::{demo_config, events, frame, frames, settings};
use lookout::actions::audio::RecordingSink;
use lookout::config::{Config, ScanArea};
use lookout::daemon::{self, Control, Devices, RunOptions, Summary};
use lookout::service::metrics::Metrics;
use lookout::service::notify::Notifier;
use lookout::source::scripted::{ScriptedSource, Step};

/// `seconds` of the empty doorway (demo frame `n`, 15 fps).
fn empty(n: u32, seconds: u32) -> Vec<Step> {
    vec![Step::Image(frame(n)); (15 * seconds) as usize]
}

/// 10 s empty, "me", 20 s empty, the stranger, 20 s empty, the plate.
fn day() -> Vec<Step> {
    [empty(1, 10), frames(7..=18), empty(19, 20), frames(25..=36), empty(37, 20), frames(43..=50)]
        .concat()
}

fn run(config: Config) -> (Vec<(String, String)>, Summary, Arc<Metrics>) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config;
    config.events.path = dir.path().join("events.jsonl");
    let metrics = Arc::new(Metrics::new());
    let (sink, _) = RecordingSink::new();
    let devices = Devices {
        source: Box::new(ScriptedSource::new(day(), false)),
        audio: Box::new(sink),
        notifier: Notifier::disabled(),
    };
    let options =
        RunOptions { exit_at_end: true, metrics: Some(metrics.clone()), ..RunOptions::default() };
    let summary = daemon::run(settings(config), devices, Control::default(), options).unwrap();
    let decided = events(dir.path())
        .iter()
        .map(|e| (e["label"].as_str().unwrap().into(), e["frame"].as_str().unwrap().into()))
        .collect();
    (decided, summary, metrics)
}

#[test]
fn the_gate_decides_what_the_ungated_daemon_decides_on_a_fraction_of_the_scans() {
    let dir = tempfile::tempdir().unwrap();
    let mut off = demo_config(dir.path());
    off.motion.enabled = false;
    let (expected, ungated, _) = run(off);
    assert_eq!(
        expected,
        [("me", "0009.jpg"), ("other", "0027.jpg"), ("41726", "0045.jpg")]
            .map(|(l, f)| (l.to_string(), f.to_string()))
    );
    assert_eq!((ungated.gated, ungated.detections), (0, ungated.frames));

    for scan in [ScanArea::Regions, ScanArea::Frame] {
        let mut on = demo_config(dir.path());
        on.motion.scan = scan;
        let (decided, gated, metrics) = run(on);
        assert_eq!(decided, expected, "scan = {scan:?}");
        assert_eq!(gated.frames, ungated.frames);
        // 50 s of empty doorway: a scan every 5 s and 2 s after each visit; the rest stops.
        assert!(gated.gated > 600, "{scan:?}: {} of {} frames gated", gated.gated, gated.frames);
        assert_eq!(gated.gated + gated.detections, gated.frames);
        let m = metrics.snapshot();
        assert_eq!(m.frames_gated, gated.gated);
        assert_eq!(m.detections_frame + m.detections_regions, gated.detections);
        assert_eq!(m.light_switches, 0);
    }
}
