#!/usr/bin/env bash
# Benchmark (not a test): aarch64 instructions per unit of work on the Pi 4's core (Cortex-A72,
# emulated by qemu-aarch64), ours against the reference implementations, on the same inputs:
#   1. the cascade detector: lookout-vision's Detector (what `lookout detect` and the daemon run)
#      against OpenCV's CascadeClassifier::detectMultiScale (Debian 12's arm64 OpenCV 4.6), both
#      single-threaded, same cascade files, parameters (bench/detect_vs_opencv.py's) and gray
#      pixels; per image, detection only (no decoding on either side);
#   2. the ONNX models: tract through lookout-vision's Model::load/run (the runtime's own path,
#      into_optimized) against ONNX Runtime's aarch64 build (PyPI wheel), one thread each;
#      per inference.
# Each figure is the difference between a run doing 1 and one doing 3 units of work in one
# process, halved (start-up cancels), as in bench/arm_insns.sh. Instructions are counted by a
# qemu plugin (bench/arm/insn_count.c) instead of qemu's block log: the same count, checked
# against bench/qemu_insns.awk at the start of every run, at 30-70 times the speed.
#
# INSTRUCTION COUNTS ARE A PROXY FOR TIME, NOT TIME. They ignore memory stalls and cache misses,
# branch mispredictions, how many instructions the A72 issues per cycle, the latency of each
# instruction, SIMD width (one NEON instruction does 4 float multiply-adds, a scalar one does 1,
# and both count 1) and multithreading. The proxy is weakest where the work is memory-bound
# (the detector's resize and integral images, the windows' scattered reads of the integral
# image; im2col/packing and the weight streaming of a large model such as face_embed.onnx, whose
# weights do not fit the A72's 1 MB L2) and where the two sides use different instruction mixes
# (NEON kernels against scalar code: the count credits NEON with its lanes, but not the
# scalar side with cheaper instructions or either side with the memory it waits on). A real Pi's clock is the judge; this is the deterministic, Pi-less signal.
#
#   bench/arm_vs_reference.sh   (4 minutes of counting on a 2-core machine; the first cross build
#                                of bench/ort-arm, tract and ort included, takes about 10 more)
#
# Installs what it needs if it is missing (needs root, as .ci/run): with apt-get install
# --no-install-recommends, g++-aarch64-linux-gnu (also gcc-aarch64-linux-gnu, qemu-user,
# libc6-dev-arm64-cross, libc6:arm64, which scripts/check-arm.sh needs anyway). OpenCV for arm64 is NOT
# installed into the system: `apt-get install libopencv-objdetect-dev:arm64` drags in 70 arm64
# packages (OpenGL, X11, ...) and, because multiarch packages must have equal versions on both
# architectures, upgrades systemd, libssl3, python3.11 and mesa on this machine. Instead the few
# needed .debs (OPENCV_DEBS below and the libraries they load) are fetched with `apt-get
# download` into ~/.cache/lookout/arm64-sysroot/debs and unpacked there with dpkg-deb -x; the
# programs find them through LD_LIBRARY_PATH under qemu. ONNX Runtime: the PyPI wheel
# onnxruntime==1.31.1 for manylinux_2_28_aarch64 (pip download with the repo's Python venv,
# sha256 checked against ORT_WHEEL_SHA256), libonnxruntime.so.1.31.1 unzipped into
# ~/.cache/lookout/ort-aarch64. The bench programs (bench/ort-arm, bench/arm/opencv_detect.cpp)
# build into ~/.cache/lookout/target-bench-arm. Also counts `lookout detect` (the shipped binary,
# ARM_PROFILE=release ARM_TARGET_DIR=~/.cache/lookout/target-arm from scripts/check-arm.sh) when
# that build exists, to show that detect_bench counts the same code.
#
# Prints tables, per-function (and for tract, per-node) breakdowns where we lose, and last one
# JSON line with every figure and ratio (ratios below 1: ours executes fewer instructions).
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${LOOKOUT_CACHE:-$HOME/.cache/lookout}
target=aarch64-unknown-linux-gnu

