//! Whole flows of lookout-tools on small generated data: train → checkpoint → resume →
//! export (verified by tract and ONNX Runtime) → load and run in the `lookout` runtime →
//! eval; plus the ways an export must fail without touching an existing model.
//!
//! These tests need `. scripts/libtorch-env.sh` (libtorch, ONNX Runtime, the onnx checker).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};

use lookout_tools::checkpoint::{self, TrainState};
use lookout_tools::dataset::augment::Rng;
use lookout_tools::dataset::Image;
use lookout_tools::export::{self, ExportError, OrtCheck};
use lookout_tools::nets::TrainTask;
use lookout_tools::train::{self, TrainOptions};
use lookout_vision::cascade::Rect;
use lookout_vision::model::Model;
use lookout_vision::preprocess::Preprocessor;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lookout-tools-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Three classes of 40×40 RGB pictures any small CNN can tell apart: horizontal stripes,
/// vertical stripes, a bright disc; random phase, colour and noise.
fn pattern(class: usize, rng: &mut Rng) -> Image {
    let (w, h) = (40usize, 40usize);
    let phase = rng.below(8);
    let tint = [rng.range(0.6, 1.0), rng.range(0.6, 1.0), rng.range(0.6, 1.0)];
    let mut data = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let on = match class {
                0 => ((y + phase) / 4).is_multiple_of(2),
                1 => ((x + phase) / 4).is_multiple_of(2),
                _ => {
                    let (dx, dy) = (x as f32 - 20.0, y as f32 - 20.0 + phase as f32 - 4.0);
                    dx * dx + dy * dy < 140.0
                }
            };
            for t in tint {
                let v = if on { 220.0 * t } else { 30.0 } + 12.0 * rng.normal();
                data.push(v.clamp(0.0, 255.0) as u8);
            }
        }
    }
    Image { width: w, height: h, channels: 3, data }
}

fn write_dataset(dir: &Path, per_class: usize) {
    let mut rng = Rng::new(42);
    for (class, name) in ["hstripes", "vstripes", "disc"].iter().enumerate() {
        std::fs::create_dir_all(dir.join(name)).unwrap();
        for i in 0..per_class {
            let image = pattern(class, &mut rng);
            image::RgbImage::from_raw(40, 40, image.data)
                .unwrap()
                .save(dir.join(name).join(format!("{i:03}.png")))
                .unwrap();
        }
    }
}

/// torch's random generator (initial weights, dropout) is global to the process: a test
/// that creates a network while another trains would draw from it in between and make the
/// run unreproducible. Every test that touches torch holds this lock.
fn torch_lock() -> MutexGuard<'static, ()> {
    static TORCH_RNG: Mutex<()> = Mutex::new(());
    TORCH_RNG.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn train_locked(options: &TrainOptions) -> Result<train::TrainSummary, train::TrainError> {
    let _guard = torch_lock();
    train::train(options)
}

fn options(data: &Path, out: &Path, epochs: usize) -> TrainOptions {
    TrainOptions {
        task: TrainTask::Classify,
        data: data.to_path_buf(),
        out: out.to_path_buf(),
        epochs,
        batch: 16,
        lr: 3e-3,
        device: tch::Device::Cpu,
        resume: false,
        seed: 9,
        val_split: 0.25,
        patience: 10,
        workers: 2,
        channels: 3,
        pause_after: None,
        gnt_symbols: false,
        quiet: true,
        mnist: None,
        init_from: None,
        strict_data: true,
    }
}

/// One trained run shared by the tests that only read it.
fn trained() -> &'static (PathBuf, PathBuf) {
    static RUN: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    RUN.get_or_init(|| {
        let root = scratch("shared");
        let data = root.join("data");
        write_dataset(&data, 24);
        let run = root.join("run");
        train_locked(&options(&data, &run, 6)).unwrap();
        (data, run)
    })
}

#[test]
fn a_run_folder_has_checkpoints_metrics_and_curves() {
    let (_, run) = trained();
    let state = TrainState::load(run).unwrap();
    assert_eq!(state.epochs_done, 6);
    assert_eq!(state.labels, ["disc", "hstripes", "vstripes"]);
    assert_eq!(state.train_samples + state.val_samples, 72);
    assert!(state.best_val_top1 >= 0.9, "{state:#?}");
    let csv = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 7, "{csv}");
    assert!(csv.starts_with(
        "epoch,lr,train_loss,train_top1,val_loss,val_top1,val_top3,val_cer,samples_per_s"
    ));
    for file in [checkpoint::LAST, checkpoint::BEST, checkpoint::VERIFY, "curves.png"] {
        assert!(run.join(file).metadata().unwrap().len() > 0, "{file}");
    }
}

