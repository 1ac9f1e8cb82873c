#!/usr/bin/env bash
# Runtime start-up: on one busybox bundle, `run` of /bin/true and create+start+delete,
# through minirun-oci, crun and runc, many runs each; prints medians, ratios and peak RSS.
#
# crun 1.8 refuses this machine's hybrid cgroup layout (v1 controllers beside a cgroup2
# hierarchy holding hugetlb). So that all three can be compared, the benchmark re-runs
# itself in a private mount namespace where the cgroup2 mount is hidden: every runtime
# then sees the same pure-v1 layout. The host's mounts are not touched.
set -euo pipefail
if [ -z "${MINIRUN_BENCH_NS:-}" ] && awk '$5 == "/sys/fs/cgroup/unified" {f=1} END {exit !f}' /proc/self/mountinfo; then
  export MINIRUN_BENCH_NS=1
  exec unshare -m --propagation private bash -c 'umount /sys/fs/cgroup/unified && exec bash "$0" "$@"' "$0" "$@"
fi
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-40}
OCI=${MINIRUN_OCI_BIN:-$PWD/build/minirun-oci}
for c in crun runc umoci jq /usr/bin/time; do command -v "$c" >/dev/null || { echo "runtime.sh: needs $c (apt-get install crun runc umoci jq time)" >&2; exit 1; }; done
[ -x "$OCI" ] || { echo "runtime.sh: $OCI not built (scripts/build.sh)" >&2; exit 1; }

work=$(mktemp -d /tmp/minirun-bench-rt.XXXXXX)
trap 'for r in "$work"/root-*; do :; done; rm -rf "$work"' EXIT
umoci unpack --image "$(bash tests/fixtures/images.sh path busybox):latest" "$work/u" >/dev/null 2>&1
mkdir -p "$work/bundle" && mv "$work/u/rootfs" "$work/bundle/rootfs"
(cd "$work/bundle" && "$OCI" spec)
jq '.process.terminal=false | .process.args=["/bin/true"]' "$work/bundle/config.json" >"$work/c" && mv "$work/c" "$work/bundle/config.json"

CRUN_FLAGS=""

# runtime_cmd NAME → the command prefix for one runtime with its own state root
runtime_cmd() {
  case $1 in
    minirun) echo "$OCI --root $work/root-minirun" ;;
    crun) echo "crun --root $work/root-crun $CRUN_FLAGS" ;;
    runc) echo "runc --root $work/root-runc" ;;
  esac
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
now_ns() { date +%s%N; }

measure() { # NAME MODE → median ms
  local rt cmd i s e
  cmd=$(runtime_cmd "$1")
  for i in $(seq "$RUNS"); do
    s=$(now_ns)
    if [ "$2" = run ]; then
      $cmd run --bundle "$work/bundle" "b$i" >/dev/null
    else
      $cmd create --bundle "$work/bundle" "b$i" >/dev/null
      $cmd start "b$i" >/dev/null
      while [ "$($cmd state "b$i" 2>/dev/null | jq -r .status)" = running ]; do :; done
      $cmd delete "b$i" >/dev/null
    fi
    e=$(now_ns)
    echo $(( (e - s) / 1000 ))
  done | median | awk '{printf "%.2f", $1/1000}'
}

peak_rss() { # NAME → KB of the runtime process for one `run`
  local cmd
  cmd=$(runtime_cmd "$1")
  /usr/bin/time -f %M $cmd run --bundle "$work/bundle" rss 2>&1 >/dev/null | tail -1
}

printf 'runtime benchmark: %s runs each, busybox bundle, /bin/true\n' "$RUNS"
[ -n "${MINIRUN_BENCH_NS:-}" ] && echo "note: run in a private mount namespace with the cgroup2 mount hidden (crun refuses the hybrid layout); all runtimes use cgroup v1 there"
printf '\n%-10s %14s %26s %12s\n' runtime "run (ms)" "create+start+delete (ms)" "peak RSS KB"
declare -A RUN CSD RSS
for r in minirun crun runc; do
  RUN[$r]=$(measure "$r" run)
  CSD[$r]=$(measure "$r" csd)
  RSS[$r]=$(peak_rss "$r")
  printf '%-10s %14s %26s %12s\n' "$r" "${RUN[$r]}" "${CSD[$r]}" "${RSS[$r]}"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }
echo
for peer in crun runc; do
  echo "minirun/$peer: run $(ratio "${RUN[minirun]}" "${RUN[$peer]}")x, create+start+delete $(ratio "${CSD[minirun]}" "${CSD[$peer]}")x, RSS $(ratio "${RSS[minirun]}" "${RSS[$peer]}")x"
done
r=$(ratio "${RUN[minirun]}" "${RUN[crun]}")
awk -v r="$r" 'BEGIN {exit !(r <= 0.8)}' && v=PASS || v=FAIL
echo "target minirun <= 0.8x crun (run median): $v ($r)"
awk -v a="${RSS[minirun]}" -v b="${RSS[crun]}" 'BEGIN {exit !(a <= b)}' && v=PASS || v=FAIL
echo "target peak RSS <= crun's: $v (${RSS[minirun]} KB vs ${RSS[crun]} KB)"

# Pure cgroup v2, as on a stock Debian 12 host. Emulated inside this private mount
# namespace: the v1 mounts are dropped and the cgroup2 hierarchy is mounted alone at
# /sys/fs/cgroup (it holds only the controllers v1 leaves free, so limits are not
# exercised; cgroup creation, the device program and joining are). There the init is
# cloned straight into its cgroup (CLONE_INTO_CGROUP): no migration, so no grace period.
if [ -n "${MINIRUN_BENCH_NS:-}" ] && umount -R /sys/fs/cgroup 2>/dev/null && mount -t cgroup2 none /sys/fs/cgroup; then
  echo
  echo "pure cgroup v2 (emulated in the private mount namespace), run of /bin/true:"
  declare -A RUN2
  for r in minirun crun runc; do
    if ! err=$($(runtime_cmd "$r") run --bundle "$work/bundle" probe-v2 2>&1 >/dev/null); then
      printf '%-10s %14s  (%s)\n' "$r" "n/a" "$(echo "$err" | tail -1)"
      continue
    fi
    RUN2[$r]=$(measure "$r" run)
    printf '%-10s %14s\n' "$r" "${RUN2[$r]}"
  done
  for peer in crun runc; do
    [ -n "${RUN2[$peer]:-}" ] && echo "v2: minirun/$peer run $(ratio "${RUN2[minirun]}" "${RUN2[$peer]}")x"
  done
fi
