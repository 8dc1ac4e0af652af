//! Digit strings (CRNN + CTC) and synthetic handwriting (glyphs → .gnt → hanzi CNN): train a
//! little, export with verification, and run the files in the `lookout` runtime.
//! Needs `. scripts/libtorch-env.sh` and the Debian fonts listed in the README.

use std::path::{Path, PathBuf};
use std::process::Command;

use lookout_tools::checkpoint::{self, TrainState};
use lookout_tools::dataset::digits::DigitStrings;
use lookout_tools::export::{self, OrtCheck};
use lookout_tools::nets::{Arch, Net, TrainTask};
use lookout_tools::train::{self, TrainOptions};
use lookout_tools::warm_start;
use lookout_vision::model::{Model, Task};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lookout-tools-seq-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn tools() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lookout-tools"))
}

fn run_ok(command: &mut Command) -> String {
    let output = command.output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn options(task: TrainTask, data: &Path, out: &Path, epochs: usize) -> TrainOptions {
    TrainOptions {
        task,
        data: data.to_path_buf(),
        out: out.to_path_buf(),
        epochs,
        batch: 16,
        lr: 2e-3,
        device: tch::Device::Cpu,
        resume: false,
        seed: 3,
        val_split: 0.2,
        patience: 10,
        workers: 2,
        channels: 1,
        pause_after: None,
        gnt_symbols: false,
        quiet: true,
        mnist: None,
        init_from: None,
        strict_data: true,
    }
}

#[test]
fn digits_train_with_ctc_export_with_lstm_and_read_in_the_runtime() {
    let dir = scratch("digits");
    let run = dir.join("run");
    let summary =
        train::train(&options(TrainTask::Digits, Path::new("synthetic:160"), &run, 1)).unwrap();
    assert_eq!(summary.state.labels, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    let last = &summary.state.history[0];
    assert!(last.val_cer.is_finite() && last.val_top3.is_nan(), "{last:?}");
    let csv = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    assert!(csv.lines().next().unwrap().contains("val_cer"));

    let model_path = dir.join("digits.onnx");
    let report = export::export_run(&run, &model_path, OrtCheck::WhenConfigured).unwrap();
    assert!(report.verification.tract_max_diff <= export::TOLERANCE);
    assert!(*report.verification.ort.as_ref().expect("ONNX Runtime ran") <= export::TOLERANCE);

    let model = Model::load(&model_path).unwrap();
    assert_eq!(model.meta.task, Task::Ctc);
    assert_eq!(model.output_shape(), [1, 32, 11]);
    assert_eq!((model.meta.input.width, model.meta.input.height), (128, 32));

    let stdout = run_ok(
        tools()
            .args(["eval", "--json", "--synthetic-digits", "12", "--beam", "4", "--model"])
            .arg(&model_path),
    );
    assert!(stdout.contains("held-out lines (LXGWWenKai-Regular.ttf)"), "{stdout}");
    let last: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["n"], 12);
    let (exact, cer) = (last["exact"].as_f64().unwrap(), last["cer"].as_f64().unwrap());
    assert!((0.0..=1.0).contains(&exact) && cer >= 0.0, "{last}");
}

#[test]
fn a_classifier_is_refused_where_a_ctc_model_is_needed() {
    let face = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/face.onnx");
    let output =
        tools().args(["eval", "--synthetic-digits", "3", "--model"]).arg(&face).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("face.onnx: is a Classify model; reading text lines needs a CTC model"),
        "{stderr}"
    );
}

#[test]
fn digit_strings_are_a_pure_function_of_seed_and_index() {
    let a = DigitStrings::training(10, 5).unwrap();
    let b = DigitStrings::training(10, 5).unwrap();
    for i in 0..10 {
        assert_eq!(a.render(i), b.render(i));
    }
}

