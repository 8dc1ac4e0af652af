#!/usr/bin/env bash
# Re-renders examples/demo/frames/*.jpg and story.json (the segment list) with the pinned Python
# environment of scripts/py-env.sh, then checks them with the lookout binary when one is built
# (target/release/lookout, or $LOOKOUT_BIN). Extra arguments go to make_frames.py.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../scripts/py-env.sh"
rm -rf "$here/frames"
"$LOOKOUT_PY" "$here/make_frames.py" "$here/frames" --manifest "$here/story.json" "$@"
bin=${LOOKOUT_BIN:-$here/../../target/release/lookout}
if [ -x "$bin" ]; then
  "$LOOKOUT_PY" "$here/check_frames.py" "$here/frames" "$here/story.json" --lookout "$bin"
else
  echo "no lookout binary at $bin: frames not checked (cargo build --release, then" >&2
  echo "  \$LOOKOUT_PY $here/check_frames.py $here/frames $here/story.json)" >&2
fi
