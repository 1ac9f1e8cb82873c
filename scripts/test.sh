#!/usr/bin/env bash
# Sets up and runs all tests: packages, a sanitizer build (ASan+UBSan), offline
# fixture images (cached under /var/cache/minirun-fixtures), then ctest — doctest unit
# tests and the integration tests, which start their own docker-registry on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "test.sh: run as root (namespaces, mounts, device nodes)" >&2; exit 1; }
bash scripts/deps.sh
bash scripts/build.sh --sanitize build-asan
bash tests/fixtures/images.sh build
bash tests/fixtures/debian_images.sh build debian-python debian-node
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd build-asan
ctest --output-on-failure --timeout 900 "$@"
