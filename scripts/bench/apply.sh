#!/usr/bin/env bash
# `minirun apply` of a 5-service Compose file against `podman-compose up -d`, the same
# busybox image in each tool's store: the cold start (nothing exists) and the unchanged
# rerun (everything already as declared, the hook's common case), medians and ratios.
# Target (issue 11): the unchanged rerun under 150 ms and <= 0.1x the peer's.
# Everything runs inside a network namespace this script creates (bridges and NAT live
# only there); podman gets storage and configuration of its own.
#   RUNS=5 MINIRUN_BIN=build/minirun scripts/bench/apply.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-5}
COLD_RUNS=${COLD_RUNS:-3}
MINIRUN=${MINIRUN_BIN:-$PWD/build/minirun}
for c in podman podman-compose skopeo jq nsenter; do command -v "$c" >/dev/null || { echo "apply.sh: needs $c (apt-get install -y podman-compose)" >&2; exit 1; }; done
[ -x "$MINIRUN" ] || { echo "apply.sh: $MINIRUN not built (scripts/build.sh)" >&2; exit 1; }

work=$(mktemp -d /tmp/mrba.XXXXXX)
ns=mr-bench-apply-$$
ip netns add "$ns"
ip -n "$ns" link set lo up
N=(nsenter "--net=/var/run/netns/$ns")
# podman's own configuration: storage here, runc (crun 1.8 refuses the hybrid cgroup
# layout), cgroupfs, file events, and the ulimits this machine can grant.
mkdir -p "$work/pr" "$work/rr" "$work/t"
cat >"$work/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$work/pr"
runroot = "$work/rr"
EOF
cat >"$work/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$work/t"
EOF
export CONTAINERS_STORAGE_CONF=$work/storage.conf CONTAINERS_CONF=$work/containers.conf
mr() { "${N[@]}" "$MINIRUN" --storage "$work/store" "$@"; }
pc() { "${N[@]}" podman-compose -p benchpc -f "$work/pc/compose.yaml" "$@"; }
cleanup() {
  mr down -f "$work/mr/compose.yaml" -v >/dev/null 2>&1 || true
  pc down >/dev/null 2>&1 || true
  "${N[@]}" podman rm -af -t 0 >/dev/null 2>&1 || true
  podman network rm -f benchpc_default >/dev/null 2>&1 || true  # podman-compose's network
  podman rmi -af >/dev/null 2>&1 || true
  bash tests/fixtures/registry.sh stop "$work/reg" >/dev/null 2>&1 || true
  { grep -o " ${work}[^ ]*" /proc/mounts || true; } | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  ip netns delete "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The same image in both stores: podman from the OCI layout, minirun through a registry.
layout=$(bash tests/fixtures/images.sh path busybox)
podman pull -q "oci:$layout:latest" >/dev/null
podman tag "$(podman images -q | head -1)" localhost/bench:latest
mkdir -p "$work/reg"
eval "$(bash tests/fixtures/registry.sh start none "$work/reg")"
bash tests/fixtures/images.sh seed "$REGISTRY" busybox=bench:latest >/dev/null 2>&1
"$MINIRUN" --storage "$work/store" pull -q "$REGISTRY/bench:latest" >/dev/null

# Five services: a chain of dependencies, environment, a named volume, labels.
write_compose() { # DIR IMAGE
  mkdir -p "$1"
  {
    echo "services:"
    for i in 1 2 3 4 5; do
      echo "  svc$i:"
      echo "    image: $2"
      echo "    command: [\"sleep\", \"100000\"]"
      echo "    environment: {ROLE: svc$i, LEVEL: \"$i\"}"
      echo "    labels: {tier: bench}"
      [ "$i" = 1 ] && echo "    volumes: [\"data:/data\"]"
      [ "$i" -gt 1 ] && echo "    depends_on: [svc$((i - 1))]"
    done
    echo "volumes:"
    echo "  data:"
  } >"$1/compose.yaml"
}
write_compose "$work/mr" "$REGISTRY/bench:latest"
write_compose "$work/pc" "localhost/bench:latest"

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ms() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1 || { echo "apply.sh: failed: $*" >&2; exit 1; }; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
running() { # TOOL -> number of running containers of the project
  if [ "$1" = minirun ]; then mr ps -q | wc -l; else "${N[@]}" podman ps -q --filter label=io.podman.compose.project=benchpc | wc -l; fi
}

declare -A cold rerun
for tool in minirun podman-compose; do
  c=() r=()
  for _ in $(seq "$COLD_RUNS"); do
    if [ "$tool" = minirun ]; then
      c+=("$(ms mr apply -f "$work/mr/compose.yaml" -p benchmr)")
      [ "$(running minirun)" = 5 ] || { echo "apply.sh: minirun: not 5 running" >&2; exit 1; }
      for _ in $(seq "$RUNS"); do r+=("$(ms mr apply -f "$work/mr/compose.yaml" -p benchmr)"); done
      mr down -f "$work/mr/compose.yaml" -p benchmr >/dev/null
    else
      c+=("$(ms pc up -d)")
      [ "$(running podman)" = 5 ] || { echo "apply.sh: podman-compose: not 5 running" >&2; exit 1; }
      for _ in $(seq "$RUNS"); do r+=("$(ms pc up -d)"); done
      pc down -t 0 >/dev/null 2>&1
    fi
  done
  cold[$tool]=$(printf '%s\n' "${c[@]}" | median)
  rerun[$tool]=$(printf '%s\n' "${r[@]}" | median)
done

load=$(awk '{print $1}' /proc/loadavg)
echo "apply.sh: 5 services, median of $COLD_RUNS cold and $((COLD_RUNS * RUNS)) unchanged reruns (load $load, $(nproc) cpus)"
printf '%-16s %10s %14s\n' "" "cold ms" "unchanged ms"
printf '%-16s %10s %14s\n' minirun "${cold[minirun]}" "${rerun[minirun]}"
printf '%-16s %10s %14s\n' podman-compose "${cold[podman-compose]}" "${rerun[podman-compose]}"
awk -v a="${cold[minirun]}" -v b="${cold[podman-compose]}" -v c="${rerun[minirun]}" -v d="${rerun[podman-compose]}" \
  'BEGIN { printf "ratio minirun/podman-compose: cold %.3fx, unchanged %.3fx (target: unchanged < 150 ms and <= 0.1x)\n", a / b, c / d }'
