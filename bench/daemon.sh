#!/usr/bin/env bash
# The daemon's own figures, on the binary that ships (`--profile pi`):
#   1. peak RSS of `lookout run` on the demo (examples/demo, 50 frames, face + digits models);
#   2. throughput with everything pinned to ONE core, on a 518-frame replay of the same scenes
#      (made by examples/demo/make_frames.py --visits 14, cached under ~/.cache/lookout);
#   3. the same replay paced at 15 fps (a 640x480 camera) on one core: frames dropped;
#   4. mean time per frame and per face (classifier only), from the daemon's own metrics.
# Usage: bench/daemon.sh            (needs taskset, /usr/bin/time, the pinned Python env)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --profile pi --bin lookout
bin=target/pi/lookout
. scripts/py-env.sh
. bench/replay-env.sh
frames=$replay_frames
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

peak() { /usr/bin/time -f "%M" -o "$tmp/time" "$@" > /dev/null 2> "$tmp/log"; echo $(( $(cat "$tmp/time") / 1024 )); }
summary() { grep -o '[0-9.]* frames in .*' "$tmp/log" | tail -1; }

rss=$(peak "$bin" run --config examples/demo/demo.toml --exit-at-end)
echo "demo (50 frames, face + text): peak RSS ${rss} MB; $(summary)"

rss1=$(peak taskset -c 0 "$bin" run --config examples/demo/demo.toml --source "replay:$replay" --events /dev/null --exit-at-end)
echo "one core, $frames frames as fast as they come: peak RSS ${rss1} MB; $(summary)"

sed "s/^input = .*/input = \"replay:${replay//\//\\/}\"\nreplay_fps = 15.0/" examples/demo/demo.toml > "$tmp/paced.toml"
sed -i "s|^model = \"../../models/|model = \"$PWD/models/|; s|^sound = \"../../|sound = \"$PWD/|" "$tmp/paced.toml"
rss2=$(peak taskset -c 0 "$bin" run --config "$tmp/paced.toml" --events /dev/null --exit-at-end)
echo "one core, paced at 15 fps: peak RSS ${rss2} MB; $(summary)"
ls -l "$bin" | awk '{printf "binary: %.1f MB\n", $5 / 1048576}'
