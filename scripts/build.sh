#!/usr/bin/env bash
# Configures and builds. Usage: scripts/build.sh [--sanitize] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=OFF
if [ "${1:-}" = "--sanitize" ]; then sanitize=ON; shift; fi
dir=${1:-build}
export CCACHE_DIR=${CCACHE_DIR:-/var/cache/minirun-ccache}
mkdir -p "$CCACHE_DIR"
cmake -S . -B "$dir" -DMINIRUN_SANITIZE=$sanitize -DMINIRUN_WERROR=ON >/dev/null
cmake --build "$dir" -j"$(nproc)"
echo "build: $dir ready (sanitizers: $sanitize)"
