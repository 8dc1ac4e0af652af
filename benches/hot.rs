//! The per-frame hot paths on the demo's frames (issue 6): gray conversion, the detector's
//! downscale and integral images, the cascade scan at the daemon's defaults, the face model's
//! preprocessing and CTC decoding; and a whole frame of an empty room, stopped by the motion
//! gate against scanned as before the gate (issue 17).
//!
//! `cargo bench --bench hot -- --warm-up-time 1 --measurement-time 3`
//!
//! Inputs are decoded and models loaded once, outside the timed loops.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use lookout::config::DetectConfig;
use lookout_vision::cascade::{self, DetectParams, Detector, Rect};
use lookout_vision::image_io::{self, Decoded};
use lookout_vision::imgproc::{
    gray_from_rgb, resize_bilinear_exact, GrayImage, Integrals, ResizeScratch,
};
use lookout_vision::model::Model;
use lookout_vision::preprocess::{Pixels, Preprocessor};

/// The face of the demo's frame 0009, in full-frame pixels.
const FACE: Rect = Rect { x: 262, y: 110, width: 134, height: 134 };
/// The demo's text region (`examples/demo/demo.toml`), holding the plate in frame 0045.
const PLATE: Rect = Rect { x: 16, y: 16, width: 128, height: 32 };

