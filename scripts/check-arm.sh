#!/usr/bin/env bash
# Proof that the Pi build works, without Docker or a Pi: cross-compiles the runtime for
# aarch64 (64-bit Raspberry Pi OS) and armv7 (32-bit) with Debian's cross toolchains, runs the
# demo replay under qemu-user and checks that the decisions equal the x86-64 build's, checks the
# glibc symbol versions against Raspberry Pi OS Bookworm (2.36), prints binary sizes, and builds
# the .deb for each target and checks its contents.
#
#   scripts/check-arm.sh                       both targets, the shipped `pi` profile
#   ARM_TARGETS=aarch64 scripts/check-arm.sh   one target
#   ARM_PROFILE=release scripts/check-arm.sh   what CI runs: no fat LTO, half the build time
#   ARM_TARGET_DIR=DIR                         where the ARM builds go (CI: a cache folder)
#
# Needs (installed by .ci/run from .ci/apt-packages): gcc-aarch64-linux-gnu
# gcc-arm-linux-gnueabihf, their C library and kernel headers (libc6-dev-arm64-cross
# libc6-dev-armhf-cross linux-libc-dev-arm64-cross linux-libc-dev-armhf-cross), qemu-user,
# libasound2-dev:arm64 libasound2-dev:armhf libclang-dev, the rustup targets, cargo-deb.
set -euo pipefail
cd "$(dirname "$0")/.."

GLIBC_MAX=2.36
PROFILE=${ARM_PROFILE:-pi}
ARM_TARGET_DIR=${ARM_TARGET_DIR:-target}
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
deb_arch() { case $1 in aarch64-*) echo arm64 ;; armv7-*) echo armhf ;; esac; }
# The CPU qemu emulates: the Pi 4's Cortex-A72 and the Pi 2's Cortex-A7. Not qemu's default
# "max" CPU: it announces extensions no Pi has, and the code paths picked for them run 14 times
# slower under qemu (the demo took 6 min instead of 26 s).
qemu_cpu() { case $1 in aarch64-*) echo cortex-a72 ;; armv7-*) echo cortex-a7 ;; esac; }

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

