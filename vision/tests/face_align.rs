//! Our shape predictor and face chips against dlib's own output.
//!
//! `tests/fixtures/faces/golden.json` holds what dlib 19.24 computed for HOG boxes and for
//! given boxes on 5 images (landmarks, chip rectangle and angle, the 150×150 chip as PNG);
//! `regenerate.sh` beside it made them with `reference.cpp`. The contract: landmarks equal
//! dlib's exactly, the chip geometry to 1e-9, the chip pixels within 1 (our similarity and
//! chip affine are closed forms where dlib uses an SVD, so a bilinear weight can differ in the
//! last bit and move a truncation by one). We reach equality: every landmark and every chip
//! value is dlib's, in all 27 cases, including the 15 chips cut from a pyramid level.
//!
//! All 5 images are lossless PNGs (4 are crops of the JPEG photos as dlib's libjpeg-turbo
//! decoded them: the `image` crate decodes those JPEGs slightly differently, up to 2 levels on
//! a few hundred values, enough to move landmarks by up to 3 px), so both sides read the same
//! pixels; `images.json` holds their sha256, checked before any case is compared.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use lookout_vision::cascade::{self, DetectParams, Detector, Rect};
use lookout_vision::face::chip;
use lookout_vision::face::embed::{self, FaceEmbedder};
use lookout_vision::face::landmarks::{LandmarkError, ShapePredictor};
use lookout_vision::face::{predictor_box, DlibRect, Point};
use lookout_vision::preprocess::{Pixels, Preprocessor};
use serde_json::Value;
use sha2::{Digest, Sha256};

const MODEL: &str = "models/shape_predictor_5_face_landmarks.dat";
const FACES: &str = "tests/fixtures/faces";

struct Case {
    image: String,
    source: String,
    rect: DlibRect,
    landmarks: [Point; 5],
    chip: String,
    chip_rect: [f64; 4],
    chip_angle: f64,
}

fn golden() -> Vec<Case> {
    let text = std::fs::read_to_string(common::file(&format!("{FACES}/golden.json")))
        .expect("tests/fixtures/faces/golden.json is committed");
    let cases: Vec<Value> = serde_json::from_str(&text).expect("golden.json parses");
    cases.iter().map(case).collect()
}

fn case(v: &Value) -> Case {
    let ints = |v: &Value| -> Vec<i64> {
        v.as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect()
    };
    let b = ints(&v["box"]);
    let landmarks: Vec<Point> = v["landmarks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let p = ints(p);
            Point { x: p[0], y: p[1] }
        })
        .collect();
    let floats: Vec<f64> =
        v["chip_rect"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
    Case {
        image: v["image"].as_str().unwrap().to_string(),
        source: v["source"].as_str().unwrap().to_string(),
        rect: DlibRect { left: b[0], top: b[1], right: b[2], bottom: b[3] },
        landmarks: landmarks.try_into().unwrap(),
        chip: v["chip"].as_str().unwrap().to_string(),
        chip_rect: floats.try_into().unwrap(),
        chip_angle: v["chip_angle"].as_f64().unwrap(),
    }
}

impl Case {
    fn name(&self) -> String {
        Path::new(&self.chip).file_stem().unwrap().to_string_lossy().into_owned()
    }
}

fn predictor() -> ShapePredictor {
    ShapePredictor::load(&common::file(MODEL)).unwrap_or_else(|e| panic!("{e}"))
}

/// The fixture images as the `image` crate decodes them, and whether that is the pixels dlib
/// decoded.
struct Images {
    rgb: BTreeMap<String, (image::RgbImage, bool)>,
}

impl Images {
    fn load() -> Images {
        let text = std::fs::read_to_string(common::file(&format!("{FACES}/images.json"))).unwrap();
        let listed: Vec<Value> = serde_json::from_str(&text).unwrap();
        let rgb = listed
            .iter()
            .map(|v| {
                let name = v["image"].as_str().unwrap();
                let path = common::file(&format!("{FACES}/images/{name}"));
                let rgb = image::open(&path).unwrap().into_rgb8();
                let sha = format!("{:x}", Sha256::digest(rgb.as_raw()));
                (name.to_string(), (rgb, sha == v["rgb_sha256"].as_str().unwrap()))
            })
            .collect();
        Images { rgb }
    }

