#!/usr/bin/env bash
# `cp` with tar streams against podman's: CONTAINER:PATH - (out) and - CONTAINER:DIR (in)
# of the same tree (one 64 MiB file and FILES small ones) in a running busybox container of
# each tool. Prints the median wall time and peak RSS of RUNS runs of each, and the ratios.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-5}
FILES=${FILES:-2000}
MINIRUN=${MINIRUN_BIN:-$PWD/build/minirun}
for c in podman jq; do command -v "$c" >/dev/null || { echo "cp.sh: needs $c" >&2; exit 1; }; done
[ -x "$MINIRUN" ] || { echo "cp.sh: $MINIRUN not built (scripts/build.sh)" >&2; exit 1; }
work=$(mktemp -d /tmp/mrbcp.XXXXXX)
M=("$MINIRUN" --storage "$work/store")
P=(podman --root "$work/podman" --runroot "$work/podman-run" --storage-driver vfs)
cleanup() {
  "${M[@]}" rm -f benchcp >/dev/null 2>&1 || true
  "${P[@]}" rm -f -t 0 benchcp >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
layout="oci:$(bash tests/fixtures/images.sh path busybox):latest"
img=$("${M[@]}" pull -q "$layout")
pimg=$("${P[@]}" pull -q "$layout")
fill="mkdir -p /data/s; dd if=/dev/urandom of=/data/blob bs=1M count=64 2>/dev/null; i=0; while [ \$i -lt $FILES ]; do echo \$i >/data/s/f\$i; i=\$((i+1)); done; touch /ready; sleep 3600"
"${M[@]}" run -d -q --name benchcp --network none "$img" sh -c "$fill" >/dev/null
"${P[@]}" run -d --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 --runtime runc --name benchcp --network none "$pimg" sh -c "$fill" >/dev/null
for t in M P; do
  declare -n tool=$t
  for _ in $(seq 120); do "${tool[@]}" exec benchcp test -e /ready 2>/dev/null && break; sleep 0.5; done
done
"${M[@]}" cp benchcp:/data - >"$work/data.tar"

# measure NAME CMD…: "seconds kb" per run into $work/NAME.
measure() {
  local name=$1
  shift
  : >"$work/$name"
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M" -o "$work/t" "$@" || { echo "cp.sh: $name failed" >&2; exit 1; }
    cat "$work/t" >>"$work/$name"
  done
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
out_m() { "${M[@]}" cp benchcp:/data - >/dev/null; }
out_p() { "${P[@]}" cp benchcp:/data - >/dev/null; }
in_m() { "${M[@]}" exec benchcp sh -c 'rm -rf /in; mkdir /in' && "${M[@]}" cp - benchcp:/in <"$work/data.tar"; }
in_p() { "${P[@]}" exec benchcp sh -c 'rm -rf /in; mkdir /in' && "${P[@]}" cp - benchcp:/in <"$work/data.tar"; }
echo "cp tar streams: a 64 MiB file and $FILES small ones ($(du -h "$work/data.tar" | cut -f1) of tar), $RUNS runs each (medians; the in runs include an exec that empties the directory)"
printf '%-6s %12s %12s %10s %10s %8s\n' dir minirun_s podman_s mr_KB pd_KB ratio
for d in out in; do
  measure "mr-$d" bash -c "$(declare -f out_m in_m); M=(${M[*]@Q}); work=${work@Q}; ${d}_m"
  measure "pd-$d" bash -c "$(declare -f out_p in_p); P=(${P[*]@Q}); work=${work@Q}; ${d}_p"
  ms=$(cut -d' ' -f1 "$work/mr-$d" | median); ps_=$(cut -d' ' -f1 "$work/pd-$d" | median)
  mk=$(cut -d' ' -f2 "$work/mr-$d" | median); pk=$(cut -d' ' -f2 "$work/pd-$d" | median)
  printf '%-6s %12s %12s %10s %10s %8s\n' "$d" "$ms" "$ps_" "$mk" "$pk" "$(awk -v a="$ms" -v b="$ps_" 'BEGIN {printf "%.2fx", a / b}')"
done