ORT_VERSION=1.31.1
ORT_WHEEL=onnxruntime-$ORT_VERSION-cp311-cp311-manylinux_2_28_aarch64.whl
# From PyPI's simple index (https://pypi.org/simple/onnxruntime/) for that file.
ORT_WHEEL_SHA256=da05378364c44d4407e463982d2bf8d5e4cfea873283757e48beeb41df97b7f3
# OpenCV's three modules we link and what they load (objdetect needs calib3d and dnn; core
# needs BLAS, LAPACK, TBB and, through libGLX, a bit of X11), plus arm64 libstdc++ (also
# needed by ONNX Runtime; Debian's arm64 libc is already here from scripts/check-arm.sh).
OPENCV_DEBS="libopencv-core406 libopencv-imgproc406 libopencv-objdetect406 libopencv-calib3d406
  libopencv-dnn406 libopencv-features2d406 libopencv-flann406 libopencv-core-dev
  libopencv-imgproc-dev libopencv-objdetect-dev libstdc++6 libtbb12 libblas3 liblapack3
  libgfortran5 libprotobuf32 zlib1g libglx0 libglvnd0 libx11-6 libxcb1 libxau6 libxdmcp6 libbsd0
  libmd0"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
say() { printf '%s\n' "$*"; }

# ---------------------------------------------------------------------------------------------
# Tools and inputs.
missing=()
for pair in aarch64-linux-gnu-g++:g++-aarch64-linux-gnu aarch64-linux-gnu-gcc:gcc-aarch64-linux-gnu \
  qemu-aarch64:qemu-user cc:gcc; do
  command -v "${pair%%:*}" > /dev/null || missing+=("${pair#*:}")
