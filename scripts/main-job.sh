#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine, against local defaults: installs what
# is needed, builds the tools, starts a registry on 127.0.0.1, makes an offline base
# image, publishes it, and pulls it with minirun.
#
# Still to come (issues 5-6): `imgbuild build` and `imgbuild push`. Until then the
# Debian-based Flask base is published with skopeo and the users service's code is
# bind-mounted into it. The container part runs in a network namespace the script makes
# (bridge and NAT live only there), so the machine's own network is left as it was.
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

step "minirun run -d -p: the users Flask service"
bash tests/fixtures/debian_images.sh build debian-python
bash tests/fixtures/debian_images.sh seed "$REGISTRY" debian-python=demo/flask-base:1.0 >/dev/null
"$MINIRUN" pull -q "$REGISTRY/demo/flask-base:1.0"
ns=minirun-main-job-$$
ip netns add "$ns"
N=(nsenter "--net=/var/run/netns/$ns")
ip -n "$ns" link set lo up
cleanup_ns() { "${N[@]}" "$MINIRUN" rm -f users >/dev/null 2>&1 || true; ip netns delete "$ns" 2>/dev/null || true; }
trap 'cleanup_ns; cleanup' EXIT
"${N[@]}" "$MINIRUN" run -d --name users -p 8080:5000 -v "$PWD/images/users:/app:ro" -w /app \
  "$REGISTRY/demo/flask-base:1.0" python3 app.py
"${N[@]}" "$MINIRUN" ps
for _ in $(seq 100); do "${N[@]}" curl -sf http://127.0.0.1:8080/health >/dev/null && break; sleep 0.1; done
echo "curl http://127.0.0.1:8080/health →"
"${N[@]}" curl -s http://127.0.0.1:8080/health; echo

step "Done (container, network namespace, registry and temp store are removed on exit)"
