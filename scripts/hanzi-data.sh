# Source this file: fetches (once) from the npm registry the stroke data the hanzi synthesiser
# writes with (`hanzi-writer-data` 2.0.1, Arphic Public License) and four handwriting-style
# Chinese web fonts kept for evaluation only (`@fontsource/*`, SIL OFL 1.1), checks each
# tarball against a pinned sha256, unpacks them into LOOKOUT_CACHE (default ~/.cache/lookout)
# and exports
#   LOOKOUT_HANZI_STROKES      the folder of <char>.json stroke files
#   LOOKOUT_HANDWRITING_FONTS  the four .woff files (space-separated): never training data.
LOOKOUT_CACHE=${LOOKOUT_CACHE:-$HOME/.cache/lookout}
_hz_dir=$LOOKOUT_CACHE/npm
_hz_fetch() { # <package path> <tarball name> <sha256>
  local tgz=$_hz_dir/$2.tgz
  if [ ! -f "$tgz" ]; then
    mkdir -p "$_hz_dir"
    python3 -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' \
      "https://registry.npmjs.org/$1/-/$2.tgz" "$tgz.part" && mv "$tgz.part" "$tgz" || return 1
  fi
  echo "$3  $tgz" | sha256sum -c --quiet - || { echo "hanzi-data: sha256 mismatch: $tgz" >&2; return 1; }
  if [ ! -d "$_hz_dir/$2/package" ]; then
    mkdir -p "$_hz_dir/$2.part" && tar -xzf "$tgz" -C "$_hz_dir/$2.part" &&
      mv "$_hz_dir/$2.part" "$_hz_dir/$2" || return 1
  fi
}
_hz_all() {
  _hz_fetch hanzi-writer-data hanzi-writer-data-2.0.1 72baf3d82b114e60d6e40ea05f24d2262a05cd39d544e2f322ba2fceb7beff15 || return 1
  _hz_fetch @fontsource/zhi-mang-xing zhi-mang-xing-5.3.0 903fe57d53c97001563dfa380e91c3ceaacc2f65485f93c4741d34470aedb0b9 || return 1
  _hz_fetch @fontsource/long-cang long-cang-5.3.0 f37d7fc6e0ed15718e03fe9edd5f8b0117d6d011d23c15bf2d35b7b00f9c4e26 || return 1
  _hz_fetch @fontsource/ma-shan-zheng ma-shan-zheng-5.3.1 f441a8e137c210da78e8a287616227b11771ff8bbc4a6e506a0f5f84790ca272 || return 1
  _hz_fetch @fontsource/liu-jian-mao-cao liu-jian-mao-cao-5.3.0 bbffc6b7e13b1e10eff328df1d9b16ba2697b6237b34b67e9aa0450fb0b9a621 || return 1
}
if _hz_all; then
  export LOOKOUT_HANZI_STROKES=$_hz_dir/hanzi-writer-data-2.0.1/package
  LOOKOUT_HANDWRITING_FONTS=
  for _hz_font in zhi-mang-xing-5.3.0 long-cang-5.3.0 ma-shan-zheng-5.3.1 liu-jian-mao-cao-5.3.0; do
    LOOKOUT_HANDWRITING_FONTS="$LOOKOUT_HANDWRITING_FONTS $_hz_dir/$_hz_font/package/files/${_hz_font%-5.3.?}-chinese-simplified-400-normal.woff"
  done
  export LOOKOUT_HANDWRITING_FONTS=${LOOKOUT_HANDWRITING_FONTS# }
  unset _hz_font
else
  echo "hanzi-data: could not fetch the stroke data or the evaluation fonts from the npm registry" >&2
fi
unset -f _hz_fetch _hz_all
unset _hz_dir
