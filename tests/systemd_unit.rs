//! The shipped unit file is one systemd accepts, with the settings the daemon relies on.

use std::path::Path;
use std::process::Command;

fn unit() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/lookout.service"))
        .unwrap()
}

#[test]
fn systemd_analyze_verifies_the_unit() {
    let dir = tempfile::tempdir().unwrap();
    // verify checks that ExecStart exists: point it at the binary under test.
    let text = unit().replace("/usr/bin/lookout", env!("CARGO_BIN_EXE_lookout"));
    let path = dir.path().join("lookout.service");
    std::fs::write(&path, text).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze (Debian package systemd) is needed for this test");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.trim().is_empty(), "{stderr}");
}

#[test]
fn the_unit_uses_notify_watchdog_and_hardening() {
    let unit = unit();
    for line in [
        "Type=notify",
        "WatchdogSec=30",
        "Restart=on-failure",
        "User=lookout",
        "SupplementaryGroups=video audio",
        "DevicePolicy=closed",
        "DeviceAllow=char-video4linux rw",
        "DeviceAllow=char-alsa rw",
        "ProtectSystem=strict",
        "StateDirectory=lookout",
        "ConfigurationDirectory=lookout",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "ExecStart=/usr/bin/lookout run --config /etc/lookout/lookout.toml",
    ] {
        assert!(unit.lines().any(|l| l == line), "missing {line:?}");
    }
}