fn repo(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn frame(name: &str) -> Decoded {
    let path = repo(&format!("examples/demo/frames/{name}"));
    image_io::read(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn gray_pixels(gray: &GrayImage) -> Pixels<'_> {
    Pixels { width: gray.width, height: gray.height, channels: 1, data: &gray.pixels }
}

/// The frame as the detector sees it, and the parameters it scans with: the daemon's defaults
/// (`DetectConfig`, the same values as systemd/lookout.toml) scaled to `detect_width` the way
/// `Pipeline::detect` does.
fn detect_input(gray: &GrayImage) -> (GrayImage, DetectParams, usize) {
    let d = DetectConfig::default();
    let scale = d.detect_width as f64 / gray.width as f64;
    let (w, h) = (d.detect_width as usize, (gray.height as f64 * scale).round() as usize);
    let mut pixels = vec![0; w * h];
    let mut scratch = ResizeScratch::default();
    resize_bilinear_exact(&gray.pixels, gray.width, gray.height, &mut pixels, w, h, &mut scratch);
    let min = (d.min_size as f64 * scale).round() as u32;
    let params = DetectParams {
        scale_factor: d.scale_factor,
        min_neighbors: d.min_neighbors,
        min_size: (min, min),
        max_size: None,
    };
    (GrayImage { width: w, height: h, pixels }, params, d.threads)
}

fn imgproc(c: &mut Criterion) {
    let decoded = frame("0009.jpg");
    let (rgb, gray) = (&decoded.rgb, &decoded.gray);
    let (small, _, _) = detect_input(gray);

    let mut g = c.benchmark_group("imgproc");
    g.bench_function("gray_from_rgb 640x480", |b| {
        b.iter(|| gray_from_rgb(gray.width, gray.height, black_box(rgb.as_raw())))
    });
    let mut dst = vec![0; small.pixels.len()];
    let mut scratch = ResizeScratch::default();
    g.bench_function("resize_bilinear_exact 640x480 to 320x240", |b| {
        b.iter(|| {
            let (sw, sh, dw, dh) = (gray.width, gray.height, small.width, small.height);
            resize_bilinear_exact(black_box(&gray.pixels), sw, sh, &mut dst, dw, dh, &mut scratch)
        })
    });
    // Sums and squares, no tilted plane: what the built-in (upright Haar) cascade needs.
    let mut integrals = Integrals::default();
    g.bench_function("integrals 320x240", |b| {
        b.iter(|| {
            integrals.compute(black_box(&small.pixels), small.width, small.height, true, false)
        })
    });
    g.finish();
}

fn detect(c: &mut Criterion) {
    let decoded = frame("0009.jpg");
    let (small, params, threads) = detect_input(&decoded.gray);
    let detector = Detector::new(cascade::load_or_default(None).expect("built-in cascade"));
    // A scan that finds nothing would exit most windows early and flatter the figure.
    assert_eq!(detector.detect(&small, &params, threads).len(), 1, "the demo face is found");

    let mut g = c.benchmark_group("cascade");
    // A scan takes milliseconds: criterion's fewest samples keep the run near the requested
    // measurement time.
    g.sample_size(10);
    g.bench_function("detect 320x240", |b| {
        b.iter(|| detector.detect(black_box(&small), &params, threads))
    });
    g.finish();
}

fn preprocess(c: &mut Criterion) {
    let decoded = frame("0009.jpg");
    let face = Model::load(&repo("models/face.onnx")).unwrap_or_else(|e| panic!("{e}"));
    let spec = &face.meta.input;
    let mut pre = Preprocessor::default();
    let mut tensor = Vec::new();

    c.bench_function("preprocess/face 134x134 to 64x64", |b| {
        b.iter(|| pre.prepare(spec, gray_pixels(black_box(&decoded.gray)), FACE, &mut tensor))
    });
}

fn ctc(c: &mut Criterion) {
    // Real probabilities: the digits model's output on the demo's plate, 32 steps × 11 classes.
    let decoded = frame("0045.jpg");
    let digits = Model::load(&repo("models/digits.onnx")).unwrap_or_else(|e| panic!("{e}"));
    let mut tensor = Vec::new();
    Preprocessor::default().prepare(
        &digits.meta.input,
        gray_pixels(&decoded.gray),
        PLATE,
        &mut tensor,
    );
    let probs = digits.run(&tensor).unwrap_or_else(|e| panic!("{e}"));
    let classes = digits.meta.labels.len() + 1;
    assert_eq!(probs.len(), 32 * classes, "digits.onnx reads 32 steps");
    assert!(!lookout_vision::ctc::greedy(&probs, classes).is_empty(), "the plate reads as digits");

    let mut g = c.benchmark_group("ctc");
    // The beam takes about a millisecond: half the default samples fit in 3 s.
    g.sample_size(50);
    g.bench_function("greedy 32x11", |b| {
        b.iter(|| lookout_vision::ctc::greedy(black_box(&probs), classes))
    });
    g.bench_function("beam8 32x11", |b| {
        b.iter(|| lookout_vision::ctc::beam(black_box(&probs), classes, 8))
    });
    g.finish();
}

/// A frame of the empty doorway (demo frame 0001) from the JPEG bytes a camera hands over:
/// stopped at the gate (reduced-size decode and the gate) against the whole path without the
/// gate (full decode, gray, the cascade over the pyramid; no face, so no model run).
fn frame_cost(c: &mut Criterion) {
    use lookout::motion::Gate;
    use lookout::source::Captured;
    use std::time::Duration;

    let bytes = std::fs::read(repo("examples/demo/frames/0001.jpg")).unwrap();
    let what = Path::new("0001.jpg");
    let mut config = lookout::config::Config::default();
    config.face.model = repo("models/face.onnx");
    config.actions.clear();
    let settings = lookout::settings::Settings::new(config, Path::new("bench")).unwrap();
    let motion = settings.motion.clone().unwrap();
    let mut gate = Gate::new(motion, settings.detect.min_size);
    let mut pipeline = lookout::daemon::build_pipeline(&settings).unwrap();
    let mut seq = 0u64;
    let mut next = || {
        seq += 1;
        let at = Duration::from_secs_f64(seq as f64 / 15.0);
        Captured::jpeg(bytes.clone(), what, seq, None, at).unwrap()
    };

    let mut g = c.benchmark_group("frame 640x480, empty room");
    g.bench_function("preview only", |b| b.iter(|| black_box(next())));
    g.bench_function("gated: preview + gate", |b| {
        b.iter(|| {
            let captured = next();
            black_box(gate.look(&captured, false));
        })
    });
    g.bench_function("ungated: decode + cascade", |b| {
        b.iter(|| {
            let frame = next().decode(false).unwrap();
            black_box(pipeline.process(&frame).unwrap());
        })
    });
    g.finish();

    // The plate put up (demo frame 0043 after the empty 0042): the cascade on what moved
    // against the cascade on the whole frame, the two ways the gate can scan it.
    let at = |n: u64| Duration::from_secs_f64(n as f64 / 15.0);
    let empty = std::fs::read(repo("examples/demo/frames/0042.jpg")).unwrap();
    let plate = std::fs::read(repo("examples/demo/frames/0043.jpg")).unwrap();
    let mut gate = Gate::new(settings.motion.clone().unwrap(), settings.detect.min_size);
    gate.look(&Captured::jpeg(empty, what, 1, None, at(1)).unwrap(), false);
    let captured = Captured::jpeg(plate, what, 2, None, at(2)).unwrap();
    let lookout::motion::Scan::Regions(regions) = gate.look(&captured, false).scan else {
        panic!("the plate should be a small moving region")
    };
    let frame = captured.decode(false).unwrap();
    let mut g = c.benchmark_group("cascade on the plate put up");
    g.bench_function("moving regions", |b| {
        b.iter(|| black_box(pipeline.process_in(&frame, Some(&regions)).unwrap()))
    });
    g.bench_function("whole frame", |b| b.iter(|| black_box(pipeline.process(&frame).unwrap())));
}

criterion_group!(hot, imgproc, detect, preprocess, ctc, frame_cost);
criterion_main!(hot);
