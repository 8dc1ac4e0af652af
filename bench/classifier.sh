#!/usr/bin/env bash
# Benchmark (not a test): the classifiers and the face embedding model in tract (what the daemon
# runs) against ONNX Runtime, batch 1, one thread each, both pinned to core 0, on the same
# preprocessed tensor. Prints a table (median and p95 per model, ratios tract/ORT, largest output
# difference) and, last, a JSON line whose classifier_ratio is the geometric mean of the
# classifiers' median ratios (below 1: tract is faster); "models" has every model's ratios.
#   bench/classifier.sh          (RUNS, WARMUP, ROUNDS in the environment override the defaults)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/py-env.sh
. bench/ort-env.sh
cargo build --release --quiet -p lookout-vision --example classify_latency
taskset -c 0 "$LOOKOUT_PY" bench/classifier.py
