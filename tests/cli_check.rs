//! `lookout check`: a good configuration prints what would run; every kind of mistake exits
//! with code 2 and a message naming the file and what is wrong.

use std::path::Path;
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn check(config: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lookout"))
        .arg("check")
        .arg("--config")
        .arg(config)
        .output()
        .unwrap()
}

/// Writes `text` as a config file in a temporary folder that also holds the shipped models.
fn config(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for model in ["face.onnx", "digits.onnx"] {
        std::fs::copy(root().join("models").join(model), dir.path().join(model)).unwrap();
    }
    let path = dir.path().join("lookout.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

fn failure(output: &Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(2),
        "stdout: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn the_demo_config_checks_and_prints_its_settings() {
    let out = check(&root().join("examples/demo/demo.toml"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("# face model: ") && stdout.contains("face.onnx"), "{stdout}");
    assert!(stdout.contains("# text model: ") && stdout.contains("digits.onnx"), "{stdout}");
    assert!(stdout.contains("# replay: "), "{stdout}");
    assert!(stdout.contains("[source]") && stdout.contains("input = \"replay:"), "{stdout}");
}

#[test]
fn the_built_in_defaults_check_without_a_file() {
    let out = Command::new(env!("CARGO_BIN_EXE_lookout")).arg("check").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("built-in face.onnx"), "{stdout}");
    assert!(stdout.contains("input = \"camera:0\""), "{stdout}");
}

#[test]
fn unknown_keys_and_wrong_types_name_the_file_and_key() {
    let (_dir, path) = config("[face]\nmodel = \"face.onnx\"\nvote_windw = 4\n");
    let err = failure(&check(&path));
    assert!(err.contains("lookout.toml") && err.contains("vote_windw"), "{err}");
    let (_dir, path) = config("[detect]\nmin_neighbors = \"five\"\n");
    let err = failure(&check(&path));
    assert!(err.contains("lookout.toml") && err.contains("min_neighbors"), "{err}");
}

#[test]
fn models_are_checked_for_their_role() {
    let (_dir, path) = config("[face]\nmodel = \"digits.onnx\"\n");
    let err = failure(&check(&path));
    assert!(err.contains("digits.onnx") && err.contains("face classifier"), "{err}");
    let (dir, path) = config("[face]\nmodel = \"face.onnx\"\nbuiltin_fallback = false\n");
    std::fs::write(dir.path().join("face.onnx"), b"\x08\x07truncated").unwrap();
    let err = failure(&check(&path));
    assert!(err.contains("face.onnx"), "{err}");
    let (_dir, path) = config("[face]\nmodel = \"missing.onnx\"\nbuiltin_fallback = false\n");
    let err = failure(&check(&path));
    assert!(err.contains("missing.onnx"), "{err}");
}

#[test]
fn sounds_are_decoded_and_labels_matched() {
    let sounds = root().join("tests/fixtures/sounds");
    let good = format!(
        "[face]\nmodel = \"face.onnx\"\n[[action]]\non = \"me\"\nsound = \"{}\"\n[[action]]\non = \"other\"\nsound = \"{}\"\n",
        sounds.join("beep.mp3").display(),
        sounds.join("beep.wav").display()
    );
    let (_dir, path) = config(&good);
    let out = check(&path);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("beep.mp3: 0."));

    let (_dir, path) = config(&format!(
        "[[action]]\non = \"me\"\nsound = \"{}\"\n",
        sounds.join("broken.mp3").display()
    ));
    let err = failure(&check(&path));
    assert!(err.contains("broken.mp3"), "{err}");
    let (_dir, path) = config("[[action]]\non = \"me\"\nsound = \"nope.wav\"\n");
    let err = failure(&check(&path));
    assert!(err.contains("nope.wav"), "{err}");
    let (_dir, path) = config("[[action]]\non = \"mee\"\n");
    let err = failure(&check(&path));
    assert!(err.contains("\"mee\"") && err.contains("me, other"), "{err}");
}
