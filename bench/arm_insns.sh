#!/usr/bin/env bash
# ARM instructions per frame, without a Pi: the aarch64 build of the daemon runs under
# qemu-aarch64 (Cortex-A72, the Pi 4's core) with qemu's block log (-d in_asm,exec,nochain), and
# bench/qemu_insns.awk multiplies each translated block's length by the times it ran. Start-up
# (model loading and optimisation) is the same in both runs, so the difference between a replay
# of 1 and of 3 copies of a frame, halved, is what one frame costs: JPEG decoding, the cascade at
# the default detect width and the face classifier (text reading off); and, for the empty
# doorway, what a frame costs when the motion gate stops it (reduced-size decode and the gate). Deterministic to within a
# fraction of a percent, so a change of a few percent is a real change; no timing involved.
# (valgrind and perf cannot count here: valgrind does not run ARM code on x86-64, and this VM
# exposes no hardware counters.)
#   bench/arm_insns.sh             (needs the aarch64 cross build: scripts/check-arm.sh)
# Prints one JSON line: {"arm_insns_per_frame": N, "frame": "...", "arm_insns_empty_frame": E,
# "arm_insns_gated_frame": G}.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${ARM_PROFILE:-pi}
bin=${ARM_TARGET_DIR:-target}/aarch64-unknown-linux-gnu/$profile/lookout
[ -x "$bin" ] || { echo "arm_insns: $bin missing: build it with ARM_TARGETS=aarch64 ARM_PROFILE=$profile scripts/check-arm.sh" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# $1: name; $2: extra TOML.
config() {
  cat > "$tmp/$1.toml" <<EOF
[face]
model = "$PWD/models/face.onnx"
builtin_fallback = false
[reload]
watch_models = false
$2
EOF
}
config ungated "[motion]
enabled = false"
config gated ""

# Instructions for a replay of $3 copies of frame $2 with config $1.
count() {
  local name=$1 frame=$2 copies=$3 dir=$tmp/frames-$1-$3
  mkdir -p "$dir"
  for n in $(seq "$copies"); do cp "$frame" "$dir/$n.jpg"; done
  mkfifo "$tmp/fifo"
  QEMU_CPU=cortex-a72 QEMU_LD_PREFIX=/ qemu-aarch64 -d in_asm,exec,nochain -D "$tmp/fifo" \
    "$bin" run --config "$tmp/$name.toml" --source "replay:$dir" --events /dev/null --exit-at-end \
    2> /dev/null &
  mawk -f bench/qemu_insns.awk "$tmp/fifo"
  wait $!
  rm "$tmp/fifo"
}
# One frame's cost: the difference between 3 copies and 1, halved (start-up cancels).
per_frame() {
  local one three
  one=$(count "$1" "$2" 1)
  three=$(count "$1" "$2" 3)
  echo $(( (three - one) / 2 ))
}
face=examples/demo/frames/0009.jpg
empty=examples/demo/frames/0001.jpg
# Without the gate: a face (decode, cascade, classifier), and the empty doorway (decode and the
# cascade over the whole pyramid finding nothing).
with_face=$(per_frame ungated "$face")
empty_ungated=$(per_frame ungated "$empty")
# With the gate, the first frame of a replay is scanned (nothing is known yet); the next copies
# of the empty doorway stop at the gate: reduced-size decode and the gate alone.
empty_gated=$(per_frame gated "$empty")
echo "aarch64 ($profile profile) under qemu -cpu cortex-a72, instructions per frame:"
echo "  frame with a face, no gate ($face):    $with_face"
echo "  empty doorway, no gate ($empty):       $empty_ungated"
echo "  empty doorway, stopped by the gate:    $empty_gated ($(awk -v a="$empty_gated" -v b="$empty_ungated" 'BEGIN { printf "%.3f", a / b }') of the ungated frame)"
echo "{\"arm_insns_per_frame\": $with_face, \"frame\": \"$face\", \"arm_insns_empty_frame\": $empty_ungated, \"arm_insns_gated_frame\": $empty_gated}"
