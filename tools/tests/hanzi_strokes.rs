//! Characters written from real stroke data (npm `hanzi-writer-data` 2.0.1) and the
//! handwriting web fonts kept for evaluation (npm `@fontsource/*`, WOFF), as fetched by
//! `. scripts/hanzi-data.sh` (which .ci/run sources). Without its variables the default cache
//! folder is tried, and the tests fail with that instruction rather than pass without running.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use lookout_tools::dataset::augment::Rng;
use lookout_tools::dataset::gnt::{self, LEVEL1_CLASSES};
use lookout_tools::dataset::gnt_set::GntSource;
use lookout_tools::dataset::render::Font;
use lookout_tools::dataset::strokes::{StrokeChar, Writer, HELD_OUT_WRITERS};
use lookout_tools::dataset::{glyphs, strokes, EveryNth, Source};
use lookout_tools::eval;

fn cache() -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    home.join(".cache/lookout/npm")
}

fn strokes_dir() -> PathBuf {
    let dir = std::env::var_os("LOOKOUT_HANZI_STROKES")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache().join("hanzi-writer-data-2.0.1/package"));
    assert!(
        dir.join("永.json").is_file(),
        "{} is missing: run `. scripts/hanzi-data.sh`",
        dir.display()
    );
    dir
}

fn handwriting_fonts() -> Vec<PathBuf> {
    let fonts: Vec<PathBuf> = std::env::var("LOOKOUT_HANDWRITING_FONTS")
        .map(|list| list.split_whitespace().map(PathBuf::from).collect())
        .unwrap_or_default();
    assert_eq!(fonts.len(), 4, "LOOKOUT_HANDWRITING_FONTS: run `. scripts/hanzi-data.sh`");
    fonts
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lookout-strokes-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn every_level1_character_has_stroke_data_that_reads() {
    let dir = strokes_dir();
    let mut strokes = 0;
    for class in 0..LEVEL1_CLASSES {
        let c = gnt::character(gnt::level1_code(class).unwrap()).unwrap();
        let data = StrokeChar::load(&dir, c).unwrap();
        strokes += data.strokes.len();
    }
    // About ten strokes a character on average (GB2312 level 1: 1 to 24).
    assert!((30_000..45_000).contains(&strokes), "{strokes}");
    assert_eq!(StrokeChar::load(&dir, '永').unwrap().strokes.len(), 5);
    let err = StrokeChar::load(Path::new("/nonexistent"), '永').unwrap_err().to_string();
    assert!(err.contains("/nonexistent/永.json"), "{err}");
}

#[test]
fn a_written_character_differs_by_writer_and_repeats_for_a_seed() {
    let c = StrokeChar::load(&strokes_dir(), '永').unwrap();
    let a = Writer::new(3).write(&c, &mut Rng::for_sample(1, 2, 3));
    assert_eq!(a, Writer::new(3).write(&c, &mut Rng::for_sample(1, 2, 3)));
    assert_ne!(a, Writer::new(HELD_OUT_WRITERS.start).write(&c, &mut Rng::for_sample(1, 2, 3)));
    let ink = a.data.iter().filter(|&&p| p < 128).count();
    assert!(ink > 100 && ink < a.data.len() / 2, "{ink} ink pixels");
}

#[test]
fn make_strokes_writes_training_and_held_out_sets_as_gnt() {
    let out = scratch("cli");
    for (extra, prefix) in [(None, "strokes-"), (Some("--held-out"), "strokes-held-out-")] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_lookout-tools"));
        command.args(["make-strokes", "--chars", "6", "--per-char", "3", "--parts", "2"]);
        command.arg("--strokes").arg(strokes_dir()).arg("--out").arg(&out);
        command.args(extra);
        let output = command.output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        assert!(stdout.starts_with("18 samples in 2 files"), "{stdout}");
        for part in 0..2 {
            assert!(out.join(format!("{prefix}{part}.gnt")).is_file());
        }
    }
    let set = GntSource::open(&out).unwrap();
    assert_eq!(set.len(), 36);
    assert_eq!(set.labels()[..3], ["啊", "阿", "埃"]);
    // A missing stroke folder is named, and leaves no file behind.
    let empty = scratch("empty");
    let output = Command::new(env!("CARGO_BIN_EXE_lookout-tools"))
        .args(["make-strokes", "--chars", "2", "--strokes"])
        .arg(&empty)
        .arg("--out")
        .arg(empty.join("out"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("啊.json"));
    assert_eq!(std::fs::read_dir(empty.join("out")).unwrap().count(), 0);
}

#[test]
fn the_handwriting_web_fonts_load_from_woff() {
    for path in handwriting_fonts() {
        let font = Font::load(&path).unwrap();
        for c in ['永', '啊', '阿', '0'] {
            assert!(font.has(c), "{}: no {c}", path.display());
        }
    }
    let not_a_font = scratch("woff").join("broken.woff");
    std::fs::write(&not_a_font, b"wOFF\0\x01\0\0").unwrap();
    let err = Font::load(&not_a_font).err().unwrap().to_string();
    assert!(err.contains("broken.woff: WOFF: no WOFF header"), "{err}");
}

fn shipped_hanzi() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/hanzi.onnx")
}

/// Set from the figures in models/README.md, less a margin for the samples of 417 characters.
const WRITERS_MIN_TOP1: f64 = 0.82;
/// Per font of LOOKOUT_HANDWRITING_FONTS, in its order.
const FONTS_MIN_TOP1: [f64; 4] = [0.14, 0.53, 0.72, 0.01];

#[test]
fn the_shipped_hanzi_model_reads_held_out_writers() {
    let dir = scratch("shipped-writers");
    let set = strokes::StrokeSet {
        strokes: &strokes_dir(),
        out: &dir,
        name: "held-out",
        writers: strokes::HELD_OUT_WRITERS,
        chars: 3755,
        per_char: 1,
        seed: 4242,
        parts: 2,
    };
    strokes::write_gnt_set(&set, || {}).unwrap();
    let sampled = Arc::new(EveryNth { inner: GntSource::open(&dir).unwrap(), step: 9 });
    let report = eval::evaluate(&shipped_hanzi(), sampled, true).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(report.top1 >= WRITERS_MIN_TOP1, "top-1 {} top-3 {}", report.top1, report.top3);
}

#[test]
fn the_shipped_hanzi_model_reads_handwriting_fonts_it_never_trained_on() {
    let dir = scratch("shipped-fonts");
    let fonts: Vec<Font> = handwriting_fonts().iter().map(|p| Font::load(p).unwrap()).collect();
    let report = glyphs::write_gnt_set(&fonts, &dir, 3755, 1, 4242, || {}).unwrap();
    for (file, min) in report.files.iter().zip(FONTS_MIN_TOP1) {
        let sampled = Arc::new(EveryNth { inner: GntSource::open(file).unwrap(), step: 9 });
        let report = eval::evaluate(&shipped_hanzi(), sampled, true).unwrap();
        assert!(report.top1 >= min, "{}: top-1 {}", file.display(), report.top1);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