    fn get(&self, name: &str) -> &(image::RgbImage, bool) {
        &self.rgb[name]
    }
}

fn pixels(rgb: &image::RgbImage) -> Pixels<'_> {
    Pixels::rgb(rgb)
}

#[test]
fn png_decodes_to_dlibs_pixels() {
    let images = Images::load();
    assert_eq!(images.rgb.len(), 5);
    for (name, (_, same)) in &images.rgb {
        assert!(name.ends_with(".png"), "{name}: golden cases must be on lossless images");
        assert!(*same, "{name}: the image crate does not decode it to dlib's pixels");
    }
}

#[test]
fn landmarks_equal_dlibs() {
    let images = Images::load();
    let sp = predictor();
    let (mut compared, mut equal) = (0, 0);
    let mut wrong = Vec::new();
    for c in golden() {
        let (rgb, same_pixels) = images.get(&c.image);
        assert!(*same_pixels, "{}: not dlib's pixels", c.image);
        let ours = sp.predict(pixels(rgb), c.rect);
        compared += 1;
        if ours == c.landmarks {
            equal += 1;
        } else {
            wrong.push(format!("{}: ours {ours:?}, dlib {:?}", c.name(), c.landmarks));
        }
    }
    eprintln!("landmarks: {equal}/{compared} equal to dlib's");
    assert_eq!(compared, 27);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn chip_geometry_equals_dlibs() {
    for c in golden() {
        let d = chip::chip_details(&c.landmarks, 150, 0.25);
        assert_eq!(d.size, 150);
        for (ours, theirs) in d.rect.iter().zip(c.chip_rect) {
            assert!(
                (ours - theirs).abs() < 1e-9,
                "{}: rect {:?} vs {:?}",
                c.name(),
                d.rect,
                c.chip_rect
            );
        }
        assert!(
            (d.angle - c.chip_angle).abs() < 1e-12,
            "{}: angle {} vs {}",
            c.name(),
            d.angle,
            c.chip_angle
        );
    }
}

/// Cuts each chip from dlib's landmarks with our geometry and sampling, and compares it with
/// dlib's PNG.
#[test]
fn chips_equal_dlibs_within_one() {
    let images = Images::load();
    let (mut worst, mut differing, mut total) = (0u8, 0usize, 0usize);
    let mut compared = 0;
    for c in golden() {
        let (rgb, same_pixels) = images.get(&c.image);
        assert!(*same_pixels, "{}: not dlib's pixels", c.image);
        let details = chip::chip_details(&c.landmarks, 150, 0.25);
        let ours = chip::extract_chip(pixels(rgb), &details);
        let theirs = image::open(common::file(&format!("{FACES}/{}", c.chip))).unwrap().into_rgb8();
        assert_eq!(ours.len(), theirs.as_raw().len(), "{}", c.name());
        let diffs: Vec<u8> =
            ours.iter().zip(theirs.as_raw()).map(|(a, b)| a.abs_diff(*b)).collect();
        let max = diffs.iter().copied().max().unwrap_or(0);
        let n = diffs.iter().filter(|&&d| d > 0).count();
        eprintln!("{}: max diff {max}, {n} values differ", c.name());
        worst = worst.max(max);
        differing += n;
        total += diffs.len();
        compared += 1;
    }
    eprintln!("chips: {compared} compared, max diff {worst}, {differing} of {total} values differ");
    assert_eq!(compared, 27);
    assert!(worst <= 1, "a chip differs from dlib's by {worst}");
}

/// Prints the time per face (run with `--nocapture`): the landmarks, and the chip without
/// a pyramid (astronaut, a 96 px face) and with one level (biden, a 336 px chip region). The
/// best of 10 batches, so that other work on the machine counts less.
#[test]
fn speed_per_face() {
    let images = Images::load();
    let sp = predictor();
    let cases = golden();
    let best_us = |mut run: Box<dyn FnMut() + '_>| {
        let batch = 20;
        let times = (0..10).map(|_| {
            let start = Instant::now();
            (0..batch).for_each(|_| run());
            start.elapsed().as_secs_f64() * 1e6 / batch as f64
        });
        times.fold(f64::INFINITY, f64::min)
    };
    for name in ["astronaut_hog_0", "biden_face_hog_0"] {
        let c = cases.iter().find(|c| c.name() == name).unwrap();
        let image = pixels(&images.get(&c.image).0);
        let landmarks_us = best_us(Box::new(|| {
            std::hint::black_box(sp.predict(image, std::hint::black_box(c.rect)));
        }));
        let details = chip::chip_details(&c.landmarks, 150, 0.25);
        let chip_us = best_us(Box::new(|| {
            std::hint::black_box(chip::extract_chip(image, std::hint::black_box(&details)));
        }));
        let width = details.rect[2] - details.rect[0] + 1.0;
        eprintln!(
            "{name}: landmarks {landmarks_us:.0} µs, chip {chip_us:.0} µs (chip region {width:.0} px)"
        );
    }
}

