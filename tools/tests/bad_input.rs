//! `lookout-tools` given bad input as a new user gives it: a truncated photo among good ones,
//! a folder that does not exist, nonsense numbers. Each is named once, with the reason, and
//! costs the user no more than it must.
//!
//! These tests need `. scripts/libtorch-env.sh` (libtorch).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tools() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lookout-tools"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lookout-tools-bad-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Ten face crops of each class from the bundled face set, plus `bad` files in `me/` that are
/// no image at all (what a phone leaves when a copy is cut short).
fn faces_with_bad_files(dir: &Path, bad: usize) -> PathBuf {
    let data = dir.join("data");
    let faces = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/face-data");
    for class in ["me", "other"] {
        std::fs::create_dir_all(data.join(class)).unwrap();
        let mut files: Vec<PathBuf> = std::fs::read_dir(faces.join(class))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "png"))
            .collect();
        files.sort();
        for file in files.iter().take(10) {
            std::fs::copy(file, data.join(class).join(file.file_name().unwrap())).unwrap();
        }
    }
    for i in 0..bad {
        std::fs::write(data.join("me").join(format!("bad{i}.png")), b"\x89PNX cut short").unwrap();
    }
    data
}

fn train(data: &Path, out: &Path, extra: &[&str]) -> Output {
    tools()
        .args(["train", "--task", "face", "--channels", "1", "--epochs", "1", "--batch", "8"])
        .args(["--workers", "1", "--quiet", "--device", "cpu", "--data"])
        .arg(data)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn one_bad_photo_is_left_out_with_a_warning_and_training_goes_on() {
    let dir = scratch("one");
    let data = faces_with_bad_files(&dir, 1);
    let output = train(&data, &dir.join("run"), &[]);
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert!(err.contains("training face on CPU"), "{err}");
    assert!(err.contains("warning: left out 1 of 21 samples that cannot be read"), "{err}");
    assert!(err.contains("bad0.png: cannot decode image"), "{err}");
    assert_eq!(err.matches("bad0.png").count(), 1, "warned once: {err}");
    assert!(dir.join("run/best.safetensors").exists(), "no weights saved");
}

#[test]
fn strict_data_stops_at_the_bad_photo_naming_it_once() {
    let dir = scratch("strict");
    let data = faces_with_bad_files(&dir, 1);
    let output = train(&data, &dir.join("run"), &["--strict-data"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("bad0.png: cannot decode image"), "{err}");
    assert_eq!(err.lines().filter(|l| l.contains("bad0.png")).count(), 1, "{err}");
    // The decoder's own message, once, not once per layer of the error.
    let cause = err.lines().find(|l| l.contains("bad0.png")).unwrap();
    let words = cause.rsplit(": ").next().unwrap();
    assert_eq!(cause.matches(words).count(), 1, "{cause}");
}

#[test]
fn too_many_bad_photos_stop_the_run() {
    let dir = scratch("many");
    let data = faces_with_bad_files(&dir, 4);
    let output = train(&data, &dir.join("run"), &[]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("4 of 24 samples cannot be read (more than 10%)"), "{err}");
}

#[test]
fn nonsense_numbers_are_usage_errors() {
    let dir = scratch("usage");
    for (flag, value) in [("--epochs", "0"), ("--batch", "0"), ("--val-split", "1.5")] {
        let output = tools()
            .args(["train", "--task", "face", "--data", "x", "--out"])
            .arg(dir.join("run"))
            .args([flag, value])
            .output()
            .unwrap();
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{flag} {value}: {err}");
        assert!(err.contains(flag), "{err}");
        assert!(!dir.join("run").exists(), "{flag} {value} started a run");
    }
    let output =
        tools().args(["extract-faces", "--size", "4", "--in", "x", "--out", "y"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}

#[test]
fn a_missing_folder_is_named_once_with_its_cause_once() {
    let output = tools()
        .args(["eval", "--model"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/face.onnx"))
        .args(["--data", "/nonexistent"])
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert_eq!(err.matches("/nonexistent").count(), 1, "{err}");
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
}
