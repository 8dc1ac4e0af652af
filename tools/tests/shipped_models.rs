//! The models shipped in `models/` keep what models/README.md says of them: each loads in the
//! runtime with its metadata, and each still reads data it never trained on about as well as
//! the README reports (with a margin, on a small sample, to keep the suite fast).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lookout_tools::dataset::digits::DigitStrings;
use lookout_tools::dataset::glyphs;
use lookout_tools::dataset::gnt_set::GntSource;
use lookout_tools::dataset::EveryNth;
use lookout_tools::eval;
use lookout_vision::model::{Model, Task};

fn model(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models").join(name)
}

#[test]
fn face_model_tells_the_astronaut_from_lfw_faces() {
    let path = model("face.onnx");
    let m = Model::load(&path).unwrap();
    assert_eq!(m.meta.task, Task::Classify);
    assert_eq!(m.meta.labels, ["me", "other"]);
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/face-data");
    let source = Arc::new(lookout_tools::dataset::folder::FolderSource::open(&data).unwrap());
    let report = eval::evaluate(&path, source, true).unwrap();
    assert!(report.top1 >= 0.97, "top-1 {}", report.top1);
}

#[test]
fn digits_model_reads_strings_in_a_font_it_never_saw() {
    let path = model("digits.onnx");
    let m = Model::load(&path).unwrap();
    assert_eq!(m.meta.task, Task::Ctc);
    assert_eq!(m.meta.labels.len(), 10);
    let report =
        eval::evaluate_sequences(&path, Arc::new(DigitStrings::held_out(200).unwrap()), 1, true)
            .unwrap();
    assert!(
        report.exact >= 0.97 && report.cer <= 0.01,
        "exact {} CER {}",
        report.exact,
        report.cer
    );
}

#[test]
fn hanzi_model_reads_characters_in_a_font_it_never_saw() {
    let path = model("hanzi.onnx");
    let m = Model::load(&path).unwrap();
    assert_eq!(m.meta.labels.len(), 3755);
    assert_eq!(m.meta.labels[..3], ["啊", "阿", "埃"]);
    // 400 characters spread over the whole set, in the held-out font.
    let dir = std::env::temp_dir().join(format!("lookout-shipped-hanzi-{}", std::process::id()));
    let fonts = glyphs::held_out_fonts().unwrap();
    glyphs::write_gnt_set(&fonts, &dir, 3755, 1, 4242, || {}).unwrap();
    let source = GntSource::open(&dir).unwrap();
    let sampled = Arc::new(EveryNth { inner: source, step: 9 });
    let report = eval::evaluate(&path, sampled, true).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(report.top1 >= HANZI_MIN_TOP1, "top-1 {} top-3 {}", report.top1, report.top3);
}

/// Set from the figure in models/README.md, less a margin for the small sample.
const HANZI_MIN_TOP1: f64 = 0.95;
