//! The shipped embedding model (`models/face_embed.onnx`) gives dlib's descriptors for dlib's
//! chips (tests/fixtures/faces/golden.json, written by dlib itself) within 1e-4, through the
//! runtime's own preprocessing and tract plan; and whole photos go through landmarks, chip and
//! descriptor to distances that tell the same person from another.

mod common;

use std::sync::Arc;

use common::file;
use lookout_vision::cascade::Rect;
use lookout_vision::face::embed::{distance, EmbedError, FaceEmbedder};
use lookout_vision::face::landmarks::ShapePredictor;
use lookout_vision::model::Model;
use lookout_vision::preprocess::{Pixels, Preprocessor};

fn embedder() -> FaceEmbedder {
    FaceEmbedder::load(
        &file("models/shape_predictor_5_face_landmarks.dat"),
        &file("models/face_embed.onnx"),
    )
    .unwrap()
}

fn golden() -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(file("tests/fixtures/faces/golden.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn descriptors_of_dlibs_chips_equal_dlibs() {
    let embedder = embedder();
    assert_eq!(embedder.threshold(), 0.6);
    let mut pre = Preprocessor::default();
    let mut worst = 0f32;
    let entries = golden();
    assert!(entries.len() >= 20);
    for entry in &entries {
        let chip = image::open(file("tests/fixtures/faces").join(entry["chip"].as_str().unwrap()))
            .unwrap()
            .to_rgb8();
        let ours = embedder.describe_chip(&mut pre, chip.as_raw()).unwrap();
        let dlib: Vec<f32> = entry["descriptor"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        assert_eq!(ours.len(), 128);
        let diff = ours.iter().zip(&dlib).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        worst = worst.max(diff);
    }
    assert!(worst <= 1e-4, "largest difference {worst}");
}

#[test]
fn photos_of_one_person_are_close_and_of_another_far() {
    let embedder = embedder();
    let mut pre = Preprocessor::default();
    // The largest face the cascade finds in each photo, as `lookout enroll` takes it.
    let detector = lookout_vision::cascade::Detector::new(
        lookout_vision::cascade::load_or_default(None).unwrap(),
    );
    let params = lookout_vision::cascade::DetectParams {
        scale_factor: 1.1,
        min_neighbors: 5,
        min_size: (60, 60),
        max_size: None,
    };
    let describe = |name: &str, pre: &mut Preprocessor| {
        let decoded =
            lookout_vision::image_io::read(&file("tests/fixtures/faces/images").join(name))
                .unwrap();
        let faces = detector.detect(&decoded.gray, &params, 1);
        let face: Rect = *faces.iter().max_by_key(|r| r.width).unwrap();
        embedder.describe(pre, Pixels::rgb(&decoded.rgb), face).unwrap()
    };
    let obama: Vec<_> =
        ["obama.jpg", "obama2.jpg", "obama3.jpg"].iter().map(|n| describe(n, &mut pre)).collect();
    let biden = describe("biden.jpg", &mut pre);
    for (i, a) in obama.iter().enumerate() {
        assert!(a.frontal > 0.5, "{}", a.frontal);
        for b in &obama[i + 1..] {
            let d = distance(&a.descriptor, &b.descriptor);
            assert!(d < 0.5, "same person: {d}");
        }
        let d = distance(&a.descriptor, &biden.descriptor);
        assert!(d > 0.7, "another person: {d}");
    }
}

#[test]
fn a_classifier_is_not_an_embedding_model() {
    let predictor = Arc::new(
        ShapePredictor::load(&file("models/shape_predictor_5_face_landmarks.dat")).unwrap(),
    );
    let face = file("models/face.onnx");
    let model = Arc::new(Model::load(&face).unwrap());
    let err = FaceEmbedder::new(predictor, model, &face).unwrap_err();
    assert!(matches!(err, EmbedError::NotEmbedding { .. }));
    assert!(
        err.to_string().contains("face.onnx") && err.to_string().contains("lookout.task = embed"),
        "{err}"
    );
}