#[test]
fn glyphs_become_gnt_that_trains_a_hanzi_model_the_runtime_runs() {
    let dir = scratch("hanzi");
    let data = dir.join("glyphs");
    let stdout = run_ok(
        tools()
            .args([
                "make-glyphs",
                "--chars",
                "8",
                "--per-char",
                "4",
                "--fonts",
                "ukai.ttc",
                "wqy-microhei.ttc",
                "--out",
            ])
            .arg(&data),
    );
    assert!(stdout.starts_with("64 samples in 2 files"), "{stdout}");
    let stdout = run_ok(tools().args(["inspect-data", "--task", "hanzi", "--data"]).arg(&data));
    assert!(stdout.contains("64 samples, 8 classes (8 to 8 samples each)"), "{stdout}");

    let run = dir.join("run");
    train::train(&options(TrainTask::Hanzi, &data, &run, 2)).unwrap();
    let state = TrainState::load(&run).unwrap();
    assert_eq!(state.labels[..3], ["啊", "阿", "埃"]);
    assert_eq!(state.input.fit, lookout_vision::preprocess::Fit::InkBox);

    let model_path = dir.join("hanzi.onnx");
    export::export_run(&run, &model_path, OrtCheck::WhenConfigured).unwrap();
    let model = Model::load(&model_path).unwrap();
    assert_eq!(model.output_shape(), [1, 8]);
    let stdout = run_ok(
        tools().args(["eval", "--json", "--model"]).arg(&model_path).arg("--gnt").arg(&data),
    );
    let last: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["n"], 64);
}

#[test]
fn an_exported_model_is_a_starting_point_with_exactly_its_weights() {
    let dir = scratch("warm");
    let run = dir.join("run");
    train::train(&options(TrainTask::Digits, Path::new("synthetic:64"), &run, 1)).unwrap();
    let model_path = dir.join("digits.onnx");
    export::export_run(&run, &model_path, OrtCheck::Skip).unwrap();

    // Every weight of the network (LSTM gates and directions, the transposed head, the
    // batch-norm statistics) comes back exactly as training left it.
    let labels: Vec<String> = (0..10).map(|d| d.to_string()).collect();
    let weights = warm_start::weights_from_onnx(&model_path, &labels).unwrap();
    let best = checkpoint::load_tensors(&run.join(checkpoint::BEST)).unwrap();
    let vs = tch::nn::VarStore::new(tch::Device::Cpu);
    let _net = Net::new(&vs.root(), &Arch::for_task(TrainTask::Digits, 1, 10));
    checkpoint::restore(&vs, &weights, &model_path).unwrap();
    let restored = checkpoint::named_variables(&vs);
    assert!(restored.len() > 20);
    for (name, tensor) in &restored {
        let (_, trained) = best.iter().find(|(n, _)| n == name).unwrap();
        assert!(tensor.equal(trained), "{name} differs");
    }

    // A run started from it records where it started; a model with other labels is refused.
    let tuned = dir.join("tuned");
    let summary = train::train(&TrainOptions {
        init_from: Some(model_path.clone()),
        ..options(TrainTask::Digits, Path::new("synthetic:64"), &tuned, 1)
    })
    .unwrap();
    assert_eq!(summary.state.init_from.as_deref(), model_path.to_str());
    let tuned_path = dir.join("tuned.onnx");
    export::export_run(&tuned, &tuned_path, OrtCheck::Skip).unwrap();
    let trained_on = Model::load(&tuned_path).unwrap().meta.trained_on.unwrap();
    assert!(trained_on.contains(&format!("--init-from {}", model_path.display())), "{trained_on}");
    let face = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/face.onnx");
    let err = train::train(&TrainOptions {
        init_from: Some(face),
        ..options(TrainTask::Digits, Path::new("synthetic:64"), &dir.join("refused"), 1)
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("face.onnx: its 2 labels are not the 10 being trained"), "{err}");
}

#[test]
fn digit_line_sources_are_named_and_mnist_needs_its_folder() {
    let dir = scratch("lines");
    for (data, expected) in [
        ("synthetic:0", "\"synthetic:0\": digits train on generated lines"),
        ("fonts:10", "\"fonts\": not synthetic or mnist"),
        ("synthetic:10,mnist:5", "mnist:M needs the MNIST folder"),
        ("synthetic:10,emnist:5", "\"emnist\": not synthetic or mnist"),
    ] {
        let err = train::train(&options(TrainTask::Digits, Path::new(data), &dir, 1))
            .unwrap_err()
            .to_string();
        assert!(err.contains(expected), "{data}: {err}");
    }
}
