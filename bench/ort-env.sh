# Source after scripts/py-env.sh: adds ONNX Runtime (pinned) to that environment for the benches
# that compare against it. Kept out of scripts/py-env.sh because only the benches need it.
_lookout_ort="onnxruntime==1.31.1"
if ! "$LOOKOUT_PY" -c 'import onnxruntime' 2> /dev/null; then
  "$(dirname "$LOOKOUT_PY")/pip" install --quiet --disable-pip-version-check "$_lookout_ort"
fi
unset _lookout_ort
