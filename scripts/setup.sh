#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a working build: packages, then build.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh "$@"
