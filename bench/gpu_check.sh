#!/usr/bin/env bash
# The GPU check in one call, for a machine with a GPU, PyTorch, no network, no Deno: what it needs
# travels in .gpu/ (made by bench/gpu_pack.sh). It
#
#   1. brings the Vulkan loader when the system has none (Debian .debs from .gpu/gl unpacked into /,
#      as root) and points Vulkan/EGL at NVIDIA's driver files when they exist;
#   2. unpacks the Deno binary (.gpu/deno.xz) into a temp folder;
#   3. runs .gpu/gpu_check.js (bench/gpu_check.ts bundled): webgpu-vs-cpu training parity, then the
#      training step on webgpu at the side-by-side shapes;
#   4. runs the same steps in PyTorch (bench/train_step_torch.py) on CUDA, or on the CPU where
#      there is no CUDA, float32 (TF32 off);
#
# and prints one Markdown table. Exit status: non-zero when parity fails or a part cannot run.
# `--small` takes the small shapes (depth 2, base 8, 2 × 64²) for software adapters (Mesa
# llvmpipe), as CI does.
#
#   bash bench/gpu_pack.sh && bash bench/gpu_check.sh [--small]
set -uo pipefail
cd "$(dirname "$0")/.."
pack=.gpu
small=()
[ "${1:-}" = "--small" ] && small=(--small)
for f in "$pack/deno.xz" "$pack/gpu_check.js"; do
  if [ ! -s "$f" ]; then
    echo "error: $f: missing; run bash bench/gpu_pack.sh first" >&2
    exit 2
  fi
done
start=$(date +%s)

if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
  if [ "$(id -u)" = 0 ] && ls "$pack"/gl/*.deb >/dev/null 2>&1; then
    echo "gpu_check: no Vulkan loader; unpacking $(ls "$pack"/gl/*.deb | wc -l) .debs from $pack/gl"
    for f in "$pack"/gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
  else
    echo "gpu_check: no Vulkan loader and none to unpack (needs root and $pack/gl/*.deb)" >&2
  fi
fi
nv=/usr/local/nvidia/share
if [ -e "$nv/vulkan/icd.d/nvidia_icd.json" ]; then
  export VK_DRIVER_FILES="$nv/vulkan/icd.d/nvidia_icd.json"
  export __EGL_VENDOR_LIBRARY_FILENAMES="$nv/glvnd/egl_vendor.d/10_nvidia.json"
fi
[ -n "${XDG_RUNTIME_DIR:-}" ] || export XDG_RUNTIME_DIR="$(mktemp -d)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
xz -dc "$pack/deno.xz" >"$tmp/deno" && chmod +x "$tmp/deno" || {
  echo "error: $pack/deno.xz: cannot unpack" >&2
  exit 2
}
echo "gpu_check: $("$tmp/deno" --version | head -1); $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi')"

steps=3
DENO_DIR="$tmp/deno_dir" "$tmp/deno" run -A --no-config --unstable-webgpu "$pack/gpu_check.js" \
  "${small[@]}" --steps "$steps" | tee "$tmp/webgpu.md"
webgpu=${PIPESTATUS[0]}

python=""
for p in python3 /usr/bin/python3; do
  if "$p" -c 'import torch' 2>/dev/null; then python=$p; break; fi
done
device=""
[ -n "$python" ] && device=$("$python" -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")')
torch_rows=()
torch_rc=0
if [ -z "$device" ]; then
  echo "gpu_check: neither python3 nor /usr/bin/python3 imports torch; no PyTorch rows" >&2
  torch_rc=1
else
  if [ ${#small[@]} -gt 0 ]; then shapes=("2 8 2 64"); else shapes=("4 16 4 256" "4 64 8 128"); fi
  for s in "${shapes[@]}"; do
    read -r depth base batch size <<<"$s"
    if row=$("$python" bench/train_step_torch.py --device "$device" --steps "$steps" \
      --depth "$depth" --base "$base" --batch "$batch" --size "$size" | grep '^| pytorch'); then
      ms=$(echo "$row" | cut -d'|' -f3 | tr -d ' ')
      gf=$(echo "$row" | cut -d'|' -f4 | tr -d ' ')
      torch_rows+=("| PyTorch $device training step | depth $depth, base $base, $batch × ${size}² | $ms ms/step, $gf GFLOP/s ($steps steps) | – |")
    else
      torch_rc=1
    fi
  done
fi

echo
echo "gpu_check: $(($(date +%s) - start)) s"
grep '^|' "$tmp/webgpu.md"
printf '%s\n' "${torch_rows[@]}"
if [ "$webgpu" -ne 0 ] || [ "$torch_rc" -ne 0 ]; then
  echo "gpu_check: FAILED (webgpu exit $webgpu, pytorch exit $torch_rc)" >&2
  exit 1
fi
