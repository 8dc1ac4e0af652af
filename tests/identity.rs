//! Gallery mode end to end, through the `lookout` binary: enrolling people from photos,
//! identifying photos, the daemon naming enrolled people and keeping strangers' chips, a kept
//! stranger enrolled by id, and bad input (damaged or foreign galleries, photos without faces,
//! bad names) refused with the file and the reason, leaving what the user had untouched.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{lookout, root};

fn photo(name: &str) -> PathBuf {
    root().join("tests/fixtures/faces/images").join(name)
}

fn run(args: &[&str]) -> Output {
    lookout().args(args).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A gallery in `dir` with `name` enrolled from `photos`.
fn enrolled(dir: &Path, name: &str, photos: &[&str]) -> PathBuf {
    let gallery = dir.join("gallery.json");
    let mut args = vec!["enroll", "--gallery", s(&gallery), "--name", name];
    let paths: Vec<PathBuf> = photos.iter().map(|p| photo(p)).collect();
    args.extend(paths.iter().map(|p| s(p)));
    let out = run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    gallery
}

#[test]
fn the_same_person_is_named_and_another_is_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let gallery = enrolled(dir.path(), "barack", &["obama.jpg", "obama2.jpg"]);
    let (same, other) = (photo("obama3.jpg"), photo("biden.jpg"));
    let out = run(&["identify", "--json", "--gallery", s(&gallery), s(&same), s(&other)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8(out.stdout).unwrap();
    // The fields in the documented order.
    let first = stdout.lines().next().unwrap_or_default();
    assert!(first.starts_with("{\"image\":") && first.contains("[{\"box\":["), "{first}");
    assert!(first.find("\"name\"") < first.find("\"distance\""), "{first}");
    let lines: Vec<serde_json::Value> =
        stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["image"], s(&same));
    let face = &lines[0]["faces"][0];
    assert_eq!(face["name"], "barack");
    assert!(face["distance"].as_f64().unwrap() < 0.45, "{face}");
    assert_eq!(face["box"].as_array().unwrap().len(), 4);
    let face = &lines[1]["faces"][0];
    assert_eq!(face["name"], "unknown");
    assert!(face["distance"].as_f64().unwrap() > 0.7, "{face}");
}

#[test]
fn photos_without_a_face_are_named_and_nothing_is_written_when_none_had_one() {
    let dir = tempfile::tempdir().unwrap();
    let gallery = dir.path().join("gallery.json");
    let empty = dir.path().join("empty.jpg");
    std::fs::write(&empty, b"").unwrap();
    let wall = root().join("tests/fixtures/detect/images/empty_coins.png");
    let out = run(&["enroll", "--gallery", s(&gallery), "--name", "ann", s(&wall), s(&empty)]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("empty_coins.png: no face found; skipped"), "{err}");
    assert!(err.contains("empty.jpg: cannot decode image"), "{err}");
    assert!(err.contains("no face was enrolled"), "{err}");
    assert!(!gallery.exists());
    // With one good photo among them: enrolled, and the exit code says some were skipped.
    let good = photo("obama.jpg");
    let out = run(&["enroll", "--gallery", s(&gallery), "--name", "ann", s(&wall), s(&good)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 face(s) of \"ann\" enrolled"));
}

#[test]
fn bad_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let gallery = dir.path().join("gallery.json");
    let good = photo("obama.jpg");
    for (name, why) in [
        ("../evil", "path separator"),
        ("a\u{7}b", "control character"),
        ("unknown", "\"unknown\" is what lookout calls"),
        ("", "cannot be empty"),
    ] {
        let out = run(&["enroll", "--gallery", s(&gallery), "--name", name, s(&good)]);
        assert_eq!(out.status.code(), Some(2), "{name:?}");
        assert!(stderr(&out).contains(why), "{name:?}: {}", stderr(&out));
    }
    assert!(!gallery.exists());
}

#[test]
fn damaged_or_foreign_galleries_are_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let gallery = enrolled(dir.path(), "barack", &["obama.jpg"]);
    let good = std::fs::read(&gallery).unwrap();
    let photo = photo("obama2.jpg");

    let truncated = &good[..good.len() / 2];
    let mut foreign: serde_json::Value = serde_json::from_slice(&good).unwrap();
    foreign["model_sha256"] = "0".repeat(64).into();
    let foreign = serde_json::to_vec(&foreign).unwrap();
    for (bytes, why) in [
        (truncated, "not a lookout gallery: EOF while parsing"),
        (&b"\x89PNG not json"[..], "not a lookout gallery"),
        (&foreign[..], "was made with another embedding model (sha256 000000000000"),
    ] {
        std::fs::write(&gallery, bytes).unwrap();
        for args in [
            vec!["enroll", "--gallery", s(&gallery), "--name", "barack", s(&photo)],
            vec!["identify", "--gallery", s(&gallery), s(&photo)],
            vec!["enroll", "--gallery", s(&gallery), "--list"],
        ] {
            let out = run(&args);
            assert_eq!(out.status.code(), Some(2), "{args:?}");
            let err = stderr(&out);
            assert!(err.contains(s(&gallery)) && err.contains(why), "{args:?}: {err}");
            assert_eq!(std::fs::read(&gallery).unwrap(), bytes, "{args:?} changed the file");
        }
    }
}

