# Source this file (`. scripts/libtorch-env.sh`) before building or running lookout-tools.
#
# It installs, once, what tch 0.26 needs: libtorch 2.13.0 from PyPI's torch wheel, plus ONNX
# Runtime 1.31.1 for ort's export check, into a virtual environment under LOOKOUT_CACHE
# (default ~/.cache/lookout). Re-sourcing takes a second. It then exports:
#   LIBTORCH         a libtorch tree for torch-sys to build against
#   LD_LIBRARY_PATH  so the tools find libtorch at run time
#   LOOKOUT_TORCH_RPATH  the same folders, built into lookout-tools as rpath
#   ORT_DYLIB_PATH   ONNX Runtime's shared library, loaded by ort at run time
#
# CPU machines (the default): the torch wheel is a CUDA build, but libtorch_cpu.so needs only the
# CUDA runtime and CUPTI libraries to load, so just those two NVIDIA wheels are installed, and the
# LIBTORCH tree leaves out libtorch_cuda*.so so that torch-sys links the CPU library only.
#
# Desktops with an NVIDIA GPU: set LOOKOUT_TORCH=cuda before sourcing. The full torch wheel with
# its NVIDIA dependencies is installed and LIBTORCH_USE_PYTORCH=1 is exported instead, and
# LIBTORCH_CXX11_ABI/linker flags make sure libtorch_cuda is linked even under --as-needed.

LOOKOUT_CACHE=${LOOKOUT_CACHE:-$HOME/.cache/lookout}
_lt_mode=${LOOKOUT_TORCH:-cpu}
_lt_venv="$LOOKOUT_CACHE/torch-venv-$_lt_mode"
# onnx (with its pure dependencies) runs onnx.checker on exported models in the tests.
_lt_pkgs="torch==2.13.0 onnxruntime==1.31.1 onnx==1.23.2 numpy==2.4.6 protobuf==7.36.2 ml_dtypes==0.5.4 typing_extensions==4.15.0"
if [ "$_lt_mode" = cpu ]; then
  _lt_pkgs="$_lt_pkgs nvidia-cuda-runtime==13.0.96 nvidia-cuda-cupti==13.0.85"
fi

if [ ! -f "$_lt_venv/.ready" ] || [ "$(cat "$_lt_venv/.ready")" != "$_lt_pkgs" ]; then
  echo "libtorch-env: installing $_lt_pkgs into $_lt_venv" >&2
  python3 -m venv "$_lt_venv" || return 1 2>/dev/null || exit 1
  if [ "$_lt_mode" = cpu ]; then
    # --no-deps keeps the ~3 GB of CUDA libraries out: the CPU library does not need them.
    # Only shared libraries and the onnx checker are used, so torch's Python needs are moot.
    "$_lt_venv/bin/pip" install --quiet --disable-pip-version-check --no-deps $_lt_pkgs \
      || return 1 2>/dev/null || exit 1
  else
    "$_lt_venv/bin/pip" install --quiet --disable-pip-version-check $_lt_pkgs \
      || return 1 2>/dev/null || exit 1
  fi
  echo "$_lt_pkgs" > "$_lt_venv/.ready"
fi

_lt_site=$("$_lt_venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
_lt_torch="$_lt_site/torch"
export ORT_DYLIB_PATH="$_lt_site/onnxruntime/capi/libonnxruntime.so.1.31.1"
export LOOKOUT_TORCH_PYTHON="$_lt_venv/bin/python"

if [ "$_lt_mode" = cpu ]; then
  # A libtorch tree whose lib/ holds everything but the CUDA libraries.
  _lt_tree="$LOOKOUT_CACHE/libtorch-cpu"
  if [ ! -d "$_lt_tree/lib" ] || [ "$(readlink "$_lt_tree/include")" != "$_lt_torch/include" ]; then
    rm -rf "$_lt_tree"
    mkdir -p "$_lt_tree/lib"
    ln -s "$_lt_torch/include" "$_lt_tree/include"
    ln -s "$_lt_torch/share" "$_lt_tree/share"
    for _lt_lib in "$_lt_torch"/lib/*; do
      case "$(basename "$_lt_lib")" in
        libtorch_cuda*|libc10_cuda*) ;;
        *) ln -s "$_lt_lib" "$_lt_tree/lib/" ;;
      esac
    done
  fi
  export LIBTORCH="$_lt_tree"
  unset LIBTORCH_USE_PYTORCH
  _lt_nvidia="$_lt_site/nvidia/cu13/lib"
  [ -d "$_lt_nvidia" ] || _lt_nvidia=$(dirname "$(find "$_lt_site/nvidia" -name 'libcudart.so*' | head -n 1)")
  _lt_cupti=$(dirname "$(find "$_lt_site/nvidia" -name 'libcupti.so*' | head -n 1)")
  _lt_paths="$_lt_tree/lib:$_lt_nvidia"
  [ "$_lt_cupti" = "$_lt_nvidia" ] || _lt_paths="$_lt_paths:$_lt_cupti"
else
  export LIBTORCH_USE_PYTORCH=1
  unset LIBTORCH
  # torch-sys passes libtorch_cuda to the linker; --no-as-needed keeps it although no symbol
  # of it is referenced directly (CUDA kernels register themselves when the library loads).
  export RUSTFLAGS="${RUSTFLAGS:-} -C link-arg=-Wl,--no-as-needed"
  _lt_paths="$_lt_torch/lib"
fi
# Built into lookout-tools as rpath entries (tools/build.rs), so its binaries also run
# without this environment; LD_LIBRARY_PATH covers everything else (tests, other tools).
export LOOKOUT_TORCH_RPATH="$_lt_paths"
case ":${LD_LIBRARY_PATH:-}:" in
  *":$_lt_paths:"*) ;;
  *) export LD_LIBRARY_PATH="$_lt_paths${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ;;
esac
unset _lt_mode _lt_venv _lt_pkgs _lt_site _lt_torch _lt_tree _lt_lib _lt_nvidia _lt_cupti _lt_paths