# What the cross build of one target needs on this machine, checked before cargo runs so that a
# missing package is one line naming it instead of a bindgen or linker backtrace. The cross
# compilers only recommend the C library and kernel headers, so `apt-get install
# --no-install-recommends gcc-aarch64-linux-gnu` leaves them out (.ci/apt-packages lists them).
preflight() {
  local target=$1 tri arch missing=()
  tri=$(triplet "$target")
  arch=$(deb_arch "$target")
  need() { [ -e "$1" ] || missing+=("$2"); }
  need "/usr/bin/$tri-gcc" "gcc-$tri"
  need "/usr/$tri/lib/crt1.o" "libc6-dev-$arch-cross"
  need "/usr/$tri/include/stdio.h" "libc6-dev-$arch-cross"
  need "/usr/$tri/include/linux/videodev2.h" "linux-libc-dev-$arch-cross"
  need "/usr/lib/$tri/pkgconfig/alsa.pc" "libasound2-dev:$arch"
  need "/usr/bin/$(qemu "$target")" qemu-user
  if ! ls /usr/lib/llvm-*/lib/libclang*.so* > /dev/null 2>&1; then missing+=(libclang-dev); fi
  if [ ${#missing[@]} -gt 0 ]; then
    echo "check-arm: $target cannot be built here: install $(printf '%s\n' "${missing[@]}" | sort -u | paste -sd ' ')" >&2
    return 1
  fi
}

decisions() { python3 -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    print(e["frame"], e["kind"], e["label"], e.get("track"), e["box"], round(e["confidence"], 2))
'; }

# What the package must hold, and that installing it starts nothing: the postinst may re-enable
# the unit on an upgrade (when the owner had enabled it) but never enables or starts it otherwise.
check_deb() {
  local deb=$1 arch=$2 listing control
  echo "  package: $(basename "$deb"), $(( $(stat -c %s "$deb") / 1024 )) KiB"
  [ "$(dpkg-deb -f "$deb" Architecture)" = "$arch" ] || { echo "check-arm: $deb is not $arch" >&2; exit 1; }
  listing=$(dpkg-deb -c "$deb" | awk '{print $6}')
  for path in ./usr/bin/lookout ./etc/lookout/lookout.toml ./usr/share/lookout/models/face.onnx \
    ./usr/share/lookout/models/digits.onnx ./usr/share/lookout/models/hanzi.onnx \
    ./usr/share/lookout/models/haarcascade_frontalface_default.xml \
    ./usr/share/lookout/models/face_embed.onnx \
    ./usr/share/lookout/models/shape_predictor_5_face_landmarks.dat \
    ./usr/lib/systemd/system/lookout.service; do
    grep -qx "$path" <<< "$listing" || { echo "check-arm: $deb lacks $path" >&2; exit 1; }
  done
  control=$(mktemp -d)
  dpkg-deb -e "$deb" "$control"
  grep -qx /etc/lookout/lookout.toml "$control/conffiles" \
    || { echo "check-arm: /etc/lookout/lookout.toml is not a conffile" >&2; exit 1; }
  grep -q 'install -d .* /var/lib/lookout/models' "$control/postinst" \
    || { echo "check-arm: the postinst does not create the state directory" >&2; exit 1; }
  # `deb-systemd-helper enable` is allowed only right under `if ... was-enabled` (comments apart).
  if grep -v '^[[:space:]]*#' "$control/postinst" | grep -qE 'deb-systemd-invoke (start|restart)|systemctl (enable|start)' \
    || ! awk '/^[[:space:]]*#/ { next }
              /deb-systemd-helper enable/ && previous !~ /was-enabled/ { bad = 1 }
              { previous = $0 } END { exit bad }' "$control/postinst"; then
    echo "check-arm: the postinst enables or starts the service" >&2; exit 1
  fi
  echo "  depends: $(dpkg-deb -f "$deb" Depends)"
  rm -rf "$control"
}

check_install() {
  local deb=$1
  echo "check-arm: installing $(basename "$deb")"
  DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" > /dev/null
  getent passwd lookout > /dev/null || { echo "check-arm: no lookout user after install" >&2; exit 1; }
  [ "$(stat -c '%U:%G %a' /var/lib/lookout/models)" = "lookout:lookout 2775" ] \
    || { echo "check-arm: /var/lib/lookout/models is $(stat -c '%U:%G %a' /var/lib/lookout/models)" >&2; exit 1; }
  if ls /etc/systemd/system/*.wants/lookout.service 2> /dev/null; then
    echo "check-arm: installing the package enabled the service" >&2; exit 1
  fi
  echo "  installed: user lookout, /var/lib/lookout/models lookout:lookout 2775, unit not enabled"
  # Gallery mode with nothing but the package: the installed binary enrols a photo and finds
  # the embedding and landmark models the package put in /usr/share/lookout/models.
  local gallery found
  gallery=$(mktemp -d)
  QEMU_CPU=cortex-a72 QEMU_LD_PREFIX=/ qemu-aarch64 /usr/bin/lookout enroll --gallery "$gallery/g.json" \
    --name owner tests/fixtures/faces/images/obama.jpg > /dev/null
  printf '[face]\ngallery = "g.json"\n[source]\ninput = "replay:%s"\n' "$PWD/examples/demo/frames" > "$gallery/l.toml"
  found=$(QEMU_CPU=cortex-a72 QEMU_LD_PREFIX=/ qemu-aarch64 /usr/bin/lookout check --config "$gallery/l.toml" 2>&1 | grep '^# face identification')
  grep -q 'embedding /usr/share/lookout/models/face_embed.onnx' <<< "$found" \
    || { echo "check-arm: the installed lookout does not find its models: $found" >&2; exit 1; }
  echo "  enrolled a photo with the installed binary; $found"
  rm -rf "$gallery"
  dpkg --purge lookout > /dev/null
  if getent passwd lookout > /dev/null || [ -e /var/lib/lookout ] || [ -e /etc/lookout ]; then
    echo "check-arm: purge left the user, /var/lib/lookout or /etc/lookout behind" >&2; exit 1
  fi
  echo "  purged: user, state and configuration removed"
}

missing=0
for target in "${targets[@]}"; do preflight "$target" || missing=1; done
[ "$missing" = 0 ] || exit 1

# The reference: the x86-64 release build (with --workspace it is the binary the tests built, so
# after `cargo test --workspace --release` nothing is rebuilt).
echo "check-arm: x86-64 reference run"
cargo build --quiet --release --workspace --bin lookout
native=$(target/release/lookout run --config examples/demo/demo.toml --exit-at-end 2>/dev/null | decisions)
echo "$native" | sed 's/^/  /'
[ "$(echo "$native" | wc -l)" -eq 3 ] || { echo "check-arm: expected 3 decisions from the demo" >&2; exit 1; }

debs=()
for target in "${targets[@]}"; do
  tri=$(triplet "$target")
  echo "check-arm: $target"
  started=$(date +%s)
  (cross_env "$target" && CARGO_TARGET_DIR=$ARM_TARGET_DIR \
    cargo build --quiet --profile "$PROFILE" --target "$target" -p lookout --bin lookout)
  echo "  build ($PROFILE profile): $(( $(date +%s) - started )) s"
  bin=$ARM_TARGET_DIR/$target/$PROFILE/lookout
  file "$bin" | sed 's/^/  /'

  # glibc: the newest symbol version the binary needs must exist on Raspberry Pi OS Bookworm.
  newest=$("$tri-objdump" -T "$bin" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)
  echo "  needs glibc $newest (Bookworm has $GLIBC_MAX)"
  if [ "$(printf '%s\n%s\n' "$newest" "$GLIBC_MAX" | sort -V | tail -1)" != "$GLIBC_MAX" ]; then
    echo "check-arm: $bin needs glibc $newest > $GLIBC_MAX" >&2; exit 1
  fi
  echo "  libraries: $("$tri-objdump" -p "$bin" | awk '/NEEDED/{printf "%s ", $2}')"
  "$tri-strip" -o "$bin.stripped" "$bin"
  awk -v full="$(stat -c %s "$bin")" -v stripped="$(stat -c %s "$bin.stripped")" \
    'BEGIN { printf "  size: %.1f MB, stripped %.1f MB\n", full / 1048576, stripped / 1048576 }'
  rm "$bin.stripped"

  # The demo under qemu-user with the target's libraries from Debian's multiarch packages
  # (libc6:arm64 and friends, pulled in by libasound2-dev:arm64). Not the cross toolchain's copy
  # in /usr/$tri: with that one as QEMU_LD_PREFIX, thread creation hangs under qemu.
  started=$(date +%s%N)
  emulated=$(QEMU_CPU=$(qemu_cpu "$target") QEMU_LD_PREFIX=/ /usr/bin/time -f "%M" -o /tmp/check-arm-rss timeout 900 "$(qemu "$target")" "$bin" \
    run --config examples/demo/demo.toml --exit-at-end 2>/dev/null | decisions)
  took=$(( ($(date +%s%N) - started) / 1000000 ))
  echo "  demo under $(qemu "$target") -cpu $(qemu_cpu "$target"): $(( took / 1000 )).$(( took % 1000 / 100 )) s, peak RSS of qemu + lookout $(( $(cat /tmp/check-arm-rss) / 1024 )) MB"
  if [ "$emulated" != "$native" ]; then
    echo "check-arm: $target decisions differ from x86-64:" >&2
    diff <(echo "$native") <(echo "$emulated") >&2 || true
    exit 1
  fi
  echo "  decisions equal the x86-64 build's"

  # The package, around the binary just built.
  deb=$(CARGO_TARGET_DIR=$ARM_TARGET_DIR cargo deb --no-build --quiet --target "$target" \
    --profile "$PROFILE" -p lookout --strip -o "$ARM_TARGET_DIR/debian/")
  check_deb "$deb" "$(deb_arch "$target")"
  debs+=("$deb")
done

# Installing for real (needs root; CI runs as root): dpkg takes the arm64 package on this machine
# because arm64 is a foreign architecture here and its libraries are installed (multiarch).
if [ "${ARM_DEB_INSTALL:-0}" = 1 ]; then
  check_install "${debs[0]}"
fi
