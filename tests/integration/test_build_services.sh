#!/usr/bin/env bash
# The sample services under images/ built by imgbuild from their own Containerfiles (on
# the offline Debian bases standing in for Alpine: --build-arg BASE=...), then run with
# `minirun run -d -p` inside a network namespace of this test, answering /health.
source "$(dirname "$0")/common.sh"
require_root
require_cmd docker-registry skopeo jq curl nsenter
IMGBUILD=${IMGBUILD_BIN:?}
DEBIAN="$MINIRUN_SOURCE_DIR/tests/fixtures/debian_images.sh"
ib() { "$IMGBUILD" --storage "$STORE" "$@"; }

start_registry none
"$DEBIAN" seed "$REGISTRY" debian-python debian-node >/dev/null 2>&1 || fail "seeding the Debian bases"
use_test_netns mr-bsvc

port=15100
for svc in users events transactions chat; do
  args=(--build-arg "BASE=$REGISTRY/debian-python:latest")
  # chat in its in-memory mode: no npm registry in this namespace (test_deploy_chat builds the durable one)
  [[ $svc == chat ]] && args=(--build-arg "BASE=$REGISTRY/debian-node:latest" --build-arg DURABLE=0)
  run_ok ib build -t "localhost/$svc:1.0" "${args[@]}" "$MINIRUN_SOURCE_DIR/images/$svc"
  grep -Eq "STEP [0-9]+/[0-9]+: COPY (package|requirements)" <<<"$OUT" || fail "$svc: the COPY step did not run"
  cfg_port=$(mr inspect "localhost/$svc:1.0" 2>/dev/null | jq -r '.. | .ExposedPorts? // empty | keys[0]' | head -1)
  port=$((port + 1))
  inner=5000
  [[ $svc == chat ]] && inner=3000
  run_ok m run -d -q --name "$svc" -p "$port:$inner" "localhost/$svc:1.0"
  health=""
  for _ in $(seq 150); do
    health=$("${N[@]}" curl -s -m 2 "http://127.0.0.1:$port/health" || true)
    [[ -n $health ]] && break
    sleep 0.1
  done
  [[ $(jq -r .status <<<"$health" 2>/dev/null) == ok && $(jq -r .service <<<"$health") == "$svc" ]] ||
    fail "$svc /health through -p $port:$inner: [$health] $(m logs "$svc" 2>&1 | tail -5)"
  [[ -z $cfg_port || $cfg_port == "$inner/tcp" ]] || fail "$svc: EXPOSE gave $cfg_port"
  run_ok m rm -f "$svc"
  pass "$svc: built by imgbuild from images/$svc, answers /health under minirun run -p"
done

# A rebuild of an unchanged service is all cache hits.
run_ok ib build -t localhost/users:1.0 --build-arg "BASE=$REGISTRY/debian-python:latest" "$MINIRUN_SOURCE_DIR/images/users"
assert_contains "$OUT" "Steps: 0 run, 2 cached" "unchanged rebuild"
pass "an unchanged service rebuild runs nothing"
