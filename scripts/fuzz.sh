#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for FUZZ_SECONDS each (default 20), starting from a
# temporary copy of fuzz/seeds/<target> so that what a run finds never lands in the repository.
# Prints runs executed and the outcome per target; exits non-zero if any target crashed.
# A crashing input is kept in fuzz/artifacts/<target>/; replay it with
#   cargo +nightly fuzz run -O -s none <target> fuzz/artifacts/<target>/<file>
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-20}
cache=${LOOKOUT_CACHE:-$HOME/.cache/lookout}

# cargo-fuzz, built once into the cache (about a minute).
if ! "$cache/cargo-fuzz/bin/cargo-fuzz" --version 2>/dev/null | grep -qx "cargo-fuzz 0.13.2"; then
  cargo install --quiet --locked cargo-fuzz --version 0.13.2 --root "$cache/cargo-fuzz"
fi
export PATH=$cache/cargo-fuzz/bin:$PATH
# gnt_reader links lookout-tools, hence libtorch (found at run time through LD_LIBRARY_PATH).
. scripts/libtorch-env.sh
export CARGO_TARGET_DIR=$PWD/fuzz/target

# No sanitizer (-s none): all of lookout and lookout-tools is safe Rust, so what fuzzing can find
# is a panic, an abort, a huge allocation or a hang, which libFuzzer catches without ASan. ASan
# would also instrument every dependency (tract, image, libtorch's bindings), making the cold
# build FIXME and each run slower, and finds nothing more in safe code.
flags=(-O -s none)
cargo +nightly fuzz build "${flags[@]}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
for target in $(cargo +nightly fuzz list); do
  mkdir -p "$work/$target"
  cp fuzz/seeds/"$target"/* "$work/$target/"
  # -timeout: one input taking this long is a hang, reported like a crash.
  status=ok
  start=$SECONDS
  cargo +nightly fuzz run "${flags[@]}" "$target" "$work/$target" -- \
    -max_total_time="$seconds" -timeout=20 -print_final_stats=1 >"$work/$target.log" 2>&1 \
    || status=CRASHED
  elapsed=$((SECONDS - start))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$target.log" | tail -n 1)
  printf '%-14s %10s runs in %3ss (%s/s)  %s\n' "$target" "${runs:-?}" "$elapsed" \
    "$(( ${runs:-0} / (elapsed > 0 ? elapsed : 1) ))" "$status"
  if [ "$status" != ok ]; then
    failed+=("$target")
    grep -E "panicked|ERROR: libFuzzer|SUMMARY|Test unit written" "$work/$target.log" | head -n 8 \
      | sed 's/^/    /'
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashed: ${failed[*]}" >&2
  exit 1
fi