/// dlib's HOG detector on the detector fixture scenes (`tests/fixtures/detect/images/`):
/// `tests/fixtures/faces/reference.cpp --hog-only` (dlib 19.24, as `regenerate.sh` builds it),
/// all boxes it printed except `astronaut.png`'s, which golden.json already holds.
const SCENE_HOG_BOXES: &[(&str, [i64; 4])] = &[
    ("astro_camera_mid.png", [362, 60, 405, 103]),
    ("astro_camera_mid.png", [255, 86, 344, 176]),
    ("astro_coffee_small.png", [121, 218, 183, 281]),
    ("astro_rocket_large.png", [150, 116, 304, 270]),
    ("lfw_grid_brick.png", [129, 383, 181, 435]),
    ("lfw_grid_brick.png", [382, 254, 511, 383]),
    ("lfw_grid_brick.png", [135, 17, 225, 106]),
    ("lfw_grid_brick.png", [252, 225, 315, 288]),
    ("lfw_grid_brick.png", [55, 199, 163, 307]),
    ("lfw_grid_brick.png", [133, 318, 169, 354]),
    ("lfw_many_grass.png", [16, 56, 106, 146]),
    ("lfw_many_grass.png", [335, 301, 398, 364]),
    ("lfw_many_grass.png", [193, 26, 229, 62]),
    ("lfw_many_grass.png", [449, 130, 485, 166]),
    ("lfw_many_grass.png", [493, 254, 529, 290]),
    ("lfw_many_grass.png", [296, 406, 348, 458]),
    ("lfw_many_grass.png", [57, 370, 93, 406]),
    ("lfw_many_grass.png", [405, 329, 467, 391]),
    ("lfw_mixed_chelsea.png", [308, 90, 360, 141]),
    ("lfw_mixed_chelsea.png", [20, 116, 127, 223]),
    ("lfw_mixed_chelsea.png", [112, 15, 164, 67]),
    ("lfw_text_page.png", [7, 36, 50, 79]),
    ("lfw_text_page.png", [259, 152, 366, 259]),
];

/// A face both detectors found: dlib's HOG box and our Haar cascade's box for it.
struct BoxPair {
    image: image::RgbImage,
    hog: DlibRect,
    haar: Rect,
}

/// Every HOG face (golden.json's, less the mission patch, and [`SCENE_HOG_BOXES`]) with the
/// Haar box that overlaps it most (IoU > 0.2), from `haarcascade_frontalface_default.xml` at
/// scale factor 1.1, 3 neighbours, on the full image.
fn box_pairs() -> Vec<BoxPair> {
    let mut hog: Vec<(String, DlibRect)> = golden()
        .into_iter()
        .filter(|c| c.source == "hog" && c.name() != "astronaut_hog_1")
        .map(|c| (format!("{FACES}/images/{}", c.image), c.rect))
        .collect();
    hog.extend(SCENE_HOG_BOXES.iter().map(|(name, b)| {
        let rect = DlibRect { left: b[0], top: b[1], right: b[2], bottom: b[3] };
        (format!("tests/fixtures/detect/images/{name}"), rect)
    }));
    let cascade = cascade::load(&common::file("models/haarcascade_frontalface_default.xml"));
    let detector = Detector::new(cascade.unwrap());
    let params =
        DetectParams { scale_factor: 1.1, min_neighbors: 3, min_size: (0, 0), max_size: None };
    let mut found: BTreeMap<String, (image::RgbImage, Vec<Rect>)> = BTreeMap::new();
    let mut pairs = Vec::new();
    for (path, rect) in hog {
        let (image, faces) = found.entry(path.clone()).or_insert_with(|| {
            let decoded = lookout_vision::image_io::read(&common::file(&path)).unwrap();
            let faces = detector.detect(&decoded.gray, &params, 2);
            (decoded.rgb, faces)
        });
        let hog_rect = as_cascade_rect(rect);
        let best = faces.iter().max_by(|a, b| a.iou(&hog_rect).total_cmp(&b.iou(&hog_rect)));
        if let Some(&haar) = best.filter(|f| f.iou(&hog_rect) > 0.2) {
            pairs.push(BoxPair { image: image.clone(), hog: rect, haar });
        }
    }
    pairs
}