#[test]
fn export_matches_tch_in_tract_and_onnx_runtime_and_runs_in_the_runtime() {
    let (data, run) = trained();
    assert!(
        std::env::var_os("ORT_DYLIB_PATH").is_some(),
        "ORT_DYLIB_PATH is not set: run the tests after `. scripts/libtorch-env.sh`"
    );
    let out = scratch("export").join("patterns.onnx");
    let _guard = torch_lock();
    let report = export::export_run(run, &out, OrtCheck::WhenConfigured).unwrap();
    let v = &report.verification;
    assert_eq!(v.samples, 16);
    assert!(v.tract_max_diff <= export::TOLERANCE);
    assert!(*v.ort.as_ref().unwrap() <= export::TOLERANCE);

    let model = Model::load(&out).unwrap();
    assert_eq!(model.meta.labels, ["disc", "hstripes", "vstripes"]);
    assert!(model.meta.trained_on.as_deref().unwrap().contains("--task classify"));
    assert!(model.meta.metrics.as_ref().unwrap()["val_top1"].as_f64().unwrap() >= 0.9);
    // A fresh picture of each class, through the runtime's own preprocessing.
    let mut rng = Rng::new(777);
    let mut pre = Preprocessor::default();
    let mut tensor = Vec::new();
    let mut right = 0;
    for (class, label) in [(0, "hstripes"), (1, "vstripes"), (2, "disc")].iter().cycle().take(12) {
        let image = pattern(*class, &mut rng);
        pre.prepare(
            &model.meta.input,
            image.pixels(),
            Rect { x: 0, y: 0, width: 40, height: 40 },
            &mut tensor,
        );
        let top = model.top_k(&tensor, 1).unwrap();
        right += usize::from(top[0].0 == *label);
    }
    assert!(right >= 10, "{right}/12 right");
    let _ = data;
}

#[test]
fn the_exported_file_passes_the_onnx_checker() {
    let (_, run) = trained();
    let out = scratch("checker").join("m.onnx");
    let _guard = torch_lock();
    export::export_run(run, &out, OrtCheck::Skip).unwrap();
    let python = std::env::var("LOOKOUT_TORCH_PYTHON")
        .expect("LOOKOUT_TORCH_PYTHON is not set: run the tests after `. scripts/libtorch-env.sh`");
    let script = "import sys, onnx; m = onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True); \
                  print(m.opset_import[0].version, m.graph.input[0].type.tensor_type.shape.dim[0].dim_param)";
    let output = Command::new(python).args(["-c", script]).arg(&out).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "13 N");
}

#[test]
fn a_failed_export_leaves_the_existing_model_alone() {
    let (_, run) = trained();
    let dir = scratch("failed-export");
    let _guard = torch_lock();
    let out = dir.join("model.onnx");
    std::fs::write(&out, b"the model the Pi runs today").unwrap();

    // A run folder without its verification inputs cannot be checked, so nothing is written.
    let broken = dir.join("run");
    std::fs::create_dir_all(&broken).unwrap();
    for file in [checkpoint::STATE, checkpoint::BEST, checkpoint::LAST] {
        std::fs::copy(run.join(file), broken.join(file)).unwrap();
    }
    let err = export::export_run(&broken, &out, OrtCheck::Skip).unwrap_err();
    assert!(matches!(err, ExportError::NoVerifyInputs { .. }), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"the model the Pi runs today");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2, "no temporary files left behind");

    // Outputs that disagree with the reference are refused, naming the engine.
    let good = dir.join("good.onnx");
    export::export_run(run, &good, OrtCheck::Skip).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let inputs = tch::Tensor::zeros([2, 3, 64, 64], tch::kind::FLOAT_CPU);
    let wrong = tch::Tensor::full([2, 3], 1.0 / 3.0 + 0.01, tch::kind::FLOAT_CPU);
    let err =
        export::verify(&bytes, &good, &inputs, &wrong, OrtCheck::Skip).unwrap_err().to_string();
    assert!(err.starts_with("tract disagrees with tch"), "{err}");
}

