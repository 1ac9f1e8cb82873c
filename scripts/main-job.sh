#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine, against local defaults: installs what
# is needed, builds the tools, starts a registry on 127.0.0.1, makes an offline base
# image, publishes it, and pulls it with minirun.
#
# Still to come (issues 3-6): `imgbuild build` of a sample Flask service, `imgbuild
# push`, and `minirun run -d -p` answering over HTTP. Until then the image is
# published with skopeo.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "main-job.sh: run as root" >&2; exit 1; }
step() { printf '\n==> %s\n' "$*"; }

step "Installing packages and building"
bash scripts/setup.sh >/dev/null
MINIRUN=$PWD/build/minirun

work=$(mktemp -d /tmp/minirun-main-job.XXXXXX)
cleanup() {
  tests/fixtures/registry.sh stop "$work/registry" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

step "Starting a registry on 127.0.0.1"
mkdir -p "$work/registry"
eval "$(tests/fixtures/registry.sh start none "$work/registry")"
echo "registry: $REGISTRY (pid $REGISTRY_PID)"

step "Making the offline base image and publishing it"
bash tests/fixtures/images.sh build busybox
bash tests/fixtures/images.sh seed "$REGISTRY" busybox=demo/busybox:1.0 >/dev/null
echo "published $REGISTRY/demo/busybox:1.0"

step "minirun pull"
export MINIRUN_STORAGE=$work/store
"$MINIRUN" pull "$REGISTRY/demo/busybox:1.0"

step "minirun images"
"$MINIRUN" images

step "minirun inspect (config)"
"$MINIRUN" inspect "$REGISTRY/demo/busybox:1.0" | jq '.[0] | {Id, RepoDigests, Config, Layers: (.Layers|length)}'

step "Done (the registry and the temp store are removed on exit)"
