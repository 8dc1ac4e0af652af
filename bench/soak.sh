#!/usr/bin/env bash
# Soak: ~100,000 replay frames through the daemon as fast as it takes them (the 518-frame demo
# replay of bench/daemon.sh, looped with `replay_loops`), every action on: events with rotation,
# snapshots under a quota, sounds (no sound card here: the "device missing" path, retried).
# Prints and checks:
#   - resident memory after the first pass and at the end: growth must stay under 2 MB;
#   - no lost events: every decision the daemon counted is a line in the event files, and each
#     pass makes the same decisions as the first (labels in order);
#   - the event log rotated and no file is over max_bytes; the snapshot folder is within its quota.
# Usage: bench/soak.sh [FRAMES]     (default 100000; about 15 min on 2 cores)
#   SOAK_PROFILE=pi bench/soak.sh   soaks the binary that ships (default: the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
want=${1:-100000}
profile=${SOAK_PROFILE:-release}
cargo build --quiet --profile "$profile" --bin lookout
bin=$PWD/target/$profile/lookout
. scripts/py-env.sh
. bench/replay-env.sh
per_pass=$replay_frames
loops=$(( (want + per_pass - 1) / per_pass ))
tmp=$(mktemp -d)
trap 'kill "$pid" 2> /dev/null || true; rm -rf "$tmp"' EXIT

max_bytes=1000000
quota=2000000
cat > "$tmp/soak.toml" <<EOF
[source]
input = "replay:$replay"
replay_loops = $loops
[face]
model = "$PWD/models/face.onnx"
builtin_fallback = false
[text]
enabled = true
model = "$PWD/models/digits.onnx"
roi = [16, 16, 128, 32]
[[action]]
on = "me"
cooldown_s = 0.0
[[action]]
on = "other"
sound = "$PWD/tests/fixtures/sounds/beep.ogg"
cooldown_s = 0.0
[events]
path = "$tmp/events/events.jsonl"
max_bytes = $max_bytes
keep = 20
[snapshots]
dir = "$tmp/snapshots"
quota_bytes = $quota
[reload]
watch_models = false
EOF
mkdir -p "$tmp/events"

echo "soak: $(( loops * per_pass )) frames ($loops passes of $per_pass), events rotated at $max_bytes B, snapshots quota $quota B"
started=$(date +%s)
"$bin" run --config "$tmp/soak.toml" --exit-at-end > /dev/null 2> "$tmp/log" &
pid=$!
# Resident memory every second, with the time, until the daemon exits.
while kill -0 "$pid" 2> /dev/null; do
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2> /dev/null || true)
  [ -n "$rss" ] && echo "$(( $(date +%s) - started )) $rss" >> "$tmp/rss"
  sleep 1
done
wait "$pid" || { echo "soak: the daemon failed:"; tail -20 "$tmp/log"; exit 1; }
took=$(( $(date +%s) - started ))

"${LOOKOUT_PY}" - "$tmp" "$loops" "$max_bytes" "$quota" "$took" <<'EOF'
import json, os, re, sys
from pathlib import Path

tmp, loops, max_bytes, quota, took = Path(sys.argv[1]), *map(int, sys.argv[2:])
log = (tmp / "log").read_text()
summary = re.findall(r"(\d+) frames in .*?, (\d+) decisions", log)[-1]
frames, counted = map(int, summary)

# Oldest first: events.jsonl.N is older than events.jsonl.N-1, events.jsonl is the newest.
def age(f):
    return int(f.suffix[1:]) if f.suffix[1:].isdigit() else 0
files = sorted((tmp / "events").iterdir(), key=age, reverse=True)
events = [json.loads(l) for f in files for l in f.read_text().splitlines()]
labels = [e["label"] for e in events]
per_pass = len(labels) // loops if loops else 0
first = labels[:per_pass]
same_each_pass = per_pass > 0 and labels == first * loops
biggest = max(f.stat().st_size for f in files)
snap_bytes = sum(f.stat().st_size for f in (tmp / "snapshots").iterdir())

samples = [tuple(map(int, l.split())) for l in (tmp / "rss").read_text().splitlines()]
# After the first pass (every code path and buffer has been used once) vs the end.
warm = [kb for t, kb in samples if t >= took / loops] or [samples[-1][1]]
start_kb, end_kb = warm[0], max(kb for _, kb in samples[-5:])
growth_mb = (end_kb - start_kb) / 1024

print(f"frames {frames} in {took} s ({frames / max(took, 1):.0f} fps)")
# A leak grows steadily; allocator warm-up levels off: the curve tells them apart.
quarters = [samples[min(len(samples) - 1, len(samples) * q // 4)][1] / 1024 for q in (1, 2, 3, 4)]
print("resident memory at 25/50/75/100 % of the run: " + " / ".join(f"{mb:.1f}" for mb in quarters) + " MB")
print(f"resident memory: {start_kb / 1024:.1f} MB after the first pass, {end_kb / 1024:.1f} MB at the end,"
      f" peak {max(kb for _, kb in samples) / 1024:.1f} MB: growth {growth_mb:+.2f} MB")
print(f"decisions: {counted} counted, {len(events)} in {len(files)} event files"
      f" ({per_pass} per pass, the same each pass: {same_each_pass})")
print(f"largest event file {biggest} B (rotation at {max_bytes} B); snapshots {snap_bytes} B (quota {quota} B)")
checks = {
    "memory growth < 2 MB": growth_mb < 2.0,
    "no lost events": counted == len(events) and same_each_pass,
    "event log rotated, files within max_bytes": len(files) > 1 and biggest <= max_bytes,
    "snapshots within quota": 0 < snap_bytes <= quota,
}
for name, ok in checks.items():
    print(f"  {'ok  ' if ok else 'FAIL'} {name}")
print(json.dumps({"soak_frames": frames, "rss_growth_mb": round(growth_mb, 2),
                  "events": len(events), "lost_events": counted - len(events),
                  "ok": all(checks.values())}))
sys.exit(0 if all(checks.values()) else 1)
EOF
