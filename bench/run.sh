#!/usr/bin/env bash
# Every benchmark against its peer, one after the other in one run, then the headline figures as
# one JSON line (the last line printed):
#   detector    bench/detect_vs_opencv.sh on 640x480 frames (the demo's): lookout vs OpenCV 4.x
#               detectMultiScale, Haar and LBP cascades, two parameter sets, 1 thread and all;
#   classifier  bench/classifier.sh: tract vs ONNX Runtime, face.onnx and hanzi.onnx, batch 1;
#   end to end  bench/e2e.sh: `lookout run` vs bench/seed003_reference.py (seed 003's OpenCV +
#               CNN loop) on a 518-frame replay: fps, CPU, peak RSS, same decisions;
#   ARM         bench/arm_insns.sh: aarch64 instructions per frame under qemu (skipped with a
#               note when the aarch64 build is missing: scripts/check-arm.sh makes it).
# Targets (issue 6): detector_ratio <= 0.8, classifier_ratio <= 1.0, e2e_fps_ratio >= 3 at
# rss_mb <= 30. Each part prints its own table; this script only gathers their JSON lines.
#   bench/run.sh            (about 10 minutes on 2 cores, after the builds)
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

part() {
  local name=$1
  shift
  echo "== $name"
  "$@" | tee "$tmp/$name.out"
  tail -1 "$tmp/$name.out" > "$tmp/$name.json"
}

# Every 4th demo frame: 13 camera-sized scenes (empty room, me, a stranger, the plate).
part detector bench/detect_vs_opencv.sh $(ls examples/demo/frames/*.jpg | awk 'NR % 4 == 1')
part classifier bench/classifier.sh
part e2e bench/e2e.sh
if [ -x "${ARM_TARGET_DIR:-target}/aarch64-unknown-linux-gnu/${ARM_PROFILE:-pi}/lookout" ]; then
  part arm bench/arm_insns.sh
else
  echo "== arm: skipped (no aarch64 build; ARM_TARGETS=aarch64 scripts/check-arm.sh makes one)"
  echo '{"arm_insns_per_frame": null}' > "$tmp/arm.json"
fi

python3 - "$tmp" <<'EOF'
import json, sys
from pathlib import Path

parts = {p.stem: json.loads(p.read_text()) for p in Path(sys.argv[1]).glob("*.json")}
headline = {
    "detector_ratio": parts["detector"]["detector_ratio"],
    "classifier_ratio": parts["classifier"]["classifier_ratio"],
    "e2e_fps_ratio": parts["e2e"]["e2e_fps_ratio"],
    "rss_mb": parts["e2e"]["rss_mb"],
    "same_decisions": parts["e2e"]["same_decisions"],
    "arm_insns_per_frame": parts["arm"]["arm_insns_per_frame"],
}
targets = {
    "detector_ratio <= 0.8": headline["detector_ratio"] <= 0.8,
    "classifier_ratio <= 1.0": headline["classifier_ratio"] <= 1.0,
    "e2e_fps_ratio >= 3": headline["e2e_fps_ratio"] >= 3,
    "rss_mb <= 30": headline["rss_mb"] <= 30,
    "same_decisions": headline["same_decisions"],
}
print("== targets")
for name, met in targets.items():
    print(f"  {'met   ' if met else 'missed'} {name}")
print(json.dumps(headline))
EOF
