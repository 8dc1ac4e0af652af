#!/usr/bin/env bash
# Proof that the Pi build works, without Docker or a Pi: cross-compiles the runtime for
# aarch64 (64-bit Raspberry Pi OS) and armv7 (32-bit) with Debian's cross toolchains, runs the
# demo replay under qemu-user and checks that the decisions equal the x86-64 build's, checks the
# glibc symbol versions against Raspberry Pi OS Bookworm (2.36), prints binary sizes, and builds
# and inspects the .deb.
#
#   scripts/check-arm.sh              both targets (CI)
#   ARM_TARGETS=aarch64 scripts/check-arm.sh
#
# Needs (installed by .ci/run): gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf qemu-user
# libasound2-dev:arm64 libasound2-dev:armhf libclang-dev, rustup targets, cargo-deb.
set -euo pipefail
cd "$(dirname "$0")/.."

GLIBC_MAX=2.36
PROFILE=${ARM_PROFILE:-pi}
targets=()
for t in ${ARM_TARGETS:-aarch64 armv7}; do
  case $t in
    aarch64) targets+=(aarch64-unknown-linux-gnu) ;;
    armv7) targets+=(armv7-unknown-linux-gnueabihf) ;;
    *) echo "check-arm: unknown target $t (aarch64, armv7)" >&2; exit 2 ;;
  esac
done

# Per target: the Debian triplet (cross gcc, multiarch folders) and the qemu binary.
triplet() { case $1 in aarch64-*) echo aarch64-linux-gnu ;; armv7-*) echo arm-linux-gnueabihf ;; esac; }
qemu() { case $1 in aarch64-*) echo qemu-aarch64 ;; armv7-*) echo qemu-arm ;; esac; }

# Cross-compiling environment, the same settings Cross.toml gives `cross`: the cross linker,
# pkg-config reading the target's .pc files (alsa-sys would find the host's otherwise) and
# bindgen (the V4L2 bindings) parsing the target's headers.
cross_env() {
  local target=$1 tri
  tri=$(triplet "$target")
  local var=${target//-/_}
  export "CARGO_TARGET_${var^^}_LINKER=$tri-gcc"
  export PKG_CONFIG_ALLOW_CROSS=1
  export "PKG_CONFIG_LIBDIR_${var}=/usr/lib/$tri/pkgconfig:/usr/share/pkgconfig"
  export "BINDGEN_EXTRA_CLANG_ARGS_${var}=--sysroot=/usr/$tri"
}

decisions() { python3 -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    print(e["frame"], e["kind"], e["label"], e.get("track"), e["box"], round(e["confidence"], 2))
'; }

echo "check-arm: x86-64 reference run"
cargo build --quiet --profile "$PROFILE" --bin lookout
native=$(target/"$PROFILE"/lookout run --config examples/demo/demo.toml --exit-at-end 2>/dev/null | decisions)
echo "$native" | sed 's/^/  /'
[ "$(echo "$native" | wc -l)" -eq 3 ] || { echo "check-arm: expected 3 decisions from the demo" >&2; exit 1; }

for target in "${targets[@]}"; do
  tri=$(triplet "$target")
  echo "check-arm: $target"
  (cross_env "$target" && cargo build --quiet --profile "$PROFILE" --target "$target" --bin lookout)
  bin=target/$target/$PROFILE/lookout
  file "$bin" | sed 's/^/  /'

  # glibc: the newest symbol version the binary needs must exist on Raspberry Pi OS Bookworm.
  newest=$("$tri-objdump" -T "$bin" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)
  echo "  needs glibc $newest (Bookworm has $GLIBC_MAX)"
  if [ "$(printf '%s\n%s\n' "$newest" "$GLIBC_MAX" | sort -V | tail -1)" != "$GLIBC_MAX" ]; then
    echo "check-arm: $bin needs glibc $newest > $GLIBC_MAX" >&2; exit 1
  fi
  echo "  libraries: $("$tri-objdump" -p "$bin" | awk '/NEEDED/{printf "%s ", $2}')"
  ls -l "$bin" | awk '{printf "  size: %.1f MB\n", $5 / 1048576}'

  # The demo under qemu-user with the target's libraries from Debian's multiarch packages
  # (libc6:arm64 and friends, pulled in by libasound2-dev:arm64). Not the cross toolchain's copy
  # in /usr/$tri: with that one as QEMU_LD_PREFIX, thread creation hangs under qemu.
  started=$(date +%s.%N)
  emulated=$(QEMU_LD_PREFIX=/ /usr/bin/time -f "%M" -o /tmp/check-arm-rss "$(qemu "$target")" "$bin" \
    run --config examples/demo/demo.toml --exit-at-end 2>/dev/null | decisions)
  took=$(echo "$(date +%s.%N) - $started" | bc)
  echo "  demo under $(qemu "$target"): ${took%????} s, peak RSS of qemu + lookout $(( $(cat /tmp/check-arm-rss) / 1024 )) MB"
  if [ "$emulated" != "$native" ]; then
    echo "check-arm: $target decisions differ from x86-64:" >&2
    diff <(echo "$native") <(echo "$emulated") >&2 || true
    exit 1
  fi
  echo "  decisions equal the x86-64 build's"
done
