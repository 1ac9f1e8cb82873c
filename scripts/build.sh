#!/usr/bin/env bash
# Configures and builds. Usage: scripts/build.sh [--sanitize] [--tools] [BUILD_DIR]
# --tools: only the six programs (minirun, imgbuild, minirun-oci, minirun-supervisor,
# minirun-init, minirun-dns) and minirun-curl.so, their libcurl plugin; not the unit
# tests: what the main job needs.
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=OFF
targets=()
if [ "${1:-}" = "--sanitize" ]; then sanitize=ON; shift; fi
if [ "${1:-}" = "--tools" ]; then targets=(--target minirun imgbuild minirun-oci minirun-supervisor minirun-init minirun-dns minirun-curl); shift; fi
dir=${1:-build}
export CCACHE_DIR=${CCACHE_DIR:-/var/cache/minirun-ccache}
# Paths relative to the checkout and no working directory in the hash: a fresh clone
# elsewhere (CI's) hits the cache that a session's build filled.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
mkdir -p "$CCACHE_DIR"
cmake -S . -B "$dir" -DMINIRUN_SANITIZE=$sanitize -DMINIRUN_WERROR=ON >/dev/null
cmake --build "$dir" -j"$(nproc)" "${targets[@]}"
echo "build: $dir ready (sanitizers: $sanitize)"
