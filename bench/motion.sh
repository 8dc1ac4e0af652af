#!/usr/bin/env bash
# The motion gate on a day in front of the camera, compressed (bench/motion_day.py: five minutes
# at 15 fps of the empty doorway with sensor noise, two visits, a lamp on and off, someone
# sitting still for a minute, a plate put up; cached under ~/.cache/lookout):
#   1. as fast as it goes, without the gate, with it scanning moving regions, and with it
#      scanning whole frames: the decisions (which must be the same), frames scanned and
#      stopped, mean time per frame, CPU seconds;
#   2. paced at 15 fps on one core (taskset), as a camera delivers: the daemon's CPU time over
#      wall time, without and with the gate, over the whole day and over its first 30 s (the
#      empty room alone). Goal: the empty room at most 5% of one core;
#   3. docs/motion-day.png: what the gate did with each frame of the day (bench/motion_timeline.py).
# Usage: bench/motion.sh     (LOOKOUT_BIN=path to use another build; needs taskset,
#        /usr/bin/time and the pinned Python env; about 12 minutes, most of it paced)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${LOOKOUT_BIN:-}" ]; then
  cargo build --quiet --release --bin lookout
  LOOKOUT_BIN=target/release/lookout
fi
. scripts/py-env.sh
day="${LOOKOUT_CACHE:-$HOME/.cache/lookout}/bench-motion-day"
if [ ! -f "$day/.done" ] || [ bench/motion_day.py -nt "$day/.done" ]; then
  rm -rf "$day"
  "$LOOKOUT_PY" bench/motion_day.py "$day"
  touch "$day/.done"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/empty"
for i in $(seq -f "%05g" 1 450); do ln -s "$day/$i.jpg" "$tmp/empty/$i.jpg"; done

# $1 name, $2 replay folder, $3 replay fps (0: unpaced), $4 extra TOML for [motion].
config() {
  sed "s|^input = .*|input = \"replay:$2\"\nreplay_fps = $3|; s|^model = \"../../models/|model = \"$PWD/models/|; s|^sound = \"../../|sound = \"$PWD/|" \
    examples/demo/demo.toml > "$tmp/$1.toml"
  printf '\n[motion]\n%s\n' "$4" >> "$tmp/$1.toml"
}
# Runs config $1 (pinned to core 0 when $2 = pin); leaves events in $tmp/$1.jsonl and prints
# "cpu_s wall_s".
run() {
  local pin=()
  [ "${2:-}" = pin ] && pin=(taskset -c 0)
  /usr/bin/time -f "%U %S %e" -o "$tmp/$1.time" "${pin[@]}" "$LOOKOUT_BIN" run \
    --config "$tmp/$1.toml" --events "$tmp/$1.jsonl" --exit-at-end 2> "$tmp/$1.log"
  awk '{printf "%.2f %.2f\n", $1 + $2, $3}' "$tmp/$1.time"
}
decisions() { cut -d, -f3,5 "$tmp/$1.jsonl" | tr -d '"' | sed 's/frame://; s/label://' | paste -sd' '; }
summary() { grep -o '[0-9]* frames in .*' "$tmp/$1.log" | tail -1; }

echo "day: $(cat "$day/story.txt" | wc -l) events over $(find "$day" -name '*.jpg' | wc -l) frames ($day/story.txt)"
config off "$day" 0 "enabled = false"
config regions "$day" 0 'scan = "regions"'
config frame "$day" 0 'scan = "frame"'
for mode in off regions frame; do
  # The regions run logs each frame's gate verdict, for the timeline drawn below.
  if [ $mode = regions ]; then export LOOKOUT_LOG=debug; else unset LOOKOUT_LOG; fi
  read -r cpu wall < <(run $mode)
  echo "unpaced, gate $mode: cpu ${cpu} s, wall ${wall} s; $(summary $mode)"
  echo "  decisions: $(decisions $mode)"
  eval "cpu_$mode=$cpu"
done
unset LOOKOUT_LOG
"$LOOKOUT_PY" bench/motion_timeline.py "$tmp/regions.log" "$tmp/regions.jsonl" docs/motion-day.png
for mode in regions frame; do
  if [ "$(decisions $mode)" != "$(decisions off)" ]; then
    echo "motion: the gate ($mode) decided differently from the ungated daemon" >&2
    exit 1
  fi
done

config paced_off "$day" 15 "enabled = false"
config paced_on "$day" 15 ""
config paced_empty "$tmp/empty" 15 ""
config paced_empty_off "$tmp/empty" 15 "enabled = false"
for mode in paced_off paced_on paced_empty_off paced_empty; do
  read -r cpu wall < <(run $mode pin)
  share=$(awk -v c="$cpu" -v w="$wall" 'BEGIN { printf "%.1f", 100 * c / w }')
  echo "15 fps on one core, $mode: cpu ${cpu} s over ${wall} s wall = ${share}% of a core; $(summary $mode)"
  eval "share_$mode=$share"
done
[ "$(decisions paced_on)" = "$(decisions paced_off)" ] || echo "note: paced runs decided differently (frames dropped?)" >&2
echo "{\"unpaced_cpu_s\": {\"off\": $cpu_off, \"regions\": $cpu_regions, \"frame\": $cpu_frame}, \"paced_core_percent\": {\"day_off\": $share_paced_off, \"day_on\": $share_paced_on, \"empty_off\": $share_paced_empty_off, \"empty_on\": $share_paced_empty}}"
