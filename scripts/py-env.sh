# Source this file: creates (once) the Python environment used to make fixtures and to run the
# reference tools (OpenCV 4.x, scikit-image), then exports LOOKOUT_PY, its interpreter.
# Lives outside the repo (LOOKOUT_CACHE, default ~/.cache/lookout); re-sourcing takes a moment.
LOOKOUT_CACHE=${LOOKOUT_CACHE:-$HOME/.cache/lookout}
_lookout_venv="$LOOKOUT_CACHE/venv-py"
_lookout_reqs="opencv-python-headless==4.14.0.94 scikit-image==0.26.0 numpy==2.4.6"
if [ ! -f "$_lookout_venv/.ready" ] || [ "$(cat "$_lookout_venv/.ready")" != "$_lookout_reqs" ]; then
  python3 -m venv "$_lookout_venv"
  "$_lookout_venv/bin/pip" install --quiet --disable-pip-version-check $_lookout_reqs
  echo "$_lookout_reqs" > "$_lookout_venv/.ready"
fi
export LOOKOUT_PY="$_lookout_venv/bin/python"
unset _lookout_venv _lookout_reqs