fn as_cascade_rect(r: DlibRect) -> Rect {
    let (w, h) = (r.right - r.left + 1, r.bottom - r.top + 1);
    Rect { x: r.left as i32, y: r.top as i32, width: w as i32, height: h as i32 }
}

/// The cascade box taken as it is.
fn unmapped(f: Rect) -> DlibRect {
    let (x, y) = (i64::from(f.x), i64::from(f.y));
    DlibRect {
        left: x,
        top: y,
        right: x + i64::from(f.width) - 1,
        bottom: y + i64::from(f.height) - 1,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// How far one box's landmarks and chip are from the HOG box's, over all pairs.
#[derive(Default)]
struct Drift {
    iou: f64,
    points: usize,
    moved: usize,
    px: f64,
    max_px: f64,
    max_rel: f64,
    chip: f64,
    descriptor: f64,
    max_descriptor: f64,
    faces: usize,
}

impl Drift {
    fn add(&mut self, sp: &ShapePredictor, net: &Net, pair: &BoxPair, rect: DlibRect) {
        let px = pixels(&pair.image);
        let want = sp.predict(px, pair.hog);
        let got = sp.predict(px, rect);
        let width = (pair.hog.right - pair.hog.left + 1) as f64;
        for (a, b) in want.iter().zip(&got) {
            let d = (((a.x - b.x).pow(2) + (a.y - b.y).pow(2)) as f64).sqrt();
            self.points += 1;
            self.moved += usize::from(d > 0.0);
            self.px += d;
            self.max_px = self.max_px.max(d);
            self.max_rel = self.max_rel.max(d / width);
        }
        let chip_want = chip::extract_chip(px, &chip::chip_details(&want, 150, 0.25));
        let chip_got = chip::extract_chip(px, &chip::chip_details(&got, 150, 0.25));
        let diff: f64 =
            chip_want.iter().zip(&chip_got).map(|(a, b)| f64::from(a.abs_diff(*b))).sum();
        self.chip += diff / chip_want.len() as f64;
        let d = f64::from(embed::distance(&net.describe(&chip_want), &net.describe(&chip_got)));
        self.descriptor += d;
        self.max_descriptor = self.max_descriptor.max(d);
        self.iou += as_cascade_rect(rect).iou(&as_cascade_rect(pair.hog));
        self.faces += 1;
    }

    fn report(&self, what: &str) -> String {
        let n = self.faces as f64;
        format!(
            "{what}: box IoU with HOG {:.3}; landmarks moved {}/{} (mean {:.2} px, max {:.1} px = {:.1}% of the box); chip mean |diff| {:.2}; descriptor distance mean {:.4}, max {:.4}",
            self.iou / n,
            self.moved,
            self.points,
            self.px / self.points as f64,
            self.max_px,
            100.0 * self.max_rel,
            self.chip / n,
            self.descriptor / n,
            self.max_descriptor
        )
    }
}

/// How far the centre of the inclusive span lo..=hi lies from that of at..at+len, in `len`s.
fn centre(lo: i64, hi: i64, at: i32, len: i32) -> f64 {
    ((lo + hi + 1) as f64 / 2.0 - (f64::from(at) + f64::from(len) / 2.0)) / f64::from(len)
}

/// The shipped embedding model (dlib's face ResNet), to say what a landmark shift costs.
struct Net {
    embedder: FaceEmbedder,
    pre: std::cell::RefCell<Preprocessor>,
}

impl Net {
    fn load() -> Net {
        let embedder =
            FaceEmbedder::load(&common::file(MODEL), &common::file("models/face_embed.onnx"));
        Net { embedder: embedder.unwrap(), pre: Default::default() }
    }

    fn describe(&self, chip: &[u8]) -> Vec<f32> {
        self.embedder.describe_chip(&mut self.pre.borrow_mut(), chip).unwrap()
    }
}

/// `predictor_box`'s constants are the medians of HOG box over Haar box (side ratio, centre
/// offset in Haar widths) on these faces; mapped boxes overlap the HOG boxes more than raw
/// cascade boxes, and their landmarks stay within a few pixels of the HOG box's.
#[test]
fn predictor_box_fits_hog_boxes() {
    let pairs = box_pairs();
    assert!(pairs.len() >= 25, "only {} faces found by both detectors", pairs.len());
    let ratio = |f: fn(&BoxPair) -> f64| median(pairs.iter().map(f).collect());
    let scale = ratio(|p| (p.hog.right - p.hog.left + 1) as f64 / f64::from(p.haar.width));
    let dx = ratio(|p| centre(p.hog.left, p.hog.right, p.haar.x, p.haar.width));
    let dy = ratio(|p| centre(p.hog.top, p.hog.bottom, p.haar.y, p.haar.width));
    eprintln!(
        "{} faces: HOG side / Haar side {scale:.3}, centre offset ({dx:.3}, {dy:.3}) Haar widths",
        pairs.len()
    );
    // The constants, read back through the function on a large box.
    let mapped = predictor_box(Rect { x: 0, y: 0, width: 10_000, height: 10_000 });
    let side = (mapped.right - mapped.left + 1) as f64 / 10_000.0;
    let cx = ((mapped.left + mapped.right + 1) as f64 / 2.0 - 5_000.0) / 10_000.0;
    let cy = ((mapped.top + mapped.bottom + 1) as f64 / 2.0 - 5_000.0) / 10_000.0;
    assert!((side - scale).abs() < 0.01, "scale {side} vs fitted {scale}");
    assert!(
        (cx - dx).abs() < 0.01 && (cy - dy).abs() < 0.01,
        "offset ({cx}, {cy}) vs ({dx}, {dy})"
    );

    let (sp, net) = (predictor(), Net::load());
    let (mut raw, mut fitted) = (Drift::default(), Drift::default());
    for pair in &pairs {
        raw.add(&sp, &net, pair, unmapped(pair.haar));
        fitted.add(&sp, &net, pair, predictor_box(pair.haar));
    }
    eprintln!("{}", raw.report("cascade box"));
    eprintln!("{}", fitted.report("predictor_box"));
    assert!(fitted.iou > raw.iou, "mapping must bring the boxes closer to HOG's");
    assert!(fitted.max_rel < 0.05, "{}", fitted.report("predictor_box"));
}

#[test]
fn truncated_or_corrupt_model_is_a_clear_error() {
    let bytes = std::fs::read(common::file(MODEL)).unwrap();
    let path = Path::new("sp5.dat");
    for len in [0, 1, 10, 1000, bytes.len() / 2, bytes.len() - 1] {
        let err = ShapePredictor::from_bytes(&bytes[..len], path).unwrap_err();
        assert!(matches!(err, LandmarkError::Format { .. }), "cut at {len}: {err}");
        let text = lookout_vision::errors::chain(&err);
        assert!(text.starts_with("sp5.dat: not a dlib shape predictor"), "{text}");
        assert!(text.contains("ends at byte"), "{text}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    let err = ShapePredictor::from_bytes(&longer, path).unwrap_err();
    assert!(matches!(err, LandmarkError::TrailingBytes { extra: 1, .. }), "{err}");
    // Any byte flipped anywhere must give a model or an error, never a panic.
    let mut corrupt = bytes.clone();
    for i in (0..bytes.len()).step_by(9973) {
        corrupt[i] ^= 0x5A;
        let _ = ShapePredictor::from_bytes(&corrupt, path);
        corrupt[i] = bytes[i];
    }
}

#[test]
fn the_shipped_model_is_dlibs_5_point_predictor() {
    let bytes = std::fs::read(common::file(MODEL)).unwrap();
    assert_eq!(
        format!("{:x}", Sha256::digest(&bytes)),
        "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888"
    );
    assert_eq!(predictor().cascades(), 15);
}
