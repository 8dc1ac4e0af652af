#!/usr/bin/env bash
# ARM instructions per face embedding, without a Pi: the aarch64 build of
# vision/examples/classify_latency runs models/face_embed.onnx (dlib's face ResNet, 150x150 RGB
# chip) under qemu-aarch64 (Cortex-A72, the Pi 4's core) with qemu's block log
# (-d in_asm,exec,nochain), counted by bench/qemu_insns.awk as in bench/arm_insns.sh. Loading,
# optimising and preprocessing are the same in a run of 1 and of 3 timed model runs (no
# warm-up), so the difference, halved, is what one model run costs. The face classifier
# (models/face.onnx on the demo's face in frame 9) is counted the same way, for comparison.
# Deterministic to within a fraction of a percent; no timing involved.
#   bench/arm_embed_insns.sh      (cross-builds the example into ARM_TARGET_DIR, default target,
#                                  with ARM_PROFILE, default release; then 2.5 min of counting)
#   ARM_TARGET_DIR=~/.cache/lookout/target-arm bench/arm_embed_insns.sh   (reuses CI's ARM build)
# Prints both runs' counts per model, then one JSON line:
# {"arm_insns_per_embedding": N, "arm_insns_per_face_classifier_run": M}.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${ARM_PROFILE:-release}
target_dir=${ARM_TARGET_DIR:-target}
target=aarch64-unknown-linux-gnu
# The vision crate needs only the cross linker (no ALSA, no V4L2 bindings: scripts/check-arm.sh
# sets those up for the daemon).
CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc CARGO_TARGET_DIR=$target_dir \
  cargo build --quiet --profile "$profile" --target "$target" -p lookout-vision --example classify_latency
bin=$target_dir/$target/$profile/examples/classify_latency
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# count RUNS MODEL IMAGE [--region X,Y,W,H]: instructions for loading MODEL and RUNS runs of it.
count() {
  local runs=$1 fifo=$tmp/fifo
  shift
  rm -f "$fifo"
  mkfifo "$fifo"
  QEMU_CPU=cortex-a72 QEMU_LD_PREFIX=/ qemu-aarch64 -d in_asm,exec,nochain -D "$fifo" \
    "$bin" "$@" --warmup 0 --runs "$runs" > /dev/null &
  mawk -f bench/qemu_insns.awk "$fifo"
  wait $!
}

# per_run MODEL IMAGE [--region X,Y,W,H]: sets insns to the instructions of one run of MODEL.
per_run() {
  local one three
  one=$(count 1 "$@")
  three=$(count 3 "$@")
  echo "  $(basename "$1"): $one instructions for loading + 1 run, $three for loading + 3 runs"
  insns=$(( (three - one) / 2 ))
}

echo "aarch64 ($profile profile) under qemu -cpu cortex-a72:"
per_run models/face_embed.onnx tests/fixtures/faces/chips/obama_face_hog_0.png
embed=$insns
per_run models/face.onnx examples/demo/frames/0009.jpg --region 262,110,134,134
face=$insns
echo "{\"arm_insns_per_embedding\": $embed, \"arm_insns_per_face_classifier_run\": $face}"
