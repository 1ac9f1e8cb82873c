#!/usr/bin/env bash
# `minirun run --rm IMAGE true` against `podman run --rm IMAGE true`, the same busybox
# image in each tool's store, with the default network and with --network none; prints
# medians and ratios, and the RSS of a detached container's supervisor.
# Everything runs inside a network namespace this script creates (bridges and NAT
# live only there).
set -euo pipefail
cd "$(dirname "$0")/../.."
BENCH=run.sh
source scripts/bench/lib.sh
RUNS=${RUNS:-15}
MINIRUN=${MINIRUN_BIN:-$PWD/build/minirun}
OCI=${MINIRUN_OCI_BIN:-$(dirname "$MINIRUN")/minirun-oci}
for c in podman skopeo jq nsenter; do command -v "$c" >/dev/null || { echo "run.sh: needs $c" >&2; exit 1; }; done
[ -x "$MINIRUN" ] || { echo "run.sh: $MINIRUN not built (scripts/build.sh)" >&2; exit 1; }

work=$(mktemp -d /tmp/mrbr.XXXXXX)
ns=mr-bench-run-$$
ip netns add "$ns"
ip -n "$ns" link set lo up
N=(nsenter "--net=/var/run/netns/$ns")
# crun 1.8 refuses the hybrid cgroup layout: podman uses runc here.
P=(podman --root "$work/pr" --runroot "$work/rr" --tmpdir "$work/t" --cgroup-manager cgroupfs --events-backend file --storage-driver overlay --runtime runc)
U=(--ulimit nofile=20000:20000 --ulimit nproc=32768:32768)
cleanup() {
  "${N[@]}" "$MINIRUN" --storage "$work/store" rm -f sup >/dev/null 2>&1 || true
  release_podman_work
}
trap cleanup EXIT

layout=$(bash tests/fixtures/images.sh path busybox)
# Same image in both stores: podman from the OCI layout, minirun through a registry.
"${P[@]}" pull -q "oci:$layout:latest" >/dev/null
"${P[@]}" tag "$("${P[@]}" images -q | head -1)" localhost/bench:latest
mkdir -p "$work/reg"
eval "$(bash tests/fixtures/registry.sh start none "$work/reg")"
trap 'bash tests/fixtures/registry.sh stop "$work/reg" >/dev/null 2>&1; cleanup' EXIT
bash tests/fixtures/images.sh seed "$REGISTRY" busybox=bench:latest >/dev/null 2>&1
"$MINIRUN" --storage "$work/store" pull -q "$REGISTRY/bench:latest" >/dev/null
IMG=$REGISTRY/bench:latest

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
time_ms() { local s e; s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000 )); }
measure() { # NAME NETWORK
  local i
  for i in $(seq "$RUNS"); do
    if [ "$1" = minirun ]; then
      time_ms "${N[@]}" "$MINIRUN" --storage "$work/store" run --rm -q --network "$2" "$IMG" true
    else
      time_ms "${N[@]}" "${P[@]}" run --rm --network "$2" "${U[@]}" localhost/bench:latest true
    fi
  done | median | awk '{printf "%.1f", $1/1000}'
}

echo "run benchmark: $RUNS runs each, busybox, 'run --rm IMAGE true', inside network namespace $ns"
printf '\n%-10s %16s %16s\n' tool "bridge (ms)" "none (ms)"
declare -A B NONE
for t in minirun podman; do
  B[$t]=$(measure "$t" bridge)
  NONE[$t]=$(measure "$t" none)
  printf '%-10s %16s %16s\n' "$t" "${B[$t]}" "${NONE[$t]}"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }
rb=$(ratio "${B[minirun]}" "${B[podman]}")
rn=$(ratio "${NONE[minirun]}" "${NONE[podman]}")
echo
echo "minirun/podman: bridge ${rb}x, none ${rn}x"
for r in "$rb" "$rn"; do awk -v r="$r" 'BEGIN {exit !(r <= 0.2)}' && v=PASS || v=FAIL; echo "target <= 0.2x podman: $v ($r)"; done

# A detached container's supervisor: its resident memory.
"${N[@]}" "$MINIRUN" --storage "$work/store" run -d -q --name sup --network none "$IMG" sleep 60 >/dev/null
spid=$("$MINIRUN" --storage "$work/store" inspect sup | jq -r '.[0].State.SupervisorPid')
rss=$(awk '/VmRSS/ {print $2}' "/proc/$spid/status")
pss=$(awk '/^Pss:/ {s+=$2} END {print s}' "/proc/$spid/smaps_rollup" 2>/dev/null || echo "?")
echo
echo "supervisor of a detached container: VmRSS ${rss} KB, PSS ${pss} KB (target RSS < 2048 KB): $( [ "$rss" -lt 2048 ] && echo PASS || echo FAIL)"
