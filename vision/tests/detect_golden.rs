//! Our detector against OpenCV's `detectMultiScale` on the committed fixture scenes.
//!
//! `tests/fixtures/detect/golden.json` holds OpenCV 4.x's boxes; `regenerate.sh` beside it made
//! them (and the scenes) with `golden.py`. The contract: for each kind of cascade (stumps,
//! trees, tilted features, LBP), at least 98% of OpenCV's boxes are matched by ours at
//! IoU ≥ 0.8 and at least 98% of ours by OpenCV's. We reach exact equality, and pin it: the
//! gray conversion, every pyramid level and every box equal OpenCV's.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lookout_vision::cascade::{self, DetectParams, Detector, Rect};
use lookout_vision::image_io;
use lookout_vision::imgproc::{resize_bilinear_exact, GrayImage, ResizeScratch};
use serde_json::Value;

const MIN_AGREEMENT: f64 = 0.98;
const MIN_IOU: f64 = 0.8;

fn root() -> PathBuf {
    common::workspace().to_path_buf()
}

fn golden() -> Value {
    let path = root().join("tests/fixtures/detect/golden.json");
    let text = std::fs::read_to_string(&path).expect("golden.json is committed");
    serde_json::from_str(&text).expect("golden.json parses")
}

fn rects(v: &Value) -> Vec<Rect> {
    v.as_array()
        .expect("faces array")
        .iter()
        .map(|r| {
            let n: Vec<i32> =
                r.as_array().unwrap().iter().map(|x| x.as_i64().unwrap() as i32).collect();
            Rect { x: n[0], y: n[1], width: n[2], height: n[3] }
        })
        .collect()
}

/// How many of `want` find a distinct partner in `have` with IoU ≥ `MIN_IOU` (greedy).
fn matched(want: &[Rect], have: &[Rect]) -> usize {
    let mut used = vec![false; have.len()];
    want.iter()
        .filter(|w| {
            let best = (0..have.len())
                .filter(|&j| !used[j])
                .map(|j| (j, w.iou(&have[j])))
                .filter(|&(_, iou)| iou >= MIN_IOU)
                .max_by(|a, b| a.1.total_cmp(&b.1));
            best.map(|(j, _)| used[j] = true).is_some()
        })
        .count()
}

fn cascade_path(case: &Value) -> PathBuf {
    let p = Path::new(case["cascade"].as_str().unwrap());
    if p.is_absolute() {
        assert!(p.exists(), "{} is missing: install Debian's opencv-data", p.display());
        p.to_path_buf()
    } else {
        root().join(p)
    }
}

#[derive(Default, Debug)]
struct Tally {
    cases: usize,
    exact: usize,
    theirs: usize,
    theirs_matched: usize,
    ours: usize,
    ours_matched: usize,
}

impl Tally {
    fn add(&mut self, theirs: &[Rect], ours: &[Rect]) {
        let sorted = |v: &[Rect]| {
            let mut v = v.to_vec();
            v.sort_by_key(|r| (r.x, r.y, r.width, r.height));
            v
        };
        self.cases += 1;
        self.exact += (sorted(theirs) == sorted(ours)) as usize;
        self.theirs += theirs.len();
        self.theirs_matched += matched(theirs, ours);
        self.ours += ours.len();
        self.ours_matched += matched(ours, theirs);
    }

    fn recall(&self) -> f64 {
        if self.theirs == 0 {
            1.0
        } else {
            self.theirs_matched as f64 / self.theirs as f64
        }
    }

    fn precision(&self) -> f64 {
        if self.ours == 0 {
            1.0
        } else {
            self.ours_matched as f64 / self.ours as f64
        }
    }
}

fn run_cases(cases: &[Value]) -> BTreeMap<String, Tally> {
    let mut detectors: BTreeMap<PathBuf, Detector> = BTreeMap::new();
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    for case in cases {
        let path = cascade_path(case);
        let detector = detectors.entry(path.clone()).or_insert_with(|| {
            Detector::new(cascade::load(&path).unwrap_or_else(|e| panic!("{e}")))
        });
        let image = image_io::read(&root().join(case["image"].as_str().unwrap())).unwrap();
        let gray = match case.get("crop").and_then(Value::as_array) {
            Some(c) => crop(&image.gray, c),
            None => image.gray,
        };
        let some = |v: &Value| v.as_u64().filter(|&n| n > 0).map(|n| n as u32);
        let params = DetectParams {
            scale_factor: case["scale_factor"].as_f64().unwrap(),
            min_neighbors: case["min_neighbors"].as_u64().unwrap() as u32,
            min_size: some(&case["min_size"]).map_or((0, 0), |s| (s, s)),
            max_size: some(&case["max_size"]).map(|s| (s, s)),
        };
        let ours = detector.detect(&gray, &params, 2);
        let theirs = rects(&case["faces"]);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        tallies.entry(name).or_default().add(&theirs, &ours);
    }
    tallies
}

