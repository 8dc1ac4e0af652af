#!/usr/bin/env bash
# Benchmark (not a test): our detector against OpenCV's detectMultiScale, single-threaded on the
# same images and parameters in one run, plus the all-cores figures. Prints a table and, last, a
# JSON line with the geometric mean of the single-thread ratios ours/OpenCV (target ≤ 0.8).
#   bench/detect_vs_opencv.sh [IMAGE...]   (default: the detector fixture scenes)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. scripts/py-env.sh
cargo build --release --quiet --bin lookout
if [ $# -eq 0 ]; then
  set -- tests/fixtures/detect/images/*.png
fi
"$LOOKOUT_PY" bench/detect_vs_opencv.py "$@"
