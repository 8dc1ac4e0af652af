#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for FUZZ_SECONDS each (default 20), starting from a
# temporary copy of fuzz/seeds/<target> so that what a run finds never lands in the repository.
# FUZZ_PROFILE=release (default) builds optimised targets for long runs by hand; FUZZ_PROFILE=dev
# (what .ci/run uses) builds cold in under 3 minutes instead of 13-22, runs 7-30x fewer inputs
# per second, and checks integer overflow on every arithmetic operation.
# Prints runs executed and the outcome per target; exits non-zero if any target crashed.
# A crashing input is kept in fuzz/artifacts/<target>/; replay it with the same profile's flags:
#   cargo fuzz run -O -s none <target> fuzz/artifacts/<target>/<file>     (--dev for dev)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-20}
cache=${LOOKOUT_CACHE:-$HOME/.cache/lookout}

# cargo-fuzz, built once into the cache (about a minute).
if ! "$cache/cargo-fuzz/bin/cargo-fuzz" --version 2>/dev/null | grep -qx "cargo-fuzz 0.13.2"; then
  cargo install --quiet --locked cargo-fuzz --version 0.13.2 --root "$cache/cargo-fuzz"
fi
export PATH=$cache/cargo-fuzz/bin:$PATH
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-$PWD/fuzz/target}

# The machine's stable toolchain is enough: without a sanitizer cargo-fuzz passes only stable
# -C flags (coverage instrumentation), and CI machines have no nightly to fetch.
# No sanitizer (-s none): lookout and the .gnt reader are safe Rust, so what fuzzing can find is a
# panic, an abort, a huge allocation (fuzz/src/lib.rs caps them) or a hang, all caught without
# ASan. Measured on 2 busy cores without the tools crate: ASan made the cold build 1.6x the CPU
# time (24 vs 15 min) and runs 5x slower (config_toml 2,450 vs 12,200 inputs/s). cargo-fuzz's
# default of one codegen unit is kept: 16 cut the cold build's wall time by a fifth but cost
# 25-50% of the inputs per second.
case ${FUZZ_PROFILE:-release} in
  release) flags=(-O -s none) ;;
  dev) flags=(--dev -s none) ;;
  *) echo "FUZZ_PROFILE must be release or dev" >&2; exit 2 ;;
esac
cargo fuzz build "${flags[@]}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
for target in $(cargo fuzz list); do
  mkdir -p "$work/$target"
  cp fuzz/seeds/"$target"/* "$work/$target/"
  # -timeout: one input taking this long is a hang, reported like a crash.
  status=ok
  start=$SECONDS
  cargo fuzz run "${flags[@]}" "$target" "$work/$target" -- \
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
