//! What the whole-flow tests share: where the workspace is, the binary under test, settings
//! made the way the daemon makes them, and waiting for a condition instead of sleeping.
#![allow(dead_code)]

pub mod mqtt;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use lookout::config::Config;
use lookout::settings::Settings;
use lookout::source::scripted::Step;

/// The workspace root: models, examples and fixtures are named from here.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `lookout` binary built for these tests, deaf to a systemd that runs the test runner.
pub fn lookout() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lookout"));
    cmd.env_remove("NOTIFY_SOCKET").env_remove("WATCHDOG_USEC");
    cmd
}

/// `config` validated as `lookout run` validates it.
pub fn settings(config: Config) -> Settings {
    Settings::new(config, Path::new("test config")).expect("a valid test configuration")
}

/// The demo's configuration (examples/demo/demo.toml) with its event log in `dir`.
pub fn demo_config(dir: &Path) -> Config {
    let mut config = Config::load(&root().join("examples/demo/demo.toml")).unwrap();
    config.events.path = dir.join("events.jsonl");
    config
}

/// The demo's frame `n` (examples/demo/README.md: "me" in frames 7-18, a stranger in 25-36,
/// the plate "41726" in 43-50).
pub fn frame(n: u32) -> PathBuf {
    root().join(format!("examples/demo/frames/{n:04}.jpg"))
}

/// Demo frames as a scripted camera's steps.
pub fn frames(range: std::ops::RangeInclusive<u32>) -> Vec<Step> {
    range.map(|n| Step::Image(frame(n))).collect()
}

/// The events a run wrote to `dir/events.jsonl`.
pub fn events(dir: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("events.jsonl")).unwrap_or_default();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Polls `done` every 10 ms until it holds; panics naming `what` after `limit`.
pub fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Sends the signal `name` (HUP, TERM, ...) to a child process.
pub fn signal(child: &Child, name: &str) {
    let status =
        Command::new("kill").arg(format!("-{name}")).arg(child.id().to_string()).status().unwrap();
    assert!(status.success());
}

/// Waits for the child to exit, at most `limit`; returns its exit code and how long it took.
pub fn wait_exit(child: &mut Child, limit: Duration) -> (Option<i32>, Duration) {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code(), started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    panic!("still running after {limit:?}");
}
