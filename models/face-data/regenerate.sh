#!/usr/bin/env bash
# Rebuilds models/face-data/{me,other} with the pinned OpenCV and scikit-image.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/py-env.sh
rm -rf models/face-data/me models/face-data/other
"$LOOKOUT_PY" models/face-data/make_face_data.py models/face-data