#[test]
fn resume_continues_exactly_where_the_run_stopped() {
    let root = scratch("resume");
    let data = root.join("data");
    write_dataset(&data, 12);
    let straight = root.join("straight");
    train_locked(&options(&data, &straight, 3)).unwrap();
    let split = root.join("split");
    let paused =
        train_locked(&TrainOptions { pause_after: Some(1), ..options(&data, &split, 3) }).unwrap();
    assert_eq!(paused.state.epochs_done, 1);
    // A different --seed on resume must not change the run: it keeps the one it started with.
    let resumed =
        train_locked(&TrainOptions { resume: true, seed: 12345, ..options(&data, &split, 3) })
            .unwrap();
    assert_eq!(resumed.state.epochs_done, 3);

    let sorted = |dir: &Path| {
        let mut tensors = checkpoint::load_tensors(&dir.join(checkpoint::LAST)).unwrap();
        tensors.sort_by(|x, y| x.0.cmp(&y.0));
        tensors
    };
    let (a, b) = (sorted(&straight), sorted(&split));
    assert_eq!(a.len(), b.len());
    for ((name_a, ta), (name_b, tb)) in a.iter().zip(&b) {
        assert_eq!(name_a, name_b);
        let diff = (ta.to_kind(tch::Kind::Double) - tb.to_kind(tch::Kind::Double))
            .abs()
            .max()
            .double_value(&[]);
        assert!(diff <= 1e-6, "{name_a} differs by {diff}");
    }
    let history = |dir: &Path| TrainState::load(dir).unwrap().history;
    let (h1, h2) = (history(&straight), history(&split));
    assert_eq!(h1.len(), h2.len());
    for (m1, m2) in h1.iter().zip(&h2) {
        assert!((m1.train_loss - m2.train_loss).abs() < 1e-6, "{m1:?} vs {m2:?}");
    }
}

#[test]
fn resume_refuses_a_changed_dataset() {
    let root = scratch("resume-changed");
    let data = root.join("data");
    write_dataset(&data, 6);
    let run = root.join("run");
    train_locked(&options(&data, &run, 1)).unwrap();
    std::fs::create_dir_all(data.join("zigzag")).unwrap();
    std::fs::copy(data.join("disc/000.png"), data.join("zigzag/000.png")).unwrap();
    let err = train_locked(&TrainOptions { resume: true, ..options(&data, &run, 2) })
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the dataset's classes changed since the checkpoint (3 then, 4 now)"),
        "{err}"
    );
}

fn tools() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lookout-tools"))
}

#[test]
fn cli_eval_prints_a_report_a_confusion_image_and_a_json_line() {
    let (data, run) = trained();
    let dir = scratch("cli-eval");
    let model = dir.join("m.onnx");
    let output = tools()
        .args(["export", "--no-ort", "--checkpoint"])
        .arg(run)
        .arg("--out")
        .arg(&model)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let output = tools()
        .args(["eval", "--json", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(data)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("worst classes:"), "{stdout}");
    let last: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["n"], 72);
    assert!(
        last["top1"].as_f64().unwrap() >= 0.9 && last["top3"].as_f64().unwrap() == 1.0,
        "{last}"
    );
    assert!(dir.join("m.confusion.png").metadata().unwrap().len() > 1000);
}

#[test]
fn cli_errors_name_the_problem() {
    let dir = scratch("cli-errors");
    let output = tools()
        .args(["train", "--task", "face", "--out"])
        .arg(dir.join("run"))
        .arg("--data")
        .arg(dir.join("missing"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("missing") && stderr.contains("No such file"), "{stderr}");

    let output = tools()
        .args(["export", "--checkpoint"])
        .arg(&dir)
        .arg("--out")
        .arg(dir.join("m.onnx"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("state.json"), "{stderr}");
    assert!(!dir.join("m.onnx").exists());
}

#[test]
fn cli_extract_faces_crops_the_astronaut() {
    let dir = scratch("extract");
    let photos =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/detect/images/astronaut.png");
    let output = tools()
        .args(["extract-faces", "--in"])
        .arg(&photos)
        .arg("--out")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("1 faces from 1 photos"));
    let crop = image::open(dir.join("astronaut_0.png")).unwrap();
    assert_eq!((crop.width(), crop.height()), (64, 64));
}

#[test]
fn cli_export_reports_a_missing_onnx_runtime_cleanly() {
    let (_, run) = trained();
    let dir = scratch("no-ort");
    let output = tools()
        .args(["export", "--checkpoint"])
        .arg(run)
        .arg("--out")
        .arg(dir.join("m.onnx"))
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so.1.31.1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("ONNX Runtime: cannot load /nonexistent/libonnxruntime.so.1.31.1"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!dir.join("m.onnx").exists());
}

#[test]
fn the_face_task_learns_the_bundled_face_set() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/face-data");
    let out = scratch("face-task");
    let options = TrainOptions {
        task: TrainTask::Face,
        channels: 1,
        batch: 32,
        lr: 2e-3,
        val_split: 0.15,
        ..options(&data, &out, 3)
    };
    let summary = train_locked(&options).unwrap();
    assert_eq!(summary.state.labels, ["me", "other"]);
    assert_eq!(summary.state.input.fit, lookout_vision::preprocess::Fit::PadSquare);
    assert_eq!(summary.state.train_samples + summary.state.val_samples, 148);
    let last = summary.state.history.last().unwrap();
    assert!(last.train_top1 > 0.8, "{last:?}");
}
