//! `lookout detect` as a user runs it: output formats, exit codes, drawing.

mod common;

use common::root;
use std::path::{Path, PathBuf};
use std::process::Output;

fn fixture(name: &str) -> String {
    root().join("tests/fixtures/detect/images").join(name).to_string_lossy().into_owned()
}

fn lookout(args: &[&str]) -> Output {
    common::lookout().args(args).output().expect("binary runs")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lookout-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn json_has_one_line_per_image_with_faces_and_time() {
    let image = fixture("astronaut.png");
    let out = lookout(&["detect", "--json", &image, &fixture("empty_coins.png")]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> =
        stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["image"], image.as_str());
    // OpenCV 4.14 finds exactly this face with the defaults (1.1, 3).
    assert_eq!(lines[0]["faces"], serde_json::json!([[177, 66, 95, 95]]));
    assert!(lines[0]["ms"].as_f64().unwrap() > 0.0);
    let first = stdout.lines().next().unwrap();
    assert!(
        first.starts_with(&format!("{{\"image\":{},\"faces\":[[", serde_json::json!(image))),
        "{first}"
    );
}

#[test]
fn undecodable_image_gives_exit_1_and_the_others_are_still_reported() {
    let dir = temp_dir("bad-image");
    let bad = dir.join("not-an-image.png");
    std::fs::write(&bad, b"definitely not a png").unwrap();
    let out = lookout(&["detect", "--json", bad.to_str().unwrap(), &fixture("astronaut.png")]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not-an-image.png: cannot decode image"), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}

#[test]
fn usage_and_cascade_errors_give_exit_2() {
    let image = fixture("astronaut.png");
    let out = lookout(&["detect", "--cascade", "/nonexistent.xml", &image]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("/nonexistent.xml: cannot read cascade file")
    );
    let out = lookout(&["detect", "--scale-factor", "1.0", &image]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("scale factor must be a number greater than 1"));
    assert_eq!(lookout(&["detect"]).status.code(), Some(2), "no image is a usage error");
    assert_eq!(lookout(&["detect", "--threads", "0", &image]).status.code(), Some(2));
}

#[test]
fn draw_writes_annotated_pngs() {
    let dir = temp_dir("draw");
    let out = lookout(&["detect", "--draw", dir.to_str().unwrap(), &fixture("astronaut.png")]);
    assert_eq!(out.status.code(), Some(0));
    let drawn = image::open(dir.join("astronaut.png")).unwrap().to_rgb8();
    let original = image::open(fixture("astronaut.png")).unwrap().to_rgb8();
    assert_eq!(drawn.dimensions(), original.dimensions());
    // The face box [177 66 95 95] is outlined in green; pixels away from it are untouched.
    assert_eq!(drawn.get_pixel(177, 100).0, [0, 255, 0]);
    assert_eq!(drawn.get_pixel(271, 160).0, [0, 255, 0]);
    assert_eq!(drawn.get_pixel(10, 10), original.get_pixel(10, 10));
    assert!(!Path::new(&dir.join("astronaut.png.tmp")).exists());
}

#[test]
fn lbp_and_thread_count_give_the_same_faces() {
    let image = fixture("lfw_grid_brick.png");
    let cascade = root().join("models/lbpcascade_frontalface_improved.xml");
    let run = |threads: &str| {
        let out = lookout(&[
            "detect",
            "--json",
            "--threads",
            threads,
            "--cascade",
            cascade.to_str().unwrap(),
            &image,
        ]);
        assert_eq!(out.status.code(), Some(0));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["faces"].clone()
    };
    let one = run("1");
    assert!(!one.as_array().unwrap().is_empty());
    assert_eq!(one, run("3"));
}

/// `lookout detect --json *.png | head -1`: the reader leaves after one line, and that is not
/// an error (exit code 0, nothing on stderr), as with ripgrep.
#[test]
fn a_reader_that_stops_reading_is_not_an_error() {
    use std::io::{BufRead, BufReader};
    let image = fixture("astronaut.png");
    let mut args = vec!["detect".to_string(), "--json".to_string()];
    // Enough images that writing goes on well after the reader has gone.
    args.extend(std::iter::repeat_n(image, 200));
    let mut child = common::lookout()
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(first.starts_with("{\"image\":"), "{first}");
    // The reader is dropped here: the pipe is closed.
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}
