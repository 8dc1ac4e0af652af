//! Loading ONNX models with lookout metadata through tract. The fixtures and the expected
//! output come from tests/fixtures/model/make_models.py (numpy computes the reference).

mod common;

use std::path::{Path, PathBuf};

use lookout_vision::model::{Model, ModelError, Task};
use lookout_vision::preprocess::Fit;

fn fixture(name: &str) -> PathBuf {
    common::file("tests/fixtures/model").join(name)
}

fn load_err(name: &str) -> String {
    Model::load(&fixture(name)).unwrap_err().to_string()
}

#[test]
fn metadata_is_read_from_the_file() {
    let model = Model::load(&fixture("tiny_classify.onnx")).unwrap();
    let meta = &model.meta;
    assert_eq!(meta.task, Task::Classify);
    assert_eq!(meta.labels, ["me", "other", "nobody"]);
    assert_eq!((meta.input.width, meta.input.height, meta.input.channels), (8, 8, 1));
    assert_eq!(meta.input.fit, Fit::Stretch);
    assert_eq!(meta.created.as_deref(), Some("2026-11-22T00:00:00Z"));
    assert_eq!(meta.metrics, Some(serde_json::json!({"top1": 0.0})));
    assert_eq!(model.output_shape(), [1, 3]);
    assert_eq!(model.sha256.len(), 64);
}

#[test]
fn tract_reproduces_the_numpy_reference() {
    let model = Model::load(&fixture("tiny_classify.onnx")).unwrap();
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("expected.json")).unwrap()).unwrap();
    let floats = |key: &str| -> Vec<f32> {
        expected[key].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect()
    };
    let probs = model.run(&floats("input")).unwrap();
    let want = floats("probs");
    assert_eq!(probs.len(), want.len());
    for (got, want) in probs.iter().zip(&want) {
        assert!((got - want).abs() < 1e-5, "{probs:?} vs {want:?}");
    }
    let top = model.top_k(&floats("input"), 2).unwrap();
    let best = want.iter().cloned().fold(f32::MIN, f32::max);
    assert!((top[0].1 - best).abs() < 1e-5);
    assert!(top[0].1 >= top[1].1);
}

#[test]
fn wrong_input_length_is_an_error_not_a_panic() {
    let model = Model::load(&fixture("tiny_classify.onnx")).unwrap();
    let err = model.run(&[0.0; 10]).unwrap_err();
    assert!(matches!(err, ModelError::InputLength { expected: 64, got: 10 }));
}

#[test]
fn broken_metadata_names_the_file_and_the_key() {
    let err = load_err("broken_no_labels.onnx");
    assert!(err.ends_with("broken_no_labels.onnx: metadata lookout.labels is missing (was the model exported by lookout-tools?)"), "{err}");
    let err = load_err("broken_task.onnx");
    assert!(
        err.contains(
            "metadata lookout.task is invalid: expected \"classify\", \"ctc\" or \"embed\", found \"segment\""
        ),
        "{err}"
    );
    let err = load_err("broken_input_json.onnx");
    assert!(
        err.contains("metadata lookout.input is invalid: expected the input JSON object"),
        "{err}"
    );
}

#[test]
fn metadata_inconsistent_with_the_graph_is_refused() {
    let err = load_err("broken_label_count.onnx");
    assert!(err.contains("metadata disagrees with the graph: 2 labels call for an output of [1, 2], the graph gives [1, 3]"), "{err}");
    let err = load_err("broken_input_size.onnx");
    assert!(err.contains("metadata disagrees with the graph: input [1, 1, 8, 16] from lookout.input does not fit the graph"), "{err}");
}

#[test]
fn unreadable_and_non_onnx_files_are_reported() {
    let err = Model::load(Path::new("/nonexistent/face.onnx")).unwrap_err().to_string();
    assert!(err.starts_with("/nonexistent/face.onnx: cannot read model"), "{err}");
    let err = Model::from_bytes(b"not a protobuf at all", Path::new("junk.onnx"))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("junk.onnx: not a usable ONNX model"), "{err}");
    // A truncated copy (scp cut short) must fail cleanly as well.
    let bytes = std::fs::read(fixture("tiny_classify.onnx")).unwrap();
    let err = Model::from_bytes(&bytes[..bytes.len() / 2], Path::new("half.onnx"))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("half.onnx:"), "{err}");
}