done
[ -e /usr/aarch64-linux-gnu/lib/crt1.o ] || missing+=(libc6-dev-arm64-cross)
[ -e /lib/aarch64-linux-gnu/libc.so.6 ] || missing+=(libc6:arm64)
if [ ${#missing[@]} -gt 0 ]; then
  say "arm_vs_reference: installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" > /dev/null
fi

sysroot=$cache/arm64-sysroot
if [ ! -f "$sysroot/.ready" ] || [ "$(cat "$sysroot/.ready")" != "$(echo $OPENCV_DEBS)" ]; then
  say "arm_vs_reference: fetching arm64 OpenCV into $sysroot (apt-get download, not installed)"
  rm -rf "$sysroot" && mkdir -p "$sysroot/debs"
  (cd "$sysroot/debs" && apt-get download $(for p in $OPENCV_DEBS; do echo "$p:arm64"; done) > /dev/null 2>&1)
  for deb in "$sysroot"/debs/*.deb; do dpkg-deb -x "$deb" "$sysroot/root"; done
  echo $OPENCV_DEBS > "$sysroot/.ready"
fi
armlib=$sysroot/root/usr/lib/aarch64-linux-gnu
arm_libs=$armlib:$armlib/blas:$armlib/lapack:$sysroot/root/lib/aarch64-linux-gnu
opencv_version=$(dpkg-deb -f "$sysroot"/debs/libopencv-objdetect406_*_arm64.deb Version)

ort_dir=$cache/ort-aarch64
ort_lib=$ort_dir/libonnxruntime.so.$ORT_VERSION
if [ ! -f "$ort_lib" ]; then
  . scripts/py-env.sh
  mkdir -p "$ort_dir"
  "$LOOKOUT_PY" -m pip download --quiet "onnxruntime==$ORT_VERSION" --only-binary=:all: \
    --platform manylinux_2_28_aarch64 --python-version 3.11 --no-deps -d "$ort_dir"
  echo "$ORT_WHEEL_SHA256  $ort_dir/$ORT_WHEEL" | sha256sum --check --quiet
  unzip -o -j -q "$ort_dir/$ORT_WHEEL" "onnxruntime/capi/libonnxruntime.so.$ORT_VERSION" -d "$ort_dir"
fi
wheel_sha=$(sha256sum "$ort_dir/$ORT_WHEEL" | cut -d' ' -f1)
[ "$wheel_sha" = "$ORT_WHEEL_SHA256" ] || { say "arm_vs_reference: $ORT_WHEEL sha256 $wheel_sha, expected $ORT_WHEEL_SHA256" >&2; exit 1; }

say "arm_vs_reference: building (bench/ort-arm, bench/arm/*.c*)"
cc -shared -fPIC -O2 -o "$tmp/insn_count.so" bench/arm/insn_count.c
aarch64-linux-gnu-g++ -O2 -std=c++17 -I"$sysroot/root/usr/include/opencv4" \
  -I"$sysroot/root/usr/include/aarch64-linux-gnu/opencv4" bench/arm/opencv_detect.cpp \
  -o "$tmp/opencv_detect" -L"$armlib" -lopencv_objdetect -lopencv_imgproc -lopencv_core \
  -Wl,-rpath-link,"$arm_libs"
bench_target=${BENCH_TARGET_DIR:-$cache/target-bench-arm}
(cd bench/ort-arm && CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
  CARGO_TARGET_DIR=$bench_target cargo build --quiet --release --target $target)
detect_bench=$bench_target/$target/release/detect_bench
model_bench=$bench_target/$target/release/model_bench
lookout=${ARM_TARGET_DIR:-$cache/target-arm}/$target/${ARM_PROFILE:-release}/lookout

# What the programs see of the machine. qemu-user (7.2) passes the host's /proc/cpuinfo through,
# and ONNX Runtime's CPU detection (pytorch's cpuinfo) finds no ARM core in an x86 one and
# crashes (SIGSEGV, NULL). qemu looks every absolute path up under QEMU_LD_PREFIX first and falls
# back to the real one, so a prefix holding only proc/cpuinfo, written as a Raspberry Pi 4's
# kernel writes it (Cortex-A72: implementer 0x41, part 0xd08; one entry per host CPU, to agree
# with the host's /sys/devices/system/cpu that they read too), fixes it for every program alike.
mkdir -p "$tmp/prefix/proc"
for i in $(seq 0 $(( $(nproc) - 1 ))); do
  printf 'processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n' "$i"
done > "$tmp/prefix/proc/cpuinfo"
export QEMU_CPU=cortex-a72 QEMU_LD_PREFIX=$tmp/prefix

# count TAG PROGRAM ARGS...: instructions the program executes under qemu (Cortex-A72); its
# stdout goes to $tmp/TAG.out. With BLOCKS=1 also writes $tmp/TAG.blocks (per-block counts for
# bench/arm/insns_by_symbol.py), with MARKS=1 $tmp/TAG.marks (model_bench tract-nodes).
count() {
  local tag=$1 plugin
  shift
  plugin="$tmp/insn_count.so,out=$tmp/$tag.count"
  [ "${BLOCKS:-0}" = 1 ] && plugin+=",blocks=$tmp/$tag.blocks"
  [ "${MARKS:-0}" = 1 ] && plugin+=",marks=$tmp/$tag.marks"
  QEMU_SET_ENV=LD_LIBRARY_PATH=$arm_libs,ORT_DYLIB_PATH=$ort_lib qemu-aarch64 -plugin "$plugin" "$@" < /dev/null > "$tmp/$tag.out"
  cat "$tmp/$tag.count"
}

# per_unit TAG CMD_FOR_1... -- CMD_FOR_3...: instructions of one unit: (3 units - 1 unit) / 2.
per_unit() {
  local tag=$1 first=() one three
  shift
  while [ "$1" != -- ]; do first+=("$1"); shift; done
  shift
  one=$(count "$tag-1" "${first[@]}")
  three=$(count "$tag-3" "$@")
  echo $(( (three - one) / 2 ))
}

# ---------------------------------------------------------------------------------------------
# The plugin against qemu's block log (bench/qemu_insns.awk), on one small run of each program
# kind: the two methods must agree before the fast one is trusted.
say "arm_vs_reference: checking the plugin's count against qemu's block log"
. scripts/py-env.sh
"$LOOKOUT_PY" - "$tmp" <<'EOF'
import sys, cv2
tmp = sys.argv[1]
gray = cv2.cvtColor(cv2.imread("examples/demo/frames/0009.jpg"), cv2.COLOR_BGR2GRAY)
cv2.imwrite(f"{tmp}/check.pgm", cv2.resize(gray, (160, 120), interpolation=cv2.INTER_AREA))
EOF
check_args=(models/haarcascade_frontalface_default.xml 1.1 3 0 1 "$tmp/check.pgm")
plugin_count=$(count check "$detect_bench" "${check_args[@]}")
mkfifo "$tmp/fifo"
QEMU_SET_ENV=LD_LIBRARY_PATH=$arm_libs,ORT_DYLIB_PATH=$ort_lib qemu-aarch64 -d in_asm,exec,nochain -D "$tmp/fifo" \
  "$detect_bench" "${check_args[@]}" > /dev/null &
log_count=$(mawk -f bench/qemu_insns.awk "$tmp/fifo")
wait $!
say "  detect_bench on a 160x120 image: plugin $plugin_count, block log $log_count instructions"
# Runs are deterministic (the same count every time, same environment); the methods differ by a
# few instructions at exit, where the block log stops before the plugin does.
awk -v a="$plugin_count" -v b="$log_count" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-5 * b) }' \
  || { say "arm_vs_reference: the two counts differ by more than 0.001%" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# 1. Detector.
# The images: every fifth demo frame (640x480, the camera's size) and the fixture scenes
# bench/detect_vs_opencv.sh uses, as gray PGMs made by OpenCV (imread + cvtColor, as
# detect_vs_opencv.py does), so both sides scan identical pixels and neither decodes anything.
mkdir -p "$tmp/demo" "$tmp/fixtures"
"$LOOKOUT_PY" - "$tmp" <<'EOF'
import glob, os, sys, cv2
tmp = sys.argv[1]
sets = {"demo": sorted(glob.glob("examples/demo/frames/*.jpg"))[::5],
        "fixtures": sorted(glob.glob("tests/fixtures/detect/images/*.png"))}
for name, paths in sets.items():
    for p in paths:
        gray = cv2.cvtColor(cv2.imread(p), cv2.COLOR_BGR2GRAY)
        cv2.imwrite(f"{tmp}/{name}/{os.path.splitext(os.path.basename(p))[0]}.pgm", gray)
EOF
: > "$tmp/results"
cascades="models/haarcascade_frontalface_default.xml models/lbpcascade_frontalface_improved.xml"
say ""
say "1. Detector: instructions per image (detection only, 1 thread), aarch64 Cortex-A72 under qemu"
say "   OpenCV $opencv_version (Debian 12 arm64) detectMultiScale vs lookout-vision Detector::detect"
printf '   %-34s %-10s %-9s %4s %14s %14s %7s %11s\n' cascade params images n opencv ours ratio "same boxes"
for cascade in $cascades; do
  for params in "1.1 3 30" "1.3 5 0"; do
    for set in demo fixtures; do
      images=("$tmp/$set"/*.pgm)
      n=${#images[@]}
      tag=$(basename "$cascade" .xml)-${params// /_}-$set
      # Per-function breakdown for the daemon's cascade at detect_vs_opencv's first parameters.
      blocks=0
      [ "$cascade $params" = "models/haarcascade_frontalface_default.xml 1.1 3 30" ] && blocks=1
      cv=$(BLOCKS=$blocks per_unit "cv-$tag" "$tmp/opencv_detect" "$cascade" $params 1 "${images[@]}" -- \
        "$tmp/opencv_detect" "$cascade" $params 3 "${images[@]}")
      ours=$(BLOCKS=$blocks per_unit "ours-$tag" "$detect_bench" "$cascade" $params 1 "${images[@]}" -- \
        "$detect_bench" "$cascade" $params 3 "${images[@]}")
      same=$(paste -d'\n' "$tmp/cv-$tag-3.out" "$tmp/ours-$tag-3.out" | paste - - \
        | awk -F'\t' '$1 == $2 { s++ } END { print s + 0 }')
      label="${params// //}"
      awk -v c="$(basename "$cascade")" -v p="$label" -v s="$set" -v n="$n" -v cv="$cv" -v us="$ours" -v same="$same" \
        'BEGIN { printf "   %-34s %-10s %-9s %4d %12.1f M %12.1f M %7.3f %8d/%d\n", c, p, s, n, cv / n / 1e6, us / n / 1e6, us / cv, same, n }'
      printf 'detector\t%s %s %s\t%s\t%s\t%s\t%s\n' "$(basename "$cascade" .xml)" "$label" "$set" "$n" "$ours" "$cv" "$same" >> "$tmp/results"
    done
  done
done

for set in demo fixtures; do
  tag=haarcascade_frontalface_default-1.1_3_30-$set
  say ""
  say "   where the instructions go (haarcascade_frontalface_default, 1.1/3/30, $set; all $(ls "$tmp/$set"/*.pgm | wc -l) images together):"
  say "   OpenCV (Debian's libraries are stripped: internal functions are named by library only):"
  python3 bench/arm/insns_by_symbol.py "$tmp/cv-$tag-1.blocks" "$tmp/cv-$tag-3.blocks" 7
  say "   ours:"
  python3 bench/arm/insns_by_symbol.py "$tmp/ours-$tag-1.blocks" "$tmp/ours-$tag-3.blocks" 5
done
rm -f "$tmp"/*.blocks

# The shipped binary: `lookout detect --threads 1` on the demo PGMs, once and three times over.
# Per image it also decodes the PGM and prints a JSON line, so it should sit slightly above
# detect_bench; a larger gap would mean detect_bench does not measure what ships.
if [ -x "$lookout" ]; then
  demo=("$tmp"/demo/*.pgm)
  detect=("$lookout" detect --json --threads 1 --cascade models/haarcascade_frontalface_default.xml
    --scale-factor 1.1 --min-neighbors 3 --min-size 30)
  shipped=$(per_unit lookout "${detect[@]}" "${demo[@]}" -- "${detect[@]}" "${demo[@]}" "${demo[@]}" "${demo[@]}")
  bench_row=$(awk -F'\t' '$2 == "haarcascade_frontalface_default 1.1/3/30 demo" { print $4 }' "$tmp/results")
  awk -v s="$shipped" -v b="$bench_row" -v n="${#demo[@]}" -v bin="$lookout" 'BEGIN {
    printf "   check: %s detect --threads 1 (PGM decoding and JSON included): %.1f M per image, %+.1f%% on detect_bench\n",
      bin, s / n / 1e6, 100 * (s - b) / b }'
  printf 'shipped\tlookout detect haarcascade_frontalface_default 1.1/3/30 demo\t%s\t%s\n' "${#demo[@]}" "$shipped" >> "$tmp/results"
else
  say "   ($lookout not built: skipped the check of the shipped binary; scripts/check-arm.sh builds it)"
fi

# ---------------------------------------------------------------------------------------------
# 2. Models.
say ""
say "2. Models: instructions per inference (batch 1, 1 thread), aarch64 Cortex-A72 under qemu"
say "   ONNX Runtime $ORT_VERSION ($ORT_WHEEL) vs tract (lookout-vision Model::load/run)"
printf '   %-18s %14s %14s %7s %12s\n' model "onnxruntime" tract ratio "max |diff|"
for model in models/face.onnx models/face_embed.onnx models/digits.onnx models/hanzi.onnx; do
  [ -f "$model" ] || { say "   $model: missing, skipped"; continue; }
  name=$(basename "$model")
  ort=$(per_unit "ort-$name" "$model_bench" ort "$model" 1 -- "$model_bench" ort "$model" 3)
  tract=$(per_unit "tract-$name" "$model_bench" tract "$model" 1 -- "$model_bench" tract "$model" 3)
  diff=$(paste <(tr ' ' '\n' < "$tmp/ort-$name-3.out") <(tr ' ' '\n' < "$tmp/tract-$name-3.out") \
    | awk 'NR > 1 { d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d } END { printf "%.1e", m }')
  awk -v m="$name" -v o="$ort" -v t="$tract" -v d="$diff" \
    'BEGIN { printf "   %-18s %12.2f M %12.2f M %7.3f %12s\n", m, o / 1e6, t / 1e6, t / o, d }'
  printf 'model\t%s\t%s\t%s\t%s\n' "$name" "$tract" "$ort" "$diff" >> "$tmp/results"
done

# Where tract loses (ratio above 1): its instructions per node of the optimised plan (marker
# system calls around each node, one warm run) and per function, and ONNX Runtime's per function.
while IFS=$'\t' read -r kind name tract ort _; do
  [ "$kind" = model ] || continue
  awk -v t="$tract" -v o="$ort" 'BEGIN { exit !(t > o) }' || continue
  model=models/$name
  say ""
  say "   $name: tract executes $(awk -v t="$tract" -v o="$ort" 'BEGIN { printf "%.2f", t / o }')x ONNX Runtime's instructions; by node of tract's optimised plan (one run):"
  MARKS=1 count "nodes-$name" "$model_bench" tract-nodes "$model" > /dev/null
  # marks: "NODE 0|1 TOTAL" before and after each node; out: "node ID NAME OP FACT".
  awk 'FNR == NR { if ($2 == 0) start[$1] = $3; else n[$1] += $3 - start[$1]; next }
       $1 == "node" && ($2 in n) { printf "%d\t%s\t%s\t%s\n", n[$2], $4, $3, $5 }' \
    "$tmp/nodes-$name.marks" "$tmp/nodes-$name.out" | sort -rn > "$tmp/nodes-$name.tsv"
  nodes_total=$(awk -F'\t' '{ t += $1 } END { printf "%d", t }' "$tmp/nodes-$name.tsv")
  head -12 "$tmp/nodes-$name.tsv" | awk -F'\t' -v total="$nodes_total" \
    '{ printf "    %9.2f M %5.1f%%  %-24s %-40s %s\n", $1 / 1e6, 100 * $1 / total, $2, substr($3, 1, 40), substr($4, 1, 60) }'
  awk -F'\t' -v t="$nodes_total" '{ op[$2] += $1 } END { for (o in op) printf "%.1f %s\n", 100 * op[o] / t, o }' \
    "$tmp/nodes-$name.tsv" | sort -rn | awk '$1 >= 0.5 { s = s sprintf(" %s %s%%", $2, $1) } END { print "    by operator:" s }'
  awk -v t="$nodes_total" -v r="$tract" 'BEGIN { printf "    %9.2f M in the nodes, of %.2f M per Model::run\n", t / 1e6, r / 1e6 }'
  say "   tract by function:"
  BLOCKS=1 per_unit "tractfn-$name" "$model_bench" tract "$model" 1 -- "$model_bench" tract "$model" 3 > /dev/null
  python3 bench/arm/insns_by_symbol.py "$tmp/tractfn-$name-1.blocks" "$tmp/tractfn-$name-3.blocks" 10
  say "   ONNX Runtime by function (its library exports only the C API: kernels show as internal):"
  BLOCKS=1 per_unit "ortfn-$name" "$model_bench" ort "$model" 1 -- "$model_bench" ort "$model" 3 > /dev/null
  python3 bench/arm/insns_by_symbol.py "$tmp/ortfn-$name-1.blocks" "$tmp/ortfn-$name-3.blocks" 6
  rm -f "$tmp"/*.blocks
done < "$tmp/results"

# ---------------------------------------------------------------------------------------------
say ""
say "Instruction counts are a proxy for time, not time: they ignore memory stalls and cache misses,"
say "issue width and latency, SIMD width (a NEON instruction doing 4 multiply-adds counts as one, like"
say "a scalar one) and threads. Weakest for memory-bound steps (resize, integral images and the"
say "windows' scattered reads in the detector; im2col/packing and weight streaming in the models,"
say "face_embed.onnx's weights exceed the A72's L2) and where one side runs NEON kernels and the other"
say "scalar code. Only a Pi's clock settles a close ratio."
python3 - "$tmp/results" "$opencv_version" "$ORT_WHEEL" "$wheel_sha" <<'EOF'
import json, math, sys
results, opencv, wheel, sha = sys.argv[1:]
out = {"method": "aarch64 instructions under qemu-aarch64 -cpu cortex-a72, (3 units - 1 unit) / 2; a proxy for time",
       "opencv": f"Debian 12 arm64 {opencv}", "onnxruntime_wheel": wheel, "onnxruntime_wheel_sha256": sha,
       "detector": {}, "models": {}}
ratios = []
for line in open(results):
    f = line.rstrip("\n").split("\t")
    if f[0] == "detector":
        n, ours, cv, same = int(f[2]), int(f[3]), int(f[4]), int(f[5])
        out["detector"][f[1]] = {"images": n, "ours_per_image": ours // n, "opencv_per_image": cv // n,
                                 "ratio": round(ours / cv, 3), "same_boxes": same}
        ratios.append(ours / cv)
    elif f[0] == "shipped":
        out["lookout_detect_per_image"] = int(f[3]) // int(f[2])
    elif f[0] == "model":
        tract, ort = int(f[2]), int(f[3])
        out["models"][f[1]] = {"tract": tract, "onnxruntime": ort, "ratio": round(tract / ort, 3),
                               "max_abs_diff": float(f[4])}
out["detector_ratio_geomean"] = round(math.exp(sum(map(math.log, ratios)) / len(ratios)), 3)
print(json.dumps(out))
EOF