#[test]
fn people_are_listed_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let gallery = enrolled(dir.path(), "barack", &["obama.jpg", "obama2.jpg"]);
    enrolled(dir.path(), "joe", &["biden.jpg"]);
    let list =
        |g: &Path| String::from_utf8(run(&["enroll", "--gallery", s(g), "--list"]).stdout).unwrap();
    assert_eq!(list(&gallery), "barack: 2 face(s)\njoe: 1 face(s)\n");
    let out = run(&["enroll", "--gallery", s(&gallery), "--remove", "joseph"]);
    assert!(stderr(&out).contains("nobody called \"joseph\" is enrolled"), "{}", stderr(&out));
    assert!(run(&["enroll", "--gallery", s(&gallery), "--remove", "joe"]).status.success());
    assert_eq!(list(&gallery), "barack: 2 face(s)\n");
}

/// The demo's configuration in gallery mode: the astronaut enrolled as "me" from a different
/// photograph than the demo's frames, sounds for "me" and for "unknown".
fn gallery_demo(dir: &Path) -> PathBuf {
    let gallery = enrolled(dir, "me", &["astronaut.png"]);
    let config = dir.join("lookout.toml");
    let frames = root().join("examples/demo/frames");
    let beep = root().join("tests/fixtures/sounds/beep.ogg");
    std::fs::write(
        &config,
        format!(
            "[source]\ninput = \"replay:{}\"\n[face]\ngallery = \"gallery.json\"\n\
             [[action]]\non = \"me\"\n[[action]]\non = \"unknown\"\nsound = \"{}\"\n\
             [events]\npath = \"events.jsonl\"\n[reload]\nwatch_models = false\n",
            frames.display(),
            beep.display()
        ),
    )
    .unwrap();
    let _ = gallery;
    config
}

#[test]
fn the_daemon_names_the_owner_keeps_the_stranger_and_learns_the_strangers_name() {
    let dir = tempfile::tempdir().unwrap();
    let config = gallery_demo(dir.path());
    let gallery = dir.path().join("gallery.json");
    let check = run(&["check", "--config", s(&config)]);
    assert!(check.status.success(), "{}", stderr(&check));
    let shown = String::from_utf8_lossy(&check.stdout).into_owned();
    assert!(shown.contains("labels [\"me\", \"unknown\"]"), "{shown}");

    let out = run(&["run", "--config", s(&config), "--exit-at-end"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let events = common::events(dir.path());
    let labels: Vec<&str> = events.iter().map(|e| e["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["me", "unknown"], "{events:?}");
    assert!(events[0]["distance"].as_f64().unwrap() < 0.4, "{}", events[0]);
    assert!(events[0]["actions"].to_string().contains("chime"), "{}", events[0]);
    assert!(events[1]["distance"].as_f64().unwrap() > 0.6, "{}", events[1]);
    assert!(events[1]["actions"].to_string().contains("beep.ogg"), "{}", events[1]);
    // The stranger's chip is kept, under the id the event carries.
    let id = events[1]["unknown_id"].as_str().unwrap().to_string();
    let kept = dir.path().join("gallery.unknown");
    let chip = image::open(kept.join(format!("{id}.png"))).unwrap();
    assert_eq!((chip.width(), chip.height()), (150, 150));

    let out =
        run(&["enroll", "--gallery", s(&gallery), "--name", "visitor", "--from-unknown", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!kept.join(format!("{id}.json")).exists(), "enrolled visitors leave the folder");
    std::fs::remove_file(dir.path().join("events.jsonl")).unwrap();
    let out = run(&["run", "--config", s(&config), "--exit-at-end"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let labels: Vec<String> = common::events(dir.path())
        .iter()
        .map(|e| e["label"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(labels, ["me", "visitor"]);
}

#[test]
fn a_damaged_gallery_stops_the_daemon_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let config = gallery_demo(dir.path());
    let gallery = dir.path().join("gallery.json");
    std::fs::write(&gallery, b"{\"format\": \"lookout-gallery\", \"version\": 1").unwrap();
    for command in ["check", "run"] {
        let out = run(&[command, "--config", s(&config)]);
        assert_eq!(out.status.code(), Some(2), "{command}");
        let err = stderr(&out);
        assert!(
            err.contains(s(&gallery)) && err.contains("not a lookout gallery"),
            "{command}: {err}"
        );
    }
}

#[test]
fn enrolling_from_a_missing_camera_says_so_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let gallery = dir.path().join("gallery.json");
    let mut child = lookout()
        .args(["enroll", "--gallery", s(&gallery), "--name", "ann"])
        .args(["--source", "camera:/dev/lookout-no-such-camera", "--count", "3"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The warning comes at once; the command waits for the camera until stopped.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    common::signal(&child, "TERM");
    let (code, _) = common::wait_exit(&mut child, std::time::Duration::from_secs(10));
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.contains("/dev/lookout-no-such-camera") && err.contains("retrying"), "{err}");
    assert!(err.contains("no face was enrolled"), "{err}");
    assert_eq!(code, Some(2));
    assert!(!gallery.exists());
}

#[test]
fn the_demos_gallery_config_is_valid_gallery_mode() {
    let path = root().join("examples/demo/gallery.toml");
    let config = lookout::config::Config::load(&path).unwrap();
    let settings = lookout::settings::Settings::new(config, &path).unwrap();
    let identity = settings.face.and_then(|f| f.identity).expect("gallery mode");
    assert_eq!(identity.gallery, root().join("examples/demo/gallery.json"));
    assert!(identity.embed_model.ends_with("face_embed.onnx"), "{identity:?}");
    let actions: Vec<&str> = settings.actions.iter().map(|a| a.on.as_str()).collect();
    assert_eq!(actions, ["me", "unknown"]);
}