fn crop(gray: &GrayImage, c: &[Value]) -> GrayImage {
    let n: Vec<usize> = c.iter().map(|v| v.as_u64().unwrap() as usize).collect();
    let (x, y, w, h) = (n[0], n[1], n[2], n[3]);
    let pixels = (y..y + h).flat_map(|row| gray.row(row)[x..x + w].iter().copied()).collect();
    GrayImage::new(w, h, pixels).unwrap()
}

fn assert_agreement(tallies: &BTreeMap<String, Tally>) {
    for (name, t) in tallies {
        eprintln!(
            "{name}: {}/{} cases identical; OpenCV boxes matched {}/{} ({:.2}%), ours matched {}/{} ({:.2}%)",
            t.exact,
            t.cases,
            t.theirs_matched,
            t.theirs,
            100.0 * t.recall(),
            t.ours_matched,
            t.ours,
            100.0 * t.precision()
        );
    }
    for (name, t) in tallies {
        assert!(
            t.recall() >= MIN_AGREEMENT,
            "{name}: only {:.2}% of OpenCV's boxes found",
            100.0 * t.recall()
        );
        assert!(
            t.precision() >= MIN_AGREEMENT,
            "{name}: only {:.2}% of our boxes confirmed",
            100.0 * t.precision()
        );
    }
}

fn fnv1a64(bytes: &[u8]) -> String {
    let hash = bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
    format!("{hash:016x}")
}

#[test]
fn gray_conversion_and_pyramid_resize_are_bit_exact() {
    let golden = golden();
    let pixels = &golden["pixels"];
    let image = image_io::read(&root().join(pixels["image"].as_str().unwrap())).unwrap();
    assert_eq!(
        fnv1a64(&image.gray.pixels),
        pixels["gray_fnv1a64"].as_str().unwrap(),
        "gray conversion"
    );
    let mut scratch = ResizeScratch::default();
    for r in pixels["resized"].as_array().unwrap() {
        let (w, h) =
            (r["width"].as_u64().unwrap() as usize, r["height"].as_u64().unwrap() as usize);
        let mut out = vec![0u8; w * h];
        let g = &image.gray;
        resize_bilinear_exact(&g.pixels, g.width, g.height, &mut out, w, h, &mut scratch);
        assert_eq!(fnv1a64(&out), r["fnv1a64"].as_str().unwrap(), "resize to {w}x{h}");
    }
}

/// Agreement is the contract; identity is what we reach today, pinned so a regression shows.
fn assert_identical(tallies: &BTreeMap<String, Tally>) {
    for (name, t) in tallies {
        assert_eq!(
            t.exact,
            t.cases,
            "{name}: {} of {} cases differ from OpenCV",
            t.cases - t.exact,
            t.cases
        );
    }
}

/// Runs one section of golden.json and asserts agreement (the contract) and identity.
fn check_section(section: &str) -> BTreeMap<String, Tally> {
    let golden = golden();
    let cases =
        golden[section].as_array().unwrap_or_else(|| panic!("golden.json has no {section}"));
    let tallies = run_cases(cases);
    assert_agreement(&tallies);
    assert_identical(&tallies);
    tallies
}

#[test]
fn boxes_agree_with_opencv_for_stumps_trees_tilted_and_lbp() {
    let tallies = check_section("cases");
    for kind in [
        "haarcascade_frontalface_default.xml",
        "haarcascade_frontalface_alt2.xml",
        "haarcascade_eye_tree_eyeglasses.xml",
        "lbpcascade_frontalface_improved.xml",
    ] {
        let t = tallies.get(kind).unwrap_or_else(|| panic!("golden.json has no cases for {kind}"));
        assert!(t.theirs > 0, "{kind}: the fixtures give OpenCV nothing to find");
    }
}

#[test]
fn every_opencv_data_cascade_loads_and_agrees_on_raw_hits() {
    let tallies = check_section("all_cascades");
    assert_eq!(tallies.len(), 22, "17 Haar and 5 LBP cascades");
}

/// Size limits that leave no scale (OpenCV falls back to the nearest one), crops whose odd
/// working height makes OpenCV stop a row early, and a synthetic cascade whose raw hits map
/// exactly which windows are visited.
#[test]
fn edge_cases_and_the_scan_pattern_match_opencv() {
    let tallies = check_section("edge_cases");
    let pattern = &tallies["lbp_scan_pattern.xml"];
    assert!(pattern.theirs > 5000, "the scan-pattern cases visit thousands of windows");
}
