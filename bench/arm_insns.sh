#!/usr/bin/env bash
# ARM instructions per frame, without a Pi: the aarch64 build of the daemon runs under
# qemu-aarch64 (Cortex-A72, the Pi 4's core) with qemu's block log (-d in_asm,exec,nochain), and
# bench/qemu_insns.awk multiplies each translated block's length by the times it ran. Start-up
# (model loading and optimisation) is the same in both runs, so the difference between a replay
# of 1 and of 3 copies of a frame, halved, is what one frame costs: JPEG decoding, the cascade at
# the default detect width and the face classifier (text reading off). Deterministic to within a
# fraction of a percent, so a change of a few percent is a real change; no timing involved.
# (valgrind and perf cannot count here: valgrind does not run ARM code on x86-64, and this VM
# exposes no hardware counters.)
#   bench/arm_insns.sh             (needs the aarch64 cross build: scripts/check-arm.sh)
# Prints one JSON line: {"arm_insns_per_frame": N, "frame": "..."}.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${ARM_PROFILE:-pi}
bin=${ARM_TARGET_DIR:-target}/aarch64-unknown-linux-gnu/$profile/lookout
[ -x "$bin" ] || { echo "arm_insns: $bin missing: build it with ARM_TARGETS=aarch64 ARM_PROFILE=$profile scripts/check-arm.sh" >&2; exit 2; }
frame=examples/demo/frames/0009.jpg
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat > "$tmp/face.toml" <<EOF
[face]
model = "$PWD/models/face.onnx"
builtin_fallback = false
[reload]
watch_models = false
EOF

count() {
  local copies=$1 dir=$tmp/frames-$1
  mkdir -p "$dir"
  for n in $(seq "$copies"); do cp "$frame" "$dir/$n.jpg"; done
  QEMU_CPU=cortex-a72 QEMU_LD_PREFIX=/ qemu-aarch64 -d in_asm,exec,nochain -D "$tmp/fifo-$copies" \
    "$bin" run --config "$tmp/face.toml" --source "replay:$dir" --events /dev/null --exit-at-end \
    2> /dev/null &
  mawk -f bench/qemu_insns.awk "$tmp/fifo-$copies"
  wait $!
}
mkfifo "$tmp/fifo-1" "$tmp/fifo-3"
one=$(count 1)
three=$(count 3)
per_frame=$(( (three - one) / 2 ))
echo "aarch64 ($profile profile) under qemu -cpu cortex-a72: $one instructions for start-up + 1 frame, $three for 3 frames"
echo "{\"arm_insns_per_frame\": $per_frame, \"frame\": \"$frame\"}"
