#!/usr/bin/env bash
# Benchmark (not a test): `lookout run` end to end against bench/seed003_reference.py (seed 003's
# OpenCV + CNN loop, deciding with the daemon's vote) on the same 518-frame replay made by
# examples/demo/make_frames.py --visits 14 (as bench/daemon.sh). Every process is pinned to core 0
# (taskset), OpenCV, ONNX Runtime and the daemon's detector use one thread; the daemon still has
# its capture (JPEG decoding) and actions threads, which share that core. Rows:
#   lookout seed-params  [detect] as the seed: full frame, scale 1.3, 5 neighbours, no min size;
#                        the same work as the reference, so the same decisions are expected
#   lookout defaults     the shipped [detect]: detection on a 320-px-wide copy, 1.2, 40 px
#   python seed003       bench/seed003_reference.py
# Wall time is the whole process (start-up and model loading included), CPU is user + sys, and
# RSS the peak, from /usr/bin/time. ROUNDS rounds (default 2) alternate the three; each row keeps
# its fastest. Prints a table and, last, a JSON line: e2e_fps_ratio is lookout (shipped defaults)
# fps / python fps, e2e_cpu_ratio python CPU s / lookout CPU s (both: above 1, lookout wins); the
# same for the seed-params row under *_seed_params.
#   bench/e2e.sh          (needs taskset, /usr/bin/time, the pinned Python env)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/py-env.sh
. bench/ort-env.sh
cargo build --release --quiet --bin lookout
bin=target/release/lookout
. bench/replay-env.sh
frames=$replay_frames
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Text reading and audio off: the reference has neither. Decisions go to stdout as events.
cat > "$tmp/defaults.toml" <<TOML
[source]
input = "replay:$replay"
[face]
model = "$PWD/models/face.onnx"
builtin_fallback = false
[text]
enabled = false
[audio]
enabled = false
[events]
path = "-"
[reload]
watch_models = false
TOML
{ cat "$tmp/defaults.toml"; printf '[detect]\ndetect_width = 0\nscale_factor = 1.3\nmin_neighbors = 5\nmin_size = 0\n'; } \
  > "$tmp/seed-params.toml"

# measure NAME ROUND CMD...: NAME.ROUND.time holds "wall user sys maxrss_kb", .out the decisions.
measure() {
  local name=$1 round=$2
  shift 2
  /usr/bin/time -f '%e %U %S %M' -o "$tmp/$name.$round.time" taskset -c 0 "$@" \
    > "$tmp/$name.$round.out" 2> "$tmp/$name.$round.log"
}
for round in $(seq "${ROUNDS:-2}"); do
  measure lookout-seed-params "$round" "$bin" run --config "$tmp/seed-params.toml" --exit-at-end
  measure lookout-defaults "$round" "$bin" run --config "$tmp/defaults.toml" --exit-at-end
  measure python-seed003 "$round" "$LOOKOUT_PY" bench/seed003_reference.py "$replay"
done
"$LOOKOUT_PY" bench/e2e_report.py "$frames" "$tmp"
