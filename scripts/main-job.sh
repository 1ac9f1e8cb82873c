#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine, against local defaults: build → push →
# pull → run a sample service.
#   1. installs what is needed and builds the tools (scripts/setup.sh);
#   2. starts a docker-registry on 127.0.0.1 (its own temp dir, stopped at the end);
#   3. makes the offline base: a Debian image with Python 3, Flask, PyMongo and gunicorn
#      (debootstrap from Debian's mirror, cached under /var/cache/minirun-fixtures),
#      standing in for the Alpine fblupi/alpine-flask-mongo this machine cannot reach,
#      published to the registry;
#   4. imgbuild build images/users (--build-arg BASE=<that base>) and imgbuild push;
#   5. removes the image locally, minirun pull, minirun run -d -p 8080:5000;
#   6. shows the service answering /health over HTTP.
# The container's network (bridge, NAT, the -p rule) lives in a network namespace this
# script makes, so the machine's own network is left as it was. Everything it made
# (container, namespace, registry, temp store) is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "main-job.sh: run as root" >&2; exit 1; }
T0=$(date +%s)
step() { printf '\n==> [%3ss] %s\n' "$(($(date +%s) - T0))" "$*"; }

step "Installing packages and building the tools"
bash scripts/setup.sh --tools >/dev/null
MINIRUN=$PWD/build/minirun IMGBUILD=$PWD/build/imgbuild

work=$(mktemp -d /tmp/minirun-main-job.XXXXXX)
ns=minirun-main-job-$$
N=(nsenter "--net=/var/run/netns/$ns")
export MINIRUN_STORAGE=$work/store
cleanup() {
  if [ -e "/var/run/netns/$ns" ]; then
    "${N[@]}" "$MINIRUN" rm -f users >/dev/null 2>&1 || true
    ip netns delete "$ns" 2>/dev/null || true
  fi
  tests/fixtures/registry.sh stop "$work/registry" >/dev/null 2>&1 || true
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

step "Starting a registry on 127.0.0.1"
mkdir -p "$work/registry"
eval "$(tests/fixtures/registry.sh start none "$work/registry")"
echo "registry: $REGISTRY (pid $REGISTRY_PID)"

step "Making the offline Flask base image and publishing it as $REGISTRY/demo/flask-base:1.0"
bash tests/fixtures/debian_images.sh build debian-python
bash tests/fixtures/debian_images.sh seed "$REGISTRY" debian-python=demo/flask-base:1.0 >/dev/null
echo "published $REGISTRY/demo/flask-base:1.0"

IMAGE=$REGISTRY/demo/users:1.0
step "imgbuild build -t $IMAGE images/users"
"$IMGBUILD" build -t "$IMAGE" --build-arg "BASE=$REGISTRY/demo/flask-base:1.0" images/users

step "imgbuild push $IMAGE"
"$IMGBUILD" push "$IMAGE"

step "Removing the image locally, then minirun pull $IMAGE"
"$MINIRUN" rmi "$IMAGE" "$REGISTRY/demo/flask-base:1.0" >/dev/null
"$MINIRUN" images
"$MINIRUN" pull "$IMAGE"
"$MINIRUN" images

step "minirun run -d -p 8080:5000 --name users $IMAGE (in network namespace $ns)"
ip netns add "$ns"
ip -n "$ns" link set lo up
"${N[@]}" "$MINIRUN" run -d --name users -p 8080:5000 "$IMAGE"
"${N[@]}" "$MINIRUN" ps
for _ in $(seq 150); do "${N[@]}" curl -sf http://127.0.0.1:8080/health >/dev/null && break; sleep 0.1; done
echo "curl http://127.0.0.1:8080/health →"
"${N[@]}" curl -sf http://127.0.0.1:8080/health
echo
"${N[@]}" "$MINIRUN" logs users | tail -3

step "Done in $(($(date +%s) - T0)) s (container, network namespace, registry and temp store are removed on exit)"
