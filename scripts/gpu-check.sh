#!/usr/bin/env bash
# gpu-check.sh: on a machine with an NVIDIA GPU, `minirun run --gpus all IMAGE nvidia-smi -L`
# must list the GPUs the host's `nvidia-smi -L` lists. No CDI spec is needed: without an
# nvidia.com/gpu spec in /etc/cdi or /var/run/cdi, --gpus takes the driver's layout
# directly (/dev/nvidia*, its user-space libraries and nvidia-smi bound read-only).
# The image is made here, offline: the host's glibc files nvidia-smi links, imported as
# one layer (`minirun import`). Exit 0: the lists match; 1: they differ; 77: no GPU here.
#   MINIRUN_BIN=DIR   where minirun and imgbuild are (default: next to this script's build/)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${MINIRUN_BIN:-$here/build}
mr() { "$bin/minirun" --storage "$store" "$@"; }

smi=$(command -v nvidia-smi || true)
if [[ ! -e /dev/nvidiactl || -z $smi ]]; then
  echo "gpu-check: no NVIDIA GPU here (no /dev/nvidiactl or nvidia-smi): skipped"
  exit 77
fi
store=$(mktemp -d /tmp/gpu-check.XXXXXX)
trap 'rm -rf "$store"' EXIT
root=$store/root
mkdir -p "$root"/{dev,proc,sys,tmp,etc,usr/bin}
# The loader and libraries nvidia-smi links (libnvidia-ml is dlopened: --gpus mounts it).
for lib in $(ldd "$smi" | grep -o '/[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
echo "root:x:0:0:root:/:/bin/false" >"$root/etc/passwd"
tar -C "$root" -cf "$store/root.tar" .
mr import "$store/root.tar" gpu-check:latest >/dev/null

want=$("$smi" -L)
start=$(date +%s.%N)
got=$(mr run --rm --network none --gpus all gpu-check:latest nvidia-smi -L)
end=$(date +%s.%N)
echo "host:      $want"
echo "container: $got"
awk -v a="$start" -v b="$end" 'BEGIN { printf "run --gpus all … nvidia-smi -L took %.2f s\n", b - a }'
if [[ $got == "$want" ]]; then
  echo "gpu-check: PASS"
else
  echo "gpu-check: FAIL (the lists differ)"
  exit 1
fi
