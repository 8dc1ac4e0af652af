//! `lookout check`: a good configuration prints what would run; every kind of mistake exits
//! with code 2 and a message naming the file and what is wrong.

mod common;

use common::root;
use std::path::Path;
use std::process::Output;

fn check(config: &Path) -> Output {
    common::lookout().arg("check").arg("--config").arg(config).output().unwrap()
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
    let out = common::lookout().arg("check").output().unwrap();
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

/// `lookout check` or `lookout run` with `config` on the demo frames (so that a run that
/// accepts the config ends by itself).
fn on_demo_frames(command: &[&str], config: &Path) -> Output {
    let frames = format!("replay:{}", root().join("examples/demo/frames").display());
    common::lookout()
        .args(command)
        .args(["--source", &frames, "--config"])
        .arg(config)
        .output()
        .unwrap()
}

/// The last line `lookout` wrote to stderr: the error, after any log lines.
fn last_line(output: &Output) -> String {
    let stderr = failure(output);
    stderr.lines().last().unwrap_or_default().to_string()
}

#[test]
fn check_refuses_exactly_what_run_refuses() {
    let sounds = root().join("tests/fixtures/sounds");
    let bad = [
        ("[mqtt]\nenabled = true\ntopic_prefix = \"a/#\"\n", "mqtt.topic_prefix"),
        ("[mqtt]\nenabled = true\npassword = \"secret\"\n", "mqtt.password"),
        ("[http]\nenabled = true\nlisten = \"0.0.0.0:9898\"\n", "http.listen"),
        ("[http]\nenabled = true\nlisten = \"localhost\"\n", "http.listen"),
        ("[face]\nvote_window = 2\nvote_needed = 3\n", "face.vote_needed"),
        ("[source]\nframe_timeout_s = inf\n", "source.frame_timeout_s"),
        ("[face]\nvote_windw = 4\n", "vote_windw"),
        ("[face]\nmodel = \"missing.onnx\"\nbuiltin_fallback = false\n", "missing.onnx"),
        ("[face]\nmodel = \"digits.onnx\"\n", "face classifier"),
        ("[[action]]\non = \"mee\"\n", "\"mee\""),
        ("[[action]]\non = \"me\"\nsound = \"nope.wav\"\n", "nope.wav"),
        (
            &format!(
                "[[action]]\non = \"me\"\nsound = \"{}\"\n",
                sounds.join("broken.mp3").display()
            ),
            "broken.mp3",
        ),
    ];
    for (text, what) in bad {
        let (_dir, path) = config(text);
        let checked = last_line(&on_demo_frames(&["check"], &path));
        let ran = last_line(&on_demo_frames(&["run", "--exit-at-end", "--events", "-"], &path));
        assert!(checked.contains(what), "check: {checked}\n{text}");
        assert_eq!(ran, checked, "run and check disagree on\n{text}");
    }
}
