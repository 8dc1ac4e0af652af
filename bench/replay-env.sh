# Source this file (after scripts/py-env.sh): the benches' long replay, 518 frames of the demo's
# scenes (examples/demo/make_frames.py --visits 14: 14 visits of me and of a stranger, the plate),
# made once under LOOKOUT_CACHE. Exports `replay` (the folder) and `replay_frames` (its size).
replay="${LOOKOUT_CACHE:-$HOME/.cache/lookout}/bench-replay-14"
if [ ! -f "$replay/.done" ]; then
  "$LOOKOUT_PY" examples/demo/make_frames.py "$replay" --visits 14 > /dev/null
  touch "$replay/.done"
fi
replay_frames=$(find "$replay" -name '*.jpg' | wc -l)
