#!/usr/bin/env bash
# Packs what bench/gpu_check.sh needs on a GPU machine that has no network, no Deno and no Node
# into .gpu/ (ignored by git; carried along by the device tool, ≈ 35 MB):
#
#   .gpu/deno.xz        the Deno binary of the npm package @deno/linux-x64-glibc, xz -6 (≈ 31 MB)
#   .gpu/gpu_check.js   `deno bundle` of bench/gpu_check.ts: tfjs and this project's code in one
#                       file, so no node_modules travel (≈ 3 MB)
#   .gpu/gl/*.deb       Debian's Vulkan loader and GL/EGL dispatch libraries (libvulkan1, libegl1,
#                       libglvnd0, libopengl0, libgl1, libglx0, libgles2), unpacked there at run time
#
# Needs the npm registry and Debian's package mirrors (this machine has both). Each part is
# rebuilt only when missing or stale (the binary's version, the bundle's sources).
#
#   bash bench/gpu_pack.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DENO_VERSION=2.9.6
out=.gpu
mkdir -p "$out/gl"
deno=${DENO:-deno}

if [ ! -s "$out/deno.xz" ] || [ "$(cat "$out/deno.version" 2>/dev/null)" != "$DENO_VERSION" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "gpu_pack: npm pack @deno/linux-x64-glibc@${DENO_VERSION}"
  (cd "$tmp" && npm pack --silent "@deno/linux-x64-glibc@${DENO_VERSION}" >/dev/null && tar -xzf ./*.tgz)
  "$tmp/package/deno" --version | head -1
  echo "gpu_pack: xz -6 (a minute on two cores)"
  xz -6 -T0 -c "$tmp/package/deno" >"$out/deno.xz.tmp"
  mv "$out/deno.xz.tmp" "$out/deno.xz"
  echo "$DENO_VERSION" >"$out/deno.version"
fi

echo "gpu_pack: deno bundle bench/gpu_check.ts"
# tfjs-core's Node platform calls require("util"), which an ES-module bundle lacks: give it one.
{
  echo 'import { createRequire } from "node:module";'
  echo 'globalThis.require ??= createRequire(import.meta.url);'
  "$deno" bundle --quiet bench/gpu_check.ts
} >"$out/gpu_check.js.tmp"
mv "$out/gpu_check.js.tmp" "$out/gpu_check.js"

debs=(libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
if [ "$(ls "$out/gl"/*.deb 2>/dev/null | wc -l)" -lt "${#debs[@]}" ]; then
  echo "gpu_pack: apt-get download ${debs[*]}"
  lists=$(mktemp -d)
  mkdir -p "$lists/partial"
  o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$lists")
  # (apt warns that root downloads unsandboxed; harmless, filtered)
  apt-get "${o[@]}" update -qq 2>&1 | grep -v 'unsandboxed' || true
  (cd "$out/gl" && apt-get "${o[@]}" download "${debs[@]}" 2>&1 >/dev/null | grep -v 'unsandboxed' || true)
  rm -rf "$lists"
fi
du -sh "$out"/deno.xz "$out"/gpu_check.js "$out"/gl
