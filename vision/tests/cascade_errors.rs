//! Bad cascade files: every failure names the file, the element and what was expected, and no
//! input, however mangled, makes the loader (or a scan with what it loaded) panic.

mod common;

use std::path::Path;

use lookout_vision::cascade::{self, CascadeError, DetectParams, Detector};
use lookout_vision::imgproc::GrayImage;

fn model(name: &str) -> String {
    let path = common::file("models").join(name);
    std::fs::read_to_string(path).expect("shipped model")
}

fn error_of(text: &str) -> String {
    match cascade::parse(text, Path::new("broken.xml")) {
        Ok(_) => panic!("accepted a broken cascade"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn missing_file_names_the_path() {
    let err = cascade::load(Path::new("/nonexistent/face.xml")).unwrap_err();
    assert!(matches!(err, CascadeError::Io { .. }));
    assert!(
        err.to_string().starts_with("/nonexistent/face.xml: cannot read cascade file"),
        "{err}"
    );
}

#[test]
fn non_xml_is_reported_as_such() {
    let err = error_of("this is not xml <");
    assert!(err.starts_with("broken.xml: not a well-formed XML document"), "{err}");
}

#[test]
fn wrong_root_and_unknown_type_are_named() {
    assert_eq!(
        error_of("<model/>"),
        "broken.xml: <model>: expected the root element <opencv_storage>"
    );
    let err = error_of(r#"<opencv_storage><thing type_id="opencv-matrix"/></opencv_storage>"#);
    assert!(
        err.contains("<opencv_storage>: expected <cascade type_id=\"opencv-cascade-classifier\">"),
        "{err}"
    );
}

#[test]
fn hog_cascades_are_refused_with_the_reason() {
    let text = model("lbpcascade_frontalface.xml").replace("<featureType>LBP", "<featureType>HOG");
    let err = error_of(&text);
    assert!(err.contains("<cascade/featureType>: expected HAAR or LBP, found \"HOG\""), "{err}");
}

#[test]
fn truncated_node_list_names_the_tree() {
    let text = model("haarcascade_frontalface_default.xml").replacen(
        "0 -1 0 -3.1511999666690826e-02",
        "0 -1 0",
        1,
    );
    let err = error_of(&text);
    assert!(
        err.contains("<cascade/stages/_[0]/weakClassifiers/_[0]/internalNodes>: expected a multiple of 4 numbers"),
        "{err}"
    );
}

#[test]
fn leaf_count_must_match_node_count() {
    let text = model("haarcascade_frontalface_default.xml").replacen(
        "2.0875380039215088e+00 -2.2172100543975830e+00",
        "2.0875380039215088e+00",
        1,
    );
    let err = error_of(&text);
    assert!(
        err.contains(
            "weakClassifiers/_[0]/leafValues>: expected 2 leaf values for 1 nodes, found 1"
        ),
        "{err}"
    );
}

#[test]
fn rectangles_outside_the_window_are_refused() {
    let text =
        model("haarcascade_frontalface_default.xml").replacen("6 4 12 9 -1.", "20 4 12 9 -1.", 1);
    let err = error_of(&text);
    assert!(
        err.contains("<features/_[0]/rects>: expected upright rectangles inside the 24x24 window"),
        "{err}"
    );
}

#[test]
fn feature_index_out_of_range_is_refused() {
    let text = model("lbpcascade_frontalface.xml").replacen("0 -1 46 ", "0 -1 4600 ", 1);
    let err = error_of(&text);
    assert!(err.contains("<internalNodes>: expected feature indices below"), "{err}");
}

#[test]
fn legacy_format_errors_name_the_stage() {
    let legacy = r#"<opencv_storage><plate type_id="opencv-haar-classifier"><size>20 20</size>
        <stages><_><trees><_><_><feature><rects><_>0 0 4 4 -1.</_><_>0 0 2 2 4.</_></rects>
        <tilted>0</tilted></feature><threshold>0.1</threshold><left_val>-1</left_val>
        <right_val>1</right_val></_></_></trees></_></stages></plate></opencv_storage>"#;
    let err = error_of(legacy);
    assert_eq!(err, "broken.xml: <plate/stages/_[0]/stage_threshold>: expected a child element <stage_threshold>");
    let fixed = legacy.replace("</trees>", "</trees><stage_threshold>-0.5</stage_threshold>");
    let cascade = cascade::parse(&fixed, Path::new("ok.xml")).unwrap();
    assert_eq!((cascade.window.width, cascade.window.height, cascade.stages.len()), (20, 20, 1));
}

/// Deterministic mutations of a real cascade: truncations and corrupted bytes. The cargo-fuzz
/// target in fuzz/ explores further; this keeps the property under test on every CI run.
#[test]
fn mangled_cascades_never_panic() {
    let text = model("lbpcascade_frontalface.xml");
    let bytes = text.as_bytes();
    let image =
        GrayImage::new(64, 48, (0..64 * 48).map(|i| (i * 31 % 253) as u8).collect()).unwrap();
    let params = DetectParams { min_neighbors: 0, ..DetectParams::default() };
    let mut state = 0x2545_f491_u32;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state as usize
    };
    let replacements: [&[u8]; 8] = [b"-", b"9", b"<", b">", b" ", b"0", b"99999999999", b"-1e308"];
    for round in 0..300 {
        let mut mutated = bytes.to_vec();
        if round % 3 == 0 {
            mutated.truncate(next() % bytes.len());
        } else {
            for _ in 0..1 + round % 4 {
                let at = next() % mutated.len();
                let with = replacements[next() % replacements.len()];
                mutated.splice(at..at + 1, with.iter().copied());
            }
        }
        let Ok(text) = std::str::from_utf8(&mutated) else { continue };
        if let Ok(cascade) = cascade::parse(text, Path::new("mutated.xml")) {
            Detector::new(cascade).detect(&image, &params, 1);
        }
    }
}
